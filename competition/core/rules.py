"""Whether a proposal may be submitted: the formal checks a coordinator sees on the editing page
and an officer repeats at eligibility screening.

Every check takes plain data and returns a list of problems (empty when all is well) instead of
raising, so the page can show every problem at once next to the field that needs fixing. Only
programming errors (naive datetimes) raise ValueError.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Context, Decimal, localcontext
from types import MappingProxyType
from typing import Literal
from zoneinfo import ZoneInfo

from competition.core.texts import N_, Nn_, Text
from competition.core.wording import joined, money, percent

BERLIN = ZoneInfo("Europe/Berlin")

# Generous precision and no traps: sums and ratios of any amounts a person can type stay exact,
# and absurd input (overflow, NaN) yields a value to report instead of an exception.
_EXACT = Context(prec=80, rounding=ROUND_HALF_UP, traps=[])
# Shares handed out are ordinary 28-digit decimals; rules compare amounts, never these quotients.
_SHARE = Context(prec=28, rounding=ROUND_HALF_UP, traps=[])

_ZERO = Decimal("0")
_CENT = Decimal("0.01")
_HUNDRED = Decimal("100")
_TENTH = Decimal("0.1")

WindowState = Literal["not_open", "open", "closed"]

# Names for messages; the core may not import the models that hold the enums.
_STATE_NAMES: Mapping[str, Text] = {
    "DE-BW": N_("Baden-Württemberg"),
    "DE-BY": N_("Bavaria"),
    "DE-BE": N_("Berlin"),
    "DE-BB": N_("Brandenburg"),
    "DE-HB": N_("Bremen"),
    "DE-HH": N_("Hamburg"),
    "DE-HE": N_("Hesse"),
    "DE-MV": N_("Mecklenburg-Western Pomerania"),
    "DE-NI": N_("Lower Saxony"),
    "DE-NW": N_("North Rhine-Westphalia"),
    "DE-RP": N_("Rhineland-Palatinate"),
    "DE-SL": N_("Saarland"),
    "DE-SN": N_("Saxony"),
    "DE-ST": N_("Saxony-Anhalt"),
    "DE-SH": N_("Schleswig-Holstein"),
    "DE-TH": N_("Thuringia"),
}

_KIND_PLURALS: Mapping[str, Text] = {
    "university": N_("universities"),
    "research_institute": N_("research institutes"),
    "large_enterprise": N_("large enterprises"),
    "sme": N_("SMEs"),
    "start_up": N_("start-ups"),
    "society": N_("societies and public bodies"),
}


# --- input -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CallRules:
    max_public_funding_per_proposal: Decimal | None = None
    # Own/private contributions as a share of the total budget, e.g. Decimal("0.85").
    min_private_share: Decimal | None = None
    # Organisation kind value ("sme", "university", ...) -> max public share of that member's costs.
    funding_rates: Mapping[str, Decimal] = field(default_factory=dict)
    # Federal state codes ("DE-SN", ...) the coordinator must be based in; empty = nationwide.
    region_scope: frozenset[str] = frozenset()
    # Project years a budget may use (1 to this); None: no limit.
    budget_years: int | None = None
    # Public funding per proposal and project year; None: no yearly cap.
    max_public_funding_per_year: Decimal | None = None
    # Cost category key -> its name for messages; empty: budget lines carry no category.
    cost_categories: Mapping[str, str] = field(default_factory=dict)
    # Whether the programme offers topics to choose from; without any, none is asked for.
    topics_offered: bool = True


@dataclass(frozen=True)
class SectionRule:
    key: str
    title: str
    max_chars: int
    required: bool = True


@dataclass(frozen=True)
class AttachmentRule:
    key: str
    title: str
    required: bool
    max_pages: int | None
    max_bytes: int | None


@dataclass(frozen=True)
class StageRules:
    sections: tuple[SectionRule, ...]
    attachments: tuple[AttachmentRule, ...]
    opens_at: dt.datetime
    closes_at: dt.datetime
    # At an interim evaluation of a funded grant, the project years (first, last) of the next
    # phase, which its budget covers; None at the competition's stages (the call's years).
    budget_years: tuple[int, int] | None = None


@dataclass(frozen=True)
class Member:
    key: str
    name: str
    kind: str
    federal_state: str | None
    is_coordinator: bool
    # An associated partner takes part on its own money: it asks for no public funding.
    is_associated: bool = False


@dataclass(frozen=True)
class BudgetRow:
    member_key: str
    year: int
    public_funding: Decimal
    own_contribution: Decimal
    # One of the call's cost categories; "" where the call has none.
    category: str = ""


@dataclass(frozen=True)
class AttachmentInfo:
    key: str
    filename: str
    size_bytes: int
    page_count: int | None


@dataclass(frozen=True)
class ProposalDraft:
    title: str
    acronym: str
    abstract: str
    topic_count: int
    sections: Mapping[str, str]
    members: tuple[Member, ...]
    budget: tuple[BudgetRow, ...]
    attachments: tuple[AttachmentInfo, ...]


# --- output ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    code: str
    # Shown with ``say``; ``str()`` gives the English.
    message: Text
    # An HTML id on the editing page: "general", "section-<key>", "consortium", "budget",
    # "attachment-<key>", "member-<key>".
    anchor: str


@dataclass(frozen=True)
class BudgetTotals:
    public: Decimal
    own: Decimal
    total: Decimal
    # own / total; None when the total is zero.
    private_share: Decimal | None
    # member key -> (public, own), in order of first appearance.
    per_member: Mapping[str, tuple[Decimal, Decimal]]
    # year -> (public, own), ascending by year.
    per_year: Mapping[int, tuple[Decimal, Decimal]]


# --- formatting --------------------------------------------------------------------------------


def format_money(value: Decimal) -> str:
    """'45,000,000.00 EUR': cents rounded half up, thousands separated by commas."""
    if not value.is_finite():
        return f"{value} EUR"
    with localcontext(_EXACT):
        cents = value.quantize(_CENT)
    if cents.is_zero():
        cents = abs(cents)  # never show "-0.00"
    return f"{cents:,.2f} EUR"


def format_share(value: Decimal, *, decimals: int = 1) -> str:
    """A share in [0, 1] as a percentage: '85 %', or with up to `decimals` places: '84.6 %'."""
    return _percent(value, decimals, ROUND_HALF_UP)


def _percent(value: Decimal, decimals: int, rounding: str) -> str:
    if not value.is_finite():
        return f"{value} %"
    return f"{_percent_value(value, decimals, rounding)} %"


def _percent_value(value: Decimal, decimals: int, rounding: str) -> Decimal:
    """The share in per cent as it is shown: rounded, without trailing zeros ('85', '84.6')."""
    with localcontext(_EXACT):
        shown = (value * _HUNDRED).quantize(Decimal(1).scaleb(-decimals), rounding=rounding)
    text = _strip_zeros(shown)
    return Decimal("0" if text == "-0" else text)


def _distinct_shares(actual: Decimal, limit: Decimal) -> tuple[Text, Text]:
    """Both shares shown so that unequal values never read as equal: rounded half up where
    that tells them apart ('84.6 %' against '85 %'), otherwise each rounded away from the other
    ('84.99 %' against '85 %', never '85 %' against '85 %')."""
    for decimals in (1, 2):
        shown = (
            _percent_value(actual, decimals, ROUND_HALF_UP),
            _percent_value(limit, decimals, ROUND_HALF_UP),
        )
        if shown[0] != shown[1] or actual == limit:
            return percent(shown[0]), percent(shown[1])
    if actual < limit:
        low, high = _percent_value(actual, 2, ROUND_FLOOR), _percent_value(limit, 2, ROUND_CEILING)
        return percent(low), percent(high)
    high, low = _percent_value(actual, 2, ROUND_CEILING), _percent_value(limit, 2, ROUND_FLOOR)
    return percent(high), percent(low)


def _format_size(size_bytes: int) -> Text:
    mib = Decimal(size_bytes) / Decimal(1024 * 1024)
    if mib >= 1:
        return N_("%(size)s MB", size=Decimal(_strip_zeros(mib.quantize(_TENTH, ROUND_HALF_UP))))
    kib = Decimal(size_bytes) / Decimal(1024)
    return N_("%(size)s KB", size=Decimal(_strip_zeros(kib.quantize(_TENTH, ROUND_HALF_UP))))


def _distinct_sizes(actual: int, limit: int) -> tuple[Text, Text]:
    shown = _format_size(actual), _format_size(limit)
    if shown[0] == shown[1]:
        return (
            Nn_("%(num)s byte", "%(num)s bytes", actual),
            Nn_("%(num)s byte", "%(num)s bytes", limit),
        )
    return shown


def _strip_zeros(value: Decimal) -> str:
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _state_name(code: str) -> Text | str:
    return _STATE_NAMES.get(code, code)


def _kind_plural(kind: str) -> Text:
    return _KIND_PLURALS.get(kind) or N_("organisations of kind “%(kind)s”", kind=kind)


def format_berlin(moment: dt.datetime) -> str:
    """'30.06.2026 12:00 CEST': how a deadline is shown to a person."""
    _require_aware(moment, "moment")
    return moment.astimezone(BERLIN).strftime("%d.%m.%Y %H:%M %Z")


def _require_aware(moment: dt.datetime, name: str) -> None:
    if moment.tzinfo is None or moment.tzinfo.utcoffset(moment) is None:
        raise ValueError(f"{name} must be timezone-aware, got {moment!r}")


# --- general -----------------------------------------------------------------------------------


def check_general(draft: ProposalDraft, *, topics_offered: bool = True) -> list[Problem]:
    """Title, acronym, abstract and at least one topic, where the programme offers topics."""
    problems: list[Problem] = []
    if not draft.title.strip():
        problems.append(Problem("title_missing", N_("Enter a title for the proposal."), "general"))
    if not draft.acronym.strip():
        problems.append(
            Problem("acronym_missing", N_("Enter an acronym for the proposal."), "general")
        )
    if not draft.abstract.strip():
        problems.append(Problem("abstract_missing", N_("Write an abstract."), "general"))
    if draft.topic_count < 1 and topics_offered:
        problems.append(Problem("no_topic", N_("Choose at least one topic."), "general"))
    return problems


# --- sections ----------------------------------------------------------------------------------


def section_length(text: str) -> int:
    """Characters as the browser's counter shows them: a line break counts once, although the
    form posts it as CR LF."""
    return len(text.replace("\r\n", "\n"))


def check_sections(
    section_rules: Sequence[SectionRule], sections: Mapping[str, str]
) -> list[Problem]:
    """Required sections are written; no section is longer than its limit. Text under keys the
    stage does not ask for is ignored."""
    problems: list[Problem] = []
    for rule in section_rules:
        anchor = f"section-{rule.key}"
        text = sections.get(rule.key, "")
        if not text.strip():
            if rule.required:
                problems.append(
                    Problem(
                        "section_missing",
                        N_("“%(title)s” is empty; this section is required.", title=rule.title),
                        anchor,
                    )
                )
            continue
        length = section_length(text)
        if length > rule.max_chars:
            problems.append(
                Problem(
                    "section_too_long",
                    N_(
                        "“%(title)s” is %(length)s characters long; the limit is %(limit)s.",
                        title=rule.title,
                        length=length,
                        limit=rule.max_chars,
                    ),
                    anchor,
                )
            )
    return problems


# --- consortium --------------------------------------------------------------------------------


def _name_key(name: str) -> str:
    return " ".join(name.split()).casefold()


def check_consortium(members: Sequence[Member], rules: CallRules) -> list[Problem]:
    """Exactly one coordinator, at least one partner besides it, no organisation listed twice,
    and the coordinator based in the call's region (if the call has one)."""
    members = tuple(members)
    problems: list[Problem] = []
    coordinators = [m for m in members if m.is_coordinator]
    if not coordinators:
        problems.append(
            Problem(
                "no_coordinator",
                N_("Mark one organisation of the consortium as coordinator."),
                "consortium",
            )
        )
    elif len(coordinators) > 1:
        problems.append(
            Problem(
                "too_many_coordinators",
                N_(
                    "%(count)s organisations are marked as coordinator (%(names)s); "
                    "a consortium has exactly one.",
                    count=len(coordinators),
                    names=joined([m.name for m in coordinators]),
                ),
                "consortium",
            )
        )
    if len(members) < 2:
        problems.append(
            Problem(
                "too_few_partners",
                Nn_(
                    "The consortium has %(num)s organisation; "
                    "it needs a coordinator and at least one partner.",
                    "The consortium has %(num)s organisations; "
                    "it needs a coordinator and at least one partner.",
                    len(members),
                ),
                "consortium",
            )
        )
    seen: dict[str, list[Member]] = {}
    for member in members:
        seen.setdefault(_name_key(member.name), []).append(member)
    for group in seen.values():
        if len(group) > 1:
            if len(group) == 2:
                listed = N_(
                    "“%(name)s” is listed twice in the consortium; "
                    "each organisation takes part once.",
                    name=group[0].name,
                )
            else:
                listed = N_(
                    "“%(name)s” is listed %(count)s times in the consortium; "
                    "each organisation takes part once.",
                    name=group[0].name,
                    count=len(group),
                )
            problems.append(
                Problem(
                    "duplicate_member",
                    listed,
                    f"member-{group[1].key}",
                )
            )
    if rules.region_scope and len(coordinators) == 1:
        coordinator = coordinators[0]
        if coordinator.federal_state not in rules.region_scope:
            allowed = joined(sorted((_state_name(code) for code in rules.region_scope), key=str))
            if coordinator.federal_state:
                outside = N_(
                    "The coordinator, %(name)s, is based in %(state)s; this call is open only "
                    "to consortia coordinated from %(allowed)s.",
                    name=coordinator.name,
                    state=_state_name(coordinator.federal_state),
                    allowed=allowed,
                )
            else:
                outside = N_(
                    "The coordinator, %(name)s, has no federal state on record; this call is "
                    "open only to consortia coordinated from %(allowed)s.",
                    name=coordinator.name,
                    allowed=allowed,
                )
            problems.append(
                Problem(
                    "outside_region",
                    outside,
                    f"member-{coordinator.key}",
                )
            )
    return problems


