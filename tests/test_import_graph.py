"""The dlrepro package's modules depend on each other one way: no import cycles.

The graph has an edge A -> B for every ``import`` / ``from ... import`` of a dlrepro
module anywhere in A (top level, inside functions, under ``TYPE_CHECKING``), and, because
importing ``a.b.c`` runs ``a/__init__`` and ``a/b/__init__`` first, from A to every
package above B. The only edges left out are those from a package's ``__init__`` to its
own submodules (re-exports). Names that a registry imports by name on its first lookup
(``dlrepro.registry.Registry(kind, modules)``) are not import statements and are not in
the graph: they point from a registry to the modules that fill it, the one way round.
"""
import ast
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "dlrepro"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PKG.rglob("*.py")) if "__pycache__" not in p.parts}


def _with_parents(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts) + 1)]


def import_graph() -> dict[str, set[str]]:
    mods = modules()
    graph: dict[str, set[str]] = {m: set() for m in mods}
    for mod, path in mods.items():
        is_pkg = path.name == "__init__.py"
        package = mod if is_pkg else mod.rpartition(".")[0]
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                if node.level:  # relative: resolve against this module's package
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    src = ".".join(base + ([node.module] if node.module else []))
                else:
                    src = node.module or ""
                targets.add(src)
                targets.update(f"{src}.{a.name}" for a in node.names if f"{src}.{a.name}" in mods)
        for t in targets:
            for dep in _with_parents(t):
                if dep not in mods or dep == mod:
                    continue
                if is_pkg and dep.startswith(mod + "."):
                    continue  # a package's __init__ re-exporting its own submodules
                graph[mod].add(dep)
    return graph


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle (as a path that ends where it starts) per strongly connected component."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    sccs: list[list[str]] = []

    def strongconnect(v: str) -> None:  # Tarjan
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                strongconnect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                sccs.append(comp)

    for v in sorted(graph):
        if v not in index:
            strongconnect(v)
    cycles = []
    for comp in sccs:
        members, start = set(comp), min(comp)
        path, seen, v = [start], {start}, start
        while True:  # walk inside the component back to the start
            nxt = sorted(w for w in graph[v] if w in members)
            w = start if start in nxt else next(w for w in nxt if w not in seen)
            path.append(w)
            if w == start:
                break
            seen.add(w)
            v = w
        cycles.append(path)
    return cycles


def test_the_graph_sees_the_package():
    g = import_graph()
    assert "dlrepro.training.run" in g and "dlrepro.training.trainer" in g["dlrepro.training.run"]
    assert "dlrepro.training.replicates" in g["dlrepro.training.run"]


def test_find_cycles_finds_one():
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]
    assert find_cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles():
    cycles = find_cycles(import_graph())
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


@pytest.mark.parametrize("mod", sorted(modules()))
def test_every_module_imports(mod):
    importlib.import_module(mod)
