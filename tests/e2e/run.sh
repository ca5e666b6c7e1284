#!/usr/bin/env bash
# End-to-end test of Switchyard with the official Python SDKs.
#
# What it does:
#   1. Makes a Python venv (in a temp dir, or $E2E_VENV) and pip-installs the
#      official SDKs from PyPI: openai 3.x, anthropic 2.x, google-genai 3.x,
#      and the legacy google-generativeai 0.8 (REST transport).
#      That install is the only network access; everything else stays on 127.0.0.1.
#   2. Builds the `switchyard` binary and `examples/mock_upstream.rs` (debug).
#   3. Starts the mock upstream on a free port, then one gateway on a free port
#      with a temp SWITCHYARD_HOME, SWITCHYARD_SECRET_STORE=file, auth mode
#      strict, and three accounts added through the CLI, all pointing at the mock:
#        openai     --models 'gpt-*,text-embedding-*' (base URL http://127.0.0.1:PORT/v1)
#        anthropic  --models 'claude-*'
#        gemini     --models 'gemini-*'
#      plus [models] aliases e2e-openai / e2e-anthropic / e2e-gemini.
#   4. Runs tests/e2e/sdk_e2e.py: every SDK x every upstream x complete/stream,
#      each a plain turn and a tool-call round trip; the OpenAI SDK's
#      `responses.create` (complete and stream) x every upstream with a
#      function_call_output round trip and a previous_response_id follow-up;
#      `anthropic.messages.count_tokens` and google-genai `models.count_tokens`
#      x every upstream; then the SDKs' 401 and 404 errors and model lists;
#      then the legacy google-generativeai (generate_content complete and
#      streamed and count_tokens x every upstream, list_models); then
#      embeddings: the OpenAI SDK, google-genai and the legacy SDK x the
#      gemini and openai accounts (vectors checked value by value).
#      Prints a pass/fail table and exits non-zero on any failure. Takes a few
#      seconds once built.
#   The processes it started are always stopped on exit (trap).
#
# Usage:  bash tests/e2e/run.sh
#
# Environment:
#   E2E_VENV          venv to use or create (default: a new one in the temp dir).
#                     Reuse one to skip the download on later runs.
#   E2E_PIP_ARGS      extra arguments for pip install (e.g. "--no-index --find-links DIR").
#   E2E_ONLY          run only the cases whose name contains this ("gemini/stream").
#   E2E_KEEP          1: keep the temp dir (logs, home) after the run and print its path.
#   E2E_SKIP_BUILD    1: use the binaries already in the target dir.
#   CARGO_TARGET_DIR  cargo's target dir (default: <repo>/target). The binaries are
#                     snapshotted after the build; still, a target dir shared with
#                     other checkouts can hand out their build if one lands between
#                     this script's build and its snapshot.
#   PYTHON            the interpreter that makes the venv (default: python3).
#   SWITCHYARD_LOG    the gateway's log filter (default: info); its log and the
#                     mock's are printed (last lines) when the run fails.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/switchyard-e2e.XXXXXX")
PIDS=()