# --- budget ------------------------------------------------------------------------------------


def _invalid(who: Text | str, year: int, is_public: bool) -> Text:
    if is_public:
        return N_(
            "%(who)s, year %(year)s: the public funding is not a valid amount.", who=who, year=year
        )
    return N_(
        "%(who)s, year %(year)s: the own contribution is not a valid amount.", who=who, year=year
    )


def _negative(who: Text | str, year: int, is_public: bool, value: Decimal) -> Text:
    if is_public:
        return N_(
            "%(who)s, year %(year)s: the public funding is %(amount)s; amounts cannot be negative.",
            who=who,
            year=year,
            amount=money(value),
        )
    return N_(
        "%(who)s, year %(year)s: the own contribution is %(amount)s; amounts cannot be negative.",
        who=who,
        year=year,
        amount=money(value),
    )


def _amount(value: Decimal) -> Decimal:
    return value if value.is_finite() else _ZERO


def budget_totals(budget: Iterable[BudgetRow]) -> BudgetTotals:
    """Sums of public funding and own contributions, overall, per member and per year.
    Amounts that are not finite numbers count as zero here; check_budget reports them."""
    public = own = _ZERO
    per_member: dict[str, tuple[Decimal, Decimal]] = {}
    per_year: dict[int, tuple[Decimal, Decimal]] = {}
    with localcontext(_EXACT):
        for row in budget:
            row_public, row_own = _amount(row.public_funding), _amount(row.own_contribution)
            public += row_public
            own += row_own
            m_public, m_own = per_member.get(row.member_key, (_ZERO, _ZERO))
            per_member[row.member_key] = (m_public + row_public, m_own + row_own)
            y_public, y_own = per_year.get(row.year, (_ZERO, _ZERO))
            per_year[row.year] = (y_public + row_public, y_own + row_own)
        total = public + own
    private_share = None if total.is_zero() else _SHARE.divide(own, total)
    return BudgetTotals(
        public=public,
        own=own,
        total=total,
        private_share=private_share,
        per_member=MappingProxyType(per_member),
        per_year=MappingProxyType(dict(sorted(per_year.items()))),
    )


