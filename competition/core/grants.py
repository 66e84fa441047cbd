"""The rules of a grant's money and calendar, on plain data: what a submitted budget approves,
the grant's period and phases, how much money a grant commits, and whether a grant fits in
what is left of the programme's budget and the round's envelope.

Committed money (the one rule the line, the grant offer and the dashboard count by):

* a confirmed "fund" decision commits the public funding its proposal requested at the
  decision's stage, until its proposal has a project grant: from then on the grant counts
  instead (never both);
* a grant commits its approved amounts, each year counted once, except where money can no
  longer be paid: nothing once it is declined, and once it has ended (ended early or closed)
  only the years of the phases that were released (a phase an interim evaluation stopped, or
  that was never reached, is never released);
* concept grants (a finalist's funded concept phase) commit their amount the same way; no
  decision's request stands behind them.

Dates: a grant's ``ends_on`` is the anniversary of its start (the first day after the funded
period), and its phases meet on the same day, so a grant of three years from 01.04.2027 runs
until 01.04.2030.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from competition.core.texts import N_, Text

CENT = Decimal("0.01")
MAX_YEARS = 9

PROJECT = "project"
CONCEPT = "concept"
# States in which a grant's money can no longer grow: only released phases still count.
ENDED = ("ended_early", "closed")
DECLINED = "declined"
# States before the grant starts: its amounts, dates and conditions may still be adjusted.
ADJUSTABLE = ("offered", "accepted")


# --- calendar ----------------------------------------------------------------------------------


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day ``months`` later; the month's last day where it is shorter (31.01. + 1 →
    28.02.)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def add_years(day: dt.date, years: int) -> dt.date:
    return add_months(day, 12 * years)


def first_of_next_month(day: dt.date) -> dt.date:
    """A grant's default start: the first day of the month after ``day`` (the day of
    publication in Berlin)."""
    return add_months(day.replace(day=1), 1)


def project_years(starts_on: dt.date, ends_on: dt.date) -> int:
    """How many project years (twelve months from the start each) the period touches."""
    years = 0
    while add_years(starts_on, years) < ends_on:
        years += 1
    return years


@dataclass(frozen=True)
class PhasePlan:
    number: int
    first_year: int
    last_year: int
    starts_on: dt.date
    ends_on: dt.date


def plan_phases(starts_on: dt.date, ends_on: dt.date, *, phase_years: int) -> list[PhasePlan]:
    """Phases of ``phase_years`` project years over the period, the last one ending with it
    (it may be shorter)."""
    years = max(1, project_years(starts_on, ends_on))
    step = max(1, phase_years)
    phases = []
    for number, first in enumerate(range(1, years + 1, step), start=1):
        last = min(first + step - 1, years)
        phases.append(
            PhasePlan(
                number=number,
                first_year=first,
                last_year=last,
                starts_on=add_years(starts_on, first - 1),
                ends_on=ends_on if last == years else add_years(starts_on, last),
            )
        )
    return phases


# --- amounts -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class BudgetRow:
    """One line of a submitted budget: a partner (by id), a project year, public funding (one
    cost category of several, or the whole year where the call has none)."""

    member_id: int
    year: int
    public_funding: Decimal


Cells = Mapping[tuple[int, int], Decimal]


def summed(rows: Iterable[BudgetRow]) -> dict[tuple[int, int], Decimal]:
    """The budget's public funding per (partner, project year), its cost categories summed."""
    cells: dict[tuple[int, int], Decimal] = defaultdict(Decimal)
    for row in rows:
        cells[(row.member_id, row.year)] += row.public_funding
    return dict(cells)


def amounts_from_budget(rows: Iterable[BudgetRow], *, years: int) -> dict[tuple[int, int], Decimal]:
    """The approved amount per (partner, project year): the budget's public funding summed over
    its cost categories, for every year of the grant of each partner asking for any money
    (years without money as 0, so every partner's row covers the whole period). Money after
    the last year is left out: ask ``money_outside`` first."""
    return complete(summed(rows), years=years)


def complete(cells: Cells, *, years: int) -> dict[tuple[int, int], Decimal]:
    """``cells`` over every year 1..``years`` for each partner with money; partners without
    any are left out."""
    members = sorted({m for (m, _), amount in cells.items() if amount})
    return {
        (member, year): Decimal(cells.get((member, year), 0)).quantize(CENT)
        for member in members
        for year in range(1, years + 1)
    }


def money_outside(cells: Cells, *, years: int) -> list[int]:
    """The project years after the grant's last that still carry money."""
    return sorted({year for (_, year), amount in cells.items() if amount and year > years})


# --- committed money ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Phase:
    first_year: int
    last_year: int
    released: bool


