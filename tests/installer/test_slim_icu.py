"""installer/slim_icu.py: the slimmed ICU data library is a working drop-in for Qt's."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.installer.conftest import INSTALLER, need_tools

spec = importlib.util.spec_from_file_location("slim_icu", INSTALLER / "slim_icu.py")
assert spec and spec.loader
slim_icu = importlib.util.module_from_spec(spec)
spec.loader.exec_module(slim_icu)

QT_LIB = Path(importlib.util.find_spec("PySide6").origin).parent / "Qt" / "lib"  # type: ignore[union-attr,arg-type]
PROBE = """
from PySide6.QtCore import QCollator, QCoreApplication, QLocale, QUrl
app = QCoreApplication([])
c = QCollator(QLocale("en_US"))
print(sorted(["b", "C", "a"], key=c.sortKey))
print(bytes(QUrl("http://bücher.example/").toEncoded().data()).decode())
"""


@pytest.fixture(scope="module")
def slimmed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    need_tools("gcc", "readelf")
    original = next(QT_LIB.glob("libicudata.so.*"))
    out = tmp_path_factory.mktemp("icu") / original.name
    before, after = slim_icu.slim(original, out)
    assert after < before / 3
    return original, out


def test_slimmed_package_keeps_what_qt_uses_and_drops_the_rest(slimmed: tuple[Path, Path]) -> None:
    _, out = slimmed
    symbol, package = slim_icu.read_symbol(out)
    names = {name.split("/", 1)[1] for name, _ in slim_icu.parse(package)[1]}
    assert symbol.startswith("icudt") and symbol.endswith("_dat")
    assert {"coll/root.res", "coll/ucadata.icu", "uts46.nrm", "nfkc.nrm", "root.res", "en.res"} <= names
    assert not [n for n in names if n.endswith(".cnv") or n.startswith(("coll/de", "lang/", "zone/"))]
    soname = subprocess.run(["readelf", "-d", str(out)], capture_output=True, text=True, check=True).stdout
    assert f"[{out.name}]" in soname


def test_qt_sorts_and_converts_domain_names_with_the_slimmed_library(slimmed: tuple[Path, Path]) -> None:
    _, out = slimmed
    env = {**os.environ, "LD_PRELOAD": str(out), "QT_QPA_PLATFORM": "offscreen"}
    result = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=60,
                            check=True)
    assert result.stdout.splitlines() == ["['a', 'b', 'C']", "http://xn--bcher-kva.example/"]


def test_a_file_that_is_not_icu_data_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="not an ICU data package"):
        slim_icu.parse(b"\x20\x00\x00\x00" + b"\x00" * 64)
