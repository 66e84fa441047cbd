"""CONTINUED"""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from competition.core.rules import (
    CallRules,
    Member,
    SectionRule,
    check_consortium,
    check_general,
    check_sections,
    checklist,
    format_money,
    format_share,
)
from tests.unit.rules_drafts import (
    DURING,
    EAST,
    INFINEON,
    MEMBERS,
    NOVALED,
    PARTNERS,
    STAGE,
    STRATEGY,
    TUD,
    D,
    codes,
    good_draft,
    only,
)

# --- formatting ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("45000000", "45,000,000.00 EUR"),
        ("0.5", "0.50 EUR"),
        ("1234.565", "1,234.57 EUR"),
        ("-1000", "-1,000.00 EUR"),
        ("-0.001", "0.00 EUR"),
        ("0", "0.00 EUR"),
    ],
)
def test_format_money(value, shown):
    assert format_money(D(value)) == shown


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("0.85", "85 %"),
        ("0.846", "84.6 %"),
        ("0.8455", "84.6 %"),
        ("0.15", "15 %"),
        ("0", "0 %"),
        ("1", "100 %"),
        ("0.8", "80 %"),
        ("0.84999", "85 %"),
    ],
)
def test_format_share(value, shown):
    assert format_share(D(value)) == shown


def test_format_money_does_not_raise_on_non_finite_amounts():
    assert "NaN" in format_money(D("NaN"))
    assert "Infinity" in format_money(D("Infinity"))


@given(st.decimals(min_value=-(10**12), max_value=10**12, places=2))
def test_format_money_reads_back_as_the_same_amount(value):
    shown = format_money(value)
    assert shown.endswith(" EUR")
    assert D(shown.removesuffix(" EUR").replace(",", "")) == value


# --- general -------------------------------------------------------------------------------------


def test_a_complete_general_part_has_no_problems():
    assert check_general(good_draft()) == []


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"title": ""}, "title_missing"),
        ({"title": "   \n"}, "title_missing"),
        ({"acronym": ""}, "acronym_missing"),
        ({"abstract": " "}, "abstract_missing"),
        ({"topic_count": 0}, "no_topic"),
    ],
)
def test_missing_general_fields_are_reported_at_general(overrides, code):
    problems = check_general(good_draft(**overrides))
    assert codes(problems) == [code]
    assert problems[0].anchor == "general"


def test_no_topic_is_asked_for_where_the_programme_offers_none():
    assert check_general(good_draft(topic_count=0), topics_offered=False) == []
    rules = CallRules(topics_offered=False)
    problems = checklist(good_draft(topic_count=0), STAGE, rules, now=DURING)
    assert "no_topic" not in codes(problems)


# --- sections ------------------------------------------------------------------------------------


def test_written_sections_within_limits_pass():
    assert check_sections(STAGE.sections, {"strategy": "x" * 12_000}) == []


@pytest.mark.parametrize("sections", [{}, {"strategy": ""}, {"strategy": " \r\n\t"}])
def test_a_required_section_that_is_absent_or_blank_is_missing(sections):
    problems = check_sections(STAGE.sections, sections)
    problem = only(problems, "section_missing")
    assert problem.anchor == "section-strategy"
    assert "“Cluster strategy”" in str(problem.message)
    assert len(problems) == 1


def test_an_optional_section_may_be_empty():
    assert check_sections((PARTNERS,), {}) == []


def test_a_section_exactly_at_the_limit_passes_and_one_over_fails():
    assert check_sections((STRATEGY,), {"strategy": "x" * 12_000}) == []
    problems = check_sections((STRATEGY,), {"strategy": "x" * 12_431})
    problem = only(problems, "section_too_long")
    assert (
        str(problem.message) == "“Cluster strategy” is 12,431 characters long; the limit is 12,000."
    )
    assert problem.anchor == "section-strategy"


def test_a_posted_line_break_counts_as_one_character_like_the_browser_counter():
    text = "x" * 5_000 + "\r\n" + "y" * 6_999  # 12,000 characters as the person typed them
    assert check_sections((STRATEGY,), {"strategy": text}) == []
    assert codes(check_sections((STRATEGY,), {"strategy": text + "z"})) == ["section_too_long"]


