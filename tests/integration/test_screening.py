"""Eligibility screening on PostgreSQL: the list of a stage with each proposal's four checks, its
filters, search and pagination; the verdict page; the verdict's effects (state, audit event, one
mail to the coordinator); and who may screen.

Submitted versions are inserted directly (content frozen by competition.proposals.snapshot), so
these tests do not depend on the submission operations."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal

import pytest
import sqlalchemy as sa

from competition.accounts.models import Role, User
from competition.audit.models import AuditEvent
from competition.errors import DomainError, PermissionDenied
from competition.extensions import db
from competition.notifications.models import Notification, NotificationState
from competition.organisations.models import FederalState
from competition.programmes.models import Call, Stage
from competition.proposals.models import (
    BudgetLine,
    DeadlineExtension,
    Proposal,
    ProposalState,
    StageSubmission,
    SubmissionState,
    SubmissionVersion,
)
from competition.screening.models import ScreeningResult, Verdict
from competition.screening.operations import record_verdict, screening_checks
from tests.factories import (
    NOW,
    make_call,
    make_organisation,
    make_proposal,
    make_stage,
    make_topic,
    make_user,
)
from tests.helpers import (
    Person,
    as_person,
    call_run_by,
    freeze_version,
    in_app,
    officer_and_outsider,
    person,
    queries_for_page,
    text,
)

pytestmark = pytest.mark.postgres

DEADLINE = NOW - dt.timedelta(days=1)
ON_TIME = DEADLINE - dt.timedelta(hours=6)
LATE = DEADLINE + dt.timedelta(hours=2)
CAP = Decimal("1000000.00")
SECTIONS = [{"key": "strategy", "title": "Cluster strategy", "max_chars": 2000}]
CHECKS = ("complete", "on_time", "budget", "scope")
REASON = "The consortium is coordinated from outside the call's region."


# --- building a stage with submitted proposals --------------------------------------------------


def screening_call(officer: User) -> tuple[Call, Stage]:
    call = call_run_by(
        officer,
        max_public_funding_per_proposal=CAP,
        region_scope=["DE-SN", "DE-ST", "DE-TH"],
    )
    stage = make_stage(
        call,
        opens_at=DEADLINE - dt.timedelta(days=60),
        closes_at=DEADLINE,
        required_sections=SECTIONS,
    )
    return call, stage


def submitted_proposal(
    call: Call,
    stage: Stage,
    *,
    submitted_at: dt.datetime = ON_TIME,
    public: Decimal = Decimal("600000.00"),
    own: Decimal = Decimal("200000.00"),
    coordinator_state: FederalState = FederalState.SN,
    **overrides: object,
) -> Proposal:
    """A proposal of two organisations, with a topic, its section written, a budget and one
    version submitted at ``submitted_at``."""
    coordinator = make_user(roles=(Role.APPLICANT,))
    organisations = (make_organisation(federal_state=coordinator_state), make_organisation())
    proposal = make_proposal(
        call, coordinator=coordinator, organisations=organisations, **overrides
    )
    proposal.topics.append(make_topic())
    submission = StageSubmission(
        proposal=proposal,
        stage=stage,
        sections={"strategy": "How the cluster grows."},
        updated_at=submitted_at,
    )
    db.session.add(submission)
    db.session.flush()
    for member in proposal.members:
        submission.budget_lines.append(
            BudgetLine(
                member_id=member.id, year=1, public_funding=public / 2, own_contribution=own / 2
            )
        )
    db.session.flush()
    freeze_version(proposal, submission, submitted_at=submitted_at, by=coordinator)
    return proposal


def extend(proposal: Proposal, stage: Stage, *, until: dt.datetime, by: User) -> None:
    db.session.add(
        DeadlineExtension(
            proposal_id=proposal.id,
            stage_id=stage.id,
            closes_at=until,
            reason="The upload server was down.",
            granted_by_id=by.id,
            granted_at=DEADLINE,
        )
    )
    db.session.flush()


@dataclass(frozen=True)
class World:
    call_id: int
    stage_id: int
    officer: Person
    other_officer: Person
    applicant: Person
    juror: Person
    # name → proposal id, and name → its coordinator's e-mail address
    proposals: dict[str, int]
    coordinators: dict[str, str]

    def list_url(self, **args: str) -> str:
        query = "&".join(f"{k}={v}" for k, v in args.items())
        return f"/calls/{self.call_id}/stages/{self.stage_id}/screening" + (
            f"?{query}" if query else ""
        )

    def screen_url(self, name: str) -> str:
        return f"/screening/proposals/{self.proposals[name]}/stages/{self.stage_id}"


def coordinator_email(proposal: Proposal) -> str:
    user = db.session.get(User, proposal.contributors[0].user_id)
    assert user is not None
    return user.email


@pytest.fixture
def world(app) -> World:  # type: ignore[no-untyped-def]
    with app.app_context():
        officer, other_officer = officer_and_outsider()
        juror = make_user(roles=(Role.JUROR,))
        call, stage = screening_call(officer)
        proposals = {
            "fine": submitted_proposal(call, stage, acronym="FINE", title="Hydrogen valleys"),
            "over_cap": submitted_proposal(
                call, stage, acronym="GREEDY", public=Decimal("1200000.00")
            ),
            "late": submitted_proposal(call, stage, acronym="LATE", submitted_at=LATE),
            "extended": submitted_proposal(call, stage, acronym="EXTENDED", submitted_at=LATE),
            "outside": submitted_proposal(
                call, stage, acronym="BAVARIA", coordinator_state=FederalState.BY
            ),
        }
        extend(proposals["extended"], stage, until=LATE + dt.timedelta(hours=1), by=officer)
        applicant = db.session.get(User, proposals["fine"].contributors[0].user_id)
        assert applicant is not None
        db.session.commit()
        return World(
            call_id=call.id,
            stage_id=stage.id,
            officer=person(officer),
            other_officer=person(other_officer),
            applicant=person(applicant),
            juror=person(juror),
            proposals={name: p.id for name, p in proposals.items()},
            coordinators={name: coordinator_email(p) for name, p in proposals.items()},
        )


def row_checks(page: str, proposal_id: int) -> dict[str, str]:
    """The four check cells of a proposal's row: key → "✓ passed" or "✗ failed"."""
    row = re.search(rf'<tr id="proposal-{proposal_id}">(.*?)</tr>', page, re.S)
    assert row, f"proposal {proposal_id} is not in the list"
    cells = re.findall(
        r'<td class="check-(\w+)"><span aria-hidden="true">(.)</span>'
        r'<span class="visually-hidden">[^:<]+: (passed|failed)</span></td>',
        row.group(1),
    )
    return {key: f"{mark} {word}" for key, mark, word in cells}


