"""When a proposal's records may be erased: pure rules on plain data.

Unsuccessful proposals (rejected, ineligible, withdrawn) are kept ``years_unsuccessful`` after
the decision that ended them; funded ones ``years_funded`` after their last grant closed. The
defaults follow the federal budget rules: the recipient keeps the documents five years after
the final report (Verwendungsnachweis) is submitted (ANBest-P Nr. 6.5, part of VV Nr. 5.1 zu
§ 44 BHO), and the funding body's files of a grant are commonly kept ten years; both are
settings of each programme.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

DEFAULT_YEARS_UNSUCCESSFUL = 5
DEFAULT_YEARS_FUNDED = 10
MIN_YEARS = 1
MAX_YEARS = 50


def add_years(moment: dt.datetime, years: int) -> dt.datetime:
    """The same calendar day ``years`` later; 29 February becomes 28 February."""
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:
        return moment.replace(year=moment.year + years, day=28)


@dataclass(frozen=True)
class ProposalFacts:
    """What decides a proposal's period: how it ended and when.

    ``ended_at``: when the decision that ended it was published (or it was withdrawn or
    found ineligible); ``grants_closed_at``: when its last grant closed, None while one still
    runs; ``funded``: it has (or had) a project grant or a published "fund"."""

    proposal_id: int
    final: bool
    funded: bool
    ended_at: dt.datetime | None
    grants_open: bool
    grants_closed_at: dt.datetime | None


def erasable_from(
    facts: ProposalFacts, *, years_unsuccessful: int, years_funded: int
) -> dt.datetime | None:
    """The moment the proposal's period ends, or None while a procedure is open (not yet
    decided, a grant still running): then nothing of it may be erased."""
    if not facts.final or facts.grants_open:
        return None
    if facts.funded:
        start = facts.grants_closed_at or facts.ended_at
        return add_years(start, years_funded) if start is not None else None
    if facts.ended_at is None:
        return None
    return add_years(facts.ended_at, years_unsuccessful)


def is_due(
    facts: ProposalFacts, *, now: dt.datetime, years_unsuccessful: int, years_funded: int
) -> bool:
    until = erasable_from(facts, years_unsuccessful=years_unsuccessful, years_funded=years_funded)
    return until is not None and until <= now
