"""Budgets per call: the project years, cost categories, a yearly cap and a round's
envelope, set by an officer on the call form; the budget editor that follows them; associated
partners and subcontractors; the funding line within the round's envelope."""

# ruff: noqa: F811

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade

from competition.accounts.models import User
from competition.db import utcnow
from competition.extensions import db
from competition.programmes.models import Call, Stage
from competition.proposals import operations as ops
from competition.proposals import snapshot
from competition.proposals.models import (
    BudgetLine,
    ConsortiumMember,
    MemberRole,
    Proposal,
    StageSubmission,
)
from competition.selection.line import queries as line_queries
from competition.selection.models import Decision, DecisionState, Outcome
from tests.factories import make_call, make_proposal, make_stage
from tests.helpers import freeze_version
from tests.integration.call_setup_world import (  # noqa: F401  (fixtures)
    Setup,
    call_form,
    field_error,
    officer,
    officer_browser,
    setup,
)
from tests.integration.submission_world import (  # noqa: F401  (the app fixture)
    app,
    build_world,
    editor,
    field_markup,
    form_value,
    log_in,
    post,
    text,
    write_draft,
)
from tests.integration.test_assignment_runs import submit
from tests.integration.test_line import M, Spec, build_line_world, line_of
from tests.integration.test_migrations import MIGRATIONS, fresh_url, migrated  # noqa: F401

# --- the officer sets the budget of a call on the call form -------------------------------


def test_officer_sets_years_categories_yearly_cap_and_envelope_on_the_call_form(
    app, officer_browser, setup: Setup
):  # type: ignore[no-untyped-def]
    response = officer_browser.submit(
        f"/calls/{setup.call_id}/edit",
        call_form(
            budget_years="5",
            max_public_funding_per_year="5,000,000",
            budget_envelope="100,000,000",
            cost_categories="Personnel | Personal\nTravel | Reisen\n\nInvestment",
        ),
    )
    assert response.status_code == 302, field_error(response, "cost_categories")
    with app.app_context():
        call = db.session.get(Call, setup.call_id)
        assert call.budget_years == 5
        assert call.max_public_funding_per_year == Decimal("5000000.00")
        assert call.budget_envelope == Decimal("100000000.00")
        assert call.cost_categories == [
            {"key": "personnel", "name_en": "Personnel", "name_de": "Personal"},
            {"key": "travel", "name_en": "Travel", "name_de": "Reisen"},
            {"key": "investment", "name_en": "Investment", "name_de": ""},
        ]
    page = text(officer_browser.get(f"/programmes/{setup.programme_id}"))
    assert "Personnel, Travel, Investment" in page
    # The form shows what was saved, to be edited again.
    form = text(officer_browser.get(f"/calls/{setup.call_id}/edit"))
    assert "Personnel | Personal\nTravel | Reisen\nInvestment</textarea>" in form
    assert 'name="budget_years" type="text" value="5"' in form or 'value="5"' in form


def test_renaming_a_category_in_german_keeps_its_key(app, officer_browser, setup: Setup):  # type: ignore[no-untyped-def]
    url = f"/calls/{setup.call_id}/edit"
    officer_browser.submit(url, call_form(cost_categories="Personnel | Personal"))
    officer_browser.submit(url, call_form(cost_categories="Travel\nPersonnel | Personalkosten"))
    with app.app_context():
        call = db.session.get(Call, setup.call_id)
        assert [c["key"] for c in call.cost_categories] == ["travel", "personnel"]
        assert call.category_names("de")["personnel"] == "Personalkosten"
        assert call.category_names("de")["travel"] == "Travel"


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"budget_years": "10"}, "budget_years", "from 1 to 9"),
        ({"budget_years": "0"}, "budget_years", "from 1 to 9"),
        ({"budget_years": "five"}, "budget_years", "whole number from 1 to 9"),
        ({"max_public_funding_per_year": "-1"}, "max_public_funding_per_year", "0 euro or more"),
        ({"cost_categories": "Travel | Reisen | Fahrten"}, "cost_categories", "Line 1: write"),
        ({"cost_categories": "Travel\ntravel"}, "cost_categories", "“travel” is named twice"),
        ({"budget_envelope": "-5"}, "budget_envelope", "Enter an envelope of 0 euro or more."),
    ],
)
def test_bad_budget_settings_are_refused_at_the_field_and_nothing_is_saved(
    app, officer_browser, setup: Setup, changes, field, message
):  # type: ignore[no-untyped-def]
    response = officer_browser.submit(f"/calls/{setup.call_id}/edit", call_form(**changes))
    assert response.status_code == 422
    assert message in field_error(response, field)
    with app.app_context():
        call = db.session.get(Call, setup.call_id)
        assert (call.budget_years, call.cost_categories, call.budget_envelope) == (3, [], None)


