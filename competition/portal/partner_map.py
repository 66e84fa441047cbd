"""What the portal's map shows: funded partners per federal state, read from the database and
laid out on the outlines of the states before the page renders (its template reads no
database and computes nothing).

A funded partner is an organisation in the consortium of a grant the public sees
(``published.public_grant_condition``), counted once per grant: an organisation in two funded
consortia counts twice, as does a consortium with a concept phase and a project grant. Partners
whose names are withheld count too: the map shows only their state. Programmes that do not
publish their partners (``PublicField.PARTNERS``) are left out, since their partners' states
are not public."""

from __future__ import annotations

import datetime as dt
import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from competition.core.choropleth import Band, band_of, bands
from competition.extensions import db
from competition.grants.models import Grant
from competition.i18n import gettext as _
from competition.i18n import number
from competition.kept import kept
from competition.organisations.models import STATE_NAMES, FederalState, Organisation
from competition.portal.published import grants_mark, public_grant_condition
from competition.programmes.models import Call, Programme, PublicField
from competition.proposals.models import ConsortiumMember

OUTLINES = Path(__file__).parent / "data" / "germany-states.json"
# The city states lie inside or against larger ones: drawn last, so they stay on top.
DRAWN_LAST = (FederalState.HH, FederalState.HB, FederalState.BE)
# Room right of the map for the legend (map units; the outlines are 586 wide). Pages scale
# the picture down to about half, so its words are drawn large.
LEGEND_WIDTH = 330  # wide enough for the German heading in bold
LEGEND_ROW = 40
SWATCH = 28


@dataclass(frozen=True)
class Outlines:
    width: int
    height: int
    paths: dict[FederalState, str]


@functools.cache
def outlines() -> Outlines:
    """The states' outlines, read once per process (see data/README.md for their source)."""
    data = json.loads(OUTLINES.read_text(encoding="utf-8"))
    _, _, width, height = (int(float(v)) for v in data["viewBox"].split())
    return Outlines(
        width=width,
        height=height,
        paths={FederalState(code): path for code, path in data["states"].items()},
    )


@dataclass(frozen=True)
class StateCount:
    state: FederalState
    name: str
    count: int
    band: Band
    path: str


@dataclass(frozen=True)
class LegendRow:
    """A class of the legend: its swatch at (x, y), its words at (text_x, text_y)."""

    band: Band
    label: str
    x: int
    y: int
    text_x: int
    text_y: int


@dataclass(frozen=True)
class PartnerMap:
    """The map's states in drawing order, the same states by name for the table, the classes
    with their place in the legend, and the partners the map cannot place."""

    drawn: list[StateCount]
    by_name: list[StateCount]
    legend: list[LegendRow]
    elsewhere: int  # partners abroad or without a federal state
    total: int
    width: int
    height: int
    legend_x: int
    credit_y: int  # the outlines' source and licence, at the foot of the legend (bare SVG)
    licence_y: int
    swatch: int


@dataclass(frozen=True)
class ProgrammeChoice:
    slug: str
    name: str


def publishing_programmes() -> list[int]:
    """The programmes whose partners (with state and kind) the portal may show."""
    rows = db.session.execute(sa.select(Programme.id, Programme.public_fields)).all()
    return [pid for pid, fields in rows if PublicField.PARTNERS.value in (fields or ())]


def _in_year(year: int) -> list[sa.ColumnElement[bool]]:
    """The grant runs in calendar ``year``: it starts by its last day and ends after its first
    (``ends_on`` is the first day after the grant)."""
    return [Grant.starts_on <= dt.date(year, 12, 31), Grant.ends_on > dt.date(year, 1, 1)]


