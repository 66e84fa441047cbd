"""Setting up programmes, calls (rounds), their ordered stages and the stages' review criteria.

Each operation is one transaction (competition.db.operation): it checks that the actor runs the
programme, collects every problem with the input into one DomainError keyed by form field,
changes the rows and appends an audit event.

Changing a call's rules (funding cap, private share, funding rates, region) or a stage's rules
(sections, attachments) re-checks the latest submitted version of every proposal under the new
rules. If some would no longer pass, the change is refused with RulesWouldBreak, naming them,
until the actor confirms that number of proposals; the saved change is then recorded as
``call.rules_changed`` / ``stage.rules_changed`` with the affected references.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask_babel import ngettext

from competition.accounts.models import User
from competition.audit.operations import record_event
from competition.core import retention, workflow
from competition.core.wording import money
from competition.db import operation
from competition.errors import DomainError, PermissionDenied
from competition.extensions import db
from competition.i18n import gettext as _
from competition.i18n import local_time, number, say
from competition.organisations.models import FederalState, OrganisationKind
from competition.permissions import Decision
from competition.programmes.models import (
    Call,
    CallState,
    Criterion,
    Programme,
    ProgrammeKind,
    ProgrammeOfficer,
    PublicField,
    Stage,
    StageKind,
)
from competition.programmes.permissions import can_create_programme, can_manage_programme
from competition.programmes.uses import (
    AffectedProposal,
    breaking_submissions,
    count_hearing_slots,
    count_memberships,
    count_reviews_scoring,
    has_proposals,
    stage_has_submissions,
)
from competition.workflow import apply_step

log = logging.getLogger(__name__)

# Column limits: Numeric(14, 2) for money, Numeric(5, 4) for shares, Numeric(6, 3) for weights,
# Numeric(6, 2) for scale values.
MAX_MONEY = Decimal("1e12")
MAX_WEIGHT = Decimal("1000")
MAX_SCALE = Decimal("10000")
MAX_SECTION_CHARS = 1_000_000
MAX_PAGES = 10_000
MAX_BYTES = 2**31 - 1
MAX_COUNT = 100_000
# The shortest comment for the applicant a juror may submit: 0 (none) up to this, by default 200.
MAX_MIN_COMMENT_CHARS = 10_000
DEFAULT_MIN_COMMENT_CHARS = 200
# A funded concept phase (Clusters4Future: six months) lasts at most two years.
MAX_CONCEPT_MONTHS = 24

_PROGRAMME_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_REFERENCE_PREFIX = re.compile(r"^[A-Z0-9][A-Z0-9-]*$")

CALL_RULE_FIELDS = (
    "max_public_funding_per_proposal",
    "min_private_share",
    "funding_rates",
    "region_scope",
    "budget_years",
    "max_public_funding_per_year",
    "cost_categories",
)
MAX_BUDGET_YEARS = 9
MAX_CATEGORIES = 30
STAGE_RULE_FIELDS = ("required_sections", "attachment_rules")


# --- input and output types --------------------------------------------------------------------


@dataclass(frozen=True)
class SectionSpec:
    """A narrative section as the officer describes it; the key is derived from the title."""

    title: str
    max_chars: int
    required: bool = True


@dataclass(frozen=True)
class CategorySpec:
    """A cost category as the officer names it; the key is derived from the English name."""

    name_en: str
    name_de: str = ""


@dataclass(frozen=True)
class AttachmentSpec:
    """A document the stage asks for; limits are per file, None for no limit."""

    title: str
    required: bool
    max_pages: int | None
    max_bytes: int | None


class RulesWouldBreak(DomainError):
    """The change would make submitted proposals fail the rules; the actor has to confirm it."""

    def __init__(self, affected: list[AffectedProposal]) -> None:
        self.affected = affected
        message = ngettext(
            "%(num)d submitted proposal would no longer meet the rules. "
            "Tick the box to save the change anyway.",
            "%(num)d submitted proposals would no longer meet the rules. "
            "Tick the box to save the change anyway.",
            len(affected),
        )
        super().__init__({"confirm_breaking": [message]})


# --- helpers -----------------------------------------------------------------------------------


class _Errors:
    def __init__(self) -> None:
        self.by_field: dict[str, list[str]] = {}

    def add(self, field: str, message: str) -> None:
        self.by_field.setdefault(field, []).append(message)

    def raise_if_any(self) -> None:
        if self.by_field:
            raise DomainError(self.by_field)


def _require(decision: Decision) -> None:
    if not decision:
        raise PermissionDenied(_("You may not do this: %(reason)s.", reason=decision.reason))


def _require_aware(moment: dt.datetime, name: str) -> None:
    if moment.tzinfo is None or moment.tzinfo.utcoffset(moment) is None:
        raise ValueError(f"{name} must be timezone-aware, got {moment!r}")


def plain(value: Decimal) -> str:
    """'0.85', '45000000': a Decimal without trailing zeros or exponent."""
    return f"{value.normalize():f}"


def _decimals(value: Decimal) -> int:
    exponent = value.normalize().as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def slugify(title: str, *, separator: str = "_") -> str:
    """'Cluster strategy' -> 'cluster_strategy'; letters with accents lose them."""
    text = title.replace("ß", "ss").replace("ẞ", "SS")
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    words = re.findall(r"[a-z0-9]+", text.lower())
    return separator.join(words)[:60].strip(separator)


def _keyed(
    titles: Sequence[str], existing: Iterable[Mapping[str, Any]], fallback: str
) -> list[str]:
    """A key per title: the key the same title had before (so text already written stays
    attached to it), otherwise a slug of the title, made unique. Titles are distinct."""
    previous = {str(e.get("title", "")).strip().casefold(): str(e["key"]) for e in existing}
    keys: list[str | None] = [previous.get(title.strip().casefold()) for title in titles]
    taken = {key for key in keys if key is not None}
    for index, title in enumerate(titles):
        if keys[index] is None:
            base = slugify(title) or f"{fallback}_{index + 1}"
            key, n = base, 2
            while key in taken:
                key, n = f"{base}_{n}", n + 1
            keys[index] = key
            taken.add(key)
    return [key for key in keys if key is not None]


def _check_money(
    errors: _Errors, field: str, value: Decimal | None, *, negative: str, too_large: str
) -> None:
    """``negative`` and ``too_large`` are the messages for an amount below 0 or too large."""
    if value is None:
        return
    if not value.is_finite() or value < 0:
        errors.add(field, negative)
    elif value >= MAX_MONEY:
        errors.add(field, too_large)
    elif _decimals(value) > 2:
        errors.add(field, _("Use at most two decimal places (cents)."))


def _check_share(errors: _Errors, field: str, value: Decimal | None) -> None:
    """A share is stored as a fraction with four decimals: a percentage with two."""
    if value is None:
        return
    if not value.is_finite() or value < 0 or value > 1:
        errors.add(field, _("Enter a percentage between 0 and 100 %."))
    elif _decimals(value) > 4:
        errors.add(field, _("Use at most two decimal places in the percentage."))


def _check_count(
    errors: _Errors,
    field: str,
    value: int | None,
    *,
    too_small: str,
    too_large: Callable[[str], str],
) -> None:
    """``too_large`` makes the message from the highest number allowed, as written."""
    if value is None:
        return
    if value < 1:
        errors.add(field, too_small)
    elif value > MAX_COUNT:
        errors.add(field, too_large(number(MAX_COUNT, 0)))


def _check_text(errors: _Errors, field: str, value: str, missing: str, max_length: int) -> None:
    if not value.strip():
        errors.add(field, missing)
    elif len(value.strip()) > max_length:
        errors.add(field, _("Use at most %(max)s characters.", max=max_length))


def _check_title(errors: _Errors, field: str, title: str, missing: str) -> None:
    """A section's or document's title, already stripped; ``missing`` says it needs one."""
    if not title:
        errors.add(field, missing)
    elif len(title) > 200:
        errors.add(
            field, _("“%(title)s…”: use at most 200 characters for a title.", title=title[:40])
        )


def _check_distinct(
    errors: _Errors, field: str, titles: Sequence[str], twice: Callable[[str], str]
) -> None:
    """``twice`` makes the message for a title listed twice."""
    for title in _duplicates(titles):
        errors.add(field, twice(title))


def _used_elsewhere(query: sa.Select[Any], id_column: Any, own: Any | None) -> Any:
    """What ``query`` finds among the rows other than ``own`` (the one being edited)."""
    if own is not None:
        query = query.where(id_column != own.id)
    return db.session.scalar(query)


def _managed(actor: User, programme: Programme) -> None:
    _require(can_manage_programme(actor, programme))


def _audit_update(
    obj: Any,
    *,
    kind: str,
    actor: User,
    before: dict[str, Any],
    after: dict[str, Any],
    now: dt.datetime,
    rules_affected: list[AffectedProposal] | None = None,
) -> None:
    """Record ``<kind>.updated``, or ``<kind>.rules_changed`` naming the affected proposals
    when ``rules_affected`` is given. An update that changed nothing leaves no event."""
    if after == before:
        return
    db.session.flush()
    action = f"{kind}.updated"
    if rules_affected is not None:
        action = f"{kind}.rules_changed"
        after = {**after, "affected_proposals": [a.reference for a in rules_affected]}
    record_event(
        actor=actor,
        action=action,
        object_type=kind,
        object_id=obj.id,
        before=before,
        after=after,
        now=now,
    )


# --- programmes --------------------------------------------------------------------------------


def _programme_state(programme: Programme) -> dict[str, Any]:
    return {
        "name": programme.name,
        "slug": programme.slug,
        "description": programme.description,
        "total_budget": plain(programme.total_budget),
        "currency": programme.currency,
        "payment_threshold": _plain_or_none(programme.payment_threshold),
        "payments_wait_for_reports": programme.payments_wait_for_reports,
        "kind": programme.kind.value,
        "retention_years_unsuccessful": programme.retention_years_unsuccessful,
        "retention_years_funded": programme.retention_years_funded,
    }


def _programme_kind(
    errors: _Errors, kind: str | None, programme: Programme | None
) -> ProgrammeKind | None:
    """The kind asked for (None: a new programme's default, an existing one's own). A
    competition with calls cannot become a membership programme, nor one holding memberships
    a competition."""
    if kind is None:
        return programme.kind if programme is not None else ProgrammeKind.COMPETITION
    try:
        chosen = ProgrammeKind(kind)
    except ValueError:
        errors.add("kind", _("Choose the kind of programme."))
        return None
    if programme is None or chosen == programme.kind:
        return chosen
    if chosen == ProgrammeKind.MEMBERSHIP and programme.calls:
        errors.add(
            "kind",
            ngettext(
                "The programme has %(num)d call; a membership programme has none.",
                "The programme has %(num)d calls; a membership programme has none.",
                len(programme.calls),
            ),
        )
    elif chosen == ProgrammeKind.COMPETITION and (held := count_memberships(programme)):
        errors.add(
            "kind",
            ngettext(
                "The programme holds %(num)d membership; it stays a membership programme.",
                "The programme holds %(num)d memberships; it stays a membership programme.",
                held,
            ),
        )
    return chosen


def _validate_programme(
    *,
    name: str,
    slug: str,
    total_budget: Decimal | None,
    programme: Programme | None,
    payment_threshold: Decimal | None = None,
    kind: str | None = None,
) -> ProgrammeKind | None:
    errors = _Errors()
    chosen = _programme_kind(errors, kind, programme)
    if payment_threshold is not None:
        _check_money(
            errors,
            "payment_threshold",
            payment_threshold,
            negative=_("Enter a threshold of 0 euro or more, or leave it empty."),
            too_large=_("Enter a threshold below one trillion euro."),
        )
    _check_text(errors, "name", name, _("Enter a name for the programme."), 200)
    if not slug:
        errors.add("slug", _("Enter a short name for addresses, like clusters4future."))
    elif len(slug) > 80 or not _PROGRAMME_SLUG.match(slug):
        errors.add(
            "slug",
            _(
                "Use at most 80 lower-case letters, digits and single hyphens, "
                "like clusters4future."
            ),
        )
    else:
        taken = _used_elsewhere(
            sa.select(Programme.id).where(Programme.slug == slug), Programme.id, programme
        )
        if taken is not None:
            errors.add(
                "slug", _("Another programme already uses “%(slug)s”; choose another.", slug=slug)
            )
    if total_budget is None:
        errors.add("total_budget", _("Enter the programme's total budget in euro."))
    else:
        _check_money(
            errors,
            "total_budget",
            total_budget,
            negative=_("Enter a total budget of 0 euro or more."),
            too_large=_("Enter a total budget below one trillion euro."),
        )
        if programme is not None and "total_budget" not in errors.by_field:
            envelopes = Decimal(
                db.session.scalar(
                    sa.select(sa.func.coalesce(sa.func.sum(Call.budget_envelope), 0)).where(
                        Call.programme_id == programme.id
                    )
                )
                or 0
            )
            if total_budget < envelopes:
                errors.add(
                    "total_budget",
                    _(
                        "The rounds' envelopes come to %(sum)s; the total budget cannot be "
                        "less. Lower the envelopes first.",
                        sum=_euro(envelopes),
                    ),
                )
    errors.raise_if_any()
    return chosen


def _check_retention(unsuccessful: int | None, funded: int | None) -> None:
    """Retention periods in years (None: the default, or unchanged)."""
    errors: dict[str, list[str]] = {}
    for key, years in (
        ("retention_years_unsuccessful", unsuccessful),
        ("retention_years_funded", funded),
    ):
        if years is not None and not retention.MIN_YEARS <= years <= retention.MAX_YEARS:
            errors[key] = [_("Enter a number of years from 1 to 50.")]
    if errors:
        raise DomainError(errors)


@operation
def create_programme(
    *,
    actor: User,
    name: str,
    slug: str = "",
    description: str = "",
    total_budget: Decimal | None,
    payment_threshold: Decimal | None = None,
    payments_wait_for_reports: bool = True,
    kind: str | None = None,
    public_fields: Iterable[str] | None = None,
    retention_years_unsuccessful: int | None = None,
    retention_years_funded: int | None = None,
    now: dt.datetime,
) -> Programme:
    """Create a programme; its creator becomes its first officer. ``kind``: ``competition``
    (the default: calls with proposals) or ``membership`` (organisations hold a membership;
    no calls). ``payment_threshold``: a payment above it needs a second officer (None: one
    officer approves any); ``payments_wait_for_reports``: payment requests are refused while
    a report is overdue; ``public_fields``: what the portal shows of funded consortia
    (``PublicField`` values; None: all of them).

    Side effects: programme and programme_officers rows; audit ``programme.created``.
    """
    _require(can_create_programme(actor))
    slug = (slug or slugify(name, separator="-")).strip().lower()
    _check_retention(retention_years_unsuccessful, retention_years_funded)
    shown = _public_fields(public_fields if public_fields is not None else list(PublicField))
    chosen = _validate_programme(
        name=name,
        slug=slug,
        total_budget=total_budget,
        programme=None,
        payment_threshold=payment_threshold,
        kind=kind,
    )
    assert total_budget is not None and chosen is not None
    programme = Programme(
        name=name.strip(),
        slug=slug,
        description=description.strip(),
        total_budget=total_budget,
        kind=chosen,
        currency="EUR",
        payment_threshold=payment_threshold,
        payments_wait_for_reports=payments_wait_for_reports,
        public_fields=shown,
        retention_years_unsuccessful=retention_years_unsuccessful
        or retention.DEFAULT_YEARS_UNSUCCESSFUL,
        retention_years_funded=retention_years_funded or retention.DEFAULT_YEARS_FUNDED,
        created_at=now,
    )
    programme.officer_rows.append(ProgrammeOfficer(user_id=actor.id))
    db.session.add(programme)
    db.session.flush()
    record_event(
        actor=actor,
        action="programme.created",
        object_type="programme",
        object_id=programme.id,
        after={**_programme_state(programme), "officers": [actor.id], "public_fields": shown},
        now=now,
    )
    log.info("programme %s created by user %s", programme.id, actor.id)
    return programme


@operation
def update_programme(
    programme: Programme,
    *,
    actor: User,
    name: str,
    slug: str,
    description: str = "",
    total_budget: Decimal | None,
    payment_threshold: Decimal | None = None,
    payments_wait_for_reports: bool = True,
    kind: str | None = None,
    public_fields: Iterable[str] | None = None,
    retention_years_unsuccessful: int | None = None,
    retention_years_funded: int | None = None,
    now: dt.datetime,
) -> Programme:
    """Change a programme's name, retention periods (None keeps them; 1 to 50 years),
    address, description, total budget, payment settings (see
    ``create_programme``; a new threshold applies to requests decided from then on), kind
    (None keeps the kind; a programme with calls stays a competition, one holding memberships
    a membership programme) or the fields the portal shows (None keeps them; see
    ``change_public_fields``).

    Side effects: audit ``programme.updated`` (nothing when nothing changed) and
    ``programme.public_fields_changed``.
    """
    _managed(actor, programme)
    slug = slug.strip().lower()
    chosen = _validate_programme(
        name=name,
        slug=slug,
        total_budget=total_budget,
        programme=programme,
        payment_threshold=payment_threshold,
        kind=kind,
    )
    assert total_budget is not None and chosen is not None
    _check_retention(retention_years_unsuccessful, retention_years_funded)
    before = _programme_state(programme)
    if retention_years_unsuccessful is not None:
        programme.retention_years_unsuccessful = retention_years_unsuccessful
    if retention_years_funded is not None:
        programme.retention_years_funded = retention_years_funded
    programme.name = name.strip()
    programme.slug = slug
    programme.description = description.strip()
    programme.total_budget = total_budget
    programme.payment_threshold = payment_threshold
    programme.payments_wait_for_reports = payments_wait_for_reports
    programme.kind = chosen
    _audit_update(
        programme,
        kind="programme",
        actor=actor,
        before=before,
        after=_programme_state(programme),
        now=now,
    )
    if public_fields is not None:
        change_public_fields(programme, actor=actor, fields=public_fields, now=now)
    return programme


def _public_fields(fields: Iterable[str]) -> list[str]:
    """The fields asked for, in the order the portal shows them; an unknown one is refused."""
    wanted = {str(f) for f in fields}
    if wanted - {f.value for f in PublicField}:
        raise DomainError({"public_fields": [_("Choose only among the fields offered.")]})
    return [f.value for f in PublicField if f.value in wanted]


@operation
def change_public_fields(
    programme: Programme, *, actor: User, fields: Iterable[str], now: dt.datetime
) -> bool:
    """Choose what the public portal and the open data show of the programme's funded
    consortia (``PublicField`` values); their title and acronym are public in any case.
    Returns whether anything changed.

    Side effects: audit ``programme.public_fields_changed`` with the fields before and after
    (nothing when they stay the same).
    """
    _managed(actor, programme)
    chosen = _public_fields(fields)
    before = list(programme.public_fields or ())
    if set(before) == set(chosen):
        return False
    programme.public_fields = chosen
    db.session.flush()
    record_event(
        actor=actor,
        action="programme.public_fields_changed",
        object_type="programme",
        object_id=programme.id,
        before={"public_fields": before},
        after={"public_fields": chosen},
        now=now,
    )
    log.info("programme %s public fields changed by user %s", programme.id, actor.id)
    return True


# --- calls -------------------------------------------------------------------------------------


def _call_state(call: Call) -> dict[str, Any]:
    cap = call.max_public_funding_per_proposal
    share = call.min_private_share
    return {
        "name": call.name,
        "round_number": call.round_number,
        "reference_prefix": call.reference_prefix,
        "description": call.description,
        "max_public_funding_per_proposal": plain(cap) if cap is not None else None,
        "min_private_share": plain(share) if share is not None else None,
        "funding_rates": {
            kind: plain(Decimal(str(rate)))
            for kind, rate in sorted((call.funding_rates or {}).items())
        },
        "region_scope": sorted(call.region_scope or ()),
        "reviews_hidden_until_own": call.reviews_hidden_until_own,
        "budget_years": call.budget_years,
        "max_public_funding_per_year": _plain_or_none(call.max_public_funding_per_year),
        "cost_categories": [dict(c) for c in call.cost_categories or ()],
        "budget_envelope": _plain_or_none(call.budget_envelope),
        "phase_years": call.phase_years,
    }


def _plain_or_none(value: Decimal | None) -> str | None:
    return plain(value) if value is not None else None


@dataclass(frozen=True)
class _CallValues:
    name: str
    round_number: int | None
    reference_prefix: str
    description: str
    max_public_funding_per_proposal: Decimal | None
    min_private_share: Decimal | None
    funding_rates: dict[str, str]
    region_scope: list[str]
    reviews_hidden_until_own: bool
    budget_years: int
    max_public_funding_per_year: Decimal | None
    cost_categories: list[dict[str, str]]
    budget_envelope: Decimal | None
    phase_years: int

    def apply(self, call: Call) -> None:
        assert self.round_number is not None
        call.name = self.name
        call.round_number = self.round_number
        call.reference_prefix = self.reference_prefix
        call.description = self.description
        call.reviews_hidden_until_own = self.reviews_hidden_until_own
        call.budget_envelope = self.budget_envelope
        call.phase_years = self.phase_years
        self.apply_rules(call)

    def apply_rules(self, call: Call) -> None:
        call.max_public_funding_per_proposal = self.max_public_funding_per_proposal
        call.min_private_share = self.min_private_share
        call.funding_rates = dict(self.funding_rates)
        call.region_scope = list(self.region_scope)
        call.budget_years = self.budget_years
        call.max_public_funding_per_year = self.max_public_funding_per_year
        call.cost_categories = [dict(c) for c in self.cost_categories]


def _validate_call(
    programme: Programme,
    call: Call | None,
    *,
    name: str,
    round_number: int | None,
    reference_prefix: str,
    description: str,
    max_public_funding_per_proposal: Decimal | None,
    min_private_share: Decimal | None,
    funding_rates: Mapping[str, Decimal | None],
    region_scope: Iterable[str],
    reviews_hidden_until_own: bool,
    budget_years: int | None,
    max_public_funding_per_year: Decimal | None,
    cost_categories: Sequence[CategorySpec],
    budget_envelope: Decimal | None,
    phase_years: int | None,
) -> _CallValues:
    errors = _Errors()
    _check_text(errors, "name", name, _("Enter a name for the call."), 200)
    if round_number is None:
        errors.add("round_number", _("Enter the round number, like 1 for the first round."))
    elif round_number < 1 or round_number > 1000:
        errors.add("round_number", _("The round number must be between 1 and 1,000."))
    else:
        other = _used_elsewhere(
            sa.select(Call.name).where(
                Call.programme_id == programme.id, Call.round_number == round_number
            ),
            Call.id,
            call,
        )
        if other is not None:
            errors.add(
                "round_number",
                _(
                    "Round %(round)s of this programme is already “%(name)s”; "
                    "choose another number.",
                    round=round_number,
                    name=other,
                ),
            )
    prefix = reference_prefix.strip().upper()
    if not prefix:
        errors.add("reference_prefix", _("Enter a prefix for proposal references, like C4F1."))
    elif len(prefix) > 20 or not _REFERENCE_PREFIX.match(prefix):
        errors.add(
            "reference_prefix",
            _("Use at most 20 letters, digits and hyphens, starting with a letter or digit."),
        )
    else:
        other = _used_elsewhere(
            sa.select(Call.name).where(Call.reference_prefix == prefix), Call.id, call
        )
        if other is not None:
            errors.add(
                "reference_prefix",
                _("“%(name)s” already uses %(prefix)s; choose another.", name=other, prefix=prefix),
            )
        elif call is not None and prefix != call.reference_prefix and has_proposals(call):
            errors.add(
                "reference_prefix",
                _(
                    "Proposals already carry references starting with %(prefix)s; "
                    "the prefix can no longer change.",
                    prefix=call.reference_prefix,
                ),
            )
    _check_money(
        errors,
        "max_public_funding_per_proposal",
        max_public_funding_per_proposal,
        negative=_("Enter a maximum of 0 euro or more."),
        too_large=_("Enter a maximum below one trillion euro."),
    )
    _check_share(errors, "min_private_share", min_private_share)
    kinds = {kind.value for kind in OrganisationKind}
    rates: dict[str, str] = {}
    for kind, rate in funding_rates.items():
        if kind not in kinds:
            errors.add("", _("“%(kind)s” is not a kind of organisation.", kind=kind))
            continue
        if rate is None:
            continue
        _check_share(errors, f"funding_rate_{kind}", rate)
        if rate.is_finite():
            rates[kind] = plain(rate)
    states = {state.value for state in FederalState}
    scope = sorted(set(region_scope))
    unknown = [code for code in scope if code not in states]
    if unknown:
        errors.add(
            "region_scope",
            _("Not a German federal state: %(codes)s.", codes=", ".join(unknown)),
        )
    if budget_years is None or not 1 <= budget_years <= MAX_BUDGET_YEARS:
        errors.add("budget_years", _("Enter how many years a budget runs over, from 1 to 9."))
    _check_money(
        errors,
        "max_public_funding_per_year",
        max_public_funding_per_year,
        negative=_("Enter a maximum of 0 euro or more."),
        too_large=_("Enter a maximum below one trillion euro."),
    )
    categories = _categories(errors, call, cost_categories)
    _check_envelope(errors, programme, call, budget_envelope)
    if phase_years is None or not 1 <= phase_years <= MAX_BUDGET_YEARS:
        errors.add(
            "phase_years",
            _("Enter how many years each funded phase lasts, from 1 to 9."),
        )
    errors.raise_if_any()
    assert budget_years is not None and phase_years is not None
    return _CallValues(
        name=name.strip(),
        round_number=round_number,
        reference_prefix=prefix,
        description=description.strip(),
        max_public_funding_per_proposal=max_public_funding_per_proposal,
        min_private_share=min_private_share,
        funding_rates=dict(sorted(rates.items())),
        region_scope=scope,
        reviews_hidden_until_own=bool(reviews_hidden_until_own),
        budget_years=budget_years,
        max_public_funding_per_year=max_public_funding_per_year,
        cost_categories=categories,
        budget_envelope=budget_envelope,
        phase_years=phase_years,
    )


def _categories(
    errors: _Errors, call: Call | None, specs: Sequence[CategorySpec]
) -> list[dict[str, str]]:
    """The categories with their keys: a category keeps its key while its English name stays
    (so budget lines stay in it), a new one gets a slug of the name."""
    names = [spec.name_en.strip() for spec in specs]
    seen: set[str] = set()
    for spec, name in zip(specs, names, strict=True):
        if len(name) > 100 or len(spec.name_de.strip()) > 100:
            errors.add("cost_categories", _("Keep each name of a cost category to 100 characters."))
            return []
        if name.casefold() in seen:
            errors.add(
                "cost_categories",
                _("“%(name)s” is named twice; give each cost category once.", name=name),
            )
            return []
        seen.add(name.casefold())
    if len(specs) > MAX_CATEGORIES:
        errors.add("cost_categories", _("Give at most 30 cost categories."))
        return []
    existing = (
        [{"title": c["name_en"], "key": c["key"]} for c in (call.cost_categories or [])]
        if call
        else []
    )
    keys = _keyed(names, existing, "category")
    return [
        {"key": key, "name_en": name, "name_de": spec.name_de.strip()}
        for key, name, spec in zip(keys, names, specs, strict=True)
    ]


def _euro(value: Decimal) -> str:
    return say(money(value))


def _check_envelope(
    errors: _Errors, programme: Programme, call: Call | None, envelope: Decimal | None
) -> None:
    """A round's envelope is part of the programme's total: the envelopes of all its rounds
    together may not exceed it."""
    if envelope is None:
        return
    _check_money(
        errors,
        "budget_envelope",
        envelope,
        negative=_("Enter an envelope of 0 euro or more."),
        too_large=_("Enter an envelope below one trillion euro."),
    )
    if not envelope.is_finite() or envelope < 0 or envelope >= MAX_MONEY:
        return
    query = sa.select(sa.func.coalesce(sa.func.sum(Call.budget_envelope), 0)).where(
        Call.programme_id == programme.id
    )
    if call is not None and call.id is not None:
        query = query.where(Call.id != call.id)
    others = Decimal(db.session.scalar(query) or 0)
    if others + envelope > programme.total_budget:
        errors.add(
            "budget_envelope",
            _(
                "The rounds' envelopes would come to %(sum)s, more than the programme's total "
                "budget of %(total)s; the other rounds already hold %(others)s.",
                sum=_euro(others + envelope),
                total=_euro(programme.total_budget),
                others=_euro(others),
            ),
        )


@operation
def create_call(
    programme: Programme,
    *,
    actor: User,
    name: str,
    round_number: int | None,
    reference_prefix: str,
    description: str = "",
    max_public_funding_per_proposal: Decimal | None = None,
    min_private_share: Decimal | None = None,
    funding_rates: Mapping[str, Decimal | None] | None = None,
    region_scope: Iterable[str] = (),
    reviews_hidden_until_own: bool = True,
    budget_years: int | None = 3,
    max_public_funding_per_year: Decimal | None = None,
    cost_categories: Sequence[CategorySpec] = (),
    budget_envelope: Decimal | None = None,
    phase_years: int | None = 3,
    now: dt.datetime,
) -> Call:
    """Open a new round of a programme, as a draft, with the rules proposals are checked against.

    Shares and rates are fractions (Decimal("0.85") for 85 %). ``reviews_hidden_until_own``:
    blind reviews, a juror reads the other jurors' reviews of a proposal only after submitting
    their own. The envelope is this round's part of the programme's total budget; all rounds'
    envelopes together stay within it. A funded project runs in phases of ``phase_years``
    years, each but the last ended by an interim evaluation. A membership programme takes no
    calls. Side effects: a call row; audit ``call.created``.
    """
    _managed(actor, programme)
    if programme.is_membership:
        raise DomainError(
            _(
                "%(programme)s is a membership programme: organisations apply for membership, "
                "not through calls.",
                programme=programme.name,
            )
        )
    values = _validate_call(
        programme,
        None,
        name=name,
        round_number=round_number,
        reference_prefix=reference_prefix,
        description=description,
        max_public_funding_per_proposal=max_public_funding_per_proposal,
        min_private_share=min_private_share,
        funding_rates=funding_rates or {},
        region_scope=region_scope,
        reviews_hidden_until_own=reviews_hidden_until_own,
        budget_years=budget_years,
        max_public_funding_per_year=max_public_funding_per_year,
        cost_categories=cost_categories,
        budget_envelope=budget_envelope,
        phase_years=phase_years,
    )
    call = Call(programme=programme, state=CallState.DRAFT, created_at=now)
    values.apply(call)
    db.session.add(call)
    db.session.flush()
    record_event(
        actor=actor,
        action="call.created",
        object_type="call",
        object_id=call.id,
        after={**_call_state(call), "programme_id": programme.id},
        now=now,
    )
    log.info("call %s created in programme %s by user %s", call.id, programme.id, actor.id)
    return call


@operation
def update_call(
    call: Call,
    *,
    actor: User,
    name: str,
    round_number: int | None,
    reference_prefix: str,
    description: str = "",
    max_public_funding_per_proposal: Decimal | None = None,
    min_private_share: Decimal | None = None,
    funding_rates: Mapping[str, Decimal | None] | None = None,
    region_scope: Iterable[str] = (),
    reviews_hidden_until_own: bool = True,
    budget_years: int | None = 3,
    max_public_funding_per_year: Decimal | None = None,
    cost_categories: Sequence[CategorySpec] = (),
    budget_envelope: Decimal | None = None,
    phase_years: int | None = 3,
    confirmed_breaking: int | None = None,
    now: dt.datetime,
) -> Call:
    """Change a call and its rules.

    A change of the rules that would make the latest submitted version of some proposals fail
    raises RulesWouldBreak unless ``confirmed_breaking`` equals their number. Side effects:
    audit ``call.rules_changed`` (rules changed; names the affected references) or
    ``call.updated`` (anything else changed).
    """
    _managed(actor, call.programme)
    values = _validate_call(
        call.programme,
        call,
        name=name,
        round_number=round_number,
        reference_prefix=reference_prefix,
        description=description,
        max_public_funding_per_proposal=max_public_funding_per_proposal,
        min_private_share=min_private_share,
        funding_rates=funding_rates or {},
        region_scope=region_scope,
        reviews_hidden_until_own=reviews_hidden_until_own,
        budget_years=budget_years,
        max_public_funding_per_year=max_public_funding_per_year,
        cost_categories=cost_categories,
        budget_envelope=budget_envelope,
        phase_years=phase_years,
    )
    before = _call_state(call)
    proposed = Call()  # transient, never added: only carries the proposed rules
    values.apply_rules(proposed)
    rules_changed = any(_call_state(proposed)[key] != before[key] for key in CALL_RULE_FIELDS)
    affected: list[AffectedProposal] = []
    if rules_changed:
        affected = breaking_submissions(list(call.stages), proposed_call=proposed)
        if affected and confirmed_breaking != len(affected):
            raise RulesWouldBreak(affected)
    values.apply(call)
    _audit_update(
        call,
        kind="call",
        actor=actor,
        before=before,
        after=_call_state(call),
        now=now,
        rules_affected=affected if rules_changed else None,
    )
    if affected:
        log.info(
            "call %s rules changed by user %s; %d submitted proposals no longer pass",
            call.id,
            actor.id,
            len(affected),
        )
    return call


# --- stages ------------------------------------------------------------------------------------


def _stage_state(stage: Stage) -> dict[str, Any]:
    # An interim evaluation names its phase; the competition's stages keep their record.
    evaluated = {"evaluates_phase": stage.evaluates_phase} if stage.evaluates_phase else {}
    return {
        **evaluated,
        "position": stage.position,
        "kind": stage.kind,
        "name": stage.name,
        "opens_at": stage.opens_at,
        "closes_at": stage.closes_at,
        "required_sections": list(stage.required_sections or ()),
        "attachment_rules": list(stage.attachment_rules or ()),
        "reviewers_per_proposal": stage.reviewers_per_proposal,
        "max_load_per_juror": stage.max_load_per_juror,
        "selection_target": stage.selection_target,
        "reviews_due_at": stage.reviews_due_at,
        "bidding_enabled": stage.bidding_enabled,
        "bidding_opens_at": stage.bidding_opens_at,
        "bidding_closes_at": stage.bidding_closes_at,
        "min_comment_chars": stage.min_comment_chars,
        "concept_grant_amount": _plain_or_none(stage.concept_grant_amount),
        "concept_grant_months": stage.concept_grant_months,
    }


@dataclass(frozen=True)
class _StageValues:
    kind: StageKind
    name: str
    opens_at: dt.datetime
    closes_at: dt.datetime
    required_sections: list[dict[str, Any]]
    attachment_rules: list[dict[str, Any]]
    reviewers_per_proposal: int
    max_load_per_juror: int
    selection_target: int | None
    review: _ReviewSettings
    concept_grant_amount: Decimal | None = None
    concept_grant_months: int | None = None

    def apply(self, stage: Stage) -> None:
        stage.kind = self.kind
        stage.name = self.name
        self.apply_rules(stage)
        stage.reviewers_per_proposal = self.reviewers_per_proposal
        stage.max_load_per_juror = self.max_load_per_juror
        stage.selection_target = self.selection_target
        self.review.apply(stage)
        stage.concept_grant_amount = self.concept_grant_amount
        stage.concept_grant_months = self.concept_grant_months

    def apply_rules(self, stage: Stage) -> None:
        stage.opens_at = self.opens_at
        stage.closes_at = self.closes_at
        stage.required_sections = [dict(s) for s in self.required_sections]
        stage.attachment_rules = [dict(a) for a in self.attachment_rules]


@dataclass(frozen=True)
class _ReviewSettings:
    """When reviews are due, when jurors bid, and how long a comment must be."""

    reviews_due_at: dt.datetime | None
    bidding_enabled: bool
    bidding_opens_at: dt.datetime | None
    bidding_closes_at: dt.datetime | None
    min_comment_chars: int

    def apply(self, stage: Stage) -> None:
        stage.reviews_due_at = self.reviews_due_at
        stage.bidding_enabled = self.bidding_enabled
        stage.bidding_opens_at = self.bidding_opens_at
        stage.bidding_closes_at = self.bidding_closes_at
        stage.min_comment_chars = self.min_comment_chars


def _utc(moment: dt.datetime | None, name: str) -> dt.datetime | None:
    if moment is None:
        return None
    _require_aware(moment, name)
    return moment.astimezone(dt.UTC)


def _validate_review_settings(
    errors: _Errors,
    *,
    closes_at: dt.datetime | None,
    reviews_due_at: dt.datetime | None,
    bidding_enabled: bool,
    bidding_opens_at: dt.datetime | None,
    bidding_closes_at: dt.datetime | None,
    min_comment_chars: int | None,
) -> _ReviewSettings | None:
    """Reviews fall due after submission closes; a bidding window, required while bidding is
    on, opens before it closes and closes by the review due date (jurors bid before they are
    assigned). The window is kept when bidding is switched off, so switching it on again
    restores it."""
    due = _utc(reviews_due_at, "reviews_due_at")
    opens = _utc(bidding_opens_at, "bidding_opens_at")
    closes = _utc(bidding_closes_at, "bidding_closes_at")
    problems = len(errors.by_field)
    if due is not None and closes_at is not None and due <= closes_at:
        errors.add(
            "reviews_due_at",
            _(
                "Reviews must be due after submission closes (%(closes)s).",
                closes=local_time(closes_at),
            ),
        )
    if bidding_enabled and opens is None:
        errors.add("bidding_opens_at", _("Enter when bidding opens, or switch bidding off."))
    if bidding_enabled and closes is None:
        errors.add("bidding_closes_at", _("Enter when bidding closes, or switch bidding off."))
    if (opens is None) != (closes is None) and not bidding_enabled:
        field = "bidding_closes_at" if closes is None else "bidding_opens_at"
        errors.add(field, _("Enter both ends of the bidding window, or neither."))
    if opens is not None and closes is not None and closes <= opens:
        errors.add("bidding_closes_at", _("Bidding must close after it opens."))
    elif closes is not None and due is not None and closes > due:
        errors.add(
            "bidding_closes_at",
            _(
                "Bidding must close by the time reviews are due (%(due)s): "
                "jurors bid before they are assigned.",
                due=local_time(due),
            ),
        )
    if min_comment_chars is None:
        errors.add(
            "min_comment_chars",
            _("Enter the shortest comment for the applicant, in characters; 0 for no minimum."),
        )
    elif not 0 <= min_comment_chars <= MAX_MIN_COMMENT_CHARS:
        errors.add(
            "min_comment_chars",
            _(
                "The minimum must be between 0 and %(max)s characters.",
                max=number(MAX_MIN_COMMENT_CHARS, 0),
            ),
        )
    if len(errors.by_field) > problems or min_comment_chars is None:
        return None
    return _ReviewSettings(
        reviews_due_at=due,
        bidding_enabled=bool(bidding_enabled),
        bidding_opens_at=opens,
        bidding_closes_at=closes,
        min_comment_chars=min_comment_chars,
    )


def _validate_stage(
    stage: Stage | None,
    *,
    kind: StageKind | str | None,
    name: str,
    opens_at: dt.datetime | None,
    closes_at: dt.datetime | None,
    sections: Sequence[SectionSpec],
    attachment_rules: Sequence[AttachmentSpec],
    reviewers_per_proposal: int | None,
    max_load_per_juror: int | None,
    selection_target: int | None,
    reviews_due_at: dt.datetime | None,
    bidding_enabled: bool,
    bidding_opens_at: dt.datetime | None,
    bidding_closes_at: dt.datetime | None,
    min_comment_chars: int | None,
    evaluation: bool = False,
    concept_grant_amount: Decimal | None = None,
    concept_grant_months: int | None = None,
) -> _StageValues:
    """``evaluation``: the stage is made as an interim evaluation of funded grants (which only
    ``add_evaluation_stage`` does)."""
    errors = _Errors()
    try:
        stage_kind = StageKind(kind) if kind is not None else None
    except ValueError:
        stage_kind = None
    was_evaluation = evaluation or (stage is not None and stage.is_evaluation)
    if stage_kind is None:
        errors.add("kind", _("Choose the kind of stage: outline, full proposal or hearing."))
    elif stage_kind == StageKind.INTERIM_EVALUATION and not was_evaluation:
        errors.add(
            "kind",
            _(
                "An interim evaluation is started from the call's funded grants, not set up as "
                "a stage of the competition."
            ),
        )
    elif was_evaluation and stage_kind != StageKind.INTERIM_EVALUATION:
        errors.add(
            "kind",
            _("An interim evaluation stays one: it evaluates a phase of the call's grants."),
        )
    elif stage is not None and stage.kind == StageKind.HEARING and stage_kind != StageKind.HEARING:
        slots = count_hearing_slots(stage)
        if slots:
            errors.add(
                "kind",
                ngettext(
                    "This hearing has %(num)d slot; remove it on the hearing page before the "
                    "stage becomes another kind.",
                    "This hearing has %(num)d slots; remove them on the hearing page before the "
                    "stage becomes another kind.",
                    slots,
                ),
            )
    _check_text(errors, "name", name, _("Enter a name for the stage."), 200)
    if opens_at is None:
        errors.add("opens_at", _("Enter when submission opens."))
    else:
        _require_aware(opens_at, "opens_at")
    if closes_at is None:
        errors.add("closes_at", _("Enter when submission closes."))
    else:
        _require_aware(closes_at, "closes_at")
    if opens_at is not None and closes_at is not None and closes_at <= opens_at:
        errors.add("closes_at", _("The window must close after it opens."))

    titles = [s.title.strip() for s in sections]
    for spec, title in zip(sections, titles, strict=True):
        _check_title(errors, "sections", title, _("Every section needs a title."))
        if spec.max_chars < 1 or spec.max_chars > MAX_SECTION_CHARS:
            errors.add(
                "sections",
                _(
                    "“%(title)s”: the limit must be between 1 and %(max)s characters.",
                    title=title,
                    max=number(MAX_SECTION_CHARS, 0),
                ),
            )
    _check_distinct(
        errors,
        "sections",
        titles,
        lambda title: _(
            "“%(title)s” is listed twice; give each section its own title.", title=title
        ),
    )

    attachment_titles = [a.title.strip() for a in attachment_rules]
    for spec, title in zip(attachment_rules, attachment_titles, strict=True):
        _check_title(errors, "attachment_rules", title, _("Every document needs a title."))
        if spec.max_pages is not None and not 1 <= spec.max_pages <= MAX_PAGES:
            errors.add(
                "attachment_rules",
                _(
                    "“%(title)s”: the page limit must be between 1 and %(max)s, or none.",
                    title=title,
                    max=number(MAX_PAGES, 0),
                ),
            )
        if spec.max_bytes is not None and not 1 <= spec.max_bytes <= MAX_BYTES:
            errors.add(
                "attachment_rules",
                _(
                    "“%(title)s”: the size limit must be more than 0 and at most 2,047 MB, "
                    "or none.",
                    title=title,
                ),
            )
    _check_distinct(
        errors,
        "attachment_rules",
        attachment_titles,
        lambda title: _(
            "“%(title)s” is listed twice; give each document its own title.", title=title
        ),
    )

    if reviewers_per_proposal is None:
        errors.add("reviewers_per_proposal", _("Enter how many jurors review each proposal."))
    _check_count(
        errors,
        "reviewers_per_proposal",
        reviewers_per_proposal,
        too_small=_("Jurors per proposal must be at least 1."),
        too_large=lambda most: _("Jurors per proposal must be at most %(max)s.", max=most),
    )
    if max_load_per_juror is None:
        errors.add("max_load_per_juror", _("Enter how many proposals a juror reviews at most."))
    _check_count(
        errors,
        "max_load_per_juror",
        max_load_per_juror,
        too_small=_("The maximum load must be at least 1."),
        too_large=lambda most: _("The maximum load must be at most %(max)s.", max=most),
    )
    _check_count(
        errors,
        "selection_target",
        selection_target,
        too_small=_("The selection target must be at least 1."),
        too_large=lambda most: _("The selection target must be at most %(max)s.", max=most),
    )
    review = _validate_review_settings(
        errors,
        closes_at=closes_at,
        reviews_due_at=reviews_due_at,
        bidding_enabled=bidding_enabled,
        bidding_opens_at=bidding_opens_at,
        bidding_closes_at=bidding_closes_at,
        min_comment_chars=min_comment_chars,
    )
    _check_concept_grant(errors, concept_grant_amount, concept_grant_months)
    errors.raise_if_any()
    assert stage_kind is not None and opens_at is not None and closes_at is not None
    assert reviewers_per_proposal is not None and max_load_per_juror is not None
    assert review is not None

    old_sections = list(stage.required_sections or ()) if stage is not None else []
    old_attachments = list(stage.attachment_rules or ()) if stage is not None else []
    section_keys = _keyed(titles, old_sections, "section")
    attachment_keys = _keyed(attachment_titles, old_attachments, "document")
    return _StageValues(
        kind=stage_kind,
        name=name.strip(),
        opens_at=opens_at.astimezone(dt.UTC),
        closes_at=closes_at.astimezone(dt.UTC),
        required_sections=[
            {"key": key, "title": title, "max_chars": spec.max_chars, "required": spec.required}
            for key, title, spec in zip(section_keys, titles, sections, strict=True)
        ],
        attachment_rules=[
            {
                "key": key,
                "title": title,
                "required": spec.required,
                "max_pages": spec.max_pages,
                "max_bytes": spec.max_bytes,
            }
            for key, title, spec in zip(
                attachment_keys, attachment_titles, attachment_rules, strict=True
            )
        ],
        reviewers_per_proposal=reviewers_per_proposal,
        max_load_per_juror=max_load_per_juror,
        selection_target=selection_target,
        review=review,
        concept_grant_amount=concept_grant_amount,
        concept_grant_months=concept_grant_months,
    )


def _check_concept_grant(errors: _Errors, amount: Decimal | None, months: int | None) -> None:
    """Advancing from a stage may fund a concept phase: an amount per proposal for a number
    of months (1 to 24), both given or neither."""
    _check_money(
        errors,
        "concept_grant_amount",
        amount,
        negative=_("Enter an amount above 0 euro, or leave both fields empty."),
        too_large=_("Enter an amount below one trillion euro."),
    )
    if amount is not None and amount.is_finite() and amount == 0:
        errors.add(
            "concept_grant_amount", _("Enter an amount above 0 euro, or leave both fields empty.")
        )
    if months is not None and not 1 <= months <= MAX_CONCEPT_MONTHS:
        errors.add("concept_grant_months", _("A concept phase lasts from 1 to 24 months."))
    if amount is not None and months is None:
        errors.add(
            "concept_grant_months",
            _("Enter how many months the funded concept phase lasts, or leave the amount empty."),
        )
    if months is not None and amount is None:
        errors.add(
            "concept_grant_amount",
            _("Enter the amount each concept phase is funded with, or leave the months empty."),
        )


def _duplicates(titles: Sequence[str]) -> list[str]:
    seen: set[str] = set()
    repeated: list[str] = []
    for title in titles:
        folded = title.casefold()
        if folded and folded in seen and title not in repeated:
            repeated.append(title)
        seen.add(folded)
    return repeated


def _append_stage(
    call: Call,
    values: _StageValues,
    *,
    actor: User,
    now: dt.datetime,
    evaluates_phase: int | None = None,
) -> Stage:
    """The stage after the call's last one, with the validated ``values``; audited."""
    last = db.session.scalar(sa.select(sa.func.max(Stage.position)).where(Stage.call_id == call.id))
    stage = Stage(call=call, position=(last or 0) + 1, evaluates_phase=evaluates_phase)
    values.apply(stage)
    db.session.add(stage)
    db.session.flush()
    record_event(
        actor=actor,
        action="stage.added",
        object_type="stage",
        object_id=stage.id,
        after={**_stage_state(stage), "call_id": call.id},
        now=now,
    )
    return stage


