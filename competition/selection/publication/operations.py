"""Publishing a stage's confirmed decisions: each applicant's letter is frozen on its decision,
the outcome is applied to the proposal, and the coordinator gets one e-mail with the letter.

An officer starts it (``start_publication``); a worker does it (``publish_stage``), one decision
per transaction with the decision's row locked, so a second run, or two workers at once, find
each decision already published and neither apply nor send anything twice. The outbox's key per
decision is the backstop for the e-mail.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from collections import Counter
from collections.abc import Callable

import sqlalchemy as sa
from flask_babel import force_locale

from competition.accounts.models import User
from competition.audit.operations import record_event
from competition.core.texts import N_, Nn_
from competition.db import operation, utcnow
from competition.errors import DomainError, StaleState
from competition.extensions import db
from competition.i18n import gettext as _
from competition.i18n import language_of
from competition.jobs import operations as jobs
from competition.jobs.models import Job
from competition.notifications.operations import notify
from competition.permissions import require
from competition.programmes.models import Stage
from competition.proposals.models import Proposal, ProposalState
from competition.proposals.operations import current_submission, open_next_stage
from competition.proposals.queries import coordinator_of
from competition.selection.clock import on_callers_clock
from competition.selection.letters import content as letters_content
from competition.selection.models import EVALUATION_OUTCOMES, Decision, Outcome
from competition.selection.permissions import can_publish
from competition.selection.publication.hooks import run_hooks
from competition.selection.publication.queries import FAILED, KIND, STARTED
from competition.selection.rules.queries import is_last_stage
from competition.tasks import enqueue
from competition.workflow import apply_step

log = logging.getLogger(__name__)

PUBLISHED = "decision.published"

# A proposal still in the competition; a decision closes it (reject, fund) or moves it on.
OPEN_STATES = (ProposalState.SUBMITTED, ProposalState.ADVANCED)
# The proposal's step for each closing outcome.
CLOSING = {Outcome.REJECT: "reject", Outcome.FUND: "fund"}


def _waiting(stage: Stage) -> sa.Select[tuple[Decision, Proposal]]:
    return (
        sa.select(Decision, Proposal)
        .join(Proposal, Proposal.id == Decision.proposal_id)
        .where(
            Decision.stage_id == stage.id,
            Decision.confirmed_at.is_not(None),
            Decision.published_at.is_(None),
        )
        .order_by(Proposal.reference)
    )


@operation
def start_publication(stage: Stage, *, actor: User, now: dt.datetime) -> int:
    """Queue the publication of the stage's confirmed, unpublished decisions; returns how many.

    Refused when there is nothing to publish, and when a decision advances a proposal from the
    call's last stage (there is nowhere to advance to).
    Side effects: audit ``decisions.publication_started``; a ``selection.publish`` task.
    """
    require(can_publish(actor, stage))
    waiting = db.session.execute(_waiting(stage)).all()
    if not waiting:
        raise DomainError(_("There are no confirmed decisions waiting to be published."))
    if is_last_stage(stage):
        stuck = [p.reference for d, p in waiting if d.outcome == Outcome.ADVANCE]
        if stuck:
            raise DomainError(
                _(
                    "%(stage)s is the call's last stage, so nothing can advance from it: "
                    "%(references)s. Change these decisions before publishing.",
                    stage=stage.name,
                    references=", ".join(stuck),
                )
            )
    record_event(
        actor=actor,
        action=STARTED,
        object_type="stage",
        object_id=stage.id,
        after={
            "decisions": [d.id for d, _ in waiting],
            "outcomes": dict(sorted(Counter(d.outcome.value for d, _ in waiting).items())),
        },
        now=now,
    )
    # A publication whose worker died frees the stage; starting again is safe because
    # published decisions are skipped.
    job = jobs.open_job(
        KIND,
        f"stage:{stage.id}",
        actor=actor,
        now=now,
        taken=_("The decisions of this stage are being published already."),
    )
    enqueue(
        "selection.publish",
        stage_id=stage.id,
        actor_id=actor.id,
        job_id=job.id,
        requested_at=now.isoformat(),
    )
    return len(waiting)


def _apply(decision: Decision, proposal: Proposal, *, actor: User, now: dt.datetime) -> None:
    if decision.outcome in EVALUATION_OUTCOMES:
        # An interim evaluation decides about the funded proposal's grant (the grants area's
        # hook does that); the proposal itself stays funded.
        if proposal.state != ProposalState.FUNDED:
            raise StaleState(
                f"The proposal is {proposal.state.label.lower()}, so the decision was not "
                "published."
            )
        return
    if proposal.state not in OPEN_STATES:
        raise StaleState(
            f"The proposal is {proposal.state.label.lower()}, so the decision was not published."
        )
    if decision.outcome == Outcome.ADVANCE:
        current = current_submission(proposal)
        # Opened already (by hand, before publication): the letter still goes out, once.
        if current is None or current.stage_id == decision.stage_id:
            # The letter is the invitation: no second e-mail from the next stage's opening.
            open_next_stage(proposal, actor=actor, now=now, invite=False)
    elif decision.outcome in CLOSING:
        # Compare-and-set: a withdrawal committed since the check above wins.
        apply_step(
            proposal,
            CLOSING[decision.outcome],
            actor=actor,
            now=now,
            values={"updated_at": now},
            detail={"decision_id": decision.id},
            stale="The proposal changed meanwhile; the decision was not published.",
        )
    # A reserve place leaves the proposal as it is.


@operation
def publish_decision(decision_id: int, *, actor: User, now: dt.datetime) -> bool:
    """Publish one confirmed decision; False when it is already published (or gone).

    Side effects: ``Decision.letter`` frozen, in the coordinator's language (the deployment's
    default without one), and ``published_at`` set; the outcome applied
    (advance: the next stage's draft, without its own e-mail; reject/fund: the proposal closed;
    reserve and an interim evaluation's outcomes: nothing here, what areas above registered
    runs); audit ``decision.published``; the letter e-mailed to the coordinator.
    """
    decision = db.session.scalar(
        sa.select(Decision)
        .where(Decision.id == decision_id)
        .with_for_update()
        # Re-read after the lock: another worker may have published it while we waited.
        .execution_options(populate_existing=True)
    )
    if decision is None or decision.published_at is not None or decision.confirmed_at is None:
        return False
    stage = db.session.get(Stage, decision.stage_id)
    proposal = db.session.get(Proposal, decision.proposal_id, populate_existing=True)
    assert stage is not None and proposal is not None
    require(can_publish(actor, stage))
    before = proposal.state
    coordinator = coordinator_of(proposal)
    # Written in the coordinator's language, whoever publishes: the letter is frozen as sent.
    language = language_of(coordinator.locale if coordinator else None)
    with force_locale(language):
        letter = letters_content.build_letter(
            decision, proposal=proposal, stage=stage, now=now, language=language
        )
    _apply(decision, proposal, actor=actor, now=now)
    run_hooks(decision, proposal, stage, actor, now)
    db.session.flush()
    db.session.refresh(proposal, ["state"])
    apply_step(
        decision,
        "publish",
        actor=actor,
        now=now,
        values={"published_at": now, "letter": letter},
        event=PUBLISHED,
        detail={
            "proposal_state_before": before,
            "proposal": proposal.id,
            "stage": stage.id,
            "outcome": decision.outcome.value,
            "proposal_state": proposal.state,
            "letter_sha256": hashlib.sha256(
                json.dumps(letter, sort_keys=True, ensure_ascii=False).encode()
            ).hexdigest(),
        },
    )
    if coordinator is not None:
        notify(
            to=coordinator,
            template="selection/letter",
            context={
                "name": coordinator.name,
                "proposal_id": proposal.id,
                "decision_id": decision.id,
                "letter": letter,
            },
            dedup_key=f"selection.letter:{decision.id}",
            now=now,
        )
    return True


@operation
def _record_failure(decision_id: int, *, actor: User, reason: str, now: dt.datetime) -> None:
    decision = db.session.get(Decision, decision_id)
    if decision is None:
        return
    proposal = db.session.get(Proposal, decision.proposal_id)
    record_event(
        actor=actor,
        action=FAILED,
        object_type="stage",
        object_id=decision.stage_id,
        after={
            "decision": decision.id,
            "reference": proposal.reference if proposal else None,
            "reason": reason[:500],
        },
        now=now,
    )


def publish_stage(
    stage_id: int, *, actor_id: int, job_id: int, requested_at: dt.datetime | None = None
) -> int:
    """The worker's part: publish each confirmed, unpublished decision of the stage in its own
    transaction, reporting progress on the job; returns how many it published now. A decision
    that cannot be published (the proposal was withdrawn meanwhile) is left unpublished, with
    the reason in the audit trail, and the others go ahead. Letters and publications are dated
    on the clock of the officer who started it (``requested_at``, see ``selection.clock``)."""
    claimed = jobs.claim(job_id, now=utcnow())
    if claimed is None:
        return 0
    opened_at = db.session.scalar(sa.select(Job.created_at).where(Job.id == job_id))
    db.session.commit()
    assert opened_at is not None

    def now() -> dt.datetime:
        return on_callers_clock(requested_at, opened_at)

    with jobs.heartbeat(job_id, claimed):
        try:
            return _publish_all(stage_id, actor_id, job_id, claimed, now)
        except Exception:
            log.exception("publication of stage %s stopped", stage_id)
            db.session.rollback()
            jobs.fail_claimed(job_id, claimed, jobs.INTERNAL_ERROR)
            return 0


def _publish_all(
    stage_id: int,
    actor_id: int,
    job_id: int,
    claimed: dt.datetime,
    now: Callable[[], dt.datetime],
) -> int:
    stage = db.session.get(Stage, stage_id)
    actor = db.session.get(User, actor_id)
    if stage is None or actor is None or not can_publish(actor, stage):
        log.warning("publication of stage %s by user %s refused or gone", stage_id, actor_id)
        jobs.fail_claimed(
            job_id, claimed, N_("Not published: the stage or the permission is gone.")
        )
        return 0
    ids = [d.id for d, _ in db.session.execute(_waiting(stage)).all()]
    db.session.commit()
    published = failed = 0
    for number, decision_id in enumerate(ids, start=1):
        try:
            if publish_decision(decision_id, actor=actor, now=now()):
                published += 1
        except Exception as error:  # one bad decision must not hold back the others
            failed += 1
            reason = str(error) if isinstance(error, DomainError) else "an internal error"
            if not isinstance(error, DomainError):
                log.exception("decision %s not published", decision_id)
            else:
                log.warning("decision %s not published: %s", decision_id, type(error).__name__)
            _record_failure(decision_id, actor=actor, reason=reason, now=now())
        if not jobs.report(
            job_id,
            claimed,
            5 + 95 * number // len(ids),
            N_("%(done)s of %(all)s letters done.", done=number, all=len(ids)),
        ):
            return published  # taken over by another worker, which goes on from here
    _end(job_id, claimed, published, failed, now())
    log.info("stage %s: %s decision(s) published", stage_id, published)
    return published


@operation
def _end(job_id: int, claimed: dt.datetime, published: int, failed: int, now: dt.datetime) -> None:
    job = jobs.mine(job_id, claimed)
    if job is not None:
        message = Nn_("%(num)s letter published.", "%(num)s letters published.", published)
        if failed:
            message = Nn_(
                "%(num)s letter published; not published: %(failed)s.",
                "%(num)s letters published; not published: %(failed)s.",
                published,
                failed=failed,
            )
        jobs.end(job, "finish", now=now, message=message)


# --- what the officer's page shows -------------------------------------------------------------
