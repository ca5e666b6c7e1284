#!/usr/bin/env bash
# Real coding agents and the Node SDKs against Switchyard, end to end.
#
# What it does:
#   1. npm-installs, into a private prefix, pinned versions that run on Node 20:
#        @anthropic-ai/claude-code 2.1.197  (the last release whose engines allow
#                                            Node < 22; it ships a native binary)
#        @openai/codex 0.171.0              (native binary, Node >= 16)
#        @google/gemini-cli 0.61.0          (Node >= 20)
#        opencode-ai 1.18.33                (native binary)
#        @qwen-code/qwen-code 0.1.4         (the last line allowing Node 20)
#        openai 6.x, @anthropic-ai/sdk 1.x, @google/genai 2.x  (Node SDKs)
#      and makes a Python venv with the official Python SDKs (as tests/e2e).
#      Those installs are the only network access.
#   2. Builds `switchyard` and `examples/mock_upstream.rs` (debug), unless told not to.
#   3. Starts the mock upstream with --no-tool-calls (an agent declares dozens
#      of tools and must get a text answer to finish its turn) and a gateway
#      (auth strict, temp SWITCHYARD_HOME, file secret store) with three
#      accounts on the mock: openai 'gpt-*', anthropic 'claude-*', gemini 'gemini-*'.
#   4. Runs, each against all three upstreams:
#        claude -p   ANTHROPIC_BASE_URL + ANTHROPIC_API_KEY, --model per upstream
#        codex exec  the README's ~/.codex/config.toml (in the private HOME): a
#                    custom model provider with wire_api = "responses" and
#                    base_url = gateway/v1; -m per upstream, and once -m gpt-5.5
#                    (a name Codex knows) aliased to the Anthropic mock
#      and checks that the mock's echo of the prompt, signed with the upstream
#      and model it reached (`[mock gemini gemini-e2e-flash]`), is in the output.
#      Then a tool round trip per agent and upstream: the prompt asks the mock
#      (`[call Bash {...}]`, `[call exec_command {...}]`) to call the agent's
#      shell tool with `echo swy-$((6*7))`; the agent runs it, sends the result
#      back, and the mock's answer must quote `swy-42`. The mock signs its
#      Gemini function calls and refuses a turn that lost the signature, and
#      its Anthropic and Gemini answers open with a signed thought when thinking
#      is asked for (both agents ask) and must get it back with the call, so
#      these runs prove the reasoning survived the agent's round trip. Each
#      session then gets a second turn (`claude -p --continue`, `codex exec
#      resume --last`) that sends that whole history back through the gateway
#      (these cases continue the one before them: keep them together when
#      filtering with AGENTS_ONLY).
#      Both agents run with a private HOME and their telemetry, error
#      reporting, update checks and plugin sync off. When strace is present
#      every agent runs under it and the run fails if an agent opened a
#      connection to anything but 127.0.0.1 (or ran a program that would);
#      strace is installed with apt-get where it is missing and apt-get exists.
#      The Node SDKs' streaming helpers (tests/agents/node_sdks.mjs: OpenAI
#      chat.completions.stream and responses.stream, Anthropic messages.stream,
#      @google/genai generateContentStream) each run a tool round trip against
#      every upstream, and Anthropic's and Gemini's count tokens; the OpenAI
#      Node SDK's embeddings.create (base64 default, floats, 300 inputs)
#      from the openai and the gemini account, every value checked.
#      Then `switchyard connect` alone (the "connect" cases): for Claude Code,
#      Codex, Gemini CLI, OpenCode and Qwen Code, each in a new empty HOME with none of
#      its variables, `switchyard connect TOOL` and then the tool headless
#      (`claude -p`, `codex exec`, `gemini -p`, `opencode run`, `qwen -p`); the mock's
#      echo must be in its output. Each gets its own client key, so these
#      also prove a client key works with auth strict. The same for `llm`
#      (PyPI, installed in the venv): `llm -m switchyard`, and Aider (PyPI
#      aider-chat, in a venv of its own: AGENTS_AIDER_VENV, AGENTS_SKIP_AIDER).
#      And `eval "$(switchyard env)"`, then the OpenAI, Anthropic and Gemini
#      Python SDKs made with no arguments, each answered by its upstream.
#   5. Runs every runnable snippet of README.md's "## Clients and agents"
#      section (```sh, ```python, ```js blocks, and ```toml blocks whose
#      preceding line is `<!-- agents-test: write PATH -->`), in that private
#      HOME with the base URL and key replaced by the test gateway's, and checks
#      that each prints the mock's echo. So every config the README shows was run.
#   Prints a pass/fail table and `N passed, M failed`; exits 1 on any failure.
#   The processes it started are always stopped on exit (trap).
#
# Usage:  bash tests/agents/run.sh
#
# Environment:
#   AGENTS_NPM_DIR    npm prefix to install into or reuse (default: a new one in the
#                     temp dir). Reuse one to skip the download on later runs.
#   AGENTS_VENV       Python venv with the SDKs (default: $E2E_VENV, else a new one).
#   AGENTS_ONLY       run only the cases whose name contains this ("codex", "readme").
#   AGENTS_CAPTURE    a directory: first run each agent once against a recording
#                     stub (tests/agents/recorder.py) and write its first request
#                     there as claude_code_messages.json / codex_responses.json
#                     (the fixtures of tests/it/claude_code.rs and tests/it/responses.rs).
#   AGENTS_KEEP       1: keep the temp dir (logs, homes, straces) and print its path.
#   AGENTS_SKIP_BUILD 1: use the binaries already in the target dir.
#   CARGO_TARGET_DIR  cargo's target dir (default: <repo>/target).
#   PYTHON            the interpreter that makes the venv (default: python3).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/switchyard-agents.XXXXXX")
PIDS=()

