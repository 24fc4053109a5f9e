"""Every benchmark and script still imports what it uses: they are run by hand (and on a lent GPU), so a moved or
renamed module would otherwise break them silently."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
TOOLS = sorted([*REPO.glob("benchmarks/*.py"), *REPO.glob("scripts/*.py")])

_LOAD = """
import runpy, sys
sys.path.insert(0, sys.argv[2])
runpy.run_path(sys.argv[1], run_name="imported_by_the_test")  # top-level imports and definitions, not main()
"""


def test_there_are_tools_to_check() -> None:
    assert any(p.parent.name == "benchmarks" for p in TOOLS) and any(p.parent.name == "scripts" for p in TOOLS)


@pytest.mark.parametrize("tool", TOOLS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_the_tool_loads_without_running(tool: Path) -> None:
    assert '__name__ == "__main__"' in tool.read_text(encoding="utf-8"), "a tool runs only when run, not imported"
    result = subprocess.run([sys.executable, "-c", _LOAD, str(tool), str(REPO)], capture_output=True, text=True,
                            timeout=120, cwd=REPO, env={"PATH": "/usr/bin:/bin", "QT_QPA_PLATFORM": "offscreen",
                                                        "HOME": str(Path.home())})
    assert result.returncode == 0, result.stderr[-2000:]
