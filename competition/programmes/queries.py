"""Loading programmes for the pages that show them."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from competition.accounts.models import User
from competition.extensions import db
from competition.programmes.models import Call, Criterion, Programme, ProgrammeOfficer, Stage
from competition.proposals.models import Proposal, ProposalState, StageSubmission


@dataclass(frozen=True)
class CallSummary:
    call: Call
    proposals_by_state: dict[ProposalState, int]

    @property
    def total(self) -> int:
        return sum(self.proposals_by_state.values())


def list_programmes_run_by(officer: User) -> list[Programme]:
    return list(
        db.session.scalars(
            sa.select(Programme)
            .join(ProgrammeOfficer)
            .where(ProgrammeOfficer.user_id == officer.id)
            .options(selectinload(Programme.calls).selectinload(Call.stages))
            .order_by(Programme.name)
        )
    )


def find_programme(programme_id: int) -> Programme | None:
    return db.session.get(Programme, programme_id)


def find_programme_for_page(programme_id: int) -> Programme | None:
    """The programme with its calls, their stages and the stages' criteria."""
    return db.session.scalar(
        sa.select(Programme)
        .where(Programme.id == programme_id)
        .options(
            selectinload(Programme.calls).selectinload(Call.stages).selectinload(Stage.criteria)
        )
    )


def find_call(call_id: int) -> Call | None:
    return db.session.get(Call, call_id)


def find_stage(stage_id: int) -> Stage | None:
    return db.session.get(Stage, stage_id)


def find_criterion(criterion_id: int) -> Criterion | None:
    return db.session.get(Criterion, criterion_id)


def stage_ids_with_submissions(stage_ids: list[int]) -> set[int]:
    """Those of ``stage_ids`` for which some proposal has started or submitted material."""
    if not stage_ids:
        return set()
    return set(
        db.session.scalars(
            sa.select(StageSubmission.stage_id)
            .where(StageSubmission.stage_id.in_(stage_ids))
            .distinct()
        )
    )


def stage_has_submissions(stage: Stage) -> bool:
    return (
        db.session.scalar(
            sa.select(StageSubmission.id).where(StageSubmission.stage_id == stage.id).limit(1)
        )
        is not None
    )


# Reviews sit above programmes (they import it), so their scores are read by table name here.
_REVIEW_SCORES = sa.table("review_scores", sa.column("review_id"), sa.column("criterion_id"))


def count_reviews_scoring(criterion: Criterion) -> int:
    """How many reviews, drafts included, hold a score for ``criterion``."""
    return (
        db.session.scalar(
            sa.select(sa.func.count(sa.distinct(_REVIEW_SCORES.c.review_id))).where(
                _REVIEW_SCORES.c.criterion_id == criterion.id
            )
        )
        or 0
    )


def programme_ids_run_by(officer: User) -> sa.Select[tuple[int]]:
    return sa.select(ProgrammeOfficer.programme_id).where(ProgrammeOfficer.user_id == officer.id)


def call_summaries(programmes: list[Programme]) -> dict[int, CallSummary]:
    call_ids = [call.id for programme in programmes for call in programme.calls]
    counts: dict[int, dict[ProposalState, int]] = {call_id: {} for call_id in call_ids}
    if call_ids:
        rows = db.session.execute(
            sa.select(Proposal.call_id, Proposal.state, sa.func.count())
            .where(Proposal.call_id.in_(call_ids))
            .group_by(Proposal.call_id, Proposal.state)
        )
        for call_id, state, count in rows:
            counts[call_id][state] = count
    calls = {call.id: call for programme in programmes for call in programme.calls}
    return {call_id: CallSummary(calls[call_id], counts[call_id]) for call_id in call_ids}
