"""The selection area's blueprint and what all its officer pages share. Each page group is the
``views`` module of its sub-package (ranking, line, panel, decisions, publication, letters,
exports, rules); ``selection.views`` imports them so their routes are registered."""

from __future__ import annotations

from flask import Blueprint, abort

from competition.access import current_person
from competition.assignment import queries
from competition.programmes.models import Call, Stage
from competition.selection.permissions import can_see_selection

bp = Blueprint("selection", __name__)

# Where a stage's selection pages live.
PREFIX = "/calls/<int:call_id>/stages/<int:stage_id>/selection"


me = current_person


def officer_stage(call_id: int, stage_id: int) -> tuple[Call, Stage]:
    """The call and stage for an officer of its programme; 404 for anyone else, like a missing
    stage, so another programme's stages stay unseen."""
    call = queries.find_call(call_id)
    stage = queries.find_stage(call, stage_id) if call is not None else None
    if stage is None or not can_see_selection(me(), stage):
        abort(404)
    return call, stage
