"""What the hearing pages read, each page in a few queries and nothing while rendering.

Who sits a slot is one rule, ``sitting``: the jurors of the stage (an accepted place, conflicts
declared, active) who said they are available for it and have no conflict of interest with its
proposal. The officer's page, the mails, the juror's calendar and the hearing's review
assignments all read it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from competition.accounts.models import User
from competition.assignment.models import Conflict
from competition.assignment.queries import HIDDEN_FROM_JURORS, in_stage
from competition.assignment.stage_problem import stage_jurors
from competition.extensions import db
from competition.hearings.models import HearingSlot, JurorAvailability
from competition.programmes.models import Call, Stage
from competition.proposals.models import Proposal


def find_stage(stage_id: int) -> Stage | None:
    return db.session.scalar(
        sa.select(Stage)
        .where(Stage.id == stage_id)
        .options(joinedload(Stage.call).joinedload(Call.programme))
    )


def find_slot(slot_id: int) -> HearingSlot | None:
    return db.session.get(HearingSlot, slot_id)


def find_proposal(proposal_id: int) -> Proposal | None:
    return db.session.scalar(
        sa.select(Proposal)
        .where(Proposal.id == proposal_id)
        .options(joinedload(Proposal.call).joinedload(Call.programme))
    )


def list_slots(stage: Stage) -> list[HearingSlot]:
    return list(
        db.session.scalars(
            sa.select(HearingSlot)
            .where(HearingSlot.stage_id == stage.id)
            .order_by(HearingSlot.starts_at, HearingSlot.id)
        )
    )


def count_slots(stage_id: int) -> int:
    """How many slots the hearing of a stage has; the programmes' set-up reads it."""
    return (
        db.session.scalar(
            sa.select(sa.func.count(HearingSlot.id)).where(HearingSlot.stage_id == stage_id)
        )
        or 0
    )


def finalists(stage: Stage) -> list[Proposal]:
    """The proposals with a submission for the hearing stage that are still competing."""
    return list(
        db.session.scalars(
            sa.select(Proposal)
            .where(
                Proposal.call_id == stage.call_id,
                Proposal.state.not_in(HIDDEN_FROM_JURORS),
                in_stage(stage),
            )
            .order_by(Proposal.reference)
        )
    )


def clashing_slot(
    stage: Stage,
    *,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    room: str = "",
    video_url: str = "",
    other_than: int | None = None,
) -> HearingSlot | None:
    """Another hearing slot of the call, at an overlapping time, in the same room (case and
    spaces aside) or on the same video link."""
    if not room and not video_url:
        return None
    places = []
    if room:
        places.append(sa.func.lower(sa.func.trim(HearingSlot.room)) == room.strip().lower())
    if video_url:
        places.append(HearingSlot.video_url == video_url)
    query = (
        sa.select(HearingSlot)
        .join(Stage, Stage.id == HearingSlot.stage_id)
        .where(
            Stage.call_id == stage.call_id,
            HearingSlot.starts_at < ends_at,
            HearingSlot.ends_at > starts_at,
            sa.or_(*places),
        )
        .order_by(HearingSlot.starts_at)
        .limit(1)
    )
    if other_than is not None:
        query = query.where(HearingSlot.id != other_than)
    return db.session.scalar(query)


def _conflicts(user_ids: Collection[int], proposal_ids: Collection[int]) -> set[tuple[int, int]]:
    if not user_ids or not proposal_ids:
        return set()
    return {
        (user_id, proposal_id)
        for user_id, proposal_id in db.session.execute(
            sa.select(Conflict.user_id, Conflict.proposal_id).where(
                Conflict.user_id.in_(list(user_ids)), Conflict.proposal_id.in_(list(proposal_ids))
            )
        )
    }


def _answers(slot_ids: Collection[int]) -> dict[tuple[int, int], bool]:
    if not slot_ids:
        return {}
    return {
        (slot_id, user_id): available
        for slot_id, user_id, available in db.session.execute(
            sa.select(
                JurorAvailability.slot_id, JurorAvailability.user_id, JurorAvailability.available
            ).where(JurorAvailability.slot_id.in_(list(slot_ids)))
        )
    }


@dataclass(frozen=True)
class SlotRow:
    slot: HearingSlot
    proposal: Proposal | None
    confirmed_by: User | None
    # juror id → True (available), False (not), None (no answer yet)
    answers: dict[int, bool | None]
    sitting: list[User]
    conflicted: list[User]


@dataclass(frozen=True)
class Timetable:
    stage: Stage
    rows: list[SlotRow]
    jurors: list[User]
    finalists: list[Proposal]
    waiting: list[Proposal] = field(default_factory=list)

    def sitting_of(self, user_id: int) -> list[SlotRow]:
        return [row for row in self.rows if any(u.id == user_id for u in row.sitting)]


