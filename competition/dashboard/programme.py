"""A programme's dashboard for its officers: per round the funnel as a chart with its table,
the money committed and left, the review progress of each stage and the next deadlines."""

from __future__ import annotations

from flask import abort, g, render_template

from competition.access import current_person, roles_required
from competition.accounts.models import Role
from competition.dashboard import queries
from competition.dashboard.charts import FunnelChart, funnel_chart
from competition.dashboard.home import bp
from competition.i18n import lazy_gettext as _l
from competition.programmes.permissions import is_programme_officer

FUNNEL_LABELS = {
    "created": _l("Proposals started"),
    "submitted": _l("Submitted"),
    "eligible": _l("Eligible after screening"),
    "finalists": _l("Finalists"),
    "winners": _l("Selected for funding"),
}

DEADLINE_LABELS = {
    queries.DeadlineKind.CLOSES: _l("Submission closes"),
    queries.DeadlineKind.REVIEWS_DUE: _l("Reviews due"),
}


def chart_of(funnel: queries.Funnel) -> FunnelChart:
    """The funnel's steps as bars; a round of one stage has no finalists' bar."""
    return funnel_chart(
        [
            (key, str(label), value)
            for key, label in FUNNEL_LABELS.items()
            if (value := getattr(funnel, key)) is not None
        ]
    )


@bp.route("/programmes/<int:programme_id>/dashboard")
@roles_required(Role.OFFICER)
def show_programme_dashboard(programme_id: int):  # type: ignore[no-untyped-def]
    programme = queries.find_programme_with_stages(programme_id)
    # Another programme's dashboard looks the same as a missing one.
    if programme is None or not is_programme_officer(current_person(), programme.id):
        abort(404)
    board = queries.programme_dashboard(programme, now=g.now)
    return render_template(
        "dashboard/programme.html",
        board=board,
        charts={round_.call.id: chart_of(round_.funnel) for round_ in board.rounds},
        deadline_labels=DEADLINE_LABELS,
    )
