"""Reviews on PostgreSQL, continued: who is refused (jurors without a live assignment, other
consortia, officers), the officers' progress view, and reminders sent once per step however
often and however late the job runs. The world is in reviews_world.py."""

# ruff: noqa: F811

from __future__ import annotations

import datetime as dt
import re
import threading
import time

import pytest
import sqlalchemy as sa

from competition.accounts.models import User
from competition.assignment.models import (
    Assignment,
)
from competition.db import utcnow
from competition.errors import PermissionDenied
from competition.extensions import db
from competition.notifications.models import Notification
from competition.programmes.models import Call, Stage
from competition.proposals.models import (
    Proposal,
)
from competition.reviews import operations as ops
from competition.reviews import queries
from competition.reviews.models import ReminderSent, Review, ReviewState
from tests.factories import make_assignment, make_review
from tests.helpers import (
    as_person,
    in_app,
    queries_for_page,
    text,
)
from tests.integration.reviews_world import (
    DAY,
    HOUR,
    PDF,
    REQUESTS,
    STRATEGY,
    juror_on,
    load,
    progress_world,  # noqa: F401  (a fixture, found by name)
    reminder_world,
    requests_for,
    row_counts,
    sent_steps,
    submitted_proposal,
    world,  # noqa: F401  (a fixture, found by name)
)

pytestmark = pytest.mark.postgres


@pytest.mark.parametrize("request_name", REQUESTS)
@pytest.mark.parametrize("who", ["conflicted_juror", "unassigned_juror", "declined_juror"])
def test_jurors_without_a_live_assignment_get_not_found(app, world, who, request_name):
    someone = getattr(world, who)
    browser = as_person(app, someone)

    response = requests_for(world)[request_name](browser, someone)

    assert response.status_code == 404
    assert STRATEGY not in text(response)
    assert PDF not in response.data
    with in_app(app):
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Review)) == 0


@pytest.mark.parametrize("request_name", REQUESTS)
def test_an_applicant_of_another_consortium_is_refused(app, world, request_name):
    browser = as_person(app, world.other_applicant)

    response = requests_for(world)[request_name](browser, world.other_applicant)

    assert response.status_code in (403, 404)
    assert STRATEGY not in text(response)
    assert PDF not in response.data


@pytest.mark.parametrize("request_name", ["review page", "review post", "autosave post"])
def test_a_juror_may_not_open_another_jurors_assignment(app, world, request_name):
    browser = as_person(app, world.second_juror)

    # The second juror aims at the first juror's assignment.
    response = requests_for(world)[request_name](browser, world.unassigned_juror)

    assert response.status_code == 404


def test_the_consortium_still_downloads_its_own_documents(app, world):
    response = as_person(app, world.coordinator).get(f"/attachments/{world.attachment_id}")

    assert response.status_code == 200


def test_a_missing_assignment_looks_like_a_forbidden_one(app, world):
    browser = as_person(app, world.conflicted_juror)

    forbidden = browser.get(world.review_url(world.conflicted_juror))
    missing = browser.get("/reviews/assignments/999999")

    assert forbidden.status_code == missing.status_code == 404
    assert text(forbidden) == text(missing)


def test_operations_check_permission_again(ctx, world):
    assignment, _ = load(ctx, world, world.juror)
    conflicted = db.session.get(User, world.conflicted_juror.id)
    conflicted_assignment, _ = load(ctx, world, world.conflicted_juror)

    with pytest.raises(PermissionDenied):
        ops.save_review_draft(
            assignment,
            actor=conflicted,
            scores={},
            comment_for_applicant="x",
            comment_for_jury="",
            confidence=None,
            base_revision=0,
            now=utcnow(),
        )
    with pytest.raises(PermissionDenied):
        ops.submit_review(conflicted_assignment, actor=conflicted, now=utcnow())