CLAUDE_CODE_VERSION=2.1.197
CODEX_VERSION=0.171.0
GEMINI_CLI_VERSION=0.61.0
OPENCODE_VERSION=1.18.33
# The last Qwen Code line whose package allows Node 20 (0.2 and later want 22).
QWEN_CODE_VERSION=0.1.4
NODE_SDKS=('openai@^6' '@anthropic-ai/sdk@^1' '@google/genai@^2')

# shellcheck disable=SC2317 # reached through the trap
cleanup() {
    local status=$? pid
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
    if [[ ${AGENTS_KEEP:-0} == 1 ]]; then
        echo "agents: kept $WORK" >&2
    else
        rm -rf "$WORK"
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

say() { printf 'agents: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

command -v npm >/dev/null 2>&1 || die "npm is not installed"
started=$(date +%s)

# 1. Agents and SDKs -----------------------------------------------------------
NPM_DIR=${AGENTS_NPM_DIR:-$WORK/npm}
mkdir -p "$NPM_DIR"
say "installing Claude Code $CLAUDE_CODE_VERSION, Codex $CODEX_VERSION, Gemini CLI $GEMINI_CLI_VERSION, OpenCode $OPENCODE_VERSION, Qwen Code $QWEN_CODE_VERSION and the Node SDKs (Node $(node --version))"
(cd "$NPM_DIR" && npm install --silent --no-audit --no-fund --save-exact --prefix "$NPM_DIR" \
    "@anthropic-ai/claude-code@$CLAUDE_CODE_VERSION" "@openai/codex@$CODEX_VERSION" \
    "@google/gemini-cli@$GEMINI_CLI_VERSION" "opencode-ai@$OPENCODE_VERSION" "@qwen-code/qwen-code@$QWEN_CODE_VERSION" \
    "${NODE_SDKS[@]}" >"$WORK/npm.log" 2>&1) ||
    die "npm install failed (registry unreachable? see $WORK/npm.log; set AGENTS_NPM_DIR to a prefix that has them)"
BIN=$NPM_DIR/node_modules/.bin
# Claude Code's postinstall puts its native binary in place of a stub; where
# install scripts did not run, its wrapper finds the binary itself.
CLAUDE=("$BIN/claude")
if ! "${CLAUDE[@]}" --version >/dev/null 2>&1; then
    CLAUDE=(node "$NPM_DIR/node_modules/@anthropic-ai/claude-code/cli-wrapper.cjs")
fi
"${CLAUDE[@]}" --version >/dev/null 2>&1 || die "the installed Claude Code does not start"
CODEX=("$BIN/codex")
say "  $("${CLAUDE[@]}" --version) · $("${CODEX[@]}" --version)"

VENV=${AGENTS_VENV:-${E2E_VENV:-$WORK/venv}}
if [[ ! -x $VENV/bin/python ]]; then
    "${PYTHON:-python3}" -m venv "$VENV" || die "cannot create a venv (is python3-venv installed?)"
fi
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
    'openai>=3,<4' 'anthropic>=2,<3' 'google-genai>=3,<4' 'llm>=0.27' >"$WORK/pip.log" 2>&1 ||
    die "pip install failed (see $WORK/pip.log)"

STRACE=
if ! command -v strace >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
    # shellcheck source=scripts/lib.sh
    source "$ROOT/scripts/lib.sh"
    need_packages strace || true
fi
if command -v strace >/dev/null 2>&1; then
    STRACE=strace
else
    say "strace is not installed: the check that agents connect only to 127.0.0.1 is skipped"
fi

# 2. Build -----------------------------------------------------------------------
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
if [[ ${AGENTS_SKIP_BUILD:-0} != 1 ]]; then
    say "building switchyard and the mock upstream (debug)"
    (cd "$ROOT" && cargo build --quiet --bin switchyard --example mock_upstream)
fi
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

free_port() {
    "$VENV/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# The environment every agent and snippet runs in: a private HOME, nothing
# inherited but PATH, and every opt-out the agents document.
agent_env() {
    env -i PATH="$WORK/bin:$BIN:/usr/local/bin:/usr/bin:/bin" HOME="${AGENT_HOME:-$WORK/home}" LANG=C.UTF-8 TERM=dumb \
        SWITCHYARD_HOME="${SWITCHYARD_HOME:-}" SWITCHYARD_SECRET_STORE=file \
        DISABLE_TELEMETRY=1 DISABLE_ERROR_REPORTING=1 DISABLE_AUTOUPDATER=1 \
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 "$@"
}

# Extracts README.md's "Clients and agents" snippets for gateway $1 and key $2
# into directory $3, writing the config files they name under home $4.
readme_snippets() {
    "$VENV/bin/python" "$ROOT/tests/agents/readme_snippets.py" "$ROOT/README.md" "Clients and agents" "$3" \
        "$1" "$2" "$4" >"$WORK/snippets.log" 2>&1 || die "could not extract the README snippets: $(cat "$WORK/snippets.log")"
    local kind file target
    while IFS=$'\t' read -r kind file target; do
        if [[ $kind == write ]]; then
            mkdir -p "$(dirname "$target")"
            cp "$file" "$target"
        fi
    done <"$3/index.tsv"
}

# 3b. Optional capture of the agents' raw requests ---------------------------------
if [[ -n ${AGENTS_CAPTURE:-} ]]; then
    mkdir -p "$AGENTS_CAPTURE" "$WORK/capture-home"
    port=$(free_port)
    "$VENV/bin/python" "$ROOT/tests/agents/recorder.py" "$port" "$WORK/captured" >"$WORK/recorder.log" 2>&1 &
    PIDS+=("$!")
    wait_for_line "$WORK/recorder.log" '^listening' "$!" >/dev/null || die "the recorder did not start"
    say "capturing the agents' first requests into $AGENTS_CAPTURE"
    # The README's own Codex config, pointed at the recorder.
    readme_snippets "http://127.0.0.1:$port" sk-placeholder-not-a-secret "$WORK/capture-snippets" "$WORK/capture-home"
    export AGENT_HOME=$WORK/capture-home
    (cd "$WORK" && agent_env ANTHROPIC_BASE_URL="http://127.0.0.1:$port" ANTHROPIC_API_KEY=sk-placeholder-not-a-secret \
        timeout 120 "${CLAUDE[@]}" -p "What is 2 + 2?" --model claude-sonnet-5 >/dev/null 2>&1 </dev/null) || true
    (cd "$WORK" && agent_env SWITCHYARD_API_KEY=sk-placeholder-not-a-secret \
        timeout 120 "${CODEX[@]}" exec --skip-git-repo-check -m gpt-5-codex "What is 2 + 2?" >/dev/null 2>&1 </dev/null) || true
    unset AGENT_HOME
    "$VENV/bin/python" - "$WORK/captured" "$AGENTS_CAPTURE" "$("${CLAUDE[@]}" --version)" "$("${CODEX[@]}" --version)" <<'PY'
import json, pathlib, sys
captured, out, claude_version, codex_version = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]), sys.argv[3], sys.argv[4]
wanted = {"/v1/messages": ("claude_code_messages.json", claude_version), "/v1/responses": ("codex_responses.json", codex_version)}
# The first request to each endpoint is the agent's turn.
for path in sorted(captured.glob("*.json")):
    record = json.loads(path.read_text())
    name, version = wanted.pop(record["path"].split("?")[0], (None, None))
    if name:
        record = {"client": version, **record}
        (out / name).write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n")
        print(f"agents: wrote {out / name} ({record['method']} {record['path']})", file=sys.stderr)
for name, _ in wanted.values():
    print(f"agents: no request captured for {name}", file=sys.stderr)
PY
fi

# 3. Mock upstream and gateway -----------------------------------------------------
UPSTREAM_KEY='upstream-key-for-the-mock'
"$MOCK" --port 0 --api-key "$UPSTREAM_KEY" --no-tool-calls >"$WORK/mock.log" 2>&1 &
mock_pid=$!
PIDS+=("$mock_pid")
line=$(wait_for_line "$WORK/mock.log" '^listening on ' "$mock_pid") || die "the mock upstream did not start"
MOCK_URL="http://${line#listening on }"

export SWITCHYARD_HOME=$WORK/switchyard SWITCHYARD_SECRET_STORE=file SWITCHYARD_LOG=${SWITCHYARD_LOG:-info}
add_account() {
    printf '%s' "$UPSTREAM_KEY" |
        "$SWITCHYARD" accounts add "$1" --label "mock-$1" --base-url "$2" --api-key-stdin --models "$3" >/dev/null
}
add_account openai "$MOCK_URL/v1" 'gpt-*,text-embedding-*'
add_account anthropic "$MOCK_URL" 'claude-*'
add_account gemini "$MOCK_URL" 'gemini-*'
# A model name Codex knows, so that it sends its full request for it
# (reasoning effort, text verbosity), served by the strictest mock.
cat >>"$SWITCHYARD_HOME/config.toml" <<'EOF'

[models]
"gpt-5.5" = "claude-e2e-sonnet"
EOF
GATEWAY_KEY=$("$SWITCHYARD" key show)
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
say "gateway on $GATEWAY (auth strict) in front of the mock on $MOCK_URL"
mkdir -p "$WORK/home"
SNIPPETS=$NPM_DIR/readme-snippets # inside the npm prefix, so that `import "openai"` resolves
rm -rf "$SNIPPETS"
readme_snippets "$GATEWAY" "$GATEWAY_KEY" "$SNIPPETS" "$WORK/home"

# 4. Cases ---------------------------------------------------------------------------
declare -A RESULT SECONDS_TAKEN
FAILURES=()
ORDER=()

# Runs `$@` (in agent_env) as case $1, saving its output as $WORK/out/<name>.txt,
# under strace when available; then checks every needle in NEEDLES.
run_case() {
    local name=$1 slug
    shift
    [[ -z ${AGENTS_ONLY:-} || $name == *"$AGENTS_ONLY"* ]] || return 0
    ORDER+=("$name")
    slug=${name//[^A-Za-z0-9]/_}
    mkdir -p "$WORK/out" "$WORK/strace"
    local out=$WORK/out/$slug.txt trace=$WORK/strace/$slug.txt start status problem=
    local tracer=()
    [[ -n $STRACE ]] && tracer=(strace -f -qq -e 'trace=connect,execve' -s 300 -o "$trace")
    start=$(date +%s%N)
    set +e
    (cd "$WORK/home" && agent_env ${CASE_ENV[@]+"${CASE_ENV[@]}"} timeout 180 ${tracer[@]+"${tracer[@]}"} "$@" >"$out" 2>&1 </dev/null)
    status=$?
    set -e
    local tenths=$((($(date +%s%N) - start) / 100000000))
    SECONDS_TAKEN[$name]=$((tenths / 10)).$((tenths % 10))
    if [[ $status -ne 0 ]]; then
        problem="exit status $status"
    else
        local needle
        for needle in "${NEEDLES[@]}"; do
            grep -qF -- "$needle" "$out" || problem="output lacks \`$needle\`"
        done
    fi
    if [[ -z $problem && -n $STRACE && ${ALLOW_OUTSIDE:-0} != 1 ]]; then
        problem=$(outside_contacts "$trace")
    fi
    if [[ -z $problem ]]; then
        RESULT[$name]=PASS
    else
        RESULT[$name]=FAIL
        FAILURES+=("$name: $problem; last output lines:"$'\n'"$(tail -n 8 "$out" | sed 's/^/    /')")
    fi
}

# Prints what in strace log $1 reached beyond loopback, or nothing: connects
# to other inet addresses (DNS lookups included), and programs that fetch
# from the network (git's remote helpers, ssh, curl, wget). Local git
# commands (Claude Code reads the repository's state) are fine.
outside_contacts() {
    local found
    found=$(grep -E 'connect\(.*AF_INET6?' "$1" | grep -vE 'inet_addr\("127\.|inet_pton\(AF_INET6, "::1"|::ffff:127\.' | head -n 3 || true)
    found+=$(grep -E 'execve\("[^"]*/(git-remote-[a-z]+|ssh|curl|wget)"' "$1" | grep -v ENOENT | head -n 3 || true)
    if [[ -n $found ]]; then
        printf 'contacted something besides the gateway: %s' "$found"
    fi
}

# The filter above must tell loopback from anything else: checked on
# made-up strace lines, so that a broken pattern cannot pass every agent.
mkdir -p "$WORK/strace"
cat >"$WORK/strace/self-check.txt" <<'EOF'
101 connect(3, {sa_family=AF_INET, sin_port=htons(8045), sin_addr=inet_addr("127.0.0.1")}, 16) = 0
102 execve("/usr/bin/git", ["git", "config", "--get", "remote.origin.url"], 0x1 /* 3 vars */) = 0
EOF
[[ -z $(outside_contacts "$WORK/strace/self-check.txt") ]] || die "self-check: the strace filter flags loopback"
echo '103 connect(4, {sa_family=AF_INET, sin_port=htons(53), sin_addr=inet_addr("192.0.2.53")}, 16) = 0' >>"$WORK/strace/self-check.txt"
[[ -n $(outside_contacts "$WORK/strace/self-check.txt") ]] || die "self-check: the strace filter misses a DNS lookup"
echo '104 execve("/usr/lib/git-core/git-remote-https", ["git-remote-https", "origin"], 0x1 /* 3 vars */) = 0' >"$WORK/strace/self-check.txt"
[[ -n $(outside_contacts "$WORK/strace/self-check.txt") ]] || die "self-check: the strace filter misses a git fetch"

MODELS=(gpt-e2e-mini claude-e2e-sonnet gemini-e2e-flash)
provider_of() {
    case $1 in gpt-*) echo openai ;; claude-*) echo anthropic ;; *) echo gemini ;; esac
}

