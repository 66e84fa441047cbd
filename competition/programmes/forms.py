"""Forms for setting up programmes, calls, stages and criteria: shape only.

Amounts are typed in euro, shares in per cent, times in Europe/Berlin; ``values()`` turns them
into what the operations take (fractions, UTC). Rules (windows, scales, uniqueness) live in
competition.programmes.operations.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import LazyString
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    Field,
    HiddenField,
    IntegerField,
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import AnyOf, InputRequired, Length, NumberRange, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget, TextInput

from competition.core.amounts import AmountError, parse_amount
from competition.i18n import current_language
from competition.i18n import gettext as _
from competition.i18n import lazy_gettext as _l
from competition.organisations.models import (
    EASTERN_STATES,
    STATE_NAMES,
    FederalState,
    OrganisationKind,
)
from competition.programmes.models import (
    COMPETITION_KINDS,
    PROGRAMME_KIND_LABELS,
    PUBLIC_FIELD_LABELS,
    STAGE_KIND_LABELS,
    Call,
    Criterion,
    Programme,
    ProgrammeKind,
    PublicField,
    Stage,
    StageKind,
)
from competition.programmes.operations import AttachmentSpec, CategorySpec, SectionSpec, plain

BERLIN = ZoneInfo("Europe/Berlin")
MEBIBYTE = 1024 * 1024
HUNDRED = Decimal(100)
# What the editor always showed before calls had their own number of years.
DEFAULT_BUDGET_YEARS = 3
# Clusters4Future: up to three phases of three years, each ended by an interim evaluation.
DEFAULT_PHASE_YEARS = 3

_NO_LIMIT = {"", "-", "–", "none", "no limit", "unlimited"}
_NOT_A_NUMBER = _l("Enter a number, like 2.5.")
_NOT_A_WHOLE_NUMBER = _l("Enter a whole number, like 3.")


# --- fields ------------------------------------------------------------------------------------


class NumberField(Field):
    """A decimal number typed by a person: money may group thousands with commas or spaces
    ('45,000,000'); other numbers and percentages may use a decimal comma ('12,5 %')."""

    widget = TextInput()

    def __init__(
        self,
        label: str | LazyString | None = None,
        validators: Any = None,
        *,
        kind: str = "number",
        invalid_message: str | LazyString = _NOT_A_NUMBER,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("render_kw", {"inputmode": "decimal"})
        super().__init__(label, validators, **kwargs)
        self.kind = kind
        self.invalid_message = invalid_message

    def _value(self) -> str:
        if self.raw_data:
            return str(self.raw_data[0])
        return plain(self.data) if isinstance(self.data, Decimal) else ""

    def process_formdata(self, valuelist: list[Any]) -> None:
        if not valuelist:
            return
        text = "".join(str(valuelist[0]).split()).replace("\u202f", "").replace("_", "")
        self.data = None
        if not text:
            return
        if self.kind == "money":
            # As people of the page's language write amounts: 630.000.000 in German.
            try:
                self.data = parse_amount(text, current_language())
            except AmountError as error:
                raise ValueError(self.invalid_message) from error
            return
        else:
            if self.kind == "percent" and text.endswith("%"):
                text = text[:-1]
            text = text.replace(",", ".")
        try:
            value = Decimal(text)
        except InvalidOperation as error:
            raise ValueError(self.invalid_message) from error
        if not value.is_finite():
            raise ValueError(self.invalid_message)
        self.data = value


class WholeNumberField(IntegerField):
    def __init__(
        self,
        label: str | LazyString | None = None,
        validators: Any = None,
        *,
        invalid_message: str | LazyString = _NOT_A_WHOLE_NUMBER,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("render_kw", {"inputmode": "numeric"})
        super().__init__(label, validators, **kwargs)
        self.invalid_message = invalid_message

    def process_formdata(self, valuelist: list[Any]) -> None:
        if not valuelist:
            return
        text = str(valuelist[0]).strip()
        self.data = None
        if not text:
            return
        try:
            self.data = int(text)
        except ValueError as error:
            raise ValueError(self.invalid_message) from error


class BerlinDateTimeField(DateTimeLocalField):
    """A date and time typed as the clocks in Berlin show it; ``data`` is aware (Berlin)."""

    def __init__(self, label: str | LazyString, validators: Any = None, **kwargs: Any) -> None:
        super().__init__(
            label,
            validators,
            format=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%d.%m.%Y %H:%M", "%Y-%m-%dT%H:%M:%S"],
            tz=BERLIN,
            invalid_value_message=_l("Enter a date and time, like 30.06.2026 12:00."),
            **kwargs,
        )

    def pre_validate(self, form: Any) -> None:
        value = self.data
        if value is None:
            return
        # In the hour skipped when clocks go forward no such time exists; a round trip through
        # UTC shows it.
        back = value.astimezone(dt.UTC).astimezone(BERLIN)
        if back.replace(tzinfo=None) != value.replace(tzinfo=None):
            raise ValidationError(
                _(
                    "This time does not exist in Berlin: the clocks go forward that night. "
                    "Choose another time."
                )
            )

    @property
    def utc(self) -> dt.datetime | None:
        return self.data.astimezone(dt.UTC) if self.data is not None else None


def _money(label: LazyString, *validators: Any) -> NumberField:
    return NumberField(
        label,
        list(validators),
        kind="money",
        invalid_message=_l("Enter an amount in euro, like 45000000 or 45,000,000.00."),
    )


def _percent(
    label: LazyString, *validators: Any, description: str | LazyString = ""
) -> NumberField:
    return NumberField(
        label,
        list(validators),
        kind="percent",
        invalid_message=_l("Enter a percentage, like 85 or 12.5."),
        description=description,
    )


def _fraction(percent: Decimal | None) -> Decimal | None:
    return None if percent is None else percent / HUNDRED


def _percent_of(fraction: Any) -> Decimal | None:
    return None if fraction is None else Decimal(str(fraction)) * HUNDRED


# --- programmes --------------------------------------------------------------------------------


class ProgrammeForm(FlaskForm):
    name = StringField(
        _l("Name"),
        validators=[InputRequired(_l("Enter a name for the programme.")), Length(max=200)],
    )
    slug = StringField(
        _l("Short name for addresses"),
        validators=[Optional(), Length(max=80)],
        description=_l(
            "Lower-case letters, digits and hyphens, like clusters4future. "
            "Left empty, it is made from the name."
        ),
    )
    description = TextAreaField(_l("Description"), validators=[Length(max=5000)])
    total_budget = _money(
        _l("Total budget (EUR)"), InputRequired(_l("Enter the programme's total budget in euro."))
    )
    payment_threshold = _money(_l("Payments that need a second officer: above (EUR)"), Optional())
    payments_wait_for_reports = BooleanField(
        _l("Refuse payment requests while a report of the grant is overdue"), default=True
    )
    # Left out of a post (a form of before there were kinds): a new programme is a competition,
    # an existing one keeps its kind.
    kind = RadioField(
        _l("Kind of programme"),
        choices=[
            SelectChoice(kind.value, PROGRAMME_KIND_LABELS[kind.value]) for kind in ProgrammeKind
        ],
        validators=[Optional()],
        default=ProgrammeKind.COMPETITION.value,
    )
    public_fields = SelectMultipleField(
        _l("What the public portal shows of a funded consortium"),
        choices=[SelectChoice(f.value, PUBLIC_FIELD_LABELS[f]) for f in PublicField],
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
        default=[f.value for f in PublicField],
    )
    # Left out of a post (a form of before retention periods), the programme keeps its own.
    retention_years_unsuccessful = WholeNumberField(
        _l("Keep unsuccessful proposals for (years after the decision)"),
        validators=[Optional(), NumberRange(1, 50, _l("Enter a number of years from 1 to 50."))],
    )
    retention_years_funded = WholeNumberField(
        _l("Keep funded proposals for (years after the grant closed)"),
        validators=[Optional(), NumberRange(1, 50, _l("Enter a number of years from 1 to 50."))],
    )
    # The page sends it with the boxes above: unticked boxes send nothing, so only a post that
    # carries it says which fields to show; one without it (a form of before the portal)
    # keeps them as they are.
    public_fields_shown = HiddenField()

    def fill(self, programme: Programme) -> None:
        self.name.data = programme.name
        self.slug.data = programme.slug
        self.description.data = programme.description
        self.total_budget.data = programme.total_budget
        self.payment_threshold.data = programme.payment_threshold
        self.payments_wait_for_reports.data = programme.payments_wait_for_reports
        self.kind.data = programme.kind.value
        self.public_fields.data = list(programme.public_fields or ())
        self.retention_years_unsuccessful.data = programme.retention_years_unsuccessful
        self.retention_years_funded.data = programme.retention_years_funded

    def values(self) -> dict[str, Any]:
        return {
            "name": self.name.data or "",
            "slug": (self.slug.data or "").strip(),
            "description": self.description.data or "",
            "total_budget": self.total_budget.data,
            "payment_threshold": self.payment_threshold.data,
            "payments_wait_for_reports": bool(self.payments_wait_for_reports.data),
            "kind": self.kind.data or None,
            "public_fields": list(self.public_fields.data or ())
            if self.public_fields_shown.data
            else None,
            "retention_years_unsuccessful": self.retention_years_unsuccessful.data,
            "retention_years_funded": self.retention_years_funded.data,
        }


# --- calls -------------------------------------------------------------------------------------


class ConfirmBreakingMixin:
    """The tick box shown when a change would make submitted proposals fail the rules."""

    confirm_breaking = BooleanField(_l("I understand and want to save the change anyway"))
    affected_count = HiddenField()

    def confirmed_count(self) -> int | None:
        if not self.confirm_breaking.data:  # type: ignore[attr-defined]
            return None
        try:
            return int(self.affected_count.data or "")  # type: ignore[attr-defined]
        except ValueError:
            return None

    def ask_to_confirm(self, count: int) -> None:
        self.affected_count.data = str(count)  # type: ignore[attr-defined]
        self.confirm_breaking.data = False  # type: ignore[attr-defined]


def _eastern_states_label() -> str:
    """Read when the page shows it, so that the states are named in the page's language."""
    names = ", ".join(sorted(state.label for state in EASTERN_STATES))
    return _("All eastern federal states (%(states)s)", states=names)


