"""Grants on PostgreSQL: publishing a "fund" offers a project grant with the submitted budget's
amounts; advancing from a stage that funds a concept phase offers a concept grant; a grant beyond
the round's envelope keeps its decision unpublished with the reason, while its own decision's
request is never counted twice; the coordinator accepts or declines, the officer adjusts before
the start, starts, ends early and closes, every step through the gateway and illegal ones
refused; only the consortium and the programme's officers see a grant; its page reads the same
queries however large; the settings are made on the set-up pages."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import pytest
import sqlalchemy as sa
from flask import before_render_template, template_rendered

from competition.accounts.models import Role, User
from competition.audit.models import AuditEvent, StateTransition
from competition.core import grants as rules
from competition.core import reports as report_rules
from competition.db import utcnow
from competition.errors import DomainError
from competition.extensions import db
from competition.grants import money
from competition.grants import operations as grant_ops
from competition.grants.models import Grant, GrantAmount, GrantKind, GrantState, Report
from competition.notifications.models import Notification, NotificationState
from competition.programmes.models import Call, Stage, StageKind
from competition.proposals.models import (
    BudgetLine,
    ConsortiumMember,
    ContributorRole,
    MemberRole,
    Proposal,
    ProposalContributor,
    ProposalState,
    StageSubmission,
    SubmissionState,
)
from competition.selection.models import Decision, DecisionState, Outcome
from competition.selection.publication import operations as publication
from competition.selection.publication.queries import publication_status
from tests.conftest import Browser
from tests.factories import (
    make_call,
    make_organisation,
    make_programme,
    make_proposal,
    make_stage,
    make_user,
)
from tests.helpers import Person, as_person, freeze_version, person, queries_for_page, text
from tests.integration.call_setup_world import field_error
from tests.integration.programme_pages import form_fields

pytestmark = pytest.mark.postgres

K = Decimal(1000)
CATEGORIES = [
    {"key": "personnel", "name_en": "Personnel", "name_de": "Personal"},
    {"key": "travel", "name_en": "Travel", "name_de": "Reisen"},
]
# The coordinator asks for 100,000 personnel and 10,000 travel a year, the partner 80,000
# personnel: 190,000 a year, 1,140,000 over the call's six years.
TOTAL = Decimal("1140000.00")


@dataclass(frozen=True)
class World:
    programme_id: int
    call_id: int
    outline_id: int
    full_id: int
    proposal_id: int
    coordinator_member_id: int
    partner_member_id: int
    officer: Person
    second: Person
    outsider: Person
    juror: Person
    coordinator: Person
    contributor: Person
    stranger: Person

    def grant_url(self, grant_id: int) -> str:
        return f"/grants/{grant_id}"


def _decide(stage: Stage, proposal: Proposal, outcome: Outcome, by: User, second: User) -> int:
    now = utcnow()
    decision = Decision(
        stage_id=stage.id,
        proposal_id=proposal.id,
        outcome=outcome,
        state=DecisionState.CONFIRMED,
        rationale="Decided on the panel's recommendation.",
        proposed_by_id=by.id,
        proposed_at=now,
        confirmed_by_id=second.id,
        confirmed_at=now,
    )
    db.session.add(decision)
    db.session.flush()
    return decision.id


def _submit(proposal: Proposal, stage: Stage, lines: list[tuple[int, int, str, Decimal]], by: User):  # type: ignore[no-untyped-def]
    submission = StageSubmission(
        proposal_id=proposal.id, stage_id=stage.id, state=SubmissionState.DRAFT
    )
    db.session.add(submission)
    db.session.flush()
    for member_id, year, category, amount in lines:
        submission.budget_lines.append(
            BudgetLine(
                member_id=member_id,
                year=year,
                category=category,
                public_funding=amount,
                own_contribution=amount / 4,
            )
        )
    db.session.flush()
    freeze_version(proposal, submission, submitted_at=utcnow(), by=by)
    return submission


def build_world() -> World:
    """A programme of 100 M with a call of six budget years in phases of three: an outline
    stage whose advance funds a six-month concept phase of 250,000, and a full-proposal stage
    whose "fund" decision for the world's proposal is confirmed, its budget submitted in two
    cost categories (a version frozen)."""
    now = utcnow()
    officer, second = make_user(roles=(Role.OFFICER,)), make_user(roles=(Role.OFFICER,))
    outsider = make_user(roles=(Role.OFFICER,))
    make_call(make_programme(officers=(outsider,)))
    juror = make_user(roles=(Role.JUROR,))
    coordinator, contributor = make_user(), make_user()
    stranger = make_user()
    programme = make_programme(officers=(officer, second), total_budget=100_000 * K)
    call = make_call(programme, budget_years=6, phase_years=3, cost_categories=CATEGORIES)
    outline = make_stage(
        call,
        name="Outline",
        opens_at=now - dt.timedelta(days=300),
        closes_at=now - dt.timedelta(days=250),
        concept_grant_amount=250 * K,
        concept_grant_months=6,
    )
    full = make_stage(
        call,
        kind=StageKind.FULL_PROPOSAL,
        name="Full proposal",
        opens_at=now - dt.timedelta(days=200),
        closes_at=now - dt.timedelta(days=100),
    )
    proposal = make_proposal(
        call,
        coordinator=coordinator,
        organisations=(make_organisation(name="TU Dresden"), make_organisation(name="Netz AG")),
        state=ProposalState.SUBMITTED,
    )
    proposal.contributors.append(
        ProposalContributor(user_id=contributor.id, role=ContributorRole.CONTRIBUTOR)
    )
    lead, partner = proposal.members
    lines = []
    for year in range(1, 7):
        lines += [
            (lead.id, year, "personnel", 100 * K),
            (lead.id, year, "travel", 10 * K),
            (partner.id, year, "personnel", 80 * K),
        ]
    _submit(proposal, full, lines, coordinator)
    _decide(full, proposal, Outcome.FUND, officer, second)
    db.session.commit()
    return World(
        programme_id=programme.id,
        call_id=call.id,
        outline_id=outline.id,
        full_id=full.id,
        proposal_id=proposal.id,
        coordinator_member_id=lead.id,
        partner_member_id=partner.id,
        officer=person(officer),
        second=person(second),
        outsider=person(outsider),
        juror=person(juror),
        coordinator=person(coordinator),
        contributor=person(contributor),
        stranger=person(stranger),
    )


@pytest.fixture
def world(app) -> World:  # type: ignore[no-untyped-def]
    with app.app_context():
        return build_world()


def officer_of(world: World) -> User:
    return db.session.get(User, world.officer.id)  # type: ignore[return-value]


def publish_fund(world: World) -> Grant:
    """Publish the world's "fund" decision as the officer (inside an app context)."""
    decision = db.session.scalar(sa.select(Decision).where(Decision.stage_id == world.full_id))
    assert publication.publish_decision(decision.id, actor=officer_of(world), now=utcnow())
    return only_grant(world.proposal_id, GrantKind.PROJECT)


