"""The applicant's side of a call, through the web client on PostgreSQL: starting a proposal,
saving every part with errors shown at the field, the checklist, frozen and hashed versions with
receipts, idempotent and repeated submission, the server's deadline and individual extensions,
withdrawal, contributors, conflicting saves, input kept across an expired session, the next
stage, and who may see any of it. Operations are called directly where the web adds nothing."""

# ruff: noqa: F811

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from decimal import Decimal

import pytest
import sqlalchemy as sa

from competition.accounts.models import Role, User
from competition.audit.models import AuditEvent
from competition.berlin import berlin_time
from competition.core.uploads import UploadLimits, UploadRefused, check_pdf
from competition.db import utcnow
from competition.errors import DomainError, PermissionDenied
from competition.extensions import db
from competition.notifications.models import NotificationState
from competition.organisations.models import Organisation
from competition.programmes.models import Call, Programme, Stage, StageKind
from competition.proposals import operations as ops
from competition.proposals import snapshot
from competition.proposals.models import (
    Attachment,
    BudgetLine,
    ConsortiumMember,
    ContributorRole,
    DeadlineExtension,
    Proposal,
    ProposalState,
    StageSubmission,
    SubmissionState,
    SubmissionVersion,
)
from competition.proposals.queries import list_open_stages, open_stage
from tests.factories import (
    make_call,
    make_programme,
    make_proposal,
    make_stage,
    make_user,
)
from tests.integration.submission_world import (
    CV_PDF,
    DEADLINE_TEXT,
    PARTNERS,
    REGISTRY_ORGANISATION,
    STRATEGY,
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
    submit_key,
    text,
    token,
    upload,
    user,
    write_draft,
)
from tests.unit import upload_samples

pytestmark = pytest.mark.postgres


# --- starting a proposal -------------------------------------------------------------------------


def test_an_applicant_starts_a_proposal_from_the_call_page(app):  # type: ignore[no-untyped-def]
    with app.app_context():
        world = build_world()
    browser = log_in(app, world.coordinator)
    assert f'href="/calls/{world.call_id}"' in browser.get("/calls").get_data(as_text=True)
    call_page = text(browser.get(f"/calls/{world.call_id}"))
    assert "Start a proposal" in call_page

    refused = browser.submit(
        f"/calls/{world.call_id}/proposals",
        {"acronym": "", "title": "Smart grids"},
        page=f"/calls/{world.call_id}",
    )
    assert refused.status_code == 422
    assert "Enter an acronym." in field_markup(text(refused), "acronym")

    response = browser.submit(
        f"/calls/{world.call_id}/proposals",
        {"acronym": "GRID", "title": "Smart grids for Saxony"},
        page=f"/calls/{world.call_id}",
    )
    assert response.status_code == 302
    proposal_id = int(re.search(r"/proposals/(\d+)/edit$", response.headers["Location"]).group(1))
    page = text(browser.get(response.headers["Location"]))
    assert "Your work is saved as you go" in page
    with app.app_context():
        proposal = db.session.get(Proposal, proposal_id)
        assert proposal is not None
        assert (proposal.acronym, proposal.state) == ("GRID", ProposalState.DRAFT)
        assert proposal.reference.endswith("-001")
        assert [(c.user_id, c.role) for c in proposal.contributors] == [
            (user(world.coordinator).id, ContributorRole.COORDINATOR)
        ]
        assert [s.stage_id for s in proposal.submissions] == [world.stage_id]
        reference = proposal.reference
    assert f"{reference}: GRID" in page


def test_each_applicants_start_page_lists_the_proposals_they_work_on_with_call_and_state(app):  # type: ignore[no-untyped-def]
    with app.app_context():
        world = build_world()
        draft = write_draft(world)
        submit(draft, world.coordinator)
        grid = db.session.get(Proposal, draft.proposal_id)
        call = db.session.get(Call, world.call_id)
        assert grid is not None and call is not None
        other = make_user(roles=(Role.APPLICANT,))
        theirs = ops.start_proposal(
            call, actor=other, acronym="SOIL", title="Healthy soils", now=utcnow()
        )
        db.session.commit()
        grid_line = f"{grid.reference} · GRID: Smart grids for Saxony"
        soil_line = f"{theirs.reference} · SOIL: Healthy soils"
        other_email, call_name = other.email, call.name
    contributor = add_contributor(app, draft)

    # One after the other, in one process: each reads their own proposals.
    pages = {
        who: text(log_in(app, who).get("/"))
        for who in (world.coordinator, other_email, contributor)
    }

    for who in (world.coordinator, contributor):
        assert entry(pages[who], grid_line) == f"{grid_line} Submitted {call_name}"
        assert soil_line not in pages[who]
    assert entry(pages[other_email], soil_line) == f"{soil_line} Draft {call_name}"
    assert grid_line not in pages[other_email]


