"""What officers and administrators do to the registry: import a table of organisations, edit
one, merge a duplicate into the organisation to keep.

Every operation is one transaction (competition.db.operation): permission, validation (one
DomainError with every message), change, audit event.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa

from competition.accounts.models import User
from competition.audit.operations import record_event
from competition.core import registry
from competition.core.texts import N_, Text
from competition.db import operation
from competition.errors import DomainError
from competition.extensions import db
from competition.i18n import gettext as _
from competition.i18n import say
from competition.organisations import queries, uses
from competition.organisations.files import Unreadable, read_table
from competition.organisations.models import FederalState, Organisation, OrganisationKind
from competition.organisations.permissions import can_manage_registry
from competition.permissions import require

INSERT_BATCH = 2_000


def read_rows(data: bytes, *, wanted: Sequence[str]) -> tuple[registry.Header, list[list[str]]]:
    """The file's header and rows, or a ``DomainError`` at the form's ``file`` field saying why
    the file as a whole cannot be read (then nothing is written)."""
    try:
        rows = read_table(data)
    except Unreadable as error:
        raise DomainError({"file": [say(error.text)]}) from None
    header = registry.read_header(rows[0], wanted=wanted)
    problem = registry.header_problem(header)
    if problem is not None:
        raise DomainError({"file": [say(problem)]})
    if not any(not registry.is_blank(row) for row in rows[1:]):
        raise DomainError({"file": [_("The file has a header but no rows.")]})
    return header, rows


class RowOrganisations:
    """The registry's organisations that rows of a file name (a consortium's partners, a
    cluster's member organisations): each found by name and country, any case (a merged
    duplicate stands for the one kept), or, when the registry does not know it, created from
    the row's kind and federal state as the single add does. One query for all the rows' names
    (in chunks), however long the file."""

    CHUNK = 500

    def __init__(self, rows: Iterable[registry.OrganisationRow]) -> None:
        names = sorted({row.name.lower() for row in rows})
        self.known: dict[tuple[str, str], Organisation] = {}
        for start in range(0, len(names), self.CHUNK):
            chunk = names[start : start + self.CHUNK]
            for organisation in db.session.scalars(
                sa.select(Organisation).where(sa.func.lower(Organisation.name).in_(chunk))
            ):
                self.known[(organisation.name.lower(), organisation.country)] = organisation

    def find(self, row: registry.OrganisationRow) -> tuple[Organisation | None, list[Text]]:
        """The organisation the row names, or None with why it cannot be added as new (no
        reasons: it can be, with :meth:`create`)."""
        organisation = self.known.get((row.name.lower(), row.country))
        if organisation is not None:
            return queries.resolve(organisation), []
        if not row.kind:
            return None, [
                N_("Not in the registry: give the kind of organisation to add it as new.")
            ]
        if row.country == "DE" and not row.federal_state:
            return None, [N_("The federal state is missing (required for Germany).")]
        return None, []

    def create(self, row: registry.OrganisationRow, *, now: dt.datetime) -> Organisation:
        """A new organisation of the registry from a row :meth:`find` did not know."""
        organisation = Organisation(
            name=row.name,
            kind=OrganisationKind(row.kind),
            federal_state=FederalState(row.federal_state) if row.federal_state else None,
            country=row.country,
            created_at=now,
        )
        db.session.add(organisation)
        db.session.flush()
        self.known[(row.name.lower(), row.country)] = organisation
        return organisation


@dataclass(frozen=True)
class Skipped:
    row: int
    name: str
    reason: Text


@dataclass
class RowsReport:
    """What a file of organisations added to a list (a consortium's partners, a cluster's
    members): the rows read, the names added, those new to the registry, the rows refused."""

    rows: int = 0
    added: list[str] = field(default_factory=list)
    created: list[str] = field(default_factory=list)  # new to the registry
    refused: list[registry.Refused] = field(default_factory=list)


@dataclass
class ImportReport:
    rows: int = 0
    inserted: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    refused: list[registry.Refused] = field(default_factory=list)


@operation
def import_organisations(
    *, actor: User, data: bytes, update_existing: bool, now: dt.datetime
) -> ImportReport:
    """Read a CSV or XLSX table of organisations into the registry. Each row is checked on its
    own: new names are inserted (in bulk), names the registry knows (same country, any case) are
    updated when ``update_existing`` and differ, else skipped with the reason; refused rows are
    reported with their number and every reason. A file that cannot be read writes nothing.

    Side effects: organisation rows; audit ``organisations.imported`` with the counts.
    """
    require(can_manage_registry(actor))
    header, rows = read_rows(data, wanted=registry.REGISTRY_COLUMNS)
    known = queries.known_by_name()
    report = ImportReport()
    first_row: dict[tuple[str, str], int] = {}
    inserts: list[dict[str, object]] = []
    updates: list[dict[str, object]] = []
    for number, values in enumerate(rows[1:], start=2):
        if registry.is_blank(values):
            continue
        report.rows += 1
        parsed = registry.read_organisation(number, values, header)
        if isinstance(parsed, registry.Refused):
            report.refused.append(parsed)
            continue
        key = (parsed.name.lower(), parsed.country)
        if key in first_row:
            report.refused.append(
                registry.Refused(
                    number,
                    parsed.name,
                    (N_("The same organisation is already in row %(row)s.", row=first_row[key]),),
                )
            )
            continue
        first_row[key] = number
        kind = OrganisationKind(parsed.kind)
        state = FederalState(parsed.federal_state) if parsed.federal_state else None
        existing = known.get(key)
        if existing is None:
            inserts.append(
                {
                    "name": parsed.name,
                    "kind": kind,
                    "federal_state": state,
                    "country": parsed.country,
                    "created_at": now,
                }
            )
            report.inserted.append(parsed.name)
        elif existing.merged_into_id is not None:
            report.skipped.append(
                Skipped(number, parsed.name, N_("Merged into another organisation; not changed."))
            )
        elif (existing.kind, existing.federal_state) == (kind, state):
            report.unchanged += 1
        elif update_existing:
            updates.append({"id": existing.id, "kind": kind, "federal_state": state})
            report.updated.append(existing.name)
        else:
            report.skipped.append(
                Skipped(
                    number,
                    parsed.name,
                    N_("Already in the registry with another kind or federal state; not updated."),
                )
            )
    for start in range(0, len(inserts), INSERT_BATCH):
        db.session.execute(sa.insert(Organisation), inserts[start : start + INSERT_BATCH])
    if updates:
        db.session.execute(sa.update(Organisation), updates)
    record_event(
        actor=actor,
        action="organisations.imported",
        object_type="organisation",
        object_id=None,
        after={
            "rows": report.rows,
            "inserted": len(report.inserted),
            "updated": len(report.updated),
            "unchanged": report.unchanged,
            "skipped": len(report.skipped),
            "refused": len(report.refused),
        },
        now=now,
    )
    return report


@operation
def update_organisation(
    organisation: Organisation,
    *,
    actor: User,
    name: str,
    kind: str,
    federal_state: str | None,
    country: str,
    now: dt.datetime,
) -> None:
    """Correct an organisation's details. A name taken by another organisation of the same
    country is refused: that is a duplicate, to be merged.

    Side effects: the row; audit ``organisation.updated`` with before and after.
    """
    require(can_manage_registry(actor))
    errors: dict[str, list[str]] = {}
    if organisation.merged_into_id is not None:
        raise DomainError(_("This organisation was merged into another; edit that one."))
    name = " ".join(name.split())
    if not name:
        errors["name"] = [_("Enter the organisation's name.")]
    elif len(name) > registry.NAME_MAX:
        errors["name"] = [_("The name is too long.")]
    code = registry.read_country(country)
    if code is None:
        errors["country"] = [_("Enter a two-letter country code such as DE.")]
    try:
        new_kind = OrganisationKind(kind)
    except ValueError:
        errors["kind"] = [_("Choose the kind of organisation.")]
    state: FederalState | None = None
    if code == "DE":
        try:
            state = FederalState(federal_state or "")
        except ValueError:
            errors["federal_state"] = [_("Choose the federal state (required for Germany).")]
    elif federal_state:
        errors["federal_state"] = [_("Only organisations in Germany have a federal state.")]
    if name and code and "name" not in errors:
        taken = db.session.scalar(
            sa.select(Organisation.id).where(
                sa.func.lower(Organisation.name) == name.lower(),
                Organisation.country == code,
                Organisation.id != organisation.id,
            )
        )
        if taken is not None:
            errors["name"] = [
                _("Another organisation has this name. If it is the same one, merge the two.")
            ]
    if errors:
        raise DomainError(errors)
    before = _details(organisation)
    organisation.name = name
    organisation.kind = new_kind
    organisation.federal_state = state
    organisation.country = code or "DE"
    db.session.flush()
    record_event(
        actor=actor,
        action="organisation.updated",
        object_type="organisation",
        object_id=organisation.id,
        before=before,
        after=_details(organisation),
        now=now,
    )


def _details(organisation: Organisation) -> dict[str, object]:
    return {
        "name": organisation.name,
        "kind": organisation.kind.value,
        "federal_state": organisation.federal_state.value if organisation.federal_state else None,
        "country": organisation.country,
    }


def referring_columns() -> list[sa.Column[int]]:
    """Every column of the schema that refers to an organisation, except a merged duplicate's
    link to the one it was merged into."""
    found: list[sa.Column[int]] = []
    for table in db.metadata.sorted_tables:
        for foreign_key in table.foreign_keys:
            if foreign_key.column.table.name != "organisations" or foreign_key.parent.table is (
                Organisation.__table__
            ):
                continue
            found.append(foreign_key.parent)
    return found


@operation
def merge_organisations(
    merged: Organisation, *, into: Organisation, actor: User, now: dt.datetime
) -> dict[str, int]:
    """Merge a duplicate into the organisation to keep: every reference to it (consortium
    members, accounts, juror affiliations, anything with a foreign key to the registry, and
    what the areas above registered) moves to ``into``; the duplicate stays as merged
    (``merged_into_id``), so history and frozen versions still name it, and is offered no more.
    Organisations merged into the duplicate before now name ``into``. The areas above bring
    what they derive up to date (the jurors' automatic conflicts). Returns the rows moved per
    column.

    Side effects: the rows that refer to the duplicate; audit ``organisation.merged``.
    """
    require(can_manage_registry(actor))
    errors: list[str] = []
    if merged.id == into.id:
        errors.append(_("Choose another organisation to keep."))
    elif merged.merged_into_id is not None:
        errors.append(_("This organisation was merged already."))
    elif into.merged_into_id is not None:
        errors.append(_("The organisation to keep was itself merged into another; keep that one."))
    else:
        for check in uses.registered("merge_checks"):
            errors.extend(check(merged.id, into.id))
    if errors:
        raise DomainError({"into": errors})
    moved: dict[str, int] = {}
    for column in referring_columns():
        result = db.session.execute(
            sa.update(column.table).where(column == merged.id).values({column.name: into.id})
        )
        if result.rowcount:
            moved[f"{column.table.name}.{column.name}"] = result.rowcount
    db.session.execute(
        sa.update(Organisation.__table__)
        .where(Organisation.__table__.c.merged_into_id == merged.id)
        .values(merged_into_id=into.id)
    )
    db.session.execute(
        sa.update(Organisation.__table__)
        .where(Organisation.__table__.c.id == merged.id)
        .values(merged_into_id=into.id)
    )
    # The rows changed above behind the session's back: read them afresh from here on.
    db.session.expire_all()
    for after_merge in uses.registered("after_merge"):
        after_merge(merged.id, into.id, actor=actor, now=now)
    record_event(
        actor=actor,
        action="organisation.merged",
        object_type="organisation",
        object_id=merged.id,
        before={"name": merged.name},
        after={"merged_into_id": into.id, "merged_into": into.name, "moved": moved},
        now=now,
    )
    return moved
