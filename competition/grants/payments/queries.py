"""Reading payments for pages and operations: a grant's approved amounts and requests in the
core's terms, the programme's lists of payments and exports (paged, eagerly loaded so pages run
no query while rendering), the rows an export writes, and the money view's inputs."""

from __future__ import annotations

import datetime as dt
import enum
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import joinedload, selectinload

from competition.accounts.models import Role, User, UserStatus
from competition.core import payments as rules
from competition.extensions import db
from competition.grants.models import (
    Disbursement,
    DisbursementState,
    Grant,
    GrantAmount,
    PaymentExport,
)
from competition.i18n import lazy_gettext as _l
from competition.paging import Page
from competition.programmes.models import Call, Programme, ProgrammeOfficer
from competition.proposals.models import ConsortiumMember

PER_PAGE = 50


# --- one grant ------------------------------------------------------------------------------------


def find_grant(grant_id: int) -> Grant | None:
    return db.session.scalar(
        sa.select(Grant)
        .where(Grant.id == grant_id)
        .options(
            joinedload(Grant.proposal),
            joinedload(Grant.call).joinedload(Call.programme),
            selectinload(Grant.phases),
            selectinload(Grant.amounts).joinedload(GrantAmount.member),
        )
    )


def find_disbursement(disbursement_id: int) -> Disbursement | None:
    return db.session.scalar(
        sa.select(Disbursement)
        .where(Disbursement.id == disbursement_id)
        .options(
            joinedload(Disbursement.member),
            joinedload(Disbursement.grant).joinedload(Grant.proposal),
            joinedload(Disbursement.grant).joinedload(Grant.call).joinedload(Call.programme),
        )
    )


def lock_grant(grant: Grant) -> None:
    """One payment decision at a time per grant, so two requests or approvals never both take
    the last of a year's money."""
    db.session.execute(sa.select(Grant.id).where(Grant.id == grant.id).with_for_update())


def terms_of(grant: Grant) -> rules.GrantTerms:
    return rules.GrantTerms(
        state=grant.state.value,
        starts_on=grant.starts_on,
        ends_on=grant.ends_on,
        phases=tuple(
            rules.Phase(p.first_year, p.last_year, p.released_at is not None) for p in grant.phases
        ),
    )


def approved_of(grant: Grant) -> dict[tuple[int, int], Decimal]:
    """The approved amount per (partner, project year)."""
    return {(a.member_id, a.year): a.amount for a in grant.amounts}


def disbursements_of(grant: Grant) -> list[Disbursement]:
    """Every request of the grant, newest first, with its partner."""
    return list(
        db.session.scalars(
            sa.select(Disbursement)
            .where(Disbursement.grant_id == grant.id)
            .options(joinedload(Disbursement.member))
            .order_by(Disbursement.requested_at.desc(), Disbursement.id.desc())
        )
    )


def drawings_of(disbursements: Sequence[Disbursement]) -> list[rules.Drawing]:
    return [
        rules.Drawing(d.member_id, d.year, d.amount, d.state.value, d.id) for d in disbursements
    ]


@dataclass(frozen=True)
class BudgetRow:
    """A partner's approved money for one project year and what became of it."""

    member: ConsortiumMember
    year: int
    budget_year: int
    starts_on: dt.date
    ends_on: dt.date
    released: bool
    approved: Decimal
    paid: Decimal  # approved, exported or paid
    pending: Decimal  # requested, or awaiting a second officer
    left: Decimal


def budget_rows(grant: Grant, disbursements: Sequence[Disbursement]) -> list[BudgetRow]:
    """Per partner (the coordinator first) and project year: approved, paid, pending, left."""
    terms = terms_of(grant)
    approved = approved_of(grant)
    drawings = drawings_of(disbursements)
    paid: dict[tuple[int, int], Decimal] = defaultdict(lambda: rules.ZERO)
    pending: dict[tuple[int, int], Decimal] = defaultdict(lambda: rules.ZERO)
    for d in drawings:
        if d.state in rules.COUNTED:
            paid[(d.member_id, d.year)] += d.amount
        elif d.state in rules.RESERVING:
            pending[(d.member_id, d.year)] += d.amount
    members = {a.member_id: a.member for a in grant.amounts}
    order = sorted(members.values(), key=lambda m: (m.role.value != "coordinator", m.id))
    rows = []
    for member in order:
        for year in sorted(y for (m, y) in approved if m == member.id):
            start, end = rules.year_span(terms, year)
            rows.append(
                BudgetRow(
                    member=member,
                    year=year,
                    budget_year=rules.budget_year(grant.starts_on, year),
                    starts_on=start,
                    ends_on=end,
                    released=rules.year_released(terms.phases, year),
                    approved=approved[(member.id, year)],
                    paid=paid[(member.id, year)],
                    pending=pending[(member.id, year)],
                    left=rules.left_for(approved, drawings, member.id, year),
                )
            )
    return rows


