"""Disbursement requests (Mittelabruf) and the money of a programme, on plain data.

What a request may be (``check_request``), whether an approval still fits (``check_approval``),
whether it needs a second officer (``needs_second_officer``), and the money view's arithmetic
(``money_view``: committed, paid and left per budget year, per round and in all). Amounts are
``Decimal`` in euro with cents, dates are ``datetime.date``, states are the lifecycle's codes.

Pending requests reserve money: a request that is requested or awaiting a second officer counts
against what is left for its partner and year, as approved and paid ones do. Otherwise two
requests each within what is left could both be approved and together pay out more than was
approved; with the reservation an officer never finds the money gone when approving, and a
rejected or withdrawn request gives its money back.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from competition.core.grants import Phase, counted_by_year
from competition.core.texts import N_, Nn_, Text

# Money that counts as paid out of the approved amounts (the model's APPROVED_STATES).
COUNTED = frozenset({"approved", "exported", "paid"})
# Requests not yet decided: they hold their money until they are rejected or withdrawn.
RESERVING = frozenset({"requested", "proposed"})
# A grant whose money may be requested (while the year's phase is released).
PAYABLE_GRANT_STATES = frozenset({"running", "in_evaluation"})
NOT_STARTED = frozenset({"offered", "accepted"})

ZERO = Decimal("0.00")
CENT = Decimal("0.01")
# Below one trillion euro, as every other amount of the product.
LARGEST = Decimal("999999999999.99")
FIRST_YEAR, LAST_YEAR = 1, 9


# --- dates of a grant -----------------------------------------------------------------------------


def add_years(day: dt.date, years: int) -> dt.date:
    """The same day ``years`` later; 29 February becomes 28 February in a common year."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


@dataclass(frozen=True)
class GrantTerms:
    """What the rules need to know of a grant: its state, its dates and its phases."""

    state: str
    starts_on: dt.date
    ends_on: dt.date
    phases: tuple[Phase, ...]


def year_span(terms: GrantTerms, year: int) -> tuple[dt.date, dt.date]:
    """First and last day of project year ``year``: twelve months from the grant's start, the
    last of them ending with the grant. ``ends_on`` is the first day after the grant (as the
    phases and the report calendar read it: a three-year grant from 1 January 2027 ends on
    1 January 2030)."""
    start = add_years(terms.starts_on, year - 1)
    end = add_years(terms.starts_on, year) - dt.timedelta(days=1)
    return start, min(end, terms.ends_on - dt.timedelta(days=1))


def year_released(phases: Iterable[Phase], year: int) -> bool:
    return any(p.released and p.first_year <= year <= p.last_year for p in phases)


def budget_year(start: dt.date, project_year: int) -> int:
    """The calendar (budget) year of project year ``project_year`` of a grant starting on
    ``start``: project year y of a grant starting in year Y is budget year Y + y - 1."""
    return start.year + project_year - 1


# --- what a request may be ------------------------------------------------------------------------


@dataclass(frozen=True)
class Drawing:
    """A disbursement as the rules see it: which approved amount it draws on, how much, and
    where it stands."""

    member_id: int
    year: int
    amount: Decimal
    state: str
    id: int | None = None


@dataclass(frozen=True)
class Problem:
    # The form field the message belongs at ('' for the form as a whole).
    field: str
    # Shown with ``say``; ``str()`` gives the English.
    message: Text


def left_for(
    approved: Mapping[tuple[int, int], Decimal],
    drawings: Iterable[Drawing],
    member_id: int,
    year: int,
    *,
    excluding: int | None = None,
) -> Decimal:
    """What is left of the amount approved for ``(member_id, year)``: approved minus what is
    paid, approved or still pending (``excluding`` one request, the one being decided)."""
    taken = sum(
        (
            d.amount
            for d in drawings
            if d.member_id == member_id
            and d.year == year
            and d.state in COUNTED | RESERVING
            and (excluding is None or d.id != excluding)
        ),
        ZERO,
    )
    return approved.get((member_id, year), ZERO) - taken


@dataclass(frozen=True)
class Request:
    """A request as the coordinator typed it; anything may be missing."""

    member_id: int | None
    year: int | None
    period_from: dt.date | None
    period_to: dt.date | None
    amount: Decimal | None


