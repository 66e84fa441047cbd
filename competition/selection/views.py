"""The selection pages: one blueprint, its routes spread over the sub-packages' view modules."""

from __future__ import annotations

from competition.selection.blueprint import bp
from competition.selection.decisions import views as decision_views
from competition.selection.exports import views as export_views
from competition.selection.letters import views as letter_views
from competition.selection.line import views as line_views
from competition.selection.panel import views as panel_views
from competition.selection.publication import views as publication_views
from competition.selection.ranking import views as ranking_views
from competition.selection.rules import views as rules_views

# Importing the view modules registers their routes.
ROUTES = (
    decision_views,
    export_views,
    letter_views,
    line_views,
    panel_views,
    publication_views,
    ranking_views,
    rules_views,
)

__all__ = ["bp"]
