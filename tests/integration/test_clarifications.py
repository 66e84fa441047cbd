"""Clarification requests on PostgreSQL, through the pages: an officer asks, the consortium is
mailed and sees the request, answers with a PDF, the officer is mailed, asks again and closes;
late answers, bad files and empty questions are refused at their field with nothing saved; the
thread and its files are hidden (404) from jurors and other applicants; reminders go out once
per deadline."""

# ruff: noqa: F811
from __future__ import annotations

import datetime as dt
import io

import pytest
import sqlalchemy as sa

from competition.accounts.models import Role
from competition.audit.models import AuditEvent, StateTransition
from competition.berlin import berlin_time, utc_to_berlin_input
from competition.clarifications import operations as clarification_ops
from competition.clarifications.models import (
    ClarificationAttachment,
    ClarificationMessage,
    ClarificationRequest,
    ClarificationState,
)
from competition.db import utcnow
from competition.extensions import db
from competition.notifications.models import Notification, NotificationState
from competition.programmes.models import ProgrammeOfficer, Stage
from competition.proposals.models import Proposal
from tests.factories import make_assignment, make_user
from tests.helpers import queries_for_page
from tests.integration.submission_world import (
    add_applicant,
    add_contributor,
    app,  # noqa: F401  (a fixture, found by name: uploads under the test's directory)
    build_world,
    count,
    log_in,
    mails,
    post,
    submit,
    text,
    user,
    write_draft,
)
from tests.unit import upload_samples

pytestmark = pytest.mark.postgres

QUESTION = "Please send the letter of intent of Neue Netze GmbH."
ANSWER = "The signed letter is attached."
ANSWER_PDF = upload_samples.pdf_with_pages(1)


def local(value: dt.datetime) -> str:
    """As a person types a time into the page's datetime-local field (Europe/Berlin)."""
    return utc_to_berlin_input(value).strftime("%Y-%m-%dT%H:%M")


def submitted(app):  # type: ignore[no-untyped-def]
    """A submitted proposal with a second contributor; returns (world, draft, contributor)."""
    with app.app_context():
        world = build_world()
        draft = write_draft(world)
        submit(draft, world.coordinator)
        db.session.commit()
    return world, draft, add_contributor(app, draft)


def ask(browser, draft, *, stage_id, question=QUESTION, due_at=None):  # type: ignore[no-untyped-def]
    due_at = due_at or utcnow() + dt.timedelta(days=7)
    return post(
        browser,
        f"/proposals/{draft.proposal_id}/clarifications/new",
        {"stage_id": stage_id, "question": question, "due_at": local(due_at)},
    )


def answer(browser, request_id, *, body=ANSWER, files=()):  # type: ignore[no-untyped-def]
    data: dict[str, object] = {"body": body}
    if files:
        data["files"] = [(io.BytesIO(content), name) for name, content in files]
    return post(
        browser,
        f"/clarifications/{request_id}/answers",
        data,
        content_type="multipart/form-data",
    )


def only_request() -> ClarificationRequest:
    db.session.expire_all()
    found = db.session.scalars(sa.select(ClarificationRequest)).all()
    assert len(found) == 1
    return found[0]


def all_rendered() -> list[Notification]:
    """Every clarification mail, each delivered (to the development mailbox) with its text."""
    db.session.expire_all()
    rows = list(
        db.session.scalars(
            sa.select(Notification)
            .where(Notification.template.startswith("clarifications/"))
            .order_by(Notification.id)
        )
    )
    for row in rows:
        assert row.state == NotificationState.SENT, (row.template, row.last_error)
        assert row.body_text and row.body_html and row.subject
    return rows


def events(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action)))


