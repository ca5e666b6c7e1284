#!/usr/bin/env bash
# switchyard.exe under Wine (64-bit, headless under Xvfb), end to end:
#
#   1. Installs the NSIS installer silently into a new Wine prefix and checks
#      it put the .exe in Program Files, the Start-menu entries and the
#      "Apps & features" uninstall key in place.
#   2. Runs the INSTALLED switchyard.exe: `accounts add` (x3, against the Linux
#      mock upstream), `key show`, then `serve` with the `file` secret store and
#      a Windows SWITCHYARD_HOME; /healthz from Linux curl; then the official
#      Python SDKs on Linux (tests/e2e/sdk_e2e.py: every client protocol x every
#      upstream, complete and streamed, tools, Responses, token counts, errors,
#      model lists) against the Wine-hosted gateway over loopback.
#   3. The `keychain` secret store: Wine's Credential Manager (CredWriteW /
#      CredReadW in advapi32, kept in the prefix's registry). A key made in one
#      process is read back by the next, and no secrets.json is written.
#   4. Launch at login: `autostart on` writes the user's Run key (HKCU, not
#      HKLM) with the path quoted ("C:\Program Files\..." has a space);
#      `status` reads it; `off` removes it.
#   5. The tray (`switchyard.exe` with no arguments) starts, serves /healthz
#      and puts its icon in Wine's system tray; a screenshot is saved when
#      WINE_SCREENSHOT=path.png is set.
#   6. Uninstalls silently and checks everything from step 1 and the Run value
#      are gone.
#
# Wine 8 (Debian 12) lacks bcryptprimitives.dll, whose ProcessPrng Rust's
# standard library imports: the .exe does not load. A stand-in DLL
# (tests/wine/processprng.c, over RtlGenRandom) is built with mingw and put
# beside the installed .exe in this throwaway prefix only. It is a test
# fixture and never part of the installer.
#
# Usage: bash tests/wine/run.sh
# Env:
#   WINE_SKIP_BUILD  1: use the .exe and installer scripts/build-windows left in
#                    the target dir, and the debug mock upstream already built
#   E2E_VENV         a venv with the SDKs (made and filled when missing)
#   WINE_SCREENSHOT  where to save a PNG of the screen with the tray icon
#   WINE_KEEP        1: keep the temp dir (prefix, logs)
# Everything it starts (Xvfb, wineserver and its processes, the mock) is
# stopped on exit; the whole run is bounded by `timeout` on each step.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
source scripts/lib.sh
say() { printf 'wine: %s\n' "$*" >&2; }
die() {
    say "FAIL - $*"
    exit 1
}

if command -v apt-get >/dev/null 2>&1; then
    need_packages wine wine64 xvfb xauth gcc-mingw-w64-x86-64 curl python3 python3-venv