for model in "${MODELS[@]}"; do
    upstream=$(provider_of "$model")
    prompt="Answer with one word: which gateway is this? (claude via $upstream)"
    NEEDLES=("$prompt" "[mock $upstream $model]")
    CASE_ENV=(ANTHROPIC_BASE_URL="$GATEWAY" ANTHROPIC_API_KEY="$GATEWAY_KEY"
        ANTHROPIC_DEFAULT_HAIKU_MODEL="$model" ANTHROPIC_SMALL_FAST_MODEL="$model")
    run_case "claude -p via $upstream" "${CLAUDE[@]}" -p "$prompt" --model "$model"
    # A tool round trip: the mock calls Bash as the prompt asks, Claude Code
    # runs it and sends the result back, the mock quotes it. `swy-42` is in
    # no prompt: only the command's output carries it.
    # shellcheck disable=SC2016 # the shell that expands it is the agent's
    prompt='Run the marker command. [call Bash {"command": "echo swy-$((6*7))", "description": "Print the marker"}]'
    NEEDLES=("tool result: swy-42" "[mock $upstream $model]")
    run_case "claude -p tool call via $upstream" "${CLAUDE[@]}" -p "$prompt" --model "$model" --allowedTools 'Bash(echo:*)'
    # A second turn of that session: Claude Code sends the whole history back
    # (signed thinking, the call, its result), which the mocks check.
    prompt="And once more, in a word (claude continued via $upstream)"
    NEEDLES=("$prompt" "[mock $upstream $model]")
    run_case "claude -p --continue via $upstream" "${CLAUDE[@]}" -p --continue "$prompt" --model "$model"
