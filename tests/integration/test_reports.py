"""A grant's reports on PostgreSQL, through the pages: an officer plans them or adds one by hand;
the consortium writes the draft and attaches PDFs, the coordinator submits with a receipt and a
hash; the officer returns it for changes (a reason required) and accepts the second submission,
each step through the gateway and mailed; bad files, empty sections and a save over someone
else's are refused at their field; other consortia, jurors and other programmes' officers get
404; reminders go out once per step, also from a real worker; late reports on the dashboard."""

# ruff: noqa: F811
from __future__ import annotations

import datetime as dt
import hashlib
import time

import pytest
import sqlalchemy as sa

from competition.audit.models import AuditEvent, StateTransition
from competition.core import reports as rules
from competition.db import utcnow
from competition.extensions import db
from competition.grants.models import (
    Grant,
    Milestone,
    Report,
    ReportAttachment,
    ReportKind,
    ReportReminderSent,
    ReportState,
)
from competition.grants.reports import operations as ops
from competition.grants.reports import queries
from competition.notifications.models import Notification
from tests.factories import make_report
from tests.helpers import as_person, in_app, queries_for_page, text
from tests.integration.reports_world import (
    ANNUAL_TEXT,
    World,
    attach,
    basis_of,
    build_world,
    load_report,
    report_url,
    send,
)
from tests.integration.submission_world import (
    app,  # noqa: F401  (a fixture, found by name: uploads under the test's directory)
    count,
    mails,
    post,
    user,
)
from tests.unit import upload_samples

pytestmark = pytest.mark.postgres

DAY = dt.timedelta(days=1)
PDF = upload_samples.pdf_with_pages(2)


@pytest.fixture
def world(app) -> World:  # type: ignore[no-untyped-def]
    return build_world(app)


def a_report(app, world: World, **overrides) -> int:  # type: ignore[no-untyped-def]
    with app.app_context():
        grant = db.session.get(Grant, overrides.pop("grant_id", world.grant_id))
        report = make_report(grant, **overrides)
        db.session.commit()
        return report.id


def steps(report_id: int) -> list[tuple[str, str, str]]:
    return [
        (row.action, row.from_state, row.to_state)
        for row in db.session.scalars(
            sa.select(StateTransition)
            .where(StateTransition.object_type == "report", StateTransition.object_id == report_id)
            .order_by(StateTransition.id)
        )
    ]


# --- planning ---------------------------------------------------------------------------------


def test_officer_plans_the_grants_reports_once_from_its_dates(app, world):
    browser = as_person(app, world.officer)
    url = f"/grants/{world.grant_id}/reports/plan"

    first = post(browser, url, {})
    again = post(browser, url, {})

    assert first.status_code == 302 and again.status_code == 302
    page = text(browser.get(f"/grants/{world.grant_id}/reports"))
    assert "every report its dates call for" in page
    with in_app(app):
        planned = db.session.execute(
            sa.select(Report.kind, Report.year, Report.due_at)
            .where(Report.grant_id == world.grant_id)
            .order_by(Report.due_at, Report.kind)
        ).all()
        assert [(kind.value, year, rules.due_day(due)) for kind, year, due in planned] == [
            ("annual", 1, dt.date(2028, 3, 31)),
            ("annual", 2, dt.date(2029, 3, 31)),
            ("final", 0, dt.date(2030, 6, 30)),
            ("statement_of_use", 0, dt.date(2030, 6, 30)),
        ]
        assert count(AuditEvent, AuditEvent.action == "grant.reports_planned") == 1
    assert "Progress report for project year 2" in page


def test_plan_reports_leaves_a_report_added_by_hand_and_adds_the_rest(app, world):
    with in_app(app):
        grant = db.session.get(Grant, world.grant_id)
        officer = user(world.officer.email)
        early = rules.due_at(dt.date(2027, 12, 15))
        make_report(grant, kind="annual", year=1, due_at=early)
        db.session.commit()

        created = ops.plan_reports(grant, actor=officer, now=utcnow())

        assert sorted((r.kind.value, r.year) for r in created) == [
            ("annual", 2),
            ("final", 0),
            ("statement_of_use", 0),
        ]
        first = db.session.scalar(sa.select(Report).where(Report.year == 1))
        assert first is not None and first.due_at == early


