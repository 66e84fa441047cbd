"""Erasure after the retention period, and a person's erasure request.

What is erased of a proposal whose period has ended: what people wrote (sections, frozen
versions' content, review comments, clarification questions and answers, panel notes and
consensus reasons, decision rationales and letters, screening and extension reasons, report
texts and review notes, payment reasons, typed reasons of lifecycle steps), every uploaded file
(proposal attachments, clarification answers, report PDFs), the partners' contact persons, the
invitations and exclusion requests (e-mail addresses), and the personal part of the audit
events about all of it. What stays, for statistics and the public record: the proposal's
reference, call, state, topics, consortium (organisations and roles), budget lines, scores,
decisions' outcomes and dates, grants with their amounts, phases and dates; a funded proposal
also keeps its acronym, title and abstract (the portal publishes them), an unsuccessful one
loses them (its acronym becomes its reference). An applicant account with nothing left in a
period is erased as well: name and e-mail replaced by its pseudonym, disabled.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa

from competition.accounts import second_factor, sessions
from competition.accounts.models import Role, User, UserRole, UserStatus
from competition.accounts.sso_models import SsoIdentity
from competition.assignment.models import Assignment, Conflict, ExclusionRequest, JurorProfile
from competition.audit.models import StateTransition
from competition.audit.operations import clear_personal, record_event
from competition.clarifications.models import (
    ClarificationAttachment,
    ClarificationMessage,
    ClarificationRequest,
)
from competition.core import retention as rules
from competition.core.texts import N_
from competition.db import on_commit, operation
from competition.errors import DomainError, PermissionDenied
from competition.extensions import db
from competition.grants.models import (
    Disbursement,
    Grant,
    GrantKind,
    GrantState,
    Report,
    ReportAttachment,
)
from competition.i18n import gettext as _
from competition.jobs import operations as jobs
from competition.notifications.models import Notification
from competition.programmes.models import Call, Programme, Stage
from competition.proposals import storage
from competition.proposals.models import (
    Attachment,
    ConsortiumMember,
    DeadlineExtension,
    Proposal,
    ProposalContributor,
    ProposalInvitation,
    ProposalState,
    StageSubmission,
    SubmissionVersion,
)
from competition.retention.models import ErasureRequest, RetentionRun
from competition.reviews.models import Review
from competition.screening.models import ScreeningResult
from competition.selection.models import ConsensusScore, Decision, DecisionState, PanelNote

log = logging.getLogger(__name__)

JOB_KIND = "retention"
JOB_SUBJECT = "all"
FINAL = (
    ProposalState.REJECTED,
    ProposalState.INELIGIBLE,
    ProposalState.WITHDRAWN,
    ProposalState.FUNDED,
)
GRANT_ENDED = (GrantState.CLOSED, GrantState.ENDED_EARLY, GrantState.DECLINED)
ERASED_VERSION = {"erased": True}
RUNNING = N_("Erasing what is past its retention period.")


# --- periods ---------------------------------------------------------------------------------


def _facts(proposals: list[Proposal]) -> list[rules.ProposalFacts]:
    ids = [p.id for p in proposals]
    if not ids:
        return []
    published = dict(
        db.session.execute(
            sa.select(Decision.proposal_id, sa.func.max(Decision.published_at))
            .where(Decision.proposal_id.in_(ids), Decision.state == DecisionState.PUBLISHED)
            .group_by(Decision.proposal_id)
        ).all()
    )
    stepped = dict(
        db.session.execute(
            sa.select(StateTransition.object_id, sa.func.max(StateTransition.at))
            .where(
                StateTransition.object_type == "proposal",
                StateTransition.object_id.in_(ids),
                StateTransition.to_state.in_([s.value for s in FINAL]),
            )
            .group_by(StateTransition.object_id)
        ).all()
    )
    grants = db.session.execute(
        sa.select(Grant.id, Grant.proposal_id, Grant.kind, Grant.state).where(
            Grant.proposal_id.in_(ids)
        )
    ).all()
    closed = dict(
        db.session.execute(
            sa.select(StateTransition.object_id, sa.func.max(StateTransition.at))
            .where(
                StateTransition.object_type == "grant",
                StateTransition.object_id.in_([g.id for g in grants] or [0]),
                StateTransition.to_state.in_([s.value for s in GRANT_ENDED]),
            )
            .group_by(StateTransition.object_id)
        ).all()
    )
    abandoned = _drafts_closed_at([p.id for p in proposals if p.state == ProposalState.DRAFT])
    found = []
    for proposal in proposals:
        own = [g for g in grants if g.proposal_id == proposal.id]
        ends = [closed[g.id] for g in own if g.id in closed and g.state != GrantState.DECLINED]
        moments = [
            m
            for m in (
                published.get(proposal.id),
                stepped.get(proposal.id),
                abandoned.get(proposal.id),
            )
            if m
        ]
        found.append(
            rules.ProposalFacts(
                proposal_id=proposal.id,
                final=proposal.state in FINAL or proposal.id in abandoned,
                funded=proposal.state == ProposalState.FUNDED
                or any(g.kind == GrantKind.PROJECT and g.state != GrantState.DECLINED for g in own),
                ended_at=max(moments) if moments else None,
                grants_open=any(g.state not in GRANT_ENDED for g in own),
                grants_closed_at=max(ends) if ends else None,
            )
        )
    return found


def _drafts_closed_at(ids: list[int]) -> dict[int, dt.datetime]:
    """When each never-submitted draft could no longer be submitted: the close of its call's
    last stage, or of a later extension granted to it. Its period runs from there like an
    unsuccessful proposal's, so an abandoned draft is not kept for ever."""
    if not ids:
        return {}
    closes = dict(
        db.session.execute(
            sa.select(Proposal.id, sa.func.max(Stage.closes_at))
            .join(Stage, Stage.call_id == Proposal.call_id)
            .where(Proposal.id.in_(ids))
            .group_by(Proposal.id)
        ).all()
    )
    extended = db.session.execute(
        sa.select(DeadlineExtension.proposal_id, sa.func.max(DeadlineExtension.closes_at))
        .where(DeadlineExtension.proposal_id.in_(ids))
        .group_by(DeadlineExtension.proposal_id)
    ).all()
    for proposal_id, until in extended:
        closes[proposal_id] = max(closes.get(proposal_id) or until, until)
    return closes


