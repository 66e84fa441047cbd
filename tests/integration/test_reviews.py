"""Jury reviews on PostgreSQL: the juror's dashboard, the review page (the frozen proposal and
the form), drafts saved as typed (JSON autosave, revisions, conflicts), submitting with messages
at the fields, editing until the review due date, other reviews hidden until one's own is in,
who is refused, the officers' progress view, and reminders sent once per step.

Assignments are inserted directly with the models; submitted versions are frozen with
competition.proposals.snapshot, so these tests depend on neither the submission nor the
assignment operations."""

from __future__ import annotations

import datetime as dt
import re
import threading
import time
import uuid
from dataclasses import dataclass
from decimal import Decimal

import pytest
import sqlalchemy as sa

from competition.accounts.models import Role, User, UserSession
from competition.assignment.models import (
    Assignment,
    AssignmentMethod,
    AssignmentState,
    Conflict,
    ConflictSource,
    JuryMembership,
    MembershipState,
)
from competition.audit.models import AuditEvent
from competition.db import utcnow
from competition.errors import DomainError, PermissionDenied, StaleState
from competition.extensions import db
from competition.notifications.models import Notification
from competition.programmes.models import Call, Criterion, Stage
from competition.proposals import storage
from competition.proposals.models import (
    Attachment,
    BudgetLine,
    Proposal,
    ProposalState,
    StageSubmission,
)
from competition.reviews import operations as ops
from competition.reviews import queries
from competition.reviews.models import ReminderSent, Review, ReviewState
from tests.conftest import Browser, csrf_from
from tests.factories import (
    PASSWORD,
    make_organisation,
    make_proposal,
    make_stage,
    make_topic,
    make_user,
)
from tests.helpers import (
    Person,
    as_person,
    call_run_by,
    freeze_version,
    in_app,
    officer_and_outsider,
    person,
    queries_for_page,
    text,
)

pytestmark = pytest.mark.postgres

SECTIONS = [{"key": "strategy", "title": "Cluster strategy", "max_chars": 5000}]
STRATEGY = "The cluster turns the region's lignite plants into hydrogen hubs."
MIN_COMMENT = 50
GOOD_COMMENT = "A convincing consortium with a clear plan; the budget is well argued."
SECRET_JURY_NOTE = "Between us: the coordinator overpromised last time."
PDF = b"%PDF-1.4\n% a stand-in for the consortium's CVs\n%%EOF\n"


# --- building the world -------------------------------------------------------------------------


@dataclass(frozen=True)
class World:
    call_id: int
    stage_id: int
    proposal_id: int
    other_proposal_id: int
    attachment_id: int
    criteria: tuple[int, int, int]
    officer: Person
    other_officer: Person
    coordinator: Person
    other_applicant: Person
    juror: Person
    second_juror: Person
    third_juror: Person
    conflicted_juror: Person
    unassigned_juror: Person
    declined_juror: Person
    # juror e-mail → their assignment of the proposal
    assignments: dict[str, int]

    def review_url(self, who: Person) -> str:
        return f"/reviews/assignments/{self.assignments[who.email]}"

    @property
    def progress_url(self) -> str:
        return f"/stages/{self.stage_id}/review-progress"

    def scores(self, *values: str) -> dict[str, str]:
        return {str(key): value for key, value in zip(self.criteria, values, strict=False)}

    def form(self, *values: str, **fields: str) -> dict[str, str]:
        data = {f"score-{key}": value for key, value in self.scores(*values).items()}
        data.update(fields)
        return data


def juror_on(call: Call, **overrides: object) -> User:
    """A juror who accepted the call's jury and declared conflicts."""
    juror = make_user(roles=(Role.JUROR,), **overrides)
    db.session.add(
        JuryMembership(
            call_id=call.id,
            user_id=juror.id,
            state=MembershipState.ACCEPTED,
            invited_at=utcnow() - dt.timedelta(days=30),
            responded_at=utcnow() - dt.timedelta(days=29),
            conflicts_declared_at=utcnow() - dt.timedelta(days=29),
        )
    )
    db.session.flush()
    return juror


def review_stage(call: Call, *, due_at: dt.datetime | None) -> Stage:
    now = utcnow()
    stage = make_stage(
        call,
        opens_at=now - dt.timedelta(days=60),
        closes_at=now - dt.timedelta(days=20),
        required_sections=SECTIONS,
        attachment_rules=[{"key": "cv", "title": "CVs", "required": True}],
        reviews_due_at=due_at,
        min_comment_chars=MIN_COMMENT,
    )
    for position, (name, weight, description) in enumerate(
        [
            ("Excellence", "0.5", "Is the cluster's strategy ambitious and sound?"),
            ("Impact", "0.3", "Does the region gain jobs, firms and skills?"),
            ("Implementation", "0.2", "Are partners, budget and governance fit for the plan?"),
        ],
        start=1,
    ):
        stage.criteria.append(
            Criterion(
                position=position,
                name=name,
                description=description,
                weight=Decimal(weight),
                scale_min=Decimal("0"),
                scale_max=Decimal("5"),
                scale_step=Decimal("0.5"),
            )
        )
    db.session.flush()
    return stage