fi
WINE=/usr/lib/wine/wine64 # the `wine` launcher looks for 32-bit parts Debian's 64-bit Wine lacks
WINESERVER=$(command -v wineserver || echo /usr/lib/wine/wineserver)
[[ -x $WINE ]] || die "no $WINE (apt-get install wine64)"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/switchyard-wine.XXXXXX")
export WINEPREFIX=$WORK/prefix WINEARCH=win64 WINEDEBUG=-all
# No Mono or Gecko install prompts: nothing here needs .NET or a browser.
export WINEDLLOVERRIDES="mscoree,mshtml="
PIDS=()
# shellcheck disable=SC2317 # reached through the trap
cleanup() {
    local status=$? pid
    timeout 20 "$WINESERVER" -k 2>/dev/null || true
    for pid in ${PIDS[@]+"${PIDS[@]}"}; do kill "$pid" 2>/dev/null || true; done
    for pid in ${PIDS[@]+"${PIDS[@]}"}; do wait "$pid" 2>/dev/null || true; done
    if [[ $status -ne 0 ]]; then
        for log in "$WORK"/*.log; do
            [[ -s $log ]] || continue
            echo "--- last lines of $(basename "$log")" >&2
            tail -n 20 "$log" >&2
        done
    fi
    if [[ ${WINE_KEEP:-0} == 1 ]]; then say "kept $WORK"; else rm -rf "$WORK"; fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
started=$(date +%s)

# The .exe and its installer, the Linux mock upstream -------------------------
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
if [[ ${WINE_SKIP_BUILD:-0} != 1 ]]; then
    scripts/build-windows
    cargo build --locked --quiet --bin switchyard --example mock_upstream
fi
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
SETUP=$CARGO_TARGET_DIR/x86_64-pc-windows-gnu/ci-cross/switchyard-$version-setup.exe
MOCK=$CARGO_TARGET_DIR/debug/examples/mock_upstream
[[ -f $SETUP ]] || die "no installer at $SETUP (scripts/build-windows)"
[[ -x $MOCK ]] || die "no mock upstream at $MOCK"
x86_64-w64-mingw32-gcc -shared -O2 -o "$WORK/bcryptprimitives.dll" tests/wine/processprng.c -ladvapi32

# A display for Wine (its explorer, the installer, the tray) ------------------
Xvfb -displayfd 3 -screen 0 1024x768x24 -nolisten tcp 3>"$WORK/display" 2>"$WORK/xvfb.log" &
PIDS+=($!)
for _ in $(seq 1 100); do [[ -s $WORK/display ]] && break; sleep 0.1; done
[[ -s $WORK/display ]] || die "Xvfb did not start"
export DISPLAY=:$(cat "$WORK/display")

w() { timeout "${WINE_TIMEOUT:-60}" "$WINE" "$@"; }
reg_value() { # KEY VALUE: the data of a registry value, or nothing (never fails)
    { w reg query "$1" /v "$2" 2>/dev/null || true; } | tr -d '\r' | sed -n "s/^ *$2 *REG_[A-Z_]* *//p"
}
say "new Wine prefix"
w wineboot -i >"$WORK/wineboot.log" 2>&1 || die "wineboot failed"
timeout 60 "$WINESERVER" -w
prefixed=$(date +%s)

# 1. Install --------------------------------------------------------------------
UNINST_KEY='HKLM\Software\Microsoft\Windows\CurrentVersion\Uninstall\Switchyard'
RUN_KEY='Software\Microsoft\Windows\CurrentVersion\Run'
INSTALL_DIR=$WINEPREFIX/drive_c/Program\ Files/Switchyard
MENU_DIR=$WINEPREFIX/drive_c/ProgramData/Microsoft/Windows/Start\ Menu/Programs/Switchyard
EXE_WIN='C:\Program Files\Switchyard\switchyard.exe'
say "installing $(basename "$SETUP") silently"
w "$SETUP" /S >"$WORK/install.log" 2>&1 || die "the installer failed"
timeout 60 "$WINESERVER" -w
[[ -f $INSTALL_DIR/switchyard.exe ]] || die "no switchyard.exe in Program Files"
[[ -f $INSTALL_DIR/uninstall.exe ]] || die "no uninstall.exe in Program Files"
[[ -f $MENU_DIR/Switchyard.lnk ]] || die "no Start-menu entry"
[[ $(reg_value "$UNINST_KEY" DisplayVersion) == "$version" ]] || die "no uninstall entry with version $version"
say "installed: Program Files\\Switchyard, Start menu, uninstall entry"
# The test fixture, in this prefix only (see the top of this file).
cp "$WORK/bcryptprimitives.dll" "$INSTALL_DIR/"

