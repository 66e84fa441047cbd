import dataclasses
import datetime as dt
import re
from decimal import Decimal
from fractions import Fraction
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from competition.core.rules import (
    AttachmentInfo,
    AttachmentRule,
    BudgetRow,
    CallRules,
    Member,
    Problem,
    ProposalDraft,
    SectionRule,
    StageRules,
    budget_totals,
    check_attachments,
    check_budget,
    check_consortium,
    check_general,
    check_sections,
    check_window,
    checklist,
    deadline,
    format_money,
    format_share,
    window_state,
)

D = Decimal
UTC = dt.UTC
BERLIN = ZoneInfo("Europe/Berlin")
MB = 1024 * 1024

OPENS = dt.datetime(2026, 3, 1, 8, 0, tzinfo=UTC)  # 09:00 CET
CLOSES = dt.datetime(2026, 6, 30, 10, 0, tzinfo=UTC)  # 12:00 CEST
DURING = dt.datetime(2026, 5, 4, 12, 0, tzinfo=UTC)
SECOND = dt.timedelta(seconds=1)

STRATEGY = SectionRule("strategy", "Cluster strategy", 12_000)
PARTNERS = SectionRule("partners", "Partner roles", 5_000, required=False)
CV = AttachmentRule("cv", "CVs", required=True, max_pages=10, max_bytes=10 * MB)
LETTERS = AttachmentRule(
    "letters", "Letters of intent", required=False, max_pages=None, max_bytes=None
)

STAGE = StageRules(
    sections=(STRATEGY, PARTNERS),
    attachments=(CV, LETTERS),
    opens_at=OPENS,
    closes_at=CLOSES,
)

TUD = Member("m1", "TU Dresden", "university", "DE-SN", is_coordinator=True)
INFINEON = Member("m2", "Infineon Technologies", "large_enterprise", "DE-BY", is_coordinator=False)
NOVALED = Member("m3", "Novaled GmbH", "sme", "DE-SN", is_coordinator=False)
MEMBERS = (TUD, INFINEON, NOVALED)

BUDGET = (
    BudgetRow("m1", 1, D("600000.00"), D("0.00")),
    BudgetRow("m1", 2, D("400000.00"), D("0.00")),
    BudgetRow("m2", 1, D("500000.00"), D("500000.00")),
    BudgetRow("m3", 2, D("200000.00"), D("200000.00")),
)

RULES = CallRules(max_public_funding_per_proposal=D("45000000.00"))


def row(member_key="m1", year=1, public="0", own="0") -> BudgetRow:
    return BudgetRow(member_key, year, D(public), D(own))


def cv_file(**overrides) -> AttachmentInfo:
    fields = dict(key="cv", filename="cvs.pdf", size_bytes=2 * MB, page_count=8)
    return AttachmentInfo(**(fields | overrides))


def good_draft(**overrides) -> ProposalDraft:
    fields = dict(
        title="Organic electronics for the Saxon Silicon region",
        acronym="OES",
        abstract="A cluster for printed and organic electronics.",
        topic_count=2,
        sections={"strategy": "We will build a cluster.", "partners": ""},
        members=MEMBERS,
        budget=BUDGET,
        attachments=(cv_file(),),
    )
    return ProposalDraft(**(fields | overrides))


def codes(problems) -> list[str]:
    return [p.code for p in problems]


def only(problems, code):
    found = [p for p in problems if p.code == code]
    assert len(found) == 1, problems
    return found[0]


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


# --- sections ------------------------------------------------------------------------------------


def test_written_sections_within_limits_pass():
    assert check_sections(STAGE.sections, {"strategy": "x" * 12_000}) == []


@pytest.mark.parametrize("sections", [{}, {"strategy": ""}, {"strategy": " \r\n\t"}])
def test_a_required_section_that_is_absent_or_blank_is_missing(sections):
    problems = check_sections(STAGE.sections, sections)
    problem = only(problems, "section_missing")
    assert problem.anchor == "section-strategy"
    assert "“Cluster strategy”" in problem.message
    assert len(problems) == 1