@operation
def add_stage(
    call: Call,
    *,
    actor: User,
    kind: StageKind | str | None,
    name: str,
    opens_at: dt.datetime | None,
    closes_at: dt.datetime | None,
    sections: Sequence[SectionSpec] = (),
    attachment_rules: Sequence[AttachmentSpec] = (),
    reviewers_per_proposal: int | None = 3,
    max_load_per_juror: int | None = 10,
    selection_target: int | None = None,
    reviews_due_at: dt.datetime | None = None,
    bidding_enabled: bool = False,
    bidding_opens_at: dt.datetime | None = None,
    bidding_closes_at: dt.datetime | None = None,
    min_comment_chars: int | None = DEFAULT_MIN_COMMENT_CHARS,
    concept_grant_amount: Decimal | None = None,
    concept_grant_months: int | None = None,
    now: dt.datetime,
) -> Stage:
    """Append a stage to the call. Times are UTC-aware. ``reviews_due_at`` ends the review
    phase and times the jurors' reminders; while ``bidding_enabled`` jurors bid from
    ``bidding_opens_at`` until ``bidding_closes_at``; ``min_comment_chars`` is the shortest
    comment for the applicant a review may be submitted with. Advancing from the stage funds a
    concept phase of ``concept_grant_amount`` for ``concept_grant_months`` when both are given.

    Side effects: a stage row; audit ``stage.added``.
    """
    _managed(actor, call.programme)
    if any(stage.is_evaluation for stage in call.stages):
        # The competition's stages come before its grants' interim evaluations.
        raise DomainError(
            _(
                "The competition of this call is over: its funded grants are being evaluated. "
                "A stage can no longer be added to it."
            )
        )
    values = _validate_stage(
        None,
        kind=kind,
        name=name,
        opens_at=opens_at,
        closes_at=closes_at,
        sections=sections,
        attachment_rules=attachment_rules,
        reviewers_per_proposal=reviewers_per_proposal,
        max_load_per_juror=max_load_per_juror,
        selection_target=selection_target,
        reviews_due_at=reviews_due_at,
        bidding_enabled=bidding_enabled,
        bidding_opens_at=bidding_opens_at,
        bidding_closes_at=bidding_closes_at,
        min_comment_chars=min_comment_chars,
        concept_grant_amount=concept_grant_amount,
        concept_grant_months=concept_grant_months,
    )
    return _append_stage(call, values, actor=actor, now=now)


