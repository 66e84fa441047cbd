"""Hash chain of audit events: each event's hash covers its content and the previous hash, so
changing, removing or reordering any stored event breaks every hash after it."""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

GENESIS_HASH = "0" * 64

# Keys of an event's before/after image that hold what people typed (reasons, questions,
# notes, a report's frozen text) or contact details. They are kept outside the hashed images,
# in the event's ``personal`` part, which erasure may clear without breaking the chain; the
# hashed images keep only references (ids, states, numbers, digests). Top-level keys only.
PERSONAL_KEYS = frozenset(
    {
        "reason",
        "question",
        "answer",
        "note",
        "text",
        "comment",
        "content",
        "email",
        "contact_name",
        "contact_email",
    }
)


def split_personal(
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
    personal: Mapping[str, Any] | None = None,
) -> tuple[dict[str, Any] | None, dict[str, Any] | None, dict[str, Any] | None]:
    """Separate the personal values of an event's images from the references.

    Returns the images without :data:`PERSONAL_KEYS` and the personal part
    ``{"before": {...}, "after": {...}}`` (only the sides that hold something; ``personal``
    given by the caller joins ``after``), or None when there is nothing personal."""
    found: dict[str, Any] = {}
    images: list[dict[str, Any] | None] = []
    for side, image in (("before", before), ("after", after)):
        if image is None:
            images.append(None)
            continue
        kept = {k: v for k, v in image.items() if k not in PERSONAL_KEYS}
        moved = {k: v for k, v in image.items() if k in PERSONAL_KEYS}
        if side == "after" and personal:
            moved.update(personal)
        if moved:
            found[side] = moved
        images.append(kept)
    if personal and after is None:
        found["after"] = dict(personal)
    return images[0], images[1], (found or None)


def to_jsonable(value: Any) -> Any:
    """Plain JSON values for the audit record, so what is hashed is exactly what is stored."""
    if isinstance(value, enum.Enum):
        return to_jsonable(value.value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise ValueError("audit times must be timezone-aware")
        return value.astimezone(dt.UTC).isoformat(timespec="microseconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (set, frozenset)):
        return sorted(to_jsonable(v) for v in value)
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise TypeError(f"cannot record {type(value).__name__} in the audit trail")


@dataclass(frozen=True)
class ChainEntry:
    seq: int
    occurred_at: dt.datetime
    actor_id: int | None
    action: str
    object_type: str
    object_id: str
    before: Any
    after: Any
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class ChainBreak:
    seq: int
    reason: str


def event_hash(
    *,
    prev_hash: str,
    seq: int,
    occurred_at: dt.datetime,
    actor_id: int | None,
    action: str,
    object_type: str,
    object_id: str,
    before: Any,
    after: Any,
) -> str:
    payload = {
        "prev_hash": prev_hash,
        "seq": seq,
        "occurred_at": to_jsonable(occurred_at),
        "actor_id": actor_id,
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "before": to_jsonable(before),
        "after": to_jsonable(after),
    }
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def first_break(entries: Iterable[ChainEntry]) -> ChainBreak | None:
    """The first event (in sequence order) whose place in the chain does not hold, or None."""
    expected_seq = 1
    prev_hash = GENESIS_HASH
    for entry in entries:
        if entry.seq != expected_seq:
            return ChainBreak(expected_seq, f"event {expected_seq} is missing (found {entry.seq})")
        if entry.prev_hash != prev_hash:
            return ChainBreak(entry.seq, "does not follow the event before it")
        recomputed = event_hash(
            prev_hash=entry.prev_hash,
            seq=entry.seq,
            occurred_at=entry.occurred_at,
            actor_id=entry.actor_id,
            action=entry.action,
            object_type=entry.object_type,
            object_id=entry.object_id,
            before=entry.before,
            after=entry.after,
        )
        if recomputed != entry.hash:
            return ChainBreak(entry.seq, "its content was changed after it was recorded")
        prev_hash = entry.hash
        expected_seq += 1
    return None
