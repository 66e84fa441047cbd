"""The programme dashboard (funnel, money, review progress, deadlines) and the officer's proposal
list (sortable columns, requested funding, export of exactly the filtered list)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from dataclasses import dataclass
from decimal import Decimal

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from competition.accounts.models import Role, User
from competition.assignment.models import AssignmentState
from competition.dashboard import queries as dashboard_queries
from competition.db import utcnow
from competition.extensions import db
from competition.organisations.models import FederalState
from competition.programmes.models import Call, Stage, StageKind
from competition.proposals.models import (
    BudgetLine,
    Proposal,
    ProposalState,
    StageSubmission,
    SubmissionState,
)
from competition.reviews.models import ReviewState
from competition.screening.models import ScreeningResult, Verdict
from competition.selection.models import Decision, DecisionState, Outcome
from tests.factories import (
    make_assignment,
    make_call,
    make_organisation,
    make_programme,
    make_proposal,
    make_review,
    make_stage,
    make_user,
)
from tests.helpers import Person, as_person, person, queries_for_page, text

pytestmark = pytest.mark.postgres

MILLION = Decimal(1_000_000)


@dataclass(frozen=True)
class World:
    officer: Person
    outsider: Person
    juror: Person
    programme_id: int
    round_one: int  # two stages: outline, then full proposal
    round_two: int  # one stage
    outline_id: int
    full_id: int
    proposal_ids: dict[str, int]  # by acronym


def _submission(
    proposal: Proposal, stage: Stage, *, public: Decimal | None = None, at: dt.datetime
) -> StageSubmission:
    submission = StageSubmission(
        proposal_id=proposal.id,
        stage_id=stage.id,
        state=SubmissionState.SUBMITTED,
        submitted_at=at,
        content_hash="0" * 64,
    )
    db.session.add(submission)
    db.session.flush()
    if public is not None:
        member = proposal.members[0]
        for year, share in ((1, Decimal("0.4")), (2, Decimal("0.6"))):
            db.session.add(
                BudgetLine(
                    submission_id=submission.id,
                    member_id=member.id,
                    year=year,
                    public_funding=public * share,
                    own_contribution=Decimal(0),
                )
            )
    return submission


def _decide(
    stage: Stage, proposal: Proposal, outcome: Outcome, *, by, second, confirmed: bool, now
) -> None:
    db.session.add(
        Decision(
            stage_id=stage.id,
            proposal_id=proposal.id,
            outcome=outcome,
            state=DecisionState.CONFIRMED if confirmed else DecisionState.PROPOSED,
            rationale="Because.",
            proposed_by_id=by.id,
            proposed_at=now,
            confirmed_by_id=second.id if confirmed else None,
            confirmed_at=now if confirmed else None,
        )
    )


def _screen(stage: Stage, proposal: Proposal, verdict: Verdict, *, by, now) -> None:
    db.session.add(
        ScreeningResult(
            proposal_id=proposal.id,
            stage_id=stage.id,
            verdict=verdict,
            reason="" if verdict == Verdict.ELIGIBLE else "Late.",
            decided_by_id=by.id,
            decided_at=now,
        )
    )


@pytest.fixture
def world(app) -> World:  # type: ignore[no-untyped-def]
    """Round one: 7 proposals started, 6 submitted, 4 eligible, 3 finalists (a fourth invitation
    only proposed), 2 winners (a third "fund" only proposed) with 1.5 M and 2.25 M requested.
    Round two: 2 started, 1 submitted, nothing decided."""
    now = utcnow()
    with app.app_context():
        officer = make_user(roles=(Role.OFFICER,))
        second = make_user(roles=(Role.OFFICER,))
        outsider = make_user(roles=(Role.OFFICER,))
        make_call(make_programme(officers=(outsider,)))
        juror = make_user(roles=(Role.JUROR,))
        programme = make_programme(officers=(officer, second), total_budget=100 * MILLION)
        one = make_call(programme, name="Round one", round_number=1)
        outline = make_stage(
            one,
            name="Outline",
            opens_at=now - dt.timedelta(days=90),
            closes_at=now - dt.timedelta(days=60),
            reviews_due_at=now - dt.timedelta(days=40),
        )
        full = make_stage(
            one,
            name="Full proposal",
            kind=StageKind.FULL_PROPOSAL,
            opens_at=now - dt.timedelta(days=20),
            closes_at=now + dt.timedelta(days=10),
            reviews_due_at=now + dt.timedelta(days=30),
        )
        two = make_call(programme, name="Round two", round_number=2)
        make_stage(
            two,
            name="Sketch",
            opens_at=now - dt.timedelta(days=5),
            closes_at=now + dt.timedelta(days=3),
        )
        ids = {}
        submitted_at = now - dt.timedelta(days=61)
        proposals = []
        for n in range(7):
            proposal = make_proposal(one, acronym=f"ONE{n}", state=ProposalState.SUBMITTED)
            ids[proposal.acronym] = proposal.id
            proposals.append(proposal)
            if n < 6:
                _submission(proposal, outline, public=Decimal(n + 1) * MILLION, at=submitted_at)
        proposals[6].state = ProposalState.DRAFT
        for n, proposal in enumerate(proposals[:5]):
            _screen(
                outline,
                proposal,
                Verdict.ELIGIBLE if n < 4 else Verdict.INELIGIBLE,
                by=officer,
                now=now,
            )
        for n, proposal in enumerate(proposals[:4]):
            _decide(
                outline,
                proposal,
                Outcome.ADVANCE,
                by=officer,
                second=second,
                confirmed=n < 3,
                now=now,
            )
        for proposal, public in zip(proposals[:3], ("1.5", "2.25", "3.5"), strict=True):
            _submission(
                proposal, full, public=Decimal(public) * MILLION, at=now - dt.timedelta(days=1)
            )
        for n, proposal in enumerate(proposals[:3]):
            _decide(
                full, proposal, Outcome.FUND, by=officer, second=second, confirmed=n < 2, now=now
            )
        # Outline reviews: 4 released and counted (2 submitted, 1 draft, 1 not started), one
        # given back and one not released, which count nowhere.
        for n, proposal in enumerate(proposals[:4]):
            assignment = make_assignment(outline, proposal, make_user(roles=(Role.JUROR,)))
            if n < 2:
                make_review(assignment, state=ReviewState.SUBMITTED)
            elif n == 2:
                make_review(assignment, state=ReviewState.DRAFT)
        make_assignment(outline, proposals[4], juror, declined=True)
        hidden = make_assignment(outline, proposals[5], make_user(roles=(Role.JUROR,)))
        hidden.released_at = None
        hidden.state = AssignmentState.DRAFT
        for n in range(2):
            proposal = make_proposal(two, acronym=f"TWO{n}")
            ids[proposal.acronym] = proposal.id
        sketch = two.stages[0]
        _submission(db.session.get(Proposal, ids["TWO0"]), sketch, at=now)
        db.session.commit()
        return World(
            officer=person(officer),
            outsider=person(outsider),
            juror=person(juror),
            programme_id=programme.id,
            round_one=one.id,
            round_two=two.id,
            outline_id=outline.id,
            full_id=full.id,
            proposal_ids=ids,
        )


def german(app, who: Person) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        db.session.get(User, who.id).locale = "de"
        db.session.commit()


def dashboard(world: World) -> str:
    return f"/programmes/{world.programme_id}/dashboard"


def table_rows(page: str, table_id: str) -> list[list[str]]:
    """The cells (text without tags) of each body row of the table with ``table_id``."""
    table = page[page.index(f'id="{table_id}"') :].split("</table>")[0]
    body = table.split("<tbody>")[1].split("</tbody>")[0] if "<tbody>" in table else table
    return [
        [
            re.sub(r"<[^>]+>", "", cell).strip()
            for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)
        ]
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)
    ]


def row_with_id(page: str, row_id: str) -> list[str]:
    row = page[page.index(f'id="{row_id}"') :].split("</tr>")[0]
    return [
        re.sub(r"<[^>]+>", "", c).strip()
        for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)
    ]


# --- the dashboard ------------------------------------------------------------------------------


def test_officer_sees_each_rounds_funnel_as_a_chart_and_a_table_with_the_worlds_counts(app, world):
    page = text(as_person(app, world.officer).get(dashboard(world)))

    assert table_rows(page, f"funnel-{world.round_one}") == [
        ["Proposals started", "7"],
        ["Submitted", "6"],
        ["Eligible after screening", "4"],
        ["Finalists", "3"],
        ["Selected for funding", "2"],
    ]
    # The chart says the same, with its title and description for screen readers.
    chart = page[page.index(f'aria-labelledby="funnel-{world.round_one}-title') :].split("</svg>")[
        0
    ]
    assert "Proposals of Round one at each step" in chart
    assert (
        "Proposals started: 7; Submitted: 6; Eligible after screening: 4; Finalists: 3; " in chart
    )
    assert chart.count("<rect ") == 5


def test_a_round_of_one_stage_has_no_finalists_step(app, world):
    page = text(as_person(app, world.officer).get(dashboard(world)))

    assert table_rows(page, f"funnel-{world.round_two}") == [
        ["Proposals started", "2"],
        ["Submitted", "1"],
        ["Eligible after screening", "0"],
        ["Selected for funding", "0"],
    ]


def test_money_counts_confirmed_fund_decisions_against_the_programme_total_in_german(app, world):
    german(app, world.officer)

    page = text(as_person(app, world.officer).get(dashboard(world)))

    # 1,5 M + 2,25 M confirmed; the third "fund" is only proposed.
    assert row_with_id(page, "money-total")[1:] == [
        "100.000.000\u00a0€",
        "3.750.000\u00a0€ (3,8\u00a0%)",
        "96.250.000\u00a0€",
    ]
    assert row_with_id(page, f"money-call-{world.round_one}")[2] == "3.750.000\u00a0€"
    assert row_with_id(page, f"money-call-{world.round_two}")[2] == "0\u00a0€"


def test_a_rounds_envelope_is_what_its_money_is_counted_against(app, world, monkeypatch):
    envelopes = {world.round_one: Decimal(3 * MILLION)}
    monkeypatch.setattr(dashboard_queries, "envelope_of", lambda call: envelopes.get(call.id))

    page = text(as_person(app, world.officer).get(dashboard(world)))

    one = row_with_id(page, f"money-call-{world.round_one}")
    assert one[1:] == [
        "3\u202f000\u202f000 EUR",
        "3\u202f750\u202f000 EUR",
        "-750\u202f000 EUR over the envelope",
    ]
    two = row_with_id(page, f"money-call-{world.round_two}")
    assert two[1:] == ["No envelope of its own", "0 EUR", "see the programme"]


def test_envelope_of_reads_a_calls_envelope_and_is_none_without_one(app):
    with app.app_context():
        call = make_call()
        assert dashboard_queries.envelope_of(call) is None
        call.budget_envelope = Decimal("5000000.00")  # as calls will keep it
        assert dashboard_queries.envelope_of(call) == Decimal("5000000.00")
        db.session.rollback()


def test_review_progress_counts_released_reviews_and_those_overdue(app, world):
    page = text(as_person(app, world.officer).get(dashboard(world)))

    outline, full = table_rows(page, f"reviews-{world.round_one}")
    # Released and kept: 4; submitted 2 (50 %); still due 2; overdue 2 (the due date passed).
    assert outline[0] == "Outline"
    assert outline[2:] == ["4", "2 (50%)", "2", "2"]
    assert full[0] == "Full proposal" and full[2:] == ["0", "0", "0", "0"]
    assert f'href="/stages/{world.outline_id}/review-progress"' in page


def test_next_deadlines_are_listed_soonest_first_in_berlin_time(app, world):
    page = text(as_person(app, world.officer).get(dashboard(world)))

    rows = table_rows(page, "deadlines")
    assert [row[1:] for row in rows] == [
        ["Submission closes", "Round two", "Sketch"],
        ["Submission closes", "Round one", "Full proposal"],
        ["Reviews due", "Round one", "Full proposal"],
    ]
    assert all(re.fullmatch(r"\d\d\.\d\d\.\d{4} \d\d:\d\d CES?T", row[0]) for row in rows)


def test_the_dashboard_reads_the_same_few_queries_however_many_proposals(app, world):
    browser = as_person(app, world.officer)
    before = queries_for_page(app, browser, dashboard(world))
    with app.app_context():
        call = db.session.get(Call, world.round_one)
        outline = db.session.get(Stage, world.outline_id)
        for _ in range(15):
            proposal = make_proposal(call)
            _submission(proposal, outline, public=MILLION, at=utcnow())
        db.session.commit()

    assert queries_for_page(app, browser, dashboard(world)) == before
    assert before <= 15


@pytest.mark.parametrize("who", ["outsider", "juror"])
def test_no_one_but_the_programmes_officers_sees_its_dashboard(app, world, who):
    response = as_person(app, getattr(world, who)).get(dashboard(world))

    # Another programme's officer is told nothing exists; a juror is no officer at all.
    assert response.status_code == (404 if who == "outsider" else 403)


def test_the_programme_page_and_the_start_page_link_to_the_dashboard(app, world):
    browser = as_person(app, world.officer)

    assert dashboard(world) in text(browser.get(f"/programmes/{world.programme_id}"))
    assert dashboard(world) in text(browser.get("/"))


# --- the officer's proposal list ----------------------------------------------------------------


def listed(page: str) -> list[str]:
    """The acronyms of the list's rows, in order."""
    return re.findall(r"<td><strong>([^<]+)</strong></td>", page)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["ONE0", "ONE1", "ONE2", "ONE3", "ONE4", "ONE5", "ONE6", "TWO0", "TWO1"]),
        (
            "sort=acronym&dir=desc",
            ["TWO1", "TWO0", "ONE6", "ONE5", "ONE4", "ONE3", "ONE2", "ONE1", "ONE0"],
        ),
        # The full proposal's funding for finalists (its stage opened), the outline's for the
        # others; proposals without a submission last.
        (
            "sort=requested&dir=desc",
            ["ONE5", "ONE4", "ONE3", "ONE2", "ONE1", "ONE0", "TWO0", "TWO1", "ONE6"],
        ),
        (
            "sort=requested&dir=asc",
            ["TWO0", "ONE0", "ONE1", "ONE2", "ONE3", "ONE4", "ONE5", "ONE6", "TWO1"],
        ),
        # Finalists handed in their full proposal last; ties in reverse reference order.
        (
            "sort=submitted&dir=desc&call={round_one}",
            ["ONE2", "ONE1", "ONE0", "ONE5", "ONE4", "ONE3", "ONE6"],
        ),
        ("sort=state&call={round_one}", ["ONE6", "ONE0", "ONE1", "ONE2", "ONE3", "ONE4", "ONE5"]),
    ],
)
def test_officer_sorts_the_list_by_a_column_in_either_direction(app, world, query, expected):
    url = "/proposals?" + query.format(round_one=world.round_one)
    page = text(as_person(app, world.officer).get(url))

    assert listed(page) == expected


