"""Checks that a Windows executable carries an icon resource (build.rs).

Usage: python3 tests/package/check_pe_icon.py path/to/switchyard.exe

Reads the PE headers, finds the resource section and lists the types at the
root of its resource directory: an icon needs both RT_ICON (3) and
RT_GROUP_ICON (14). Exits 1 when they are missing, e.g. when build.rs
gated the resource on the build host instead of the target.
"""

import struct
import sys

RT_ICON, RT_GROUP_ICON = 3, 14


def resource_types(data):
    pe = struct.unpack_from("<I", data, 0x3C)[0]
    if data[pe : pe + 4] != b"PE\0\0":
        raise ValueError("not a PE file")
    sections, optional_size = struct.unpack_from("<H12xH", data, pe + 6)
    optional = pe + 24
    magic = struct.unpack_from("<H", data, optional)[0]
    directories = optional + (112 if magic == 0x20B else 96)
    rsrc_rva, rsrc_size = struct.unpack_from("<II", data, directories + 2 * 8)
    if rsrc_size == 0:
        return set()
    table = optional + optional_size
    for i in range(sections):
        header = table + 40 * i
        vsize, vaddr, _raw_size, raw = struct.unpack_from("<IIII", data, header + 8)
        if vaddr <= rsrc_rva < vaddr + max(vsize, 1):
            root = raw + (rsrc_rva - vaddr)
            named, ids = struct.unpack_from("<HH", data, root + 12)
            entries = root + 16
            return {
                struct.unpack_from("<I", data, entries + 8 * k)[0]
                for k in range(named, named + ids)
            }
    raise ValueError("the resource directory is in no section")


def main():
    with open(sys.argv[1], "rb") as f:
        types = resource_types(f.read())
    if RT_ICON in types and RT_GROUP_ICON in types:
        print(f"pe: {sys.argv[1]} has its icon (resource types {sorted(types)})", file=sys.stderr)
        return
    print(f"pe: FAIL - {sys.argv[1]} has no icon resource (resource types {sorted(types)})", file=sys.stderr)
    sys.exit(1)


if __name__ == "__main__":
    main()
