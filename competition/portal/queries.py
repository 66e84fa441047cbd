"""What the portal, its open data and the public API read: programmes with their rounds, open
calls and the money committed, and the funded consortia with only the fields each programme
declares public (``Programme.public_fields``).

Every query of grants starts from ``published.public_grant_condition()``. A partner whose name
is withheld (``ConsortiumMember.name_withheld``) is read without its name, and a search never
matches it; a field a programme keeps private is neither shown nor searched nor filtered on
(a search in the summary of a programme that does not publish summaries would tell what they
say). A page of consortia costs the same handful of queries at 20 consortia and at 20,000:
the count, the page's rows, then its partners, topics, amounts and phases, each in one query.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from competition.core import grants as rules
from competition.db import among, built_once, on_postgresql, walking_rows
from competition.extensions import db
from competition.grants.models import Grant, GrantAmount, GrantKind, GrantPhase, GrantState
from competition.grants.money import grants_in
from competition.i18n import current_language
from competition.kept import kept
from competition.organisations.models import FederalState, Organisation, OrganisationKind
from competition.paging import Page
from competition.portal.published import grants_mark, public_grant_condition
from competition.programmes.models import (
    Call,
    CallState,
    Programme,
    PublicField,
    Stage,
    Topic,
)
from competition.proposals.models import (
    ConsortiumMember,
    MemberRole,
    Proposal,
    proposal_topics,
)
from competition.proposals.queries import OpenStage, list_open_stages

PER_PAGE = 25
# The calendar years the year filter takes; anything else is no filter.
FIRST_YEAR, LAST_YEAR = 1990, 2100
CENT = Decimal("0.01")


# --- what each programme shows ------------------------------------------------------------------


def shown_fields(programme: Programme) -> frozenset[PublicField]:
    """The fields of a funded consortium ``programme`` declares public (unknown codes ignored)."""
    known = {f.value for f in PublicField}
    return frozenset(PublicField(v) for v in (programme.public_fields or ()) if v in known)


@dataclass(frozen=True)
class Visibility:
    """Per programme id, the fields its funded consortia show."""

    fields: dict[int, frozenset[PublicField]]

    def declaring(self, field: PublicField) -> list[int]:
        return sorted(pid for pid, shown in self.fields.items() if field in shown)

    def of(self, programme_id: int) -> frozenset[PublicField]:
        return self.fields.get(programme_id, frozenset())


def list_programmes(*, with_rounds: bool = True) -> list[Programme]:
    """Every programme, by name; ``with_rounds``: with its rounds and their stages (three
    queries, else one)."""
    query = sa.select(Programme).order_by(Programme.name, Programme.id)
    if with_rounds:
        query = query.options(selectinload(Programme.calls).selectinload(Call.stages))
    return list(db.session.scalars(query))


def visibility_of(programmes: Iterable[Programme]) -> Visibility:
    return Visibility({p.id: shown_fields(p) for p in programmes})


def find_programme(*, slug: str | None = None, programme_id: int | None = None) -> Programme | None:
    """A programme by its address name or id, with its rounds and their stages."""
    where = Programme.slug == slug[:80] if slug is not None else Programme.id == programme_id
    return db.session.scalar(
        sa.select(Programme)
        .where(where)
        .options(selectinload(Programme.calls).selectinload(Call.stages))
    )


# --- programmes ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class RoundCount:
    call_id: int
    call_name: str
    kind: GrantKind
    count: int


@dataclass(frozen=True)
class ProgrammeSummary:
    """A programme as the portal shows it: its published rounds, the calls open now, how many
    consortia it funds and the money they hold (None where the programme keeps funding to
    itself: a sum over few consortia would tell their amounts)."""

    programme: Programme
    rounds: list[Call]
    open_calls: list[OpenStage]
    funded: int
    by_round: list[RoundCount]
    committed: Decimal | None

    def funded_in(self, call_id: int) -> list[RoundCount]:
        return [count for count in self.by_round if count.call_id == call_id]


def published_rounds(programme: Programme) -> list[Call]:
    """The programme's rounds the public may see: every call but drafts."""
    return [call for call in programme.calls if call.state != CallState.DRAFT]