def test_an_optional_section_still_keeps_its_limit():
    problems = check_sections((PARTNERS,), {"partners": "x" * 5_001})
    assert codes(problems) == ["section_too_long"]
    assert problems[0].anchor == "section-partners"


def test_text_under_keys_the_stage_does_not_ask_for_is_ignored():
    assert check_sections((STRATEGY,), {"strategy": "ok", "old": "x" * 100_000}) == []


def test_sections_are_reported_in_the_stage_order():
    rules = (SectionRule("a", "A", 1), SectionRule("b", "B", 1))
    problems = check_sections(rules, {"b": "too long"})
    assert [p.anchor for p in problems] == ["section-a", "section-b"]
    assert codes(problems) == ["section_missing", "section_too_long"]


# --- consortium ----------------------------------------------------------------------------------


def test_a_coordinator_and_partners_pass():
    assert check_consortium(MEMBERS, CallRules()) == []


def test_a_consortium_without_coordinator_is_refused():
    members = (dataclasses.replace(TUD, is_coordinator=False), INFINEON)
    problems = check_consortium(members, CallRules())
    assert codes(problems) == ["no_coordinator"]
    assert problems[0].anchor == "consortium"


def test_two_coordinators_are_refused_and_named():
    members = (TUD, dataclasses.replace(INFINEON, is_coordinator=True), NOVALED)
    problem = only(check_consortium(members, CallRules()), "too_many_coordinators")
    assert "TU Dresden" in str(problem.message) and "Infineon Technologies" in str(problem.message)
    assert str(problem.message).startswith("2 organisations")


def test_a_coordinator_alone_is_too_few():
    problem = only(check_consortium((TUD,), CallRules()), "too_few_partners")
    assert "1 organisation;" in str(problem.message)
    assert problem.anchor == "consortium"


def test_a_coordinator_and_one_partner_is_enough():
    assert check_consortium((TUD, NOVALED), CallRules()) == []


def test_an_empty_consortium_has_no_coordinator_and_too_few_partners():
    assert codes(check_consortium((), CallRules())) == ["no_coordinator", "too_few_partners"]


def test_the_same_organisation_twice_is_reported_at_the_second_entry():
    twin = Member("m9", "  tu   DRESDEN ", "university", "DE-SN", is_coordinator=False)
    problems = check_consortium((TUD, INFINEON, twin), CallRules())
    problem = only(problems, "duplicate_member")
    assert problem.anchor == "member-m9"
    assert "“TU Dresden” is listed twice" in str(problem.message)


def test_an_organisation_three_times_is_one_problem():
    copies = tuple(
        Member(f"c{i}", "Novaled GmbH", "sme", "DE-SN", is_coordinator=False) for i in range(2)
    )
    problem = only(check_consortium((TUD, NOVALED, *copies), CallRules()), "duplicate_member")
    assert "3 times" in str(problem.message)
    assert problem.anchor == "member-c0"


def test_a_coordinator_inside_the_region_passes_whatever_the_partners_states():
    assert INFINEON.federal_state == "DE-BY"
    assert check_consortium(MEMBERS, EAST) == []


def test_a_coordinator_outside_the_region_is_refused_with_state_names():
    coordinator = Member("m5", "TU München", "university", "DE-BY", is_coordinator=True)
    problems = check_consortium((coordinator, NOVALED), EAST)
    problem = only(problems, "outside_region")
    assert str(problem.message) == (
        "The coordinator, TU München, is based in Bavaria; this call is open only to "
        "consortia coordinated from Berlin, Saxony, Thuringia."
    )
    assert problem.anchor == "member-m5"


def test_a_coordinator_without_a_federal_state_is_outside_a_regional_call():
    coordinator = dataclasses.replace(TUD, federal_state=None)
    problem = only(check_consortium((coordinator, NOVALED), EAST), "outside_region")
    assert "no federal state" in str(problem.message)


def test_a_nationwide_call_accepts_any_coordinator_state():
    coordinator = dataclasses.replace(TUD, federal_state=None)
    assert check_consortium((coordinator, NOVALED), CallRules()) == []
    coordinator = dataclasses.replace(TUD, federal_state="DE-HH")
    assert check_consortium((coordinator, NOVALED), CallRules()) == []