done

# The other way to give Claude Code the key: ANTHROPIC_AUTH_TOKEN, sent as
# `Authorization: Bearer` (the gateway runs with auth strict).
prompt="Answer with one word: which gateway is this? (claude with an auth token)"
NEEDLES=("$prompt" "[mock gemini gemini-e2e-flash]")
CASE_ENV=(ANTHROPIC_BASE_URL="$GATEWAY" ANTHROPIC_AUTH_TOKEN="$GATEWAY_KEY")
run_case "claude -p with ANTHROPIC_AUTH_TOKEN" "${CLAUDE[@]}" -p "$prompt" --model gemini-e2e-flash

# Codex runs with the README's ~/.codex/config.toml, its model chosen by -m.
for model in "${MODELS[@]}"; do
    upstream=$(provider_of "$model")
    prompt="Answer with one word: which gateway is this? (codex via $upstream)"
    NEEDLES=("$prompt" "[mock $upstream $model]")
    CASE_ENV=(SWITCHYARD_API_KEY="$GATEWAY_KEY")
    run_case "codex exec via $upstream" "${CODEX[@]}" exec --skip-git-repo-check -m "$model" "$prompt"
    # The same through Codex's exec_command; the mock quotes the whole
    # function_call_output, whose exit line Codex prints nowhere else.
    # shellcheck disable=SC2016 # the shell that expands it is the agent's
    prompt='Run the marker command. [call exec_command {"cmd": "echo swy-$((6*7))"}]'
    NEEDLES=("tool result: " "Process exited with code 0" "swy-42" "[mock $upstream $model]")
    # Codex asks for reasoning summaries: the Anthropic and Gemini mocks think
    # first and want the signed thinking back with the call, so the round trip
    # also proves the reasoning survived Codex's encrypted_content.
    [[ $upstream == openai ]] || NEEDLES+=("The mock thinks before it answers.")
    run_case "codex exec tool call via $upstream" "${CODEX[@]}" exec --skip-git-repo-check -m "$model" "$prompt"
    # A second turn of that session, its history (reasoning items with their
    # encrypted_content, the call, its output) sent back by Codex.
    prompt="And once more, in a word (codex resumed via $upstream)"
    NEEDLES=("$prompt" "[mock $upstream $model]")
    run_case "codex exec resume via $upstream" "${CODEX[@]}" exec --skip-git-repo-check -m "$model" resume --last "$prompt"