def test_the_consortium_may_not_plan_reports(app, world):
    browser = as_person(app, world.coordinator)

    assert post(browser, f"/grants/{world.grant_id}/reports/plan", {}).status_code == 403
    with in_app(app):
        assert count(Report) == 0


def test_officer_adds_a_report_by_hand_and_the_same_again_is_refused_at_its_field(app, world):
    browser = as_person(app, world.officer)
    url = f"/grants/{world.grant_id}/reports/new"
    due = (utcnow() + 40 * DAY).date().isoformat()

    added = post(browser, url, {"kind": "annual", "year": "2", "due_on": due})
    again = post(browser, url, {"kind": "annual", "year": "2", "due_on": due})
    no_year = post(browser, url, {"kind": "annual", "year": "", "due_on": due})
    past = post(browser, url, {"kind": "final", "due_on": "2020-01-31"})

    assert added.status_code == 302
    assert again.status_code == 422
    assert "This grant already has this report." in text(again)
    assert no_year.status_code == 422 and "Give the project year, from 1 to 9." in text(no_year)
    assert past.status_code == 422 and "The due date cannot lie in the past." in text(past)
    with in_app(app):
        assert count(Report) == 1


# --- writing, submitting, reviewing ---------------------------------------------------------------


def test_contributor_writes_coordinator_attaches_and_submits_with_receipt_and_hash(app, world):
    report_id = a_report(app, world)
    contributor = as_person(app, world.contributor)
    coordinator = as_person(app, world.coordinator)

    saved = send(contributor, report_id, ANNUAL_TEXT)
    refused = send(contributor, report_id, ANNUAL_TEXT, to="submit")
    attached = attach(coordinator, report_id, ("Zahlen 2027.pdf", PDF))
    submitted = send(coordinator, report_id, ANNUAL_TEXT, to="submit")

    assert saved.status_code == 302
    assert refused.status_code == 403
    assert attached.status_code == 302
    assert submitted.status_code == 302
    with in_app(app):
        report = load_report(report_id)
        files = [rules.FileEntry("Zahlen 2027.pdf", hashlib.sha256(PDF).hexdigest())]
        expected = rules.content_hash(rules.content("annual", 1, ANNUAL_TEXT, files))
        assert report.state == ReportState.SUBMITTED
        assert report.content_hash == expected
        assert report.receipt_code == f"{world.reference}-AR1-1-{expected[:6].upper()}"
        assert report.submitted_by_id == world.coordinator.id
        assert steps(report_id) == [("submit", "due", "submitted")]
        event = db.session.scalar(
            sa.select(AuditEvent).where(AuditEvent.action == "report.submitted")
        )
        assert event is not None and event.personal["after"]["content"]["sections"] == ANNUAL_TEXT
        receipt = mails("reports/receipt")
        assert [m.to_address for m in receipt] == [world.coordinator.email]
        assert report.receipt_code in receipt[0].body_text and expected in receipt[0].body_text
        code = report.receipt_code
    page = text(coordinator.get(report_url(report_id)))
    assert code in page and "Zahlen 2027.pdf" in page


def test_a_double_submit_returns_the_first_receipt(app, world):
    report_id = a_report(app, world)
    coordinator = as_person(app, world.coordinator)
    basis = basis_of(coordinator, report_id)

    first = send(coordinator, report_id, ANNUAL_TEXT, to="submit", basis=basis)
    with in_app(app):
        code = load_report(report_id).receipt_code
        basis = rules.draft_basis(load_report(report_id).sections)
    second = send(coordinator, report_id, ANNUAL_TEXT, to="submit", basis=basis)

    assert first.status_code == 302 and second.status_code == 302
    with in_app(app):
        assert load_report(report_id).receipt_code == code
        assert len(mails("reports/receipt")) == 1
        assert steps(report_id) == [("submit", "due", "submitted")]


def test_a_file_that_is_not_a_pdf_is_refused_at_the_field_and_nothing_is_stored(app, world):
    report_id = a_report(app, world)
    coordinator = as_person(app, world.coordinator)

    response = attach(coordinator, report_id, ("figures.pdf", upload_samples.docx_document()))

    assert response.status_code == 422
    page = text(response)
    assert 'id="files-error"' in response.get_data(as_text=True)
    assert "figures.pdf:" in page
    with in_app(app):
        assert count(ReportAttachment) == 0


