"""A proposal after it is started, through the web client on PostgreSQL: withdrawal, contributors,
saves that meet, input kept across an expired session, the next stage, and who may see and
change a proposal. The world is in submission_world.py."""

# ruff: noqa: F811

from __future__ import annotations

import datetime as dt
import re
import secrets
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa

from competition.accounts.models import Role, UserSession
from competition.audit.models import AuditEvent
from competition.db import utcnow
from competition.errors import DomainError, PermissionDenied
from competition.extensions import db
from competition.notifications.models import NotificationState
from competition.programmes.models import Call, Stage
from competition.proposals import operations as ops
from competition.proposals.models import (
    Attachment,
    BudgetLine,
    ConsortiumMember,
    DeadlineExtension,
    Proposal,
    ProposalContributor,
    ProposalInvitation,
    ProposalState,
    StageSubmission,
    SubmissionState,
    SubmissionVersion,
)
from tests.conftest import Browser, csrf_from
from tests.factories import (
    PASSWORD,
    make_programme,
    make_stage,
    make_user,
)
from tests.integration.submission_world import (
    ATTACHMENTS,
    CONFLICT_TEXT,
    DEADLINE_TEXT,
    KEPT_TEXT,
    STRATEGY,
    add_applicant,
    add_contributor,
    app,  # noqa: F401  (a fixture, found by name)
    build_world,
    count,
    editor,
    extension_form,
    field_markup,
    form_value,
    log_in,
    mails,
    passed_deadline,
    post,
    section_url,
    sections_of,
    submit,
    text,
    upload,
    user,
    write_draft,
)
from tests.unit import upload_samples

pytestmark = pytest.mark.postgres


def test_an_extension_needs_a_reason_and_a_later_deadline(app):  # type: ignore[no-untyped-def]
    with app.app_context():
        closes_at = utcnow() + dt.timedelta(days=3)
        world = build_world(closes_at=closes_at)
        draft = write_draft(world)
    officer = log_in(app, world.officer)
    url = f"/proposals/{draft.proposal_id}/extensions"

    no_reason = post(
        officer, url, extension_form(world.stage_id, closes_at + dt.timedelta(days=1), "")
    )
    assert "Give the reason." in text(officer.get(no_reason.headers["Location"]))
    earlier = post(
        officer, url, extension_form(world.stage_id, closes_at - dt.timedelta(days=1), "Illness.")
    )
    assert "The new deadline must be later than the stage's deadline." in text(
        officer.get(earlier.headers["Location"])
    )
    with app.app_context():
        with pytest.raises(DomainError) as refused:
            ops.grant_extension(
                db.session.get(Proposal, draft.proposal_id),
                db.session.get(Stage, world.stage_id),
                actor=user(world.officer),
                closes_at=utcnow() - dt.timedelta(days=1),
                reason="Illness.",
                now=utcnow(),
            )
        assert refused.value.errors == {
            "closes_at": [
                "The new deadline must be later than the stage's deadline.",
                "The new deadline must be in the future.",
            ]
        }
        assert count(DeadlineExtension) == 0
        assert count(AuditEvent, AuditEvent.action == "proposal.extension_granted") == 0
        assert mails("proposals/extension") == []


# --- withdrawal ---------------------------------------------------------------------------------


def test_the_coordinator_withdraws_after_a_confirmation_page(app):  # type: ignore[no-untyped-def]
    with app.app_context():
        world = build_world()
        draft = write_draft(world)
        submit(draft, world.coordinator)
    browser = log_in(app, world.coordinator)
    url = f"/proposals/{draft.proposal_id}/withdraw"
    confirmation = text(browser.get(url))
    assert "Withdraw the proposal</button>" in confirmation and "cannot be undone" in confirmation
    with app.app_context():
        assert db.session.get(Proposal, draft.proposal_id).state == ProposalState.SUBMITTED

    response = post(browser, url, {"reason": "We found another funder."})
    assert response.status_code == 302
    with app.app_context():
        proposal = db.session.get(Proposal, draft.proposal_id)
        assert proposal.state == ProposalState.WITHDRAWN
        assert (
            db.session.get(StageSubmission, draft.submission_id).state == SubmissionState.WITHDRAWN
        )
        event = db.session.scalar(
            sa.select(AuditEvent).where(AuditEvent.action == "proposal.withdrawn")
        )
        assert event.personal["after"]["reason"] == "We found another funder."
        assert len(mails("proposals/withdrawn")) == 1

    page = text(browser.get(editor(draft)))
    assert "This proposal was withdrawn; it can no longer be changed." in page
    edited = post(browser, section_url(draft), {"text": "Changed.", "base_revision": "1"})
    assert edited.status_code == 303
    resubmitted = post(
        browser,
        f"/proposals/{draft.proposal_id}/submit",
        {"idempotency_key": secrets.token_urlsafe(24)},
    )
    assert resubmitted.status_code == 403
    with app.app_context():
        assert sections_of(draft)["strategy"] == STRATEGY
        assert count(SubmissionVersion) == 1


