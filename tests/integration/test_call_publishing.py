"""Officers publish, close and reopen calls; applicants see only published calls."""

from __future__ import annotations

import datetime as dt
import html
from decimal import Decimal

import pytest
import sqlalchemy as sa

from competition.accounts.models import Role
from competition.audit.models import AuditEvent
from competition.db import utcnow
from competition.extensions import db
from competition.programmes.models import Call, CallState
from tests.factories import PASSWORD, make_call, make_programme, make_stage, make_user


def setup(app, *, with_stage: bool = True):  # type: ignore[no-untyped-def]
    with app.app_context():
        officer = make_user(roles=(Role.OFFICER,), email="o@example.org")
        programme = make_programme(officers=(officer,))
        call = make_call(programme, state=CallState.DRAFT, name="Alliance call")
        if with_stage:
            now = utcnow()
            make_stage(
                call, opens_at=now - dt.timedelta(days=1), closes_at=now + dt.timedelta(days=9)
            )
        db.session.commit()
        return call.id, programme.id


def change(browser, call_id: int, programme_id: int, action: str):  # type: ignore[no-untyped-def]
    return browser.submit(
        f"/calls/{call_id}/state", {"action": action}, page=f"/programmes/{programme_id}"
    )


def state_of(app, call_id: int) -> CallState:  # type: ignore[no-untyped-def]
    with app.app_context():
        return db.session.get(Call, call_id).state


def test_a_published_call_is_listed_for_applicants_and_a_draft_is_not(app, browser):
    call_id, programme_id = setup(app)
    assert ">Alliance call</a>" not in browser.get("/calls").get_data(as_text=True)
    assert browser.get(f"/calls/{call_id}").status_code == 404
    browser.login("o@example.org", PASSWORD)
    page = browser.get(f"/programmes/{programme_id}").get_data(as_text=True)
    assert "Publish the call" in page and "Close the call" not in page

    assert change(browser, call_id, programme_id, "publish").status_code == 302
    assert state_of(app, call_id) == CallState.PUBLISHED
    assert ">Alliance call</a>" in browser.get("/calls").get_data(as_text=True)
    with app.app_context():
        event = db.session.scalar(
            sa.select(AuditEvent).where(AuditEvent.action == "call.published")
        )
        assert event.before == {"state": "draft"} and event.after == {"state": "published"}


def test_closing_and_reopening_follow_the_workflow(app, browser):
    call_id, programme_id = setup(app)
    browser.login("o@example.org", PASSWORD)
    change(browser, call_id, programme_id, "publish")
    change(browser, call_id, programme_id, "close")
    assert state_of(app, call_id) == CallState.CLOSED
    assert ">Alliance call</a>" not in browser.get("/calls").get_data(as_text=True)
    # An action the table does not offer from this state changes nothing and says why.
    response = change(browser, call_id, programme_id, "publish")
    assert state_of(app, call_id) == CallState.CLOSED
    page = browser.get(response.headers["Location"]).get_data(as_text=True)
    assert "cannot be changed that way" in page
    change(browser, call_id, programme_id, "reopen")
    assert state_of(app, call_id) == CallState.PUBLISHED


def test_a_call_without_stages_cannot_be_published(app, browser):
    call_id, programme_id = setup(app, with_stage=False)
    browser.login("o@example.org", PASSWORD)
    response = change(browser, call_id, programme_id, "publish")
    assert "Add at least one stage" in browser.get(response.headers["Location"]).get_data(
        as_text=True
    )
    assert state_of(app, call_id) == CallState.DRAFT


def test_only_officers_of_the_programme_change_a_call(app, browser):
    call_id, programme_id = setup(app)
    with app.app_context():
        make_user(roles=(Role.OFFICER,), email="other@example.org")
        make_user(roles=(Role.APPLICANT,), email="a@example.org")
        db.session.commit()
    browser.login("other@example.org", PASSWORD)
    token_page = "/proposals"
    assert (
        browser.submit(
            f"/calls/{call_id}/state", {"action": "publish"}, page=token_page
        ).status_code
        == 404
    )
    browser.logout()
    browser.login("a@example.org", PASSWORD)
    assert (
        browser.submit(f"/calls/{call_id}/state", {"action": "publish"}, page="/").status_code
        == 403
    )
    assert state_of(app, call_id) == CallState.DRAFT


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("en", ["at least 42.5% of the", "for Research institute: at most 85.5%"]),
        ("de", ["mindestens 42,5\u00a0% des", "für Forschungseinrichtung: höchstens 85,5\u00a0%"]),
    ],
)
def test_the_call_page_writes_shares_and_kinds_in_the_visitors_language(make_app, locale, expected):
    app = make_app(default_locale=locale)
    call_id, _programme_id = setup(app)
    with app.app_context():
        call = db.session.get(Call, call_id)
        call.state = CallState.PUBLISHED
        call.min_private_share = Decimal("0.425")
        call.funding_rates = {"research_institute": "0.855"}
        db.session.commit()

    page = html.unescape(app.test_client().get(f"/calls/{call_id}").get_data(as_text=True))

    for shown in expected:
        assert shown in page
    assert "research_institute" not in page and "research institute" not in page
