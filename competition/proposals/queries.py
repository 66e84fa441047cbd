"""Loading proposals for lists and detail pages, with everything the templates show."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy.orm import selectinload

from competition.accounts.models import User
from competition.extensions import db
from competition.organisations.models import FederalState, Organisation
from competition.programmes.models import Call, Topic
from competition.programmes.queries import programme_ids_run_by
from competition.proposals.models import (
    ConsortiumMember,
    MemberRole,
    Proposal,
    ProposalContributor,
    ProposalState,
    StageSubmission,
    proposal_topics,
)

PER_PAGE = 25


@dataclass(frozen=True)
class ProposalFilters:
    q: str = ""
    call_id: int | None = None
    topic: str = ""
    state: ProposalState | None = None
    federal_state: FederalState | None = None


def _with_list_data(query: sa.Select) -> sa.Select:  # type: ignore[type-arg]
    return query.options(
        selectinload(Proposal.members),
        selectinload(Proposal.topics),
        selectinload(Proposal.call).selectinload(Call.programme),
    )


def list_proposals_for_officer(officer: User, filters: ProposalFilters, *, page: int) -> Pagination:
    query = (
        sa.select(Proposal)
        .join(Call, Proposal.call_id == Call.id)
        .where(Call.programme_id.in_(programme_ids_run_by(officer)))
    )
    if filters.call_id is not None:
        query = query.where(Proposal.call_id == filters.call_id)
    if filters.state is not None:
        query = query.where(Proposal.state == filters.state)
    if filters.topic:
        query = query.where(
            Proposal.id.in_(
                sa.select(proposal_topics.c.proposal_id)
                .join(Topic, Topic.id == proposal_topics.c.topic_id)
                .where(Topic.slug == filters.topic)
            )
        )
    coordinator = (
        sa.select(ConsortiumMember.proposal_id)
        .join(Organisation, Organisation.id == ConsortiumMember.organisation_id)
        .where(ConsortiumMember.role == MemberRole.COORDINATOR)
    )
    if filters.federal_state is not None:
        query = query.where(
            Proposal.id.in_(coordinator.where(Organisation.federal_state == filters.federal_state))
        )
    if filters.q:
        pattern = f"%{filters.q.lower()}%"
        query = query.where(
            sa.or_(
                sa.func.lower(Proposal.reference).like(pattern),
                sa.func.lower(Proposal.acronym).like(pattern),
                sa.func.lower(Proposal.title).like(pattern),
                Proposal.id.in_(
                    sa.select(ConsortiumMember.proposal_id)
                    .join(Organisation, Organisation.id == ConsortiumMember.organisation_id)
                    .where(sa.func.lower(Organisation.name).like(pattern))
                ),
            )
        )
    query = _with_list_data(query.order_by(Proposal.reference))
    return db.paginate(query, page=page, per_page=PER_PAGE, error_out=False)


def list_proposals_of_applicant(user: User) -> list[Proposal]:
    return list(
        db.session.scalars(
            _with_list_data(
                sa.select(Proposal)
                .join(ProposalContributor)
                .where(ProposalContributor.user_id == user.id)
                .order_by(Proposal.created_at.desc())
            )
        )
    )


def find_proposal_for_page(proposal_id: int) -> Proposal | None:
    return db.session.scalar(
        _with_list_data(sa.select(Proposal).where(Proposal.id == proposal_id)).options(
            selectinload(Proposal.submissions).selectinload(StageSubmission.budget_lines),
            selectinload(Proposal.submissions).selectinload(StageSubmission.stage),
            selectinload(Proposal.submissions).selectinload(StageSubmission.attachments),
        )
    )


def list_topics() -> list[Topic]:
    return list(db.session.scalars(sa.select(Topic).order_by(Topic.name)))