def test_a_contributor_cannot_withdraw(app):  # type: ignore[no-untyped-def]
    with app.app_context():
        world = build_world()
        draft = write_draft(world)
    contributor = add_contributor(app, draft)
    browser = log_in(app, contributor)
    url = f"/proposals/{draft.proposal_id}/withdraw"
    assert "Only the coordinator can withdraw the proposal." in text(browser.get(url))
    response = post(browser, url, {"reason": ""})
    assert response.status_code == 403
    assert "Only the coordinator can withdraw the proposal." in text(response)
    with app.app_context():
        assert db.session.get(Proposal, draft.proposal_id).state == ProposalState.DRAFT


@pytest.mark.parametrize(
    "decided", [ProposalState.INELIGIBLE, ProposalState.REJECTED, ProposalState.FUNDED]
)
def test_a_decided_proposal_cannot_be_withdrawn(app, decided):  # type: ignore[no-untyped-def]
    with app.app_context():
        world = build_world()
        draft = write_draft(world)
        submit(draft, world.coordinator)
        db.session.get(Proposal, draft.proposal_id).state = decided
        db.session.commit()
    browser = log_in(app, world.coordinator)
    url = f"/proposals/{draft.proposal_id}/withdraw"
    message = "A decision has been made; the proposal can no longer be withdrawn."
    assert message in text(browser.get(url))
    response = post(browser, url, {"reason": ""})
    assert response.status_code == 403
    assert message in text(response)
    with app.app_context():
        assert db.session.get(Proposal, draft.proposal_id).state == decided
        assert mails("proposals/withdrawn") == []


@pytest.mark.parametrize(
    ("state", "because"),
    [
        (ProposalState.SUBMITTED, DEADLINE_TEXT),
        (ProposalState.WITHDRAWN, "This proposal was withdrawn; it can no longer be changed."),
        (ProposalState.REJECTED, "This proposal was not selected; it can no longer be changed."),
        (
            ProposalState.INELIGIBLE,
            "This proposal did not pass the formal check; it can no longer be changed.",
        ),
        (
            ProposalState.FUNDED,
            "This proposal was selected for funding; it can no longer be changed.",
        ),
    ],
)
def test_a_closed_proposal_opens_without_editing_controls_and_says_why(app, state, because):  # type: ignore[no-untyped-def]
    world, draft = passed_deadline(app)
    with app.app_context():
        closes_at = db.session.get(Stage, world.stage_id).closes_at
        submit(draft, world.coordinator, now=closes_at - dt.timedelta(minutes=1))
        db.session.get(Proposal, draft.proposal_id).state = state
        db.session.commit()
    browser = log_in(app, world.coordinator)

    page = text(browser.get(editor(draft)))

    assert re.search(
        rf'<p class="flash flash-info" role="status" id="read-only">{re.escape(because)}</p>', page
    )
    for control in ("Save", "Save the budget", "Upload", "Add to the consortium", "Remove"):
        assert f">{control}</button>" not in page, control
    assert "Review and submit" not in page
    assert "Before you submit" not in page and 'id="checklist-body"' not in page
    # What was written stays readable.
    assert STRATEGY in page


# --- contributors -------------------------------------------------------------------------------


