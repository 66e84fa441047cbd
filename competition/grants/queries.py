"""Reading grants for pages and other areas: a grant with everything its page shows loaded up
front (templates run no queries), a programme's grants as a filtered, searched and paged list
with totals, and a proposal's grants for its page."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

import sqlalchemy as sa
from flask_login import current_user
from sqlalchemy.orm import joinedload, selectinload

from competition.extensions import db
from competition.grants.models import Grant, GrantAmount, GrantKind, GrantPhase, GrantState
from competition.grants.permissions import can_see_grant
from competition.paging import Page
from competition.programmes.models import Call, Programme
from competition.proposals.models import ConsortiumMember, MemberRole, Proposal

PER_PAGE = 50


def find_grant(grant_id: int) -> Grant | None:
    """A grant with its proposal (consortium, call, programme), phases and amounts."""
    return db.session.scalar(
        sa.select(Grant)
        .where(Grant.id == grant_id)
        .options(
            joinedload(Grant.call).joinedload(Call.programme),
            joinedload(Grant.proposal).selectinload(Proposal.members),
            selectinload(Grant.phases),
            selectinload(Grant.amounts),
        )
    )


@dataclass(frozen=True)
class AmountRow:
    member: ConsortiumMember
    by_year: dict[int, Decimal]
    total: Decimal


@dataclass(frozen=True)
class AmountTable:
    """The approved amounts as partners × project years, with the totals of each."""

    years: list[int]
    rows: list[AmountRow]
    year_totals: dict[int, Decimal]
    total: Decimal


def amount_table(
    grant: Grant, *, members: list[ConsortiumMember] | None = None, years: int | None = None
) -> AmountTable:
    """The grant's amounts by partner (coordinator first, then in the consortium's order) and
    year; ``members`` adds rows of zeros for partners without amounts and ``years`` columns up
    to that year (the adjustment form)."""
    cells: dict[int, dict[int, Decimal]] = defaultdict(dict)
    for cell in grant.amounts:
        cells[cell.member_id][cell.year] = Decimal(cell.amount)
    last = max(
        [years or 1]
        + [phase.last_year for phase in grant.phases]
        + [y for c in cells.values() for y in c]
    )
    shown_years = list(range(1, last + 1))
    consortium = sorted(
        grant.proposal.members, key=lambda m: (m.role != MemberRole.COORDINATOR, m.id)
    )
    wanted = {m.id for m in members} if members is not None else set()
    rows = [
        AmountRow(
            member=member,
            by_year={year: cells[member.id].get(year, Decimal(0)) for year in shown_years},
            total=sum(cells[member.id].values(), Decimal(0)),
        )
        for member in consortium
        if member.id in cells or member.id in wanted
    ]
    year_totals = {year: sum((r.by_year[year] for r in rows), Decimal(0)) for year in shown_years}
    return AmountTable(
        years=shown_years,
        rows=rows,
        year_totals=year_totals,
        total=sum(year_totals.values(), Decimal(0)),
    )


def fundable_members(grant: Grant) -> list[ConsortiumMember]:
    """The partners an officer may give money to: all but associated partners (who bring
    their own contribution only)."""
    return [m for m in grant.proposal.members if m.role != MemberRole.ASSOCIATED_PARTNER]


def phase_of_year(grant: Grant) -> dict[int, GrantPhase]:
    return {
        year: phase
        for phase in grant.phases
        for year in range(phase.first_year, phase.last_year + 1)
    }


# --- a programme's grants ----------------------------------------------------------------------


@dataclass(frozen=True)
class GrantRow:
    id: int
    reference: str
    acronym: str
    call: str
    kind: GrantKind
    state: GrantState
    starts_on: dt.date
    ends_on: dt.date
    total: Decimal


@dataclass(frozen=True)
class GrantList:
    page: Page[GrantRow]
    # Over every page of the filtered list: the grants' approved money, and the count by state.
    total: Decimal
    by_state: dict[GrantState, int] = field(default_factory=dict)


def list_grants(
    programme: Programme,
    *,
    state: GrantState | None = None,
    kind: GrantKind | None = None,
    q: str = "",
    page: int = 1,
    per_page: int = PER_PAGE,
) -> GrantList:
    """The programme's grants, by reference, filtered by state and kind and searched by
    reference or acronym; the totals count the filtered grants of every page. Three queries
    at any size."""
    totals = (
        sa.select(GrantAmount.grant_id, sa.func.sum(GrantAmount.amount).label("total"))
        .group_by(GrantAmount.grant_id)
        .subquery()
    )
    where = [Call.programme_id == programme.id]
    if kind is not None:
        where.append(Grant.kind == kind)
    if q:
        pattern = f"%{q.lower()}%"
        where.append(
            sa.or_(
                sa.func.lower(Proposal.reference).like(pattern),
                sa.func.lower(Proposal.acronym).like(pattern),
            )
        )
    base = (
        sa.select(Grant)
        .join(Call, Call.id == Grant.call_id)
        .join(Proposal, Proposal.id == Grant.proposal_id)
        .outerjoin(totals, totals.c.grant_id == Grant.id)
        .where(*where)
    )
    counted = db.session.execute(
        base.with_only_columns(
            Grant.state, sa.func.count(), sa.func.coalesce(sa.func.sum(totals.c.total), 0)
        ).group_by(Grant.state)
    ).all()
    by_state = {GrantState(s): n for s, n, _ in counted}
    shown = [row for row in counted if state is None or GrantState(row[0]) == state]
    count = sum(n for _, n, _ in shown)
    money = sum((Decimal(amount) for _, _, amount in shown), Decimal(0))
    if state is not None:
        base = base.where(Grant.state == state)
    pages = max(1, -(-count // per_page))
    page = min(max(page, 1), pages)
    rows = db.session.execute(
        base.with_only_columns(
            Grant.id,
            Proposal.reference,
            Proposal.acronym,
            Call.name,
            Grant.kind,
            Grant.state,
            Grant.starts_on,
            Grant.ends_on,
            sa.func.coalesce(totals.c.total, 0),
        )
        .order_by(Proposal.reference, Grant.kind)
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    items = [
        GrantRow(
            id=row[0],
            reference=row[1],
            acronym=row[2],
            call=row[3],
            kind=GrantKind(row[4]),
            state=GrantState(row[5]),
            starts_on=row[6],
            ends_on=row[7],
            total=Decimal(row[8]),
        )
        for row in rows
    ]
    return GrantList(
        page=Page(items=items, page=page, per_page=per_page, total=count),
        total=money,
        by_state=by_state,
    )


# --- a proposal's grants (its page's panel) -----------------------------------------------------


def grants_of(proposal: Proposal) -> list[Grant]:
    return list(
        db.session.scalars(
            sa.select(Grant)
            .where(Grant.proposal_id == proposal.id)
            .options(selectinload(Grant.amounts))
            .order_by(Grant.kind, Grant.id)
        )
    )


def grants_for_reader(proposal: Proposal) -> list[Grant]:
    """For the proposal's pages (registered with proposals.panels): its grants, for its
    consortium and the programme's officers; nothing for anyone else."""
    if not current_user.is_authenticated:
        return []
    grants = grants_of(proposal)
    return [grant for grant in grants if can_see_grant(current_user, grant)]
