"""The assignment task on Redis with real worker processes: the run reports its progress and
result; a worker killed in the middle of storing the result leaves the previous assignment
untouched, and starting again gives the same assignment."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from competition.assignment import stage_problem
from competition.assignment.models import Assignment, AssignmentRun, RunState
from competition.core import assignment as engine
from competition.core.texts import load
from competition.extensions import db
from competition.jobs import operations as jobs
from competition.programmes.models import Stage
from tests.helpers import as_person, text
from tests.integration.test_assignment_runs import World, build_world, pairs, runs_of, start
from tests.integration.test_worker import (
    forget_killed_tasks,  # noqa: F401  (a fixture)
    wait_until,
)

pytestmark = [pytest.mark.worker, pytest.mark.redis]

HEARTBEAT, TIMEOUT = 1, 3


def last_run(app, world: World) -> AssignmentRun:  # type: ignore[no-untyped-def]
    return runs_of(app, world)[-1]


def finished(app, world: World) -> bool:  # type: ignore[no-untyped-def]
    found = runs_of(app, world)
    return bool(found) and found[-1].state in (RunState.DONE, RunState.FAILED)


def expected_pairs(app, world: World) -> list[tuple[int, int]]:  # type: ignore[no-untyped-def]
    with app.app_context():
        stage = db.session.get(Stage, world.stage_id)
        built = stage_problem.build(stage, stage_problem.Options())
        return sorted(engine.solve(built.problem).pairs)


def run_ids_of_assignments(app, world: World) -> set[int | None]:  # type: ignore[no-untyped-def]
    with app.app_context():
        return set(
            db.session.scalars(
                sa.select(Assignment.run_id).where(Assignment.stage_id == world.stage_id)
            )
        )


def test_the_worker_runs_the_assignment_and_the_page_follows_it(
    make_app, redis_url, worker_factory
):
    worker = worker_factory()
    app = make_app(redis_url=redis_url, task_queue=worker_factory.queue)
    with app.app_context():
        world = build_world()
    officer = as_person(app, world.officer)

    start(officer, world)

    wait_until(lambda: finished(app, world), what="the run to finish")
    run = last_run(app, world)
    assert run.state == RunState.DONE, worker.log()
    assert run.progress == 100 and run.result["optimal"] is True
    assert pairs(app, world) == expected_pairs(app, world)
    status = officer.get(f"{world.page}/runs/{run.id}").get_json()
    assert status["state"] == "done" and status["finished"] is True
    assert "proven optimal" in text(officer.get(world.page))


def test_a_worker_killed_while_storing_leaves_no_partial_assignment_and_a_re_run_agrees(
    make_app,
    redis_url,
    worker_factory,
    pg_url,
    monkeypatch,
    forget_killed_tasks,  # noqa: F811
):
    monkeypatch.setenv("JOB_HEARTBEAT_SECONDS", str(HEARTBEAT))  # for the workers
    monkeypatch.setenv("JOB_TIMEOUT_SECONDS", str(TIMEOUT))
    app = make_app(
        redis_url=redis_url,
        task_queue=worker_factory.queue,
        job_heartbeat_seconds=HEARTBEAT,
        job_timeout_seconds=TIMEOUT,
    )
    with app.app_context():
        world = build_world()
    officer = as_person(app, world.officer)

    # A first run gives the stage a proposed assignment.
    first_worker = worker_factory()
    start(officer, world)
    wait_until(lambda: finished(app, world), what="the first run")
    first_run = last_run(app, world)
    assert first_run.state == RunState.DONE
    before = pairs(app, world)
    first_worker.stop()

    # The second run is queued while no worker is there. The test then holds a lock that lets
    # nobody add an audit event, which the worker does at the very end of storing: it will have
    # deleted the old rows and inserted the new ones, in a transaction not yet committed.
    start(officer, world)
    second_run = last_run(app, world)
    assert second_run.state == RunState.QUEUED
    holder = sa.create_engine(pg_url, poolclass=sa.pool.NullPool)
    with holder.connect() as lock:
        lock.execute(sa.text("LOCK TABLE audit_events IN SHARE MODE"))
        doomed = worker_factory()

        def worker_waits_on_the_lock() -> bool:
            waiting = lock.execute(
                sa.text(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'relation'"
                    " AND relation = 'audit_events'::regclass AND NOT granted"
                )
            ).scalar_one()
            return waiting > 0

        wait_until(worker_waits_on_the_lock, what="the worker to be storing")
        assert last_run(app, world).progress == 90
        doomed.stop(kill=True)
        assert doomed.process.returncode == -9
        lock.commit()
    holder.dispose()

    # Nothing of the interrupted run is there: the first run's rows, all of them.
    assert pairs(app, world) == before
    assert run_ids_of_assignments(app, world) == {first_run.id}
    interrupted = last_run(app, world)
    assert interrupted.id == second_run.id and interrupted.state == RunState.RUNNING

    # Once its heartbeat is older than the timeout the page says what happened, within two
    # timeouts of the kill, and the officer starts again.
    wait_until(
        lambda: "stopped without finishing" in text(officer.get(world.page)),
        what="the stage to be free",
        timeout=2 * TIMEOUT,
    )
    worker_factory()
    start(officer, world)
    wait_until(lambda: finished(app, world), what="the re-run")

    *_, abandoned, rerun = runs_of(app, world)
    assert abandoned.id == second_run.id and abandoned.state == RunState.FAILED
    assert load(abandoned.message) == jobs.DEAD
    assert rerun.state == RunState.DONE
    assert pairs(app, world) == before == expected_pairs(app, world)
    assert run_ids_of_assignments(app, world) == {rerun.id}
