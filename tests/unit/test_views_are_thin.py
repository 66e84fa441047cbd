"""Views call operations through one helper (``competition.forms.attempt`` or ``perform``),
which rolls back and hands the refusal to the page; no view catches a domain error itself."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "competition"


def domain_errors(package: Path) -> set[str]:
    """DomainError and every class that derives from it, by name, across the package."""
    bases: dict[str, set[str]] = {}
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                names = {
                    b.attr if isinstance(b, ast.Attribute) else getattr(b, "id", "")
                    for b in node.bases
                }
                bases.setdefault(node.name, set()).update(names)
    found = {"DomainError"}
    while True:
        more = {name for name, parents in bases.items() if parents & found} - found
        if not more:
            return found
        found |= more


def caught_in_views(package: Path, errors: set[str]) -> list[str]:
    places = []
    for path in sorted(package.rglob("*.py")):
        if not (path.name == "views.py" or path.name.endswith("_views.py")):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.ExceptHandler) or node.type is None:
                continue
            types = node.type.elts if isinstance(node.type, ast.Tuple) else [node.type]
            for caught in types:
                name = (
                    caught.attr if isinstance(caught, ast.Attribute) else getattr(caught, "id", "")
                )
                if name in errors:
                    places.append(f"{path.relative_to(package)}:{node.lineno} catches {name}")
    return places


def test_no_view_catches_a_domain_error_itself():
    assert caught_in_views(PACKAGE, domain_errors(PACKAGE)) == []


def test_a_view_catching_a_subclass_of_a_domain_error_is_found(tmp_path: Path):
    (tmp_path / "errors.py").write_text(
        "class DomainError(Exception): ...\nclass Stale(DomainError): ...\n"
    )
    area = tmp_path / "grants"
    area.mkdir()
    (area / "views.py").write_text(
        "def f():\n    try:\n        pass\n    except errors.Stale:\n        pass\n"
    )
    assert caught_in_views(tmp_path, domain_errors(tmp_path)) == ["grants/views.py:4 catches Stale"]
