"""The assignment of a stage: running the engine as a background task, the officer's changes to
the proposed assignment, its release to the jurors, and a juror declining an assignment.

A run goes queued → running → done or failed. Only one run per stage is active (a partial
unique index on its job). The worker stores the result in one transaction, so a worker that
dies leaves the previous state untouched; its job's heartbeat stops, and once it is older than
JOB_TIMEOUT_SECONDS the officer may start again and gets the same result (the engine is
deterministic). Runs are only possible until the stage's assignments are released; after that,
changes are made one at a time and a juror who declines is replaced from the ranked alternates.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa

from competition.accounts.models import User
from competition.assignment import stage_problem
from competition.assignment.jury_permissions import can_manage_jury
from competition.assignment.models import (
    Assignment,
    AssignmentMethod,
    AssignmentRun,
    AssignmentState,
    RunState,
)
from competition.assignment.operations import refresh_automatic_conflicts
from competition.assignment.stage_problem import Options
from competition.audit.operations import record_event
from competition.core import assignment as engine
from competition.core.texts import N_, Text
from competition.db import operation, utcnow
from competition.errors import DomainError, PermissionDenied, StaleState
from competition.extensions import db
from competition.i18n import gettext as _
from competition.i18n import number, say
from competition.jobs import operations as jobs
from competition.jobs.models import ACTIVE, Job
from competition.notifications.operations import notify
from competition.permissions import require
from competition.programmes.models import Stage
from competition.reviews.models import Review, ReviewState
from competition.tasks import enqueue
from competition.workflow import apply_step, apply_steps

log = logging.getLogger(__name__)

MAX_DECLINE_REASON = 2000
INTERNAL_ERROR = N_(
    "The run stopped because of an internal error. Start it again; if it fails again, tell the "
    "system administrators (the details are in the worker's log)."
)


KIND = "assignment.run"


def subject(stage: Stage | int) -> str:
    return f"stage:{stage if isinstance(stage, int) else stage.id}"


def active_run(stage: Stage) -> AssignmentRun | None:
    return db.session.scalar(
        sa.select(AssignmentRun)
        .join(Job, Job.id == AssignmentRun.job_id)
        .where(AssignmentRun.stage_id == stage.id, Job.state.in_(ACTIVE))
    )


def latest_run(stage: Stage) -> AssignmentRun | None:
    return db.session.scalar(
        sa.select(AssignmentRun)
        .where(AssignmentRun.stage_id == stage.id)
        .order_by(AssignmentRun.id.desc())
        .limit(1)
    )


def released_at(stage: Stage) -> dt.datetime | None:
    """When the stage's assignments were first released; None while they are a proposal."""
    return db.session.scalar(
        sa.select(sa.func.min(Assignment.released_at)).where(Assignment.stage_id == stage.id)
    )


# --- starting and running ----------------------------------------------------------------------


@operation
def start_run(stage: Stage, *, actor: User, options: Options, now: dt.datetime) -> AssignmentRun:
    """Queue a run of the engine for the stage.

    Refused once the stage's assignments are released, and while another run is under way
    (unless that one was abandoned: it is then marked failed). Side effects: the run row; audit
    ``assignment.run_started``; after commit, an ``assignment.run`` task.
    """
    require(can_manage_jury(actor, stage.call))
    if released_at(stage) is not None:
        raise DomainError(
            _(
                "The assignments of this stage have been released to the jurors. Change them one "
                "at a time instead of running the assignment again."
            )
        )
    seats = stage.reviewers_per_proposal
    if not 0 <= options.min_non_academic_seats <= seats:
        raise DomainError(
            _(
                "Choose between 0 and %(seats)s seats for jurors from outside academia.",
                seats=seats,
            ),
            field="min_non_academic_seats",
        )
    job = jobs.open_job(
        KIND,
        subject(stage),
        actor=actor,
        now=now,
        taken=_("An assignment run for this stage is already under way."),
    )
    run = AssignmentRun(
        stage_id=stage.id,
        job=job,
        params=options.as_params(),
        result={},
        started_by_id=actor.id,
        created_at=now,
    )
    db.session.add(run)
    db.session.flush()
    record_event(
        actor=actor,
        action="assignment.run_started",
        object_type="stage",
        object_id=stage.id,
        after={"run": run.id, **options.as_params()},
        now=now,
    )
    enqueue("assignment.run", run_id=run.id)
    return run


