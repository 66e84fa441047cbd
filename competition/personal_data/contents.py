"""What a person's data export holds: every row that names them, read for them alone.

Each part reads what the person wrote or what was kept about them, never what others wrote
about the same things: a juror's own reviews but no other juror's, a proposal they declared a
conflict with by reference and title only (what the conflict form showed them), never its
content. Exclusion requests (a consortium asking that a juror not review it) and the officers'
notes stay out: they are the consortium's and the ministry's, and telling the juror would defeat
their purpose (Art. 15(4) GDPR, the rights of others). ``legal/processing.py`` names every table
with personal data; a table added there with data of this kind belongs here too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from competition.accounts import second_factor
from competition.accounts.models import TotpFactor, User, UserSession
from competition.accounts.passkey_models import PasskeyCredential
from competition.accounts.sso_models import SsoIdentity
from competition.api.models import ApiToken
from competition.assignment.models import (
    Assignment,
    Bid,
    Conflict,
    ConflictSource,
    JurorProfile,
    JuryMembership,
)
from competition.audit.models import AuditEvent
from competition.clarifications.models import (
    ClarificationAttachment,
    ClarificationMessage,
    ClarificationRequest,
)
from competition.core.data_export import ExportedFile
from competition.extensions import db
from competition.grants.models import Disbursement, Grant, Report, ReportAttachment
from competition.hearings.models import HearingSlot, JurorAvailability
from competition.memberships.models import Membership, MembershipEvaluation
from competition.notifications.models import Notification
from competition.organisations.models import Organisation
from competition.programmes.models import Call, Stage
from competition.proposals import storage
from competition.proposals.models import (
    Attachment,
    ConsortiumMember,
    Proposal,
    ProposalContributor,
    StageSubmission,
    SubmissionVersion,
)
from competition.reviews.models import Review

FORMAT_VERSION = 1


@dataclass(frozen=True)
class Collected:
    data: dict[str, Any]
    files: list[ExportedFile]


def _account(user: User) -> dict[str, Any]:
    organisation = (
        db.session.get(Organisation, user.organisation_id) if user.organisation_id else None
    )
    sessions = db.session.scalars(
        sa.select(UserSession).where(UserSession.user_id == user.id).order_by(UserSession.id)
    )
    return {
        "name": user.name,
        "email": user.email,
        "roles": sorted(role.value for role in user.roles),
        "language": user.locale,
        "created_at": user.created_at,
        "email_confirmed_at": user.email_confirmed_at,
        "status": user.status.value,
        "organisation": (
            {
                "name": organisation.name,
                "kind": organisation.kind.value,
                "country": organisation.country,
            }
            if organisation is not None
            else None
        ),
        # Times only: the token's hash identifies the browser's cookie and stays out.
        "sessions": [
            {
                "started_at": s.created_at,
                "last_seen_at": s.last_seen_at,
                "ended_at": s.ended_at,
                "end_reason": s.end_reason,
            }
            for s in sessions
        ],
    }


def _proposal_ids(user: User) -> dict[int, set[str]]:
    """The proposals the person works on, with how: coordinator/contributor, author (created
    it), submitter of a version."""
    how: dict[int, set[str]] = {}
    for proposal_id, role in db.session.execute(
        sa.select(ProposalContributor.proposal_id, ProposalContributor.role).where(
            ProposalContributor.user_id == user.id
        )
    ):
        how.setdefault(proposal_id, set()).add(role.value)
    for (proposal_id,) in db.session.execute(
        sa.select(Proposal.id).where(Proposal.created_by_id == user.id)
    ):
        how.setdefault(proposal_id, set()).add("author")
    for (proposal_id,) in db.session.execute(
        sa.select(StageSubmission.proposal_id)
        .join(SubmissionVersion, SubmissionVersion.submission_id == StageSubmission.id)
        .where(SubmissionVersion.submitted_by_id == user.id)
    ):
        how.setdefault(proposal_id, set()).add("submitter")
    return how


def _proposals(user: User) -> list[dict[str, Any]]:
    how = _proposal_ids(user)
    if not how:
        return []
    proposals = db.session.scalars(
        sa.select(Proposal)
        .where(Proposal.id.in_(how))
        .options(
            selectinload(Proposal.call),
            selectinload(Proposal.members),
            selectinload(Proposal.submissions).selectinload(StageSubmission.versions),
            selectinload(Proposal.submissions).selectinload(StageSubmission.stage),
        )
        .order_by(Proposal.id)
    )
    return [
        {
            "reference": p.reference,
            "acronym": p.acronym,
            "title": p.title,
            "abstract": p.abstract,
            "state": p.state.value,
            "call": p.call.name,
            "your_part": sorted(how[p.id]),
            "created_at": p.created_at,
            "consortium": [
                {
                    "organisation": m.organisation.name,
                    "role": m.role.value,
                    "contact_name": m.contact_name,
                    "contact_email": m.contact_email,
                }
                for m in p.members
            ],
            "stages": [
                {
                    "stage": s.stage.name,
                    "state": s.state.value,
                    "submitted_at": s.submitted_at,
                    "submitted_versions": [
                        {
                            "number": v.number,
                            "submitted_at": v.submitted_at,
                            "receipt_code": v.receipt_code,
                            "content_hash": v.content_hash,
                            "content": v.content,
                        }
                        for v in s.versions
                    ],
                }
                for s in p.submissions
            ],
        }
        for p in proposals
    ]


def _named_as_contact(user: User) -> list[dict[str, Any]]:
    """Partners that name the person as their contact: which proposal and organisation, not
    the proposal's content (being named gives no access to it)."""
    rows = db.session.execute(
        sa.select(Proposal.reference, Organisation.name, ConsortiumMember.role)
        .join(ConsortiumMember, ConsortiumMember.proposal_id == Proposal.id)
        .join(Organisation, Organisation.id == ConsortiumMember.organisation_id)
        .where(sa.func.lower(ConsortiumMember.contact_email) == user.email.lower())
        .order_by(Proposal.reference)
    )
    return [
        {"proposal": reference, "organisation": name, "role": role.value}
        for reference, name, role in rows
    ]