def test_officer_asks_consortium_answers_with_pdf_officer_is_mailed_asks_again_and_closes(app):  # type: ignore[no-untyped-def]
    world, draft, contributor = submitted(app)
    with app.app_context():
        user(contributor).locale = "de"
        db.session.commit()
    officer = log_in(app, world.officer)
    screening = text(
        officer.get(f"/screening/proposals/{draft.proposal_id}/stages/{world.stage_id}")
    )
    new_page = f"/proposals/{draft.proposal_id}/clarifications/new?stage={world.stage_id}"
    assert new_page in screening.replace("&amp;", "&")
    form = text(officer.get(new_page))
    assert f'<option selected value="{world.stage_id}">' in form

    asked = ask(officer, draft, stage_id=world.stage_id)
    assert asked.status_code == 302
    with app.app_context():
        request = only_request()
        request_id = request.id
        dashboard_line = (
            f"{request.proposal.reference} (GRID): answer by {berlin_time(request.due_at)}"
        )
        assert request.state == ClarificationState.OPEN
        assert request.question == QUESTION
        # Coordinator and contributor are both asked, each once.
        asked_mails = mails("clarifications/asked")
        assert sorted(m.to_address for m in asked_mails) == sorted([world.coordinator, contributor])
        # Each in the recipient's language.
        by_address = {m.to_address: m for m in all_rendered()}
        english = by_address[world.coordinator].body_text.replace("\n", " ")
        assert "the programme office asks about your proposal" in english
        german = by_address[contributor]
        assert german.subject == "Rückfrage des Projektträgers zu Ihrem Antrag"
        assert QUESTION in german.body_text
        assert len(events("clarification_request.asked")) == 1

    # The consortium sees it on the dashboard and on the proposal's page.
    coordinator = log_in(app, world.coordinator)
    start_page = text(coordinator.get("/"))
    assert f'<a href="/clarifications/{request_id}">{dashboard_line}</a>' in start_page
    editor = text(coordinator.get(f"/proposals/{draft.proposal_id}/edit"))
    assert f"/clarifications/{request_id}" in editor
    page = text(coordinator.get(f"/proposals/{draft.proposal_id}"))
    assert QUESTION in page
    assert "the programme office" in page

    answered = answer(coordinator, request_id, files=[("letter of intent.pdf", ANSWER_PDF)])
    assert answered.status_code == 302
    with app.app_context():
        request = only_request()
        assert request.state == ClarificationState.ANSWERED
        (message,) = request.messages
        assert message.body == ANSWER
        (attachment,) = message.attachments
        assert attachment.filename == "letter of intent.pdf"
        attachment_id = attachment.id
        (to_officer,) = mails("clarifications/answered")
        assert to_officer.to_address == world.officer
        assert len(events("clarification_request.answered")) == 1
        assert (
            db.session.scalar(
                sa.select(sa.func.count())
                .select_from(StateTransition)
                .where(StateTransition.object_type == "clarification_request")
            )
            == 1
        )

    # Both sides read the thread with the answer and download the PDF.
    thread = text(officer.get(f"/proposals/{draft.proposal_id}"))
    assert ANSWER in thread and "letter of intent.pdf" in thread
    for browser in (officer, coordinator):
        download = browser.get(f"/clarifications/attachments/{attachment_id}")
        assert download.status_code == 200
        assert download.data == ANSWER_PDF

    # A second officer of the programme asks again in the same thread.
    with app.app_context():
        second = make_user(roles=(Role.OFFICER,))
        db.session.add(ProgrammeOfficer(programme_id=world.programme_id, user_id=second.id))
        db.session.commit()
        second_email = second.email
    follow_up = post(
        log_in(app, second_email),
        f"/clarifications/{request_id}/follow-up",
        {"question": "Which partner signs?", "due_at": local(utcnow() + dt.timedelta(days=3))},
    )
    assert follow_up.status_code == 302
    with app.app_context():
        assert only_request().state == ClarificationState.OPEN
        assert len(mails("clarifications/asked")) == 4
    assert answer(coordinator, request_id, body="Neue Netze GmbH signs.").status_code == 302
    with app.app_context():
        # Both officers who asked hear of the answer.
        assert sorted(m.to_address for m in mails("clarifications/answered")[1:]) == sorted(
            [world.officer, second_email]
        )

    closed = post(officer, f"/clarifications/{request_id}/close", {})
    assert closed.status_code == 302
    with app.app_context():
        assert only_request().state == ClarificationState.CLOSED
        assert len(events("clarification_request.closed")) == 1
        assert len(mails("clarifications/ended")) == 2
        assert len(all_rendered()) == 9  # asked 2, answered, asked again 2, answered 2, ended 2
    # A closed request takes no more answers.
    assert answer(coordinator, request_id, body="One more thing.").status_code == 403


