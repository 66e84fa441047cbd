"""Hearing operations: the officers' slots, the finalists in them, the timetable mailed, the
hearing's jury seated as review assignments; the jurors' availability; the coordinator's
confirmation.

Each is one transaction (competition.db.operation): permission, validation (every message at
its field, nothing written on bad input), the change, the audit event, the outbox rows. The
hearing's review assignments are made by the assignment area's own operations
(``change_assignment``, ``release``), so the review pages work on them unchanged.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from urllib.parse import urlsplit

import sqlalchemy as sa

from competition.accounts.models import User
from competition.assignment.models import Assignment
from competition.assignment.runs import Change, active_assignments, change_assignment, release
from competition.audit.operations import record_event
from competition.db import operation
from competition.errors import DomainError, StaleState
from competition.extensions import db
from competition.hearings import queries
from competition.hearings.models import HearingSlot, JurorAvailability
from competition.hearings.permissions import (
    can_confirm_slot,
    can_run_hearing,
    can_state_availability,
)
from competition.i18n import gettext as _
from competition.i18n import local_time
from competition.notifications.operations import notify
from competition.permissions import require
from competition.programmes.models import Stage
from competition.proposals.models import Proposal
from competition.proposals.queries import coordinator_of
from competition.reviews.models import Review

MAX_ROOM = 200
MAX_URL = 500
# A pitch and its questions take hours, not days.
MAX_SLOT_HOURS = 12


def _slot_facts(slot: HearingSlot) -> dict[str, object]:
    return {
        "stage_id": slot.stage_id,
        "starts_at": slot.starts_at.isoformat(),
        "ends_at": slot.ends_at.isoformat(),
        "room": slot.room,
        "video_url": slot.video_url,
        "proposal_id": slot.proposal_id,
    }


def _when(slot: HearingSlot) -> str:
    return _(
        "%(start)s to %(end)s",
        start=local_time(slot.starts_at),
        end=local_time(slot.ends_at, "%H:%M"),
    )


def _valid_video_url(url: str) -> bool:
    parts = urlsplit(url)
    return (
        parts.scheme == "https"
        and bool(parts.hostname)
        and "." in (parts.hostname or "")
        and not any(c.isspace() for c in url)
    )


def _check_slot(
    stage: Stage,
    *,
    starts_at: dt.datetime | None,
    ends_at: dt.datetime | None,
    room: str,
    video_url: str,
    other_than: int | None,
) -> None:
    errors: dict[str, list[str]] = {}
    if starts_at is None:
        errors["starts_at"] = [_("Enter when the slot starts.")]
    if ends_at is None:
        errors["ends_at"] = [_("Enter when the slot ends.")]
    elif starts_at is not None and ends_at <= starts_at:
        errors["ends_at"] = [_("The slot must end after it starts.")]
    elif starts_at is not None and ends_at - starts_at > dt.timedelta(hours=MAX_SLOT_HOURS):
        errors["ends_at"] = [
            _("A slot lasts at most %(hours)s hours.", hours=MAX_SLOT_HOURS),
        ]
    if not room and not video_url:
        errors["room"] = [_("Give a room, a video link or both.")]
    if len(room) > MAX_ROOM:
        errors["room"] = [_("Keep the room under %(limit)s characters.", limit=MAX_ROOM)]
    if video_url and (len(video_url) > MAX_URL or not _valid_video_url(video_url)):
        errors["video_url"] = [
            _("Enter the video link as a full https address, like https://meet.example.org/room.")
        ]
    if not errors and starts_at is not None and ends_at is not None:
        for place, kwargs in (("room", {"room": room}), ("video_url", {"video_url": video_url})):
            if not kwargs[place]:
                continue
            clash = queries.clashing_slot(
                stage, starts_at=starts_at, ends_at=ends_at, other_than=other_than, **kwargs
            )
            if clash is not None:
                errors[place] = [
                    _(
                        "Room %(room)s is taken by another slot (%(when)s) at that time. "
                        "Choose another time or room.",
                        room=room,
                        when=_when(clash),
                    )
                    if place == "room"
                    else _(
                        "This video link is used by another slot (%(when)s) at that time. "
                        "Choose another time or link.",
                        when=_when(clash),
                    )
                ]
    if errors:
        raise DomainError(errors)


@operation
def save_slot(
    stage: Stage,
    *,
    actor: User,
    slot: HearingSlot | None = None,
    starts_at: dt.datetime | None,
    ends_at: dt.datetime | None,
    room: str,
    video_url: str,
    now: dt.datetime,
) -> HearingSlot:
    """An officer of the programme creates a hearing slot, or changes one. A slot may not end
    before it starts, nor overlap another slot of the call in the same room or on the same
    video link. Changing the time or the place of a confirmed slot asks the consortium to
    confirm again. Side effects: the slot row; audit ``hearing.slot_created`` or
    ``hearing.slot_changed``."""
    require(can_run_hearing(actor, stage))
    if slot is not None and slot.stage_id != stage.id:
        raise DomainError(_("This slot belongs to another stage."))
    room = room.strip()
    video_url = video_url.strip()
    _check_slot(
        stage,
        starts_at=starts_at,
        ends_at=ends_at,
        room=room,
        video_url=video_url,
        other_than=slot.id if slot is not None else None,
    )
    assert starts_at is not None and ends_at is not None
    before = _slot_facts(slot) if slot is not None else None
    if slot is None:
        slot = HearingSlot(stage_id=stage.id, created_at=now)
        db.session.add(slot)
    moved = before is not None and (slot.starts_at, slot.ends_at, slot.room, slot.video_url) != (
        starts_at,
        ends_at,
        room,
        video_url,
    )
    slot.starts_at = starts_at
    slot.ends_at = ends_at
    slot.room = room
    slot.video_url = video_url
    slot.updated_at = now
    if moved:
        slot.confirmed_at = None
        slot.confirmed_by_id = None
    db.session.flush()
    record_event(
        actor=actor,
        action="hearing.slot_created" if before is None else "hearing.slot_changed",
        object_type="hearing_slot",
        object_id=slot.id,
        before=before,
        after=_slot_facts(slot),
        now=now,
    )
    return slot


@operation
def delete_slot(slot: HearingSlot, *, actor: User, now: dt.datetime) -> None:
    """An officer removes a slot; its proposal waits for another one. The jurors' answers for
    it go with it. Side effects: the row deleted; audit ``hearing.slot_deleted``."""
    stage = db.session.get(Stage, slot.stage_id)
    assert stage is not None
    require(can_run_hearing(actor, stage))
    before = _slot_facts(slot)
    slot_id = slot.id
    db.session.execute(sa.delete(JurorAvailability).where(JurorAvailability.slot_id == slot_id))
    db.session.delete(slot)
    db.session.flush()
    record_event(
        actor=actor,
        action="hearing.slot_deleted",
        object_type="hearing_slot",
        object_id=slot_id,
        before=before,
        now=now,
    )


def _place(slot: HearingSlot, proposal_id: int | None, *, now: dt.datetime) -> None:
    if slot.proposal_id != proposal_id:
        slot.proposal_id = proposal_id
        slot.confirmed_at = None
        slot.confirmed_by_id = None
        slot.updated_at = now


@operation
def assign_slot(
    slot: HearingSlot, *, actor: User, proposal_id: int | None, now: dt.datetime
) -> HearingSlot:
    """An officer puts a finalist of the stage into a slot (or empties it). One slot per
    proposal and stage; a proposal already in another slot is refused at the field.
    Side effects: ``proposal_id`` set and any confirmation cleared; audit
    ``hearing.slot_assigned``."""
    stage = db.session.get(Stage, slot.stage_id)
    assert stage is not None
    require(can_run_hearing(actor, stage))
    if proposal_id is not None:
        finalists = {p.id: p for p in queries.finalists(stage)}
        if proposal_id not in finalists:
            raise DomainError(
                _("Choose a finalist of this stage: a proposal submitted for the hearing."),
                field="proposal_id",
            )
        elsewhere = db.session.scalar(
            sa.select(HearingSlot).where(
                HearingSlot.stage_id == stage.id,
                HearingSlot.proposal_id == proposal_id,
                HearingSlot.id != slot.id,
            )
        )
        if elsewhere is not None:
            raise DomainError(
                _(
                    "%(proposal)s already pitches in the slot of %(when)s. Empty that slot first.",
                    proposal=finalists[proposal_id].reference,
                    when=_when(elsewhere),
                ),
                field="proposal_id",
            )
    if slot.proposal_id == proposal_id:
        return slot
    before = {"proposal_id": slot.proposal_id}
    try:
        # Another officer may have put the proposal into another slot meanwhile (unique pair).
        with db.session.begin_nested():
            _place(slot, proposal_id, now=now)
            db.session.flush()
    except sa.exc.IntegrityError:
        raise StaleState(
            _("Another officer changed the slots meanwhile. Reload the page.")
        ) from None
    record_event(
        actor=actor,
        action="hearing.slot_assigned",
        object_type="hearing_slot",
        object_id=slot.id,
        before=before,
        after={"proposal_id": proposal_id},
        now=now,
    )
    return slot


@operation
def assign_in_order(stage: Stage, *, actor: User, now: dt.datetime) -> int:
    """The finalists without a slot, in the order of their references, into the free slots in
    the order of time. Returns how many were placed.
    Side effects: ``proposal_id`` on the slots; audit ``hearing.slots_assigned``."""
    require(can_run_hearing(actor, stage))
    slots = queries.list_slots(stage)
    placed = {s.proposal_id for s in slots if s.proposal_id is not None}
    waiting = [p for p in queries.finalists(stage) if p.id not in placed]
    free = [s for s in slots if s.proposal_id is None]
    if not waiting:
        raise DomainError(_("Every finalist has a slot already."))
    if not free:
        raise DomainError(_("There is no free slot. Add slots first."))
    pairs = list(zip(free, waiting, strict=False))
    for slot, proposal in pairs:
        _place(slot, proposal.id, now=now)
    db.session.flush()
    record_event(
        actor=actor,
        action="hearing.slots_assigned",
        object_type="stage",
        object_id=stage.id,
        after={"slots": {str(s.id): p.id for s, p in pairs}},
        now=now,
    )
    return len(pairs)


@operation
def save_availability(
    stage: Stage, *, actor: User, answers: Mapping[int, bool], now: dt.datetime
) -> int:
    """A juror of the call says for each slot whether they can sit it. Returns how many
    answers changed. Side effects: availability rows; audit ``hearing.availability_saved``."""
    require(can_state_availability(actor, stage))
    slots = {s.id for s in queries.list_slots(stage)}
    if set(answers) - slots:
        raise DomainError(_("One of the slots is not part of this hearing. Reload the page."))
    existing = {
        row.slot_id: row
        for row in db.session.scalars(
            sa.select(JurorAvailability).where(
                JurorAvailability.user_id == actor.id,
                JurorAvailability.slot_id.in_(list(answers)),
            )
        )
    }
    changed: dict[str, bool] = {}
    for slot_id, available in sorted(answers.items()):
        row = existing.get(slot_id)
        if row is None:
            db.session.add(
                JurorAvailability(
                    slot_id=slot_id, user_id=actor.id, available=available, updated_at=now
                )
            )
        elif row.available != available:
            row.available = available
            row.updated_at = now
        else:
            continue
        changed[str(slot_id)] = available
    db.session.flush()
    if changed:
        record_event(
            actor=actor,
            action="hearing.availability_saved",
            object_type="stage",
            object_id=stage.id,
            after={"answers": changed},
            now=now,
        )
    return len(changed)


@operation
def confirm_slot(slot: HearingSlot, *, actor: User, now: dt.datetime) -> HearingSlot:
    """The coordinator confirms the consortium's slot; confirming twice changes nothing.
    Side effects: ``confirmed_at`` and ``confirmed_by_id``; audit ``hearing.slot_confirmed``."""
    proposal = db.session.get(Proposal, slot.proposal_id) if slot.proposal_id else None
    if proposal is None:
        raise StaleState(_("This slot no longer belongs to your proposal. Reload the page."))
    require(can_confirm_slot(actor, proposal))
    if slot.confirmed_at is not None:
        return slot
    done = db.session.execute(
        sa.update(HearingSlot)
        .where(
            HearingSlot.id == slot.id,
            HearingSlot.proposal_id == proposal.id,
            HearingSlot.updated_at == slot.updated_at,
            HearingSlot.confirmed_at.is_(None),
        )
        .values(confirmed_at=now, confirmed_by_id=actor.id)
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:  # type: ignore[attr-defined]
        raise StaleState(_("The slot was changed meanwhile. Reload the page and check it again."))
    db.session.refresh(slot)
    record_event(
        actor=actor,
        action="hearing.slot_confirmed",
        object_type="hearing_slot",
        object_id=slot.id,
        after={"proposal_id": proposal.id, **_slot_facts(slot)},
        now=now,
    )
    return slot


def _slot_context(slot: HearingSlot, proposal: Proposal) -> dict[str, object]:
    return {
        "starts_at": slot.starts_at.isoformat(),
        "ends_at": slot.ends_at.isoformat(),
        "room": slot.room,
        "video_url": slot.video_url,
        "reference": proposal.reference,
        "acronym": proposal.acronym,
        "title": proposal.title,
    }


def _digest(context: object) -> str:
    return hashlib.sha256(json.dumps(context, sort_keys=True).encode()).hexdigest()[:16]


@operation
def send_timetable(stage: Stage, *, actor: User, now: dt.datetime) -> int:
    """Mail the timetable: to each coordinator their slot, to each sitting juror the slots they
    sit. The deduplication key holds a digest of what is sent, so sending an unchanged
    timetable again mails nobody twice and a changed one reaches those whose part changed.
    Returns how many messages were queued.
    Side effects: outbox rows (``hearings/timetable``); audit ``hearing.timetable_sent``."""
    require(can_run_hearing(actor, stage))
    table = queries.timetable(stage)
    rows = [r for r in table.rows if r.proposal is not None]
    if not rows:
        raise DomainError(_("No slot has a proposal yet: there is no timetable to send."))
    base = {"call": stage.call.name, "stage": stage.name}
    queued = 0
    for row in rows:
        assert row.proposal is not None
        coordinator = coordinator_of(row.proposal)
        if coordinator is None:
            continue
        slots = [_slot_context(row.slot, row.proposal)]
        context = {**base, "name": coordinator.name, "consortium": True, "slots": slots}
        key = f"hearing.timetable:{stage.id}:{coordinator.id}:{row.proposal.id}:{_digest(slots)}"
        if notify(
            to=coordinator, template="hearings/timetable", context=context, dedup_key=key, now=now
        ):
            queued += 1
    for juror in table.jurors:
        sits = table.sitting_of(juror.id)
        if not sits:
            continue
        slots = [_slot_context(r.slot, r.proposal) for r in sits if r.proposal is not None]
        context = {**base, "name": juror.name, "consortium": False, "slots": slots}
        key = f"hearing.timetable:{stage.id}:{juror.id}:jury:{_digest(slots)}"
        if notify(to=juror, template="hearings/timetable", context=context, dedup_key=key, now=now):
            queued += 1
    record_event(
        actor=actor,
        action="hearing.timetable_sent",
        object_type="stage",
        object_id=stage.id,
        after={"messages": queued, "slots": len(rows)},
        now=now,
    )
    return queued


@operation
def seat_jury(stage: Stage, *, actor: User, now: dt.datetime) -> int:
    """The hearing's review assignments follow the timetable: each slot's sitting jurors are
    assigned its proposal, released at once, so they score the pitch on the review page with
    the stage's criteria. A juror who no longer sits a slot is taken off, unless they have
    begun the review. Returns how many assignments were added.
    Side effects: those of ``assignment.runs.change_assignment`` and ``release`` (assignment
    rows, audit, one e-mail per juror); audit ``hearing.jury_seated``."""
    require(can_run_hearing(actor, stage))
    wanted = queries.sitting(stage)
    if not any(wanted.values()):
        raise DomainError(
            _("No juror sits any slot yet: put finalists into slots and collect availability.")
        )
    current = active_assignments(stage)
    reviewed = set(
        db.session.scalars(
            sa.select(Review.assignment_id).where(Review.assignment_id.in_([a.id for a in current]))
        )
    )
    added = removed = 0
    for assignment in current:
        if (
            assignment.user_id in wanted.get(assignment.proposal_id, [])
            or assignment.id in reviewed
        ):
            continue
        change_assignment(
            stage,
            Change("remove", assignment.proposal_id, juror_out=assignment.user_id),
            actor=actor,
            confirmed=True,
            now=now,
        )
        removed += 1
    have = {(a.proposal_id, a.user_id) for a in current}
    # A juror who gave a proposal back is never seated on it again (as in a run).
    have |= {
        (proposal_id, user_id)
        for proposal_id, user_id in db.session.execute(
            sa.select(Assignment.proposal_id, Assignment.user_id).where(
                Assignment.stage_id == stage.id, Assignment.declined_at.is_not(None)
            )
        )
    }
    for proposal_id, juror_ids in sorted(wanted.items()):
        for juror_id in juror_ids:
            if (proposal_id, juror_id) in have:
                continue
            change_assignment(
                stage,
                Change("add", proposal_id, juror_in=juror_id),
                actor=actor,
                confirmed=True,
                now=now,
            )
            added += 1
    unreleased = db.session.scalar(
        sa.select(sa.func.count(Assignment.id)).where(
            Assignment.stage_id == stage.id,
            Assignment.released_at.is_(None),
            Assignment.declined_at.is_(None),
        )
    )
    if unreleased:
        release(stage, actor=actor, now=now)
    record_event(
        actor=actor,
        action="hearing.jury_seated",
        object_type="stage",
        object_id=stage.id,
        after={"added": added, "removed": removed},
        now=now,
    )
    return added