def test_an_invited_contributor_edits_the_draft_but_cannot_submit(app):  # type: ignore[no-untyped-def]
    with app.app_context():
        world = build_world()
        draft = write_draft(world)
    helper = add_applicant(app, email="helper@example.org")
    coordinator = log_in(app, world.coordinator)
    invited = post(
        coordinator, f"/proposals/{draft.proposal_id}/contributors", {"email": "Helper@Example.org"}
    )
    assert invited.status_code == 302
    with app.app_context():
        (mail,) = mails("proposals/contributor_invitation")
        assert mail.to_address == helper and mail.state == NotificationState.SENT
        link = re.search(r"https?://\S+(/contributions/\S+)", mail.body_text).group(1)

    browser = Browser(app.test_client())
    asked = browser.get(link)
    assert asked.status_code == 302 and urlsplit(asked.headers["Location"]).path == "/login"
    logged_in = browser.submit("/login", {"email": helper, "password": PASSWORD, "next": link})
    assert logged_in.headers["Location"] == link
    assert "helper@example.org" in text(browser.get(link))
    joined = post(browser, link, {})
    assert joined.headers["Location"].endswith(editor(draft))

    page = browser.get(editor(draft)).get_data(as_text=True)
    saved = post(
        browser,
        section_url(draft, "partners"),
        {
            "text": "Written by the helper.",
            "base_revision": form_value(page, section_url(draft, "partners"), "base_revision"),
        },
    )
    assert saved.status_code == 302
    assert "Only the coordinator can submit the proposal." in text(
        browser.get(f"/proposals/{draft.proposal_id}/submit")
    )
    refused = post(
        browser,
        f"/proposals/{draft.proposal_id}/submit",
        {"idempotency_key": secrets.token_urlsafe(24)},
    )
    assert refused.status_code == 403
    assert "Only the coordinator can submit the proposal." in text(refused)
    with app.app_context():
        assert sections_of(draft)["partners"] == "Written by the helper."
        assert count(SubmissionVersion) == 0
        invitation = db.session.scalar(sa.select(ProposalInvitation))
        assert invitation.accepted_by_id == user(helper).id


def test_an_invitation_link_does_not_work_for_another_address(app):  # type: ignore[no-untyped-def]
    with app.app_context():
        world = build_world()
        draft = write_draft(world)
    coordinator = log_in(app, world.coordinator)
    post(
        coordinator, f"/proposals/{draft.proposal_id}/contributors", {"email": "helper@example.org"}
    )
    with app.app_context():
        (mail,) = mails("proposals/contributor_invitation")
        link = re.search(r"https?://\S+(/contributions/\S+)", mail.body_text).group(1)
    intruder = log_in(app, add_applicant(app))
    response = post(intruder, link, {})
    assert response.status_code == 302
    assert "This invitation was sent to helper@example.org." in text(
        intruder.get(response.headers["Location"])
    )
    assert intruder.get(editor(draft)).status_code == 404
    with app.app_context():
        assert count(ProposalContributor, ProposalContributor.proposal_id == draft.proposal_id) == 1


# --- saves that meet ------------------------------------------------------------------------------


def test_the_second_of_two_conflicting_section_saves_is_told_and_keeps_its_text(app):  # type: ignore[no-untyped-def]
    with app.app_context():
        world = build_world()
        draft = write_draft(world)
    first = log_in(app, world.coordinator)
    second = log_in(app, add_contributor(app, draft))
    first_page = first.get(editor(draft)).get_data(as_text=True)
    second_page = second.get(editor(draft)).get_data(as_text=True)
    base = form_value(first_page, section_url(draft), "base_revision")
    assert form_value(second_page, section_url(draft), "base_revision") == base

    saved = post(first, section_url(draft), {"text": "First writer's text.", "base_revision": base})
    assert saved.status_code == 302
    clash = post(
        second, section_url(draft), {"text": "Second writer's text.", "base_revision": base}
    )
    assert clash.status_code == 409
    page = text(clash)
    at_field = field_markup(page, "text")
    assert CONFLICT_TEXT in at_field
    assert re.search(r'<textarea id="text-strategy"[^>]*>Second writer\'s text\.</textarea>', page)
    assert "First writer's text." in at_field, "the saved version is shown for comparison"
    with app.app_context():
        assert sections_of(draft)["strategy"] == "First writer's text."


def test_an_autosaved_section_does_not_make_the_open_budget_form_stale(app):  # type: ignore[no-untyped-def]
    with app.app_context():
        world = build_world()
        draft = write_draft(world)
    browser = log_in(app, world.coordinator)
    page = browser.get(editor(draft)).get_data(as_text=True)
    budget = f"/proposals/{draft.proposal_id}/budget"
    autosaved = post(
        browser,
        section_url(draft),
        {"text": "Typed, then saved by the script.", "base_revision": "1"},
        headers={"Accept": "application/json"},
    )
    assert autosaved.status_code == 200
    response = post(
        browser,
        budget,
        {
            "base_revision": form_value(page, budget, "base_revision"),
            f"public-m{draft.coordinator_member_id}-y1": "90000",
            f"own-m{draft.coordinator_member_id}-y1": "45000",
            f"public-m{draft.partner_member_id}-y1": "80000",
            f"own-m{draft.partner_member_id}-y1": "40000",
        },
    )
    assert response.status_code == 302
    with app.app_context():
        line = db.session.scalar(
            sa.select(BudgetLine).where(BudgetLine.member_id == draft.coordinator_member_id)
        )
        assert line.public_funding == Decimal("90000.00")