def test_a_pdf_with_scripts_is_refused_too(app, world):
    report_id = a_report(app, world)
    coordinator = as_person(app, world.coordinator)

    response = attach(
        coordinator, report_id, ("a.pdf", upload_samples.pdf_with_document_javascript())
    )

    assert response.status_code == 422
    with in_app(app):
        assert count(ReportAttachment) == 0


def test_an_empty_section_keeps_the_report_from_submission_at_that_section(app, world):
    report_id = a_report(app, world)
    coordinator = as_person(app, world.coordinator)

    response = send(coordinator, report_id, {**ANNUAL_TEXT, "results": "  "}, to="submit")

    assert response.status_code == 422
    assert 'id="results-error"' in response.get_data(as_text=True)
    with in_app(app):
        assert load_report(report_id).state == ReportState.DUE
        assert load_report(report_id).sections == {}


def test_the_statement_of_use_needs_its_pdf(app, world):
    report_id = a_report(app, world, kind="statement_of_use")
    coordinator = as_person(app, world.coordinator)
    sections = {"use_of_funds": "Staff and equipment.", "deviations": "None."}

    refused = send(coordinator, report_id, sections, to="submit")
    attach(coordinator, report_id, ("Zahlenmäßiger Nachweis.pdf", PDF))
    done = send(coordinator, report_id, sections, to="submit")

    assert refused.status_code == 422
    assert "Attach the statement of use&#39;s figures as a PDF." in refused.get_data(as_text=True)
    assert done.status_code == 302


def test_a_save_over_someone_elses_newer_draft_is_refused_and_both_texts_are_shown(app, world):
    report_id = a_report(app, world)
    contributor = as_person(app, world.contributor)
    coordinator = as_person(app, world.coordinator)
    stale = basis_of(contributor, report_id)
    send(coordinator, report_id, {**ANNUAL_TEXT, "progress": "The coordinator's words."})

    response = send(contributor, report_id, {**ANNUAL_TEXT, "progress": "Mine."}, basis=stale)

    assert response.status_code == 409
    page = text(response)
    assert "Someone else saved this report meanwhile." in page
    assert "Mine." in page and "The coordinator's words." in page
    with in_app(app):
        assert load_report(report_id).sections["progress"] == "The coordinator's words."
    # The page now stands on the newer save: saving again is a deliberate choice.
    assert send(contributor, report_id, {**ANNUAL_TEXT, "progress": "Mine."}).status_code == 302


def test_changes_requested_with_a_reason_then_resubmitted_then_accepted(app, world):
    report_id = a_report(app, world)
    coordinator = as_person(app, world.coordinator)
    officer = as_person(app, world.officer)
    send(coordinator, report_id, ANNUAL_TEXT, to="submit")

    no_reason = post(officer, report_url(report_id, "/request-changes"), {"reason": "  "})
    returned = post(
        officer, report_url(report_id, "/request-changes"), {"reason": "Name the prototypes."}
    )
    resubmitted = send(
        coordinator, report_id, {**ANNUAL_TEXT, "results": "Prototypes A and B."}, to="submit"
    )
    accepted = post(officer, report_url(report_id, "/accept"), {"note": "Thank you."})

    assert no_reason.status_code == 422
    assert 'id="reason-error"' in no_reason.get_data(as_text=True)
    assert "Say what the consortium should change." in text(no_reason)
    assert (returned.status_code, resubmitted.status_code, accepted.status_code) == (302,) * 3
    with in_app(app):
        report = load_report(report_id)
        assert report.state == ReportState.ACCEPTED
        assert report.receipt_code.startswith(f"{world.reference}-AR1-2-")
        assert steps(report_id) == [
            ("submit", "due", "submitted"),
            ("request_changes", "submitted", "changes_requested"),
            ("submit", "changes_requested", "submitted"),
            ("accept", "submitted", "accepted"),
        ]
        reason = db.session.scalar(
            sa.select(StateTransition.reason).where(StateTransition.action == "request_changes")
        )
        assert reason == "Name the prototypes."
        changes = mails("reports/changes_requested")
        assert [m.to_address for m in changes] == [world.coordinator.email]
        assert "Name the prototypes." in changes[0].body_text
        assert [m.to_address for m in mails("reports/accepted")] == [world.coordinator.email]
        assert len(mails("reports/receipt")) == 2
    # Accepted: nobody changes it any more.
    assert send(coordinator, report_id, ANNUAL_TEXT, basis="x").status_code == 403


