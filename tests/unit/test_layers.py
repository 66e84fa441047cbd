"""Dependencies point one way: an area imports only areas below it.

The order is the flow of a competition (a programme's calls take proposals, which are screened,
reviewed and selected); the demo, the command line and the web wiring sit on top. A function-level
import counts the same as one at the top of a module.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "competition"

# Lowest first. Modules on one line share a layer and may import each other.
LAYERS: list[set[str]] = [
    {"core"},
    {
        "extensions",
        "db",
        "errors",
        "permissions",
        "forms",
        "paging",
        "berlin",
        "logs",
        "tasks",
        "params",
        "downloads",
        "kept",
        "i18n",
        "pdf",
        "prose",
    },
    {"accounts", "access", "audit", "notifications", "workflow", "jobs"},
    {"organisations"},
    {"programmes"},
    {"proposals"},
    {"screening", "clarifications"},
    {"assignment", "reviews", "hearings"},
    {"selection"},
    {"grants", "memberships"},
    {"dashboard", "legal", "portal", "retention"},
    {"api"},
    {"personal_data"},
    {"demo"},
    {"cli"},
    {"web"},
    {"__init__"},
]


def layer_of(area: str) -> int:
    for index, members in enumerate(LAYERS):
        if area in members:
            return index
    raise AssertionError(f"competition/{area} has no layer: add it to LAYERS")


def area_of(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "competition":
        return None
    return parts[1] if len(parts) > 1 else "__init__"


def imported_areas(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a for alias in node.names if (a := area_of(alias.name))}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            area = area_of(node.module)
            if area == "__init__":
                # "from competition import web" names the area in the alias.
                found |= {_area_named(alias.name) for alias in node.names}
            elif area:
                found.add(area)
    return found


def _area_named(name: str) -> str:
    is_area = (PACKAGE / name).is_dir() or (PACKAGE / f"{name}.py").exists()
    return name if is_area else "__init__"


def upward_edges(package: Path) -> set[tuple[str, str]]:
    edges = set()
    for path in sorted(package.rglob("*.py")):
        relative = path.relative_to(package)
        source = relative.parts[0].removesuffix(".py")
        for target in imported_areas(path) - {source}:
            if layer_of(target) > layer_of(source):
                edges.add((relative.as_posix(), target))
    return edges


def test_no_area_imports_a_higher_one():
    # What a lower area needs from a higher one, the higher one registers at app creation
    # (programmes.uses, proposals.panels, the mailer's attachments).
    assert upward_edges(PACKAGE) == set(), "an area imports a higher one"


def test_an_upward_import_is_found(tmp_path: Path):
    area = tmp_path / "proposals"
    area.mkdir()
    (area / "views.py").write_text("def f():\n    from competition.selection import letters\n")
    assert upward_edges(tmp_path) == {("proposals/views.py", "selection")}
