"""The applicant's side of a call, through the web client on PostgreSQL: starting a proposal,
saving every part with errors shown at the field, the checklist, frozen and hashed versions with
receipts, idempotent and repeated submission, the server's deadline and individual extensions,
withdrawal, contributors, conflicting saves, input kept across an expired session, the next
stage, and who may see any of it. Operations are called directly where the web adds nothing."""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import io
import re
import secrets
from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa

from competition.accounts.models import Role, User, UserSession
from competition.audit.models import AuditEvent
from competition.berlin import berlin_time, utc_to_berlin_input
from competition.core.uploads import UploadLimits, UploadRefused, check_pdf
from competition.db import utcnow
from competition.errors import DomainError, PermissionDenied
from competition.extensions import db
from competition.notifications.models import Notification, NotificationState
from competition.organisations.models import Organisation
from competition.programmes.models import Call, Stage
from competition.proposals import operations as ops
from competition.proposals import snapshot
from competition.proposals.models import (
    Attachment,
    BudgetLine,
    ConsortiumMember,
    ContributorRole,
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
    make_call,
    make_organisation,
    make_programme,
    make_stage,
    make_topic,
    make_user,
)
from tests.unit import upload_samples

pytestmark = pytest.mark.postgres

SECTIONS = [
    {"key": "strategy", "title": "Strategy", "max_chars": 100},
    {"key": "partners", "title": "Partners", "max_chars": 2000},
]
ATTACHMENTS = [
    {"key": "cv", "title": "CVs", "required": True, "max_pages": 3, "max_bytes": 100_000}
]
STRATEGY = "We connect the region's grids."
PARTNERS = "A university and an SME."
CV_PDF = upload_samples.pdf_with_pages(2)
REGISTRY_ORGANISATION = "Universität Leipzig"
CONFLICT_TEXT = "Someone else saved this section while you were editing."
KEPT_TEXT = "what you typed is kept"
DEADLINE_TEXT = "The deadline has passed; the proposal can no longer be changed."


@pytest.fixture
def app(make_app, tmp_path):  # type: ignore[no-untyped-def]
    """The app, with uploads stored under the test's own directory."""
    return make_app(upload_folder=str(tmp_path / "uploads"))


# --- building calls and drafts ------------------------------------------------------------------


@dataclass(frozen=True)
class World:
    programme_id: int
    call_id: int
    stage_id: int
    topic_id: int
    organisation_id: int
    coordinator: str
    officer: str


@dataclass(frozen=True)
class Draft:
    proposal_id: int
    submission_id: int
    coordinator_member_id: int | None = None
    partner_member_id: int | None = None
    attachment_id: int | None = None


def build_world(
    *,
    opens_at: dt.datetime | None = None,
    closes_at: dt.datetime | None = None,
    sections: list[dict[str, object]] = SECTIONS,
    organisation: str = REGISTRY_ORGANISATION,
) -> World:
    """A published call of a programme with one officer, one open stage asking for two sections
    and a CV, a topic, an organisation in the registry and a coordinator (needs a context)."""
    now = utcnow()
    officer = make_user(roles=(Role.OFFICER,))
    programme = make_programme(officers=(officer,))
    call = make_call(
        programme,
        max_public_funding_per_proposal=Decimal("500000"),
        min_private_share=Decimal("0.2500"),
    )
    stage = make_stage(
        call,
        opens_at=opens_at or now - dt.timedelta(days=1),
        closes_at=closes_at or now + dt.timedelta(days=1),
        required_sections=sections,
        attachment_rules=ATTACHMENTS,
    )
    topic = make_topic()
    organisation = make_organisation(name=organisation)
    coordinator = make_user(roles=(Role.APPLICANT,))
    db.session.commit()
    return World(
        programme_id=programme.id,
        call_id=call.id,
        stage_id=stage.id,
        topic_id=topic.id,
        organisation_id=organisation.id,
        coordinator=coordinator.email,
        officer=officer.email,
    )


def user(email: str) -> User:
    found = db.session.scalar(sa.select(User).where(User.email == email))
    assert found is not None
    return found


def write_draft(world: World, *, now: dt.datetime | None = None, complete: bool = True) -> Draft:
    """A proposal started by the world's coordinator; complete means nothing is missing."""
    now = now or utcnow()
    actor = user(world.coordinator)
    call = db.session.get(Call, world.call_id)
    assert call is not None
    proposal = ops.start_proposal(
        call, actor=actor, acronym="GRID", title="Smart grids for Saxony", now=now
    )
    submission = ops.current_submission(proposal)
    assert submission is not None
    if not complete:
        return Draft(proposal.id, submission.id)
    ops.update_general(
        proposal,
        actor=actor,
        acronym="GRID",
        title="Smart grids for Saxony",
        abstract="Grids that balance themselves.",
        topic_ids=[world.topic_id],
        now=now,
    )
    ops.save_section(
        submission, actor=actor, key="strategy", text=STRATEGY, base_revision=0, now=now
    )
    ops.save_section(
        submission, actor=actor, key="partners", text=PARTNERS, base_revision=0, now=now
    )
    coordinator = ops.add_member(
        proposal,
        actor=actor,
        organisation_id=world.organisation_id,
        new_organisation=None,
        role="coordinator",
        contact_name="Clara Coordinator",
        contact_email="clara@uni-leipzig.example",
        now=now,
    )
    partner = ops.add_member(
        proposal,
        actor=actor,
        organisation_id=None,
        new_organisation=ops.NewOrganisation(
            name="Neue Netze GmbH", kind="sme", federal_state="DE-SN"
        ),
        role="partner",
        contact_name="",
        contact_email="",
        now=now,
    )
    ops.save_budget(
        submission,
        actor=actor,
        rows=[
            ops.BudgetInput(coordinator.id, 1, "100000", "50000"),
            ops.BudgetInput(partner.id, 1, "80000", "40000"),
        ],
        base_revision=submission.revision,
        now=now,
    )
    attachment = ops.add_attachment(
        submission, actor=actor, kind="cv", filename="cv.pdf", data=CV_PDF, now=now
    )
    return Draft(proposal.id, submission.id, coordinator.id, partner.id, attachment.id)


