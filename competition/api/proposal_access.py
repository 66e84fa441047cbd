"""Who sees which proposal through the API: the pages' predicates for one proposal, and the
same rules in SQL for lists.

- Its contributors (applicants) and the officers who run its programme see all of it
  (``proposals.permissions.can_view_proposal``, the rule of the proposal's pages).
- A juror sees a proposal only while they may review it (``assignment.permissions.can_review``,
  the rule of the review page and of the documents' readers the assignment area registers
  through ``proposals.panels.register_reader``): on a call's jury they accepted, conflicts
  declared, a released assignment not given back, and never with a conflict of interest. They
  see only what was submitted for the stages they review.
- Nobody else, administrators included (no page shows them proposals): 404, like a missing id.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from competition.accounts.models import Role, User
from competition.assignment.models import Assignment, JuryMembership, MembershipState
from competition.assignment.permissions import can_review, conflicted_proposal_ids
from competition.extensions import db
from competition.programmes.models import Call
from competition.programmes.queries import programme_ids_run_by
from competition.proposals.models import Proposal, ProposalContributor
from competition.proposals.permissions import can_view_proposal


@dataclass(frozen=True)
class ProposalAccess:
    """What of one proposal its reader sees: everything, or the stages a juror reviews."""

    full: bool
    reviewed_stage_ids: frozenset[int] = frozenset()

    def sees_stage(self, stage_id: int) -> bool:
        return self.full or stage_id in self.reviewed_stage_ids


def _released(user_id: int) -> tuple[sa.ColumnElement[bool], ...]:
    return (
        Assignment.user_id == user_id,
        Assignment.released_at.is_not(None),
        Assignment.declined_at.is_(None),
    )


def reviewed_stage_ids(user: User, proposal: Proposal) -> frozenset[int]:
    """The stages of the proposal the juror holds a released assignment for."""
    return frozenset(
        db.session.scalars(
            sa.select(Assignment.stage_id).where(
                Assignment.proposal_id == proposal.id, *_released(user.id)
            )
        )
    )


def access_to(user: User, proposal: Proposal) -> ProposalAccess | None:
    """What ``user`` sees of the proposal (loaded with its call), or None: not at all."""
    if can_view_proposal(user, proposal):
        return ProposalAccess(full=True)
    if can_review(user, proposal):
        return ProposalAccess(full=False, reviewed_stage_ids=reviewed_stage_ids(user, proposal))
    return None


def reviewable_proposal_ids(user: User) -> sa.Select[tuple[int]]:
    """``can_review`` in SQL: the proposals the juror may review now."""
    return (
        sa.select(Assignment.proposal_id)
        .join(Proposal, Proposal.id == Assignment.proposal_id)
        .join(
            JuryMembership,
            sa.and_(
                JuryMembership.call_id == Proposal.call_id,
                JuryMembership.user_id == user.id,
                JuryMembership.state == MembershipState.ACCEPTED,
                JuryMembership.conflicts_declared_at.is_not(None),
            ),
        )
        .where(*_released(user.id), Assignment.proposal_id.not_in(conflicted_proposal_ids(user)))
    )


def visible_proposals(user: User) -> sa.ColumnElement[bool]:
    """``access_to(user, proposal) is not None`` in SQL, for lists."""
    seen: list[sa.ColumnElement[bool]] = []
    if user.has_role(Role.OFFICER):
        run = Call.programme_id.in_(programme_ids_run_by(user.id))
        # The first proposal of the officer's calls (one probe of ix_proposals_call_id_id per
        # call): a list ordered by id starts there instead of walking every other
        # programme's proposals before it.
        earlier = aliased(Proposal)
        first = (
            sa.select(
                sa.func.min(
                    sa.select(sa.func.min(earlier.id))
                    .where(earlier.call_id == Call.id)
                    .scalar_subquery()
                )
            )
            .where(run)
            .scalar_subquery()
        )
        seen.append(
            sa.and_(Proposal.call_id.in_(sa.select(Call.id).where(run)), Proposal.id >= first)
        )
    if user.has_role(Role.APPLICANT):
        contributes = sa.select(ProposalContributor.proposal_id).where(
            ProposalContributor.user_id == user.id
        )
        seen.append(Proposal.id.in_(contributes))
    if user.has_role(Role.JUROR):
        seen.append(Proposal.id.in_(reviewable_proposal_ids(user)))
    return sa.or_(*seen) if seen else sa.false()