def test_envelopes_over_the_programme_total_are_refused_at_the_field(
    app, officer_browser, setup: Setup
):  # type: ignore[no-untyped-def]
    with app.app_context():
        call = db.session.get(Call, setup.call_id)
        total = call.programme.total_budget
        make_call(call.programme, round_number=2, budget_envelope=total - 10 * M)
        db.session.commit()
    response = officer_browser.submit(
        f"/calls/{setup.call_id}/edit", call_form(budget_envelope=str(int(10 * M + 1)))
    )
    assert response.status_code == 422
    message = field_error(response, "budget_envelope")
    assert "more than the programme's total budget" in message
    with app.app_context():
        assert db.session.get(Call, setup.call_id).budget_envelope is None
    # Exactly the rest of the total fits.
    response = officer_browser.submit(
        f"/calls/{setup.call_id}/edit", call_form(budget_envelope=str(int(10 * M)))
    )
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(Call, setup.call_id).budget_envelope == 10 * M


def test_a_programme_total_below_its_rounds_envelopes_is_refused_at_the_field(
    app, officer_browser, setup: Setup
):  # type: ignore[no-untyped-def]
    with app.app_context():
        db.session.get(Call, setup.call_id).budget_envelope = 2 * M
        db.session.commit()
    data = {"name": "Renamed", "slug": "renamed", "description": "", "total_budget": "1999999"}
    response = officer_browser.submit(f"/programmes/{setup.programme_id}/edit", data)
    assert response.status_code == 422
    assert "The rounds' envelopes come to" in field_error(response, "total_budget")
    response = officer_browser.submit(
        f"/programmes/{setup.programme_id}/edit", {**data, "total_budget": "2000000"}
    )
    assert response.status_code == 302


def test_fewer_years_after_submissions_ask_to_confirm_what_it_breaks(
    app, officer, officer_browser, setup: Setup
):  # type: ignore[no-untyped-def]
    with app.app_context():
        stage = db.session.get(Stage, setup.stage_id)
        proposal = make_proposal(stage.call)
        submission = StageSubmission(proposal=proposal, stage=stage, sections={"strategy": "x"})
        db.session.add(submission)
        db.session.flush()
        for year in (1, 3):
            submission.budget_lines.append(
                BudgetLine(
                    member=proposal.members[0],
                    year=year,
                    public_funding=Decimal(1000),
                    own_contribution=Decimal(1000),
                )
            )
        db.session.flush()
        freeze_version(
            proposal, submission, submitted_at=utcnow(), by=db.session.get(User, officer.id)
        )
        db.session.commit()
        reference = proposal.reference
    url = f"/calls/{setup.call_id}/edit"
    response = officer_browser.submit(url, call_form(budget_years="2"))
    assert response.status_code == 422
    page = text(response)
    assert reference in page
    assert "Tick the box to save the change anyway" in field_error(response, "confirm_breaking")
    with app.app_context():
        assert db.session.get(Call, setup.call_id).budget_years == 3
    response = officer_browser.submit(
        url, call_form(budget_years="2", confirm_breaking="y", affected_count="1")
    )
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(Call, setup.call_id).budget_years == 2


