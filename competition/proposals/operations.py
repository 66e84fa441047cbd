"""What applicants (and officers, for extensions) do to proposals: draft, build the consortium
and budget, attach documents, submit frozen versions, withdraw.

Every operation is one transaction (competition.db.operation): permission, validation (one
DomainError with every message), change, audit event, outbox rows.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import ngettext
from sqlalchemy.orm import lazyload

from competition.accounts.models import Role, User
from competition.audit.operations import record_event
from competition.core import rules
from competition.core.amounts import AmountError, parse_amount
from competition.core.uploads import UploadLimits, UploadRefused, check_pdf
from competition.db import operation
from competition.errors import DomainError, PermissionDenied, StaleState
from competition.extensions import db
from competition.i18n import gettext as _
from competition.i18n import number, say
from competition.notifications.operations import notify
from competition.organisations.models import FederalState, Organisation, OrganisationKind
from competition.organisations.queries import resolve
from competition.permissions import require
from competition.programmes.models import Call, CallState, Stage, Topic
from competition.programmes.topic_queries import choosable_ids
from competition.proposals import permissions, snapshot, storage
from competition.proposals.models import (
    Attachment,
    BudgetLine,
    ConsortiumMember,
    ContributorRole,
    DeadlineExtension,
    MemberRole,
    Proposal,
    ProposalContributor,
    ProposalInvitation,
    ProposalState,
    StageSubmission,
    SubmissionState,
    SubmissionVersion,
)
from competition.proposals.queries import coordinator_of, open_stage
from competition.workflow import Move, apply_moves, apply_step

log = logging.getLogger(__name__)
# The longest abstract a proposal may have, in characters.
ABSTRACT_MAX_CHARS = 5000


def _touch(
    proposal: Proposal,
    submission: StageSubmission | None,
    now: dt.datetime,
    *,
    bump_revision: bool = True,
) -> None:
    proposal.updated_at = now
    if submission is not None:
        submission.updated_at = now
        # The budget form's conflict check counts changes to the consortium, budget and
        # attachments only: an autosaved section must not make the open budget form stale.
        if bump_revision:
            submission.revision += 1


def _text_digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def current_submission(proposal: Proposal) -> StageSubmission | None:
    """The submission of the latest stage the proposal has reached."""
    if not proposal.submissions:
        return None
    return max(proposal.submissions, key=lambda s: s.stage.position)


# --- Starting and general details --------------------------------------------------------------


@operation
def start_proposal(
    call: Call, *, actor: User, acronym: str, title: str, now: dt.datetime
) -> Proposal:
    """An applicant starts a proposal for the call's first stage and becomes its coordinator.

    Side effects: proposal, contributor and stage-submission rows; audit ``proposal.started``.
    """
    if not actor.has_role(Role.APPLICANT):
        raise PermissionDenied(_("Only applicants can start proposals."))
    errors: dict[str, list[str]] = {}
    if not acronym.strip():
        errors["acronym"] = [_("Enter an acronym.")]
    if not title.strip():
        errors["title"] = [_("Enter a title.")]
    stage = call.stages[0] if call.stages else None
    if call.state != CallState.PUBLISHED or stage is None:
        errors[""] = [_("This call is not open for proposals.")]
    elif not stage.opens_at <= now <= stage.closes_at:
        errors[""] = [_("The submission window of this call is not open.")]
    elif open_stage(call, now=now) is None:
        errors[""] = [_("This call takes no new proposals: its selection has been announced.")]
    if errors:
        raise DomainError(errors)
    assert stage is not None
    proposal = Proposal(
        call=call,
        reference=_next_reference(call),
        acronym=acronym.strip()[:40],
        title=title.strip()[:300],
        abstract="",
        state=ProposalState.DRAFT,
        created_by_id=actor.id,
        created_at=now,
        updated_at=now,
    )
    proposal.contributors.append(
        ProposalContributor(user_id=actor.id, role=ContributorRole.COORDINATOR)
    )
    proposal.submissions.append(StageSubmission(stage=stage, sections={}, updated_at=now))
    db.session.add(proposal)
    db.session.flush()
    record_event(
        actor=actor,
        action="proposal.started",
        object_type="proposal",
        object_id=proposal.id,
        after={"reference": proposal.reference, "call_id": call.id},
        now=now,
    )
    return proposal


def _next_reference(call: Call) -> str:
    # Serialised per call by locking the call row, so two applicants never get one number.
    db.session.execute(sa.select(Call.id).where(Call.id == call.id).with_for_update())
    count = db.session.scalar(
        sa.select(sa.func.count()).select_from(Proposal).where(Proposal.call_id == call.id)
    )
    return f"{call.reference_prefix}-{(count or 0) + 1:03d}"


@operation
def update_general(
    proposal: Proposal,
    *,
    actor: User,
    acronym: str,
    title: str,
    abstract: str,
    topic_ids: list[int],
    now: dt.datetime,
) -> None:
    """Title, acronym, abstract and topics. Side effects: audit ``proposal.general_updated``."""
    submission = current_submission(proposal)
    assert submission is not None
    require(permissions.can_change_consortium(actor, proposal, submission, now=now))
    errors: dict[str, list[str]] = {}
    if not acronym.strip():
        errors["acronym"] = [_("Enter an acronym.")]
    elif len(acronym.strip()) > 40:
        errors["acronym"] = [_("Use at most 40 characters.")]
    if not title.strip():
        errors["title"] = [_("Enter a title.")]
    elif len(title.strip()) > 300:
        errors["title"] = [_("Use at most 300 characters.")]
    if len(abstract) > ABSTRACT_MAX_CHARS:
        errors["abstract"] = [
            _(
                "The abstract has %(count)s characters; at most %(limit)s.",
                count=number(len(abstract), 0),
                limit=number(ABSTRACT_MAX_CHARS, 0),
            )
        ]
    # The call's programme's topics and the shared ones; a retired one only if already named.
    allowed = choosable_ids([proposal.call.programme_id], keep=[t.id for t in proposal.topics])
    topics = db.session.scalars(sa.select(Topic).where(Topic.id.in_(topic_ids))).all()
    if len(topics) != len(set(topic_ids)) or not set(topic_ids) <= allowed:
        errors["topics"] = [_("Choose topics from the list.")]
    if errors:
        raise DomainError(errors)
    before = {
        "acronym": proposal.acronym,
        "title": proposal.title,
        "topics": sorted(t.slug for t in proposal.topics),
    }
    proposal.acronym = acronym.strip()
    proposal.title = title.strip()
    proposal.abstract = abstract.strip()
    proposal.topics = list(topics)
    _touch(proposal, submission, now, bump_revision=False)
    record_event(
        actor=actor,
        action="proposal.general_updated",
        object_type="proposal",
        object_id=proposal.id,
        before=before,
        after={
            "acronym": proposal.acronym,
            "title": proposal.title,
            "topics": sorted(t.slug for t in topics),
        },
        now=now,
    )


# --- Narrative sections ------------------------------------------------------------------------


@operation
def save_section(
    submission: StageSubmission,
    *,
    actor: User,
    key: str,
    text: str,
    base_revision: int,
    now: dt.datetime,
) -> int:
    """Save one narrative section; returns its new revision.

    ``base_revision`` is the revision the editor started from. When someone else saved the
    section since, nothing is saved and StaleState is raised, so neither text is lost silently.
    Text over the limit is saved (drafts are never lost) and flagged by the checklist.
    Side effects: audit ``submission.section_saved`` (with digests, not the text).
    """
    proposal = submission.proposal
    require(permissions.can_edit_submission(actor, proposal, submission, now=now))
    section_keys = {s["key"] for s in submission.stage.required_sections or ()}
    if key not in section_keys:
        raise DomainError(_("This stage has no such section."))
    # Lock the row: two saves of one section must not both pass the revision check.
    db.session.execute(
        sa.select(StageSubmission.id).where(StageSubmission.id == submission.id).with_for_update()
    )
    db.session.refresh(submission, ["sections", "section_revisions", "revision"])
    revisions = dict(submission.section_revisions or {})
    current = int(revisions.get(key, 0))
    old = (submission.sections or {}).get(key, "")
    if old == text:
        # Nothing to save, and no conflict either: typically the same save sent again after
        # its answer was lost, which must not show a conflict against the person's own text.
        return current
    if base_revision != current:
        raise StaleState(
            {
                key: [
                    _(
                        "Someone else saved this section while you were editing. Your text is "
                        "kept below; compare it with the saved version and save again."
                    )
                ]
            }
        )
    sections = dict(submission.sections or {})
    sections[key] = text
    submission.sections = sections
    revisions[key] = current + 1
    submission.section_revisions = revisions
    _touch(proposal, submission, now, bump_revision=False)
    record_event(
        actor=actor,
        action="submission.section_saved",
        object_type="stage_submission",
        object_id=submission.id,
        before={"section": key, "chars": len(old), "digest": _text_digest(old)},
        after={
            "section": key,
            "chars": len(text),
            "digest": _text_digest(text),
            "revision": current + 1,
        },
        now=now,
    )
    return current + 1


# --- Consortium ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewOrganisation:
    name: str
    kind: str
    federal_state: str | None
    country: str = "DE"


@operation
def add_member(
    proposal: Proposal,
    *,
    actor: User,
    organisation_id: int | None,
    new_organisation: NewOrganisation | None,
    role: str,
    contact_name: str,
    contact_email: str,
    now: dt.datetime,
) -> ConsortiumMember:
    """Add an organisation from the registry (or a new one) to the consortium.

    Side effects: possibly an organisation row; a member row; audit ``consortium.member_added``.
    """
    submission = current_submission(proposal)
    assert submission is not None
    require(permissions.can_change_consortium(actor, proposal, submission, now=now))
    errors: dict[str, list[str]] = {}
    organisation: Organisation | None = None
    if organisation_id is not None:
        organisation = db.session.get(Organisation, organisation_id)
        if organisation is None:
            errors["organisation_id"] = [_("Choose an organisation from the list.")]
    elif new_organisation is not None:
        organisation, org_errors = _new_organisation(new_organisation, now=now)
        errors.update(org_errors)
    else:
        errors["organisation_id"] = [_("Choose an organisation, or enter a new one.")]
    try:
        member_role = MemberRole(role)
    except ValueError:
        errors["role"] = [_("Choose coordinator, partner, associated partner or subcontractor.")]
        member_role = MemberRole.PARTNER
    if member_role == MemberRole.COORDINATOR and any(
        m.role == MemberRole.COORDINATOR for m in proposal.members
    ):
        errors["role"] = [_("The consortium already has a coordinator.")]
    if organisation is not None and any(
        m.organisation_id == organisation.id for m in proposal.members
    ):
        errors["organisation_id"] = [
            _("%(organisation)s is already in the consortium.", organisation=organisation.name)
        ]
    if len(contact_name) > 200 or len(contact_email) > 254:
        errors["contact_name"] = [_("The contact details are too long.")]
    if errors:
        raise DomainError(errors)
    assert organisation is not None
    member = ConsortiumMember(
        organisation=organisation,
        role=member_role,
        contact_name=contact_name.strip(),
        contact_email=contact_email.strip().lower(),
    )
    proposal.members.append(member)
    _touch(proposal, submission, now)
    db.session.flush()
    record_event(
        actor=actor,
        action="consortium.member_added",
        object_type="proposal",
        object_id=proposal.id,
        after={"member_id": member.id, "organisation_id": organisation.id, "role": member_role},
        now=now,
    )
    return member


def _new_organisation(
    data: NewOrganisation, *, now: dt.datetime
) -> tuple[Organisation | None, dict[str, list[str]]]:
    """The registry's organisation of that name, or a new one from the details given."""
    name = " ".join(data.name.split())
    if not name:
        return None, {
            "new_name": [_("Enter the organisation's name, or choose one from the list.")]
        }
    existing = db.session.scalar(
        sa.select(Organisation).where(
            sa.func.lower(Organisation.name) == name.lower(), Organisation.country == data.country
        )
    )
    if existing is not None:
        # A duplicate merged into another is no longer offered: the one kept stands in.
        return resolve(existing), {}
    errors: dict[str, list[str]] = {}
    try:
        kind = OrganisationKind(data.kind)
    except ValueError:
        errors["new_kind"] = [_("New organisation: choose its kind.")]
        kind = OrganisationKind.SME
    state: FederalState | None = None
    if data.country == "DE":
        try:
            state = FederalState(data.federal_state or "")
        except ValueError:
            errors["new_federal_state"] = [_("New organisation: choose its federal state.")]
    if errors:
        return None, errors
    organisation = Organisation(
        name=name, kind=kind, federal_state=state, country=data.country, created_at=now
    )
    db.session.add(organisation)
    db.session.flush()
    return organisation, {}


