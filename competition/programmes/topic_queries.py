"""Loading a programme's topic taxonomy: for its officers' page, and for the places where
applicants, jurors and officers choose topics or filter by them.

A programme offers its own topics and the shared ones (no programme), clusters first, then the
cross-cutting themes, each top-level topic followed by its sub-topics. Retired topics are not
offered for new choices, but a choice already made keeps showing them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa

from competition.accounts.models import User
from competition.db import built_once
from competition.extensions import db
from competition.programmes.models import Topic, TopicKind
from competition.programmes.queries import programme_ids_run_by
from competition.programmes.uses import TopicUse, topic_uses


@dataclass(frozen=True)
class TopicOption:
    """One topic as a choice: its name in the reader's language, indented when a sub-topic."""

    id: int
    slug: str
    name: str
    depth: int
    retired: bool
    shared: bool


@dataclass(frozen=True)
class TopicGroup:
    kind: TopicKind
    label: str
    options: tuple[TopicOption, ...]


def find_topic(topic_id: int) -> Topic | None:
    return db.session.get(Topic, topic_id)


def _visible_to(programme_ids: Collection[int]) -> sa.ColumnElement[bool]:
    shared = Topic.programme_id.is_(None)
    if not programme_ids:
        return shared
    return sa.or_(shared, Topic.programme_id.in_(sorted(set(programme_ids))))


def list_programme_topics(programme_id: int) -> list[Topic]:
    """The programme's own topics, retired ones too."""
    return list(db.session.scalars(sa.select(Topic).where(Topic.programme_id == programme_id)))


def list_topics_for(
    programme_ids: Collection[int], *, keep: Collection[int] = (), retired: bool = False
) -> list[Topic]:
    """The topics the programmes offer (their own and the shared ones): without ``retired``,
    retired ones only where ``keep`` (what is already chosen) names them."""
    query = sa.select(Topic).where(_visible_to(programme_ids))
    if not retired:
        kept = Topic.id.in_(sorted(set(keep))) if keep else sa.false()
        query = query.where(sa.or_(Topic.retired_at.is_(None), kept))
    return list(db.session.scalars(query))


def group(topics: Iterable[Topic]) -> list[TopicGroup]:
    """Clusters, then cross-cutting themes: a programme's own topics in their order before the
    shared ones, each top-level topic followed by its sub-topics. A sub-topic whose parent is
    not among ``topics`` stands on its own. Kinds without topics are left out."""
    topics = list(topics)
    present = {t.id for t in topics}
    children: dict[int, list[Topic]] = defaultdict(list)
    roots: list[Topic] = []
    for topic in topics:
        if topic.parent_id is not None and topic.parent_id in present:
            children[topic.parent_id].append(topic)
        else:
            roots.append(topic)

    def order(t: Topic) -> tuple[bool, int, str, int]:
        return (t.programme_id is None, t.position, t.name.casefold(), t.id)

    def option(t: Topic, depth: int) -> TopicOption:
        return TopicOption(
            id=t.id,
            slug=t.slug,
            name=t.name,
            depth=depth,
            retired=t.retired_at is not None,
            shared=t.programme_id is None,
        )

    groups = []
    for kind in TopicKind:
        options: list[TopicOption] = []
        for root in sorted((t for t in roots if t.kind == kind), key=order):
            options.append(option(root, 0))
            options += [option(c, 1) for c in sorted(children[root.id], key=order)]
        if options:
            groups.append(TopicGroup(kind=kind, label=kind.plural, options=tuple(options)))
    return groups


def offered(programme_ids: Collection[int], *, keep: Collection[int] = ()) -> list[TopicGroup]:
    """What a person may choose for the programmes, grouped: retired topics only if kept."""
    return group(list_topics_for(programme_ids, keep=keep))


def filter_choices(programme_ids: Collection[int]) -> list[TopicGroup]:
    """What a list may be filtered by: retired topics too, since proposals still name them."""
    return group(list_topics_for(programme_ids, retired=True))


def flat(groups: Sequence[TopicGroup]) -> list[tuple[int, str]]:
    """(id, name) of every option, for a form field's choices."""
    return [(o.id, o.name) for g in groups for o in g.options]


def choosable_ids(programme_ids: Collection[int], *, keep: Collection[int] = ()) -> set[int]:
    """The ids a person may choose for the programmes: those offered, and ``keep``."""
    return {t.id for t in list_topics_for(programme_ids, keep=keep)}


@dataclass(frozen=True)
class TaxonomyRow:
    """A topic on its officers' page: how deep it stands, whether it can move up or down among
    its siblings, and who names it."""

    topic: Topic
    depth: int
    first: bool
    last: bool
    use: TopicUse
    sub_topics: int


@dataclass(frozen=True)
class TaxonomyGroup:
    kind: TopicKind
    label: str
    rows: tuple[TaxonomyRow, ...]


def taxonomy(programme_id: int) -> list[TaxonomyGroup]:
    """The programme's own topics, retired ones too, grouped by kind and parent, every kind
    present (an empty one shows how to start it)."""
    topics = list_programme_topics(programme_id)
    by_id = {t.id: t for t in topics}
    uses = topic_uses(sorted(by_id))
    children: dict[int | None, list[Topic]] = defaultdict(list)
    for topic in topics:
        parent = topic.parent_id if topic.parent_id in by_id else None
        children[parent].append(topic)
    for siblings in children.values():
        siblings.sort(key=lambda t: (t.position, t.id))

    def rows(siblings: list[Topic], depth: int) -> list[TaxonomyRow]:
        made: list[TaxonomyRow] = []
        for index, topic in enumerate(siblings):
            made.append(
                TaxonomyRow(
                    topic=topic,
                    depth=depth,
                    first=index == 0,
                    last=index == len(siblings) - 1,
                    use=uses.get(topic.id, TopicUse()),
                    sub_topics=len(children[topic.id]),
                )
            )
            if depth == 0:
                made += rows(children[topic.id], 1)
        return made

    return [
        TaxonomyGroup(
            kind=kind,
            label=kind.plural,
            rows=tuple(rows([t for t in children[None] if t.kind == kind], 0)),
        )
        for kind in TopicKind
    ]


def parent_choices(programme_id: int, topic: Topic | None = None) -> list[Topic]:
    """The programme's top-level topics, not retired, that ``topic`` could be a sub-topic of."""
    return sorted(
        (
            t
            for t in list_programme_topics(programme_id)
            if t.parent_id is None and t.retired_at is None and (topic is None or t.id != topic.id)
        ),
        key=lambda t: (list(TopicKind).index(t.kind), t.position, t.id),
    )


@built_once
def _officers_topics() -> sa.Select[tuple[Topic]]:
    # Asked on every visit of the officers' list: built once, the officer bound when it runs.
    run_by = programme_ids_run_by(sa.bindparam("officer_id"))
    return sa.select(Topic).where(
        sa.or_(Topic.programme_id.is_(None), Topic.programme_id.in_(run_by))
    )


def filter_choices_for_officer(officer: User) -> list[TopicGroup]:
    """What the officer's proposal list may be filtered by: the topics of the programmes the
    officer runs and the shared ones, retired ones too."""
    return group(db.session.scalars(_officers_topics(), {"officer_id": officer.id}))