def only_grant(proposal_id: int, kind: GrantKind) -> Grant:
    db.session.expire_all()
    found = db.session.scalars(
        sa.select(Grant).where(Grant.proposal_id == proposal_id, Grant.kind == kind)
    ).all()
    assert len(found) == 1
    return found[0]


def offered_grant(app, world: World) -> int:  # type: ignore[no-untyped-def]
    with app.app_context():
        return publish_fund(world).id


def grant_in(app, grant_id: int, state: GrantState) -> int:  # type: ignore[no-untyped-def]
    """Take the grant to ``state`` through the operations (offered → accepted → running)."""
    with app.app_context():
        grant = db.session.get(Grant, grant_id)
        proposal = db.session.get(Proposal, grant.proposal_id)
        coordinator = db.session.scalar(
            sa.select(User)
            .join(ProposalContributor, ProposalContributor.user_id == User.id)
            .where(
                ProposalContributor.proposal_id == proposal.id,
                ProposalContributor.role == ContributorRole.COORDINATOR,
            )
        )
        if state in (GrantState.ACCEPTED, GrantState.RUNNING):
            grant_ops.accept_grant(grant, actor=coordinator, now=utcnow())
        if state == GrantState.RUNNING:
            officer = next(
                u
                for u in db.session.scalars(sa.select(User))
                if grant_ops.can_manage_grant(u, grant)
            )
            grant_ops.start_grant(grant, actor=officer, now=utcnow())
    return grant_id