def test_an_optional_section_may_be_empty():
    assert check_sections((PARTNERS,), {}) == []


def test_a_section_exactly_at_the_limit_passes_and_one_over_fails():
    assert check_sections((STRATEGY,), {"strategy": "x" * 12_000}) == []
    problems = check_sections((STRATEGY,), {"strategy": "x" * 12_431})
    problem = only(problems, "section_too_long")
    assert problem.message == "“Cluster strategy” is 12,431 characters long; the limit is 12,000."
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
    assert "TU Dresden" in problem.message and "Infineon Technologies" in problem.message
    assert problem.message.startswith("2 organisations")


def test_a_coordinator_alone_is_too_few():
    problem = only(check_consortium((TUD,), CallRules()), "too_few_partners")
    assert "1 organisation;" in problem.message
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
    assert "“TU Dresden” is listed twice" in problem.message


def test_an_organisation_three_times_is_one_problem():
    copies = tuple(
        Member(f"c{i}", "Novaled GmbH", "sme", "DE-SN", is_coordinator=False) for i in range(2)
    )
    problem = only(check_consortium((TUD, NOVALED, *copies), CallRules()), "duplicate_member")
    assert "3 times" in problem.message
    assert problem.anchor == "member-c0"


EAST = CallRules(region_scope=frozenset({"DE-SN", "DE-BE", "DE-TH"}))


def test_a_coordinator_inside_the_region_passes_whatever_the_partners_states():
    assert INFINEON.federal_state == "DE-BY"
    assert check_consortium(MEMBERS, EAST) == []


def test_a_coordinator_outside_the_region_is_refused_with_state_names():
    coordinator = Member("m5", "TU München", "university", "DE-BY", is_coordinator=True)
    problems = check_consortium((coordinator, NOVALED), EAST)
    problem = only(problems, "outside_region")
    assert problem.message == (
        "The coordinator, TU München, is based in Bavaria; this call is open only to "
        "consortia coordinated from Berlin, Saxony, Thuringia."
    )
    assert problem.anchor == "member-m5"


def test_a_coordinator_without_a_federal_state_is_outside_a_regional_call():
    coordinator = dataclasses.replace(TUD, federal_state=None)
    problem = only(check_consortium((coordinator, NOVALED), EAST), "outside_region")
    assert "no federal state" in problem.message


def test_a_nationwide_call_accepts_any_coordinator_state():
    coordinator = dataclasses.replace(TUD, federal_state=None)
    assert check_consortium((coordinator, NOVALED), CallRules()) == []
    coordinator = dataclasses.replace(TUD, federal_state="DE-HH")
    assert check_consortium((coordinator, NOVALED), CallRules()) == []


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


money = st.decimals(min_value=0, max_value=10**9, places=2)
budget_rows = st.lists(
    st.builds(
        BudgetRow,
        member_key=st.sampled_from(["m1", "m2", "m3"]),
        year=st.integers(min_value=1, max_value=6),
        public_funding=money,
        own_contribution=money,
    ),
    max_size=12,
)


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
    assert "0.00 EUR" in problem.message


def test_public_funding_exactly_at_the_cap_passes():
    budget = (row("m1", 1, "45000000.00", "0"),)
    assert check_budget(MEMBERS, budget, RULES) == []


def test_public_funding_one_cent_over_the_cap_is_refused_with_both_amounts():
    budget = (row("m1", 1, "30000000.00", "0"), row("m2", 1, "15000000.01", "1000"))
    problem = only(check_budget(MEMBERS, budget, RULES), "budget_over_cap")
    assert problem.message == (
        "Public funding requested is 45,000,000.01 EUR; "
        "this call allows at most 45,000,000.00 EUR per proposal."
    )
    assert problem.anchor == "budget"