def test_the_officer_reads_a_report_only_once_it_is_submitted(app, world):
    report_id = a_report(app, world)
    coordinator = as_person(app, world.coordinator)
    officer = as_person(app, world.officer)
    send(coordinator, report_id, {**ANNUAL_TEXT, "progress": "A secret draft."})
    attach(coordinator, report_id, ("draft.pdf", PDF))
    with in_app(app):
        attachment_id = db.session.scalar(sa.select(ReportAttachment.id))

    before = text(officer.get(report_url(report_id)))
    draft_file = officer.get(f"/reports/attachments/{attachment_id}")
    send(coordinator, report_id, ANNUAL_TEXT, to="submit")
    after = text(officer.get(report_url(report_id)))

    assert "A secret draft." not in before and "draft.pdf" not in before
    assert draft_file.status_code == 404
    assert ANNUAL_TEXT["results"] in after
    assert officer.get(f"/reports/attachments/{attachment_id}").status_code == 200
    assert "Accept the report" in after


# --- who sees what ------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["other_applicant", "juror", "other_officer"])
def test_other_consortia_jurors_and_other_programmes_officers_get_not_found(app, world, who):
    report_id = a_report(app, world)
    coordinator = as_person(app, world.coordinator)
    attach(coordinator, report_id, ("a.pdf", PDF))
    send(coordinator, report_id, ANNUAL_TEXT, to="submit")
    with in_app(app):
        attachment_id = db.session.scalar(sa.select(ReportAttachment.id))
    browser = as_person(app, getattr(world, who))

    for url in (
        f"/grants/{world.grant_id}/reports",
        report_url(report_id),
        f"/reports/attachments/{attachment_id}",
        f"/programmes/{world.programme_id}/reports",
    ):
        status = browser.get(url).status_code
        # Officers' pages refuse other roles outright; anything else is unknown to them.
        assert status == (403 if who != "other_officer" and "programmes" in url else 404), url


@pytest.mark.parametrize("who", ["other_applicant", "other_officer"])
def test_nobody_outside_the_grant_changes_its_report(app, world, who):
    report_id = a_report(app, world)
    browser = as_person(app, getattr(world, who))

    responses = [
        send(browser, report_id, ANNUAL_TEXT, basis="x"),
        send(browser, report_id, ANNUAL_TEXT, to="submit", basis="x"),
        post(browser, report_url(report_id, "/accept"), {}),
        post(browser, report_url(report_id, "/request-changes"), {"reason": "x"}),
    ]

    assert all(r.status_code in (403, 404) for r in responses)
    with in_app(app):
        assert load_report(report_id).state == ReportState.DUE
        assert load_report(report_id).sections == {}


def test_the_consortium_does_not_review_and_the_officer_does_not_write(app, world):
    report_id = a_report(app, world)
    coordinator = as_person(app, world.coordinator)
    officer = as_person(app, world.officer)
    send(coordinator, report_id, ANNUAL_TEXT, to="submit")

    assert post(coordinator, report_url(report_id, "/accept"), {}).status_code == 403
    assert send(officer, report_id, ANNUAL_TEXT, basis="x").status_code == 403
    with in_app(app):
        assert load_report(report_id).state == ReportState.SUBMITTED


# --- reminders ----------------------------------------------------------------------------------


def reminder_report(app, world: World, *, due: dt.datetime, **overrides) -> int:  # type: ignore[no-untyped-def]
    overrides.setdefault("created_at", due - 60 * DAY)
    return a_report(app, world, due_at=due, **overrides)


def sent(report_id: int) -> list[int]:
    return sorted(
        db.session.scalars(
            sa.select(ReportReminderSent.step).where(ReportReminderSent.report_id == report_id)
        )
    )


