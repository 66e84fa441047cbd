"""Scores against criteria: completeness, the scale, the step grid and the weighted total."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from competition.core.scoring import (
    Criterion,
    allowed_values,
    check_score,
    on_grid,
    parse_score,
    plain,
    validate_scores,
    weighted_total,
)

D = Decimal


def said(problems):
    """The problems as the English reads them."""
    return {key: str(message) for key, message in problems.items()}


def criterion(key: str = "1", name: str = "Excellence", **overrides: object) -> Criterion:
    values: dict[str, object] = {
        "key": key,
        "name": name,
        "weight": D("1"),
        "scale_min": D("0"),
        "scale_max": D("5"),
        "step": D("0.5"),
    }
    values.update(overrides)
    return Criterion(**values)  # type: ignore[arg-type]


EXCELLENCE = criterion("1", "Excellence", weight=D("0.5"))
IMPACT = criterion("2", "Impact", weight=D("0.3"))
IMPLEMENTATION = criterion("3", "Implementation", weight=D("0.2"))
CRITERIA = (EXCELLENCE, IMPACT, IMPLEMENTATION)


# --- plain examples ------------------------------------------------------------------------------


def test_complete_scores_on_the_grid_have_no_problems():
    assert validate_scores({"1": "4.5", "2": "0", "3": "5"}, CRITERIA) == {}


def test_a_missing_score_is_named_with_its_scale():
    problems = validate_scores({"1": "4.5", "3": ""}, CRITERIA)

    assert said(problems) == {
        "2": "Impact: choose a score (use steps of 0.5 between 0 and 5).",
        "3": "Implementation: choose a score (use steps of 0.5 between 0 and 5).",
    }


def test_an_off_grid_score_says_which_steps_to_use():
    problems = validate_scores({"1": "4.3", "2": "4", "3": "4"}, CRITERIA)

    assert said(problems) == {"1": "Excellence: use steps of 0.5 between 0 and 5."}


@pytest.mark.parametrize("typed", ["5.5", "-0.5", "50"])
def test_a_score_outside_the_scale_is_refused(typed):
    problems = validate_scores({"1": typed, "2": "4", "3": "4"}, CRITERIA)

    assert said(problems) == {
        "1": f"Excellence: {typed} is outside the scale; use steps of 0.5 between 0 and 5."
    }


@pytest.mark.parametrize("typed", ["abc", "4.5.1", "NaN", "Infinity", "1e999999999", "4 5", "½"])
def test_text_that_is_not_a_finite_number_is_reported(typed):
    problems = validate_scores({"1": typed, "2": "4", "3": "4"}, CRITERIA)

    assert set(problems) == {"1"}
    assert str(problems["1"]).startswith("Excellence:")


def test_a_decimal_comma_and_trailing_zeros_are_accepted():
    assert parse_score("4,5") == D("4.5")
    assert validate_scores({"1": "4,50", "2": " 3 ", "3": "0.0"}, CRITERIA) == {}


def test_scores_for_unknown_criteria_are_ignored():
    assert validate_scores({"1": "1", "2": "1", "3": "1", "99": "x"}, CRITERIA) == {}


def test_allowed_values_run_from_min_to_max_in_steps():
    values = allowed_values(EXCELLENCE)

    assert [plain(v) for v in values] == [
        "0", "0.5", "1", "1.5", "2", "2.5", "3", "3.5", "4", "4.5", "5",
    ]  # fmt: skip


def test_allowed_values_stop_below_max_when_the_step_does_not_divide_the_scale():
    odd = criterion(scale_min=D("1"), scale_max=D("10"), step=D("4"))

    assert allowed_values(odd) == [D("1"), D("5"), D("9")]


def test_weighted_total_is_the_sum_of_weight_times_score():
    total = weighted_total({"1": "4.5", "2": "3", "3": "5"}, CRITERIA)

    assert total == D("0.5") * D("4.5") + D("0.3") * D("3") + D("0.2") * D("5")
    assert total == D("4.15")


def test_weighted_total_refuses_incomplete_scores():
    with pytest.raises(ValueError, match="Impact: choose a score"):
        weighted_total({"1": "4.5", "3": "5"}, CRITERIA)


def test_plain_writes_scores_as_people_do():
    assert [plain(D(v)) for v in ("4.50", "10", "0.00", "1E+1", "0.25")] == [
        "4.5", "10", "0", "10", "0.25",
    ]  # fmt: skip


def test_a_criterion_with_an_unusable_scale_is_a_programming_error():
    with pytest.raises(ValueError):
        criterion(step=D("0"))
    with pytest.raises(ValueError):
        criterion(scale_min=D("5"), scale_max=D("5"))


# --- properties -----------------------------------------------------------------------------------

# Scales as officers set them up: two decimals, positive step, max above min.
cents = st.integers(min_value=-1000, max_value=1000).map(lambda n: D(n) / 100)
steps = st.integers(min_value=1, max_value=500).map(lambda n: D(n) / 100)


@st.composite
def scales(draw):  # type: ignore[no-untyped-def]
    low = draw(cents)
    step = draw(steps)
    count = draw(st.integers(min_value=1, max_value=40))
    return criterion(scale_min=low, scale_max=low + step * count, step=step)


@given(scales(), st.data())
def test_every_grid_point_within_the_scale_is_accepted(scale, data):
    steps_up = data.draw(st.integers(min_value=0, max_value=40))
    value = scale.scale_min + scale.step * steps_up
    assume(value <= scale.scale_max)

    assert on_grid(value, scale)
    assert check_score(value, scale) is None
    assert validate_scores({scale.key: plain(value)}, [scale]) == {}


@given(scales(), st.data())
def test_a_value_between_two_grid_points_is_refused(scale, data):
    steps_up = data.draw(st.integers(min_value=0, max_value=39))
    # A fraction of a step strictly between 0 and 1, down to a thousandth of it.
    fraction = D(data.draw(st.integers(min_value=1, max_value=999))) / 1000
    value = scale.scale_min + scale.step * steps_up + scale.step * fraction
    assume(value < scale.scale_max)

    assert not on_grid(value, scale)
    assert said(validate_scores({scale.key: plain(value)}, [scale])) == {
        scale.key: f"Excellence: use steps of {plain(scale.step)} between "
        f"{plain(scale.scale_min)} and {plain(scale.scale_max)}."
    }


@given(scales(), st.integers(min_value=1, max_value=1000))
def test_values_outside_the_scale_are_refused_even_on_the_grid(scale, steps_out):
    above = scale.scale_max + scale.step * steps_out
    below = scale.scale_min - scale.step * steps_out

    for value in (above, below):
        assert not on_grid(value, scale)
        assert "outside the scale" in str(check_score(value, scale) or "")


@given(scales())
def test_allowed_values_are_exactly_the_grid(scale):
    values = allowed_values(scale)

    assert values[0] == scale.scale_min
    assert values[-1] == scale.scale_max  # the strategy builds scales that end on the grid
    assert all(on_grid(v, scale) for v in values)
    assert all(b - a == scale.step for a, b in zip(values, values[1:], strict=False))


@given(
    st.lists(st.tuples(steps, st.integers(min_value=0, max_value=10)), min_size=1, max_size=6),
)
def test_weighted_total_is_linear_in_the_scores(rows):
    criteria = [
        criterion(str(i), f"C{i}", weight=weight, scale_max=D("10"), step=D("1"))
        for i, (weight, _) in enumerate(rows)
    ]
    scores = {str(i): str(score) for i, (_, score) in enumerate(rows)}
    doubled_weights = [
        criterion(c.key, c.name, weight=c.weight * 2, scale_max=D("10"), step=D("1"))
        for c in criteria
    ]

    total = weighted_total(scores, criteria)

    assert total == sum((c.weight * D(scores[c.key]) for c in criteria), D(0))
    assert weighted_total(scores, doubled_weights) == total * 2
