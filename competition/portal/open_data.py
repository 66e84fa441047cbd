"""The funded consortia as open data: CSV and JSON with the list's filters (every row, not
paged, streamed a batch at a time with an ETag known before the first byte), and the page
that documents each field."""

from __future__ import annotations

from typing import Any

from flask import Response, render_template, stream_with_context, url_for

from competition.access import public
from competition.downloads import download
from competition.portal import queries, records
from competition.portal.blueprint import bp
from competition.portal.caching import shared_cache, streamed
from competition.portal.page_cache import published_mark
from competition.portal.pages import read_filters
from competition.programmes.models import PublicField


def _streamed(kind: str, write: Any, mimetype: str) -> Response:
    """The open data of the list's filters as ``funded.<kind>``, streamed: the first bytes
    leave before the last consortium is read, and a worker holds one batch at a time."""
    filters = read_filters()
    programmes = queries.list_programmes(with_rounds=False)

    def make() -> Response:
        count, batches = queries.funded_batches(filters, programmes)
        return download(
            stream_with_context(write(count, batches)),
            filename=f"funded.{kind}",
            mimetype=mimetype,
            inline=kind == "json",
        )

    tag_of = (
        "open-data-1",
        kind,
        sorted(filters.query_args().items()),
        records.pages_base(),
        published_mark(),
    )
    return streamed(tag_of, make)


@bp.route("/funded.csv")
@public
def funded_csv():  # type: ignore[no-untyped-def]
    return _streamed(
        "csv", lambda count, batches: records.csv_chunks(batches), "text/csv; charset=utf-8"
    )


@bp.route("/funded.json")
@public
def funded_json():  # type: ignore[no-untyped-def]
    return _streamed("json", records.json_chunks, "application/json")


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