def timetable(stage: Stage) -> Timetable:
    """Every slot of the stage with its proposal, the jurors' answers, who sits it and who may
    not (a conflict), and the finalists still waiting for a slot."""
    slots = list_slots(stage)
    jurors = [user for user, _profile in stage_jurors(stage)]
    competing = finalists(stage)
    proposal_ids = {s.proposal_id for s in slots if s.proposal_id is not None}
    proposals = {p.id: p for p in competing}
    missing = proposal_ids - set(proposals)
    if missing:
        proposals.update(
            {
                p.id: p
                for p in db.session.scalars(sa.select(Proposal).where(Proposal.id.in_(missing)))
            }
        )
    confirmers = {s.confirmed_by_id for s in slots if s.confirmed_by_id is not None}
    people = (
        {u.id: u for u in db.session.scalars(sa.select(User).where(User.id.in_(confirmers)))}
        if confirmers
        else {}
    )
    answers = _answers([s.id for s in slots])
    conflicts = _conflicts([j.id for j in jurors], proposal_ids)
    rows = []
    for slot in slots:
        conflicted = [
            j
            for j in jurors
            if slot.proposal_id is not None and (j.id, slot.proposal_id) in conflicts
        ]
        rows.append(
            SlotRow(
                slot=slot,
                proposal=proposals.get(slot.proposal_id) if slot.proposal_id else None,
                confirmed_by=people.get(slot.confirmed_by_id) if slot.confirmed_by_id else None,
                answers={j.id: answers.get((slot.id, j.id)) for j in jurors},
                sitting=[
                    j
                    for j in jurors
                    if slot.proposal_id is not None
                    and answers.get((slot.id, j.id)) is True
                    and j not in conflicted
                ],
                conflicted=conflicted,
            )
        )
    waiting = [p for p in competing if p.id not in proposal_ids]
    return Timetable(stage=stage, rows=rows, jurors=jurors, finalists=competing, waiting=waiting)


def sitting(stage: Stage) -> dict[int, list[int]]:
    """proposal id → the ids of the jurors who sit its slot."""
    return {
        row.slot.proposal_id: [u.id for u in row.sitting]
        for row in timetable(stage).rows
        if row.slot.proposal_id is not None
    }


@dataclass(frozen=True)
class JurorSlot:
    slot: HearingSlot
    # None: a slot without a proposal, or one the juror has a conflict with ("another
    # consortium"): the juror never learns which.
    proposal: Proposal | None
    conflicted: bool
    available: bool | None


def juror_slots(stage: Stage, user: User) -> list[JurorSlot]:
    slots = list_slots(stage)
    proposal_ids = {s.proposal_id for s in slots if s.proposal_id is not None}
    conflicts = {p for _u, p in _conflicts([user.id], proposal_ids)}
    visible = proposal_ids - conflicts
    proposals = (
        {p.id: p for p in db.session.scalars(sa.select(Proposal).where(Proposal.id.in_(visible)))}
        if visible
        else {}
    )
    answers = _answers([s.id for s in slots])
    return [
        JurorSlot(
            slot=slot,
            proposal=proposals.get(slot.proposal_id) if slot.proposal_id else None,
            conflicted=slot.proposal_id in conflicts,
            available=answers.get((slot.id, user.id)),
        )
        for slot in slots
    ]


def sitting_slots(stage: Stage, user: User) -> list[JurorSlot]:
    """The slots the juror sits: available, a proposal in it, no conflict with it."""
    return [
        s
        for s in juror_slots(stage, user)
        if s.proposal is not None and not s.conflicted and s.available is True
    ]


@dataclass(frozen=True)
class ProposalSlot:
    slot: HearingSlot
    stage: Stage
    proposal: Proposal
    confirmed_by: User | None


def proposal_slots(proposal: Proposal) -> list[ProposalSlot]:
    rows = db.session.execute(
        sa.select(HearingSlot, Stage)
        .join(Stage, Stage.id == HearingSlot.stage_id)
        .where(HearingSlot.proposal_id == proposal.id)
        .order_by(HearingSlot.starts_at)
    ).all()
    confirmers = {s.confirmed_by_id for s, _stage in rows if s.confirmed_by_id is not None}
    people = (
        {u.id: u for u in db.session.scalars(sa.select(User).where(User.id.in_(confirmers)))}
        if confirmers
        else {}
    )
    return [
        ProposalSlot(
            slot=slot,
            stage=stage,
            proposal=proposal,
            confirmed_by=people.get(slot.confirmed_by_id) if slot.confirmed_by_id else None,
        )
        for slot, stage in rows
    ]


def find_proposal_slot(proposal: Proposal, slot_id: int) -> ProposalSlot | None:
    return next((s for s in proposal_slots(proposal) if s.slot.id == slot_id), None)


def slot_panel(proposal: Proposal) -> list[ProposalSlot]:
    """For the proposal's pages (registered with proposals.panels)."""
    return proposal_slots(proposal)