def test_the_sorted_columns_header_says_its_direction_and_links_to_the_other(app, world):
    page = text(
        as_person(app, world.officer).get("/proposals?sort=requested&dir=desc&state=submitted")
    )

    header = re.search(
        r'<th scope="col" aria-sort="descending"[^>]*><a href="([^"]+)">([^<]+)</a>', page
    )
    assert header and header.group(2) == "Requested funding"
    assert "sort=requested" in header.group(1) and "dir=asc" in header.group(1)
    assert "state=submitted" in header.group(1)
    assert page.count('aria-sort="none"') == 6


def test_the_list_shows_requested_funding_and_the_submission_time(app, world):
    page = text(as_person(app, world.officer).get(f"/proposals?call={world.round_one}"))

    row = page[page.index("<strong>ONE1</strong>") :].split("</tr>")[0]
    assert "2\u202f250\u202f000 EUR" in row  # the full proposal's, not the outline's
    assert re.search(r"\d\d\.\d\d\.\d{4} \d\d:\d\d CES?T", row)
    row = page[page.index("<strong>ONE6</strong>") :].split("</tr>")[0]
    assert row.count("–") == 2  # no submission: neither funding nor time


def test_a_stage_not_yet_open_leaves_the_list_on_the_previous_submission(app, world):
    with app.app_context():
        db.session.get(Stage, world.full_id).opens_at = utcnow() + dt.timedelta(days=1)
        db.session.commit()

    page = text(as_person(app, world.officer).get(f"/proposals?call={world.round_one}"))

    row = page[page.index("<strong>ONE1</strong>") :].split("</tr>")[0]
    assert "2\u202f000\u202f000 EUR" in row  # the outline's, not the pre-filled full proposal's


