"""API tokens on the account's pages: a person lists, creates and revokes their own tokens; the
secret is shown once; the areas offered follow the person's roles; refusals stand at their
fields; both operations are audited."""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest
import sqlalchemy as sa

from competition.accounts.models import Role, User
from competition.api.models import ApiToken
from competition.audit.models import AuditEvent
from competition.berlin import BERLIN, berlin_time
from competition.db import utcnow
from competition.extensions import db
from tests.conftest import Browser, csrf_from
from tests.factories import PASSWORD, make_user
from tests.integration.api_world import bearer, token_for

pytestmark = pytest.mark.postgres

PAGE = "/account/api-tokens"
SECRET = re.compile(r'id="secret"[^>]*value="(cmp_[^"]+)"')


def person(app, *roles: Role, locale: str | None = None) -> tuple[Browser, int]:  # type: ignore[no-untyped-def]
    with app.app_context():
        user = make_user(roles=roles or (Role.APPLICANT,), locale=locale)
        db.session.commit()
        email, user_id = user.email, user.id
    browser = Browser(app.test_client())
    assert browser.login(email, PASSWORD).status_code == 302
    return browser, user_id


def text(response) -> str:  # type: ignore[no-untyped-def]
    return html.unescape(response.get_data(as_text=True))


def in_days(days: int) -> str:
    return (utcnow().astimezone(BERLIN).date() + dt.timedelta(days=days)).isoformat()


def create(browser: Browser, **fields: str):  # type: ignore[no-untyped-def]
    data = {"name": "Reporting script", "expires_on": in_days(30), **fields}
    return browser.submit(f"{PAGE}/new", data)


def field_error(page: str, name: str) -> str:
    match = re.search(rf'id="{name}-error">([^<]*)<', page)
    return match.group(1) if match else ""


def test_a_new_token_is_shown_once_and_works_at_once(app):
    browser, user_id = person(app, Role.OFFICER)

    created = create(browser, area_proposals="write", area_grants="read")

    assert created.status_code == 200
    assert created.headers["Cache-Control"] == "no-store"
    page = text(created)
    secret = SECRET.search(page).group(1)  # type: ignore[union-attr]
    assert "it is not shown again" in page
    me = app.test_client().get("/api/v1/me", headers=bearer(secret))
    assert me.status_code == 200
    assert me.get_json()["scopes"] == ["grants:read", "proposals:write"]
    listed = text(browser.get(PAGE))
    assert secret not in listed
    assert secret[:8] in listed  # the first characters tell it apart
    assert "Proposals, submitted versions and screening: read and write" in listed
    assert "Grants, reports and payments: read" in listed
    with app.app_context():
        event = db.session.scalar(
            sa.select(AuditEvent).where(
                AuditEvent.actor_id == user_id, AuditEvent.object_type == "api_token"
            )
        )
        assert event is not None and event.action == "api_token.created"
        assert event.after["scopes"] == ["grants:read", "proposals:write"]
        assert secret not in str(event.after)


@pytest.mark.parametrize(
    ("roles", "offered", "not_offered"),
    [
        ((Role.APPLICANT,), ["programmes", "proposals", "grants"], ["reviews", "selection"]),
        ((Role.JUROR,), ["programmes", "proposals", "reviews"], ["selection", "grants"]),
        (
            (Role.OFFICER,),
            ["programmes", "proposals", "reviews", "selection", "grants"],
            [],
        ),
    ],
)
def test_the_form_offers_the_areas_of_the_persons_roles(app, roles, offered, not_offered):
    browser, _ = person(app, *roles)

    page = text(browser.get(f"{PAGE}/new"))

    for area in offered:
        assert f'name="area_{area}"' in page
    for area in not_offered:
        assert f'name="area_{area}"' not in page


def test_the_expiry_is_ninety_days_ahead_unless_changed(app):
    browser, _ = person(app)

    page = text(browser.get(f"{PAGE}/new"))

    assert f'value="{in_days(90)}"' in page


def test_a_token_without_a_name_an_area_or_a_possible_day_is_refused_at_its_fields(app):
    browser, _ = person(app, Role.OFFICER)

    refused = create(browser, name=" ", expires_on=in_days(367))

    assert refused.status_code == 422
    page = text(refused)
    assert "Name the token" in field_error(page, "name")
    assert "Choose at least one area" in field_error(page, "scopes")
    assert "at most 366 days" in field_error(page, "expires_on")
    assert 'id="secret"' not in page
    today = create(browser, area_grants="read", expires_on=in_days(0))
    assert today.status_code == 422
    assert "Choose a day after today" in field_error(text(today), "expires_on")
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ApiToken)) == 0


def test_an_area_the_persons_roles_do_not_offer_cannot_be_smuggled_in(app):
    browser, _ = person(app, Role.APPLICANT)

    created = create(browser, area_grants="read", area_selection="write")

    secret = SECRET.search(text(created)).group(1)  # type: ignore[union-attr]
    scopes = app.test_client().get("/api/v1/me", headers=bearer(secret)).get_json()["scopes"]
    assert scopes == ["grants:read"]