def test_progress_counts_reviews_per_proposal_and_per_juror(app, world, progress_world):
    page = text(as_person(app, world.officer).get(world.progress_url))

    assert row_counts(page, f"proposal-{world.proposal_id}") == {
        # Ada, Ben and Cleo: Dan's conflict and Fay's decline take theirs out
        "assigned": 3,
        "submitted": 1,
        "drafted": 1,
        "missing": 1,
    }
    assert row_counts(page, f"proposal-{world.other_proposal_id}") == {
        "assigned": 2,
        "submitted": 1,
        "drafted": 1,
        "missing": 0,
    }
    assert row_counts(page, f"proposal-{progress_world['lonely']}") == {
        "assigned": 0,
        "submitted": 0,
        "drafted": 0,
        "missing": 0,
    }
    assert row_counts(page, f"juror-{world.juror.id}") == {
        "assigned": 2,
        "submitted": 1,
        "drafted": 1,
        "missing": 0,
    }
    assert row_counts(page, f"juror-{world.second_juror.id}") == {
        "assigned": 2,
        "submitted": 1,
        "drafted": 1,
        "missing": 0,
    }
    assert row_counts(page, f"juror-{world.third_juror.id}") == {
        "assigned": 1,
        "submitted": 0,
        "drafted": 0,
        "missing": 1,
    }
    for absent in (world.declined_juror, world.conflicted_juror, world.unassigned_juror):
        assert f'id="juror-{absent.id}"' not in page
    assert "badge-rejected" not in page  # nobody is late before the due date
    assert 'id="total-submitted">2<' in page


def test_progress_names_the_late_jurors_after_the_due_date(app, world, progress_world):
    with in_app(app):
        stage = db.session.get(Stage, world.stage_id)
        stage.reviews_due_at = utcnow() - dt.timedelta(days=1)
        db.session.commit()
    browser = as_person(app, world.officer)

    page = text(browser.get(world.progress_url))
    late_only = text(browser.get(world.progress_url + "?late=1"))

    # Ada, Ben and Cleo each have a review outstanding.
    assert "The due date has passed: 3 jurors are late." in page
    assert "late: 1 outstanding" in page
    assert f'id="juror-{world.third_juror.id}"' in late_only


def test_progress_search_and_pagination(app, world, progress_world):
    with in_app(app):
        call = db.session.get(Call, world.call_id)
        stage = db.session.get(Stage, world.stage_id)
        for _ in range(queries.PER_PAGE):
            submitted_proposal(call, stage)
        proposal = db.session.get(Proposal, world.proposal_id)
        proposal.acronym = "HYDROGEN"
        reference = proposal.reference
        db.session.commit()
    browser = as_person(app, world.officer)

    first = text(browser.get(world.progress_url))
    second = text(browser.get(world.progress_url + "?page=2"))
    found = text(browser.get(world.progress_url + "?q=hydro"))
    jurors = text(browser.get(world.progress_url + "?jq=cleo"))

    assert "Page 1 of 2 (28 in all)" in first
    assert len(re.findall(r'<tr id="proposal-\d+">', first)) == queries.PER_PAGE
    assert len(re.findall(r'<tr id="proposal-\d+">', second)) == 3
    assert re.findall(r'<tr id="proposal-(\d+)">', found) == [str(world.proposal_id)]
    assert reference in found
    assert re.findall(r'<tr id="juror-(\d+)">', jurors) == [str(world.third_juror.id)]


def test_progress_page_costs_the_same_queries_for_few_and_many(app, world, progress_world):
    browser = as_person(app, world.officer)

    few = queries_for_page(app, browser, world.progress_url)
    with in_app(app):
        call = db.session.get(Call, world.call_id)
        stage = db.session.get(Stage, world.stage_id)
        for index in range(5):
            proposal, _ = submitted_proposal(call, stage)
            juror = juror_on(call, name=f"Extra {index}")
            make_review(make_assignment(stage, proposal, juror), state=ReviewState.DRAFT)
        db.session.commit()
    many = queries_for_page(app, browser, world.progress_url)

    assert many == few


def test_progress_page_is_not_found_for_an_officer_of_another_programme(app, world):
    assert as_person(app, world.officer).get(world.progress_url).status_code == 200
    assert as_person(app, world.other_officer).get(world.progress_url).status_code == 404


@pytest.mark.parametrize("who", ["juror", "coordinator", "other_applicant"])
def test_progress_page_is_forbidden_to_jurors_and_applicants(app, world, who):
    assert as_person(app, getattr(world, who)).get(world.progress_url).status_code == 403