@operation
def remove_member(member: ConsortiumMember, *, actor: User, now: dt.datetime) -> None:
    """Remove an organisation and its budget lines. Side effects: audit."""
    proposal = member.proposal
    submission = current_submission(proposal)
    assert submission is not None
    require(permissions.can_change_consortium(actor, proposal, submission, now=now))
    before = {
        "member_id": member.id,
        "organisation_id": member.organisation_id,
        "role": member.role,
    }
    db.session.execute(sa.delete(BudgetLine).where(BudgetLine.member_id == member.id))
    proposal.members.remove(member)
    db.session.delete(member)
    _touch(proposal, submission, now)
    record_event(
        actor=actor,
        action="consortium.member_removed",
        object_type="proposal",
        object_id=proposal.id,
        before=before,
        now=now,
    )


# --- Budget -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BudgetInput:
    member_id: int
    year: int
    public_funding: str
    own_contribution: str
    # One of the call's cost category keys; "" where the call has none.
    category: str = ""


def budget_cell(member_id: int, year: int, category: str = "") -> str:
    """The field a message about one cell of the budget table is keyed by."""
    if category:
        return f"m{member_id}-c{category}-y{year}"
    return f"m{member_id}-y{year}"


@operation
def save_budget(
    submission: StageSubmission,
    *,
    actor: User,
    rows: list[BudgetInput],
    base_revision: int,
    now: dt.datetime,
    locale: str = "de",
) -> None:
    """Replace the budget table, the amounts read as people of ``locale`` write them. Amounts are
    checked for shape here, and refused at their cell when they lie outside the call's years or
    cost categories or give an associated partner public funding; the call's other rules (caps,
    co-funding share, funding rates) are shown by the checklist and enforced at submission.

    Raises StaleState when the consortium, budget or attachments changed since the page loaded.
    Side effects: budget rows; audit ``submission.budget_saved`` with the totals.
    """
    proposal = submission.proposal
    require(permissions.can_edit_submission(actor, proposal, submission, now=now))
    db.session.execute(
        sa.select(StageSubmission.id).where(StageSubmission.id == submission.id).with_for_update()
    )
    db.session.refresh(submission, ["revision"])
    if submission.revision != base_revision:
        raise StaleState(
            {
                "": [
                    _(
                        "The consortium or budget was changed by someone else while you were "
                        "editing. Your numbers are kept below; check them and save again."
                    )
                ]
            }
        )
    members = {m.id: m for m in proposal.members}
    call = proposal.call
    first, last = submission.stage.budget_years
    categories = call.category_names()
    errors: dict[str, list[str]] = {}
    parsed: list[tuple[int, int, str, Decimal, Decimal]] = []
    for row in rows:
        field = budget_cell(row.member_id, row.year, row.category)
        if row.member_id not in members:
            errors[field] = [_("This organisation is not in the consortium.")]
            continue
        problems: list[str] = []
        amounts: list[Decimal] = []
        for is_public, text in ((True, row.public_funding), (False, row.own_contribution)):
            try:
                value = parse_amount(text, locale) or Decimal(0)
            except AmountError as error:
                problems.append(_amount_unreadable(is_public, say(error.text)))
                continue
            amounts.append(value)
            if value < 0:
                problems.append(
                    _("The public funding cannot be negative.")
                    if is_public
                    else _("The own contribution cannot be negative.")
                )
            elif value != value.quantize(Decimal("0.01")):
                problems.append(
                    _("Give the public funding in whole cents at most.")
                    if is_public
                    else _("Give the own contribution in whole cents at most.")
                )
            elif value >= Decimal("1e12"):
                problems.append(
                    _("The public funding is too large.")
                    if is_public
                    else _("The own contribution is too large.")
                )
        if problems:
            errors[field] = problems
            continue
        public, own = amounts
        if not public and not own:
            continue  # an empty cell is no line, wherever it stands
        if submission.stage.is_evaluation and not first <= row.year <= last:
            errors[field] = [
                _(
                    "Budget year outside the next phase: it runs over the project years "
                    "%(first)s to %(last)s.",
                    first=first,
                    last=last,
                )
            ]
            continue
        if not submission.stage.is_evaluation and not 1 <= row.year <= call.budget_years:
            errors[field] = [
                ngettext(
                    "Budget year outside the call: its budgets run over %(num)d year.",
                    "Budget year outside the call: its budgets run over %(num)d years.",
                    call.budget_years,
                )
            ]
            continue
        if row.category not in categories and (categories or row.category):
            errors[field] = [
                _("Not a cost category of this call; move the amounts to one of its categories.")
                if categories
                else _("This call has no cost categories; enter one amount per partner and year.")
            ]
            continue
        if public and members[row.member_id].role == MemberRole.ASSOCIATED_PARTNER:
            errors[field] = [
                _("An associated partner receives no public funding; enter its own contribution.")
            ]
            continue
        parsed.append((row.member_id, row.year, row.category, public, own))
    if errors:
        raise DomainError(errors)
    before = rules.budget_totals(_budget_rows(submission))
    db.session.execute(sa.delete(BudgetLine).where(BudgetLine.submission_id == submission.id))
    for member_id, year, category, public, own in parsed:
        db.session.add(
            BudgetLine(
                submission_id=submission.id,
                member_id=member_id,
                year=year,
                category=category,
                public_funding=public,
                own_contribution=own,
            )
        )
    db.session.flush()
    db.session.expire(submission, ["budget_lines"])
    after = rules.budget_totals(_budget_rows(submission))
    _touch(proposal, submission, now)
    record_event(
        actor=actor,
        action="submission.budget_saved",
        object_type="stage_submission",
        object_id=submission.id,
        before={"public": before.public, "own": before.own},
        after={"public": after.public, "own": after.own},
        now=now,
    )