def summarise(programmes: Sequence[Programme], *, now: dt.datetime) -> list[ProgrammeSummary]:
    """The portal's view of ``programmes`` (loaded with their calls and stages): open calls,
    funded consortia counted per round and kind, and the money committed (kept per process
    while no grant changes), in a handful of queries for any number of programmes.

    Committed money is counted by the product's one rule (``core.grants``, read through
    ``grants.money.grants_in``: a grant counts its approved amounts, an ended one only its
    released phases), over the grants the portal shows. Decisions not yet published, offers
    not yet accepted and declined grants are not public and are not counted."""
    ids = [p.id for p in programmes]
    if not ids:
        return []
    open_calls = [
        entry for entry in list_open_stages(now=now) if entry.call.programme_id in set(ids)
    ]
    by_round = kept(
        "portal.rounds", (tuple(sorted(ids)), grants_mark()), lambda: _count_rounds(ids), size=16
    )
    committed = _committed([p.id for p in programmes if PublicField.FUNDING in shown_fields(p)])
    return [
        ProgrammeSummary(
            programme=p,
            rounds=published_rounds(p),
            open_calls=[entry for entry in open_calls if entry.call.programme_id == p.id],
            funded=sum(r.count for r in by_round.get(p.id, [])),
            by_round=by_round.get(p.id, []),
            committed=committed.get(p.id, Decimal(0)).quantize(CENT)
            if PublicField.FUNDING in shown_fields(p)
            else None,
        )
        for p in programmes
    ]


def _count_rounds(ids: list[int]) -> dict[int, list[RoundCount]]:
    """Per programme, its public grants counted per round and kind (kept under the grants'
    mark; pages name the rounds from the programme's calls, read each time)."""
    counted = db.session.execute(
        sa.select(Call.programme_id, Call.id, Call.name, Grant.kind, sa.func.count(Grant.id))
        .select_from(Grant)
        .join(Call, Call.id == Grant.call_id)
        .where(public_grant_condition(), Call.programme_id.in_(ids))
        .group_by(Call.programme_id, Call.id, Call.name, Grant.kind)
        .order_by(Call.programme_id, Call.round_number, Grant.kind)
    ).all()
    by_round: dict[int, list[RoundCount]] = defaultdict(list)
    for programme_id, call_id, call_name, kind, count in counted:
        by_round[programme_id].append(RoundCount(call_id, call_name, GrantKind(kind), count))
    return dict(by_round)


def _committed(programme_ids: list[int]) -> dict[int, Decimal]:
    """Per programme, what its public grants commit (``core.grants.committed``). Reading every
    grant's amounts takes seconds at 20,000 grants, so the sums are kept per process until a
    grant changes: every change of a grant's state or money touches its ``updated_at`` (the
    line's kept drawings rely on the same mark), and the count of public grants catches an
    acceptance whatever its time."""
    if not programme_ids:
        return {}
    mark = grants_mark()
    key = (tuple(sorted(programme_ids)), mark)
    return kept("portal.committed", key, lambda: _count_committed(programme_ids), size=16)


def _count_committed(programme_ids: list[int]) -> dict[int, Decimal]:
    scope = sa.and_(Call.programme_id.in_(programme_ids), public_grant_condition())
    grants = grants_in(scope)
    if not grants:
        return {}
    programme_of = {
        proposal_id: programme_id
        for proposal_id, programme_id in db.session.execute(
            sa.select(Grant.proposal_id, Call.programme_id)
            .join(Call, Call.id == Grant.call_id)
            .where(scope)
        )
    }
    grouped: dict[int, list[rules.GrantMoney]] = defaultdict(list)
    for grant in grants:
        grouped[programme_of[grant.proposal_id]].append(grant)
    return {pid: rules.committed((), found) for pid, found in grouped.items()}


# --- funded consortia ---------------------------------------------------------------------------


@dataclass(frozen=True)
class FundedFilters:
    """What the list, the open data and the API narrow the funded consortia by."""

    q: str = ""
    programme: str | None = None  # a programme's slug
    topic: str | None = None  # a topic's slug; its sub-topics count too
    federal_state: FederalState | None = None
    kind: OrganisationKind | None = None
    year: int | None = None  # a calendar year in which the grant runs

    @property
    def any(self) -> bool:
        return bool(
            self.q
            or self.programme
            or self.topic
            or self.federal_state
            or self.kind
            or self.year is not None
        )

    def query_args(self) -> dict[str, str]:
        """The filters as a query string (for links to the open data of the same list)."""
        args = {
            "q": self.q,
            "programme": self.programme or "",
            "topic": self.topic or "",
            "federal_state": self.federal_state.value if self.federal_state else "",
            "kind": self.kind.value if self.kind else "",
            "year": str(self.year) if self.year is not None else "",
        }
        return {k: v for k, v in args.items() if v}


