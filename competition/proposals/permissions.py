"""Who may see a proposal. Pure predicates over loaded objects."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from competition.accounts.models import Role, User
from competition.extensions import db
from competition.programmes.models import Call, ProgrammeOfficer
from competition.proposals.models import Proposal, ProposalContributor


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str = ""

    def __bool__(self) -> bool:
        return self.allowed


def runs_programme(user: User, call: Call) -> bool:
    return (
        db.session.scalar(
            sa.select(ProgrammeOfficer.id).where(
                ProgrammeOfficer.user_id == user.id,
                ProgrammeOfficer.programme_id == call.programme_id,
            )
        )
        is not None
    )


def is_contributor(user: User, proposal: Proposal) -> bool:
    return (
        db.session.scalar(
            sa.select(ProposalContributor.id).where(
                ProposalContributor.user_id == user.id,
                ProposalContributor.proposal_id == proposal.id,
            )
        )
        is not None
    )


def can_view_proposal(user: User, proposal: Proposal) -> Decision:
    if user.has_role(Role.OFFICER) and runs_programme(user, proposal.call):
        return Decision(True)
    if user.has_role(Role.APPLICANT) and is_contributor(user, proposal):
        return Decision(True)
    return Decision(False, "not an officer of this programme nor a member of this consortium")
