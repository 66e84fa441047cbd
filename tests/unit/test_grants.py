"""The grant's pure rules: the approved amounts from a budget, the period and its phases, the
money a grant commits (never counted twice with its decision), and the envelope check."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from competition.core import grants as rules
from competition.core.grants import (
    Budget,
    BudgetRow,
    FundRequest,
    GrantMoney,
    Phase,
)

M = Decimal(1_000_000)


def project(
    proposal_id: int = 1,
    *,
    state: str = "offered",
    per_year: Decimal = M,
    years: int = 9,
    released: int = 0,
) -> GrantMoney:
    """Nine years in three phases of three; the first ``released`` phases released."""
    return GrantMoney(
        proposal_id=proposal_id,
        kind=rules.PROJECT,
        state=state,
        by_year={year: per_year for year in range(1, years + 1)},
        phases=tuple(
            Phase(first_year=first, last_year=first + 2, released=number <= released)
            for number, first in enumerate(range(1, years + 1, 3), start=1)
        ),
    )


# --- calendar ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("published", "starts"),
    [
        (dt.date(2027, 3, 15), dt.date(2027, 4, 1)),
        (dt.date(2027, 3, 1), dt.date(2027, 4, 1)),
        (dt.date(2027, 12, 31), dt.date(2028, 1, 1)),
    ],
)
def test_a_grant_starts_on_the_first_of_the_month_after_publication(published, starts):
    assert rules.first_of_next_month(published) == starts


def test_months_and_years_are_added_to_the_last_day_of_a_shorter_month():
    assert rules.add_months(dt.date(2027, 1, 31), 1) == dt.date(2027, 2, 28)
    assert rules.add_months(dt.date(2027, 11, 1), 6) == dt.date(2028, 5, 1)
    assert rules.add_years(dt.date(2028, 2, 29), 1) == dt.date(2029, 2, 28)


def test_nine_years_in_phases_of_three_meet_on_the_same_day():
    start = dt.date(2027, 4, 1)
    phases = rules.plan_phases(start, rules.add_years(start, 9), phase_years=3)

    assert [(p.number, p.first_year, p.last_year) for p in phases] == [
        (1, 1, 3),
        (2, 4, 6),
        (3, 7, 9),
    ]
    assert phases[0].starts_on == start
    assert [p.ends_on for p in phases[:-1]] == [p.starts_on for p in phases[1:]]
    assert phases[-1].ends_on == dt.date(2036, 4, 1)


def test_the_last_phase_is_shorter_when_the_years_do_not_divide():
    start = dt.date(2027, 1, 1)
    phases = rules.plan_phases(start, rules.add_years(start, 5), phase_years=3)
    assert [(p.first_year, p.last_year) for p in phases] == [(1, 3), (4, 5)]


def test_a_period_of_six_months_is_one_project_year_and_one_phase():
    start = dt.date(2027, 4, 1)
    end = rules.add_months(start, 6)
    assert rules.project_years(start, end) == 1
    [phase] = rules.plan_phases(start, end, phase_years=3)
    assert (phase.first_year, phase.last_year, phase.ends_on) == (1, 1, end)


# --- amounts -----------------------------------------------------------------------------------


def test_the_budget_is_summed_over_cost_categories_per_partner_and_year():
    rows = [
        BudgetRow(member_id=10, year=1, public_funding=Decimal("100000")),
        BudgetRow(member_id=10, year=1, public_funding=Decimal("20000.50")),  # travel
        BudgetRow(member_id=10, year=3, public_funding=Decimal("5000")),
        BudgetRow(member_id=11, year=2, public_funding=Decimal("80000")),
        BudgetRow(member_id=12, year=1, public_funding=Decimal("0")),  # associated partner
    ]
    cells = rules.amounts_from_budget(rows, years=3)

    assert cells == {
        (10, 1): Decimal("120000.50"),
        (10, 2): Decimal("0.00"),
        (10, 3): Decimal("5000.00"),
        (11, 1): Decimal("0.00"),
        (11, 2): Decimal("80000.00"),
        (11, 3): Decimal("0.00"),
    }


def test_money_after_the_last_year_is_named():
    cells = {(1, 2): Decimal(5), (1, 4): Decimal(0), (2, 5): Decimal(1)}
    assert rules.money_outside(cells, years=3) == [5]


# --- committed money ---------------------------------------------------------------------------


def test_a_grant_replaces_its_decisions_request_and_is_never_counted_twice():
    requests = [
        FundRequest(proposal_id=1, requested=Decimal(12) * M),
        FundRequest(proposal_id=2, requested=Decimal(7) * M),
    ]
    grant = project(1, per_year=M)  # nine million instead of twelve

    assert rules.committed(requests, []) == 19 * M
    assert rules.committed(requests, [grant]) == 16 * M
    assert rules.correction(requests, [grant]) == -3 * M


def test_a_concept_grant_adds_to_its_proposals_request():
    concept = GrantMoney(
        proposal_id=2, kind=rules.CONCEPT, state="running", by_year={1: Decimal(250_000)}
    )
    requests = [FundRequest(proposal_id=2, requested=Decimal(7) * M)]
    assert rules.committed(requests, [concept]) == Decimal(7_250_000)


def test_a_declined_grant_commits_nothing_and_frees_its_decisions_money():
    requests = [FundRequest(proposal_id=1, requested=Decimal(12) * M)]
    assert rules.committed(requests, [project(1, state="declined")]) == 0


@pytest.mark.parametrize("state", ["offered", "accepted", "running", "in_evaluation"])
def test_a_live_grant_commits_every_phase_released_or_not(state):
    assert rules.counted(project(state=state, released=1)) == 9 * M


def test_an_ended_grant_commits_only_its_released_phases():
    assert rules.counted(project(state="ended_early", released=1)) == 3 * M
    assert rules.counted(project(state="closed", released=2)) == 6 * M
    assert rules.counted(project(state="closed", released=3)) == 9 * M


# --- the envelope ------------------------------------------------------------------------------


def test_a_grant_that_fits_both_budgets_is_offered():
    grant = project(1, per_year=M)
    budgets = [
        Budget("programme", 100 * M, [FundRequest(1, 9 * M), FundRequest(2, 80 * M)]),
        Budget("envelope", 20 * M, [FundRequest(1, 9 * M)]),
    ]
    assert rules.envelope_problems(grant, budgets) == []


def test_a_grant_beyond_the_envelope_says_what_is_left():
    grant = project(1, per_year=M)  # 9 M
    envelope = Budget(
        "envelope",
        15 * M,
        [FundRequest(1, 9 * M), FundRequest(2, 8 * M)],
        [GrantMoney(3, rules.CONCEPT, "accepted", {1: Decimal(500_000)})],
    )
    fit = rules.room(envelope, grant)
    assert (fit.others, fit.left, fit.fits) == (Decimal("8500000.00"), Decimal("6500000.00"), False)

    [problem] = rules.envelope_problems(grant, [envelope, Budget("programme", 100 * M)])
    assert str(problem) == (
        "The grant's 9,000,000.00 EUR exceed what is left of the round's envelope: "
        "6,500,000.00 EUR of 15,000,000.00 EUR (8,500,000.00 EUR are committed to other "
        "proposals)."
    )


def test_an_adjusted_grant_is_measured_without_its_old_amounts():
    old = project(1, per_year=M)
    budget = Budget("programme", 10 * M, [FundRequest(1, 9 * M)], [old])
    assert rules.room(budget, project(1, per_year=Decimal("1100000"))).fits
    assert not rules.room(budget, project(1, per_year=Decimal("1200000"))).fits