@pytest.mark.parametrize("who", ["officer", "coordinator"])
def test_the_review_pages_are_forbidden_to_officers_and_applicants(app, world, who):
    browser = as_person(app, getattr(world, who))

    assert browser.get("/reviews").status_code == 403
    assert browser.get(world.review_url(world.juror)).status_code == 403


def test_each_reminder_step_is_sent_once_even_when_the_job_runs_twice(ctx, world):
    due = reminder_world(ctx, world)
    now = due - 7 * DAY + dt.timedelta(minutes=5)

    first = ops.send_due_reminders(now=now)
    second = ops.send_due_reminders(now=now + dt.timedelta(minutes=15))

    assert (first, second) == (3, 0)
    assert sent_steps(world) == {"juror": [1], "second_juror": [1], "third_juror": [1]}
    keys = db.session.scalars(
        sa.select(Notification.dedup_key).where(Notification.template == "reviews/reminder")
    ).all()
    assert sorted(keys) == sorted(
        f"reviews.reminder:{world.assignments[who.email]}:1"
        for who in (world.juror, world.second_juror, world.third_juror)
    )


def test_overlapping_runs_send_each_step_once(app, world):
    with app.app_context():
        due = reminder_world(app, world)
    now = due - 7 * DAY + dt.timedelta(minutes=5)
    start = threading.Barrier(4)
    results: list[int] = []

    def run() -> None:
        with app.app_context():
            start.wait()
            results.append(ops.send_due_reminders(now=now))

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sum(results) == 3 and len(results) == 4
    with in_app(app):
        assert sent_steps(world) == {"juror": [1], "second_juror": [1], "third_juror": [1]}
        assert (
            db.session.scalar(
                sa.select(sa.func.count())
                .select_from(Notification)
                .where(Notification.template == "reviews/reminder")
            )
            == 3
        )


def test_the_reminder_mail_links_to_the_review(ctx, world):
    due = reminder_world(ctx, world)
    ops.send_due_reminders(now=due - dt.timedelta(hours=6))

    message = db.session.scalar(
        sa.select(Notification).where(Notification.to_address == world.juror.email)
    )

    assert message is not None and message.subject == "Reminder: your review is due"
    assert "is due in less than a\nday" in message.body_text
    assert f"/reviews/assignments/{world.assignments[world.juror.email]}" in message.body_text
    assert f"/reviews/assignments/{world.assignments[world.juror.email]}" in message.body_html


def test_no_reminder_for_submitted_reviews_declined_or_conflicted_assignments(ctx, world):
    due = reminder_world(ctx, world)
    assignment = db.session.get(Assignment, world.assignments[world.second_juror.email])
    make_review(assignment, state=ReviewState.SUBMITTED, scores=world.scores("4", "4", "4"))
    declined = db.session.get(Assignment, world.assignments[world.declined_juror.email])
    declined.released_at = due - 30 * DAY
    conflicted = db.session.get(Assignment, world.assignments[world.conflicted_juror.email])
    conflicted.released_at = due - 30 * DAY
    db.session.commit()

    ops.send_due_reminders(now=due - DAY)

    assert sent_steps(world) == {"juror": [2], "third_juror": [2]}


def test_a_draft_is_reminded_and_an_edited_submitted_review_too(ctx, world):
    due = reminder_world(ctx, world)
    assignment = db.session.get(Assignment, world.assignments[world.second_juror.email])
    review = make_review(assignment, state=ReviewState.DRAFT)
    review.submitted_at = due - 3 * DAY  # submitted once, changed since
    db.session.commit()

    ops.send_due_reminders(now=due - dt.timedelta(hours=1))

    assert sent_steps(world)["second_juror"] == [3]


@pytest.mark.parametrize(
    ("offset", "step"),
    [
        (-8 * DAY, None),
        (-7 * DAY - dt.timedelta(minutes=1), None),
        (-7 * DAY, 1),
        (-3 * DAY, 1),
        (-2 * DAY, 2),
        (-13 * HOUR, 2),
        (-12 * HOUR, 3),
        (-dt.timedelta(minutes=1), 3),
        (dt.timedelta(0), 3),
        # After the due date the review is read-only: nothing to remind of.
        (dt.timedelta(minutes=1), None),
        (2 * DAY, None),
    ],
)
def test_the_step_due_at_a_given_moment_is_sent(ctx, world, offset, step):
    due = reminder_world(ctx, world)

    ops.send_due_reminders(now=due + offset)

    assert sent_steps(world).get("juror", []) == ([step] if step else [])


