# Shared by scripts/run and scripts/test: make sure a fresh Debian/Ubuntu
# machine has what building Switchyard needs. Sourced, not executed.

# Runs a command as root (directly when we are root, else through sudo).
as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# Installs the Debian packages given as arguments that are not installed yet.
need_packages() {
    local missing=()
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
    done
    if [ "${#missing[@]}" -gt 0 ]; then
        echo "==> installing ${missing[*]}"
        as_root apt-get update -qq
        DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${missing[@]}"
    fi
}

# Makes sure cargo is on PATH, installing a Rust toolchain with rustup when absent.
need_cargo() {
    if ! command -v cargo >/dev/null 2>&1; then
        if [ -x "$HOME/.cargo/bin/cargo" ]; then
            export PATH="$HOME/.cargo/bin:$PATH"
        else
            need_packages curl ca-certificates
            echo "==> installing Rust with rustup"
            curl -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal
            export PATH="$HOME/.cargo/bin:$PATH"
        fi
    fi
}

# Build dependencies of the gateway and the tray: GTK 3's headers (the tray
# is on by default) and the appindicator library the tray loads at run time.
need_build_tools() {
    if command -v apt-get >/dev/null 2>&1; then
        need_packages build-essential pkg-config libgtk-3-dev libayatana-appindicator3-1
    fi
    need_cargo
}
