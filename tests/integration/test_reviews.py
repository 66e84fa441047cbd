"""Jury reviews on PostgreSQL: the juror's dashboard, the review page (the frozen proposal and
the form), drafts saved as typed (JSON autosave, revisions, conflicts), submitting with messages
at the fields, editing until the review due date, other reviews hidden until one's own is in,
who is refused, the officers' progress view, and reminders sent once per step.

Assignments are inserted directly with the models; submitted versions are frozen with
competition.proposals.snapshot, so these tests depend on neither the submission nor the
assignment operations."""

# ruff: noqa: F811

from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlalchemy as sa

from competition.accounts.models import User, UserSession
from competition.assignment.models import (
    Assignment,
)
from competition.audit.models import AuditEvent
from competition.db import utcnow
from competition.errors import DomainError, PermissionDenied, StaleState
from competition.extensions import db
from competition.programmes.models import Call, Stage
from competition.proposals import storage
from competition.proposals.models import (
    Attachment,
    Proposal,
)
from competition.reviews import operations as ops
from competition.reviews import queries
from competition.reviews.models import ReviewState
from tests.conftest import csrf_from
from tests.factories import (
    PASSWORD,
    make_review,
)
from tests.helpers import (
    as_person,
    in_app,
    text,
)
from tests.integration.reviews_world import (
    GOOD_COMMENT,
    PDF,
    REFUSALS,
    SECRET_JURY_NOTE,
    STRATEGY,
    field_error,
    load,
    post_review,
    progress_world,  # noqa: F401  (a fixture, found by name)
    review_of,
    submit_for,
    world,  # noqa: F401  (a fixture, found by name)
)

pytestmark = pytest.mark.postgres


# --- the juror's dashboard ----------------------------------------------------------------------


def test_dashboard_lists_the_jurors_assignments_with_due_date_and_progress(app, world):
    page = text(as_person(app, world.juror).get("/reviews"))

    with in_app(app):
        proposal = db.session.get(Proposal, world.proposal_id)
        call = db.session.get(Call, world.call_id)
        stage = db.session.get(Stage, world.stage_id)
        shown = [f"{proposal.reference} {proposal.acronym}", proposal.title, call.name, stage.name]
    row = page[page.index(shown[0]) :]
    places = [row.index(value) for value in shown]
    assert places == sorted(places), "proposal, title, call and stage in this order"
    assert f'href="/reviews/assignments/{world.assignments[world.juror.email]}"' in page
    assert "0 of 1 review submitted." in page
    assert "Not started" in page
    assert "Time left: 9 days" in page


def test_dashboard_counts_submitted_reviews(app, world):
    with in_app(app):
        assignment = db.session.get(Assignment, world.assignments[world.juror.email])
        make_review(assignment, state=ReviewState.SUBMITTED, scores=world.scores("4", "4", "4"))
        db.session.commit()

    page = text(as_person(app, world.juror).get("/reviews"))

    assert "1 of 1 review submitted." in page
    assert "Submitted" in page


def test_the_dashboard_opened_again_shows_the_new_state_in_the_readers_language(app, world):
    # The dashboard's rendered rows are kept: a new state or language must render them afresh.
    with in_app(app):
        db.session.get(Stage, world.stage_id).reviews_due_at = None
        db.session.commit()
    browser = as_person(app, world.juror)
    before = text(browser.get("/reviews"))
    with in_app(app):
        assignment = db.session.get(Assignment, world.assignments[world.juror.email])
        make_review(assignment, state=ReviewState.SUBMITTED, scores=world.scores("4", "4", "4"))
        db.session.commit()
    after = text(browser.get("/reviews"))
    with in_app(app):
        db.session.get(User, world.juror.id).locale = "de"
        db.session.commit()
    german = text(browser.get("/reviews"))

    assert 'badge-review-not_started">Not started<' in before
    assert 'badge-review-submitted">Submitted<' in after
    assert 'badge-review-submitted">Eingereicht<' in german
    assert "Keine Frist" in german


@pytest.mark.parametrize("who", ["conflicted_juror", "declined_juror", "unassigned_juror"])
def test_dashboard_leaves_out_conflicted_declined_and_unassigned_proposals(app, world, who):
    page = text(as_person(app, getattr(world, who)).get("/reviews"))

    assert "No proposals are assigned to you" in page
    assert "/reviews/assignments/" not in page


