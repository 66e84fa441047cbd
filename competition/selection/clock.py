"""The time a background job of selection stamps on what it does (a ranking's end, a letter's
date, a decision's publication): the time of the person who started it, moved on by the time the
machine has spent since. Normally that is the machine's own time; when the demo's simulation
starts a ranking or a publication on a simulated day, the worker's stamps fall on that day too,
so a page never shows a ranking that ended months before it started."""

from __future__ import annotations

import datetime as dt

from competition.db import utcnow


def on_callers_clock(requested_at: dt.datetime | None, opened_at: dt.datetime) -> dt.datetime:
    """Now, on the clock of whoever asked at ``requested_at`` for work queued at ``opened_at``
    (the machine's time when the job was opened)."""
    now = utcnow()
    if requested_at is None:
        return now
    return requested_at + max(now - opened_at, dt.timedelta(0))
