"""The core imports neither Flask nor the database, so it can be tested and reused on plain data."""

import ast
from pathlib import Path

import pytest

CORE = Path(__file__).resolve().parents[2] / "competition" / "core"
FORBIDDEN = ("flask", "flask_sqlalchemy", "flask_login", "flask_wtf", "sqlalchemy", "celery")


@pytest.mark.parametrize("path", sorted(CORE.glob("**/*.py")), ids=lambda p: p.name)
def test_core_module_imports_no_framework(path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
            if node.module == "competition" or node.module.startswith("competition."):
                assert node.module.startswith("competition.core"), (
                    f"{path.name} imports {node.module}"
                )
        for name in names:
            assert name.split(".")[0] not in FORBIDDEN, f"{path.name} imports {name}"