def test_without_a_cap_any_amount_passes():
    budget = (row("m1", 1, "999999999999.99", "0"),)
    assert check_budget(MEMBERS, budget, CallRules()) == []


ALLIANCE = CallRules(min_private_share=D("0.85"))


def test_a_private_share_exactly_at_the_minimum_passes():
    budget = (row("m1", 1, "1500000.00", "0"), row("m2", 1, "0", "8500000.00"))
    assert check_budget(MEMBERS, budget, ALLIANCE) == []


def test_a_private_share_one_cent_short_is_refused():
    budget = (row("m1", 1, "1500000.01", "0"), row("m2", 1, "0", "8499999.99"))
    problem = only(check_budget(MEMBERS, budget, ALLIANCE), "private_share_too_low")
    assert "8,499,999.99 EUR of 10,000,000.00 EUR" in problem.message
    assert "contributions are 84.99 % of" in problem.message
    assert problem.message.endswith("this call requires at least 85 %.")
    assert problem.anchor == "budget"


def test_a_private_share_message_shows_the_share_with_one_decimal():
    budget = (row("m1", 1, "154000", "0"), row("m2", 1, "0", "846000"))
    problem = only(check_budget(MEMBERS, budget, ALLIANCE), "private_share_too_low")
    assert problem.message == (
        "Own and private contributions are 84.6 % of the total budget "
        "(846,000.00 EUR of 1,000,000.00 EUR); this call requires at least 85 %."
    )


def test_a_share_just_under_the_minimum_never_reads_as_equal_to_it():
    budget = (row("m1", 1, "1501", "0"), row("m2", 1, "0", "8499"))  # 84.99 %
    problem = only(check_budget(MEMBERS, budget, ALLIANCE), "private_share_too_low")
    assert "are 84.99 % of" in problem.message


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
            shown = re.findall(r"([0-9.]+) %", problem.message)
            assert len(shown) == 2
            assert D(shown[0]) < D(shown[1])


RATES = CallRules(funding_rates={"sme": D("0.5"), "university": D("0.9")})


def test_a_member_exactly_at_its_funding_rate_passes():
    budget = (row("m1", 1, "90", "10"), row("m3", 1, "200000", "0"), row("m3", 2, "0", "200000"))
    assert check_budget(MEMBERS, budget, RATES) == []


def test_a_member_over_its_funding_rate_is_named_with_both_percentages():
    budget = (row("m1", 1, "90", "10"), row("m3", 1, "200001.00", "199999.00"))
    problem = only(check_budget(MEMBERS, budget, RATES), "funding_rate_exceeded")
    # 50.0002 % would read as "50 %" at one decimal, so it is rounded up to tell it apart.
    assert problem.message.startswith("Novaled GmbH asks for 50.01 % of its costs")
    assert "SMEs at no more than 50 %" in problem.message
    assert "200,001.00 EUR of 400,000.00 EUR" in problem.message


def test_each_member_is_held_to_the_rate_of_its_own_kind():
    budget = (row("m1", 1, "95", "5"), row("m3", 1, "95", "5"))
    problems = check_budget(MEMBERS, budget, RATES)
    assert codes(problems) == ["funding_rate_exceeded", "funding_rate_exceeded"]
    assert "TU Dresden asks for 95 %" in problems[0].message
    assert "universities at no more than 90 %" in problems[0].message
    assert "Novaled GmbH asks for 95 %" in problems[1].message


def test_a_kind_without_a_rate_may_ask_for_full_funding():
    budget = (row("m2", 1, "1000000", "0"),)
    assert check_budget(MEMBERS, budget, RATES) == []


def test_a_zero_rate_refuses_any_public_funding():
    rules = CallRules(funding_rates={"large_enterprise": D("0")})
    assert check_budget(MEMBERS, (row("m2", 1, "0", "100"),), rules) == []
    problem = only(
        check_budget(MEMBERS, (row("m2", 1, "0.01", "100"),), rules), "funding_rate_exceeded"
    )
    assert "Infineon Technologies" in problem.message and "no more than 0 %" in problem.message


