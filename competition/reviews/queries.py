"""Loading what the review pages show: a juror's assignments, one review with the proposal's
frozen content, the other reviews of a proposal, and a stage's review progress for officers.

Counts are computed by the database (GROUP BY with conditional counts); every page costs the
same few queries however many proposals and jurors there are.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import joinedload, selectinload

from competition.accounts.models import User
from competition.assignment.models import Assignment, Conflict, JuryMembership, MembershipState
from competition.core import rules, scoring
from competition.db import built_once
from competition.extensions import db
from competition.i18n import gettext as _
from competition.i18n import lazy_gettext as _l
from competition.paging import Page
from competition.programmes.models import Call, Stage, Topic
from competition.proposals import snapshot
from competition.proposals.models import (
    Proposal,
    ProposalState,
    StageSubmission,
    SubmissionState,
    SubmissionVersion,
)
from competition.reviews import permissions
from competition.reviews.models import Review, ReviewScore, ReviewState

PER_PAGE = 25


def scoring_criteria(stage: Stage) -> list[scoring.Criterion]:
    """The stage's criteria as the scoring rules take them, keyed by the criterion's id."""
    return [
        scoring.Criterion(
            key=str(c.id),
            name=c.name,
            weight=c.weight,
            scale_min=c.scale_min,
            scale_max=c.scale_max,
            step=c.scale_step,
        )
        for c in stage.criteria
    ]


def _active(stage_id: Any) -> sa.ColumnElement[bool]:
    """Assignments of the stage that the juror has been given, has not declined and may still
    work on: a conflict that came to light after the assignment takes it out of every count."""
    conflicted = (
        sa.select(Conflict.id)
        .where(
            Conflict.user_id == Assignment.user_id, Conflict.proposal_id == Assignment.proposal_id
        )
        .exists()
    )
    return sa.and_(
        Assignment.stage_id == stage_id,
        Assignment.released_at.is_not(None),
        Assignment.declined_at.is_(None),
        ~conflicted,
    )


def _submitted_count() -> sa.ColumnElement[int]:
    return sa.func.count(sa.case((Review.state == ReviewState.SUBMITTED, Review.id)))


def _drafted_count() -> sa.ColumnElement[int]:
    return sa.func.count(sa.case((Review.state == ReviewState.DRAFT, Review.id)))


# --- one assignment -------------------------------------------------------------------------------


def find_assignment(assignment_id: int) -> Assignment | None:
    return db.session.get(Assignment, assignment_id)


def find_proposal(proposal_id: int) -> Proposal | None:
    return db.session.scalar(
        sa.select(Proposal)
        .where(Proposal.id == proposal_id)
        .options(joinedload(Proposal.call).joinedload(Call.programme))
    )


def find_stage(stage_id: int) -> Stage | None:
    return db.session.scalar(
        sa.select(Stage)
        .where(Stage.id == stage_id)
        .options(joinedload(Stage.call).joinedload(Call.programme), selectinload(Stage.criteria))
    )


def find_review(assignment: Assignment) -> Review | None:
    return db.session.scalar(sa.select(Review).where(Review.assignment_id == assignment.id))


def find_latest_version(proposal_id: int, stage_id: int) -> SubmissionVersion | None:
    """What the jury reviews: the latest version submitted for the stage."""
    return db.session.scalar(
        sa.select(SubmissionVersion)
        .join(StageSubmission, StageSubmission.id == SubmissionVersion.submission_id)
        .where(StageSubmission.proposal_id == proposal_id, StageSubmission.stage_id == stage_id)
        .order_by(SubmissionVersion.number.desc())
        .limit(1)
    )


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    text: str


@dataclass(frozen=True)
class MemberBudget:
    name: str
    kind: str
    role: str
    federal_state: str | None
    public: Decimal
    own: Decimal


@dataclass(frozen=True)
class FrozenProposal:
    """A submitted version's content, arranged for reading."""

    version: SubmissionVersion
    title: str
    acronym: str
    abstract: str
    topics: Sequence[str]
    sections: Sequence[Section]
    members: Sequence[MemberBudget]
    totals: rules.BudgetTotals
    attachments: Sequence[dict[str, Any]]


def _topic_names(slugs: Sequence[str]) -> tuple[str, ...]:
    """A version freezes its topics' slugs; the reader sees their names, in their language (a
    topic deleted since keeps its slug)."""
    if not slugs:
        return ()
    found = {
        t.slug: t.name for t in db.session.scalars(sa.select(Topic).where(Topic.slug.in_(slugs)))
    }
    return tuple(sorted((found.get(slug, slug) for slug in slugs), key=str.casefold))


