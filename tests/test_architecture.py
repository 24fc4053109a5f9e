"""The headless core and the CLI never load Qt: each module is imported in a fresh interpreter and PySide6
must not be in sys.modules afterwards (the desktop app's `app` command is the one exception)."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys

import farnode_desktop.cli
import farnode_desktop.core

EXCEPTIONS = {"farnode_desktop.cli.app_cmd"}


def modules() -> list[str]:
    names = []
    for package in (farnode_desktop.core, farnode_desktop.cli):
        names.append(package.__name__)
        names += [f"{package.__name__}.{m.name}" for m in pkgutil.iter_modules(package.__path__)]
    return sorted(n for n in names if n not in EXCEPTIONS)


CHECK = """
import importlib, json, sys
bad = {}
for name in json.loads(sys.argv[1]):
    importlib.import_module(name)
    qt = sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'shiboken6', 'PyQt5', 'PyQt6'))
    if qt:
        bad[name] = qt[:3]
        break
print(json.dumps(bad))
"""


def test_core_and_cli_modules_import_without_qt() -> None:
    names = modules()
    assert "farnode_desktop.core.app_core" in names and "farnode_desktop.cli.wallet_cmd" in names
    result = subprocess.run([sys.executable, "-c", CHECK, json.dumps(names)], capture_output=True, text=True,
                            timeout=300, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {}


def test_the_check_would_catch_a_qt_import() -> None:
    result = subprocess.run([sys.executable, "-c", CHECK, json.dumps(["farnode_desktop.ui.tasks"])],
                            capture_output=True, text=True, timeout=120, check=False)
    assert json.loads(result.stdout.strip().splitlines()[-1]) != {}