def test_each_step_goes_out_once_as_the_due_date_comes_and_passes(app, world):
    due = dt.datetime(2028, 3, 31, 21, 59, 59, tzinfo=dt.UTC)
    report_id = reminder_report(app, world, due=due)

    with in_app(app):
        counts = [
            ops.send_due_reminders(now=due + offset)
            for offset in (
                -20 * DAY,
                -14 * DAY,
                -13 * DAY,
                -3 * DAY,
                -DAY,
                2 * DAY,
                2 * DAY,
                14 * DAY,
                30 * DAY,
            )
        ]
        assert counts == [0, 1, 0, 1, 0, 1, 0, 1, 0]
        assert sent(report_id) == [1, 2, 3, 4]
        keys = db.session.scalars(
            sa.select(Notification.dedup_key).where(Notification.template == "reports/reminder")
        ).all()
        assert sorted(keys) == [f"reports.reminder:{report_id}:{n}" for n in (1, 2, 3, 4)]
        assert {m.to_address for m in mails("reports/reminder")} == {world.coordinator.email}
        overdue = [m for m in mails("reports/reminder") if "late" in m.body_text]
        assert len(overdue) == 2 and "is 2 days late" in overdue[0].body_text


def test_no_reminder_for_a_submitted_or_accepted_report(app, world):
    due = utcnow() + DAY
    submitted = {
        "submitted_at": utcnow(),
        "submitted_by_id": world.coordinator.id,
        "content_hash": "0" * 64,
    }
    reminder_report(app, world, due=due, year=1, state=ReportState.SUBMITTED, **submitted)
    reminder_report(app, world, due=due, year=2, state=ReportState.ACCEPTED, **submitted)

    with in_app(app):
        assert ops.send_due_reminders(now=utcnow()) == 0


def test_a_report_returned_for_changes_is_reminded_only_of_steps_after_the_request(app, world):
    due = dt.datetime(2028, 3, 31, 21, 59, 59, tzinfo=dt.UTC)
    report_id = reminder_report(
        app,
        world,
        due=due,
        state=ReportState.CHANGES_REQUESTED,
        submitted_at=due - 20 * DAY,
        submitted_by_id=world.coordinator.id,
        content_hash="0" * 64,
        reviewed_at=due + 5 * DAY,
        reviewed_by_id=world.officer.id,
    )

    with in_app(app):
        assert ops.send_due_reminders(now=due + 6 * DAY) == 0
        assert ops.send_due_reminders(now=due + 14 * DAY) == 1
        assert sent(report_id) == [4]
        assert "asked for changes" in mails("reports/reminder")[0].body_text


def test_the_reminder_task_is_on_the_beat_schedule(app):
    celery = app.extensions["celery"]
    schedule = {entry["task"]: entry["schedule"] for entry in celery.conf.beat_schedule.values()}

    assert schedule["reports.send_reminders"] == 900.0
    assert celery.tasks["reports.send_reminders"].apply().get() == 0


@pytest.mark.worker
@pytest.mark.redis
def test_a_real_worker_mails_each_step_once_however_often_the_task_runs(
    app, world, make_app, redis_url, worker_factory, smtp_server
):
    # The task's clock is its own: one report due in two days, one two days late.
    soon = reminder_report(app, world, due=utcnow() + 2 * DAY, year=1)
    late = reminder_report(app, world, due=utcnow() - 2 * DAY, year=2)
    deployed = make_app(
        redis_url=redis_url,
        task_queue=worker_factory.queue,
        mail_server=smtp_server.host,
        mail_port=smtp_server.port,
    )
    worker = worker_factory(smtp_server)
    task = deployed.extensions["celery"].tasks["reports.send_reminders"]

    task.apply_async()
    task.apply_async()
    mails_now = smtp_server.wait_for(2, timeout=60)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and worker.log().count("reports.send_reminders") < 4:
        time.sleep(0.2)
    task.apply_async()
    while time.monotonic() < deadline and worker.log().count("reports.send_reminders") < 6:
        time.sleep(0.2)
    time.sleep(2)  # a third mail, were one coming, would be on its way by now

    assert [m["To"] for m in smtp_server.messages] == [world.coordinator.email] * 2
    assert {m["Subject"] for m in mails_now} == {"Reminder: a report on your grant is due"}
    with in_app(app):
        assert (sent(soon), sent(late)) == ([2], [3])


# --- late reports -------------------------------------------------------------------------------


def test_has_overdue_report_answers_per_grant(app, world):
    a_report(app, world, due_at=utcnow() - DAY)
    a_report(
        app,
        world,
        grant_id=world.other_grant_id,
        due_at=utcnow() - DAY,
        state=ReportState.SUBMITTED,
        submitted_at=utcnow() - 2 * DAY,
        submitted_by_id=world.other_applicant.id,
        content_hash="0" * 64,
    )

    with in_app(app):
        now = utcnow()
        assert queries.has_overdue_report(world.grant_id, now=now)
        assert not queries.has_overdue_report(world.other_grant_id, now=now)
        assert not queries.has_overdue_report(world.grant_id, now=now - 2 * DAY)