def calendar_year(value: int | None) -> int | None:
    return value if value is not None and FIRST_YEAR <= value <= LAST_YEAR else None


@dataclass(frozen=True)
class PublicPartner:
    """A consortium member as the public reads it: its name only where not withheld."""

    name: str | None
    role: MemberRole
    federal_state: FederalState | None
    country: str
    kind: OrganisationKind

    @property
    def name_withheld(self) -> bool:
        return self.name is None


@dataclass(frozen=True)
class PublicTopic:
    slug: str
    name_en: str
    name_de: str

    @property
    def name(self) -> str:
        if current_language() == "de":
            return self.name_de or self.name_en
        return self.name_en or self.name_de


@dataclass(frozen=True)
class YearAmount:
    year: int  # project year: 1 = the grant's first twelve months
    phase: int | None
    amount: Decimal


@dataclass(frozen=True)
class PhaseAmount:
    number: int
    first_year: int
    last_year: int
    amount: Decimal


@dataclass(frozen=True)
class Funding:
    """The public funding, all partners together, as the committed-money rule counts it: every
    approved year, but of a grant that has ended only the years of its released phases."""

    total: Decimal
    years: tuple[YearAmount, ...]
    phases: tuple[PhaseAmount, ...]


@dataclass(frozen=True)
class FundedConsortium:
    """One funded consortium (a grant the public may see): title, acronym, programme, round and
    kind always; every other field None where its programme does not declare it public."""

    grant_id: int
    programme_slug: str
    programme_name: str
    call_id: int
    call_name: str
    kind: GrantKind
    title: str
    acronym: str
    shown: frozenset[PublicField]
    summary: str | None = None
    coordinator: PublicPartner | None = None
    partners: tuple[PublicPartner, ...] | None = None
    topics: tuple[PublicTopic, ...] | None = None
    funding: Funding | None = None
    starts_on: dt.date | None = None
    ends_on: dt.date | None = None
    state: GrantState | None = None

    @property
    def members(self) -> list[PublicPartner]:
        """The members the public may know of: the coordinator first, then the partners."""
        return [*([self.coordinator] if self.coordinator else []), *(self.partners or ())]


def _contains(column: Any, q: str) -> sa.ColumnElement[bool]:
    return sa.func.lower(column).contains(q.lower(), autoescape=True)


def _member_shown(visibility: Visibility) -> sa.ColumnElement[bool]:
    """A consortium member the public may know of (on ``ConsortiumMember`` with the grant's
    ``Call``): the coordinator where the programme shows it, the others where it shows the
    partners."""
    return sa.or_(
        sa.and_(
            ConsortiumMember.role == MemberRole.COORDINATOR,
            Call.programme_id.in_(visibility.declaring(PublicField.COORDINATOR)),
        ),
        sa.and_(
            ConsortiumMember.role != MemberRole.COORDINATOR,
            Call.programme_id.in_(visibility.declaring(PublicField.PARTNERS)),
        ),
    )


def _calls_declaring(visibility: Visibility, field: PublicField) -> sa.Select[Any]:
    return sa.select(Call.id).where(Call.programme_id.in_(visibility.declaring(field)))


def _matches_each(q: str, visibility: Visibility) -> sa.ColumnElement[bool]:
    """The same search as ``_matches``, tested on each grant's row (``Grant`` joined with its
    ``Proposal`` and ``Call``): what a list walking the grants newest first needs, since it
    stops after a page (or a capped count) of matches instead of building both id sets in
    full. The organisations whose name matches are one small set (their trigram index); each
    grant then looks at its own members only, shown as the filters show them."""
    named = sa.select(Organisation.id).where(_contains(Organisation.name, q))
    return sa.or_(
        _contains(Proposal.title, q),
        _contains(Proposal.acronym, q),
        sa.and_(
            Call.programme_id.in_(visibility.declaring(PublicField.SUMMARY)),
            _contains(Proposal.abstract, q),
        ),
        sa.select(ConsortiumMember.id)
        .where(
            ConsortiumMember.proposal_id == Proposal.id,
            ConsortiumMember.name_withheld.is_(False),
            among(ConsortiumMember.organisation_id, named),
            _member_shown(visibility),
        )
        .exists(),
    )