def check_amount(amount: Decimal | None) -> Text | None:
    """What is wrong with an amount of money as such, or None."""
    if amount is None:
        return N_("Enter the amount in euro.")
    if not amount.is_finite() or amount <= 0:
        return N_("Enter an amount above 0 euro.")
    if amount != amount.quantize(CENT):
        return N_("Enter the amount in euro and whole cents.")
    if amount > LARGEST:
        return N_("Enter an amount below one trillion euro.")
    return None


def check_request(
    request: Request,
    *,
    terms: GrantTerms,
    approved: Mapping[tuple[int, int], Decimal],
    drawings: Sequence[Drawing],
    overdue_reports: int = 0,
    wait_for_reports: bool = True,
) -> list[Problem]:
    """Every problem of a disbursement request, each at its field: never before the grant runs
    or after it ended, never for a year whose phase is not released, never for a period outside
    the project year, never above what is left of the approved amount for the partner and year
    (pending requests included, see the module), and not while a report is overdue where the
    programme says payments wait for reports."""
    problems: list[Problem] = []
    if terms.state in NOT_STARTED:
        problems.append(
            Problem(
                "", N_("The grant has not started yet; payments can be requested once it runs.")
            )
        )
    elif terms.state not in PAYABLE_GRANT_STATES:
        problems.append(
            Problem("", N_("The grant is no longer running; no more payments can be requested."))
        )
    if wait_for_reports and overdue_reports > 0:
        problems.append(
            Problem(
                "",
                Nn_(
                    "A report of this grant is overdue. Payments can be requested again once "
                    "it is submitted.",
                    "%(num)s reports of this grant are overdue. Payments can be requested "
                    "again once they are submitted.",
                    overdue_reports,
                ),
            )
        )
    members = {member for member, _ in approved}
    member_ok = request.member_id is not None and request.member_id in members
    if request.member_id is None:
        problems.append(Problem("member_id", N_("Choose the partner to be paid.")))
    elif not member_ok:
        problems.append(
            Problem("member_id", N_("Choose a partner with approved money in this grant."))
        )
    year = request.year
    year_ok = False
    if year is None:
        problems.append(Problem("year", N_("Choose the project year.")))
    elif not FIRST_YEAR <= year <= LAST_YEAR or not any(y == year for _, y in approved):
        problems.append(
            Problem(
                "year",
                N_("The grant has no approved money for project year %(year)s.", year=year),
            )
        )
    elif not year_released(terms.phases, year):
        problems.append(
            Problem(
                "year",
                N_(
                    "The phase of project year %(year)s is not released yet: its money is paid "
                    "once an interim evaluation continues the grant.",
                    year=year,
                ),
            )
        )
    else:
        year_ok = True
    problems.extend(_period_problems(request, terms, year if year_ok else None))
    amount_problem = check_amount(request.amount)
    if amount_problem is not None:
        problems.append(Problem("amount", amount_problem))
    elif member_ok and year_ok:
        assert request.member_id is not None and year is not None and request.amount is not None
        if (request.member_id, year) not in approved:
            problems.append(
                Problem(
                    "amount",
                    N_(
                        "This partner has no approved money in project year %(year)s.",
                        year=year,
                    ),
                )
            )
        else:
            left = left_for(approved, drawings, request.member_id, year)
            if request.amount > left:
                problems.append(
                    Problem("amount", _above_left(left, approved[(request.member_id, year)], year))
                )
    return problems


def _above_left(left: Decimal, approved: Decimal, year: int) -> Text:
    if left <= 0:
        return N_(
            "Nothing is left of the %(approved)s EUR approved for this partner in project year "
            "%(year)s: it is paid or requested already.",
            approved=approved,
            year=year,
        )
    return N_(
        "At most %(left)s EUR is left of the %(approved)s EUR approved for this partner in "
        "project year %(year)s (paid and requested money counted).",
        left=left,
        approved=approved,
        year=year,
    )


def _period_problems(request: Request, terms: GrantTerms, year: int | None) -> list[Problem]:
    problems = []
    if request.period_from is None:
        problems.append(Problem("period_from", N_("Enter the first day of the period.")))
    if request.period_to is None:
        problems.append(Problem("period_to", N_("Enter the last day of the period.")))
    if request.period_from is None or request.period_to is None:
        return problems
    if request.period_to < request.period_from:
        return [Problem("period_to", N_("The period ends before it begins."))]
    if year is None:
        return []
    start, end = year_span(terms, year)
    outside = N_(
        "Project year %(year)s runs from %(start)s to %(end)s; choose a period within it.",
        year=year,
        start=start,
        end=end,
    )
    if request.period_from < start or request.period_from > end:
        problems.append(Problem("period_from", outside))
    if request.period_to > end or request.period_to < start:
        problems.append(Problem("period_to", outside))
    return problems


