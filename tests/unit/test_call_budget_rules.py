"""The call's budget rules of ``core/rules.py``: project years, a yearly cap on
public funding, cost categories and associated partners without public funding. Plain data."""

from __future__ import annotations

import dataclasses

from competition.core.rules import BudgetRow, CallRules, budget_totals, check_budget
from tests.unit.rules_drafts import BUDGET, MEMBERS, NOVALED, D, codes, only

FIVE_YEARS = CallRules(budget_years=5)
CATEGORIES = CallRules(cost_categories={"personnel": "Personnel", "travel": "Travel"})


def line(member_key="m1", year=1, public="100", own="100", category="") -> BudgetRow:
    return BudgetRow(member_key, year, D(public), D(own), category)


def test_lines_within_the_calls_years_pass():
    budget = (line(year=1), line(year=5))
    assert "budget_year_outside_call" not in codes(check_budget(MEMBERS, budget, FIVE_YEARS))


def test_lines_after_the_calls_last_year_are_named_per_partner():
    budget = (line("m1", year=6), line("m1", year=7), line("m2", year=6), line("m3", year=2))
    problems = [
        p for p in check_budget(MEMBERS, budget, FIVE_YEARS) if p.code == "budget_year_outside_call"
    ]
    assert [str(p.message) for p in problems] == [
        "TU Dresden has budget lines for years 6, 7; this call's budgets run over 5 years. "
        "Delete those lines.",
        "Infineon Technologies has budget lines for year 6; this call's budgets run over 5 "
        "years. Delete those lines.",
    ]


def test_without_a_number_of_years_any_year_passes():
    assert "budget_year_outside_call" not in codes(
        check_budget(MEMBERS, (line(year=9),), CallRules())
    )


def test_a_year_over_the_yearly_cap_is_named_with_its_sum():
    rules = CallRules(max_public_funding_per_year=D("1000000.00"))
    budget = (line("m1", 1, "600000"), line("m2", 1, "500000"), line("m1", 2, "1000000"))
    problem = only(check_budget(MEMBERS, budget, rules), "budget_over_yearly_cap")
    assert str(problem.message) == (
        "Public funding requested for year 1 is 1,100,000.00 EUR; this call allows at most "
        "1,000,000.00 EUR per proposal and year."
    )


def test_the_yearly_cap_sums_every_category_of_the_year():
    rules = dataclasses.replace(CATEGORIES, max_public_funding_per_year=D("150"))
    budget = (line(category="personnel"), line(category="travel"))
    assert "budget_over_yearly_cap" in codes(check_budget(MEMBERS, budget, rules))
    assert "budget_over_yearly_cap" not in codes(check_budget(MEMBERS, budget[:1], rules))


def test_lines_in_the_calls_categories_pass_and_sum_per_member_and_year():
    budget = (line(category="personnel"), line(category="travel", public="50"))
    assert check_budget(MEMBERS, budget, CATEGORIES) == []
    totals = budget_totals(budget)
    assert totals.per_member["m1"] == (D("150"), D("200"))
    assert totals.per_year[1] == (D("150"), D("200"))


def test_a_line_without_a_category_is_named_when_the_call_has_categories():
    problem = only(check_budget(MEMBERS, (line(),), CATEGORIES), "budget_category_missing")
    assert "Personnel, Travel" in str(problem.message)


def test_a_line_in_a_category_the_call_does_not_have_is_named():
    problem = only(
        check_budget(MEMBERS, (line(category="catering"),), CATEGORIES), "budget_category_unknown"
    )
    assert "“catering”" in str(problem.message)
    problem = only(
        check_budget(MEMBERS, (line(category="catering"),), CallRules()), "budget_category_unknown"
    )
    assert "this call has no cost categories" in str(problem.message)


def test_an_associated_partner_asking_for_public_funding_is_named():
    associated = dataclasses.replace(NOVALED, is_associated=True)
    members = (MEMBERS[0], MEMBERS[1], associated)
    problem = only(check_budget(members, BUDGET, CallRules()), "associated_partner_funded")
    assert str(problem.message) == (
        "Novaled GmbH is an associated partner and receives no public funding; it asks for "
        "200,000.00 EUR."
    )
    own_only = (*BUDGET[:3], line("m3", 2, public="0", own="5000"))
    assert "associated_partner_funded" not in codes(check_budget(members, own_only, CallRules()))


def test_screening_counts_every_new_budget_problem_under_the_budget_rules():
    from competition.screening.queries import CHECK_OF_CODE

    associated = dataclasses.replace(NOVALED, is_associated=True)
    rules = CallRules(
        budget_years=1,
        max_public_funding_per_year=D("1"),
        cost_categories={"travel": "Travel"},
    )
    budget = (line("m1", 2), line("m3", category="catering"), line("m2", category="travel"))
    found = set(codes(check_budget((*MEMBERS[:2], associated), budget, rules)))
    new = {
        "budget_year_outside_call",
        "budget_over_yearly_cap",
        "budget_category_missing",
        "budget_category_unknown",
        "associated_partner_funded",
    }
    assert new <= found
    assert {CHECK_OF_CODE.get(code) for code in new} == {"budget"}