class CallForm(ConfirmBreakingMixin, FlaskForm):
    name = StringField(
        _l("Name"), validators=[InputRequired(_l("Enter a name for the call.")), Length(max=200)]
    )
    round_number = WholeNumberField(
        _l("Round"),
        validators=[InputRequired(_l("Enter the round number, like 1 for the first round."))],
        invalid_message=_l("Enter the round as a whole number, like 1."),
    )
    reference_prefix = StringField(
        _l("Prefix of proposal references"),
        validators=[InputRequired(_l("Enter a prefix, like C4F1.")), Length(max=20)],
        description=_l("Proposals are numbered C4F1-0001, C4F1-0002, … for the prefix C4F1."),
    )
    description = TextAreaField(_l("Description"), validators=[Length(max=20000)])
    max_public_funding_per_proposal = _money(
        _l("Maximum public funding per proposal (EUR)"), Optional()
    )
    min_private_share = _percent(
        _l("Minimum private co-funding share of the consortium (%)"),
        Optional(),
        description=_l(
            "Own and private contributions as a share of the total budget, e.g. 85 for "
            "an alliance funded 15 % publicly and 85 % by industry. Empty: no minimum."
        ),
    )
    budget_years = WholeNumberField(
        _l("Project years of a budget"),
        validators=[Optional()],
        default=DEFAULT_BUDGET_YEARS,
        invalid_message=_l("Enter the years as a whole number from 1 to 9, like 5."),
    )
    max_public_funding_per_year = _money(
        _l("Maximum public funding per proposal and year (EUR)"), Optional()
    )
    budget_envelope = _money(
        _l("Budget envelope of this round (EUR)"),
        Optional(),
    )
    phase_years = WholeNumberField(
        _l("Years of each funded phase"),
        validators=[Optional()],
        default=DEFAULT_PHASE_YEARS,
        invalid_message=_l("Enter the years as a whole number from 1 to 9, like 3."),
    )
    cost_categories = TextAreaField(
        _l("Cost categories"),
        validators=[Length(max=20000)],
        description=_l(
            "One category per line: 'English name | German name', e.g. "
            "'Personnel | Personal'. Empty: one amount per partner and year."
        ),
        render_kw={"rows": 6},
    )
    region_scope = SelectMultipleField(
        _l("Federal states the coordinator must be based in"),
        choices=[SelectChoice(state.value, STATE_NAMES[state]) for state in FederalState],
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
        validate_choice=False,  # the operation names unknown codes
    )
    eastern_states = BooleanField(LazyString(_eastern_states_label))
    # A radio pair rather than a checkbox: a post that leaves it out keeps reviews blind.
    other_reviews = RadioField(
        _l("When a juror may read the other jurors' reviews of a proposal"),
        choices=[
            SelectChoice("after_own", _l("Only after submitting their own review (blind review)")),
            SelectChoice("at_once", _l("At once, while writing their own")),
        ],
        default="after_own",
        validate_choice=False,
        validators=[AnyOf(["after_own", "at_once"], message=_l("Choose one of the two."))],
    )

    @classmethod
    def rate_fields(cls) -> list[tuple[OrganisationKind, str]]:
        return [(kind, f"funding_rate_{kind.value}") for kind in OrganisationKind]

    def rates(self) -> list[Field]:
        return [getattr(self, name) for _kind, name in self.rate_fields()]

    def fill(self, call: Call) -> None:
        self.name.data = call.name
        self.round_number.data = call.round_number
        self.reference_prefix.data = call.reference_prefix
        self.description.data = call.description
        self.max_public_funding_per_proposal.data = call.max_public_funding_per_proposal
        self.min_private_share.data = _percent_of(call.min_private_share)
        rates = call.funding_rates or {}
        for kind, name in self.rate_fields():
            getattr(self, name).data = _percent_of(rates.get(kind.value))
        self.region_scope.data = list(call.region_scope or [])
        self.other_reviews.data = "after_own" if call.reviews_hidden_until_own else "at_once"
        self.budget_years.data = call.budget_years
        self.max_public_funding_per_year.data = call.max_public_funding_per_year
        self.budget_envelope.data = call.budget_envelope
        self.phase_years.data = call.phase_years
        self.cost_categories.data = format_categories(call.cost_categories or [])

    def validate_cost_categories(self, field: Field) -> None:
        errors = parse_categories(field.data or "")[1]
        if errors:
            raise ValidationError(" ".join(errors))

    def values(self) -> dict[str, Any]:
        scope = set(self.region_scope.data or [])
        if self.eastern_states.data:
            scope |= {state.value for state in EASTERN_STATES}
        return {
            "name": self.name.data or "",
            "round_number": self.round_number.data,
            "reference_prefix": self.reference_prefix.data or "",
            "description": self.description.data or "",
            "max_public_funding_per_proposal": self.max_public_funding_per_proposal.data,
            "min_private_share": _fraction(self.min_private_share.data),
            "funding_rates": {
                kind.value: _fraction(getattr(self, name).data) for kind, name in self.rate_fields()
            },
            "region_scope": sorted(scope),
            "reviews_hidden_until_own": self.other_reviews.data != "at_once",
            "budget_years": DEFAULT_BUDGET_YEARS
            if self.budget_years.data is None
            else self.budget_years.data,
            "max_public_funding_per_year": self.max_public_funding_per_year.data,
            "budget_envelope": self.budget_envelope.data,
            "cost_categories": parse_categories(self.cost_categories.data or "")[0],
            "phase_years": DEFAULT_PHASE_YEARS
            if self.phase_years.data is None
            else self.phase_years.data,
        }