def test_the_list_opened_again_shows_what_changed_since(app, world, monkeypatch):
    """A page of rows is rendered once and kept with the rows as read: opened again unchanged
    it is not rendered again; a proposal renamed since, or another language, shows at once."""
    from competition import kept

    rendered = []
    fragment = kept.fragment

    def counted(template, **values):  # type: ignore[no-untyped-def]
        if template == "proposals/_list_rows.html":
            rendered.append(1)
        return fragment(template, **values)

    monkeypatch.setattr(kept, "fragment", counted)
    officer = as_person(app, world.officer)
    url = f"/proposals?call={world.round_one}"

    first, again = text(officer.get(url)), text(officer.get(url))
    assert len(rendered) == 1 and listed(again) == listed(first)

    with app.app_context():
        proposal = db.session.scalar(sa.select(Proposal).where(Proposal.acronym == "ONE1"))
        proposal.title = "Wasserstoff aus der Nordsee"
        db.session.commit()
    renamed = text(officer.get(url))
    assert len(rendered) == 2
    assert (
        "Wasserstoff aus der Nordsee" in renamed.split("<strong>ONE1</strong>")[1].split("</tr>")[0]
    )

    german(app, world.officer)
    in_german = text(officer.get(url))
    assert len(rendered) == 3
    row = in_german[in_german.index("<strong>ONE1</strong>") :].split("</tr>")[0]
    assert "2.250.000\u00a0€" in row and "Eingereicht" in row