def listed_ids(page: str) -> list[int]:
    return [int(i) for i in re.findall(r'<tr id="proposal-(\d+)">', page)]


def status_counts(page: str) -> dict[str, int]:
    block = re.search(r'<ul class="filters plain" id="status-counts">(.*?)</ul>', page, re.S)
    assert block
    return {
        label.lower(): int(count)
        for label, count in re.findall(r">(\w+) \((\d+)\)</", block.group(1))
    }


PASS, FAIL = "✓ passed", "✗ failed"


# --- the list -----------------------------------------------------------------------------------


def test_list_shows_each_proposals_four_checks(app, world):
    page = text(as_person(app, world.officer).get(world.list_url()))

    expected = {
        "fine": {},
        "over_cap": {"budget": FAIL},
        "late": {"on_time": FAIL},
        "extended": {},
        "outside": {"scope": FAIL},
    }
    for name, failures in expected.items():
        assert row_checks(page, world.proposals[name]) == {
            key: failures.get(key, PASS) for key in CHECKS
        }, name


def test_list_links_each_proposal_to_its_screening_page(app, world):
    page = text(as_person(app, world.officer).get(world.list_url()))

    for name in world.proposals:
        assert f'href="{world.screen_url(name)}"' in page


def test_status_filters_and_counts(app, world):
    with in_app(app):
        officer = db.session.get(User, world.officer.id)
        for name, verdict, reason in (
            ("fine", Verdict.ELIGIBLE, ""),
            ("outside", Verdict.INELIGIBLE, REASON),
        ):
            record_verdict(
                db.session.get(Proposal, world.proposals[name]),
                db.session.get(Stage, world.stage_id),
                actor=officer,
                verdict=verdict,
                reason=reason,
                now=NOW,
            )
    browser = as_person(app, world.officer)
    ids = world.proposals

    def listed(status: str) -> set[int]:
        return set(listed_ids(text(browser.get(world.list_url(status=status)))))

    assert listed("all") == set(ids.values())
    assert listed("unscreened") == {ids["over_cap"], ids["late"], ids["extended"]}
    assert listed("eligible") == {ids["fine"]}
    assert listed("ineligible") == {ids["outside"]}
    # Flagged: unscreened with a failing check. "outside" fails a check but is screened.
    assert listed("flagged") == {ids["over_cap"], ids["late"]}
    assert listed("nonsense") == set(ids.values())
    assert status_counts(text(browser.get(world.list_url()))) == {
        "all": 5,
        "unscreened": 3,
        "eligible": 1,
        "ineligible": 1,
        "flagged": 2,
    }