def entry(page: str, line: str) -> str:
    """The list entry that starts with ``line``, as words, without its tags."""
    start = page.index(line)
    return " ".join(re.sub(r"<[^>]+>", " ", page[start : page.index("</li>", start)]).split())


def test_open_calls_list_only_first_stages_taking_new_proposals(app):  # type: ignore[no-untyped-def]
    """A full-proposal stage open to the invited finalists is no open call, and a first stage
    whose decisions are published is closed although its window still runs."""
    now = utcnow()
    window = {"opens_at": now - dt.timedelta(days=1), "closes_at": now + dt.timedelta(days=57)}
    with app.app_context():
        world = build_world()
        programme = db.session.get(Programme, world.programme_id)
        finalists_only = make_call(programme, name="Round 1")
        closed = {"opens_at": now - dt.timedelta(days=90), "closes_at": now - dt.timedelta(days=9)}
        make_stage(finalists_only, **closed)
        make_stage(finalists_only, kind=StageKind.FULL_PROPOSAL, name="Full proposal", **window)
        announced = make_call(programme, name="Round 2")
        make_stage(announced, **window)
        make_proposal(announced, state=ProposalState.REJECTED)
        make_proposal(announced, state=ProposalState.ADVANCED)
        db.session.commit()

        listed = [(e.call.name, e.stage.name) for e in list_open_stages(now=now)]
        first_open = open_stage(db.session.get(Call, world.call_id), now=now)
        assert open_stage(finalists_only, now=now) is None
        assert open_stage(announced, now=now) is None
        open_call = db.session.get(Call, world.call_id).name
    assert listed == [(open_call, "Outline")]
    assert first_open is not None and first_open.id == world.stage_id
    page = text(log_in(app, world.coordinator).get("/calls"))
    assert open_call in page
    assert "Round 1" not in page and "Round 2" not in page


def test_a_proposal_cannot_be_started_once_the_selection_is_announced(app):  # type: ignore[no-untyped-def]
    with app.app_context():
        world = build_world()
        call = db.session.get(Call, world.call_id)
        make_proposal(call, state=ProposalState.REJECTED)
        db.session.commit()
        with pytest.raises(DomainError, match="selection has been announced"):
            ops.start_proposal(
                call, actor=user(world.coordinator), acronym="LATE", title="Late", now=utcnow()
            )
        db.session.rollback()
    browser = log_in(app, world.coordinator)
    call_page = text(browser.get(f"/calls/{world.call_id}"))
    response = post(
        browser,
        f"/calls/{world.call_id}/proposals",
        {"acronym": "LATE", "title": "Late"},
    )

    assert "Start a proposal" not in call_page
    assert response.status_code == 422
    assert "selection has been announced" in text(response)
    with app.app_context():
        assert count(Proposal, Proposal.acronym == "LATE") == 0


# --- saving each part: errors at the field, nothing saved ---------------------------------------


def test_general_details_with_a_too_long_abstract_show_the_message_at_the_field(app):  # type: ignore[no-untyped-def]
    with app.app_context():
        world = build_world()
        draft = write_draft(world, complete=False)
    browser = log_in(app, world.coordinator)
    response = post(
        browser,
        f"/proposals/{draft.proposal_id}/general",
        {
            "acronym": "NEW",
            "title": "A new title",
            "abstract": "x" * 5001,
            "topics": [world.topic_id],
        },
    )
    assert response.status_code == 422
    at_field = field_markup(text(response), "abstract")
    assert "has-error" in at_field
    assert "The abstract has 5,001 characters; at most 5,000." in at_field
    with app.app_context():
        proposal = db.session.get(Proposal, draft.proposal_id)
        assert (proposal.acronym, proposal.title, proposal.abstract) == (
            "GRID",
            "Smart grids for Saxony",
            "",
        )
        assert proposal.topics == []

    saved = post(
        browser,
        f"/proposals/{draft.proposal_id}/general",
        {
            "acronym": "NEW",
            "title": "A new title",
            "abstract": "Short.",
            "topics": [world.topic_id],
        },
    )
    assert saved.status_code == 302
    with app.app_context():
        proposal = db.session.get(Proposal, draft.proposal_id)
        assert (proposal.acronym, [t.id for t in proposal.topics]) == ("NEW", [world.topic_id])