# --- the budget editor follows the call ---------------------------------------------------


def _draft(**call: object):  # type: ignore[no-untyped-def]
    """A complete draft (one line per partner in year 1), then the call set up as given."""
    world = build_world()
    draft = write_draft(world)
    found = db.session.get(Call, world.call_id)
    for name, value in call.items():
        setattr(found, name, value)
    db.session.commit()
    return world, draft


def test_the_editor_shows_five_years_for_a_five_year_call(app):  # type: ignore[no-untyped-def]
    with app.app_context():
        world, draft = _draft(budget_years=5)
    page = text(log_in(app, world.coordinator).get(editor(draft)))
    assert "Year 5" in page and "Year 6" not in page
    assert f'name="public-m{draft.partner_member_id}-y5"' in page
    assert "this call: 5 years" in page


def test_a_sixth_year_line_is_refused_at_its_cell_and_nothing_is_saved(app):  # type: ignore[no-untyped-def]
    with app.app_context():
        world, draft = _draft(budget_years=5)
    browser = log_in(app, world.coordinator)
    page = text(browser.get(editor(draft)))
    action = f"/proposals/{draft.proposal_id}/budget"
    partner = draft.partner_member_id
    response = post(
        browser,
        action,
        {
            "base_revision": form_value(page, action, "base_revision"),
            f"public-m{partner}-y1": "90000",
            f"own-m{partner}-y1": "40000",
            f"public-m{partner}-y6": "1000",
            f"own-m{partner}-y6": "",
        },
    )
    assert response.status_code == 422
    page = text(response)
    cell = field_markup(page, f"own-m{partner}-y6")
    assert "Budget year outside the call: its budgets run over 5 years." in cell
    assert 'aria-invalid="true"' in field_markup(page, f"public-m{partner}-y6")
    with app.app_context():
        lines = db.session.scalars(
            sa.select(BudgetLine).where(BudgetLine.submission_id == draft.submission_id)
        ).all()
        assert {(line.member_id, line.year, line.public_funding) for line in lines} == {
            (draft.coordinator_member_id, 1, Decimal("100000.00")),
            (partner, 1, Decimal("80000.00")),
        }


def test_categories_appear_as_rows_and_sum_per_partner_and_year(app):  # type: ignore[no-untyped-def]
    categories = [
        {"key": "personnel", "name_en": "Personnel", "name_de": "Personal"},
        {"key": "travel", "name_en": "Travel", "name_de": "Reisen"},
    ]
    with app.app_context():
        world, draft = _draft(cost_categories=categories, budget_years=2)
    browser = log_in(app, world.coordinator)
    page = text(browser.get(editor(draft)))
    partner, coordinator = draft.partner_member_id, draft.coordinator_member_id
    assert f'name="public-m{partner}-cpersonnel-y2"' in page
    assert f'name="own-m{partner}-ctravel-y1"' in page
    # The lines saved before the call had categories stay in view, to be moved.
    assert "Without a cost category" in page
    action = f"/proposals/{draft.proposal_id}/budget"
    response = post(
        browser,
        action,
        {
            "base_revision": form_value(page, action, "base_revision"),
            f"public-m{coordinator}-cpersonnel-y1": "60000",
            f"own-m{coordinator}-cpersonnel-y1": "30000",
            f"public-m{coordinator}-ctravel-y1": "40000",
            f"own-m{coordinator}-ctravel-y2": "20000",
            f"public-m{partner}-cpersonnel-y2": "80000",
            f"own-m{partner}-cpersonnel-y2": "40000",
            f"public-m{coordinator}-y1": "",
            f"own-m{coordinator}-y1": "",
            f"public-m{partner}-y1": "",
            f"own-m{partner}-y1": "",
        },
    )
    assert response.status_code == 302, text(response)
    with app.app_context():
        submission = db.session.get(StageSubmission, draft.submission_id)
        assert {
            (line.member_id, line.category, line.year, line.public_funding, line.own_contribution)
            for line in submission.budget_lines
        } == {
            (coordinator, "personnel", 1, Decimal("60000.00"), Decimal("30000.00")),
            (coordinator, "travel", 1, Decimal("40000.00"), Decimal("0.00")),
            (coordinator, "travel", 2, Decimal("0.00"), Decimal("20000.00")),
            (partner, "personnel", 2, Decimal("80000.00"), Decimal("40000.00")),
        }
        proposal = db.session.get(Proposal, draft.proposal_id)
        content = snapshot.snapshot(proposal, submission)
        # The frozen content keeps the category of each line.
        assert {b.get("category") for b in content["budget"]} == {"personnel", "travel"}
        problems = ops.checklist(proposal, submission, now=utcnow())
        assert not [p for p in problems if p.anchor == "budget"]
    page = text(browser.get(editor(draft)))
    assert "Without a cost category" not in page
    totals = re.search(r"<tfoot>(.*?)</tfoot>", page, re.S).group(1)
    # Year 1: 60,000 + 40,000 public; year 2: 80,000 public; all years 180,000.
    for amount in ("100\u202f000 EUR", "80\u202f000 EUR", "180\u202f000 EUR"):
        assert amount in totals