def parse_categories(text: str) -> tuple[list[CategorySpec], list[str]]:
    """One cost category per line: 'English name | German name' (the German may be left out)."""
    specs: list[CategorySpec] = []
    errors: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = [part.strip() for part in line.split("|")]
        if len(parts) > 2 or not parts[0]:
            errors.append(
                _(
                    "Line %(number)s: write 'English name | German name', "
                    "e.g. 'Personnel | Personal'.",
                    number=number,
                )
            )
            continue
        specs.append(CategorySpec(name_en=parts[0], name_de=parts[1] if len(parts) > 1 else ""))
    return specs, errors


def format_categories(categories: list[dict[str, Any]]) -> str:
    return "\n".join(
        f"{c['name_en']} | {c['name_de']}" if c.get("name_de") else str(c["name_en"])
        for c in categories
    )


_RATE_LABELS = {
    OrganisationKind.UNIVERSITY: _l("Funding rate for universities (%)"),
    OrganisationKind.RESEARCH_INSTITUTE: _l("Funding rate for research institutes (%)"),
    OrganisationKind.LARGE_ENTERPRISE: _l("Funding rate for large enterprises (%)"),
    OrganisationKind.SME: _l("Funding rate for SMEs (%)"),
    OrganisationKind.START_UP: _l("Funding rate for start-ups (%)"),
    OrganisationKind.SOCIETY: _l("Funding rate for societies and public bodies (%)"),
}