def test_a_section_over_its_limit_is_kept_and_flagged_at_the_section(app):  # type: ignore[no-untyped-def]
    """Drafts are never lost: text over the limit is saved, and the problem shows at the section
    (and keeps the proposal from being submitted)."""
    with app.app_context():
        world = build_world()
        draft = write_draft(world)
    browser = log_in(app, world.coordinator)
    page = browser.get(editor(draft)).get_data(as_text=True)
    revision = form_value(page, section_url(draft), "base_revision")
    response = post(browser, section_url(draft), {"text": "y" * 150, "base_revision": revision})
    assert response.status_code == 302
    assert response.headers["Location"].endswith("#section-strategy")
    with app.app_context():
        assert sections_of(draft)["strategy"] == "y" * 150
    page = text(browser.get(editor(draft)))
    section = page[page.index('id="section-strategy"') : page.index('id="section-partners"')]
    assert "“Strategy” is 150 characters long; the limit is 100." in section


def test_saving_a_section_the_stage_does_not_ask_for_saves_nothing(app):  # type: ignore[no-untyped-def]
    with app.app_context():
        world = build_world()
        draft = write_draft(world, complete=False)
    browser = log_in(app, world.coordinator)
    response = post(browser, section_url(draft, "nonsense"), {"text": "text", "base_revision": "0"})
    assert response.status_code in (303, 404, 422)
    assert "This stage has no such section." in text(browser.get(editor(draft)))
    with app.app_context():
        assert sections_of(draft) == {}


def test_a_new_organisation_without_its_kind_shows_the_message_at_the_field(app):  # type: ignore[no-untyped-def]
    with app.app_context():
        world = build_world()
        draft = write_draft(world, complete=False)
        organisations = count(Organisation)
    browser = log_in(app, world.coordinator)
    response = post(
        browser,
        f"/proposals/{draft.proposal_id}/members",
        {"organisation": "Brand New Institute", "new_federal_state": "DE-SN", "role": "partner"},
    )
    assert response.status_code == 422
    page = text(response)
    assert "New organisation: choose its kind." in field_markup(page, "new_kind")
    assert 'value="Brand New Institute"' in field_markup(page, "organisation")
    with app.app_context():
        assert count(ConsortiumMember, ConsortiumMember.proposal_id == draft.proposal_id) == 0
        assert count(Organisation) == organisations


def test_an_organisation_already_in_the_consortium_is_refused_at_the_organisation_field(app):  # type: ignore[no-untyped-def]
    with app.app_context():
        world = build_world()
        draft = write_draft(world)
        member = db.session.get(ConsortiumMember, draft.coordinator_member_id)
        name = member.organisation.name
        members = count(ConsortiumMember, ConsortiumMember.proposal_id == draft.proposal_id)
    browser = log_in(app, world.coordinator)
    response = post(
        browser,
        f"/proposals/{draft.proposal_id}/members",
        {"organisation": name, "role": "partner"},
    )
    assert response.status_code == 422
    # The operation names the organisation's id; the form shows the message at its one field.
    assert f"{name} is already in the consortium." in field_markup(text(response), "organisation")
    with app.app_context():
        assert count(ConsortiumMember, ConsortiumMember.proposal_id == draft.proposal_id) == members


def test_an_unreadable_budget_amount_shows_the_message_at_its_cell(app):  # type: ignore[no-untyped-def]
    with app.app_context():
        world = build_world()
        draft = write_draft(world)
    browser = log_in(app, world.coordinator)
    page = browser.get(editor(draft)).get_data(as_text=True)
    action = f"/proposals/{draft.proposal_id}/budget"
    coordinator, partner = draft.coordinator_member_id, draft.partner_member_id
    response = post(
        browser,
        action,
        {
            "base_revision": form_value(page, action, "base_revision"),
            f"public-m{coordinator}-y1": "120000",
            f"own-m{coordinator}-y1": "60000",
            f"public-m{partner}-y1": "lots",
            f"own-m{partner}-y1": "40000",
        },
    )
    assert response.status_code == 422
    page = text(response)
    cell = field_markup(page, f"public-m{partner}-y1")
    assert 'aria-invalid="true"' in cell
    assert "Nothing was saved: correct the amounts marked in the table." in page
    assert (
        "The public funding: Write the amount in full, with digits only, like 1,200,000.00"
        in field_markup(page, f"own-m{partner}-y1")
    )
    # What was typed stays in the table, so nothing has to be entered twice.
    assert 'value="lots"' in cell
    assert 'value="120000"' in field_markup(page, f"public-m{coordinator}-y1")
    with app.app_context():
        lines = db.session.scalars(
            sa.select(BudgetLine).where(BudgetLine.submission_id == draft.submission_id)
        ).all()
        assert sorted((line.member_id, line.public_funding) for line in lines) == sorted(
            [(coordinator, Decimal("100000.00")), (partner, Decimal("80000.00"))]
        )


