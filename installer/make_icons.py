"""Renders resources/icons/farnode.svg into the PNG sizes the .deb uses and the .ico Windows uses (run with Qt)."""

from __future__ import annotations

import os
import struct
import sys
from pathlib import Path

ICONS = Path(__file__).resolve().parents[1] / "resources" / "icons"
PNG_SIZES = (16, 32, 48, 64, 128, 256)
ICO_SIZES = (16, 32, 48, 256)


def write_ico(target: Path, pngs: list[Path]) -> None:
    """A Windows .ico whose entries are PNG images (allowed since Windows Vista; NSIS and Explorer read it)."""
    blobs = [p.read_bytes() for p in pngs]
    header = struct.pack("<HHH", 0, 1, len(blobs))
    offset = 6 + 16 * len(blobs)
    entries = b""
    for blob in blobs:
        width, height = struct.unpack(">II", blob[16:24])  # the PNG IHDR chunk
        entries += struct.pack("<BBBBHHII", width % 256, height % 256, 0, 0, 1, 32, len(blob), offset)
        offset += len(blob)
    target.write_bytes(header + entries + b"".join(blobs))


def main() -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    app = QGuiApplication(sys.argv[:1])
    renderer = QSvgRenderer(str(ICONS / "farnode.svg"))
    if not renderer.isValid():
        print("farnode.svg is not a valid SVG", file=sys.stderr)
        return 1
    for size in PNG_SIZES:
        image = QImage(size, size, QImage.Format.Format_ARGB32)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        renderer.render(painter)
        painter.end()
        if not image.save(str(ICONS / f"farnode-{size}.png")):
            print(f"could not write farnode-{size}.png", file=sys.stderr)
            return 1
    write_ico(ICONS / "farnode.ico", [ICONS / f"farnode-{size}.png" for size in ICO_SIZES])
    del app
    print(f"icons written to {ICONS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