def check_budget(
    members: Sequence[Member], budget: Sequence[BudgetRow], rules: CallRules
) -> list[Problem]:
    """The budget is there, names only consortium members, has no negative or unreadable amounts,
    stays under the call's cap, meets its private share, and keeps each member within the
    funding rate for its kind of organisation."""
    members = tuple(members)
    budget = tuple(budget)
    names = {m.key: m.name for m in members}
    problems: list[Problem] = []
    totals = budget_totals(budget)

    if not budget:
        problems.append(
            Problem(
                "budget_missing",
                N_(
                    "The budget is empty; enter public funding and own contributions "
                    "for each partner and year."
                ),
                "budget",
            )
        )
    elif totals.total.is_zero():
        problems.append(
            Problem(
                "budget_missing",
                N_(
                    "The budget totals %(total)s; enter public funding and own "
                    "contributions for each partner and year.",
                    total=money(_ZERO),
                ),
                "budget",
            )
        )

    for row in budget:
        who: Text | str = names.get(row.member_key) or N_("An organisation not in the consortium")
        for is_public, value in ((True, row.public_funding), (False, row.own_contribution)):
            if not value.is_finite():
                problems.append(
                    Problem("budget_amount_invalid", _invalid(who, row.year, is_public), "budget")
                )
            elif value < 0:
                problems.append(
                    Problem("budget_negative", _negative(who, row.year, is_public, value), "budget")
                )

    unknown: dict[str, list[BudgetRow]] = {}
    for row in budget:
        if row.member_key not in names:
            unknown.setdefault(row.member_key, []).append(row)
    for rows in unknown.values():
        years = sorted({r.year for r in rows})
        problems.append(
            Problem(
                "budget_member_unknown",
                Nn_(
                    "The budget has %(num)s row (%(years)s, %(public)s public funding) for an "
                    "organisation that is not in the consortium; delete them or add the "
                    "organisation again.",
                    "The budget has %(num)s rows (%(years)s, %(public)s public funding) for an "
                    "organisation that is not in the consortium; delete them or add the "
                    "organisation again.",
                    len(rows),
                    years=Nn_(
                        "year %(list)s",
                        "years %(list)s",
                        len(years),
                        list=", ".join(map(str, years)),
                    ),
                    public=money(budget_totals(rows).public),
                ),
                "budget",
            )
        )

    problems.extend(_check_years_and_categories(members, budget, rules))

    with localcontext(_EXACT):
        yearly = rules.max_public_funding_per_year
        if yearly is not None:
            for year, (y_public, _own) in totals.per_year.items():
                if y_public > yearly:
                    problems.append(
                        Problem(
                            "budget_over_yearly_cap",
                            N_(
                                "Public funding requested for year %(year)s is %(public)s; "
                                "this call allows at most %(cap)s per proposal and year.",
                                year=year,
                                public=money(y_public),
                                cap=money(yearly),
                            ),
                            "budget",
                        )
                    )

        cap = rules.max_public_funding_per_proposal
        if cap is not None and totals.public > cap:
            problems.append(
                Problem(
                    "budget_over_cap",
                    N_(
                        "Public funding requested is %(public)s; "
                        "this call allows at most %(cap)s per proposal.",
                        public=money(totals.public),
                        cap=money(cap),
                    ),
                    "budget",
                )
            )

        minimum = rules.min_private_share
        # Compared by multiplication, so a share exactly at the minimum is never lost to rounding.
        if minimum is not None and totals.total > 0 and totals.own < minimum * totals.total:
            share, required = _distinct_shares(totals.own / totals.total, minimum)
            problems.append(
                Problem(
                    "private_share_too_low",
                    N_(
                        "Own and private contributions are %(share)s of the total budget "
                        "(%(own)s of %(total)s); this call requires at least %(required)s.",
                        share=share,
                        own=money(totals.own),
                        total=money(totals.total),
                        required=required,
                    ),
                    "budget",
                )
            )

        for member in members:
            rate = rules.funding_rates.get(member.kind)
            if rate is None or member.key not in totals.per_member:
                continue
            m_public, m_own = totals.per_member[member.key]
            m_total = m_public + m_own
            if m_total > 0 and m_public > rate * m_total:
                asked, allowed = _distinct_shares(m_public / m_total, rate)
                problems.append(
                    Problem(
                        "funding_rate_exceeded",
                        N_(
                            "%(name)s asks for %(asked)s of its costs as public funding "
                            "(%(public)s of %(total)s); this call funds %(kind)s at no more "
                            "than %(allowed)s.",
                            name=member.name,
                            asked=asked,
                            public=money(m_public),
                            total=money(m_total),
                            kind=_kind_plural(member.kind),
                            allowed=allowed,
                        ),
                        "budget",
                    )
                )
    return problems


