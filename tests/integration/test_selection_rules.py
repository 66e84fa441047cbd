"""The officers' page for a stage's selection rules on PostgreSQL: setting a tie rule, a budget
line, a constraint and the lottery with its seed (stored, read back by ``rules_for``, audited
with before and after); refusals at the field for a criterion named twice and a lottery without
a seed; the seed fixed once a ranking has finished; other programmes' officers get 404, jurors
and applicants 403."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from competition.accounts.models import Role
from competition.audit.models import AuditEvent
from competition.extensions import db
from competition.programmes.models import Stage
from competition.selection.models import RankingMethod, SnapshotState
from competition.selection.rules.queries import ConstraintRule, rules_for
from tests.factories import make_user
from tests.helpers import as_person, text
from tests.integration.test_assignment_runs import World
from tests.integration.test_rankings import rank, reviewed_world

SEED = "2025-06-02 Bundesanzeiger, page 17"


def url(world: World) -> str:
    return f"/calls/{world.call_id}/stages/{world.stage_id}/selection/rules"


def stored(app, world: World) -> dict:  # type: ignore[no-untyped-def,type-arg]
    with app.app_context():
        return dict(db.session.get(Stage, world.stage_id).selection_rules)


def criteria(app, world: World) -> list[int]:  # type: ignore[no-untyped-def]
    with app.app_context():
        return [c.id for c in db.session.get(Stage, world.stage_id).criteria]


def audit_events(app) -> list[tuple[dict, dict]]:  # type: ignore[no-untyped-def,type-arg]
    with app.app_context():
        return [
            (e.before, e.after)
            for e in db.session.scalars(
                sa.select(AuditEvent)
                .where(AuditEvent.action == "stage.selection_rules_updated")
                .order_by(AuditEvent.seq)
            )
        ]


def fields(**overrides: str) -> dict[str, str]:
    """What the page posts with every field at its plain value."""
    return {
        "tie_rule_1": "",
        "tie_rule_2": "",
        "tie_rule_3": "",
        "overall_threshold": "",
        "min_reviews": "3",
        "line_by": "target",
        "line_method": "merit",
        "lottery_seed": "",
        **overrides,
    }


def error_at(page: str, field: str) -> str:
    found = re.search(rf'<p class="error" id="{field}-error">([^<]*)</p>', page)
    return found.group(1) if found else ""


@pytest.fixture
def world(app) -> World:  # type: ignore[no-untyped-def]
    """Six reviewed proposals; the stage has no rules of its own yet."""
    with app.app_context():
        world = reviewed_world()
        stage = db.session.get(Stage, world.stage_id)
        stage.selection_rules = {"min_reviews": 2}
        db.session.commit()
        return world


def test_the_officer_sets_tie_rule_budget_line_constraint_and_lottery(app, world):
    excellence, impact = criteria(app, world)
    officer = as_person(app, world.officer)
    page = text(officer.get(url(world)))
    assert "take effect for the next ranking and line" in page
    assert "favours many cheap proposals" in page
    assert "apply only when the line is drawn by budget" in page

    response = officer.submit(
        url(world),
        fields(
            tie_rule_1=str(impact),
            tie_rule_2=str(excellence),
            confidence_weighted="y",
            overall_threshold="2.5",
            min_reviews="2",
            line_by="budget",
            line_method="optimal",
            **{"constraints-0-attribute": "eastern", "constraints-0-minimum": "1"},
            lottery="y",
            lottery_seed=f"  {SEED} ",
        ),
    )

    assert response.status_code == 302, text(response)
    assert stored(app, world) == {
        "tie_rule": [impact, excellence],
        "confidence_weighted": True,
        "overall_threshold": 2.5,
        "min_reviews": 2,
        "funding": True,
        "line_method": "optimal",
        "constraints": [{"attribute": "eastern", "minimum": 1}],
        "lottery": True,
        "lottery_seed": SEED,
    }
    with app.app_context():
        rules = rules_for(db.session.get(Stage, world.stage_id))
    assert rules.tie_rule == (impact, excellence)
    assert rules.funding and rules.line_method == "optimal"
    assert rules.constraints == (ConstraintRule("eastern", None, 1, None),)
    assert rules.lottery and rules.lottery_seed == SEED
    assert rules.overall_threshold == 2.5 and rules.confidence_weighted
    [(before, after)] = audit_events(app)
    assert before == {"min_reviews": 2}
    assert after == stored(app, world)
    # The page shows what is stored.
    again = text(officer.get(url(world)))
    assert re.search(rf'<option selected value="{impact}">Impact</option>', again)
    assert f'value="{SEED}"' in again


def test_the_same_criterion_twice_is_refused_at_the_field(app, world):
    excellence, _ = criteria(app, world)
    officer = as_person(app, world.officer)

    response = officer.submit(
        url(world),
        fields(tie_rule_1=str(excellence), tie_rule_3=str(excellence), overall_threshold="2.75"),
    )

    page = text(response)
    assert response.status_code == 422
    assert error_at(page, "tie_rule_3") == "Excellence is named twice; name each criterion once."
    assert error_at(page, "tie_rule_1") == ""
    assert 'value="2.75"' in page  # what was typed stays
    assert stored(app, world) == {"min_reviews": 2}
    assert audit_events(app) == []


def test_a_lottery_without_a_seed_is_refused_at_the_field(app, world):
    officer = as_person(app, world.officer)

    response = officer.submit(
        url(world),
        fields(lottery="y", **{"constraints-0-attribute": "sme", "constraints-0-minimum": "2"}),
    )

    page = text(response)
    assert response.status_code == 422
    assert "needs its seed" in error_at(page, "lottery_seed")
    assert re.search(r'id="constraints-0-minimum"[^>]*value="2"', page)
    assert stored(app, world) == {"min_reviews": 2}


def test_bad_numbers_are_refused_at_their_fields(app, world):
    response = as_person(app, world.officer).submit(
        url(world),
        fields(
            min_reviews="0",
            overall_threshold="lots",
            **{"constraints-0-attribute": "eastern", "constraints-0-minimum": "-1"},
        ),
    )

    page = text(response)
    assert response.status_code == 422
    assert error_at(page, "min_reviews") == "Give a whole number, 1 or more."
    assert "must be a number" in error_at(page, "overall_threshold")
    assert "whole number" in error_at(page, "constraints-0-minimum")
    assert stored(app, world) == {"min_reviews": 2}


def test_after_a_finished_ranking_the_seed_cannot_be_changed(app, world):
    with app.app_context():
        stage = db.session.get(Stage, world.stage_id)
        stage.selection_rules = {"min_reviews": 2, "lottery": True, "lottery_seed": SEED}
        db.session.commit()
        assert rank(world, RankingMethod.RAW).state == SnapshotState.DONE
    officer = as_person(app, world.officer)

    page = text(officer.get(url(world)))
    assert "can no longer be changed" in page
    assert re.search(r'id="lottery_seed"[^>]*readonly', page)

    refused = officer.submit(url(world), fields(lottery="y", lottery_seed="another seed"))

    assert refused.status_code == 422
    assert "fixed" in error_at(text(refused), "lottery_seed")
    assert stored(app, world)["lottery_seed"] == SEED
    # What the page posts with the read-only fields still saves the other rules.
    kept = officer.submit(url(world), fields(lottery="y", lottery_seed=SEED, min_reviews="3"))
    assert kept.status_code == 302
    assert stored(app, world) == {"min_reviews": 3, "lottery": True, "lottery_seed": SEED} | {
        "tie_rule": [],
        "confidence_weighted": False,
        "funding": False,
        "line_method": "merit",
        "constraints": [],
    }


def test_an_officer_of_another_programme_gets_404(app, world):
    other = as_person(app, world.other_officer)

    assert other.get(url(world)).status_code == 404
    assert other.submit(url(world), fields(min_reviews="5"), page="/").status_code == 404
    assert stored(app, world) == {"min_reviews": 2}


@pytest.mark.parametrize("who", ["juror", "applicant"])
def test_jurors_and_applicants_are_refused(app, world, who):
    if who == "juror":
        with app.app_context():
            email = make_user(roles=(Role.JUROR,)).email
            db.session.commit()
    else:
        email = world.applicant
    browser = as_person(app, email)

    assert browser.get(url(world)).status_code == 403
    assert browser.submit(url(world), fields(min_reviews="5"), page="/").status_code == 403
    assert stored(app, world) == {"min_reviews": 2}


def test_stored_rules_that_make_no_sense_are_named_on_the_page(app, world):
    with app.app_context():
        db.session.get(Stage, world.stage_id).selection_rules = {"colour": "blue"}
        db.session.commit()

    response = as_person(app, world.officer).get(url(world))

    assert response.status_code == 200
    assert "Unknown selection rules" in text(response) and "saving this form replaces" in text(
        response
    )
