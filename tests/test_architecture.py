"""The app's shape: the headless core and the CLI never load Qt (each module is imported in a fresh interpreter and
PySide6 must not be in sys.modules afterwards; the desktop app's `app` command is the one exception), no module
imports another in a cycle, and each layer imports only the ones below it."""

from __future__ import annotations

import ast
import json
import pkgutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import farnode_desktop
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


# The import graph, read from the source with `ast` (every import, function-level ones included): no cycles, and
# each layer imports only what sits below it.

PACKAGE_ROOT = Path(farnode_desktop.__file__).parent
QT_PACKAGES = {"PySide6", "shiboken6", "PyQt5", "PyQt6"}
# What each part of the app may import from farnode_desktop (prefixes; the package root is its __version__).
LAYERS = {
    "farnode_desktop.core": ("farnode_desktop.core", "farnode_desktop.mesh.wire"),
    "farnode_desktop.mesh": ("farnode_desktop.mesh",),
    "farnode_desktop.devnet": ("farnode_desktop.devnet", "farnode_desktop.core"),
}


@dataclass
class ImportGraph:
    """Each module's name -> the modules of the package it imports, and every top-level name it imports."""

    edges: dict[str, set[str]] = field(default_factory=dict)
    top_level: dict[str, set[str]] = field(default_factory=dict)


def module_names(root: Path) -> dict[str, tuple[Path, bool]]:
    names: dict[str, tuple[Path, bool]] = {}
    for path in root.rglob("*.py"):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        names[".".join(parts[:-1] if is_package else parts)] = (path, is_package)
    return names


def import_graph(root: Path) -> ImportGraph:
    """`from x import y` counts as importing x.y when y is a submodule, else x; `import a.b` as the longest module
    of a.b that exists. A submodule's implicit import of its parent package is not an edge."""
    names = module_names(root)

    def known(name: str) -> str | None:
        while name and name not in names:
            name = name.rpartition(".")[0]
        return name or None

    graph = ImportGraph()
    for module, (path, is_package) in names.items():
        package = module if is_package else module.rpartition(".")[0]
        edges: set[str] = set()
        top: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    top.add(alias.name.split(".")[0])
                    if (target := known(alias.name)) is not None:
                        edges.add(target)
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    source = ".".join([*base, node.module] if node.module else base)
                else:
                    source = node.module or ""
                top.add(source.split(".")[0])
                for alias in node.names:
                    submodule = f"{source}.{alias.name}"
                    target = submodule if submodule in names else known(source)
                    if target is not None:
                        edges.add(target)
        edges.discard(module)
        graph.edges[module] = edges
        graph.top_level[module] = top
    return graph


def import_cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """One shortest cycle through each strongly connected group of modules (Tarjan, then a breadth-first walk)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(edges.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.add(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(group)

    for node in sorted(edges):
        if node not in index:
            visit(node)
    cycles = []
    for group in groups:
        start = min(group)
        came_from: dict[str, str] = {}
        frontier = [start]
        while frontier and start not in came_from:
            following = []
            for node in frontier:
                for nxt in sorted(edges[node] & group):
                    if nxt not in came_from:
                        came_from[nxt] = node
                        following.append(nxt)
            frontier = following
        path = [start]
        while (previous := came_from[path[-1]]) != start:
            path.append(previous)
        cycles.append([start, *reversed(path[1:]), start])
    return sorted(cycles)


def test_no_import_cycles() -> None:
    graph = import_graph(PACKAGE_ROOT)
    assert "farnode_desktop.cli.stores" in graph.edges["farnode_desktop.cli.wallet_cmd"]
    assert "farnode_desktop.selftest" in graph.edges["farnode_desktop.cli"]  # a function-level import counts
    cycles = [" -> ".join(cycle) for cycle in import_cycles(graph.edges)]
    assert cycles == [], "import cycles:\n" + "\n".join(cycles)


def test_the_cycle_check_catches_a_function_level_cycle(tmp_path: Path) -> None:
    root = tmp_path / "pkg"
    (root / "sub").mkdir(parents=True)
    (root / "__init__.py").write_text("")
    (root / "sub" / "__init__.py").write_text("")
    (root / "a.py").write_text("from pkg.sub import b\n")
    (root / "sub" / "b.py").write_text("def f():\n    from .. import c\n")
    (root / "c.py").write_text("import pkg.a\nimport pkg.sub\n")
    (root / "d.py").write_text("from pkg import a\n")
    graph = import_graph(root)
    assert graph.edges["pkg.sub.b"] == {"pkg.c"} and graph.edges["pkg.d"] == {"pkg.a"}
    assert import_cycles(graph.edges) == [["pkg.a", "pkg.sub.b", "pkg.c", "pkg.a"]]


def layering_breaks(graph: ImportGraph) -> list[str]:
    breaks = []
    for module in sorted(graph.edges):
        for layer, allowed in LAYERS.items():
            if module != layer and not module.startswith(layer + "."):
                continue
            for target in sorted(graph.edges[module]):
                if target != "farnode_desktop" and not any(
                        target == ok or target.startswith(ok + ".") for ok in allowed):
                    breaks.append(f"{module} imports {target}")
            breaks += [f"{module} imports {qt}" for qt in sorted(graph.top_level[module] & QT_PACKAGES)]
    wire = graph.top_level["farnode_desktop.mesh.wire"] - {"__future__"}
    breaks += [f"farnode_desktop.mesh.wire imports {name}" for name in sorted(wire - sys.stdlib_module_names)]
    return breaks


def test_layers_import_only_downwards() -> None:
    """core never imports devnet, cli, ui or the self-test, and of mesh/ only the stdlib-only wire module; mesh/
    (run inside the node runtime) imports neither core nor Qt; devnet may import core, never cli or ui."""
    graph = import_graph(PACKAGE_ROOT)
    assert "farnode_desktop.mesh.wire" in graph.edges["farnode_desktop.core.node.health"]
    assert layering_breaks(graph) == []


def test_the_layer_check_catches_an_upward_import() -> None:
    graph = import_graph(PACKAGE_ROOT)
    graph.edges["farnode_desktop.core.paths"] = {"farnode_desktop.devnet.demo", "farnode_desktop.mesh.serve"}
    graph.top_level["farnode_desktop.mesh.wire"] = {"json", "numpy"}
    graph.top_level["farnode_desktop.mesh.serve"] |= {"PySide6"}
    assert layering_breaks(graph) == [
        "farnode_desktop.core.paths imports farnode_desktop.devnet.demo",
        "farnode_desktop.core.paths imports farnode_desktop.mesh.serve",
        "farnode_desktop.mesh.serve imports PySide6",
        "farnode_desktop.mesh.wire imports numpy",
    ]