def test_a_budget_saved_after_someone_else_changed_the_consortium_is_refused_and_kept(app):  # type: ignore[no-untyped-def]
    with app.app_context():
        world = build_world()
        draft = write_draft(world)
    first = log_in(app, world.coordinator)
    second = log_in(app, add_contributor(app, draft))
    budget = f"/proposals/{draft.proposal_id}/budget"
    base = form_value(second.get(editor(draft)).get_data(as_text=True), budget, "base_revision")
    added = post(
        first,
        f"/proposals/{draft.proposal_id}/members",
        {
            "organisation": "Dritte AG",
            "new_kind": "sme",
            "new_federal_state": "DE-TH",
            "role": "partner",
        },
    )
    assert added.status_code == 302
    response = post(
        second,
        budget,
        {
            "base_revision": base,
            f"public-m{draft.coordinator_member_id}-y1": "12345",
            f"own-m{draft.coordinator_member_id}-y1": "6789",
        },
    )
    assert response.status_code == 409
    page = text(response)
    assert "The consortium or budget was changed by someone else while you were editing." in page
    assert 'value="12345"' in field_markup(page, f"public-m{draft.coordinator_member_id}-y1")
    with app.app_context():
        line = db.session.scalar(
            sa.select(BudgetLine).where(BudgetLine.member_id == draft.coordinator_member_id)
        )
        assert line.public_funding == Decimal("100000.00")


def test_autosave_answers_json_with_the_revision_and_a_conflict_flag(app):  # type: ignore[no-untyped-def]
    with app.app_context():
        world = build_world()
        draft = write_draft(world, complete=False)
    browser = log_in(app, world.coordinator)
    json_headers = {"Accept": "application/json"}
    saved = post(
        browser,
        section_url(draft),
        {"text": "Draft one.", "base_revision": "0"},
        headers=json_headers,
    )
    assert saved.status_code == 200
    assert saved.json["revision"] == 1
    again = post(
        browser,
        section_url(draft),
        {"text": "Draft two.", "base_revision": "1"},
        headers=json_headers,
    )
    assert again.json["revision"] == 2
    stale = post(
        browser, section_url(draft), {"text": "Stale.", "base_revision": "1"}, headers=json_headers
    )
    assert stale.status_code == 409
    assert stale.json["conflict"] is True
    assert CONFLICT_TEXT in stale.json["error"]
    with app.app_context():
        assert sections_of(draft)["strategy"] == "Draft two."


# --- an expired session --------------------------------------------------------------------------


def test_a_section_posted_after_the_session_expired_is_kept_until_the_next_login(app):  # type: ignore[no-untyped-def]
    with app.app_context():
        world = build_world()
        draft = write_draft(world)
    browser = log_in(app, world.coordinator)
    page = browser.get(editor(draft)).get_data(as_text=True)
    csrf = csrf_from(page)
    revision = form_value(page, section_url(draft), "base_revision")
    with app.app_context():
        db.session.execute(
            sa.update(UserSession).values(last_seen_at=utcnow() - dt.timedelta(minutes=31))
        )
        db.session.commit()

    typed = "Typed while the session quietly ended."
    response = browser.client.post(
        section_url(draft),
        data={"csrf_token": csrf, "text": typed, "base_revision": revision},
        headers={"Referer": f"http://localhost{editor(draft)}"},
    )
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert location.path == "/login"
    assert parse_qs(location.query) == {"next": [editor(draft)]}
    assert KEPT_TEXT in text(browser.get(response.headers["Location"]))
    with app.app_context():
        assert sections_of(draft)["strategy"] == STRATEGY

    logged_in = browser.submit(
        "/login", {"email": world.coordinator, "password": PASSWORD, "next": editor(draft)}
    )
    assert logged_in.headers["Location"] == editor(draft)
    page = text(browser.get(editor(draft)))
    assert re.search(rf'<textarea id="text-strategy"[^>]*>{typed}</textarea>', page)
    assert "Your session had ended before your last save." in page
    with app.app_context():
        assert sections_of(draft)["strategy"] == STRATEGY, "kept, not saved behind the user's back"
    # Shown once: the next visit shows the saved text again.
    assert re.search(
        rf'<textarea id="text-strategy"[^>]*>{STRATEGY}</textarea>',
        text(browser.get(editor(draft))),
    )


