#!/usr/bin/env bash
# Builds the .deb with cargo-deb and checks what it holds: the binary, the
# desktop entry, the icons in the hicolor theme, and the dependency on the
# appindicator library the tray loads at run time.
#
# CI packages the debug binary it has already built (`--profile dev`), to
# spare a release build of several minutes: the package's contents are the
# same. cargo-deb 3 warns that it may refuse dev profiles one day, which is
# why scripts/test installs a 3.x. Users build the real thing with
# `cargo deb` (see README, Install), or run this with --release.
#
# Usage:  bash tests/package/check_deb.sh [--release]
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
say() { printf 'deb: %s\n' "$*" >&2; }
die() {
    say "FAIL - $*"
    exit 1
}
command -v cargo-deb >/dev/null || die "cargo-deb is missing: cargo install --locked cargo-deb"

rm -f target/debian/switchyard_*.deb
if [[ ${1:-} == --release ]]; then
    cargo deb --locked >/dev/null
    DEB=$(ls -t target/debian/switchyard_*.deb | head -n1)
else
    # The same targets as the tests build, so that cargo reuses their build
    # (a lone --bin resolves other dependency features and rebuilds).
    cargo build --locked --quiet --bin switchyard --example mock_upstream
    cargo deb --locked --profile dev --no-build >/dev/null
    DEB=$(ls -t target/debian/switchyard_*.deb | head -n1)
fi
[[ -f $DEB ]] || die "no .deb was built"
say "built $DEB"

contents=$(dpkg-deb --contents "$DEB" | awk '{print $6}')
has() { printf '%s\n' "$contents" | grep -qxF "$1" || die "the package lacks $1"; }
has ./usr/bin/switchyard
has ./usr/share/applications/switchyard.desktop
for size in 16 24 32 48 64 128 256 512; do
    has "./usr/share/icons/hicolor/${size}x${size}/apps/switchyard.png"
done
has ./usr/share/icons/hicolor/scalable/apps/switchyard.svg
say "ok - binary, desktop entry and hicolor icons are in place"

depends=$(dpkg-deb --field "$DEB" Depends)
[[ $depends == *"libayatana-appindicator3-1 | libappindicator3-1"* ]] ||
    die "Depends lacks the appindicator library: $depends"
[[ $depends == *libgtk-3-0* ]] || die "Depends lacks GTK 3 (dpkg-shlibdeps did not run?): $depends"
say "ok - Depends: $depends"

unpacked=$(mktemp -d)
trap 'rm -rf "$unpacked"' EXIT
dpkg-deb --extract "$DEB" "$unpacked"
desktop=$unpacked/usr/share/applications/switchyard.desktop
grep -qx 'Exec=switchyard' "$desktop" || die "the desktop entry does not run switchyard"
grep -qx 'Icon=switchyard' "$desktop" || die "the desktop entry does not name the icon"
if command -v desktop-file-validate >/dev/null; then
    desktop-file-validate "$desktop" || die "desktop-file-validate rejects the entry"
fi
# A PNG's width and height are the two big-endian words after the IHDR tag.
size=$(python3 -c 'import struct, sys; d = open(sys.argv[1], "rb").read(24); print("%dx%d" % struct.unpack(">II", d[16:24]))' \
    "$unpacked/usr/share/icons/hicolor/48x48/apps/switchyard.png")
[[ $size == 48x48 ]] || die "the 48x48 icon is $size"
"$unpacked/usr/bin/switchyard" --version | grep -q '^switchyard ' || die "the packaged binary does not run"
say "ok - the desktop entry runs switchyard with its icon; the packaged binary runs"
echo "deb: 3 passed, 0 failed"