def check_phase_years(
    members: Sequence[Member], budget: Sequence[BudgetRow], years: tuple[int, int]
) -> list[Problem]:
    """At an interim evaluation, every budget line lies in the next phase's project years."""
    names = {m.key: m.name for m in members}
    first, last = years
    outside: dict[str, set[int]] = {}
    for row in budget:
        if not first <= row.year <= last:
            outside.setdefault(row.member_key, set()).add(row.year)
    return [
        Problem(
            "budget_year_outside_phase",
            N_(
                "%(who)s has budget lines for %(years)s; the next phase runs over the project "
                "years %(first)s to %(last)s. Delete those lines.",
                who=names.get(key) or N_("An organisation not in the consortium"),
                years=Nn_(
                    "year %(list)s",
                    "years %(list)s",
                    len(found),
                    list=", ".join(map(str, sorted(found))),
                ),
                first=first,
                last=last,
            ),
            "budget",
        )
        for key, found in outside.items()
    ]


def _check_years_and_categories(
    members: Sequence[Member], budget: Sequence[BudgetRow], rules: CallRules
) -> list[Problem]:
    """Every line lies in the call's project years and cost categories; associated partners
    ask for no public funding."""
    names = {m.key: m.name for m in members}
    problems: list[Problem] = []
    limit = rules.budget_years
    if limit is not None:
        outside: dict[str, set[int]] = {}
        for row in budget:
            if not 1 <= row.year <= limit:
                outside.setdefault(row.member_key, set()).add(row.year)
        for key, years in outside.items():
            problems.append(
                Problem(
                    "budget_year_outside_call",
                    Nn_(
                        "%(who)s has budget lines for %(years)s; this call's budgets run over "
                        "%(num)s year. Delete those lines.",
                        "%(who)s has budget lines for %(years)s; this call's budgets run over "
                        "%(num)s years. Delete those lines.",
                        limit,
                        who=names.get(key) or N_("An organisation not in the consortium"),
                        years=Nn_(
                            "year %(list)s",
                            "years %(list)s",
                            len(years),
                            list=", ".join(map(str, sorted(years))),
                        ),
                    ),
                    "budget",
                )
            )
    categories = rules.cost_categories
    unknown = sorted({row.category for row in budget if row.category not in categories})
    if categories and "" in unknown:
        problems.append(
            Problem(
                "budget_category_missing",
                N_(
                    "Some budget lines have no cost category; this call asks for the budget "
                    "by cost category (%(categories)s).",
                    categories=", ".join(categories.values()),
                ),
                "budget",
            )
        )
    for category in unknown:
        if not category:
            continue
        problems.append(
            Problem(
                "budget_category_unknown",
                N_(
                    "Budget lines in the cost category “%(category)s”, which this call does "
                    "not have; move their amounts to one of its categories.",
                    category=category,
                )
                if categories
                else N_(
                    "Budget lines in the cost category “%(category)s”; this call has no cost "
                    "categories. Enter one amount per partner and year.",
                    category=category,
                ),
                "budget",
            )
        )
    associated = {m.key for m in members if m.is_associated}
    funded = budget_totals(r for r in budget if r.member_key in associated).per_member
    for member in members:
        public = funded.get(member.key, (_ZERO, _ZERO))[0]
        if member.is_associated and public > 0:
            problems.append(
                Problem(
                    "associated_partner_funded",
                    N_(
                        "%(name)s is an associated partner and receives no public funding; "
                        "it asks for %(public)s.",
                        name=member.name,
                        public=money(public),
                    ),
                    "budget",
                )
            )
    return problems


