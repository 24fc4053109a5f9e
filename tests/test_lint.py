"""The code passes ruff and strict mypy (configured in pyproject.toml) as part of the tests."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def run(tool: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / tool), *args], cwd=REPO, capture_output=True, text=True, check=False,
                          timeout=900)


def test_ruff() -> None:
    result = run("ruff", "check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict() -> None:
    result = run("mypy")
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_module_says_what_lives_there() -> None:
    missing = []
    for path in sorted((REPO / "farnode_desktop").rglob("*.py")):
        text = path.read_text(encoding="utf-8").lstrip()
        if path.stat().st_size and not text.startswith(('"""', "'''")):
            missing.append(str(path.relative_to(REPO)))
    assert missing == [], f"modules without a docstring: {missing}"