def _jury(user: User) -> dict[str, Any]:
    memberships = db.session.execute(
        sa.select(JuryMembership, Call.name)
        .join(Call, Call.id == JuryMembership.call_id)
        .where(JuryMembership.user_id == user.id)
        .order_by(JuryMembership.id)
    )
    profile = db.session.scalar(sa.select(JurorProfile).where(JurorProfile.user_id == user.id))
    conflicts = db.session.execute(
        sa.select(Conflict, Proposal.reference, Proposal.acronym, Proposal.title)
        .join(Proposal, Proposal.id == Conflict.proposal_id)
        .where(
            Conflict.user_id == user.id,
            sa.or_(Conflict.source == ConflictSource.DECLARED, Conflict.created_by_id == user.id),
        )
        .order_by(Conflict.id)
    )
    bids = db.session.execute(
        sa.select(Bid, Proposal.reference)
        .join(Proposal, Proposal.id == Bid.proposal_id)
        .where(Bid.user_id == user.id)
        .order_by(Bid.id)
    )
    availability = db.session.execute(
        sa.select(JurorAvailability, HearingSlot.starts_at, HearingSlot.ends_at)
        .join(HearingSlot, HearingSlot.id == JurorAvailability.slot_id)
        .where(JurorAvailability.user_id == user.id)
        .order_by(HearingSlot.starts_at)
    )
    return {
        "jury_memberships": [
            {
                "call": call_name,
                "state": m.state.value,
                "invited_at": m.invited_at,
                "responded_at": m.responded_at,
                "conflicts_declared_at": m.conflicts_declared_at,
            }
            for m, call_name in memberships
        ],
        "juror_profile": (
            {
                "expertise": profile.expertise_text,
                "topics": [t.name_en for t in profile.topics],
                "max_load": profile.max_load,
                "updated_at": profile.updated_at,
            }
            if profile is not None
            else None
        ),
        # Reference, acronym and title: what the conflict form showed; nothing of the content.
        "conflicts_declared": [
            {
                "proposal": reference,
                "acronym": acronym,
                "title": title,
                "reason": c.reason,
                "declared_at": c.created_at,
            }
            for c, reference, acronym, title in conflicts
        ],
        "bids": [
            {"proposal": reference, "level": b.level.value, "updated_at": b.updated_at}
            for b, reference in bids
        ],
        "reviews": _reviews(user),
        "hearing_availability": [
            {"starts_at": starts, "ends_at": ends, "available": a.available}
            for a, starts, ends in availability
        ],
    }


def _reviews(user: User) -> list[dict[str, Any]]:
    """The person's own reviews: their scores and texts. Only reviews of their own
    assignments are read, so no other juror's review can come along."""
    rows = db.session.execute(
        sa.select(Review, Assignment, Proposal.reference, Stage.name)
        .join(Assignment, Assignment.id == Review.assignment_id)
        .join(Proposal, Proposal.id == Assignment.proposal_id)
        .join(Stage, Stage.id == Assignment.stage_id)
        .where(Assignment.user_id == user.id)
        .order_by(Review.id)
    )
    return [
        {
            "proposal": reference,
            "stage": stage_name,
            "state": review.state.value,
            "scores": review.scores,
            "comment_for_applicant": review.comment_for_applicant,
            "comment_for_jury": review.comment_for_jury,
            "confidence": review.confidence,
            "updated_at": review.updated_at,
            "submitted_at": review.submitted_at,
            "assignment_declined_reason": assignment.decline_reason,
        }
        for review, assignment, reference, stage_name in rows
    ]