done

# Codex with a model it knows (aliased to the Anthropic mock): reasoning
# effort medium becomes a thinking budget, and its signed thinking must
# come back through Codex's encrypted_content with the call.
# shellcheck disable=SC2016 # the shell that expands it is the agent's
prompt='Run the marker command. [call exec_command {"cmd": "echo swy-$((6*7))"}]'
NEEDLES=("Process exited with code 0" "swy-42" "[mock anthropic claude-e2e-sonnet]" "The mock thinks before it answers.")
CASE_ENV=(SWITCHYARD_API_KEY="$GATEWAY_KEY")
run_case "codex exec -m gpt-5.5 (alias) tool call" "${CODEX[@]}" exec --skip-git-repo-check -m gpt-5.5 "$prompt"

# `switchyard connect TOOL` alone: a new empty HOME, none of the tool's
# variables (agent_env passes only PATH, HOME and the opt-outs), the
# connect command, then the tool headless. Each tool gets a client key of
# its own (the gateway runs with auth strict).
connect_case() {
    local tool=$1
    shift
    AGENT_HOME=$WORK/connect-home-$tool
    mkdir -p "$AGENT_HOME"
    export AGENT_HOME
    # shellcheck disable=SC2016 # expanded by the case's own shell
    run_case "connect $tool" bash -euo pipefail -c 'switchyard connect "$0" ${CONNECT_MODEL:+--model "$CONNECT_MODEL"} >&2 && exec "$@"' "$tool" "$@"
    unset AGENT_HOME
}
prompt="Answer in one word (claude after connect)"
NEEDLES=("$prompt" "[mock anthropic ")
CASE_ENV=()
connect_case claude-code "${CLAUDE[@]}" -p "$prompt"
# Codex's network opt-outs (the README's config) as -c flags, so that its
# config.toml holds only what connect wrote.
prompt="Answer in one word (codex after connect)"
NEEDLES=("$prompt" "[mock openai ")
connect_case codex "${CODEX[@]}" exec --skip-git-repo-check -c check_for_update_on_startup=false \
    -c analytics.enabled=false -c feedback.enabled=false -c features.plugins=false "$prompt"
