"""Life after the decision: grants, their phases and interim evaluations, milestones, reports
and disbursements."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """What the grants area's parts register at app creation."""
    from competition.grants import payments

    payments.init_app(app)
