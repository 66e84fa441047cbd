"""The pages' words in English and in German, so that one journey runs in both languages. The
German words come from the catalogue the app shows, and a word it has not translated fails the
test: a German page must not fall back to English."""

from __future__ import annotations

import functools
import re

from babel.messages.pofile import read_po

from tests.conftest import ROOT

LANGUAGES = ["en", "de"]
CATALOGUE = ROOT / "competition" / "translations" / "de" / "LC_MESSAGES" / "messages.po"


@functools.cache
def _german() -> dict[str, str | tuple[str, ...]]:
    with CATALOGUE.open("rb") as source:
        catalogue = read_po(source)
    return {(m.id if isinstance(m.id, str) else m.id[0]): m.string for m in catalogue if m.id}


class Words:
    """``say("Welcome, %(name)s", name=...)``: the text as a page in ``language`` shows it."""

    def __init__(self, language: str) -> None:
        self.language = language

    def __call__(self, text: str, **values: object) -> str:
        if self.language == "en":
            said = text
        else:
            translated = _german().get(text)
            assert isinstance(translated, str) and translated, f"no German for {text!r}"
            said = translated
        return said % values if values else said

    def pattern(self, text: str, **values: object) -> re.Pattern[str]:
        """The text with the values given and any value in the other placeholders, for a
        message whose values a test does not know (a proposal's new reference)."""
        said = self(text) if self.language == "en" else str(_german()[text])
        pieces = []
        for piece in re.split(r"(%\(\w+\)s)", said):
            name = piece[2:-2] if piece.startswith("%(") else None
            if name is None:
                pieces.append(re.escape(piece.replace("%%", "%")))
            else:
                pieces.append(re.escape(str(values[name])) if name in values else ".+")
        return re.compile("".join(pieces))

    def plural(self, singular: str, plural: str, n: int, **values: object) -> str:
        """As ``ngettext``: ``n`` chooses the form and fills ``%(num)d``."""
        values = {"num": n, **values}
        if self.language == "en":
            return (singular if n == 1 else plural) % values
        forms = _german().get(singular)
        assert isinstance(forms, tuple) and all(forms), f"no German for {singular!r}"
        return forms[0 if n == 1 else 1] % values

    def number(self, english: str) -> str:
        """A decimal number as the language writes it: 4.15 → 4,15."""
        return english if self.language == "en" else english.replace(".", ",")