# Gemini CLI and OpenCode look names up and call home at start whatever
# their settings here (DNS lookups; OpenCode an HTTPS fetch, its model
# catalogue), so these two cases check the answer, not that the tool stayed
# on loopback.
ALLOW_OUTSIDE=1
# Gemini CLI reads ~/.gemini/.env only in a trusted folder: the folder is
# trusted the way a user would answer its prompt, in its own trustedFolders.json.
mkdir -p "$WORK/connect-home-gemini-cli/.gemini"
printf '{"%s": "TRUST_FOLDER"}\n' "$WORK/home" >"$WORK/connect-home-gemini-cli/.gemini/trustedFolders.json"
prompt="Answer in one word (gemini after connect)"
NEEDLES=("$prompt" "[mock gemini ")
connect_case gemini-cli "$BIN/gemini" -p "$prompt"
prompt="Answer in one word (opencode after connect)"
NEEDLES=("$prompt" "[mock openai gpt-e2e-mini]")
CASE_ENV=(CONNECT_MODEL=gpt-e2e-mini OPENCODE_DISABLE_AUTOUPDATE=1 OPENCODE_DISABLE_MODELS_FETCH=1 OPENCODE_DISABLE_LSP_DOWNLOAD=1)
connect_case opencode "$BIN/opencode" run "$prompt"
ALLOW_OUTSIDE=1 # Qwen Code reports usage to its RUM endpoint at start
prompt="Answer in one word (qwen after connect)"
NEEDLES=("$prompt" "[mock openai gpt-e2e-mini]")
CASE_ENV=(CONNECT_MODEL=gpt-e2e-mini)
connect_case qwen-code "$BIN/qwen" -p "$prompt"
CASE_ENV=()
ALLOW_OUTSIDE=0
# Simon Willison's llm (PyPI, in the venv): an extra OpenAI model `switchyard`.
prompt="Answer in one word (llm after connect)"
NEEDLES=("$prompt" "[mock openai gpt-e2e-mini]")
CASE_ENV=(CONNECT_MODEL=gpt-e2e-mini)
connect_case llm "$VENV/bin/llm" -m switchyard "$prompt"
CASE_ENV=()
# Aider (PyPI aider-chat, large: its own venv, AGENTS_AIDER_VENV to reuse one;
# AGENTS_SKIP_AIDER=1 leaves it out). --dry-run: it edits no file here.
if [[ ${AGENTS_SKIP_AIDER:-0} != 1 && ( -z ${AGENTS_ONLY:-} || "connect aider" == *"$AGENTS_ONLY"* ) ]]; then
    AIDER_VENV=${AGENTS_AIDER_VENV:-$WORK/aider-venv}
    if [[ ! -x $AIDER_VENV/bin/aider ]]; then
        say "installing aider-chat into $AIDER_VENV"
        "${PYTHON:-python3}" -m venv "$AIDER_VENV" && "$AIDER_VENV/bin/python" -m pip install --quiet \
            --disable-pip-version-check aider-chat >"$WORK/pip-aider.log" 2>&1 || die "pip install aider-chat failed (see $WORK/pip-aider.log)"
    fi
    # LiteLLM (inside Aider) fetches its model price list at start: the
    # answer is checked, not that it stayed on loopback.
    NEEDLES=("[mock openai gpt-e2e-mini]")
    CASE_ENV=(CONNECT_MODEL=gpt-e2e-mini)
    ALLOW_OUTSIDE=1
    connect_case aider "$AIDER_VENV/bin/aider" --message "Answer in one word (aider after connect)" --yes-always --no-git \
        --dry-run --no-check-update --no-show-model-warnings --no-analytics
    CASE_ENV=()
    ALLOW_OUTSIDE=0