# --- a programme's payments -----------------------------------------------------------------------


class PaymentFilter(enum.StrEnum):
    WAITING = "waiting"  # requested: an officer's decision is due
    CONFIRMING = "confirming"  # proposed: a second officer's confirmation is due
    APPROVED = "approved"  # approved, not yet exported
    EXPORTED = "exported"  # in an export (paid or not)

    @property
    def label(self) -> str:
        return str(FILTER_LABELS[self])


FILTER_LABELS = {
    PaymentFilter.WAITING: _l("Waiting for approval"),
    PaymentFilter.CONFIRMING: _l("Waiting for confirmation"),
    PaymentFilter.APPROVED: _l("Approved, not exported"),
    PaymentFilter.EXPORTED: _l("Exported"),
}
FILTER_STATES = {
    PaymentFilter.WAITING: (DisbursementState.REQUESTED,),
    PaymentFilter.CONFIRMING: (DisbursementState.PROPOSED,),
    PaymentFilter.APPROVED: (DisbursementState.APPROVED,),
    PaymentFilter.EXPORTED: (DisbursementState.EXPORTED, DisbursementState.PAID),
}


def _of_programme(programme_id: int) -> sa.Select[tuple[Disbursement]]:
    return (
        sa.select(Disbursement)
        .join(Grant, Grant.id == Disbursement.grant_id)
        .join(Call, Call.id == Grant.call_id)
        .where(Call.programme_id == programme_id)
    )


def programme_payments(
    programme: Programme, shown: PaymentFilter | None, *, page: int
) -> Page[Disbursement]:
    """The programme's payments, newest first, filtered by where they stand, a page of them."""
    query = _of_programme(programme.id)
    if shown is not None:
        query = query.where(Disbursement.state.in_(FILTER_STATES[shown]))
    total = int(db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0)
    rows = db.session.scalars(
        query.options(
            joinedload(Disbursement.member),
            joinedload(Disbursement.grant).joinedload(Grant.proposal),
        )
        .order_by(Disbursement.requested_at.desc(), Disbursement.id.desc())
        .limit(PER_PAGE)
        .offset((page - 1) * PER_PAGE)
    )
    return Page(list(rows), page=page, per_page=PER_PAGE, total=total)


def counts_by_filter(programme: Programme) -> dict[PaymentFilter, int]:
    """How many of the programme's payments each filter shows, in one query."""
    found = dict(
        db.session.execute(
            sa.select(Disbursement.state, sa.func.count())
            .join(Grant, Grant.id == Disbursement.grant_id)
            .join(Call, Call.id == Grant.call_id)
            .where(Call.programme_id == programme.id)
            .group_by(Disbursement.state)
        ).all()
    )
    return {shown: sum(found.get(s, 0) for s in FILTER_STATES[shown]) for shown in PaymentFilter}


def exportable(programme_id: int) -> list[Disbursement]:
    """The programme's approved payments that are in no export yet, oldest first, with what the
    export writes of them."""
    return list(
        db.session.scalars(
            _of_programme(programme_id)
            .where(
                Disbursement.state == DisbursementState.APPROVED,
                Disbursement.export_id.is_(None),
            )
            .options(
                joinedload(Disbursement.member),
                joinedload(Disbursement.grant).joinedload(Grant.proposal),
            )
            .order_by(Disbursement.id)
        )
    )


def exportable_summary(programme_id: int) -> tuple[int, Decimal]:
    """How many approved payments an export would take now, and their total."""
    count, total = db.session.execute(
        sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(Disbursement.amount), 0))
        .join(Grant, Grant.id == Disbursement.grant_id)
        .join(Call, Call.id == Grant.call_id)
        .where(
            Call.programme_id == programme_id,
            Disbursement.state == DisbursementState.APPROVED,
            Disbursement.export_id.is_(None),
        )
    ).one()
    return int(count), Decimal(total).quantize(rules.CENT)