# --- the review page ----------------------------------------------------------------------------


def test_review_page_shows_the_frozen_proposal_and_a_form_from_the_criteria(app, world):
    response = as_person(app, world.juror).get(world.review_url(world.juror))
    page = text(response)

    assert response.status_code == 200
    assert STRATEGY in page
    assert "Cluster strategy" in page
    assert "1\u202f000\u202f000 EUR" in page  # the budget total
    assert f'href="/attachments/{world.attachment_id}"' in page
    for criterion_id in world.criteria:
        options = re.search(rf'<select id="score-{criterion_id}"[^>]*>(.*?)</select>', page, re.S)
        assert options, f"no select for criterion {criterion_id}"
        values = re.findall(r'<option value="([^"]*)"', options.group(1))
        assert values == ["", "0", "0.5", "1", "1.5", "2", "2.5", "3", "3.5", "4", "4.5", "5"]
    assert "Is the cluster's strategy ambitious and sound?" in page
    assert "Scale: use steps of 0.5 between 0 and 5." in page
    assert 'name="comment_for_applicant"' in page and 'name="comment_for_jury"' in page
    assert [f'value="{n}"' in page for n in range(1, 6)] == [True] * 5
    assert "review.js" in page
    # The consortium reads in words, never in the codes the version keeps.
    consortium = page[page.index("<table", page.index("Consortium")) :].split("</table>")[0]
    assert "<td>Coordinator</td><td>University</td>" in consortium
    assert not re.search(
        r"<td>(coordinator|partner|university|research_institute|sme)</td>", consortium
    )


def test_the_assigned_juror_may_download_the_proposals_documents(app, world):
    response = as_person(app, world.juror).get(f"/attachments/{world.attachment_id}")

    assert response.status_code == 200
    assert response.data == PDF


def test_a_juror_never_downloads_a_document_that_was_not_submitted(app, world):
    with app.app_context():
        proposal = db.session.get(Proposal, world.proposal_id)
        submission = proposal.submissions[0]
        draft_only = Attachment(
            submission_id=submission.id,
            kind="cv",
            filename="unsent-draft.pdf",
            content_type="application/pdf",
            size_bytes=len(PDF),
            page_count=1,
            sha256="1" * 64,
            storage_key=storage.store(PDF),
            uploaded_by_id=world.coordinator.id,
        )
        db.session.add(draft_only)
        db.session.commit()
        draft_id = draft_only.id

    assert as_person(app, world.juror).get(f"/attachments/{draft_id}").status_code == 404
    assert as_person(app, world.coordinator).get(f"/attachments/{draft_id}").status_code == 200
    assert as_person(app, world.juror).get(f"/attachments/{world.attachment_id}").status_code == 200


# --- drafts -------------------------------------------------------------------------------------


def test_autosave_answers_json_with_the_new_revision_and_keeps_what_was_typed(app, world):
    browser = as_person(app, world.juror)

    first = post_review(
        browser,
        world,
        world.juror,
        world.form("4.5", "", base_revision="0", comment_for_applicant="Strong st"),
        as_json=True,
    )
    second = post_review(
        browser,
        world,
        world.juror,
        world.form("4.5", "3", base_revision="1", comment_for_applicant="Strong strategy."),
        as_json=True,
    )

    assert first.status_code == second.status_code == 200
    assert first.get_json()["revision"] == 1
    assert second.get_json()["revision"] == 2
    assert second.get_json()["problems"] == {}
    assert second.get_json()["status"] == "draft"
    with in_app(app):
        review = review_of(world, world.juror)
        assert review is not None
        assert review.state == ReviewState.DRAFT
        assert review.scores == world.scores("4.5", "3")
        assert review.comment_for_applicant == "Strong strategy."
    page = text(browser.get(world.review_url(world.juror)))
    assert '<option value="4.5" selected>' in page
    assert "Strong strategy." in page


def test_a_save_based_on_an_old_revision_is_refused_with_409(app, world):
    browser = as_person(app, world.juror)
    assert (
        post_review(
            browser, world, world.juror, world.form("4", base_revision="0"), as_json=True
        ).status_code
        == 200
    )

    stale = post_review(
        browser, world, world.juror, world.form("1", base_revision="0"), as_json=True
    )

    assert stale.status_code == 409
    assert stale.get_json()["conflict"] is True
    with in_app(app):
        review = review_of(world, world.juror)
        assert review is not None and review.scores == world.scores("4")


