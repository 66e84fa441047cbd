"""Pieces the core's messages share: amounts, shares and lists of names, kept as values so
that each reader sees them written their way (``1.200.000,00 €`` or ``1,200,000.00 EUR``)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Context, Decimal, localcontext

from competition.core.texts import N_, Text

_EXACT = Context(prec=80, rounding=ROUND_HALF_UP, traps=[])
_CENT = Decimal("0.01")


def money(value: Decimal) -> Text:
    """An amount in euros with its cents, rounded half up."""
    if not value.is_finite():
        return N_("%(amount)s EUR", amount=str(value))
    with localcontext(_EXACT):
        cents = value.quantize(_CENT)
    if cents.is_zero():
        cents = abs(cents)  # never "-0.00"
    return N_("%(amount)s EUR", amount=cents)


def percent(value: Decimal | str) -> Text:
    """A percentage already rounded as it should be shown (``Decimal("84.6")``)."""
    return N_("%(percent)s %%", percent=value)


def joined(items: Sequence[Text | str]) -> Text | str:
    """Names in a list, each translated on its own: ``Bavaria, Saxony, Thuringia``."""
    if not items:
        return ""
    result: Text | str = items[0]
    for item in items[1:]:
        result = N_("%(list)s, %(item)s", list=result, item=item)
    return result