def test_an_upload_that_is_not_a_pdf_shows_the_message_at_the_file_field(app, tmp_path):  # type: ignore[no-untyped-def]
    with app.app_context():
        world = build_world()
        draft = write_draft(world, complete=False)
    browser = log_in(app, world.coordinator)
    executable = upload_samples.windows_executable()
    with pytest.raises(UploadRefused) as refused:
        check_pdf(executable, filename="report.pdf", limits=UploadLimits(100_000, 3))
    response = upload(browser, draft, executable, name="report.pdf")
    assert response.status_code == 422
    at_field = field_markup(text(response), "file")
    assert 'id="file-cv-error"' in at_field and 'aria-invalid="true"' in at_field
    assert str(refused.value) in at_field
    with app.app_context():
        assert count(Attachment) == 0
    assert not [p for p in (tmp_path / "uploads").rglob("*") if p.is_file()]


# --- the checklist -------------------------------------------------------------------------------


def test_the_checklist_links_every_missing_part_and_submission_is_refused(app):  # type: ignore[no-untyped-def]
    with app.app_context():
        world = build_world()
        draft = write_draft(world, complete=False)
    browser = log_in(app, world.coordinator)
    page = text(browser.get(editor(draft)))
    checklist = page[page.index('id="checklist-h"') :]
    expected = {
        "general": "Write an abstract.",
        "section-strategy": "“Strategy” is empty; this section is required.",
        "section-partners": "“Partners” is empty; this section is required.",
        "consortium": "Mark one organisation of the consortium as coordinator.",
        "budget": "The budget is empty;",
        "attachment-cv": "Upload “CVs”; this document is required.",
    }
    for anchor, message in expected.items():
        assert re.search(rf'<a href="#{anchor}">{re.escape(message)}', checklist), anchor
        assert f'id="{anchor}"' in page, f"the link to #{anchor} leads nowhere"
    assert "Choose at least one topic." in checklist

    submit_page = text(browser.get(f"/proposals/{draft.proposal_id}/submit"))
    for anchor in expected:
        assert f'href="/proposals/{draft.proposal_id}/edit#{anchor}"' in submit_page
    assert "Submit the proposal</button>" not in submit_page

    response = post(
        browser,
        f"/proposals/{draft.proposal_id}/submit",
        {"idempotency_key": secrets.token_urlsafe(24)},
    )
    assert response.status_code == 422
    refused = text(response)
    refusal = refused[refused.index('class="form-errors"') : refused.index("Not ready yet")]
    for message in expected.values():
        assert message in refusal
    with app.app_context():
        assert count(SubmissionVersion) == 0
        assert db.session.get(Proposal, draft.proposal_id).state == ProposalState.DRAFT


def test_the_editor_lists_its_parts_in_a_navigation_that_leads_to_each(app):  # type: ignore[no-untyped-def]
    with app.app_context():
        world = build_world()
        draft = write_draft(world, complete=False)
    browser = log_in(app, world.coordinator)
    page = text(browser.get(editor(draft)))

    navigation = re.search(
        r'<nav class="editor-nav" aria-label="Parts of the proposal">(.*?)</nav>', page, re.S
    )
    assert navigation, "the editor has no navigation of its parts"
    links = re.findall(r'<a href="#([^"]+)">([^<]+)</a>', navigation.group(1))
    assert links == [
        ("general", "General"),
        ("section-strategy", "Strategy"),
        ("section-partners", "Partners"),
        ("consortium", "Consortium"),
        ("budget", "Budget"),
        ("attachments", "Documents"),
        ("contributors", "People working on this proposal"),
        ("exclusions", "Jurors to exclude"),
        ("checklist", "Before you submit"),
    ]
    for anchor, _name in links:
        assert page.count(f'id="{anchor}"') == 1, f"the link to #{anchor} leads nowhere"
    # Reached before the parts themselves, by keyboard as by eye.
    assert page.index('class="editor-nav"') < page.index('id="general"')


