"""The decision pages on PostgreSQL: an officer proposes outcomes in bulk (or for one proposal)
through a preview that changes nothing, a second officer confirms through a preview; the
proposer can never confirm, and applicants see nothing before publication."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
import sqlalchemy as sa

from competition.accounts.models import Role, User
from competition.audit.models import AuditEvent
from competition.db import utcnow
from competition.extensions import db
from competition.programmes.models import ProgrammeOfficer, Stage
from competition.selection.decisions import operations as decisions_operations
from competition.selection.decisions import queries as decisions_queries
from competition.selection.decisions.queries import version_of
from competition.selection.line import queries as line_queries
from competition.selection.models import Decision, Outcome, Ranking, SnapshotState
from tests.conftest import Browser, csrf_from
from tests.factories import make_user
from tests.helpers import as_person, text
from tests.integration.test_assignment_runs import World
from tests.integration.test_rankings import rank, reviewed_world

SECOND = "otto@office.test"
RATIONALE = "Top of the ranking, convincing strategy and consortium."
TARGET = 3


# --- reading pages --------------------------------------------------------------------------------


class _Forms(HTMLParser):
    """The forms of a page with the values a browser would send (hidden inputs, ticked and
    enabled boxes, text areas), and each box's disabled state."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, object]] = []
        self.boxes: dict[str, dict[str, str | None]] = {}
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "form":
            self.forms.append({"action": a.get("action") or "", "fields": []})
        elif tag == "input" and self.forms:
            fields = self.forms[-1]["fields"]
            assert isinstance(fields, list)
            kind = a.get("type")
            if kind == "checkbox":
                self.boxes[a.get("id") or ""] = a
                if "checked" in a and "disabled" not in a:
                    fields.append((a.get("name"), a.get("value")))
            elif kind == "hidden" and a.get("name"):
                fields.append((a["name"], a.get("value") or ""))
        elif tag == "textarea" and self.forms:
            self._textarea = a.get("name")

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            fields = self.forms[-1]["fields"]
            assert isinstance(fields, list)
            # As browsers do, drop the one line break that follows the opening tag.
            fields.append((self._textarea, data.removeprefix("\r\n").removeprefix("\n")))

    def handle_endtag(self, tag: str) -> None:
        if tag == "textarea":
            self._textarea = None


def parse(page: str) -> _Forms:
    parser = _Forms()
    parser.feed(page)
    return parser


def form_data(page: str, action: str) -> dict[str, list[str]]:
    """What submitting the page's form for ``action`` (a path) sends."""
    for form in parse(page).forms:
        if str(form["action"]).split("?")[0] == action:
            data: dict[str, list[str]] = {}
            for name, value in form["fields"]:  # type: ignore[union-attr]
                data.setdefault(name, []).append(value)
            return data
    raise AssertionError(f"no form posts to {action}")


def row_ids(page: str, table: str) -> list[int]:
    body = page.split(f'id="{table}"', 1)[1].split("</table>", 1)[0]
    return [int(i) for i in re.findall(r'<tr id="[a-z]+-(\d+)"', body)]


# --- the world ------------------------------------------------------------------------------------


def build() -> World:
    """``reviewed_world`` with a second officer on the programme, a line that advances the best
    three, and a finished ranking."""
    world = reviewed_world()
    stage = db.session.get(Stage, world.stage_id)
    stage.selection_rules = {"funding": False}
    stage.selection_target = TARGET
    second = make_user(roles=(Role.OFFICER,), email=SECOND, name="Otto")
    db.session.add(ProgrammeOfficer(programme_id=stage.call.programme_id, user_id=second.id))
    db.session.commit()
    ranking = rank(world)
    db.session.refresh(ranking)
    assert ranking.state == SnapshotState.DONE, ranking.message
    return world


@pytest.fixture
def world(app) -> World:  # type: ignore[no-untyped-def]
    with app.app_context():
        return build()


def base(world: World) -> str:
    return f"/calls/{world.call_id}/stages/{world.stage_id}/selection"


def user(email: str) -> User:
    found = db.session.scalar(sa.select(User).where(User.email == email))
    assert found is not None
    return found


def ranking_of(world: World) -> Ranking:
    found = db.session.scalar(
        sa.select(Ranking).where(Ranking.stage_id == world.stage_id).order_by(Ranking.id.desc())
    )
    assert found is not None
    return found