def test_the_steps_go_out_one_by_one_as_the_due_date_comes_near(ctx, world):
    due = reminder_world(ctx, world)

    for offset in (-7 * DAY, -6 * DAY, -2 * DAY, -DAY, -12 * HOUR, -HOUR, 2 * DAY):
        ops.send_due_reminders(now=due + offset)

    assert sent_steps(world)["juror"] == [1, 2, 3]


def test_a_missed_run_sends_only_the_latest_step_and_never_an_earlier_one_later(ctx, world):
    due = reminder_world(ctx, world)

    ops.send_due_reminders(now=due - HOUR)  # the job did not run for a week
    ops.send_due_reminders(now=due - HOUR + dt.timedelta(minutes=15))

    assert sent_steps(world)["juror"] == [3]


def test_steps_before_the_release_are_skipped(ctx, world):
    due = reminder_world(ctx, world)
    assignment = db.session.get(Assignment, world.assignments[world.juror.email])
    assignment.released_at = due - 5 * DAY
    db.session.commit()

    ops.send_due_reminders(now=due - 5 * DAY + dt.timedelta(hours=1))
    nothing_yet = sent_steps(world).get("juror", [])
    ops.send_due_reminders(now=due - 2 * DAY)

    assert nothing_yet == []
    assert sent_steps(world)["juror"] == [2]


def test_a_step_already_recorded_by_another_run_is_not_sent_again(ctx, world):
    due = reminder_world(ctx, world)
    db.session.add(
        ReminderSent(
            assignment_id=world.assignments[world.juror.email], step=1, sent_at=due - 7 * DAY
        )
    )
    db.session.commit()

    ops.send_due_reminders(now=due - 7 * DAY + dt.timedelta(minutes=1))

    assert not db.session.scalar(
        sa.select(Notification.id).where(Notification.to_address == world.juror.email)
    )


def test_the_reminder_task_runs_the_operation_and_is_on_the_beat_schedule(app, world):
    with in_app(app):
        stage = db.session.get(Stage, world.stage_id)
        # The clock is the task's own: the due date is a day from now.
        stage.reviews_due_at = utcnow() + DAY
        db.session.commit()
    celery = app.extensions["celery"]

    result = celery.tasks["reviews.send_reminders"].apply()

    assert result.get() == 3  # Ada, Ben and Cleo; not Dan (conflict) nor Fay (declined)
    assert celery.tasks["reviews.send_reminders"].apply().get() == 0
    schedule = {entry["task"]: entry["schedule"] for entry in celery.conf.beat_schedule.values()}
    assert schedule["reviews.send_reminders"] == 900.0


@pytest.mark.worker
@pytest.mark.redis
def test_the_reminder_task_runs_in_a_worker_and_mails_each_juror_once(
    app, world, make_app, redis_url, worker_factory, smtp_server
):
    with in_app(app):
        stage = db.session.get(Stage, world.stage_id)
        stage.reviews_due_at = utcnow() + DAY
        db.session.commit()
    deployed = make_app(
        redis_url=redis_url,
        task_queue=worker_factory.queue,
        mail_server=smtp_server.host,
        mail_port=smtp_server.port,
    )
    worker = worker_factory(smtp_server)
    task = deployed.extensions["celery"].tasks["reviews.send_reminders"]

    # Twice at once: the lock keeps the runs apart, the ReminderSent rows keep the steps single.
    task.apply_async()
    task.apply_async()

    mails = smtp_server.wait_for(3, timeout=60)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and worker.log().count("reviews.send_reminders") < 4:
        time.sleep(0.2)
    time.sleep(2)  # a fourth mail, were one coming, would be on its way by now
    assert sorted(m["To"] for m in smtp_server.messages) == sorted(
        [world.juror.email, world.second_juror.email, world.third_juror.email]
    )
    assert {m["Subject"] for m in mails} == {"Reminder: your review is due"}
