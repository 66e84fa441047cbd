"""Officers set up programmes, calls with their rules, stages and criteria through the web pages;
bad input is refused at the field; a change that would break submitted proposals is only saved
once confirmed, and is audited with the proposals it affects. Runs on PostgreSQL."""

# ruff: noqa: F811

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from competition.accounts.models import Role, User
from competition.audit.models import AuditEvent
from competition.extensions import db
from competition.programmes.forms import parse_attachments, parse_sections
from competition.programmes.models import (
    Call,
    Criterion,
    Programme,
    Stage,
    StageKind,
)
from competition.proposals.models import StageSubmission
from tests.factories import (
    NOW,
    make_call,
    make_programme,
    make_proposal,
    make_user,
)
from tests.helpers import as_person, text
from tests.integration.call_setup_world import (
    CALL,
    CALL_ERRORS,
    CRITERION,
    CRITERION_ERRORS,
    OUTLINE,
    PROGRAMME,
    PROGRAMME_ERRORS,
    STAGE_ERRORS,
    UTC,
    call_form,
    count,
    create_person,
    events,
    field_error,
    id_from,
    officer,  # noqa: F401  (a fixture, found by name)
    officer_browser,  # noqa: F401  (a fixture, found by name)
    set_up_urls,
    setup,  # noqa: F401  (a fixture, found by name)
    submitted,  # noqa: F401  (a fixture, found by name)
)

pytestmark = pytest.mark.postgres


# --- the whole set-up through the pages ---------------------------------------------------


