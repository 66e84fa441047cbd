"""Reading memberships for pages, mails, the beat task and the registry: each page loads what it
shows up front (templates run no queries), and the member organisations are counted by kind in
one grouped query for a whole page of memberships, never one query per membership.

``public_members`` is the public list's query: the portal will show the same list."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import joinedload, selectinload

from competition.accounts.models import User
from competition.berlin import BERLIN
from competition.core.memberships import ProfileCounts
from competition.extensions import db
from competition.memberships.models import (
    EVALUATED_STATES,
    HELD_STATES,
    OPEN_STATES,
    Membership,
    MembershipCriterion,
    MembershipDecision,
    MembershipEvaluation,
    MembershipEvaluator,
    MembershipMember,
    MembershipState,
)
from competition.organisations.models import FederalState, Organisation, OrganisationKind
from competition.paging import Page
from competition.programmes.models import Programme, ProgrammeKind, ProgrammeOfficer

PER_PAGE = 50
MEMBERS_PER_PAGE = 50
PUBLIC_PER_PAGE = 25


def today_in_berlin(now: dt.datetime) -> dt.date:
    """The day it is in Germany: periods are days there."""
    return now.astimezone(BERLIN).date()


def _contains(column: sa.ColumnElement[str], q: str) -> sa.ColumnElement[bool]:
    return sa.func.lower(column).contains(q.lower(), autoescape=True)


# --- single memberships ----------------------------------------------------------------------


def find_membership(membership_id: int) -> Membership | None:
    """A membership with its programme, organisation and applicant."""
    return db.session.scalar(
        sa.select(Membership)
        .where(Membership.id == membership_id)
        .options(
            joinedload(Membership.programme),
            joinedload(Membership.organisation),
            joinedload(Membership.applicant),
        )
    )


def find_programme(programme_id: int) -> Programme | None:
    return db.session.get(Programme, programme_id)


def find_membership_programme(slug: str) -> Programme | None:
    """A membership programme by its address name (the public list's URL)."""
    return db.session.scalar(
        sa.select(Programme).where(
            Programme.slug == slug[:80], Programme.kind == ProgrammeKind.MEMBERSHIP
        )
    )


def membership_programmes() -> list[Programme]:
    """Every membership programme, by name: where an applicant may apply."""
    return list(
        db.session.scalars(
            sa.select(Programme)
            .where(Programme.kind == ProgrammeKind.MEMBERSHIP)
            .order_by(Programme.name)
        )
    )


def programmes_run_by(officer: User) -> list[Programme]:
    return list(
        db.session.scalars(
            sa.select(Programme)
            .join(ProgrammeOfficer, ProgrammeOfficer.programme_id == Programme.id)
            .where(
                ProgrammeOfficer.user_id == officer.id,
                Programme.kind == ProgrammeKind.MEMBERSHIP,
            )
            .order_by(Programme.name)
        )
    )


def counts_by_membership(membership_ids: Iterable[int]) -> dict[int, ProfileCounts]:
    """Each membership's member organisations counted by the registry's kinds: one grouped
    query for all of them."""
    ids = sorted(set(membership_ids))
    if not ids:
        return {}
    by_kind: dict[int, dict[str, int]] = defaultdict(dict)
    for membership_id, kind, count in db.session.execute(
        sa.select(MembershipMember.membership_id, Organisation.kind, sa.func.count())
        .join(Organisation, Organisation.id == MembershipMember.organisation_id)
        .where(MembershipMember.membership_id.in_(ids))
        .group_by(MembershipMember.membership_id, Organisation.kind)
    ):
        by_kind[membership_id][OrganisationKind(kind).value] = count
    return {i: ProfileCounts.from_kinds(by_kind.get(i, {})) for i in ids}


def counts_of(membership: Membership) -> ProfileCounts:
    return counts_by_membership([membership.id])[membership.id]


def list_members(membership: Membership, *, q: str = "", page: int = 1) -> Page[Organisation]:
    """One page of the cluster's member organisations in name order, with the total."""
    conditions = [MembershipMember.membership_id == membership.id]
    if q:
        conditions.append(_contains(Organisation.name, q))
    base = sa.select(Organisation).join(
        MembershipMember, MembershipMember.organisation_id == Organisation.id
    )
    total = (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(MembershipMember)
            .join(Organisation, Organisation.id == MembershipMember.organisation_id)
            .where(*conditions)
        )
        or 0
    )
    rows = db.session.scalars(
        base.where(*conditions)
        .order_by(sa.func.lower(Organisation.name), Organisation.id)
        .limit(MEMBERS_PER_PAGE)
        .offset((page - 1) * MEMBERS_PER_PAGE)
    )
    return Page(list(rows), page=page, per_page=MEMBERS_PER_PAGE, total=total)


