"""The portal's pages for anyone: the programmes with their open calls and the money committed,
one programme with its rounds, the funded consortia (searched, filtered, paged) and each
consortium's page. Everything a page shows is read before it renders."""

from __future__ import annotations

from flask import abort, g, render_template

from competition import params
from competition.access import public
from competition.kept import kept_fragment
from competition.organisations.models import FederalState, OrganisationKind
from competition.portal import queries
from competition.portal.blueprint import bp
from competition.portal.caching import shared_cache


def read_filters() -> queries.FundedFilters:
    """The list's filters from the query string (the open data reads the same)."""
    return queries.FundedFilters(
        q=params.text("q"),
        programme=params.text("programme", length=80) or None,
        topic=params.text("topic", length=80) or None,
        federal_state=params.choice("federal_state", FederalState),
        kind=params.choice("kind", OrganisationKind),
        year=queries.calendar_year(params.number("year")),
    )


@bp.route("")
@public
@shared_cache(clock=True)
def start():  # type: ignore[no-untyped-def]
    programmes = queries.list_programmes()
    return render_template(
        "portal/start.html",
        summaries=queries.summarise(programmes, now=g.now),
    )


@bp.route("/programmes/<slug>")
@public
@shared_cache(clock=True)
def show_programme(slug: str):  # type: ignore[no-untyped-def]
    programme = queries.find_programme(slug=slug)
    if programme is None:
        abort(404)
    (summary,) = queries.summarise([programme], now=g.now)
    return render_template(
        "portal/programme.html",
        summary=summary,
        programme=programme,
        stages={call.id: queries.stages_of(call) for call in summary.rounds},
    )


# Rendered consortia of the funded list kept per process (about 1 KB each).
FUNDED_ROWS_KEPT = 2_000


@bp.route("/funded")
@public
@shared_cache
def list_funded():  # type: ignore[no-untyped-def]
    filters = read_filters()
    programmes = queries.list_programmes(with_rounds=False)
    page = queries.list_funded(filters, programmes, page=params.page())
    # Each consortium as the public sees it is the key: the same consortium shows alike in
    # every search, filter and page that finds it.
    rows = [
        kept_fragment(
            "portal_funded_rows",
            consortium,
            "portal/_funded_row.html",
            c=consortium,
            size=FUNDED_ROWS_KEPT,
        )
        for consortium in page.items
    ]
    return render_template(
        "portal/funded.html",
        filters=filters,
        choices=queries.choices(programmes),
        page=page,
        rows=rows,
        states=list(FederalState),
        kinds=list(OrganisationKind),
    )


@bp.route("/funded/<int:grant_id>")
@public
@shared_cache
def show_funded(grant_id: int):  # type: ignore[no-untyped-def]
    consortium = queries.find_funded(grant_id, queries.list_programmes(with_rounds=False))
    if consortium is None:
        abort(404)
    return render_template("portal/consortium.html", consortium=consortium)
