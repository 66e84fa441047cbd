"""The officers' proposal list as a spreadsheet: exactly the rows its filters find (every page,
not only the one shown), in its order, with its columns; CSV or XLSX, streamed, written by the
selection exports' writers (formula neutralisation, Berlin times, typed cells)."""

from __future__ import annotations

import logging

from flask import abort, g

from competition.access import current_person, roles_required
from competition.accounts.models import Role
from competition.berlin import BERLIN
from competition.dashboard.home import bp
from competition.downloads import download
from competition.i18n import gettext as _
from competition.proposals.queries import ProposalRow, all_proposals_for_officer
from competition.proposals.views import read_list_query
from competition.selection.exports.queries import (
    CSV_MIMETYPE,
    TIME_ZONE_NOTE,
    XLSX_MIMETYPE,
    Cell,
    Column,
    Kind,
    Table,
    csv_chunks,
    xlsx_chunks,
)

log = logging.getLogger(__name__)

WRITERS = {"csv": (csv_chunks, CSV_MIMETYPE), "xlsx": (xlsx_chunks, XLSX_MIMETYPE)}


def proposals_table(rows: list[ProposalRow]) -> Table:
    """The list's columns, headed in the reader's language; amounts in euro as numbers."""
    columns = (
        Column(_("Reference")),
        Column(_("Acronym")),
        Column(_("Title")),
        Column(_("Coordinator")),
        Column(_("Coordinator's federal state")),
        Column(_("Partners"), Kind.INTEGER),
        Column(_("Topics")),
        Column(_("State")),
        Column(_("Requested funding (EUR)"), Kind.AMOUNT),
        Column(_("Submitted at %(zone)s", zone=TIME_ZONE_NOTE), Kind.TIME),
    )
    cells: list[tuple[Cell, ...]] = [
        (
            row.reference,
            row.acronym,
            row.title,
            row.coordinator,
            row.coordinator_state.label if row.coordinator_state else None,
            row.partners,
            ", ".join(row.topics),
            row.state.label,
            row.requested,
            row.submitted_at,
        )
        for row in rows
    ]
    return Table(_("Proposals"), columns, cells)


@bp.route("/proposals/export.<fmt>")
@roles_required(Role.OFFICER)
def export_proposals(fmt: str):  # type: ignore[no-untyped-def]
    if fmt not in WRITERS:
        abort(404)
    officer = current_person()
    filters, order, _args = read_list_query()
    # Only the officer's own programmes: the list's query knows no other proposals.
    rows = all_proposals_for_officer(officer, filters, order=order, now=g.now)
    write, mimetype = WRITERS[fmt]
    name = f"proposals-{g.now.astimezone(BERLIN).date().isoformat()}.{fmt}"
    log.info("proposal list export %s of %d rows by user %s", fmt, len(rows), officer.id)
    return download(write(proposals_table(rows)), filename=name, mimetype=mimetype, private=True)
