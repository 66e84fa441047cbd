"""Interim evaluations of funded grants on PostgreSQL, through the pages where a person acts:
an officer starts the evaluation of phase 1 (the running grants go into evaluation, an ended
one stays out), the consortia submit a report, a plan and the next phase's budget (their
proposals stay funded), jurors are assigned by the usual assignment with automatic conflicts
from every partner, review and are ranked, two officers decide continue / continue with
conditions / stop (four eyes held by the operation and by the database), and publication
releases the next phase with the submitted amounts or ends the grant early, with a letter in
each coordinator's language. The call's competition goes on funding from its last stage.

One world is built per module and taken a step further by each fixture; tests only read it
or try what is refused (which changes nothing)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from competition.accounts.models import User
from competition.assignment import runs
from competition.assignment.models import Assignment, Conflict, ConflictSource
from competition.audit.models import AuditEvent, StateTransition
from competition.db import utcnow
from competition.errors import DomainError, PermissionDenied
from competition.extensions import db
from competition.grants.models import Grant, GrantState, PhaseOutcome
from competition.notifications.models import Notification
from competition.programmes import operations as setup
from competition.programmes.models import Call, Stage, StageKind
from competition.proposals import operations as proposal_ops
from competition.proposals.models import (
    Proposal,
    ProposalState,
    StageSubmission,
    SubmissionState,
)
from competition.proposals.queries import call_summaries
from competition.reviews.models import ReviewState
from competition.selection.decisions import operations as decision_ops
from competition.selection.decisions.queries import outcomes_for
from competition.selection.models import Decision, DecisionState, Outcome, Ranking, RankingMethod
from competition.selection.ranking import operations as ranking_ops
from competition.selection.rules.queries import is_last_stage, rules_for
from tests.conftest import app_for_module
from tests.factories import (
    make_review,
)
from tests.helpers import as_person
from tests.integration.evaluation_world import (
    CONDITIONS,
    NAMES,
    NEW_PER_YEAR,
    OFFICER,
    PER_YEAR,
    RATIONALE,
    SECOND,
    STRANGER,
    World,
    amounts_of,
    build_world,
    decision_of,
    form_value_textarea,
    local,
    propose,
    user,
)
from tests.integration.programme_pages import form_fields
from tests.integration.submission_world import form_value, log_in, post, text

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def app(pg_url) -> Iterator[object]:  # type: ignore[no-untyped-def]
    """One app and one world for the module (it takes seconds to take a stage this far)."""
    yield from app_for_module(pg_url)


@pytest.fixture(scope="module")
def world(app) -> World:  # type: ignore[no-untyped-def]
    with app.app_context():
        return build_world()


# --- starting ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def started(app, world) -> World:  # type: ignore[no-untyped-def]
    """The officer starts the evaluation of phase 1 on its page, then presses the button again."""
    officer = log_in(app, OFFICER)
    page = text(officer.get(world.start_page))
    world.seen["form"] = page
    now = utcnow()
    data = {
        "phase": "1",
        "name": "Interim evaluation of phase 1",
        "opens_at": local(now - dt.timedelta(days=1)),
        "closes_at": local(now + dt.timedelta(days=20)),
        "reviews_due_at": local(now + dt.timedelta(days=40)),
        "reviewers_per_proposal": "2",
        "max_load_per_juror": "3",
        "criteria": form_value_textarea(page, "criteria"),
    }
    first = post(officer, world.start_page, data)
    assert first.status_code == 303, text(first)
    world.seen["first"] = text(officer.get(first.headers["Location"]))
    again = post(officer, world.start_page, data)
    assert again.status_code == 303
    world.seen["again"] = text(officer.get(again.headers["Location"]))
    with app.app_context():
        stage = db.session.scalar(
            sa.select(Stage).where(
                Stage.call_id == world.call_id, Stage.kind == StageKind.INTERIM_EVALUATION
            )
        )
        world.stage_id = stage.id
    return world


def test_starting_takes_the_running_grants_of_the_phase_into_evaluation_and_leaves_an_ended_one_out(  # type: ignore[no-untyped-def]
    app, started
):
    w = started
    assert "Progress against the plan | 1" in w.seen["form"]
    assert "Management and finances | 1" in w.seen["form"]
    assert "3 grants are in interim evaluation" in w.seen["first"]
    assert "had been started already; 0 more grants were taken in" in w.seen["again"]
    with app.app_context():
        stages = db.session.scalars(
            sa.select(Stage).where(Stage.call_id == w.call_id).order_by(Stage.position)
        ).all()
        # One stage for the phase, after the competition's two, however often it is started.
        assert [(s.kind, s.evaluates_phase) for s in stages] == [
            (StageKind.OUTLINE, None),
            (StageKind.FULL_PROPOSAL, None),
            (StageKind.INTERIM_EVALUATION, 1),
        ]
        stage = stages[-1]
        assert [s["title"] for s in stage.required_sections] == [
            "Report on the phase",
            "Plan for the next phase",
        ]
        assert [c.name for c in stage.criteria] == [
            "Progress against the plan",
            "Quality of the results",
            "The plan for the next phase",
            "Management and finances",
        ]
        for name in ("go", "cond", "halt"):
            assert db.session.get(Grant, w.grants[name]).state == GrantState.IN_EVALUATION
        assert db.session.get(Grant, w.grants["ended"]).state == GrantState.ENDED_EARLY
        submissions = {
            s.proposal_id: s
            for s in db.session.scalars(
                sa.select(StageSubmission).where(StageSubmission.stage_id == stage.id)
            )
        }
        assert set(submissions) == {w.proposals[n] for n in ("go", "cond", "halt")}
        go = submissions[w.proposals["go"]]
        # The draft carries the last competition budget's lines of the next phase only.
        assert {line.year for line in go.budget_lines} == {4, 5, 6}
        assert go.state == SubmissionState.DRAFT
        for proposal_id in w.proposals.values():
            assert db.session.get(Proposal, proposal_id).state == ProposalState.FUNDED
        steps = db.session.scalars(
            sa.select(StateTransition.object_id).where(
                StateTransition.object_type == "grant",
                StateTransition.action == "begin_evaluation",
            )
        ).all()
        assert sorted(steps) == sorted(w.grants[n] for n in ("go", "cond", "halt"))
        mails = db.session.scalars(
            sa.select(Notification).where(Notification.template == "evaluations/opened")
        ).all()
        assert sorted(m.to_address for m in mails) == sorted(
            w.coordinators[n] for n in ("go", "cond", "halt")
        )
        german = next(m for m in mails if m.to_address == w.coordinators["go"])
        assert "Zwischenevaluation" in german.subject
        assert "Projektjahre 4 bis 6" in german.body_text
        assert f"/proposals/{w.proposals['go']}/edit" in german.body_text


def test_only_officers_of_the_programme_reach_the_evaluation_pages(app, started):  # type: ignore[no-untyped-def]
    stranger = log_in(app, STRANGER)
    coordinator = log_in(app, started.coordinators["go"])
    for url in (f"/calls/{started.call_id}/interim-evaluations", started.start_page):
        assert stranger.get(url).status_code == 404
        assert coordinator.get(url).status_code == 403
    page = text(log_in(app, OFFICER).get(f"/calls/{started.call_id}/interim-evaluations"))
    assert "Interim evaluation of phase 1" in page
    assert "3 grants, 0 submitted" in page


# --- the consortium's submission ----------------------------------------------------------------


@pytest.fixture(scope="module")
def submitted(app, started) -> World:  # type: ignore[no-untyped-def]
    """ "go" submits through its editor (with a larger budget for the next phase, after a line
    outside it is refused); "cond" and "halt" through the operations."""
    w = started
    go = log_in(app, w.coordinators["go"])
    editor_url = f"/proposals/{w.proposals['go']}/edit"
    w.seen["editor"] = text(go.get(editor_url))
    with app.app_context():
        stage = db.session.get(Stage, w.stage_id)
        keys = [s["key"] for s in stage.required_sections]
        members = [m.id for m in db.session.get(Proposal, w.proposals["go"]).members]
    for key in keys:
        saved = post(
            go,
            f"/proposals/{w.proposals['go']}/sections/{key}",
            {"text": "Done.", "base_revision": 0},
        )
        assert saved.status_code == 302
    revision = form_value(
        w.seen["editor"], f"/proposals/{w.proposals['go']}/budget", "base_revision"
    )
    cells = {}
    for member in members:
        for year in (4, 5, 6):
            cells[f"public-m{member}-y{year}"] = "150000"
            cells[f"own-m{member}-y{year}"] = "30000"
    outside = post(
        go,
        f"/proposals/{w.proposals['go']}/budget",
        {**cells, f"public-m{members[0]}-y2": "5", "base_revision": revision},
    )
    w.seen["outside"] = (outside.status_code, text(outside))
    budget = post(
        go, f"/proposals/{w.proposals['go']}/budget", {**cells, "base_revision": revision}
    )
    assert budget.status_code == 302, text(budget)
    submit_url = f"/proposals/{w.proposals['go']}/submit"
    key = form_value(text(go.get(submit_url)), submit_url, "idempotency_key")
    done = post(go, submit_url, {"idempotency_key": key})
    assert done.status_code == 302, text(done)
    with app.app_context():
        for name in ("cond", "halt"):
            coordinator = user(w.coordinators[name])
            proposal = db.session.get(Proposal, w.proposals[name])
            submission = proposal_ops.current_submission(proposal)
            for section in keys:
                proposal_ops.save_section(
                    submission,
                    actor=coordinator,
                    key=section,
                    text="Our report.",
                    base_revision=0,
                    now=utcnow(),
                )
            proposal_ops.submit_stage(
                submission,
                actor=coordinator,
                idempotency_key=f"evaluation-{name}-key",
                now=utcnow(),
            )
    return w


def test_the_funded_consortium_submits_its_report_plan_and_next_budget_and_stays_funded(  # type: ignore[no-untyped-def]
    app, submitted
):
    w = submitted
    editor = w.seen["editor"]
    assert "Report on the phase" in editor and "Plan for the next phase" in editor
    # Its coordinator reads German; the sections keep the names the officer gave them.
    assert "Projektjahre 4 bis 6" in editor
    assert "Jahr 4" in editor and "Jahr 1<" not in editor
    status, page = w.seen["outside"]
    assert status == 422
    assert "Budgetjahr außerhalb der nächsten Phase: Sie umfasst die Projektjahre 4 bis 6." in page
    with app.app_context():
        for name in ("go", "cond", "halt"):
            proposal = db.session.get(Proposal, w.proposals[name])
            assert proposal.state == ProposalState.FUNDED
            submission = proposal_ops.current_submission(proposal)
            assert submission.stage_id == w.stage_id
            assert submission.state == SubmissionState.SUBMITTED
            assert submission.versions
        receipts = db.session.scalars(
            sa.select(Notification.to_address).where(Notification.template == "proposals/receipt")
        ).all()
        assert sorted(receipts) == sorted(w.coordinators[n] for n in ("go", "cond", "halt"))
        # An officer may give a funded consortium more time for its evaluation.
        halt = db.session.get(Proposal, w.proposals["halt"])
        later = db.session.get(Stage, w.stage_id).closes_at + dt.timedelta(days=7)
        extension = proposal_ops.grant_extension(
            halt,
            db.session.get(Stage, w.stage_id),
            actor=user(OFFICER),
            closes_at=later,
            reason="The coordinator was ill.",
            now=utcnow(),
        )
        assert extension.closes_at == later
        # The grant's consortium stays as it was funded.
        go = db.session.get(Proposal, w.proposals["go"])
        with pytest.raises(PermissionDenied):
            proposal_ops.remove_member(
                go.members[1], actor=user(w.coordinators["go"]), now=utcnow()
            )
        db.session.rollback()


# --- jurors, reviews, ranking ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def reviewed(app, submitted) -> World:  # type: ignore[no-untyped-def]
    w = submitted
    with app.app_context():
        stage = db.session.get(Stage, w.stage_id)
        officer = user(OFFICER)
        runs.start_run(stage, actor=officer, options=runs.Options(), now=utcnow())
        runs.release(stage, actor=officer, now=utcnow())
        criteria = [str(c.id) for c in stage.criteria]
        scores = {w.proposals["go"]: "4.5", w.proposals["cond"]: "3", w.proposals["halt"]: "1"}
        for assignment in db.session.scalars(
            sa.select(Assignment).where(Assignment.stage_id == stage.id)
        ):
            make_review(
                assignment,
                state=ReviewState.SUBMITTED,
                scores={c: scores[assignment.proposal_id] for c in criteria},
            )
        db.session.commit()
        ranking = ranking_ops.start_ranking(
            stage, actor=officer, method=RankingMethod.RAW, now=utcnow(), options={"min_reviews": 2}
        )
        w.seen["ranking"] = ranking.id
    return w


def test_jurors_are_assigned_with_automatic_conflicts_from_every_partner_and_ranked(  # type: ignore[no-untyped-def]
    app, reviewed
):
    w = reviewed
    with app.app_context():
        pairs = db.session.execute(
            sa.select(Assignment.proposal_id, Assignment.user_id).where(
                Assignment.stage_id == w.stage_id
            )
        ).all()
        per_grant = {p: [j for q, j in pairs if q == p] for p in w.proposals.values()}
        assert all(len(per_grant[w.proposals[n]]) == 2 for n in ("go", "cond", "halt"))
        assert per_grant[w.proposals["ended"]] == []
        # The juror from "go"'s partner organisation (not its coordinator) never reviews it.
        assert w.partner_juror not in per_grant[w.proposals["go"]]
        conflict = db.session.scalar(
            sa.select(Conflict).where(
                Conflict.user_id == w.partner_juror, Conflict.proposal_id == w.proposals["go"]
            )
        )
        assert conflict is not None and conflict.source == ConflictSource.AUTOMATIC
        ranking = db.session.get(Ranking, w.seen["ranking"])
        order = [row["proposal_id"] for row in ranking.result["proposals"]]
        assert order == [w.proposals[n] for n in ("go", "cond", "halt")]
        # The juror reads the report and plan on the usual review page.
        assignment = db.session.scalar(
            sa.select(Assignment).where(
                Assignment.stage_id == w.stage_id, Assignment.proposal_id == w.proposals["cond"]
            )
        )
        juror = db.session.get(User, assignment.user_id).email
    review = text(log_in(app, juror).get(f"/reviews/assignments/{assignment.id}"))
    assert "Our report." in review and "Progress against the plan" in review
    officer = log_in(app, OFFICER)
    for page in ("", "rules", "panel", "confirm", "publish"):
        assert officer.get(w.selection(page)).status_code == 200
    line = text(officer.get(w.selection("line")))
    assert "An interim evaluation of funded grants draws no line" in line
    decisions = text(officer.get(w.selection("decisions")))
    assert "An interim evaluation draws no line" in decisions
    for offered in (
        "Continue into the next phase",
        "Continue with conditions",
        "Stop: no further phase",
    ):
        assert f">{offered}</option>" in decisions
    for refused in ("Advance to the next stage", ">Fund</option>", "Reserve list"):
        assert refused not in decisions


# --- decisions -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def proposed(app, reviewed) -> World:  # type: ignore[no-untyped-def]
    """The first officer proposes: "cond" through the pages (preview, then propose), the other
    two through the operation."""
    w = reviewed
    officer = log_in(app, OFFICER)
    choice = {
        "proposals": [w.proposals["cond"]],
        "outcome": "continue_with_conditions",
        "rationale": RATIONALE,
        "conditions": CONDITIONS,
    }
    preview = post(officer, w.selection("decisions/preview"), choice)
    assert preview.status_code == 200, text(preview)
    w.seen["preview"] = text(preview)
    assert post(officer, w.selection("decisions"), choice).status_code == 303
    with app.app_context():
        stage = db.session.get(Stage, w.stage_id)
        for name, outcome in (("go", Outcome.CONTINUE), ("halt", Outcome.STOP)):
            propose(stage, w.proposals[name], outcome)
    return w


def test_only_the_evaluations_outcomes_are_decided_there_and_conditions_are_required(  # type: ignore[no-untyped-def]
    app, proposed
):
    w = proposed
    assert CONDITIONS in w.seen["preview"]
    officer = log_in(app, OFFICER)
    without = post(
        officer,
        w.selection("decisions/preview"),
        {
            "proposals": [w.proposals["go"]],
            "outcome": "continue_with_conditions",
            "rationale": RATIONALE,
        },
    )
    assert without.status_code == 422
    page = text(without)
    assert (
        "Write the conditions the grant continues with."
        in page[page.index('id="conditions-error"') :]
    )
    advance = post(
        officer,
        w.selection("decisions/preview"),
        {"proposals": [w.proposals["go"]], "outcome": "advance", "rationale": RATIONALE},
    )
    assert advance.status_code == 422
    with app.app_context():
        stage = db.session.get(Stage, w.stage_id)
        full = db.session.get(Stage, w.full_stage_id)
        for outcome in (Outcome.FUND, Outcome.ADVANCE, Outcome.REJECT, Outcome.RESERVE):
            with pytest.raises(DomainError) as refused:
                propose(stage, w.proposals["go"], outcome)
            assert refused.value.errors.keys() == {"outcome"}
        # Nor is a grant continued at a stage of the competition.
        with pytest.raises(DomainError) as refused:
            propose(full, w.proposals["go"], Outcome.CONTINUE)
        assert "interim evaluation" in str(refused.value)
        kept = decision_of(w, "cond")
        assert kept.outcome == Outcome.CONTINUE_WITH_CONDITIONS
        assert kept.conditions == CONDITIONS


def test_four_eyes_on_continuation_is_refused_by_the_operation_and_by_the_database(  # type: ignore[no-untyped-def]
    app, proposed
):
    w = proposed
    with app.app_context():
        stage = db.session.get(Stage, w.stage_id)
        decision = decision_of(w, "go")
        with pytest.raises(PermissionDenied):
            decision_ops.confirm_decisions(stage, [decision.id], actor=user(OFFICER), now=utcnow())
        db.session.rollback()
        with pytest.raises(sa.exc.IntegrityError, match="four_eyes"):
            db.session.execute(
                sa.update(Decision)
                .where(Decision.id == decision.id)
                .values(
                    state=DecisionState.CONFIRMED,
                    confirmed_by_id=Decision.proposed_by_id,
                    confirmed_at=utcnow(),
                )
            )
        db.session.rollback()
        with pytest.raises(sa.exc.IntegrityError, match="conditions_when_continued"):
            db.session.execute(
                sa.update(Decision)
                .where(Decision.id == decision.id)
                .values(outcome=Outcome.CONTINUE_WITH_CONDITIONS, conditions="")
            )
        db.session.rollback()
        assert db.session.get(Decision, decision.id).confirmed_at is None


# --- publication ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def published(app, proposed) -> World:  # type: ignore[no-untyped-def]
    w = proposed
    with app.app_context():
        stage = db.session.get(Stage, w.stage_id)
        waiting = db.session.scalars(
            sa.select(Decision.id).where(Decision.stage_id == w.stage_id)
        ).all()
        decision_ops.confirm_decisions(stage, list(waiting), actor=user(SECOND), now=utcnow())
        w.seen["before"] = {name: amounts_of(w.grants[name]) for name in NAMES}
    officer = log_in(app, OFFICER)
    page = w.selection("publish")
    w.seen["publish_page"] = text(officer.get(page))
    started = post(officer, page, {})
    assert started.status_code == 303, text(started)
    return w


def test_continuing_releases_the_next_phase_with_the_submitted_amounts(app, published):  # type: ignore[no-untyped-def]
    w = published
    assert "the next phase's money is released" in w.seen["publish_page"]
    with app.app_context():
        for name, outcome in (
            ("go", PhaseOutcome.CONTINUED),
            ("cond", PhaseOutcome.CONTINUED_WITH_CONDITIONS),
        ):
            grant = db.session.get(Grant, w.grants[name])
            assert grant.state == GrantState.RUNNING
            first, second, third = grant.phases
            assert first.outcome == outcome
            assert second.released_at is not None and third.released_at is None
            by_year = {}
            for amount in grant.amounts:
                by_year.setdefault(amount.year, set()).add(amount.amount)
            expected = NEW_PER_YEAR if name == "go" else PER_YEAR
            assert all(by_year[year] == {expected} for year in (4, 5, 6))
            # The other phases' amounts are untouched.
            assert all(by_year[year] == {PER_YEAR} for year in (1, 2, 3, 7, 8, 9))
            assert db.session.get(Proposal, w.proposals[name]).state == ProposalState.FUNDED
        cond = db.session.get(Grant, w.grants["cond"])
        assert cond.phases[0].outcome_conditions == CONDITIONS
        released = db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == "grant.phase_released")
        ).all()
        assert sorted(int(e.object_id) for e in released) == sorted(
            [w.grants["go"], w.grants["cond"]]
        )
        go_event = next(e for e in released if int(e.object_id) == w.grants["go"])
        assert go_event.before["amount"] == "600000.00" and go_event.after["amount"] == "900000.00"
        assert {
            d.state
            for d in db.session.scalars(sa.select(Decision).where(Decision.stage_id == w.stage_id))
        } == {DecisionState.PUBLISHED}


def test_stopping_ends_the_grant_early_and_releases_nothing(app, published):  # type: ignore[no-untyped-def]
    w = published
    with app.app_context():
        grant = db.session.get(Grant, w.grants["halt"])
        assert grant.state == GrantState.ENDED_EARLY
        assert grant.phases[0].outcome == PhaseOutcome.STOPPED
        assert all(p.released_at is None for p in grant.phases[1:])
        # The funding ends with the evaluated phase.
        assert grant.ends_on == grant.phases[0].ends_on
        assert amounts_of(grant.id) == w.seen["before"]["halt"]
        assert db.session.get(Proposal, w.proposals["halt"]).state == ProposalState.FUNDED
        # The grant ended early before the evaluation was never part of it.
        ended = db.session.get(Grant, w.grants["ended"])
        assert ended.phases[0].outcome is None
        assert amounts_of(ended.id) == w.seen["before"]["ended"]


def test_each_coordinator_gets_the_letter_in_their_language_with_the_conditions(  # type: ignore[no-untyped-def]
    app, published
):
    w = published
    with app.app_context():
        letters = {
            m.to_address: m
            for m in db.session.scalars(
                sa.select(Notification).where(Notification.template == "selection/letter")
            )
        }
        assert set(letters) == {w.coordinators[n] for n in ("go", "cond", "halt")}
        german = letters[w.coordinators["go"]]
        assert german.context["letter"]["language"] == "de"
        assert german.context["letter"]["headline"] == (
            "Ihre Förderung wird in der nächsten Phase fortgesetzt"
        )
        assert "Projektjahre 4 bis 6" in german.body_text
        cond = letters[w.coordinators["cond"]]
        assert cond.context["letter"]["conditions"] == CONDITIONS
        assert "CONDITIONS" in cond.body_text and CONDITIONS in cond.body_text
        halt = letters[w.coordinators["halt"]].context["letter"]
        assert halt["headline"] == "Your grant does not continue into a further phase"
        assert "conditions" not in halt
        letter = f"/proposals/{w.proposals['cond']}/letters/{decision_of(w, 'cond').id}"
    assert CONDITIONS in text(log_in(app, w.coordinators["cond"]).get(letter))


def test_the_grant_page_shows_its_evaluations_to_the_consortium_and_the_officers(  # type: ignore[no-untyped-def]
    app, published
):
    w = published
    for email, officer in ((w.coordinators["cond"], False), (OFFICER, True)):
        page = as_person(app, email).get(f"/grants/{w.grants['cond']}").get_data(True)
        assert "Continued with conditions" in page
        assert CONDITIONS in page
        assert (f"/calls/{w.call_id}/stages/{w.stage_id}/selection/decisions" in page) == officer


# --- the competition is unchanged -----------------------------------------------------------------


def test_the_competition_still_funds_from_its_last_stage_and_keeps_its_stages_apart(  # type: ignore[no-untyped-def]
    app, started
):
    w = started
    with app.app_context():
        full = db.session.get(Stage, w.full_stage_id)
        stage = db.session.get(Stage, w.stage_id)
        call = db.session.get(Call, w.call_id)
        assert is_last_stage(full) and not is_last_stage(stage)
        assert rules_for(full).funding
        assert outcomes_for(full) == [Outcome.FUND, Outcome.RESERVE, Outcome.REJECT]
        assert [s.id for s in call.competition_stages] == [call.stages[0].id, full.id]
        with pytest.raises(DomainError, match="last stage"):
            propose(full, w.proposals["go"], Outcome.ADVANCE)
        summary = call_summaries([call.programme], now=utcnow())[call.id]
        assert summary.stage.id == full.id
        officer = user(OFFICER)
        with pytest.raises(DomainError, match="started from the call's funded grants"):
            setup.update_stage(
                full,
                actor=officer,
                kind=StageKind.INTERIM_EVALUATION,
                name=full.name,
                opens_at=full.opens_at,
                closes_at=full.closes_at,
                reviewers_per_proposal=3,
                max_load_per_juror=10,
                now=utcnow(),
            )
        with pytest.raises(DomainError, match="competition of this call is over"):
            setup.add_stage(
                call,
                actor=officer,
                kind=StageKind.HEARING,
                name="Hearing",
                opens_at=utcnow(),
                closes_at=utcnow() + dt.timedelta(days=1),
                now=utcnow(),
            )
        with pytest.raises(DomainError, match="keeps its place"):
            setup.move_stage(stage, actor=officer, offset=-1, now=utcnow())
        # The last competition stage has nowhere to move after the evaluation.
        assert setup.move_stage(full, actor=officer, offset=1, now=utcnow()) is False
        programme = call.programme_id
        db.session.rollback()
    officer_browser = log_in(app, OFFICER)
    page = text(officer_browser.get(f"/programmes/{programme}"))
    assert "Interim evaluation of phase 1: Interim evaluation of phase 1" in page
    evaluation = page[page.index(f'id="stage-{w.stage_id}"') :]
    assert "Move earlier" not in evaluation[: evaluation.index("</article>")]
    assert officer_browser.get(f"/programmes/{programme}/dashboard").status_code == 200
    # Its set-up page offers no other kind (it stays an interim evaluation) and saves it.
    edit_url = f"/calls/{w.call_id}/stages/{w.stage_id}/edit"
    edit = officer_browser.get(edit_url).get_data(as_text=True)
    kinds = edit[edit.index('name="kind"') : edit.index("</select>", edit.index('name="kind"'))]
    assert "Interim evaluation" in kinds and "Outline" not in kinds
    fields = form_fields(edit, edit_url)
    saved = officer_browser.client.post(edit_url, data=fields)
    assert saved.status_code == 302, text(saved)
    # The public call page shows the competition's stages only.
    public = text(app.test_client().get(f"/calls/{w.call_id}"))
    assert "Full proposal" in public and "Interim evaluation of phase 1" not in public