def _matching_proposals(q: str, visibility: Visibility) -> tuple[sa.Select[Any], sa.Select[Any]]:
    """The ids of the proposals the search finds by their texts, and by their partners' names."""
    texts = (
        sa.select(Proposal.id)
        .where(
            sa.or_(
                _contains(Proposal.title, q),
                _contains(Proposal.acronym, q),
                sa.and_(
                    Proposal.call_id.in_(_calls_declaring(visibility, PublicField.SUMMARY)),
                    _contains(Proposal.abstract, q),
                ),
            )
        )
        .correlate(None)
    )
    named = (
        sa.select(ConsortiumMember.proposal_id)
        .join(Organisation, Organisation.id == ConsortiumMember.organisation_id)
        .join(Proposal, Proposal.id == ConsortiumMember.proposal_id)
        .join(Call, Call.id == Proposal.call_id)
        .where(
            ConsortiumMember.name_withheld.is_(False),
            _member_shown(visibility),
            _contains(Organisation.name, q),
        )
        .correlate(None)
    )
    return texts, named


def _matches(q: str, visibility: Visibility) -> sa.ColumnElement[bool]:
    """The search on ``Grant`` joined with its ``Proposal`` and ``Call``: the text in the
    title, the acronym, the summary (of programmes that publish it) or the name of a partner
    the public may know of. Both parts are uncorrelated id sets: PostgreSQL runs each once (the
    texts through the trigram indexes of migration 0034, the names as one hashed list), where
    a correlated ``EXISTS`` inside the ``OR`` ran once per grant."""
    texts, named = _matching_proposals(q, visibility)
    return sa.or_(Proposal.id.in_(texts), Proposal.id.in_(named))


def _conditions(
    filters: FundedFilters,
    visibility: Visibility,
    programmes: Sequence[Programme],
    search: sa.ColumnElement[bool] | None = None,
) -> list[sa.ColumnElement[bool]]:
    """The WHERE clause on ``Grant`` joined with its ``Proposal`` and ``Call``; ``search``: the
    search in another of its equal forms (``_matches`` unless given)."""
    conditions: list[sa.ColumnElement[bool]] = [public_grant_condition()]
    if filters.programme:
        ids = [p.id for p in programmes if p.slug == filters.programme]
        conditions.append(Call.programme_id.in_(ids))
    if filters.q:
        conditions.append(search if search is not None else _matches(filters.q, visibility))
    if filters.topic:
        chosen = sa.select(Topic.id).where(Topic.slug == filters.topic[:80]).scalar_subquery()
        topics = sa.select(Topic.id).where(sa.or_(Topic.id == chosen, Topic.parent_id == chosen))
        conditions.append(Call.programme_id.in_(visibility.declaring(PublicField.TOPICS)))
        conditions.append(
            sa.select(proposal_topics.c.proposal_id)
            .where(
                proposal_topics.c.proposal_id == Proposal.id,
                proposal_topics.c.topic_id.in_(topics),
            )
            .exists()
        )
    if filters.federal_state is not None or filters.kind is not None:
        member = (
            sa.select(ConsortiumMember.id)
            .join(Organisation, Organisation.id == ConsortiumMember.organisation_id)
            .where(ConsortiumMember.proposal_id == Proposal.id, _member_shown(visibility))
        )
        if filters.federal_state is not None:
            member = member.where(Organisation.federal_state == filters.federal_state)
        if filters.kind is not None:
            member = member.where(Organisation.kind == filters.kind)
        conditions.append(member.exists())
    year = calendar_year(filters.year)
    if year is not None:
        conditions += [
            Call.programme_id.in_(visibility.declaring(PublicField.PERIOD)),
            Grant.starts_on <= dt.date(year, 12, 31),
            Grant.ends_on > dt.date(year, 1, 1),
        ]
    return conditions


def _select(
    columns: Sequence[Any],
    filters: FundedFilters,
    visibility: Visibility,
    programmes: Sequence[Programme],
    search: sa.ColumnElement[bool] | None = None,
) -> sa.Select[Any]:
    return (
        sa.select(*columns)
        .select_from(Grant)
        .join(Proposal, Proposal.id == Grant.proposal_id)
        .join(Call, Call.id == Grant.call_id)
        .where(*_conditions(filters, visibility, programmes, search))
    )


_ROW = (
    Grant.id,
    Grant.kind,
    Grant.state,
    Grant.starts_on,
    Grant.ends_on,
    Grant.proposal_id,
    Proposal.title,
    Proposal.acronym,
    Proposal.abstract,
    Call.id.label("call_id"),
    Call.name.label("call_name"),
    Call.programme_id,
)
# Newest grants first; the id keeps pages stable among grants starting on the same day.
_ORDER = (Grant.starts_on.desc(), Grant.id.desc())