# One optional field per kind of organisation: the highest share of a partner's costs that is
# publicly funded.
for _kind, _name in CallForm.rate_fields():
    setattr(CallForm, _name, _percent(_RATE_LABELS[_kind], Optional()))


# --- stages ------------------------------------------------------------------------------------


def _whole(text: str, *suffixes: str) -> int | None:
    cleaned = text.strip().lower()
    for suffix in suffixes:
        cleaned = cleaned.removesuffix(suffix).strip()
    cleaned = cleaned.replace(",", "").replace(" ", "").replace("\u202f", "")
    return int(cleaned) if cleaned.isascii() and cleaned.isdigit() else None


def parse_sections(text: str) -> tuple[list[SectionSpec], list[str]]:
    """One section per line: 'Title | max characters', optionally '| optional'."""
    specs: list[SectionSpec] = []
    errors: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = [part.strip() for part in line.split("|")]
        if len(parts) not in (2, 3) or not parts[0] or not parts[1]:
            errors.append(
                _(
                    "Line %(number)s: write 'Title | max characters', "
                    "e.g. 'Cluster strategy | 12000'.",
                    number=number,
                )
            )
            continue
        max_chars = _whole(parts[1], "characters", "chars")
        if max_chars is None or max_chars < 1:
            errors.append(
                _(
                    "Line %(number)s: the maximum must be a whole number of characters, "
                    "e.g. '%(title)s | 12000'.",
                    number=number,
                    title=parts[0],
                )
            )
            continue
        required = True
        if len(parts) == 3:
            if parts[2].lower() not in ("required", "optional"):
                errors.append(
                    _(
                        "Line %(number)s: after the maximum, write only 'required' or 'optional'.",
                        number=number,
                    )
                )
                continue
            required = parts[2].lower() == "required"
        specs.append(SectionSpec(title=parts[0], max_chars=max_chars, required=required))
    return specs, errors