def test_a_day_typed_the_german_way_is_read_on_the_german_page(app):
    browser, _ = person(app, locale="de")
    day = utcnow().astimezone(BERLIN).date() + dt.timedelta(days=10)

    form = text(browser.get(f"{PAGE}/new"))
    created = create(browser, area_proposals="read", expires_on=day.strftime("%d.%m.%Y"))

    assert "Läuft ab am" in form and "Lesen und schreiben" in form
    assert created.status_code == 200
    assert "Kopieren Sie es jetzt" in text(created)
    with app.app_context():
        token = db.session.scalar(sa.select(ApiToken))
        assert token is not None
        assert token.expires_at.astimezone(BERLIN).date() == day
        assert token.expires_at.astimezone(BERLIN).time() == dt.time(0, 0)
    refused = create(browser, area_proposals="read", expires_on="31.02.2027")
    assert refused.status_code == 422
    assert "Geben Sie den Tag ein" in field_error(text(refused), "expires_on")


def test_the_list_shows_each_tokens_state_and_only_the_persons_own(app):
    browser, user_id = person(app)
    with app.app_context():
        owner = db.session.get(User, user_id)
        assert owner is not None
        for name in ("live one", "old one", "dropped one"):
            token_for(owner, "proposals:read")
            db.session.execute(sa.update(ApiToken).where(ApiToken.name == "test").values(name=name))
        now = utcnow()
        db.session.execute(
            sa.update(ApiToken)
            .where(ApiToken.name == "old one")
            .values(created_at=now - dt.timedelta(days=5), expires_at=now - dt.timedelta(days=1))
        )
        db.session.execute(
            sa.update(ApiToken).where(ApiToken.name == "dropped one").values(revoked_at=now)
        )
        token_for(make_user(), "grants:read")
        db.session.execute(
            sa.update(ApiToken).where(ApiToken.name == "test").values(name="someone else's")
        )
        db.session.commit()

    page = text(browser.get(PAGE))

    rows = dict(re.findall(r"<th scope=\"row\">([^<]+)</th>.*?badge-token-(\w+)", page, re.S))
    assert rows == {"live one": "active", "old one": "expired", "dropped one": "revoked"}


def test_revoking_asks_first_then_refuses_the_token_and_is_audited(app):
    browser, user_id = person(app)
    with app.app_context():
        owner = db.session.get(User, user_id)
        assert owner is not None
        secret = token_for(owner, "proposals:read")
        token_id = db.session.scalar(sa.select(ApiToken.id))
    revoke = f"{PAGE}/{token_id}/revoke"

    asked = browser.get(revoke)
    assert app.test_client().get("/api/v1/me", headers=bearer(secret)).status_code == 200
    done = browser.client.post(revoke, data={"csrf_token": csrf_from(asked.get_data(True))})

    assert asked.status_code == 200 and "Yes, revoke it" in text(asked)
    assert done.status_code == 302
    assert "is revoked" in text(browser.get(done.location))
    assert app.test_client().get("/api/v1/me", headers=bearer(secret)).status_code == 401
    with app.app_context():
        actions = db.session.scalars(
            sa.select(AuditEvent.action).where(AuditEvent.object_type == "api_token")
        ).all()
        assert actions == ["api_token.created", "api_token.revoked"]
    assert "nothing to revoke" in text(browser.get(revoke))


def test_someone_elses_token_cannot_be_seen_or_revoked(app):
    owner_browser, owner_id = person(app)
    other, _ = person(app, Role.OFFICER, Role.ADMIN)
    with app.app_context():
        owner = db.session.get(User, owner_id)
        assert owner is not None
        secret = token_for(owner, "proposals:read")
        token_id = db.session.scalar(sa.select(ApiToken.id))
    revoke = f"{PAGE}/{token_id}/revoke"
    token = csrf_from(other.get(f"{PAGE}/new").get_data(True))

    assert other.get(revoke).status_code == 404
    assert other.client.post(revoke, data={"csrf_token": token}).status_code == 404
    assert app.test_client().get("/api/v1/me", headers=bearer(secret)).status_code == 200
    assert "test" not in re.findall(r'<th scope="row">([^<]+)</th>', text(other.get(PAGE)))


def test_every_signed_in_person_finds_the_page_from_the_menu(app):
    browser, _ = person(app, Role.JUROR)

    assert f'href="{PAGE}"' in browser.get("/").get_data(as_text=True)
    assert browser.get(PAGE).status_code == 200


def test_a_tokens_use_is_written_at_most_once_a_minute(app):
    browser, user_id = person(app)
    with app.app_context():
        owner = db.session.get(User, user_id)
        assert owner is not None
        secret = token_for(owner, "proposals:read")
        engine = db.engine
    writes: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        if statement.startswith("UPDATE api_tokens"):
            writes.append(statement)

    def call() -> None:
        sa.event.listen(engine, "before_cursor_execute", count)
        try:
            assert app.test_client().get("/api/v1/me", headers=bearer(secret)).status_code == 200
        finally:
            sa.event.remove(engine, "before_cursor_execute", count)

    def last_used() -> dt.datetime:
        with app.app_context():
            value = db.session.scalar(sa.select(ApiToken.last_used_at))
            assert value is not None
            return value

    call()
    call()
    first = last_used()
    with app.app_context():
        db.session.execute(
            sa.update(ApiToken).values(last_used_at=first - dt.timedelta(seconds=61))
        )
        db.session.commit()
    call()

    assert len(writes) == 2  # the first call's and the one a minute later
    latest = last_used()
    assert latest > first
    assert berlin_time(latest, "%d.%m.%Y %H:%M") in text(browser.get(PAGE))
