#!/usr/bin/env bash
# The dashboard (/ui) in headless Chromium, driven by playwright-core.
#
# What it does:
#   1. Installs Debian's chromium when it is missing (apt-get) and
#      playwright-core from npm into a private prefix (the only network access;
#      Chromium itself is never downloaded, the system one is driven).
#   2. Builds `switchyard` and `examples/mock_upstream.rs` (debug), unless told not to.
#   3. Starts the mock upstream and a gateway with auth strict, two accounts
#      (one served by the mock, one whose upstream answers 429 so it cools),
#      and makes a few requests through it.
#   4. Opens /ui, checks that it asks for the key, enters it, and checks that
#      the page shows the status, both accounts (one cooling, with its timer),
#      the requests made before and one made while the page is open (the live
#      feed), the client key a request came with and the key filter, usage,
#      and snippets with the real base URL; that Connect a tool lists the tools
#      and its Codex button writes Codex's config (in the gateway's own temp
#      HOME) and shows it connected. Saves a screenshot.
#
# Usage:  bash tests/dashboard/run.sh
#
# Environment:
#   DASHBOARD_SCREENSHOT  where to save the screenshot (default: the temp dir;
#                         docs/dashboard.png is the one the README shows).
#   DASHBOARD_NPM_DIR     npm prefix to install into or reuse.
#   DASHBOARD_SKIP_BUILD  1: use the binaries already in the target dir.
#   CARGO_TARGET_DIR      cargo's target dir (default: <repo>/target).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/switchyard-dashboard.XXXXXX")
PIDS=()
# shellcheck disable=SC2317 # reached through the trap
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

say() { echo "dashboard: $*"; }

# shellcheck source=tests/chromium.sh
source "$ROOT/tests/chromium.sh"
NPM_DIR=${DASHBOARD_NPM_DIR:-$WORK/npm}
need_chromium "$NPM_DIR"

TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
if [ "${DASHBOARD_SKIP_BUILD:-0}" != "1" ]; then
    say "building switchyard and the mock upstream (debug)"
    (cd "$ROOT" && cargo build --quiet --bin switchyard --example mock_upstream)
fi
BIN="$TARGET/debug/switchyard"
MOCK="$TARGET/debug/examples/mock_upstream"

"$MOCK" --port 0 --quota-headers >"$WORK/mock.out" 2>"$WORK/mock.err" &
PIDS+=($!)
for _ in $(seq 100); do grep -q "listening on" "$WORK/mock.out" 2>/dev/null && break; sleep 0.05; done
MOCK_URL="http://$(sed -n 's/.*listening on //p' "$WORK/mock.out")"

# A one-line "upstream" that always answers 429 with Retry-After: the account cools.
python3 - "$WORK/limited.port" <<'PY' &
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length", 0)))
        body = b'{"error":{"message":"rate limited","type":"rate_limit_error"}}'
        self.send_response(429); self.send_header("retry-after", "600")
        self.send_header("content-type", "application/json"); self.send_header("content-length", str(len(body)))
        self.end_headers(); self.wfile.write(body)
    def log_message(self, *a): pass
server = http.server.HTTPServer(("127.0.0.1", 0), H)
open(sys.argv[1], "w").write(str(server.server_port))
server.serve_forever()
PY
PIDS+=($!)
for _ in $(seq 100); do [ -s "$WORK/limited.port" ] && break; sleep 0.05; done
LIMITED_URL="http://127.0.0.1:$(cat "$WORK/limited.port")/v1"

export SWITCHYARD_HOME="$WORK/home" SWITCHYARD_SECRET_STORE=file
mkdir -p "$SWITCHYARD_HOME"
printf '[proxy]\nauth_mode = "strict"\n\n[fallbacks]\n"fallback-check" = ["gpt-4o"]\n' >"$SWITCHYARD_HOME/config.toml"
echo sk-mock | "$BIN" accounts add openai --label work --base-url "$MOCK_URL/v1" --api-key-stdin --priority 1 --models 'gpt-*' >/dev/null
echo sk-mock | "$BIN" accounts add openai --label busy --base-url "$LIMITED_URL" --api-key-stdin --models 'gpt-*' >/dev/null
KEY=$("$BIN" key show)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
# A HOME of its own: the page's Connect a tool buttons write the tools' files there.
TOOLS_HOME=$WORK/user
mkdir -p "$TOOLS_HOME"
HOME=$TOOLS_HOME XDG_CONFIG_HOME=$TOOLS_HOME/.config "$BIN" serve --port "$PORT" >"$WORK/gateway.out" 2>"$WORK/gateway.err" &
PIDS+=($!)
BASE="http://127.0.0.1:$PORT"
for _ in $(seq 200); do curl -sf -H "authorization: Bearer $KEY" "$BASE/healthz" >/dev/null && break; sleep 0.05; done

# A client key of its own for one request, for the key column and filter.
CLIENT_KEY=$("$BIN" keys add dashboard-check 2>/dev/null)

# `fallback-check` has no account: its chain's gpt-4o serves, and the log says so.
for model in gpt-4o gpt-4o-mini fallback-check; do
    curl -sf "$BASE/v1/chat/completions" -H "authorization: Bearer $KEY" -H 'content-type: application/json' \
        -d "{\"model\":\"$model\",\"messages\":[{\"role\":\"user\",\"content\":\"hello dashboard\"}]}" >/dev/null
done

curl -sf "$BASE/v1/chat/completions" -H "authorization: Bearer $CLIENT_KEY" -H 'content-type: application/json' \
    -d '{"model":"gpt-keyed-check","messages":[{"role":"user","content":"hello from a client key"}]}' >/dev/null

SHOT=${DASHBOARD_SCREENSHOT:-$WORK/dashboard.png}
say "driving $CHROMIUM against $BASE/ui"
NODE_PATH="$NPM_DIR/node_modules" CHROMIUM="$CHROMIUM" BASE="$BASE" KEY="$KEY" SHOT="$SHOT" TOOLS_HOME="$TOOLS_HOME" \
    node "$ROOT/tests/dashboard/check.mjs"
say "screenshot: $SHOT"
