"""Loading proposals for lists and detail pages, with everything the templates show."""

from __future__ import annotations

import datetime as dt
import enum
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import joinedload, selectinload

from competition.accounts.models import User
from competition.db import among, built_once, on_postgresql, utcnow
from competition.extensions import db
from competition.i18n import say
from competition.organisations.models import FederalState, Organisation
from competition.paging import Page
from competition.programmes.models import Call, CallState, Programme, Stage, StageKind, Topic
from competition.programmes.queries import programme_ids_run_by
from competition.programmes.uses import AffectedProposal
from competition.proposals.list_marks import ListMark, list_marks, marks_named
from competition.proposals.models import (
    Attachment,
    BudgetLine,
    ConsortiumMember,
    ContributorRole,
    DeadlineExtension,
    MemberRole,
    Proposal,
    ProposalContributor,
    ProposalInvitation,
    ProposalState,
    StageSubmission,
    SubmissionState,
    SubmissionVersion,
    proposal_topics,
)
from competition.proposals.snapshot import content_problems

PER_PAGE = 25


@dataclass(frozen=True)
class ProposalFilters:
    q: str = ""
    call_id: int | None = None
    topic: str = ""
    state: ProposalState | None = None
    federal_state: FederalState | None = None
    # Keys of registered list marks (proposals.list_marks): only proposals carrying all of them.
    marks: tuple[str, ...] = ()


def _with_list_data(query: sa.Select) -> sa.Select:  # type: ignore[type-arg]
    return query.options(
        selectinload(Proposal.members),
        selectinload(Proposal.topics),
        selectinload(Proposal.call).selectinload(Call.programme),
    )


def _like_text(q: str) -> str:
    """``q`` as the text ``LIKE`` looks for, in lower case: "%", "_" and the escape character
    in a search box match themselves."""
    escaped = q.lower().replace("/", "//")
    return escaped.replace("%", "/%").replace("_", "/_")


def _contains(column: Any, words: str | sa.BindParameter[str]) -> sa.ColumnElement[bool]:
    """``column`` holds ``words`` in any case; a bound parameter is given ``_like_text``."""
    text = _like_text(words) if isinstance(words, str) else words
    return sa.func.lower(column).contains(text, escape="/")


def name_matches(q: str) -> list[sa.ColumnElement[bool]]:
    """A search box's conditions: reference, acronym or title containing ``q``, in any case."""
    return [_contains(c, q) for c in (Proposal.reference, Proposal.acronym, Proposal.title)]


@dataclass(frozen=True)
class ProposalRow:
    """One line of the officers' proposal list (and of its export)."""

    id: int
    reference: str
    acronym: str
    title: str
    state: ProposalState
    coordinator: str | None
    coordinator_state: FederalState | None
    partners: int
    topics: tuple[str, ...]
    # The public funding and the submission time of the proposal's shown submission
    # (``shown_submissions``); None without one.
    requested: Decimal | None = None
    submitted_at: dt.datetime | None = None
    # The keys of the registered list marks the proposal carries (an open clarification, …).
    marks: tuple[str, ...] = ()


class ProposalSort(enum.StrEnum):
    """The columns the officers' list sorts by (``?sort=``)."""

    REFERENCE = "reference"
    ACRONYM = "acronym"
    TITLE = "title"
    COORDINATOR = "coordinator"
    STATE = "state"
    REQUESTED = "requested"
    SUBMITTED = "submitted"


class SortDirection(enum.StrEnum):
    ASC = "asc"
    DESC = "desc"


@dataclass(frozen=True)
class ProposalOrder:
    sort: ProposalSort = ProposalSort.REFERENCE
    direction: SortDirection = SortDirection.ASC


# States sort in the order of the lifecycle, not of their codes.
STATE_ORDER = {state: index for index, state in enumerate(ProposalState)}