def exports_of(programme: Programme, *, page: int) -> Page[PaymentExport]:
    query = sa.select(PaymentExport).where(PaymentExport.programme_id == programme.id)
    total = int(db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0)
    rows = db.session.scalars(
        query.order_by(PaymentExport.created_at.desc(), PaymentExport.id.desc())
        .limit(PER_PAGE)
        .offset((page - 1) * PER_PAGE)
    )
    return Page(list(rows), page=page, per_page=PER_PAGE, total=total)


def unpaid_in(exports: Sequence[PaymentExport]) -> dict[int, int]:
    """How many payments of each export the payment system has not yet been recorded as paying."""
    if not exports:
        return {}
    return dict(
        db.session.execute(
            sa.select(Disbursement.export_id, sa.func.count())
            .where(
                Disbursement.export_id.in_([e.id for e in exports]),
                Disbursement.state == DisbursementState.EXPORTED,
            )
            .group_by(Disbursement.export_id)
        ).all()
    )


def find_export(export_id: int) -> PaymentExport | None:
    return db.session.get(PaymentExport, export_id)


def exported_in(export: PaymentExport) -> list[Disbursement]:
    return list(
        db.session.scalars(
            sa.select(Disbursement)
            .where(Disbursement.export_id == export.id)
            .order_by(Disbursement.id)
        )
    )


def find_programme(programme_id: int) -> Programme | None:
    return db.session.get(Programme, programme_id)


def officers_of(programme_id: int) -> list[User]:
    """The programme's active officers, by id."""
    people = db.session.scalars(
        sa.select(User)
        .join(ProgrammeOfficer, ProgrammeOfficer.user_id == User.id)
        .where(ProgrammeOfficer.programme_id == programme_id, User.status == UserStatus.ACTIVE)
        .options(selectinload(User.role_rows))
        .order_by(User.id)
    )
    return [person for person in people if person.has_role(Role.OFFICER)]


# --- the money view -------------------------------------------------------------------------------


def money_view(programme: Programme) -> tuple[rules.MoneyView, list[Call]]:
    """The programme's money (core.payments.money_view) and its rounds in order, in four
    queries whatever the number of grants."""
    calls = list(
        db.session.scalars(
            sa.select(Call).where(Call.programme_id == programme.id).order_by(Call.round_number)
        )
    )
    grants = list(
        db.session.scalars(
            sa.select(Grant)
            .join(Call, Call.id == Grant.call_id)
            .where(Call.programme_id == programme.id)
            .options(selectinload(Grant.phases))
        )
    )
    amounts: dict[int, dict[int, Decimal]] = defaultdict(dict)
    for grant_id, year, amount in db.session.execute(
        sa.select(GrantAmount.grant_id, GrantAmount.year, sa.func.sum(GrantAmount.amount))
        .join(Grant, Grant.id == GrantAmount.grant_id)
        .join(Call, Call.id == Grant.call_id)
        .where(Call.programme_id == programme.id)
        .group_by(GrantAmount.grant_id, GrantAmount.year)
    ):
        amounts[grant_id][year] = Decimal(amount)
    paid = db.session.execute(
        sa.select(Disbursement.grant_id, Disbursement.year, sa.func.sum(Disbursement.amount))
        .join(Grant, Grant.id == Disbursement.grant_id)
        .join(Call, Call.id == Grant.call_id)
        .where(
            Call.programme_id == programme.id,
            Disbursement.state.in_([DisbursementState(s) for s in rules.COUNTED]),
        )
        .group_by(Disbursement.grant_id, Disbursement.year)
    )
    books = [
        rules.GrantBooks(
            grant_id=g.id,
            call_id=g.call_id,
            state=g.state.value,
            starts_on=g.starts_on,
            amounts=amounts.get(g.id, {}),
            phases=terms_of(g).phases,
        )
        for g in grants
    ]
    view = rules.money_view(
        books,
        [rules.Payment(grant, year, Decimal(total), "approved") for grant, year, total in paid],
        envelopes={c.id: c.budget_envelope for c in calls},
        budget=programme.total_budget,
    )
    return view, calls
