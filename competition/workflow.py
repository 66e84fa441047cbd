"""The one gateway through which any object changes its lifecycle state.

A step is a compare-and-set on the state the caller saw (no row changed: someone else was
first, and the user is told so), one row of history in ``state_transitions`` and one audit
event (not for a job's steps, see ``Workflow.audited``), all in the caller's transaction.
Nothing else assigns a ``state`` column; a test reads the source to keep it so. Models name
their lifecycle with ``__workflow__``.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm.attributes import set_committed_value

from competition.accounts.models import User
from competition.audit.models import StateTransition
from competition.audit.operations import event_row, record_event, record_events
from competition.core import workflow as tables
from competition.errors import DomainError, StaleState
from competition.extensions import db
from competition.i18n import say


class StepRefused(DomainError):
    """The action is not possible from the object's current state."""


def workflow_of(obj: object) -> tables.Workflow:
    found = getattr(type(obj), "__workflow__", None)
    if not isinstance(found, tables.Workflow):
        raise TypeError(f"{type(obj).__name__} has no lifecycle (__workflow__)")
    return found


def object_type_of(obj: object) -> str:
    """The name of the object in the history and the audit trail (several kinds of job share
    one lifecycle, so a model may name itself)."""
    return str(getattr(type(obj), "__object_type__", None) or workflow_of(obj).name)


def state_of(obj: Any) -> str:
    return str(obj.state.value if hasattr(obj.state, "value") else obj.state)


def _target(workflow: tables.Workflow, state: str, action: str) -> str | None:
    try:
        return tables.step(workflow, state, action)
    except tables.IllegalStep:
        raise StepRefused(say(tables.refusal(workflow, state, action))) from None


