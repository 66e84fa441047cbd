"""The money the portal says a programme has committed follows the grants as they change: it
is kept per process for speed, never after a grant was accepted or ended; so are the funded
list's filter choices and the map's counts, and the open data's ETag follows any audited
change."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from competition.accounts.models import Role, User
from competition.db import utcnow
from competition.extensions import db
from competition.grants import operations as grants
from competition.grants.models import Grant, GrantState
from competition.proposals.models import Proposal
from competition.proposals.withholding import withhold_name
from tests.factories import (
    make_call,
    make_grant,
    make_programme,
    make_proposal,
    make_topic,
    make_user,
)

pytestmark = pytest.mark.postgres


def committed(app, programme_id: int) -> str:  # type: ignore[no-untyped-def]
    body = app.test_client().get(f"/api/v1/public/programmes/{programme_id}").get_json()
    return str(body["committed"])


def test_committed_money_follows_an_acceptance_and_an_early_end(app):
    with app.app_context():
        officer = make_user(roles=(Role.OFFICER,))
        coordinator = make_user()
        programme = make_programme(officers=(officer,))
        call = make_call(programme)
        make_grant(make_proposal(call), years=1)  # running: two partners, 100.000,00 €
        offered = make_grant(
            make_proposal(call, coordinator=coordinator),
            state=GrantState.OFFERED,
            years=6,
            starts_on=utcnow().date() - dt.timedelta(days=30),
        )
        db.session.commit()
        programme_id, offered_id = programme.id, offered.id
        officer_id, coordinator_id = officer.id, coordinator.id

    assert committed(app, programme_id) == "200000.00"

    with app.app_context():
        grant = db.session.get(Grant, offered_id)
        grants.accept_grant(grant, actor=db.session.get(User, coordinator_id), now=utcnow())
    # Six years of two partners: the offer, once accepted, counts in full.
    assert committed(app, programme_id) == str(Decimal("200000.00") + 6 * 2 * Decimal("100000"))

    with app.app_context():
        grant = db.session.get(Grant, offered_id)
        officer = db.session.get(User, officer_id)
        grants.start_grant(grant, actor=officer, now=utcnow())
        grants.end_grant_early(grant, actor=officer, reason="Stopped.", ends_on=None, now=utcnow())
    # Ended in its first phase: only the released phase's three years count.
    assert committed(app, programme_id) == str(Decimal("200000.00") + 3 * 2 * Decimal("100000"))


def test_an_acceptance_recorded_at_an_earlier_time_still_counts_at_once(app):
    """An acceptance entered afterwards (or by the demo's simulated clock) leaves an older
    ``updated_at`` than the newest grant's: the kept sum must follow it all the same."""
    with app.app_context():
        coordinator = make_user()
        programme = make_programme()
        call = make_call(programme)
        offered = make_grant(
            make_proposal(call, coordinator=coordinator),
            state=GrantState.OFFERED,
            years=1,
            starts_on=utcnow().date() - dt.timedelta(days=30),
        )
        db.session.commit()
        # Made last, this running grant (two partners, 100.000,00 €) keeps the newest change.
        make_grant(make_proposal(call), years=1)
        db.session.commit()
        programme_id, offered_id, coordinator_id = programme.id, offered.id, coordinator.id

    assert committed(app, programme_id) == "200000.00"

    with app.app_context():
        grant = db.session.get(Grant, offered_id)
        earlier = utcnow() - dt.timedelta(days=20)
        grants.accept_grant(grant, actor=db.session.get(User, coordinator_id), now=earlier)
    assert committed(app, programme_id) == "400000.00"


def test_filter_choices_and_the_map_follow_an_acceptance(app):
    with app.app_context():
        coordinator = make_user()
        programme = make_programme()
        call = make_call(programme)
        topic = make_topic(slug="kept-choice", name_en="Kept choice")
        proposal = make_proposal(call, coordinator=coordinator)
        proposal.topics.append(topic)
        offered = make_grant(proposal, state=GrantState.OFFERED, starts_on=dt.date(2041, 1, 1))
        db.session.commit()
        offered_id, coordinator_id = offered.id, coordinator.id
    client = app.test_client()
    before = client.get("/portal/funded").get_data(as_text=True)
    map_before = client.get("/portal/map.svg").get_data(as_text=True)

    with app.app_context():
        grant = db.session.get(Grant, offered_id)
        grants.accept_grant(grant, actor=db.session.get(User, coordinator_id), now=utcnow())
    after = client.get("/portal/funded").get_data(as_text=True)

    assert 'value="kept-choice"' not in before and 'value="2041"' not in before
    assert 'value="kept-choice"' in after and 'value="2041"' in after
    assert client.get("/portal/map.svg").get_data(as_text=True) != map_before


def test_a_withheld_name_changes_the_open_data_and_its_etag(app):
    with app.app_context():
        coordinator = make_user()
        proposal = make_proposal(make_call(make_programme()), coordinator=coordinator)
        make_grant(proposal)
        db.session.commit()
        proposal_id, coordinator_id = proposal.id, coordinator.id
    client = app.test_client()
    before = client.get("/portal/funded.json")
    name = before.get_json()["items"][0]["partners"][0]["name"]

    with app.app_context():
        member = db.session.get(Proposal, proposal_id).members[1]
        withhold_name(
            member, actor=db.session.get(User, coordinator_id), reason="Asked.", now=utcnow()
        )
    after = client.get("/portal/funded.json", headers={"If-None-Match": before.headers["ETag"]})

    assert name is not None
    assert after.status_code == 200 and after.headers["ETag"] != before.headers["ETag"]
    assert after.get_json()["items"][0]["partners"][0]["name"] is None