def submitted_proposal(
    call: Call, stage: Stage, *, coordinator: User | None = None, with_attachment: bool = False
) -> tuple[Proposal, Attachment | None]:
    coordinator = coordinator or make_user(roles=(Role.APPLICANT,))
    proposal = make_proposal(
        call,
        coordinator=coordinator,
        organisations=(make_organisation(name=f"Hochschule {uuid.uuid4().hex[:6]}"),),
    )
    proposal.topics.append(make_topic(name="Energy systems"))
    submission = StageSubmission(
        proposal=proposal, stage=stage, sections={"strategy": STRATEGY}, updated_at=utcnow()
    )
    db.session.add(submission)
    db.session.flush()
    for member in proposal.members:
        submission.budget_lines.append(
            BudgetLine(
                member_id=member.id,
                year=1,
                public_funding=Decimal("750000.00"),
                own_contribution=Decimal("250000.00"),
            )
        )
    attachment = None
    if with_attachment:
        attachment = Attachment(
            submission_id=submission.id,
            kind="cv",
            filename="cvs.pdf",
            content_type="application/pdf",
            size_bytes=len(PDF),
            page_count=1,
            sha256="0" * 64,
            storage_key=storage.store(PDF),
            uploaded_by_id=coordinator.id,
        )
        db.session.add(attachment)
    db.session.flush()
    db.session.expire(submission, ["attachments", "budget_lines"])
    freeze_version(
        proposal, submission, submitted_at=stage.closes_at - dt.timedelta(days=1), by=coordinator
    )
    proposal.state = ProposalState.SUBMITTED
    db.session.flush()
    return proposal, attachment


def assign(
    stage: Stage,
    proposal: Proposal,
    juror: User,
    *,
    released_at: dt.datetime | None = None,
    declined: bool = False,
) -> Assignment:
    now = utcnow()
    assignment = Assignment(
        stage_id=stage.id,
        proposal_id=proposal.id,
        user_id=juror.id,
        method=AssignmentMethod.MANUAL,
        created_at=now - dt.timedelta(days=30),
        state=AssignmentState.DECLINED if declined else AssignmentState.RELEASED,
        released_at=released_at or now - dt.timedelta(days=20),
        declined_at=now - dt.timedelta(days=19) if declined else None,
        decline_reason="Travelling." if declined else "",
    )
    db.session.add(assignment)
    db.session.flush()
    return assignment


def put_review(
    assignment: Assignment,
    *,
    state: ReviewState,
    scores: dict[str, str] | None = None,
    comment: str = GOOD_COMMENT,
    jury_note: str = "",
    confidence: int | None = 4,
) -> Review:
    now = utcnow()
    review = Review(
        assignment_id=assignment.id,
        scores=scores or {},
        comment_for_applicant=comment,
        comment_for_jury=jury_note,
        confidence=confidence,
        state=state,
        revision=1,
        updated_at=now,
        submitted_at=now if state == ReviewState.SUBMITTED else None,
    )
    db.session.add(review)
    db.session.flush()
    return review


@pytest.fixture
def world(app, tmp_path) -> World:  # type: ignore[no-untyped-def]
    app.config["UPLOAD_FOLDER"] = str(tmp_path / "uploads")
    with app.app_context():
        officer, other_officer = officer_and_outsider()
        call = call_run_by(officer, reviews_hidden_until_own=True)
        stage = review_stage(call, due_at=utcnow() + dt.timedelta(days=10))
        coordinator = make_user(roles=(Role.APPLICANT,))
        proposal, attachment = submitted_proposal(
            call, stage, coordinator=coordinator, with_attachment=True
        )
        other_applicant = make_user(roles=(Role.APPLICANT,))
        other_proposal, _ = submitted_proposal(call, stage, coordinator=other_applicant)
        jurors = {
            name: juror_on(call, name=title)
            for name, title in [
                ("juror", "Ada Juror"),
                ("second_juror", "Ben Juror"),
                ("third_juror", "Cleo Juror"),
                ("conflicted_juror", "Dan Conflicted"),
                ("unassigned_juror", "Eve Unassigned"),
                ("declined_juror", "Fay Declined"),
            ]
        }
        assignments = {}
        for name in ("juror", "second_juror", "third_juror", "conflicted_juror"):
            assignments[jurors[name].email] = assign(stage, proposal, jurors[name]).id
        assignments[jurors["declined_juror"].email] = assign(
            stage, proposal, jurors["declined_juror"], declined=True
        ).id
        # The conflict came to light after the assignment: it wins.
        db.session.add(
            Conflict(
                user_id=jurors["conflicted_juror"].id,
                proposal_id=proposal.id,
                source=ConflictSource.DECLARED,
                reason="Former employer.",
                created_at=utcnow(),
            )
        )
        assert attachment is not None
        criteria = tuple(c.id for c in stage.criteria)
        db.session.commit()
        return World(
            call_id=call.id,
            stage_id=stage.id,
            proposal_id=proposal.id,
            other_proposal_id=other_proposal.id,
            attachment_id=attachment.id,
            criteria=criteria,  # type: ignore[arg-type]
            officer=person(officer),
            other_officer=person(other_officer),
            coordinator=person(coordinator),
            other_applicant=person(other_applicant),
            assignments=assignments,
            **{name: person(user) for name, user in jurors.items()},
        )