def _compare_and_set(
    objs: Sequence[Any],
    action: str,
    *,
    values: Mapping[str, Any],
    stale: str | None,
) -> list[tuple[Any, str, str]]:
    """Compare-and-set every object one step; (object, from, to) for those that moved."""
    if not objs:
        return []
    workflow = workflow_of(objs[0])
    model = type(objs[0])
    groups: dict[tuple[str, str], list[Any]] = defaultdict(list)
    for obj in objs:
        if workflow_of(obj) is not workflow:
            raise TypeError("one batch, one lifecycle")
        source = state_of(obj)
        target = _target(workflow, source, action)
        if target is not None:
            groups[(source, target)].append(obj)
    moved: list[tuple[Any, str, str]] = []
    for (source, target), members in groups.items():
        ids = [obj.id for obj in members]
        result: sa.CursorResult[Any] = db.session.execute(  # type: ignore[assignment]
            sa.update(model)
            .where(model.id.in_(ids), model.state == source)
            .values(state=target, **values)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != len(ids):
            raise StaleState(stale or say(tables.changed_meanwhile(workflow)))
        state_type = model.__table__.c.state.type
        for obj in members:
            set_committed_value(obj, "state", state_type.python_type(target))
            for key, value in values.items():
                set_committed_value(obj, key, value)
            moved.append((obj, source, target))
    return moved


def _history(
    moved: Sequence[tuple[Any, str, str]],
    action: str,
    *,
    actor: User | None,
    now: dt.datetime,
    reason: str,
) -> list[dict[str, Any]]:
    return [
        {
            "object_type": object_type_of(obj),
            "object_id": obj.id,
            "from_state": source,
            "to_state": target,
            "action": action,
            "actor_id": actor.id if actor is not None else None,
            "at": now,
            "reason": reason,
        }
        for obj, source, target in moved
    ]


def _write_history(rows: list[dict[str, Any]]) -> None:
    # A plain insert, not the ORM's bulk one: the rows never become objects here.
    if rows:
        db.session.execute(StateTransition.__table__.insert(), rows)


@dataclass(frozen=True)
class Move:
    """One object's step, for :func:`apply_moves`; the fields are :func:`apply_step`'s."""

    obj: Any
    action: str
    reason: str | None = None
    values: Mapping[str, Any] | None = None
    event: str | None = None
    before: Mapping[str, Any] | None = None
    detail: Mapping[str, Any] | None = None
    stale: str | None = None


def apply_step(
    obj: Any,
    action: str,
    *,
    actor: User | None,
    now: dt.datetime,
    reason: str | None = None,
    values: Mapping[str, Any] | None = None,
    event: str | None = None,
    before: Mapping[str, Any] | None = None,
    detail: Mapping[str, Any] | None = None,
    stale: str | None = None,
) -> bool:
    """Take ``obj`` one step along its lifecycle from the state the caller loaded.

    ``values`` are further columns written in the same compare-and-set (``submitted_at``…);
    ``event`` names the audit event (default ``<object>.<past tense>``); ``before`` and
    ``detail`` add to its before- and after-image. Returns False when the object already stands
    where the action leads (a repeated request: nothing written). Raises StepRefused for an
    action its state does not allow, StaleState when another transaction moved it first.
    """
    move = Move(obj, action, reason, values, event, before, detail, stale)
    return apply_moves([move], actor=actor, now=now)[0]


def apply_moves(moves: Sequence[Move], *, actor: User | None, now: dt.datetime) -> list[bool]:
    """Several objects, each its own step as :func:`apply_step` takes it (a submission, then
    its proposal): the compare-and-sets in this order, then the history rows in one insert and
    the audit events in one, in the same order. Returns for each whether it moved."""
    history: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    done: list[bool] = []
    for move in moves:
        workflow = workflow_of(move.obj)
        moved = _compare_and_set(
            [move.obj], move.action, values=move.values or {}, stale=move.stale
        )
        done.append(bool(moved))
        if not moved:
            continue
        history += _history(moved, move.action, actor=actor, now=now, reason=move.reason or "")
        if not workflow.audited:
            continue
        _, source, target = moved[0]
        after: dict[str, Any] = {**(move.detail or {}), "state": target}
        if move.reason:
            after["reason"] = move.reason
        events.append(
            event_row(
                actor=actor,
                action=move.event or f"{object_type_of(move.obj)}.{workflow.past[move.action]}",
                object_type=object_type_of(move.obj),
                object_id=move.obj.id,
                before={**(move.before or {}), "state": source},
                after=after,
                now=now,
            )
        )
    _write_history(history)
    if events:
        record_events(events)
    return done


def apply_steps(
    objs: Sequence[Any],
    action: str,
    *,
    actor: User | None,
    now: dt.datetime,
    event: str,
    object_type: str,
    object_id: int,
    detail: Mapping[str, Any] | None = None,
    reason: str | None = None,
    values: Mapping[str, Any] | None = None,
    stale: str | None = None,
) -> list[Any]:
    """The same step for many objects of one lifecycle (a release, a batch of confirmations):
    one compare-and-set per starting state, a history row for each, one audit event for the
    batch on ``object_type``/``object_id``. Returns the objects that moved."""
    moved = _compare_and_set(list(objs), action, values=values or {}, stale=stale)
    _write_history(_history(moved, action, actor=actor, now=now, reason=reason or ""))
    if moved and workflow_of(moved[0][0]).audited:
        record_event(
            actor=actor,
            action=event,
            object_type=object_type,
            object_id=object_id,
            after={"moved": len(moved), **(detail or {})},
            now=now,
        )
    return [obj for obj, _, _ in moved]


@dataclass(frozen=True)
class Step:
    """One line of an object's history, ready for a page."""

    at: dt.datetime
    action: str
    from_state: str
    to_state: str
    actor: str
    reason: str


def history(object_type: str, object_ids: Sequence[int]) -> list[Step]:
    """The steps of these objects, oldest first (a proposal's page passes its submissions too)."""
    if not object_ids:
        return []
    rows = db.session.execute(
        sa.select(StateTransition, User.name)
        .outerjoin(User, User.id == StateTransition.actor_id)
        .where(
            StateTransition.object_type == object_type,
            StateTransition.object_id.in_(list(object_ids)),
        )
        .order_by(StateTransition.at, StateTransition.id)
    )
    return [
        Step(
            at=row.at,
            action=row.action,
            from_state=row.from_state,
            to_state=row.to_state,
            actor=name or "",
            reason=row.reason,
        )
        for row, name in rows
    ]


def offered(obj: Any, allowed: Mapping[str, bool]) -> list[str]:
    """The actions a page offers for ``obj``: what its lifecycle allows from the current state
    and ``allowed`` (the page's permission answers, by action) permits."""
    workflow = workflow_of(obj)
    return [a for a in tables.actions_from(workflow, state_of(obj)) if allowed.get(a, False)]
