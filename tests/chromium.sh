# Shared by the headless-Chromium tests (tests/dashboard, tests/browser):
# Debian's chromium and playwright-core from npm. Sourced, not executed; the
# sourcing script defines `say` and `WORK`.
#
#   need_chromium NPM_DIR   sets CHROMIUM, installs chromium (apt) and
#                           playwright-core into NPM_DIR (npm) when missing;
#                           ends the calling script with 0 (skipped) where
#                           neither apt-get nor npm is at hand.

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

need_chromium() {
    local npm_dir=$1
    CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
    if [ -z "$CHROMIUM" ]; then
        if ! command -v apt-get >/dev/null 2>&1; then
            say "no chromium and no apt-get: skipped"; exit 0
        fi
        say "installing chromium (apt)"
        as_root apt-get update -qq
        DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends chromium >/dev/null
        CHROMIUM=$(command -v chromium)
    fi
    if ! command -v npm >/dev/null 2>&1; then
        say "npm is missing: skipped"; exit 0
    fi
    if [ ! -d "$npm_dir/node_modules/playwright-core" ]; then
        say "installing playwright-core (npm)"
        mkdir -p "$npm_dir"
        npm install --silent --prefix "$npm_dir" --no-audit --no-fund playwright-core@1 >/dev/null
    fi
}