def ranked_ids(app, world: World) -> list[int]:  # type: ignore[no-untyped-def]
    with app.app_context():
        return [row["proposal_id"] for row in ranking_of(world).result["proposals"]]


def suggested(app, world: World) -> dict[int, Outcome]:  # type: ignore[no-untyped-def]
    with app.app_context():
        stage = db.session.get(Stage, world.stage_id)
        return dict(line_queries.draw(stage, ranking_of(world)).suggested)


def references(app, ids: list[int]) -> list[str]:  # type: ignore[no-untyped-def]
    from competition.proposals.models import Proposal

    with app.app_context():
        return [db.session.get(Proposal, i).reference for i in ids]


def decisions(app) -> list[Decision]:  # type: ignore[no-untyped-def]
    with app.app_context():
        found = list(db.session.scalars(sa.select(Decision).order_by(Decision.proposal_id)))
        db.session.expunge_all()
        return found


def events(app, action: str) -> list[AuditEvent]:  # type: ignore[no-untyped-def]
    with app.app_context():
        found = list(db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action)))
        db.session.expunge_all()
        return found


def preview(browser: Browser, world: World, **fields: object):  # type: ignore[no-untyped-def]
    return browser.submit(
        f"{base(world)}/decisions/preview", fields, page=f"{base(world)}/decisions"
    )


def propose_through_pages(browser: Browser, world: World, **fields: object) -> str:
    """Preview, then press the preview's button; returns the preview page."""
    shown = preview(browser, world, **fields)
    assert shown.status_code == 200, text(shown)
    page = text(shown)
    committed = browser.client.post(
        f"{base(world)}/decisions", data=form_data(page, f"{base(world)}/decisions")
    )
    assert committed.status_code == 303, text(committed)
    return page


def propose_directly(app, world: World, ids: list[int], outcome: Outcome = Outcome.ADVANCE) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        decisions_operations.propose_decisions(
            db.session.get(Stage, world.stage_id),
            ids,
            outcome=outcome,
            rationale=RATIONALE,
            actor=user(world.officer),
            now=utcnow(),
        )


# --- the list -------------------------------------------------------------------------------------


def test_the_list_shows_every_proposal_in_rank_order_with_the_lines_suggestion(app, world):
    officer = as_person(app, world.officer)

    page = text(officer.get(f"{base(world)}/decisions"))

    order = ranked_ids(app, world)
    assert row_ids(page, "decisions") == order
    lines = suggested(app, world)
    assert sorted(lines.values()).count(Outcome.ADVANCE) == TARGET
    for proposal_id in order:
        row = page.split(f'id="proposal-{proposal_id}"', 1)[1].split("</tr>", 1)[0]
        label = "Advance to the next stage" if lines[proposal_id] == Outcome.ADVANCE else "Reject"
        assert f'<td class="suggested">{label}</td>' in row
        assert "No decision yet" in row
    assert "6 without a decision" in page


def test_without_a_ranking_the_list_goes_by_reference_and_suggests_nothing(app):
    with app.app_context():
        world = reviewed_world()
    officer = as_person(app, world.officer)

    page = text(officer.get(f"{base(world)}/decisions"))

    assert row_ids(page, "decisions") == world.proposals
    assert "No ranking has been computed yet" in page
    assert 'name="suggested"' not in page


def test_search_narrows_the_list(app, world):
    officer = as_person(app, world.officer)
    [reference] = references(app, [world.proposals[2]])

    page = text(officer.get(f"{base(world)}/decisions", query_string={"q": reference}))

    assert row_ids(page, "decisions") == [world.proposals[2]]


def test_the_list_is_paginated_and_ticks_on_other_pages_are_kept(app, world, monkeypatch):
    monkeypatch.setattr(decisions_queries, "PER_PAGE", 4)
    officer = as_person(app, world.officer)
    order = ranked_ids(app, world)

    first = text(officer.get(f"{base(world)}/decisions"))
    second = text(officer.get(f"{base(world)}/decisions", query_string={"page": 2}))

    assert row_ids(first, "decisions") == order[:4]
    assert row_ids(second, "decisions") == order[4:]
    assert "Page 1 of 2 (6 in all)" in first
    # Back from a preview to the first page, with a tick made on the second.
    back = text(
        preview(
            officer,
            world,
            proposals=[str(order[5])],
            outcome="reject",
            rationale=RATIONALE,
            edit="1",
        )
    )
    carried = form_data(back, f"{base(world)}/decisions/preview")
    assert carried["proposals"] == [str(order[5])]
    assert "1 proposal ticked on other pages of the list stays chosen." in back


