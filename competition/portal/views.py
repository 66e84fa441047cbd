"""The portal's pages: one blueprint, its routes spread over the area's modules."""

from __future__ import annotations

from competition.portal import calendar, map
from competition.portal.blueprint import bp

# Importing the view modules registers their routes.
ROUTES: tuple[object, ...] = (map, calendar)

__all__ = ["bp"]
