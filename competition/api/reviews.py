"""Reviews of a stage, for the officers who run its programme (scope ``reviews:read``).

The reviews listed are those the panel page shows officers and a ranking counts
(``selection.ranking.queries.counted_reviews``): submitted, for a released assignment the
juror has not given back, and never one of a juror with a conflict of interest on the
proposal. A draft, a declined or a conflicted juror's review is 404 like a missing one."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from marshmallow import Schema, fields

from competition.accounts.models import User
from competition.api import API_PREFIX, ApiBlueprint
from competition.api.auth import api_token
from competition.api.models import ApiArea
from competition.api.paging import PageArgs, cursor_page, link_header, page_schema
from competition.api.stage_officers import (
    LINK_HEADER,
    NamedPersonSchema,
    NamedProposalSchema,
    may_see,
    not_found,
    officer_stage,
)
from competition.assignment.models import Assignment
from competition.extensions import db
from competition.programmes.models import Stage
from competition.proposals.models import Proposal
from competition.reviews.models import Review
from competition.reviews.queries import find_stage
from competition.selection.ranking.queries import counted_reviews

blp = ApiBlueprint(
    "api_reviews",
    __name__,
    url_prefix=API_PREFIX,
    description="Jurors' submitted reviews of a stage, for the officers who run its programme",
)


class ReviewScoreSchema(Schema):
    criterion_id = fields.Integer(required=True)
    criterion = fields.String(required=True, metadata={"description": "the criterion's name"})
    score = fields.String(
        required=True, metadata={"description": 'a decimal, as the juror gave it ("4.5")'}
    )


class ReviewSchema(Schema):
    id = fields.Integer(required=True)
    stage_id = fields.Integer(required=True)
    proposal = fields.Nested(NamedProposalSchema, required=True)
    juror = fields.Nested(NamedPersonSchema, required=True)
    scores = fields.List(
        fields.Nested(ReviewScoreSchema),
        required=True,
        metadata={"description": "in criterion order"},
    )
    confidence = fields.Integer(
        required=True, allow_none=True, metadata={"description": "1 (low) to 5 (high)"}
    )
    comment_for_applicant = fields.String(required=True)
    comment_for_jury = fields.String(
        required=True, metadata={"description": "confidential: never shown to the applicant"}
    )
    submitted_at = fields.DateTime(required=True, allow_none=True)


class ReviewListArgs(PageArgs):
    proposal_id = fields.Integer(
        load_default=None, metadata={"description": "only the reviews of this proposal"}
    )


def _rows(stage: Stage, reviews: list[Review]) -> list[dict[str, Any]]:
    """The reviews as the API shows them, with their proposal and juror read in one query."""
    if not reviews:
        return []
    about = {
        row.id: row
        for row in db.session.execute(
            sa.select(
                Review.id,
                Proposal.id.label("proposal_id"),
                Proposal.reference,
                User.id.label("juror_id"),
                User.name,
            )
            .join(Assignment, Assignment.id == Review.assignment_id)
            .join(Proposal, Proposal.id == Assignment.proposal_id)
            .join(User, User.id == Assignment.user_id)
            .where(Review.id.in_([r.id for r in reviews]))
        )
    }
    criteria = list(stage.criteria)
    rows = []
    for review in reviews:
        found = about[review.id]
        given = review.scores
        rows.append(
            {
                "id": review.id,
                "stage_id": stage.id,
                "proposal": {"id": found.proposal_id, "reference": found.reference},
                "juror": {"id": found.juror_id, "name": found.name},
                "scores": [
                    {"criterion_id": c.id, "criterion": c.name, "score": given[str(c.id)]}
                    for c in criteria
                    if str(c.id) in given
                ],
                "confidence": review.confidence,
                "comment_for_applicant": review.comment_for_applicant,
                "comment_for_jury": review.comment_for_jury,
                "submitted_at": review.submitted_at,
            }
        )
    return rows


def _counted(stage: Stage) -> sa.Select[Any]:
    return (
        sa.select(Review)
        .join(Assignment, Assignment.id == Review.assignment_id)
        .where(*counted_reviews(stage))
    )


@blp.route("/stages/<int:stage_id>/reviews")
@blp.doc(security=[{"token": []}])
@blp.etag
@api_token(ApiArea.REVIEWS)
@blp.arguments(ReviewListArgs, location="query")
@blp.response(200, page_schema(ReviewSchema, "ReviewPage"), headers=LINK_HEADER)
def stage_reviews(args: dict[str, Any], stage_id: int) -> Any:
    """The stage's reviews that count, oldest first.

    Submitted reviews of released assignments not given back, never one of a juror with a
    conflict of interest: what the panel shows and the ranking counts."""
    stage = officer_stage(stage_id)
    query = _counted(stage)
    if args.get("proposal_id") is not None:
        query = query.where(Assignment.proposal_id == args["proposal_id"])
    page = cursor_page(query, Review.id, args)
    return {"items": _rows(stage, list(page.items)), "next_cursor": page.next_cursor}, link_header(
        page
    )


@blp.route("/reviews/<int:review_id>")
@blp.doc(security=[{"token": []}])
@blp.etag
@api_token(ApiArea.REVIEWS)
@blp.response(200, ReviewSchema)
def review(review_id: int) -> Any:
    """One review that counts, with its scores and both comments."""
    stage_id = db.session.scalar(
        sa.select(Assignment.stage_id)
        .join(Review, Review.assignment_id == Assignment.id)
        .where(Review.id == review_id)
    )
    stage = find_stage(stage_id) if stage_id is not None else None
    if stage is None or not may_see(stage):
        raise not_found()
    found = db.session.scalar(_counted(stage).where(Review.id == review_id))
    if found is None:
        raise not_found()
    return _rows(stage, [found])[0]