def test_rows_for_an_organisation_not_in_the_consortium_are_reported_once_per_organisation():
    budget = (*BUDGET, row("m7", 1, "100", "0"), row("m7", 3, "50", "0"), row("m8", 2, "1", "1"))
    problems = check_budget(MEMBERS, budget, RULES)
    assert codes(problems) == ["budget_member_unknown", "budget_member_unknown"]
    assert "2 rows (years 1, 3, 150.00 EUR public funding)" in problems[0].message
    assert "1 row (year 2, 1.00 EUR public funding)" in problems[1].message
    assert {p.anchor for p in problems} == {"budget"}


def test_rows_for_an_unknown_organisation_still_count_towards_the_cap():
    budget = (row("m1", 1, "45000000", "0"), row("m7", 1, "0.01", "0"))
    assert "budget_over_cap" in codes(check_budget(MEMBERS, budget, RULES))


def test_negative_amounts_are_reported_with_member_year_and_amount():
    budget = (*BUDGET, row("m2", 3, "-1000", "5"), row("m3", 3, "5", "-0.01"))
    problems = check_budget(MEMBERS, budget, RULES)
    assert codes(problems) == ["budget_negative", "budget_negative"]
    assert problems[0].message == (
        "Infineon Technologies, year 3: the public funding is -1,000.00 EUR; "
        "amounts cannot be negative."
    )
    assert "Novaled GmbH, year 3: the own contribution is -0.01 EUR" in problems[1].message


@pytest.mark.parametrize("bad", ["NaN", "sNaN", "Infinity", "-Infinity"])
def test_unreadable_amounts_are_reported_not_raised(bad):
    rules = CallRules(
        max_public_funding_per_proposal=D("10"),
        min_private_share=D("0.5"),
        funding_rates={"university": D("0.5")},
    )
    budget = (row("m1", 1, bad, "10"), row("m2", 1, "5", "5"))
    problem = only(check_budget(MEMBERS, budget, rules), "budget_amount_invalid")
    assert problem.message == "TU Dresden, year 1: the public funding is not a valid amount."


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


# --- attachments ---------------------------------------------------------------------------------


def test_required_attachments_within_limits_pass():
    assert check_attachments(STAGE.attachments, (cv_file(),)) == []


def test_a_missing_required_attachment_is_reported_at_its_row():
    problems = check_attachments(STAGE.attachments, ())
    assert codes(problems) == ["attachment_missing"]
    assert problems[0].anchor == "attachment-cv"
    assert "“CVs”" in problems[0].message


def test_an_optional_attachment_may_be_absent_and_has_no_limits_if_none_are_set():
    letters = AttachmentInfo("letters", "letters.zip", 500 * MB, None)
    assert check_attachments(STAGE.attachments, (cv_file(), letters)) == []


def test_pages_exactly_at_the_limit_pass_and_one_over_fails():
    assert check_attachments((CV,), (cv_file(page_count=10),)) == []
    problem = only(check_attachments((CV,), (cv_file(page_count=11),)), "attachment_too_many_pages")
    assert problem.message == "“cvs.pdf” (CVs) has 11 pages; the limit is 10."
    assert problem.anchor == "attachment-cv"


def test_a_file_whose_pages_cannot_be_counted_is_reported_when_pages_are_limited():
    problems = check_attachments((CV,), (cv_file(filename="cvs.docx", page_count=None),))
    problem = only(problems, "attachment_pages_unknown")
    assert "“cvs.docx”" in problem.message and "10 pages" in problem.message
    no_page_limit = dataclasses.replace(CV, max_pages=None)
    assert check_attachments((no_page_limit,), (cv_file(page_count=None),)) == []


def test_size_exactly_at_the_limit_passes_and_one_byte_over_fails_with_exact_bytes():
    assert check_attachments((CV,), (cv_file(size_bytes=10 * MB),)) == []
    problem = only(
        check_attachments((CV,), (cv_file(size_bytes=10 * MB + 1),)), "attachment_too_large"
    )
    assert problem.message == (
        "“cvs.pdf” (CVs) is 10,485,761 bytes; the limit is 10,485,760 bytes."
    )