def reports_of(grant_id: int) -> list[Report]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(Report).where(Report.grant_id == grant_id)))


def owed(grant_id: int) -> set[tuple[str, int]]:
    return {(r.kind.value, r.year) for r in reports_of(grant_id)}


def post(browser: Browser, url: str, data: dict[str, object] | None = None, *, page: str):  # type: ignore[no-untyped-def]
    return browser.submit(url, data or {}, page=page)


def steps(grant_id: int) -> list[tuple[str, str, str]]:
    db.session.expire_all()
    return [
        (t.from_state, t.action, t.to_state)
        for t in db.session.scalars(
            sa.select(StateTransition)
            .where(StateTransition.object_type == "grant", StateTransition.object_id == grant_id)
            .order_by(StateTransition.id)
        )
    ]


def events(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action)))


def mails(template: str) -> list[Notification]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            sa.select(Notification)
            .where(Notification.template == template)
            .order_by(Notification.id)
        )
    )


# --- offering on publication -------------------------------------------------------------------


def test_publishing_a_fund_offers_a_project_grant_with_the_submitted_budgets_amounts(ctx, world):
    # A draft changed after submission must not count: the frozen version does.
    submission = db.session.scalar(
        sa.select(StageSubmission).where(StageSubmission.stage_id == world.full_id)
    )
    submission.budget_lines[0].public_funding = Decimal("999999")
    db.session.commit()
    published_at = utcnow()

    grant = publish_fund(world)

    assert grant.state == GrantState.OFFERED
    assert (grant.call_id, grant.decision_id is not None) == (world.call_id, True)
    cells = {(a.member_id, a.year): a.amount for a in grant.amounts}
    lead, partner = world.coordinator_member_id, world.partner_member_id
    assert cells == {
        **{(lead, year): Decimal("110000.00") for year in range(1, 7)},
        **{(partner, year): Decimal("80000.00") for year in range(1, 7)},
    }
    assert sum(cells.values()) == TOTAL
    today = grant_ops.today_in_berlin(published_at)
    assert grant.starts_on == rules.first_of_next_month(today)
    assert grant.ends_on == rules.add_years(grant.starts_on, 6)
    assert [(p.number, p.first_year, p.last_year, p.released_at) for p in grant.phases] == [
        (1, 1, 3, None),
        (2, 4, 6, None),
    ]
    assert db.session.get(Proposal, world.proposal_id).state == ProposalState.FUNDED
    [offered] = events("grant.offered")
    assert offered.after["total"] == str(TOTAL)
    [mail] = mails("grants/offered")
    assert mail.to_address == world.coordinator.email
    assert mail.dedup_key == f"grants.offered:{grant.id}"
    assert f"/grants/{grant.id}" in mail.body_text
    assert "1\u202f140\u202f000 EUR" in mail.body_text

    # A second run (the hook again) finds the grant and offers nothing new.
    decision = db.session.get(Decision, grant.decision_id)
    again = grant_ops.offer_project_grant(
        decision,
        proposal=db.session.get(Proposal, world.proposal_id),
        stage=db.session.get(Stage, world.full_id),
        actor=officer_of(world),
        now=utcnow(),
    )
    assert again.id == grant.id
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Grant)) == 1
    assert len(mails("grants/offered")) == 1


