"""Ranking snapshots on PostgreSQL: the submitted reviews of a stage ranked in-process and by a
real worker, stored with the inputs' hash and code version, and recomputed to the same numbers;
reviews that are drafts, declined or conflicted never count."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import sqlalchemy as sa

from competition.accounts.models import User
from competition.assignment import runs
from competition.assignment.models import Assignment, AssignmentState, Conflict, ConflictSource
from competition.db import utcnow
from competition.errors import StaleState
from competition.extensions import db
from competition.jobs import operations as jobs
from competition.programmes.models import Criterion, Stage
from competition.reviews.models import Review, ReviewState
from competition.selection.models import Ranking, RankingMethod, SnapshotState
from competition.selection.ranking import operations as ranking_operations
from competition.selection.ranking import queries as ranking_queries
from tests.factories import make_job, make_review
from tests.integration.test_assignment_runs import World, build_world
from tests.integration.test_worker import wait_until


def reviewed_world() -> World:
    """Six proposals, two reviews each, all submitted; proposal i scores about i / 2."""
    world = build_world()
    stage = db.session.get(Stage, world.stage_id)
    for position, (name, weight) in enumerate([("Excellence", "0.6"), ("Impact", "0.4")], 1):
        stage.criteria.append(
            Criterion(
                position=position,
                name=name,
                weight=Decimal(weight),
                scale_min=Decimal("0"),
                scale_max=Decimal("5"),
                scale_step=Decimal("0.5"),
            )
        )
    db.session.commit()
    officer = db.session.scalar(sa.select(User).where(User.email == world.officer))
    runs.start_run(stage, actor=officer, options=runs.Options(), now=utcnow())
    runs.release(stage, actor=officer, now=utcnow())
    criteria = [c.id for c in stage.criteria]
    for assignment in db.session.scalars(sa.select(Assignment).order_by(Assignment.id)):
        level = world.proposals.index(assignment.proposal_id) / 2
        make_review(
            assignment,
            state=ReviewState.SUBMITTED,
            scores={str(c): str(level + (0.5 if assignment.user_id % 2 else 0)) for c in criteria},
        )
    db.session.commit()
    return world


def rank(world: World, method: RankingMethod = RankingMethod.BIAS_MODEL) -> Ranking:
    stage = db.session.get(Stage, world.stage_id)
    officer = db.session.scalar(sa.select(User).where(User.email == world.officer))
    return ranking_operations.start_ranking(
        stage, actor=officer, method=method, now=utcnow(), options={"draws": 50, "min_reviews": 2}
    )


@pytest.mark.parametrize("method", list(RankingMethod))
def test_a_stage_is_ranked_and_the_snapshot_recomputes_to_the_same_numbers(ctx, method):
    world = reviewed_world()

    ranking = rank(world, method)

    db.session.refresh(ranking)
    assert ranking.state == SnapshotState.DONE, ranking.message
    assert ranking.inputs_hash and ranking.code_version.startswith("ranking/")
    order = [row["proposal_id"] for row in ranking.result["proposals"]]
    # The best-scored proposal comes first.
    assert order[0] == world.proposals[-1]
    assert ranking_operations.recompute(ranking)


def test_a_changed_review_makes_the_old_snapshot_differ(ctx):
    world = reviewed_world()
    ranking = rank(world)
    db.session.refresh(ranking)
    review = db.session.scalar(sa.select(Review).order_by(Review.id).limit(1))
    review.scores = {k: "5" for k in review.scores}
    db.session.commit()

    assert not ranking_operations.recompute(ranking)


def test_drafts_declined_and_conflicted_reviews_do_not_count(ctx):
    world = reviewed_world()
    stage = db.session.get(Stage, world.stage_id)
    _, before, _ = ranking_queries.stage_inputs(stage)
    first, second, third = db.session.scalars(sa.select(Review).order_by(Review.id).limit(3))
    first.state = ReviewState.DRAFT
    assignment = db.session.get(Assignment, second.assignment_id)
    assignment.declined_at = utcnow() - dt.timedelta(hours=1)
    assignment.state = AssignmentState.DECLINED
    conflicted = db.session.get(Assignment, third.assignment_id)
    db.session.add(
        Conflict(
            user_id=conflicted.user_id,
            proposal_id=conflicted.proposal_id,
            source=ConflictSource.OFFICER,
            reason="Found after the review.",
            created_at=utcnow(),
        )
    )
    db.session.commit()

    _, after, _ = ranking_queries.stage_inputs(stage)

    assert len(after) == len(before) - 3


@pytest.mark.worker
@pytest.mark.redis
def test_the_ranking_task_runs_on_a_real_worker(make_app, redis_url, worker_factory):
    worker = worker_factory()
    with make_app().app_context():  # the assignment in-process, to have reviews to rank
        world = reviewed_world()
    app = make_app(redis_url=redis_url, task_queue=worker_factory.queue)
    with app.app_context():
        ranking_id = rank(world).id

    def done() -> bool:
        with app.app_context():
            state = db.session.get(Ranking, ranking_id).state
            return state in (SnapshotState.DONE, SnapshotState.FAILED)

    wait_until(done, what="the ranking")
    with app.app_context():
        ranking = db.session.get(Ranking, ranking_id)
        assert ranking.state == SnapshotState.DONE, worker.log()
        assert ranking_operations.recompute(ranking)


def test_a_ranking_started_on_a_simulated_day_ends_on_that_day(ctx):
    """The demo's simulation ranks on its own calendar: the ranking must not read "started in
    March, finished in December"."""
    world = reviewed_world()
    stage = db.session.get(Stage, world.stage_id)
    officer = db.session.scalar(sa.select(User).where(User.email == world.officer))
    simulated = utcnow() + dt.timedelta(days=110)

    ranking = ranking_operations.start_ranking(
        stage, actor=officer, method=RankingMethod.RAW, now=simulated, options={"min_reviews": 2}
    )

    db.session.refresh(ranking)
    assert ranking.state == SnapshotState.DONE, ranking.message
    assert ranking.created_at == simulated
    assert simulated <= ranking.finished_at < simulated + dt.timedelta(minutes=5)


