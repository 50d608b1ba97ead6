"""The seams stay seams: no import circle between modules, and event type names spelled only in
the registry, so a new event type is one class and one registry line."""

from __future__ import annotations

import ast
from pathlib import Path

from floorlink.daemon.core.events import COMMANDS, EVENTS

ROOT = Path(__file__).resolve().parents[2]
#: The folders that install as subpackages of `floorlink`.
CODE = ("daemon", "drivers", "bridge", "paging")
#: Literals that share a registry type's spelling but are another vocabulary.
NOT_REGISTRY = {
    ("bridge/resos.py", "reservation.completed"),  # the contract's outbox name resOS maps
}


def _modules() -> dict[str, Path]:
    out = {}
    for path in _files():
        rel = path.relative_to(ROOT).with_suffix("")
        parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
        out[".".join(("floorlink", *parts))] = path
    return out


def _files() -> list[Path]:
    return sorted(p for folder in CODE for p in (ROOT / folder).rglob("*.py"))


def _type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _load_time_imports(path: Path, modules: dict[str, Path]) -> set[str]:
    """The floorlink modules imported when `path` is loaded: top level, not TYPE_CHECKING,
    not inside a function (those run later and cannot make a circle at import)."""
    found: set[str] = set()
    body = list(ast.parse(path.read_text()).body)
    while body:
        node = body.pop(0)
        if isinstance(node, ast.If) and not _type_checking(node):
            body += node.body + node.orelse
        elif isinstance(node, ast.Try):
            body += node.body
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name in modules}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                found.add(sub if sub in modules else node.module)
    return {m for m in found if m in modules}


def test_no_import_circle() -> None:
    modules = _modules()
    graph = {name: _load_time_imports(path, modules) for name, path in modules.items()}
    # A package imports its __init__ first: not an edge of interest.
    graph = {n: {d for d in deps if not n.startswith(d + ".")} for n, deps in graph.items()}
    done: set[str] = set()

    def visit(node: str, trail: list[str]) -> None:
        if node in trail:
            cycle = [*trail[trail.index(node) :], node]
            raise AssertionError("import circle: " + " -> ".join(cycle))
        if node in done:
            return
        for dep in sorted(graph.get(node, ())):
            visit(dep, [*trail, node])
        done.add(node)

    for name in sorted(graph):
        visit(name, [])


def _docstrings(tree: ast.AST) -> set[int]:
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            first = node.body[0] if node.body else None
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                out.add(id(first.value))
    return out


def test_event_type_names_are_spelled_only_in_the_registry() -> None:
    names = set(EVENTS) | set(COMMANDS)
    found = []
    for path in _files():
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith("daemon/core/"):
            continue
        tree = ast.parse(path.read_text())
        docs = _docstrings(tree)
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Constant)
                and node.value in names
                and id(node) not in docs
                and (rel, node.value) not in NOT_REGISTRY
            ):
                found.append(f"{rel}:{node.lineno}: {node.value!r}")
    assert not found, "use the event class's TYPE (daemon/core/events.py):\n" + "\n".join(found)