# shellcheck disable=SC2317 # reached through the trap
cleanup() {
    local status=$? pid
    # ${PIDS[@]+...}: an empty array is "unbound" under set -u in bash < 4.4.
    for pid in ${PIDS[@]+"${PIDS[@]}"}; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in ${PIDS[@]+"${PIDS[@]}"}; do
        wait "$pid" 2>/dev/null || true
    done
    if [[ $status -ne 0 ]]; then
        for log in "$WORK"/*.log; do
            [[ -s $log ]] || continue
            echo "--- last lines of $(basename "$log")" >&2
            tail -n 20 "$log" >&2
        done
    fi
    if [[ ${E2E_KEEP:-0} == 1 ]]; then
        echo "e2e: kept $WORK" >&2
    else
        rm -rf "$WORK"
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

say() { printf 'e2e: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

started=$(date +%s)

# 1. Python SDKs -------------------------------------------------------------
VENV=${E2E_VENV:-$WORK/venv}
if [[ ! -x $VENV/bin/python ]]; then
    say "creating venv $VENV"
    "${PYTHON:-python3}" -m venv "$VENV" || die "cannot create a venv (is python3-venv installed?)"
fi
say "installing the SDKs (openai 3.x, anthropic 2.x, google-genai 3.x, google-generativeai 0.8)"
# shellcheck disable=SC2086 # E2E_PIP_ARGS is a list of words
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check ${E2E_PIP_ARGS:-} \
    'openai>=3,<4' 'anthropic>=2,<3' 'google-genai>=3,<4' 'google-generativeai>=0.8,<0.9' ||
    die "pip install failed (PyPI unreachable? set E2E_VENV to a venv that has the SDKs)"
"$VENV/bin/python" -m pip list --disable-pip-version-check 2>/dev/null |
    grep -E '^(openai|anthropic|google-genai|google-generativeai|httpx2?|requests) ' | tr -s ' ' | sed 's/^/e2e:   /' >&2 || true

# 2. Build -------------------------------------------------------------------
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
if [[ ${E2E_SKIP_BUILD:-0} != 1 ]]; then
    say "building switchyard and the mock upstream (debug)"
    (cd "$ROOT" && cargo build --quiet --bin switchyard --example mock_upstream)
fi
# Snapshot the binaries (a hard link where possible): another build into the
# same target dir during the run must not swap the gateway under the test.
mkdir -p "$WORK/bin"
for built_file in debug/switchyard debug/examples/mock_upstream; do
    [[ -x $CARGO_TARGET_DIR/$built_file ]] || die "missing $CARGO_TARGET_DIR/$built_file"
    ln "$CARGO_TARGET_DIR/$built_file" "$WORK/bin/" 2>/dev/null || cp "$CARGO_TARGET_DIR/$built_file" "$WORK/bin/"
done
SWITCHYARD=$WORK/bin/switchyard
MOCK=$WORK/bin/mock_upstream
built=$(date +%s)

# Waits until file $1 has a line matching $2 (extended regex) or process $3 exits; prints the line.
wait_for_line() {
    local file=$1 pattern=$2 pid=$3 line
    for _ in $(seq 1 200); do
        line=$(grep -m1 -E "$pattern" "$file" 2>/dev/null || true)
        if [[ -n $line ]]; then
            printf '%s\n' "$line"
            return 0
        fi
        kill -0 "$pid" 2>/dev/null || return 1
        sleep 0.05
    done
    return 1
}

# 3. Mock upstream and gateway -------------------------------------------------
UPSTREAM_KEY=upstream-key-for-the-mock
"$MOCK" --port 0 --api-key "$UPSTREAM_KEY" >"$WORK/mock.log" 2>&1 &
mock_pid=$!
PIDS+=("$mock_pid")
line=$(wait_for_line "$WORK/mock.log" '^listening on ' "$mock_pid") || die "the mock upstream did not start"
MOCK_URL="http://${line#listening on }"
say "mock upstream on $MOCK_URL"

export SWITCHYARD_HOME=$WORK/home SWITCHYARD_SECRET_STORE=file SWITCHYARD_LOG=${SWITCHYARD_LOG:-info}
add_account() {
    local provider=$1 base_url=$2 models=$3
    printf '%s' "$UPSTREAM_KEY" |
        "$SWITCHYARD" accounts add "$provider" --label "mock-$provider" --base-url "$base_url" \
            --api-key-stdin --models "$models" >/dev/null
}
add_account openai "$MOCK_URL/v1" 'gpt-*,text-embedding-*'
add_account anthropic "$MOCK_URL" 'claude-*'
add_account gemini "$MOCK_URL" 'gemini-*'
cat >>"$SWITCHYARD_HOME/config.toml" <<'EOF'

[models]
"e2e-openai" = "gpt-e2e-mini"
"e2e-anthropic" = "claude-e2e-sonnet"
"e2e-gemini" = "gemini-e2e-flash"
"e2e-embed" = "gemini-embedding-001"
EOF
GATEWAY_KEY=$("$SWITCHYARD" key show)

free_port() {
    "$VENV/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
# A free port can be taken between the probe and the bind: try a few.
for _ in 1 2 3; do
    PORT=$(free_port)
    "$SWITCHYARD" serve --port "$PORT" --auth-mode strict >"$WORK/gateway.log" 2>&1 &
    gateway_pid=$!
    PIDS+=("$gateway_pid")
    if wait_for_line "$WORK/gateway.log" '^Switchyard listening on ' "$gateway_pid" >/dev/null; then
        GATEWAY="http://127.0.0.1:$PORT"
        break
    fi
    GATEWAY=
done
[[ -n $GATEWAY ]] || die "the gateway did not start"
say "gateway on $GATEWAY (auth strict) with 3 accounts"
# The gateway fetches the accounts' model lists after it starts listening
# (never on a request's path): wait until the mock's catalogue is in.
for _ in $(seq 1 100); do
    "$SWITCHYARD" models --json 2>/dev/null | grep -q '"claude-sonnet-4-5-20250929"' && break
    sleep 0.1
done

# 4. The SDKs ------------------------------------------------------------------
# Each client reaches each upstream: its own provider by alias (the relayed
# body or URL gets the model rewritten), the others by native name (glob).
export E2E_GATEWAY=$GATEWAY E2E_KEY=$GATEWAY_KEY E2E_ONLY=${E2E_ONLY:-}
export E2E_MODELS='{"native": {"openai": "gpt-e2e-mini", "anthropic": "claude-e2e-sonnet", "gemini": "gemini-e2e-flash"},
                   "alias": {"openai": "e2e-openai", "anthropic": "e2e-anthropic", "gemini": "e2e-gemini"}}'
# In the background with `wait`, so that a signal runs the trap at once
# (bash defers traps until a foreground command returns).
"$VENV/bin/python" "$ROOT/tests/e2e/sdk_e2e.py" &
driver_pid=$!
PIDS+=("$driver_pid")
set +e
wait "$driver_pid"
result=$?
set -e
finished=$(date +%s)
say "setup+build $((built - started))s, tests $((finished - built))s"
exit "$result"