def due_proposals(programme: Programme, *, now: dt.datetime) -> list[Proposal]:
    """The programme's proposals whose retention period has ended and that are not erased."""
    proposals = list(
        db.session.scalars(
            sa.select(Proposal)
            .join(Call, Call.id == Proposal.call_id)
            .where(
                Call.programme_id == programme.id,
                Proposal.erased_at.is_(None),
                Proposal.state.in_((*FINAL, ProposalState.DRAFT)),
            )
            .order_by(Proposal.id)
        )
    )
    by_id = {p.id: p for p in proposals}
    return [
        by_id[facts.proposal_id]
        for facts in _facts(proposals)
        if rules.is_due(
            facts,
            now=now,
            years_unsuccessful=programme.retention_years_unsuccessful,
            years_funded=programme.retention_years_funded,
        )
    ]


# --- erasing -----------------------------------------------------------------------------------


def _ids(query: Any) -> list[int]:
    return list(db.session.scalars(query))


def _update(table: Any, where: Any, values: dict[str, Any]) -> int:
    return int(db.session.execute(sa.update(table).where(where).values(**values)).rowcount or 0)


def _discard_files(model: Any, where: Any) -> int:
    keys = _ids(sa.select(model.storage_key).where(where))
    if not keys:
        return 0
    db.session.execute(sa.update(model).where(where).values(filename=""))
    on_commit(lambda: [storage.remove(key) for key in keys] and None)
    return len(keys)


