"""Life after the decision: grants, their phases and interim evaluations, milestones, reports
and disbursements."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """What the grants area and its parts register at app creation."""
    from competition.grants import payments, reports

    reports.init_app(app)
    payments.init_app(app)