def member_ids(membership: Membership) -> set[int]:
    return set(
        db.session.scalars(
            sa.select(MembershipMember.organisation_id).where(
                MembershipMember.membership_id == membership.id
            )
        )
    )


def criteria_of(programme_id: int) -> list[MembershipCriterion]:
    return list(
        db.session.scalars(
            sa.select(MembershipCriterion)
            .where(MembershipCriterion.programme_id == programme_id)
            .order_by(MembershipCriterion.position, MembershipCriterion.id)
        )
    )


def scored_criterion_ids(programme_id: int) -> set[int]:
    """The programme's criteria that an evaluation has scored (they cannot be removed)."""
    from competition.memberships.models import MembershipScore

    return set(
        db.session.scalars(
            sa.select(MembershipScore.criterion_id)
            .join(MembershipCriterion, MembershipCriterion.id == MembershipScore.criterion_id)
            .where(MembershipCriterion.programme_id == programme_id)
            .distinct()
        )
    )


def evaluators_of(programme_id: int) -> list[MembershipEvaluator]:
    return list(
        db.session.scalars(
            sa.select(MembershipEvaluator)
            .join(User, User.id == MembershipEvaluator.user_id)
            .where(MembershipEvaluator.programme_id == programme_id)
            .options(joinedload(MembershipEvaluator.user))
            .order_by(User.name, User.id)
        )
    )


def evaluations_of(
    membership: Membership, *, round: int | None = None
) -> list[MembershipEvaluation]:
    """The membership's evaluations (of one round, if given), newest round first, each with its
    evaluator and scores."""
    query = (
        sa.select(MembershipEvaluation)
        .where(MembershipEvaluation.membership_id == membership.id)
        .options(joinedload(MembershipEvaluation.evaluator))
        .order_by(
            MembershipEvaluation.round.desc(),
            MembershipEvaluation.recorded_at,
            MembershipEvaluation.id,
        )
    )
    if round is not None:
        query = query.where(MembershipEvaluation.round == round)
    return list(db.session.scalars(query))


def find_evaluation(membership: Membership, evaluator: User) -> MembershipEvaluation | None:
    """The evaluator's evaluation of the membership's current round, if recorded."""
    return db.session.scalar(
        sa.select(MembershipEvaluation).where(
            MembershipEvaluation.membership_id == membership.id,
            MembershipEvaluation.round == max(membership.round, 1),
            MembershipEvaluation.evaluator_id == evaluator.id,
        )
    )


def decisions_of(membership: Membership) -> list[MembershipDecision]:
    return list(
        db.session.scalars(
            sa.select(MembershipDecision)
            .where(MembershipDecision.membership_id == membership.id)
            .options(
                joinedload(MembershipDecision.decided_by),
                joinedload(MembershipDecision.evaluated_by),
            )
            .order_by(MembershipDecision.decided_at, MembershipDecision.id)
        )
    )


# --- lists -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MembershipRow:
    membership: Membership
    counts: ProfileCounts
    evaluations: int = 0
    evaluated_by_me: bool = False


@dataclass(frozen=True)
class ListFilters:
    q: str = ""
    state: MembershipState | None = None


def list_for_programme(
    programme: Programme, filters: ListFilters, *, page: int
) -> Page[MembershipRow]:
    """The officers' list: one page of the programme's memberships by organisation name, with
    each one's counts and how many evaluations its current round has; four queries at any
    size."""
    conditions: list[sa.ColumnElement[bool]] = [Membership.programme_id == programme.id]
    if filters.state is not None:
        conditions.append(Membership.state == filters.state)
    if filters.q:
        conditions.append(_contains(Organisation.name, filters.q))
    joined = sa.select(Membership).join(Organisation, Organisation.id == Membership.organisation_id)
    total = (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Membership)
            .join(Organisation, Organisation.id == Membership.organisation_id)
            .where(*conditions)
        )
        or 0
    )
    memberships = list(
        db.session.scalars(
            joined.where(*conditions)
            .options(joinedload(Membership.organisation), joinedload(Membership.applicant))
            .order_by(sa.func.lower(Organisation.name), Membership.id)
            .limit(PER_PAGE)
            .offset((page - 1) * PER_PAGE)
        )
    )
    counts = counts_by_membership(m.id for m in memberships)
    evaluations = _evaluations_in_round(memberships)
    return Page(
        [MembershipRow(m, counts[m.id], evaluations.get(m.id, 0)) for m in memberships],
        page=page,
        per_page=PER_PAGE,
        total=total,
    )


