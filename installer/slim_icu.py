"""Shrinks Qt's ICU data library (libicudata, 31 MB of the bundle) to the parts a Qt Widgets app uses.

PySide6's Linux wheels link Qt against ICU, whose data library carries every locale's collation, code page
converters, unit, currency, language and zone display names. Qt uses ICU for collation (QCollator), casing,
IDNA (QUrl) and legacy code pages; its own CLDR tables name locales and format numbers and dates. This tool
keeps the root collation, normalisation, casing, break rules, locale and time-zone rules and drops the rest,
then builds a drop-in `libicudata.so.NN` that exports the same `icudtNN_dat` symbol. The frozen self-test
checks what the app relies on (Qt starts, renders text and icons, sorts with QCollator, converts an IDN).

Usage: python slim_icu.py ORIGINAL_LIBICUDATA OUTPUT_LIBICUDATA   (needs a C compiler: gcc or cc)
"""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

# Item name prefixes (inside the package's tree, after "icudtNNl/") that a Qt Widgets app does not need.
DROP_PREFIXES = ("unit/", "curr/", "lang/", "region/", "zone/", "translit/", "rbnf/")
# Per-language collation tailorings go; the root collation and the UCA tables stay.
KEEP_COLLATION = ("coll/root.res", "coll/ucadata.icu", "coll/res_index.res")
DROP_SUFFIXES = (".cnv", ".dict")  # legacy code page converters; CJK/Thai/Khmer word dictionaries


def keep_item(name: str) -> bool:
    tail = name.split("/", 1)[1] if "/" in name else name
    if tail.startswith("coll/"):
        return tail in KEEP_COLLATION
    if tail.startswith(DROP_PREFIXES):
        return False
    return not tail.endswith(DROP_SUFFIXES)


def read_symbol(lib: Path) -> tuple[str, bytes]:
    """The data package that the library exports as `icudtNN_dat` (name and bytes)."""
    out = subprocess.run(["readelf", "-W", "--dyn-syms", "-S", str(lib)], capture_output=True, text=True,
                         check=True).stdout
    sym = re.search(r":\s+([0-9a-f]+)\s+(0x[0-9a-f]+|\d+)\s+OBJECT\s+GLOBAL\s+\S+\s+(\d+)\s+(icudt\d+_dat)", out)
    if sym is None:
        raise SystemExit(f"{lib} exports no icudtNN_dat symbol")
    address, size, section, name = int(sym.group(1), 16), int(sym.group(2), 0), int(sym.group(3)), sym.group(4)
    sec = re.search(rf"\[\s*{section}\]\s+\S+\s+\S+\s+([0-9a-f]+)\s+([0-9a-f]+)", out)
    if sec is None:
        raise SystemExit(f"cannot find section {section} in {lib}")
    sec_addr, sec_offset = int(sec.group(1), 16), int(sec.group(2), 16)
    offset = address - sec_addr + sec_offset
    return name, lib.read_bytes()[offset:offset + size]


def parse(package: bytes) -> tuple[bytes, list[tuple[str, bytes]]]:
    """ICU "common data" package: header, item count, (name offset, data offset) pairs, names, items."""
    header_size = struct.unpack_from("<H", package, 0)[0]
    if struct.unpack_from("<BB", package, 2) != (0xDA, 0x27):
        raise SystemExit("not an ICU data package")
    count = struct.unpack_from("<I", package, header_size)[0]
    toc = [struct.unpack_from("<II", package, header_size + 4 + 8 * i) for i in range(count)]
    items: list[tuple[str, bytes]] = []
    for i, (name_off, data_off) in enumerate(toc):
        start = header_size + name_off
        name = package[start:package.index(b"\0", start)].decode("ascii")
        end = toc[i + 1][1] if i + 1 < count else len(package) - header_size
        items.append((name, package[header_size + data_off:header_size + end]))
    return package[:header_size], items


def build(header: bytes, items: list[tuple[str, bytes]]) -> bytes:
    """The same package layout with fewer items: names sorted as ICU's binary search expects, items 16-aligned."""
    items = sorted(items, key=lambda item: item[0].encode("ascii"))
    names = b"".join(name.encode("ascii") + b"\0" for name, _ in items)
    toc_size = 4 + 8 * len(items)
    data_start = toc_size + len(names)
    data_start += -(len(header) + data_start) % 16
    entries, blobs, name_off, data_off = [], [], toc_size, data_start
    for name, blob in items:
        entries.append(struct.pack("<II", name_off, data_off))
        name_off += len(name) + 1
        padded = blob + b"\0" * (-len(blob) % 16)
        blobs.append(padded)
        data_off += len(padded)
    body = struct.pack("<I", len(items)) + b"".join(entries) + names
    body += b"\0" * (data_start - len(body))
    return header + body + b"".join(blobs)


def compile_library(symbol: str, soname: str, package: bytes, output: Path) -> None:
    compiler = shutil.which("gcc") or shutil.which("cc")
    if compiler is None:
        raise SystemExit("slim_icu needs a C compiler (apt-get install gcc)")
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "icudata.dat"
        data.write_bytes(package)
        asm = Path(tmp) / "icudata.s"
        asm.write_text(
            f'\t.section .rodata\n\t.globl {symbol}\n\t.type {symbol}, @object\n\t.balign 16\n{symbol}:\n'
            f'\t.incbin "{data}"\n\t.size {symbol}, .-{symbol}\n\t.section .note.GNU-stack,"",@progbits\n'
        )
        subprocess.run([compiler, "-shared", "-nostdlib", "-Wl,-soname," + soname, "-Wl,--build-id=none",
                        "-o", str(output), str(asm)], check=True)


def slim(original: Path, output: Path) -> tuple[int, int]:
    symbol, package = read_symbol(original)
    header, items = parse(package)
    kept = [(name, blob) for name, blob in items if keep_item(name)]
    slimmed = build(header, kept)
    check = parse(slimmed)[1]
    if [n for n, _ in check] != sorted(n for n, _ in kept) or any(
            a != b for (_, a), (_, b) in zip(check, sorted(kept, key=lambda i: i[0].encode()), strict=True)):
        raise SystemExit("the rebuilt ICU package does not read back identically")
    compile_library(symbol, original.name, slimmed, output)
    return len(package), len(slimmed)


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    before, after = slim(Path(argv[0]), Path(argv[1]))
    print(f"ICU data: {before / 1e6:.1f} MB -> {after / 1e6:.1f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
