"""The hearing timetable as iCalendar (RFC 5545): one event per slot, its times in
Europe/Berlin with TZID and the zone's definition, so calendar programmes show the Berlin
time whatever their own zone."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from icalendar import Calendar, Event

from competition.berlin import BERLIN


@dataclass(frozen=True)
class Entry:
    uid: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    summary: str
    location: str
    description: str
    url: str = ""


def ics(entries: Sequence[Entry], *, name: str, stamp: dt.datetime) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", "-//competition//hearings//DE")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", name)
    calendar.add("x-wr-timezone", "Europe/Berlin")
    for entry in entries:
        event = Event()
        event.add("uid", entry.uid)
        event.add("dtstamp", stamp.astimezone(dt.UTC))
        event.add("dtstart", entry.starts_at.astimezone(BERLIN))
        event.add("dtend", entry.ends_at.astimezone(BERLIN))
        event.add("summary", entry.summary)
        if entry.location:
            event.add("location", entry.location)
        if entry.description:
            event.add("description", entry.description)
        if entry.url:
            event.add("url", entry.url)
        calendar.add_component(event)
    calendar.add_missing_timezones()
    return calendar.to_ical()


def _location(room: str, video_url: str) -> str:
    return " · ".join(part for part in (room, video_url) if part)


def slot_entry(
    slot_id: int,
    *,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    room: str,
    video_url: str,
    stage: str,
    proposal: str | None,
    host: str,
) -> Entry:
    """One slot as an event; ``proposal`` None for a slot still free."""
    from competition.i18n import gettext as _

    summary = _("Hearing: %(proposal)s", proposal=proposal) if proposal else _("Hearing: free slot")
    return Entry(
        uid=f"hearing-slot-{slot_id}@{host}",
        starts_at=starts_at,
        ends_at=ends_at,
        summary=summary,
        location=_location(room, video_url),
        description=stage,
        url=video_url,
    )
