"""Downloads of a stage's ranking, reviews and decisions as CSV or XLSX, for the programme's
officers only: the reviews name their jurors."""

from __future__ import annotations

import logging

from flask import abort, g, render_template

from competition.access import roles_required
from competition.accounts.models import Role
from competition.berlin import BERLIN
from competition.downloads import download
from competition.i18n import gettext as _
from competition.selection.blueprint import bp, me, officer_stage
from competition.selection.exports import queries as exports_queries
from competition.selection.permissions import can_export
from competition.selection.ranking.queries import latest_done

log = logging.getLogger(__name__)

WRITERS = {
    "csv": (exports_queries.csv_chunks, exports_queries.CSV_MIMETYPE),
    "xlsx": (exports_queries.xlsx_chunks, exports_queries.XLSX_MIMETYPE),
}


@bp.route("/calls/<int:call_id>/stages/<int:stage_id>/selection/exports/<what>.<fmt>")
@roles_required(Role.OFFICER)
def export(call_id: int, stage_id: int, what: str, fmt: str):  # type: ignore[no-untyped-def]
    call, stage = officer_stage(call_id, stage_id)
    if what not in exports_queries.WHATS or fmt not in WRITERS:
        abort(404)
    if not can_export(me(), stage):
        abort(403)
    if what == "rankings":
        ranking = latest_done(stage)
        if ranking is None:
            # The address is right, there is just nothing to export yet: say so.
            return render_template(
                "errors/error.html",
                status=409,
                title=_("No ranking yet"),
                text=_(
                    "%(stage)s has no finished ranking yet. Compute a ranking on the "
                    "selection page first, then download it.",
                    stage=stage.name,
                ),
            ), 409
        table = exports_queries.rankings_table(stage, ranking)
    elif what == "reviews":
        table = exports_queries.reviews_table(stage)
    else:
        table = exports_queries.decisions_table(stage)
    write, mimetype = WRITERS[fmt]
    name = exports_queries.export_filename(call, stage, what, fmt, g.now.astimezone(BERLIN).date())
    log.info("export %s.%s of stage %s by user %s", what, fmt, stage.id, me().id)
    return download(write(table), filename=name, mimetype=mimetype)