def test_the_checklist_lists_broken_rules_and_clears_when_they_are_fixed(app):  # type: ignore[no-untyped-def]
    with app.app_context():
        world = build_world()
        draft = write_draft(world)
        submission = db.session.get(StageSubmission, draft.submission_id)
        actor = user(world.coordinator)
        ops.save_section(
            submission, actor=actor, key="strategy", text="z" * 101, base_revision=1, now=utcnow()
        )
        ops.save_budget(
            submission,
            actor=actor,
            rows=[
                ops.BudgetInput(draft.coordinator_member_id, 1, "400000", "10000"),
                ops.BudgetInput(draft.partner_member_id, 1, "200000", "10000"),
            ],
            base_revision=submission.revision,
            now=utcnow(),
        )
    browser = log_in(app, world.coordinator)
    page = text(browser.get(f"/proposals/{draft.proposal_id}/submit"))
    edit = f"/proposals/{draft.proposal_id}/edit"
    assert f'<a href="{edit}#section-strategy">“Strategy” is 101 characters long' in page
    assert re.search(
        rf'<a href="{edit}#budget">Public funding requested is 600,000.00 EUR; this call allows '
        r"at most 500,000.00 EUR per proposal.",
        page,
    )
    assert f'<a href="{edit}#budget">Own and private contributions are' in page

    with app.app_context():
        submission = db.session.get(StageSubmission, draft.submission_id)
        with pytest.raises(DomainError) as refused:
            ops.submit_stage(
                submission,
                actor=user(world.coordinator),
                idempotency_key=secrets.token_urlsafe(24),
                now=utcnow(),
            )
        assert len(refused.value.errors[""]) == 3
        actor = user(world.coordinator)
        ops.save_section(
            submission, actor=actor, key="strategy", text=STRATEGY, base_revision=2, now=utcnow()
        )
        ops.save_budget(
            submission,
            actor=actor,
            rows=[
                ops.BudgetInput(draft.coordinator_member_id, 1, "100000", "50000"),
                ops.BudgetInput(draft.partner_member_id, 1, "80000", "40000"),
            ],
            base_revision=submission.revision,
            now=utcnow(),
        )
    assert "Everything the call asks for is there." in text(browser.get(editor(draft)))


# --- submitting: frozen versions, receipts, idempotency ------------------------------------------


def test_a_complete_submission_freezes_version_one(app):  # type: ignore[no-untyped-def]
    with app.app_context():
        world = build_world()
        draft = write_draft(world)
    browser = log_in(app, world.coordinator)
    submit_page = text(browser.get(f"/proposals/{draft.proposal_id}/submit"))
    assert "Everything the call asks for is there." in submit_page
    before = utcnow()
    response = post(
        browser,
        f"/proposals/{draft.proposal_id}/submit",
        {"idempotency_key": submit_key(browser, draft)},
    )
    after = utcnow()
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/proposals/{draft.proposal_id}/versions/1")

    with app.app_context():
        version = db.session.scalar(sa.select(SubmissionVersion))
        assert version.number == 1
        assert before <= version.submitted_at <= after
        content = version.content
        assert content["sections"] == {"partners": PARTNERS, "strategy": STRATEGY}
        assert [(m["name"], m["role"]) for m in content["members"]] == [
            (REGISTRY_ORGANISATION, "coordinator"),
            ("Neue Netze GmbH", "partner"),
        ]
        assert [
            (b["year"], b["public_funding"], b["own_contribution"]) for b in content["budget"]
        ] == [
            (1, "100000.00", "50000.00"),
            (1, "80000.00", "40000.00"),
        ]
        assert [(a["filename"], a["page_count"], a["sha256"]) for a in content["attachments"]] == [
            ("cv.pdf", 2, hashlib.sha256(CV_PDF).hexdigest())
        ]
        assert version.content_hash == snapshot.content_hash(content)
        submission = db.session.get(StageSubmission, draft.submission_id)
        assert submission.state == SubmissionState.SUBMITTED
        assert submission.content_hash == version.content_hash
        assert db.session.get(Proposal, draft.proposal_id).state == ProposalState.SUBMITTED
        frozen_content, frozen_hash = dict(version.content), version.content_hash

    # Later edits change the draft, never the version.
    page = browser.get(editor(draft)).get_data(as_text=True)
    edits = [
        post(
            browser,
            section_url(draft),
            {
                "text": "A new strategy.",
                "base_revision": form_value(page, section_url(draft), "base_revision"),
            },
        ),
        post(
            browser,
            f"/proposals/{draft.proposal_id}/budget",
            {
                "base_revision": form_value(
                    page, f"/proposals/{draft.proposal_id}/budget", "base_revision"
                ),
                f"public-m{draft.coordinator_member_id}-y1": "1",
                f"own-m{draft.coordinator_member_id}-y1": "1",
            },
        ),
        upload(browser, draft, upload_samples.pdf_with_pages(1), name="new-cv.pdf"),
        post(
            browser, f"/proposals/{draft.proposal_id}/members/{draft.partner_member_id}/remove", {}
        ),
    ]
    assert [edit.status_code for edit in edits] == [302] * 4
    with app.app_context():
        assert sections_of(draft)["strategy"] == "A new strategy."
        submission = db.session.get(StageSubmission, draft.submission_id)
        assert [a.filename for a in submission.attachments] == ["new-cv.pdf"]
        assert [(b.public_funding, b.own_contribution) for b in submission.budget_lines] == [
            (Decimal("1.00"), Decimal("1.00"))
        ]
        assert snapshot.content_hash(snapshot.snapshot(submission.proposal, submission)) != (
            frozen_hash
        )
        version = db.session.scalar(sa.select(SubmissionVersion))
        assert version.content == frozen_content
        assert version.content_hash == frozen_hash == snapshot.content_hash(version.content)
    # The file named in the version is still there, byte for byte.
    download = browser.get(f"/attachments/{draft.attachment_id}")
    assert download.status_code == 200
    assert hashlib.sha256(download.data).hexdigest() == frozen_content["attachments"][0]["sha256"]


