"""Time as people in Germany read it: every stored time is UTC, every shown time Europe/Berlin."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

BERLIN = ZoneInfo("Europe/Berlin")
# The zone as German readers name it: Mitteleuropäische (Sommer-)Zeit.
GERMAN_ZONE_NAMES = {"CET": "MEZ", "CEST": "MESZ"}


def berlin_time(
    value: dt.datetime | None, fmt: str = "%d.%m.%Y %H:%M", *, german: bool = False
) -> str:
    """Every time a person reads is shown in Europe/Berlin, with the zone named."""
    if value is None:
        return "–"
    local = value.astimezone(BERLIN)
    zone = local.tzname() or ""
    return f"{local.strftime(fmt)} {GERMAN_ZONE_NAMES.get(zone, zone) if german else zone}"


def berlin_to_utc(local: dt.datetime) -> dt.datetime:
    """A wall-clock time a person entered in Europe/Berlin, as aware UTC."""
    return local.replace(tzinfo=BERLIN).astimezone(dt.UTC)


def utc_to_berlin_input(value: dt.datetime) -> dt.datetime:
    """For a datetime-local input: the Berlin wall-clock time, without zone."""
    return value.astimezone(BERLIN).replace(tzinfo=None)


def iso_berlin(value: str | None, fmt: str = "%d.%m.%Y %H:%M:%S", *, german: bool = False) -> str:
    """An ISO timestamp kept in an e-mail's context, shown in Europe/Berlin (to the second by
    default, as a receipt or a deadline; an appointment passes ``"%d.%m.%Y %H:%M"``)."""
    if not value:
        return "–"
    return berlin_time(dt.datetime.fromisoformat(value), fmt, german=german)
