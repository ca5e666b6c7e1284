#!/usr/bin/env bash
# Assembles target/Switchyard.app from a release build, on macOS:
#   cargo build --release && packaging/macos/bundle.sh
# The bundle is an agent app (LSUIElement): a menu-bar icon, no Dock icon.
#
# Env: SWITCHYARD_BIN, the executable to bundle (default
# target/release/switchyard); BUNDLE_DIR, where Switchyard.app goes (default
# target). scripts/check-macos builds the layout around a stand-in with them.
set -euo pipefail
cd "$(dirname "$0")/../.."
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
bin=${SWITCHYARD_BIN:-target/release/switchyard}
[[ -x $bin ]] || { echo "bundle.sh: no executable at $bin (cargo build --release first)" >&2; exit 1; }
app=${BUNDLE_DIR:-target}/Switchyard.app
rm -rf "$app"
mkdir -p "$app/Contents/MacOS" "$app/Contents/Resources"
cp "$bin" "$app/Contents/MacOS/switchyard"
cp icons/switchyard.icns "$app/Contents/Resources/switchyard.icns"
sed "s/@VERSION@/$version/g" packaging/macos/Info.plist > "$app/Contents/Info.plist"
echo "built $app"