def test_a_line_in_a_category_the_call_does_not_have_is_refused_at_its_cell(app):  # type: ignore[no-untyped-def]
    with app.app_context():
        world, draft = _draft(
            cost_categories=[{"key": "travel", "name_en": "Travel", "name_de": ""}]
        )
    browser = log_in(app, world.coordinator)
    page = text(browser.get(editor(draft)))
    action = f"/proposals/{draft.proposal_id}/budget"
    coordinator = draft.coordinator_member_id
    response = post(
        browser,
        action,
        {
            "base_revision": form_value(page, action, "base_revision"),
            f"public-m{coordinator}-y1": "1000",
            f"own-m{coordinator}-y1": "",
        },
    )
    assert response.status_code == 422
    assert "Not a cost category of this call" in field_markup(
        text(response), f"own-m{coordinator}-y1"
    )


def test_an_associated_partner_with_public_funding_is_refused_at_its_cell(app):  # type: ignore[no-untyped-def]
    with app.app_context():
        world, draft = _draft()
    browser = log_in(app, world.coordinator)
    response = post(
        browser,
        f"/proposals/{draft.proposal_id}/members",
        {
            "organisation": "Assoziierte Werke AG",
            "new_kind": "large_enterprise",
            "new_federal_state": "DE-BY",
            "role": "associated_partner",
            "contact_name": "",
            "contact_email": "",
        },
    )
    assert response.status_code in (302, 303), text(response)
    with app.app_context():
        member = db.session.scalar(
            sa.select(ConsortiumMember).where(
                ConsortiumMember.proposal_id == draft.proposal_id,
                ConsortiumMember.role == MemberRole.ASSOCIATED_PARTNER,
            )
        )
        associated = member.id
    page = text(browser.get(editor(draft)))
    assert "(Associated partner)" in page
    action = f"/proposals/{draft.proposal_id}/budget"
    response = post(
        browser,
        action,
        {
            "base_revision": form_value(page, action, "base_revision"),
            f"public-m{associated}-y1": "5000",
            f"own-m{associated}-y1": "5000",
        },
    )
    assert response.status_code == 422
    assert "An associated partner receives no public funding" in field_markup(
        text(response), f"own-m{associated}-y1"
    )
    with app.app_context():
        assert not db.session.scalars(
            sa.select(BudgetLine).where(BudgetLine.member_id == associated)
        ).all()
    # Its own contribution alone is welcome.
    page = text(browser.get(editor(draft)))
    response = post(
        browser,
        action,
        {
            "base_revision": form_value(page, action, "base_revision"),
            f"public-m{associated}-y1": "",
            f"own-m{associated}-y1": "5000",
        },
    )
    assert response.status_code == 302