def _job_id(run_id: int) -> int | None:
    return db.session.scalar(sa.select(AssignmentRun.job_id).where(AssignmentRun.id == run_id))


def _claim(run_id: int, *, now: dt.datetime) -> dt.datetime | None:
    """Take the run's job for this worker: a queued one, or one whose worker died. Returns the
    claim, which later steps check so an overtaken worker changes nothing."""
    job_id = _job_id(run_id)
    return None if job_id is None else jobs.claim(job_id, now=now)


def _mine(run_id: int, claimed: dt.datetime) -> AssignmentRun | None:
    run = db.session.get(AssignmentRun, run_id, populate_existing=True)
    if run is None or jobs.mine(run.job_id, claimed) is None:
        return None
    return run


def _progress(run_id: int, claimed: dt.datetime, percent: int, message: Text) -> None:
    job_id = _job_id(run_id)
    if job_id is not None:
        jobs.report(job_id, claimed, percent, message)


@operation
def _fail(
    run_id: int,
    claimed: dt.datetime,
    message: Text,
    *,
    reasons: Sequence[Text | str],
    now: dt.datetime,
) -> None:
    run = _mine(run_id, claimed)
    if run is None:
        return
    # Stored, to be read in the reader's language (``|say``); the audit trail keeps English.
    stored = [r.dumps() if isinstance(r, Text) else r for r in reasons]
    _finish(
        run,
        RunState.FAILED,
        message,
        {"reasons": stored},
        action="assignment.run_failed",
        after={"run": run.id, "message": str(message), "reasons": [str(r) for r in reasons]},
        now=now,
    )


def _finish(
    run: AssignmentRun,
    state: RunState,
    message: Text,
    result: dict[str, object],
    *,
    action: str,
    after: dict[str, object],
    now: dt.datetime,
) -> None:
    run.result = result
    jobs.end(run.job, "finish" if state == RunState.DONE else "fail", now=now, message=message)
    record_event(
        actor=None, action=action, object_type="stage", object_id=run.stage_id, after=after, now=now
    )


def execute_run(run_id: int, *, clock: Callable[[], dt.datetime] = utcnow) -> RunState | None:
    """The worker's part: refresh automatic conflicts, build the affinities, solve, store.

    Progress is committed step by step for the page to show. The result is stored in one
    transaction that replaces the stage's unreleased assignments. Returns the run's end state,
    or None when the run was not this worker's to do (finished, or taken by another).
    """
    claimed = _claim(run_id, now=clock())
    if claimed is None:
        return None
    job_id = _job_id(run_id)
    assert job_id is not None
    with jobs.heartbeat(job_id, claimed):
        return _execute(run_id, claimed, clock)


def _execute(
    run_id: int, claimed: dt.datetime, clock: Callable[[], dt.datetime]
) -> RunState | None:
    try:
        run = db.session.get(AssignmentRun, run_id)
        assert run is not None
        stage = db.session.get(Stage, run.stage_id)
        assert stage is not None
        _progress(run_id, claimed, 10, N_("Updating conflicts of interest from the consortia."))
        refresh_automatic_conflicts(stage.call, now=clock())
        _progress(run_id, claimed, 25, N_("Scoring every proposal against every juror."))
        started = time.perf_counter()
        built = stage_problem.build(stage, Options.from_params(run.params))
        build_seconds = time.perf_counter() - started
        problem = built.problem
        _progress(
            run_id,
            claimed,
            50,
            N_(
                "Finding the best assignment of %(proposals)s proposals to %(jurors)s jurors.",
                proposals=len(problem.proposals),
                jurors=len(problem.jurors),
            ),
        )
        started = time.perf_counter()
        result = engine.solve(problem)
        solve_seconds = time.perf_counter() - started
        _progress(run_id, claimed, 90, N_("Saving the assignment."))
        _store(
            run_id,
            claimed,
            stage,
            built,
            result,
            seconds={"build": build_seconds, "solve": solve_seconds},
            now=clock(),
        )
        return RunState.DONE
    except engine.Infeasible as error:
        db.session.rollback()
        _fail(
            run_id,
            claimed,
            N_("No assignment obeys all the rules. Change what the reasons name and start again."),
            reasons=error.reasons,
            now=clock(),
        )
        return RunState.FAILED
    except Exception:
        log.exception("assignment run %s failed", run_id)
        db.session.rollback()
        _fail(run_id, claimed, INTERNAL_ERROR, reasons=[], now=clock())
        return RunState.FAILED


