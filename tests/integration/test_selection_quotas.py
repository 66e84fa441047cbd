"""Quotas set on the Rules page and kept by the line, on PostgreSQL: an officer sets "at most 1
per federal state" (of the coordinator) and "at least 1 per topic" as rows of the page; the line
funds accordingly and says what each constraint cost in places; a quota that can never be met
is named on the line page with its numbers, and the rest of the line is still drawn; a value
that is not one of the attribute's is refused at its row, nothing saved."""

from __future__ import annotations

import re

from competition.extensions import db
from competition.organisations.models import FederalState
from competition.programmes.models import Stage
from competition.proposals.models import MemberRole, Proposal
from competition.selection.models import Outcome
from competition.selection.rules.queries import ConstraintRule, rules_for
from tests.factories import make_topic
from tests.helpers import as_person, text
from tests.integration.test_core_texts_in_german import speaks_german
from tests.integration.test_line import M, Spec, build_line_world, line_of

STATES = [FederalState.BE, FederalState.BE, FederalState.BB, FederalState.SN, FederalState.TH]
TOPICS = ["energy", "energy", "energy", "energy", "photonics"]


def quota_world():  # type: ignore[no-untyped-def]
    """Five proposals of 1 M under 3 M, best first, led from Berlin, Berlin, Brandenburg,
    Saxony and Thuringia; the first four on energy technology, the fifth on photonics."""
    world = build_line_world([Spec() for _ in STATES], budget=3 * M)
    topics = {
        "energy": make_topic(slug="energy", name_en="Energy technology", name_de="Energietechnik"),
        "photonics": make_topic(
            slug="photonics", name_en="Optics and photonics", name_de="Optik und Photonik"
        ),
    }
    for pid, state, topic in zip(world.proposals, STATES, TOPICS, strict=True):
        proposal = db.session.get(Proposal, pid)
        coordinator = next(m for m in proposal.members if m.role == MemberRole.COORDINATOR)
        coordinator.organisation.federal_state = state
        proposal.topics.append(topics[topic])
    db.session.commit()
    return world


def rules_url(world) -> str:  # type: ignore[no-untyped-def]
    return f"{world.page}/rules"


def fields(*rows: dict[str, str], **more: str) -> dict[str, str]:
    """The Rules page's fields with the given constraint rows and a budget line."""
    posted = {
        "tie_rule_1": "",
        "tie_rule_2": "",
        "tie_rule_3": "",
        "overall_threshold": "",
        "min_reviews": "3",
        "line_by": "budget",
        "line_method": "merit",
        "lottery_seed": "",
        **more,
    }
    for n, row in enumerate(rows):
        for name in ("attribute", "value", "minimum", "maximum"):
            posted[f"constraints-{n}-{name}"] = row.get(name, "")
    return posted


def error_at(page: str, field: str) -> str:
    found = re.search(rf'<p class="error" id="{field}-error">([^<]*)</p>', page)
    return found.group(1) if found else ""