def test_the_checklist_names_years_over_the_yearly_cap(app):  # type: ignore[no-untyped-def]
    with app.app_context():
        world, draft = _draft(max_public_funding_per_year=Decimal("150000"))
        proposal = db.session.get(Proposal, draft.proposal_id)
        submission = db.session.get(StageSubmission, draft.submission_id)
        codes = [p.code for p in ops.checklist(proposal, submission, now=utcnow())]
        assert "budget_over_yearly_cap" in codes
    page = text(log_in(app, world.coordinator).get(editor(draft)))
    assert (
        "Public funding requested for year 1 is 180,000.00 EUR; this call allows at most "
        "150,000.00 EUR per proposal and year." in page
    )


# --- the funding line within the round's envelope -----------------------------------------


def _fund_elsewhere(stage: Stage, amount: Decimal, officer: User, second: User) -> None:
    proposal = make_proposal(stage.call)
    submit(proposal, stage)
    submission = db.session.scalar(
        sa.select(StageSubmission).where(StageSubmission.proposal_id == proposal.id)
    )
    submission.budget_lines.append(
        BudgetLine(member=proposal.members[0], year=1, public_funding=amount, own_contribution=0)
    )
    now = utcnow()
    db.session.add(
        Decision(
            stage_id=stage.id,
            proposal_id=proposal.id,
            outcome=Outcome.FUND,
            rationale="Decided by the panel.",
            proposed_by_id=officer.id,
            proposed_at=now,
            confirmed_by_id=second.id,
            confirmed_at=now,
            state=DecisionState.CONFIRMED,
        )
    )
    db.session.flush()


def test_the_line_spends_the_envelope_less_the_rounds_other_stages(ctx):  # type: ignore[no-untyped-def]
    world = build_line_world([Spec(requested=3 * M)], budget=50 * M)
    stage = world.stage()
    officer, second = world.user(world.officer), world.user(world.second_officer)
    now = utcnow()
    stage.call.budget_envelope = 12 * M
    earlier_stage = make_stage(
        stage.call,
        position=0,
        opens_at=now - dt.timedelta(days=500),
        closes_at=now - dt.timedelta(days=400),
    )
    other_round = make_stage(make_call(stage.call.programme))
    _fund_elsewhere(earlier_stage, 4 * M, officer, second)  # this round: counts twice
    _fund_elsewhere(other_round, 20 * M, officer, second)  # another round: the programme's
    db.session.commit()

    sources = line_queries.budget_sources(stage)
    assert (sources.programme_left, sources.envelope_left) == (26 * M, 8 * M)
    assert line_queries.remaining_budget(stage) == 8 * M
    assert line_of(world).budget == 8 * M

    # Never more than the programme has left.
    stage.call.programme.total_budget = 30 * M
    db.session.commit()
    assert line_queries.remaining_budget(stage) == 6 * M


def test_the_line_page_says_the_round_envelope_limits_it(ctx):  # type: ignore[no-untyped-def]
    world = build_line_world([Spec(requested=3 * M)], budget=50 * M)
    stage = world.stage()
    stage.call.budget_envelope = 5 * M
    db.session.commit()
    response = log_in(ctx, world.officer).get(f"{world.page}/line")
    assert response.status_code == 200
    page = text(response)
    assert "<h1" in page and 'id="money"' in page, re.findall(r"<(?:h1|title)>.*?</", page)
    assert 'id="envelope">5\u202f000\u202f000 EUR<' in page
    assert 'id="available">5\u202f000\u202f000 EUR<' in page
    assert "This round has an envelope of its own" in page


# --- the migration ------------------------------------------------------------------------


