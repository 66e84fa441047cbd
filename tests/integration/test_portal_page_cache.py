"""Anonymous visitors' portal pages are served from kept renderings: a repeated page runs no
query but the marks of what is published, a published change (an accepted grant, a withheld
name) is shown at once, signed-in visitors never see or fill a kept page, no visitor receives
another's CSRF token or cookie, and German and English pages are kept apart."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal

import pytest

from competition.accounts.models import User
from competition.db import utcnow
from competition.extensions import db
from competition.organisations.models import Organisation
from competition.programmes.models import Call
from competition.proposals.models import ConsortiumMember
from competition.proposals.withholding import withhold_name
from config.settings import Settings
from tests.conftest import Browser, app_for_module, csrf_from
from tests.factories import make_grant, make_organisation, make_proposal, make_user
from tests.helpers import as_person, queries_for_page, text
from tests.integration.portal_world import World, build_world

pytestmark = pytest.mark.postgres

MARKER = "X-Portal-Cache"


@pytest.fixture(scope="module")
def app(pg_url) -> Iterator[object]:  # type: ignore[no-untyped-def]
    yield from app_for_module(pg_url)


@pytest.fixture(scope="module")
def world(app) -> World:  # type: ignore[no-untyped-def]
    with app.app_context():
        return build_world()


def anyone(app) -> Browser:  # type: ignore[no-untyped-def]
    return Browser(app.test_client())


def fund(app, world: World, acronym: str) -> None:  # type: ignore[no-untyped-def]
    """A new proposal of the open call, funded: its grant accepted."""
    with app.app_context():
        call = db.session.get(Call, world.open_call_id)
        make_grant(
            make_proposal(call, acronym=acronym, title=f"{acronym} funded"),
            starts_on=dt.date(2028, 1, 1),
            per_member_year=Decimal("1000.00"),
        )
        db.session.commit()


def test_a_repeated_anonymous_page_is_served_kept_with_no_query_but_the_marks(app, world):
    first = anyone(app).get("/portal/funded?q=hydrogen&kind=university")
    queries = queries_for_page(app, anyone(app), "/portal/funded?kind=university&q=hydrogen")
    calendar = [anyone(app).get("/portal/deadlines.ics") for _ in range(2)]

    assert first.headers[MARKER] == "miss"
    assert queries <= 2  # the grants' mark and the newest audit event
    assert [r.headers[MARKER] for r in calendar] == ["miss", "hit"]
    assert calendar[1].mimetype == "text/calendar"
    assert calendar[1].headers["Cache-Control"] == "public, max-age=900"


def test_an_accepted_grant_shows_on_the_next_request(app, world):
    browser = anyone(app)
    assert "NEWLY-FUNDED" not in text(browser.get("/portal/funded"))
    assert browser.get("/portal/funded").headers[MARKER] == "hit"

    fund(app, world, "NEWLY-FUNDED")
    after = browser.get("/portal/funded")

    assert after.headers[MARKER] == "miss"
    assert "NEWLY-FUNDED" in text(after)


def test_the_public_apis_funded_consortia_are_kept_as_the_portals_pages_are(app, world):
    caller = app.test_client()
    listing = "/api/v1/public/funded?limit=2"
    first, again = caller.get(listing), caller.get(listing)
    unchanged = caller.get(listing, headers={"If-None-Match": again.headers["ETag"]})
    one = first.get_json()["items"][0]["id"]
    single = [caller.get(f"/api/v1/public/funded/{one}") for _ in range(2)]

    assert [first.headers[MARKER], again.headers[MARKER]] == ["miss", "hit"]
    assert again.get_json() == first.get_json() and again.headers["ETag"] == first.headers["ETag"]
    assert again.headers["Link"] == first.headers["Link"]  # the next page's cursor
    assert again.mimetype == "application/json"
    assert unchanged.status_code == 304 and unchanged.headers[MARKER] == "hit"
    assert [r.headers[MARKER] for r in single] == ["miss", "hit"]

    fund(app, world, "API-FUNDED")
    after = caller.get("/api/v1/public/funded?limit=100")
    after_again = caller.get(listing)

    assert after.headers[MARKER] == "miss"
    assert "API-FUNDED" in [item["acronym"] for item in after.get_json()["items"]]
    assert after_again.headers[MARKER] == "miss"


def funded_naming(app, world: World, name: str, *, coordinating: bool) -> tuple[int, int, int]:  # type: ignore[no-untyped-def]
    """A funded consortium of the open call with a member named ``name``, its coordinator or a
    partner: the grant's id, that member's and the id of the person coordinating it."""
    with app.app_context():
        coordinator = make_user()
        named, other = make_organisation(name=name), make_organisation()
        proposal = make_proposal(
            db.session.get(Call, world.open_call_id),
            acronym=name.split()[0].upper(),
            organisations=(named, other) if coordinating else (other, named),
            coordinator=coordinator,
        )
        grant = make_grant(proposal)
        db.session.commit()
        member = proposal.members[0 if coordinating else 1]
        assert db.session.get(Organisation, member.organisation_id).name == name
        return grant.id, member.id, coordinator.id


def withhold(app, member_id: int, actor_id: int) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        member = db.session.get(ConsortiumMember, member_id)
        withhold_name(member, actor=db.session.get(User, actor_id), reason="Asked.", now=utcnow())


def test_a_withheld_name_disappears_on_the_next_request(app, world):
    grant_id, member_id, actor_id = funded_naming(
        app, world, "Nennbar Kathoden GmbH", coordinating=False
    )
    address = f"/portal/funded/{grant_id}"
    assert "Nennbar Kathoden GmbH" in text(anyone(app).get(address))
    assert anyone(app).get(address).headers[MARKER] == "hit"

    withhold(app, member_id, actor_id)
    after = anyone(app).get(address)

    assert after.headers[MARKER] == "miss"
    assert "Nennbar Kathoden GmbH" not in text(after)


def test_the_funded_list_shows_a_withheld_coordinator_and_the_readers_language(app, world):
    # The list's rendered consortia are kept too: a change or another language renders afresh.
    _, member_id, actor_id = funded_naming(app, world, "Sichtbar Anoden GmbH", coordinating=True)
    listing = "/portal/funded?q=sichtbar"
    before = text(anyone(app).get(listing))
    withhold(app, member_id, actor_id)
    after = text(anyone(app).get(listing))
    german = anyone(app)
    assert german.submit("/language", {"locale": "de"}, page="/portal").status_code == 303
    in_german = text(german.get(listing))

    assert "SICHTBAR" in before and "Sichtbar Anoden GmbH" in before
    assert "SICHTBAR" in after and "Sichtbar Anoden GmbH" not in after
    assert "Partner (name withheld)" in after
    assert "<dt>Koordination</dt>" in in_german
    assert "Partner (Name nicht veröffentlicht)" in in_german


def test_a_signed_in_visitor_neither_gets_nor_fills_a_kept_page(app, world):
    kept = anyone(app).get("/portal/map?year=2027")
    signed_in = as_person(app, world.applicant)
    theirs = signed_in.get("/portal/map?year=2027")
    signed_in.get("/portal/map?year=2026")
    next_anonymous = anyone(app).get("/portal/map?year=2026")

    assert kept.headers[MARKER] == "miss"
    assert MARKER not in theirs.headers and "Ada Applicant" in text(theirs)
    assert theirs.headers["Cache-Control"] == "private, no-store"
    assert next_anonymous.headers[MARKER] == "miss"


def test_each_visitor_gets_a_csrf_token_and_cookie_of_their_own(app, world):
    first, second = anyone(app), anyone(app)
    filled = first.get("/portal/open-data")
    served = second.get("/portal/open-data")
    switched = second.client.post(
        "/language", data={"locale": "de", "csrf_token": csrf_from(served.get_data(as_text=True))}
    )

    assert filled.headers[MARKER] == "miss" and served.headers[MARKER] == "hit"
    first_token = csrf_from(filled.get_data(as_text=True))
    assert first_token not in served.get_data(as_text=True)
    assert served.headers.get("Set-Cookie") != filled.headers.get("Set-Cookie")
    assert switched.status_code == 303  # the switch takes the token the kept page carried


def test_german_and_english_pages_are_kept_apart(app, world):
    english = anyone(app)
    german = anyone(app)
    assert german.submit("/language", {"locale": "de"}, page="/portal").status_code == 303

    pages = [
        english.get("/portal/programmes/clusters4future"),
        german.get("/portal/programmes/clusters4future"),
        english.get("/portal/programmes/clusters4future"),
        german.get("/portal/programmes/clusters4future"),
    ]

    assert [p.headers[MARKER] for p in pages] == ["miss", "miss", "hit", "hit"]
    assert [p.get_data(as_text=True).count('<html lang="de">') for p in pages] == [0, 1, 0, 1]


def test_the_page_cache_can_be_turned_off():
    assert Settings.from_env({}).portal_page_cache is True
    assert Settings.from_env({"PORTAL_PAGE_CACHE": "off"}).portal_page_cache is False