@operation
def add_evaluation_stage(
    call: Call,
    *,
    actor: User,
    phase: int,
    name: str,
    opens_at: dt.datetime | None,
    closes_at: dt.datetime | None,
    sections: Sequence[SectionSpec],
    reviewers_per_proposal: int | None,
    max_load_per_juror: int | None,
    reviews_due_at: dt.datetime | None,
    min_comment_chars: int | None = DEFAULT_MIN_COMMENT_CHARS,
    now: dt.datetime,
) -> Stage:
    """Append an interim evaluation of the call's funded grants at the end of ``phase`` (their
    consortia submit a report, the next phase's plan and its budget; jurors review it as any
    stage). It comes after every stage of the competition and is no stage of it. The grants
    area starts it (``grants.evaluations.operations.start_interim_evaluation``).

    Side effects: a stage row; audit ``stage.added``.
    """
    _managed(actor, call.programme)
    values = _validate_stage(
        None,
        kind=StageKind.INTERIM_EVALUATION,
        name=name,
        opens_at=opens_at,
        closes_at=closes_at,
        sections=sections,
        attachment_rules=(),
        reviewers_per_proposal=reviewers_per_proposal,
        max_load_per_juror=max_load_per_juror,
        selection_target=None,
        reviews_due_at=reviews_due_at,
        bidding_enabled=False,
        bidding_opens_at=None,
        bidding_closes_at=None,
        min_comment_chars=min_comment_chars,
        evaluation=True,
    )
    return _append_stage(call, values, actor=actor, now=now, evaluates_phase=phase)


