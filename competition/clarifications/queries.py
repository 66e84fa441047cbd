"""Reading clarification requests for pages, mails and the reminders: every thread with its
messages, authors and attachments loaded up front, so templates run no queries."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from flask_login import current_user
from sqlalchemy.orm import joinedload, selectinload

from competition.accounts.models import User, UserStatus
from competition.clarifications.models import (
    ClarificationAttachment,
    ClarificationMessage,
    ClarificationRequest,
    ClarificationState,
)
from competition.clarifications.permissions import can_see_thread
from competition.db import built_once
from competition.extensions import db
from competition.programmes.models import Call
from competition.proposals.models import ContributorRole, Proposal, ProposalContributor


def _thread_options():  # type: ignore[no-untyped-def]
    return (
        joinedload(ClarificationRequest.stage),
        joinedload(ClarificationRequest.asked_by),
        selectinload(ClarificationRequest.messages).joinedload(ClarificationMessage.author),
        selectinload(ClarificationRequest.messages).selectinload(ClarificationMessage.attachments),
    )


def find_request(request_id: int) -> ClarificationRequest | None:
    """A request with its proposal, call, stage and whole thread."""
    return db.session.scalar(
        sa.select(ClarificationRequest)
        .where(ClarificationRequest.id == request_id)
        .options(
            joinedload(ClarificationRequest.proposal)
            .joinedload(Proposal.call)
            .joinedload(Call.programme),
            *_thread_options(),
        )
    )


def find_proposal(proposal_id: int) -> Proposal | None:
    return db.session.scalar(
        sa.select(Proposal)
        .where(Proposal.id == proposal_id)
        .options(joinedload(Proposal.call).selectinload(Call.stages))
    )


def find_attachment(attachment_id: int) -> ClarificationAttachment | None:
    return db.session.scalar(
        sa.select(ClarificationAttachment)
        .where(ClarificationAttachment.id == attachment_id)
        .options(
            joinedload(ClarificationAttachment.message)
            .joinedload(ClarificationMessage.request)
            .joinedload(ClarificationRequest.proposal)
            .joinedload(Proposal.call)
        )
    )


def list_for_proposal(proposal: Proposal) -> list[ClarificationRequest]:
    """The proposal's requests, newest first, each with its thread."""
    return list(
        db.session.scalars(
            sa.select(ClarificationRequest)
            .where(ClarificationRequest.proposal_id == proposal.id)
            .options(*_thread_options())
            .order_by(ClarificationRequest.asked_at.desc(), ClarificationRequest.id.desc())
        )
    )


def threads_for_reader(proposal: Proposal) -> list[ClarificationRequest]:
    """For the proposal's pages (registered with proposals.panels): the threads, for those who
    may read them; nothing for anyone else (a juror sees none)."""
    if not current_user.is_authenticated or not can_see_thread(current_user, proposal):
        return []
    return list_for_proposal(proposal)


@dataclass(frozen=True)
class OpenQuestion:
    """A request waiting for the applicant's consortium, as their start page lists it."""

    id: int
    reference: str
    acronym: str
    due_at: dt.datetime


@built_once
def _open_for_applicant() -> sa.Select[tuple[int, str, str, dt.datetime]]:
    return (
        sa.select(
            ClarificationRequest.id,
            Proposal.reference,
            Proposal.acronym,
            ClarificationRequest.due_at,
        )
        .join(Proposal, Proposal.id == ClarificationRequest.proposal_id)
        .join(ProposalContributor, ProposalContributor.proposal_id == Proposal.id)
        .where(
            ProposalContributor.user_id == sa.bindparam("user_id"),
            ClarificationRequest.state == ClarificationState.OPEN,
        )
        .order_by(ClarificationRequest.due_at, ClarificationRequest.id)
    )


def list_open_for_applicant(user: User) -> list[OpenQuestion]:
    """Open requests to the consortia the applicant contributes to, the earliest deadline
    first (the applicant's dashboard)."""
    rows = db.session.execute(_open_for_applicant(), {"user_id": user.id})
    return [OpenQuestion(*row) for row in rows]


def consortium_of(proposal: Proposal) -> list[User]:
    """The active accounts of the proposal's consortium (coordinator first): who is asked."""
    return list(
        db.session.scalars(
            sa.select(User)
            .join(ProposalContributor, ProposalContributor.user_id == User.id)
            .where(
                ProposalContributor.proposal_id == proposal.id,
                User.status == UserStatus.ACTIVE,
            )
            .order_by(ProposalContributor.role != ContributorRole.COORDINATOR, User.id)
        )
    )


def proposals_with_open_request() -> sa.Select[tuple[int]]:
    """The proposals with a clarification request waiting for the consortium's answer: a mark
    and a filter of the officers' proposal list."""
    return sa.select(ClarificationRequest.proposal_id).where(
        ClarificationRequest.state == ClarificationState.OPEN
    )
