"""How a report is named for people, in the reader's language (pages and e-mails, which keep
the report's kind as its code)."""

from __future__ import annotations

from flask_babel import gettext as _

from competition.grants.models import ReportKind


def report_title(kind: str, year: int = 0) -> str:
    """ "Progress report for project year 2", "Final report", "Statement of use"."""
    try:
        known = ReportKind(kind)
    except ValueError:
        return str(kind)
    if known == ReportKind.ANNUAL and year:
        return _("Progress report for project year %(year)s", year=year)
    return known.label
