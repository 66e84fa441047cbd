"""Ranking snapshots of a stage: the submitted reviews aggregated and calibrated by
competition.core.ranking, run as a background task and stored once, with the method, its
parameters, the hash of every input and the code version. ``recompute`` proves a snapshot:
the same inputs give the same numbers, to the last digit of the stored JSON."""

from __future__ import annotations

import datetime as dt
import json
import logging
from importlib import metadata
from typing import Any

import sqlalchemy as sa

from competition.accounts.models import User
from competition.assignment.models import Assignment, Conflict
from competition.audit.operations import record_event
from competition.core import ranking as core
from competition.db import add_unique, operation, utcnow
from competition.errors import StaleState
from competition.extensions import db
from competition.permissions import require
from competition.programmes.models import Stage
from competition.reviews.models import Review, ReviewState
from competition.selection.models import ConsensusScore, Ranking, RankingMethod, SnapshotState
from competition.selection.permissions import can_rank
from competition.selection.rules import rules_for
from competition.tasks import enqueue
from competition.workflow import apply_step

log = logging.getLogger(__name__)

# Rankings take seconds; one still queued or running after this lost its worker, and it must not
# block the stage: starting a new one marks it failed.
RANKING_LEASE = dt.timedelta(minutes=30)


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


def latest_done(stage: Stage) -> Ranking | None:
    """The stage's newest finished ranking: the one the line, the panel and decisions use."""
    return db.session.scalar(
        sa.select(Ranking)
        .where(Ranking.stage_id == stage.id, Ranking.state == SnapshotState.DONE)
        .order_by(Ranking.id.desc())
        .limit(1)
    )


def _options(ranking: Ranking) -> core.RankingOptions:
    params = dict(ranking.params)
    params["tie_rule"] = tuple(params.get("tie_rule", ()))
    return core.RankingOptions(method=ranking.method.value, **params)  # type: ignore[arg-type]


@operation
def start_ranking(
    stage: Stage,
    *,
    actor: User,
    method: RankingMethod,
    now: dt.datetime,
    options: dict[str, Any] | None = None,
) -> Ranking:
    """Queue a ranking of the stage's submitted reviews. Options are those of
    ``core.ranking.RankingOptions`` except the method; the stage's selection rules fill the
    rest; the seed is fixed here and recorded.
    Side effects: the snapshot row; audit ``ranking.started``; a ``selection.rank`` task."""
    require(can_rank(actor, stage))
    # The stage's rules (tie rule, thresholds) come first; a caller may only add to them.
    params = {
        "seed": int(now.timestamp()) % 2**31,
        **rules_for(stage).ranking_options(),
        **(options or {}),
    }
    # Checked now, so a bad option is refused at the form, not in the worker.
    core.RankingOptions(
        method=method.value, **{**params, "tie_rule": tuple(params.get("tie_rule", ()))}
    )  # type: ignore[arg-type]
    _fail_abandoned(stage, now=now)
    ranking = Ranking(
        stage_id=stage.id,
        method=method,
        params=params,
        state=SnapshotState.QUEUED,
        message="Waiting for a worker to start.",
        code_version=code_version(),
        result={},
        created_by_id=actor.id,
        created_at=now,
    )
    add_unique(ranking, taken=StaleState("A ranking of this stage is already being computed."))
    record_event(
        actor=actor,
        action="ranking.started",
        object_type="stage",
        object_id=stage.id,
        after={"ranking": ranking.id, "method": method.value, **params},
        now=now,
    )
    enqueue("selection.rank", ranking_id=ranking.id)
    return ranking


def _fail_abandoned(stage: Stage, *, now: dt.datetime) -> None:
    abandoned = db.session.scalars(
        sa.select(Ranking)
        .where(
            Ranking.stage_id == stage.id,
            Ranking.state.in_((SnapshotState.QUEUED, SnapshotState.RUNNING)),
            Ranking.created_at < now - RANKING_LEASE,
        )
        .with_for_update()
    ).all()
    for ranking in abandoned:
        apply_step(
            ranking,
            "fail",
            actor=None,
            now=now,
            values={
                "message": "Abandoned: no worker finished it; a new ranking was started.",
                "finished_at": now,
            },
        )


@operation
def _claim(ranking_id: int) -> bool:
    ranking = db.session.get(Ranking, ranking_id, with_for_update=True)
    if ranking is None or ranking.state != SnapshotState.QUEUED:
        return False
    apply_step(ranking, "start", actor=None, now=utcnow(), values={"message": "Computing."})
    return True


@operation
def _finish(ranking_id: int, result: core.Ranking | None, problems: list[str]) -> None:
    ranking = db.session.get(Ranking, ranking_id, with_for_update=True)
    assert ranking is not None
    if ranking.state != SnapshotState.RUNNING:  # given up as abandoned meanwhile
        return
    now = utcnow()
    if result is None:
        apply_step(
            ranking,
            "fail",
            actor=None,
            now=now,
            values={
                "message": "The reviews cannot be ranked: " + "; ".join(problems),
                "finished_at": now,
            },
        )
    else:
        apply_step(
            ranking,
            "finish",
            actor=None,
            now=now,
            values={
                "message": "Done.",
                "result": json.loads(result.to_json()),
                "inputs_hash": result.inputs_hash,
                "finished_at": now,
            },
        )
    record_event(
        actor=None,
        action="ranking.finished",
        object_type="stage",
        object_id=ranking.stage_id,
        after={
            "ranking": ranking.id,
            "state": ranking.state.value,
            "inputs_hash": ranking.inputs_hash,
            "proposals": len(result.proposals) if result else 0,
        },
        now=now,
    )


def compute(ranking: Ranking) -> core.Ranking:
    stage = db.session.get(Stage, ranking.stage_id)
    assert stage is not None
    criteria, reviews, overrides = stage_inputs(stage)
    return core.rank_proposals(criteria, reviews, overrides=overrides, options=_options(ranking))


def execute_ranking(ranking_id: int) -> SnapshotState | None:
    """The worker's part. Running it twice does nothing the second time."""
    if not _claim(ranking_id):
        return None
    ranking = db.session.get(Ranking, ranking_id)
    assert ranking is not None
    try:
        result = compute(ranking)
    except core.InvalidRankingInput as error:
        db.session.rollback()
        _finish(ranking_id, None, list(error.problems))
        return SnapshotState.FAILED
    except Exception:
        log.exception("ranking %s failed", ranking_id)
        db.session.rollback()
        _finish(ranking_id, None, ["an internal error; start it again"])
        return SnapshotState.FAILED
    _finish(ranking_id, result, [])
    return SnapshotState.DONE


def recompute(ranking: Ranking) -> bool:
    """Whether the stored snapshot is what its inputs give today (same hash, same numbers)."""
    if ranking.state != SnapshotState.DONE:
        return False
    again = compute(ranking)
    return (
        again.inputs_hash == ranking.inputs_hash and json.loads(again.to_json()) == ranking.result
    )