@operation
def update_stage(
    stage: Stage,
    *,
    actor: User,
    kind: StageKind | str | None,
    name: str,
    opens_at: dt.datetime | None,
    closes_at: dt.datetime | None,
    sections: Sequence[SectionSpec] = (),
    attachment_rules: Sequence[AttachmentSpec] = (),
    reviewers_per_proposal: int | None,
    max_load_per_juror: int | None,
    selection_target: int | None = None,
    reviews_due_at: dt.datetime | None = None,
    bidding_enabled: bool = False,
    bidding_opens_at: dt.datetime | None = None,
    bidding_closes_at: dt.datetime | None = None,
    min_comment_chars: int | None = DEFAULT_MIN_COMMENT_CHARS,
    concept_grant_amount: Decimal | None = None,
    concept_grant_months: int | None = None,
    confirmed_breaking: int | None = None,
    now: dt.datetime,
) -> Stage:
    """Change a stage. Sections keep their keys while their titles stay the same, so text
    already written stays attached to them.

    A change of sections or attachment rules that would make submitted versions fail raises
    RulesWouldBreak unless ``confirmed_breaking`` equals their number. Side effects: audit
    ``stage.rules_changed`` (names the affected references) or ``stage.updated``.
    """
    _managed(actor, stage.call.programme)
    values = _validate_stage(
        stage,
        kind=kind,
        name=name,
        opens_at=opens_at,
        closes_at=closes_at,
        sections=sections,
        attachment_rules=attachment_rules,
        reviewers_per_proposal=reviewers_per_proposal,
        max_load_per_juror=max_load_per_juror,
        selection_target=selection_target,
        reviews_due_at=reviews_due_at,
        bidding_enabled=bidding_enabled,
        bidding_opens_at=bidding_opens_at,
        bidding_closes_at=bidding_closes_at,
        min_comment_chars=min_comment_chars,
        concept_grant_amount=concept_grant_amount,
        concept_grant_months=concept_grant_months,
    )
    before = _stage_state(stage)
    proposed = Stage()  # transient, never added: only carries the proposed rules
    values.apply_rules(proposed)
    rules_changed = any(_stage_state(proposed)[key] != before[key] for key in STAGE_RULE_FIELDS)
    affected: list[AffectedProposal] = []
    if rules_changed:
        affected = breaking_submissions([stage], proposed_stage=proposed)
        if affected and confirmed_breaking != len(affected):
            raise RulesWouldBreak(affected)
    values.apply(stage)
    _audit_update(
        stage,
        kind="stage",
        actor=actor,
        before=before,
        after=_stage_state(stage),
        now=now,
        rules_affected=affected if rules_changed else None,
    )
    return stage


