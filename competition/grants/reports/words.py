"""How a report is named for people, in the reader's language (pages and e-mails, which keep
the report's kind as its code)."""

from __future__ import annotations

from competition.grants.models import ReportKind, ReportState
from competition.i18n import gettext as _
from competition.i18n import lazy_gettext as _l

# The model's label of an accepted report shares its English with an accepted jury place
# ("Zugesagt" in German); a report is accepted in other words.
_STATE_NAMES = {ReportState.ACCEPTED: _l("Report accepted")}


def report_title(kind: str, year: int = 0) -> str:
    """ "Progress report for project year 2", "Final report", "Statement of use"."""
    try:
        known = ReportKind(kind)
    except ValueError:
        return str(kind)
    if known == ReportKind.ANNUAL and year:
        return _("Progress report for project year %(year)s", year=year)
    return known.label


def report_state_name(state: ReportState) -> str:
    """A report's state as a badge reads it."""
    return str(_STATE_NAMES.get(state, state.label))