def test_the_receipt_page_and_the_receipt_mail_show_code_time_and_hash(app):  # type: ignore[no-untyped-def]
    with app.app_context():
        world = build_world()
        draft = write_draft(world)
    browser = log_in(app, world.coordinator)
    response = post(
        browser,
        f"/proposals/{draft.proposal_id}/submit",
        {"idempotency_key": submit_key(browser, draft)},
    )
    page = text(browser.get(response.headers["Location"]))
    with app.app_context():
        version = db.session.scalar(sa.select(SubmissionVersion))
        code, digest = version.receipt_code, version.content_hash
        received = berlin_time(version.submitted_at, "%d.%m.%Y %H:%M:%S")
        (mail,) = mails("proposals/receipt")
        assert mail.state == NotificationState.SENT
        assert mail.to_address == world.coordinator
        body = mail.body_text
    assert f'<strong id="receipt-code">{code}</strong>' in page
    assert f'<dd id="received-at">{received}</dd>' in page
    assert f'<code id="content-hash">{digest}</code>' in page
    assert code in body and digest in body and received in body


def test_a_double_clicked_submit_makes_one_version(app):  # type: ignore[no-untyped-def]
    with app.app_context():
        world = build_world()
        draft = write_draft(world)
    browser = log_in(app, world.coordinator)
    key = submit_key(browser, draft)
    first = post(browser, f"/proposals/{draft.proposal_id}/submit", {"idempotency_key": key})
    second = post(browser, f"/proposals/{draft.proposal_id}/submit", {"idempotency_key": key})
    assert first.status_code == second.status_code == 302
    assert first.headers["Location"] == second.headers["Location"]
    with app.app_context():
        assert count(SubmissionVersion) == 1
        assert len(mails("proposals/receipt")) == 1


def test_a_submission_asks_the_database_14_times_until_its_commit(app):  # type: ignore[no-untyped-def]
    """At a deadline everyone submits at once. Eight reads: the session and user, the proposal
    with the user's role, the lock that rereads the submission, the key's earlier version with
    the next number and the extension, what the version freezes (four); six writes: the
    version, two compare-and-sets, their history rows, their events, the receipt's outbox row."""
    with app.app_context():
        world = build_world()
        draft = write_draft(world)
    browser = log_in(app, world.coordinator)
    key = submit_key(browser, draft)
    form = {"idempotency_key": key, "csrf_token": token(browser)}
    with app.app_context():
        engine = db.engine
    seen: list[str] = []
    committed: list[int] = []

    def counter(*args: object) -> None:
        seen.append(str(args[2]))

    def commit(*args: object) -> None:
        committed.append(len(seen))

    sa.event.listen(engine, "before_cursor_execute", counter)
    sa.event.listen(engine, "commit", commit)
    try:
        response = browser.client.post(f"/proposals/{draft.proposal_id}/submit", data=form)
    finally:
        sa.event.remove(engine, "before_cursor_execute", counter)
        sa.event.remove(engine, "commit", commit)
    assert response.status_code == 302
    assert committed[0] <= 14, "\n".join(seen[: committed[0]])