@pytest.mark.parametrize(
    "query", ["sort=%00&dir=sideways", "sort=requested';--&dir=DESC", "sort=" + "x" * 500]
)
def test_a_hostile_sort_falls_back_to_the_reference_order(app, world, query):
    response = as_person(app, world.officer).get(f"/proposals?{query}")

    assert response.status_code == 200
    assert listed(text(response))[:3] == ["ONE0", "ONE1", "ONE2"]


def test_sorting_by_funding_costs_no_query_per_row(app, world):
    browser = as_person(app, world.officer)
    by_reference = queries_for_page(app, browser, "/proposals")
    by_funding = queries_for_page(app, browser, "/proposals?sort=requested")

    # The page's funding is one query of its own, or part of the page's query when it sorts.
    assert by_funding == by_reference - 1


def hydrogen_proposals(app, world: World, numbers: range) -> None:  # type: ignore[no-untyped-def]
    """More proposals in round two, each with "Hydrogen" in its title, numbered ``numbers``
    (inserted at once: the search's count stops after a thousand)."""
    with app.app_context():
        call = db.session.get(Call, world.round_two)
        db.session.execute(
            sa.insert(Proposal),
            [
                {
                    "call_id": call.id,
                    "reference": f"{call.reference_prefix}-H{n:04d}",
                    "acronym": f"H2{n:04d}",
                    "title": f"Hydrogen valley {n}",
                    "abstract": "An abstract.",
                    "state": ProposalState.SUBMITTED,
                }
                for n in numbers
            ],
        )
        db.session.commit()


