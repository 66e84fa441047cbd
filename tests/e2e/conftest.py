"""A live server in a thread and Debian's headless Chromium driven by Playwright."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from tests import services
from tests.conftest import free_port

pytestmark = pytest.mark.browser

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture
def live_server(make_app, smtp_server):  # type: ignore[no-untyped-def]
    """The app served over HTTP on a free port, mailing through the test's SMTP server."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    app = make_app(mail_server=smtp_server.host, mail_port=smtp_server.port, base_url=base_url)
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    app.base_url = base_url  # type: ignore[attr-defined]
    yield app
    server.shutdown()
    thread.join(timeout=10)


@pytest.fixture(scope="session")
def chromium() -> Iterator[object]:
    if not Path(services.CHROMIUM).exists():
        services.unavailable(f"Chromium at {services.CHROMIUM}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=services.CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        yield browser
        browser.close()


@pytest.fixture
def page(chromium):  # type: ignore[no-untyped-def]
    context = chromium.new_context()
    context.set_default_timeout(20_000)
    yield context.new_page()
    context.close()