def _amount_unreadable(is_public: bool, error: str) -> str:
    """An amount that could not be read, with the reason the parser gives."""
    if is_public:
        return _("The public funding: %(error)s", error=error)
    return _("The own contribution: %(error)s", error=error)


def _budget_rows(submission: StageSubmission) -> tuple[rules.BudgetRow, ...]:
    return tuple(
        rules.BudgetRow(
            member_key=snapshot.member_key(line.member_id),
            year=line.year,
            public_funding=line.public_funding,
            own_contribution=line.own_contribution,
            category=line.category,
        )
        for line in submission.budget_lines
    )


# --- Attachments --------------------------------------------------------------------------------


@operation
def add_attachment(
    submission: StageSubmission,
    *,
    actor: User,
    kind: str,
    filename: str,
    data: bytes,
    now: dt.datetime,
) -> Attachment:
    """Check an upload by its content and attach it, replacing an earlier file of the same kind.

    Side effects: the file on disk; an attachment row; audit ``submission.attachment_added``.
    """
    proposal = submission.proposal
    require(permissions.can_edit_submission(actor, proposal, submission, now=now))
    rule = next((a for a in submission.stage.attachment_rules or () if a["key"] == kind), None)
    if rule is None:
        raise DomainError({"file": [_("This stage does not ask for that document.")]})
    try:
        checked = check_pdf(
            data,
            filename=filename,
            limits=UploadLimits(max_bytes=rule.get("max_bytes"), max_pages=rule.get("max_pages")),
        )
    except UploadRefused as refused:
        raise DomainError({"file": [say(refused.message)]}) from refused
    key = storage.store(data)
    for old in submission.attachments:
        if old.kind == kind:
            old.removed_at = now
    attachment = Attachment(
        submission_id=submission.id,
        kind=kind,
        filename=_safe_filename(filename),
        content_type=checked.content_type,
        size_bytes=checked.size_bytes,
        page_count=checked.page_count,
        sha256=checked.sha256,
        storage_key=key,
        uploaded_by_id=actor.id,
        uploaded_at=now,
    )
    db.session.add(attachment)
    _touch(proposal, submission, now)
    db.session.flush()
    db.session.expire(submission, ["attachments"])
    record_event(
        actor=actor,
        action="submission.attachment_added",
        object_type="stage_submission",
        object_id=submission.id,
        after={
            "attachment_id": attachment.id,
            "kind": kind,
            "sha256": checked.sha256,
            "pages": checked.page_count,
            "bytes": checked.size_bytes,
        },
        now=now,
    )
    return attachment