def frozen_proposal(version: SubmissionVersion, stage: Stage) -> FrozenProposal:
    content = version.content
    titles = {s["key"]: s["title"] for s in stage.required_sections or ()}
    sections = [
        Section(key=key, title=titles.get(key, key), text=text)
        for key, text in (content.get("sections") or {}).items()
    ]
    # The stage's order first; sections no longer in the stage's set-up after them.
    order = {key: index for index, key in enumerate(titles)}
    sections.sort(key=lambda s: (order.get(s.key, len(order)), s.key))
    totals = rules.budget_totals(snapshot.draft_from_snapshot(content).budget)
    members = [
        MemberBudget(
            name=m["name"],
            kind=m["kind"],
            role=m["role"],
            federal_state=m["federal_state"],
            public=totals.per_member.get(m["key"], (Decimal(0), Decimal(0)))[0],
            own=totals.per_member.get(m["key"], (Decimal(0), Decimal(0)))[1],
        )
        for m in content.get("members") or ()
    ]
    proposal = content.get("proposal") or {}
    return FrozenProposal(
        version=version,
        title=proposal.get("title", ""),
        acronym=proposal.get("acronym", ""),
        abstract=proposal.get("abstract", ""),
        topics=_topic_names(proposal.get("topics") or ()),
        sections=sections,
        members=members,
        totals=totals,
        attachments=tuple(content.get("attachments") or ()),
    )


# --- the juror's dashboard ------------------------------------------------------------------------


@dataclass(frozen=True)
class JurorAssignment:
    """A row of the juror's dashboard: plain values, read as columns (every signed-in juror
    opens it first; whole rows of four tables with their settings cost a fifth of the page)."""

    assignment_id: int
    reference: str
    acronym: str
    title: str
    call_name: str
    stage_name: str
    due_at: dt.datetime | None
    review_state: ReviewState | None
    submitted_at: dt.datetime | None

    @property
    def status(self) -> str:
        return _status(self.review_state, self.submitted_at)


def _status(state: ReviewState | None, submitted_at: dt.datetime | None) -> str:
    """not_started, draft, changed (submitted once, edited since) or submitted."""
    if state is None:
        return "not_started"
    if state == ReviewState.SUBMITTED:
        return "submitted"
    return "changed" if submitted_at is not None else "draft"


def review_status(review: Review | None) -> str:
    if review is None:
        return _status(None, None)
    return _status(review.state, review.submitted_at)


STATUS_LABELS = {
    "not_started": _l("Not started"),
    "draft": _l("Draft"),
    "changed": _l("Changed, not submitted again"),
    "submitted": _l("Submitted"),
}


@dataclass(frozen=True)
class JurorDashboard:
    rows: Sequence[JurorAssignment]

    @property
    def total(self) -> int:
        return len(self.rows)

    @property
    def submitted(self) -> int:
        return sum(1 for row in self.rows if row.status == "submitted")


@built_once
def _juror_assignments() -> sa.Select[tuple[Any, ...]]:
    return (
        sa.select(
            Assignment.id,
            Proposal.reference,
            Proposal.acronym,
            Proposal.title,
            Call.name,
            Stage.name,
            Stage.reviews_due_at,
            Review.state,
            Review.submitted_at,
        )
        .join(Proposal, Proposal.id == Assignment.proposal_id)
        .join(Stage, Stage.id == Assignment.stage_id)
        .join(Call, Call.id == Stage.call_id)
        .join(
            JuryMembership,
            sa.and_(
                JuryMembership.call_id == Call.id,
                JuryMembership.user_id == Assignment.user_id,
                JuryMembership.state == MembershipState.ACCEPTED,
                JuryMembership.conflicts_declared_at.is_not(None),
            ),
        )
        .outerjoin(Review, Review.assignment_id == Assignment.id)
        .where(
            Assignment.user_id == sa.bindparam("user_id"),
            Assignment.released_at.is_not(None),
            Assignment.declined_at.is_(None),
            Assignment.proposal_id.not_in(
                sa.select(Conflict.proposal_id).where(Conflict.user_id == sa.bindparam("user_id"))
            ),
        )
        .order_by(Stage.reviews_due_at.asc().nulls_last(), Proposal.reference)
    )


def list_juror_assignments(user: User) -> JurorDashboard:
    """The juror's released, undeclined assignments on calls whose jury they have joined, never
    one of a proposal they have a conflict with; soonest due first."""
    rows = db.session.execute(_juror_assignments(), {"user_id": user.id})
    return JurorDashboard([JurorAssignment(*row) for row in rows])


