"""Loading programmes for the pages that show them."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from competition.accounts.models import User
from competition.extensions import db
from competition.programmes.models import Call, Programme, ProgrammeOfficer
from competition.proposals.models import Proposal, ProposalState


@dataclass(frozen=True)
class CallSummary:
    call: Call
    proposals_by_state: dict[ProposalState, int]

    @property
    def total(self) -> int:
        return sum(self.proposals_by_state.values())


def list_programmes_run_by(officer: User) -> list[Programme]:
    return list(
        db.session.scalars(
            sa.select(Programme)
            .join(ProgrammeOfficer)
            .where(ProgrammeOfficer.user_id == officer.id)
            .options(selectinload(Programme.calls).selectinload(Call.stages))
            .order_by(Programme.name)
        )
    )


def programme_ids_run_by(officer: User) -> sa.Select[tuple[int]]:
    return sa.select(ProgrammeOfficer.programme_id).where(ProgrammeOfficer.user_id == officer.id)


def call_summaries(programmes: list[Programme]) -> dict[int, CallSummary]:
    call_ids = [call.id for programme in programmes for call in programme.calls]
    counts: dict[int, dict[ProposalState, int]] = {call_id: {} for call_id in call_ids}
    if call_ids:
        rows = db.session.execute(
            sa.select(Proposal.call_id, Proposal.state, sa.func.count())
            .where(Proposal.call_id.in_(call_ids))
            .group_by(Proposal.call_id, Proposal.state)
        )
        for call_id, state, count in rows:
            counts[call_id][state] = count
    calls = {call.id: call for programme in programmes for call in programme.calls}
    return {call_id: CallSummary(calls[call_id], counts[call_id]) for call_id in call_ids}
