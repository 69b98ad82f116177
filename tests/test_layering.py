"""The layout holds: one room per stage, arrows that never come back round, no library module too long to read.

Every import counts, a function-level one too: an import inside a function still ties the two modules, it only
hides the tie from a reader of the file's head.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("segmentation", "ui")
MAX_LINES = 600


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _sources() -> dict[str, Path]:
    return {_module_name(p): p for package in PACKAGES for p in sorted((ROOT / package).rglob("*.py"))}


def _imports(path: Path, modules: set[str]) -> set[str]:
    """Project modules that ``path`` imports anywhere in its body (``from a import b`` counts ``a.b`` when that
    is a module, else ``a``)."""
    found = set()
    package = _module_name(path) if path.name == "__init__.py" else _module_name(path).rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names]
        else:
            continue
        for name in names:
            while name and name not in modules:
                name = name.rpartition(".")[0]
            if name:
                found.add(name)
    return found


def _graph() -> dict[str, set[str]]:
    sources = _sources()
    modules = set(sources)
    # A package's __init__ is imported on the way to any of its modules; it never counts as their importer.
    return {name: {m for m in _imports(path, modules) if m != name} for name, path in sources.items()}


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_circles_in_the_library_or_the_ui() -> None:
    assert _circles(_graph()) == []


def test_the_circle_finder_finds_a_circle() -> None:
    assert _circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_the_library_never_imports_the_ui() -> None:
    graph = _graph()
    wrong = {name: sorted(m for m in targets if m.startswith("ui")) for name, targets in graph.items()
             if name.startswith("segmentation")}
    assert {name: targets for name, targets in wrong.items() if targets} == {}


@pytest.mark.parametrize("path", sorted((ROOT / "segmentation").rglob("*.py")), ids=lambda p: _module_name(p))
def test_library_module_is_short_enough_to_read(path: Path) -> None:
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{path.relative_to(ROOT)} has {lines} lines; split it by concern"


@pytest.mark.parametrize("folder", sorted(p.parent for p in (ROOT / "segmentation").glob("*/__init__.py")),
                         ids=lambda p: p.name)
def test_every_room_says_what_lives_in_it(folder: Path) -> None:
    init = ast.parse((folder / "__init__.py").read_text(encoding="utf-8"))
    assert ast.get_docstring(init), f"segmentation/{folder.name}/__init__.py needs a docstring"


# What a page may import from the project: the Streamlit adapters, the presentation layer, and the library's one
# error type, which pages catch to show its message. Every stage is reached through these two layers, so a page
# never decides what an algorithm, an encoder or a saved run means.
PAGE_IMPORTS = ("ui", "segmentation.present", "segmentation.core.errors")


@pytest.mark.parametrize("path", [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py"))], ids=lambda p: p.name)
def test_pages_import_only_the_ui_and_the_presentation_layer(path: Path) -> None:
    modules = set(_sources())
    wrong = sorted(m for m in _imports(path, modules)
                   if not any(m == allowed or m.startswith(f"{allowed}.") for allowed in PAGE_IMPORTS))
    assert wrong == [], f"{path.name} imports {', '.join(wrong)}: reach them through ui/ or segmentation/present/"