@dataclass(frozen=True)
class GrantMoney:
    """What the count needs of a grant: whose it is, its state, its amounts per project year
    (all partners together) and its phases."""

    proposal_id: int
    kind: str  # PROJECT or CONCEPT
    state: str
    by_year: Mapping[int, Decimal]
    phases: Sequence[Phase] = ()

    @property
    def total(self) -> Decimal:
        return sum(self.by_year.values(), Decimal(0))


@dataclass(frozen=True)
class FundRequest:
    """A confirmed "fund" decision and the public funding its proposal requested at the
    decision's stage."""

    proposal_id: int
    requested: Decimal


def counted_by_year(
    state: str, by_year: Mapping[int, Decimal], phases: Sequence[Phase]
) -> dict[int, Decimal]:
    """The money a grant in ``state`` commits per project year (see the module's docstring);
    a grant without phases (made before it kept them) counts in full."""
    if state == DECLINED:
        return {}
    if state in ENDED and phases:
        released = {
            year
            for phase in phases
            if phase.released
            for year in range(phase.first_year, phase.last_year + 1)
        }
        return {y: a for y, a in by_year.items() if y in released}
    return dict(by_year)


def counted(grant: GrantMoney) -> Decimal:
    """The money ``grant`` commits (see the module's docstring)."""
    return sum(counted_by_year(grant.state, grant.by_year, grant.phases).values(), Decimal(0))


def committed(requests: Iterable[FundRequest], grants: Iterable[GrantMoney]) -> Decimal:
    """The money committed by confirmed "fund" decisions and grants together: a decision whose
    proposal has a project grant is replaced by the grant (declined or not), never counted
    twice."""
    grants = list(grants)
    granted = {g.proposal_id for g in grants if g.kind == PROJECT}
    asked = sum((r.requested for r in requests if r.proposal_id not in granted), Decimal(0))
    return (asked + sum((counted(g) for g in grants), Decimal(0))).quantize(CENT)


def correction(requests: Sequence[FundRequest], grants: Iterable[GrantMoney]) -> Decimal:
    """What grants add to the sum of ``requests`` (which may be negative): what the line,
    which sums the decisions' requests itself, adds for the grants."""
    return committed(requests, grants) - sum((r.requested for r in requests), Decimal(0))


@dataclass(frozen=True)
class Budget:
    """A limit on committed money: the programme's total, or a round's envelope, with the
    decisions and grants counted against it."""

    kind: str  # "programme" or "envelope"
    total: Decimal
    requests: Sequence[FundRequest] = ()
    grants: Sequence[GrantMoney] = field(default_factory=tuple)


@dataclass(frozen=True)
class Room:
    kind: str
    total: Decimal
    others: Decimal  # committed to everything but the grant
    grant: Decimal  # what the grant commits

    @property
    def left(self) -> Decimal:
        return self.total - self.others

    @property
    def fits(self) -> bool:
        return self.grant <= self.left


def room(budget: Budget, grant: GrantMoney) -> Room:
    """How ``grant`` fits into ``budget``: the grant replaces whatever ``budget.grants`` holds
    of the same proposal and kind, and, as a project grant, its proposal's "fund" decision."""
    others = [
        g for g in budget.grants if (g.proposal_id, g.kind) != (grant.proposal_id, grant.kind)
    ]
    with_grant = committed(budget.requests, [*others, grant])
    mine = counted(grant)
    return Room(budget.kind, budget.total, with_grant - mine, mine)


def envelope_problems(grant: GrantMoney, budgets: Iterable[Budget]) -> list[Text]:
    """Why ``grant`` cannot be offered (or adjusted to its amounts): for each budget it does
    not fit, the grant's money, what is left and what is committed to others. An amount
    already over a budget is refused only when the grant commits more than is left."""
    problems = []
    for budget in budgets:
        fit = room(budget, grant)
        if fit.fits:
            continue
        values = {
            "amount": fit.grant.quantize(CENT),
            "left": fit.left.quantize(CENT),
            "total": fit.total.quantize(CENT),
            "others": fit.others.quantize(CENT),
        }
        if budget.kind == "envelope":
            problems.append(
                N_(
                    "The grant's %(amount)s EUR exceed what is left of the round's envelope: "
                    "%(left)s EUR of %(total)s EUR (%(others)s EUR are committed to other "
                    "proposals).",
                    **values,
                )
            )
        else:
            problems.append(
                N_(
                    "The grant's %(amount)s EUR exceed what is left of the programme's budget: "
                    "%(left)s EUR of %(total)s EUR (%(others)s EUR are committed to other "
                    "proposals).",
                    **values,
                )
            )
    return problems
