"""What proposing or confirming decisions would do, and what stands in its way. Plain data in and
out: the preview pages and the operations call the same plan, so a preview never promises what
the operation refuses, and the operation checks again under its row locks what the preview
showed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from competition.core.texts import N_, Nn_, Text

MIN_RATIONALE = 10
MAX_RATIONALE = 5000
MAX_CONDITIONS = 5000

# An interim evaluation of funded grants decides only these; the competition's stages never.
EVALUATION_OUTCOMES = frozenset({"continue", "continue_with_conditions", "stop"})

# invalid: the choice makes no sense; stale: the data changed since the page was shown;
# denied: the person may not do this (four eyes).
Kind = Literal["invalid", "stale", "denied"]


@dataclass(frozen=True)
class Problem:
    kind: Kind
    # Shown with ``say``; ``str()`` gives the English.
    message: Text
    field: str = ""


@dataclass(frozen=True)
class Candidate:
    """A proposal of the stage a decision could be proposed for."""

    proposal_id: int
    reference: str
    confirmed: bool  # its decision is confirmed: it cannot be proposed anew


@dataclass(frozen=True)
class ProposalPlan:
    chosen: tuple[int, ...]  # the proposals the outcome would be proposed for, in stage order
    left_out: tuple[int, ...]  # suggested by the line, but their decision is confirmed
    problems: tuple[Problem, ...]


def plan_proposals(
    stage: Sequence[Candidate],
    ticked: Collection[int],
    *,
    suggested: Collection[int] = (),
    outcome: str,
    last_stage: str = "",
    rationale: str | None = None,
    evaluation: bool = False,
    conditions: str = "",
) -> ProposalPlan:
    """Propose ``outcome`` for the ``ticked`` proposals and those the line ``suggested`` for it.
    ``stage`` holds (at least) every ticked and suggested proposal still in the stage, in its
    order; ``last_stage`` is the stage's name when it is the call's last competition stage;
    ``evaluation`` says the stage is an interim evaluation of funded grants, where only the
    evaluation's outcomes are decided (and nowhere else). "Continue with conditions" needs
    ``conditions``. The rationale is checked when given."""
    problems = []
    if evaluation and outcome not in EVALUATION_OUTCOMES:
        message = N_(
            "An interim evaluation decides whether a grant continues: choose continue, "
            "continue with conditions or stop."
        )
        problems.append(Problem("invalid", message, "outcome"))
    elif not evaluation and outcome in EVALUATION_OUTCOMES:
        message = N_(
            "Continue and stop are decided at an interim evaluation of funded grants, not at a "
            "stage of the competition."
        )
        problems.append(Problem("invalid", message, "outcome"))
    if outcome == "continue_with_conditions" and evaluation:
        if not conditions.strip():
            message = N_("Write the conditions the grant continues with.")
            problems.append(Problem("invalid", message, "conditions"))
        elif len(conditions.strip()) > MAX_CONDITIONS:
            message = N_("Keep the conditions under %(limit)s characters.", limit=MAX_CONDITIONS)
            problems.append(Problem("invalid", message, "conditions"))
    if rationale is not None:
        length = len(rationale.strip())
        if length < MIN_RATIONALE:
            message = N_(
                "Give the reason for the decision in at least %(min)s characters.",
                min=MIN_RATIONALE,
            )
            problems.append(Problem("invalid", message, "rationale"))
        elif length > MAX_RATIONALE:
            message = N_("Keep the rationale under %(limit)s characters.", limit=MAX_RATIONALE)
            problems.append(Problem("invalid", message, "rationale"))
    if outcome == "advance" and last_stage:
        message = N_(
            "%(stage)s is the call's last stage: nothing can advance from it.", stage=last_stage
        )
        problems.append(Problem("invalid", message, "outcome"))
    known = {c.proposal_id for c in stage}
    ticked = set(ticked)
    if ticked - known:
        message = N_("Some of the chosen proposals are not in this stage.")
        problems.append(Problem("invalid", message, "proposals"))
    wanted = [c for c in stage if c.proposal_id in ticked or c.proposal_id in set(suggested)]
    confirmed = [c.reference for c in wanted if c.confirmed and c.proposal_id in ticked]
    if confirmed:
        message = N_(
            "Already confirmed, so they cannot be changed here: %(references)s.",
            references=", ".join(confirmed),
        )
        problems.append(Problem("stale", message, "proposals"))
    chosen = tuple(c.proposal_id for c in wanted if not c.confirmed)
    if not chosen and not confirmed:
        message = N_("Choose at least one proposal that has no confirmed decision.")
        problems.append(Problem("invalid", message, "proposals"))
    left_out = tuple(c.proposal_id for c in wanted if c.confirmed)
    return ProposalPlan(chosen, left_out, tuple(problems))


@dataclass(frozen=True)
class Waiting:
    """A decision proposed and not yet confirmed."""

    decision_id: int
    reference: str
    proposed_by: int
    proposed_at: dt.datetime


@dataclass(frozen=True)
class ConfirmationPlan:
    chosen: tuple[int, ...]  # decision ids, in the order of ``waiting``
    problems: tuple[Problem, ...]


def plan_confirmations(
    waiting: Sequence[Waiting],
    chosen: Collection[int] | None,
    *,
    viewer: int,
    seen: Mapping[int, dt.datetime] | None = None,
) -> ConfirmationPlan:
    """Confirm the ``chosen`` decisions, or (``None``) every waiting one the viewer did not
    propose. ``waiting`` holds (at least) every chosen decision still waiting. ``seen`` maps
    decision ids to the ``proposed_at`` the viewer was shown: one proposed anew since is refused,
    so nobody confirms an outcome or rationale they have not read."""
    if chosen is None:
        theirs = [w for w in waiting if w.proposed_by != viewer]
        if not theirs:
            message = N_("No decision is waiting for your confirmation.")
            return ConfirmationPlan((), (Problem("invalid", message, "decisions"),))
        return ConfirmationPlan(tuple(w.decision_id for w in theirs), ())
    wanted = set(chosen)
    if not wanted:
        message = N_("Choose at least one decision to confirm.")
        return ConfirmationPlan((), (Problem("invalid", message, "decisions"),))
    rows = [w for w in waiting if w.decision_id in wanted]
    problems = []
    if len(rows) != len(wanted):
        message = N_(
            "Some of the chosen decisions are no longer waiting for confirmation; look at the "
            "list again."
        )
        problems.append(Problem("stale", message, "decisions"))
    mine = [w.reference for w in rows if w.proposed_by == viewer]
    if mine:
        message = Nn_(
            "You proposed %(references)s; another officer must confirm it.",
            "You proposed %(references)s; another officer must confirm them.",
            len(mine),
            references=", ".join(mine),
        )
        problems.append(Problem("denied", message, "decisions"))
    if seen is not None:
        changed = sorted(w.reference for w in rows if seen.get(w.decision_id) != w.proposed_at)
        if changed:
            message = N_(
                "Proposed again with a new outcome or rationale since you looked: "
                "%(references)s. Look at the list again.",
                references=", ".join(changed),
            )
            problems.append(Problem("stale", message, "decisions"))
    return ConfirmationPlan(tuple(w.decision_id for w in rows), tuple(problems))