def _evaluations_in_round(memberships: Sequence[Membership]) -> dict[int, int]:
    if not memberships:
        return {}
    return {
        membership_id: count
        for membership_id, count in db.session.execute(
            sa.select(MembershipEvaluation.membership_id, sa.func.count())
            .join(Membership, Membership.id == MembershipEvaluation.membership_id)
            .where(
                MembershipEvaluation.membership_id.in_([m.id for m in memberships]),
                MembershipEvaluation.round == Membership.round,
            )
            .group_by(MembershipEvaluation.membership_id)
        )
    }


def state_counts(programme: Programme) -> dict[MembershipState, int]:
    return {
        MembershipState(state): count
        for state, count in db.session.execute(
            sa.select(Membership.state, sa.func.count())
            .where(Membership.programme_id == programme.id)
            .group_by(Membership.state)
        )
    }


def list_for_applicant(user: User) -> list[MembershipRow]:
    """The applicant's own applications and memberships, newest first."""
    memberships = list(
        db.session.scalars(
            sa.select(Membership)
            .where(Membership.applicant_id == user.id)
            .options(joinedload(Membership.programme), joinedload(Membership.organisation))
            .order_by(Membership.applied_at.desc(), Membership.id.desc())
        )
    )
    counts = counts_by_membership(m.id for m in memberships)
    return [MembershipRow(m, counts[m.id]) for m in memberships]


def list_to_evaluate(user: User) -> list[MembershipRow]:
    """For an evaluator (a listed juror or an officer of the programme): the memberships being
    evaluated, or applied for, in those programmes, except those of the person's own
    organisation or its clusters; whether the person has evaluated the current round."""
    programme_ids = sa.union(
        sa.select(MembershipEvaluator.programme_id).where(MembershipEvaluator.user_id == user.id),
        sa.select(ProgrammeOfficer.programme_id).where(ProgrammeOfficer.user_id == user.id),
    ).subquery()
    query = (
        sa.select(Membership)
        .join(Organisation, Organisation.id == Membership.organisation_id)
        .where(
            Membership.programme_id.in_(sa.select(programme_ids.c.programme_id)),
            Membership.state.in_([MembershipState.APPLIED, *EVALUATED_STATES]),
        )
        .options(joinedload(Membership.programme), joinedload(Membership.organisation))
        .order_by(sa.func.lower(Organisation.name), Membership.id)
        .limit(500)
    )
    if user.organisation_id is not None:
        query = query.where(
            Membership.organisation_id != user.organisation_id,
            ~sa.exists().where(
                MembershipMember.membership_id == Membership.id,
                MembershipMember.organisation_id == user.organisation_id,
            ),
        )
    memberships = list(db.session.scalars(query))
    counts = counts_by_membership(m.id for m in memberships)
    mine = set(
        db.session.scalars(
            sa.select(MembershipEvaluation.membership_id)
            .join(Membership, Membership.id == MembershipEvaluation.membership_id)
            .where(
                MembershipEvaluation.evaluator_id == user.id,
                MembershipEvaluation.round == Membership.round,
                MembershipEvaluation.membership_id.in_([m.id for m in memberships]),
            )
        )
    )
    return [MembershipRow(m, counts[m.id], evaluated_by_me=m.id in mine) for m in memberships]


# --- the public list ------------------------------------------------------------------------


@dataclass(frozen=True)
class PublicMember:
    """What the public reads of a member: nothing about the people who applied or evaluated."""

    membership_id: int
    name: str
    federal_state: FederalState | None
    country: str
    counts: ProfileCounts
    services: str
    valid_until: dt.date


def in_force(today: dt.date) -> list[sa.ColumnElement[bool]]:
    """A membership in force on ``today``: granted (or being re-evaluated) and within its
    period."""
    return [
        Membership.state.in_(HELD_STATES),
        Membership.valid_from <= today,
        Membership.valid_until >= today,
    ]


