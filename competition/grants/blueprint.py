"""The grants area's blueprint and what its pages share. Each page group is a ``views``
module (the grant itself, reports, payments, interim evaluations); ``grants.views`` imports
them so their routes are registered."""

from __future__ import annotations

from flask import Blueprint, abort

from competition.access import current_person
from competition.extensions import db
from competition.grants.models import Grant
from competition.grants.permissions import can_see_grant

bp = Blueprint("grants", __name__)

me = current_person


def visible_grant(grant_id: int) -> Grant:
    """The grant for its officers and its consortium; 404 for anyone else, like a missing one,
    so another consortium's grants stay unseen."""
    grant = db.session.get(Grant, grant_id)
    if grant is None or not can_see_grant(me(), grant):
        abort(404)
    return grant
