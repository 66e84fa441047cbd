"""What jurors do with reviews, and the reminders the system sends about them.

Every operation is one transaction (competition.db.operation): permission, validation (one
DomainError with every message), change, audit event, outbox rows. Audit events carry the
lengths and digests of comments, never their text.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

import sqlalchemy as sa

from competition.accounts.models import User, UserStatus
from competition.assignment.models import Assignment, Conflict, JuryMembership, MembershipState
from competition.audit.operations import record_event
from competition.core import scoring
from competition.db import operation
from competition.errors import DomainError, StaleState
from competition.extensions import db
from competition.i18n import gettext as _
from competition.i18n import lazy_gettext as _l
from competition.i18n import number, say
from competition.notifications.operations import notify
from competition.permissions import require
from competition.programmes.models import Stage
from competition.proposals.models import Proposal, ProposalState
from competition.reviews import permissions, queries
from competition.reviews.models import ReminderSent, Review, ReviewState
from competition.workflow import apply_step

log = logging.getLogger(__name__)

CONFIDENCE_LEVELS = range(1, 6)
# The applicant reads the comment in a letter; longer than this is an essay.
MAX_COMMENT_CHARS = 20_000


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _text_facts(text: str) -> dict[str, object]:
    return {"chars": len(text), "digest": _digest(text)}


def _review_facts(review: Review | None) -> dict[str, object]:
    if review is None:
        return {}
    return {
        "state": review.state,
        "revision": review.revision,
        "scores": dict(review.scores or {}),
        "confidence": review.confidence,
        "comment_for_applicant": _text_facts(review.comment_for_applicant),
        "comment_for_jury": _text_facts(review.comment_for_jury),
    }


def _normalise(text: str) -> str:
    # Browsers send CRLF; counting and comparing must not depend on the platform.
    return text.replace("\r\n", "\n")


def _context(assignment: Assignment) -> tuple[Proposal, Stage]:
    proposal = queries.find_proposal(assignment.proposal_id)
    stage = queries.find_stage(assignment.stage_id)
    assert proposal is not None and stage is not None
    return proposal, stage


def _lock(assignment: Assignment) -> Review | None:
    """Serialise saves of one review: lock the assignment row, read the review afresh."""
    db.session.execute(
        sa.select(Assignment.id).where(Assignment.id == assignment.id).with_for_update()
    )
    db.session.refresh(assignment)
    review = queries.find_review(assignment)
    if review is not None:
        db.session.refresh(review)
    return review


def score_field(criterion_key: str) -> str:
    """The form field (and error key) of a criterion's score."""
    return f"score-{criterion_key}"


# --- drafts -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DraftSaved:
    # None while nothing at all has been typed.
    review: Review | None
    revision: int
    # What was typed but could not be kept, or is kept but will not pass on submitting; keyed
    # by form field like DomainError.
    problems: Mapping[str, list[str]] = field(default_factory=dict)


def _parse_confidence(raw: str | int | None) -> tuple[int | None, bool]:
    """(value, understood)."""
    if raw is None:
        return None, True
    text = str(raw).strip()
    if not text:
        return None, True
    if text in {str(level) for level in CONFIDENCE_LEVELS}:
        return int(text), True
    return None, False


