#!/usr/bin/env bash
# Assembles target/Switchyard.app from a release build, on macOS:
#   cargo build --release && packaging/macos/bundle.sh
# The bundle is an agent app (LSUIElement): a menu-bar icon, no Dock icon.
set -euo pipefail
cd "$(dirname "$0")/../.."
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
app=target/Switchyard.app
rm -rf "$app"
mkdir -p "$app/Contents/MacOS" "$app/Contents/Resources"
cp target/release/switchyard "$app/Contents/MacOS/switchyard"
cp icons/switchyard.icns "$app/Contents/Resources/switchyard.icns"
sed "s/@VERSION@/$version/g" packaging/macos/Info.plist > "$app/Contents/Info.plist"
echo "built $app"