def list_funded(
    filters: FundedFilters,
    programmes: Sequence[Programme],
    *,
    page: int = 1,
    per_page: int = PER_PAGE,
) -> Page[FundedConsortium]:
    """One page of the funded consortia ``filters`` select, newest first: six queries (a
    search two or three more, and its count stops at ``SEARCH_COUNTED``)."""
    visibility = visibility_of(programmes)
    if filters.q:
        return _searched(filters, visibility, programmes, page=page, per_page=per_page)
    # Unfiltered, every public grant counts (each has its proposal and call): an index-only
    # count instead of joining 20,000 proposals.
    count = (
        sa.select(sa.func.count(Grant.id)).where(public_grant_condition())
        if not filters.any
        else _select([sa.func.count(Grant.id)], filters, visibility, programmes)
    )
    total = db.session.scalar(count) or 0
    return _page(filters, visibility, programmes, None, page=page, per_page=per_page, total=total)


# A search counts its matches up to here; past it the list says "more than 1,000" and pages
# through the newest 1,000: a word most projects contain then costs the grants up to the
# 1,001st match, not every match counted and sorted.
SEARCH_COUNTED = 1000
# A search first tries the newest public grants: where at least ``DENSE`` of ``SAMPLE`` match,
# walking the grants newest first reaches a page and the counted matches soonest; a rarer word
# is found through the trigram indexes as two sets of proposals, which then cost little.
SAMPLE = 200
DENSE = 50


def _searched(
    filters: FundedFilters,
    visibility: Visibility,
    programmes: Sequence[Programme],
    *,
    page: int,
    per_page: int,
) -> Page[FundedConsortium]:
    search, dense = _search_and_density(filters, visibility, programmes)
    # Where most grants match, the count walks them newest first and stops, as the page does.
    with walking_rows() if dense else contextlib.nullcontext():
        counted = db.session.scalar(
            sa.select(sa.func.count()).select_from(
                _select([Grant.id], filters, visibility, programmes, search)
                .order_by(*_ORDER)
                .limit(SEARCH_COUNTED + 1)
                .subquery()
            )
        )
    total = min(counted or 0, SEARCH_COUNTED)
    return _page(
        filters,
        visibility,
        programmes,
        search,
        page=page,
        per_page=per_page,
        total=total,
        more=(counted or 0) > SEARCH_COUNTED,
    )


def _search_and_density(
    filters: FundedFilters, visibility: Visibility, programmes: Sequence[Programme]
) -> tuple[sa.ColumnElement[bool], bool]:
    """The search ``filters.q`` in the form that costs least for its word (one query to
    decide), and whether it is dense: tested on each grant where at least ``DENSE`` of the
    newest ``SAMPLE`` match (a list walking the grants then stops soon), else as the proposals
    found, read once."""
    each = _matches_each(filters.q, visibility)
    # The newest consortia the other filters select, each marked whether the search finds it.
    newest = (
        _select([each.label("hit")], filters, visibility, programmes, sa.true())
        .order_by(*_ORDER)
        .limit(SAMPLE)
        .subquery()
    )
    hits = db.session.scalar(
        sa.select(sa.func.count()).select_from(newest).where(newest.c.hit.is_(True))
    )
    if (hits or 0) >= DENSE:
        return each, True
    return _found(filters.q, visibility), False


def _found(q: str, visibility: Visibility) -> sa.ColumnElement[bool]:
    """``_matches`` for a rarer word: on PostgreSQL the proposals found are read once, so
    that the count and the page do not each search the texts again."""
    if not on_postgresql():
        return _matches(q, visibility)
    texts, named = _matching_proposals(q, visibility)
    ids = ",".join(str(int(i)) for i in db.session.scalars(sa.union(texts, named)))
    # Written into the statement, not bound: bound, the statement's text is the same for every
    # search, and once the driver prepares it PostgreSQL plans it blind to how many were found.
    return Grant.proposal_id == sa.any_(sa.literal_column(f"'{{{ids}}}'::integer[]"))


