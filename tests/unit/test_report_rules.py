"""The reports' calendar, sections, receipt and reminder steps, on plain data."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from competition.core import reports
from competition.core.reports import (
    ANNUAL,
    FINAL,
    REMINDER_STEPS,
    STATEMENT_OF_USE,
    FileEntry,
    PlannedReport,
)
from competition.grants.models import ReportKind, ReportState

DAY = dt.timedelta(days=1)


def test_a_three_year_grant_from_january_reports_each_march_and_closes_in_june():
    planned = reports.plan(dt.date(2027, 1, 1), dt.date(2030, 1, 1))

    assert planned == [
        PlannedReport(ANNUAL, 1, dt.date(2028, 3, 31)),
        PlannedReport(ANNUAL, 2, dt.date(2029, 3, 31)),
        PlannedReport(FINAL, 0, dt.date(2030, 6, 30)),
        PlannedReport(STATEMENT_OF_USE, 0, dt.date(2030, 6, 30)),
    ]


def test_the_last_project_year_is_covered_by_the_final_report():
    years = reports.annual_years(dt.date(2027, 1, 1), dt.date(2036, 1, 1))

    assert years == [1, 2, 3, 4, 5, 6, 7, 8]


def test_a_six_month_concept_phase_owes_only_the_closing_reports():
    planned = reports.plan(dt.date(2027, 7, 1), dt.date(2028, 1, 1))

    assert [(p.kind, p.year, p.due_on) for p in planned] == [
        (FINAL, 0, dt.date(2028, 6, 30)),
        (STATEMENT_OF_USE, 0, dt.date(2028, 6, 30)),
    ]


def test_an_end_given_as_the_last_day_gives_the_same_dates_as_the_day_after():
    exclusive = reports.plan(dt.date(2027, 1, 1), dt.date(2030, 1, 1))
    inclusive = reports.plan(dt.date(2027, 1, 1), dt.date(2029, 12, 31))

    assert inclusive == exclusive


@pytest.mark.parametrize(
    ("starts_on", "due_on"),
    [
        (dt.date(2027, 7, 1), dt.date(2028, 9, 30)),
        (dt.date(2027, 3, 15), dt.date(2028, 6, 30)),
        (dt.date(2027, 12, 1), dt.date(2029, 2, 28)),
        (dt.date(2028, 2, 29), dt.date(2029, 5, 31)),
    ],
)
def test_a_progress_report_is_due_at_the_end_of_the_third_month_after_its_year(starts_on, due_on):
    assert reports.annual_due_on(starts_on, 1) == due_on


def test_a_grant_that_ends_before_it_starts_is_refused():
    with pytest.raises(ValueError):
        reports.plan(dt.date(2027, 1, 1), dt.date(2027, 1, 1))


@given(
    st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2090, 12, 31)),
    st.integers(min_value=1, max_value=9 * 12),
)
def test_every_report_falls_due_after_the_period_it_covers(starts_on, months):
    ends_on = reports.month_end_after(starts_on, months - 1) + DAY
    planned = reports.plan(starts_on, ends_on)

    for report in planned:
        if report.kind == ANNUAL:
            assert report.due_on > reports.add_years(starts_on, report.year) - DAY
            assert reports.add_years(starts_on, report.year) < ends_on
        else:
            assert report.due_on >= ends_on
    assert [p.kind for p in planned][-2:] == [FINAL, STATEMENT_OF_USE]
    assert len({(p.kind, p.year) for p in planned}) == len(planned)


def test_due_means_until_the_end_of_the_day_in_berlin():
    summer = reports.due_at(dt.date(2028, 6, 30))
    winter = reports.due_at(dt.date(2028, 3, 24))

    assert summer == dt.datetime(2028, 6, 30, 21, 59, 59, tzinfo=dt.UTC)
    assert winter == dt.datetime(2028, 3, 24, 22, 59, 59, tzinfo=dt.UTC)
    assert reports.due_day(summer) == dt.date(2028, 6, 30)


def test_a_report_is_late_from_the_day_after_its_due_day_while_still_owed():
    due = reports.due_at(dt.date(2028, 3, 31))

    assert reports.days_late(due, now=due) == 0
    assert reports.days_late(due, now=due + dt.timedelta(seconds=2)) == 1
    assert reports.days_late(due, now=due + 10 * DAY) == 10
    assert reports.is_overdue("due", due, now=due + DAY)
    assert reports.is_overdue("changes_requested", due, now=due + DAY)
    assert not reports.is_overdue("submitted", due, now=due + DAY)
    assert not reports.is_overdue("accepted", due, now=due + DAY)
    assert not reports.is_overdue("due", due, now=due)


def test_each_kind_has_its_sections_and_the_statement_of_use_needs_a_pdf():
    assert reports.section_keys(ANNUAL) == ("progress", "results", "deviations", "next_steps")
    assert reports.section_keys(FINAL) == ("progress", "results", "deviations", "next_steps")
    assert reports.section_keys(STATEMENT_OF_USE) == ("use_of_funds", "deviations")
    full = {key: "Text." for key in reports.section_keys(STATEMENT_OF_USE)}

    assert reports.submission_problems(STATEMENT_OF_USE, full, files=1) == {}
    assert list(reports.submission_problems(STATEMENT_OF_USE, full, files=0)) == ["files"]


def test_an_empty_section_keeps_a_report_from_submission_but_not_a_draft_from_saving():
    sections = {"progress": "Done.", "results": "  ", "deviations": "None.", "next_steps": ""}

    assert reports.draft_problems(ANNUAL, sections) == {}
    assert sorted(reports.submission_problems(ANNUAL, sections, files=0)) == [
        "next_steps",
        "results",
    ]


def test_a_section_over_the_limit_is_refused_at_its_field():
    sections = {"progress": "x" * (reports.SECTION_MAX_CHARS + 1)}

    problems = reports.draft_problems(ANNUAL, sections)

    assert list(problems) == ["progress"]
    assert "20,000" in str(problems["progress"][0])


def test_the_content_hash_covers_sections_and_files_and_ignores_the_order_of_files():
    sections = {"progress": "Done.", "results": "Found.", "deviations": "", "next_steps": "More."}
    a, b = FileEntry("a.pdf", "1" * 64), FileEntry("b.pdf", "2" * 64)

    one = reports.content_hash(reports.content(ANNUAL, 1, sections, [a, b]))
    same = reports.content_hash(reports.content(ANNUAL, 1, {**sections, "other": "x"}, [b, a]))
    other_text = reports.content_hash(reports.content(ANNUAL, 1, {**sections, "results": "!"}, [a]))
    other_file = reports.content_hash(reports.content(ANNUAL, 1, sections, [a]))

    assert one == same
    assert len({one, other_text, other_file}) == 3
    assert len(one) == 64


def test_a_receipt_code_names_the_report_and_stays_within_forty_characters():
    digest = "3fa9c2" + "0" * 58

    assert reports.receipt_code("C4F-0007", ANNUAL, 2, 1, digest) == "C4F-0007-AR2-1-3FA9C2"
    assert reports.receipt_code("C4F-0007", STATEMENT_OF_USE, 0, 3, digest) == (
        "C4F-0007-SU-3-3FA9C2"
    )
    assert len(reports.receipt_code("R" * 60, FINAL, 0, 12, digest)) == 40


@pytest.mark.parametrize(
    ("offset", "step"),
    [
        (-15 * DAY, None),
        (-14 * DAY, 1),
        (-4 * DAY, 1),
        (-3 * DAY, 2),
        (dt.timedelta(0), 2),
        (DAY - dt.timedelta(seconds=1), 2),
        (DAY, 3),
        (13 * DAY, 3),
        (14 * DAY, 4),
        (400 * DAY, 4),
    ],
)
def test_the_latest_step_whose_time_has_come_is_chosen(offset, step):
    due = dt.datetime(2028, 3, 31, 21, 59, 59, tzinfo=dt.UTC)
    since = due - 60 * DAY

    chosen = reports.reminder_step(due=due, since=since, now=due + offset)

    assert (chosen.number if chosen else None) == step


def test_steps_before_the_report_existed_or_before_changes_were_requested_are_skipped():
    due = dt.datetime(2028, 3, 31, 21, 59, 59, tzinfo=dt.UTC)

    assert reports.reminder_step(due=due, since=due - 2 * DAY, now=due - DAY) is None
    assert reports.reminder_step(due=due, since=due + 20 * DAY, now=due + 30 * DAY) is None
    step = reports.reminder_step(due=due, since=due + 5 * DAY, now=due + 14 * DAY)
    assert step is not None and step.number == 4


def test_two_steps_before_the_due_date_and_two_after_it():
    assert [step.overdue for step in REMINDER_STEPS] == [False, False, True, True]
    assert reports.FIRST_REMINDER == 14 * DAY
    assert reports.LAST_STEP == 4


def test_the_cores_kinds_and_open_states_are_the_models():
    assert set(reports.KINDS) == {kind.value for kind in ReportKind}
    assert set(reports.SECTIONS) == set(reports.KINDS)
    assert reports.OPEN_STATES <= {state.value for state in ReportState}


def test_an_early_end_drops_the_progress_reports_still_due_for_years_the_grant_no_longer_reaches():
    start = dt.date(2027, 1, 1)
    owed = [
        reports.Owed(1, reports.ANNUAL, 1, "accepted"),
        reports.Owed(2, reports.ANNUAL, 2, "due"),
        reports.Owed(3, reports.ANNUAL, 3, "due"),
        reports.Owed(4, reports.ANNUAL, 4, "submitted"),
        reports.Owed(5, reports.FINAL, 0, "due"),
        reports.Owed(6, reports.STATEMENT_OF_USE, 0, "submitted"),
    ]

    change = reports.after_early_end(start, dt.date(2029, 1, 1), owed)

    # Two years reached: year 1's report was accepted, year 2's is covered by the final report.
    assert change.dropped == (2, 3)
    assert change.redated == (5,)
    assert change.closing_due_on == reports.closing_due_on(dt.date(2029, 1, 1))
