"""Officers manage their programme's topic taxonomy: clusters and cross-cutting themes, each
top-level topic with sub-topics of its own (two levels, never three), named in German and
English, in an order the officers choose.

A topic's slug is made from its English name when it is created and never changes afterwards:
submitted versions freeze their topics by slug. A topic that proposals or jurors name is retired
(no longer offered for new choices) rather than deleted. Shared topics (no programme) are not
managed here. Every change is audited.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from flask_babel import ngettext

from competition.accounts.models import User
from competition.audit.operations import record_event
from competition.db import operation
from competition.errors import DomainError, PermissionDenied
from competition.extensions import db
from competition.i18n import gettext as _
from competition.permissions import require
from competition.programmes.models import Programme, Topic, TopicKind
from competition.programmes.operations import slugify
from competition.programmes.permissions import can_manage_programme
from competition.programmes.uses import topic_uses

MAX_NAME = 200


def _managed(actor: User, programme: Programme) -> None:
    require(can_manage_programme(actor, programme))


def _programme_of(topic: Topic) -> Programme:
    programme = db.session.get(Programme, topic.programme_id) if topic.programme_id else None
    if programme is None:
        raise PermissionDenied(_("Shared topics are not managed by a programme's officers."))
    return programme


def _state(topic: Topic) -> dict[str, Any]:
    return {
        "programme_id": topic.programme_id,
        "slug": topic.slug,
        "name_en": topic.name_en,
        "name_de": topic.name_de,
        "kind": topic.kind.value,
        "parent_id": topic.parent_id,
        "position": topic.position,
    }


def _audit(
    topic: Topic,
    action: str,
    *,
    actor: User,
    now: dt.datetime,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    record_event(
        actor=actor,
        action=f"topic.{action}",
        object_type="topic",
        object_id=topic.id,
        before=before,
        after=after,
        now=now,
    )


def _siblings(programme_id: int, kind: TopicKind, parent_id: int | None) -> list[Topic]:
    parent = Topic.parent_id.is_(None) if parent_id is None else Topic.parent_id == parent_id
    return list(
        db.session.scalars(
            sa.select(Topic)
            .where(Topic.programme_id == programme_id, Topic.kind == kind, parent)
            .order_by(Topic.position, Topic.id)
        )
    )


def _free_slug(base: str) -> str:
    """``base``, or with a number after it when another programme's topic has it."""
    taken = set(
        db.session.scalars(
            sa.select(Topic.slug).where(
                sa.or_(Topic.slug == base, Topic.slug.like(f"{base}-%", escape="\\"))
            )
        )
    )
    slug, n = base, 2
    while slug in taken:
        slug, n = f"{base}-{n}", n + 1
    return slug