def _calls_as_of_0015(conn: sa.Connection) -> None:
    """Three calls whose budgets use up to year 5, up to year 12 and none at all."""
    at = "2026-12-01 10:00:00"
    run = conn.execute
    run(
        sa.text(
            "INSERT INTO programmes (id, slug, name, description, total_budget, currency,"
            " created_at) VALUES (1, 'p', 'P', '', 100, 'EUR', :at)"
        ),
        {"at": at},
    )
    run(
        sa.text(
            "INSERT INTO organisations (id, name, kind, country, created_at)"
            " VALUES (1, 'O', 'sme', 'DE', :at)"
        ),
        {"at": at},
    )
    for n, last_year in ((1, 5), (2, 12), (3, 0)):
        run(
            sa.text(
                "INSERT INTO calls (id, programme_id, round_number, name, reference_prefix,"
                " description, state, funding_rates, region_scope, created_at)"
                " VALUES (:n, 1, :n, 'C', :prefix, '', 'draft', '{}', '[]', :at)"
            ),
            {"n": n, "prefix": f"C{n}", "at": at},
        )
        run(
            sa.text(
                "INSERT INTO stages (id, call_id, position, kind, name, opens_at, closes_at,"
                " required_sections, attachment_rules, reviewers_per_proposal,"
                " max_load_per_juror) VALUES (:n, :n, 1, 'outline', 'S', :at, :closes, '[]', '[]',"
                " 3, 10)"
            ),
            {"n": n, "at": at, "closes": "2026-12-31 10:00:00"},
        )
        run(
            sa.text(
                "INSERT INTO proposals (id, call_id, reference, acronym, title, abstract, state,"
                " created_at, updated_at) VALUES (:n, :n, :ref, 'A', 'T', '', 'draft', :at, :at)"
            ),
            {"n": n, "ref": f"C{n}-0001", "at": at},
        )
        run(
            sa.text(
                "INSERT INTO consortium_members (id, proposal_id, organisation_id, role,"
                " contact_name, contact_email) VALUES (:n, :n, 1, 'coordinator', '', '')"
            ),
            {"n": n},
        )
        run(
            sa.text(
                "INSERT INTO stage_submissions (id, proposal_id, stage_id, state, sections,"
                " updated_at) VALUES (:n, :n, :n, 'draft', '{}', :at)"
            ),
            {"n": n, "at": at},
        )
        for year in range(1, last_year + 1):
            run(
                sa.text(
                    "INSERT INTO budget_lines (submission_id, member_id, year, public_funding,"
                    " own_contribution) VALUES (:n, :n, :year, 10, 5)"
                ),
                {"n": n, "year": year},
            )


@pytest.mark.parametrize("fresh_url", ["sqlite", "postgresql"], indirect=True)
def test_the_migration_gives_calls_the_years_their_budgets_use_and_lines_no_category(fresh_url):  # type: ignore[no-untyped-def]
    with migrated(
        fresh_url, before="0015_topic_names", after="0017_call_budget", rows=_calls_as_of_0015
    ):
        with db.engine.connect() as conn:
            calls = conn.execute(
                sa.text(
                    "SELECT id, budget_years, budget_envelope, max_public_funding_per_year"
                    " FROM calls ORDER BY id"
                )
            ).all()
            assert [tuple(c) for c in calls] == [
                (1, 5, None, None),
                (2, 9, None, None),
                (3, 3, None, None),
            ]
            categories = conn.execute(sa.text("SELECT DISTINCT category FROM budget_lines")).all()
            assert [c[0] for c in categories] == [""]
            conn.execute(
                sa.text("UPDATE consortium_members SET role = 'associated_partner' WHERE id = 1")
            )
            conn.commit()
        downgrade(directory=MIGRATIONS, revision="0015_topic_names")
        with db.engine.connect() as conn:
            role = conn.execute(sa.text("SELECT role FROM consortium_members WHERE id = 1"))
            assert role.scalar_one() == "partner"
            assert conn.execute(sa.text("SELECT count(*) FROM budget_lines")).scalar_one() == 17