def post_review(
    browser: Browser, world: World, who: Person, data: dict[str, str], *, as_json: bool = False
):  # type: ignore[no-untyped-def]
    token = csrf_from(browser.get("/").get_data(as_text=True))
    headers = {"Accept": "application/json"} if as_json else {}
    return browser.client.post(
        world.review_url(who), data={**data, "csrf_token": token}, headers=headers
    )


def load(app, world: World, who: Person) -> tuple[Assignment, User]:  # type: ignore[no-untyped-def]
    assignment = db.session.get(Assignment, world.assignments[who.email])
    user = db.session.get(User, who.id)
    assert assignment is not None and user is not None
    return assignment, user


def review_of(world: World, who: Person) -> Review | None:
    return db.session.scalar(
        sa.select(Review).where(Review.assignment_id == world.assignments[who.email])
    )


def field_error(page: str, field: str) -> str:
    match = re.search(rf'<p class="error" id="{re.escape(field)}-error">(.*?)</p>', page, re.S)
    return match.group(1) if match else ""


# --- the juror's dashboard ----------------------------------------------------------------------


def test_dashboard_lists_the_jurors_assignments_with_due_date_and_progress(app, world):
    page = text(as_person(app, world.juror).get("/reviews"))

    assert f'href="/reviews/assignments/{world.assignments[world.juror.email]}"' in page
    assert "0 of 1 review submitted." in page
    assert "Not started" in page
    assert "Time left: 9 days" in page


def test_dashboard_counts_submitted_reviews(app, world):
    with in_app(app):
        assignment = db.session.get(Assignment, world.assignments[world.juror.email])
        put_review(assignment, state=ReviewState.SUBMITTED, scores=world.scores("4", "4", "4"))
        db.session.commit()

    page = text(as_person(app, world.juror).get("/reviews"))

    assert "1 of 1 review submitted." in page
    assert "Submitted" in page


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


# --- submitting ---------------------------------------------------------------------------------

REFUSALS = {
    "missing score": (
        ("4", "", "4"),
        GOOD_COMMENT,
        "4",
        1,
        "Impact: choose a score (use steps of 0.5 between 0 and 5).",
    ),
    "off-grid score": (
        ("4.3", "4", "4"),
        GOOD_COMMENT,
        "4",
        0,
        "Excellence: use steps of 0.5 between 0 and 5.",
    ),
    "out of scale": (
        ("4", "4", "7"),
        GOOD_COMMENT,
        "4",
        2,
        "Implementation: 7 is outside the scale; use steps of 0.5 between 0 and 5.",
    ),
    "short comment": (
        ("4", "4", "4"),
        "Too short.",
        "4",
        "comment_for_applicant",
        f"Write at least {MIN_COMMENT} characters for the applicant; there are 10 so far.",
    ),
    "no confidence": (
        ("4", "4", "4"),
        GOOD_COMMENT,
        "",
        "confidence",
        "Say how confident you are in this review, from 1 to 5.",
    ),
}


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


# --- other reviews ------------------------------------------------------------------------------


def submit_for(world: World, who: Person, *, note: str) -> None:
    assignment = db.session.get(Assignment, world.assignments[who.email])
    put_review(
        assignment,
        state=ReviewState.SUBMITTED,
        scores=world.scores("1", "1", "1"),
        jury_note=note,
    )


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
        put_review(assignment, state=ReviewState.DRAFT, jury_note="Ben's unfinished thoughts")
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


# --- who is refused -----------------------------------------------------------------------------

REFUSED = {
    "conflicted_juror": 404,
    "unassigned_juror": 404,
    "declined_juror": 404,
    "other_applicant": (403, 404),
    "coordinator": (403, 404),
}