@operation
def _store(
    run_id: int,
    claimed: dt.datetime,
    stage: Stage,
    built: stage_problem.StageProblem,
    result: engine.Assignment,
    *,
    seconds: dict[str, float],
    now: dt.datetime,
) -> None:
    run = _mine(run_id, claimed)
    if run is None:
        return
    started = time.perf_counter()
    db.session.execute(
        sa.delete(Assignment).where(
            Assignment.stage_id == stage.id, Assignment.released_at.is_(None)
        )
    )
    if result.pairs:
        db.session.execute(
            sa.insert(Assignment),
            [
                {
                    "stage_id": stage.id,
                    "proposal_id": p,
                    "user_id": j,
                    "method": AssignmentMethod.AUTOMATIC,
                    "run_id": run.id,
                    "affinity": score,
                    "created_at": now,
                    "decline_reason": "",
                }
                for (p, j), score in zip(result.pairs, result.affinities, strict=True)
            ],
        )
    problem = built.problem
    summary = {
        "proposals": len(problem.proposals),
        "jurors": len(problem.jurors),
        "seats": stage.reviewers_per_proposal,
        "pairs": len(result.pairs),
        "conflicts": len(problem.conflicts),  # type: ignore[arg-type]
        "total_affinity": round(result.total_affinity, 6),
        "min_pair_affinity": result.min_pair_affinity,
        "min_proposal_affinity": result.min_proposal_affinity,
        "optimal": result.optimal,
        "method": result.method,
        "fairness_threshold": result.fairness_threshold,
        "diagnostics": list(result.diagnostics),
        "seconds": {**seconds, "store": time.perf_counter() - started},
    }
    _finish(
        run,
        RunState.DONE,
        jobs.DONE,
        summary,
        action="assignment.run_finished",
        after={k: v for k, v in summary.items() if k != "seconds"} | {"run": run.id},
        now=now,
    )


# --- the officer's changes ---------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    """add: juror_in; remove: juror_out; swap: both."""

    kind: str
    proposal_id: int
    juror_out: int | None = None
    juror_in: int | None = None


class NeedsConfirmation(DomainError):
    """The change breaks no hard rule but leaves something short; the officer must confirm."""

    def __init__(self, warnings: list[str]) -> None:
        self.warnings = warnings
        super().__init__({"": warnings})


def active_assignments(stage: Stage) -> list[Assignment]:
    return list(
        db.session.scalars(
            sa.select(Assignment)
            .where(Assignment.stage_id == stage.id, Assignment.declined_at.is_(None))
            .order_by(Assignment.id)
        )
    )


def _sentence(message: str) -> str:
    return message[:1].upper() + message[1:] + "."


def _seat(
    stage: Stage,
    built: stage_problem.StageProblem,
    proposal_id: int,
    juror_id: int,
    *,
    method: AssignmentMethod,
    run_id: int | None,
    released_at: dt.datetime | None,
    now: dt.datetime,
    replaces_id: int | None = None,
) -> Assignment:
    """A juror taken onto a proposal outside a run, scored as a run would score the pair."""
    seat = Assignment(
        stage_id=stage.id,
        proposal_id=proposal_id,
        user_id=juror_id,
        method=method,
        run_id=run_id,
        affinity=built.explain(proposal_id, juror_id).total,
        created_at=now,
        state=AssignmentState.DRAFT if released_at is None else AssignmentState.RELEASED,
        released_at=released_at,
        decline_reason="",
        replaces_id=replaces_id,
    )
    db.session.add(seat)
    db.session.flush()
    return seat


def _review_started(assignment: Assignment) -> Review | None:
    return db.session.scalar(sa.select(Review).where(Review.assignment_id == assignment.id))


