"""The grants pages: one blueprint, its routes spread over the view modules of the area."""

from __future__ import annotations

from competition.grants import grant_views
from competition.grants.blueprint import bp
from competition.grants.evaluations import views as evaluation_views
from competition.grants.payments import views as payment_views
from competition.grants.reports import views as report_views

# Importing the view modules registers their routes.
ROUTES: tuple[object, ...] = (grant_views, report_views, payment_views, evaluation_views)

__all__ = ["bp"]
