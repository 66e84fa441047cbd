"""The money the portal says a programme has committed follows the grants as they change: it
is kept per process for speed, never after a grant was accepted or ended."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from competition.accounts.models import Role, User
from competition.db import utcnow
from competition.extensions import db
from competition.grants import operations as grants
from competition.grants.models import Grant, GrantState
from tests.factories import make_call, make_grant, make_programme, make_proposal, make_user

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