@operation
def save_review_draft(
    assignment: Assignment,
    *,
    actor: User,
    scores: Mapping[str, str],
    comment_for_applicant: str,
    comment_for_jury: str,
    confidence: str | int | None,
    base_revision: int,
    now: dt.datetime,
) -> DraftSaved:
    """Save what the juror has typed so far; returns the new revision and what to fix.

    ``scores`` maps criterion ids (as text) to what was chosen or typed; criteria left out keep
    their saved score, an empty value clears it. A score that is not a number, or a confidence
    outside 1 to 5, is not saved and is reported; everything else is saved as typed (drafts are
    never lost), off-grid scores included, which submitting then refuses.
    ``base_revision`` is the revision the page started from: when the review was saved since
    (another tab), nothing is saved and StaleState is raised.
    A change to a submitted review makes it a draft again: it counts once submitted again.
    Side effects: the review row; audit ``review.draft_saved`` (scores, comment lengths and
    digests, never the text).
    """
    proposal, stage = _context(assignment)
    review = _lock(assignment)
    require(permissions.can_write_review(actor, assignment, proposal, stage, now=now))
    current = review.revision if review is not None else 0
    if base_revision != current:
        raise StaleState(
            _(
                "Your review was saved meanwhile, in another window or tab. Reload the page to "
                "see the saved version; copy anything you typed here first."
            )
        )
    problems: dict[str, list[str]] = {}
    new_scores = dict(review.scores or {}) if review is not None else {}
    for criterion in queries.scoring_criteria(stage):
        if criterion.key not in scores:
            continue
        raw = (scores[criterion.key] or "").strip()
        name = score_field(criterion.key)
        if not raw:
            new_scores.pop(criterion.key, None)
            continue
        value = scoring.parse_score(raw)
        if value is None:
            problems[name] = [
                _(
                    "%(criterion)s: “%(value)s” is not a number and was not saved; %(scale)s.",
                    criterion=criterion.name,
                    value=raw[: scoring.MAX_SCORE_CHARS],
                    scale=say(scoring.scale_words(criterion)),
                )
            ]
            continue
        new_scores[criterion.key] = scoring.plain(value)
        problem = scoring.check_score(value, criterion)
        if problem is not None:
            problems[name] = [say(problem)]
    new_confidence, understood = _parse_confidence(confidence)
    if not understood:
        problems["confidence"] = [_("Choose your confidence from 1 (low) to 5 (high).")]
        new_confidence = review.confidence if review is not None else None
    applicant_text = _normalise(comment_for_applicant)
    jury_text = _normalise(comment_for_jury)

    if review is None and not (new_scores or new_confidence or applicant_text or jury_text):
        return DraftSaved(None, 0, problems)
    if review is not None and (
        new_scores == (review.scores or {})
        and new_confidence == review.confidence
        and applicant_text == review.comment_for_applicant
        and jury_text == review.comment_for_jury
    ):
        return DraftSaved(review, review.revision, problems)

    before = _review_facts(review)
    if review is None:
        review = Review(assignment_id=assignment.id, revision=0, state=ReviewState.DRAFT)
        db.session.add(review)
    review.scores = new_scores
    review.confidence = new_confidence
    review.comment_for_applicant = applicant_text
    review.comment_for_jury = jury_text
    review.revision = current + 1
    review.updated_at = now
    db.session.flush()
    # A submitted review that changes is a draft again until it is submitted anew.
    apply_step(review, "edit", actor=actor, now=now)
    record_event(
        actor=actor,
        action="review.draft_saved",
        object_type="review",
        object_id=review.id,
        before=before or None,
        after={**_review_facts(review), "assignment_id": assignment.id},
        now=now,
    )
    return DraftSaved(review, review.revision, problems)


# --- submitting ---------------------------------------------------------------------------------


def review_problems(review: Review | None, stage: Stage) -> dict[str, list[str]]:
    """Everything that keeps a review from being submitted, keyed by form field."""
    errors: dict[str, list[str]] = {}
    criteria = queries.scoring_criteria(stage)
    if not criteria:
        errors[""] = [_("This stage has no criteria yet; the programme office sets them up.")]
    scores = (review.scores or {}) if review is not None else {}
    for key, message in scoring.validate_scores(scores, criteria).items():
        errors[score_field(key)] = [say(message)]
    comment = (review.comment_for_applicant if review is not None else "").strip()
    minimum = stage.min_comment_chars
    if len(comment) < minimum:
        errors["comment_for_applicant"] = [
            _(
                "Write at least %(minimum)s characters for the applicant; there are %(count)s "
                "so far.",
                minimum=number(minimum, 0),
                count=number(len(comment), 0),
            )
        ]
    elif len(comment) > MAX_COMMENT_CHARS:
        errors["comment_for_applicant"] = [
            _(
                "Keep the comment for the applicant to %(limit)s characters; there are %(count)s.",
                limit=number(MAX_COMMENT_CHARS, 0),
                count=number(len(comment), 0),
            )
        ]
    if review is not None and len(review.comment_for_jury) > MAX_COMMENT_CHARS:
        errors["comment_for_jury"] = [
            _(
                "Keep the comment for the jury to %(limit)s characters; there are %(count)s.",
                limit=number(MAX_COMMENT_CHARS, 0),
                count=number(len(review.comment_for_jury), 0),
            )
        ]
    if review is None or review.confidence is None:
        errors["confidence"] = [_("Say how confident you are in this review, from 1 to 5.")]
    return errors