def test_submitting_again_adds_a_version_and_the_latest_counts(app):  # type: ignore[no-untyped-def]
    with app.app_context():
        world = build_world()
        draft = write_draft(world)
    browser = log_in(app, world.coordinator)
    first = post(
        browser,
        f"/proposals/{draft.proposal_id}/submit",
        {"idempotency_key": submit_key(browser, draft)},
    )
    page = browser.get(editor(draft)).get_data(as_text=True)
    post(
        browser,
        section_url(draft),
        {
            "text": "A sharper strategy.",
            "base_revision": form_value(page, section_url(draft), "base_revision"),
        },
    )
    second = post(
        browser,
        f"/proposals/{draft.proposal_id}/submit",
        {"idempotency_key": submit_key(browser, draft)},
    )
    assert first.headers["Location"].endswith("/versions/1")
    assert second.headers["Location"].endswith("/versions/2")
    with app.app_context():
        one, two = db.session.scalars(
            sa.select(SubmissionVersion).order_by(SubmissionVersion.number)
        ).all()
        assert one.content["sections"]["strategy"] == STRATEGY
        assert two.content["sections"]["strategy"] == "A sharper strategy."
        assert one.content_hash != two.content_hash
        submission = db.session.get(StageSubmission, draft.submission_id)
        assert submission.content_hash == two.content_hash
        assert submission.submitted_at == two.submitted_at
        codes = (one.receipt_code, two.receipt_code)
    versions = text(browser.get(f"/proposals/{draft.proposal_id}/versions"))
    assert all(code in versions for code in codes)
    assert versions.index(codes[1]) < versions.index(codes[0]), "the latest is listed first"


# --- the deadline and extensions ----------------------------------------------------------------


def test_submission_one_second_after_the_deadline_is_refused_and_just_before_succeeds(ctx):  # type: ignore[no-untyped-def]
    closes_at = utcnow() + dt.timedelta(hours=1)
    world = build_world(closes_at=closes_at)
    draft = write_draft(world)

    with pytest.raises(PermissionDenied, match="The deadline has passed"):
        submit(draft, world.coordinator, now=closes_at + dt.timedelta(seconds=1))
    assert count(SubmissionVersion) == 0

    version = submit(draft, world.coordinator, now=closes_at - dt.timedelta(seconds=1))
    assert (version.number, version.submitted_at) == (1, closes_at - dt.timedelta(seconds=1))
    # The deadline's own instant still counts as on time.
    assert submit(draft, world.coordinator, now=closes_at).number == 2


def test_after_the_deadline_the_proposal_is_read_only_and_cannot_be_submitted(app):  # type: ignore[no-untyped-def]
    world, draft = passed_deadline(app)
    browser = log_in(app, world.coordinator)
    page = text(browser.get(editor(draft)))
    assert DEADLINE_TEXT in page
    assert 'name="text" rows="12" data-maxchars="100"' in page and "readonly>" in page

    response = post(browser, section_url(draft), {"text": "Too late.", "base_revision": "1"})
    assert response.status_code == 303
    assert DEADLINE_TEXT in text(browser.get(response.headers["Location"]))
    late_json = post(
        browser,
        section_url(draft),
        {"text": "Too late.", "base_revision": "1"},
        headers={"Accept": "application/json"},
    )
    assert late_json.status_code == 403 and late_json.json["error"] == DEADLINE_TEXT

    submitted = post(
        browser,
        f"/proposals/{draft.proposal_id}/submit",
        {"idempotency_key": secrets.token_urlsafe(24)},
    )
    assert submitted.status_code == 403
    assert DEADLINE_TEXT in text(submitted)
    with app.app_context():
        assert sections_of(draft)["strategy"] == STRATEGY
        assert count(SubmissionVersion) == 0