def test_a_ranking_whose_worker_died_does_not_block_the_stage(ctx):
    world = reviewed_world()
    officer = db.session.scalar(sa.select(User).where(User.email == world.officer))

    def left_running(age: dt.timedelta) -> Ranking:
        row = Ranking(
            stage_id=world.stage_id,
            method=RankingMethod.RAW,
            params={},
            job=make_job(
                "selection.rank",
                world.stage_id,
                state=SnapshotState.RUNNING,
                message="Computing.",
                started_by_id=officer.id,
                created_at=utcnow() - age,
                heartbeat_at=utcnow() - age,
            ),
            created_by_id=officer.id,
            created_at=utcnow() - age,
        )
        db.session.add(row)
        db.session.commit()
        return row

    recent = left_running(dt.timedelta(seconds=5))
    with pytest.raises(StaleState, match="already being computed"):
        rank(world)
    db.session.rollback()
    recent.job.heartbeat_at = utcnow() - jobs.timeout() - dt.timedelta(seconds=1)
    db.session.commit()

    fresh = rank(world)

    db.session.refresh(recent)
    db.session.refresh(fresh)
    assert recent.state == SnapshotState.FAILED and "stopped without finishing" in recent.message
    assert fresh.state == SnapshotState.DONE, fresh.message


def test_an_in_process_ranking_that_raises_fails_at_once_and_leaves_the_stage_free(
    ctx, monkeypatch
):
    world = reviewed_world()

    def broken(ranking: Ranking) -> None:
        raise RuntimeError("out of memory")

    monkeypatch.setattr(ranking_operations, "compute", broken)
    failed = rank(world)
    monkeypatch.undo()
    fresh = rank(world)

    db.session.refresh(failed)
    db.session.refresh(fresh)
    assert failed.state == SnapshotState.FAILED and "internal error" in failed.message
    assert failed.job.finished_at is not None
    assert fresh.state == SnapshotState.DONE, fresh.message


def test_an_interrupted_in_process_ranking_is_failed_at_once(ctx, monkeypatch):
    world = reviewed_world()

    def interrupted(ranking: Ranking) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(ranking_operations, "compute", interrupted)
    with pytest.raises(KeyboardInterrupt):
        rank(world)
    monkeypatch.undo()
    [stopped] = db.session.scalars(sa.select(Ranking)).all()
    fresh = rank(world)

    db.session.refresh(stopped)
    assert stopped.state == SnapshotState.FAILED and "stopped without finishing" in stopped.message
    assert db.session.get(Ranking, fresh.id).state == SnapshotState.DONE
