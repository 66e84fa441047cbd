"""What an applicant's decision letter says, and the letter as a PDF.

``build_letter`` gathers the content once, when the decision is published; the result is frozen
on ``Decision.letter`` and everything the applicant sees (the page, the e-mail, the PDF) is drawn
from that JSON alone, so the three always agree and never change afterwards.

Scores: per criterion, the mean of the proposal's submitted reviews that count, exactly those
``rankings.counted_reviews`` lets into the rankings (released, not given back, no conflict),
read at publication; a panel's consensus score replaces the mean of its criterion. The jurors'
comments for the applicant come from the same reviews, labelled "Juror A", "Juror B", … in an
order keyed by the application's secret, so neither names nor the order of accounts show through.
Nothing a juror wrote for the jury alone is read here.
"""

from __future__ import annotations

import sqlalchemy as sa

from competition.extensions import db
from competition.proposals.models import Proposal
from competition.selection.models import Decision, Outcome

# Bump when the JSON's shape changes; the templates read letters of every format they know.
LETTER_FORMAT = 1

HEADLINES = {
    Outcome.ADVANCE: "Your proposal advances to the next stage",
    Outcome.REJECT: "Your proposal has not been selected",
    Outcome.FUND: "Your proposal has been selected for funding",
    Outcome.RESERVE: "Your proposal is on the reserve list",
}

SCORES_BASIS = (
    "Each score is the mean of the jurors' scores in the {count} submitted review{s} of your "
    "proposal, on the criterion's scale. Where the jury's panel agreed a common score for a "
    "criterion, that score is shown instead and marked as such."
)


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
