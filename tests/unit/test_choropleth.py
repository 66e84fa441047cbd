"""The map's classes: every count from none to the largest falls into exactly one class, none
is a class of its own, and the shades darken from class to class."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from competition.core.choropleth import SHADES, band_of, bands


def test_no_partners_anywhere_is_one_class_of_none():
    assert [(b.low, b.high) for b in bands(0)] == [(0, 0)]


def test_small_counts_each_get_a_class():
    assert [(b.low, b.high) for b in bands(3)] == [(0, 0), (1, 1), (2, 2), (3, 3)]


def test_larger_counts_share_ranges_of_equal_width():
    assert [(b.low, b.high) for b in bands(10)] == [(0, 0), (1, 3), (4, 6), (7, 9), (10, 12)]


@given(st.integers(min_value=0, max_value=100_000))
def test_every_count_up_to_the_largest_is_in_exactly_one_class(largest: int):
    classes = bands(largest)
    assert classes[0].low == classes[0].high == 0
    assert len(classes) <= len(SHADES)
    assert [b.shade for b in classes] == list(SHADES[: len(classes)])
    for count in {0, min(1, largest), largest // 2, max(largest - 1, 0), largest}:
        holding = [b for b in classes if b.holds(count)]
        assert len(holding) == 1
        assert band_of(count, classes) == holding[0]
    # The classes follow one another without a gap.
    for before, after in zip(classes, classes[1:], strict=False):
        assert after.low == before.high + 1


def test_a_count_beyond_the_classes_takes_the_darkest():
    assert band_of(50, bands(4)).shade == bands(4)[-1].shade