def requests_for(world: World):  # type: ignore[no-untyped-def]
    target = world.juror  # someone else's assignment for the unassigned and the applicants
    return {
        "review page": lambda browser, who: browser.get(
            world.review_url(who if who.email in world.assignments else target)
        ),
        "review post": lambda browser, who: browser.client.post(
            world.review_url(who if who.email in world.assignments else target),
            data={
                **world.form("4", base_revision="0"),
                "csrf_token": csrf_from(browser.get("/").get_data(as_text=True)),
            },
        ),
        "autosave post": lambda browser, who: browser.client.post(
            world.review_url(who if who.email in world.assignments else target),
            data={
                **world.form("4", base_revision="0"),
                "csrf_token": csrf_from(browser.get("/").get_data(as_text=True)),
            },
            headers={"Accept": "application/json"},
        ),
        "attachment download": lambda browser, who: browser.get(
            f"/attachments/{world.attachment_id}"
        ),
    }


REQUESTS = ["review page", "review post", "autosave post", "attachment download"]


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


# --- the officers' progress view ----------------------------------------------------------------


@pytest.fixture
def progress_world(app, world) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Proposal P: Ada submitted, Ben drafted, Cleo nothing (Dan conflicted and Fay declined
    do not count). Proposal Q: Ada drafted, Ben submitted. A third proposal, R, has no jurors."""
    with app.app_context():
        call = db.session.get(Call, world.call_id)
        stage = db.session.get(Stage, world.stage_id)
        other = db.session.get(Proposal, world.other_proposal_id)
        ada = db.session.get(User, world.juror.id)
        ben = db.session.get(User, world.second_juror.id)
        full = world.scores("4", "4", "4")
        put_review(
            db.session.get(Assignment, world.assignments[world.juror.email]),
            state=ReviewState.SUBMITTED,
            scores=full,
        )
        put_review(
            db.session.get(Assignment, world.assignments[world.second_juror.email]),
            state=ReviewState.DRAFT,
        )
        # Fay's review does not count: she declined the assignment.
        put_review(
            db.session.get(Assignment, world.assignments[world.declined_juror.email]),
            state=ReviewState.SUBMITTED,
            scores=full,
        )
        put_review(assign(stage, other, ada), state=ReviewState.DRAFT)
        put_review(assign(stage, other, ben), state=ReviewState.SUBMITTED, scores=full)
        # An assignment not released yet is not counted either.
        unreleased = assign(stage, other, db.session.get(User, world.third_juror.id))
        unreleased.released_at = None
        unreleased.state = AssignmentState.DRAFT
        lonely, _ = submitted_proposal(call, stage)
        db.session.commit()
        return {"lonely": lonely.id}


def row_counts(page: str, row_id: str) -> dict[str, int]:
    row = re.search(rf'<tr id="{row_id}">(.*?)</tr>', page, re.S)
    assert row, f"no row {row_id}"
    cells = re.findall(r'<td class="num (\w+)">(\d+)</td>', row.group(1))
    return {name: int(value) for name, value in cells}


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
            put_review(assign(stage, proposal, juror), state=ReviewState.DRAFT)
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


# --- reminders ----------------------------------------------------------------------------------

DAY = dt.timedelta(days=1)


def reminder_world(ctx, world) -> dt.datetime:  # type: ignore[no-untyped-def]
    """The juror's and the second juror's assignments were released 30 days before the due
    date; returns the due date."""
    stage = db.session.get(Stage, world.stage_id)
    due = stage.reviews_due_at
    for who in (world.juror, world.second_juror, world.third_juror):
        assignment = db.session.get(Assignment, world.assignments[who.email])
        assignment.released_at = due - 30 * DAY
    db.session.commit()
    return due


def sent_steps(world: World) -> dict[str, list[int]]:
    rows = db.session.execute(
        sa.select(Assignment.user_id, ReminderSent.step)
        .join(Assignment, Assignment.id == ReminderSent.assignment_id)
        .order_by(ReminderSent.step)
    ).all()
    names = {
        world.juror.id: "juror",
        world.second_juror.id: "second_juror",
        world.third_juror.id: "third_juror",
    }
    steps: dict[str, list[int]] = {}
    for user_id, step in rows:
        steps.setdefault(names.get(user_id, str(user_id)), []).append(step)
    return steps


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
    put_review(assignment, state=ReviewState.SUBMITTED, scores=world.scores("4", "4", "4"))
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
    review = put_review(assignment, state=ReviewState.DRAFT)
    review.submitted_at = due - 3 * DAY  # submitted once, changed since
    db.session.commit()

    ops.send_due_reminders(now=due - dt.timedelta(hours=1))

    assert sent_steps(world)["second_juror"] == [3]


HOUR = dt.timedelta(hours=1)


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