# --- proposing ------------------------------------------------------------------------------------


def test_a_bulk_preview_shows_the_count_and_the_list_and_commits_nothing(app, world):
    officer = as_person(app, world.officer)
    lines = suggested(app, world)
    chosen = [p for p in ranked_ids(app, world) if lines[p] == Outcome.ADVANCE]

    response = preview(officer, world, suggested="advance", outcome="advance", rationale=RATIONALE)

    assert response.status_code == 200
    page = text(response)
    assert f"Propose {TARGET} decisions?" in page
    assert row_ids(page, "preview") == chosen
    assert RATIONALE in page
    assert decisions(app) == []
    assert events(app, "decision.proposed") == []


def test_the_confirm_button_of_the_preview_proposes_them_all(app, world):
    officer = as_person(app, world.officer)
    lines = suggested(app, world)
    chosen = sorted(p for p in lines if lines[p] == Outcome.ADVANCE)

    propose_through_pages(
        officer, world, suggested="advance", outcome="advance", rationale=RATIONALE
    )

    made = decisions(app)
    assert [d.proposal_id for d in made] == chosen
    with app.app_context():
        officer_id, officer_name = user(world.officer).id, user(world.officer).name
        ranking_id = ranking_of(world).id
    assert {(d.outcome, d.rationale, d.proposed_by_id, d.ranking_id) for d in made} == {
        (Outcome.ADVANCE, RATIONALE, officer_id, ranking_id)
    }
    assert all(d.confirmed_at is None for d in made)
    [event] = events(app, "decision.proposed")
    assert sorted(event.after["proposals"]) == chosen
    page = text(officer.get(f"{base(world)}/decisions"))
    assert f"{TARGET} proposed and waiting for a second officer" in page
    row = page.split(f'id="proposal-{chosen[0]}"', 1)[1].split("</tr>", 1)[0]
    assert f"Proposed by {officer_name} (you)" in row
    assert RATIONALE in row


def test_a_single_proposal_is_proposed_the_same_way(app, world):
    officer = as_person(app, world.officer)
    target = world.proposals[0]

    page = propose_through_pages(
        officer, world, proposals=[str(target)], outcome="reject", rationale=RATIONALE
    )

    assert "Propose 1 decision?" in page
    assert [(d.proposal_id, d.outcome) for d in decisions(app)] == [(target, Outcome.REJECT)]


def test_a_short_rationale_is_refused_at_the_field_and_nothing_typed_is_lost(app, world):
    officer = as_person(app, world.officer)
    ticked = world.proposals[:2]

    response = preview(
        officer, world, proposals=[str(p) for p in ticked], outcome="reject", rationale="too short"
    )

    assert response.status_code == 422
    page = text(response)
    error = page.split('id="rationale-error"', 1)[1].split("</p>", 1)[0]
    assert "at least 10 characters" in error
    assert "too short</textarea>" in page
    boxes = parse(page).boxes
    assert {p for p in world.proposals if "checked" in boxes[f"pick-{p}"]} == set(ticked)
    assert decisions(app) == []


def test_choosing_nothing_is_refused_with_a_message(app, world):
    officer = as_person(app, world.officer)

    response = preview(officer, world, outcome="reject", rationale=RATIONALE)

    assert response.status_code == 422
    assert "Choose at least one proposal" in text(response)


def test_changing_the_choice_from_the_preview_keeps_what_was_typed(app, world):
    officer = as_person(app, world.officer)
    page = text(
        preview(
            officer,
            world,
            proposals=[str(world.proposals[1])],
            outcome="reject",
            rationale=RATIONALE,
        )
    )
    data = form_data(page, f"{base(world)}/decisions/preview")

    back = officer.client.post(f"{base(world)}/decisions/preview", data=data)

    assert back.status_code == 200
    again = text(back)
    assert "checked" in parse(again).boxes[f"pick-{world.proposals[1]}"]
    assert f"{RATIONALE}</textarea>" in again
    assert decisions(app) == []