def count_partners(
    publishing: list[int], *, programme_id: int | None = None, year: int | None = None
) -> dict[FederalState | None, int]:
    """Funded partners per federal state (None: abroad or no state) of the ``publishing``
    programmes: one aggregate over every member of every public grant (tens of milliseconds
    at 20,000 grants), kept per process under the grants' mark (``published.grants_mark``)."""
    key = (grants_mark(), tuple(publishing), programme_id, year)
    return kept(
        "portal.map",
        key,
        lambda: _count_partners(publishing, programme_id=programme_id, year=year),
        size=64,
    )


def _count_partners(
    publishing: list[int], *, programme_id: int | None, year: int | None
) -> dict[FederalState | None, int]:
    where: list[Any] = [public_grant_condition(), Call.programme_id.in_(publishing)]
    if programme_id is not None:
        where.append(Call.programme_id == programme_id)
    if year is not None:
        where.extend(_in_year(year))
    rows = db.session.execute(
        sa.select(Organisation.federal_state, sa.func.count())
        .select_from(Grant)
        .join(Call, Call.id == Grant.call_id)
        .join(ConsortiumMember, ConsortiumMember.proposal_id == Grant.proposal_id)
        .join(Organisation, Organisation.id == ConsortiumMember.organisation_id)
        .where(*where)
        .group_by(Organisation.federal_state)
    ).all()
    return {state: int(count) for state, count in rows}


def partner_map(counts: dict[FederalState | None, int]) -> PartnerMap:
    """The counts laid out on the outlines: every state's class and shade, the legend."""
    shape = outlines()
    classes = bands(max((c for s, c in counts.items() if s is not None), default=0))
    states = [
        StateCount(
            state=state,
            name=str(STATE_NAMES[state]),
            count=counts.get(state, 0),
            band=band_of(counts.get(state, 0), classes),
            path=shape.paths[state],
        )
        for state in FederalState
    ]
    drawn = [s for s in states if s.state not in DRAWN_LAST] + [
        s for state in DRAWN_LAST for s in states if s.state == state
    ]
    return PartnerMap(
        drawn=drawn,
        by_name=sorted(states, key=lambda s: s.name.casefold()),
        legend=[
            _legend_row(band, shape.width + 10, 40 + i * LEGEND_ROW)
            for i, band in enumerate(classes)
        ],
        elsewhere=counts.get(None, 0),
        total=sum(counts.values()),
        width=shape.width + LEGEND_WIDTH,
        height=shape.height,
        legend_x=shape.width + 10,
        credit_y=shape.height - 34,
        licence_y=shape.height - 14,
        swatch=SWATCH,
    )


def _legend_row(band: Band, x: int, y: int) -> LegendRow:
    if band.high == 0:
        label = _("none")
    elif band.low == band.high:
        label = number(band.low, 0)
    else:
        label = _("%(low)s to %(high)s", low=number(band.low, 0), high=number(band.high, 0))
    return LegendRow(band, label, x=x, y=y, text_x=x + SWATCH + 12, text_y=y + SWATCH - 6)


def find_programme(slug: str) -> Programme | None:
    return db.session.scalar(sa.select(Programme).where(Programme.slug == slug))


def programme_choices(publishing: list[int]) -> list[ProgrammeChoice]:
    """The ``publishing`` programmes with grants the public sees, by name: the map's
    programme filter."""
    rows = db.session.execute(
        sa.select(Programme.slug, Programme.name)
        .where(
            Programme.id.in_(publishing),
            sa.exists()
            .where(Call.programme_id == Programme.id, Grant.call_id == Call.id)
            .where(public_grant_condition()),
        )
        .order_by(Programme.name)
    ).all()
    return [ProgrammeChoice(slug, name) for slug, name in rows]


def year_choices() -> list[int]:
    """The calendar years public grants run in, from the first start to the last end."""
    first, after = db.session.execute(
        sa.select(sa.func.min(Grant.starts_on), sa.func.max(Grant.ends_on)).where(
            public_grant_condition()
        )
    ).one()
    if first is None or after is None:
        return []
    last = (after - dt.timedelta(days=1)).year
    return list(range(first.year, last + 1))
