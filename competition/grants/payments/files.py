"""The payment file for the ministry's payment system: one row per approved payment, written by
the selection exports' writers (CSV in UTF-8 with a byte order mark, XLSX with typed cells;
text a spreadsheet would run as a formula neutralised; times in Europe/Berlin). Headers are in
the language of the officer who makes the export; the file is stored as made, so a download
later gives the same bytes and the same SHA-256."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence

from competition.accounts.queries import names_of
from competition.berlin import BERLIN
from competition.core.payments import budget_year
from competition.grants.models import Disbursement, Grant, PaymentExport
from competition.i18n import gettext as _
from competition.selection.exports.queries import (
    CSV_MIMETYPE,
    TIME_ZONE_NOTE,
    XLSX_MIMETYPE,
    Cell,
    Column,
    Kind,
    Table,
    to_csv,
    to_xlsx,
)

FORMATS = ("csv", "xlsx")
MIMETYPES = {"csv": CSV_MIMETYPE, "xlsx": XLSX_MIMETYPE}
WRITERS = {"csv": to_csv, "xlsx": to_xlsx}


def grant_reference(grant: Grant) -> str:
    """The grant as the payment system knows it: the proposal's reference and the grant's kind
    (one grant of each kind per proposal), e.g. ``C4F-007/project``."""
    return f"{grant.proposal.reference}/{grant.kind.value}"


def payments_table(payments: Sequence[Disbursement]) -> Table:
    """The columns a payment system needs; dates as ISO text (2027-01-31), amounts as numbers."""
    names = names_of(
        {d.decided_by_id for d in payments if d.decided_by_id}
        | {d.confirmed_by_id for d in payments if d.confirmed_by_id}
    )
    columns = (
        Column(_("Payment id"), Kind.INTEGER),
        Column(_("Grant reference")),
        Column(_("Acronym")),
        Column(_("Partner organisation")),
        Column(_("Federal state")),
        Column(_("Country")),
        Column(_("Project year"), Kind.INTEGER),
        Column(_("Budget year"), Kind.INTEGER),
        Column(_("Period from")),
        Column(_("Period to")),
        Column(_("Amount (EUR)"), Kind.AMOUNT),
        Column(_("Approved by")),
        Column(_("Approved at %(zone)s", zone=TIME_ZONE_NOTE), Kind.TIME),
        Column(_("Confirmed by")),
        Column(_("Confirmed at %(zone)s", zone=TIME_ZONE_NOTE), Kind.TIME),
    )
    rows: list[tuple[Cell, ...]] = []
    for d in payments:
        organisation = d.member.organisation
        rows.append(
            (
                d.id,
                grant_reference(d.grant),
                d.grant.proposal.acronym,
                organisation.name,
                organisation.federal_state.value if organisation.federal_state else None,
                organisation.country,
                d.year,
                budget_year(d.grant.starts_on, d.year),
                d.period_from.isoformat(),
                d.period_to.isoformat(),
                d.amount,
                names.get(d.decided_by_id) if d.decided_by_id else None,
                d.decided_at,
                names.get(d.confirmed_by_id) if d.confirmed_by_id else None,
                d.confirmed_at,
            )
        )
    return Table(_("Payments"), columns, rows)


def write(payments: Sequence[Disbursement], file_format: str) -> bytes:
    return WRITERS[file_format](payments_table(payments))


def export_filename(slug: str, export: PaymentExport) -> str:
    """E.g. ``payments-clusters4future-12-2027-03-01.xlsx``: ASCII only."""
    plain = re.sub(r"[^A-Za-z0-9_]+", "-", slug).strip("-") or "programme"
    day: dt.date = export.created_at.astimezone(BERLIN).date()
    return f"payments-{plain}-{export.id}-{day.isoformat()}.{export.file_format}"