@operation
def remove_stage(stage: Stage, *, actor: User, now: dt.datetime) -> None:
    """Delete a stage and its criteria, only while no proposal has material for it.

    Side effects: stage and criteria rows deleted; audit ``stage.removed``.
    """
    _managed(actor, stage.call.programme)
    if stage_has_submissions(stage):
        raise DomainError(
            _(
                "Proposals have already started or submitted material for “%(name)s”; "
                "the stage can no longer be removed.",
                name=stage.name,
            )
        )
    slots = count_hearing_slots(stage) if stage.kind == StageKind.HEARING else 0
    if slots:
        raise DomainError(
            ngettext(
                "The hearing “%(name)s” has %(num)d slot; remove it on the hearing page before "
                "the stage.",
                "The hearing “%(name)s” has %(num)d slots; remove them on the hearing page "
                "before the stage.",
                slots,
                name=stage.name,
            )
        )
    before = {
        **_stage_state(stage),
        "call_id": stage.call_id,
        "criteria": [_criterion_state(c) for c in stage.criteria],
    }
    stage_id = stage.id
    stage.call.stages.remove(stage)
    db.session.delete(stage)
    db.session.flush()
    record_event(
        actor=actor,
        action="stage.removed",
        object_type="stage",
        object_id=stage_id,
        before=before,
        now=now,
    )


