"""The grants pages: one blueprint, its routes spread over the view modules of the area."""

from __future__ import annotations

from competition.grants import grant_views
from competition.grants.blueprint import bp

# Importing the view modules registers their routes.
ROUTES: tuple[object, ...] = (grant_views,)

__all__ = ["bp"]
