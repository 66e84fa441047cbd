"""The hearing: slots before the jury, the finalists in them, the jurors' availability, the
consortium's confirmation, the timetable by mail and as iCalendar, and the pitch scored as a
review of the hearing stage."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """What the hearings area lends to the areas below it: the proposal's hearing slot on its
    pages, for its consortium; how many slots a stage has, so that a programme's set-up does
    not turn a hearing with slots into another kind of stage or remove it."""
    from competition.hearings.queries import count_slots, slot_panel
    from competition.programmes import uses
    from competition.proposals.panels import register_panel

    register_panel(app, "hearing", slot_panel)
    uses.register(app, "hearing_slots", count_slots)