def _clarification_messages(user: User) -> list[dict[str, Any]]:
    rows = db.session.execute(
        sa.select(ClarificationMessage, Proposal.reference)
        .join(ClarificationRequest, ClarificationRequest.id == ClarificationMessage.request_id)
        .join(Proposal, Proposal.id == ClarificationRequest.proposal_id)
        .where(ClarificationMessage.author_id == user.id)
        .order_by(ClarificationMessage.id)
    )
    return [
        {
            "proposal": reference,
            "kind": message.kind.value,
            "text": message.body,
            "written_at": message.created_at,
        }
        for message, reference in rows
    ]


def _grants(user: User) -> dict[str, Any]:
    reports = db.session.execute(
        sa.select(Report, Proposal.reference)
        .join(Grant, Grant.id == Report.grant_id)
        .join(Proposal, Proposal.id == Grant.proposal_id)
        .where(Report.submitted_by_id == user.id)
        .order_by(Report.id)
    )
    accepted = db.session.execute(
        sa.select(Grant, Proposal.reference)
        .join(Proposal, Proposal.id == Grant.proposal_id)
        .where(Grant.accepted_by_id == user.id)
        .order_by(Grant.id)
    )
    requested = db.session.execute(
        sa.select(Disbursement, Proposal.reference)
        .join(Grant, Grant.id == Disbursement.grant_id)
        .join(Proposal, Proposal.id == Grant.proposal_id)
        .where(Disbursement.requested_by_id == user.id)
        .order_by(Disbursement.id)
    )
    return {
        "grants_accepted": [
            {"proposal": reference, "kind": g.kind.value, "accepted_at": g.accepted_at}
            for g, reference in accepted
        ],
        "reports_submitted": [
            {
                "proposal": reference,
                "kind": r.kind.value,
                "year": r.year,
                "state": r.state.value,
                "sections": r.sections,
                "submitted_at": r.submitted_at,
                "receipt_code": r.receipt_code,
            }
            for r, reference in reports
        ],
        "payment_requests": [
            {
                "proposal": reference,
                "year": d.year,
                "amount": d.amount,
                "state": d.state.value,
                "requested_at": d.requested_at,
            }
            for d, reference in requested
        ],
    }


def _memberships(user: User) -> dict[str, Any]:
    applications = db.session.scalars(
        sa.select(Membership)
        .where(Membership.applicant_id == user.id)
        .options(selectinload(Membership.programme), selectinload(Membership.organisation))
        .order_by(Membership.id)
    )
    evaluations = db.session.scalars(
        sa.select(MembershipEvaluation)
        .where(MembershipEvaluation.evaluator_id == user.id)
        .order_by(MembershipEvaluation.id)
    )
    return {
        "membership_applications": [
            {
                "programme": m.programme.name,
                "organisation": m.organisation.name,
                "services": m.services,
                "state": m.state.value,
                "applied_at": m.applied_at,
            }
            for m in applications
        ],
        "membership_evaluations_written": [
            {
                "membership": e.membership_id,
                "recommendation": e.recommendation.value,
                "comment": e.comment,
                "recorded_at": e.recorded_at,
            }
            for e in evaluations
        ],
    }


def _notifications(user: User) -> list[dict[str, Any]]:
    rows = db.session.execute(
        sa.select(
            Notification.subject,
            Notification.template,
            Notification.created_at,
            Notification.sent_at,
        )
        .where(Notification.user_id == user.id)
        .order_by(Notification.id)
    )
    return [
        {"subject": subject, "kind": template, "created_at": created, "sent_at": sent}
        for subject, template, created, sent in rows
    ]


def _api_tokens(user: User) -> list[dict[str, Any]]:
    tokens = db.session.scalars(
        sa.select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id)
    )
    # Never the hash: with it, a token could be tried offline.
    return [
        {
            "name": t.name,
            "scopes": list(t.scopes),
            "created_at": t.created_at,
            "expires_at": t.expires_at,
            "last_used_at": t.last_used_at,
            "revoked_at": t.revoked_at,
        }
        for t in tokens
    ]