# --- attachments -------------------------------------------------------------------------------


def check_attachments(
    attachment_rules: Sequence[AttachmentRule], attachments: Sequence[AttachmentInfo]
) -> list[Problem]:
    """Required documents are uploaded; each file keeps its rule's page and size limits; no file
    is of a kind the stage does not ask for. A kind may hold several files; limits are per file."""
    attachments = tuple(attachments)
    rules_by_key = {rule.key: rule for rule in attachment_rules}
    problems: list[Problem] = []
    for rule in attachment_rules:
        anchor = f"attachment-{rule.key}"
        files = [a for a in attachments if a.key == rule.key]
        if rule.required and not files:
            problems.append(
                Problem(
                    "attachment_missing",
                    N_("Upload “%(title)s”; this document is required.", title=rule.title),
                    anchor,
                )
            )
        for file in files:
            named = N_("“%(filename)s” (%(title)s)", filename=file.filename, title=rule.title)
            if rule.max_pages is not None:
                if file.page_count is None:
                    problems.append(
                        Problem(
                            "attachment_pages_unknown",
                            Nn_(
                                "The pages of %(file)s could not be counted; the limit is "
                                "%(num)s page. Upload it as a PDF.",
                                "The pages of %(file)s could not be counted; the limit is "
                                "%(num)s pages. Upload it as a PDF.",
                                rule.max_pages,
                                file=named,
                            ),
                            anchor,
                        )
                    )
                elif file.page_count > rule.max_pages:
                    problems.append(
                        Problem(
                            "attachment_too_many_pages",
                            Nn_(
                                "%(file)s has %(num)s page; the limit is %(limit)s.",
                                "%(file)s has %(num)s pages; the limit is %(limit)s.",
                                file.page_count,
                                file=named,
                                limit=rule.max_pages,
                            ),
                            anchor,
                        )
                    )
            if rule.max_bytes is not None and file.size_bytes > rule.max_bytes:
                size, limit = _distinct_sizes(file.size_bytes, rule.max_bytes)
                problems.append(
                    Problem(
                        "attachment_too_large",
                        N_(
                            "%(file)s is %(size)s; the limit is %(limit)s.",
                            file=named,
                            size=size,
                            limit=limit,
                        ),
                        anchor,
                    )
                )
    for file in attachments:
        if file.key not in rules_by_key:
            problems.append(
                Problem(
                    "attachment_unexpected",
                    N_(
                        "“%(filename)s” is not a document this stage asks for; remove it.",
                        filename=file.filename,
                    ),
                    f"attachment-{file.key}",
                )
            )
    return problems