def test_a_clearly_too_large_file_is_described_in_megabytes():
    problem = only(check_attachments((CV,), (cv_file(size_bytes=13 * MB),)), "attachment_too_large")
    assert problem.message == "“cvs.pdf” (CVs) is 13 MB; the limit is 10 MB."


def test_each_file_of_a_kind_is_held_to_the_limits():
    files = (cv_file(filename="a.pdf"), cv_file(filename="b.pdf", page_count=12))
    problem = only(check_attachments((CV,), files), "attachment_too_many_pages")
    assert "“b.pdf”" in problem.message


def test_a_file_of_a_kind_the_stage_does_not_ask_for_is_unexpected():
    stray = AttachmentInfo("budget_sheet", "budget.xlsx", 1000, None)
    problem = only(
        check_attachments(STAGE.attachments, (cv_file(), stray)), "attachment_unexpected"
    )
    assert problem.anchor == "attachment-budget_sheet"
    assert "“budget.xlsx”" in problem.message


# --- submission window ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "state"),
    [
        (OPENS - SECOND, "not_open"),
        (OPENS, "open"),
        (DURING, "open"),
        (CLOSES, "open"),
        (CLOSES + dt.timedelta(microseconds=1), "closed"),
        (CLOSES + SECOND, "closed"),
    ],
)
def test_window_state_at_its_edges(now, state):
    assert window_state(STAGE, now) == state


def test_the_deadline_instant_is_the_same_whatever_the_time_zone():
    assert window_state(STAGE, CLOSES.astimezone(BERLIN)) == "open"
    assert window_state(STAGE, (CLOSES + SECOND).astimezone(BERLIN)) == "closed"


def test_a_later_extension_replaces_the_deadline():
    later = CLOSES + dt.timedelta(days=2)
    assert deadline(STAGE, later) == later
    assert window_state(STAGE, CLOSES + SECOND, extended_until=later) == "open"
    assert window_state(STAGE, later, extended_until=later) == "open"
    assert window_state(STAGE, later + SECOND, extended_until=later) == "closed"


def test_an_earlier_extension_does_not_shorten_the_window():
    earlier = CLOSES - dt.timedelta(days=2)
    assert deadline(STAGE, earlier) == CLOSES
    assert window_state(STAGE, earlier + SECOND, extended_until=earlier) == "open"
    assert window_state(STAGE, CLOSES + SECOND, extended_until=earlier) == "closed"


def test_without_extension_the_deadline_is_the_stages():
    assert deadline(STAGE) == CLOSES
    assert deadline(STAGE, None) == CLOSES


def test_an_extension_does_not_open_the_window_early():
    later = CLOSES + dt.timedelta(days=2)
    assert window_state(STAGE, OPENS - SECOND, extended_until=later) == "not_open"


@pytest.mark.parametrize(
    "call",
    [
        lambda: window_state(STAGE, dt.datetime(2026, 5, 1, 12, 0)),
        lambda: window_state(STAGE, DURING, extended_until=dt.datetime(2026, 7, 1)),
        lambda: deadline(STAGE, dt.datetime(2026, 7, 1)),
        lambda: window_state(dataclasses.replace(STAGE, opens_at=dt.datetime(2026, 3, 1)), DURING),
        lambda: deadline(dataclasses.replace(STAGE, closes_at=dt.datetime(2026, 6, 30))),
        lambda: check_window(STAGE, dt.datetime(2026, 5, 1, 12, 0)),
    ],
)
def test_naive_datetimes_are_a_programming_error(call):
    with pytest.raises(ValueError, match="timezone-aware"):
        call()


def test_an_open_window_has_no_problem():
    assert check_window(STAGE, CLOSES) == []


