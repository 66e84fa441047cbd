"""The portal's blueprint. Each page group is a module of the area (the pages and open data,
the map, the calendar); ``portal.views`` imports them so their routes are registered. Portal
pages are public and run no query while rendering."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("portal", __name__, url_prefix="/portal")