def public_members(
    programme: Programme,
    *,
    today: dt.date,
    q: str = "",
    federal_state: FederalState | None = None,
    page: int = 1,
    per_page: int = PUBLIC_PER_PAGE,
) -> Page[PublicMember]:
    """The members of a membership programme in force today, by name: only granted memberships
    (never an application, a refusal, a withdrawal or an ended period). ``q`` searches the
    organisation's name and the services. Three queries at any size."""
    conditions = [Membership.programme_id == programme.id, *in_force(today)]
    if q:
        conditions.append(
            sa.or_(_contains(Organisation.name, q), _contains(Membership.services, q))
        )
    if federal_state is not None:
        conditions.append(Organisation.federal_state == federal_state)
    total = (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Membership)
            .join(Organisation, Organisation.id == Membership.organisation_id)
            .where(*conditions)
        )
        or 0
    )
    rows = db.session.execute(
        _public_columns()
        .where(*conditions)
        .order_by(sa.func.lower(Organisation.name), Membership.id)
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return Page(_public_members(rows), page=page, per_page=per_page, total=total)


def public_members_after(
    programme: Programme, *, today: dt.date, after: int | None, limit: int
) -> list[PublicMember]:
    """The same members, ordered by membership id from ``after`` on: the API's cursor pages."""
    conditions = [Membership.programme_id == programme.id, *in_force(today)]
    if after is not None:
        conditions.append(Membership.id > after)
    rows = db.session.execute(
        _public_columns().where(*conditions).order_by(Membership.id).limit(limit)
    ).all()
    return _public_members(rows)


def _public_columns() -> sa.Select[Any]:
    return sa.select(
        Membership.id,
        Organisation.name,
        Organisation.federal_state,
        Organisation.country,
        Membership.services,
        Membership.valid_until,
    ).join(Organisation, Organisation.id == Membership.organisation_id)


def _public_members(rows: Sequence[sa.Row[Any]]) -> list[PublicMember]:
    counts = counts_by_membership(row.id for row in rows)
    return [
        PublicMember(
            membership_id=row.id,
            name=row.name,
            federal_state=row.federal_state,
            country=row.country,
            counts=counts[row.id],
            services=row.services,
            valid_until=row.valid_until,
        )
        for row in rows
    ]


# --- the beat task ---------------------------------------------------------------------------


def due_for_reevaluation(*, today: dt.date, days_before: int) -> list[Membership]:
    """Granted memberships whose period ends within ``days_before`` days (or has ended)."""
    return list(
        db.session.scalars(
            sa.select(Membership)
            .where(
                Membership.state == MembershipState.GRANTED,
                Membership.valid_until <= today + dt.timedelta(days=days_before),
            )
            .options(joinedload(Membership.programme), joinedload(Membership.organisation))
            .order_by(Membership.valid_until, Membership.id)
        )
    )


# --- what the registry and the programmes read (registered in __init__) --------------------


def memberships_in_programme(programme_id: int) -> int:
    return (
        db.session.scalar(sa.select(sa.func.count()).where(Membership.programme_id == programme_id))
        or 0
    )


def member_counts_of_clusters(organisation_ids: Sequence[int]) -> dict[int, dict[str, int]]:
    """For each of ``organisation_ids`` that manages a cluster (an open membership), its member
    organisations counted by kind, distinct over its memberships: one grouped query however
    many organisations and members (the registry's list asks it for a page at a time)."""
    ids = sorted(set(organisation_ids))
    if not ids:
        return {}
    found: dict[int, dict[str, int]] = defaultdict(dict)
    for cluster_id, kind, count in db.session.execute(
        sa.select(
            Membership.organisation_id,
            Organisation.kind,
            sa.func.count(sa.distinct(MembershipMember.organisation_id)),
        )
        .join(MembershipMember, MembershipMember.membership_id == Membership.id)
        .join(Organisation, Organisation.id == MembershipMember.organisation_id)
        .where(Membership.organisation_id.in_(ids), Membership.state.in_(OPEN_STATES))
        .group_by(Membership.organisation_id, Organisation.kind)
    ):
        found[cluster_id][OrganisationKind(kind).value] = count
    return dict(found)


def applicant_memberships(user: User) -> list[Membership]:
    return list(
        db.session.scalars(
            sa.select(Membership)
            .where(Membership.applicant_id == user.id)
            .options(selectinload(Membership.programme))
        )
    )
