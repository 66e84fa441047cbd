"""Reading the registry for its pages, its search endpoint and its import."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa

from competition.accounts.models import User
from competition.core.memberships import ProfileCounts
from competition.extensions import db
from competition.organisations.models import FederalState, Organisation, OrganisationKind
from competition.organisations.uses import Use, registered, uses_of
from competition.paging import Page

PER_PAGE = 50
SEARCH_LIMIT = 20


def _contains(column: sa.ColumnElement[str], q: str) -> sa.ColumnElement[bool]:
    # Escaped, so "%" or "_" in a search box match themselves.
    return sa.func.lower(column).contains(q.lower(), autoescape=True)


@dataclass(frozen=True)
class RegistryFilters:
    q: str = ""
    kind: OrganisationKind | None = None
    federal_state: FederalState | None = None
    country: str = ""
    merged: bool = False  # list the merged duplicates instead of the organisations in use


def list_organisations(filters: RegistryFilters, *, page: int) -> Page[Organisation]:
    """One page of the registry in name order, with the total."""
    conditions: list[sa.ColumnElement[bool]] = [
        Organisation.merged_into_id.is_not(None)
        if filters.merged
        else Organisation.merged_into_id.is_(None)
    ]
    if filters.q:
        conditions.append(_contains(Organisation.name, filters.q))
    if filters.kind is not None:
        conditions.append(Organisation.kind == filters.kind)
    if filters.federal_state is not None:
        conditions.append(Organisation.federal_state == filters.federal_state)
    if filters.country:
        conditions.append(Organisation.country == filters.country.upper())
    total = db.session.scalar(sa.select(sa.func.count(Organisation.id)).where(*conditions)) or 0
    rows = db.session.scalars(
        sa.select(Organisation)
        .where(*conditions)
        .order_by(sa.func.lower(Organisation.name), Organisation.id)
        .limit(PER_PAGE)
        .offset((page - 1) * PER_PAGE)
    )
    return Page(list(rows), page=page, per_page=PER_PAGE, total=total)


def countries() -> list[str]:
    return list(
        db.session.scalars(
            sa.select(Organisation.country).distinct().order_by(Organisation.country)
        )
    )


def search(q: str, *, limit: int = SEARCH_LIMIT) -> list[Organisation]:
    """Organisations in use whose name contains ``q``; names starting with it first."""
    q = " ".join(q.split())
    if len(q) < 2:
        return []
    starts = sa.case(
        (sa.func.lower(Organisation.name).startswith(q.lower(), autoescape=True), 0), else_=1
    )
    return list(
        db.session.scalars(
            sa.select(Organisation)
            .where(Organisation.merged_into_id.is_(None), _contains(Organisation.name, q))
            .order_by(starts, sa.func.lower(Organisation.name), Organisation.id)
            .limit(limit)
        )
    )


@dataclass(frozen=True)
class Detail:
    organisation: Organisation
    merged_into: Organisation | None
    merged_from: list[Organisation]
    uses: list[Use]
    # Its cluster's member organisations by kind, for a cluster management organisation.
    members: ProfileCounts | None = None


def detail(organisation: Organisation) -> Detail:
    merged_into = (
        db.session.get(Organisation, organisation.merged_into_id)
        if organisation.merged_into_id is not None
        else None
    )
    merged_from = list(
        db.session.scalars(
            sa.select(Organisation)
            .where(Organisation.merged_into_id == organisation.id)
            .order_by(Organisation.name)
        )
    )
    accounts = [
        Use("account", name, detail=email)
        for name, email in db.session.execute(
            sa.select(User.name, User.email)
            .where(User.organisation_id == organisation.id)
            .order_by(User.name)
        )
    ]
    return Detail(
        organisation,
        merged_into,
        merged_from,
        [*uses_of(organisation.id), *accounts],
        cluster_counts([organisation.id]).get(organisation.id),
    )


def in_use(ids: Iterable[int]) -> dict[int, Organisation]:
    """The organisations of ``ids`` that are not merged into another, by id."""
    wanted = list(ids)
    if not wanted:
        return {}
    return {
        o.id: o
        for o in db.session.scalars(
            sa.select(Organisation).where(
                Organisation.id.in_(wanted), Organisation.merged_into_id.is_(None)
            )
        )
    }


@dataclass(frozen=True)
class Known:
    """What the import compares a row with."""

    id: int
    name: str
    kind: OrganisationKind
    federal_state: FederalState | None
    merged_into_id: int | None


def known_by_name() -> dict[tuple[str, str], Known]:
    """Every organisation by (name in lower case, country): one query of plain rows."""
    return {
        (name.lower(), country): Known(id_, name, kind, state, merged)
        for id_, name, kind, state, country, merged in db.session.execute(
            sa.select(
                Organisation.id,
                Organisation.name,
                Organisation.kind,
                Organisation.federal_state,
                Organisation.country,
                Organisation.merged_into_id,
            )
        )
    }


def resolve(organisation: Organisation) -> Organisation:
    """The organisation a merged one was merged into (itself when it was not merged)."""
    seen = {organisation.id}
    while organisation.merged_into_id is not None:
        kept = db.session.get(Organisation, organisation.merged_into_id)
        if kept is None or kept.id in seen:
            break
        seen.add(kept.id)
        organisation = kept
    return organisation


def normalise_name(name: str) -> str:
    """A typed name as the registry compares it: inner runs of spaces as one, trimmed."""
    return " ".join(name.split())


def in_use_by_names(names: Iterable[str]) -> dict[str, list[Organisation]]:
    """Organisations in use (not merged) whose name is one of ``names``, case-insensitive, keyed
    by the name in lower case as :func:`normalise_name` gives it; id order within a name. For
    names typed in a form: a name absent from the answer is unknown, one with several rows is
    ambiguous."""
    wanted = sorted({normalise_name(n).lower() for n in names} - {""})
    if not wanted:
        return {}
    found: dict[str, list[Organisation]] = {}
    for organisation in db.session.scalars(
        sa.select(Organisation)
        .where(
            Organisation.merged_into_id.is_(None),
            sa.func.lower(Organisation.name).in_(wanted),
        )
        .order_by(Organisation.id)
    ):
        found.setdefault(organisation.name.lower(), []).append(organisation)
    return found


def cluster_counts(organisation_ids: Iterable[int]) -> dict[int, ProfileCounts]:
    """For the organisations among ``organisation_ids`` that manage a cluster, its member
    organisations counted by kind (what the memberships area registered: one grouped query
    for a page of the registry, however many members)."""
    ids = list(organisation_ids)
    if not ids:
        return {}
    by_kind: dict[int, dict[str, int]] = {}
    for reader in registered("member_counts"):
        for organisation_id, kinds in reader(ids).items():
            mine = by_kind.setdefault(organisation_id, {})
            for kind, count in kinds.items():
                mine[kind] = mine.get(kind, 0) + count
    return {i: ProfileCounts.from_kinds(kinds) for i, kinds in by_kind.items()}