def test_the_dashboard_shows_overdue_reports_with_days_late_in_one_query(app, world):
    dashboard = f"/programmes/{world.programme_id}/dashboard"
    browser = as_person(app, world.officer)
    a_report(app, world, year=1, due_at=utcnow() - 3 * DAY - dt.timedelta(hours=1))
    a_report(app, world, year=2, due_at=utcnow() + 3 * DAY)
    few = queries_for_page(app, browser, dashboard)

    page = text(browser.get(dashboard))

    assert "1 report is overdue." in page
    assert "Progress report for project year 1" in page
    assert "Progress report for project year 2" not in page
    with in_app(app):
        row = queries.overdue_reports(world.programme_id, now=utcnow())[0]
        assert row.days_late in (3, 4) and row.reference == world.reference
    for year in (3, 4, 5):
        a_report(app, world, year=year, due_at=utcnow() - DAY)
    a_report(app, world, grant_id=world.other_grant_id, due_at=utcnow() - DAY)
    assert queries_for_page(app, browser, dashboard) == few
    assert "5 reports are overdue." in text(browser.get(dashboard))


def test_the_programmes_reports_list_filters_and_pages(app, world, monkeypatch):
    a_report(app, world, year=1, due_at=utcnow() - 2 * DAY)
    a_report(app, world, year=2, due_at=utcnow() + 20 * DAY)
    a_report(app, world, grant_id=world.other_grant_id, year=1, due_at=utcnow() - 5 * DAY)
    browser = as_person(app, world.officer)
    url = f"/programmes/{world.programme_id}/reports"

    everything = text(browser.get(url))
    overdue = text(browser.get(f"{url}?state=overdue"))
    monkeypatch.setattr(queries, "PER_PAGE", 2)
    second = text(browser.get(f"{url}?page=2"))

    assert "3 reports" in everything
    assert "2 reports" in overdue and "Progress report for project year 2" not in overdue
    assert "5 days late" in overdue and "2 days late" in overdue
    assert "Page 2 of 2" in second and "Progress report for project year 2" in second


def test_each_applicants_start_page_lists_the_reports_their_own_grant_owes(app, world):
    due = dt.datetime(2028, 3, 31, 21, 59, 59, tzinfo=dt.UTC)
    a_report(app, world, year=1, due_at=due)
    a_report(
        app,
        world,
        grant_id=world.other_grant_id,
        year=2,
        due_at=due,
        state=ReportState.CHANGES_REQUESTED,
        submitted_at=due - 20 * DAY,
        submitted_by_id=world.other_applicant.id,
        content_hash="0" * 64,
        reviewed_at=due - 5 * DAY,
        reviewed_by_id=world.officer.id,
    )

    # One after the other, in one process: each sees their own consortium's report.
    ours = text(as_person(app, world.contributor).get("/"))
    theirs = text(as_person(app, world.other_applicant).get("/"))

    assert "Reports your grants owe" in ours
    assert (
        f"{world.reference} ({world.acronym}): Progress report for project year 1, "
        "due by 31.03.2028 23:59 CEST" in ours
    )
    assert "Progress report for project year 2" not in ours
    assert "Changes requested" not in ours
    assert "Progress report for project year 2, due by 31.03.2028 23:59 CEST" in theirs
    assert "Changes requested" in theirs
    assert "Progress report for project year 1" not in theirs


def test_the_grant_page_links_to_its_milestones_and_reports(app, world):
    page = as_person(app, world.coordinator).get(f"/grants/{world.grant_id}").get_data(True)

    assert f'href="/grants/{world.grant_id}/reports"' in page


def test_report_kinds_are_named_in_german_too(app, world):
    report_id = a_report(app, world, kind=ReportKind.STATEMENT_OF_USE.value)
    browser = as_person(app, world.coordinator)
    post(browser, "/language", {"locale": "de"})

    page = text(browser.get(report_url(report_id)))

    assert "Verwendungsnachweis" in page


# --- milestones ---------------------------------------------------------------------------------