def test_a_search_matching_more_than_a_thousand_says_so_and_pages_to_the_thousandth(app, world):
    hydrogen_proposals(app, world, range(1_000))
    browser = as_person(app, world.officer)
    exactly = text(browser.get("/proposals?q=hydrogen"))
    hydrogen_proposals(app, world, range(1_000, 1_001))

    first = text(browser.get("/proposals?q=hydrogen"))
    beyond = text(browser.get("/proposals?q=hydrogen&page=41"))

    assert 'id="result-count">1000 proposals<' in exactly
    assert 'id="result-count">More than 1,000 proposals<' in first
    assert "Page 1 of 40 (more than 1,000 in all)" in first
    assert listed(first)[:2] == ["H20000", "H20001"]
    # The last page holds the thousandth match, however far the address pages on.
    assert "Page 40 of 40 (more than 1,000 in all)" in beyond
    assert listed(beyond)[-1] == "H20999"
    assert 'rel="next"' not in beyond


def test_a_search_whose_titles_reach_a_thousand_still_counts_a_partners_name(app, world):
    hydrogen_proposals(app, world, range(1_000))
    with app.app_context():
        call = db.session.get(Call, world.round_two)
        partner = make_organisation(name="Hydrogen Partners GmbH")
        make_proposal(call, organisations=(make_organisation(), partner), acronym="PARTNER")
        db.session.commit()

    page = text(as_person(app, world.officer).get("/proposals?q=hydrogen"))

    # A thousand titles, and one more proposal by its partner's name alone.
    assert 'id="result-count">More than 1,000 proposals<' in page


