#!/usr/bin/env bash
# The tray agent end to end, headless: a virtual display (Xvfb), a private
# D-Bus session, gnome-keyring's Secret Service unlocked in it, and the
# notification daemon dunst started by D-Bus activation.
#
# What it checks (each step prints "tray: ok - ..."):
#   - `switchyard` without a display prints one line naming `switchyard serve`
#     and exits 1, without a panic.
#   - secrets round-trip through the real Secret Service: `key set`, `key show`
#     and `accounts add` with the default keychain store, read back with
#     secret-tool.
#   - the tray (started from a path with a space) starts the gateway at launch
#     when auto_start = true and /healthz answers; Stop frees the port and
#     Start binds it again.
#   - Copy base URL and Copy API key put the real values on the clipboard, and
#     the copied URL and key get an answer through the gateway.
#   - a busy port gives the error state and the bind-failure notification
#     (captured with dbus-monitor), and no panic.
#   - Allow LAN access rebinds on 0.0.0.0 and is written to config.toml; an
#     account added from the CLI shows in the status line (live reload).
#   - Launch at login makes the autostart entry (with the path quoted) and
#     removes it again; `switchyard autostart on|off|status` does the same.
#   - Connect a tool ▸ Codex writes ~/.codex/config.toml with a client key of
#     its own, notifies, and a call with that key is answered.
#   - a daily budget reached by one account notifies once (captured over
#     D-Bus), however many calls follow, and the other account serves them.
#   - Quit stops the gateway and exits 0.
# The tray is driven through its test hook (SWITCHYARD_TRAY_TEST=1: menu
# item ids on stdin, states on stdout), which takes the same path as a click.
#
# Usage:  bash tests/tray/run.sh
# Env:    SWITCHYARD_BIN   the binary (default: target/debug/switchyard, built first)
#         TRAY_KEEP=1      keep the temp dir (logs) and print its path
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
say() { printf 'tray: %s\n' "$*" >&2; }
die() {
    say "FAIL - $*"
    exit 1
}

# Outside: build, then re-run this script inside Xvfb and a private session bus.
if [[ -z ${TRAY_INSIDE:-} ]]; then
    for tool in xvfb-run dbus-run-session dbus-monitor gnome-keyring-daemon secret-tool dunst xclip python3 curl; do
        command -v "$tool" >/dev/null || die "$tool is missing (scripts/test installs the packages)"
    done
    if [[ -z ${SWITCHYARD_BIN:-} ]]; then
        (cd "$ROOT" && cargo build --quiet --bin switchyard --example mock_upstream)
    fi
    export TRAY_INSIDE=1
    exec xvfb-run -a -s "-screen 0 1280x800x24" dbus-run-session -- bash "${BASH_SOURCE[0]}" "$@"
fi

TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/switchyard-tray.XXXXXX")
PIDS=()
cleanup() {
    local status=$? pid
    for pid in ${PIDS[@]+"${PIDS[@]}"}; do kill "$pid" 2>/dev/null || true; done
    for pid in ${PIDS[@]+"${PIDS[@]}"}; do wait "$pid" 2>/dev/null || true; done
    if [[ $status -ne 0 ]]; then
        for log in "$WORK"/*.log; do
            [[ -s $log ]] || continue
            echo "--- last lines of $(basename "$log")" >&2
            tail -n 25 "$log" >&2
        done
    fi
    if [[ ${TRAY_KEEP:-0} == 1 ]]; then say "kept $WORK"; else rm -rf "$WORK"; fi
    exit "$status"
}
trap cleanup EXIT

# The binary runs from a directory with a space, so that the autostart
# entry must quote its path.
mkdir -p "$WORK/My Apps"
cp "${SWITCHYARD_BIN:-$TARGET/debug/switchyard}" "$WORK/My Apps/switchyard"
SWITCHYARD="$WORK/My Apps/switchyard"
MOCK=$TARGET/debug/examples/mock_upstream

# A home of our own: the autostart entry goes to $HOME/.config/autostart and
# gnome-keyring keeps its keyring under $HOME/.local/share.
export HOME=$WORK/home XDG_DATA_HOME=$WORK/home/.local/share XDG_CONFIG_HOME=$WORK/home/.config
mkdir -p "$HOME"
export SWITCHYARD_HOME=$WORK/switchyard
unset SWITCHYARD_SECRET_STORE
export SWITCHYARD_LOG=info

# Notifications on the session bus, as they are sent.
dbus-monitor "interface='org.freedesktop.Notifications',member='Notify'" >"$WORK/notifications.log" 2>&1 &
PIDS+=($!)
# The Secret Service, unlocked with a password of our own.
eval "$(printf 'tray-test-password' | gnome-keyring-daemon --unlock --components=secrets)"
export GNOME_KEYRING_CONTROL
[[ -n ${GNOME_KEYRING_CONTROL:-} ]] || die "gnome-keyring did not start"

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
port_is_free() { python3 -c 'import socket, sys; s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1])))' "$1" 2>/dev/null; }
healthz() { curl -fsS --max-time 3 "http://127.0.0.1:$1/healthz"; }
# Waits until file $1 has a line matching $2 (extended regex); prints it.
wait_for_line() {
    local file=$1 pattern=$2 line
    for _ in $(seq 1 300); do
        line=$(grep -aE "$pattern" "$file" 2>/dev/null | tail -n1 || true)
        if [[ -n $line ]]; then
            printf '%s\n' "$line"
            return 0
        fi
        sleep 0.05
    done
    return 1
}

# 1. No display -------------------------------------------------------------
set +e
headless=$(env -u DISPLAY -u WAYLAND_DISPLAY "$SWITCHYARD" 2>&1)
code=$?
set -e
[[ $code -eq 1 ]] || die "without a display the exit code is $code, not 1: $headless"
[[ $(printf '%s\n' "$headless" | wc -l) -eq 1 ]] || die "more than one line without a display: $headless"
[[ $headless == *"switchyard serve"* && $headless == *"no display"* ]] || die "unhelpful message: $headless"
[[ $headless != *panicked* ]] || die "panic without a display: $headless"
say "ok - no display: one line, exit 1 ($headless)"

# 2. Secrets through the real Secret Service ---------------------------------
"$SWITCHYARD" config path >/dev/null
KEY=sk-tray-test-0123456789abcdef
printf '%s' "$KEY" | "$SWITCHYARD" key set >/dev/null
[[ $("$SWITCHYARD" key show) == "$KEY" ]] || die "key show does not give back the key set"
found=$(secret-tool lookup service "switchyard:$SWITCHYARD_HOME" username gateway-api-key 2>/dev/null || true)
[[ $found == "$KEY" ]] || die "the gateway key is not in the Secret Service (secret-tool found '${found:0:6}...')"
[[ ! -e $SWITCHYARD_HOME/secrets.json ]] || die "a secrets.json was written although the keychain works"
"$MOCK" --port 0 --api-key upstream-key-for-the-mock >"$WORK/mock.log" 2>&1 &
PIDS+=($!)
line=$(wait_for_line "$WORK/mock.log" '^listening on ') || die "the mock upstream did not start"
MOCK_URL="http://${line#listening on }"
printf 'upstream-key-for-the-mock' |
    "$SWITCHYARD" accounts add openai --label mock --base-url "$MOCK_URL/v1" --api-key-stdin >/dev/null
ACCOUNT=$(sed -n 's/^id = "\(acc_[0-9a-f]*\)"/\1/p' "$SWITCHYARD_HOME/config.toml" | head -n1)
[[ $(secret-tool lookup service "switchyard:$SWITCHYARD_HOME" username "$ACCOUNT") == upstream-key-for-the-mock ]] ||
    die "the account's key is not in the Secret Service"
! grep -q upstream-key-for-the-mock "$SWITCHYARD_HOME/config.toml" || die "a secret leaked into config.toml"
say "ok - secrets round-trip through the Secret Service (gateway key and $ACCOUNT)"

# 3. The tray starts the gateway at launch -----------------------------------
PORT=$(free_port)
# The file `switchyard` wrote has the defaults under [proxy]: change two of them.
sed -i -e "s/^port = 8045/port = $PORT/" -e 's/^auto_start = false/auto_start = true/' "$SWITCHYARD_HOME/config.toml"
grep -q "^port = $PORT" "$SWITCHYARD_HOME/config.toml" && grep -q '^auto_start = true' "$SWITCHYARD_HOME/config.toml" ||
    die "cannot set port and auto_start in config.toml"
mkfifo "$WORK/commands"
# Appending: the test truncates the log between steps.
SWITCHYARD_TRAY_TEST=1 "$SWITCHYARD" <"$WORK/commands" >>"$WORK/tray.log" 2>"$WORK/tray-stderr.log" &
TRAY_PID=$!
PIDS+=("$TRAY_PID")
exec 3>"$WORK/commands"
send() { printf '%s\n' "$1" >&3; }
state() { wait_for_line "$WORK/tray.log" "^state: $1" || die "no state matching '$1' (last: $(tail -n1 "$WORK/tray.log"))"; }
state "Running on 127.0.0.1:$PORT · 1 account \| .*icon=Running" >/dev/null
[[ $(healthz "$PORT") == '{"status":"ok"}' ]] || die "/healthz does not answer"
say "ok - auto_start: the tray serves on 127.0.0.1:$PORT and /healthz answers"

# 4. Stop frees the port, Start binds it again --------------------------------
: >"$WORK/tray.log"
send toggle
state "Stopped \| .*icon=Stopped" >/dev/null
port_is_free "$PORT" || die "the port is still taken after Stop"
send toggle
state "Running on 127.0.0.1:$PORT" >/dev/null
healthz "$PORT" >/dev/null || die "/healthz does not answer after Start"
say "ok - Stop frees port $PORT, Start binds it again"

# 5. Copy base URL / Copy API key, and an SDK-style call with them ----------
send copy-url-openai
wait_for_line "$WORK/tray.log" '^copied: base-url-openai' >/dev/null || die "no copy of the base URL"
BASE=$(xclip -o -selection clipboard)
[[ $BASE == "http://127.0.0.1:$PORT/v1" ]] || die "the clipboard holds '$BASE'"
send copy-key
wait_for_line "$WORK/tray.log" '^copied: api-key' >/dev/null || die "no copy of the API key"
[[ $(xclip -o -selection clipboard) == "$KEY" ]] || die "the clipboard does not hold the gateway key"
! grep -q "$KEY" "$WORK/tray.log" "$WORK/tray-stderr.log" || die "the key was printed"
answer=$(curl -fsS --max-time 10 "$BASE/chat/completions" -H "Authorization: Bearer $(xclip -o -selection clipboard)" \
    -H 'content-type: application/json' -d '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}')
[[ $answer == *'"choices"'* ]] || die "no answer with the copied URL and key: $answer"
say "ok - Copy base URL and Copy API key fill the clipboard; a call with them is answered"

# 6. A busy port: error state and notification, no panic ----------------------
send toggle
state "Stopped" >/dev/null
python3 -c 'import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(); time.sleep(60)' "$PORT" &
SQUATTER=$!
PIDS+=("$SQUATTER")
for _ in $(seq 1 100); do port_is_free "$PORT" || break; sleep 0.05; done
send toggle
state "Error: port $PORT in use \| .*icon=Error" >/dev/null
wait_for_line "$WORK/notifications.log" 'Switchyard cannot listen' >/dev/null ||
    die "no bind-failure notification on the bus"
grep -q "Cannot listen on 127.0.0.1:$PORT: port $PORT is already in use" "$WORK/notifications.log" ||
    die "the notification does not name the address and the cause"
! grep -q panicked "$WORK/tray-stderr.log" || die "the tray panicked"
kill "$SQUATTER" && wait "$SQUATTER" 2>/dev/null || true
send toggle
state "Running on 127.0.0.1:$PORT" >/dev/null
say "ok - busy port: 'Error: port $PORT in use', error icon, notification sent, no panic"

# 7. LAN access and live config ----------------------------------------------
: >"$WORK/tray.log"
send lan
state "Running on 0.0.0.0:$PORT .*lan=on" >/dev/null
grep -q '^allow_lan_access = true' "$SWITCHYARD_HOME/config.toml" || die "LAN access not written to config.toml"
healthz "$PORT" >/dev/null || die "/healthz does not answer on the LAN listener"
send lan
state "Running on 127.0.0.1:$PORT .*lan=off" >/dev/null
printf 'upstream-key-for-the-mock' |
    "$SWITCHYARD" accounts add openai --label second --base-url "$MOCK_URL/v1" --api-key-stdin >/dev/null
state "Running on 127.0.0.1:$PORT · 2 accounts" >/dev/null
say "ok - LAN access rebinds on 0.0.0.0 and back; an account added from the CLI shows at once"

# 8. Launch at login -----------------------------------------------------------
ENTRY=$HOME/.config/autostart/Switchyard.desktop
send autostart
state ".*autostart=on" >/dev/null
[[ -f $ENTRY ]] || die "no autostart entry at $ENTRY"
grep -qxF "Exec=\"$SWITCHYARD\" " "$ENTRY" || grep -qxF "Exec=\"$SWITCHYARD\"" "$ENTRY" ||
    die "the Exec line does not quote the path: $(grep ^Exec "$ENTRY")"
send autostart
state ".*autostart=off" >/dev/null
[[ ! -e $ENTRY ]] || die "the autostart entry is still there"
"$SWITCHYARD" autostart on >/dev/null
[[ -f $ENTRY && $("$SWITCHYARD" autostart status) == on* ]] || die "autostart on/status"
"$SWITCHYARD" autostart off >/dev/null
[[ ! -e $ENTRY && $("$SWITCHYARD" autostart status) == off ]] || die "autostart off/status"
say "ok - Launch at login writes and removes $ENTRY (path quoted); the CLI agrees"

# 9. Connect a tool: Codex's config written, a notification, and a call with
# the client key it got is answered ------------------------------------------
send connect-codex
wait_for_line "$WORK/notifications.log" 'Tool connected' >/dev/null || die "no 'Tool connected' notification"
CODEX_CONFIG=$HOME/.codex/config.toml
grep -qF "base_url = \"http://127.0.0.1:$PORT/v1\"" "$CODEX_CONFIG" || die "Codex's config does not point at :$PORT"
CLIENT_KEY=$(sed -n 's/^experimental_bearer_token = "\(sk-[^"]*\)"/\1/p' "$CODEX_CONFIG")
[[ -n $CLIENT_KEY && $CLIENT_KEY != "$KEY" ]] || die "Codex did not get a client key of its own"
answer=
for _ in $(seq 1 40); do
    answer=$(curl -sS --max-time 10 "http://127.0.0.1:$PORT/v1/chat/completions" -H "Authorization: Bearer $CLIENT_KEY" \
        -H 'content-type: application/json' -d '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}' || true)
    [[ $answer == *'"choices"'* ]] && break
    sleep 0.1
done
[[ $answer == *'"choices"'* ]] || die "no answer with Codex's client key: $answer"
say "ok - Connect a tool ▸ Codex writes its config with a client key of its own, notifies, and the key works"

# 10. A budget reached: one notification, not one per call --------------------
printf '\n[budgets.mock]\nusd_per_day = 0.0000001\n' >>"$SWITCHYARD_HOME/config.toml"
for _ in $(seq 1 6); do
    curl -fsS --max-time 10 "http://127.0.0.1:$PORT/v1/chat/completions" -H "Authorization: Bearer $KEY" \
        -H 'content-type: application/json' -d '{"model":"gpt-4o","messages":[{"role":"user","content":"spend"}]}' >/dev/null ||
        die "a call failed although the second account has no budget"
    sleep 0.3
done
wait_for_line "$WORK/notifications.log" 'An account reached its budget' >/dev/null ||
    die "no budget notification on the bus"
grep -q 'mock is out of the pool until [0-9-]* 00:00 UTC' "$WORK/notifications.log" ||
    die "the budget notification does not name the account and when it is back"
sleep 4 # a health check or more later: still one notification
[[ $(grep -c 'An account reached its budget' "$WORK/notifications.log") -eq 1 ]] ||
    die "the budget was notified $(grep -c 'An account reached its budget' "$WORK/notifications.log") times"
say "ok - a reached budget notifies once over D-Bus; the other account serves the calls"

# 11. Quit --------------------------------------------------------------------
send quit
for _ in $(seq 1 200); do kill -0 "$TRAY_PID" 2>/dev/null || break; sleep 0.05; done
if kill -0 "$TRAY_PID" 2>/dev/null; then die "the tray did not quit"; fi
wait "$TRAY_PID" || die "the tray exited with status $?"
port_is_free "$PORT" || die "the port is still taken after Quit"
! grep -q panicked "$WORK/tray-stderr.log" || die "the tray panicked"
say "ok - Quit stops the gateway and exits 0"
echo "tray: 11 passed, 0 failed"