def _erase_proposal(proposal: Proposal, *, funded: bool, now: dt.datetime) -> Counter[str]:
    counts: Counter[str] = Counter()
    pid = proposal.id
    submissions = _ids(sa.select(StageSubmission.id).where(StageSubmission.proposal_id == pid))
    members = _ids(sa.select(ConsortiumMember.id).where(ConsortiumMember.proposal_id == pid))
    assignments = _ids(sa.select(Assignment.id).where(Assignment.proposal_id == pid))
    reviews = _ids(sa.select(Review.id).where(Review.assignment_id.in_(assignments)))
    clarifications = _ids(
        sa.select(ClarificationRequest.id).where(ClarificationRequest.proposal_id == pid)
    )
    messages = _ids(
        sa.select(ClarificationMessage.id).where(
            ClarificationMessage.request_id.in_(clarifications)
        )
    )
    conflicts = _ids(sa.select(Conflict.id).where(Conflict.proposal_id == pid))
    grants = _ids(sa.select(Grant.id).where(Grant.proposal_id == pid))
    reports = _ids(sa.select(Report.id).where(Report.grant_id.in_(grants)))
    disbursements = _ids(sa.select(Disbursement.id).where(Disbursement.grant_id.in_(grants)))
    decisions = _ids(sa.select(Decision.id).where(Decision.proposal_id == pid))

    texts = 0
    texts += _update(StageSubmission, StageSubmission.proposal_id == pid, {"sections": {}})
    texts += _update(
        SubmissionVersion,
        SubmissionVersion.submission_id.in_(submissions),
        {"content": ERASED_VERSION},
    )
    texts += _update(
        Review,
        Review.id.in_(reviews),
        {"comment_for_applicant": "", "comment_for_jury": ""},
    )
    texts += _update(
        ClarificationRequest, ClarificationRequest.id.in_(clarifications), {"question": ""}
    )
    texts += _update(ClarificationMessage, ClarificationMessage.id.in_(messages), {"body": ""})
    texts += _update(PanelNote, PanelNote.proposal_id == pid, {"text": ""})
    texts += _update(ConsensusScore, ConsensusScore.proposal_id == pid, {"reason": ""})
    texts += _update(Decision, Decision.proposal_id == pid, {"rationale": "", "letter": sa.null()})
    texts += _update(ScreeningResult, ScreeningResult.proposal_id == pid, {"reason": ""})
    texts += _update(DeadlineExtension, DeadlineExtension.proposal_id == pid, {"reason": ""})
    texts += _update(Conflict, Conflict.id.in_(conflicts), {"reason": ""})
    texts += _update(Report, Report.id.in_(reports), {"sections": {}, "review_note": ""})
    texts += _update(Disbursement, Disbursement.id.in_(disbursements), {"reason": ""})
    counts["texts"] += texts

    counts["files"] += _discard_files(Attachment, Attachment.submission_id.in_(submissions))
    counts["files"] += _discard_files(
        ClarificationAttachment, ClarificationAttachment.message_id.in_(messages)
    )
    counts["files"] += _discard_files(ReportAttachment, ReportAttachment.report_id.in_(reports))

    counts["contact_persons"] += _update(
        ConsortiumMember,
        sa.and_(
            ConsortiumMember.proposal_id == pid,
            sa.or_(ConsortiumMember.contact_name != "", ConsortiumMember.contact_email != ""),
        ),
        {"contact_name": "", "contact_email": ""},
    )
    counts["invitations"] += int(
        db.session.execute(
            sa.delete(ProposalInvitation).where(ProposalInvitation.proposal_id == pid)
        ).rowcount
        or 0
    )
    counts["invitations"] += int(
        db.session.execute(
            sa.delete(ExclusionRequest).where(ExclusionRequest.proposal_id == pid)
        ).rowcount
        or 0
    )

    objects: list[tuple[str, object]] = [("proposal", pid)]
    for kind, ids in (
        ("stage_submission", submissions),
        ("consortium_member", members),
        ("assignment", assignments),
        ("review", reviews),
        ("clarification_request", clarifications),
        ("conflict", conflicts),
        ("grant", grants),
        ("report", reports),
        ("disbursement", disbursements),
        ("decision", decisions),
    ):
        objects.extend((kind, i) for i in ids)
    _clear_transition_reasons(objects)
    counts["audit_events"] += clear_personal(objects)

    values: dict[str, Any] = {"erased_at": now}
    if not funded:
        values.update(title="", abstract="", acronym=proposal.reference[:40])
    db.session.execute(sa.update(Proposal).where(Proposal.id == pid).values(**values))
    counts["funded" if funded else "unsuccessful"] += 1
    counts["proposals"] += 1
    return counts


