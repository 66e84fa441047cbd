"""Scores live in rows tied to their criteria: a scored criterion stays, and every score a juror
saved reads back the same. Saving and submitting is one operation."""

from __future__ import annotations

import sqlalchemy as sa

from competition.audit.models import AuditEvent
from competition.db import utcnow
from competition.extensions import db
from competition.programmes.models import Criterion
from competition.reviews import operations as ops
from competition.reviews.models import Review, ReviewScore, ReviewState
from tests.factories import make_review
from tests.helpers import as_person, in_app, text
from tests.integration.reviews_world import (  # noqa: F401 (the fixture)
    GOOD_COMMENT,
    World,
    load,
    world,
)


def test_removing_a_scored_criterion_is_refused_with_how_many_reviews_use_it(app, world: World):  # noqa: F811 (the fixture)
    scored = world.criteria[0]
    with app.app_context():
        first, _ = load(app, world, world.juror)
        second, _ = load(app, world, world.second_juror)
        make_review(first, state=ReviewState.SUBMITTED, scores=world.scores("4", "3", "2"))
        make_review(second, state=ReviewState.DRAFT, scores=world.scores("5"))
        first_id, second_id = first.id, second.id
        db.session.commit()

    officer = as_person(app, world.officer)
    response = officer.submit(f"/criteria/{scored}/delete", {})
    assert response.status_code == 422
    assert "2 reviews already score" in text(response)
    with in_app(app):
        assert db.session.get(Criterion, scored) is not None
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ReviewScore)) == 4

    # A criterion only one review scored says so in the singular; an unscored one goes.
    response = officer.submit(f"/criteria/{world.criteria[1]}/delete", {})
    assert "1 review already scores" in text(response)
    with app.app_context():
        review = db.session.scalars(
            sa.select(Review).where(Review.assignment_id == second_id)
        ).one()
        review.scores = {}
        first_review = db.session.scalars(
            sa.select(Review).where(Review.assignment_id == first_id)
        ).one()
        first_review.scores = world.scores("4", "3")
        db.session.commit()
    response = officer.submit(f"/criteria/{world.criteria[2]}/delete", {})
    assert response.status_code == 302
    with in_app(app):
        assert db.session.get(Criterion, world.criteria[2]) is None


def test_changing_a_reviews_scores_keeps_one_row_per_criterion(app, world: World):  # noqa: F811 (the fixture)
    with app.app_context():
        assignment, _ = load(app, world, world.juror)
        review = make_review(assignment, state=ReviewState.DRAFT, scores=world.scores("4", "3"))
        review.scores = world.scores("4.5", "3", "1")
        db.session.commit()
        review.scores = {str(world.criteria[2]): "2"}
        db.session.commit()
        rows = db.session.execute(
            sa.select(ReviewScore.criterion_id, ReviewScore.score).where(
                ReviewScore.review_id == review.id
            )
        ).all()
    assert rows == [(world.criteria[2], "2")]


def test_save_and_submit_is_one_operation_that_keeps_a_refused_draft(app, world: World):  # noqa: F811 (the fixture)
    typed = {
        "scores": world.scores("4", "3.5", "2"),
        "comment_for_applicant": "Short",
        "comment_for_jury": "Ask about the budget.",
        "confidence": "4",
    }
    with app.app_context():
        assignment, juror = load(app, world, world.juror)
        refused = ops.save_review(
            assignment, actor=juror, submit=True, base_revision=0, now=utcnow(), **typed
        )
        assert not refused.submitted
        assert list(refused.problems) == ["comment_for_applicant"]
        db.session.expire_all()
        draft = db.session.scalars(
            sa.select(Review).where(Review.assignment_id == assignment.id)
        ).one()
        assert (draft.state, draft.scores, draft.comment_for_jury) == (
            ReviewState.DRAFT,
            world.scores("4", "3.5", "2"),
            "Ask about the budget.",
        )

        done = ops.save_review(
            assignment,
            actor=juror,
            submit=True,
            base_revision=refused.revision,
            now=utcnow(),
            **{**typed, "comment_for_applicant": GOOD_COMMENT},
        )
        assert done.submitted and done.problems == {}
        db.session.expire_all()
        review = db.session.get(Review, draft.id)
        assert review is not None and review.state == ReviewState.SUBMITTED
        actions = db.session.scalars(
            sa.select(AuditEvent.action).where(AuditEvent.object_type == "review")
        ).all()
        assert actions == ["review.draft_saved", "review.draft_saved", "review.submitted"]
