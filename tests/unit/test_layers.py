"""The package's layers point one way: read every import of ``ivr/`` and check.

The layers, top to bottom, as the README's architecture section draws them. A module
may import its own layer's packages and any layer below; an import that runs upward
is listed by name. Imports inside ``if TYPE_CHECKING:`` count for the layers (they
still say who knows whom) but not for circles (they never run).
"""

from __future__ import annotations

import ast
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2] / "ivr"

#: Top-level packages (or modules) of ``ivr`` by layer, highest first.
LAYERS: list[tuple[str, ...]] = [
    ("cli", "tools"),
    ("app", "kit", "workers"),
    ("agi", "sim", "speech", "screenpop", "web", "asterisk"),
    ("steps", "actions", "tables", "ops", "privacy"),
    ("engine",),
    ("backends", "store", "prompts"),
    ("domain", "language", "config", "logs", "tuning", "metrics", "fast_metrics", "worker_id"),
]
RANK = {name: len(LAYERS) - index for index, names in enumerate(LAYERS) for name in names}
#: Imports from a lower layer to a higher one that are allowed (the issue's budget is 2).
MAX_UPWARD = 0


@dataclass(frozen=True)
class Import:
    source: str
    target: str
    runtime: bool  # False: only under ``if TYPE_CHECKING:``


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _type_checking_lines(tree: ast.Module) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                lines.update(range(child.lineno, (child.end_lineno or child.lineno) + 1))
    return lines


def imports_of(path: Path, modules: set[str]) -> Iterator[Import]:
    """Every ``ivr`` module ``path`` imports (a name imported from a package that is a
    module of its own counts as that module)."""
    source = module_name(path)
    package = source if path.name == "__init__.py" else source.rsplit(".", 1)[0]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typing_only = _type_checking_lines(tree)
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            targets = [
                f"{module}.{alias.name}" if f"{module}.{alias.name}" in modules else module
                for alias in node.names
            ]
        for target in targets:
            if target.split(".")[0] == "ivr" and target != source:
                yield Import(source, target, node.lineno not in typing_only)


def all_imports() -> list[Import]:
    files = sorted(ROOT.rglob("*.py"))
    modules = {module_name(path) for path in files}
    return [found for path in files for found in imports_of(path, modules)]


def top(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "ivr"


def upward(imports: list[Import]) -> list[str]:
    return sorted(
        f"{i.source} -> {i.target}"
        for i in imports
        if top(i.source) != "ivr" and RANK[top(i.source)] < RANK.get(top(i.target), 0)
    )


def circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected parts with more than one member (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

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
            part = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                part.append(member)
                if member == node:
                    break
            if len(part) > 1:
                found.append(sorted(part))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_every_package_has_a_layer() -> None:
    packages = {top(module_name(path)) for path in ROOT.rglob("*.py")} - {"ivr"}
    assert packages - RANK.keys() == set(), "add the new package to LAYERS"


def test_imports_point_down() -> None:
    assert upward(all_imports()) == [], f"at most {MAX_UPWARD} allowed"


def test_the_engine_imports_no_adapter_and_no_step() -> None:
    engine = {i.target for i in all_imports() if top(i.source) == "engine"}
    assert {top(t) for t in engine} & {"agi", "speech", "actions", "steps", "sim", "web"} == set()


def test_agi_and_speech_do_not_import_each_other() -> None:
    pairs = {(top(i.source), top(i.target)) for i in all_imports()}
    assert ("agi", "speech") not in pairs
    assert ("speech", "agi") not in pairs


def test_no_import_circle_between_packages() -> None:
    edges: dict[str, set[str]] = defaultdict(set)
    for found in all_imports():
        if top(found.source) != top(found.target):
            edges[top(found.source)].add(top(found.target))
    assert circles(edges) == []


def test_no_import_circle_between_modules() -> None:
    edges: dict[str, set[str]] = defaultdict(set)
    for found in all_imports():
        if found.runtime:
            edges[found.source].add(found.target)
    assert circles(edges) == []


@pytest.mark.parametrize(
    ("edges", "expected"),
    [
        ({"a": {"b"}, "b": {"a"}}, [["a", "b"]]),
        ({"a": {"b"}, "b": {"c"}, "c": set()}, []),
        ({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}, [["a", "b", "c"]]),
    ],
)
def test_the_circle_finder_finds_circles(
    edges: dict[str, set[str]], expected: list[list[str]]
) -> None:
    assert circles(edges) == expected


def test_an_upward_import_is_reported() -> None:
    wrong = Import("ivr.engine.call", "ivr.steps.transfer", True)
    assert upward([wrong]) == ["ivr.engine.call -> ivr.steps.transfer"]