# 2. serve + SDKs -----------------------------------------------------------------
UPSTREAM_KEY=upstream-key-for-the-mock
"$MOCK" --port 0 --api-key "$UPSTREAM_KEY" >"$WORK/mock.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 100); do grep -q '^listening on ' "$WORK/mock.log" && break; sleep 0.1; done
MOCK_URL="http://$(sed -n 's/^listening on //p' "$WORK/mock.log" | head -n1)"
[[ $MOCK_URL != http:// ]] || die "the mock upstream did not start"

sy() { w "$EXE_WIN" "$@"; }
export SWITCHYARD_HOME='C:\switchyard-home' SWITCHYARD_SECRET_STORE=file SWITCHYARD_LOG=info
HOME_UNIX=$WINEPREFIX/drive_c/switchyard-home
for spec in "openai $MOCK_URL/v1 gpt-*,text-embedding-*" "anthropic $MOCK_URL claude-*" "gemini $MOCK_URL gemini-*"; do
    read -r provider base_url models <<<"$spec"
    printf '%s' "$UPSTREAM_KEY" | sy accounts add "$provider" --label "mock-$provider" --base-url "$base_url" \
        --api-key-stdin --models "$models" >>"$WORK/cli.log" 2>&1 || die "accounts add $provider failed under Wine"
done
cat >>"$HOME_UNIX/config.toml" <<'EOF'

[models]
"e2e-openai" = "gpt-e2e-mini"
"e2e-anthropic" = "claude-e2e-sonnet"
"e2e-gemini" = "gemini-e2e-flash"
"e2e-embed" = "gemini-embedding-001"
EOF
GATEWAY_KEY=$(sy key show 2>>"$WORK/cli.log" | tr -d '\r')
[[ $GATEWAY_KEY == sk-* ]] || die "key show printed no key under Wine"
[[ -f $HOME_UNIX/secrets.json ]] || die "the file store wrote no secrets.json in $HOME_UNIX"

PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
timeout 900 "$WINE" "$EXE_WIN" serve --port "$PORT" --auth-mode strict >"$WORK/gateway.log" 2>&1 &
gateway_pid=$!
PIDS+=("$gateway_pid")
GATEWAY=http://127.0.0.1:$PORT
# auth_mode strict: /healthz wants the key too.
healthz() { curl -fsS -H "Authorization: Bearer $GATEWAY_KEY" "$1/healthz"; }
for _ in $(seq 1 300); do healthz "$GATEWAY" >/dev/null 2>&1 && break; sleep 0.1; done
health=$(healthz "$GATEWAY") || die "switchyard.exe serve does not answer /healthz"
say "switchyard.exe serve under Wine answers /healthz: $health"
served=$(date +%s)

VENV=${E2E_VENV:-$WORK/venv}
[[ -x $VENV/bin/python ]] || python3 -m venv "$VENV" || die "cannot create a venv"
"$VENV/bin/python" -c 'import openai, anthropic, google.genai, google.generativeai' 2>/dev/null ||
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
        'openai>=3,<4' 'anthropic>=2,<3' 'google-genai>=3,<4' 'google-generativeai>=0.8,<0.9' ||
    die "pip install of the SDKs failed"
for _ in $(seq 1 100); do
    sy models --json 2>/dev/null | grep -q '"claude-sonnet-4-5-20250929"' && break
    sleep 0.2
done
say "the official Python SDKs (Linux) against switchyard.exe (Wine)"
E2E_GATEWAY=$GATEWAY E2E_KEY=$GATEWAY_KEY E2E_ONLY=${E2E_ONLY:-} \
    E2E_MODELS='{"native": {"openai": "gpt-e2e-mini", "anthropic": "claude-e2e-sonnet", "gemini": "gemini-e2e-flash"},
                 "alias": {"openai": "e2e-openai", "anthropic": "e2e-anthropic", "gemini": "e2e-gemini"}}' \
    timeout 600 "$VENV/bin/python" tests/e2e/sdk_e2e.py || die "SDK traffic through switchyard.exe under Wine failed"
sdks=$(date +%s)

# 3. Wine's Credential Manager ----------------------------------------------------
say "the keychain store: Wine's Credential Manager"
KC_HOME_UNIX=$WINEPREFIX/drive_c/switchyard-keychain
first=$(SWITCHYARD_HOME='C:\switchyard-keychain' SWITCHYARD_SECRET_STORE=keychain sy key show 2>>"$WORK/cli.log" | tr -d '\r') ||
    die "key show with the keychain store failed under Wine"
again=$(SWITCHYARD_HOME='C:\switchyard-keychain' SWITCHYARD_SECRET_STORE=keychain sy key show 2>>"$WORK/cli.log" | tr -d '\r')
[[ $first == sk-* && $again == "$first" ]] || die "the key stored in the Credential Manager did not come back"
[[ ! -e $KC_HOME_UNIX/secrets.json ]] || die "the keychain store wrote secrets.json"
w reg query 'HKCU\Software\Wine\Credential Manager' /s 2>/dev/null | tr -d '\r' | grep -qi 'switchyard' ||
    die "no Switchyard credential in Wine's Credential Manager"
if grep -rqF "$first" "$WINEPREFIX"/*.reg; then die "the key is in the prefix's registry in clear"; fi
say "Credential Manager: stored, read back by a new process, not in clear in the registry"

# 4. Launch at login ------------------------------------------------------------------
say "autostart: the Run key"
sy autostart on >>"$WORK/cli.log" 2>&1 || die "autostart on failed"
run_value=$(reg_value "HKCU\\$RUN_KEY" Switchyard)
[[ $run_value == "\"$EXE_WIN\""* ]] || die "the Run value is [$run_value], not the quoted path"
[[ -z $(reg_value "HKLM\\$RUN_KEY" Switchyard) ]] || die "autostart wrote the machine-wide Run key (HKLM)"
[[ $(sy autostart status 2>/dev/null | tr -d '\r') == on* ]] || die "autostart status does not say on"
sy autostart off >>"$WORK/cli.log" 2>&1 || die "autostart off failed"
[[ -z $(reg_value "HKCU\\$RUN_KEY" Switchyard) ]] || die "autostart off left the Run value"
[[ $(sy autostart status 2>/dev/null | tr -d '\r') == off* ]] || die "autostart status does not say off"
say "Run key: HKCU value [$run_value], removed by off"
sy autostart on >>"$WORK/cli.log" 2>&1 || die "autostart on failed" # for the uninstaller to remove

# 5. The tray -------------------------------------------------------------------------
TRAY_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
kill "$gateway_pid" 2>/dev/null || true # serve watches the same config.toml
sed -i -e "s/^port = .*/port = $TRAY_PORT/" -e "s/^auto_start = false/auto_start = true/" "$HOME_UNIX/config.toml"
grep -q "^port = $TRAY_PORT" "$HOME_UNIX/config.toml" || die "config.toml has no port line to change"
grep -q "^auto_start = true" "$HOME_UNIX/config.toml" || die "config.toml has no auto_start line to change"
timeout 300 "$WINE" "$EXE_WIN" >"$WORK/tray.log" 2>&1 &
tray_pid=$!
PIDS+=("$tray_pid")
for _ in $(seq 1 300); do healthz "http://127.0.0.1:$TRAY_PORT" >/dev/null 2>&1 && break; sleep 0.1; done
healthz "http://127.0.0.1:$TRAY_PORT" >/dev/null || die "the tray's gateway does not answer /healthz"
kill -0 "$tray_pid" 2>/dev/null || die "the tray exited"
sleep 2
if [[ -n ${WINE_SCREENSHOT:-} ]]; then
    command -v import >/dev/null || need_packages imagemagick
    import -window root "$WINE_SCREENSHOT" && say "screenshot: $WINE_SCREENSHOT"
fi
kill "$tray_pid" 2>/dev/null || true
say "tray: running, its gateway answers"

# 6. Uninstall ------------------------------------------------------------------------
timeout 60 "$WINESERVER" -k 2>/dev/null || true # the gateway and the tray
rm -f "$INSTALL_DIR/bcryptprimitives.dll"        # the fixture is not the installer's
say "uninstalling silently"
w "$INSTALL_DIR/uninstall.exe" /S >"$WORK/uninstall.log" 2>&1 || die "the uninstaller failed"
timeout 60 "$WINESERVER" -w # the uninstaller runs a copy of itself from %TEMP%
[[ ! -e $INSTALL_DIR ]] || die "Program Files\\Switchyard is still there: $(ls "$INSTALL_DIR")"
[[ ! -e $MENU_DIR ]] || die "the Start-menu folder is still there"
[[ -z $(reg_value "$UNINST_KEY" DisplayVersion) ]] || die "the uninstall entry is still there"
[[ -z $(reg_value "HKCU\\$RUN_KEY" Switchyard) ]] || die "the Run value is still there"
[[ -f $HOME_UNIX/config.toml ]] || die "the uninstaller removed the user's Switchyard home"
say "uninstalled: program, Start menu, uninstall entry and Run value gone; the user's home kept"

say "passed (prefix $((prefixed - started))s, install+serve $((served - prefixed))s, SDKs $((sdks - served))s, rest $(($(date +%s) - sdks))s)"