def test_an_officer_of_the_programme_extends_the_deadline_for_one_proposal(app):  # type: ignore[no-untyped-def]
    world, draft = passed_deadline(app)
    reason = "The coordinator's university lost power on the day of the deadline."
    officer = log_in(app, world.officer)
    show = text(officer.get(f"/proposals/{draft.proposal_id}"))
    assert show.count(f'action="/proposals/{draft.proposal_id}/extensions"') == 1
    new_deadline = utcnow() + dt.timedelta(days=2)
    response = post(
        officer,
        f"/proposals/{draft.proposal_id}/extensions",
        extension_form(world.stage_id, new_deadline, reason),
    )
    assert response.status_code == 302
    assert "Deadline extended" in text(officer.get(response.headers["Location"]))

    with app.app_context():
        extension = db.session.scalar(sa.select(DeadlineExtension))
        assert extension.reason == reason
        assert abs(extension.closes_at - new_deadline) < dt.timedelta(minutes=1)
        event = db.session.scalar(
            sa.select(AuditEvent).where(AuditEvent.action == "proposal.extension_granted")
        )
        assert event.object_id == str(draft.proposal_id)
        assert event.personal["after"]["reason"] == reason
        assert event.actor_id == user(world.officer).id
        (mail,) = mails("proposals/extension")
        assert mail.to_address == world.coordinator and mail.state == NotificationState.SENT

    browser = log_in(app, world.coordinator)
    page = text(browser.get(editor(draft)))
    assert DEADLINE_TEXT not in page
    revision = form_value(page, section_url(draft), "base_revision")
    saved = post(browser, section_url(draft), {"text": "In extra time.", "base_revision": revision})
    assert saved.status_code == 302
    submitted = post(
        browser,
        f"/proposals/{draft.proposal_id}/submit",
        {"idempotency_key": submit_key(browser, draft)},
    )
    assert submitted.status_code == 302
    with app.app_context():
        version = db.session.scalar(sa.select(SubmissionVersion))
        assert version.content["sections"]["strategy"] == "In extra time."


def test_an_officer_of_another_programme_cannot_extend_a_deadline(app):  # type: ignore[no-untyped-def]
    world, draft = passed_deadline(app)
    with app.app_context():
        stranger = make_user(roles=(Role.OFFICER,))
        make_programme(officers=(stranger,))
        db.session.commit()
        stranger_email = stranger.email
    browser = log_in(app, stranger_email)
    response = post(
        browser,
        f"/proposals/{draft.proposal_id}/extensions",
        extension_form(world.stage_id, utcnow() + dt.timedelta(days=2), "Because."),
    )
    assert response.status_code in (403, 404)
    with app.app_context():
        assert count(DeadlineExtension) == 0
        with pytest.raises(PermissionDenied):
            ops.grant_extension(
                db.session.get(Proposal, draft.proposal_id),
                db.session.get(Stage, world.stage_id),
                actor=user(stranger_email),
                closes_at=utcnow() + dt.timedelta(days=2),
                reason="Because.",
                now=utcnow(),
            )


@pytest.mark.parametrize(("locale", "state"), [("en", "State: Draft"), ("de", "Status: Entwurf")])
def test_the_proposal_page_names_a_stages_state_in_the_readers_language(app, locale, state):  # type: ignore[no-untyped-def]
    world, draft = passed_deadline(app)
    with app.app_context():
        db.session.execute(sa.update(User).where(User.email == world.officer).values(locale=locale))
        db.session.commit()

    page = text(log_in(app, world.officer).get(f"/proposals/{draft.proposal_id}"))

    assert state in page
    assert "draft" not in re.sub(r"<[^>]+>", " ", page).split()


def test_the_proposal_page_sums_each_partners_budget_over_the_years_for_its_submission(app):  # type: ignore[no-untyped-def]
    with app.app_context():
        world = build_world()
        draft = write_draft(world)
        submission = db.session.get(StageSubmission, draft.submission_id)
        ops.save_budget(
            submission,
            actor=user(world.coordinator),
            rows=[
                ops.BudgetInput(draft.coordinator_member_id, 1, "100000", "50000"),
                ops.BudgetInput(draft.coordinator_member_id, 2, "20000", "10000"),
                ops.BudgetInput(draft.partner_member_id, 2, "80000", "40000"),
            ],
            base_revision=submission.revision,
            now=utcnow(),
        )
        version = submit(draft, world.coordinator)
        digest, stage = version.content_hash, submission.stage.name
        db.session.execute(sa.update(User).where(User.email == world.officer).values(locale="de"))
        db.session.commit()

    page = text(log_in(app, world.officer).get(f"/proposals/{draft.proposal_id}"))

    section = page[page.index(f'<h2 id="sub-{draft.submission_id}">{stage}</h2>') :]
    cells = re.findall(r"<t[dh][^>]*>([^<]*)</t[dh]>", section[: section.index("</table>")])
    assert cells[-9:] == [
        REGISTRY_ORGANISATION, "120.000\u00a0€", "60.000\u00a0€",
        "Neue Netze GmbH", "80.000\u00a0€", "40.000\u00a0€",
        "Summe", "200.000\u00a0€", "100.000\u00a0€",
    ]  # fmt: skip
    assert "Status: Eingereicht" in section and digest[:16] in section