def milestone_form(title: str, due_on: str, member_id: int | str = 0) -> dict[str, object]:
    return {"title": title, "due_on": due_on, "member_id": member_id}


def test_officer_adds_edits_marks_reached_and_deletes_a_milestone_the_consortium_sees(app, world):
    officer = as_person(app, world.officer)
    coordinator = as_person(app, world.coordinator)
    partner = world.member_ids[1]

    added = post(
        officer,
        f"/grants/{world.grant_id}/milestones/new",
        milestone_form("Pilot plant running", "2028-06-30", partner),
    )
    with in_app(app):
        milestone_id = db.session.scalar(sa.select(Milestone.id))
    edited = post(
        officer,
        f"/milestones/{milestone_id}/edit",
        milestone_form("Pilot plant in operation", "30.09.2028"),
    )
    seen = text(coordinator.get(f"/grants/{world.grant_id}/reports"))
    future = post(officer, f"/milestones/{milestone_id}/reached", {"reached_on": "2099-01-01"})
    reached = post(officer, f"/milestones/{milestone_id}/reached", {"reached_on": "2026-11-30"})
    late_edit = post(
        officer, f"/milestones/{milestone_id}/edit", milestone_form("Renamed", "2028-09-30")
    )
    confirmation = officer.get(f"/milestones/{milestone_id}/delete")

    assert (added.status_code, edited.status_code, reached.status_code) == (302, 302, 302)
    assert "Pilot plant in operation" in seen and "The consortium as a whole" in seen
    assert future.status_code == 422
    assert "A milestone is reached on a day that has come." in text(future)
    assert late_edit.status_code == 403
    assert "This milestone is reached; it is no longer changed." in text(late_edit)
    assert confirmation.status_code == 200 and "Yes, delete it" in text(confirmation)
    with in_app(app):
        milestone = db.session.get(Milestone, milestone_id)
        assert milestone is not None and milestone.title == "Pilot plant in operation"
        assert milestone.due_on == dt.date(2028, 9, 30) and milestone.member_id is None
        assert milestone.reached_on == dt.date(2026, 11, 30)
    deleted = post(officer, f"/milestones/{milestone_id}/delete", {})
    assert deleted.status_code == 302
    with in_app(app):
        assert count(Milestone) == 0
        actions = db.session.scalars(
            sa.select(AuditEvent.action)
            .where(AuditEvent.object_type == "milestone")
            .order_by(AuditEvent.id)
        ).all()
        assert actions == [
            "milestone.added",
            "milestone.updated",
            "milestone.reached",
            "milestone.deleted",
        ]


def test_a_milestone_needs_a_title_a_date_and_a_partner_of_the_consortium(app, world):
    officer = as_person(app, world.officer)
    with in_app(app):
        stranger = (
            db.session.scalar(sa.select(Grant).where(Grant.id == world.other_grant_id))
            .proposal.members[0]
            .id
        )

    response = post(
        officer,
        f"/grants/{world.grant_id}/milestones/new",
        milestone_form(" ", "", stranger),
    )

    assert response.status_code == 422
    markup = response.get_data(as_text=True)
    for field in ("title", "due_on", "member_id"):
        assert f'id="{field}-error"' in markup
    with in_app(app):
        assert count(Milestone) == 0


@pytest.mark.parametrize("who", ["coordinator", "other_officer", "juror"])
def test_only_the_grants_officers_manage_its_milestones(app, world, who):
    with in_app(app):
        grant = db.session.get(Grant, world.grant_id)
        milestone = Milestone(grant_id=grant.id, title="Kick-off", due_on=dt.date(2027, 3, 1))
        db.session.add(milestone)
        db.session.commit()
        milestone_id = milestone.id
    browser = as_person(app, getattr(world, who))
    expected = 404 if who == "other_officer" else 403

    responses = [
        post(
            browser, f"/grants/{world.grant_id}/milestones/new", milestone_form("X", "2028-01-01")
        ),
        post(browser, f"/milestones/{milestone_id}/edit", milestone_form("X", "2028-01-01")),
        post(browser, f"/milestones/{milestone_id}/reached", {"reached_on": "2026-01-01"}),
        post(browser, f"/milestones/{milestone_id}/delete", {}),
    ]

    assert [r.status_code for r in responses] == [expected] * 4
    with in_app(app):
        assert db.session.get(Milestone, milestone_id).title == "Kick-off"
