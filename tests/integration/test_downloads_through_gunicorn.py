"""A document whose name is not Latin-1 reaches the reviewer through the production server:
gunicorn refuses a header it cannot encode, which a test client never notices."""

# ruff: noqa: F811

from __future__ import annotations

import http.cookiejar
import os
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from urllib.parse import unquote

import pytest

from competition.db import utcnow
from competition.extensions import db
from competition.proposals import operations as ops
from competition.proposals.models import StageSubmission
from tests.conftest import ROOT, TEST_SECRET, csrf_from, free_port
from tests.factories import PASSWORD
from tests.integration.submission_world import (
    CV_PDF,
    app,  # noqa: F401  (a fixture)
    build_world,
    user,
    write_draft,
)
from tests.services import port_open

pytestmark = pytest.mark.postgres

NAME = "Łódź-Absichtserklärung 📄.pdf"


@pytest.fixture
def gunicorn(app, pg_url):  # type: ignore[no-untyped-def]
    """gunicorn serving the app on the test's database and upload folder."""
    port = free_port()
    env = {
        **os.environ,
        "APP_ENV": "testing",
        "SECRET_KEY": TEST_SECRET,
        "DATABASE_URL": pg_url,
        "UPLOAD_FOLDER": app.config["UPLOAD_FOLDER"],
        "TASKS_INLINE": "true",
        "DEFAULT_LOCALE": "en",
        "BASE_URL": f"http://127.0.0.1:{port}",
    }
    env.pop("REDIS_URL", None)
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            # As the Procfile serves the app.
            "--config",
            "config/web_server.py",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "competition:create_app()",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while not port_open("127.0.0.1", port):
            assert server.poll() is None, server.stdout.read().decode() if server.stdout else ""
            assert time.monotonic() < deadline, "gunicorn did not start"
            time.sleep(0.2)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=30)


def signed_in(base: str, email: str) -> urllib.request.OpenerDirector:
    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
    )
    page = opener.open(f"{base}/login").read().decode()
    form = {"email": email, "password": PASSWORD, "csrf_token": csrf_from(page), "next": ""}
    landed = opener.open(f"{base}/login", data=urllib.parse.urlencode(form).encode())
    assert urllib.parse.urlsplit(landed.geturl()).path == "/", "could not log in"
    return opener


def test_a_document_named_in_any_script_downloads_with_its_name_through_gunicorn(app, gunicorn):
    with app.app_context():
        world = build_world()
        draft = write_draft(world)
        submission = db.session.get(StageSubmission, draft.submission_id)
        attachment = ops.add_attachment(
            submission,
            actor=user(world.coordinator),
            kind="cv",
            filename=NAME,
            data=CV_PDF,
            now=utcnow(),
        )
        attachment_id, officer = attachment.id, world.officer

    with signed_in(gunicorn, officer).open(f"{gunicorn}/attachments/{attachment_id}") as response:
        body = response.read()
        disposition = response.headers["Content-Disposition"]

    assert body == CV_PDF
    assert disposition.startswith("attachment;")
    exact = disposition.split("filename*=UTF-8''", 1)[1]
    assert unquote(exact) == NAME