@operation
def change_assignment(
    stage: Stage, change: Change, *, actor: User, confirmed: bool, now: dt.datetime
) -> Assignment | None:
    """Add, remove or swap one juror on one proposal, checked against conflicts and loads.

    Hard rules (conflict, maximum load, one per organisation) refuse the change; soft ones (a
    seat left empty, a minimum share not met) need ``confirmed``. A juror who has begun a review
    cannot be taken off. After release, an added juror is notified at once.
    Side effects: the assignment row added or removed; audit ``assignment.changed``; e-mail.
    """
    require(can_manage_jury(actor, stage.call))
    run = latest_run(stage)
    if run is not None and jobs.is_live(run.job):
        raise StaleState(_("An assignment run is under way; wait for it to finish."))
    options = Options.from_params(run.params if run is not None else {})
    built = stage_problem.build(stage, options, only_proposals=[change.proposal_id])
    if change.proposal_id not in built.proposals:
        raise DomainError(_("This proposal is not in the stage's assignment."), field="proposal")
    current = active_assignments(stage)
    pairs = [(a.proposal_id, a.user_id) for a in current]
    arguments: dict[str, tuple[int, ...]] = {}
    if change.kind == "add" and change.juror_in is not None:
        arguments["add"] = (change.proposal_id, change.juror_in)
    elif change.kind == "remove" and change.juror_out is not None:
        arguments["remove"] = (change.proposal_id, change.juror_out)
    elif change.kind == "swap" and change.juror_out is not None and change.juror_in is not None:
        arguments["swap"] = (change.proposal_id, change.juror_out, change.juror_in)
    else:
        raise DomainError(_("Choose the jurors for this change."), field="juror_in")
    issues = engine.check_change(pairs, built.problem, **arguments)  # type: ignore[arg-type]
    blocking = [_sentence(say(i.message)) for i in issues if i.blocking]
    if blocking:
        raise DomainError({"": blocking})
    warnings = [_sentence(say(i.message)) for i in issues if not i.blocking]
    if warnings and not confirmed:
        raise NeedsConfirmation(warnings)

    released = released_at(stage) is not None
    removed: Assignment | None = None
    if change.juror_out is not None:
        removed = next(
            a
            for a in current
            if a.proposal_id == change.proposal_id and a.user_id == change.juror_out
        )
        review = _review_started(removed)
        if review is not None:
            name = built.jurors[removed.user_id].name
            raise DomainError(
                _(
                    "%(name)s has already submitted a review of this proposal, so they stay on it.",
                    name=name,
                )
                if review.state == ReviewState.SUBMITTED
                else _(
                    "%(name)s has already begun a review of this proposal, so they stay on it.",
                    name=name,
                )
            )
        db.session.delete(removed)
        db.session.flush()
    added: Assignment | None = None
    if change.juror_in is not None:
        added = _seat(
            stage,
            built,
            change.proposal_id,
            change.juror_in,
            method=AssignmentMethod.MANUAL,
            run_id=None,
            released_at=now if released else None,
            now=now,
        )
        if released:
            _notify_new_assignments(stage, built.jurors[change.juror_in], [added], now=now)
    record_event(
        actor=actor,
        action="assignment.changed",
        object_type="stage",
        object_id=stage.id,
        after={
            "change": change.kind,
            "proposal": change.proposal_id,
            "juror_out": change.juror_out,
            "juror_in": change.juror_in,
            "warnings": warnings,
            "released": released,
        },
        now=now,
    )
    return added


# --- release -----------------------------------------------------------------------------------


def _notify_new_assignments(
    stage: Stage, juror: User, assignments: Sequence[Assignment], *, now: dt.datetime
) -> None:
    from competition.proposals.models import Proposal

    proposals = {
        p.id: p
        for p in db.session.scalars(
            sa.select(Proposal).where(Proposal.id.in_([a.proposal_id for a in assignments]))
        )
    }
    first = min(a.id for a in assignments)
    notify(
        to=juror,
        template="jury/assignments",
        context={
            "name": juror.name,
            "call": stage.call.name,
            "stage": stage.name,
            "due_at": stage.reviews_due_at.isoformat() if stage.reviews_due_at else None,
            "proposals": [
                {
                    "reference": proposals[a.proposal_id].reference,
                    "acronym": proposals[a.proposal_id].acronym,
                    "title": proposals[a.proposal_id].title,
                }
                for a in sorted(assignments, key=lambda a: proposals[a.proposal_id].reference)
            ],
        },
        # One message per juror per batch: a repeated release finds nothing new to send.
        dedup_key=f"jury.assignments:{stage.id}:{juror.id}:{first}",
        now=now,
    )