def _sign_in(user: User) -> dict[str, Any]:
    """How the person signs in; never a secret, a key or a hash."""
    app_set_up = db.session.scalar(
        sa.select(TotpFactor.created_at).where(TotpFactor.user_id == user.id)
    )
    passkeys = db.session.scalars(
        sa.select(PasskeyCredential)
        .where(PasskeyCredential.user_id == user.id)
        .order_by(PasskeyCredential.id)
    )
    links = db.session.scalars(
        sa.select(SsoIdentity).where(SsoIdentity.user_id == user.id).order_by(SsoIdentity.id)
    )
    return {
        "authenticator_app_set_up_at": app_set_up,
        "unused_recovery_codes": second_factor.unused_recovery_codes(user),
        "passkeys": [
            {"name": p.name, "created_at": p.created_at, "last_used_at": p.last_used_at}
            for p in passkeys
        ],
        "sign_in_providers": [
            {
                "provider": link.provider,
                "subject": link.subject,
                "email": link.email,
                "linked_at": link.linked_at,
                "last_used_at": link.last_used_at,
            }
            for link in links
        ],
    }


def _audit_events(user: User) -> list[dict[str, Any]]:
    rows = db.session.execute(
        sa.select(
            AuditEvent.action, AuditEvent.object_type, AuditEvent.object_id, AuditEvent.occurred_at
        )
        .where(AuditEvent.actor_id == user.id)
        .order_by(AuditEvent.id)
    )
    return [
        {"action": action, "object": f"{kind}:{object_id}", "at": at}
        for action, kind, object_id, at in rows
    ]


def uploaded_files(user: User) -> list[tuple[str, Any]]:
    """(folder, file) for every file the person uploaded: a proposal's, then a report's, then a
    clarification's, each kind oldest first (the folder names the proposal). One query; a file
    is a row of the columns ``read_files`` reads (the removal time None where a kind has none)."""
    kinds: tuple[tuple[Any, ...], ...] = (
        (
            "proposal",
            Attachment,
            (StageSubmission, StageSubmission.id == Attachment.submission_id),
            (Proposal, Proposal.id == StageSubmission.proposal_id),
        ),
        (
            "report",
            ReportAttachment,
            (Report, Report.id == ReportAttachment.report_id),
            (Grant, Grant.id == Report.grant_id),
            (Proposal, Proposal.id == Grant.proposal_id),
        ),
        (
            "clarification",
            ClarificationAttachment,
            (ClarificationMessage, ClarificationMessage.id == ClarificationAttachment.message_id),
            (ClarificationRequest, ClarificationRequest.id == ClarificationMessage.request_id),
            (Proposal, Proposal.id == ClarificationRequest.proposal_id),
        ),
    )
    union = sa.union_all(
        *(_uploaded(user, position, *kind) for position, kind in enumerate(kinds))
    ).subquery()
    rows = db.session.execute(sa.select(union).order_by(union.c.position, union.c.id))
    return [(f"{row.folder} {row.reference}", row) for row in rows]


def _uploaded(user: User, position: int, folder: str, model: Any, *path: Any) -> sa.Select[Any]:
    """The person's files of one kind, with the reference of the proposal that ``path`` (the
    joins from the file) leads to; a kind that cannot be removed has no removal time."""
    removed_at = model.removed_at if hasattr(model, "removed_at") else sa.null()
    query = sa.select(
        sa.literal(folder).label("folder"),
        sa.literal(position).label("position"),
        model.id,
        Proposal.reference,
        model.filename,
        model.content_type,
        model.size_bytes,
        model.sha256,
        model.storage_key,
        model.uploaded_at,
        removed_at.label("removed_at"),
    ).select_from(model)
    for target, on in path:
        query = query.join(target, on)
    return query.where(model.uploaded_by_id == user.id)


def collect(user: User) -> dict[str, Any]:
    """Everything but the files' bytes."""
    return {
        "format_version": FORMAT_VERSION,
        "account": _account(user),
        "proposals": _proposals(user),
        "named_as_partner_contact": _named_as_contact(user),
        "jury": _jury(user),
        "clarification_messages_written": _clarification_messages(user),
        "grants": _grants(user),
        "memberships": _memberships(user),
        "notifications": _notifications(user),
        "api_tokens": _api_tokens(user),
        "sign_in": _sign_in(user),
        "audit_events_as_actor": _audit_events(user),
    }


def read_files(found: Sequence[tuple[str, Any]]) -> tuple[list[ExportedFile], list[dict[str, Any]]]:
    """The files' bytes and, for data.json, what each is; a file missing from the store is
    listed as missing rather than failing the export."""
    files = []
    listed = []
    for folder, stored in found:
        entry = {
            "folder": folder,
            "filename": stored.filename,
            "content_type": stored.content_type,
            "size_bytes": stored.size_bytes,
            "sha256": stored.sha256,
            "uploaded_at": stored.uploaded_at,
            "removed_at": getattr(stored, "removed_at", None),
        }
        try:
            data = storage.read(stored.storage_key)
        except (FileNotFoundError, ValueError):
            entry["missing"] = True
        else:
            files.append(ExportedFile(folder=folder, filename=stored.filename, data=data))
        listed.append(entry)
    return files, listed