# --- other reviews of a proposal ----------------------------------------------------------------


@dataclass(frozen=True)
class ScoreLine:
    criterion: str
    score: str


@dataclass(frozen=True)
class OtherReview:
    label: str
    scores: Sequence[ScoreLine]
    # The weighted total as written for people ("4.15").
    total: str | None
    confidence: int | None
    comment_for_applicant: str
    comment_for_jury: str
    submitted_at: dt.datetime | None


def list_other_reviews(
    assignment: Assignment, proposal: Proposal, stage: Stage, *, viewer: User, own: Review | None
) -> list[OtherReview]:
    """The other jurors' submitted reviews of this proposal at this stage, for ``viewer``.

    Empty for a juror who may not open the review (a conflict, not assigned), and, when the call
    says so, until the viewer has submitted their own. Reviewers are numbered, not named.
    """
    own_submitted = own is not None and own.submitted_at is not None
    if not permissions.can_see_other_reviews(
        viewer, assignment, proposal, own_submitted=own_submitted
    ):
        return []
    reviews = db.session.scalars(
        sa.select(Review)
        .join(Assignment, Assignment.id == Review.assignment_id)
        .where(
            _active(stage.id),
            Assignment.proposal_id == proposal.id,
            Assignment.id != assignment.id,
            Review.state == ReviewState.SUBMITTED,
        )
        .order_by(Review.submitted_at, Review.id)
    ).all()
    criteria = scoring_criteria(stage)
    result = []
    for number, review in enumerate(reviews, start=1):
        scores = review.scores or {}
        try:
            total: str | None = scoring.plain(scoring.weighted_total(scores, criteria))
        except ValueError:
            total = None  # the criteria changed after the review was submitted
        result.append(
            OtherReview(
                label=_("Reviewer %(number)s", number=number),
                scores=[ScoreLine(c.name, str(scores.get(c.key, "–"))) for c in criteria],
                total=total,
                confidence=review.confidence,
                comment_for_applicant=review.comment_for_applicant,
                comment_for_jury=review.comment_for_jury,
                submitted_at=review.submitted_at,
            )
        )
    return result


# --- the officers' progress view -----------------------------------------------------------------


@dataclass(frozen=True)
class Counts:
    assigned: int
    submitted: int
    drafted: int

    @property
    def missing(self) -> int:
        """Not started: assigned, and no review row yet."""
        return self.assigned - self.submitted - self.drafted

    @property
    def outstanding(self) -> int:
        return self.assigned - self.submitted


@dataclass(frozen=True)
class ProposalProgress:
    proposal_id: int
    reference: str
    acronym: str
    title: str
    counts: Counts
    # Past the due date with a review still outstanding.
    late: bool


@dataclass(frozen=True)
class JurorProgress:
    user_id: int
    name: str
    email: str
    counts: Counts
    late: bool


@dataclass(frozen=True)
class StageProgress:
    stage: Stage
    totals: Counts
    # Past the review due date: every juror with an unsubmitted review is late.
    overdue: bool
    late_jurors: int
    proposals: Page
    jurors: Page


def _like(column: Any, needle: str) -> sa.ColumnElement[bool]:
    return sa.func.lower(column).contains(needle.lower(), autoescape=True)


def _page(query: sa.Select[Any], page: int) -> tuple[list[Any], int, int]:
    total = db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0
    pages = max(1, math.ceil(total / PER_PAGE))
    page = min(max(1, page), pages)
    rows = db.session.execute(query.limit(PER_PAGE).offset((page - 1) * PER_PAGE)).all()
    return rows, page, total


