"""The classes of a choropleth map: which counts share a shade.

Counts of funded partners per federal state are small whole numbers, often zero. The first
class is always "none" (0), so a state without partners never looks like one with a few; the
rest split 1 to the largest count into at most ``CLASSES - 1`` ranges of equal width, each
range a whole number of partners, so every count falls into exactly one class and the legend
reads "1–2, 3–4, …". Each class has its shade, light to dark."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

# Light to dark: a light grey for "none", then a sequential blue. The outlines between states
# are drawn darker than any shade, so neighbours of the same class stay apart.
SHADES = ("#f2f2f2", "#c6dbef", "#6baed6", "#2171b5", "#08306b")
CLASSES = len(SHADES)


@dataclass(frozen=True)
class Band:
    """The counts from ``low`` to ``high`` (both included) and their shade."""

    low: int
    high: int
    shade: str

    def holds(self, count: int) -> bool:
        return self.low <= count <= self.high


def bands(largest: int) -> list[Band]:
    """The classes for counts from 0 to ``largest``: "none", then equal ranges of whole
    numbers up to the largest count (fewer classes when the largest count is small)."""
    largest = max(largest, 0)
    found = [Band(0, 0, SHADES[0])]
    if largest == 0:
        return found
    ranges = CLASSES - 1
    width = -(-largest // ranges)  # rounded up
    low = 1
    for shade in SHADES[1:]:
        if low > largest:
            break
        found.append(Band(low, low + width - 1, shade))
        low += width
    return found


def band_of(count: int, classes: Sequence[Band]) -> Band:
    """The class ``count`` falls into; beyond the last class, the last (the darkest)."""
    for band in classes:
        if band.holds(count):
            return band
    return classes[-1]