def test_advancing_from_a_stage_that_funds_a_concept_phase_offers_a_concept_grant(ctx, world):
    officer = officer_of(world)
    second = db.session.get(User, world.second.id)
    outline = db.session.get(Stage, world.outline_id)
    finalist = make_proposal(outline.call, coordinator=db.session.get(User, world.stranger.id))
    _submit(finalist, outline, [(finalist.members[1].id, 1, "personnel", 50 * K)], officer)
    decision_id = _decide(outline, finalist, Outcome.ADVANCE, officer, second)
    db.session.commit()

    assert publication.publish_decision(decision_id, actor=officer, now=utcnow())

    grant = only_grant(finalist.id, GrantKind.CONCEPT)
    lead = next(m for m in finalist.members if m.role.value == "coordinator")
    assert [(a.member_id, a.year, a.amount) for a in grant.amounts] == [
        (lead.id, 1, Decimal("250000.00"))
    ]
    assert grant.ends_on == rules.add_months(grant.starts_on, 6)
    assert [(p.first_year, p.last_year) for p in grant.phases] == [(1, 1)]
    assert db.session.get(Proposal, finalist.id).state == ProposalState.ADVANCED
    [mail] = mails("grants/offered")
    assert "concept phase" in mail.body_text
    # The concept grant counts as committed in the programme, the line's count included.
    full = db.session.get(Stage, world.full_id)
    assert money.committed(Call.id == world.call_id) == TOTAL + 250 * K
    assert money.correction(full, Call.id == world.call_id) == 250 * K


def test_a_grant_beyond_the_envelope_leaves_its_decision_unpublished_with_the_reason(app, world):
    with app.app_context():
        call = db.session.get(Call, world.call_id)
        # Another proposal's funding, published first: its grant of 100,000 is in the round.
        other = make_proposal(call)
        full = db.session.get(Stage, world.full_id)
        officer, second = officer_of(world), db.session.get(User, world.second.id)
        _submit(other, full, [(other.members[0].id, 1, "personnel", 100 * K)], officer)
        first = _decide(full, other, Outcome.FUND, officer, second)
        db.session.commit()
        assert publication.publish_decision(first, actor=officer, now=utcnow())
        call = db.session.get(Call, world.call_id)
        call.budget_envelope = Decimal("1200000")
        db.session.commit()
        # The world's own request (1,140,000) is counted already; its grant replaces it, so
        # the envelope has 1,100,000 left for it, not 60,000.
        [_programme, envelope] = money.budgets_for(call)
        grant = rules.GrantMoney(world.proposal_id, rules.PROJECT, "offered", {1: TOTAL})
        assert rules.room(envelope, grant).left == Decimal("1100000.00")

        assert publication.start_publication(full, actor=officer, now=utcnow()) == 1

        db.session.expire_all()
        decision = db.session.scalar(
            sa.select(Decision).where(Decision.proposal_id == world.proposal_id)
        )
        assert decision.published_at is None
        assert db.session.get(Proposal, world.proposal_id).state == ProposalState.SUBMITTED
        assert db.session.scalars(sa.select(Grant.proposal_id)).all() == [other.id]
        [failure] = publication_status(full).failures
        assert failure.reference == db.session.get(Proposal, world.proposal_id).reference
        assert "exceed what is left of the round's envelope" in failure.reason
        assert "1,100,000.00 EUR of 1,200,000.00 EUR" in failure.reason
        assert [m.to_address for m in mails("grants/offered")] != [world.coordinator.email]

        # With the envelope raised, publishing again offers it.
        db.session.get(Call, world.call_id).budget_envelope = Decimal("1240000")
        db.session.commit()
        assert publication.publish_decision(decision.id, actor=officer, now=utcnow())
        assert only_grant(world.proposal_id, GrantKind.PROJECT).state == GrantState.OFFERED


# --- the consortium's answer and the officer's steps ---------------------------------------------