def _clear_transition_reasons(objects: Iterable[tuple[str, object]]) -> None:
    by_type: dict[str, list[int]] = {}
    for kind, object_id in objects:
        by_type.setdefault(kind, []).append(int(str(object_id)))
    for kind, ids in by_type.items():
        db.session.execute(
            sa.update(StateTransition)
            .where(
                StateTransition.object_type == kind,
                StateTransition.object_id.in_(ids),
                StateTransition.reason != "",
            )
            .values(reason="")
        )


def _people_of(proposal_ids: list[int]) -> set[int]:
    created = _ids(sa.select(Proposal.created_by_id).where(Proposal.id.in_(proposal_ids)))
    contributing = _ids(
        sa.select(ProposalContributor.user_id).where(
            ProposalContributor.proposal_id.in_(proposal_ids)
        )
    )
    return {i for i in (*created, *contributing) if i is not None}


def _kept_proposals(user_id: int) -> list[int]:
    """The proposals of the person that are not erased yet."""
    return sorted(
        set(
            _ids(
                sa.select(Proposal.id).where(
                    Proposal.erased_at.is_(None),
                    sa.or_(
                        Proposal.created_by_id == user_id,
                        Proposal.id.in_(
                            sa.select(ProposalContributor.proposal_id).where(
                                ProposalContributor.user_id == user_id
                            )
                        ),
                    ),
                )
            )
        )
    )


def _applicants_done(user_ids: set[int]) -> list[User]:
    """Accounts of applicants only (no jury, officer or admin role) with every proposal of
    theirs erased: nothing of them is within a period any more."""
    if not user_ids:
        return []
    staff = set(
        _ids(
            sa.select(UserRole.user_id).where(
                UserRole.user_id.in_(user_ids), UserRole.role != Role.APPLICANT
            )
        )
    )
    users = db.session.scalars(
        sa.select(User).where(User.id.in_(user_ids - staff), User.erased_at.is_(None))
    ).all()
    return [u for u in users if not _kept_proposals(u.id)]


