"""The funded consortia as open data: one record per consortium, the same for the JSON file and
the public API, and one CSV row per consortium; and the description of every field that the
open-data page shows.

Machine-readable throughout: codes rather than labels (``DE-SN``, ``university``,
``running``), amounts as plain decimals with a dot and two places (``1234567.00``), dates as
ISO 8601 (``2027-01-01``). A field the consortium's programme does not declare public is null
in JSON and empty in CSV; a partner whose name is withheld has the name null (JSON) or
``(name withheld)`` (CSV), and its federal state and kind as for every partner.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from flask import url_for

from competition.i18n import lazy_gettext as _l
from competition.portal.queries import FundedConsortium, PublicPartner
from competition.selection.exports.queries import Column, Kind, rows_csv_chunks

# Project years a grant can have (``GrantAmount.year`` is 1 to 9).
YEARS = range(1, 10)
WITHHELD = "(name withheld)"
LIST_SEPARATOR = "; "


def partner_record(partner: PublicPartner, *, with_role: bool) -> dict[str, Any]:
    record: dict[str, Any] = {
        "name": partner.name,
        "name_withheld": partner.name_withheld,
        "federal_state": partner.federal_state.value if partner.federal_state else None,
        "country": partner.country,
        "kind": partner.kind.value,
    }
    if with_role:
        record["role"] = partner.role.value
    return record


def page_address(grant_id: int, base: str | None = None) -> str:
    """The consortium's page; ``base`` (``pages_base()``) saves building it row by row."""
    return f"{base or pages_base()}/{grant_id}"


def pages_base() -> str:
    return url_for("portal.list_funded", _external=True)


def record(consortium: FundedConsortium, *, base: str | None = None) -> dict[str, Any]:
    """The consortium as the JSON file and the API give it (Decimals and dates as objects; the
    JSON file writes them as text, the API through its schema)."""
    c = consortium
    funding = None
    if c.funding is not None:
        funding = {
            "total": c.funding.total,
            "years": [
                {"year": y.year, "phase": y.phase, "amount": y.amount} for y in c.funding.years
            ],
            "phases": [
                {
                    "number": p.number,
                    "first_year": p.first_year,
                    "last_year": p.last_year,
                    "amount": p.amount,
                }
                for p in c.funding.phases
            ],
        }
    return {
        "id": c.grant_id,
        "url": page_address(c.grant_id, base),
        "programme": c.programme_slug,
        "programme_name": c.programme_name,
        "call_id": c.call_id,
        "call": c.call_name,
        "kind": c.kind.value,
        "title": c.title,
        "acronym": c.acronym,
        "summary": c.summary,
        "coordinator": partner_record(c.coordinator, with_role=False)
        if c.coordinator is not None
        else None,
        "partners": [partner_record(p, with_role=True) for p in c.partners]
        if c.partners is not None
        else None,
        "topics": [{"slug": t.slug, "name_en": t.name_en, "name_de": t.name_de} for t in c.topics]
        if c.topics is not None
        else None,
        "funding": funding,
        "starts_on": c.starts_on,
        "ends_on": c.ends_on,
        "state": c.state.value if c.state is not None else None,
    }


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dt.date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not open data")


def json_chunks(count: int, batches: Iterable[Sequence[FundedConsortium]]) -> Iterator[bytes]:
    """``{"count": n, "items": [record, …]}`` in UTF-8, one piece per batch: the same bytes as
    ``json.dumps`` of the whole (its separators, no indentation)."""
    base = pages_base()
    yield f'{{"count": {count}, "items": ['.encode()
    separator = ""
    for batch in batches:
        if not batch:
            continue
        # A batch at once: the C encoder writes a list of records several times faster than
        # record by record, and the server sends a few large pieces instead of 20,000 small.
        text = json.dumps([record(c, base=base) for c in batch], ensure_ascii=False, default=_plain)
        yield (separator + text[1:-1]).encode("utf-8")
        separator = ", "
    yield b"]}"


# --- CSV: one row per consortium ----------------------------------------------------------------