fi

# `eval "$(switchyard env)"`, then the three Python SDKs built with no
# arguments at all: each must find the gateway and the key in what env exported.
cat >"$WORK/env_sdks.py" <<'PY'
import anthropic, openai
from google import genai
print(openai.OpenAI().chat.completions.create(model="gpt-e2e-mini", messages=[{"role": "user", "content": "env openai"}]).choices[0].message.content)
print(anthropic.Anthropic().messages.create(model="claude-e2e-sonnet", max_tokens=64, messages=[{"role": "user", "content": "env anthropic"}]).content[0].text)
client = genai.Client()  # kept in a variable: a Client closes its connection when collected
print(client.models.generate_content(model="gemini-e2e-flash", contents="env gemini").text)
PY
NEEDLES=("env openai [mock openai gpt-e2e-mini]" "env anthropic [mock anthropic claude-e2e-sonnet]" "env gemini [mock gemini gemini-e2e-flash]")
CASE_ENV=(PYTHON_BIN="$VENV/bin/python" ENV_SCRIPT="$WORK/env_sdks.py")
# shellcheck disable=SC2016 # expanded by the case's own shell
run_case "env: eval, then the Python SDKs" bash -euo pipefail -c 'eval "$(switchyard env)" && exec "$PYTHON_BIN" "$ENV_SCRIPT"'
CASE_ENV=()