def test_search_finds_by_reference_acronym_and_title(app, world):
    browser = as_person(app, world.officer)
    with in_app(app):
        reference = db.session.get(Proposal, world.proposals["late"]).reference

    def found(q: str, **args: str) -> list[int]:
        return listed_ids(text(browser.get(world.list_url(q=q, **args))))

    assert found("greedy") == [world.proposals["over_cap"]]
    assert found("hydrogen VALLEYS") == [world.proposals["fine"]]
    assert found(reference) == [world.proposals["late"]]
    assert found("no such thing") == []
    assert found("%") == []
    # Search and status combine; the counts follow the search.
    assert found("greedy", status="flagged") == [world.proposals["over_cap"]]
    assert found("greedy", status="eligible") == []
    page = text(browser.get(world.list_url(q="greedy")))
    assert status_counts(page)["all"] == 1


def test_list_is_paginated_by_25(app):
    with in_app(app):
        officer = make_user(roles=(Role.OFFICER,))
        call, stage = screening_call(officer)
        for _ in range(27):
            submitted_proposal(call, stage)
        db.session.commit()
        who, call_id, stage_id = person(officer), call.id, stage.id
    browser = as_person(app, who)
    url = f"/calls/{call_id}/stages/{stage_id}/screening"

    first = text(browser.get(url))
    second = text(browser.get(f"{url}?page=2"))

    assert len(listed_ids(first)) == 25
    assert len(listed_ids(second)) == 2
    assert not set(listed_ids(first)) & set(listed_ids(second))
    assert "Page 1 of 2 (27 in all)" in first
    assert f'href="{url}?page=2"' in first
    assert "Page 2 of 2" in second


def test_list_costs_the_same_queries_for_few_and_many_proposals(app, world):
    browser = as_person(app, world.officer)

    few = queries_for_page(app, browser, world.list_url())
    with in_app(app):
        call = db.session.get(Call, world.call_id)
        stage = db.session.get(Stage, world.stage_id)
        officer = db.session.get(User, world.officer.id)
        for index in range(6):
            proposal = submitted_proposal(call, stage, submitted_at=LATE)
            extend(proposal, stage, until=LATE + dt.timedelta(hours=index), by=officer)
        db.session.commit()
    many = queries_for_page(app, browser, world.list_url())

    assert many == few


def test_a_stage_of_another_call_is_not_found(app, world):
    with in_app(app):
        other_call = make_call(db.session.get(Call, world.call_id).programme, name="Second round")
        db.session.commit()
        other_call_id = other_call.id
    browser = as_person(app, world.officer)

    response = browser.get(f"/calls/{other_call_id}/stages/{world.stage_id}/screening")

    assert response.status_code == 404


# --- the proposal page and the verdict ----------------------------------------------------------


def test_screening_page_shows_the_checklist_and_the_version(app, world):
    with in_app(app):
        version = db.session.scalar(
            sa.select(SubmissionVersion)
            .join(StageSubmission)
            .where(StageSubmission.proposal_id == world.proposals["outside"])
        )
        receipt = version.receipt_code
    page = text(as_person(app, world.officer).get(world.screen_url("outside")))

    assert receipt in page
    assert "20.11.2026 07:00 CET" in page  # ON_TIME (06:00 UTC) in Berlin
    assert f'href="/proposals/{world.proposals["outside"]}"' in page
    assert re.search(r'id="check-scope">\s*<span aria-hidden="true">✗</span>', page)
    assert "is based in Bavaria; this call is open only to consortia coordinated from" in page
    assert re.search(r'<input [^>]*name="verdict"[^>]*type="radio" value="ineligible">', page)


def test_late_submission_names_the_deadline_it_missed(app, world):
    page = text(as_person(app, world.officer).get(world.screen_url("late")))

    assert "after the deadline of 20.11.2026 13:00 CET" in page


def test_ineligible_without_reason_is_refused_at_the_field(app, world):
    browser = as_person(app, world.officer)

    response = browser.submit(world.screen_url("outside"), {"verdict": "ineligible", "reason": ""})

    assert response.status_code == 422
    page = text(response)
    assert re.search(r'id="reason-error">Give the reason', page)
    with in_app(app):
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ScreeningResult)) == 0
        assert db.session.get(Proposal, world.proposals["outside"]).state == (
            ProposalState.SUBMITTED
        )


