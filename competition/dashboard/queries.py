"""What a programme's dashboard shows, read in a handful of queries at any size: per round the
funnel (entries → eligible → finalists → winners), the money committed against the round's
envelope and the programme's total, the review progress of each stage, the next deadlines, and
the grants' reports that are overdue.

Counts are computed by the database (GROUP BY per call or stage), never per proposal, so the
page costs the same at 20 proposals and at 20,000.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from competition.extensions import db
from competition.grants.reports.queries import ReportRow, overdue_reports
from competition.programmes.models import Call, Programme, Stage
from competition.proposals.models import (
    BudgetLine,
    Proposal,
    StageSubmission,
    SubmissionState,
)
from competition.reviews.queries import Counts, totals_by_stage
from competition.screening.models import ScreeningResult, Verdict
from competition.selection.models import Decision, Outcome

CENT = Decimal("0.01")


def envelope_of(call: Call) -> Decimal | None:
    """The round's budget envelope inside the programme's total, or None where the round has
    none (and before calls kept one): every page reads it here, so the column can come later."""
    return getattr(call, "budget_envelope", None)


@dataclass(frozen=True)
class Funnel:
    """A round's proposals at each step. ``finalists`` is None for a round of one stage: nobody
    advances there."""

    created: int  # proposals started, whatever became of them
    submitted: int  # handed in at the first stage (and not withdrawn)
    eligible: int  # found eligible at the first stage's screening
    finalists: int | None  # invited to the next stage (confirmed "advance" at the first stage)
    winners: int  # selected for funding (confirmed "fund" at any stage)


@dataclass(frozen=True)
class Money:
    """Committed funding (the requested public funding of confirmed "fund" decisions) against a
    budget; ``budget`` None where there is none to count against."""

    budget: Decimal | None
    committed: Decimal

    @property
    def left(self) -> Decimal | None:
        return None if self.budget is None else self.budget - self.committed

    @property
    def overspent(self) -> bool:
        return self.budget is not None and self.committed > self.budget

    @property
    def share(self) -> Decimal | None:
        """Committed as a percentage of the budget (one decimal)."""
        if not self.budget:
            return None
        return (self.committed * 100 / self.budget).quantize(Decimal("0.1"))


@dataclass(frozen=True)
class StageReviews:
    """A stage's reviews, counted as the stage's progress page counts them: released
    assignments not given back and without a conflict."""

    stage: Stage
    released: int
    submitted: int
    drafted: int
    overdue: int  # still outstanding after the stage's review due date

    @property
    def due(self) -> int:
        """Reviews still to be submitted."""
        return self.released - self.submitted

    @property
    def share(self) -> Decimal | None:
        if not self.released:
            return None
        return (Decimal(self.submitted) * 100 / self.released).quantize(Decimal("0.1"))


class DeadlineKind(enum.StrEnum):
    CLOSES = "closes"  # the stage stops taking submissions
    REVIEWS_DUE = "reviews_due"  # the jurors' reviews are due


@dataclass(frozen=True)
class Deadline:
    when: dt.datetime
    kind: DeadlineKind
    call: Call
    stage: Stage


@dataclass(frozen=True)
class Round:
    call: Call
    funnel: Funnel
    money: Money  # against the round's envelope
    reviews: list[StageReviews]


@dataclass(frozen=True)
class ProgrammeDashboard:
    programme: Programme
    rounds: list[Round]
    money: Money  # against the programme's total
    deadlines: list[Deadline]
    # Reports of the programme's grants owed after their due time, the longest overdue first.
    late_reports: list[ReportRow]

    @property
    def late_reports_shown(self) -> list[ReportRow]:
        return self.late_reports[:LATE_REPORTS]


# How many coming deadlines the page lists.
DEADLINES = 8
# How many late reports the page lists (the reports list has them all).
LATE_REPORTS = 10


def find_programme_with_stages(programme_id: int) -> Programme | None:
    return db.session.scalar(
        sa.select(Programme)
        .where(Programme.id == programme_id)
        .options(selectinload(Programme.calls).selectinload(Call.stages))
    )


def programme_dashboard(programme: Programme, *, now: dt.datetime) -> ProgrammeDashboard:
    """Everything the dashboard shows for ``programme`` (loaded with its calls and stages by
    ``find_programme_with_stages``): six queries, whatever the number of proposals."""
    calls = list(programme.calls)
    call_ids = [call.id for call in calls]
    first = {call.id: _first_stage(call) for call in calls}
    first_ids = [stage.id for stage in first.values() if stage is not None]
    stage_ids = [stage.id for call in calls for stage in call.stages]

    entries = _entries(call_ids, first_ids)
    eligible = _eligible(first_ids)
    finalists, winners = _decided(call_ids, first_ids)
    committed = _committed(call_ids)
    reviews = totals_by_stage(stage_ids)

    rounds = []
    for call in calls:
        created, submitted = entries.get(call.id, (0, 0))
        funnel = Funnel(
            created=created,
            submitted=submitted,
            eligible=eligible.get(call.id, 0),
            finalists=finalists.get(call.id, 0) if len(call.stages) > 1 else None,
            winners=winners.get(call.id, 0),
        )
        rounds.append(
            Round(
                call=call,
                funnel=funnel,
                money=Money(envelope_of(call), committed.get(call.id, Decimal(0))),
                reviews=[
                    _stage_reviews(stage, reviews.get(stage.id), now=now)
                    for stage in sorted(call.stages, key=lambda s: s.position)
                ],
            )
        )
    total = Money(programme.total_budget, sum(committed.values(), Decimal(0)).quantize(CENT))
    return ProgrammeDashboard(
        programme=programme,
        rounds=rounds,
        money=total,
        deadlines=next_deadlines(calls, now=now),
        late_reports=overdue_reports(programme.id, now=now),
    )


def next_deadlines(calls: list[Call], *, now: dt.datetime) -> list[Deadline]:
    """The coming closing times and review due dates of the calls' stages, soonest first."""
    found = []
    for call in calls:
        for stage in call.stages:
            if stage.closes_at > now:
                found.append(Deadline(stage.closes_at, DeadlineKind.CLOSES, call, stage))
            if stage.reviews_due_at is not None and stage.reviews_due_at > now:
                found.append(Deadline(stage.reviews_due_at, DeadlineKind.REVIEWS_DUE, call, stage))
    found.sort(key=lambda d: (d.when, d.call.round_number, d.stage.position, d.kind.value))
    return found[:DEADLINES]