def test_officer_sets_up_a_programme_call_stages_and_criteria(app, officer, officer_browser):
    browser = officer_browser

    response = browser.submit("/programmes/new", PROGRAMME)
    assert response.status_code == 302, field_error(response, "total_budget")
    programme_id = id_from(response.location, r"/programmes/(\d+)")

    response = browser.submit(f"/programmes/{programme_id}/calls/new", CALL)
    assert response.status_code == 302, text(response)
    call_id = id_from(response.location, r"#call-(\d+)")

    stage_ids = []
    for data in (
        OUTLINE,
        {
            **OUTLINE,
            "kind": "full_proposal",
            "name": "Full proposal",
            "opens_at": "2026-10-01T09:00",
            "closes_at": "15.01.2027 12:00",
            "sections": "Cluster strategy | 20000\nWork plan | 30000",
            "attachment_rules": "Detailed budget plan | required | 30 | 10",
            "selection_target": "7",
        },
        {
            **OUTLINE,
            "kind": "hearing",
            "name": "Hearing",
            "opens_at": "2027-03-01T09:00",
            "closes_at": "2027-03-05T18:00",
            "sections": "",
            "attachment_rules": "",
            "selection_target": "",
        },
    ):
        response = browser.submit(f"/calls/{call_id}/stages/new", data)
        assert response.status_code == 302, text(response)
        stage_ids.append(id_from(response.location, r"#stage-(\d+)"))

    for name, weight in (("Quality of the cluster strategy", "2"), ("Consortium", "1")):
        data = {**CRITERION, "name": name, "weight": weight}
        response = browser.submit(f"/stages/{stage_ids[0]}/criteria/new", data)
        assert response.status_code == 302, text(response)

    with app.app_context():
        programme = db.session.get(Programme, programme_id)
        assert programme.name == "Clusters4Future"
        assert programme.slug == "clusters4future"
        assert programme.total_budget == Decimal("630000000")
        # The creator runs the programme.
        assert [row.user_id for row in programme.officer_rows] == [officer.id]

        call = db.session.get(Call, call_id)
        assert call.reference_prefix == "C4F1"
        assert call.max_public_funding_per_proposal == Decimal("45000000")
        assert call.min_private_share == Decimal("0.15")
        assert call.funding_rates == {"sme": "0.5", "university": "1"}
        assert call.region_scope == ["DE-BB", "DE-BE", "DE-MV", "DE-SN", "DE-ST", "DE-TH"]

        outline, full, hearing = call.stages
        assert [s.kind for s in call.stages] == [
            StageKind.OUTLINE,
            StageKind.FULL_PROPOSAL,
            StageKind.HEARING,
        ]
        assert [s.position for s in call.stages] == [1, 2, 3]
        # Entered in Berlin, stored in UTC: summer time is UTC+2, winter time UTC+1.
        assert outline.closes_at == dt.datetime(2026, 6, 30, 10, 0, tzinfo=UTC)
        assert outline.opens_at == dt.datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
        assert full.closes_at == dt.datetime(2027, 1, 15, 11, 0, tzinfo=UTC)
        assert outline.required_sections == [
            {"key": "cluster_strategy", "title": "Cluster strategy", "max_chars": 12000,
             "required": True},
            {"key": "consortium_and_partners", "title": "Consortium and partners",
             "max_chars": 6000, "required": True},
            {"key": "outlook", "title": "Outlook", "max_chars": 3000, "required": False},
        ]  # fmt: skip
        assert outline.attachment_rules == [
            {"key": "letters_of_intent", "title": "Letters of intent", "required": False,
             "max_pages": 20, "max_bytes": 10 * 1024 * 1024},
            {"key": "cvs", "title": "CVs", "required": True, "max_pages": None,
             "max_bytes": int(2.5 * 1024 * 1024)},
        ]  # fmt: skip
        assert (outline.reviewers_per_proposal, outline.max_load_per_juror) == (4, 12)
        assert (outline.selection_target, full.selection_target) == (16, 7)
        assert hearing.selection_target is None and hearing.required_sections == []
        assert [(c.position, c.name, c.weight) for c in outline.criteria] == [
            (1, "Quality of the cluster strategy", Decimal(2)),
            (2, "Consortium", Decimal(1)),
        ]
        criterion = outline.criteria[0]
        assert (criterion.scale_min, criterion.scale_max, criterion.scale_step) == (0, 5, 0.5)
        assert criterion.threshold == Decimal(3)

    actions = [e.action for e in events(app, "programme.created")] + [
        e.action for e in events(app, "call.created")
    ]
    assert actions == ["programme.created", "call.created"]
    assert len(events(app, "stage.added")) == 3
    assert len(events(app, "criterion.added")) == 2

    page = text(browser.get(f"/programmes/{programme_id}"))
    assert "630\u202f000\u202f000 EUR" in page
    assert "45\u202f000\u202f000 EUR" in page
    assert "15%" in page and "at most 50% of their costs" in page
    assert "Saxony-Anhalt" in page and "Thuringia" in page
    assert "01.03.2026 09:00 CET – 30.06.2026 12:00 CEST" in page
    assert "15.01.2027 12:00 CET" in page
    assert "Quality of the cluster strategy" in page and "0 to 5 in steps of 0.5" in page


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("en", ["42.5%", "at most 85.5% of their costs", "2.5\u00a0MB", "1,000", "0.5"]),
        ("de", ["42,5\u00a0%", "85,5\u00a0%", "2,5\u00a0MB", "1.000", "0,5"]),
    ],
)
def test_the_programme_page_writes_shares_sizes_and_numbers_the_readers_way(
    app, officer, setup, locale, expected
):
    with app.app_context():
        db.session.get(User, officer.id).locale = locale
        call = db.session.get(Call, setup.call_id)
        call.min_private_share = Decimal("0.425")
        call.funding_rates = {"university": "0.855"}
        stage = db.session.get(Stage, setup.stage_id)
        stage.attachment_rules = [
            {"key": "cvs", "title": "CVs", "required": True, "max_pages": None,
             "max_bytes": int(2.5 * 1024 * 1024)},
        ]  # fmt: skip
        db.session.commit()

    page = text(as_person(app, officer).get(f"/programmes/{setup.programme_id}"))

    for shown in expected:
        assert shown in page


def test_edit_forms_show_times_in_berlin_and_save_them_in_utc(app, officer_browser, setup):
    edit = f"/calls/{setup.call_id}/stages/{setup.stage_id}/edit"
    data = {**OUTLINE, "opens_at": "2026-12-01T00:00", "closes_at": "2027-02-01T12:00"}
    data["sections"] = "Cluster strategy | 1000"

    response = officer_browser.submit(edit, data)

    assert response.status_code == 302, text(response)
    with app.app_context():
        stage = db.session.get(Stage, setup.stage_id)
        assert stage.opens_at == dt.datetime(2026, 11, 30, 23, 0, tzinfo=UTC)
        assert stage.closes_at == dt.datetime(2027, 2, 1, 11, 0, tzinfo=UTC)
        # The title did not change, so the section keeps its key (and the text written for it).
        assert stage.required_sections[0]["key"] == "strategy"
    form = text(officer_browser.get(edit))
    assert 'value="2027-02-01T12:00"' in form
    assert "Cluster strategy | 1000" in form