def shown_submissions(
    *, now: dt.datetime | sa.BindParameter[Any], proposal_ids: Any = None, call_ids: Any = None
) -> sa.Subquery:
    """Per proposal, the submission the officers' list shows (``proposal_id``, ``requested``,
    ``submitted_at``): the one of the latest stage of its call that has opened by ``now``, so
    a finalist's full proposal once that stage opens, else its outline. ``requested`` is its
    public funding (0 without budget lines). Limited to ``proposal_ids`` or the proposals of
    ``call_ids`` (a list or a subquery)."""
    latest_first = sa.func.row_number().over(
        partition_by=StageSubmission.proposal_id, order_by=Stage.position.desc()
    )
    ranked = (
        sa.select(
            StageSubmission.id.label("submission_id"),
            StageSubmission.proposal_id.label("proposal_id"),
            StageSubmission.submitted_at.label("submitted_at"),
            latest_first.label("n"),
        )
        .join(Stage, Stage.id == StageSubmission.stage_id)
        # A funded grant's interim evaluation is no stage of the competition: the list goes on
        # showing what the proposal competed with.
        .where(Stage.opens_at <= now, Stage.kind != StageKind.INTERIM_EVALUATION)
    )
    if proposal_ids is not None:
        ranked = ranked.where(StageSubmission.proposal_id.in_(proposal_ids))
    if call_ids is not None:
        ranked = ranked.where(Stage.call_id.in_(call_ids))
    latest = ranked.subquery()
    requested = (
        sa.select(sa.func.coalesce(sa.func.sum(BudgetLine.public_funding), 0))
        .where(BudgetLine.submission_id == latest.c.submission_id)
        .scalar_subquery()
    )
    return (
        sa.select(
            latest.c.proposal_id,
            requested.label("requested"),
            latest.c.submitted_at,
        )
        .where(latest.c.n == 1)
        .subquery()
    )


@dataclass(frozen=True)
class _Shape:
    """Which of the list's filters are set, not their values: the list's statements are built
    once per shape (and database, ``among``'s array being PostgreSQL's), with the officer and
    the filters' values bound when they run (``_bound``)."""

    postgresql: bool
    call: bool = False
    state: bool = False
    topic: bool = False
    federal_state: bool = False
    search: bool = False
    marks: tuple[str, ...] = ()


def _shape_of(filters: ProposalFilters) -> _Shape:
    return _Shape(
        postgresql=on_postgresql(),
        call=filters.call_id is not None,
        state=filters.state is not None,
        topic=bool(filters.topic),
        federal_state=filters.federal_state is not None,
        search=bool(filters.q),
        marks=filters.marks,
    )


def _bound(officer: User, filters: ProposalFilters) -> dict[str, Any]:
    """The values of the statements of ``_shape_of(filters)``."""
    return {
        "officer_id": officer.id,
        "call_id": filters.call_id,
        "state": filters.state,
        "topic": filters.topic,
        "federal_state": filters.federal_state,
        "words": _like_text(filters.q),
    }


def _officer_conditions(
    shape: _Shape,
    officer_id: sa.BindParameter[int],
    *,
    counting: bool = False,
    named_only: bool = False,
) -> list[sa.ColumnElement[bool]]:
    """The list's rows as conditions on ``Proposal``, their values bound (``_bound``).
    ``counting``: shaped for the count, which reads every match, rather than for a page, which
    walks the list's order. ``named_only``: a search matches the proposal's own reference,
    acronym and title only, not its partners' names."""
    # Tested on each row before the search's texts, not joined after them.
    conditions: list[sa.ColumnElement[bool]] = [_in_officers_calls(officer_id)]
    if shape.call:
        conditions.append(Proposal.call_id == sa.bindparam("call_id"))
    if shape.state:
        conditions.append(Proposal.state == sa.bindparam("state"))
    if shape.topic:
        conditions.append(
            Proposal.id.in_(
                sa.select(proposal_topics.c.proposal_id)
                .join(Topic, Topic.id == proposal_topics.c.topic_id)
                .where(Topic.slug == sa.bindparam("topic"))
            )
        )
    if shape.federal_state:
        in_state = sa.select(Organisation.id).where(
            Organisation.federal_state == sa.bindparam("federal_state")
        )
        # A page walks the list's order and tests each row's coordinator; PostgreSQL takes
        # the array form for a handful of rows and would read and sort every match instead.
        coordinator_in_state = (
            among(ConsortiumMember.organisation_id, in_state)
            if counting
            else ConsortiumMember.organisation_id.in_(in_state)
        )
        coordinated = sa.select(ConsortiumMember.proposal_id).where(
            ConsortiumMember.role == MemberRole.COORDINATOR, coordinator_in_state
        )
        # Counting, the state's coordinated proposals are an array too, each looked up by id:
        # a join of them took a third longer (Bavaria's 2,600 coordinators among 40,000
        # proposals: 10.5 against 7.6 ms, prepared).
        conditions.append(
            among(Proposal.id, coordinated) if counting else Proposal.id.in_(coordinated)
        )
    if shape.search:
        words = sa.bindparam("words")
        alternatives = [
            _contains(c, words) for c in (Proposal.reference, Proposal.acronym, Proposal.title)
        ]
        if not named_only:
            named_members = sa.select(ConsortiumMember.proposal_id).where(
                among(
                    ConsortiumMember.organisation_id,
                    sa.select(Organisation.id).where(_contains(Organisation.name, words)),
                )
            )
            # Counting, every condition of the search is one an index answers (the members'
            # proposals as an array of ids), so PostgreSQL joins the trigram indexes' findings
            # instead of reading proposals; a page tests the rows it walks against a hash.
            alternatives.append(
                among(Proposal.id, named_members) if counting else Proposal.id.in_(named_members)
            )
        conditions.append(sa.or_(*alternatives))
    for mark in marks_named(shape.marks):
        conditions.append(Proposal.id.in_(mark.proposal_ids()))
    return conditions


