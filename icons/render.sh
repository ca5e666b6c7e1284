#!/usr/bin/env bash
# Renders the hand-written SVGs in icons/src/ to the PNGs (and the Windows
# .ico and macOS .icns) that the code and the packages use. The outputs are
# committed; run this after changing an SVG. Needs Debian's librsvg2-bin
# (rsvg-convert), imagemagick (convert) and icnsutils (png2icns).
set -euo pipefail
cd "$(dirname "$0")"
for state in running stopped error; do
    for size in 16 22 24 32 48 64; do
        rsvg-convert -w "$size" -h "$size" "src/$state.svg" -o "tray/$state-$size.png"
    done
done
for size in 16 24 32 48 64 128 256 512; do
    rsvg-convert -w "$size" -h "$size" src/switchyard.svg -o "app/switchyard-$size.png"
done
convert app/switchyard-{16,24,32,48,64,256}.png switchyard.ico
png2icns switchyard.icns app/switchyard-{16,32,48,128,256,512}.png >/dev/null
echo "icons rendered"