@operation
def submit_review(assignment: Assignment, *, actor: User, now: dt.datetime) -> Review:
    """Submit the saved review: every criterion scored on its scale's grid, a comment for the
    applicant of the stage's minimum length, a confidence.

    Until the review due date the juror may change it and submit again; a review already
    submitted and unchanged is returned as it is.
    Side effects: the review marked submitted with the server's time; audit ``review.submitted``
    (or ``review.resubmitted``) with the scores, the weighted total and the comments' lengths
    and digests.
    """
    proposal, stage = _context(assignment)
    review = _lock(assignment)
    require(permissions.can_write_review(actor, assignment, proposal, stage, now=now))
    if review is not None and review.state == ReviewState.SUBMITTED:
        return review
    errors = review_problems(review, stage)
    if errors:
        raise DomainError(errors)
    assert review is not None
    action = "review.resubmitted" if review.submitted_at is not None else "review.submitted"
    total = scoring.weighted_total(review.scores, queries.scoring_criteria(stage))
    apply_step(
        review,
        "submit",
        actor=actor,
        now=now,
        values={"submitted_at": now},
        event=action,
        before=_review_facts(review),
        detail={
            **_review_facts(review),
            "assignment_id": assignment.id,
            "weighted_total": scoring.plain(total),
        },
    )
    log.info("review %s of assignment %s submitted", review.id, assignment.id)
    return review


@dataclass(frozen=True)
class ReviewSaved:
    review: Review | None
    revision: int
    # Keyed by form field: what could not be kept, then what keeps the review from submission.
    problems: Mapping[str, list[str]]
    submitted: bool


@operation
def save_review(
    assignment: Assignment,
    *,
    actor: User,
    submit: bool,
    scores: Mapping[str, str],
    comment_for_applicant: str,
    comment_for_jury: str,
    confidence: str | int | None,
    base_revision: int,
    now: dt.datetime,
) -> ReviewSaved:
    """What the review page's buttons do, in one transaction: save what was typed (see
    :func:`save_review_draft`) and, when ``submit``, submit it if nothing keeps it back. A
    refused submission keeps the saved draft and reports every problem at once.

    Side effects: those of :func:`save_review_draft` and, on submission, of :func:`submit_review`.
    """
    saved = save_review_draft(
        assignment,
        actor=actor,
        scores=scores,
        comment_for_applicant=comment_for_applicant,
        comment_for_jury=comment_for_jury,
        confidence=confidence,
        base_revision=base_revision,
        now=now,
    )
    if not submit:
        return ReviewSaved(saved.review, saved.revision, saved.problems, submitted=False)
    _proposal, stage = _context(assignment)
    already = saved.review is not None and saved.review.state == ReviewState.SUBMITTED
    # What could not be saved at all is said first; the typed text stays in the fields.
    merged = {key: list(messages) for key, messages in saved.problems.items()}
    if not already:
        for key, messages in review_problems(saved.review, stage).items():
            merged.setdefault(key, [])
            merged[key].extend(m for m in messages if m not in merged[key])
    if merged:
        return ReviewSaved(saved.review, saved.revision, merged, submitted=False)
    review = submit_review(assignment, actor=actor, now=now)
    return ReviewSaved(review, review.revision, {}, submitted=True)


# --- reminders ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReminderStep:
    number: int
    # Before the stage's review due date.
    before_due: dt.timedelta
    # "soon" or "last": which wording the mail uses.
    kind: str
    # For the officers' page: when it goes out (translated when shown).
    label: str


# Every step lies before the due date: the review phase ends then and the review becomes
# read-only, so a reminder after it would ask for something the juror can no longer do.
REMINDER_STEPS = (
    ReminderStep(1, dt.timedelta(days=7), "soon", _l("a week before the due date")),
    ReminderStep(2, dt.timedelta(days=2), "soon", _l("two days before")),
    ReminderStep(3, dt.timedelta(hours=12), "last", _l("twelve hours before")),
)