def _officer_calls(officer_id: int | sa.BindParameter[int]) -> sa.Select[tuple[int]]:
    return sa.select(Call.id).where(Call.programme_id.in_(programme_ids_run_by(officer_id)))


def _in_officers_calls(officer_id: int | sa.BindParameter[int]) -> sa.ColumnElement[bool]:
    """The whole list: the proposals of the officer's calls."""
    return among(Proposal.call_id, _officer_calls(officer_id))


# A search for a common word matches thousands of proposals: the list counts at most this
# many (and says "more than") and pages through them, so a search never reads every match.
SEARCH_COUNT_CAP = 1_000


def list_proposals_for_officer(
    officer: User,
    filters: ProposalFilters,
    *,
    page: int,
    order: ProposalOrder = ProposalOrder(),
    now: dt.datetime | None = None,
) -> Page[ProposalRow]:
    """A page of the proposals in the officer's programmes in ``order``. Plain rows, read in
    four queries (the page, the count, the page's topics, the page's requested funding;
    three when sorted by funding or time, which the page's query then reads; one when
    nothing matches): the list is the officers' most used page and a call can hold 20,000
    proposals. A search reads the ids of at most ``SEARCH_COUNT_CAP`` matches (``Page.more``
    says there are more) and its pages end there: those matching by their own names first,
    and only when these are not over the cap, those matching by their partners' names too."""
    shape = _shape_of(filters)
    values = _bound(officer, filters)
    more = False
    found: list[int] | None = None
    if filters.q:
        # A common word's own matches are over the cap already: the partners' names, whose
        # memberships PostgreSQL must look up one by one (7 of 17 ms for a word that 4,400
        # titles and 180 organisations hold, at 20,000 proposals), are then not read at all.
        found = list(db.session.scalars(_capped(shape, named_only=True), values))
        if len(found) <= SEARCH_COUNT_CAP:
            found = list(db.session.scalars(_capped(shape, named_only=False), values))
        more = len(found) > SEARCH_COUNT_CAP
        total = min(len(found), SEARCH_COUNT_CAP)
        page = min(page, max(1, -(-total // PER_PAGE)))
        if more:
            found = None
        # Else every match is known: the page reads them by id instead of searching again (a
        # rare word's page would otherwise walk the whole list to find its few).
    else:
        total = db.session.scalar(_counted(shape), values) or 0
    items = (
        _officer_rows(
            shape,
            values,
            order,
            now=now or utcnow(),
            limit=PER_PAGE,
            offset=(page - 1) * PER_PAGE,
            found=found,
        )
        if total
        else []
    )
    return Page(items=items, page=page, per_page=PER_PAGE, total=total, more=more)


def all_proposals_for_officer(
    officer: User, filters: ProposalFilters, *, order: ProposalOrder, now: dt.datetime
) -> list[ProposalRow]:
    """Every row of the filtered list in its order (not only a page, and every match of a
    search), for the export: two queries at any size (the rows with their funding, their
    topics)."""
    return _officer_rows(_shape_of(filters), _bound(officer, filters), order, now=now)


def _officer_rows(
    shape: _Shape,
    values: dict[str, Any],
    order: ProposalOrder,
    *,
    now: dt.datetime,
    limit: int | None = None,
    offset: int = 0,
    found: list[int] | None = None,
) -> list[ProposalRow]:
    """The rows of the list of ``shape`` in ``order``; ``found``: the ids of every match of
    a search, read by id."""
    marks = list_marks()
    query = _rows(
        _Shape(shape.postgresql) if found is not None else shape,
        order,
        tuple(mark.key for mark in marks),
        limited=limit is not None,
        by_id=found is not None,
    )
    bound = {**values, "now": now, "limit": limit, "offset": offset, "found": found}
    # Funding and time are read with the rows when the order needs them (or every row is
    # read anyway), else for the page's rows only.
    joined = _reads_funding(order, limited=limit is not None)
    rows = db.session.execute(query, bound).all()
    ids = [row[0] for row in rows]
    topics: dict[int, list[str]] = defaultdict(list)
    funding: dict[int, tuple[Decimal | None, dt.datetime | None]] = {}
    if joined:
        funding = {row[0]: (_money(row[8]), row[9]) for row in rows}
    elif ids:
        funding = {
            proposal_id: (_money(requested), submitted_at)
            for proposal_id, requested, submitted_at in db.session.execute(
                _page_funding(), {"now": now, "ids": ids}
            )
        }
    if ids:
        # The export reads every row: name the rows by their conditions, not by 20,000 ids.
        found_topics = (
            db.session.execute(_every_row_topics(shape), values)
            if limit is None
            else db.session.execute(_page_topics(), {"ids": ids})
        )
        for proposal_id, topic in found_topics:
            topics[proposal_id].append(topic.name)
    return [
        ProposalRow(
            id=row[0],
            reference=row[1],
            acronym=row[2],
            title=row[3],
            state=row[4],
            coordinator=row[5],
            coordinator_state=row[6],
            partners=row[7],
            topics=tuple(topics[row[0]]),
            requested=funding.get(row[0], (None, None))[0],
            submitted_at=funding.get(row[0], (None, None))[1],
            marks=tuple(
                mark.key
                for mark, carried in zip(marks, row[len(row) - len(marks) :], strict=True)
                if carried
            ),
        )
        for row in rows
    ]


def _count(conditions: list[sa.ColumnElement[bool]]) -> sa.Select[tuple[int]]:
    # count(*), not count(id): PostgreSQL then counts the call's index entries alone.
    return sa.select(sa.func.count()).select_from(Proposal).where(*conditions)


# The list is the page officers open most, filtered or not: building its statements took
# longer than PostgreSQL took to answer them, so each shape's are built once, with the officer,
# the filters' values, the time and the page bound when they run.
@built_once
def _counted(shape: _Shape) -> sa.Select[tuple[int]]:
    return _count(_officer_conditions(shape, sa.bindparam("officer_id"), counting=True))


@built_once
def _capped(shape: _Shape, *, named_only: bool) -> sa.Select[tuple[int]]:
    """The ids of at most one more than ``SEARCH_COUNT_CAP`` proposals matching."""
    conditions = _officer_conditions(
        shape, sa.bindparam("officer_id"), counting=True, named_only=named_only
    )
    return sa.select(Proposal.id).where(*conditions).limit(SEARCH_COUNT_CAP + 1)


@built_once
def _rows(
    shape: _Shape,
    order: ProposalOrder,
    mark_keys: tuple[str, ...],
    *,
    limited: bool,
    by_id: bool,
) -> sa.Select[Any]:
    """The statement of ``_officer_rows``; ``limited``: a page, ``by_id``: the rows of the
    ids bound as ``found``."""
    officer_id = sa.bindparam("officer_id")
    return _rows_statement(
        [Proposal.id.in_(sa.bindparam("found", expanding=True))]
        if by_id
        else _officer_conditions(shape, officer_id),
        order,
        marks_named(mark_keys),
        officer_id=officer_id,
        now=sa.bindparam("now"),
        limit=sa.bindparam("limit") if limited else None,
        offset=sa.bindparam("offset"),
    )


def _every_row_topics(shape: _Shape) -> sa.Select[tuple[int, Topic]]:
    return _topics_of(
        sa.select(Proposal.id).where(*_officer_conditions(shape, sa.bindparam("officer_id")))
    )


def _reads_funding(order: ProposalOrder, *, limited: bool) -> bool:
    return order.sort in (ProposalSort.REQUESTED, ProposalSort.SUBMITTED) or not limited


def _rows_statement(
    conditions: list[sa.ColumnElement[bool]],
    order: ProposalOrder,
    marks: Sequence[ListMark],
    *,
    officer_id: int | sa.BindParameter[int],
    now: dt.datetime | sa.BindParameter[Any],
    limit: int | sa.BindParameter[int] | None,
    offset: int | sa.BindParameter[int],
) -> sa.Select[Any]:
    """The list's rows: the proposal, its coordinator, its partners, each mark as a yes/no
    column, and its funding and time where ``_reads_funding``; none of it for a row twice."""
    lead = sa.orm.aliased(ConsortiumMember)
    partners = (
        sa.select(sa.func.count(ConsortiumMember.id))
        .where(ConsortiumMember.proposal_id == Proposal.id)
        .scalar_subquery()
    )
    joined = _reads_funding(order, limited=limit is not None)
    shown = shown_submissions(now=now, call_ids=_officer_calls(officer_id)) if joined else None
    columns: list[Any] = [
        Proposal.id,
        Proposal.reference,
        Proposal.acronym,
        Proposal.title,
        Proposal.state,
        Organisation.name,
        Organisation.federal_state,
        partners,
    ]
    query = (
        sa.select(*columns)
        .select_from(Proposal)
        .outerjoin(
            lead, sa.and_(lead.proposal_id == Proposal.id, lead.role == MemberRole.COORDINATOR)
        )
        .outerjoin(Organisation, Organisation.id == lead.organisation_id)
    )
    if shown is not None:
        query = query.add_columns(shown.c.requested, shown.c.submitted_at).outerjoin(
            shown, shown.c.proposal_id == Proposal.id
        )
    # Each registered mark: one more yes/no column of the same query, the last ones of the row.
    query = query.add_columns(*(Proposal.id.in_(mark.proposal_ids()) for mark in marks))
    key = _sort_key(order.sort, shown)
    descending = order.direction is SortDirection.DESC
    query = query.where(*conditions).order_by(
        (key.desc() if descending else key.asc()).nulls_last(),
        Proposal.reference.desc() if descending else Proposal.reference.asc(),
    )
    if limit is not None:
        query = query.limit(limit).offset(offset)
    return query


def _topics_of(proposal_ids: Any) -> sa.Select[tuple[int, Topic]]:
    return (
        sa.select(proposal_topics.c.proposal_id, Topic)
        .join(Topic, Topic.id == proposal_topics.c.topic_id)
        .where(proposal_topics.c.proposal_id.in_(proposal_ids))
        .order_by(Topic.name_en)
    )


# A page's funding and topics, asked on every visit of the list: built once, the page's ids
# and the time bound when they run.
@built_once
def _page_funding() -> sa.Select[Any]:
    ids = sa.bindparam("ids", expanding=True)
    return sa.select(shown_submissions(now=sa.bindparam("now"), proposal_ids=ids))


@built_once
def _page_topics() -> sa.Select[tuple[int, Topic]]:
    return _topics_of(sa.bindparam("ids", expanding=True))


def _amount(value: Any) -> Decimal:
    return Decimal(value).quantize(Decimal("0.01"))


def _money(value: Any) -> Decimal | None:
    return None if value is None else _amount(value)


def _sort_key(sort: ProposalSort, shown: sa.Subquery | None) -> Any:
    if sort is ProposalSort.ACRONYM:
        return sa.func.lower(Proposal.acronym)
    if sort is ProposalSort.TITLE:
        return sa.func.lower(Proposal.title)
    if sort is ProposalSort.COORDINATOR:
        return sa.func.lower(Organisation.name)
    if sort is ProposalSort.STATE:
        return sa.case(
            {state.value: index for state, index in STATE_ORDER.items()},
            value=Proposal.state,
        )
    if shown is not None and sort is ProposalSort.REQUESTED:
        return shown.c.requested
    if shown is not None and sort is ProposalSort.SUBMITTED:
        return shown.c.submitted_at
    return Proposal.reference


@dataclass(frozen=True)
class ApplicantProposal:
    """A line of the applicant's start page."""

    id: int
    reference: str
    acronym: str
    title: str
    state: ProposalState
    call_name: str


@built_once
def _proposals_of_applicant() -> sa.Select[tuple[Any, ...]]:
    return (
        sa.select(
            Proposal.id,
            Proposal.reference,
            Proposal.acronym,
            Proposal.title,
            Proposal.state,
            Call.name,
        )
        .join(Call, Call.id == Proposal.call_id)
        .join(ProposalContributor, ProposalContributor.proposal_id == Proposal.id)
        .where(ProposalContributor.user_id == sa.bindparam("user_id"))
        .order_by(Proposal.created_at.desc(), Proposal.id.desc())
    )


def list_proposals_of_applicant(user: User) -> list[ApplicantProposal]:
    """The proposals ``user`` works on, newest first, with their calls' names."""
    rows = db.session.execute(_proposals_of_applicant(), {"user_id": user.id})
    return [ApplicantProposal(*row) for row in rows]


# What every page of a proposal shows with it: its consortium, its topics, its call with the
# call's programme and stages.
_PROPOSAL_PAGE = (
    selectinload(Proposal.members),
    selectinload(Proposal.topics),
    joinedload(Proposal.call).joinedload(Call.programme),
    joinedload(Proposal.call).selectinload(Call.stages),
)


def find_proposal_for_page(proposal_id: int) -> Proposal | None:
    # The call and its programme come with the proposal's row. A submission's stage is one
    # of the call's stages, which are then in the session: reading it costs no query.
    return db.session.scalar(
        sa.select(Proposal)
        .where(Proposal.id == proposal_id)
        .options(
            *_PROPOSAL_PAGE,
            selectinload(Proposal.submissions).selectinload(StageSubmission.budget_lines),
            selectinload(Proposal.submissions).selectinload(StageSubmission.attachments),
        )
    )


@built_once
def _proposal_to_show() -> sa.Select[tuple[Proposal]]:
    return (
        sa.select(Proposal)
        .where(Proposal.id == sa.bindparam("proposal_id"))
        .options(*_PROPOSAL_PAGE)
    )


def find_proposal_to_show(proposal_id: int) -> Proposal | None:
    """The proposal for its page, with its consortium and topics; the page reads its
    submissions with ``submissions_shown``, not as objects."""
    return db.session.scalar(_proposal_to_show(), {"proposal_id": proposal_id})


@dataclass(frozen=True)
class SubmissionShown:
    """A stage's submission on the proposal's page, with its budget summed per partner over
    the years."""

    id: int
    stage: str
    state: SubmissionState
    submitted_at: dt.datetime | None
    content_hash: str | None
    # Public funding and own contribution per consortium member, for those with lines.
    per_member: dict[int, tuple[Decimal, Decimal]]

    @property
    def public(self) -> Decimal:
        return sum((public for public, _own in self.per_member.values()), Decimal(0))

    @property
    def own(self) -> Decimal:
        return sum((own for _public, own in self.per_member.values()), Decimal(0))


@built_once
def _submissions_with_budgets() -> sa.Select[tuple[Any, ...]]:
    sums = (
        sa.select(
            BudgetLine.submission_id,
            BudgetLine.member_id,
            sa.func.sum(BudgetLine.public_funding).label("public"),
            sa.func.sum(BudgetLine.own_contribution).label("own"),
        )
        .join(StageSubmission, StageSubmission.id == BudgetLine.submission_id)
        .where(StageSubmission.proposal_id == sa.bindparam("proposal_id"))
        .group_by(BudgetLine.submission_id, BudgetLine.member_id)
        .subquery()
    )
    return (
        sa.select(
            StageSubmission.id,
            Stage.name,
            StageSubmission.state,
            StageSubmission.submitted_at,
            StageSubmission.content_hash,
            sums.c.member_id,
            sums.c.public,
            sums.c.own,
        )
        .join(Stage, Stage.id == StageSubmission.stage_id)
        .outerjoin(sums, sums.c.submission_id == StageSubmission.id)
        .where(StageSubmission.proposal_id == sa.bindparam("proposal_id"))
        .order_by(Stage.position, StageSubmission.id)
    )


def submissions_shown(proposal_id: int) -> list[SubmissionShown]:
    """The proposal's submissions, stage by stage, in one query: their texts stay unread."""
    shown: dict[int, SubmissionShown] = {}
    rows = db.session.execute(_submissions_with_budgets(), {"proposal_id": proposal_id})
    for submission_id, stage, state, submitted_at, content_hash, member_id, public, own in rows:
        if submission_id not in shown:
            shown[submission_id] = SubmissionShown(
                submission_id, stage, state, submitted_at, content_hash, per_member={}
            )
        if member_id is not None:
            shown[submission_id].per_member[member_id] = (_amount(public), _amount(own))
    return list(shown.values())


def find_proposal_to_submit(
    proposal_id: int, *, user: User
) -> tuple[Proposal, ContributorRole | None] | None:
    """What the permission check and the submission's choice need, with the user's role in
    the consortium (in the same query); the submit reads the rest itself, after it has locked
    the submission."""
    role = (
        sa.select(ProposalContributor.role)
        .where(
            ProposalContributor.user_id == user.id,
            ProposalContributor.proposal_id == Proposal.id,
        )
        .scalar_subquery()
    )
    row = (
        db.session.execute(
            sa.select(Proposal, role)
            .where(Proposal.id == proposal_id)
            .options(
                joinedload(Proposal.call),
                joinedload(Proposal.submissions).joinedload(StageSubmission.stage),
            )
        )
        .unique()
        .one_or_none()
    )
    return None if row is None else (row[0], row[1])


@dataclass(frozen=True)
class OpenStage:
    call: Call
    stage: Stage


# States a proposal reaches only when a decision on it is published: once one of a call's
# proposals is in one of them, the selection of its first stage has been announced and that
# stage takes no new proposals, whatever its window says.
DECIDED = (ProposalState.ADVANCED, ProposalState.REJECTED, ProposalState.FUNDED)


def _takes_new_proposals(now: dt.datetime) -> tuple[sa.ColumnElement[bool], ...]:
    """Conditions on ``Stage`` joined with its ``Call``: the stage new proposals start in. Only a
    published call's first stage does (later stages take the invited finalists' proposals, which
    is no open call), while its window is open and before any of its decisions are published."""
    first = (
        sa.select(sa.func.min(Stage.position))
        .where(Stage.call_id == Call.id)
        .correlate(Call)
        .scalar_subquery()
    )
    decided = sa.select(Proposal.id).where(Proposal.call_id == Call.id, Proposal.state.in_(DECIDED))
    return (
        Call.state == CallState.PUBLISHED,
        Stage.position == first,
        Stage.opens_at <= now,
        Stage.closes_at >= now,
        ~decided.correlate(Call).exists(),
    )


def list_open_stages(*, now: dt.datetime) -> list[OpenStage]:
    """The open calls: stages that take new proposals now, soonest deadline first."""
    stages = db.session.scalars(
        sa.select(Stage)
        .join(Call, Stage.call_id == Call.id)
        .where(*_takes_new_proposals(now))
        .options(selectinload(Stage.call).selectinload(Call.programme))
        .order_by(Stage.closes_at)
    ).all()
    return [OpenStage(stage.call, stage) for stage in stages]


def find_published_call(call_id: int) -> Call | None:
    return db.session.scalar(
        sa.select(Call)
        .where(Call.id == call_id, Call.state != CallState.DRAFT)
        .options(
            selectinload(Call.programme),
            selectinload(Call.stages).selectinload(Stage.criteria),
        )
    )


def open_stage(call: Call, *, now: dt.datetime) -> Stage | None:
    """The stage new proposals start in (the call's first), if it takes them now: the same rule
    as the open calls."""
    return db.session.scalar(
        sa.select(Stage)
        .join(Call, Stage.call_id == Call.id)
        .where(Call.id == call.id, *_takes_new_proposals(now))
    )


def list_invitations(proposal: Proposal) -> list[ProposalInvitation]:
    return list(
        db.session.scalars(
            sa.select(ProposalInvitation)
            .where(ProposalInvitation.proposal_id == proposal.id)
            .order_by(ProposalInvitation.created_at)
        )
    )


def list_contributors(proposal: Proposal) -> list[tuple[User, ContributorRole]]:
    rows = db.session.execute(
        sa.select(User, ProposalContributor.role)
        .join(ProposalContributor, ProposalContributor.user_id == User.id)
        .where(ProposalContributor.proposal_id == proposal.id)
        .order_by(ProposalContributor.role, User.name)
    )
    return [(user, role) for user, role in rows]


def list_versions(proposal: Proposal) -> list[SubmissionVersion]:
    return list(
        db.session.scalars(
            sa.select(SubmissionVersion)
            .join(StageSubmission, SubmissionVersion.submission_id == StageSubmission.id)
            .where(StageSubmission.proposal_id == proposal.id)
            .options(selectinload(SubmissionVersion.submission).selectinload(StageSubmission.stage))
            .order_by(StageSubmission.stage_id, SubmissionVersion.number.desc())
        )
    )


def find_version(
    proposal: Proposal, *, number: int, stage_id: int | None = None
) -> SubmissionVersion | None:
    query = (
        sa.select(SubmissionVersion)
        .join(StageSubmission, SubmissionVersion.submission_id == StageSubmission.id)
        .join(Stage, StageSubmission.stage_id == Stage.id)
        .where(StageSubmission.proposal_id == proposal.id, SubmissionVersion.number == number)
        .order_by(Stage.position.desc())
        .limit(1)
    )
    if stage_id is not None:
        query = query.where(StageSubmission.stage_id == stage_id)
    return db.session.scalar(query)


def list_extensions(proposal: Proposal) -> list[DeadlineExtension]:
    return list(
        db.session.scalars(
            sa.select(DeadlineExtension).where(DeadlineExtension.proposal_id == proposal.id)
        )
    )


def is_submitted_attachment(attachment: Attachment) -> bool:
    """Whether some submitted version of its stage submission froze this attachment."""
    contents = db.session.scalars(
        sa.select(SubmissionVersion.content).where(
            SubmissionVersion.submission_id == attachment.submission_id
        )
    )
    return any(
        entry.get("attachment_id") == attachment.id
        for content in contents
        for entry in content.get("attachments", ())
    )


def coordinator_of(proposal: Proposal) -> User | None:
    """The account that coordinates the proposal: the one its letters and notices go to."""
    return db.session.scalar(
        sa.select(User)
        .join(ProposalContributor, ProposalContributor.user_id == User.id)
        .where(
            ProposalContributor.proposal_id == proposal.id,
            ProposalContributor.role == ContributorRole.COORDINATOR,
        )
    )


# --- what a programme's set-up must respect (registered with programmes.uses) ------------------


def proposals_in_calls(call_ids: list[int]) -> dict[int, int]:
    """How many proposals each of ``call_ids`` holds, withdrawn ones included."""
    if not call_ids:
        return {}
    rows = db.session.execute(
        sa.select(Proposal.call_id, sa.func.count())
        .where(Proposal.call_id.in_(call_ids))
        .group_by(Proposal.call_id)
    )
    return {call_id: count for call_id, count in rows}


def proposals_naming_topics(topic_ids: list[int]) -> dict[int, int]:
    """How many proposals name each of ``topic_ids``, withdrawn ones included."""
    rows = db.session.execute(
        sa.select(proposal_topics.c.topic_id, sa.func.count())
        .where(proposal_topics.c.topic_id.in_(topic_ids))
        .group_by(proposal_topics.c.topic_id)
    )
    return {topic_id: count for topic_id, count in rows}


def stages_with_submissions(stage_ids: list[int]) -> set[int]:
    """Those of ``stage_ids`` for which some proposal has started or submitted material."""
    return set(
        db.session.scalars(
            sa.select(StageSubmission.stage_id)
            .where(StageSubmission.stage_id.in_(stage_ids))
            .distinct()
        )
    )


def breaking_submissions(
    stages: Sequence[Stage], proposed_call: Call | None, proposed_stage: Stage | None
) -> list[AffectedProposal]:
    """The proposals whose latest submitted version, in one of ``stages``, passes the current
    rules less well than the proposed ones: a problem appears that it does not have now.

    ``proposed_call`` stands in for the stages' call and ``proposed_stage`` for the (single)
    stage. One entry per proposal, ordered by reference.
    """
    by_id = {stage.id: stage for stage in stages}
    latest = (
        sa.select(
            SubmissionVersion.submission_id,
            sa.func.max(SubmissionVersion.number).label("number"),
        )
        .group_by(SubmissionVersion.submission_id)
        .subquery()
    )
    rows = db.session.execute(
        sa.select(
            SubmissionVersion.content,
            StageSubmission.stage_id,
            Proposal.reference,
            Proposal.acronym,
        )
        .join(
            latest,
            sa.and_(
                SubmissionVersion.submission_id == latest.c.submission_id,
                SubmissionVersion.number == latest.c.number,
            ),
        )
        .join(StageSubmission, StageSubmission.id == SubmissionVersion.submission_id)
        .join(Proposal, Proposal.id == StageSubmission.proposal_id)
        .where(
            StageSubmission.stage_id.in_(list(by_id)),
            StageSubmission.state != SubmissionState.WITHDRAWN,
            Proposal.state != ProposalState.WITHDRAWN,
        )
        .order_by(Proposal.reference, StageSubmission.stage_id)
    )
    affected: dict[str, AffectedProposal] = {}
    for content, stage_id, reference, acronym in rows:
        if reference in affected:
            continue
        stage = by_id[stage_id]
        now_problems = {str(p.message) for p in content_problems(content, stage, stage.call)}
        new_problems = content_problems(
            content, proposed_stage or stage, proposed_call or stage.call, kind_of=stage
        )
        fresh = [p for p in new_problems if str(p.message) not in now_problems]
        if fresh:
            affected[reference] = AffectedProposal(
                reference=reference,
                acronym=acronym,
                stage_name=stage.name,
                problem=say(fresh[0].message),
            )
    return list(affected.values())


@dataclass(frozen=True)
class CallSummary:
    call: Call
    proposals_by_state: dict[ProposalState, int]
    # The stage taking proposals now, else the next to open, else the last (closed).
    stage: Stage | None
    stage_status: str  # "open", "upcoming" or "closed"

    @property
    def total(self) -> int:
        return sum(self.proposals_by_state.values())

    @property
    def submitted(self) -> int:
        """Proposals handed in and not withdrawn, whatever was decided on them since."""
        return sum(
            count
            for state, count in self.proposals_by_state.items()
            if state not in (ProposalState.DRAFT, ProposalState.WITHDRAWN)
        )


def current_stage(call: Call, *, now: dt.datetime) -> tuple[Stage | None, str]:
    """The competition's stage (never an interim evaluation of its grants) open now, else the
    next to open, else the last."""
    stages = sorted(call.competition_stages, key=lambda s: s.position)
    for stage in stages:
        if stage.opens_at <= now <= stage.closes_at:
            return stage, "open"
    upcoming = [s for s in stages if s.opens_at > now]
    if upcoming:
        return min(upcoming, key=lambda s: s.opens_at), "upcoming"
    return (stages[-1], "closed") if stages else (None, "closed")


def call_summaries(programmes: list[Programme], *, now: dt.datetime) -> dict[int, CallSummary]:
    """For an officer's dashboard: each call of ``programmes`` with its proposals by state."""
    call_ids = [call.id for programme in programmes for call in programme.calls]
    counts: dict[int, dict[ProposalState, int]] = {call_id: {} for call_id in call_ids}
    if call_ids:
        rows = db.session.execute(
            sa.select(Proposal.call_id, Proposal.state, sa.func.count())
            .where(Proposal.call_id.in_(call_ids))
            .group_by(Proposal.call_id, Proposal.state)
        )
        for call_id, state, count in rows:
            counts[call_id][state] = count
    calls = {call.id: call for programme in programmes for call in programme.calls}
    summaries = {}
    for call_id in call_ids:
        stage, status = current_stage(calls[call_id], now=now)
        summaries[call_id] = CallSummary(calls[call_id], counts[call_id], stage, status)
    return summaries
