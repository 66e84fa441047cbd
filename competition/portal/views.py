"""The portal's pages: one blueprint, its routes spread over the area's modules."""

from __future__ import annotations

from competition.portal import calendar, map, open_data, pages
from competition.portal.blueprint import bp

# Importing the view modules registers their routes.
ROUTES: tuple[object, ...] = (pages, open_data, map, calendar)

__all__ = ["bp"]
