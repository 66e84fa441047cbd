"""A grant's milestones and reports: the reports a grant owes (annual progress reports, the
final report, the statement of use) with their due dates and reminders, the consortium's form
with sections and PDFs, submission with a receipt and hash, and the officer's review; late
reports on the programme's dashboard and its reports list."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Pages and e-mails name a report (kept as its kind's code) with ``report_title``, and
    its state with ``report_state``."""
    from competition.grants.reports.words import report_state_name, report_title

    app.add_template_filter(report_title, "report_title")
    app.add_template_filter(report_state_name, "report_state")