def test_coordinator_accepts_officer_starts_ends_early_and_closes_each_through_the_gateway(
    app, world
):
    grant_id = offered_grant(app, world)
    page = world.grant_url(grant_id)
    coordinator = as_person(app, world.coordinator)
    shown = text(coordinator.get(page))
    assert "Accept the grant" in shown and "Start the grant" not in shown

    assert post(coordinator, f"{page}/accept", page=page).status_code == 302
    with app.app_context():
        # The grant's period began a year ago (set before it starts, as an officer may).
        grant = db.session.get(Grant, grant_id)
        begun = grant.starts_on - dt.timedelta(days=365)
        grant_ops.adjust_grant(
            grant,
            actor=officer_of(world),
            amounts={(a.member_id, a.year): str(a.amount) for a in grant.amounts},
            starts_on=begun,
            ends_on=rules.add_years(begun, 6),
            conditions="",
            reason="The consortium began its work last year.",
            now=utcnow(),
            locale="en",
        )
        assert [p.starts_on for p in grant.phases] == [begun, rules.add_years(begun, 3)]
    officer = as_person(app, world.officer)
    # Starting an accepted grant releases its first phase and plans its reports.
    assert post(officer, f"{page}/start", page=page).status_code == 302
    with app.app_context():
        assert owed(grant_id) == {
            *(("annual", year) for year in range(1, 6)),
            ("final", 0),
            ("statement_of_use", 0),
        }
    # Ending early asks first, and wants a reason.
    form = text(officer.get(f"{page}/end-early"))
    assert "End the grant early" in form and "cannot be undone" in form
    refused = post(officer, f"{page}/end-early", {"reason": " "}, page=f"{page}/end-early")
    assert refused.status_code == 422
    assert field_error(refused, "reason") == "Say why the grant ends early."
    ended = post(officer, f"{page}/end-early", {"reason": "The consortium broke up."}, page=page)
    assert ended.status_code == 302
    # Funding ended today, so the grant may be closed at once.
    assert post(officer, f"{page}/close", page=page).status_code == 302

    with app.app_context():
        assert steps(grant_id) == [
            ("offered", "accept", "accepted"),
            ("accepted", "start", "running"),
            ("running", "end_early", "ended_early"),
            ("ended_early", "close", "closed"),
        ]
        grant = db.session.get(Grant, grant_id)
        assert grant.accepted_by_id == world.coordinator.id
        assert grant.phases[0].released_at is not None
        assert grant.phases[1].released_at is None
        assert grant.ends_on == grant_ops.today_in_berlin(utcnow())
        # Only the released phase counts as committed once it ended.
        assert rules.counted(money.money_of(grant)) == TOTAL / 2
        # Progress reports for years it no longer reaches are dropped; the closing ones are
        # owed from the new end.
        assert owed(grant_id) == {
            *(
                ("annual", year)
                for year in report_rules.annual_years(grant.starts_on, grant.ends_on)
            ),
            ("final", 0),
            ("statement_of_use", 0),
        }
        closing = report_rules.due_at(report_rules.closing_due_on(grant.ends_on))
        assert {r.due_at for r in reports_of(grant_id) if r.year == 0} == {closing}
        for action in ("accepted", "started", "ended_early", "closed"):
            assert len(events(f"grant.{action}")) == 1
        assert (
            events("grant.ended_early")[0].personal["after"]["reason"] == "The consortium broke up."
        )
        assert {m.to_address for m in mails("grants/answered")} == {
            world.officer.email,
            world.second.email,
        }
        changed = mails("grants/changed")
        assert [m.context["event"] for m in changed] == [
            "adjusted",
            "started",
            "ended_early",
            "closed",
        ]
        # Each rendered and delivered (to the development mailbox), the end's day in words.
        assert all(m.state == NotificationState.SENT for m in changed + mails("grants/answered"))
        day = grant_ops.today_in_berlin(utcnow())
        assert f"its funding ends on {day:%b} {day.day}, {day.year}" in " ".join(
            changed[2].body_text.split()
        )
    history = text(officer.get(page))
    assert "Ended early" in history and "The consortium broke up." in history


def test_the_coordinator_declines_with_a_reason_after_a_confirmation_and_the_money_is_free(
    app, world
):
    grant_id = offered_grant(app, world)
    page = world.grant_url(grant_id)
    coordinator = as_person(app, world.coordinator)
    confirm = text(coordinator.get(f"{page}/decline"))
    assert "This cannot be undone" in confirm
    assert post(coordinator, f"{page}/decline", {"reason": ""}, page=page).status_code == 422

    declined = post(
        coordinator, f"{page}/decline", {"reason": "We found other funding."}, page=page
    )

    assert declined.status_code == 302
    with app.app_context():
        assert steps(grant_id) == [("offered", "decline", "declined")]
        assert [m.context["reason"] for m in mails("grants/answered")] == [
            "We found other funding."
        ] * 2
        # Neither the grant nor its decision's request counts any longer.
        assert money.committed(Call.id == world.call_id) == 0
    # Declined is final: accepting now is refused and changes nothing.
    refused = post(coordinator, f"{page}/accept", page=page)
    assert refused.status_code == 422
    assert "This grant is declined; it cannot be accepted now." in text(refused)