def format_sections(sections: list[dict[str, Any]]) -> str:
    lines = []
    for section in sections:
        line = f"{section['title']} | {section['max_chars']}"
        if not section.get("required", True):
            line += " | optional"
        lines.append(line)
    return "\n".join(lines)


def _megabytes_to_bytes(text: str) -> int | None:
    cleaned = text.strip().lower().removesuffix("mb").strip().replace(",", ".")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        return None
    if not value.is_finite() or value <= 0 or -value.as_tuple().exponent > 2:  # type: ignore[operator]
        return None
    return int((value * MEBIBYTE).to_integral_value(ROUND_HALF_UP))


def _bytes_to_megabytes(size: int) -> str:
    return plain((Decimal(size) / MEBIBYTE).quantize(Decimal("0.01"), ROUND_HALF_UP))


def parse_attachments(text: str) -> tuple[list[AttachmentSpec], list[str]]:
    """One document per line: 'Title | required or optional | max pages | max MB'; the limits
    may be left out or written as '-' for none."""
    specs: list[AttachmentSpec] = []
    errors: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = [part.strip() for part in line.split("|")]
        if not 2 <= len(parts) <= 4 or not parts[0]:
            errors.append(
                _(
                    "Line %(number)s: write 'Title | required or optional | max pages | max MB', "
                    "e.g. 'Letters of intent | optional | 20 | 10'.",
                    number=number,
                )
            )
            continue
        parts += [""] * (4 - len(parts))
        title, need, pages_text, size_text = parts
        if need.lower() not in ("required", "optional"):
            errors.append(
                _(
                    "Line %(number)s: the second part must be 'required' or 'optional'; "
                    "write 'Title | required or optional | max pages | max MB', "
                    "e.g. 'Letters of intent | optional | 20 | 10'.",
                    number=number,
                )
            )
            continue
        problems = []
        max_pages = None
        if pages_text.lower() not in _NO_LIMIT:
            max_pages = _whole(pages_text, "pages", "page")
            if max_pages is None or max_pages < 1:
                problems.append(
                    _("the page limit must be a whole number of pages, or '-' for none")
                )
        max_bytes = None
        if size_text.lower() not in _NO_LIMIT:
            max_bytes = _megabytes_to_bytes(size_text)
            if max_bytes is None:
                problems.append(
                    _(
                        "the size limit must be a number of MB with at most two decimals, "
                        "like 10 or 2.5, or '-' for none"
                    )
                )
        if problems:
            errors.append(
                _("Line %(number)s: %(problems)s.", number=number, problems="; ".join(problems))
            )
            continue
        specs.append(
            AttachmentSpec(
                title=title,
                required=need.lower() == "required",
                max_pages=max_pages,
                max_bytes=max_bytes,
            )
        )
    return specs, errors