def _erase_account(user: User, *, now: dt.datetime) -> Counter[str]:
    """Replace the person's name and e-mail by the pseudonym, disable the account and take
    their contact details and typed texts out of what is not within a period."""
    counts: Counter[str] = Counter()
    address = user.email
    pseudonym = user.pseudonym
    sessions.end_sessions(user, reason="erased", now=now)
    db.session.execute(
        sa.update(User)
        .where(User.id == user.id)
        .values(
            name=pseudonym,
            email=f"{pseudonym}@erased.invalid",
            password_hash=None,
            status=UserStatus.DISABLED,
            erased_at=now,
        )
    )
    db.session.expire(user)
    db.session.execute(
        sa.update(JurorProfile).where(JurorProfile.user_id == user.id).values(expertise_text="")
    )
    counts["messages"] += _update(
        Notification,
        Notification.user_id == user.id,
        {
            "to_address": f"{pseudonym}@erased.invalid",
            "context": {},
            "subject": sa.null(),
            "body_text": sa.null(),
            "body_html": sa.null(),
        },
    )
    lowered = address.lower()
    counts["invitations"] += int(
        db.session.execute(
            sa.delete(ProposalInvitation).where(sa.func.lower(ProposalInvitation.email) == lowered)
        ).rowcount
        or 0
    )
    counts["invitations"] += int(
        db.session.execute(
            sa.delete(ExclusionRequest).where(sa.func.lower(ExclusionRequest.email) == lowered)
        ).rowcount
        or 0
    )
    counts["contact_persons"] += _update(
        ConsortiumMember,
        sa.func.lower(ConsortiumMember.contact_email) == lowered,
        {"contact_name": "", "contact_email": ""},
    )
    db.session.execute(
        sa.update(StateTransition)
        .where(StateTransition.actor_id == user.id, StateTransition.reason != "")
        .values(reason="")
    )
    # Ways to sign in go with the account: second factors, and the providers' links, which
    # keep the address the provider gave.
    counts["second_factors"] += sum(second_factor.remove_second_factors(user).values())
    counts["sign_in_links"] += int(
        db.session.execute(sa.delete(SsoIdentity).where(SsoIdentity.user_id == user.id)).rowcount
        or 0
    )
    counts["audit_events"] += clear_personal([("user", user.id)], actors=[user.id])
    counts["accounts"] += 1
    return counts


def _erase_due(programmes: Iterable[Programme], *, now: dt.datetime) -> Counter[str]:
    counts: Counter[str] = Counter()
    erased: list[int] = []
    for programme in programmes:
        for proposal in due_proposals(programme, now=now):
            funded = proposal.state == ProposalState.FUNDED or bool(
                db.session.scalar(
                    sa.select(sa.func.count())
                    .select_from(Grant)
                    .where(Grant.proposal_id == proposal.id, Grant.kind == GrantKind.PROJECT)
                )
            )
            counts.update(_erase_proposal(proposal, funded=funded, now=now))
            erased.append(proposal.id)
    for user in _applicants_done(_people_of(erased)):
        counts.update(_erase_account(user, now=now))
    counts.update(_complete_requests(now=now))
    return counts


def _complete_requests(*, now: dt.datetime) -> Counter[str]:
    """Erasure requests whose waiting proposals are all erased now are complete."""
    counts: Counter[str] = Counter()
    for request in db.session.scalars(
        sa.select(ErasureRequest).where(ErasureRequest.completed_at.is_(None))
    ):
        left = [p for p in request.waiting if p in _kept_proposals(request.user_id)]
        if left != list(request.waiting):
            request.waiting = left
        if not left:
            request.completed_at = now
            counts["requests_completed"] += 1
    return counts


# --- the periodic run ----------------------------------------------------------------------------


@operation
def _open(*, now: dt.datetime) -> int:
    job = jobs.open_job(
        JOB_KIND,
        JOB_SUBJECT,
        actor=None,
        now=now,
        taken=_("The erasure is running already."),
    )
    db.session.flush()
    return job.id


@operation
def _run(job_id: int, claimed: dt.datetime, *, now: dt.datetime) -> RetentionRun | None:
    job = jobs.mine(job_id, claimed)
    if job is None:
        return None
    programmes = db.session.scalars(sa.select(Programme).order_by(Programme.id)).all()
    counts = _erase_due(programmes, now=now)
    run = RetentionRun(
        kind="periodic", job_id=job_id, ran_at=now, counts=dict(sorted(counts.items()))
    )
    db.session.add(run)
    db.session.flush()
    record_event(
        actor=None,
        action="retention.erased",
        object_type="retention_run",
        object_id=run.id,
        after={"counts": run.counts},
        now=now,
    )
    jobs.end(
        job,
        "finish",
        now=now,
        message=N_(
            "Done: %(proposals)s proposals and %(accounts)s accounts erased.",
            proposals=counts["proposals"],
            accounts=counts["accounts"],
        ),
    )
    log.info("retention run %s erased %s proposals", run.id, counts["proposals"])
    return run


