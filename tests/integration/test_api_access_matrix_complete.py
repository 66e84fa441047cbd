"""Every operation the API describes is checked by an access matrix: each endpoint × role ×
own and foreign object, in the ``test_api_*`` modules that declare ``COVERED_OPERATIONS``."""

from __future__ import annotations

import importlib
from pathlib import Path

HERE = Path(__file__).parent
# Operations about the API itself or open to anyone, whose tests are elsewhere.
NOT_OBJECTS = {("get", "/api/v1/openapi.json")}


def _covered() -> set[tuple[str, str]]:
    covered: set[tuple[str, str]] = set()
    for path in sorted(HERE.glob("test_api_*.py")):
        module = importlib.import_module(f"tests.integration.{path.stem}")
        covered |= set(getattr(module, "COVERED_OPERATIONS", set()))
    return covered


def test_every_api_operation_is_in_an_access_matrix(app):
    spec = app.test_client().get("/api/v1/openapi.json").get_json()
    described = {
        (method, path)
        for path, item in spec["paths"].items()
        for method in item
        if method in {"get", "post", "put", "patch", "delete"}
    }

    missing = described - _covered() - NOT_OBJECTS

    assert sorted(missing) == []