def test_kept_input_is_shown_only_to_the_account_whose_session_ended(app):  # type: ignore[no-untyped-def]
    with app.app_context():
        world = build_world()
        draft = write_draft(world)
    colleague = add_contributor(app, draft)
    browser = log_in(app, world.coordinator)
    page = browser.get(editor(draft)).get_data(as_text=True)
    with app.app_context():
        db.session.execute(
            sa.update(UserSession).values(last_seen_at=utcnow() - dt.timedelta(minutes=31))
        )
        db.session.commit()
    typed = "Only for the coordinator's eyes."
    browser.client.post(
        section_url(draft),
        data={"csrf_token": csrf_from(page), "text": typed, "base_revision": "1"},
        headers={"Referer": f"http://localhost{editor(draft)}"},
    )
    # Someone else logs in on the same browser and opens the same proposal.
    browser.submit("/login", {"email": colleague, "password": PASSWORD})
    assert typed not in text(browser.get(editor(draft)))
    browser.logout()
    browser.submit("/login", {"email": world.coordinator, "password": PASSWORD})
    assert typed in text(browser.get(editor(draft)))


def test_autosave_answers_with_what_is_still_to_do(app):  # type: ignore[no-untyped-def]
    with app.app_context():
        world = build_world()
        draft = write_draft(world, complete=False)
    browser = log_in(app, world.coordinator)
    headers = {"Accept": "application/json"}
    emptied = post(browser, section_url(draft), {"text": "", "base_revision": "0"}, headers=headers)
    anchors = {p["anchor"] for p in emptied.json["problems"]}
    assert "section-strategy" in anchors
    written = post(
        browser,
        section_url(draft),
        {"text": "A strategy.", "base_revision": str(emptied.json["revision"])},
        headers=headers,
    )
    assert written.status_code == 200
    assert "section-strategy" not in {p["anchor"] for p in written.json["problems"]}
    assert all(p["message"] for p in written.json["problems"])


