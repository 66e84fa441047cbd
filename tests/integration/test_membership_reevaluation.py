"""The annual re-evaluation of memberships on PostgreSQL: due memberships move once and their
holders are mailed once, however often and however concurrently the beat task's operation runs;
the task reads its days from the settings, is on the beat, and runs in a real worker."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest

from competition.db import utcnow
from competition.extensions import db
from competition.memberships import operations as ops
from competition.memberships.models import MembershipState
from competition.programmes.models import Programme
from tests.factories import make_organisation
from tests.helpers import text
from tests.integration.membership_world import (
    build_world,
    evaluate,
    events,
    granted,
    mails,
    membership,
    steps,
    user,
)

pytestmark = pytest.mark.postgres


def _granted_ending_in(world, days: int) -> int:  # type: ignore[no-untyped-def]
    start = utcnow().date() - dt.timedelta(days=365 - days)
    now = dt.datetime.combine(start, dt.time(10), tzinfo=dt.UTC)
    return granted(world, now=now, until=start + dt.timedelta(days=364))


def test_due_memberships_move_to_re_evaluation_once_and_the_holder_is_mailed_once(app):  # type: ignore[no-untyped-def]
    with app.app_context():
        world = build_world()
        due = _granted_ending_in(world, 30)
        later = make_organisation(name="Later Cluster e.V.")
        programme = db.session.get(Programme, world.programme_id)
        not_yet = ops.apply_for_membership(
            programme,
            actor=user(world.applicant),
            organisation_name=later.name,
            services="",
            now=utcnow(),
        ).id
        evaluation = evaluate(world, not_yet, world.juror, "grant")
        today = utcnow().date()
        ops.decide(
            membership(not_yet),
            actor=user(world.officer),
            action="grant",
            evaluation_id=evaluation,
            valid_from=today,
            valid_until=today + dt.timedelta(days=200),
            now=utcnow(),
        )

        assert ops.start_due_reevaluations(now=utcnow(), days_before=60) == 1
        assert ops.start_due_reevaluations(now=utcnow(), days_before=60) == 0
        assert membership(due).state == MembershipState.IN_REEVALUATION
        assert membership(not_yet).state == MembershipState.GRANTED
        (mail,) = mails("reevaluation")
        assert mail.dedup_key == f"memberships.reevaluation:{due}:{membership(due).valid_until}"
        (event,) = events("membership.reevaluation_started")
        assert event.actor_id is None
        # A membership in re-evaluation still holds its membership until its period ends.
        assert world.cluster_name in text(
            app.test_client().get(f"/programmes/{world.slug}/members")
        )


def test_overlapping_runs_move_each_membership_once(app):  # type: ignore[no-untyped-def]
    with app.app_context():
        world = build_world()
        due = _granted_ending_in(world, 10)
    start = threading.Barrier(4)
    results: list[int] = []

    def run() -> None:
        with app.app_context():
            start.wait()
            results.append(ops.start_due_reevaluations(now=utcnow(), days_before=60))

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(results) == [0, 0, 0, 1]
    with app.app_context():
        assert [s for s in steps(due) if s[1] == "start_reevaluation"] == [
            ("granted", "start_reevaluation", "in_reevaluation")
        ]
        assert len(mails("reevaluation")) == 1


def test_the_re_evaluation_task_reads_its_days_from_the_settings_and_is_on_the_beat(make_app):  # type: ignore[no-untyped-def]
    app = make_app(membership_reevaluation_days=5)
    with app.app_context():
        world = build_world()
        due = _granted_ending_in(world, 30)
    task = app.extensions["celery"].tasks["memberships.start_reevaluations"]
    assert task.apply().get() == 0  # 30 days left: not within 5
    schedule = {
        e["task"]: e["schedule"] for e in app.extensions["celery"].conf.beat_schedule.values()
    }
    assert schedule["memberships.start_reevaluations"] == 3600.0
    wider = make_app(membership_reevaluation_days=60)
    assert wider.extensions["celery"].tasks["memberships.start_reevaluations"].apply().get() == 1
    with wider.app_context():
        assert membership(due).state == MembershipState.IN_REEVALUATION


@pytest.mark.worker
@pytest.mark.redis
def test_the_re_evaluation_task_runs_in_a_worker_and_mails_the_holder_once(  # type: ignore[no-untyped-def]
    app, make_app, redis_url, worker_factory, smtp_server
):
    with app.app_context():
        world = build_world()
        due = _granted_ending_in(world, 20)
        holder = user(world.applicant).email
        # The grant's mail went out in-process already; only the re-evaluation's is awaited.
    deployed = make_app(
        redis_url=redis_url,
        task_queue=worker_factory.queue,
        mail_server=smtp_server.host,
        mail_port=smtp_server.port,
    )
    worker = worker_factory(smtp_server)
    task = deployed.extensions["celery"].tasks["memberships.start_reevaluations"]

    # Twice at once: the lock keeps the runs apart, the compare-and-set and the mail's key the
    # rest.
    task.apply_async()
    task.apply_async()

    received = smtp_server.wait_for(1, timeout=60)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and worker.log().count("memberships.start_reevaluations") < 4:
        time.sleep(0.2)
    time.sleep(2)  # a second mail, were one coming, would be on its way by now
    assert [m["To"] for m in smtp_server.messages] == [holder]
    assert received[0]["Subject"] == "The annual re-evaluation of your membership begins"
    with app.app_context():
        assert membership(due).state == MembershipState.IN_REEVALUATION
        assert len([s for s in steps(due) if s[1] == "start_reevaluation"]) == 1
