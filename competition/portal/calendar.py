"""The deadlines of published calls as an iCalendar feed (RFC 5545) that calendar programmes
subscribe to: each stage's opening and closing as an event of its own, with a UID that stays
the same from one fetch to the next (``stage-<id>-closes@<host>``), so a moved deadline moves
the event instead of adding one. Times in Europe/Berlin with TZID and the zone's definition, as
the hearing timetable gives them; summaries in the request's language."""

from __future__ import annotations

import datetime as dt

from flask import Response, abort, g, request, url_for
from icalendar import Calendar, Event

from competition import params
from competition.access import public
from competition.berlin import BERLIN
from competition.downloads import content_disposition
from competition.i18n import gettext as _
from competition.portal import deadlines
from competition.portal.blueprint import bp
from competition.portal.caching import kept_page
from competition.portal.partner_map import find_programme
from competition.programmes.models import Stage

# Subscribers fetch it again and again; a quarter of an hour old is new enough for deadlines.
CACHE_CONTROL = "public, max-age=900"


def _event(uid: str, at: dt.datetime, summary: str, stage: Stage, url: str) -> Event:
    event = Event()
    event.add("uid", uid)
    event.add("dtstamp", g.now.astimezone(dt.UTC))
    event.add("dtstart", at.astimezone(BERLIN))
    event.add("summary", summary)
    event.add("description", f"{stage.call.programme.name} · {stage.call.name}\n{url}")
    event.add("url", url)
    return event


def feed(stages: list[Stage], *, name: str, host: str) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", "-//competition//portal deadlines//DE")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", name)
    calendar.add("x-wr-timezone", "Europe/Berlin")
    for stage in stages:
        named = {
            "stage": stage.name,
            "call": stage.call.name,
            "programme": stage.call.programme.name,
        }
        url = url_for("proposals.show_call", call_id=stage.call_id, _external=True)
        calendar.add_component(
            _event(
                f"stage-{stage.id}-opens@{host}",
                stage.opens_at,
                _("Opens: %(stage)s, %(call)s (%(programme)s)", **named),
                stage,
                url,
            )
        )
        calendar.add_component(
            _event(
                f"stage-{stage.id}-closes@{host}",
                stage.closes_at,
                _("Deadline: %(stage)s, %(call)s (%(programme)s)", **named),
                stage,
                url,
            )
        )
    calendar.add_missing_timezones()
    return calendar.to_ical()


@bp.route("/deadlines.ics")
@public
@kept_page
def deadlines_feed():  # type: ignore[no-untyped-def]
    slug = params.text("programme", length=80)
    programme = find_programme(slug) if slug else None
    if slug and programme is None:
        abort(404)
    stages = deadlines.published_stages(programme_id=programme.id if programme else None)
    name = _("Deadlines of the calls")
    if programme is not None:
        name = _("Deadlines of the calls of %(programme)s", programme=programme.name)
    body = feed(stages, name=name, host=request.host.split(":")[0])
    response = Response(body, content_type="text/calendar; charset=utf-8")
    response.headers["Content-Disposition"] = content_disposition("deadlines.ics", inline=True)
    response.headers["Cache-Control"] = CACHE_CONTROL
    # The summaries are in the reader's language, which the session's cookie carries.
    response.vary.add("Cookie")
    return response