def due_reminder_step(
    *, due_at: dt.datetime, released_at: dt.datetime, now: dt.datetime
) -> ReminderStep | None:
    """The latest step whose time has come, while the review phase is still on. Steps that fell
    before the juror got the assignment are skipped, and only the latest is sent: a juror never
    gets two reminders at once, nor a stale one after a later one."""
    if now > due_at:
        return None
    chosen = None
    for step in REMINDER_STEPS:
        if released_at <= due_at - step.before_due <= now:
            chosen = step
    return chosen


@operation
def send_due_reminders(*, now: dt.datetime) -> int:
    """Remind jurors whose review is not submitted as the due date comes near.

    Each step (REMINDER_STEPS) goes to an assignment at most once, however often this runs and
    even when two runs overlap: the ReminderSent row is inserted first, under its unique key, in
    a savepoint; the run that loses the race skips. Returns how many reminders were queued.
    Side effects: ReminderSent rows; audit ``review.reminder_sent``; one e-mail each.
    """
    first = max(step.before_due for step in REMINDER_STEPS)
    accepted_place = (
        sa.select(JuryMembership.id)
        .where(
            JuryMembership.call_id == Stage.call_id,
            JuryMembership.user_id == Assignment.user_id,
            JuryMembership.state == MembershipState.ACCEPTED,
            JuryMembership.conflicts_declared_at.is_not(None),
        )
        .exists()
    )
    conflicted = (
        sa.select(Conflict.id)
        .where(
            Conflict.user_id == Assignment.user_id, Conflict.proposal_id == Assignment.proposal_id
        )
        .exists()
    )
    rows = db.session.execute(
        sa.select(Assignment, Stage, Proposal, User)
        .join(Stage, Stage.id == Assignment.stage_id)
        .join(Proposal, Proposal.id == Assignment.proposal_id)
        .join(User, User.id == Assignment.user_id)
        .outerjoin(Review, Review.assignment_id == Assignment.id)
        .where(
            Assignment.released_at.is_not(None),
            Assignment.declined_at.is_(None),
            Stage.reviews_due_at.is_not(None),
            Stage.reviews_due_at <= now + first,
            Stage.reviews_due_at >= now,
            sa.or_(Review.id.is_(None), Review.state != ReviewState.SUBMITTED),
            Proposal.state != ProposalState.WITHDRAWN,
            User.status == UserStatus.ACTIVE,
            accepted_place,
            ~conflicted,
        )
        .order_by(Assignment.id)
    ).all()
    if not rows:
        return 0
    sent_steps: dict[int, set[int]] = {}
    for assignment_id, step_number in db.session.execute(
        sa.select(ReminderSent.assignment_id, ReminderSent.step).where(
            ReminderSent.assignment_id.in_([row[0].id for row in rows])
        )
    ):
        sent_steps.setdefault(assignment_id, set()).add(step_number)

    count = 0
    for assignment, stage, proposal, juror in rows:
        assert stage.reviews_due_at is not None and assignment.released_at is not None
        step = due_reminder_step(
            due_at=stage.reviews_due_at, released_at=assignment.released_at, now=now
        )
        already = sent_steps.get(assignment.id, set())
        if step is None or any(number >= step.number for number in already):
            continue
        try:
            with db.session.begin_nested():
                db.session.add(
                    ReminderSent(assignment_id=assignment.id, step=step.number, sent_at=now)
                )
        except sa.exc.IntegrityError:
            continue  # another run sent this step first
        record_event(
            actor=None,
            action="review.reminder_sent",
            object_type="assignment",
            object_id=assignment.id,
            after={"step": step.number, "due_at": stage.reviews_due_at},
            now=now,
        )
        notify(
            to=juror,
            template="reviews/reminder",
            context={
                "name": juror.name,
                "kind": step.kind,
                "reference": proposal.reference,
                "acronym": proposal.acronym,
                "stage": stage.name,
                "due_at": stage.reviews_due_at.isoformat(),
                "assignment_id": assignment.id,
            },
            dedup_key=f"reviews.reminder:{assignment.id}:{step.number}",
            now=now,
        )
        count += 1
    log.info("review reminders queued: %s", count)
    return count