CSV_COLUMNS = (
    "id",
    "url",
    "programme",
    "programme_name",
    "call_id",
    "call",
    "kind",
    "title",
    "acronym",
    "summary",
    "coordinator",
    "coordinator_federal_state",
    "coordinator_country",
    "coordinator_kind",
    "partners",
    "partner_federal_states",
    "partner_kinds",
    "topics",
    "funding_total",
    *(f"funding_year_{year}" for year in YEARS),
    "phases",
    "starts_on",
    "ends_on",
    "state",
)


def _name(partner: PublicPartner) -> str:
    return partner.name if partner.name is not None else WITHHELD


def csv_row(consortium: FundedConsortium, base: str) -> tuple[Any, ...]:
    c = consortium
    coordinator = c.coordinator
    partners = c.partners
    funding = c.funding
    by_year = {y.year: y.amount for y in funding.years} if funding is not None else {}
    return (
        c.grant_id,
        page_address(c.grant_id, base),
        c.programme_slug,
        c.programme_name,
        c.call_id,
        c.call_name,
        c.kind.value,
        c.title,
        c.acronym,
        c.summary,
        _name(coordinator) if coordinator else None,
        coordinator.federal_state.value if coordinator and coordinator.federal_state else None,
        coordinator.country if coordinator else None,
        coordinator.kind.value if coordinator else None,
        LIST_SEPARATOR.join(_name(p) for p in partners) if partners is not None else None,
        LIST_SEPARATOR.join(p.federal_state.value if p.federal_state else "" for p in partners)
        if partners is not None
        else None,
        LIST_SEPARATOR.join(p.kind.value for p in partners) if partners is not None else None,
        LIST_SEPARATOR.join(t.slug for t in c.topics) if c.topics is not None else None,
        funding.total if funding is not None else None,
        *(by_year.get(year) for year in YEARS),
        LIST_SEPARATOR.join(f"{p.number}:{p.first_year}-{p.last_year}" for p in funding.phases)
        if funding is not None
        else None,
        c.starts_on.isoformat() if c.starts_on else None,
        c.ends_on.isoformat() if c.ends_on else None,
        c.state.value if c.state is not None else None,
    )


def csv_chunks(batches: Iterable[Sequence[FundedConsortium]]) -> Iterator[bytes]:
    """UTF-8 with a byte order mark (spreadsheets read the umlauts), comma-separated, a header
    row of the field names; text a spreadsheet would run as a formula is quoted with ``'``.
    Written a batch at a time."""
    base = pages_base()
    yield from rows_csv_chunks(
        tuple(Column(name, Kind.TEXT) for name in CSV_COLUMNS),
        (csv_row(c, base) for batch in batches for c in batch),
    )


# --- the fields, for the open-data page ---------------------------------------------------------


@dataclass(frozen=True)
class FieldDoc:
    name: str
    meaning: Any  # lazy text, read in the page's language
    type: Any
    example: str
    # Where a programme may keep the field private: the PublicField that declares it.
    declared_by: str | None = None


TEXT, NUMBER, DECIMAL, DATE, CODE = (
    _l("text"),
    _l("whole number"),
    _l("decimal with a dot, two places"),
    _l("date, ISO 8601"),
    _l("code"),
)