def _swap_positions(first: Any, second: Any) -> None:
    """Swap two rows' positions under a (parent, position) unique constraint that is checked
    row by row: park one on a position no row uses, then move both."""
    a, b = first.position, second.position
    first.position = -1
    db.session.flush()
    second.position = a
    db.session.flush()
    first.position = b
    db.session.flush()


def _neighbour(items: Sequence[Any], item: Any, offset: int) -> Any | None:
    ordered = sorted(items, key=lambda x: x.position)
    index = ordered.index(item) + offset
    return ordered[index] if 0 <= index < len(ordered) else None


def _move(
    item: Any, siblings: Sequence[Any], *, kind: str, actor: User, offset: int, now: dt.datetime
) -> bool:
    """Swap ``item`` with its neighbour in ``siblings``; False when it is already at that end."""
    if offset not in (-1, 1):
        if kind == "stage":
            raise DomainError(_("A stage moves one place up or down."))
        raise DomainError(_("A criterion moves one place up or down."))
    other = _neighbour(siblings, item, offset)
    if other is None:
        return False
    before = item.position
    _swap_positions(item, other)
    record_event(
        actor=actor,
        action=f"{kind}.moved",
        object_type=kind,
        object_id=item.id,
        before={"position": before},
        after={"position": item.position, "swapped_with": other.id},
        now=now,
    )
    return True