def _safe_filename(filename: str) -> str:
    name = filename.replace("\\", "/").rsplit("/", 1)[-1].strip() or "document.pdf"
    name = "".join(c for c in name if c.isprintable())
    return name[:200]


@operation
def remove_attachment(attachment: Attachment, *, actor: User, now: dt.datetime) -> None:
    """Take a file off the draft (submitted versions keep it). Side effects: audit."""
    submission = attachment.submission
    proposal = submission.proposal
    require(permissions.can_edit_submission(actor, proposal, submission, now=now))
    if attachment.removed_at is not None:
        return
    attachment.removed_at = now
    _touch(proposal, submission, now)
    db.session.expire(submission, ["attachments"])
    record_event(
        actor=actor,
        action="submission.attachment_removed",
        object_type="stage_submission",
        object_id=submission.id,
        before={"attachment_id": attachment.id, "kind": attachment.kind},
        now=now,
    )


# --- Checklist and submission -------------------------------------------------------------------


def checklist(
    proposal: Proposal,
    submission: StageSubmission,
    *,
    now: dt.datetime,
    content: dict[str, Any] | None = None,
) -> list[rules.Problem]:
    """Everything missing or against the rules, each with the place to fix it.

    ``content`` is the submission's snapshot when the caller has already built it.
    """
    if content is None:
        content = snapshot.snapshot(proposal, submission)
    return rules.checklist(
        snapshot.draft_from_snapshot(content),
        snapshot.stage_rules(submission.stage),
        snapshot.call_rules(proposal.call, topics_chosen=bool(content["proposal"]["topics"])),
        now=now,
        extended_until=permissions.extension_for(proposal, submission.stage),
    )