def test_a_passed_deadline_says_when_in_berlin_summer_time():
    problems = check_window(STAGE, CLOSES + SECOND)
    assert problems == [
        Problem("deadline_passed", "The deadline passed at 30.06.2026 12:00 CEST.", "general")
    ]


def test_a_passed_extended_deadline_says_so():
    later = dt.datetime(2026, 11, 2, 11, 0, tzinfo=UTC)  # winter time: 12:00 CET
    problem = only(check_window(STAGE, later + SECOND, extended_until=later), "deadline_passed")
    assert problem.message == "The extended deadline passed at 02.11.2026 12:00 CET."


def test_a_window_not_yet_open_says_when_it_opens():
    problem = only(check_window(STAGE, OPENS - SECOND), "window_not_open")
    assert problem.message == "Submission opens at 01.03.2026 09:00 CET."
    assert problem.anchor == "general"


ORDER = {"not_open": 0, "open": 1, "closed": 2}
instants = st.datetimes(
    min_value=dt.datetime(2026, 1, 1), max_value=dt.datetime(2027, 1, 1), timezones=st.just(UTC)
)


@given(instants, instants, st.none() | instants)
def test_the_window_only_moves_forward_in_time(a, b, extension):
    early, late = sorted((a, b))
    assert (
        ORDER[window_state(STAGE, early, extended_until=extension)]
        <= ORDER[window_state(STAGE, late, extended_until=extension)]
    )


@given(instants, instants)
def test_an_extension_never_closes_an_open_window(now, extension):
    if window_state(STAGE, now) == "open":
        assert window_state(STAGE, now, extended_until=extension) == "open"
    assert deadline(STAGE, extension) >= CLOSES


# --- checklist -----------------------------------------------------------------------------------


FULL_RULES = CallRules(
    max_public_funding_per_proposal=D("45000000"),
    min_private_share=D("0.25"),
    funding_rates={"sme": D("0.5")},
    region_scope=frozenset({"DE-SN", "DE-BE"}),
)


def test_a_complete_draft_in_the_window_has_an_empty_checklist():
    assert checklist(good_draft(), STAGE, FULL_RULES, now=DURING) == []


def test_the_checklist_follows_the_page_from_top_to_bottom():
    lonely_coordinator = dataclasses.replace(TUD, federal_state="DE-BY")
    draft = good_draft(
        title="",
        topic_count=0,
        sections={"strategy": ""},
        members=(lonely_coordinator,),
        budget=(row("m1", 1, "50000000", "0"),),
        attachments=(cv_file(page_count=30),),
    )
    problems = checklist(draft, STAGE, FULL_RULES, now=CLOSES + SECOND)
    assert codes(problems) == [
        "title_missing",
        "no_topic",
        "section_missing",
        "too_few_partners",
        "outside_region",
        "budget_over_cap",
        "private_share_too_low",
        "attachment_too_many_pages",
        "deadline_passed",
    ]
    assert [p.anchor for p in problems] == [
        "general",
        "general",
        "section-strategy",
        "consortium",
        "member-m1",
        "budget",
        "budget",
        "attachment-cv",
        "general",
    ]


def test_the_checklist_honours_an_extension():
    later = CLOSES + dt.timedelta(days=1)
    assert (
        checklist(good_draft(), STAGE, FULL_RULES, now=CLOSES + SECOND, extended_until=later) == []
    )
    assert codes(
        checklist(good_draft(), STAGE, FULL_RULES, now=later + SECOND, extended_until=later)
    ) == ["deadline_passed"]


def test_the_checklist_checks_the_budget_against_the_drafts_members():
    draft = good_draft(members=(TUD, INFINEON))
    assert "budget_member_unknown" in codes(checklist(draft, STAGE, FULL_RULES, now=DURING))


def test_the_checklist_refuses_a_naive_now():
    with pytest.raises(ValueError):
        checklist(good_draft(), STAGE, FULL_RULES, now=dt.datetime(2026, 5, 1))