def test_a_stale_save_without_javascript_shows_what_was_typed(app, world):
    browser = as_person(app, world.juror)
    post_review(browser, world, world.juror, world.form("4", base_revision="0"), as_json=True)

    response = post_review(
        browser,
        world,
        world.juror,
        world.form("2", base_revision="0", comment_for_applicant="Typed in the other tab"),
    )

    assert response.status_code == 409
    page = text(response)
    assert "saved meanwhile" in page
    assert "Typed in the other tab" in page


def test_a_review_posted_after_the_session_ended_is_shown_again_after_login(app, world):
    browser = as_person(app, world.juror)
    url = world.review_url(world.juror)
    csrf = csrf_from(browser.get(url).get_data(as_text=True))
    with in_app(app):
        db.session.execute(
            sa.update(UserSession).values(last_seen_at=utcnow() - dt.timedelta(minutes=31))
        )
        db.session.commit()
    typed = "Typed while the session quietly ended."

    response = browser.client.post(
        url,
        data={
            **world.form("3.5", base_revision="0", comment_for_applicant=typed),
            "csrf_token": csrf,
        },
        headers={"Referer": f"http://localhost{url}"},
    )
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    browser.submit("/login", {"email": world.juror.email, "password": PASSWORD, "next": url})
    page = text(browser.get(url))

    assert "Your session had ended before your last save." in page
    assert typed in page
    assert '<option value="3.5" selected>' in page
    with in_app(app):
        assert review_of(world, world.juror) is None, "kept, not saved behind the juror's back"
    assert typed not in text(browser.get(url))  # shown once


def test_the_operation_refuses_a_save_based_on_an_old_revision(ctx, world):
    assignment, juror = load(ctx, world, world.juror)
    kwargs = {
        "actor": juror,
        "comment_for_applicant": "",
        "comment_for_jury": "",
        "confidence": None,
        "now": utcnow(),
    }
    ops.save_review_draft(assignment, scores=world.scores("4"), base_revision=0, **kwargs)

    with pytest.raises(StaleState):
        ops.save_review_draft(assignment, scores=world.scores("1"), base_revision=0, **kwargs)


def test_a_draft_keeps_numbers_and_reports_what_is_not_a_number(ctx, world):
    assignment, juror = load(ctx, world, world.juror)
    first, second, third = (str(c) for c in world.criteria)

    saved = ops.save_review_draft(
        assignment,
        actor=juror,
        scores={first: "abc", second: "4,3", third: "2"},
        comment_for_applicant="",
        comment_for_jury="",
        confidence="9",
        base_revision=0,
        now=utcnow(),
    )

    assert saved.revision == 1
    assert saved.review is not None
    assert saved.review.scores == {second: "4.3", third: "2"}
    assert saved.review.confidence is None
    assert set(saved.problems) == {f"score-{first}", f"score-{second}", "confidence"}
    assert "“abc” is not a number" in saved.problems[f"score-{first}"][0]
    assert saved.problems[f"score-{second}"] == ["Impact: use steps of 0.5 between 0 and 5."]


def test_saving_without_changes_keeps_the_revision_and_writes_no_event(ctx, world):
    assignment, juror = load(ctx, world, world.juror)
    kwargs = {
        "actor": juror,
        "scores": world.scores("4"),
        "comment_for_applicant": "Same text",
        "comment_for_jury": "",
        "confidence": "3",
        "now": utcnow(),
    }
    ops.save_review_draft(assignment, base_revision=0, **kwargs)
    events = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent))

    again = ops.save_review_draft(assignment, base_revision=1, **kwargs)

    assert again.revision == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) == events


def test_the_audit_trail_has_comment_lengths_and_digests_not_the_text(ctx, world):
    assignment, juror = load(ctx, world, world.juror)
    ops.save_review_draft(
        assignment,
        actor=juror,
        scores=world.scores("4", "4", "4"),
        comment_for_applicant=GOOD_COMMENT,
        comment_for_jury=SECRET_JURY_NOTE,
        confidence="4",
        base_revision=0,
        now=utcnow(),
    )
    ops.submit_review(assignment, actor=juror, now=utcnow())

    events = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action.like("review.%")).order_by(AuditEvent.seq)
    ).all()

    assert [e.action for e in events] == ["review.draft_saved", "review.submitted"]
    dumped = repr([(e.before, e.after) for e in events])
    assert GOOD_COMMENT not in dumped and SECRET_JURY_NOTE not in dumped
    assert events[1].after["comment_for_applicant"]["chars"] == len(GOOD_COMMENT)
    assert events[1].after["weighted_total"] == "4"


