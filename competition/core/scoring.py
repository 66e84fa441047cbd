"""Scores of a review against a stage's criteria: which values a scale allows, whether a set of
scores is complete and on each criterion's grid, and the weighted total.

Plain data in, plain data out: criteria are dataclasses, scores are Decimal (or the text a juror
typed), problems are sentences keyed by the criterion's key (its id as text), so a page can show
each one beside its criterion.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Context, Decimal, localcontext

from competition.core.texts import N_, Text

# Enough digits for any scale a person sets up; no traps, so absurd input yields a value to
# report (or NaN), never an exception.
_EXACT = Context(prec=60, rounding=ROUND_HALF_UP, traps=[])
# Longer text is not a score anybody typed.
MAX_SCORE_CHARS = 20
# Digits with at most one decimal point, as people type a score; no exponents, so no typed text
# can become a number too large to print.
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
# A scale with more steps than this is a set-up mistake; a select would be unusable.
MAX_GRID_VALUES = 1000


@dataclass(frozen=True)
class Criterion:
    key: str
    name: str
    weight: Decimal
    scale_min: Decimal
    scale_max: Decimal
    step: Decimal

    def __post_init__(self) -> None:
        if not (self.step > 0 and self.scale_max > self.scale_min and self.weight > 0):
            raise ValueError(f"criterion {self.key}: the scale or weight is not usable")


def plain(value: Decimal) -> str:
    """'4.5', '4', '10': as a person writes a score (no exponent, no trailing zeros)."""
    if value == 0:
        return "0"
    return f"{value.normalize(_EXACT):f}"


def scale_words(criterion: Criterion) -> Text:
    return N_(
        "use steps of %(step)s between %(low)s and %(high)s",
        step=Decimal(plain(criterion.step)),
        low=Decimal(plain(criterion.scale_min)),
        high=Decimal(plain(criterion.scale_max)),
    )


def parse_score(text: str | Decimal | None) -> Decimal | None:
    """A typed score as Decimal; None for nothing typed or something that is not a number.

    A decimal comma is accepted ("4,5"), as German keyboards type it.
    """
    if text is None:
        return None
    if isinstance(text, Decimal):
        return text if text.is_finite() else None
    cleaned = text.strip().replace(",", ".")
    if len(cleaned) > MAX_SCORE_CHARS or not _NUMBER.fullmatch(cleaned):
        return None
    return Decimal(cleaned)


def on_grid(value: Decimal, criterion: Criterion) -> bool:
    """Within the scale and a whole number of steps above its minimum."""
    if not value.is_finite() or not criterion.scale_min <= value <= criterion.scale_max:
        return False
    with localcontext(_EXACT):
        remainder = (value - criterion.scale_min) % criterion.step
    return remainder == 0


def allowed_values(criterion: Criterion) -> list[Decimal]:
    """Every value the scale allows, lowest first (for a select or a radio group)."""
    values: list[Decimal] = []
    with localcontext(_EXACT):
        value = criterion.scale_min
        while value <= criterion.scale_max and len(values) < MAX_GRID_VALUES:
            values.append(value)
            value = value + criterion.step
    return values


def check_score(value: Decimal | None, criterion: Criterion) -> Text | None:
    """The problem with one score, in plain words (shown with ``say``); None when it is fine."""
    if value is None:
        return N_(
            "%(criterion)s: choose a score (%(scale)s).",
            criterion=criterion.name,
            scale=scale_words(criterion),
        )
    if not criterion.scale_min <= value <= criterion.scale_max:
        return N_(
            "%(criterion)s: %(value)s is outside the scale; %(scale)s.",
            criterion=criterion.name,
            value=Decimal(plain(value)),
            scale=scale_words(criterion),
        )
    if not on_grid(value, criterion):
        return N_(
            "%(criterion)s: %(scale)s.", criterion=criterion.name, scale=scale_words(criterion)
        )
    return None


def validate_scores(
    scores: Mapping[str, str | Decimal | None], criteria: Sequence[Criterion]
) -> dict[str, Text]:
    """Every criterion scored, within its scale and on its grid.

    Returns the problems keyed by criterion key, in the criteria's order; empty when all is
    well. Text that is not a number counts as not scored, with its own message. Scores for keys
    that are not among ``criteria`` are ignored.
    """
    problems: dict[str, Text] = {}
    for criterion in criteria:
        raw = scores.get(criterion.key)
        value = parse_score(raw)
        if value is None and isinstance(raw, str) and raw.strip():
            problems[criterion.key] = N_(
                "%(criterion)s: “%(typed)s” is not a number; %(scale)s.",
                criterion=criterion.name,
                typed=raw.strip()[:MAX_SCORE_CHARS],
                scale=scale_words(criterion),
            )
            continue
        problem = check_score(value, criterion)
        if problem is not None:
            problems[criterion.key] = problem
    return problems


def weighted_total(
    scores: Mapping[str, str | Decimal | None], criteria: Sequence[Criterion]
) -> Decimal:
    """The sum of weight × score over the criteria.

    Only for a complete, valid set of scores: raises ValueError otherwise (check with
    :func:`validate_scores` first).
    """
    problems = validate_scores(scores, criteria)
    if problems:
        raise ValueError("; ".join(map(str, problems.values())))
    total = Decimal(0)
    with localcontext(_EXACT):
        for criterion in criteria:
            value = parse_score(scores.get(criterion.key))
            assert value is not None
            total += criterion.weight * value
    return total
