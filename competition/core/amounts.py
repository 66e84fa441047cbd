"""Amounts of money as people type them, in German or English: ``1.200.000,00 €`` and
``1,200,000.00 EUR`` and ``1200000`` are the same amount; anything that could be misread (``1,2
Mio.``, ``1.5`` where a German means 1,5, groups that are not of three digits) is refused with
the reason, never guessed."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from competition.core.texts import N_, Text

# Which mark separates thousands and which the cents, by the language of the form.
SEPARATORS = {"de": (".", ","), "en": (",", ".")}
_SPACES = re.compile(r"[\s\u00a0\u202f']+")
_WORDS = re.compile(r"[^\d.,+-]")


class AmountError(ValueError):
    """Why a text is not an amount, in words for the person who typed it: ``text``, shown with
    ``say``; ``str()`` gives the English."""

    def __init__(self, text: Text) -> None:
        super().__init__(str(text))
        self.text = text


def example(locale: str) -> str:
    return "1.200.000,00" if _language(locale) == "de" else "1,200,000.00"


def _language(locale: str) -> str:
    return "de" if str(locale).lower().startswith("de") else "en"


def parse_amount(text: str, locale: str = "de") -> Decimal | None:
    """The amount in ``text`` (None for an empty text); raises :class:`AmountError`. How many
    decimals an amount may have is the caller's rule (whole cents, whole euro)."""
    language = _language(locale)
    thousands, point = SEPARATORS[language]
    cleaned = _SPACES.sub("", text or "")
    for currency in ("€", "EUR", "Euro", "euro"):
        cleaned = cleaned.removesuffix(currency).removeprefix(currency)
    if not cleaned:
        return None
    if _WORDS.search(cleaned):
        raise AmountError(
            N_(
                "Write the amount in full, with digits only, like %(example)s "
                "(not in millions or with words).",
                example=example(language),
            )
        )
    whole, _, cents = cleaned.partition(point)
    if point in cents or thousands in cents:
        raise AmountError(_write_like(language))
    if thousands in whole:
        sign = whole[0] if whole[:1] in "+-" and whole[:1] else ""
        groups = whole[len(sign) :].split(thousands)
        if not (1 <= len(groups[0]) <= 3 and all(len(g) == 3 for g in groups[1:])):
            raise AmountError(
                N_(
                    "Separate thousands in groups of three, like %(example)s, "
                    "or leave the separators out.",
                    example=example(language),
                )
            )
        whole = sign + "".join(groups)
    try:
        value = Decimal(f"{whole or '0'}.{cents or '0'}")
    except InvalidOperation:
        raise AmountError(_write_like(language)) from None
    if not value.is_finite():
        raise AmountError(_write_like(language))
    return value


def _write_like(language: str) -> Text:
    return N_("Write the amount like %(example)s.", example=example(language))
