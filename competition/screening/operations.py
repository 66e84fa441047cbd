"""Eligibility screening: the checks of a proposal's submitted version, and the officer's verdict.

Every operation is one transaction (competition.db.operation): permission, validation (one
DomainError with every message), change, audit event, outbox rows.
"""

from __future__ import annotations

import datetime as dt
import logging

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from competition.accounts.models import User
from competition.audit.operations import record_event
from competition.db import operation
from competition.errors import DomainError
from competition.extensions import db
from competition.i18n import gettext as _
from competition.i18n import number
from competition.notifications.operations import notify
from competition.permissions import require
from competition.programmes.models import Stage
from competition.proposals import permissions
from competition.proposals.models import (
    Proposal,
    ProposalState,
    StageSubmission,
    SubmissionState,
)
from competition.proposals.queries import coordinator_of
from competition.screening.models import ScreeningResult, Verdict
from competition.screening.permissions import can_screen
from competition.screening.queries import ScreeningChecks, evaluate, latest_version
from competition.workflow import apply_step

log = logging.getLogger(__name__)

REASON_MAX_CHARS = 5000


def screening_checks(proposal: Proposal, stage: Stage) -> ScreeningChecks:
    """Complete, on time, budget rules and scope, judged on the latest submitted version of the
    proposal's submission for the stage (all four fail when nothing was submitted)."""
    submission = db.session.scalar(
        sa.select(StageSubmission)
        .where(StageSubmission.proposal_id == proposal.id, StageSubmission.stage_id == stage.id)
        .options(selectinload(StageSubmission.versions))
        .execution_options(populate_existing=True)
    )
    return evaluate(
        latest_version(submission),
        submission=submission,
        stage=stage,
        call=proposal.call,
        deadline=permissions.deadline_for(proposal, stage),
    )


def screening_refusal(proposal: Proposal, checks: ScreeningChecks) -> str | None:
    """Why the proposal cannot be screened at the stage of ``checks``, or None."""
    withdrawn = checks.submission is not None and checks.submission.state == (
        SubmissionState.WITHDRAWN
    )
    if proposal.state == ProposalState.WITHDRAWN or withdrawn:
        return _("The proposal has been withdrawn; it cannot be screened.")
    if checks.version is None:
        return _("Nothing has been submitted for this stage; there is nothing to screen.")
    return None


def _state_after(
    verdict: Verdict, state: ProposalState, earlier: Verdict | None
) -> ProposalState | None:
    """The proposal's state after the verdict, or None when this verdict cannot be recorded."""
    if verdict == Verdict.INELIGIBLE:
        # Only a proposal waiting for review can be taken out of it; a later decision
        # (advanced, rejected, funded) is not undone by screening.
        if state in (ProposalState.SUBMITTED, ProposalState.INELIGIBLE):
            return ProposalState.INELIGIBLE
        return None
    if state == ProposalState.DRAFT:
        return None
    # Correcting this stage's ineligible verdict re-admits the proposal to the review; an
    # ineligible state that another stage's verdict caused stays.
    if state == ProposalState.INELIGIBLE and earlier == Verdict.INELIGIBLE:
        return ProposalState.SUBMITTED
    return state