FIELDS = (
    FieldDoc(
        "id", _l("The consortium's stable number; its page is /portal/funded/<id>."), NUMBER, "42"
    ),
    FieldDoc(
        "url",
        _l("The address of the consortium's page on the portal."),
        TEXT,
        "https://example.org/portal/funded/42",
    ),
    FieldDoc("programme", _l("The programme's address name."), CODE, "clusters4future"),
    FieldDoc("programme_name", _l("The programme's name."), TEXT, "Clusters4Future"),
    FieldDoc(
        "call_id",
        _l(
            "The number of the round (call) the consortium was selected in; its page is "
            "/calls/<call_id>."
        ),
        NUMBER,
        "7",
    ),
    FieldDoc("call", _l("The name of the round (call)."), TEXT, "Clusters4Future – Round 1"),
    FieldDoc(
        "kind",
        _l(
            "What is funded: project (the consortium's project, in phases) or concept (a "
            "finalist's funded concept phase)."
        ),
        CODE,
        "project",
    ),
    FieldDoc("title", _l("The consortium's title."), TEXT, "Hydrogen for the Lausitz"),
    FieldDoc("acronym", _l("The consortium's acronym."), TEXT, "H2LAUSITZ"),
    FieldDoc(
        "summary",
        _l("The summary (abstract) of the consortium's proposal."),
        TEXT,
        "The cluster brings …",
        "summary",
    ),
    FieldDoc(
        "coordinator",
        _l(
            "The coordinating organisation: its name (empty where withheld), federal state, "
            "country and kind. JSON: an object with name, name_withheld, federal_state, country "
            "and kind; CSV: the columns coordinator, coordinator_federal_state, "
            "coordinator_country and coordinator_kind."
        ),
        TEXT,
        "Technische Universität Dresden",
        "coordinator",
    ),
    FieldDoc(
        "coordinator_federal_state",
        _l("CSV only: the coordinator's federal state (ISO 3166-2)."),
        CODE,
        "DE-SN",
        "coordinator",
    ),
    FieldDoc(
        "coordinator_country",
        _l("CSV only: the coordinator's country (ISO 3166-1)."),
        CODE,
        "DE",
        "coordinator",
    ),
    FieldDoc(
        "coordinator_kind",
        _l(
            "CSV only: the coordinator's kind of organisation (university, research_institute, "
            "large_enterprise, sme, start_up, society)."
        ),
        CODE,
        "university",
        "coordinator",
    ),
    FieldDoc(
        "partners",
        _l(
            "The other members of the consortium with role, federal state, country and kind; a "
            "partner whose name is withheld has no name. JSON: a list of objects like the "
            "coordinator's, with role; CSV: names, federal states and kinds in the same order in "
            "three columns, separated by a semicolon."
        ),
        TEXT,
        "Fraunhofer IWS; (name withheld)",
        "partners",
    ),
    FieldDoc(
        "partner_federal_states",
        _l("CSV only: the partners' federal states (ISO 3166-2), in the order of partners."),
        CODE,
        "DE-SN; DE-BB",
        "partners",
    ),
    FieldDoc(
        "partner_kinds",
        _l(
            "CSV only: the partners' kinds (university, research_institute, large_enterprise, "
            "sme, start_up, society), in the order of partners."
        ),
        CODE,
        "research_institute; sme",
        "partners",
    ),
    FieldDoc(
        "topics",
        _l(
            "The topics the consortium works on. JSON: objects with slug, name_en and name_de; "
            "CSV: the slugs separated by a semicolon."
        ),
        CODE,
        "energy; hydrogen",
        "topics",
    ),
    FieldDoc(
        "funding",
        _l(
            "JSON only: the public funding as an object with total, years (per project year: "
            "year, phase, amount) and phases (number, first_year, last_year, amount); in CSV "
            "the columns funding_total, funding_year_1 to funding_year_9 and phases."
        ),
        TEXT,
        '{"total": "9000000.00", …}',
        "funding",
    ),
    FieldDoc(
        "funding_total",
        _l(
            "The public funding of all partners together, in euro: every approved year, of a "
            "grant that has ended only the years of its released phases. JSON: funding.total."
        ),
        DECIMAL,
        "9000000.00",
        "funding",
    ),
    FieldDoc(
        "funding_year_1 … funding_year_9",
        _l(
            "The public funding per project year (year 1 = the first twelve months from the "
            "start), in euro. JSON: funding.years, a list of objects with year, phase and amount."
        ),
        DECIMAL,
        "3000000.00",
        "funding",
    ),
    FieldDoc(
        "phases",
        _l(
            "The funding phases with their project years. JSON: funding.phases, objects with "
            "number, first_year, last_year and amount; CSV: number:first year-last year, "
            "separated by a semicolon."
        ),
        TEXT,
        "1:1-3; 2:4-6",
        "funding",
    ),
    FieldDoc("starts_on", _l("The first day of the grant."), DATE, "2027-01-01", "period"),
    FieldDoc(
        "ends_on",
        _l(
            "The day the grant ends: the first day without funding (three years from 2027-01-01 "
            "end on 2030-01-01)."
        ),
        DATE,
        "2030-01-01",
        "period",
    ),
    FieldDoc(
        "state",
        _l(
            "The grant's state: accepted, running, in_evaluation (interim evaluation), "
            "ended_early or closed."
        ),
        CODE,
        "running",
        "state",
    ),
)