def ineligibility_mails(app, address: str) -> list[Notification]:  # type: ignore[no-untyped-def]
    with in_app(app):
        rows = db.session.scalars(
            sa.select(Notification).where(
                Notification.to_address == address,
                Notification.template == "screening/ineligible",
            )
        ).all()
        db.session.expunge_all()
        return list(rows)


def verdict_events(app) -> list[AuditEvent]:  # type: ignore[no-untyped-def]
    with in_app(app):
        rows = db.session.scalars(
            sa.select(AuditEvent)
            .where(AuditEvent.action == "screening.verdict")
            .order_by(AuditEvent.seq)
        ).all()
        db.session.expunge_all()
        return list(rows)


def test_ineligible_with_reason_marks_the_proposal_and_mails_the_coordinator(app, world):
    browser = as_person(app, world.officer)

    response = browser.submit(
        world.screen_url("outside"), {"verdict": "ineligible", "reason": REASON}
    )

    assert response.status_code == 302
    assert response.location.endswith(world.list_url())
    assert "is recorded as ineligible" in text(browser.get(response.location))
    with in_app(app):
        proposal = db.session.get(Proposal, world.proposals["outside"])
        assert proposal.state == ProposalState.INELIGIBLE
        result = db.session.scalar(sa.select(ScreeningResult))
        assert (result.verdict, result.reason) == (Verdict.INELIGIBLE, REASON)
        assert result.decided_by_id == world.officer.id
        assert result.checks["scope"] is False and result.checks["budget"] is True
        assert result.version_id is not None
    (event,) = verdict_events(app)
    assert event.actor_id == world.officer.id
    assert event.before["state"] == "submitted"
    assert event.after["state"] == "ineligible"
    assert event.after["verdict"] == "ineligible"
    (mail,) = ineligibility_mails(app, world.coordinators["outside"])
    assert mail.state == NotificationState.SENT
    assert REASON in (mail.body_text or "")
    assert "BAVARIA" in (mail.body_text or "")


def test_the_same_verdict_twice_sends_no_second_mail(app, world):
    browser = as_person(app, world.officer)
    data = {"verdict": "ineligible", "reason": REASON}

    first = browser.submit(world.screen_url("outside"), data)
    second = browser.submit(world.screen_url("outside"), data)

    assert first.status_code == second.status_code == 302
    assert len(ineligibility_mails(app, world.coordinators["outside"])) == 1
    assert len(verdict_events(app)) == 1


def test_correcting_to_eligible_restores_submitted_and_a_new_ineligible_verdict_mails_again(
    ctx, world
):
    officer = db.session.get(User, world.officer.id)
    stage = db.session.get(Stage, world.stage_id)
    proposal = db.session.get(Proposal, world.proposals["outside"])

    def verdict(value: Verdict, reason: str = REASON) -> None:
        record_verdict(proposal, stage, actor=officer, verdict=value, reason=reason, now=NOW)

    verdict(Verdict.INELIGIBLE)
    verdict(Verdict.INELIGIBLE)
    assert proposal.state == ProposalState.INELIGIBLE
    verdict(Verdict.ELIGIBLE, "")
    assert db.session.get(Proposal, proposal.id).state == ProposalState.SUBMITTED
    verdict(Verdict.INELIGIBLE)

    mails = db.session.scalars(
        sa.select(Notification).where(Notification.template == "screening/ineligible")
    ).all()
    assert len(mails) == 2
    assert len({m.dedup_key for m in mails}) == 2
    events = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "screening.verdict")
    ).all()
    assert [e.after["state"] for e in events] == ["ineligible", "submitted", "ineligible"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ScreeningResult)) == 1


def test_correcting_through_the_page_restores_submitted(app, world):
    browser = as_person(app, world.officer)
    browser.submit(world.screen_url("outside"), {"verdict": "ineligible", "reason": REASON})

    page = text(browser.get(world.screen_url("outside")))
    assert "Recorded: " in page and REASON in page
    assert re.search(r'checked[^>]*value="ineligible"|value="ineligible"[^>]*checked', page)
    response = browser.submit(world.screen_url("outside"), {"verdict": "eligible", "reason": ""})

    assert response.status_code == 302
    with in_app(app):
        assert db.session.get(Proposal, world.proposals["outside"]).state == (
            ProposalState.SUBMITTED
        )
    listed = text(browser.get(world.list_url(status="eligible")))
    assert listed_ids(listed) == [world.proposals["outside"]]