def test_a_german_officer_reads_more_than_a_thousand_the_german_way(app, world):
    hydrogen_proposals(app, world, range(1_001))
    german(app, world.officer)

    page = text(as_person(app, world.officer).get("/proposals?q=hydrogen"))

    assert 'id="result-count">Mehr als 1.000 Anträge<' in page
    assert "Seite 1 von 40 (mehr als 1.000 insgesamt)" in page


def test_a_search_finds_proposals_by_a_partners_name_and_by_reference(app, world):
    with app.app_context():
        call = db.session.get(Call, world.round_two)
        kelp = make_organisation(name="Kelpwerk Nord GmbH")
        by_partner = make_proposal(call, organisations=(make_organisation(), kelp), acronym="KELP")
        other = make_proposal(call, acronym="OTHER")
        reference = other.reference
        db.session.commit()
        assert by_partner.title.lower().find("kelpwerk") < 0
    browser = as_person(app, world.officer)

    by_name = text(browser.get("/proposals?q=KELPWERK"))
    by_reference = text(browser.get(f"/proposals?q={reference.lower()}"))

    assert 'id="result-count">1 proposal<' in by_name
    assert listed(by_name) == ["KELP"]
    assert 'id="result-count">1 proposal<' in by_reference
    assert listed(by_reference) == ["OTHER"]


def test_each_search_and_filter_finds_its_own_rows_however_often_the_list_is_asked(app, world):
    # The list's statements are kept per shape of filter; only the values change between visits.
    with app.app_context():
        call = db.session.get(Call, world.round_two)
        hamburg = make_organisation(federal_state=FederalState.HH, name="Hafenwerk GmbH")
        bremen = make_organisation(federal_state=FederalState.HB, name="Weserwerk GmbH")
        make_proposal(call, organisations=(hamburg,), acronym="FIFTY", title="50% less steel")
        make_proposal(call, organisations=(bremen,), acronym="FIVEHUNDRED", title="500 tons")
        make_proposal(call, organisations=(bremen,), acronym="UNDER", title="A_B cells")
        make_proposal(call, organisations=(hamburg,), acronym="DRAFTED", state=ProposalState.DRAFT)
        db.session.commit()
    browser = as_person(app, world.officer)

    def found(query: str) -> list[str]:
        return listed(text(browser.get(f"/proposals?{query}")))

    # "%" and "_" in the box match themselves, not any text.
    assert found("q=50%25") == ["FIFTY"]
    assert found("q=500") == ["FIVEHUNDRED"]
    assert found("q=a_b") == ["UNDER"]
    assert found("q=ab") == []
    assert found("q=weserwerk") == ["FIVEHUNDRED", "UNDER"]
    assert found("federal_state=DE-HH") == ["FIFTY", "DRAFTED"]
    assert found("federal_state=DE-HB") == ["FIVEHUNDRED", "UNDER"]
    assert found("federal_state=DE-HH&state=draft") == ["DRAFTED"]
    assert found("federal_state=DE-HH&state=submitted") == ["FIFTY"]
    assert found(f"federal_state=DE-HB&call={world.round_one}") == []


# --- exporting the list -------------------------------------------------------------------------


@pytest.fixture
def many(app, world) -> list[str]:  # type: ignore[no-untyped-def]
    """30 more proposals in round two led from Bavaria (more than a page), and the references of
    every proposal that the filter "Bavaria, submitted" finds, in reference order."""
    with app.app_context():
        call = db.session.get(Call, world.round_two)
        bavarian = make_organisation(federal_state=FederalState.BY, name="=cmd|' /C calc'!A0")
        found = []
        for n in range(30):
            state = ProposalState.SUBMITTED if n % 3 else ProposalState.DRAFT
            proposal = make_proposal(
                call,
                organisations=(bavarian, make_organisation()),
                state=state,
                acronym=f"BY{n:02d}",
            )
            if state == ProposalState.SUBMITTED:
                found.append(proposal.reference)
        db.session.commit()
        return sorted(found)