@operation
def move_stage(stage: Stage, *, actor: User, offset: int, now: dt.datetime) -> bool:
    """Move a stage one place earlier (offset -1) or later (+1). Returns False at either end.

    Side effects: audit ``stage.moved``.
    """
    _managed(actor, stage.call.programme)
    if stage.is_evaluation:
        raise DomainError(
            _("An interim evaluation keeps its place after the stages of the competition.")
        )
    # Among the competition's stages only: none moves past an interim evaluation.
    return _move(
        stage, stage.call.competition_stages, kind="stage", actor=actor, offset=offset, now=now
    )


# --- criteria ----------------------------------------------------------------------------------


def _criterion_state(criterion: Criterion) -> dict[str, Any]:
    threshold = criterion.threshold
    return {
        "position": criterion.position,
        "name": criterion.name,
        "description": criterion.description,
        "weight": plain(criterion.weight),
        "scale_min": plain(criterion.scale_min),
        "scale_max": plain(criterion.scale_max),
        "scale_step": plain(criterion.scale_step),
        "threshold": plain(threshold) if threshold is not None else None,
    }


def _validate_criterion(
    stage: Stage,
    criterion: Criterion | None,
    *,
    name: str,
    weight: Decimal | None,
    scale_min: Decimal | None,
    scale_max: Decimal | None,
    scale_step: Decimal | None,
    threshold: Decimal | None,
) -> None:
    errors = _Errors()
    _check_text(errors, "name", name, _("Enter a name for the criterion."), 200)
    if name.strip():
        others = [c for c in stage.criteria if c is not criterion]
        if any(c.name.strip().casefold() == name.strip().casefold() for c in others):
            errors.add(
                "name", _("This stage already has a criterion “%(name)s”.", name=name.strip())
            )
    if weight is None:
        errors.add("weight", _("Enter a weight, like 1."))
    elif not weight.is_finite() or weight <= 0:
        errors.add("weight", _("The weight must be more than 0."))
    elif weight >= MAX_WEIGHT:
        errors.add("weight", _("The weight must be below 1,000."))
    elif _decimals(weight) > 3:
        errors.add("weight", _("Use at most three decimal places."))

    readable: dict[str, Decimal] = {}
    for field, value, missing in (
        ("scale_min", scale_min, _("Enter the lowest score.")),
        ("scale_max", scale_max, _("Enter the highest score.")),
        ("scale_step", scale_step, _("Enter the step between scores.")),
        ("threshold", threshold, None),
    ):
        if value is None:
            if missing is not None:
                errors.add(field, missing)
            continue
        if not value.is_finite() or abs(value) >= MAX_SCALE:
            errors.add(field, _("Enter a number between -9,999.99 and 9,999.99."))
        elif _decimals(value) > 2:
            errors.add(field, _("Use at most two decimal places."))
        else:
            readable[field] = value
    low, high = readable.get("scale_min"), readable.get("scale_max")
    step = readable.get("scale_step")
    if low is not None and high is not None and high <= low:
        errors.add(
            "scale_max",
            _("The highest score must be above the lowest (%(lowest)s).", lowest=plain(low)),
        )
    if step is not None and step <= 0:
        errors.add("scale_step", _("The step must be more than 0."))
    elif step is not None and low is not None and high is not None and high > low:
        if (high - low) % step != 0:
            errors.add(
                "scale_step",
                _(
                    "The step must divide the range from %(lowest)s to %(highest)s evenly, "
                    "like 0.5 or 1.",
                    lowest=plain(low),
                    highest=plain(high),
                ),
            )
    limit = readable.get("threshold")
    if limit is not None and low is not None and high is not None and high > low:
        if not low <= limit <= high:
            errors.add(
                "threshold",
                _(
                    "The threshold must lie on the scale, from %(lowest)s to %(highest)s.",
                    lowest=plain(low),
                    highest=plain(high),
                ),
            )
    errors.raise_if_any()


