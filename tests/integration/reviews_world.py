"""What the review tests share: a stage with released assignments, jurors and reviews, and a
larger world for the officers' progress view."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import dataclass
from decimal import Decimal

import pytest
import sqlalchemy as sa

from competition.accounts.models import Role, User
from competition.assignment.models import (
    Assignment,
    AssignmentState,
    Conflict,
    ConflictSource,
    JuryMembership,
    MembershipState,
)
from competition.db import utcnow
from competition.extensions import db
from competition.programmes.models import Call, Criterion, Stage
from competition.proposals import storage
from competition.proposals.models import (
    Attachment,
    BudgetLine,
    Proposal,
    ProposalState,
    StageSubmission,
)
from competition.reviews.models import ReminderSent, Review, ReviewState
from tests.conftest import Browser, csrf_from
from tests.factories import (
    REVIEW_COMMENT,
    make_assignment,
    make_organisation,
    make_proposal,
    make_review,
    make_stage,
    make_topic,
    make_user,
)
from tests.helpers import (
    Person,
    call_run_by,
    freeze_version,
    officer_and_outsider,
    person,
)

SECTIONS = [{"key": "strategy", "title": "Cluster strategy", "max_chars": 5000}]


STRATEGY = "The cluster turns the region's lignite plants into hydrogen hubs."


MIN_COMMENT = 50


GOOD_COMMENT = REVIEW_COMMENT


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
            assignments[jurors[name].email] = make_assignment(stage, proposal, jurors[name]).id
        assignments[jurors["declined_juror"].email] = make_assignment(
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


# --- other reviews ------------------------------------------------------------------------------


def submit_for(world: World, who: Person, *, note: str) -> None:
    assignment = db.session.get(Assignment, world.assignments[who.email])
    make_review(
        assignment,
        state=ReviewState.SUBMITTED,
        scores=world.scores("1", "1", "1"),
        jury_note=note,
    )


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
        make_review(
            db.session.get(Assignment, world.assignments[world.juror.email]),
            state=ReviewState.SUBMITTED,
            scores=full,
        )
        make_review(
            db.session.get(Assignment, world.assignments[world.second_juror.email]),
            state=ReviewState.DRAFT,
        )
        # Fay's review does not count: she declined the assignment.
        make_review(
            db.session.get(Assignment, world.assignments[world.declined_juror.email]),
            state=ReviewState.SUBMITTED,
            scores=full,
        )
        make_review(make_assignment(stage, other, ada), state=ReviewState.DRAFT)
        make_review(make_assignment(stage, other, ben), state=ReviewState.SUBMITTED, scores=full)
        # An assignment not released yet is not counted either.
        unreleased = make_assignment(stage, other, db.session.get(User, world.third_juror.id))
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


HOUR = dt.timedelta(hours=1)