def submit(draft: Draft, email: str, *, now: dt.datetime | None = None) -> SubmissionVersion:
    submission = db.session.get(StageSubmission, draft.submission_id)
    assert submission is not None
    return ops.submit_stage(
        submission,
        actor=user(email),
        idempotency_key=secrets.token_urlsafe(24),
        now=now or utcnow(),
    )


def add_applicant(app, *, email: str | None = None) -> str:  # type: ignore[no-untyped-def]
    with app.app_context():
        overrides = {"email": email} if email else {}
        person = make_user(roles=(Role.APPLICANT,), **overrides)
        db.session.commit()
        return person.email


def add_contributor(app, draft: Draft) -> str:  # type: ignore[no-untyped-def]
    with app.app_context():
        person = make_user(roles=(Role.APPLICANT,))
        db.session.add(
            ProposalContributor(
                proposal_id=draft.proposal_id, user_id=person.id, role=ContributorRole.CONTRIBUTOR
            )
        )
        db.session.commit()
        return person.email


# --- the web client ------------------------------------------------------------------------------


def log_in(app, email: str) -> Browser:  # type: ignore[no-untyped-def]
    browser = Browser(app.test_client())
    response = browser.login(email, PASSWORD)
    assert response.status_code == 302, "the test user could not log in"
    return browser


def text(response) -> str:  # type: ignore[no-untyped-def]
    return html.unescape(response.get_data(as_text=True))


def token(browser: Browser, page: str = "/") -> str:
    return csrf_from(browser.get(page).get_data(as_text=True))


def post(browser: Browser, url: str, data: dict[str, object], **kwargs: object):  # type: ignore[no-untyped-def]
    """A form post with a CSRF token of the browser's session, as a page would send it."""
    return browser.client.post(url, data={**data, "csrf_token": token(browser)}, **kwargs)


def form_value(page: str, action: str, name: str) -> str:
    """The value of the field ``name`` in the page's form that posts to ``action``."""
    form = re.search(rf'<form[^>]*action="{re.escape(action)}"[^>]*>(.*?)</form>', page, re.S)
    assert form, f"the page has no form posting to {action}"
    value = re.search(rf'name="{re.escape(name)}"[^>]*value="([^"]*)"', form.group(1))
    assert value, f"the form posting to {action} has no field {name}"
    return value.group(1)


def field_markup(page: str, name: str) -> str:
    """The markup around the form field ``name``: from its enclosing element to its end."""
    position = page.index(f'name="{name}"')
    start = max(page.rindex('<div class="field', 0, position), page.rfind("<td", 0, position))
    end = min(i for i in (page.find("</div>", position), page.find("</td>", position)) if i > 0)
    return page[start:end]


def upload(browser: Browser, draft: Draft, data: bytes, *, kind: str = "cv", name: str = "cv.pdf"):  # type: ignore[no-untyped-def]
    return browser.client.post(
        f"/proposals/{draft.proposal_id}/attachments/{kind}",
        data={"csrf_token": token(browser), "file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def editor(draft: Draft) -> str:
    return f"/proposals/{draft.proposal_id}/edit"


def section_url(draft: Draft, key: str = "strategy") -> str:
    return f"/proposals/{draft.proposal_id}/sections/{key}"


def submit_key(browser: Browser, draft: Draft) -> str:
    page = browser.get(f"/proposals/{draft.proposal_id}/submit").get_data(as_text=True)
    return form_value(page, f"/proposals/{draft.proposal_id}/submit", "idempotency_key")


def sections_of(draft: Draft) -> dict[str, str]:
    db.session.expire_all()
    submission = db.session.get(StageSubmission, draft.submission_id)
    assert submission is not None
    return dict(submission.sections)


def count(model: type, *where: object) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where)) or 0


def mails(template: str) -> list[Notification]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            sa.select(Notification)
            .where(Notification.template == template)
            .order_by(Notification.id)
        )
    )


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
    assert "Enter the public funding as a number of euro, e.g. 125000." in field_markup(
        page, f"own-m{partner}-y1"
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


def passed_deadline(app) -> tuple[World, Draft]:  # type: ignore[no-untyped-def]
    """A complete, unsubmitted draft of a stage that closed a few seconds ago."""
    with app.app_context():
        closes_at = utcnow() - dt.timedelta(seconds=5)
        world = build_world(closes_at=closes_at)
        draft = write_draft(world, now=closes_at - dt.timedelta(hours=1))
        db.session.commit()
    return world, draft


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


def extension_form(stage_id: int, closes_at: dt.datetime, reason: str) -> dict[str, object]:
    local = utc_to_berlin_input(closes_at).strftime("%Y-%m-%dT%H:%M")
    return {"stage_id": stage_id, "closes_at": local, "reason": reason}


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
        assert event.after["reason"] == reason
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
        assert event.after["reason"] == "We found another funder."
        assert len(mails("proposals/withdrawn")) == 1

    page = text(browser.get(editor(draft)))
    assert "The proposal is withdrawn; it is read-only." in page
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
