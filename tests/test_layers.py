"""The house's layers, read from the source (every import statement, at any depth, parsed with
``ast``; nothing is imported to find them). Lowest first:

    (footing)  outages: saying once that Redis or the database went, with backoff; background:
               a loop run in a thread for a with-block; they import nothing of the project
    ground     engine (the only code that talks to Docker), environment, locks, channel_layer
    teams      teams, memberships, roles
    inventory  hosts, engines, daemons, containers, the graph
    apps       demos, dashboards (side by side: neither imports the other)
    project    urls, the pages that show several apps, asgi, settings, health

A module imports only from its own layer or below, apps on one floor do not import each other,
and no import hides inside a function, where it would draw an arrow no one sees (Django's
``AppConfig.ready`` aside, which is where signal receivers are connected).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "topology"

GROUND = ("topology.engine", "topology.environment", "topology.locks", "topology.channel_layer")
FLOORS: tuple[tuple[str, ...], ...] = (
    ("topology.outages", "topology.background"),  # the ground's footing: all of it may use it
    GROUND,
    ("topology.teams",),
    ("topology.inventory",),
    ("topology.demos", "topology.dashboards"),
    ("topology",),
)
DOCKER_LIBRARIES = ("docker", "paramiko")


@dataclass(frozen=True)
class Import:
    source: str  # the importing module, dotted
    target: str  # the imported module (or name), dotted
    line: int
    in_function: str | None  # the function it sits in, if any


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> Iterator[Path]:
    for path in sorted(PACKAGE.rglob("*.py")):
        if "migrations" not in path.parts:
            yield path


def imports_of(path: Path) -> list[Import]:
    source = module_name(path)
    package = source if path.name == "__init__.py" else source.rpartition(".")[0]
    found: list[Import] = []

    def visit(node: ast.AST, function: str | None) -> None:
        for child in ast.iter_child_nodes(node):
            inside = function
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                inside = f"{function}.{child.name}" if function else child.name
            if isinstance(child, ast.ClassDef) and function is None:
                visit(child, None)
                continue
            if isinstance(child, ast.Import):
                found.extend(Import(source, a.name, child.lineno, function) for a in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    anchor = package.split(".")[: len(package.split(".")) - child.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                found.extend(
                    Import(source, f"{base}.{a.name}" if base else a.name, child.lineno, function)
                    for a in child.names
                )
            visit(child, inside)

    visit(ast.parse(path.read_text(), str(path)), None)
    return found


ALL_IMPORTS = [found for path in modules() for found in imports_of(path)]
OURS = [found for found in ALL_IMPORTS if found.target.startswith("topology.")]


def floor_of(module: str) -> tuple[int, str]:
    """The floor a module stands on, and the part of the house it belongs to."""
    best: tuple[int, str] | None = None
    for number, parts in enumerate(FLOORS):
        for part in parts:
            if (module == part or module.startswith(part + ".")) and (
                best is None or len(part) > len(best[1])
            ):
                best = (number, part)
    assert best is not None, module
    return best


def test_the_parser_sees_every_kind_of_import() -> None:
    """The reading itself: a module known to use each form is read with it."""
    seen = {(i.source, i.target, i.in_function) for i in ALL_IMPORTS}
    assert ("topology.urls", "topology.views", None) in seen
    assert ("topology.inventory.apps", "topology.inventory.signals", "ready") in {
        (source, target, function and function.rsplit(".")[-1]) for source, target, function in seen
    }
    assert floor_of("topology.inventory.api.views") == (3, "topology.inventory")
    assert floor_of("topology.views") == (5, "topology")
    assert floor_of("topology.engine.images") == (1, "topology.engine")


def test_nothing_imports_from_a_layer_above() -> None:
    upward = [
        f"{i.source}:{i.line} imports {i.target}"
        for i in OURS
        if floor_of(i.target)[0] > floor_of(i.source)[0]
    ]
    assert not upward, "\n".join(upward)


def test_apps_on_one_floor_do_not_import_each_other() -> None:
    sideways = [
        f"{i.source}:{i.line} imports {i.target}"
        for i in OURS
        if floor_of(i.target)[0] == floor_of(i.source)[0]
        and floor_of(i.target)[1] != floor_of(i.source)[1]
        and floor_of(i.source)[1] != "topology"
    ]
    assert not sideways, "\n".join(sideways)


def test_no_import_of_the_project_hides_in_a_function() -> None:
    hidden = [
        f"{i.source}:{i.line} imports {i.target} inside {i.in_function}()"
        for i in OURS
        if i.in_function is not None and not i.in_function.endswith("ready")
    ]
    assert not hidden, "\n".join(hidden)


def test_no_module_loop() -> None:
    """Following imports between the project's modules never comes back where it started."""
    known = {module_name(path) for path in modules()}
    edges: dict[str, set[str]] = {name: set() for name in known}
    for found in OURS:
        target = found.target
        while target not in known and "." in target:
            target = target.rpartition(".")[0]  # ``from package import name``
        if target in known and target != found.source:
            edges[found.source].add(target)
    state: dict[str, str] = {}
    loops: list[list[str]] = []

    def walk(node: str, trail: list[str]) -> None:
        state[node] = "open"
        for nxt in sorted(edges[node]):
            if state.get(nxt) == "open":
                loops.append([*trail[trail.index(nxt) :], nxt])
            elif nxt not in state:
                walk(nxt, [*trail, nxt])
        state[node] = "done"

    for name in sorted(known):
        if name not in state:
            walk(name, [name])
    assert not loops, "\n".join(" -> ".join(loop) for loop in loops)


@pytest.mark.parametrize("library", DOCKER_LIBRARIES)
def test_only_the_engine_layer_talks_to_docker(library: str) -> None:
    outside = [
        f"{i.source}:{i.line} imports {i.target}"
        for i in ALL_IMPORTS
        if (i.target == library or i.target.startswith(library + "."))
        and not i.source.startswith("topology.engine")
    ]
    assert not outside, "\n".join(outside)


def test_the_engine_layer_knows_nothing_of_django_or_the_apps() -> None:
    found = [
        f"{i.source}:{i.line} imports {i.target}"
        for i in ALL_IMPORTS
        if i.source.startswith("topology.engine")
        and (
            i.target.split(".")[0] in ("django", "rest_framework", "channels", "celery")
            or (i.target.startswith("topology.") and not i.target.startswith("topology.engine"))
        )
    ]
    assert not found, "\n".join(found)