def erase_due(*, now: dt.datetime) -> RetentionRun | None:
    """The periodic job: erase everything whose retention period has ended, as one job row
    (progress and result on the retention page), and record a report of what it did.

    Side effects: a job; erased rows and files; ``retention_runs`` row; audit
    ``retention.erased`` with the counts. Nothing within its period is touched."""
    job_id = _open(now=now)
    claimed = jobs.claim(job_id, now=now)
    if claimed is None:
        return None
    with jobs.heartbeat(job_id, claimed):
        jobs.report(job_id, claimed, 10, RUNNING)
        return _run(job_id, claimed, now=now)


# --- a person's erasure request ------------------------------------------------------------------


@operation
def record_erasure_request(
    user: User, *, actor: User, reason: str, now: dt.datetime
) -> ErasureRequest:
    """An administrator records a person's request to be erased, with the reason.

    Everything of the person outside a retention period is erased now; their proposals still
    within one (or in an open procedure) are listed as waiting and erased by the periodic run
    when their period ends. The account is disabled at once and its name and e-mail replaced by
    the pseudonym. An administrator cannot erase their own account (another one must), and a
    person is erased only once. Side effects: the erasure, a ``retention_runs`` row, audit
    ``erasure.recorded`` (the reason in its personal part)."""
    if not actor.has_role(Role.ADMIN):
        raise PermissionDenied(_("Only administrators record erasure requests."))
    errors: dict[str, list[str]] = {}
    reason = reason.strip()
    if not reason:
        errors["reason"] = [_("Say why the person is erased (the legal ground, the request).")]
    if user.id == actor.id:
        errors.setdefault("person", []).append(
            _("You cannot erase your own account; ask another administrator.")
        )
    if user.erased_at is not None or db.session.scalar(
        sa.select(ErasureRequest.id).where(ErasureRequest.user_id == user.id)
    ):
        errors.setdefault("person", []).append(str(N_("This person has been erased already.")))
    if errors:
        raise DomainError(errors)
    counts: Counter[str] = Counter()
    mine = _kept_proposals(user.id)
    proposals = db.session.scalars(sa.select(Proposal).where(Proposal.id.in_(mine))).all()
    programmes = {
        p.id: db.session.get(Programme, db.session.get(Call, p.call_id).programme_id)  # type: ignore[union-attr]
        for p in proposals
    }
    waiting: list[int] = []
    for proposal in proposals:
        programme = programmes[proposal.id]
        assert programme is not None
        if proposal in due_proposals(programme, now=now):
            counts.update(
                _erase_proposal(proposal, funded=proposal.state == ProposalState.FUNDED, now=now)
            )
        else:
            waiting.append(proposal.id)
    counts.update(_erase_account(user, now=now))
    request = ErasureRequest(
        user_id=user.id,
        reason=reason,
        recorded_by_id=actor.id,
        recorded_at=now,
        waiting=waiting,
        completed_at=None if waiting else now,
    )
    db.session.add(request)
    db.session.flush()
    counts["waiting"] = len(waiting)
    run = RetentionRun(
        kind="request",
        erasure_request_id=request.id,
        ran_at=now,
        counts=dict(sorted(counts.items())),
    )
    db.session.add(run)
    record_event(
        actor=actor,
        action="erasure.recorded",
        object_type="user",
        object_id=user.id,
        after={"request_id": request.id, "waiting": waiting, "counts": run.counts},
        personal={"reason": reason},
        now=now,
    )
    return request


@operation
def record_erasure_request_by_address(
    email: str, *, actor: User, reason: str, now: dt.datetime
) -> ErasureRequest:
    """:func:`record_erasure_request` for the account with this e-mail address."""
    user = db.session.scalar(
        sa.select(User).where(sa.func.lower(User.email) == email.strip().lower())
    )
    if user is None:
        raise DomainError({"email": [_("No account has this e-mail address.")]})
    return record_erasure_request(user, actor=actor, reason=reason, now=now)