def test_illegal_steps_are_refused_and_a_repeated_one_changes_nothing(app, world):
    grant_id = offered_grant(app, world)
    page = world.grant_url(grant_id)
    officer = as_person(app, world.officer)
    # Not accepted yet: nothing to start, end or close.
    started = post(officer, f"{page}/start", page=page)
    assert started.status_code == 422
    assert "This grant is offered; it cannot be started now." in text(started)
    assert post(officer, f"{page}/close", page=page).status_code == 422
    grant_in(app, grant_id, GrantState.ACCEPTED)
    with app.app_context():
        grant = db.session.get(Grant, grant_id)
        coordinator = db.session.get(User, world.coordinator.id)
        # Accepting again changes nothing; declining what was accepted is refused.
        assert grant_ops.accept_grant(grant, actor=coordinator, now=utcnow()) is False
        with pytest.raises(DomainError, match="accepted; it cannot be declined"):
            grant_ops.decline_grant(grant, actor=coordinator, reason="Too late.", now=utcnow())
        grant_ops.start_grant(grant, actor=officer_of(world), now=utcnow())
    # Running, but its period is not over: closing is refused with the day it may be.
    closing = post(officer, f"{page}/close", page=page)
    assert closing.status_code == 422
    assert "it can be closed from that day on" in text(closing)
    with app.app_context():
        assert steps(grant_id) == [
            ("offered", "accept", "accepted"),
            ("accepted", "start", "running"),
        ]


# --- adjusting before the start ----------------------------------------------------------------


def adjust_form(browser: Browser, grant_id: int, **changes: str) -> dict[str, object]:
    """The adjustment form as the page fills it, with ``changes``."""
    url = f"/grants/{grant_id}/adjust"
    return {**form_fields(text(browser.get(url)), url), **changes}


def test_officer_adjusts_amounts_dates_and_conditions_with_a_reason_before_the_start(app, world):
    grant_id = offered_grant(app, world)
    officer = as_person(app, world.officer)
    url = f"/grants/{grant_id}/adjust"
    lead, partner = world.coordinator_member_id, world.partner_member_id
    data = adjust_form(
        officer,
        grant_id,
        **{
            f"amount-m{lead}-y1": "90,000.50",
            f"amount-m{partner}-y6": "0",
            "conditions": "Report on the gender balance of the team each year.",
            "reason": "The panel cut the first year's travel.",
        },
    )
    unexplained = post(officer, url, {**data, "reason": ""}, page=url)
    assert unexplained.status_code == 422
    assert field_error(unexplained, "reason") == "Say why the grant is adjusted."

    assert post(officer, url, data, page=url).status_code == 302

    with app.app_context():
        grant = db.session.get(Grant, grant_id)
        cells = {(a.member_id, a.year): a.amount for a in grant.amounts}
        assert cells[(lead, 1)] == Decimal("90000.50")
        assert cells[(partner, 6)] == Decimal("0.00")
        assert grant.conditions == "Report on the gender balance of the team each year."
        [adjusted] = events("grant.adjusted")
        assert adjusted.before["amounts"][f"m{lead}"]["1"] == "110000.00"
        assert adjusted.after["amounts"][f"m{lead}"]["1"] == "90000.50"
        assert adjusted.personal["after"]["reason"] == "The panel cut the first year's travel."
        [mail] = mails("grants/changed")
        assert mail.context["event"] == "adjusted"
        assert steps(grant_id) == []  # no state changed

    # Beyond the programme's total: refused, nothing changed.
    with app.app_context():
        db.session.get(Call, world.call_id).programme.total_budget = Decimal("1100000")
        db.session.commit()
    data = adjust_form(officer, grant_id, **{f"amount-m{lead}-y2": "200000", "reason": "More."})
    too_much = post(officer, url, data, page=url)
    assert too_much.status_code == 422
    assert "exceed what is left of the programme's budget" in text(too_much)
    # An unreadable amount is shown at its cell.
    data = adjust_form(officer, grant_id, **{f"amount-m{lead}-y3": "1,2 Mio", "reason": "x"})
    unreadable = post(officer, url, data, page=url)
    assert unreadable.status_code == 422
    assert f'id="amount-m{lead}-y3-error"' in text(unreadable)
    with app.app_context():
        assert len(events("grant.adjusted")) == 1


