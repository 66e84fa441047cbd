"""The demo programme simulated to its end on PostgreSQL, with real workers and a real SMTP
server: the funnel of both rounds, the money committed under the budget, one letter per
decision delivered once, an intact audit trail, and a second run that changes nothing."""

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
from competition.db import utcnow
from competition.demo.seed import CONCEPT_GRANT_AMOUNT
from competition.demo.simulate import Agreement, Report, RoundResult
from competition.errors import DomainError
from competition.extensions import db
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
    """Public funding the funded proposals request at their last stage (the hearing)."""
    total = Decimal(0)
    for proposal in db.session.scalars(
        sa.select(Proposal).where(Proposal.state == ProposalState.FUNDED)
    ):
        last = max(proposal.submissions, key=lambda s: s.stage.position)
        total += sum((line.public_funding for line in last.budget_lines), Decimal(0))
    return total


def counts() -> dict[str, int]:
    return {
        model.__tablename__: db.session.scalar(sa.select(sa.func.count()).select_from(model))
        for model in (AuditEvent, Notification, Decision, StageSubmission, BudgetLine)
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
            outline, full, hearing = call.stages
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

        # The money: what the funded consortia asked for, and the finalists' concept phases, is
        # what the line has committed (measured at a stage that funds neither).
        committed = funded_request() + 31 * CONCEPT_GRANT_AMOUNT
        full_stage = db.session.scalar(sa.select(Call).where(Call.round_number == 1)).stages[1]
        assert programme.total_budget - remaining_budget(full_stage) == committed
        assert Decimal(0) < committed <= Decimal("630000000.00")

        # One letter per decision, to the proposal's coordinator.
        decisions = db.session.execute(
            sa.select(Decision.id, User.email)
            .join(ProposalContributor, ProposalContributor.proposal_id == Decision.proposal_id)
            .join(User, User.id == ProposalContributor.user_id)
            .where(ProposalContributor.role == ContributorRole.COORDINATOR)
        ).all()
        assert len(decisions) == 254 + 31 + 14
        letters = db.session.execute(
            sa.select(Notification.dedup_key, Notification.to_address).where(
                Notification.template == "selection/letter"
            )
        ).all()
        assert Counter(key for key, _ in letters) == {
            f"selection.letter:{decision_id}": 1 for decision_id, _ in decisions
        }
        assert dict(letters) == {f"selection.letter:{d}": email for d, email in decisions}
        expected_ids = {message_id(f"selection.letter:{d}") for d, _ in decisions}

        assert verify_chain()[1] is None
        assert_go_cluster_ran_through_one_re_evaluation(app, output)

    def letters_received() -> bool:
        received = {m["Message-ID"] for m in smtp_server.messages}
        return expected_ids <= received

    wait_until(letters_received, timeout=MAIL_WAIT, what="every letter to reach the mail server")
    with app.app_context():
        unsent = db.session.scalar(
            sa.select(sa.func.count()).where(
                Notification.template == "selection/letter",
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
                "12.3 M EUR committed.",
                "  Outline: ranking vs hidden quality over 137 proposals, Spearman 0.81 "
                "calibrated (raw means 0.7); the line picked 12 of the 16 truly best.",
                "In all: 137 outlines → 16 finalists → 14 full proposals → 7 heard → 7 winners; "
                "12.3 M EUR committed of the 50 M EUR budget (37.7 M EUR left).",
            ],
        ),
        (
            "de",
            [
                "Runde 1: 137 Skizzen → 16 zum Vollantrag aufgefordert → 14 Vollanträge → "
                "7 angehört → 7 gefördert; 12,3 Mio. EUR gebunden.",
                "  Outline: Rangliste gegenüber verborgener Qualität über 137 Anträge, Spearman "
                "0,81 kalibriert (einfache Mittelwerte 0,7); die Förderlinie wählte 12 der 16 "
                "tatsächlich besten.",
                "Insgesamt: 137 Skizzen → 16 zum Vollantrag aufgefordert → 14 Vollanträge → "
                "7 angehört → 7 gefördert; 12,3 Mio. EUR von 50 Mio. EUR Budget gebunden "
                "(37,7 Mio. EUR übrig).",
            ],
        ),
    ],
)
def test_the_simulations_report_is_written_in_the_deployments_language(make_app, locale, expected):
    app = make_app(default_locale=locale)
    outline = Agreement("Outline", 137, 0.8123, 0.7012, best=16, found=12)
    report = Report(
        seed=1,
        budget=Decimal("50000000"),
        currency="EUR",
        rounds=(RoundResult(1, "Round one", 137, 16, 14, 7, 7, Decimal("12300000"), (outline,)),),
        already_done=False,
    )

    with app.app_context(), force_locale(app.extensions["settings"].default_locale):
        lines = report.lines()

    assert lines[:2] == expected[:2]
    assert lines[2] == expected[2]