@pytest.mark.parametrize("case", list(REFUSALS))
def test_submitting_an_incomplete_review_is_refused_with_the_message_at_the_field(app, world, case):
    scores, comment, confidence, where, message = REFUSALS[case]
    field = f"score-{world.criteria[where]}" if isinstance(where, int) else where
    browser = as_person(app, world.juror)
    data = world.form(*scores, base_revision="0", comment_for_applicant=comment, action="submit")
    if confidence:
        data["confidence"] = confidence

    response = post_review(browser, world, world.juror, data)

    assert response.status_code == 422
    page = text(response)
    assert field_error(page, field) == message
    with in_app(app):
        review = review_of(world, world.juror)
        # Refused, but the draft is kept.
        assert review is not None and review.state == ReviewState.DRAFT
        assert review.comment_for_applicant == comment


def test_submit_refusal_names_every_problem_at_once(ctx, world):
    assignment, juror = load(ctx, world, world.juror)
    ops.save_review_draft(
        assignment,
        actor=juror,
        scores=world.scores("4.3"),
        comment_for_applicant="Short",
        comment_for_jury="",
        confidence=None,
        base_revision=0,
        now=utcnow(),
    )

    with pytest.raises(DomainError) as refused:
        ops.submit_review(assignment, actor=juror, now=utcnow())

    first, second, third = world.criteria
    assert set(refused.value.errors) == {
        f"score-{first}",
        f"score-{second}",
        f"score-{third}",
        "comment_for_applicant",
        "confidence",
    }


def test_a_complete_review_is_submitted(app, world):
    browser = as_person(app, world.juror)

    response = post_review(
        browser,
        world,
        world.juror,
        world.form(
            "4.5",
            "3",
            "5",
            base_revision="0",
            comment_for_applicant=GOOD_COMMENT,
            comment_for_jury=SECRET_JURY_NOTE,
            confidence="4",
            action="submit",
        ),
    )

    assert response.status_code == 303
    page = text(browser.get(response.headers["Location"]))
    assert "Your review is submitted. You can change it until" in page
    assert '<span id="review-state" class="badge badge-review-submitted">Submitted</span>' in page
    assert "4.15" in page  # 0.5 × 4.5 + 0.3 × 3 + 0.2 × 5
    with in_app(app):
        review = review_of(world, world.juror)
        assert review is not None
        assert review.state == ReviewState.SUBMITTED and review.submitted_at is not None
        assert review.confidence == 4
        assert review.comment_for_jury == SECRET_JURY_NOTE


def test_the_review_can_be_changed_and_resubmitted_until_the_due_date_then_not(ctx, world):
    assignment, juror = load(ctx, world, world.juror)
    stage = db.session.get(Stage, world.stage_id)
    due = stage.reviews_due_at
    before_due = due - dt.timedelta(days=1)
    fields = {
        "comment_for_applicant": GOOD_COMMENT,
        "comment_for_jury": "",
        "confidence": "4",
    }
    ops.save_review_draft(
        assignment,
        actor=juror,
        scores=world.scores("4", "4", "4"),
        base_revision=0,
        now=before_due,
        **fields,
    )
    ops.submit_review(assignment, actor=juror, now=before_due)

    changed = ops.save_review_draft(
        assignment,
        actor=juror,
        scores=world.scores("2"),
        base_revision=1,
        now=before_due + dt.timedelta(hours=1),
        **fields,
    )
    assert changed.review is not None and changed.review.state == ReviewState.DRAFT
    assert queries.review_status(changed.review) == "changed"
    resubmitted = ops.submit_review(assignment, actor=juror, now=before_due + dt.timedelta(hours=2))
    assert resubmitted.state == ReviewState.SUBMITTED
    assert resubmitted.scores == world.scores("2", "4", "4")
    assert resubmitted.submitted_at == before_due + dt.timedelta(hours=2)

    after_due = due + dt.timedelta(minutes=1)
    with pytest.raises(PermissionDenied, match="review phase closed"):
        ops.save_review_draft(
            assignment,
            actor=juror,
            scores=world.scores("5"),
            base_revision=2,
            now=after_due,
            **fields,
        )
    with pytest.raises(PermissionDenied, match="review phase closed"):
        ops.submit_review(assignment, actor=juror, now=after_due)
    db.session.rollback()
    review = review_of(world, world.juror)
    assert review is not None and review.scores == world.scores("2", "4", "4")