# --- submission window -------------------------------------------------------------------------


def deadline(stage: StageRules, extended_until: dt.datetime | None = None) -> dt.datetime:
    """The instant submission closes: the stage's own, or an extension if it is later. An
    extension never shortens a window."""
    _require_aware(stage.closes_at, "closes_at")
    if extended_until is None:
        return stage.closes_at
    _require_aware(extended_until, "extended_until")
    return max(stage.closes_at, extended_until)


def window_state(
    stage: StageRules, now: dt.datetime, *, extended_until: dt.datetime | None = None
) -> WindowState:
    """'not_open' before opens_at, 'open' from opens_at up to and including the deadline's exact
    instant, 'closed' after it."""
    _require_aware(now, "now")
    _require_aware(stage.opens_at, "opens_at")
    if now < stage.opens_at:
        return "not_open"
    if now <= deadline(stage, extended_until):
        return "open"
    return "closed"


def check_window(
    stage: StageRules, now: dt.datetime, *, extended_until: dt.datetime | None = None
) -> list[Problem]:
    state = window_state(stage, now, extended_until=extended_until)
    if state == "not_open":
        return [
            Problem(
                "window_not_open",
                N_("Submission opens at %(when)s.", when=format_berlin(stage.opens_at)),
                "general",
            )
        ]
    if state == "closed":
        closes = deadline(stage, extended_until)
        if closes != stage.closes_at:
            passed = N_("The extended deadline passed at %(when)s.", when=format_berlin(closes))
        else:
            passed = N_("The deadline passed at %(when)s.", when=format_berlin(closes))
        return [
            Problem(
                "deadline_passed",
                passed,
                "general",
            )
        ]
    return []


