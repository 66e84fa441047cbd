"""Finding the real services the tests use. Outside CI a missing service skips its tests; in CI
(CI=true) it fails them, so a green run always means the services were really exercised."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
PG_HOST = os.environ.get("TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("TEST_PG_PORT", "5432"))
PG_USER = os.environ.get("TEST_PG_USER", os.environ.get("USER", "root"))
PG_ADMIN_DB = os.environ.get("TEST_PG_DATABASE", "test")
REDIS_HOST = os.environ.get("TEST_REDIS_HOST", "127.0.0.1")
REDIS_PORT = int(os.environ.get("TEST_REDIS_PORT", "6379"))
REDIS_DB = int(os.environ.get("TEST_REDIS_DB", "15"))
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
# axe-core, the accessibility rules run in each page: installed by `make browser` (npm ci).
AXE = Path(__file__).resolve().parent / "e2e" / "node_modules" / "axe-core" / "axe.min.js"


def port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def axe_source() -> str:
    """The axe-core script, to be evaluated in a page."""
    if not AXE.exists():
        unavailable(f"axe-core at {AXE} (make browser installs it)")
    return AXE.read_text()


def unavailable(what: str) -> None:
    """Skip locally, fail in CI."""
    if IN_CI:
        pytest.fail(f"{what} is not available, and CI must not skip its tests", pytrace=False)
    pytest.skip(f"{what} is not available")
