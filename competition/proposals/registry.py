"""What the proposals area tells the registry of organisations (``organisations.uses``): the
consortia an organisation belongs to, why two organisations cannot be merged (both in one
consortium), and that a contributor of a proposal may search the registry."""

from __future__ import annotations

import sqlalchemy as sa
from flask import url_for

from competition.accounts.models import User
from competition.extensions import db
from competition.i18n import gettext as _
from competition.organisations.uses import Use
from competition.proposals.models import ConsortiumMember, Proposal, ProposalContributor


def consortia_of(organisation_id: int) -> list[Use]:
    rows = db.session.execute(
        sa.select(Proposal.id, Proposal.reference, Proposal.acronym, ConsortiumMember.role)
        .join(ConsortiumMember, ConsortiumMember.proposal_id == Proposal.id)
        .where(ConsortiumMember.organisation_id == organisation_id)
        .order_by(Proposal.reference)
    ).all()
    return [
        Use(
            "proposal",
            f"{reference} {acronym}",
            detail=role.label,
            url=url_for("proposals.show_proposal", proposal_id=proposal_id),
        )
        for proposal_id, reference, acronym, role in rows
    ]


def shared_consortia(merged_id: int, kept_id: int) -> list[str]:
    """A consortium cannot hold one organisation twice: name those holding both."""
    other = sa.orm.aliased(ConsortiumMember)
    references = db.session.scalars(
        sa.select(Proposal.reference)
        .join(ConsortiumMember, ConsortiumMember.proposal_id == Proposal.id)
        .join(other, other.proposal_id == Proposal.id)
        .where(ConsortiumMember.organisation_id == merged_id, other.organisation_id == kept_id)
        .order_by(Proposal.reference)
    ).all()
    if not references:
        return []
    return [
        _(
            "Both organisations are in the consortium of %(proposals)s. Remove one of them "
            "there first.",
            proposals=", ".join(references),
        )
    ]


def is_contributor_anywhere(user: User) -> bool:
    return (
        db.session.scalar(
            sa.select(ProposalContributor.id).where(ProposalContributor.user_id == user.id).limit(1)
        )
        is not None
    )