@operation
def submit_stage(
    submission: StageSubmission,
    *,
    actor: User,
    idempotency_key: str,
    now: dt.datetime,
) -> SubmissionVersion:
    """Freeze the draft as a new version with a content hash and the server's time.

    A repeated call with the same ``idempotency_key`` (a double click, a retry after a lost
    answer) returns the version it made, even after the deadline. Refused after the deadline
    and while the checklist shows anything.
    Side effects: a version row; submission and proposal marked submitted; audit
    ``submission.submitted``; a receipt e-mail to the coordinator.
    """
    key = idempotency_key.strip()
    if not 16 <= len(key) <= 64:
        raise DomainError(_("The form is incomplete. Reload the page and submit again."))
    # One submit at a time per submission: concurrent posts queue here. The locked row is read
    # afresh, since what was loaded before the lock may predate a contributor's last save.
    db.session.execute(
        sa.select(StageSubmission)
        .where(StageSubmission.id == submission.id)
        .options(lazyload(StageSubmission.stage))  # a stage row stays unlocked
        .with_for_update(of=StageSubmission)
        .execution_options(populate_existing=True)
    )
    # A statement of its own after the lock: one that waited for it sees what the holder wrote.
    earlier_id, last_number, extended_until = db.session.execute(
        sa.select(
            sa.select(SubmissionVersion.id)
            .where(SubmissionVersion.idempotency_key == key)
            .scalar_subquery(),
            sa.select(sa.func.max(SubmissionVersion.number))
            .where(SubmissionVersion.submission_id == submission.id)
            .scalar_subquery(),
            sa.select(DeadlineExtension.closes_at)
            .where(
                DeadlineExtension.proposal_id == submission.proposal_id,
                DeadlineExtension.stage_id == submission.stage_id,
            )
            .scalar_subquery(),
        )
    ).one()
    if earlier_id is not None:
        earlier = db.session.get_one(SubmissionVersion, earlier_id)
        if earlier.submission_id != submission.id or earlier.submitted_by_id != actor.id:
            raise DomainError(_("The form is incomplete. Reload the page and submit again."))
        return earlier
    proposal = submission.proposal
    permissions.known_extension(proposal, submission.stage, extended_until)
    require(permissions.can_submit(actor, proposal, submission, now=now))
    db.session.expire(submission, ["budget_lines", "attachments"])
    db.session.expire(proposal, ["members", "topics"])
    content = snapshot.snapshot(proposal, submission)
    problems = checklist(proposal, submission, now=now, content=content)
    if problems:
        raise DomainError({"": [say(p.message) for p in problems]})
    digest = snapshot.content_hash(content)
    number = (last_number or 0) + 1
    version = SubmissionVersion(
        submission_id=submission.id,
        number=number,
        content=content,
        content_hash=digest,
        receipt_code=f"{proposal.reference}-S{submission.stage.position}-V{number}-"
        f"{digest[:6].upper()}",
        idempotency_key=key,
        submitted_at=now,
        submitted_by_id=actor.id,
    )
    db.session.add(version)
    db.session.flush()
    stale = _("The proposal changed meanwhile. Reload the page and submit again.")
    moves = [
        Move(
            submission,
            "submit" if submission.state == SubmissionState.DRAFT else "resubmit",
            values={"submitted_at": now, "content_hash": digest},
            event="submission.submitted",
            detail={"version": number, "content_hash": digest, "receipt": version.receipt_code},
            stale=stale,
        )
    ]
    if proposal.state in (ProposalState.DRAFT, ProposalState.ADVANCED):
        moves.append(Move(proposal, "submit", values={"updated_at": now}, stale=stale))
    else:
        proposal.updated_at = now
    # Both steps' history rows and events in one insert each.
    apply_moves(moves, actor=actor, now=now)
    notify(
        to=actor,
        template="proposals/receipt",
        context={
            "name": actor.name,
            "reference": proposal.reference,
            "acronym": proposal.acronym,
            "stage": submission.stage.name,
            "version": number,
            "receipt_code": version.receipt_code,
            "content_hash": digest,
            "submitted_at": now.isoformat(),
            "proposal_id": proposal.id,
        },
        dedup_key=f"proposals.receipt:{version.id}",
        now=now,
    )
    log.info("submission %s: version %s", submission.id, number)
    return version