def test_answer_after_the_deadline_is_refused_until_the_officer_extends_it(app):  # type: ignore[no-untyped-def]
    world, draft, _ = submitted(app)
    with app.app_context():
        officer = user(world.officer)
        proposal = db.session.get(Proposal, draft.proposal_id)
        stage = db.session.get(Stage, world.stage_id)
        asked_at = utcnow() - dt.timedelta(days=3)
        request = clarification_ops.ask_clarification(
            proposal,  # type: ignore[arg-type]
            stage,  # type: ignore[arg-type]
            actor=officer,
            question=QUESTION,
            due_at=asked_at + dt.timedelta(days=1),
            now=asked_at,
        )
        request_id = request.id
    coordinator = log_in(app, world.coordinator)

    late = answer(coordinator, request_id)
    assert late.status_code == 422
    assert "answers are no longer accepted" in text(late)
    with app.app_context():
        assert count(ClarificationMessage) == 0
        assert only_request().state == ClarificationState.OPEN

    officer_browser = log_in(app, world.officer)
    earlier = post(
        officer_browser,
        f"/clarifications/{request_id}/deadline",
        {"extend-due_at": local(utcnow() - dt.timedelta(hours=1))},
    )
    assert earlier.status_code == 422
    assert "The deadline must be in the future." in text(earlier)
    extended = post(
        officer_browser,
        f"/clarifications/{request_id}/deadline",
        {"extend-due_at": local(utcnow() + dt.timedelta(days=2))},
    )
    assert extended.status_code == 302
    with app.app_context():
        assert len(events("clarification_request.deadline_extended")) == 1
        assert len(mails("clarifications/extended")) == 2

    assert answer(coordinator, request_id).status_code == 302
    with app.app_context():
        assert only_request().state == ClarificationState.ANSWERED


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("notes.docx", upload_samples.docx_document(), "not a PDF"),
        ("letter.pdf", upload_samples.pdf_with_document_javascript(), "script"),
    ],
    ids=["not a pdf", "pdf with a script"],
)
def test_a_non_pdf_or_active_pdf_answer_is_refused_at_the_field_and_nothing_saved(  # type: ignore[no-untyped-def]
    app,
    name,
    content,
    message,
):
    world, draft, _ = submitted(app)
    officer = log_in(app, world.officer)
    assert ask(officer, draft, stage_id=world.stage_id).status_code == 302
    with app.app_context():
        request_id = only_request().id
    coordinator = log_in(app, world.coordinator)

    refused = answer(coordinator, request_id, files=[(name, content)])
    assert refused.status_code == 422
    page = text(refused)
    error = page[page.index('id="files-error"') :]
    assert name in error[: error.index("</p>")]
    assert message.lower() in error[: error.index("</p>")].lower()
    with app.app_context():
        assert count(ClarificationMessage) == 0
        assert count(ClarificationAttachment) == 0
        assert only_request().state == ClarificationState.OPEN
        assert mails("clarifications/answered") == []


def test_an_empty_question_or_a_past_deadline_is_refused_at_the_field(app):  # type: ignore[no-untyped-def]
    world, draft, _ = submitted(app)
    officer = log_in(app, world.officer)

    empty = ask(officer, draft, stage_id=world.stage_id, question="   ")
    assert empty.status_code == 422
    assert 'id="question-error"' in text(empty)
    assert "Write the question." in text(empty)

    past = ask(officer, draft, stage_id=world.stage_id, due_at=utcnow() - dt.timedelta(hours=2))
    assert past.status_code == 422
    page = text(past)
    assert "The deadline must be in the future." in page[page.index('id="due_at-error"') :]
    with app.app_context():
        assert count(ClarificationRequest) == 0
        assert mails("clarifications/asked") == []


def test_a_juror_and_another_applicant_get_404_for_the_thread_and_its_files(app):  # type: ignore[no-untyped-def]
    world, draft, _ = submitted(app)
    officer = log_in(app, world.officer)
    assert ask(officer, draft, stage_id=world.stage_id).status_code == 302
    with app.app_context():
        request_id = only_request().id
    coordinator = log_in(app, world.coordinator)
    assert answer(coordinator, request_id, files=[("a.pdf", ANSWER_PDF)]).status_code == 302
    with app.app_context():
        attachment_id = db.session.scalar(sa.select(ClarificationAttachment.id))
        juror = make_user(roles=(Role.JUROR,))
        stage = db.session.get(Stage, world.stage_id)
        proposal = db.session.get(Proposal, draft.proposal_id)
        make_assignment(stage, proposal, juror)  # type: ignore[arg-type]
        db.session.commit()
        juror_email = juror.email
    outsider_email = add_applicant(app)

    for email in (juror_email, outsider_email):
        browser = log_in(app, email)
        assert browser.get(f"/clarifications/{request_id}").status_code == 404
        assert browser.get(f"/clarifications/attachments/{attachment_id}").status_code == 404
        assert post(
            browser, f"/clarifications/{request_id}/answers", {"body": "x"}
        ).status_code in (
            403,
            404,
        )
        assert QUESTION not in text(browser.get("/"))
    with app.app_context():
        assert count(ClarificationMessage) == 1


