"""The header's links: each person sees those of their own roles, in their own language, even
though the links are rendered once and kept for everyone with the same roles."""

from __future__ import annotations

import re

import pytest

from competition.accounts.models import Role
from competition.extensions import db
from tests.conftest import Browser
from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.postgres


def links(page: str) -> list[str]:
    """The names of the header's links, in order."""
    header = page.split('<nav aria-label="', 1)[1].split("</nav>", 1)[0]
    return re.findall(r'<a href="[^"]*">([^<]+)</a>', header)


def signed_in(app, email: str) -> Browser:  # type: ignore[no-untyped-def]
    browser = Browser(app.test_client())
    assert browser.login(email, PASSWORD).status_code == 302
    return browser


def test_each_person_sees_the_links_of_their_own_roles_in_their_own_language(make_app):
    app = make_app()
    with app.app_context():
        officer = make_user(roles=(Role.OFFICER,), name="Olga Officer")
        juror = make_user(roles=(Role.JUROR,), name="Jens Juror")
        admin = make_user(roles=(Role.ADMIN,), name="Anna Admin", locale="de")
        german_juror = make_user(roles=(Role.JUROR,), name="Jana Jurorin", locale="de")
        people = {p.name: p.email for p in (officer, juror, admin, german_juror)}
        db.session.commit()
    visitor = Browser(app.test_client())

    # The officer's page first, so that every later page could be given the officer's links.
    officer_page = signed_in(app, people["Olga Officer"]).get("/").get_data(as_text=True)
    juror_page = signed_in(app, people["Jens Juror"]).get("/").get_data(as_text=True)
    admin_page = signed_in(app, people["Anna Admin"]).get("/").get_data(as_text=True)
    german_page = signed_in(app, people["Jana Jurorin"]).get("/").get_data(as_text=True)
    visitor_page = visitor.get("/login").get_data(as_text=True)

    mine = ["Security", "API tokens", "My data"]
    assert links(officer_page) == [
        "Open calls",
        "Programmes",
        "Proposals",
        "Invite people",
        "Organisations",
        "Memberships",
        *mine,
    ]
    assert links(juror_page) == ["Open calls", "Jury", "Reviews", "Memberships", *mine]
    assert links(admin_page) == [
        "Offene Ausschreibungen",
        "Konten",
        "Aufbewahrung",
        "Postfach",  # mail stays in the app: no mail server in the tests
        "Organisationen",
        "Sicherheit",
        "API-Tokens",
        "Meine Daten",
    ]
    assert links(german_page)[:4] == [
        "Offene Ausschreibungen",
        "Jury",
        "Begutachtungen",
        "Mitgliedschaften",
    ]
    assert links(visitor_page) == ["Open calls", "Funding portal", "Log in", "Register"]

    # The name beside "Log out" is each person's own.
    assert '<span class="who">Olga Officer</span>' in officer_page
    assert '<span class="who">Jens Juror</span>' in juror_page
    assert "Olga Officer" not in juror_page + admin_page + german_page
    assert "Log out" not in visitor_page and 'class="who"' not in visitor_page
