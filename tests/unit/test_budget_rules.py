"""The rules of ``core/rules.py`` for a consortium's budget: totals, and the checks of every
amount per partner and year. Plain data, no app."""

from __future__ import annotations

import dataclasses
import re
from fractions import Fraction

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from competition.core.rules import (
    CallRules,
    budget_totals,
    check_budget,
)
from tests.unit.rules_drafts import (
    ALLIANCE,
    BUDGET,
    MEMBERS,
    RATES,
    RULES,
    D,
    budget_rows,
    codes,
    only,
    row,
)

# --- budget totals -------------------------------------------------------------------------------


def test_budget_totals_sum_overall_per_member_and_per_year():
    totals = budget_totals(BUDGET)
    assert totals.public == D("1700000.00")
    assert totals.own == D("700000.00")
    assert totals.total == D("2400000.00")
    assert totals.private_share == D("700000") / D("2400000")
    assert dict(totals.per_member) == {
        "m1": (D("1000000.00"), D("0.00")),
        "m2": (D("500000.00"), D("500000.00")),
        "m3": (D("200000.00"), D("200000.00")),
    }
    assert list(totals.per_year.items()) == [
        (1, (D("1100000.00"), D("500000.00"))),
        (2, (D("600000.00"), D("200000.00"))),
    ]


def test_per_year_is_in_ascending_year_order():
    totals = budget_totals((row(year=3), row(year=1), row(year=2)))
    assert list(totals.per_year) == [1, 2, 3]


@pytest.mark.parametrize("budget", [(), (row(),)])
def test_private_share_is_none_when_the_total_is_zero(budget):
    assert budget_totals(budget).private_share is None


def test_budget_totals_count_unreadable_amounts_as_zero():
    totals = budget_totals((row(public="NaN", own="10"), row(public="5", own="Infinity")))
    assert (totals.public, totals.own) == (D("5"), D("10"))


@given(budget_rows)
def test_budget_totals_add_up_every_way(rows):
    totals = budget_totals(rows)
    assert totals.total == totals.public + totals.own
    assert totals.public == sum((r.public_funding for r in rows), D(0))
    assert totals.own == sum((r.own_contribution for r in rows), D(0))
    for breakdown in (totals.per_member, totals.per_year):
        assert sum((p for p, _ in breakdown.values()), D(0)) == totals.public
        assert sum((o for _, o in breakdown.values()), D(0)) == totals.own
    if totals.total:
        assert D(0) <= totals.private_share <= D(1)


# --- budget checks -------------------------------------------------------------------------------


def test_a_sound_budget_has_no_problems():
    rules = CallRules(
        max_public_funding_per_proposal=D("45000000"),
        min_private_share=D("0.25"),
        funding_rates={"sme": D("0.5"), "university": D("1")},
    )
    assert check_budget(MEMBERS, BUDGET, rules) == []


def test_an_empty_budget_is_missing():
    problems = check_budget(MEMBERS, (), RULES)
    assert codes(problems) == ["budget_missing"]
    assert problems[0].anchor == "budget"


def test_a_budget_of_zeros_is_missing():
    problem = only(check_budget(MEMBERS, (row(), row("m2")), RULES), "budget_missing")
    assert "0.00 EUR" in str(problem.message)


def test_public_funding_exactly_at_the_cap_passes():
    budget = (row("m1", 1, "45000000.00", "0"),)
    assert check_budget(MEMBERS, budget, RULES) == []


def test_public_funding_one_cent_over_the_cap_is_refused_with_both_amounts():
    budget = (row("m1", 1, "30000000.00", "0"), row("m2", 1, "15000000.01", "1000"))
    problem = only(check_budget(MEMBERS, budget, RULES), "budget_over_cap")
    assert str(problem.message) == (
        "Public funding requested is 45,000,000.01 EUR; "
        "this call allows at most 45,000,000.00 EUR per proposal."
    )
    assert problem.anchor == "budget"


def test_without_a_cap_any_amount_passes():
    budget = (row("m1", 1, "999999999999.99", "0"),)
    assert check_budget(MEMBERS, budget, CallRules()) == []