def _first_stage(call: Call) -> Stage | None:
    return min(call.stages, key=lambda s: s.position, default=None)


def _stage_reviews(stage: Stage, counts: Counts | None, *, now: dt.datetime) -> StageReviews:
    counts = counts or Counts(0, 0, 0)
    released, submitted, drafted = counts.assigned, counts.submitted, counts.drafted
    late = stage.reviews_due_at is not None and now > stage.reviews_due_at
    return StageReviews(
        stage=stage,
        released=released,
        submitted=submitted,
        drafted=drafted,
        overdue=released - submitted if late else 0,
    )


def _entries(call_ids: list[int], first_ids: list[int]) -> dict[int, tuple[int, int]]:
    """Per call: proposals created, and those whose first-stage submission is handed in."""
    if not call_ids:
        return {}
    rows = db.session.execute(
        sa.select(Proposal.call_id, sa.func.count(Proposal.id), sa.func.count(StageSubmission.id))
        .select_from(Proposal)
        .outerjoin(
            StageSubmission,
            sa.and_(
                StageSubmission.proposal_id == Proposal.id,
                StageSubmission.stage_id.in_(first_ids),
                StageSubmission.state == SubmissionState.SUBMITTED,
            ),
        )
        .where(Proposal.call_id.in_(call_ids))
        .group_by(Proposal.call_id)
    )
    return {call_id: (created, submitted) for call_id, created, submitted in rows}


def _eligible(first_ids: list[int]) -> dict[int, int]:
    """Per call: proposals found eligible at the first stage's screening."""
    if not first_ids:
        return {}
    rows = db.session.execute(
        sa.select(Stage.call_id, sa.func.count(ScreeningResult.id))
        .join(Stage, Stage.id == ScreeningResult.stage_id)
        .where(ScreeningResult.stage_id.in_(first_ids), ScreeningResult.verdict == Verdict.ELIGIBLE)
        .group_by(Stage.call_id)
    )
    return {call_id: count for call_id, count in rows}


def _decided(call_ids: list[int], first_ids: list[int]) -> tuple[dict[int, int], dict[int, int]]:
    """Per call: confirmed invitations from the first stage, and confirmed "fund" decisions at
    any stage (published ones are confirmed too)."""
    finalists: dict[int, int] = {}
    winners: dict[int, int] = {}
    if not call_ids:
        return finalists, winners
    rows = db.session.execute(
        sa.select(Stage.call_id, Decision.stage_id, Decision.outcome, sa.func.count(Decision.id))
        .join(Stage, Stage.id == Decision.stage_id)
        .where(
            Stage.call_id.in_(call_ids),
            Decision.confirmed_at.is_not(None),
            Decision.outcome.in_((Outcome.ADVANCE, Outcome.FUND)),
        )
        .group_by(Stage.call_id, Decision.stage_id, Decision.outcome)
    )
    for call_id, stage_id, outcome, count in rows:
        if outcome == Outcome.FUND:
            winners[call_id] = winners.get(call_id, 0) + count
        elif stage_id in first_ids:
            finalists[call_id] = finalists.get(call_id, 0) + count
    return finalists, winners


def _committed(call_ids: list[int]) -> dict[int, Decimal]:
    """Per call: the public funding requested, at the decision's stage, by the proposals whose
    funding is confirmed; the rule of ``selection.line.queries.remaining_budget``."""
    if not call_ids:
        return {}
    rows = db.session.execute(
        sa.select(Stage.call_id, sa.func.coalesce(sa.func.sum(BudgetLine.public_funding), 0))
        .select_from(Decision)
        .join(Stage, Stage.id == Decision.stage_id)
        .join(
            StageSubmission,
            sa.and_(
                StageSubmission.proposal_id == Decision.proposal_id,
                StageSubmission.stage_id == Decision.stage_id,
            ),
        )
        .join(BudgetLine, BudgetLine.submission_id == StageSubmission.id)
        .where(
            Stage.call_id.in_(call_ids),
            Decision.outcome == Outcome.FUND,
            Decision.confirmed_at.is_not(None),
        )
        .group_by(Stage.call_id)
    )
    return {call_id: Decimal(amount).quantize(CENT) for call_id, amount in rows}
