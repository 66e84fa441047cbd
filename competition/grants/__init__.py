"""Life after the decision: grants, their phases and interim evaluations, milestones, reports
and disbursements."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """What the grants area adds to the areas below it: a grant offered as each decision is
    published, the grants counted by the line as committed money, the proposal page's panel
    linking to its grants, and the filter e-mails use to show a day kept as ISO text; then
    what its parts (reports, payments, interim evaluations) register."""
    import datetime as dt

    from competition.grants import evaluations, payments, reports
    from competition.grants.money import COMMITMENTS
    from competition.grants.operations import on_publish
    from competition.grants.queries import grants_for_reader
    from competition.i18n import local_date
    from competition.proposals.panels import register_panel
    from competition.selection.line.queries import register_commitments
    from competition.selection.publication.hooks import register_on_publish

    register_on_publish(app, on_publish)
    register_commitments(app, COMMITMENTS)
    register_panel(app, "grants", grants_for_reader)
    app.add_template_filter(
        lambda value: local_date(dt.date.fromisoformat(value)) if value else "", "iso_day"
    )
    reports.init_app(app)
    payments.init_app(app)
    evaluations.init_app(app)
