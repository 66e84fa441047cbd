"""What the payment tests share: a programme with two officers and a threshold, a running grant
of three project years whose coordinator requests payments, people without a relation to it,
and helpers to request, decide and read."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import pytest
import sqlalchemy as sa

from competition.accounts.models import Role, User
from competition.db import utcnow
from competition.extensions import db
from competition.grants.models import Disbursement, Grant, GrantState
from competition.grants.payments import operations as ops
from competition.notifications.models import Notification, NotificationState
from competition.organisations.models import FederalState
from tests.conftest import Browser
from tests.factories import (
    PASSWORD,
    make_call,
    make_grant,
    make_organisation,
    make_programme,
    make_proposal,
    make_user,
)

THRESHOLD = Decimal("50000.00")
PER_YEAR = Decimal("100000.00")
START = dt.date(2027, 1, 1)


@pytest.fixture
def app(make_app, tmp_path):  # type: ignore[no-untyped-def]
    """The app, with files (the exports) stored under the test's own directory."""
    return make_app(upload_folder=str(tmp_path / "uploads"))


@dataclass(frozen=True)
class World:
    programme_id: int
    call_id: int
    grant_id: int
    coordinator_member: int
    partner_member: int
    coordinator: str
    officer: str
    second_officer: str
    outsider_officer: str
    other_applicant: str
    juror: str


def build_world(*, state: GrantState = GrantState.RUNNING, **programme: object) -> World:
    """A programme (threshold 50,000 euro, payments wait for reports) with a round whose
    envelope is 10 million euro and one grant starting 1 January 2027: three project years,
    100,000 euro a year for each of its two partners; a partner named so that a spreadsheet
    would run it as a formula (needs a context)."""
    officer = make_user(roles=(Role.OFFICER,), name="Olga Officer")
    second = make_user(roles=(Role.OFFICER,), name="Sam Second")
    outsider = make_user(roles=(Role.OFFICER,))
    make_call(make_programme(officers=(outsider,)))
    values: dict[str, object] = {"payment_threshold": THRESHOLD, "payments_wait_for_reports": True}
    values.update(programme)
    run = make_programme(officers=(officer, second), slug="clusters4future", **values)
    call = make_call(run, budget_envelope=Decimal("10000000.00"), reference_prefix="C4F")
    coordinator = make_user(roles=(Role.APPLICANT,), name="Clara Coordinator")
    proposal = make_proposal(
        call,
        coordinator=coordinator,
        organisations=(
            make_organisation(name="Universität Leipzig", federal_state=FederalState.SN),
            make_organisation(name="=Neue Netze GmbH", federal_state=FederalState.BE),
        ),
    )
    grant = make_grant(proposal, state=state, years=3, per_member_year=PER_YEAR, starts_on=START)
    other = make_user(roles=(Role.APPLICANT,))
    make_proposal(call, coordinator=other)
    juror = make_user(roles=(Role.JUROR,))
    db.session.commit()
    members = sorted(proposal.members, key=lambda m: m.role.value != "coordinator")
    return World(
        programme_id=run.id,
        call_id=call.id,
        grant_id=grant.id,
        coordinator_member=members[0].id,
        partner_member=members[1].id,
        coordinator=coordinator.email,
        officer=officer.email,
        second_officer=second.email,
        outsider_officer=outsider.email,
        other_applicant=other.email,
        juror=juror.email,
    )


def user(email: str) -> User:
    found = db.session.scalar(sa.select(User).where(User.email == email))
    assert found is not None
    return found


def grant_of(world: World) -> Grant:
    found = db.session.get(Grant, world.grant_id)
    assert found is not None
    return found


def as_person(app, email: str) -> Browser:  # type: ignore[no-untyped-def]
    browser = Browser(app.test_client())
    assert browser.login(email, PASSWORD).status_code == 302
    return browser


def request(
    world: World,
    amount: str,
    *,
    member: int | None = None,
    year: int = 1,
    period: tuple[dt.date, dt.date] = (dt.date(2027, 1, 1), dt.date(2027, 3, 31)),
) -> Disbursement:
    """A request by the coordinator through the operation (needs a context); committed."""
    made = ops.request_disbursement(
        grant_of(world),
        actor=user(world.coordinator),
        member_id=member or world.coordinator_member,
        year=year,
        period_from=period[0],
        period_to=period[1],
        amount=Decimal(amount),
        now=utcnow(),
    )
    return made


def approved(world: World, amount: str, **kwargs: object) -> Disbursement:
    """A request approved by the officer (and confirmed by the second above the threshold)."""
    made = request(world, amount, **kwargs)  # type: ignore[arg-type]
    if not ops.approve_disbursement(made, actor=user(world.officer), now=utcnow()):
        ops.confirm_disbursement(made, actor=user(world.second_officer), now=utcnow())
    return made


def reload(disbursement_id: int) -> Disbursement:
    db.session.expire_all()
    found = db.session.get(Disbursement, disbursement_id)
    assert found is not None
    return found


def delivered(template: str) -> list[Notification]:
    """Every mail of ``template``, each delivered (to the development mailbox) with its text."""
    db.session.expire_all()
    rows = list(
        db.session.scalars(
            sa.select(Notification)
            .where(Notification.template == template)
            .order_by(Notification.id)
        )
    )
    for row in rows:
        assert row.state == NotificationState.SENT, (row.template, row.last_error)
        assert row.body_text and row.body_html and row.subject
    return rows


def form_data(member: int, year: int, start: str, end: str, amount: str) -> dict[str, object]:
    return {
        "member_id": str(member),
        "year": str(year),
        "period_from": start,
        "period_to": end,
        "amount": amount,
    }
