"""The panel pages on PostgreSQL: the ranking with notes, consensus scores and the jurors absent
because of a conflict of interest; one proposal's reviews per juror (never a conflicted
juror's), notes, and consensus scores on the criterion's scale, each change audited."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from competition.accounts.models import User
from competition.assignment.models import Assignment, Conflict, ConflictSource
from competition.audit.models import AuditEvent
from competition.db import utcnow
from competition.extensions import db
from competition.programmes.models import Criterion, Stage
from competition.reviews.models import Review
from competition.selection.models import ConsensusScore, PanelNote, SnapshotState
from tests.helpers import as_person, text
from tests.integration.test_assignment_runs import World
from tests.integration.test_decision_pages import base, build
from tests.integration.test_rankings import rank

REASON = "The panel agreed the impact case is weaker than the reviews say."


@pytest.fixture
def world(app) -> World:  # type: ignore[no-untyped-def]
    with app.app_context():
        return build()


def panel_url(world: World) -> str:
    return f"{base(world)}/panel"


def proposal_url(world: World, proposal_id: int, action: str = "") -> str:
    """The proposal's panel page, or where one of its forms posts (notes, consensus,
    consensus/remove)."""
    return f"{base(world)}/panel/proposals/{proposal_id}" + (f"/{action}" if action else "")


def post(browser, world: World, proposal_id: int, action: str, data, **kw):  # type: ignore[no-untyped-def]
    """Post one of the page's forms, with the page's CSRF token."""
    kw.setdefault("page", proposal_url(world, proposal_id))
    return browser.submit(proposal_url(world, proposal_id, action), data, **kw)


def criteria(app, world: World) -> list[tuple[int, str]]:  # type: ignore[no-untyped-def]
    with app.app_context():
        stage = db.session.get(Stage, world.stage_id)
        return [(c.id, c.name) for c in stage.criteria]


def row(page: str, proposal_id: int) -> str:
    return page.split(f'<tr id="proposal-{proposal_id}">', 1)[1].split("</tr>", 1)[0]


def cell(row_html: str, name: str) -> str:
    return re.search(rf'<td class="[^"]*\b{name}\b[^"]*">(.*?)</td>', row_html, re.S).group(1)


def events(app, action: str) -> list[AuditEvent]:  # type: ignore[no-untyped-def]
    with app.app_context():
        found = list(
            db.session.scalars(
                sa.select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)
            )
        )
        db.session.expunge_all()
        return found


def consensus_rows(app) -> list[tuple[int, int, str, str]]:  # type: ignore[no-untyped-def]
    with app.app_context():
        return [
            (c.proposal_id, c.criterion_id, str(c.score), c.reason)
            for c in db.session.scalars(sa.select(ConsensusScore).order_by(ConsensusScore.id))
        ]


def record(browser, world: World, proposal_id: int, criterion_id: int, score: str, reason: str):  # type: ignore[no-untyped-def]
    prefix = f"criterion-{criterion_id}"
    return post(
        browser,
        world,
        proposal_id,
        "consensus",
        {
            "criterion": str(criterion_id),
            f"{prefix}-score": score,
            f"{prefix}-reason": reason,
        },
    )


def conflicted_names(app, proposal_id: int) -> set[str]:  # type: ignore[no-untyped-def]
    with app.app_context():
        return set(
            db.session.scalars(
                sa.select(User.name)
                .join(Conflict, Conflict.user_id == User.id)
                .where(Conflict.proposal_id == proposal_id)
            )
        )


def reviewer_of(app, proposal_id: int) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    """A juror with a submitted review of the proposal."""
    with app.app_context():
        juror = db.session.execute(
            sa.select(User.id, User.name)
            .join(Assignment, Assignment.user_id == User.id)
            .join(Review, Review.assignment_id == Assignment.id)
            .where(Assignment.proposal_id == proposal_id)
            .order_by(User.id)
            .limit(1)
        ).one()
        return juror.id, juror.name


# --- the panel list -------------------------------------------------------------------------------


def test_the_panel_lists_the_ranking_with_absent_jurors_notes_and_consensus(app, world):
    officer = as_person(app, world.officer)
    first = world.proposals[0]
    absent = conflicted_names(app, first)
    assert absent, "the world gives the partner's juror an automatic conflict"
    [(criterion_id, criterion_name), _] = criteria(app, world)
    assert (
        post(officer, world, first, "notes", {"text": "Ask about the budget."}).status_code == 303
    )
    assert record(officer, world, first, criterion_id, "2.5", REASON).status_code == 303

    page = text(officer.get(panel_url(world)))

    with app.app_context():
        from tests.integration.test_decision_pages import ranking_of

        order = [r["proposal_id"] for r in ranking_of(world).result["proposals"]]
    assert re.findall(r'<tr id="proposal-(\d+)">', page) == [str(p) for p in order]
    mine = row(page, first)
    assert {n.strip() for n in cell(mine, "absent").split(",")} == absent
    assert cell(mine, "notes") == "1"
    assert f"{criterion_name}: 2.5" in cell(mine, "consensus")
    assert "not in the ranking yet" in cell(mine, "consensus")
    for other in world.proposals[1:]:
        if not conflicted_names(app, other):
            assert "nobody" in cell(row(page, other), "absent")
    assert "compute a new ranking" in page


# --- one proposal ---------------------------------------------------------------------------------


def test_a_conflicted_juror_is_shown_absent_and_their_review_is_not_shown(app, world):
    target = world.proposals[1]
    juror_id, juror_name = reviewer_of(app, target)
    officer = as_person(app, world.officer)
    assert f'id="review-{juror_id}"' in text(officer.get(proposal_url(world, target)))
    with app.app_context():
        db.session.add(
            Conflict(
                user_id=juror_id,
                proposal_id=target,
                source=ConflictSource.OFFICER,
                reason="Found at the panel meeting.",
                created_at=utcnow(),
            )
        )
        db.session.commit()

    page = text(officer.get(proposal_url(world, target)))

    assert f"{juror_name}: absent (conflict of interest)" in page
    assert f'id="review-{juror_id}"' not in page
    assert re.findall(r'<tr id="review-(\d+)">', page)  # the other reviews stay
    assert juror_name in cell(row(text(officer.get(panel_url(world))), target), "absent")


def test_a_consensus_score_is_recorded_changed_and_audited_with_before_and_after(app, world):
    officer = as_person(app, world.officer)
    target = world.proposals[2]
    [(criterion_id, _), _] = criteria(app, world)

    first = record(officer, world, target, criterion_id, "4.5", REASON)
    second = record(
        officer, world, target, criterion_id, "3", "On reflection the panel lowered it."
    )

    assert first.status_code == second.status_code == 303
    assert consensus_rows(app) == [
        (target, criterion_id, "3.00", "On reflection the panel lowered it.")
    ]
    recorded, changed = events(app, "panel.consensus_recorded")
    assert recorded.object_id == str(target) and recorded.before is None
    assert recorded.after == {
        "stage": world.stage_id,
        "criterion": criterion_id,
        "score": "4.5",
    }
    assert recorded.personal == {"after": {"reason": REASON}}
    assert changed.before == recorded.after
    assert changed.after["score"] == "3"
    page = text(officer.get(proposal_url(world, target)))
    assert "not in the ranking yet" in page.split(f'id="criterion-{criterion_id}"', 1)[1]


def test_a_new_ranking_uses_the_consensus_score(app, world):
    officer = as_person(app, world.officer)
    target = world.proposals[2]
    [(criterion_id, _), _] = criteria(app, world)
    record(officer, world, target, criterion_id, "5", REASON)
    with app.app_context():
        ranking = rank(world)
        db.session.refresh(ranking)
        assert ranking.state == SnapshotState.DONE, ranking.message
        [ranked] = [r for r in ranking.result["proposals"] if r["proposal_id"] == target]
        assert dict(map(tuple, ranked["criterion_means"]))[criterion_id] == 5.0

    page = text(officer.get(proposal_url(world, target)))

    section = page.split(f'id="criterion-{criterion_id}"', 1)[1].split("</form>", 1)[0]
    assert "the latest ranking uses it" in section
    assert "not in the ranking yet" not in section


@pytest.mark.parametrize(
    ("score", "message"),
    [
        ("7", "7 is outside the scale"),
        ("4.3", "use steps of 0.5 between 0 and 5"),
        ("lots", "“lots” is not a number"),
        ("", "choose a score"),
    ],
)
def test_a_score_off_the_criterions_scale_is_refused_at_the_field(app, world, score, message):
    officer = as_person(app, world.officer)
    [(criterion_id, _), _] = criteria(app, world)

    response = record(officer, world, world.proposals[0], criterion_id, score, REASON)

    assert response.status_code == 422
    page = text(response)
    error = page.split(f'id="criterion-{criterion_id}-score-error"', 1)[1].split("</p>", 1)[0]
    assert message in error
    assert f"{REASON}</textarea>" in page  # the reason typed is still there
    assert consensus_rows(app) == []
    assert events(app, "panel.consensus_recorded") == []


def test_a_consensus_score_needs_a_reason(app, world):
    officer = as_person(app, world.officer)
    [_, (criterion_id, _)] = criteria(app, world)

    response = record(officer, world, world.proposals[0], criterion_id, "3.5", "  ")

    assert response.status_code == 422
    page = text(response)
    error = page.split(f'id="criterion-{criterion_id}-reason-error"', 1)[1].split("</p>", 1)[0]
    assert "Say why the jury agreed on this score." in error
    assert 'value="3.5"' in page
    assert consensus_rows(app) == []


def test_a_consensus_score_is_removed_with_a_reason_and_audited(app, world):
    officer = as_person(app, world.officer)
    target = world.proposals[3]
    [(criterion_id, _), _] = criteria(app, world)
    record(officer, world, target, criterion_id, "2", REASON)
    prefix = f"remove-criterion-{criterion_id}"

    refused = post(
        officer,
        world,
        target,
        "consensus/remove",
        {"criterion": str(criterion_id), f"{prefix}-reason": ""},
    )
    removed = post(
        officer,
        world,
        target,
        "consensus/remove",
        {
            "criterion": str(criterion_id),
            f"{prefix}-reason": "Agreed in error.",
        },
    )

    assert refused.status_code == 422
    assert "Say why the consensus score no longer holds." in text(refused)
    assert removed.status_code == 303
    assert consensus_rows(app) == []
    [event] = events(app, "panel.consensus_removed")
    assert event.before["score"] == "2" and event.personal["before"]["reason"] == REASON
    assert event.personal["after"]["reason"] == "Agreed in error."


def test_notes_are_added_and_an_empty_one_is_refused(app, world):
    officer = as_person(app, world.officer)
    target = world.proposals[4]

    empty = post(officer, world, target, "notes", {"text": "   "})
    added = post(officer, world, target, "notes", {"text": "Strong partners, thin budget."})

    assert empty.status_code == 422
    assert "Write the note first." in text(empty).split('id="text-error"', 1)[1]
    assert added.status_code == 303
    page = text(officer.get(proposal_url(world, target)))
    assert "Strong partners, thin budget." in page.split('id="notes"', 1)[1]
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(PanelNote)) == 1
    [event] = events(app, "panel.note_added")
    assert event.object_id == str(target)


# --- access ---------------------------------------------------------------------------------------


def test_an_officer_of_another_programme_gets_404(app, world):
    other = as_person(app, world.other_officer)
    [(criterion_id, _), _] = criteria(app, world)
    target = world.proposals[1]

    assert other.get(panel_url(world)).status_code == 404
    assert other.get(proposal_url(world, target)).status_code == 404
    response = other.submit(
        proposal_url(world, target, "consensus"),
        {
            "criterion": str(criterion_id),
            f"criterion-{criterion_id}-score": "1",
            f"criterion-{criterion_id}-reason": REASON,
        },
        page="/",
    )
    assert response.status_code == 404
    assert consensus_rows(app) == []


def test_a_proposal_or_criterion_outside_the_stage_gets_404(app, world):
    officer = as_person(app, world.officer)
    with app.app_context():
        foreign = db.session.scalar(
            sa.select(Criterion.id).where(Criterion.stage_id != world.stage_id).limit(1)
        )
    assert officer.get(proposal_url(world, 999_999)).status_code == 404
    response = record(officer, world, world.proposals[0], foreign or 999_999, "1", REASON)
    assert response.status_code == 404


@pytest.mark.parametrize("who", ["juror", "applicant"])
def test_jurors_and_applicants_are_refused(app, world, who):
    email = "ben@jury.test" if who == "juror" else world.applicant
    browser = as_person(app, email)
    target = world.proposals[0]

    assert browser.get(panel_url(world)).status_code == 403
    assert browser.get(proposal_url(world, target)).status_code == 403
    response = browser.submit(
        proposal_url(world, target, "notes"), {"text": "Not mine to write."}, page="/"
    )
    assert response.status_code == 403
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(PanelNote)) == 0
