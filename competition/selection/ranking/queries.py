"""What a ranking reads: the reviews that count (``counted_reviews``: submitted, for a released
assignment not given back, without a conflict), a stage's inputs with consensus scores, the
code version, and the stage's latest finished snapshot."""

from __future__ import annotations

from importlib import metadata
from typing import Any

import sqlalchemy as sa

from competition.assignment.models import Assignment, Conflict
from competition.core import ranking as core
from competition.db import on_postgresql
from competition.extensions import db
from competition.jobs.models import Job
from competition.kept import kept
from competition.programmes.models import Stage
from competition.reviews.models import Review, ReviewState
from competition.selection.models import ConsensusScore, Ranking, SnapshotState


def code_version() -> str:
    try:
        version = metadata.version("competition")
    except metadata.PackageNotFoundError:  # running from a plain checkout
        version = "unknown"
    return f"{core.ALGORITHM} competition {version}"


def conflicted() -> sa.Exists:
    """A condition on ``Assignment``: its juror has a conflict of interest with its proposal."""
    return (
        sa.select(Conflict.id)
        .where(
            Conflict.user_id == Assignment.user_id, Conflict.proposal_id == Assignment.proposal_id
        )
        .exists()
    )


def counted_reviews(stage: Stage) -> tuple[sa.ColumnElement[bool], ...]:
    """Which reviews count, as conditions on ``Assignment`` joined with its ``Review``: submitted,
    for a released assignment the juror has not given back, and never one with a conflict of
    interest. Rankings, letters and exports all use this one rule."""
    return (
        Assignment.stage_id == stage.id,
        Assignment.declined_at.is_(None),
        Assignment.released_at.is_not(None),
        Review.state == ReviewState.SUBMITTED,
        ~conflicted(),
    )


def stage_inputs(
    stage: Stage, *, proposal_id: int | None = None
) -> tuple[list[core.Criterion], list[core.ReviewScores], list[core.Override]]:
    """Submitted reviews of live assignments, never one with a conflict of interest; with
    ``proposal_id``, only that proposal's reviews and consensus scores (a letter needs no more)."""
    criteria = [
        core.Criterion(
            id=c.id,
            weight=float(c.weight),
            scale_min=float(c.scale_min),
            scale_max=float(c.scale_max),
            threshold=float(c.threshold) if c.threshold is not None else None,
            name=c.name,
        )
        for c in stage.criteria
    ]
    one = () if proposal_id is None else (Assignment.proposal_id == proposal_id,)
    rows = db.session.execute(
        sa.select(Assignment.proposal_id, Assignment.user_id, Review)
        .join(Review, Review.assignment_id == Assignment.id)
        .where(*counted_reviews(stage), *one)
        .order_by(Assignment.proposal_id, Assignment.user_id)
    ).all()
    reviews = [
        core.ReviewScores(
            proposal_id=p,
            juror_id=j,
            scores={row.criterion_id: float(row.score) for row in review.score_rows},
            confidence=review.confidence,
        )
        for p, j, review in rows
    ]
    overrides = [
        core.Override(c.proposal_id, c.criterion_id, float(c.score), c.reason)
        for c in db.session.scalars(
            sa.select(ConsensusScore)
            .where(
                ConsensusScore.stage_id == stage.id,
                *(() if proposal_id is None else (ConsensusScore.proposal_id == proposal_id,)),
            )
            .order_by(ConsensusScore.id)
        )
    ]
    return criteria, reviews, overrides


# Finished rankings kept parsed per process: a call of 20,000 proposals is ~10 MB of JSON,
# whose parsing cost more than the rest of the ranking page.
RESULTS_KEPT = 4


def result_of(ranking: Ranking) -> dict[str, Any]:
    """The ranking's stored result (read-only: shared between requests). A finished ranking
    never changes, so it is read from the database once per process."""
    if ranking.state != SnapshotState.DONE or not ranking.inputs_hash:
        return ranking.result
    key = (ranking.id, ranking.inputs_hash, ranking.code_version, ranking.created_at)
    return kept("ranking_results", key, lambda: ranking.result, size=RESULTS_KEPT)


def proposal_counts(ranking_ids: list[int]) -> dict[int, int]:
    """How many proposals each ranking ranked, counted in the database (the results are too
    large to load for a list of rankings)."""
    if not ranking_ids:
        return {}
    if on_postgresql():
        length = sa.func.jsonb_array_length(Ranking.result["proposals"])
    else:
        length = sa.func.json_array_length(Ranking.result, "$.proposals")
    rows = db.session.execute(
        sa.select(Ranking.id, sa.func.coalesce(length, 0)).where(Ranking.id.in_(ranking_ids))
    )
    return {ranking_id: int(count) for ranking_id, count in rows}


def latest_done(stage: Stage) -> Ranking | None:
    """The stage's newest finished ranking: the one the line, the panel and decisions use."""
    return db.session.scalar(
        sa.select(Ranking)
        .join(Job, Job.id == Ranking.job_id)
        .where(Ranking.stage_id == stage.id, Job.state == SnapshotState.DONE)
        .order_by(Ranking.id.desc())
        .limit(1)
    )
