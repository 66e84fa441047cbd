"""Time as people in Germany read it: every stored time is UTC, every shown time Europe/Berlin."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

BERLIN = ZoneInfo("Europe/Berlin")


def berlin_time(value: dt.datetime | None, fmt: str = "%d.%m.%Y %H:%M") -> str:
    """Every time a person reads is shown in Europe/Berlin, with the zone named."""
    if value is None:
        return "–"
    local = value.astimezone(BERLIN)
    return f"{local.strftime(fmt)} {local.tzname()}"


def berlin_to_utc(local: dt.datetime) -> dt.datetime:
    """A wall-clock time a person entered in Europe/Berlin, as aware UTC."""
    return local.replace(tzinfo=BERLIN).astimezone(dt.UTC)


def utc_to_berlin_input(value: dt.datetime) -> dt.datetime:
    """For a datetime-local input: the Berlin wall-clock time, without zone."""
    return value.astimezone(BERLIN).replace(tzinfo=None)


def iso_berlin(value: str | None) -> str:
    """An ISO timestamp kept in an e-mail's context, shown in Europe/Berlin."""
    return berlin_time(dt.datetime.fromisoformat(value), "%d.%m.%Y %H:%M:%S") if value else "–"
