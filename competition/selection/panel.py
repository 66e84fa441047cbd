"""The jury's panel meeting: discussion notes per proposal and consensus scores that replace a
criterion's mean in the next ranking; and what the panel pages show (the ranking with notes,
consensus scores and the jurors absent because of a conflict of interest; one proposal's
reviews per juror).

A juror with a conflict of interest on a proposal is absent from its discussion: the pages
name them as absent and never show a review of theirs, as the ranking never counts one.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa

from competition.accounts.models import User
from competition.assignment.models import Assignment, Conflict, JuryMembership, MembershipState
from competition.audit.operations import record_event
from competition.core import scoring
from competition.db import add_unique, operation
from competition.errors import DomainError, StaleState
from competition.extensions import db
from competition.paging import Page
from competition.permissions import require
from competition.programmes.models import Criterion, Stage
from competition.proposals.models import Proposal
from competition.reviews.models import Review
from competition.selection import decision_queries as dq
from competition.selection.models import ConsensusScore, PanelNote, Ranking
from competition.selection.permissions import can_hold_panel
from competition.selection.rankings import counted_reviews, latest_done

MAX_NOTE = 5000
MAX_REASON = 2000


def _scoring_criterion(criterion: Criterion) -> scoring.Criterion:
    return scoring.Criterion(
        key=str(criterion.id),
        name=criterion.name,
        weight=criterion.weight,
        scale_min=criterion.scale_min,
        scale_max=criterion.scale_max,
        step=criterion.scale_step,
    )


def _in_stage(stage: Stage, proposal: Proposal) -> None:
    if dq.find_stage_proposal(stage, proposal.id) is None:
        raise DomainError(f"{proposal.reference} is not in {stage.name}.")


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
        raise DomainError("Write the note first.", field="text")
    if len(text) > MAX_NOTE:
        raise DomainError(f"Keep a note under {MAX_NOTE:,} characters.", field="text")
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
        errors["reason"] = [f"Keep the reason under {MAX_REASON:,} characters."]
    return reason


def _criterion_of(stage: Stage, criterion: Criterion) -> None:
    if criterion.stage_id != stage.id:
        raise DomainError(f"{criterion.name} is not a criterion of {stage.name}.")


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
    rules = _scoring_criterion(criterion)
    value = scoring.parse_score(score)
    if value is None and isinstance(score, str) and score.strip():
        errors["score"] = [f"“{score.strip()[:20]}” is not a number; {scoring.scale_words(rules)}."]
    else:
        problem = scoring.check_score(value, rules)
        if problem is not None:
            errors["score"] = [problem]
    reason = _reason(reason, errors, "Say why the jury agreed on this score.")
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
                f"Another officer recorded a consensus score for {criterion.name} at the same "
                "time; look at it and change it if needed."
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
    reason = _reason(reason, errors, "Say why the consensus score no longer holds.")
    if errors:
        raise DomainError(errors)
    row = _locked(stage, proposal, criterion)
    if row is None:
        raise StaleState(f"There is no consensus score for {criterion.name} any more.")
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


def _stage_jurors(stage: Stage) -> sa.Select[tuple[int]]:
    """The stage's jurors: those on the call's jury and any juror assigned at the stage."""
    return sa.union(
        sa.select(JuryMembership.user_id).where(
            JuryMembership.call_id == stage.call_id,
            JuryMembership.state == MembershipState.ACCEPTED,
        ),
        sa.select(Assignment.user_id).where(Assignment.stage_id == stage.id),
    )  # type: ignore[return-value]


def absent_jurors(stage: Stage, proposal_ids: Sequence[int]) -> dict[int, list[User]]:
    """Per proposal, the stage's jurors with a conflict of interest on it, by name."""
    if not proposal_ids:
        return {}
    rows = db.session.execute(
        sa.select(Conflict.proposal_id, User)
        .join(User, User.id == Conflict.user_id)
        .where(
            Conflict.proposal_id.in_(list(proposal_ids)),
            Conflict.user_id.in_(_stage_jurors(stage)),
        )
        .order_by(User.name, User.id)
    ).all()
    absent: dict[int, list[User]] = defaultdict(list)
    for proposal_id, user in rows:
        if user not in absent[proposal_id]:  # one conflict may come from several sources
            absent[proposal_id].append(user)
    return absent


@dataclass(frozen=True)
class ConsensusLine:
    criterion: Criterion
    consensus: ConsensusScore
    recorded_by: User
    # The latest ranking already uses this score.
    in_ranking: bool

    @property
    def score(self) -> str:
        return scoring.plain(self.consensus.score)


def _consensus(
    stage: Stage, proposal_ids: Sequence[int], ranked: dict[int, dq.Ranked]
) -> dict[int, list[ConsensusLine]]:
    if not proposal_ids:
        return {}
    criteria = {c.id: c for c in stage.criteria}
    lines: dict[int, list[ConsensusLine]] = defaultdict(list)
    for row, user in db.session.execute(
        sa.select(ConsensusScore, User)
        .join(User, User.id == ConsensusScore.recorded_by_id)
        .where(
            ConsensusScore.stage_id == stage.id,
            ConsensusScore.proposal_id.in_(list(proposal_ids)),
        )
    ):
        found = ranked.get(row.proposal_id)
        in_ranking = (
            found is not None
            and row.criterion_id in found.overridden
            and found.criterion_means.get(row.criterion_id) == float(row.score)
        )
        lines[row.proposal_id].append(
            ConsensusLine(criteria[row.criterion_id], row, user, in_ranking)
        )
    for found_lines in lines.values():
        found_lines.sort(key=lambda line: line.criterion.position)
    return lines