def test_a_decision_confirmed_between_preview_and_commit_is_refused_clearly(app, world):
    officer = as_person(app, world.officer)
    target, other = world.proposals[4], world.proposals[5]
    page = text(
        preview(
            officer,
            world,
            proposals=[str(target), str(other)],
            outcome="reject",
            rationale=RATIONALE,
        )
    )
    propose_directly(app, world, [target], Outcome.ADVANCE)
    with app.app_context():
        [decision] = db.session.scalars(sa.select(Decision))
        decisions_operations.confirm_decisions(
            db.session.get(Stage, world.stage_id), [decision.id], actor=user(SECOND), now=utcnow()
        )
    [reference] = references(app, [target])

    response = officer.client.post(
        f"{base(world)}/decisions", data=form_data(page, f"{base(world)}/decisions")
    )

    assert response.status_code == 409  # changed meanwhile
    shown = text(response)
    assert f"Already confirmed, so they cannot be changed here: {reference}." in shown
    assert f"{RATIONALE}</textarea>" in shown
    assert "checked" in parse(shown).boxes[f"pick-{other}"]
    assert [(d.proposal_id, d.outcome) for d in decisions(app)] == [(target, Outcome.ADVANCE)]


def test_a_confirmed_decision_is_no_longer_offered_and_is_refused(app, world):
    target = world.proposals[3]
    propose_directly(app, world, [target])
    with app.app_context():
        [decision] = db.session.scalars(sa.select(Decision))
        decisions_operations.confirm_decisions(
            db.session.get(Stage, world.stage_id), [decision.id], actor=user(SECOND), now=utcnow()
        )
    officer = as_person(app, world.officer)

    page = text(officer.get(f"{base(world)}/decisions"))
    response = preview(
        officer, world, proposals=[str(target)], outcome="reject", rationale=RATIONALE
    )

    assert f"pick-{target}" not in parse(page).boxes
    row = page.split(f'id="proposal-{target}"', 1)[1].split("</tr>", 1)[0]
    assert "confirmed by Otto" in row
    assert response.status_code == 409
    assert "Already confirmed" in text(response)
    assert [d.outcome for d in decisions(app)] == [Outcome.ADVANCE]


# --- confirming -----------------------------------------------------------------------------------


def test_the_proposer_sees_their_decisions_disabled_and_cannot_confirm_them(app, world):
    propose_directly(app, world, world.proposals[:2])
    officer = as_person(app, world.officer)
    [first, second] = decisions(app)

    page = text(officer.get(f"{base(world)}/confirm"))

    for decision in (first, second):
        assert "disabled" in parse(page).boxes[f"pick-{decision.id}"]
        row = page.split(f'id="decision-{decision.id}"', 1)[1].split("</tr>", 1)[0]
        assert "You proposed this; another officer must confirm it." in row
    assert "you can confirm 0 of them" in page

    asked = officer.submit(
        f"{base(world)}/confirm/preview",
        {"decisions": [str(first.id)], "scope": "selected"},
        page=f"{base(world)}/confirm",
    )
    assert asked.status_code == 403
    assert "another officer must confirm it" in text(asked)

    forced = officer.submit(
        f"{base(world)}/confirm",
        {"versions": [version_of(first.id, first.proposed_at)]},
        page=f"{base(world)}/confirm",
    )
    assert forced.status_code == 403
    assert "another officer must confirm them" in text(forced)
    assert all(d.confirmed_at is None for d in decisions(app))
    assert events(app, "decision.confirmed") == []


def test_a_second_officer_confirms_after_a_preview(app, world):
    officer = as_person(app, world.officer)
    propose_through_pages(
        officer, world, suggested="advance", outcome="advance", rationale=RATIONALE
    )
    second = as_person(app, SECOND)
    confirm = f"{base(world)}/confirm"

    page = text(second.get(confirm))
    made = decisions(app)
    assert all("disabled" not in parse(page).boxes[f"pick-{d.id}"] for d in made)
    shown = second.submit(f"{confirm}/preview", {"scope": "all"}, page=confirm)

    assert shown.status_code == 200
    preview_page = text(shown)
    assert f"Confirm {TARGET} decisions?" in preview_page
    assert sorted(row_ids(preview_page, "preview")) == sorted(d.id for d in made)
    assert all(d.confirmed_at is None for d in decisions(app))

    done = second.client.post(confirm, data=form_data(preview_page, confirm))

    assert done.status_code == 303
    with app.app_context():
        second_id = user(SECOND).id
    assert {(d.confirmed_by_id, d.confirmed_at is not None) for d in decisions(app)} == {
        (second_id, True)
    }
    [event] = events(app, "decision.confirmed")
    assert sorted(event.after["decisions"]) == sorted(d.id for d in made)
    assert f"{TARGET} confirmed" in text(officer.get(f"{base(world)}/decisions"))