def _page(
    filters: FundedFilters,
    visibility: Visibility,
    programmes: Sequence[Programme],
    search: sa.ColumnElement[bool] | None,
    *,
    page: int,
    per_page: int,
    total: int,
    more: bool = False,
) -> Page[FundedConsortium]:
    """The consortia of page ``page``; where the count stopped (``more``), none past it."""
    offset = (page - 1) * per_page
    limit = min(per_page, total - offset) if more else per_page
    rows = (
        db.session.execute(
            _select(_ROW, filters, visibility, programmes, search)
            .order_by(*_ORDER)
            .limit(limit)
            .offset(offset)
        ).all()
        if limit > 0
        else []
    )
    ids = [row.id for row in rows]
    return Page(
        describe(rows, programmes, grant_ids=ids, proposal_ids=[r.proposal_id for r in rows]),
        page=page,
        per_page=per_page,
        total=total,
        more=more,
    )


# Consortia described at a time while the open data streams: the file's memory stays that of
# one batch, and each batch is five queries.
BATCH = 1000


def funded_batches(
    filters: FundedFilters, programmes: Sequence[Programme], *, size: int | None = None
) -> tuple[int, Iterator[list[FundedConsortium]]]:
    """Every funded consortium ``filters`` select (the open data), newest first: how many, and
    the consortia in batches of ``size`` (``BATCH`` unless given), each read when the caller
    asks for it, so the file starts at once and never holds all of them. The ids are read
    first, in one query; a grant that stops being public while the file streams is left out
    of its batch."""
    visibility = visibility_of(programmes)
    ids = list(
        db.session.scalars(_select([Grant.id], filters, visibility, programmes).order_by(*_ORDER))
    )

    step = size or BATCH

    def batches() -> Iterator[list[FundedConsortium]]:
        for start in range(0, len(ids), step):
            yield funded_by_ids(ids[start : start + step], programmes)

    return len(ids), batches()


def funded_by_ids(ids: Sequence[int], programmes: Sequence[Programme]) -> list[FundedConsortium]:
    """The public consortia among the grants ``ids``, in that order (the API's pages)."""
    if not ids:
        return []
    rows = db.session.execute(
        sa.select(*_ROW)
        .select_from(Grant)
        .join(Proposal, Proposal.id == Grant.proposal_id)
        .join(Call, Call.id == Grant.call_id)
        .where(public_grant_condition(), Grant.id.in_(list(ids)))
    ).all()
    by_id = {row.id: row for row in rows}
    ordered = [by_id[i] for i in ids if i in by_id]
    return describe(
        ordered,
        programmes,
        grant_ids=list(by_id),
        proposal_ids=[row.proposal_id for row in ordered],
    )


def find_funded(grant_id: int, programmes: Sequence[Programme]) -> FundedConsortium | None:
    """One funded consortium, or None where the grant is not public (or does not exist)."""
    found = funded_by_ids([grant_id], programmes)
    return found[0] if found else None


def funded_ids_query(filters: FundedFilters, programmes: Sequence[Programme]) -> sa.Select[Any]:
    """``select(Grant)`` of the consortia ``filters`` select, for the API's cursor pages (a
    search in its cheapest form, as the portal's list has it)."""
    visibility = visibility_of(programmes)
    search = _search_and_density(filters, visibility, programmes)[0] if filters.q else None
    return _select([Grant], filters, visibility, programmes, search)


Ids = Sequence[int]


def describe(
    rows: Sequence[Any], programmes: Sequence[Programme], *, grant_ids: Ids, proposal_ids: Ids
) -> list[FundedConsortium]:
    """The consortia of ``rows`` (``_ROW`` columns) with each programme's public fields: one
    query each for the members, the topics, the amounts and the phases (none for a field no
    programme in ``rows`` shows)."""
    by_programme = {p.id: p for p in programmes}
    present = {row.programme_id for row in rows}
    shown = {pid: shown_fields(p) for pid, p in by_programme.items() if pid in present}

    def wanted(*fields: PublicField) -> bool:
        return any(f in s for s in shown.values() for f in fields)

    members = (
        _members(proposal_ids) if wanted(PublicField.COORDINATOR, PublicField.PARTNERS) else {}
    )
    topics = _topics(proposal_ids) if wanted(PublicField.TOPICS) else {}
    funding = _funding(grant_ids, rows) if wanted(PublicField.FUNDING) else {}
    found = []
    for row in rows:
        fields = shown[row.programme_id]
        programme = by_programme[row.programme_id]
        mine = members.get(row.proposal_id, [])
        coordinator = next((m for m in mine if m.role == MemberRole.COORDINATOR), None)
        found.append(
            FundedConsortium(
                grant_id=row.id,
                programme_slug=programme.slug,
                programme_name=programme.name,
                call_id=row.call_id,
                call_name=row.call_name,
                kind=GrantKind(row.kind),
                title=row.title,
                acronym=row.acronym,
                shown=fields,
                summary=row.abstract if PublicField.SUMMARY in fields else None,
                coordinator=coordinator if PublicField.COORDINATOR in fields else None,
                partners=tuple(m for m in mine if m.role != MemberRole.COORDINATOR)
                if PublicField.PARTNERS in fields
                else None,
                topics=tuple(topics.get(row.proposal_id, ()))
                if PublicField.TOPICS in fields
                else None,
                funding=funding.get(row.id) if PublicField.FUNDING in fields else None,
                starts_on=row.starts_on if PublicField.PERIOD in fields else None,
                ends_on=row.ends_on if PublicField.PERIOD in fields else None,
                state=GrantState(row.state) if PublicField.STATE in fields else None,
            )
        )
    return found