def format_attachments(rules: list[dict[str, Any]]) -> str:
    lines = []
    for rule in rules:
        pages = rule.get("max_pages")
        size = rule.get("max_bytes")
        lines.append(
            " | ".join(
                [
                    str(rule["title"]),
                    "required" if rule.get("required") else "optional",
                    str(pages) if pages is not None else "-",
                    _bytes_to_megabytes(int(size)) if size is not None else "-",
                ]
            )
        )
    return "\n".join(lines)


class StageForm(ConfirmBreakingMixin, FlaskForm):
    kind = SelectField(
        _l("Kind of stage"),
        # The competition's kinds: an interim evaluation is started from the call's grants.
        choices=[
            SelectChoice(kind.value, STAGE_KIND_LABELS[kind.value]) for kind in COMPETITION_KINDS
        ],
        validators=[InputRequired(_l("Choose the kind of stage."))],
    )
    name = StringField(
        _l("Name"), validators=[InputRequired(_l("Enter a name for the stage.")), Length(max=200)]
    )
    opens_at = BerlinDateTimeField(
        _l("Submission opens (Berlin time)"),
        validators=[InputRequired(_l("Enter when submission opens."))],
    )
    closes_at = BerlinDateTimeField(
        _l("Submission closes (Berlin time)"),
        validators=[InputRequired(_l("Enter when submission closes."))],
    )
    sections = TextAreaField(
        _l("Narrative sections"),
        validators=[Length(max=20000)],
        description=_l(
            "One section per line: 'Title | max characters', e.g. "
            "'Cluster strategy | 12000'. Add '| optional' for a section that may stay empty."
        ),
        render_kw={"rows": 6},
    )
    attachment_rules = TextAreaField(
        _l("Documents to attach (PDF)"),
        validators=[Length(max=20000)],
        description=_l(
            "One document per line: 'Title | required or optional | max pages | "
            "max MB', e.g. 'Letters of intent | optional | 20 | 10'. Write '-' for no limit."
        ),
        render_kw={"rows": 4},
    )
    reviewers_per_proposal = WholeNumberField(
        _l("Jurors per proposal"),
        validators=[InputRequired(_l("Enter how many jurors review each proposal."))],
        default=3,
    )
    max_load_per_juror = WholeNumberField(
        _l("Maximum proposals per juror"),
        validators=[InputRequired(_l("Enter how many proposals a juror reviews at most."))],
        default=10,
    )
    selection_target = WholeNumberField(
        _l("Selection target"),
        validators=[Optional()],
        description=_l("How many proposals advance from this stage; empty if not fixed."),
    )
    reviews_due_at = BerlinDateTimeField(
        _l("Reviews due (Berlin time)"),
        validators=[Optional()],
        description=_l(
            "Jurors can write and change reviews until then, and are reminded before it. "
            "Empty: no due date."
        ),
    )
    bidding_enabled = BooleanField(
        _l("Jurors bid on the proposals they would like to review"),
        description=_l("Bids count in the automatic assignment."),
    )
    bidding_opens_at = BerlinDateTimeField(
        _l("Bidding opens (Berlin time)"), validators=[Optional()]
    )
    bidding_closes_at = BerlinDateTimeField(
        _l("Bidding closes (Berlin time)"),
        validators=[Optional()],
        description=_l("Before the assignment is run, and no later than the review due date."),
    )
    min_comment_chars = WholeNumberField(
        _l("Shortest comment for the applicant (characters)"),
        validators=[Optional()],
        default=200,
        description=_l("A review cannot be submitted with a shorter comment; 0 for no minimum."),
    )
    concept_grant_amount = _money(
        _l("Concept phase funded on advancing (EUR per proposal)"),
        Optional(),
    )
    concept_grant_months = WholeNumberField(
        _l("Months of the funded concept phase"),
        validators=[Optional()],
        invalid_message=_l("Enter the months as a whole number from 1 to 24, like 6."),
    )

    def validate_sections(self, field: Field) -> None:
        errors = parse_sections(field.data or "")[1]
        if errors:
            raise ValidationError(" ".join(errors))

    def validate_attachment_rules(self, field: Field) -> None:
        errors = parse_attachments(field.data or "")[1]
        if errors:
            raise ValidationError(" ".join(errors))

    def keep_evaluation(self) -> None:
        """An interim evaluation's form: its kind is the only one offered (it stays one)."""
        kind = StageKind.INTERIM_EVALUATION
        self.kind.choices = [SelectChoice(kind.value, STAGE_KIND_LABELS[kind.value])]

    def fill(self, stage: Stage) -> None:
        self.kind.data = stage.kind.value
        self.name.data = stage.name
        self.opens_at.data = stage.opens_at
        self.closes_at.data = stage.closes_at
        self.sections.data = format_sections(list(stage.required_sections or []))
        self.attachment_rules.data = format_attachments(list(stage.attachment_rules or []))
        self.reviewers_per_proposal.data = stage.reviewers_per_proposal
        self.max_load_per_juror.data = stage.max_load_per_juror
        self.selection_target.data = stage.selection_target
        self.reviews_due_at.data = stage.reviews_due_at
        self.bidding_enabled.data = stage.bidding_enabled
        self.bidding_opens_at.data = stage.bidding_opens_at
        self.bidding_closes_at.data = stage.bidding_closes_at
        self.min_comment_chars.data = stage.min_comment_chars
        self.concept_grant_amount.data = stage.concept_grant_amount
        self.concept_grant_months.data = stage.concept_grant_months

    def values(self) -> dict[str, Any]:
        """After validation: what add_stage/update_stage take."""
        return {
            "kind": self.kind.data,
            "name": self.name.data or "",
            "opens_at": self.opens_at.utc,
            "closes_at": self.closes_at.utc,
            "sections": parse_sections(self.sections.data or "")[0],
            "attachment_rules": parse_attachments(self.attachment_rules.data or "")[0],
            "reviewers_per_proposal": self.reviewers_per_proposal.data,
            "max_load_per_juror": self.max_load_per_juror.data,
            "selection_target": self.selection_target.data,
            "reviews_due_at": self.reviews_due_at.utc,
            "bidding_enabled": bool(self.bidding_enabled.data),
            "bidding_opens_at": self.bidding_opens_at.utc,
            "bidding_closes_at": self.bidding_closes_at.utc,
            "min_comment_chars": self.min_comment_chars.data,
            "concept_grant_amount": self.concept_grant_amount.data,
            "concept_grant_months": self.concept_grant_months.data,
        }


