"""Starting, claiming, reporting and ending a job. Every state change goes through the workflow
gateway; the heartbeat is the one write outside it (it changes no state).

A job counts as dead when its last sign of life (heartbeat, else its start, else its creation)
is older than the timeout: a killed worker frees its subject within a minute or two, and a
queued job nobody picks up (the process that would have run it stopped) no longer blocks one.
Signs of life are taken on the machine's clock, never on the ``now`` of an operation (the demo
runs operations at simulated times, which must not make a job look alive for days).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import sqlalchemy as sa
from flask import current_app

from competition.accounts.models import User
from competition.core.texts import N_, Text
from competition.db import add_unique, operation, utcnow
from competition.errors import StaleState
from competition.extensions import db
from competition.jobs.models import ACTIVE, Job, JobState
from competition.workflow import apply_step

log = logging.getLogger(__name__)

# A job's message is read later by people of either language: it is stored as a Text
# (``Text.dumps``) and shown with ``competition.i18n.say``.
DEAD = N_(
    "It stopped without finishing: its worker was interrupted. Nothing was changed; start it again."
)
INTERNAL_ERROR = N_(
    "Stopped because of an internal error. Start it again; if it fails again, tell the system "
    "administrators (the details are in the worker's log)."
)
WAITING = N_("Waiting for a worker to start.")
STARTED = N_("Started.")
DONE = N_("Done.")


def joined(parts: Sequence[Text | str]) -> Text:
    """Several phrases as one text, each translated when shown. The joining ids are left out
    of the catalogue on purpose: they read the same in every language."""
    if not parts:
        return Text("")
    text = parts[0] if isinstance(parts[0], Text) else Text("%(part)s", {"part": parts[0]})
    for part in parts[1:]:
        text = Text("%(earlier)s; %(next)s", {"earlier": text, "next": part})
    return text


def timeout() -> dt.timedelta:
    return dt.timedelta(seconds=current_app.extensions["settings"].job_timeout_seconds)


def heartbeat_interval() -> float:
    return float(current_app.extensions["settings"].job_heartbeat_seconds)


def last_sign_of_life(job: Job) -> dt.datetime:
    return job.heartbeat_at or job.started_at or job.created_at


def is_dead(job: Job) -> bool:
    """Still marked queued or running, but silent for longer than the timeout: taken to belong
    to a worker that died. A slow worker taken for dead finds its job taken over (``mine``) and
    stores nothing."""
    return job.state in ACTIVE and last_sign_of_life(job) < utcnow() - timeout()


def is_live(job: Job | None) -> bool:
    """Queued or running, and not dead: its subject is taken."""
    return job is not None and job.state in ACTIVE and not is_dead(job)


def active_job(kind: str, subject: str, *, lock: bool = False) -> Job | None:
    query = sa.select(Job).where(Job.kind == kind, Job.subject == subject, Job.state.in_(ACTIVE))
    return db.session.scalar(query.with_for_update() if lock else query)


def open_job(
    kind: str,
    subject: str,
    *,
    actor: User | None,
    now: dt.datetime,
    message: Text = WAITING,
    taken: str,
) -> Job:
    """A new queued job, inside the caller's operation. A dead job on the same subject is
    failed first; a live one refuses the new job with ``taken``."""
    current = active_job(kind, subject, lock=True)
    if current is not None:
        if not is_dead(current):
            raise StaleState(taken)
        end(current, "fail", actor=actor, now=now, message=DEAD)
    job = Job(
        kind=kind,
        subject=subject,
        state=JobState.QUEUED,
        progress=0,
        message=message.dumps(),
        error="",
        attempts=0,
        started_by_id=actor.id if actor is not None else None,
        created_at=utcnow(),
    )
    add_unique(job, taken=StaleState(taken))
    return job


def end(
    job: Job,
    action: str,
    *,
    actor: User | None = None,
    now: dt.datetime,
    message: Text,
    error: str = "",
) -> None:
    """Finish (``finish``) or fail (``fail``) the job, inside the caller's transaction."""
    values: dict[str, object] = {
        "message": message.dumps(),
        "finished_at": now,
        "error": error[:4000],
    }
    if action == "finish":
        values["progress"] = 100
    apply_step(job, action, actor=actor, now=now, values=values)


@operation
def claim(job_id: int, *, now: dt.datetime) -> dt.datetime | None:
    """Take the job for this worker: a queued one, or a running one whose worker died. Returns
    the claim, which later steps check so an overtaken worker changes nothing."""
    job = db.session.get(Job, job_id, with_for_update=True, populate_existing=True)
    if job is None:
        return None
    if job.state == JobState.QUEUED:
        action = "start"
    elif job.state == JobState.RUNNING and is_dead(job):
        action = "restart"
    else:
        return None
    alive = utcnow()
    apply_step(
        job,
        action,
        actor=None,
        now=now,
        values={
            "started_at": alive,
            "heartbeat_at": alive,
            "attempts": job.attempts + 1,
            "progress": 5,
            "message": STARTED.dumps(),
        },
    )
    return alive


def mine(job_id: int, claimed: dt.datetime) -> Job | None:
    """The job, locked, if this worker's claim still holds."""
    job = db.session.get(Job, job_id, with_for_update=True, populate_existing=True)
    if job is None or job.state != JobState.RUNNING or job.started_at != claimed:
        return None
    return job


@operation
def report(job_id: int, claimed: dt.datetime, percent: int, message: Text) -> bool:
    """Progress for the page; False when the job is no longer this worker's."""
    job = mine(job_id, claimed)
    if job is None:
        return False
    job.progress = max(0, min(100, percent))
    job.message = message.dumps()
    job.heartbeat_at = utcnow()
    return True


@operation
def fail_claimed(job_id: int, claimed: dt.datetime, message: Text, *, error: str = "") -> None:
    job = mine(job_id, claimed)
    if job is not None:
        end(job, "fail", now=utcnow(), message=message, error=error)


@contextmanager
def heartbeat(job_id: int, claimed: dt.datetime) -> Iterator[None]:
    """Beat the job's heart from a thread of its own while the block runs (a solver may hold
    the worker's thread for minutes). Each beat is its own short transaction. Whatever escapes
    the block (an error, an interruption) fails the job at once, so it never blocks its
    subject."""
    engine = db.engine
    interval = heartbeat_interval()
    stop = threading.Event()
    table = Job.__table__

    def beat() -> None:
        while not stop.wait(interval):
            try:
                with engine.begin() as conn:
                    conn.execute(
                        sa.update(table)
                        .where(
                            table.c.id == job_id,
                            table.c.state == JobState.RUNNING.value,
                            table.c.started_at == claimed,
                        )
                        .values(heartbeat_at=utcnow())
                    )
            except Exception:  # a missed beat is retried; the job is not lost for one
                log.warning("heartbeat of job %s failed", job_id, exc_info=True)

    thread = threading.Thread(target=beat, name=f"job-{job_id}-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    except BaseException as error:
        stop.set()
        log.warning("job %s stopped by %s", job_id, type(error).__name__)
        db.session.rollback()
        fail_claimed(
            job_id,
            claimed,
            INTERNAL_ERROR if isinstance(error, Exception) else DEAD,
            error=type(error).__name__,
        )
        raise
    finally:
        stop.set()
        thread.join(interval + 5)