# Codes read as text and looked up here: the columns' enum processing doubles the time of
# reading every partner for the open data.
_ROLES = {m.value: m for m in MemberRole}
_STATES = {s.value: s for s in FederalState}
_KINDS = {k.value: k for k in OrganisationKind}


# What a page (or a batch of the open data) shows of its consortia: the same four statements
# on every visit, built once with the consortia's ids bound when they run.
@built_once
def _members_of() -> sa.Select[Any]:
    return (
        sa.select(
            ConsortiumMember.proposal_id,
            sa.type_coerce(ConsortiumMember.role, sa.String),
            ConsortiumMember.name_withheld,
            Organisation.name,
            sa.type_coerce(Organisation.federal_state, sa.String),
            Organisation.country,
            sa.type_coerce(Organisation.kind, sa.String),
        )
        .join(Organisation, Organisation.id == ConsortiumMember.organisation_id)
        .where(ConsortiumMember.proposal_id.in_(sa.bindparam("ids", expanding=True)))
        .order_by(ConsortiumMember.proposal_id, ConsortiumMember.id)
    )


@built_once
def _topics_of() -> sa.Select[Any]:
    return (
        sa.select(proposal_topics.c.proposal_id, Topic.slug, Topic.name_en, Topic.name_de)
        .join(Topic, Topic.id == proposal_topics.c.topic_id)
        .where(proposal_topics.c.proposal_id.in_(sa.bindparam("ids", expanding=True)))
        .order_by(proposal_topics.c.proposal_id, Topic.name_en)
    )


@built_once
def _amounts_of() -> sa.Select[Any]:
    return (
        sa.select(GrantAmount.grant_id, GrantAmount.year, sa.func.sum(GrantAmount.amount))
        .where(GrantAmount.grant_id.in_(sa.bindparam("ids", expanding=True)))
        .group_by(GrantAmount.grant_id, GrantAmount.year)
    )


@built_once
def _phases_of() -> sa.Select[Any]:
    return (
        sa.select(
            GrantPhase.grant_id,
            GrantPhase.number,
            GrantPhase.first_year,
            GrantPhase.last_year,
            GrantPhase.released_at.is_not(None),
        )
        .where(GrantPhase.grant_id.in_(sa.bindparam("ids", expanding=True)))
        .order_by(GrantPhase.grant_id, GrantPhase.number)
    )


def _members(proposal_ids: Ids) -> dict[int, list[PublicPartner]]:
    found: dict[int, list[PublicPartner]] = defaultdict(list)
    for proposal_id, role, withheld, name, state, country, kind in db.session.execute(
        _members_of(), {"ids": list(proposal_ids)}
    ):
        found[proposal_id].append(
            PublicPartner(
                # The name never leaves this function when the consortium withheld it.
                name=None if withheld else name,
                role=_ROLES[role],
                federal_state=_STATES.get(state) if state else None,
                country=country,
                kind=_KINDS[kind],
            )
        )
    return found


def _topics(proposal_ids: Ids) -> dict[int, list[PublicTopic]]:
    found: dict[int, list[PublicTopic]] = defaultdict(list)
    for proposal_id, slug, name_en, name_de in db.session.execute(
        _topics_of(), {"ids": list(proposal_ids)}
    ):
        found[proposal_id].append(PublicTopic(slug, name_en, name_de))
    return found


