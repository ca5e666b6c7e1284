#!/usr/bin/env bash
# The browser boundary (issue 13, point 1) in headless Chromium: a web page
# the user happens to open must not spend the accounts or read the gateway.
#
# What it does:
#   1. Installs Debian's chromium when it is missing (apt-get) and
#      playwright-core from npm into a private prefix (the only network access;
#      Chromium itself is never downloaded, the system one is driven).
#   2. Builds `switchyard` and `examples/mock_upstream.rs` (debug), unless told not to.
#   3. Starts the mock upstream and a gateway with the DEFAULT settings
#      (auth_mode auto with LAN access off, i.e. no key needed on loopback)
#      and one account served by the mock.
#   4. Serves a blank "attacker" page from a second local server (another
#      port), opened as http://127.0.0.1:APORT and as http://localhost:APORT.
#      From each, tests/browser/boundary.mjs has the page try: a text/plain
#      no-cors fetch POST to /v1/chat/completions, a JSON POST (CORS), fetch
#      reads of /api/logs, /api/status, /metrics and /api/accounts, a
#      text/plain form POST, and a flood of 50 <img> GETs of
#      /v1beta/models?key=wrong-N. Each must be refused: nothing readable in
#      the page, no 2xx/3xx from the gateway on the wire, and the mock
#      upstream's request counter (GET /_mock/requests) must not move.
#   5. Then a right-key client (curl with the key `switchyard key show`
#      prints) must get 200 from /api/status within 1 s: the flood did not
#      brake the user.
#   Exits non-zero on any failure and names each attempt that got through.
#
# Usage:  bash tests/browser/run.sh
#
# Environment:
#   BROWSER_NPM_DIR     npm prefix to install playwright-core into or reuse
#                       (DASHBOARD_NPM_DIR is reused when set).
#   BROWSER_SKIP_BUILD  1: use the binaries already in the target dir.
#   BROWSER_SCREENSHOT  where to save a screenshot of the attacker page (optional).
#   CARGO_TARGET_DIR    cargo's target dir (default: <repo>/target).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/switchyard-browser.XXXXXX")
PIDS=()
# shellcheck disable=SC2317 # reached through the trap
cleanup() {
    local status=$? pid
    for pid in ${PIDS[@]+"${PIDS[@]}"}; do kill "$pid" 2>/dev/null || true; done
    for pid in ${PIDS[@]+"${PIDS[@]}"}; do wait "$pid" 2>/dev/null || true; done
    if [[ $status -ne 0 && -s $WORK/gateway.log ]]; then
        echo "--- last lines of the gateway's log" >&2
        tail -n 20 "$WORK/gateway.log" >&2
    fi
    rm -rf "$WORK"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

say() { echo "browser: $*"; }
die() { say "$*" >&2; exit 1; }

# shellcheck source=tests/chromium.sh
source "$ROOT/tests/chromium.sh"
NPM_DIR=${BROWSER_NPM_DIR:-${DASHBOARD_NPM_DIR:-$WORK/npm}}
need_chromium "$NPM_DIR"

TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
if [ "${BROWSER_SKIP_BUILD:-0}" != "1" ]; then
    say "building switchyard and the mock upstream (debug)"
    (cd "$ROOT" && cargo build --quiet --bin switchyard --example mock_upstream)
fi
BIN="$TARGET/debug/switchyard"
MOCK="$TARGET/debug/examples/mock_upstream"
[ -x "$BIN" ] && [ -x "$MOCK" ] || die "missing $BIN or $MOCK"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

"$MOCK" --port 0 >"$WORK/mock.out" 2>"$WORK/mock.err" &
PIDS+=($!)
for _ in $(seq 100); do grep -q "listening on" "$WORK/mock.out" 2>/dev/null && break; sleep 0.05; done
MOCK_URL="http://$(sed -n 's/.*listening on //p' "$WORK/mock.out")"
[ "$MOCK_URL" != "http://" ] || die "the mock upstream did not start"

# The default configuration: no [proxy] settings at all.
export SWITCHYARD_HOME="$WORK/home" SWITCHYARD_SECRET_STORE=file
mkdir -p "$SWITCHYARD_HOME"
echo sk-mock | "$BIN" accounts add openai --label work --base-url "$MOCK_URL/v1" --api-key-stdin >/dev/null
KEY=$("$BIN" key show)
PORT=$(free_port)
"$BIN" serve --port "$PORT" >"$WORK/gateway.out" 2>"$WORK/gateway.log" &
PIDS+=($!)
GATEWAY="http://127.0.0.1:$PORT"
for _ in $(seq 200); do curl -s -o /dev/null "$GATEWAY/healthz" && break; sleep 0.05; done
# The gateway asks the mock for its model list once started: wait for it, so
# that this request does not move the mock's counter during an attempt.
for _ in $(seq 100); do curl -s "$GATEWAY/v1/models" | grep -q gpt-4o-mini && break; sleep 0.05; done
MODE=$("$BIN" status --json | python3 -c 'import json, sys; print(json.load(sys.stdin)["auth_mode"])')
[ "$MODE" = off ] || die "the default auth mode should be off on loopback, the gateway reports '$MODE'"

# The attacker: a blank page on another port.
mkdir -p "$WORK/site"
printf '<!doctype html><title>an ordinary web page</title><p>nothing to see here</p>\n' >"$WORK/site/index.html"
APORT=$(free_port)
python3 -m http.server "$APORT" --bind 127.0.0.1 --directory "$WORK/site" >"$WORK/site.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$APORT/" && break; sleep 0.05; done

say "a page from http://127.0.0.1:$APORT and http://localhost:$APORT against $GATEWAY (default auth)"
status=0
NODE_PATH="$NPM_DIR/node_modules" CHROMIUM="$CHROMIUM" GATEWAY="$GATEWAY" MOCK="$MOCK_URL" \
    ATTACKERS="http://127.0.0.1:$APORT http://localhost:$APORT" SHOT="${BROWSER_SCREENSHOT:-}" \
    node "$ROOT/tests/browser/boundary.mjs" || status=1

# The user's own client is still served at once.
read -r code seconds < <(curl -s -o /dev/null -w '%{http_code} %{time_total}\n' \
    -H "Authorization: Bearer $KEY" "$GATEWAY/api/status")
if [ "$code" = 200 ] && python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) < 1.0 else 1)" "$seconds"; then
    echo "PASS  a right-key client gets /api/status at once ($code in ${seconds}s)"
else
    echo "FAIL  a right-key client gets /api/status at once: $code in ${seconds}s"
    status=1
fi
[ "$status" -eq 0 ] && say "every attempt was refused"
exit "$status"
