"""The funded consortia as open data: CSV and JSON with the list's filters (every row, not
paged), and the page that documents each field."""

from __future__ import annotations

from flask import render_template, url_for

from competition.access import public
from competition.downloads import download
from competition.portal import queries, records
from competition.portal.blueprint import bp
from competition.portal.caching import shared_cache
from competition.portal.pages import read_filters
from competition.programmes.models import PublicField


@bp.route("/funded.csv")
@public
@shared_cache
def funded_csv():  # type: ignore[no-untyped-def]
    consortia = queries.all_funded(read_filters(), queries.list_programmes(with_rounds=False))
    return download(
        records.to_csv_bytes(consortia), filename="funded.csv", mimetype="text/csv; charset=utf-8"
    )


@bp.route("/funded.json")
@public
@shared_cache
def funded_json():  # type: ignore[no-untyped-def]
    consortia = queries.all_funded(read_filters(), queries.list_programmes(with_rounds=False))
    return download(
        records.to_json(consortia),
        filename="funded.json",
        mimetype="application/json",
        inline=True,
    )


@bp.route("/open-data")
@public
@shared_cache
def open_data():  # type: ignore[no-untyped-def]
    return render_template(
        "portal/open_data.html",
        fields=records.FIELDS,
        public_fields=list(PublicField),
        public_field_labels={f.value: f.label for f in PublicField},
        csv_url=url_for(".funded_csv"),
        json_url=url_for(".funded_json"),
        withheld=records.WITHHELD,
    )
