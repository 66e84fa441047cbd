"""Forms of milestones and reports: shape only. What a report must hold to be submitted, or a
milestone to be saved, is the core's and the operations' rule."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask_babel import LazyString
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    HiddenField,
    IntegerField,
    MultipleFileField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import Optional

from competition.core import reports as rules
from competition.grants.models import REPORT_KIND_LABELS, Grant, ReportKind
from competition.i18n import lazy_gettext as _l
from competition.i18n import say

_NOT_A_DAY = _l("Enter a date, like 31.03.2028.")
_NOT_A_WHOLE_NUMBER = _l("Enter a whole number, like 2.")


class DayField(DateField):
    """A calendar day from the browser's date picker (2028-03-31) or typed the German way
    (31.03.2028)."""

    def __init__(self, label: str | LazyString, validators: Any = None, **kwargs: Any) -> None:
        super().__init__(label, validators, format=["%Y-%m-%d", "%d.%m.%Y"], **kwargs)

    def process_formdata(self, valuelist: list[Any]) -> None:
        text = str(valuelist[0]).strip() if valuelist else ""
        self.data = None
        if not text:
            return
        for fmt in self.format:
            try:
                self.data = dt.datetime.strptime(text, fmt).date()
                return
            except ValueError:
                continue
        raise ValueError(str(_NOT_A_DAY))


class YearField(IntegerField):
    def process_formdata(self, valuelist: list[Any]) -> None:
        text = str(valuelist[0]).strip() if valuelist else ""
        self.data = None
        if not text:
            return
        try:
            self.data = int(text)
        except ValueError as error:
            raise ValueError(str(_NOT_A_WHOLE_NUMBER)) from error


class ReportForm(FlaskForm):
    """The report's sections, one text area each (added per kind by ``report_form``), and the
    fingerprint of the sections the page was loaded with."""

    basis = HiddenField()


def report_form(kind: str, **kwargs: Any) -> ReportForm:
    """The form of a report of ``kind``, its headings in the reader's language."""

    class KindForm(ReportForm):
        pass

    for section in rules.SECTIONS[kind]:
        setattr(
            KindForm,
            section.key,
            TextAreaField(say(section.heading), description=say(section.hint)),
        )
    return KindForm(**kwargs)


class AttachmentForm(FlaskForm):
    files = MultipleFileField(_l("PDF files"))


class AcceptForm(FlaskForm):
    note = TextAreaField(_l("Note to the consortium (optional)"))


class ChangesForm(FlaskForm):
    reason = TextAreaField(_l("What should the consortium change?"))


class NewReportForm(FlaskForm):
    kind = SelectField(_l("Kind of report"), validate_choice=False)
    year = YearField(_l("Project year (progress reports only)"), validators=[Optional()])
    due_on = DayField(_l("Due on"), validators=[Optional()])

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.kind.choices = [("", _l("Choose…"))] + [
            (kind.value, REPORT_KIND_LABELS[kind]) for kind in ReportKind
        ]


class MilestoneForm(FlaskForm):
    title = StringField(_l("Title"))
    due_on = DayField(_l("Due on"), validators=[Optional()])
    # 0: the consortium as a whole.
    member_id = SelectField(_l("Responsible"), coerce=int, validate_choice=False, default=0)

    def offer_members(self, grant: Grant) -> None:
        self.member_id.choices = [(0, _l("The consortium as a whole"))] + [
            (member.id, member.organisation.name) for member in grant.proposal.members
        ]

    @property
    def member(self) -> int | None:
        return self.member_id.data or None


class ReachedForm(FlaskForm):
    reached_on = DayField(_l("Reached on"), validators=[Optional()])
