"""The selection pages: one blueprint, its routes spread over the page-group modules."""

from __future__ import annotations

from competition.selection import (  # noqa: F401  (importing registers the routes)
    decision_views,
    export_views,
    letter_views,
    panel_views,
    ranking_views,
    rules_views,
)
from competition.selection.blueprint import bp

__all__ = ["bp"]