def test_a_grant_that_started_is_no_longer_adjusted(app, world):
    grant_id = grant_in(app, offered_grant(app, world), GrantState.RUNNING)
    officer = as_person(app, world.officer)
    url = f"/grants/{grant_id}/adjust"
    assert "no longer change" in text(officer.get(url))
    with app.app_context():
        grant = db.session.get(Grant, grant_id)
        with pytest.raises(DomainError, match="no longer change"):
            grant_ops.adjust_grant(
                grant,
                actor=officer_of(world),
                amounts={},
                starts_on=grant.starts_on,
                ends_on=grant.ends_on,
                conditions="New conditions.",
                reason="Too late.",
                now=utcnow(),
            )
        assert events("grant.adjusted") == []


# --- who sees what -------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["outsider", "juror", "stranger"])
def test_no_one_but_the_consortium_and_the_programmes_officers_sees_a_grant(app, world, who):
    grant_id = offered_grant(app, world)
    browser = as_person(app, getattr(world, who))
    assert browser.get(world.grant_url(grant_id)).status_code == 404
    if who == "outsider":
        assert browser.get(f"/programmes/{world.programme_id}/grants").status_code == 404
        assert browser.get(f"/grants/{grant_id}/adjust").status_code == 404
    if who == "stranger":
        assert browser.get(f"/grants/{grant_id}/decline").status_code == 404


def test_a_contributor_reads_the_grant_but_only_the_coordinator_acts(app, world):
    grant_id = offered_grant(app, world)
    page = world.grant_url(grant_id)
    contributor = as_person(app, world.contributor)
    shown = text(contributor.get(page))
    assert "110,000 EUR" in shown.replace("\u202f", ",")
    assert "Accept the grant" not in shown and "By</th>" not in shown

    assert post(contributor, f"{page}/accept", page=page).status_code == 403
    assert contributor.get(f"{page}/decline").status_code == 403
    # The proposal's page links to the grant for the consortium.
    proposal_page = text(contributor.get(f"/proposals/{world.proposal_id}"))
    assert f'href="/grants/{grant_id}"' in proposal_page
    with app.app_context():
        assert steps(grant_id) == []


def test_the_programmes_grants_are_listed_filtered_searched_and_totalled(app, world):
    grant_id = offered_grant(app, world)
    officer = as_person(app, world.officer)
    url = f"/programmes/{world.programme_id}/grants"
    listed = text(officer.get(url))
    assert f'href="/grants/{grant_id}"' in listed
    assert 'id="grants-total">1\u202f140\u202f000 EUR<' in listed
    assert f'href="/grants/{grant_id}"' not in text(officer.get(f"{url}?state=running"))
    assert 'id="grants-total">0 EUR<' in text(officer.get(f"{url}?state=running"))
    with app.app_context():
        reference = db.session.get(Proposal, world.proposal_id).reference
    assert f'href="/grants/{grant_id}"' in text(officer.get(f"{url}?q={reference.lower()}"))
    assert "No grants match" in text(officer.get(f"{url}?q=nothing-like-it"))


# --- the page -----------------------------------------------------------------------------------