# --- everything --------------------------------------------------------------------------------


def checklist(
    draft: ProposalDraft,
    stage: StageRules,
    rules: CallRules,
    *,
    now: dt.datetime,
    extended_until: dt.datetime | None = None,
) -> list[Problem]:
    """Every problem that stands in the way of submitting, in the order a coordinator works
    through the editing page: general, sections, consortium, budget, attachments, then the
    submission window."""
    if stage.budget_years is not None:
        # An interim evaluation of a funded grant: its years replace the call's, and the
        # general details and the consortium, the grant's as it was funded and checked then,
        # are not the consortium's to change, so they are not judged again.
        rules = replace(rules, budget_years=None)
        return [
            *check_sections(stage.sections, draft.sections),
            *check_budget(draft.members, draft.budget, rules),
            *check_phase_years(draft.members, draft.budget, stage.budget_years),
            *check_attachments(stage.attachments, draft.attachments),
            *check_window(stage, now, extended_until=extended_until),
        ]
    return [
        *check_general(draft, topics_offered=rules.topics_offered),
        *check_sections(stage.sections, draft.sections),
        *check_consortium(draft.members, rules),
        *check_budget(draft.members, draft.budget, rules),
        *check_attachments(stage.attachments, draft.attachments),
        *check_window(stage, now, extended_until=extended_until),
    ]