@operation
def record_verdict(
    proposal: Proposal,
    stage: Stage,
    *,
    actor: User,
    verdict: Verdict,
    reason: str,
    now: dt.datetime,
) -> ScreeningResult:
    """An officer of the programme records whether the proposal's latest submitted version for
    the stage is eligible; ineligible needs a reason. Recording the verdict it already has (same
    reason, same version) changes nothing and sends nothing.

    Side effects: the screening result, created or updated, with the checks as shown and the
    version screened; the proposal marked ineligible, or submitted again when this stage's
    ineligible verdict is corrected (compare-and-set); audit ``screening.verdict``; for an
    ineligible verdict, an e-mail to the coordinator (one per change of the verdict).
    """
    require(can_screen(actor, proposal))
    if stage.call_id != proposal.call_id:
        raise DomainError(_("That stage belongs to another call."))
    # One verdict at a time per proposal: a second officer's verdict waits here for the first,
    # then sees it (and the proposal's state) as it is now.
    db.session.execute(sa.select(Proposal.id).where(Proposal.id == proposal.id).with_for_update())
    db.session.refresh(proposal, ["state"])
    # Read again, not from the session: the page may have loaded it before the lock.
    result = db.session.scalar(
        sa.select(ScreeningResult)
        .where(ScreeningResult.proposal_id == proposal.id, ScreeningResult.stage_id == stage.id)
        .execution_options(populate_existing=True)
    )
    earlier = result.verdict if result is not None else None
    reason = reason.strip()
    checks = screening_checks(proposal, stage)

    errors: dict[str, list[str]] = {}
    refusal = screening_refusal(proposal, checks)
    state_before = proposal.state
    state_after = _state_after(verdict, state_before, earlier)
    if refusal is not None:
        errors[""] = [refusal]
    elif state_after is None:
        state = state_before.in_sentence
        errors[""] = [
            _("The proposal is %(state)s; it can no longer be found ineligible.", state=state)
            if verdict == Verdict.INELIGIBLE
            else _("The proposal is %(state)s; it can no longer be found eligible.", state=state)
        ]
    if verdict == Verdict.INELIGIBLE and not reason:
        errors["reason"] = [_("Give the reason; the coordinator receives it by e-mail.")]
    elif len(reason) > REASON_MAX_CHARS:
        errors["reason"] = [
            _(
                "The reason has %(count)s characters; use at most %(limit)s.",
                count=number(len(reason), 0),
                limit=number(REASON_MAX_CHARS, 0),
            )
        ]
    if errors:
        raise DomainError(errors)
    assert checks.version is not None and state_after is not None

    if (
        result is not None
        and result.verdict == verdict
        and result.reason == reason
        and result.version_id == checks.version.id
    ):
        return result

    before = {"stage_id": stage.id, "state": state_before}
    if result is not None:
        before.update(verdict=result.verdict, reason=result.reason, version_id=result.version_id)
    # Counts the changes of this result, so each changed verdict has its own mail key and a
    # repeated request (which changes nothing, above) never has a second one.
    changes = int((result.checks or {}).get("changes", 0)) + 1 if result is not None else 1
    if result is None:
        result = ScreeningResult(proposal_id=proposal.id, stage_id=stage.id)
        db.session.add(result)
    result.verdict = verdict
    result.reason = reason
    result.checks = {**checks.as_json(), "changes": changes}
    result.version_id = checks.version.id
    result.decided_by_id = actor.id
    result.decided_at = now

    if state_after != state_before:
        apply_step(
            proposal,
            "screen_out" if state_after == ProposalState.INELIGIBLE else "readmit",
            actor=actor,
            now=now,
            reason=reason,
            values={"updated_at": now},
            detail={"stage_id": stage.id},
            stale=_("The proposal changed meanwhile. Reload the page and decide again."),
        )
    db.session.flush()
    record_event(
        actor=actor,
        action="screening.verdict",
        object_type="proposal",
        object_id=proposal.id,
        before=before,
        after={
            "stage_id": stage.id,
            "state": state_after,
            "verdict": verdict,
            "reason": reason,
            "version_id": checks.version.id,
            "checks": {check.key: check.ok for check in checks.all_checks},
        },
        now=now,
    )
    if verdict == Verdict.INELIGIBLE:
        coordinator = coordinator_of(proposal)
        if coordinator is None:
            log.warning("proposal %s has no coordinator account to notify", proposal.id)
        else:
            notify(
                to=coordinator,
                template="screening/ineligible",
                context={
                    "name": coordinator.name,
                    "reference": proposal.reference,
                    "acronym": proposal.acronym,
                    "stage": stage.name,
                    "reason": reason,
                    "proposal_id": proposal.id,
                },
                dedup_key=f"screening.ineligible:{proposal.id}:{stage.id}:{result.id}:{changes}",
                now=now,
            )
    log.info("proposal %s stage %s screened: %s", proposal.id, stage.id, verdict.value)
    return result
