"""Checks the layout of a Switchyard.app bundle (packaging/macos/bundle.sh).

Usage: python3 tests/package/check_app_bundle.py path/to/Switchyard.app

Checks: Contents/Info.plist parses with plistlib and is an agent app
(LSUIElement true: menu-bar icon, no Dock icon); CFBundleExecutable names an
executable file in Contents/MacOS; CFBundleIconFile names an .icns file in
Contents/Resources whose header and length are those of an icns; the version
strings are filled in from Cargo.toml. Prints what failed and exits 1.
"""

import os
import plistlib
import struct
import sys


def main():
    app = sys.argv[1]
    failures = []

    def check(condition, message):
        if not condition:
            failures.append(message)

    contents = os.path.join(app, "Contents")
    with open(os.path.join(contents, "Info.plist"), "rb") as f:
        plist = plistlib.load(f)
    check(plist.get("LSUIElement") is True, "LSUIElement is not true")
    check(plist.get("CFBundlePackageType") == "APPL", "CFBundlePackageType is not APPL")
    check(plist.get("CFBundleIdentifier", "").count(".") >= 2, "no reverse-DNS CFBundleIdentifier")
    for key in ("CFBundleShortVersionString", "CFBundleVersion"):
        value = plist.get(key, "")
        check(value and "@" not in value and value[0].isdigit(), f"{key} is {value!r}")

    exe = os.path.join(contents, "MacOS", plist.get("CFBundleExecutable", ""))
    check(os.path.isfile(exe) and os.access(exe, os.X_OK), f"no executable at {exe}")

    icon = plist.get("CFBundleIconFile", "")
    check(icon.endswith(".icns"), f"CFBundleIconFile {icon!r} is not an .icns")
    icon_path = os.path.join(contents, "Resources", icon)
    if os.path.isfile(icon_path):
        with open(icon_path, "rb") as f:
            data = f.read()
        magic, length = struct.unpack(">4sI", data[:8])
        check(magic == b"icns", f"{icon_path} does not start with 'icns'")
        check(length == len(data), f"{icon_path} says {length} bytes, has {len(data)}")
    else:
        failures.append(f"no icon at {icon_path}")

    for failure in failures:
        print(f"app bundle: FAIL - {failure}", file=sys.stderr)
    if failures:
        sys.exit(1)
    print(f"app bundle: {app} ok (agent app, executable, icns icon)", file=sys.stderr)


if __name__ == "__main__":
    main()