def test_a_private_share_exactly_at_the_minimum_passes():
    budget = (row("m1", 1, "1500000.00", "0"), row("m2", 1, "0", "8500000.00"))
    assert check_budget(MEMBERS, budget, ALLIANCE) == []


def test_a_private_share_one_cent_short_is_refused():
    budget = (row("m1", 1, "1500000.01", "0"), row("m2", 1, "0", "8499999.99"))
    problem = only(check_budget(MEMBERS, budget, ALLIANCE), "private_share_too_low")
    assert "8,499,999.99 EUR of 10,000,000.00 EUR" in str(problem.message)
    assert "contributions are 84.99 % of" in str(problem.message)
    assert str(problem.message).endswith("this call requires at least 85 %.")
    assert problem.anchor == "budget"


def test_a_private_share_message_shows_the_share_with_one_decimal():
    budget = (row("m1", 1, "154000", "0"), row("m2", 1, "0", "846000"))
    problem = only(check_budget(MEMBERS, budget, ALLIANCE), "private_share_too_low")
    assert str(problem.message) == (
        "Own and private contributions are 84.6 % of the total budget "
        "(846,000.00 EUR of 1,000,000.00 EUR); this call requires at least 85 %."
    )


def test_a_share_just_under_the_minimum_never_reads_as_equal_to_it():
    budget = (row("m1", 1, "1501", "0"), row("m2", 1, "0", "8499"))  # 84.99 %
    problem = only(check_budget(MEMBERS, budget, ALLIANCE), "private_share_too_low")
    assert "are 84.99 % of" in str(problem.message)


@given(
    public=st.decimals(min_value=0, max_value=10**8, places=2),
    own=st.decimals(min_value=0, max_value=10**8, places=2),
    minimum=st.decimals(min_value=0, max_value=1, places=4),
)
def test_the_private_share_rule_agrees_with_exact_fractions(public, own, minimum):
    assume(public + own > 0)
    budget = (row("m1", 1, public, "0"), row("m2", 1, "0", own))
    problems = check_budget(MEMBERS, budget, CallRules(min_private_share=minimum))
    too_low = Fraction(own) / (Fraction(public) + Fraction(own)) < Fraction(minimum)
    assert ("private_share_too_low" in codes(problems)) == too_low


@given(
    public=st.decimals(min_value=0, max_value=10**8, places=2),
    own=st.decimals(min_value=0, max_value=10**8, places=2),
    minimum=st.decimals(min_value=0, max_value=1, places=4),
)
def test_a_too_low_private_share_never_reads_as_equal_to_the_minimum(public, own, minimum):
    budget = (row("m1", 1, public, "0"), row("m2", 1, "0", own))
    problems = check_budget(MEMBERS, budget, CallRules(min_private_share=minimum))
    for problem in problems:
        if problem.code == "private_share_too_low":
            shown = re.findall(r"([0-9.]+) %", str(problem.message))
            assert len(shown) == 2
            assert D(shown[0]) < D(shown[1])


def test_a_member_exactly_at_its_funding_rate_passes():
    budget = (row("m1", 1, "90", "10"), row("m3", 1, "200000", "0"), row("m3", 2, "0", "200000"))
    assert check_budget(MEMBERS, budget, RATES) == []


def test_a_member_over_its_funding_rate_is_named_with_both_percentages():
    budget = (row("m1", 1, "90", "10"), row("m3", 1, "200001.00", "199999.00"))
    problem = only(check_budget(MEMBERS, budget, RATES), "funding_rate_exceeded")
    # 50.0002 % would read as "50 %" at one decimal, so it is rounded up to tell it apart.
    assert str(problem.message).startswith("Novaled GmbH asks for 50.01 % of its costs")
    assert "SMEs at no more than 50 %" in str(problem.message)
    assert "200,001.00 EUR of 400,000.00 EUR" in str(problem.message)