@operation
def withdraw_proposal(proposal: Proposal, *, actor: User, reason: str, now: dt.datetime) -> None:
    """The coordinator withdraws the proposal (possible until a decision).

    Side effects: proposal and its open submission marked withdrawn; audit
    ``proposal.withdrawn``; a confirmation e-mail.
    """
    require(permissions.can_withdraw(actor, proposal))
    stale = _("The proposal changed meanwhile. Reload the page and decide again.")
    apply_step(
        proposal,
        "withdraw",
        actor=actor,
        now=now,
        reason=reason.strip()[:1000],
        values={"updated_at": now},
        stale=stale,
    )
    submission = current_submission(proposal)
    if submission is not None:
        apply_step(submission, "withdraw", actor=actor, now=now, stale=stale)
    notify(
        to=actor,
        template="proposals/withdrawn",
        context={"name": actor.name, "reference": proposal.reference, "acronym": proposal.acronym},
        dedup_key=f"proposals.withdrawn:{proposal.id}",
        now=now,
    )


@operation
def grant_extension(
    proposal: Proposal,
    stage: Stage,
    *,
    actor: User,
    closes_at: dt.datetime,
    reason: str,
    now: dt.datetime,
) -> DeadlineExtension:
    """An officer gives one proposal more time for one stage, with a reason.

    Side effects: the extension row; audit ``proposal.extension_granted``; an e-mail to the
    coordinator.
    """
    require(permissions.can_grant_extension(actor, proposal, stage))
    errors: dict[str, list[str]] = {}
    if stage.call_id != proposal.call_id:
        errors[""] = [_("That stage belongs to another call.")]
    if closes_at <= stage.closes_at:
        errors.setdefault("closes_at", []).append(
            _("The new deadline must be later than the stage's deadline.")
        )
    if closes_at <= now:
        errors.setdefault("closes_at", []).append(_("The new deadline must be in the future."))
    if not reason.strip():
        errors["reason"] = [_("Give the reason; it is kept in the audit trail.")]
    if errors:
        raise DomainError(errors)
    extension = db.session.scalar(
        sa.select(DeadlineExtension).where(
            DeadlineExtension.proposal_id == proposal.id, DeadlineExtension.stage_id == stage.id
        )
    )
    before = {"closes_at": extension.closes_at} if extension else {"closes_at": stage.closes_at}
    if extension is None:
        extension = DeadlineExtension(proposal_id=proposal.id, stage_id=stage.id)
        db.session.add(extension)
    extension.closes_at = closes_at
    extension.reason = reason.strip()
    extension.granted_by_id = actor.id
    extension.granted_at = now
    db.session.flush()
    record_event(
        actor=actor,
        action="proposal.extension_granted",
        object_type="proposal",
        object_id=proposal.id,
        before=before,
        after={"closes_at": closes_at, "stage_id": stage.id, "reason": extension.reason},
        now=now,
    )
    coordinator = coordinator_of(proposal)
    if coordinator is not None:
        notify(
            to=coordinator,
            template="proposals/extension",
            context={
                "name": coordinator.name,
                "reference": proposal.reference,
                "stage": stage.name,
                "closes_at": closes_at.isoformat(),
                "proposal_id": proposal.id,
            },
            dedup_key=f"proposals.extension:{extension.id}:{closes_at.isoformat()}",
            now=now,
        )
    return extension