def stage_progress(
    stage: Stage,
    *,
    now: dt.datetime,
    q: str = "",
    page: int = 1,
    juror_q: str = "",
    juror_page: int = 1,
    late_only: bool = False,
) -> StageProgress:
    """Reviews submitted, drafted and not started, per proposal and per juror, for the stage's
    released, undeclined assignments. Proposals are those submitted at the stage or assigned;
    jurors those with assignments. ``late_only`` keeps jurors with an unsubmitted review after
    the due date."""
    overdue = stage.reviews_due_at is not None and now > stage.reviews_due_at
    submitted, drafted = _submitted_count(), _drafted_count()

    totals_row = db.session.execute(
        sa.select(sa.func.count(Assignment.id), submitted, drafted)
        .select_from(Assignment)
        .outerjoin(Review, Review.assignment_id == Assignment.id)
        .where(_active(stage.id))
    ).one()
    totals = Counts(*totals_row)

    submitted_here = (
        sa.select(StageSubmission.id)
        .where(
            StageSubmission.proposal_id == Proposal.id,
            StageSubmission.stage_id == stage.id,
            StageSubmission.state == SubmissionState.SUBMITTED,
        )
        .exists()
    )
    proposal_query = (
        sa.select(
            Proposal.id,
            Proposal.reference,
            Proposal.acronym,
            Proposal.title,
            sa.func.count(Assignment.id),
            submitted,
            drafted,
        )
        .select_from(Proposal)
        .outerjoin(
            Assignment,
            sa.and_(Assignment.proposal_id == Proposal.id, _active(stage.id)),
        )
        .outerjoin(Review, Review.assignment_id == Assignment.id)
        .where(
            Proposal.call_id == stage.call_id,
            Proposal.state != ProposalState.WITHDRAWN,
            sa.or_(Assignment.id.is_not(None), submitted_here),
        )
        .group_by(Proposal.id, Proposal.reference, Proposal.acronym, Proposal.title)
        .order_by(Proposal.reference)
    )
    if q:
        proposal_query = proposal_query.where(
            sa.or_(
                _like(Proposal.reference, q), _like(Proposal.acronym, q), _like(Proposal.title, q)
            )
        )
    rows, page, proposal_total = _page(proposal_query, page)
    proposals = Page(
        [
            ProposalProgress(
                r[0], r[1], r[2], r[3], counts, late=overdue and counts.outstanding > 0
            )
            for r in rows
            for counts in [Counts(r[4], r[5], r[6])]
        ],
        page=page,
        per_page=PER_PAGE,
        total=proposal_total,
    )

    assigned = sa.func.count(Assignment.id)
    juror_query = (
        sa.select(User.id, User.name, User.email, assigned, submitted, drafted)
        .select_from(Assignment)
        .join(User, User.id == Assignment.user_id)
        .outerjoin(Review, Review.assignment_id == Assignment.id)
        .where(_active(stage.id))
        .group_by(User.id, User.name, User.email)
        .order_by(User.name, User.id)
    )
    late_jurors = 0
    if overdue:
        late_jurors = (
            db.session.scalar(
                sa.select(sa.func.count()).select_from(
                    juror_query.having(assigned > submitted).subquery()
                )
            )
            or 0
        )
    if juror_q:
        juror_query = juror_query.where(
            sa.or_(_like(User.name, juror_q), _like(User.email, juror_q))
        )
    if late_only:
        # Before the due date nobody is late yet.
        juror_query = (
            juror_query.having(assigned > submitted) if overdue else juror_query.where(sa.false())
        )
    rows, juror_page, juror_total = _page(juror_query, juror_page)
    jurors = Page(
        [
            JurorProgress(r[0], r[1], r[2], counts, late=overdue and counts.outstanding > 0)
            for r in rows
            for counts in [Counts(r[3], r[4], r[5])]
        ],
        page=juror_page,
        per_page=PER_PAGE,
        total=juror_total,
    )
    return StageProgress(
        stage=stage,
        totals=totals,
        overdue=overdue,
        late_jurors=late_jurors,
        proposals=proposals,
        jurors=jurors,
    )


def totals_by_stage(stage_ids: Sequence[int]) -> dict[int, Counts]:
    """``stage_progress``'s totals for several stages in one query (the programme's dashboard);
    a stage without active assignments is missing."""
    if not stage_ids:
        return {}
    rows = db.session.execute(
        sa.select(
            Assignment.stage_id, sa.func.count(Assignment.id), _submitted_count(), _drafted_count()
        )
        .select_from(Assignment)
        .outerjoin(Review, Review.assignment_id == Assignment.id)
        # Each assignment measured against its own stage: the same rule as one stage's page.
        .where(Assignment.stage_id.in_(stage_ids), _active(Assignment.stage_id))
        .group_by(Assignment.stage_id)
    )
    return {stage_id: Counts(a, s, d) for stage_id, a, s, d in rows}


def reviews_scoring(criterion_id: int) -> int:
    """How many reviews, drafts included, hold a score for the criterion (registered with
    ``programmes.uses`` for removing a criterion)."""
    return (
        db.session.scalar(
            sa.select(sa.func.count(sa.distinct(ReviewScore.review_id))).where(
                ReviewScore.criterion_id == criterion_id
            )
        )
        or 0
    )