def check_approval(
    drawing: Drawing,
    *,
    approved: Mapping[tuple[int, int], Decimal],
    drawings: Sequence[Drawing],
) -> list[Problem]:
    """Whether approving (or confirming) ``drawing`` keeps the partner's year within its
    approved amount, every other request counted. Its own reservation held the money, so this
    fails only where the approved amount was lowered after the request."""
    left = left_for(approved, drawings, drawing.member_id, drawing.year, excluding=drawing.id)
    if drawing.amount > left:
        granted = approved.get((drawing.member_id, drawing.year), ZERO)
        return [Problem("", _above_left(left, granted, drawing.year))]
    return []


def needs_second_officer(amount: Decimal, threshold: Decimal | None) -> bool:
    """Above the programme's threshold a second officer confirms; without one, one officer
    approves any amount."""
    return threshold is not None and amount > threshold


# --- the money view -------------------------------------------------------------------------------


@dataclass(frozen=True)
class GrantBooks:
    """A grant's money as the view counts it: its approved amounts by project year (all
    partners together), its phases and the first day of project year 1."""

    grant_id: int
    call_id: int
    state: str
    starts_on: dt.date
    amounts: Mapping[int, Decimal]
    phases: tuple[Phase, ...] = ()


@dataclass(frozen=True)
class Payment:
    grant_id: int
    year: int  # project year
    amount: Decimal
    state: str


@dataclass(frozen=True)
class Money:
    committed: Decimal = ZERO
    paid: Decimal = ZERO

    @property
    def left(self) -> Decimal:
        """Committed and not yet paid."""
        return self.committed - self.paid

    def __add__(self, other: Money) -> Money:
        return Money(self.committed + other.committed, self.paid + other.paid)


@dataclass(frozen=True)
class Round:
    call_id: int
    envelope: Decimal | None
    money: Money

    @property
    def not_committed(self) -> Decimal | None:
        """The round's envelope minus what it committed; None without an envelope."""
        return None if self.envelope is None else self.envelope - self.money.committed


@dataclass(frozen=True)
class MoneyView:
    years: tuple[tuple[int, Money], ...]  # (budget year, money), earliest first
    rounds: tuple[Round, ...]  # in the order the envelopes were given
    total: Money
    budget: Decimal
    grants: Mapping[int, Money] = field(default_factory=dict)

    @property
    def not_committed(self) -> Decimal:
        """The programme's total minus everything committed."""
        return self.budget - self.total.committed


def committed_by_year(grant: GrantBooks) -> dict[int, Decimal]:
    """The grant's committed money per project year: the rule the line and the grant offer
    count by (``core.grants.counted_by_year``)."""
    return counted_by_year(grant.state, grant.amounts, grant.phases)


def money_view(
    grants: Iterable[GrantBooks],
    payments: Iterable[Payment],
    *,
    envelopes: Mapping[int, Decimal | None],
    budget: Decimal,
) -> MoneyView:
    """Committed, paid and left per budget year, per round (against its envelope) and in all
    (against the programme's total). Paid is every payment in an approved state, booked in the
    budget year of the project year it draws on."""
    grants = list(grants)
    by_id = {g.grant_id: g for g in grants}
    per_year: dict[int, Money] = defaultdict(Money)
    per_call: dict[int, Money] = defaultdict(Money)
    per_grant: dict[int, Money] = defaultdict(Money)
    for grant in grants:
        for year, amount in committed_by_year(grant).items():
            money = Money(committed=amount)
            per_year[budget_year(grant.starts_on, year)] += money
            per_call[grant.call_id] += money
            per_grant[grant.grant_id] += money
    for payment in payments:
        if payment.state not in COUNTED:
            continue
        grant = by_id[payment.grant_id]
        money = Money(paid=payment.amount)
        per_year[budget_year(grant.starts_on, payment.year)] += money
        per_call[grant.call_id] += money
        per_grant[grant.grant_id] += money
    calls = list(envelopes) + sorted(set(per_call) - set(envelopes))
    rounds = tuple(Round(c, envelopes.get(c), per_call.get(c, Money())) for c in calls)
    total = sum((r.money for r in rounds), Money())
    return MoneyView(
        years=tuple(sorted(per_year.items())),
        rounds=rounds,
        total=total,
        budget=budget,
        grants=dict(per_grant),
    )
