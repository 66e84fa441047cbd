"""When the database refuses connections or goes away mid-request, people get the app's own
page (503) that says plainly whether their work was kept, never a bare server error; an
autosave that was stored says so, and its retry is the same save. Runs on PostgreSQL."""

# ruff: noqa: F811

from __future__ import annotations

import pytest
import sqlalchemy as sa

from competition.access import public
from competition.db import operation
from competition.extensions import db
from competition.proposals import operations as ops
from tests.conftest import Browser, free_port
from tests.factories import PASSWORD, make_user
from tests.integration.submission_world import (
    app,  # noqa: F401  (a fixture)
    build_world,
    log_in,
    post,
    section_url,
    sections_of,
    write_draft,
)

pytestmark = pytest.mark.postgres

AWAY = "Briefly unavailable"
JSON = {"Accept": "application/json"}


def refused() -> sa.exc.OperationalError:
    return sa.exc.OperationalError("SELECT 1", {}, OSError("connection refused"))


@pytest.fixture
def unreachable(app, make_app):  # type: ignore[no-untyped-def]
    """The same app with its database on a port where nothing listens (built after ``app``,
    which the tables are emptied through afterwards)."""
    return make_app(database_url=f"postgresql+psycopg://nobody@127.0.0.1:{free_port()}/gone")


def test_a_signed_in_page_answers_503_with_the_apps_page_while_the_database_refuses(
    app, unreachable
):
    with app.app_context():
        person = make_user()
        db.session.commit()
        email = person.email
    signed_in = Browser(app.test_client())
    assert signed_in.login(email, PASSWORD).status_code == 302
    client = unreachable.test_client()
    cookie = signed_in.client.get_cookie("competition_session")
    assert cookie is not None
    client.set_cookie("competition_session", cookie.value)

    response = client.get("/")

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "30"
    page = response.get_data(as_text=True)
    assert AWAY in page and "Nothing was changed." in page
    assert "Internal Server Error" not in page


def test_a_form_sent_while_the_database_refuses_says_nothing_was_saved(unreachable):
    browser = Browser(unreachable.test_client())

    response = browser.submit("/login", {"email": "ada@example.org", "password": PASSWORD})

    assert response.status_code == 503
    assert "Nothing was saved or submitted" in response.get_data(as_text=True)


def test_the_page_says_whether_the_change_was_kept_by_how_far_the_commit_got(make_app, monkeypatch):
    app = make_app()

    @operation
    def change() -> None:
        db.session.execute(sa.text("SELECT 1"))

    def after_commit():  # type: ignore[no-untyped-def]
        change()
        raise refused()

    def during_commit():  # type: ignore[no-untyped-def]
        monkeypatch.setattr(db.session, "commit", lambda: (_ for _ in ()).throw(refused()))
        change()

    app.add_url_rule("/t/after", "after", public(after_commit), methods=["GET"])
    app.add_url_rule("/t/during", "during", public(during_commit), methods=["GET"])
    client = app.test_client()

    kept = client.get("/t/after")
    in_doubt = client.get("/t/during", headers=JSON)

    assert kept.status_code == in_doubt.status_code == 503
    assert "Your change was saved" in kept.get_data(as_text=True)
    assert in_doubt.get_json()["saved"] is None
    assert "not certain" in in_doubt.get_json()["error"]


def test_an_autosave_stored_before_the_connection_dropped_answers_with_its_revision(
    app, monkeypatch
):
    with app.app_context():
        world = build_world()
        draft = write_draft(world, complete=False)
    browser = log_in(app, world.coordinator)

    def dropped(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise refused()

    monkeypatch.setattr(ops, "checklist", dropped)
    form = {"text": "Grids that balance themselves.", "base_revision": "0"}
    saved = post(browser, section_url(draft), form, headers=JSON)
    monkeypatch.undo()

    assert saved.status_code == 200
    assert saved.get_json()["revision"] == 1
    # The script did not get the answer in time and sends the same save again.
    again = post(browser, section_url(draft), form, headers=JSON)
    assert again.status_code == 200
    assert again.get_json()["revision"] == 1
    with app.app_context():
        assert sections_of(draft)["strategy"] == "Grids that balance themselves."