@operation
def add_criterion(
    stage: Stage,
    *,
    actor: User,
    name: str,
    description: str = "",
    weight: Decimal | None,
    scale_min: Decimal | None,
    scale_max: Decimal | None,
    scale_step: Decimal | None,
    threshold: Decimal | None = None,
    now: dt.datetime,
) -> Criterion:
    """Append a review criterion to a stage.

    Side effects: a criterion row; audit ``criterion.added``.
    """
    _managed(actor, stage.call.programme)
    _validate_criterion(
        stage,
        None,
        name=name,
        weight=weight,
        scale_min=scale_min,
        scale_max=scale_max,
        scale_step=scale_step,
        threshold=threshold,
    )
    assert weight is not None and scale_min is not None
    assert scale_max is not None and scale_step is not None
    last = db.session.scalar(
        sa.select(sa.func.max(Criterion.position)).where(Criterion.stage_id == stage.id)
    )
    criterion = Criterion(
        stage=stage,
        position=(last or 0) + 1,
        name=name.strip(),
        description=description.strip(),
        weight=weight,
        scale_min=scale_min,
        scale_max=scale_max,
        scale_step=scale_step,
        threshold=threshold,
    )
    db.session.add(criterion)
    db.session.flush()
    record_event(
        actor=actor,
        action="criterion.added",
        object_type="criterion",
        object_id=criterion.id,
        after={**_criterion_state(criterion), "stage_id": stage.id},
        now=now,
    )
    return criterion


@operation
def update_criterion(
    criterion: Criterion,
    *,
    actor: User,
    name: str,
    description: str = "",
    weight: Decimal | None,
    scale_min: Decimal | None,
    scale_max: Decimal | None,
    scale_step: Decimal | None,
    threshold: Decimal | None = None,
    now: dt.datetime,
) -> Criterion:
    """Change a criterion. Side effects: audit ``criterion.updated`` (nothing if unchanged)."""
    stage = criterion.stage
    _managed(actor, stage.call.programme)
    _validate_criterion(
        stage,
        criterion,
        name=name,
        weight=weight,
        scale_min=scale_min,
        scale_max=scale_max,
        scale_step=scale_step,
        threshold=threshold,
    )
    assert weight is not None and scale_min is not None
    assert scale_max is not None and scale_step is not None
    before = _criterion_state(criterion)
    criterion.name = name.strip()
    criterion.description = description.strip()
    criterion.weight = weight
    criterion.scale_min = scale_min
    criterion.scale_max = scale_max
    criterion.scale_step = scale_step
    criterion.threshold = threshold
    _audit_update(
        criterion,
        kind="criterion",
        actor=actor,
        before=before,
        after=_criterion_state(criterion),
        now=now,
    )
    return criterion


@operation
def remove_criterion(criterion: Criterion, *, actor: User, now: dt.datetime) -> None:
    """Delete a criterion that no review has scored. Side effects: audit ``criterion.removed``."""
    _managed(actor, criterion.stage.call.programme)
    scored = count_reviews_scoring(criterion)
    if scored:
        raise DomainError(
            ngettext(
                "%(num)d review already scores “%(name)s”; the criterion can no longer "
                "be removed. Change its name or description instead.",
                "%(num)d reviews already score “%(name)s”; the criterion can no longer "
                "be removed. Change its name or description instead.",
                scored,
                name=criterion.name,
            )
        )
    before = {**_criterion_state(criterion), "stage_id": criterion.stage_id}
    criterion_id = criterion.id
    stage = criterion.stage
    stage.criteria.remove(criterion)
    db.session.delete(criterion)
    db.session.flush()
    record_event(
        actor=actor,
        action="criterion.removed",
        object_type="criterion",
        object_id=criterion_id,
        before=before,
        now=now,
    )


@operation
def move_criterion(criterion: Criterion, *, actor: User, offset: int, now: dt.datetime) -> bool:
    """Move a criterion one place up (-1) or down (+1). Returns False at either end.

    Side effects: audit ``criterion.moved``.
    """
    _managed(actor, criterion.stage.call.programme)
    return _move(
        criterion, criterion.stage.criteria, kind="criterion", actor=actor, offset=offset, now=now
    )


@operation
def change_call_state(call: Call, *, actor: User, action: str, now: dt.datetime) -> None:
    """Publish, close or reopen a call, as the workflow table allows.

    Publishing needs at least one stage (applicants start in the first one). Compare-and-set:
    if another officer changed the state first, StaleState tells the user to reload.
    Side effects: audit ``call.published`` / ``call.closed`` / ``call.reopened``.
    """
    _managed(actor, call.programme)
    try:
        target = workflow.next_state(workflow.CALL, call.state.value, action)
    except workflow.IllegalStep:
        refusals = {
            CallState.DRAFT: _("A draft call cannot be changed that way."),
            CallState.PUBLISHED: _("A published call cannot be changed that way."),
            CallState.CLOSED: _("A closed call cannot be changed that way."),
        }
        raise DomainError(refusals[call.state]) from None
    if target == CallState.PUBLISHED and not call.stages:
        raise DomainError(_("Add at least one stage before publishing the call."))
    apply_step(
        call,
        action,
        actor=actor,
        now=now,
        stale=_("Another officer changed this call meanwhile. Reload and try again."),
    )