@pytest.mark.parametrize(
    ("opens", "closes", "zone"),
    [
        ("2026-06-01T00:00", "2027-07-01T00:00", "CEST"),
        ("2026-11-01T00:00", "2027-01-15T00:00", "CET"),
    ],
)
def test_a_window_typed_at_midnight_reads_midnight_on_every_page(
    app, officer_browser, setup, opens, closes, zone
):
    edit = f"/calls/{setup.call_id}/stages/{setup.stage_id}/edit"
    data = {**OUTLINE, "opens_at": opens, "closes_at": closes}
    data["sections"] = "Cluster strategy | 1000"

    response = officer_browser.submit(edit, data)

    assert response.status_code == 302, text(response)
    opened = dt.datetime.fromisoformat(opens).strftime("%d.%m.%Y")
    shown = f"{opened} 00:00 {zone}"
    closing = dt.datetime.fromisoformat(closes).strftime("%d.%m.%Y")
    closed = f"{closing} 00:00 {'CEST' if zone == 'CEST' else 'CET'}"
    form = text(officer_browser.get(edit))
    assert f'value="{opens}"' in form and f'value="{closes}"' in form
    assert f"Currently open from {shown} until {closed}." in form
    assert f"{shown} – {closed}" in text(officer_browser.get(f"/programmes/{setup.programme_id}"))
    call_page = text(officer_browser.get(f"/calls/{setup.call_id}"))
    assert shown in call_page and closed in call_page
    assert closed in text(officer_browser.get("/calls"))
    for page in (form, call_page):
        assert f"{opened} 02:00" not in page and f"{opened} 01:00" not in page


def test_programme_and_call_edits_are_saved_and_audited(app, officer_browser, setup):
    response = officer_browser.submit(
        f"/programmes/{setup.programme_id}/edit",
        {"name": "Renamed", "slug": "renamed", "description": "", "total_budget": "1000000"},
    )
    assert response.status_code == 302

    with app.app_context():
        programme = db.session.get(Programme, setup.programme_id)
        assert (programme.name, programme.slug, programme.total_budget) == (
            "Renamed",
            "renamed",
            Decimal("1000000"),
        )
    (event,) = events(app, "programme.updated")
    assert event.before["name"] != "Renamed" and event.after["name"] == "Renamed"


def test_criteria_and_stages_move_and_are_removed_after_confirmation(app, officer_browser, setup):
    browser = officer_browser
    response = browser.submit(
        f"/stages/{setup.stage_id}/criteria/new", {**CRITERION, "name": "Impact"}
    )
    assert response.status_code == 302
    programme_page = f"/programmes/{setup.programme_id}"

    response = browser.submit(
        f"/criteria/{setup.criterion_id}/move", {"direction": "down"}, page=programme_page
    )
    assert response.status_code == 302
    with app.app_context():
        stage = db.session.get(Stage, setup.stage_id)
        assert [c.name for c in stage.criteria] == ["Impact", "Excellence"]

    confirm_page = browser.get(f"/criteria/{setup.criterion_id}/delete")
    assert confirm_page.status_code == 200
    assert "Remove the criterion “Excellence”" in text(confirm_page)
    assert count(app, Criterion) == 2  # asking changes nothing
    response = browser.submit(f"/criteria/{setup.criterion_id}/delete", {})
    assert response.status_code == 302
    assert count(app, Criterion) == 1
    assert len(events(app, "criterion.removed")) == 1

    response = browser.submit(f"/stages/{setup.stage_id}/delete", {})
    assert response.status_code == 302
    assert count(app, Stage) == 0 and count(app, Criterion) == 0
    (event,) = events(app, "stage.removed")
    assert event.before["criteria"][0]["name"] == "Impact"


def test_a_stage_with_submissions_cannot_be_removed(app, officer_browser, setup):
    with app.app_context():
        stage = db.session.get(Stage, setup.stage_id)
        proposal = make_proposal(stage.call)
        db.session.add(StageSubmission(proposal=proposal, stage=stage))
        db.session.commit()

    page = officer_browser.get(f"/stages/{setup.stage_id}/delete")
    assert "can no longer be removed" in text(page)
    token_page = f"/programmes/{setup.programme_id}"
    response = officer_browser.submit(f"/stages/{setup.stage_id}/delete", {}, page=token_page)

    assert response.status_code == 422
    assert "can no longer be removed" in text(response)
    assert count(app, Stage) == 1


