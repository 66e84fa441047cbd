"""What the submission tests share: an open call with an applicant, and helpers to fill and
submit a proposal."""

from __future__ import annotations

import datetime as dt
import html
import io
import re
import secrets
from dataclasses import dataclass
from decimal import Decimal

import pytest
import sqlalchemy as sa

from competition.accounts.models import Role, User
from competition.berlin import utc_to_berlin_input
from competition.db import utcnow
from competition.extensions import db
from competition.notifications.models import Notification
from competition.programmes.models import Call
from competition.proposals import operations as ops
from competition.proposals.models import (
    ContributorRole,
    ProposalContributor,
    StageSubmission,
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


def passed_deadline(app) -> tuple[World, Draft]:  # type: ignore[no-untyped-def]
    """A complete, unsubmitted draft of a stage that closed a few seconds ago."""
    with app.app_context():
        closes_at = utcnow() - dt.timedelta(seconds=5)
        world = build_world(closes_at=closes_at)
        draft = write_draft(world, now=closes_at - dt.timedelta(hours=1))
        db.session.commit()
    return world, draft


def extension_form(stage_id: int, closes_at: dt.datetime, reason: str) -> dict[str, object]:
    local = utc_to_berlin_input(closes_at).strftime("%Y-%m-%dT%H:%M")
    return {"stage_id": stage_id, "closes_at": local, "reason": reason}
