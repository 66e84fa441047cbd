"""Reading interim evaluations: which grants of a call run in a phase that an evaluation ends,
the call's evaluation stages with their progress, and a grant's evaluations for its page."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from competition.accounts.models import User
from competition.extensions import db
from competition.grants.models import Grant, GrantKind, GrantPhase, GrantState
from competition.grants.permissions import is_grant_officer
from competition.i18n import lazy_gettext as _l
from competition.programmes.models import Call, Stage, StageKind
from competition.proposals.models import StageSubmission, SubmissionState
from competition.selection.models import Decision, Outcome

# What the grant's page says of an evaluation's outcome once it is published.
OUTCOME_WORDS = {
    Outcome.CONTINUE: _l("Continued into the next phase"),
    Outcome.CONTINUE_WITH_CONDITIONS: _l("Continued with conditions"),
    Outcome.STOP: _l("Stopped: no further phase"),
}


def released_phase(grant: Grant) -> GrantPhase | None:
    """The latest phase whose money is released: the one the grant runs in."""
    released = [p for p in grant.phases if p.released_at is not None]
    return max(released, key=lambda p: p.number, default=None)


def phase_after(grant: Grant, number: int) -> GrantPhase | None:
    return next((p for p in grant.phases if p.number == number + 1), None)


def runs_in_phase(grant: Grant, phase: int) -> bool:
    """A running project grant in ``phase`` with a phase after it that is not released yet:
    the grants an interim evaluation of ``phase`` takes in. A grant ended early, declined or
    not yet started is none."""
    if grant.kind != GrantKind.PROJECT or grant.state != GrantState.RUNNING:
        return False
    current = released_phase(grant)
    following = phase_after(grant, phase)
    return (
        current is not None
        and current.number == phase
        and following is not None
        and following.released_at is None
    )


def project_grants(call: Call, *, for_update: bool = False) -> list[Grant]:
    """The call's project grants with their phases and proposals, by reference."""
    query = (
        sa.select(Grant)
        .where(Grant.call_id == call.id, Grant.kind == GrantKind.PROJECT)
        .options(selectinload(Grant.phases), selectinload(Grant.proposal))
        .order_by(Grant.id)
    )
    if for_update:
        query = query.with_for_update(of=Grant)
    grants = list(db.session.scalars(query))
    return sorted(grants, key=lambda g: g.proposal.reference)


def grants_in_phase(call: Call, phase: int, *, for_update: bool = False) -> list[Grant]:
    return [g for g in project_grants(call, for_update=for_update) if runs_in_phase(g, phase)]


def evaluation_stage(call: Call, phase: int) -> Stage | None:
    return db.session.scalar(
        sa.select(Stage).where(
            Stage.call_id == call.id,
            Stage.kind == StageKind.INTERIM_EVALUATION,
            Stage.evaluates_phase == phase,
        )
    )


def evaluated_phases(call: Call) -> list[int]:
    """The phases of the call's grants that an interim evaluation has been started for."""
    return list(
        db.session.scalars(
            sa.select(Stage.evaluates_phase)
            .where(Stage.call_id == call.id, Stage.kind == StageKind.INTERIM_EVALUATION)
            .order_by(Stage.evaluates_phase)
        )
    )


@dataclass(frozen=True)
class PhaseToEvaluate:
    phase: int
    grants: list[Grant]  # running in the phase, not yet in an evaluation


def phases_to_evaluate(call: Call) -> list[PhaseToEvaluate]:
    """Each phase some of the call's grants run in and an evaluation would end, with them."""
    by_phase: dict[int, list[Grant]] = {}
    for grant in project_grants(call):
        current = released_phase(grant)
        if current is not None and runs_in_phase(grant, current.number):
            by_phase.setdefault(current.number, []).append(grant)
    return [PhaseToEvaluate(phase, grants) for phase, grants in sorted(by_phase.items())]


@dataclass(frozen=True)
class EvaluationSummary:
    stage: Stage
    grants: int  # submissions opened for it
    submitted: int
    decided: dict[Outcome, int]  # confirmed decisions by outcome
    published: int


