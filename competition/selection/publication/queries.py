"""How a stage's publication stands: confirmed, published and waiting decisions, whether its
job is under way with its progress, and the letters that could not go out with their reasons."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field

import sqlalchemy as sa

from competition.audit.models import AuditEvent
from competition.extensions import db
from competition.i18n import lazy_gettext as _l
from competition.jobs import operations as jobs
from competition.jobs.models import Job
from competition.programmes.models import Stage
from competition.selection.models import Decision, Outcome

STARTED = "decisions.publication_started"
FAILED = "decision.publication_failed"
KIND = "selection.publish"


# For the officer's confirmation: what each outcome's letter does to its proposal.
OUTCOME_LABELS = {
    Outcome.ADVANCE: _l("Advance"),
    Outcome.REJECT: _l("Reject"),
    Outcome.FUND: _l("Fund"),
    Outcome.RESERVE: _l("Reserve list"),
    Outcome.CONTINUE: _l("Continue"),
    Outcome.CONTINUE_WITH_CONDITIONS: _l("Continue with conditions"),
    Outcome.STOP: _l("Stop"),
}
OUTCOME_EFFECTS = {
    Outcome.ADVANCE: _l(
        "A draft for the next stage is prepared; the letter invites the consortium to submit it."
    ),
    Outcome.REJECT: _l("Closed; it can no longer be edited."),
    Outcome.FUND: _l("Marked as funded; it can no longer be edited."),
    Outcome.RESERVE: _l("Unchanged; the letter says it is on the reserve list."),
    Outcome.CONTINUE: _l(
        "The grant continues: the next phase's money is released with the submitted budget."
    ),
    Outcome.CONTINUE_WITH_CONDITIONS: _l(
        "The grant continues with the conditions: the next phase's money is released with the "
        "submitted budget."
    ),
    Outcome.STOP: _l("The grant ends early; no later phase is released."),
}


@dataclass(frozen=True)
class Failure:
    reference: str
    reason: str


@dataclass(frozen=True)
class PublicationStatus:
    confirmed: int
    published: int
    unconfirmed: int
    # Confirmed, not yet published, per outcome in the Outcome's order.
    waiting_by_outcome: dict[Outcome, int]
    started_at: dt.datetime | None  # the latest publication's start
    # The latest publication's job is queued or running, and its worker alive.
    in_progress: bool
    failures: list[Failure] = field(default_factory=list)
    progress: int = 0
    message: str = ""

    @property
    def waiting(self) -> int:
        return sum(self.waiting_by_outcome.values())


def publication_status(stage: Stage) -> PublicationStatus:
    rows = db.session.execute(
        sa.select(
            Decision.id, Decision.outcome, Decision.confirmed_at, Decision.published_at
        ).where(Decision.stage_id == stage.id)
    ).all()
    waiting: Counter[Outcome] = Counter()
    unpublished: set[int] = set()
    for row in rows:
        if row.confirmed_at is not None and row.published_at is None:
            waiting[row.outcome] += 1
            unpublished.add(row.id)
    events = db.session.scalars(
        sa.select(AuditEvent)
        .where(
            AuditEvent.object_type == "stage",
            AuditEvent.object_id == str(stage.id),
            AuditEvent.action.in_((STARTED, FAILED)),
        )
        .order_by(AuditEvent.id)
    ).all()
    start = next((e for e in reversed(events) if e.action == STARTED), None)
    failed: dict[int, Failure] = {}
    if start is not None:
        for event in events:
            if event.action == FAILED and event.id > start.id and event.after:
                # The reason is kept in the event's unhashed part (erasure may clear it).
                typed = (event.personal or {}).get("after", {})
                reason = typed.get("reason", event.after.get("reason", ""))
                failed[int(event.after["decision"])] = Failure(
                    str(event.after.get("reference") or ""), str(reason)
                )
    job = db.session.scalar(
        sa.select(Job)
        .where(Job.kind == KIND, Job.subject == f"stage:{stage.id}")
        .order_by(Job.id.desc())
        .limit(1)
    )
    live = jobs.is_live(job)
    return PublicationStatus(
        confirmed=sum(1 for r in rows if r.confirmed_at is not None),
        published=sum(1 for r in rows if r.published_at is not None),
        unconfirmed=sum(1 for r in rows if r.confirmed_at is None),
        waiting_by_outcome={o: waiting[o] for o in Outcome if waiting[o]},
        started_at=start.occurred_at if start is not None else None,
        in_progress=live,
        failures=[f for d, f in failed.items() if d in unpublished],
        progress=job.progress if job is not None and live else 0,
        message=job.message if job is not None else "",
    )