def test_a_withdrawn_proposal_cannot_be_screened(app, world):
    with in_app(app):
        proposal = db.session.get(Proposal, world.proposals["fine"])
        proposal.state = ProposalState.WITHDRAWN
        proposal.submissions[0].state = SubmissionState.WITHDRAWN
        db.session.commit()
    browser = as_person(app, world.officer)
    message = "The proposal has been withdrawn; it cannot be screened."

    page = browser.get(world.screen_url("fine"))
    response = browser.submit(world.screen_url("fine"), {"verdict": "eligible", "reason": ""})

    assert page.status_code == 200 and message in text(page)
    assert 'name="verdict"' not in text(page)
    assert response.status_code == 422
    assert message in text(response)
    with in_app(app):
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ScreeningResult)) == 0


# --- the operation on its own -------------------------------------------------------------------


def test_checks_judge_the_latest_version(ctx, world):
    proposal = db.session.get(Proposal, world.proposals["over_cap"])
    stage = db.session.get(Stage, world.stage_id)
    submission = proposal.submissions[0]
    for line in submission.budget_lines:
        line.public_funding = Decimal("100000.00")
    coordinator = db.session.get(User, proposal.contributors[0].user_id)
    second = freeze_version(proposal, submission, submitted_at=ON_TIME, by=coordinator)
    db.session.commit()

    checks = screening_checks(proposal, stage)

    assert checks.version is not None and checks.version.id == second.id
    assert checks.all_ok
    result = record_verdict(
        proposal,
        stage,
        actor=db.session.get(User, world.officer.id),
        verdict=Verdict.ELIGIBLE,
        reason="",
        now=NOW,
    )
    assert result.version_id == second.id


def test_an_officer_of_another_programme_may_not_record_a_verdict(ctx, world):
    with pytest.raises(PermissionDenied):
        record_verdict(
            db.session.get(Proposal, world.proposals["fine"]),
            db.session.get(Stage, world.stage_id),
            actor=db.session.get(User, world.other_officer.id),
            verdict=Verdict.ELIGIBLE,
            reason="",
            now=NOW,
        )


def test_a_proposal_without_a_submitted_version_cannot_be_screened(ctx, world):
    call = db.session.get(Call, world.call_id)
    stage = db.session.get(Stage, world.stage_id)
    draft = make_proposal(call, state=ProposalState.DRAFT)
    db.session.add(StageSubmission(proposal=draft, stage=stage, sections={}, updated_at=NOW))
    db.session.commit()

    with pytest.raises(DomainError) as refused:
        record_verdict(
            draft,
            stage,
            actor=db.session.get(User, world.officer.id),
            verdict=Verdict.INELIGIBLE,
            reason="",
            now=NOW,
        )

    assert refused.value.errors == {
        "": ["Nothing has been submitted for this stage; there is nothing to screen."],
        "reason": ["Give the reason; the coordinator receives it by e-mail."],
    }


def test_an_advanced_proposal_can_no_longer_be_found_ineligible(ctx, world):
    proposal = db.session.get(Proposal, world.proposals["fine"])
    proposal.state = ProposalState.ADVANCED
    db.session.commit()

    with pytest.raises(DomainError, match="advanced; it can no longer be found ineligible"):
        record_verdict(
            proposal,
            db.session.get(Stage, world.stage_id),
            actor=db.session.get(User, world.officer.id),
            verdict=Verdict.INELIGIBLE,
            reason=REASON,
            now=NOW,
        )
    assert db.session.get(Proposal, proposal.id).state == ProposalState.ADVANCED


# --- who may screen -----------------------------------------------------------------------------


def test_an_officer_of_another_programme_gets_not_found(app, world):
    browser = as_person(app, world.other_officer)

    listing = browser.get(world.list_url())
    page = browser.get(world.screen_url("fine"))
    post = browser.submit(
        world.screen_url("fine"), {"verdict": "ineligible", "reason": "x"}, page="/"
    )

    assert listing.status_code == page.status_code == post.status_code == 404
    with in_app(app):
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ScreeningResult)) == 0


@pytest.mark.parametrize("who", ["applicant", "juror"])
def test_applicants_and_jurors_are_not_allowed(app, world, who):
    browser = as_person(app, getattr(world, who))

    listing = browser.get(world.list_url())
    page = browser.get(world.screen_url("fine"))
    post = browser.submit(world.screen_url("fine"), {"verdict": "eligible", "reason": ""}, page="/")

    assert listing.status_code == page.status_code == post.status_code == 403


def test_the_officers_dashboard_links_to_each_stages_screening(app, world):
    page = text(as_person(app, world.officer).get("/"))

    assert f'href="{world.list_url()}"' in page