# --- criteria ----------------------------------------------------------------------------------


class CriterionForm(FlaskForm):
    name = StringField(
        _l("Name"),
        validators=[InputRequired(_l("Enter a name for the criterion.")), Length(max=200)],
    )
    description = TextAreaField(
        _l("Description for jurors"), validators=[Length(max=5000)], render_kw={"rows": 3}
    )
    weight = NumberField(
        _l("Weight"),
        [InputRequired(_l("Enter a weight, like 1."))],
        default=Decimal(1),
        description=_l(
            "Relative to the other criteria of this stage: 2 counts twice as much as 1."
        ),
    )
    scale_min = NumberField(
        _l("Lowest score"), [InputRequired(_l("Enter the lowest score."))], default=Decimal(0)
    )
    scale_max = NumberField(
        _l("Highest score"), [InputRequired(_l("Enter the highest score."))], default=Decimal(5)
    )
    scale_step = NumberField(
        _l("Step between scores"),
        [InputRequired(_l("Enter the step between scores."))],
        default=Decimal("0.5"),
    )
    threshold = NumberField(
        _l("Threshold (optional)"),
        [Optional()],
        description=_l(
            "Proposals scoring below this on the criterion are flagged; empty for none."
        ),
    )

    def fill(self, criterion: Criterion) -> None:
        self.name.data = criterion.name
        self.description.data = criterion.description
        self.weight.data = criterion.weight
        self.scale_min.data = criterion.scale_min
        self.scale_max.data = criterion.scale_max
        self.scale_step.data = criterion.scale_step
        self.threshold.data = criterion.threshold

    def values(self) -> dict[str, Any]:
        return {
            "name": self.name.data or "",
            "description": self.description.data or "",
            "weight": self.weight.data,
            "scale_min": self.scale_min.data,
            "scale_max": self.scale_max.data,
            "scale_step": self.scale_step.data,
            "threshold": self.threshold.data,
        }


# --- small forms -------------------------------------------------------------------------------


class DeleteForm(FlaskForm):
    """The confirmation page's button; carries only the CSRF token."""


class MoveForm(FlaskForm):
    direction = StringField(validators=[AnyOf(["up", "down"])])

    @property
    def offset(self) -> int:
        return -1 if self.direction.data == "up" else 1