# The Node SDKs' own stream accumulators, a tool round trip each
# (tests/agents/node_sdks.mjs, copied into the npm prefix so that its imports
# resolve there).
cp "$ROOT/tests/agents/node_sdks.mjs" "$NPM_DIR/node_sdks.mjs"
for client in openai-chat openai-responses anthropic gemini; do
    for model in "${MODELS[@]}"; do
        upstream=$(provider_of "$model")
        NEEDLES=("tool result: " "sunny, 22 C" "[mock $upstream $model]")
        CASE_ENV=(SWITCHYARD_URL="$GATEWAY" SWITCHYARD_KEY="$GATEWAY_KEY")
        run_case "node $client via $upstream" node "$NPM_DIR/node_sdks.mjs" "$client" "$model"
    done
done
# Embeddings through the OpenAI Node SDK, from each account kind that embeds.
for pair in openai:text-embedding-3-small gemini:gemini-embedding-001; do
    NEEDLES=("vectors as the mock made them from ${pair#*:}")
    CASE_ENV=(SWITCHYARD_URL="$GATEWAY" SWITCHYARD_KEY="$GATEWAY_KEY")
    run_case "node openai-embeddings via ${pair%%:*}" node "$NPM_DIR/node_sdks.mjs" openai-embeddings "${pair#*:}"
done

# 5. The README's snippets, as written there ---------------------------------------
while IFS=$'\t' read -r kind file _; do
    NEEDLES=("echo: " "[mock ")
    CASE_ENV=()
    case $kind in
        sh) run_case "readme: $(basename "$file")" bash -euo pipefail "$file" ;;
        python) run_case "readme: $(basename "$file")" "$VENV/bin/python" "$file" ;;
        js) run_case "readme: $(basename "$file")" node "$file" ;;
    esac
done <"$SNIPPETS/index.tsv"

# Report ---------------------------------------------------------------------------
finished=$(date +%s)
echo
printf '%-44s %s\n' case result
passed=0
for name in "${ORDER[@]}"; do
    printf '%-44s %s %5ss\n' "$name" "${RESULT[$name]}" "${SECONDS_TAKEN[$name]}"
    [[ ${RESULT[$name]} == PASS ]] && passed=$((passed + 1))
done
if [[ ${#FAILURES[@]} -gt 0 ]]; then
    echo
    echo "Failures:"
    printf -- '- %s\n' "${FAILURES[@]}"
fi
echo
echo "$passed passed, $((${#ORDER[@]} - passed)) failed"
say "setup+build $((built - started))s, agents $((finished - built))s"
[[ ${#FAILURES[@]} -eq 0 && ${#ORDER[@]} -gt 0 ]]