def test_the_filter_by_federal_state_counts_the_proposals_coordinated_from_there(app, world, many):
    with app.app_context():
        call = db.session.get(Call, world.round_two)
        partner = make_organisation(federal_state=FederalState.BY)
        make_proposal(
            call,
            organisations=(make_organisation(), partner),
            state=ProposalState.SUBMITTED,
            acronym="PARTNERBY",
        )
        db.session.commit()

    page = text(as_person(app, world.officer).get("/proposals?state=submitted&federal_state=DE-BY"))

    # A Bavarian partner does not make a proposal Bavarian; its coordinator does.
    assert f'id="result-count">{len(many)} proposals<' in page
    assert "PARTNERBY" not in page


def read_csv(response) -> list[dict[str, str]]:  # type: ignore[no-untyped-def]
    data = response.get_data()
    assert data.startswith(b"\xef\xbb\xbf")
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def test_the_csv_export_holds_exactly_the_filtered_rows_of_every_page(app, world, many):
    browser = as_person(app, world.officer)
    query = "state=submitted&federal_state=DE-BY&sort=reference&dir=desc"
    assert "Page 1 of 1" not in text(browser.get(f"/proposals?{query}"))  # more than a page

    response = browser.get(f"/proposals/export.csv?{query}")

    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    rows = read_csv(response)
    assert [row["Reference"] for row in rows] == list(reversed(many))
    assert rows[0]["Coordinator"] == "'=cmd|' /C calc'!A0"  # neutralised, not a formula
    assert rows[0]["Coordinator's federal state"] == "Bavaria"
    assert rows[0]["State"] == "Submitted" and rows[0]["Partners"] == "2"


def test_the_xlsx_export_keeps_the_lists_columns_and_amounts_as_numbers(app, world):
    browser = as_person(app, world.officer)

    response = browser.get(f"/proposals/export.xlsx?call={world.round_one}&sort=requested&dir=desc")

    sheet = load_workbook(io.BytesIO(response.get_data())).active
    header, *rows = sheet.iter_rows(values_only=True)
    assert header == (
        "Reference",
        "Acronym",
        "Title",
        "Coordinator",
        "Coordinator's federal state",
        "Partners",
        "Topics",
        "State",
        "Requested funding (EUR)",
        "Submitted at (Europe/Berlin)",
    )
    assert [row[1] for row in rows] == ["ONE5", "ONE4", "ONE3", "ONE2", "ONE1", "ONE0", "ONE6"]
    assert rows[0][8] == 6_000_000 and rows[2][8] == 4_000_000
    assert isinstance(rows[0][9], dt.datetime) and rows[-1][8] is None


def test_a_german_officer_exports_with_german_headers(app, world):
    german(app, world.officer)

    rows = read_csv(
        as_person(app, world.officer).get(f"/proposals/export.csv?call={world.round_two}")
    )

    assert list(rows[0])[:3] == ["Aktenzeichen", "Akronym", "Titel"]
    assert rows[0]["Status"] == "Eingereicht"


def test_the_export_never_holds_another_programmes_proposals(app, world):
    rows = read_csv(as_person(app, world.outsider).get("/proposals/export.csv"))

    assert rows == []


@pytest.mark.parametrize("tail", ["export.pdf", "export.csv.exe"])
def test_an_unknown_export_format_is_not_found(app, world, tail):
    assert as_person(app, world.officer).get(f"/proposals/{tail}").status_code == 404


def test_jurors_get_no_export(app, world):
    assert as_person(app, world.juror).get("/proposals/export.csv").status_code == 403


def test_the_list_links_to_its_export_with_its_filters_and_order(app, world):
    page = text(as_person(app, world.officer).get("/proposals?state=submitted&sort=title&dir=desc"))

    link = re.search(r'href="(/proposals/export\.csv\?[^"]+)"', page)
    assert link and all(p in link.group(1) for p in ("state=submitted", "sort=title", "dir=desc"))