@operation
def open_next_stage(
    proposal: Proposal, *, actor: User, now: dt.datetime, invite: bool = True
) -> StageSubmission:
    """A proposal advances: its coordinator is invited to the next stage, pre-filled with the
    previous stage's sections (where the keys match) and budget.

    Side effects: a draft submission for the next stage; proposal marked advanced through the
    gateway (or, when it already is, audit ``proposal.stage_opened``); an invitation e-mail to
    the coordinator, unless ``invite`` is False (a published decision letter carries the
    invitation itself).
    """
    require(permissions.can_advance(actor, proposal))
    previous = current_submission(proposal)
    if previous is None:
        raise DomainError(_("The proposal has no submission to advance from."))
    # Interim evaluations of funded grants come after the competition: nobody advances to one.
    later = [s for s in proposal.call.competition_stages if s.position > previous.stage.position]
    if not later:
        raise DomainError(_("This is the call's last stage."))
    if proposal.state in permissions.DECIDED_STATES:
        raise DomainError(_("The proposal is %(state)s.", state=proposal.state.in_sentence))
    stage = later[0]
    keys = {s["key"] for s in stage.required_sections or ()}
    submission = StageSubmission(
        stage=stage,
        sections={k: v for k, v in (previous.sections or {}).items() if k in keys},
        updated_at=now,
    )
    proposal.submissions.append(submission)
    db.session.flush()
    for line in previous.budget_lines:
        db.session.add(
            BudgetLine(
                submission_id=submission.id,
                member_id=line.member_id,
                year=line.year,
                category=line.category,
                public_funding=line.public_funding,
                own_contribution=line.own_contribution,
            )
        )
    moved = apply_step(
        proposal,
        "advance",
        actor=actor,
        now=now,
        values={"updated_at": now},
        detail={"from_stage_id": previous.stage_id, "stage_id": stage.id},
        stale=_("The proposal changed meanwhile. Reload the page and try again."),
    )
    if not moved:
        # Already advanced (a later stage opened by hand): no state changes, so the gateway
        # records nothing; the opening of the stage is an event of its own.
        proposal.updated_at = now
        record_event(
            actor=actor,
            action="proposal.stage_opened",
            object_type="proposal",
            object_id=proposal.id,
            before={"stage_id": previous.stage_id},
            after={"stage_id": stage.id},
            now=now,
        )
    coordinator = coordinator_of(proposal) if invite else None
    if coordinator is not None:
        notify(
            to=coordinator,
            template="proposals/next_stage",
            context={
                "name": coordinator.name,
                "reference": proposal.reference,
                "acronym": proposal.acronym,
                "stage": stage.name,
                "closes_at": stage.closes_at.isoformat(),
                "proposal_id": proposal.id,
            },
            dedup_key=f"proposals.next_stage:{proposal.id}:{stage.id}",
            now=now,
        )
    return submission