def _funding(grant_ids: Ids, rows: Sequence[Any]) -> dict[int, Funding]:
    by_year: dict[int, dict[int, Decimal]] = defaultdict(dict)
    for grant_id, year, amount in db.session.execute(_amounts_of(), {"ids": list(grant_ids)}):
        by_year[grant_id][year] = Decimal(amount)
    phases: dict[int, list[rules.Phase]] = defaultdict(list)
    numbers: dict[int, list[int]] = defaultdict(list)
    for grant_id, number, first, last, released in db.session.execute(
        _phases_of(), {"ids": list(grant_ids)}
    ):
        phases[grant_id].append(rules.Phase(first, last, bool(released)))
        numbers[grant_id].append(number)
    return {
        row.id: funding_of(
            GrantState(row.state).value, by_year[row.id], phases[row.id], numbers[row.id]
        )
        for row in rows
    }


def funding_of(
    state: str, by_year: dict[int, Decimal], phases: Sequence[rules.Phase], numbers: Sequence[int]
) -> Funding:
    """A grant's public funding per project year and phase, as ``core.grants`` counts it."""
    counted = rules.counted_by_year(state, by_year, phases)
    numbered = list(zip(numbers, phases, strict=True))
    phase_of = {
        year: number
        for number, phase in numbered
        for year in range(phase.first_year, phase.last_year + 1)
    }
    years = tuple(
        YearAmount(year, phase_of.get(year), amount.quantize(CENT))
        for year, amount in sorted(counted.items())
    )
    per_phase: dict[int, Decimal] = defaultdict(Decimal)
    for year in years:
        if year.phase is not None:
            per_phase[year.phase] += year.amount
    return Funding(
        total=sum((y.amount for y in years), Decimal(0)),
        years=years,
        phases=tuple(
            PhaseAmount(number, phase.first_year, phase.last_year, per_phase[number])
            for number, phase in numbered
            if number in per_phase
        ),
    )


# --- filter choices -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Choices:
    """What the list's filters offer: programmes with funded consortia, the topics and the
    calendar years the public consortia show."""

    programmes: list[Programme]
    topics: list[PublicTopic]
    years: list[int]


def choices(programmes: Sequence[Programme]) -> Choices:
    """Two queries: the grants' mark, and the chosen topics' names. Which topics and years the
    public grants show (every topic of every public grant, tens of milliseconds at 20,000) is
    kept per process under the grants' mark and the programmes' public fields; the names are
    read each time, so a renamed topic shows at once."""
    visibility = visibility_of(programmes)
    with_topics = visibility.declaring(PublicField.TOPICS)
    with_period = visibility.declaring(PublicField.PERIOD)
    topic_ids, years = kept(
        "portal.choices",
        (grants_mark(), tuple(with_topics), tuple(with_period)),
        lambda: _used_topics_and_years(with_topics, with_period),
        size=16,
    )
    topics = [
        PublicTopic(slug, name_en, name_de)
        for slug, name_en, name_de in db.session.execute(
            sa.select(Topic.slug, Topic.name_en, Topic.name_de).where(Topic.id.in_(list(topic_ids)))
        )
    ]
    return Choices(
        programmes=[p for p in programmes if not p.is_membership],
        topics=sorted(topics, key=lambda t: (t.name.lower(), t.slug)),
        years=list(years),
    )


def _used_topics_and_years(
    with_topics: list[int], with_period: list[int]
) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The ids of the topics the public grants of ``with_topics`` carry, and the calendar
    years the public grants of ``with_period`` run in."""
    topic_ids = tuple(
        db.session.scalars(
            sa.select(proposal_topics.c.topic_id)
            .join(Grant, Grant.proposal_id == proposal_topics.c.proposal_id)
            .join(Call, Call.id == Grant.call_id)
            .where(public_grant_condition(), Call.programme_id.in_(with_topics))
            .distinct()
            .order_by(proposal_topics.c.topic_id)
        )
    )
    first, last = db.session.execute(
        sa.select(sa.func.min(Grant.starts_on), sa.func.max(Grant.ends_on))
        .join(Call, Call.id == Grant.call_id)
        .where(public_grant_condition(), Call.programme_id.in_(with_period))
    ).one()
    years: tuple[int, ...] = ()
    if first is not None and last is not None:
        # ``ends_on`` is the first day after the grant.
        last_day = last - dt.timedelta(days=1)
        years = tuple(range(max(first.year, FIRST_YEAR), min(last_day.year, LAST_YEAR) + 1))
    return topic_ids, years


def stages_of(call: Call) -> list[Stage]:
    """The stages of a round the public sees (the competition's, not interim evaluations)."""
    return call.competition_stages
