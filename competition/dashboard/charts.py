"""The funnel chart's layout, computed here so the template only places what it is given
(server-side SVG, no inline styles: the content security policy forbids them)."""

from __future__ import annotations

from dataclasses import dataclass

WIDTH = 640
LABEL_WIDTH = 190  # the steps' names, right-aligned before the bars
VALUE_ROOM = 70  # the number after the longest bar
BAR_HEIGHT = 24
GAP = 10
TOP = 8


@dataclass(frozen=True)
class Bar:
    key: str
    label: str
    value: int
    y: int
    width: float  # at least one pixel for any proposal, so a small step stays visible
    text_y: float  # the baseline of the label and the number, in the bar's middle
    value_x: float


@dataclass(frozen=True)
class FunnelChart:
    width: int
    height: int
    label_x: int  # the labels end here
    bar_x: int
    bar_height: int
    bars: list[Bar]


def funnel_chart(steps: list[tuple[str, str, int]]) -> FunnelChart:
    """Horizontal bars for ``(key, label, value)`` steps, all on the scale of the largest."""
    bar_x = LABEL_WIDTH + 8
    room = WIDTH - bar_x - VALUE_ROOM
    largest = max((value for _, _, value in steps), default=0)
    bars = []
    for index, (key, label, value) in enumerate(steps):
        y = TOP + index * (BAR_HEIGHT + GAP)
        width = round(room * value / largest, 1) if largest else 0.0
        if value and width < 1:
            width = 1.0
        bars.append(
            Bar(
                key=key,
                label=label,
                value=value,
                y=y,
                width=width,
                text_y=y + BAR_HEIGHT / 2,
                value_x=bar_x + width + 6,
            )
        )
    height = TOP * 2 + len(steps) * (BAR_HEIGHT + GAP) - GAP
    return FunnelChart(
        width=WIDTH,
        height=max(height, 1),
        label_x=LABEL_WIDTH,
        bar_x=bar_x,
        bar_height=BAR_HEIGHT,
        bars=bars,
    )