@pytest.mark.parametrize(("changes", "field", "message"), PROGRAMME_ERRORS)
def test_bad_programme_input_is_refused_at_the_field(app, officer_browser, changes, field, message):
    response = officer_browser.submit("/programmes/new", {**PROGRAMME, **changes})

    assert response.status_code == 422
    assert message in field_error(response, field)
    assert count(app, Programme) == 0
    assert count(app, AuditEvent) == len(events(app, "account.logged_in"))


def test_a_programme_address_is_unique(app, officer_browser):
    assert officer_browser.submit("/programmes/new", PROGRAMME).status_code == 302

    response = officer_browser.submit(
        "/programmes/new", {**PROGRAMME, "name": "Other"} | {"slug": "clusters4future"}
    )

    assert response.status_code == 422
    assert "Another programme already uses “clusters4future”" in field_error(response, "slug")
    assert count(app, Programme) == 1


@pytest.mark.parametrize(("changes", "field", "message"), CALL_ERRORS)
def test_bad_call_input_is_refused_at_the_field(
    app, officer_browser, setup, changes, field, message
):
    data = {**CALL, "round_number": "2", "reference_prefix": "NEW2", **changes}

    response = officer_browser.submit(f"/programmes/{setup.programme_id}/calls/new", data)

    assert response.status_code == 422
    assert message in field_error(response, field)
    assert count(app, Call) == 1
    assert events(app, "call.created") == []


def test_editing_a_call_with_bad_input_changes_nothing(app, officer_browser, setup):
    data = {**CALL, "round_number": "1", "reference_prefix": "SET1", "min_private_share": "150"}

    response = officer_browser.submit(f"/calls/{setup.call_id}/edit", data)

    assert response.status_code == 422
    assert "between 0 and 100 %" in field_error(response, "min_private_share")
    with app.app_context():
        call = db.session.get(Call, setup.call_id)
        assert call.name == "Round one" and call.min_private_share is None
    assert events(app, "call.updated") == events(app, "call.rules_changed") == []


@pytest.mark.parametrize(("changes", "field", "message"), STAGE_ERRORS)
def test_bad_stage_input_is_refused_at_the_field(
    app, officer_browser, setup, changes, field, message
):
    response = officer_browser.submit(f"/calls/{setup.call_id}/stages/new", {**OUTLINE, **changes})

    assert response.status_code == 422
    assert message in field_error(response, field)
    assert count(app, Stage) == 1
    assert events(app, "stage.added") == []


@pytest.mark.parametrize(("changes", "field", "message"), CRITERION_ERRORS)
def test_bad_criterion_input_is_refused_at_the_field(
    app, officer_browser, setup, changes, field, message
):
    url = f"/stages/{setup.stage_id}/criteria/new"

    response = officer_browser.submit(url, {**CRITERION, **changes})

    assert response.status_code == 422
    assert message in field_error(response, field)
    assert count(app, Criterion) == 1
    assert events(app, "criterion.added") == []


def test_every_problem_of_a_criterion_is_shown_at_once(app, officer_browser, setup):
    bad = {**CRITERION, "weight": "0", "scale_min": "1", "scale_max": "4", "scale_step": "2"}
    bad["threshold"] = "9"

    response = officer_browser.submit(f"/criteria/{setup.criterion_id}/edit", bad)

    assert response.status_code == 422
    assert "more than 0" in field_error(response, "weight")
    assert "divide the range from 1 to 4" in field_error(response, "scale_step")
    assert "from 1 to 4" in field_error(response, "threshold")
    with app.app_context():
        assert db.session.get(Criterion, setup.criterion_id).weight == Decimal(1)


def test_line_formats_are_parsed_with_messages_per_line():
    sections, errors = parse_sections("Strategy | 12,000\n\nOutlook|300|optional\nBad line")
    assert [(s.title, s.max_chars, s.required) for s in sections] == [
        ("Strategy", 12000, True),
        ("Outlook", 300, False),
    ]
    assert errors == ["Line 4: write 'Title | max characters', e.g. 'Cluster strategy | 12000'."]

    rules, errors = parse_attachments("CVs | required\nPlan | optional | 30 pages | 1.5 MB")
    assert [(r.title, r.required, r.max_pages, r.max_bytes) for r in rules] == [
        ("CVs", True, None, None),
        ("Plan", False, 30, 1572864),
    ]
    assert errors == []