@operation
def release(stage: Stage, *, actor: User, now: dt.datetime) -> int:
    """Give the jurors their assignments: each juror gets one e-mail listing their proposals.

    Side effects: ``released_at`` set on every unreleased assignment; audit
    ``assignment.released``; one e-mail per juror. Returns how many assignments were released.
    """
    require(can_manage_jury(actor, stage.call))
    run = latest_run(stage)
    if run is not None and jobs.is_live(run.job):
        raise StaleState(_("An assignment run is under way; wait for it to finish."))
    pending = list(
        db.session.scalars(
            sa.select(Assignment)
            .where(
                Assignment.stage_id == stage.id,
                Assignment.released_at.is_(None),
                Assignment.declined_at.is_(None),
            )
            .order_by(Assignment.id)
            .with_for_update()
        )
    )
    if not pending:
        raise StaleState(_("There is nothing to release: every assignment is already out."))
    by_juror: dict[int, list[Assignment]] = {}
    for assignment in pending:
        by_juror.setdefault(assignment.user_id, []).append(assignment)
    apply_steps(
        pending,
        "release",
        actor=actor,
        now=now,
        values={"released_at": now},
        event="assignment.released",
        object_type="stage",
        object_id=stage.id,
        detail={"assignments": len(pending), "jurors": len(by_juror)},
        stale=_("Another officer released these assignments meanwhile. Reload the page."),
    )
    jurors = {u.id: u for u in db.session.scalars(sa.select(User).where(User.id.in_(by_juror)))}
    for user_id in sorted(by_juror):
        _notify_new_assignments(stage, jurors[user_id], by_juror[user_id], now=now)
    return len(pending)


# --- a juror declines -------------------------------------------------------------------------


@operation
def decline(
    assignment: Assignment, *, actor: User, reason: str, now: dt.datetime
) -> Assignment | None:
    """The juror gives back an assignment they have not reviewed; the best-ranked alternate
    (no conflict, a free place, the organisation rule) takes the seat at once, without running
    the whole assignment again. Returns the replacement, or None when nobody can take it (the
    officers' page then shows the empty seat).
    Side effects: ``declined_at``; a new released assignment and one e-mail to its juror;
    audit ``assignment.declined``.
    """
    if assignment.user_id != actor.id or assignment.released_at is None:
        raise PermissionDenied(_("This proposal is not assigned to you."))
    if assignment.declined_at is not None:
        raise StaleState(_("You have already given this assignment back."))
    review = _review_started(assignment)
    if review is not None and review.submitted_at is not None:
        raise DomainError(_("You have submitted your review of this proposal; it stays assigned."))
    reason = reason.strip()
    if not reason:
        raise DomainError(_("Say briefly why, so the programme office can plan."), field="reason")
    if len(reason) > MAX_DECLINE_REASON:
        raise DomainError(
            _("Keep the reason under %(limit)s characters.", limit=number(MAX_DECLINE_REASON, 0)),
            field="reason",
        )
    stage = db.session.get(Stage, assignment.stage_id)
    assert stage is not None
    pairs = [(a.proposal_id, a.user_id) for a in active_assignments(stage)]
    apply_step(
        assignment,
        "decline",
        actor=actor,
        now=now,
        values={"declined_at": now, "decline_reason": reason},
        detail={"proposal": assignment.proposal_id, "reason_chars": len(reason)},
        stale=_("You have already given this assignment back."),
    )

    run = db.session.get(AssignmentRun, assignment.run_id) if assignment.run_id else None
    options = Options.from_params(run.params if run is not None else {})
    built = stage_problem.build(stage, options, only_proposals=[assignment.proposal_id])
    replacement: Assignment | None = None
    if assignment.proposal_id in built.proposals:
        ranked = engine.alternates(
            built.problem, pairs, assignment.proposal_id, k=1, replacing=assignment.user_id
        )
        if ranked:
            juror_id = ranked[0]
            replacement = _seat(
                stage,
                built,
                assignment.proposal_id,
                juror_id,
                method=AssignmentMethod.AUTOMATIC,
                run_id=assignment.run_id,
                released_at=now,
                now=now,
                replaces_id=assignment.id,
            )
            _notify_new_assignments(stage, built.jurors[juror_id], [replacement], now=now)
    record_event(
        actor=actor,
        action="assignment.replaced",
        object_type="assignment",
        object_id=assignment.id,
        after={
            "proposal": assignment.proposal_id,
            "replacement_juror": replacement.user_id if replacement else None,
        },
        now=now,
    )
    return replacement