def test_the_consortium_is_reminded_once_a_day_before_the_deadline_and_again_after_an_extension(
    app,
):  # type: ignore[no-untyped-def]
    world, draft, _ = submitted(app)
    now = utcnow()
    with app.app_context():
        proposal = db.session.get(Proposal, draft.proposal_id)
        stage = db.session.get(Stage, world.stage_id)
        request = clarification_ops.ask_clarification(
            proposal,  # type: ignore[arg-type]
            stage,  # type: ignore[arg-type]
            actor=user(world.officer),
            question=QUESTION,
            due_at=now + dt.timedelta(days=3),
            now=now,
        )
        assert clarification_ops.send_due_reminders(now=now) == 0
        soon = now + dt.timedelta(days=2, hours=1)
        assert clarification_ops.send_due_reminders(now=soon) == 1
        assert clarification_ops.send_due_reminders(now=soon) == 0
        assert len(mails("clarifications/reminder")) == 2
        clarification_ops.extend_deadline(
            db.session.get(ClarificationRequest, request.id),  # type: ignore[arg-type]
            actor=user(world.officer),
            due_at=now + dt.timedelta(days=4),
            now=soon,
        )
        assert clarification_ops.send_due_reminders(now=now + dt.timedelta(days=3, hours=1)) == 1
        assert len(mails("clarifications/reminder")) == 4
        assert len(events("clarification_request.reminder_sent")) == 2
        assert {row.template for row in all_rendered()} == {
            "clarifications/asked",
            "clarifications/extended",
            "clarifications/reminder",
        }


def test_the_thread_page_reads_the_same_few_queries_however_long_the_thread(app):  # type: ignore[no-untyped-def]
    world, draft, _ = submitted(app)
    now = utcnow()
    with app.app_context():
        request = clarification_ops.ask_clarification(
            db.session.get(Proposal, draft.proposal_id),  # type: ignore[arg-type]
            db.session.get(Stage, world.stage_id),  # type: ignore[arg-type]
            actor=user(world.officer),
            question=QUESTION,
            due_at=now + dt.timedelta(days=3),
            now=now,
        )
        request_id = request.id
    coordinator = log_in(app, world.coordinator)
    officer = log_in(app, world.officer)

    def add_answers(how_many: int) -> None:
        with app.app_context():
            for number in range(how_many):
                clarification_ops.answer_clarification(
                    db.session.get(ClarificationRequest, request_id),  # type: ignore[arg-type]
                    actor=user(world.coordinator),
                    text=f"Answer {number}",
                    files=[clarification_ops.Upload(f"part{number}.pdf", ANSWER_PDF)],
                    now=utcnow(),
                )

    add_answers(1)
    pages = (
        (officer, f"/clarifications/{request_id}"),
        (coordinator, f"/clarifications/{request_id}"),
        (coordinator, f"/proposals/{draft.proposal_id}"),
        (officer, f"/proposals/{draft.proposal_id}"),
    )
    short = [queries_for_page(app, browser, url) for browser, url in pages]
    add_answers(4)
    long = [queries_for_page(app, browser, url) for browser, url in pages]
    assert long == short
    assert text(coordinator.get(f"/proposals/{draft.proposal_id}")).count("Answer from") == 5


@pytest.mark.parametrize(
    ("who", "ask", "see", "answer", "manage"),
    [
        ("officer of the programme", True, True, False, True),
        ("officer of another programme", False, False, False, False),
        ("coordinator", False, True, True, False),
        ("contributor", False, True, True, False),
        ("juror assigned to the proposal", False, False, False, False),
        ("another applicant", False, False, False, False),
    ],
)
def test_who_may_ask_see_answer_and_manage_a_request(app, who, ask, see, answer, manage):  # type: ignore[no-untyped-def]
    from competition.clarifications import permissions

    world, draft, contributor = submitted(app)
    with app.app_context():
        proposal = db.session.get(Proposal, draft.proposal_id)
        stage = db.session.get(Stage, world.stage_id)
        assert proposal is not None and stage is not None
        request = clarification_ops.ask_clarification(
            proposal,
            stage,
            actor=user(world.officer),
            question=QUESTION,
            due_at=utcnow() + dt.timedelta(days=3),
            now=utcnow(),
        )
        juror = make_user(roles=(Role.JUROR,))
        make_assignment(stage, proposal, juror)
        people = {
            "officer of the programme": user(world.officer),
            "officer of another programme": make_user(roles=(Role.OFFICER,)),
            "coordinator": user(world.coordinator),
            "contributor": user(contributor),
            "juror assigned to the proposal": juror,
            "another applicant": make_user(roles=(Role.APPLICANT,)),
        }
        person = people[who]
        assert bool(permissions.can_ask(person, proposal)) is ask
        assert bool(permissions.can_see_thread(person, proposal)) is see
        assert bool(permissions.can_answer(person, request)) is answer
        assert bool(permissions.can_manage(person, request)) is manage