def test_autosave_after_the_session_expired_answers_401(app):  # type: ignore[no-untyped-def]
    with app.app_context():
        world = build_world()
        draft = write_draft(world)
    browser = log_in(app, world.coordinator)
    csrf = csrf_from(browser.get(editor(draft)).get_data(as_text=True))
    with app.app_context():
        db.session.execute(
            sa.update(UserSession).values(last_seen_at=utcnow() - dt.timedelta(minutes=31))
        )
        db.session.commit()
    response = browser.client.post(
        section_url(draft),
        data={"csrf_token": csrf, "text": "Autosaved.", "base_revision": "1"},
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 401
    with app.app_context():
        assert sections_of(draft)["strategy"] == STRATEGY


# --- the next stage ------------------------------------------------------------------------------


def test_an_advancing_proposal_gets_the_next_stage_prefilled_and_one_invitation(app):  # type: ignore[no-untyped-def]
    with app.app_context():
        world = build_world()
        now = utcnow()
        full = make_stage(
            db.session.get(Call, world.call_id),
            name="Full proposal",
            opens_at=now - dt.timedelta(hours=1),
            closes_at=now + dt.timedelta(days=30),
            required_sections=[
                {"key": "strategy", "title": "Strategy", "max_chars": 5000},
                {"key": "workplan", "title": "Work plan", "max_chars": 5000},
            ],
            attachment_rules=ATTACHMENTS,
        )
        db.session.commit()
        full_id = full.id
        draft = write_draft(world)
        submit(draft, world.coordinator)
        proposal = db.session.get(Proposal, draft.proposal_id)

        with pytest.raises(PermissionDenied):
            ops.open_next_stage(proposal, actor=user(world.coordinator), now=utcnow())
        submission = ops.open_next_stage(proposal, actor=user(world.officer), now=utcnow())
        assert submission.stage_id == full_id
        assert submission.sections == {"strategy": STRATEGY}
        assert sorted(
            (line.member_id, line.year, line.public_funding, line.own_contribution)
            for line in submission.budget_lines
        ) == sorted(
            [
                (draft.coordinator_member_id, 1, Decimal("100000.00"), Decimal("50000.00")),
                (draft.partner_member_id, 1, Decimal("80000.00"), Decimal("40000.00")),
            ]
        )
        assert db.session.get(Proposal, draft.proposal_id).state == ProposalState.ADVANCED
        with pytest.raises(DomainError, match="last stage"):
            ops.open_next_stage(
                db.session.get(Proposal, draft.proposal_id), actor=user(world.officer), now=utcnow()
            )
        (mail,) = mails("proposals/next_stage")
        assert mail.to_address == world.coordinator and mail.state == NotificationState.SENT
        assert '"Full proposal"' in mail.body_text
        assert f"/proposals/{draft.proposal_id}/edit" in mail.body_text

    page = text(log_in(app, world.coordinator).get(editor(draft)))
    assert "Full proposal" in page
    assert re.search(rf'<textarea id="text-strategy"[^>]*>{STRATEGY}</textarea>', page)
    assert re.search(r'<textarea id="text-workplan"[^>]*></textarea>', page)


# --- who may see and change a proposal -----------------------------------------------------------


def test_nobody_outside_the_consortium_or_the_programme_reaches_a_proposal(app):  # type: ignore[no-untyped-def]
    with app.app_context():
        world = build_world()
        draft = write_draft(world)
        submit(draft, world.coordinator)
        # An applicant with a proposal of their own in another call.
        other_world = build_world(organisation="TU Dresden")
        write_draft(other_world, complete=False)
        budget_revision = db.session.get(StageSubmission, draft.submission_id).revision
        juror = make_user(roles=(Role.JUROR,))
        stranger = make_user(roles=(Role.OFFICER,))
        make_programme(officers=(stranger,))
        db.session.commit()
        outsiders = {
            "applicant of another consortium": other_world.coordinator,
            "juror": juror.email,
            "officer of another programme": stranger.email,
        }
    p = draft.proposal_id
    pages = [
        f"/proposals/{p}/edit",
        f"/proposals/{p}/submit",
        f"/proposals/{p}/versions",
        f"/proposals/{p}/versions/1",
        f"/proposals/{p}/versions/1?stage={world.stage_id}",
        f"/proposals/{p}",
        f"/proposals/{p}/withdraw",
        f"/attachments/{draft.attachment_id}",
    ]
    changes = {
        f"/proposals/{p}/general": {"acronym": "HACK", "title": "Hacked", "abstract": "x"},
        f"/proposals/{p}/sections/strategy": {"text": "Hacked.", "base_revision": "1"},
        f"/proposals/{p}/members": {
            "organisation": "Hack Ltd",
            "new_kind": "sme",
            "new_federal_state": "DE-SN",
            "role": "partner",
        },
        f"/proposals/{p}/members/{draft.partner_member_id}/remove": {},
        f"/proposals/{p}/budget": {
            "base_revision": str(budget_revision),
            f"public-m{draft.coordinator_member_id}-y1": "1",
        },
        f"/proposals/{p}/attachments/{draft.attachment_id}/remove": {},
        f"/proposals/{p}/contributors": {"email": "accomplice@example.org"},
        f"/proposals/{p}/submit": {"idempotency_key": "k" * 32},
        f"/proposals/{p}/withdraw": {"reason": "Hacked."},
        f"/proposals/{p}/extensions": extension_form(
            world.stage_id, utcnow() + dt.timedelta(days=9), "Hacked."
        ),
    }
    for who, email in outsiders.items():
        browser = log_in(app, email)
        for url in pages:
            status = browser.get(url).status_code
            assert status in (403, 404), f"{who} GET {url}: {status}"
            if who == "applicant of another consortium":
                assert status == 404, f"{who} GET {url}: {status}"
        for url, data in changes.items():
            status = post(browser, url, data).status_code
            assert status in (403, 404), f"{who} POST {url}: {status}"
        status = upload(browser, draft, upload_samples.pdf_with_pages(1)).status_code
        assert status in (403, 404), f"{who} uploads: {status}"

    with app.app_context():
        proposal = db.session.get(Proposal, p)
        assert (proposal.acronym, proposal.state) == ("GRID", ProposalState.SUBMITTED)
        assert sections_of(draft)["strategy"] == STRATEGY
        assert count(ConsortiumMember, ConsortiumMember.proposal_id == p) == 2
        assert count(Attachment, Attachment.removed_at.is_(None)) == 1
        assert count(SubmissionVersion) == 1
        assert count(ProposalInvitation) == count(DeadlineExtension) == 0

    # The coordinator and the programme's officer do reach what is theirs.
    coordinator = log_in(app, world.coordinator)
    officer = log_in(app, world.officer)
    for url in pages:
        assert coordinator.get(url).status_code == 200, url
    for url in pages:
        if "/edit" not in url and "/submit" not in url and "/withdraw" not in url:
            assert officer.get(url).status_code == 200, url