# --- Contributors -------------------------------------------------------------------------------


@operation
def invite_contributor(
    proposal: Proposal, *, actor: User, email: str, now: dt.datetime
) -> ProposalInvitation:
    """The coordinator invites someone to edit the draft (not to submit it).

    Side effects: an invitation row; audit ``proposal.contributor_invited``; an e-mail.
    """
    require(permissions.can_manage_consortium_access(actor, proposal))
    address = email.strip().lower()
    existing_user = db.session.scalar(sa.select(User).where(User.email == address))
    if existing_user is not None and permissions.is_contributor(existing_user, proposal):
        raise DomainError(
            {"email": [_("%(address)s already works on this proposal.", address=address)]}
        )
    invitation = db.session.scalar(
        sa.select(ProposalInvitation).where(
            ProposalInvitation.proposal_id == proposal.id, ProposalInvitation.email == address
        )
    )
    if invitation is not None and invitation.accepted_at is None:
        raise DomainError({"email": [_("%(address)s has already been invited.", address=address)]})
    if invitation is None:
        invitation = ProposalInvitation(
            proposal_id=proposal.id, email=address, invited_by_id=actor.id, created_at=now
        )
        db.session.add(invitation)
        db.session.flush()
    record_event(
        actor=actor,
        action="proposal.contributor_invited",
        object_type="proposal",
        object_id=proposal.id,
        after={"invitation_id": invitation.id},
        now=now,
    )
    from competition.accounts.tokens import Purpose, make_token

    token = make_token(
        str(current_app.config["SECRET_KEY"]),
        Purpose.CONTRIBUTOR,
        user_id=invitation.id,
        bound_to=address,
    )
    notify(
        to=existing_user or address,
        template="proposals/contributor_invitation",
        context={
            "inviter": actor.name,
            "reference": proposal.reference,
            "acronym": proposal.acronym,
            "title": proposal.title,
            "token": token,
        },
        dedup_key=f"proposals.contributor:{invitation.id}",
        now=now,
    )
    return invitation


@operation
def accept_contributor_invitation(
    invitation: ProposalInvitation, *, actor: User, now: dt.datetime
) -> Proposal:
    """A signed-in applicant whose address was invited joins the proposal as a contributor.

    Side effects: a contributor row; audit ``proposal.contributor_joined``.
    """
    if actor.email != invitation.email:
        raise PermissionDenied(
            _(
                "This invitation was sent to %(address)s. Log in with that address.",
                address=invitation.email,
            )
        )
    if not actor.has_role(Role.APPLICANT):
        raise PermissionDenied(_("Only applicant accounts can work on proposals."))
    proposal = db.session.get(Proposal, invitation.proposal_id)
    assert proposal is not None
    if invitation.accepted_at is not None or permissions.is_contributor(actor, proposal):
        return proposal
    proposal.contributors.append(
        ProposalContributor(user_id=actor.id, role=ContributorRole.CONTRIBUTOR)
    )
    invitation.accepted_at = now
    invitation.accepted_by_id = actor.id
    record_event(
        actor=actor,
        action="proposal.contributor_joined",
        object_type="proposal",
        object_id=proposal.id,
        after={"invitation_id": invitation.id},
        now=now,
    )
    return proposal