def test_each_member_is_held_to_the_rate_of_its_own_kind():
    budget = (row("m1", 1, "95", "5"), row("m3", 1, "95", "5"))
    problems = check_budget(MEMBERS, budget, RATES)
    assert codes(problems) == ["funding_rate_exceeded", "funding_rate_exceeded"]
    assert "TU Dresden asks for 95 %" in str(problems[0].message)
    assert "universities at no more than 90 %" in str(problems[0].message)
    assert "Novaled GmbH asks for 95 %" in str(problems[1].message)


def test_a_kind_without_a_rate_may_ask_for_full_funding():
    budget = (row("m2", 1, "1000000", "0"),)
    assert check_budget(MEMBERS, budget, RATES) == []


def test_a_zero_rate_refuses_any_public_funding():
    rules = CallRules(funding_rates={"large_enterprise": D("0")})
    assert check_budget(MEMBERS, (row("m2", 1, "0", "100"),), rules) == []
    problem = only(
        check_budget(MEMBERS, (row("m2", 1, "0.01", "100"),), rules), "funding_rate_exceeded"
    )
    assert "Infineon Technologies" in str(problem.message) and "no more than 0 %" in str(
        problem.message
    )


def test_rows_for_an_organisation_not_in_the_consortium_are_reported_once_per_organisation():
    budget = (*BUDGET, row("m7", 1, "100", "0"), row("m7", 3, "50", "0"), row("m8", 2, "1", "1"))
    problems = check_budget(MEMBERS, budget, RULES)
    assert codes(problems) == ["budget_member_unknown", "budget_member_unknown"]
    assert "2 rows (years 1, 3, 150.00 EUR public funding)" in str(problems[0].message)
    assert "1 row (year 2, 1.00 EUR public funding)" in str(problems[1].message)
    assert {p.anchor for p in problems} == {"budget"}


def test_rows_for_an_unknown_organisation_still_count_towards_the_cap():
    budget = (row("m1", 1, "45000000", "0"), row("m7", 1, "0.01", "0"))
    assert "budget_over_cap" in codes(check_budget(MEMBERS, budget, RULES))


def test_negative_amounts_are_reported_with_member_year_and_amount():
    budget = (*BUDGET, row("m2", 3, "-1000", "5"), row("m3", 3, "5", "-0.01"))
    problems = check_budget(MEMBERS, budget, RULES)
    assert codes(problems) == ["budget_negative", "budget_negative"]
    assert str(problems[0].message) == (
        "Infineon Technologies, year 3: the public funding is -1,000.00 EUR; "
        "amounts cannot be negative."
    )
    assert "Novaled GmbH, year 3: the own contribution is -0.01 EUR" in str(problems[1].message)


@pytest.mark.parametrize("bad", ["NaN", "sNaN", "Infinity", "-Infinity"])
def test_unreadable_amounts_are_reported_not_raised(bad):
    rules = CallRules(
        max_public_funding_per_proposal=D("10"),
        min_private_share=D("0.5"),
        funding_rates={"university": D("0.5")},
    )
    budget = (row("m1", 1, bad, "10"), row("m2", 1, "5", "5"))
    problem = only(check_budget(MEMBERS, budget, rules), "budget_amount_invalid")
    assert str(problem.message) == "TU Dresden, year 1: the public funding is not a valid amount."


@given(budget_rows, st.data())
def test_lowering_public_funding_never_adds_a_problem(rows, data):
    rules = CallRules(
        max_public_funding_per_proposal=D("2000000000"),
        min_private_share=D("0.3"),
        funding_rates={"sme": D("0.5"), "university": D("0.9")},
    )
    assume(rows)
    index = data.draw(st.integers(min_value=0, max_value=len(rows) - 1))
    factor = data.draw(st.decimals(min_value=0, max_value=1, places=3))
    lowered = list(rows)
    target = lowered[index]
    lowered[index] = dataclasses.replace(
        target, public_funding=(target.public_funding * factor).quantize(D("0.01"))
    )
    before = set(codes(check_budget(MEMBERS, rows, rules)))
    after = set(codes(check_budget(MEMBERS, lowered, rules)))
    assert after - before <= {"budget_missing"}
    if budget_totals(lowered).total > 0:
        assert after <= before