def test_a_decision_proposed_anew_after_the_preview_is_not_confirmed_unseen(app, world):
    propose_directly(app, world, world.proposals[:1])
    second = as_person(app, SECOND)
    confirm = f"{base(world)}/confirm"
    preview_page = text(second.submit(f"{confirm}/preview", {"scope": "all"}, page=confirm))
    propose_directly(app, world, world.proposals[:1], Outcome.REJECT)

    response = second.client.post(confirm, data=form_data(preview_page, confirm))

    assert response.status_code == 409
    assert "Proposed again with a new outcome or rationale" in text(response)
    [decision] = decisions(app)
    assert decision.confirmed_at is None and decision.outcome == Outcome.REJECT


def test_choosing_no_decision_to_confirm_is_refused_with_a_message(app, world):
    propose_directly(app, world, world.proposals[:1])
    second = as_person(app, SECOND)

    response = second.submit(
        f"{base(world)}/confirm/preview", {"scope": "selected"}, page=f"{base(world)}/confirm"
    )

    assert response.status_code == 422
    assert "Choose at least one decision to confirm." in text(response)


# --- applicants -----------------------------------------------------------------------------------


def _without_tokens(page: str) -> str:
    token = csrf_from(page)
    return page.replace(token, "")


@pytest.mark.parametrize("outcome", [Outcome.ADVANCE, Outcome.REJECT])
def test_the_applicant_sees_no_trace_of_a_decision_before_publication(app, world, outcome):
    applicant = as_person(app, world.applicant)
    own = f"/proposals/{world.proposals[0]}"
    before = text(applicant.get(own))
    home_before = text(applicant.get("/"))
    [reference] = references(app, world.proposals[:1])
    assert reference in before  # the applicant does see their proposal

    propose_directly(app, world, world.proposals[:1], outcome)
    proposed = text(applicant.get(own))
    with app.app_context():
        [decision] = db.session.scalars(sa.select(Decision))
        decisions_operations.confirm_decisions(
            db.session.get(Stage, world.stage_id), [decision.id], actor=user(SECOND), now=utcnow()
        )
    confirmed = text(applicant.get(own))
    home_after = text(applicant.get("/"))

    for page in (proposed, confirmed):
        assert RATIONALE not in page
        assert _without_tokens(page) == _without_tokens(before)
    assert _without_tokens(home_after) == _without_tokens(home_before)
    words = ("Advance", "advanced", "Reject", "rejected", "Fund", "Reserve", "decision")
    for word in words:
        assert (word in confirmed) == (word in before), word


# --- access ---------------------------------------------------------------------------------------


def test_an_officer_of_another_programme_gets_404(app, world):
    propose_directly(app, world, world.proposals[:1])
    other = as_person(app, world.other_officer)

    for path in ("/decisions", "/confirm"):
        assert other.get(f"{base(world)}{path}").status_code == 404, path
    for path in ("/decisions/preview", "/decisions", "/confirm/preview", "/confirm"):
        response = other.submit(
            f"{base(world)}{path}",
            {"proposals": [str(world.proposals[1])], "outcome": "reject", "rationale": RATIONALE},
            page="/",
        )
        assert response.status_code == 404, path
    assert len(decisions(app)) == 1


@pytest.mark.parametrize("who", ["juror", "applicant"])
def test_jurors_and_applicants_are_refused(app, world, who):
    email = "ben@jury.test" if who == "juror" else world.applicant
    browser = as_person(app, email)

    for path in ("/decisions", "/confirm"):
        assert browser.get(f"{base(world)}{path}").status_code == 403, path
    for path in ("/decisions/preview", "/decisions", "/confirm/preview", "/confirm"):
        response = browser.submit(
            f"{base(world)}{path}",
            {"proposals": [str(world.proposals[1])], "outcome": "reject", "rationale": RATIONALE},
            page="/",
        )
        assert response.status_code == 403, path
    assert decisions(app) == []
