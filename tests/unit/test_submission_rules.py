"""The rules of ``core/rules.py`` for attachments, the submission window (with individual
extensions) and the checklist's order. Plain data, no app."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from competition.core.rules import (
    AttachmentInfo,
    check_attachments,
    check_window,
    checklist,
    deadline,
    window_state,
)
from tests.unit.rules_drafts import (
    BERLIN,
    CLOSES,
    CV,
    DURING,
    FULL_RULES,
    INFINEON,
    MB,
    OPENS,
    ORDER,
    SECOND,
    STAGE,
    TUD,
    UTC,
    codes,
    cv_file,
    good_draft,
    instants,
    only,
    row,
)

# --- attachments ---------------------------------------------------------------------------------


def test_required_attachments_within_limits_pass():
    assert check_attachments(STAGE.attachments, (cv_file(),)) == []


def test_a_missing_required_attachment_is_reported_at_its_row():
    problems = check_attachments(STAGE.attachments, ())
    assert codes(problems) == ["attachment_missing"]
    assert problems[0].anchor == "attachment-cv"
    assert "“CVs”" in str(problems[0].message)


def test_an_optional_attachment_may_be_absent_and_has_no_limits_if_none_are_set():
    letters = AttachmentInfo("letters", "letters.zip", 500 * MB, None)
    assert check_attachments(STAGE.attachments, (cv_file(), letters)) == []


def test_pages_exactly_at_the_limit_pass_and_one_over_fails():
    assert check_attachments((CV,), (cv_file(page_count=10),)) == []
    problem = only(check_attachments((CV,), (cv_file(page_count=11),)), "attachment_too_many_pages")
    assert str(problem.message) == "“cvs.pdf” (CVs) has 11 pages; the limit is 10."
    assert problem.anchor == "attachment-cv"


def test_a_file_whose_pages_cannot_be_counted_is_reported_when_pages_are_limited():
    problems = check_attachments((CV,), (cv_file(filename="cvs.docx", page_count=None),))
    problem = only(problems, "attachment_pages_unknown")
    assert "“cvs.docx”" in str(problem.message) and "10 pages" in str(problem.message)
    no_page_limit = dataclasses.replace(CV, max_pages=None)
    assert check_attachments((no_page_limit,), (cv_file(page_count=None),)) == []


def test_size_exactly_at_the_limit_passes_and_one_byte_over_fails_with_exact_bytes():
    assert check_attachments((CV,), (cv_file(size_bytes=10 * MB),)) == []
    problem = only(
        check_attachments((CV,), (cv_file(size_bytes=10 * MB + 1),)), "attachment_too_large"
    )
    assert str(problem.message) == (
        "“cvs.pdf” (CVs) is 10,485,761 bytes; the limit is 10,485,760 bytes."
    )


def test_a_clearly_too_large_file_is_described_in_megabytes():
    problem = only(check_attachments((CV,), (cv_file(size_bytes=13 * MB),)), "attachment_too_large")
    assert str(problem.message) == "“cvs.pdf” (CVs) is 13 MB; the limit is 10 MB."


def test_each_file_of_a_kind_is_held_to_the_limits():
    files = (cv_file(filename="a.pdf"), cv_file(filename="b.pdf", page_count=12))
    problem = only(check_attachments((CV,), files), "attachment_too_many_pages")
    assert "“b.pdf”" in str(problem.message)


def test_a_file_of_a_kind_the_stage_does_not_ask_for_is_unexpected():
    stray = AttachmentInfo("budget_sheet", "budget.xlsx", 1000, None)
    problem = only(
        check_attachments(STAGE.attachments, (cv_file(), stray)), "attachment_unexpected"
    )
    assert problem.anchor == "attachment-budget_sheet"
    assert "“budget.xlsx”" in str(problem.message)


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
    assert [(p.code, str(p.message), p.anchor) for p in problems] == [
        ("deadline_passed", "The deadline passed at 30.06.2026 12:00 CEST.", "general")
    ]


def test_a_passed_extended_deadline_says_so():
    later = dt.datetime(2026, 11, 2, 11, 0, tzinfo=UTC)  # winter time: 12:00 CET
    problem = only(check_window(STAGE, later + SECOND, extended_until=later), "deadline_passed")
    assert str(problem.message) == "The extended deadline passed at 02.11.2026 12:00 CET."


def test_a_window_not_yet_open_says_when_it_opens():
    problem = only(check_window(STAGE, OPENS - SECOND), "window_not_open")
    assert str(problem.message) == "Submission opens at 01.03.2026 09:00 CET."
    assert problem.anchor == "general"


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
