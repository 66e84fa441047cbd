"""The jury's panel meeting: discussion notes per proposal, and consensus scores that replace
a criterion's mean in the next ranking (audited, on the criterion's scale and step)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import sqlalchemy as sa

from competition.accounts.models import User
from competition.audit.operations import record_event
from competition.core import scoring
from competition.db import add_unique, operation
from competition.errors import DomainError, StaleState
from competition.extensions import db
from competition.i18n import gettext as _
from competition.i18n import number, say
from competition.permissions import require
from competition.programmes.models import Criterion, Stage
from competition.proposals.models import Proposal
from competition.selection.decisions import queries as decisions_queries
from competition.selection.models import ConsensusScore, PanelNote
from competition.selection.panel.queries import scoring_criterion
from competition.selection.permissions import can_hold_panel

MAX_NOTE = 5000
MAX_REASON = 2000


def _in_stage(stage: Stage, proposal: Proposal) -> None:
    if decisions_queries.find_stage_proposal(stage, proposal.id) is None:
        raise DomainError(
            _("%(reference)s is not in %(stage)s.", reference=proposal.reference, stage=stage.name)
        )


def _consensus_json(stage: Stage, row: ConsensusScore) -> dict[str, object]:
    return {
        "stage": stage.id,
        "criterion": row.criterion_id,
        "score": scoring.plain(row.score),
        "reason": row.reason,
    }


# --- operations -----------------------------------------------------------------------------------


@operation
def add_note(
    stage: Stage, proposal: Proposal, *, text: str, actor: User, now: dt.datetime
) -> PanelNote:
    """Add a discussion note to the proposal's panel record.
    Side effects: a note row; audit ``panel.note_added``."""
    require(can_hold_panel(actor, stage))
    text = text.strip()
    if not text:
        raise DomainError(_("Write the note first."), field="text")
    if len(text) > MAX_NOTE:
        raise DomainError(
            _("Keep a note under %(count)s characters.", count=number(MAX_NOTE, 0)), field="text"
        )
    _in_stage(stage, proposal)
    note = PanelNote(
        stage_id=stage.id, proposal_id=proposal.id, text=text, author_id=actor.id, created_at=now
    )
    db.session.add(note)
    db.session.flush()
    record_event(
        actor=actor,
        action="panel.note_added",
        object_type="proposal",
        object_id=proposal.id,
        after={"stage": stage.id, "note": note.id, "chars": len(text)},
        now=now,
    )
    return note


def _reason(reason: str, errors: dict[str, list[str]], missing: str) -> str:
    reason = reason.strip()
    if not reason:
        errors["reason"] = [missing]
    elif len(reason) > MAX_REASON:
        errors["reason"] = [
            _("Keep the reason under %(count)s characters.", count=number(MAX_REASON, 0))
        ]
    return reason


def _criterion_of(stage: Stage, criterion: Criterion) -> None:
    if criterion.stage_id != stage.id:
        raise DomainError(
            _(
                "%(criterion)s is not a criterion of %(stage)s.",
                criterion=criterion.name,
                stage=stage.name,
            )
        )


def _locked(stage: Stage, proposal: Proposal, criterion: Criterion) -> ConsensusScore | None:
    return db.session.scalar(
        sa.select(ConsensusScore)
        .where(
            ConsensusScore.stage_id == stage.id,
            ConsensusScore.proposal_id == proposal.id,
            ConsensusScore.criterion_id == criterion.id,
        )
        .with_for_update()
    )


@operation
def record_consensus(
    stage: Stage,
    proposal: Proposal,
    criterion: Criterion,
    *,
    score: str | Decimal,
    reason: str,
    actor: User,
    now: dt.datetime,
) -> ConsensusScore:
    """Record (or change) the score the jury agreed on for one criterion of the proposal. It
    must lie on the criterion's scale; the reason is required. The same score and reason again
    change nothing. It counts from the next ranking on.
    Side effects: the consensus row; audit ``panel.consensus_recorded`` with before and after.
    """
    require(can_hold_panel(actor, stage))
    _criterion_of(stage, criterion)
    errors: dict[str, list[str]] = {}
    rules = scoring_criterion(criterion)
    value = scoring.parse_score(score)
    if value is None and isinstance(score, str) and score.strip():
        errors["score"] = [
            _(
                "“%(value)s” is not a number; %(scale)s.",
                value=score.strip()[:20],
                scale=say(scoring.scale_words(rules)),
            )
        ]
    else:
        problem = scoring.check_score(value, rules)
        if problem is not None:
            errors["score"] = [say(problem)]
    reason = _reason(reason, errors, _("Say why the jury agreed on this score."))
    if errors:
        raise DomainError(errors)
    assert value is not None
    _in_stage(stage, proposal)
    row = _locked(stage, proposal, criterion)
    before = _consensus_json(stage, row) if row is not None else None
    if row is not None and row.score == value and row.reason == reason:
        return row
    if row is None:
        row = ConsensusScore(
            stage_id=stage.id,
            proposal_id=proposal.id,
            criterion_id=criterion.id,
            score=value,
            reason=reason,
            recorded_by_id=actor.id,
            recorded_at=now,
        )
        add_unique(
            row,
            taken=StaleState(
                _(
                    "Another officer recorded a consensus score for %(criterion)s at the same "
                    "time; look at it and change it if needed.",
                    criterion=criterion.name,
                )
            ),
        )
    else:
        row.score = value
        row.reason = reason
        row.recorded_by_id = actor.id
        row.recorded_at = now
        db.session.flush()
    record_event(
        actor=actor,
        action="panel.consensus_recorded",
        object_type="proposal",
        object_id=proposal.id,
        before=before,
        after=_consensus_json(stage, row),
        now=now,
    )
    return row


@operation
def remove_consensus(
    stage: Stage,
    proposal: Proposal,
    criterion: Criterion,
    *,
    reason: str,
    actor: User,
    now: dt.datetime,
) -> None:
    """Remove a consensus score, so the jurors' mean counts again from the next ranking on.
    Side effects: the row is deleted; audit ``panel.consensus_removed`` with the removed score
    before and the reason after."""
    require(can_hold_panel(actor, stage))
    _criterion_of(stage, criterion)
    errors: dict[str, list[str]] = {}
    reason = _reason(reason, errors, _("Say why the consensus score no longer holds."))
    if errors:
        raise DomainError(errors)
    row = _locked(stage, proposal, criterion)
    if row is None:
        raise StaleState(
            _("There is no consensus score for %(criterion)s any more.", criterion=criterion.name)
        )
    before = _consensus_json(stage, row)
    db.session.delete(row)
    db.session.flush()
    record_event(
        actor=actor,
        action="panel.consensus_removed",
        object_type="proposal",
        object_id=proposal.id,
        before=before,
        after={"stage": stage.id, "criterion": criterion.id, "reason": reason},
        now=now,
    )


# --- what the panel pages show --------------------------------------------------------------------
