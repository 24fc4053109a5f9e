"""Tests mirror the package: farnode_desktop/<path>/<name>.py has tests/<path>/test_<name>*.py, unless NO_MIRROR below
says why it needs none or which test covers it. A new module with neither fails, and so does a stale entry."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import farnode_desktop

PACKAGE = Path(farnode_desktop.__file__).parent
TESTS = Path(__file__).parent
ROOT = TESTS.parent

_RUNTIME = "runs inside the node runtime (torch, Petals): covered by tests/integration/test_model_families.py"

# module (relative to farnode_desktop/) -> why it has no mirrored test module
NO_MIRROR: dict[str, str] = {
    "core/clock.py": "the system clock, three calls into `time`; tests use its ManualClock throughout",
    "core/errors.py": "two exception classes without logic; their messages and hints are asserted by the CLI tests",
    "core/node/supervisor_core.py": "NodeSupervisor's state: tests/core/node/test_supervisor_lifecycle.py and the others",
    "core/node/supervisor_launch.py": "NodeSupervisor's launch rules: tests/core/node/test_supervisor_lifecycle.py",
    "mesh/client.py": "runs inside the node runtime: covered by tests/integration/test_mesh_client.py",
    "mesh/gateway.py": "runs inside the node runtime: covered by tests/integration/test_demo_e2e.py",
    "mesh/generate.py": "runs inside the node runtime: the tests' own client (tests/runtime_env.py)",
    "mesh/health.py": "covered by tests/core/node/test_health.py and tests/integration/test_node_health.py",
    "mesh/models/bloom.py": _RUNTIME,
    "mesh/models/falcon.py": _RUNTIME,
    "mesh/models/llama.py": _RUNTIME,
    "mesh/models/mixtral.py": _RUNTIME,
    "mesh/models/qwen3.py": _RUNTIME,
    "mesh/models/qwen3_moe.py": _RUNTIME,
}


def _only_a_docstring(path: Path) -> bool:
    body = ast.parse(path.read_text(encoding="utf-8")).body
    return all((isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant))
               or (isinstance(node, ast.ImportFrom) and node.module == "__future__") for node in body)


def mirror_patterns(package: Path) -> dict[str, tuple[Path, str]]:
    """Each module -> (the tests folder that mirrors its folder, the glob its test module matches). A package's
    __init__.py with code is named after the package; one that holds only its docstring needs no test."""
    found: dict[str, tuple[Path, str]] = {}
    for path in sorted(package.rglob("*.py")):
        rel = path.relative_to(package)
        if path.name == "__init__.py" and _only_a_docstring(path):
            continue
        name = rel.parent.name if path.name == "__init__.py" else path.stem
        found[rel.as_posix()] = (rel.parent, f"test_{name}*.py")
    return found


def untested(package: Path, tests: Path) -> list[str]:
    return [module for module, (folder, glob) in mirror_patterns(package).items()
            if not any((tests / folder).glob(glob))]


def test_every_module_has_a_mirrored_test_module_or_a_reason() -> None:
    missing = untested(PACKAGE, TESTS)
    unexplained = sorted(set(missing) - set(NO_MIRROR))
    assert unexplained == [], "modules without tests/<path>/test_<name>*.py and no reason in NO_MIRROR: " + str(
        unexplained)


def test_no_reason_is_stale() -> None:
    """An allow-listed module that now has its own test module, or no longer exists, leaves the list."""
    modules = mirror_patterns(PACKAGE)
    gone = sorted(set(NO_MIRROR) - set(modules))
    assert gone == [], f"NO_MIRROR names modules that no longer exist: {gone}"
    tested = sorted(set(NO_MIRROR) - set(untested(PACKAGE, TESTS)))
    assert tested == [], f"these modules now have a mirrored test module; take them out of NO_MIRROR: {tested}"


def test_each_test_a_reason_names_exists() -> None:
    named = {m: re.findall(r"tests/[\w/]+(?:\.py|/)", reason) for m, reason in NO_MIRROR.items()}
    missing = sorted(f"{m}: {p}" for m, paths in named.items() for p in paths if not (ROOT / p).exists())
    assert missing == []
    assert sum(bool(p) for p in named.values()) >= len(NO_MIRROR) - 6  # nearly every reason names its test


def test_the_mirror_check_sees_a_module_without_a_test(tmp_path: Path) -> None:
    package, tests = tmp_path / "pkg", tmp_path / "tests"
    (package / "core" / "node").mkdir(parents=True)
    (tests / "core" / "node").mkdir(parents=True)
    (package / "__init__.py").write_text('"""Only a docstring."""\n')
    (package / "core" / "__init__.py").write_text("X = 1\n")
    (package / "core" / "node" / "supervisor.py").write_text("")
    (package / "core" / "node" / "host.py").write_text("")
    (tests / "core" / "node" / "test_supervisor_states.py").write_text("")
    (tests / "core" / "node" / "test_host.py").write_text("")
    assert untested(package, tests) == ["core/__init__.py"]
    (tests / "core" / "node" / "test_host.py").unlink()
    assert untested(package, tests) == ["core/__init__.py", "core/node/host.py"]