def evaluations_of(call: Call) -> list[EvaluationSummary]:
    """The call's interim evaluations, by phase, with how far each has come (three queries)."""
    stages = list(
        db.session.scalars(
            sa.select(Stage)
            .where(Stage.call_id == call.id, Stage.kind == StageKind.INTERIM_EVALUATION)
            .order_by(Stage.evaluates_phase)
        )
    )
    ids = [s.id for s in stages]
    opened: dict[int, tuple[int, int]] = {}
    decided: dict[int, dict[Outcome, int]] = {}
    published: dict[int, int] = {}
    if ids:
        for stage_id, count, submitted in db.session.execute(
            sa.select(
                StageSubmission.stage_id,
                sa.func.count(StageSubmission.id),
                sa.func.count(StageSubmission.id).filter(
                    StageSubmission.state == SubmissionState.SUBMITTED
                ),
            )
            .where(StageSubmission.stage_id.in_(ids))
            .group_by(StageSubmission.stage_id)
        ):
            opened[stage_id] = (count, submitted)
        for stage_id, outcome, count, out in db.session.execute(
            sa.select(
                Decision.stage_id,
                Decision.outcome,
                sa.func.count(Decision.id),
                sa.func.count(Decision.published_at),
            )
            .where(Decision.stage_id.in_(ids), Decision.confirmed_at.is_not(None))
            .group_by(Decision.stage_id, Decision.outcome)
        ):
            decided.setdefault(stage_id, {})[outcome] = count
            published[stage_id] = published.get(stage_id, 0) + out
    return [
        EvaluationSummary(
            stage=s,
            grants=opened.get(s.id, (0, 0))[0],
            submitted=opened.get(s.id, (0, 0))[1],
            decided=decided.get(s.id, {}),
            published=published.get(s.id, 0),
        )
        for s in stages
    ]


# --- the grant's page ------------------------------------------------------------------------


@dataclass(frozen=True)
class EvaluationRow:
    stage: Stage
    submission: StageSubmission | None
    # The decision as the reader may know it: published for the consortium; officers also
    # see one confirmed or proposed and not yet published.
    decision: Decision | None

    @property
    def phase(self) -> int:
        return self.stage.evaluates_phase or 0

    @property
    def submitted(self) -> bool:
        return self.submission is not None and self.submission.state == SubmissionState.SUBMITTED

    @property
    def published(self) -> bool:
        return self.decision is not None and self.decision.published_at is not None

    @property
    def outcome_words(self) -> str:
        if self.decision is None:
            return ""
        return str(OUTCOME_WORDS.get(self.decision.outcome, ""))


@dataclass(frozen=True)
class EvaluationPanel:
    grant: Grant
    rows: list[EvaluationRow]
    officer: bool
    now: dt.datetime


def panel(grant: Grant, viewer: User, *, now: dt.datetime) -> EvaluationPanel:
    """The grant's interim evaluations, each with the consortium's submission and the decision
    as ``viewer`` may know it (two queries)."""
    officer = is_grant_officer(viewer, grant)
    stages = list(
        db.session.scalars(
            sa.select(Stage)
            .join(StageSubmission, StageSubmission.stage_id == Stage.id)
            .where(
                Stage.call_id == grant.call_id,
                Stage.kind == StageKind.INTERIM_EVALUATION,
                StageSubmission.proposal_id == grant.proposal_id,
            )
            .options(selectinload(Stage.call))
            .order_by(Stage.evaluates_phase)
        )
    )
    ids = [s.id for s in stages]
    submissions: dict[int, StageSubmission] = {}
    decisions: dict[int, Decision] = {}
    if ids:
        for submission in db.session.scalars(
            sa.select(StageSubmission).where(
                StageSubmission.stage_id.in_(ids),
                StageSubmission.proposal_id == grant.proposal_id,
            )
        ):
            submissions[submission.stage_id] = submission
        shown = sa.true() if officer else Decision.published_at.is_not(None)
        for decision in db.session.scalars(
            sa.select(Decision).where(
                Decision.stage_id.in_(ids), Decision.proposal_id == grant.proposal_id, shown
            )
        ):
            decisions[decision.stage_id] = decision
    rows = [EvaluationRow(s, submissions.get(s.id), decisions.get(s.id)) for s in stages]
    return EvaluationPanel(grant=grant, rows=rows, officer=officer, now=now)
