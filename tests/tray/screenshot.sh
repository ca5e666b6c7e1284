#!/usr/bin/env bash
# Takes a screenshot of the tray's real menu, open, under Xvfb: trayer is
# the tray host (an XEmbed system tray; with no StatusNotifier host on the
# bus, the appindicator library shows the icon there), xdotool clicks the
# icon, ImageMagick's `import` grabs the screen. The gateway runs against
# nothing (one account, no requests), so the status line shows a real state.
#
# Usage:  bash tests/tray/screenshot.sh [OUT.png]     (default: docs/tray-menu.png)
# Needs:  xvfb xauth dbus-x11 trayer xdotool imagemagick (Debian packages)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
OUT=$(realpath -m "${1:-$ROOT/docs/tray-menu.png}")
say() { printf 'screenshot: %s\n' "$*" >&2; }
die() {
    say "FAIL - $*"
    exit 1
}

if [[ -z ${SHOT_INSIDE:-} ]]; then
    for tool in xvfb-run dbus-run-session trayer xdotool import convert; do
        command -v "$tool" >/dev/null || die "$tool is missing"
    done
    # The same targets as the tests build, so that cargo reuses their build
    # (a lone --bin resolves other dependency features and rebuilds).
    (cd "$ROOT" && cargo build --quiet --bin switchyard --example mock_upstream)
    export SHOT_INSIDE=1
    exec xvfb-run -a -s "-screen 0 1024x640x24" dbus-run-session -- bash "${BASH_SOURCE[0]}" "$OUT"
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/switchyard-shot.XXXXXX")
PIDS=()
cleanup() {
    local status=$? pid
    for pid in ${PIDS[@]+"${PIDS[@]}"}; do kill "$pid" 2>/dev/null || true; done
    for pid in ${PIDS[@]+"${PIDS[@]}"}; do wait "$pid" 2>/dev/null || true; done
    [[ $status -eq 0 ]] || tail -n 20 "$WORK"/*.log >&2 || true
    rm -rf "$WORK"
    exit "$status"
}
trap cleanup EXIT

export HOME=$WORK/home SWITCHYARD_HOME=$WORK/switchyard SWITCHYARD_SECRET_STORE=file
mkdir -p "$HOME" "$SWITCHYARD_HOME"
SWITCHYARD=${CARGO_TARGET_DIR:-$ROOT/target}/debug/switchyard
# The default port when it is free here (as a user would see it), else any.
port=$(python3 -c 'import socket
s = socket.socket()
try: s.bind(("127.0.0.1", 8045))
except OSError: s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])')
for label in work personal fallback; do
    printf 'key-for-the-screenshot' |
        "$SWITCHYARD" accounts add gemini --label "$label" --base-url http://127.0.0.1:9 --api-key-stdin >/dev/null
done
sed -i -e "s/^port = 8045/port = $port/" -e 's/^auto_start = false/auto_start = true/' "$SWITCHYARD_HOME/config.toml"

trayer --edge top --align right --widthtype request --height 32 --heighttype pixel \
    --transparent false --tint 0xe8e8e8 --SetDockType true --expand true >"$WORK/trayer.log" 2>&1 &
PIDS+=($!)
sleep 1
mkfifo "$WORK/commands"
SWITCHYARD_TRAY_TEST=1 "$SWITCHYARD" <"$WORK/commands" >"$WORK/tray.log" 2>"$WORK/tray-stderr.log" &
PIDS+=($!)
exec 3>"$WORK/commands"
for _ in $(seq 1 200); do
    grep -q '^state: Running' "$WORK/tray.log" && break
    sleep 0.05
done
grep -q '^state: Running' "$WORK/tray.log" || die "the tray did not start the gateway"
sleep 1

# The icon sits in trayer's window, at the top right of the screen.
tray_window=$(xdotool search --classname '^panel$' | head -n1)
[[ -n $tray_window ]] || die "trayer has no window"
eval "$(xdotool getwindowgeometry --shell "$tray_window")"
xdotool mousemove $((X + WIDTH - 16)) $((Y + HEIGHT / 2)) sleep 0.3 click 1
sleep 1.5
import -window root "$WORK/screen.png"
# Keep the panel and the menu below it: the top-right corner of the screen.
# Xvfb's root is black: paint the empty desktop grey (a flood fill from the
# bottom-left corner stops at the menu's border).
convert "$WORK/screen.png" -crop 350x260+674+0 +repage -fill '#d5d9e0' -draw 'color 0,259 floodfill' "$OUT"
say "wrote $OUT"
