"""What the core says to people, kept untranslated until it is shown.

The core must not import the translation machinery, and some of its words are stored (a job's
progress, a conflict's reason) and read later by someone of another language. So the core
returns a ``Text``: the English message id and its values (times shown in Europe/Berlin). The
web layer translates it for the reader (``competition.i18n.say``); ``str()`` gives the English,
for logs and the command line.
Mark ids with ``N_`` (or ``Nn_`` for plurals) so the catalogue finds them.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

_STORED = '{"t":'
_BERLIN = ZoneInfo("Europe/Berlin")


@dataclass(frozen=True)
class Text:
    msgid: str
    params: Mapping[str, Any] = field(default_factory=dict)
    plural: str | None = None
    count: int | None = None

    def render(self) -> str:
        """The English message with its values."""
        values = {k: english(v) for k, v in self.params.items()}
        form = self.msgid
        if self.plural is not None and self.count != 1:
            form = self.plural
        return form % values if values else form

    def __str__(self) -> str:
        return self.render()

    def dumps(self) -> str:
        """A form to store in a text column; ``load`` reads it back."""
        data: dict[str, Any] = {"t": self.msgid}
        if self.params:
            data["p"] = {k: _stored_value(v) for k, v in self.params.items()}
        if self.plural is not None:
            data["pl"] = self.plural
            data["n"] = self.count
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def N_(msgid: str, /, **params: Any) -> Text:  # noqa: N802 - the catalogue's keyword
    return Text(msgid, params)


def Nn_(singular: str, plural: str, count: int, /, **params: Any) -> Text:  # noqa: N802
    """A text with a singular and a plural; ``%(num)s`` stands for the count."""
    return Text(singular, {"num": count, **params}, plural, count)


def load(stored: str | None) -> Text:
    """A stored text; what was stored as plain English before texts were kept this way is
    read as its own message id (translated if the catalogue knows it)."""
    if stored and stored.startswith(_STORED):
        try:
            data = json.loads(stored)
            params = {k: _loaded_value(v) for k, v in data.get("p", {}).items()}
            return Text(data["t"], params, data.get("pl"), data.get("n"))
        except (ValueError, KeyError, TypeError):
            pass
    return Text(stored or "")


def english(value: Any) -> Any:
    if isinstance(value, Text):
        return value.render()
    if isinstance(value, dt.datetime):
        local = value.astimezone(_BERLIN)
        return f"{local:%d.%m.%Y %H:%M} {local.tzname()}"
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10_000:
        return f"{value:,}"
    if isinstance(value, Decimal) and value.is_finite():
        # An amount keeps its cents: 1,200,000.00 (as the reader's side does in German).
        return f"{value:,}"
    return value


def _stored_value(value: Any) -> Any:
    if isinstance(value, Text):
        return {"text": json.loads(value.dumps())}
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.datetime):
        return {"time": value.isoformat()}
    return value


def _loaded_value(value: Any) -> Any:
    if isinstance(value, dict) and "text" in value:
        return load(json.dumps(value["text"], ensure_ascii=False))
    if isinstance(value, dict) and "time" in value:
        return dt.datetime.fromisoformat(value["time"])
    return value
