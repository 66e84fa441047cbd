"""The map of funded partners: Germany's federal states shaded by how many partners of funded
consortia each holds, with the same numbers as a table (the map's text alternative), filtered
by programme and by the calendar year the grants run in. ``/portal/map.svg`` is the bare map,
for other sites to show. Drawn on the server from the outlines in ``data/``: no tiles, no
script, nothing from another host."""

from __future__ import annotations

from flask import Response, abort, render_template, url_for

from competition import params
from competition.access import public
from competition.portal import partner_map
from competition.portal.blueprint import bp
from competition.portal.caching import shared_cache
from competition.programmes.models import Programme

# Years the filter takes; anything else is read as no year at all.
FIRST_YEAR, LAST_YEAR = 1990, 2100


def _filters() -> tuple[Programme | None, int | None]:
    """The programme (by its slug; an unknown one is a missing page) and the year asked for."""
    slug = params.text("programme", length=80)
    programme = partner_map.find_programme(slug) if slug else None
    if slug and programme is None:
        abort(404)
    year = params.number("year")
    if year is not None and not FIRST_YEAR <= year <= LAST_YEAR:
        year = None
    return programme, year


def _counted(
    publishing: list[int], programme: Programme | None, year: int | None
) -> partner_map.PartnerMap:
    counts = partner_map.count_partners(
        publishing, programme_id=programme.id if programme else None, year=year
    )
    return partner_map.partner_map(counts)


def _query(programme: Programme | None, year: int | None) -> dict[str, str | int]:
    found: dict[str, str | int] = {}
    if programme is not None:
        found["programme"] = programme.slug
    if year is not None:
        found["year"] = year
    return found


@bp.route("/map")
@public
@shared_cache
def show_map():  # type: ignore[no-untyped-def]
    programme, year = _filters()
    publishing = partner_map.publishing_programmes()
    return render_template(
        "portal/map.html",
        map=_counted(publishing, programme, year),
        programme=programme,
        year=year,
        programmes=partner_map.programme_choices(publishing),
        years=partner_map.year_choices(),
        svg_url=url_for("portal.map_svg", **_query(programme, year)),
        standalone=False,
    )


@bp.route("/map.svg")
@public
@shared_cache
def map_svg():  # type: ignore[no-untyped-def]
    programme, year = _filters()
    body = render_template(
        "portal/map.svg.html",
        map=_counted(partner_map.publishing_programmes(), programme, year),
        programme=programme,
        year=year,
        standalone=True,
    )
    return Response(body, mimetype="image/svg+xml")