def _validate(
    programme: Programme,
    topic: Topic | None,
    *,
    name_en: str,
    name_de: str,
    kind: str,
    parent_id: int | None,
) -> tuple[TopicKind, Topic | None, str | None]:
    """Check the input; return the kind (a sub-topic takes its parent's), the parent and, for a
    new topic, the slug. Raises one DomainError naming every problem at its field."""
    errors: dict[str, list[str]] = {}

    def add(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    name_en, name_de = name_en.strip(), name_de.strip()
    for field, name, missing in (
        ("name_en", name_en, _("Enter the topic's English name.")),
        ("name_de", name_de, _("Enter the topic's German name.")),
    ):
        if not name:
            add(field, missing)
        elif len(name) > MAX_NAME:
            add(field, _("Use at most %(max)s characters.", max=MAX_NAME))
    try:
        chosen_kind = TopicKind(kind)
    except ValueError:
        add("kind", _("Choose a cluster or a cross-cutting theme."))
        chosen_kind = TopicKind.CLUSTER

    parent = None
    if parent_id is not None:
        parent = db.session.get(Topic, parent_id)
        if parent is None or parent.programme_id != programme.id:
            add("parent_id", _("Choose a topic of this programme."))
            parent = None
        elif topic is not None and parent.id == topic.id:
            add("parent_id", _("A topic cannot be its own sub-topic."))
        elif parent.parent_id is not None:
            add(
                "parent_id",
                _(
                    "“%(name)s” is itself a sub-topic; the taxonomy has two levels. "
                    "Choose a top-level topic.",
                    name=parent.name,
                ),
            )
        elif parent.retired_at is not None:
            add("parent_id", _("“%(name)s” is retired; choose another topic.", name=parent.name))
        elif topic is not None and db.session.scalar(
            sa.select(sa.func.count()).where(Topic.parent_id == topic.id)
        ):
            add(
                "parent_id",
                _(
                    "This topic has sub-topics of its own, so it cannot become a sub-topic: "
                    "the taxonomy has two levels."
                ),
            )
        if parent is not None:
            chosen_kind = parent.kind

    others = [
        t
        for t in db.session.scalars(
            sa.select(Topic).where(
                sa.or_(Topic.programme_id == programme.id, Topic.programme_id.is_(None))
            )
        )
        if topic is None or t.id != topic.id
    ]
    for field, name in (("name_en", name_en), ("name_de", name_de)):
        if name and any(getattr(t, field).casefold() == name.casefold() for t in others):
            add(field, _("This programme already has a topic “%(name)s”.", name=name))

    slug = None
    if topic is None and name_en and "name_en" not in errors:
        base = slugify(name_en, separator="-")
        close = next((t for t in others if t.slug == base), None)
        if not base:
            add("name_en", _("Use letters or digits in the English name."))
        elif close is not None:
            add(
                "name_en",
                _(
                    "This name is too close to the topic “%(name)s”; choose another one.",
                    name=close.name,
                ),
            )
        else:
            slug = _free_slug(base)
    if errors:
        raise DomainError(errors)
    return chosen_kind, parent, slug


@operation
def add_topic(
    programme: Programme,
    *,
    actor: User,
    name_en: str,
    name_de: str,
    kind: str,
    parent_id: int | None,
    now: dt.datetime,
) -> Topic:
    """Add a topic at the end of its kind's (or its parent's) list.

    Side effects: audit ``topic.created``.
    """
    _managed(actor, programme)
    chosen_kind, parent, slug = _validate(
        programme, None, name_en=name_en, name_de=name_de, kind=kind, parent_id=parent_id
    )
    assert slug is not None
    siblings = _siblings(programme.id, chosen_kind, parent.id if parent else None)
    topic = Topic(
        programme_id=programme.id,
        slug=slug,
        name_en=name_en.strip(),
        name_de=name_de.strip(),
        kind=chosen_kind,
        parent_id=parent.id if parent else None,
        position=max((t.position for t in siblings), default=0) + 1,
    )
    db.session.add(topic)
    db.session.flush()
    _audit(topic, "created", actor=actor, now=now, after=_state(topic))
    return topic


@operation
def update_topic(
    topic: Topic,
    *,
    actor: User,
    name_en: str,
    name_de: str,
    kind: str,
    parent_id: int | None,
    now: dt.datetime,
) -> Topic:
    """Rename a topic, change its kind or its parent (it goes to the end of its new list; its
    sub-topics follow a change of kind). The slug stays.

    Side effects: audit ``topic.updated`` when anything changed.
    """
    programme = _programme_of(topic)
    _managed(actor, programme)
    chosen_kind, parent, _slug = _validate(
        programme, topic, name_en=name_en, name_de=name_de, kind=kind, parent_id=parent_id
    )
    before = _state(topic)
    new_parent_id = parent.id if parent else None
    moved = (chosen_kind, new_parent_id) != (topic.kind, topic.parent_id)
    if moved:
        siblings = _siblings(programme.id, chosen_kind, new_parent_id)
        topic.position = max((t.position for t in siblings), default=0) + 1
        for child in db.session.scalars(sa.select(Topic).where(Topic.parent_id == topic.id)):
            child.kind = chosen_kind
    topic.name_en, topic.name_de = name_en.strip(), name_de.strip()
    topic.kind, topic.parent_id = chosen_kind, new_parent_id
    db.session.flush()
    after = _state(topic)
    if after != before:
        _audit(topic, "updated", actor=actor, now=now, before=before, after=after)
    return topic


@operation
def move_topic(topic: Topic, *, actor: User, offset: int, now: dt.datetime) -> bool:
    """Swap a topic with the one before (offset -1) or after (+1) it in its list. Returns False
    at either end.

    Side effects: audit ``topic.moved``.
    """
    programme = _programme_of(topic)
    _managed(actor, programme)
    if offset not in (-1, 1):
        raise DomainError(_("A topic moves one place up or down."))
    siblings = _siblings(programme.id, topic.kind, topic.parent_id)
    # Positions may repeat (topics moved between lists): number them afresh first.
    for position, sibling in enumerate(siblings, start=1):
        sibling.position = position
    index = siblings.index(topic) + offset
    if not 0 <= index < len(siblings):
        return False
    other = siblings[index]
    before = topic.position
    topic.position, other.position = other.position, topic.position
    db.session.flush()
    _audit(
        topic,
        "moved",
        actor=actor,
        now=now,
        before={"position": before},
        after={"position": topic.position, "swapped_with": other.id},
    )
    return True


@operation
def retire_topic(topic: Topic, *, actor: User, now: dt.datetime) -> bool:
    """Stop offering a topic (and its sub-topics) for new choices; proposals and jurors that
    name it keep it. Returns False when it was retired already.

    Side effects: audit ``topic.retired``.
    """
    programme = _programme_of(topic)
    _managed(actor, programme)
    if topic.retired_at is not None:
        return False
    children = list(
        db.session.scalars(
            sa.select(Topic).where(Topic.parent_id == topic.id, Topic.retired_at.is_(None))
        )
    )
    for retiring in (topic, *children):
        retiring.retired_at = now
    db.session.flush()
    _audit(
        topic,
        "retired",
        actor=actor,
        now=now,
        after={"retired_at": now.isoformat(), "sub_topics": [c.id for c in children]},
    )
    return True


@operation
def reinstate_topic(topic: Topic, *, actor: User, now: dt.datetime) -> bool:
    """Offer a retired topic again (its sub-topics stay as they are). Returns False when it was
    not retired.

    Side effects: audit ``topic.reinstated``.
    """
    programme = _programme_of(topic)
    _managed(actor, programme)
    if topic.retired_at is None:
        return False
    parent = db.session.get(Topic, topic.parent_id) if topic.parent_id else None
    if parent is not None and parent.retired_at is not None:
        raise DomainError(
            _("“%(name)s” is retired: reinstate it first.", name=parent.name),
        )
    before = {"retired_at": topic.retired_at.isoformat()}
    topic.retired_at = None
    db.session.flush()
    _audit(topic, "reinstated", actor=actor, now=now, before=before)
    return True


def removal_refused(topic: Topic) -> str | None:
    """Why the topic cannot be deleted (it has sub-topics, or proposals or jurors name it),
    or None."""
    subs = db.session.scalar(sa.select(sa.func.count()).where(Topic.parent_id == topic.id)) or 0
    if subs:
        return ngettext(
            "“%(name)s” has %(num)d sub-topic; delete or move it first.",
            "“%(name)s” has %(num)d sub-topics; delete or move them first.",
            subs,
            name=topic.name,
        )
    use = topic_uses([topic.id])[topic.id]
    if use:
        return _(
            "“%(name)s” is named by %(proposals)s and %(jurors)s, so it cannot be deleted. "
            "Retire it instead: it is then no longer offered, and those who chose it keep it.",
            name=topic.name,
            proposals=ngettext("%(num)d proposal", "%(num)d proposals", use.proposals),
            jurors=ngettext("%(num)d juror", "%(num)d jurors", use.jurors),
        )
    return None


@operation
def remove_topic(topic: Topic, *, actor: User, now: dt.datetime) -> None:
    """Delete a topic that has no sub-topics and that no proposal and no juror names.

    Side effects: audit ``topic.removed``.
    """
    programme = _programme_of(topic)
    _managed(actor, programme)
    refused = removal_refused(topic)
    if refused is not None:
        raise DomainError(refused)
    before = _state(topic)
    topic_id = topic.id
    db.session.delete(topic)
    db.session.flush()
    record_event(
        actor=actor,
        action="topic.removed",
        object_type="topic",
        object_id=topic_id,
        before=before,
        now=now,
    )
