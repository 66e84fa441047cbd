"""The demo programme simulated to its end on PostgreSQL, with real workers and a real SMTP
server: the funnel of both rounds, the money committed under the budget, the grants after the
decisions (concept phases, the winners' first phase with reports and payments, the interim
evaluation that stops one cluster), one letter per decision and each reminder delivered once,
an intact audit trail, and a second run that changes nothing."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from decimal import Decimal

import pytest
import sqlalchemy as sa
from flask_babel import force_locale

from competition.accounts.models import User
from competition.audit.models import AuditEvent
from competition.audit.operations import verify_chain
from competition.core.payments import COUNTED
from competition.db import utcnow
from competition.demo.after_decision import Afterwards, YearMoney
from competition.demo.seed import CONCEPT_GRANT_AMOUNT
from competition.demo.simulate import Agreement, RoundResult
from competition.demo.simulate import Report as SimulationReport
from competition.errors import DomainError
from competition.extensions import db
from competition.grants.models import (
    Disbursement,
    DisbursementState,
    Grant,
    GrantAmount,
    GrantKind,
    GrantState,
    PaymentExport,
    PhaseOutcome,
    Report,
    ReportKind,
    ReportReminderSent,
    ReportState,
)
from competition.grants.payments.queries import money_view
from competition.memberships.models import (
    Membership,
    MembershipDecision,
    MembershipMember,
    MembershipState,
)
from competition.notifications.mailer import message_id
from competition.notifications.models import Notification, NotificationState
from competition.programmes.models import Call, Programme
from competition.proposals.models import (
    BudgetLine,
    ContributorRole,
    Proposal,
    ProposalContributor,
    ProposalState,
    StageSubmission,
    SubmissionState,
)
from competition.proposals.operations import start_proposal
from competition.selection.line.queries import remaining_budget
from competition.selection.models import Decision, Outcome, Ranking
from tests.conftest import Browser
from tests.integration.test_worker import wait_until

# Generous: a slow machine must not fail this test. Letters carry a PDF each.
MAIL_WAIT = 900.0
WORKERS = 3  # deliveries and tasks share the queue; more workers, less waiting for letters
# Per round: outlines, finalists (advanced from the outline), heard (advanced from the full
# proposal), winners (funded at the hearing).
EXPECTED = {1: (137, 16, 7, 7), 2: (117, 15, 7, 7)}


def simulate(app) -> str:  # type: ignore[no-untyped-def]
    result = app.test_cli_runner().invoke(args=["demo", "simulate"])
    assert result.exit_code == 0, result.output
    return result.output


def submitted(stage_id: int) -> int:
    return db.session.scalar(
        sa.select(sa.func.count()).where(
            StageSubmission.stage_id == stage_id,
            StageSubmission.state == SubmissionState.SUBMITTED,
        )
    )


def published(stage_id: int) -> Counter[Outcome]:
    rows = db.session.execute(
        sa.select(Decision.outcome, Decision.confirmed_by_id, Decision.proposed_by_id).where(
            Decision.stage_id == stage_id, Decision.published_at.is_not(None)
        )
    ).all()
    assert all(confirmer != proposer for _, confirmer, proposer in rows)
    return Counter(outcome for outcome, _, _ in rows)


def states(call_id: int) -> Counter[ProposalState]:
    return Counter(db.session.scalars(sa.select(Proposal.state).where(Proposal.call_id == call_id)))


def funded_request() -> Decimal:
    """Public funding the funded proposals requested at the competition's last stage (the
    hearing), for their first phase."""
    total = Decimal(0)
    for proposal in db.session.scalars(
        sa.select(Proposal).where(Proposal.state == ProposalState.FUNDED)
    ):
        competing = [s for s in proposal.submissions if not s.stage.is_evaluation]
        last = max(competing, key=lambda s: s.stage.position)
        total += sum((line.public_funding for line in last.budget_lines), Decimal(0))
    return total


def granted(kind: GrantKind, years: range) -> Decimal:
    return db.session.scalar(
        sa.select(sa.func.sum(GrantAmount.amount))
        .join(Grant, Grant.id == GrantAmount.grant_id)
        .where(Grant.kind == kind, GrantAmount.year.in_(list(years)))
    )


def counts() -> dict[str, int]:
    return {
        model.__tablename__: db.session.scalar(sa.select(sa.func.count()).select_from(model))
        for model in (
            AuditEvent,
            Notification,
            Decision,
            StageSubmission,
            BudgetLine,
            Grant,
            GrantAmount,
            Report,
            Disbursement,
            PaymentExport,
        )
    }


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.worker
def test_the_demo_programme_runs_to_its_end_and_every_applicant_hears_once(
    make_app, redis_url, worker_factory, smtp_server, tmp_path
):
    workers = [worker_factory(smtp_server) for _ in range(WORKERS)]
    app = make_app(
        redis_url=redis_url,
        task_queue=worker_factory.queue,
        mail_server=smtp_server.host,
        mail_port=smtp_server.port,
        upload_folder=str(tmp_path / "uploads"),
    )

    output = simulate(app)

    logs = "\n".join(w.log()[-3000:] for w in workers)
    assert "Seeded" in output, output + logs
    with app.app_context():
        programme = db.session.scalar(
            sa.select(Programme).where(Programme.slug == "clusters4future")
        )
        totals = Counter[str]()
        for call in programme.calls:
            outline, full, hearing = call.competition_stages
            outlines, finalists, heard, winners = EXPECTED[call.round_number]
            assert submitted(outline.id) == outlines
            assert published(outline.id) == {
                Outcome.ADVANCE: finalists,
                Outcome.REJECT: outlines - finalists,
            }
            assert submitted(full.id) == finalists
            assert published(full.id) == {Outcome.ADVANCE: heard, Outcome.REJECT: finalists - heard}
            assert submitted(hearing.id) == heard
            assert published(hearing.id) == {Outcome.FUND: winners}
            assert states(call.id) == {
                ProposalState.FUNDED: winners,
                ProposalState.REJECTED: outlines - winners,
            }
            totals.update(outlines=outlines, finalists=finalists, heard=heard, winners=winners)
        assert totals == {"outlines": 254, "finalists": 31, "heard": 14, "winners": 14}

        # The money: the winners' first phase is what they asked for at the hearing, the
        # finalists' concept phases what the outline stages fund; the line counts the grants
        # (with the second phase the interim evaluations released) as the money view does
        # (measured at a stage whose decisions fund nothing).
        assert granted(GrantKind.PROJECT, range(1, 4)) == funded_request()
        assert granted(GrantKind.CONCEPT, range(1, 10)) == 31 * CONCEPT_GRANT_AMOUNT
        full_stage = db.session.scalar(sa.select(Call).where(Call.round_number == 1)).stages[1]
        committed = money_view(programme)[0].total.committed
        assert programme.total_budget - remaining_budget(full_stage) == committed
        assert funded_request() + 31 * CONCEPT_GRANT_AMOUNT < committed <= programme.total_budget

        # One letter per decision, to the proposal's coordinator.
        decisions = db.session.execute(
            sa.select(Decision.id, User.email)
            .join(ProposalContributor, ProposalContributor.proposal_id == Decision.proposal_id)
            .join(User, User.id == ProposalContributor.user_id)
            .where(ProposalContributor.role == ContributorRole.COORDINATOR)
        ).all()
        # Outlines, full proposals, hearings, and the interim evaluation of each winner.
        assert len(decisions) == 254 + 31 + 14 + 14
        letters = db.session.execute(
            sa.select(Notification.dedup_key, Notification.to_address).where(
                Notification.template == "selection/letter"
            )
        ).all()
        assert Counter(key for key, _ in letters) == {
            f"selection.letter:{decision_id}": 1 for decision_id, _ in decisions
        }
        assert dict(letters) == {f"selection.letter:{d}": email for d, email in decisions}
        reminders = db.session.scalars(
            sa.select(Notification.dedup_key).where(Notification.template == "reports/reminder")
        ).all()
        assert len(reminders) == 4
        expected_ids = {message_id(f"selection.letter:{d}") for d, _ in decisions}
        expected_ids |= {message_id(key) for key in reminders}

        assert_the_grants_ran_through_their_first_phase(programme, output)
        assert verify_chain()[1] is None
        assert_go_cluster_ran_through_one_re_evaluation(app, output)

    def letters_received() -> bool:
        received = {m["Message-ID"] for m in smtp_server.messages}
        return expected_ids <= received

    wait_until(
        letters_received, timeout=MAIL_WAIT, what="every letter and reminder to reach the server"
    )
    with app.app_context():
        unsent = db.session.scalar(
            sa.select(sa.func.count()).where(
                Notification.template.in_(("selection/letter", "reports/reminder")),
                Notification.state != NotificationState.SENT,
            )
        )
        assert unsent == 0
    received = Counter(m["Message-ID"] for m in smtp_server.messages)
    assert {mid: received[mid] for mid in expected_ids} == {mid: 1 for mid in expected_ids}

    assert_decided_stages_are_closed_and_dates_follow_the_calendar(app)

    # A second run, with the workers and in-process alike, says so and changes nothing.
    with app.app_context():
        before = counts()
    assert "already been simulated" in simulate(app)
    assert "already been simulated" in simulate(make_app(upload_folder=str(tmp_path / "up2")))
    with app.app_context():
        assert counts() == before


@pytest.mark.postgres
def test_the_simulation_is_refused_outside_demo_mode(make_app):
    app = make_app(demo_mode=False)

    result = app.test_cli_runner().invoke(args=["demo", "simulate"])

    assert result.exit_code != 0
    assert "demo mode" in result.output
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Programme)) == 0


def assert_the_grants_ran_through_their_first_phase(programme: Programme, output: str) -> None:
    """The 31 finalists' concept phases ran and closed, paid in full, with their final reports;
    the 14 winners' project grants ran through phase 1: two annual reports each accepted (one
    late after its reminders), one payment per partner and year of phase 1, approved by two
    officers above the threshold; the interim evaluation stopped one cluster, whose final
    reports came in, and released phase 2 of the others. The report's last line says what the
    database holds."""
    grants = db.session.scalars(sa.select(Grant)).all()
    kinds = Counter((g.kind, g.state) for g in grants)
    assert kinds == {
        (GrantKind.CONCEPT, GrantState.CLOSED): 31,
        (GrantKind.PROJECT, GrantState.RUNNING): 13,
        (GrantKind.PROJECT, GrantState.ENDED_EARLY): 1,
    }
    projects = [g for g in grants if g.kind == GrantKind.PROJECT]
    for grant in projects:
        first, second = sorted(grant.phases, key=lambda p: p.number)[:2]
        stopped = grant.state == GrantState.ENDED_EARLY
        going_on = (PhaseOutcome.CONTINUED, PhaseOutcome.CONTINUED_WITH_CONDITIONS)
        assert first.outcome in ((PhaseOutcome.STOPPED,) if stopped else going_on)
        assert (second.released_at is None) == stopped
        next_phase = sum(a.amount for a in grant.amounts if a.year in (4, 5, 6))
        assert (next_phase == 0) == stopped
    outcomes = Counter(
        p.outcome for g in projects for p in g.phases if p.number == 1 and p.outcome is not None
    )
    assert outcomes[PhaseOutcome.STOPPED] == 1
    assert outcomes[PhaseOutcome.CONTINUED_WITH_CONDITIONS] == 2
    assert outcomes[PhaseOutcome.CONTINUED] == 11

    # Reports: each winner's annual reports of years 1 and 2 accepted; one came late, after
    # the reminder task's four reminders.
    accepted = db.session.execute(
        sa.select(Report.grant_id, Report.year).where(
            Report.kind == ReportKind.ANNUAL, Report.state == ReportState.ACCEPTED
        )
    ).all()
    assert sorted(accepted) == sorted((g.id, year) for g in projects for year in (1, 2))
    # A grant that has ended (the concept phases, the stopped cluster) owes only its final
    # report and statement of use, both accepted; the others owe nothing yet.
    ended = {g.id for g in grants if g.state in (GrantState.CLOSED, GrantState.ENDED_EARLY)}
    owed = Counter(
        (grant_id, kind, state)
        for grant_id, kind, state in db.session.execute(
            sa.select(Report.grant_id, Report.kind, Report.state).where(
                Report.grant_id.in_(ended), Report.kind != ReportKind.ANNUAL
            )
        )
    )
    assert owed == {
        (grant_id, kind, ReportState.ACCEPTED): 1
        for grant_id in ended
        for kind in (ReportKind.FINAL, ReportKind.STATEMENT_OF_USE)
    }
    all_accepted = db.session.scalar(
        sa.select(sa.func.count()).where(Report.state == ReportState.ACCEPTED)
    )
    assert all_accepted == len(accepted) + 2 * len(ended)
    late = db.session.scalars(
        sa.select(Report).where(
            Report.state == ReportState.ACCEPTED, Report.submitted_at > Report.due_at
        )
    ).all()
    assert len(late) == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ReportReminderSent)) == 4

    # Payments: one per partner and project year of phase 1 (and one per concept phase), each
    # for the whole approved amount; above the threshold a second officer confirmed.
    counted = [DisbursementState(s) for s in COUNTED]
    payments = db.session.scalars(
        sa.select(Disbursement).where(Disbursement.state.in_(counted))
    ).all()
    drawn = Counter((d.grant_id, d.member_id, d.year) for d in payments)
    approved = {
        (a.grant_id, a.member_id, a.year): a.amount
        for g in grants
        for a in g.amounts
        if a.amount > 0 and (g.kind == GrantKind.CONCEPT or a.year <= 3)
    }
    assert drawn == {cell: 1 for cell in approved}
    assert {(d.grant_id, d.member_id, d.year): d.amount for d in payments} == approved
    threshold = programme.payment_threshold
    above = [d for d in payments if d.amount > threshold]
    assert above and all(d.confirmed_by_id not in (None, d.decided_by_id) for d in above)
    assert all(d.state == DisbursementState.PAID for d in payments)
    view, _calls = money_view(programme)
    assert view.total.paid == sum(d.amount for d in payments)
    assert view.total.committed <= programme.total_budget

    figures = dict(pair.split("=") for pair in output.strip().splitlines()[-1].split())
    assert figures == {
        "outlines": "254",
        "finalists": "31",
        "winners": "14",
        "grants": str(len(grants)),
        "concept_grants": "31",
        "project_grants": "14",
        "interim_evaluations": "2",
        "grants_stopped": "1",
        "reports_accepted": str(all_accepted),
        "reminders": "4",
        "payments": str(len(payments)),
        "committed_eur": f"{view.total.committed:.2f}",
        "paid_eur": f"{view.total.paid:.2f}",
        "memberships": "88",
    }


def assert_go_cluster_ran_through_one_re_evaluation(app, output: str) -> None:  # type: ignore[no-untyped-def]
    """The membership programme: 92 applications with members from the registry, 2 refused and
    90 granted, then one annual re-evaluation that renews 88 and withdraws 2; every decision by
    another person than the evaluation it rests on; the public list shows the 88."""
    go_cluster = db.session.scalar(sa.select(Programme).where(Programme.slug == "go-cluster"))
    assert go_cluster is not None and go_cluster.is_membership
    states = Counter(
        db.session.scalars(
            sa.select(Membership.state).where(Membership.programme_id == go_cluster.id)
        )
    )
    assert states == {
        MembershipState.GRANTED: 88,
        MembershipState.WITHDRAWN: 2,
        MembershipState.REFUSED: 2,
    }
    actions = Counter(
        db.session.scalars(
            sa.select(MembershipDecision.action)
            .join(Membership, Membership.id == MembershipDecision.membership_id)
            .where(Membership.programme_id == go_cluster.id)
        )
    )
    assert actions == {"grant": 90, "refuse": 2, "renew": 88, "withdraw": 2}
    assert not db.session.scalar(
        sa.select(sa.func.count()).where(
            MembershipDecision.decided_by_id == MembershipDecision.evaluated_by_id
        )
    )
    members = db.session.scalar(sa.select(sa.func.count()).select_from(MembershipMember))
    assert 1_000 < members < 2_500
    assert "92 applications, 90 granted, 2 refused" in output
    assert "88 renewed, 2 withdrawn" in output
    page = Browser(app.test_client()).get("/programmes/go-cluster/members")
    assert "88 members" in page.get_data(as_text=True)


def assert_decided_stages_are_closed_and_dates_follow_the_calendar(app) -> None:  # type: ignore[no-untyped-def]
    """Whatever day the simulation runs on: round 1's full proposal (for invited finalists) and
    round 2's outline (decisions published) are no open calls, and rankings, publications and
    letters carry the simulated days."""
    page = Browser(app.test_client()).get("/calls").get_data(as_text=True)
    with app.app_context():
        calls = db.session.scalars(sa.select(Call)).all()
        assert calls and not [call.name for call in calls if call.name in page]
        second = next(call for call in calls if call.round_number == 2)
        applicant = db.session.scalar(
            sa.select(User)
            .join(ProposalContributor, ProposalContributor.user_id == User.id)
            .where(ProposalContributor.role == ContributorRole.COORDINATOR)
            .limit(1)
        )
        with pytest.raises(DomainError, match="selection has been announced"):
            start_proposal(second, actor=applicant, acronym="LATE", title="Late", now=utcnow())
        db.session.rollback()

        rankings = db.session.scalars(sa.select(Ranking)).all()
        assert rankings
        for ranking in rankings:
            assert ranking.created_at <= ranking.finished_at
            assert ranking.finished_at - ranking.created_at < dt.timedelta(hours=1)
        published = db.session.scalars(
            sa.select(Decision).where(Decision.published_at.is_not(None))
        ).all()
        assert published
        for decision in published:
            assert decision.confirmed_at <= decision.published_at
            assert decision.published_at - decision.confirmed_at < dt.timedelta(days=30)
            assert decision.letter["published_at"] == decision.published_at.isoformat()


@pytest.mark.postgres
def test_the_command_line_speaks_the_deployments_language(make_app):
    app = make_app(demo_mode=False, default_locale="de")

    result = app.test_cli_runner().invoke(args=["demo", "simulate"])

    assert result.exit_code != 0
    assert "Die Demo wird nur im Demomodus simuliert (DEMO_MODE=1)." in result.output


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        (
            "en",
            [
                "Round 1: 137 outlines → 16 finalists → 14 full proposals → 7 heard → 7 winners; "
                "the winners requested 12.3 M EUR.",
                "  Outline: ranking vs hidden quality over 137 proposals, Spearman 0.81 "
                "calibrated (raw means 0.7); the line picked 12 of the 16 truly best.",
                "In all: 137 outlines → 16 finalists → 14 full proposals → 7 heard → 7 winners; "
                "the winners requested 12.3 M EUR of the 50 M EUR budget (37.7 M EUR left).",
                "Calibrated rankings vs hidden quality: mean Spearman 0.81 over 1 rankings (raw "
                "means 0.7).",
                "The grants' money per budget year (the programme's money view):",
                "  2027: 4.5 M EUR committed, 4.5 M EUR paid, 0 M EUR left to pay.",
                "  2028: 8.1 M EUR committed, 2.5 M EUR paid, 5.6 M EUR left to pay.",
                "In all the grants commit 12.6 M EUR of the 50 M EUR budget (37.4 M EUR not yet "
                "committed); 7 M EUR paid, 5.6 M EUR left to pay.",
                "Grants: Concept phase 2 (Closed: 2); Project 1 (Ended early: 1).",
                "Interim evaluations: 1, deciding on 1 grants (Stop: 1); 1 stopped.",
                "Reports: 2 accepted, 4 reminders sent. Payments: 9 approved, in 2 payment files.",
            ],
        ),
        (
            "de",
            [
                "Runde 1: 137 Skizzen → 16 zum Vollantrag aufgefordert → 14 Vollanträge → "
                "7 angehört → 7 gefördert; die Geförderten beantragten 12,3 Mio. EUR.",
                "  Outline: Rangliste gegenüber verborgener Qualität über 137 Anträge, Spearman "
                "0,81 kalibriert (einfache Mittelwerte 0,7); die Förderlinie wählte 12 der 16 "
                "tatsächlich besten.",
                "Insgesamt: 137 Skizzen → 16 zum Vollantrag aufgefordert → 14 Vollanträge → "
                "7 angehört → 7 gefördert; die Geförderten beantragten 12,3 Mio. EUR von "
                "50 Mio. EUR Budget (37,7 Mio. EUR übrig).",
                "Kalibrierte Ranglisten gegenüber verborgener Qualität: mittlerer Spearman 0,81 "
                "über 1 Ranglisten (einfache Mittelwerte 0,7).",
                "Die Mittel der Förderungen je Haushaltsjahr (die Mittelübersicht des Programms):",
                "  2027: 4,5 Mio. EUR gebunden, 4,5 Mio. EUR ausgezahlt, 0 Mio. EUR noch "
                "auszuzahlen.",
                "  2028: 8,1 Mio. EUR gebunden, 2,5 Mio. EUR ausgezahlt, 5,6 Mio. EUR noch "
                "auszuzahlen.",
                "Insgesamt binden die Förderungen 12,6 Mio. EUR von 50 Mio. EUR Budget "
                "(37,4 Mio. EUR noch nicht gebunden); 7 Mio. EUR ausgezahlt, 5,6 Mio. EUR noch "
                "auszuzahlen.",
                "Förderungen: Konzeptphase 2 (Geschlossen: 2); Vorhaben 1 (Vorzeitig beendet: 1).",
                "Zwischenevaluationen: 1, über 1 Förderungen entschieden (Beenden: 1); 1 beendet.",
                "Berichte: 2 angenommen, 4 Erinnerungen versandt. Zahlungen: 9 genehmigt, in "
                "2 Zahlungsdateien.",
            ],
        ),
    ],
)
def test_the_simulations_report_is_written_in_the_deployments_language(make_app, locale, expected):
    app = make_app(default_locale=locale)
    outline = Agreement("Outline", 137, 0.8123, 0.7012, best=16, found=12)
    report = SimulationReport(
        seed=1,
        budget=Decimal("50000000"),
        currency="EUR",
        rounds=(RoundResult(1, "Round one", 137, 16, 14, 7, 7, Decimal("12300000"), (outline,)),),
        already_done=False,
        memberships=88,
        after=Afterwards(
            years=(
                YearMoney(2027, Decimal("4500000"), Decimal("4500000")),
                YearMoney(2028, Decimal("8100000"), Decimal("2500000")),
                YearMoney(2029, Decimal(0), Decimal(0)),
            ),
            committed=Decimal("12600000"),
            paid=Decimal("7000000"),
            grants=(
                (GrantKind.CONCEPT, GrantState.CLOSED, 2),
                (GrantKind.PROJECT, GrantState.ENDED_EARLY, 1),
            ),
            interim_evaluations=1,
            evaluation_outcomes=((Outcome.STOP, 1),),
            grants_stopped=1,
            reports_accepted=2,
            reminders=4,
            payments=9,
            exports=2,
        ),
    )

    with app.app_context(), force_locale(app.extensions["settings"].default_locale):
        lines = report.lines()

    assert lines[:-1] == expected
    assert lines[-1] == (
        "outlines=137 finalists=16 winners=7 grants=3 concept_grants=2 project_grants=1 "
        "interim_evaluations=1 grants_stopped=1 reports_accepted=2 reminders=4 payments=9 "
        "committed_eur=12600000.00 paid_eur=7000000.00 memberships=88"
    )