def test_after_the_due_date_the_page_is_read_only_and_posts_are_refused(app, world):
    with in_app(app):
        stage = db.session.get(Stage, world.stage_id)
        stage.reviews_due_at = utcnow() - dt.timedelta(hours=1)
        db.session.commit()
    browser = as_person(app, world.juror)

    page = text(browser.get(world.review_url(world.juror)))
    html_post = post_review(browser, world, world.juror, world.form("4", base_revision="0"))
    json_post = post_review(
        browser, world, world.juror, world.form("4", base_revision="0"), as_json=True
    )

    assert "The review phase closed on" in page
    assert "<fieldset disabled>" in page
    assert "Submit the review" not in page
    assert html_post.status_code == json_post.status_code == 403
    assert "review phase closed" in json_post.get_json()["error"]
    with in_app(app):
        assert review_of(world, world.juror) is None


def test_a_stage_without_a_due_date_stays_open(ctx, world):
    stage = db.session.get(Stage, world.stage_id)
    stage.reviews_due_at = None
    assignment, juror = load(ctx, world, world.juror)

    saved = ops.save_review_draft(
        assignment,
        actor=juror,
        scores=world.scores("4"),
        comment_for_applicant="",
        comment_for_jury="",
        confidence=None,
        base_revision=0,
        now=utcnow() + dt.timedelta(days=3650),
    )

    assert saved.revision == 1


def test_other_reviews_stay_hidden_until_the_juror_has_submitted_their_own(app, world):
    with in_app(app):
        submit_for(world, world.second_juror, note="Ben's confidential view")
        db.session.commit()
    browser = as_person(app, world.juror)

    before = text(browser.get(world.review_url(world.juror)))
    post_review(
        browser,
        world,
        world.juror,
        world.form(
            "4",
            "4",
            "4",
            base_revision="0",
            comment_for_applicant=GOOD_COMMENT,
            confidence="3",
            action="submit",
        ),
    )
    after = text(browser.get(world.review_url(world.juror)))

    assert "Ben's confidential view" not in before
    assert "The other reviews are shown once you have submitted your own." in before
    assert "Ben's confidential view" in after
    assert "Reviewer 1" in after
    assert "Ben Juror" not in after  # reviewers are numbered, not named


def test_other_reviews_are_visible_at_once_when_the_call_does_not_hide_them(app, world):
    with in_app(app):
        call = db.session.get(Call, world.call_id)
        call.reviews_hidden_until_own = False
        submit_for(world, world.second_juror, note="Ben's confidential view")
        db.session.commit()

    page = text(as_person(app, world.juror).get(world.review_url(world.juror)))

    assert "Ben's confidential view" in page


def test_drafts_of_others_are_never_shown(app, world):
    with in_app(app):
        call = db.session.get(Call, world.call_id)
        call.reviews_hidden_until_own = False
        assignment = db.session.get(Assignment, world.assignments[world.second_juror.email])
        make_review(assignment, state=ReviewState.DRAFT, jury_note="Ben's unfinished thoughts")
        db.session.commit()

    page = text(as_person(app, world.juror).get(world.review_url(world.juror)))

    assert "Ben's unfinished thoughts" not in page
    assert "No other juror has submitted a review yet." in page


def test_a_conflicted_juror_is_never_shown_other_reviews(ctx, world):
    call = db.session.get(Call, world.call_id)
    call.reviews_hidden_until_own = False
    submit_for(world, world.second_juror, note="Ben's confidential view")
    assignment, juror = load(ctx, world, world.conflicted_juror)
    submit_for(world, world.conflicted_juror, note="Dan's own")
    proposal = db.session.get(Proposal, world.proposal_id)
    stage = db.session.get(Stage, world.stage_id)

    shown = queries.list_other_reviews(
        assignment, proposal, stage, viewer=juror, own=review_of(world, world.conflicted_juror)
    )

    assert shown == []
