"""No import cycle anywhere in `src/iscsiprf`, in any form.

`lint-imports` (pyproject.toml) keeps the packages in their layers, but it does not look inside a
package: two modules of `mof/` importing each other would pass it. This test reads every module's
imports with `ast` — top-level, function-local and `if TYPE_CHECKING:` ones alike, since each is
an arrow a reader has to follow — builds the module graph and fails on any strongly connected
component of more than one module (or a module importing itself).

An edge goes to the module named: `from pkg import name` points at `pkg.name` when that is a
module, else at `pkg` (its `__init__`). The implicit import of parent packages that Python does
for every submodule is not an edge: a package's `__init__` re-exporting its modules is not a
cycle. Dynamic imports whose name is computed (`importlib.import_module(f"...")` in `cli/`) are
not seen; those with a literal name are.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"
ROOT = "iscsiprf"


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted((SRC / ROOT).rglob("*.py")):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """The project modules that module ``name`` (at ``path``) imports, anywhere in its body."""
    is_package = path.name == "__init__.py"
    package = name if is_package else name.rpartition(".")[0]
    found: set[str] = set()

    def add(target: str) -> None:
        # The longest prefix that is a module of the project (a.b.c.func -> a.b.c).
        while target and target not in known:
            target = target.rpartition(".")[0]
        if target and target != name:
            found.add(target)
        elif target == name:
            found.add(name)  # a module importing itself is a cycle too

    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == ROOT:
                    add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            if mod.split(".")[0] != ROOT:
                continue
            for alias in node.names:
                sub = f"{mod}.{alias.name}"
                add(sub if sub in known else mod)
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", getattr(node.func, "id", None)) == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
            and node.args[0].value.split(".")[0] == ROOT
        ):
            add(node.args[0].value)
    return found


def import_graph() -> dict[str, set[str]]:
    mods = _modules()
    known = set(mods)
    return {name: _imports(name, path, known) for name, path in mods.items()}


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative; components in no particular order."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    out: list[list[str]] = []
    counter = 0
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    comp = []
                    while True:
                        top = stack.pop()
                        on_stack.discard(top)
                        comp.append(top)
                        if top == node:
                            break
                    out.append(sorted(comp))
    return out


def test_the_graph_is_read() -> None:
    graph = import_graph()
    # Spot checks that the reader sees each kind of import (else "no cycle" proves nothing).
    assert "iscsiprf.mof.resolve" in graph["iscsiprf.mof.compiler"]  # top-level, relative
    assert "iscsiprf.mof.compilation" in graph["iscsiprf.mof.resolve"]  # if TYPE_CHECKING:
    assert "iscsiprf.mof" in graph["iscsiprf.lab.demo"]  # function-local, absolute
    assert "iscsiprf.cli.app" in graph["iscsiprf.cli"]  # function-local, relative


def test_cycle_detection_finds_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"e"}}
    comps = strongly_connected(graph)
    assert ["a", "b", "c"] in comps and ["d"] in comps


def test_no_import_cycle_in_src() -> None:
    graph = import_graph()
    cycles = [c for c in strongly_connected(graph) if len(c) > 1]
    cycles += [[m] for m, deps in graph.items() if m in deps]
    described = [
        " <-> ".join(c) + ": " + "; ".join(f"{a} -> {b}" for a in c for b in graph[a] if b in c)
        for c in cycles
    ]
    assert not cycles, "import cycles:\n" + "\n".join(described)