@dataclass(frozen=True)
class PanelRow:
    proposal: Proposal
    ranked: dq.Ranked | None
    notes: int
    consensus: list[ConsensusLine]
    absent: list[User]


@dataclass(frozen=True)
class PanelList:
    ranking: Ranking | None
    rows: Page[PanelRow]


def panel_list(stage: Stage, *, q: str, page: int) -> PanelList:
    """The stage's proposals in the order of the latest ranking (the unranked after them)."""

    ranking = latest_done(stage)
    ranked = dq.ranked_rows(ranking)
    paged = dq.page_of(dq.ranked_order(stage, ranked, q=q), page)
    ids = list(paged.items)
    proposals = dq.proposals_by_id(ids)
    notes: dict[int, int] = (
        dict(
            db.session.execute(  # type: ignore[arg-type]
                sa.select(PanelNote.proposal_id, sa.func.count())
                .where(PanelNote.stage_id == stage.id, PanelNote.proposal_id.in_(ids))
                .group_by(PanelNote.proposal_id)
            ).all()
        )
        if ids
        else {}
    )
    consensus = _consensus(stage, ids, ranked)
    absent = absent_jurors(stage, ids)
    rows = [
        PanelRow(
            proposal=proposals[p],
            ranked=ranked.get(p),
            notes=notes.get(p, 0),
            consensus=consensus.get(p, []),
            absent=absent.get(p, []),
        )
        for p in ids
    ]
    return PanelList(
        ranking=ranking,
        rows=Page(rows, page=paged.page, per_page=paged.per_page, total=paged.total),
    )


@dataclass(frozen=True)
class ReviewLine:
    juror: User
    scores: list[str]  # in the criteria's order, as the juror gave them
    confidence: int | None
    comment_for_jury: str
    comment_for_applicant: str
    submitted_at: dt.datetime | None


@dataclass(frozen=True)
class CriterionLine:
    criterion: Criterion
    scale: str  # "use steps of 0.5 between 0 and 5"
    mean: str | None  # of the reviews shown, two decimals
    consensus: ConsensusLine | None


@dataclass(frozen=True)
class PanelDetail:
    proposal: Proposal
    ranking: Ranking | None
    ranked: dq.Ranked | None
    criteria: list[CriterionLine]
    reviews: list[ReviewLine]
    notes: list[tuple[PanelNote, User]]
    absent: list[User]


def panel_detail(stage: Stage, proposal: Proposal) -> PanelDetail:
    """One proposal for the panel: the submitted reviews of live assignments (never one of a
    juror with a conflict, as in the ranking), the criteria with means and consensus scores,
    the notes, and who is absent."""

    ranking = latest_done(stage)
    ranked = dq.ranked_rows(ranking)
    found = db.session.execute(
        sa.select(Review, User)
        .join(Assignment, Assignment.id == Review.assignment_id)
        .join(User, User.id == Assignment.user_id)
        .where(*counted_reviews(stage), Assignment.proposal_id == proposal.id)
        .order_by(User.name, User.id)
    ).all()
    criteria = list(stage.criteria)
    reviews = [
        ReviewLine(
            juror=user,
            scores=[str((review.scores or {}).get(str(c.id), "–")) for c in criteria],
            confidence=review.confidence,
            comment_for_jury=review.comment_for_jury,
            comment_for_applicant=review.comment_for_applicant,
            submitted_at=review.submitted_at,
        )
        for review, user in found
    ]
    consensus = {
        line.criterion.id: line
        for line in _consensus(stage, [proposal.id], ranked).get(proposal.id, [])
    }
    lines = []
    for criterion in criteria:
        values = [
            value
            for review, _ in found
            if (value := scoring.parse_score(str((review.scores or {}).get(str(criterion.id)))))
            is not None
        ]
        mean = (
            f"{(sum(values, Decimal(0)) / len(values)).quantize(Decimal('0.01'))}"
            if values
            else None
        )
        lines.append(
            CriterionLine(
                criterion=criterion,
                scale=scoring.scale_words(_scoring_criterion(criterion)),
                mean=mean,
                consensus=consensus.get(criterion.id),
            )
        )
    notes = [
        (note, user)
        for note, user in db.session.execute(
            sa.select(PanelNote, User)
            .join(User, User.id == PanelNote.author_id)
            .where(PanelNote.stage_id == stage.id, PanelNote.proposal_id == proposal.id)
            .order_by(PanelNote.created_at, PanelNote.id)
        )
    ]
    return PanelDetail(
        proposal=proposal,
        ranking=ranking,
        ranked=ranked.get(proposal.id),
        criteria=lines,
        reviews=reviews,
        notes=notes,
        absent=absent_jurors(stage, [proposal.id]).get(proposal.id, []),
    )