def test_officer_sets_at_most_one_per_state_and_at_least_one_per_topic_and_the_line_keeps_them(
    app,
):  # type: ignore[no-untyped-def]
    with app.app_context():
        world = quota_world()
    officer = as_person(app, world.officer)
    page = text(officer.get(rules_url(world)))
    assert 'id="constraints-0-attribute"' in page and "Optics and photonics" in page

    response = officer.submit(
        rules_url(world),
        fields(
            {"attribute": "coordinator_state", "value": "*", "maximum": "1"},
            {"attribute": "topic", "value": "*", "minimum": "1"},
        ),
    )

    assert response.status_code == 302, text(response)
    with app.app_context():
        stage = db.session.get(Stage, world.stage_id)
        assert stage.selection_rules["constraints"] == [
            {"attribute": "coordinator_state", "value": "*", "minimum": 0, "maximum": 1},
            {"attribute": "topic", "value": "*", "minimum": 1},
        ]
        assert rules_for(stage).constraints == (
            ConstraintRule("coordinator_state", "*", 0, 1),
            ConstraintRule("topic", "*", 1, None),
        )
        line = line_of(world)
        # Merit order: 1, 2, 3. Berlin's second (2) gives way to Saxony's (4), who gives way
        # to the only photonics proposal (5).
        funded = [pid for pid in world.proposals if line.suggested[pid] == Outcome.FUND]
        assert funded == [world.proposals[0], world.proposals[2], world.proposals[4]]
        reports = {str(r.constraint.attribute): r for r in line.constraint_reports}
        assert reports["coordinator_state:DE-BE"].places == 2
        assert reports["topic:photonics"].places == 1
        assert all(r.met for r in line.constraint_reports) and line.infeasible == []

    shown = text(officer.get(f"{world.page}/line"))
    assert "At most 1 funded proposal led from Berlin: met by 1 swap, costing 2 places" in shown
    assert "At least 1 funded proposal on the topic Optics and photonics: met by 1 swap" in shown
    assert "Constraints that can never be met" not in shown
    # In German, with the topic's German name and the state's German word.
    with app.app_context():
        speaks_german(world.second_officer)
    german = text(as_person(app, world.second_officer).get(f"{world.page}/line"))
    assert (
        "Höchstens 1 geförderter Antrag mit Koordination in Berlin: erfüllt durch 1 Tausch"
        in german
    )
    assert "Mindestens 1 geförderter Antrag zum Thema Optik und Photonik" in german
    # The rows read back as the officer set them.
    again = text(officer.get(rules_url(world)))
    assert re.search(r'id="constraints-0-maximum"[^>]*value="1"', again)
    assert re.search(r'<option selected value="topic">', again)


def test_an_impossible_quota_is_named_on_the_line_page_and_the_line_is_still_drawn(app):  # type: ignore[no-untyped-def]
    with app.app_context():
        world = quota_world()
    officer = as_person(app, world.officer)

    response = officer.submit(
        rules_url(world),
        fields(
            {"attribute": "topic", "value": "photonics", "minimum": "2"},
            {"attribute": "coordinator_state", "value": "*", "maximum": "1"},
            {"attribute": "coordinator_state", "value": "DE-BE", "minimum": "2"},
        ),
    )
    assert response.status_code == 302, text(response)

    page = text(officer.get(f"{world.page}/line"))

    listed = page[page.index('id="infeasible"') : page.index('id="constraint-table"')]
    assert (
        "At least 2 funded proposals on the topic Optics and photonics: cannot be met: only 1 "
        "fundable proposal on the topic Optics and photonics." in listed
    )
    assert (
        "At least 2 funded proposals led from Berlin: the minimum of 2 is above the maximum "
        "of another constraint: at most 1 funded proposal led from Berlin." in listed
    )
    assert "not met" in page
    with app.app_context():
        line = line_of(world)
        assert sum(1 for o in line.suggested.values() if o == Outcome.FUND) >= 1


def test_a_minimum_above_the_maximum_or_an_unknown_value_is_refused_at_its_row(app):  # type: ignore[no-untyped-def]
    with app.app_context():
        world = quota_world()
        before = dict(db.session.get(Stage, world.stage_id).selection_rules or {})
    officer = as_person(app, world.officer)

    response = officer.submit(
        rules_url(world),
        fields(
            {"attribute": "topic", "value": "*", "minimum": "3", "maximum": "1"},
            {"attribute": "region", "value": "DE-BE", "maximum": "1"},
            {"attribute": "topic", "value": "no-such-topic", "minimum": "1"},
        ),
    )

    page = text(response)
    assert response.status_code == 422
    assert "below at least 3" in error_at(page, "constraints-0-maximum")
    assert "is not a value of" in error_at(page, "constraints-1-value")
    assert "There is no topic 'no-such-topic'." == error_at(page, "constraints-2-value")
    with app.app_context():
        assert (db.session.get(Stage, world.stage_id).selection_rules or {}) == before