def test_an_officer_of_another_programme_gets_not_found(app, setup):
    other = create_person(app, Role.OFFICER)
    browser = as_person(app, other)

    for url in set_up_urls(setup):
        response = browser.get(url)
        assert response.status_code == 404, url
        assert "Round one" not in text(response)

    # Changes are refused the same way, with a valid form token from a page they may open.
    for url, data in (
        (f"/calls/{setup.call_id}/edit", {**CALL, "reference_prefix": "SET1"}),
        (f"/stages/{setup.stage_id}/delete", {}),
        (f"/criteria/{setup.criterion_id}/move", {"direction": "down"}),
    ):
        assert browser.submit(url, data, page="/programmes/new").status_code == 404, url
    with app.app_context():
        assert db.session.get(Call, setup.call_id).name == "Round one"
        assert count(app, Stage) == 1


def test_a_stage_is_only_found_under_its_own_call(app, officer_browser, setup):
    with app.app_context():
        other_call = make_call(db.session.get(Programme, setup.programme_id))
        db.session.commit()
        other_call_id = other_call.id

    response = officer_browser.get(f"/calls/{other_call_id}/stages/{setup.stage_id}/edit")

    assert response.status_code == 404


@pytest.mark.parametrize("role", [Role.APPLICANT, Role.JUROR])
def test_applicants_and_jurors_may_not_set_up_calls(app, setup, role):
    browser = as_person(app, create_person(app, role))

    for url in ["/programmes", "/programmes/new", *set_up_urls(setup)]:
        assert browser.get(url).status_code == 403, url
    response = browser.submit("/programmes/new", PROGRAMME, page="/")
    assert response.status_code == 403
    assert count(app, Programme) == 1


def test_operations_check_the_actor_again(app, setup):
    """Tasks and the command line call operations directly; they refuse officers of other
    programmes and people without the officer role just the same."""
    from competition.errors import PermissionDenied
    from competition.programmes import operations as ops

    with app.app_context():
        call = db.session.get(Call, setup.call_id)
        for roles in ((Role.OFFICER,), (Role.APPLICANT,)):
            stranger = make_user(roles=roles)
            with pytest.raises(PermissionDenied):
                ops.update_call(
                    call,
                    actor=stranger,
                    name="Taken over",
                    round_number=1,
                    reference_prefix="SET1",
                    now=NOW,
                )
        applicant = make_user(roles=(Role.APPLICANT,))
        with pytest.raises(PermissionDenied):
            ops.create_programme(actor=applicant, name="Mine", total_budget=Decimal(1), now=NOW)
    assert count(app, Programme) == 1
    assert events(app, "call.updated") == []


def test_an_officer_sees_only_the_programmes_they_run(app, officer_browser, setup):
    with app.app_context():
        make_programme(name="Somebody else's programme")
        db.session.commit()

    page = text(officer_browser.get("/programmes"))

    assert "Round one" in page
    assert "Somebody else's programme" not in page


def test_a_stricter_co_funding_share_warns_and_saves_only_when_confirmed(
    app, officer_browser, setup, submitted
):
    low, high = submitted
    url = f"/calls/{setup.call_id}/edit"

    warned = officer_browser.submit(url, call_form(min_private_share="50"))

    assert warned.status_code == 422
    page = text(warned)
    assert "This change affects submitted proposals" in page
    assert low.reference in page and low.acronym in page
    assert "Own and private contributions are 20 % of the total budget" in page
    assert high.reference not in page
    assert "I understand that 1 submitted proposal no longer meets the rules" in page
    assert 'name="affected_count" type="hidden" value="1"' in page
    with app.app_context():
        assert db.session.get(Call, setup.call_id).min_private_share == Decimal("0.1")
    assert events(app, "call.rules_changed") == []

    # Posting again without the tick, or with a count that is no longer right, still warns.
    for extra in ({"affected_count": "1"}, {"confirm_breaking": "y", "affected_count": "2"}):
        again = officer_browser.submit(url, call_form(min_private_share="50", **extra))
        assert again.status_code == 422
        assert "Tick the box to save the change anyway" in field_error(again, "confirm_breaking")
    with app.app_context():
        assert db.session.get(Call, setup.call_id).min_private_share == Decimal("0.1")

    confirmed = officer_browser.submit(
        url, call_form(min_private_share="50", confirm_breaking="y", affected_count="1")
    )

    assert confirmed.status_code == 302
    with app.app_context():
        assert db.session.get(Call, setup.call_id).min_private_share == Decimal("0.5")
    (event,) = events(app, "call.rules_changed")
    assert event.object_type == "call" and event.object_id == str(setup.call_id)
    assert event.before["min_private_share"] == "0.1"
    assert event.after["min_private_share"] == "0.5"
    assert event.after["affected_proposals"] == [low.reference]