def test_the_grant_page_reads_the_same_queries_however_many_partners_and_years(app, world):
    grant_id = grant_in(app, offered_grant(app, world), GrantState.ACCEPTED)
    pages = [
        (as_person(app, world.officer), world.grant_url(grant_id)),
        (as_person(app, world.coordinator), world.grant_url(grant_id)),
    ]
    few = [queries_for_page(app, browser, url) for browser, url in pages]
    with app.app_context():
        grant = db.session.get(Grant, grant_id)
        proposal = db.session.get(Proposal, grant.proposal_id)
        for _ in range(4):
            member = ConsortiumMember(organisation=make_organisation(), role=MemberRole.PARTNER)
            proposal.members.append(member)
            db.session.flush()
            for year in range(1, 7):
                db.session.add(
                    GrantAmount(grant_id=grant.id, member_id=member.id, year=year, amount=K)
                )
        db.session.commit()
    many = [queries_for_page(app, browser, url) for browser, url in pages]
    assert many == few
    for browser, url in pages:
        assert queries_while_rendering(app, browser, url, "grants/show.html") == 0


def queries_while_rendering(app, browser: Browser, url: str, template: str) -> int:  # type: ignore[no-untyped-def]
    """How many SQL statements run between the start and the end of rendering ``template``."""
    rendering, count = False, 0

    def before(sender, template, context, **extra):  # type: ignore[no-untyped-def]
        nonlocal rendering
        rendering = rendering or template.name == wanted

    def after(sender, template, context, **extra):  # type: ignore[no-untyped-def]
        nonlocal rendering
        if template.name == wanted:
            rendering = False

    def counter(*args: object) -> None:
        nonlocal count
        count += rendering

    wanted = template
    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", counter)
    before_render_template.connect(before, app)
    template_rendered.connect(after, app)
    try:
        assert browser.get(url).status_code == 200
    finally:
        sa.event.remove(engine, "before_cursor_execute", counter)
        before_render_template.disconnect(before, app)
        template_rendered.disconnect(after, app)
    return count


def test_the_grant_page_speaks_german(app, world):
    grant_id = offered_grant(app, world)
    with app.app_context():
        db.session.get(User, world.coordinator.id).locale = "de"
        db.session.commit()
    page = text(as_person(app, world.coordinator).get(world.grant_url(grant_id)))
    assert "Vorhaben" in page and "Angeboten" in page
    assert "Förderung annehmen" in page
    assert "Bewilligte Beträge je Partner und Projektjahr" in page
    assert "1.140.000\u00a0€" in page


# --- the settings on the set-up pages -----------------------------------------------------------


def test_officer_sets_concept_funding_on_the_stage_and_phase_length_on_the_call(app, world):
    officer = as_person(app, world.officer)
    with app.app_context():
        db.session.get(User, world.officer.id).locale = "de"
        db.session.commit()
    edit = f"/calls/{world.call_id}/stages/{world.outline_id}/edit"
    fields = form_fields(text(officer.get(edit)), edit)
    assert fields["concept_grant_amount"] == "250000"
    fields.update(concept_grant_amount="300.000,50", concept_grant_months="9")
    assert officer.submit(edit, fields).status_code == 302
    fields.update(concept_grant_amount="", concept_grant_months="30")
    refused = officer.submit(edit, fields)
    assert refused.status_code == 422
    assert (
        field_error(refused, "concept_grant_months") == "Eine Konzeptphase dauert 1 bis 24 Monate."
    )
    assert field_error(refused, "concept_grant_amount")

    call_edit = f"/calls/{world.call_id}/edit"
    fields = form_fields(text(officer.get(call_edit)), call_edit)
    assert fields["phase_years"] == "3"
    assert officer.submit(call_edit, {**fields, "phase_years": "0"}).status_code == 422
    assert officer.submit(call_edit, {**fields, "phase_years": "4"}).status_code == 302
    with app.app_context():
        stage = db.session.get(Stage, world.outline_id)
        assert (stage.concept_grant_amount, stage.concept_grant_months) == (
            Decimal("300000.50"),
            9,
        )
        assert db.session.get(Call, world.call_id).phase_years == 4
    shown = text(officer.get(f"/programmes/{world.programme_id}"))
    assert "4 Jahre je Phase" in shown
