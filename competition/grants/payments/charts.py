"""The money view's chart laid out here, so the template only places what it is given
(server-side SVG, no inline styles: the content security policy forbids them). Per budget year
two bars on one scale: committed, and paid of it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from competition.core.payments import Money

WIDTH = 640
LABEL_WIDTH = 60  # the year, right-aligned before its bars
VALUE_ROOM = 150  # the amount after the longest bar
BAR_HEIGHT = 14
YEAR_GAP = 12
TOP = 8


@dataclass(frozen=True)
class YearBars:
    year: int
    committed: Decimal
    paid: Decimal
    y: int
    paid_y: int
    committed_width: float
    paid_width: float
    label_y: float  # the year's label, between its two bars
    committed_text_y: float
    paid_text_y: float
    committed_value_x: float
    paid_value_x: float


@dataclass(frozen=True)
class YearsChart:
    width: int
    height: int
    label_x: int
    bar_x: int
    bar_height: int
    years: list[YearBars]


def _width(value: Decimal, largest: Decimal, room: int) -> float:
    if largest <= 0 or value <= 0:
        return 0.0
    return max(round(float(room * value / largest), 1), 1.0)


def years_chart(years: Sequence[tuple[int, Money]]) -> YearsChart:
    bar_x = LABEL_WIDTH + 8
    room = WIDTH - bar_x - VALUE_ROOM
    largest = max((max(m.committed, m.paid) for _, m in years), default=Decimal(0))
    rows = []
    for index, (year, money) in enumerate(years):
        y = TOP + index * (2 * BAR_HEIGHT + YEAR_GAP)
        committed = _width(money.committed, largest, room)
        paid = _width(money.paid, largest, room)
        rows.append(
            YearBars(
                year=year,
                committed=money.committed,
                paid=money.paid,
                y=y,
                paid_y=y + BAR_HEIGHT,
                committed_width=committed,
                paid_width=paid,
                label_y=y + BAR_HEIGHT,
                committed_text_y=y + BAR_HEIGHT / 2,
                paid_text_y=y + BAR_HEIGHT * 1.5,
                committed_value_x=bar_x + committed + 6,
                paid_value_x=bar_x + paid + 6,
            )
        )
    height = TOP * 2 + len(years) * (2 * BAR_HEIGHT + YEAR_GAP) - YEAR_GAP
    return YearsChart(
        width=WIDTH,
        height=max(height, 1),
        label_x=LABEL_WIDTH,
        bar_x=bar_x,
        bar_height=BAR_HEIGHT,
        years=rows,
    )