def test_rule_changes_that_break_nothing_save_at_once_and_are_audited(
    app, officer_browser, setup, submitted
):
    url = f"/calls/{setup.call_id}/edit"
    rules = {"min_private_share": "15", "max_public_funding_per_proposal": "1,000,000"}

    looser = officer_browser.submit(url, call_form(**rules))
    renamed = officer_browser.submit(url, call_form(**rules, name="Round 1"))
    unchanged = officer_browser.submit(url, call_form(**rules, name="Round 1"))

    assert looser.status_code == renamed.status_code == unchanged.status_code == 302
    (rules_event,) = events(app, "call.rules_changed")
    assert rules_event.before["min_private_share"] == "0.1"
    assert rules_event.after["min_private_share"] == "0.15"
    assert rules_event.after["max_public_funding_per_proposal"] == "1000000"
    assert rules_event.after["affected_proposals"] == []
    # A change of anything else is audited as an update; saving without a change is not.
    (updated,) = events(app, "call.updated")
    assert (updated.before["name"], updated.after["name"]) == ("Round one", "Round 1")


def test_a_shorter_section_limit_warns_about_longer_submitted_text(
    app, officer_browser, setup, submitted
):
    low, high = submitted
    url = f"/calls/{setup.call_id}/stages/{setup.stage_id}/edit"
    data = {
        **OUTLINE,
        "opens_at": "2026-10-01T09:00",
        "closes_at": "2026-12-31T12:00",
        "sections": "Cluster strategy | 500",
        "attachment_rules": "",
    }

    warned = officer_browser.submit(url, data)

    assert warned.status_code == 422
    page = text(warned)
    assert low.reference in page and high.reference not in page
    assert "“Cluster strategy” is 800 characters long; the limit is 500." in page
    with app.app_context():
        assert db.session.get(Stage, setup.stage_id).required_sections[0]["max_chars"] == 1000

    confirmed = officer_browser.submit(
        url, {**data, "confirm_breaking": "y", "affected_count": "1"}
    )

    assert confirmed.status_code == 302
    with app.app_context():
        sections = db.session.get(Stage, setup.stage_id).required_sections
        assert sections == [
            {"key": "strategy", "title": "Cluster strategy", "max_chars": 500, "required": True}
        ]
    (event,) = events(app, "stage.rules_changed")
    assert event.after["affected_proposals"] == [low.reference]


def test_a_new_required_document_warns_about_every_submitted_proposal(
    app, officer_browser, setup, submitted
):
    low, high = submitted
    url = f"/calls/{setup.call_id}/stages/{setup.stage_id}/edit"
    data = {
        **OUTLINE,
        "opens_at": "2026-10-01T09:00",
        "closes_at": "2026-12-31T12:00",
        "sections": "Cluster strategy | 1000",
        "attachment_rules": "CVs | required | 10 | 5",
    }

    warned = officer_browser.submit(url, data)

    assert warned.status_code == 422
    page = text(warned)
    assert low.reference in page and high.reference in page
    assert "I understand that 2 submitted proposals no longer meet the rules" in page
    assert "Upload “CVs”; this document is required." in page
    assert events(app, "stage.rules_changed") == events(app, "stage.updated") == []


def test_a_regional_scope_that_excludes_the_coordinator_warns(
    app, officer_browser, setup, submitted
):
    url = f"/calls/{setup.call_id}/edit"

    # The coordinators are in Saxony (the factory's default): the east includes them...
    eastern = officer_browser.submit(url, call_form(eastern_states="y"))
    # ...Bavaria alone does not.
    bavaria = officer_browser.submit(url, call_form(eastern_states="", region_scope="DE-BY"))

    assert eastern.status_code == 302
    assert bavaria.status_code == 422
    assert "this call is open only to consortia coordinated from Bavaria" in text(bavaria)
    with app.app_context():
        assert "DE-BY" not in db.session.get(Call, setup.call_id).region_scope
