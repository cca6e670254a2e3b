"""The package's import graph: no cycles, and a core that runs without PyTorch.

The rule (checked by parsing every module under ``src/fetalseg`` with :mod:`ast`, nothing is
imported): a module's *module-level* imports, the ones that run when it is imported (top level,
and inside top-level ``if``/``try``/``with`` blocks and class bodies; not under ``if
TYPE_CHECKING:``), must not form a cycle. An import inside a function runs only when the function
is called: such lazy imports are allowed, and are the way to use an optional heavy dependency
(torch) or a higher layer from a lower one. ``from a.b import c`` is an edge to ``a.b.c`` when
that is a module, else to ``a.b``; the parent packages an import also runs (``a/__init__``) are
not edges of the cycle check (every module would otherwise depend on ``fetalseg/__init__``), but
they are followed by the torch check, as Python runs them.

One level up, the *layers* (``fetalseg.models``, ``fetalseg.inference``, ``fetalseg.training``,
``fetalseg.artifacts``, ...: the first name under ``fetalseg``) must be ordered too, counting
every import, lazy ones included: a lazy import may break a module cycle, not make two layers
depend on each other (today: artifacts < models < runtimes < export < inference <
training; docs/architecture.md). The package's own
``__init__`` (the public facade) is left out of that graph.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = "fetalseg"

#: modules (or packages: all their modules) that must import without torch, transitively
CORE = (
    "fetalseg",
    "fetalseg.api",
    "fetalseg.result",
    "fetalseg.runtimes.onnx_runtime",
    "fetalseg.biometry",
    "fetalseg.quality",
    "fetalseg.standards",
    "fetalseg.outputs",
    "fetalseg.web",
)
#: the training-only dependencies the core must not import
HEAVY = ("torch", "monai", "torchvision")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted((SRC / PACKAGE).rglob("*.py"))}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _module_level_imports(body: list[ast.stmt]) -> list[ast.Import | ast.ImportFrom]:
    """Import statements that run at import time (function bodies excluded)."""
    found: list[ast.Import | ast.ImportFrom] = []
    for node in body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            found.append(node)
        elif isinstance(node, ast.If):
            if not _is_type_checking(node.test):
                found += _module_level_imports(node.body)
            found += _module_level_imports(node.orelse)
        elif isinstance(node, ast.Try):
            for block in (node.body, node.orelse, node.finalbody):
                found += _module_level_imports(block)
            for handler in node.handlers:
                found += _module_level_imports(handler.body)
        elif isinstance(node, (ast.With, ast.ClassDef)):
            found += _module_level_imports(node.body)
    return found


def _all_imports(body: list[ast.stmt]) -> list[ast.Import | ast.ImportFrom]:
    """Every import statement, lazy ones (inside functions) included."""
    module = ast.Module(body=body, type_ignores=[])
    return [n for n in ast.walk(module) if isinstance(n, (ast.Import, ast.ImportFrom))]


def _imported_names(
    name: str, path: Path, modules: dict[str, Path], lazy: bool = False
) -> list[str]:
    """Absolute names of what module ``name`` (at ``path``) imports at module level (``lazy``:
    anywhere): for ``from X import a``, ``X.a`` when that is a module, else ``X``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = []
    for node in (_all_imports if lazy else _module_level_imports)(tree.body):
        if isinstance(node, ast.Import):
            out += [alias.name for alias in node.names]
            continue
        base = node.module or ""
        if node.level:
            anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
            base = ".".join([*anchor, base] if base else anchor)
        for alias in node.names:
            out.append(f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base)
    return out


def _graph() -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """``(internal, external)``: per module, the fetalseg modules it imports at module level,
    and the top-level names of the other packages it imports."""
    modules = _modules()
    internal: dict[str, set[str]] = {m: set() for m in modules}
    external: dict[str, set[str]] = {m: set() for m in modules}
    for name, path in modules.items():
        for target in _imported_names(name, path, modules):
            if target.split(".")[0] != PACKAGE:
                external[name].add(target.split(".")[0])
            elif target != name:
                internal[name].add(target)
    return internal, external


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per strongly connected component with more than one module (Tarjan), each
    as a closed path ``[a, b, ..., a]``."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                components.append(component)

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return [_cycle_in(sorted(c), graph) for c in components]


def _cycle_in(component: list[str], graph: dict[str, set[str]]) -> list[str]:
    """A closed path through the component's first module (breadth-first, so the shortest)."""
    members, start = set(component), component[0]
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        nxt = []
        for v in frontier:
            for w in sorted(graph[v] & members):
                if w == start:
                    return [*paths[v], start]
                if w not in paths:
                    paths[w] = [*paths[v], w]
                    nxt.append(w)
        frontier = nxt
    raise AssertionError("not a cycle")


def test_the_cycle_finder_finds_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert find_cycles(graph) == [["a", "b", "c", "a"]]
    assert find_cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles():
    internal, _ = _graph()
    cycles = find_cycles(internal)
    assert not cycles, "module-level import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


def _layer(module: str) -> str:
    return ".".join(module.split(".")[:2])


def _layer_graph() -> dict[str, set[str]]:
    """Layer -> the other layers its modules import anywhere (the root package left out)."""
    modules = _modules()
    graph: dict[str, set[str]] = {_layer(m): set() for m in modules if m != PACKAGE}
    for name, path in modules.items():
        if name == PACKAGE:
            continue
        for target in _imported_names(name, path, modules, lazy=True):
            internal = target.split(".")[0] == PACKAGE and target != PACKAGE
            if internal and _layer(target) != _layer(name):
                graph[_layer(name)].add(_layer(target))
    return graph


def test_layers_do_not_depend_on_each_other_in_a_circle():
    cycles = find_cycles(_layer_graph())
    assert not cycles, "layer cycles (lazy imports included):\n" + "\n".join(
        " -> ".join(c) for c in cycles
    )


def _runs_on_import(module: str, internal: dict[str, set[str]]) -> dict[str, str | None]:
    """Every fetalseg module importing ``module`` runs (its parent packages included), with
    the module that led to it (for the chain in the message)."""
    via: dict[str, str | None] = {}
    todo: list[tuple[str, str | None]] = [(module, None)]
    while todo:
        m, parent = todo.pop()
        if m in via:
            continue
        via[m] = parent
        parts = m.split(".")
        todo += [(".".join(parts[:i]), m) for i in range(1, len(parts))]
        todo += [(t, m) for t in internal[m]]
    return via


def _core_modules() -> list[str]:
    modules = _modules()
    return [m for m in modules if any(m == c or m.startswith(c + ".") for c in CORE[1:])] + [
        PACKAGE
    ]


def test_core_modules_do_not_import_torch_at_module_level():
    internal, external = _graph()
    problems = []
    for core in _core_modules():
        via = _runs_on_import(core, internal)
        for m in via:
            heavy = sorted(external[m] & set(HEAVY))
            if heavy:
                chain, step = [m], via[m]
                while step is not None:
                    chain.append(step)
                    step = via[step]
                problems.append(f"{' <- '.join(chain)} imports {', '.join(heavy)}")
    assert not problems, "\n".join(sorted(set(problems)))


def test_core_modules_import_without_torch_in_a_fresh_interpreter():
    """The same, observed: importing every core module leaves ``torch`` out of ``sys.modules``."""
    code = (
        "import importlib, sys\n"
        f"for m in {_core_modules()!r}:\n"
        "    importlib.import_module(m)\n"
        f"print(sorted(h for h in {HEAVY!r} if h in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
