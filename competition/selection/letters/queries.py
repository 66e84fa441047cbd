"""Finding a proposal's published letters: its applicants read only what has been published."""

from __future__ import annotations

import sqlalchemy as sa

from competition.extensions import db
from competition.proposals.models import Proposal
from competition.selection.models import Decision

# --- content ----------------------------------------------------------------------------------


def list_published(proposal: Proposal) -> list[Decision]:
    """The proposal's published letters, oldest first."""
    return list(
        db.session.scalars(
            sa.select(Decision)
            .where(
                Decision.proposal_id == proposal.id,
                Decision.published_at.is_not(None),
                Decision.letter.is_not(None),
            )
            .order_by(Decision.published_at, Decision.id)
        )
    )


def find_published(proposal: Proposal, decision_id: int) -> Decision | None:
    """The proposal's letter if it has been published; None for any other decision."""
    return db.session.scalar(
        sa.select(Decision).where(
            Decision.id == decision_id,
            Decision.proposal_id == proposal.id,
            Decision.published_at.is_not(None),
            Decision.letter.is_not(None),
        )
    )
