"""Decisions with four eyes: one officer proposes an outcome per proposal with a rationale,
singly or in bulk; another officer confirms. The same person can never do both: the operation
refuses it, and so does the database (CHECK four_eyes). Until confirmed, nothing reaches the
applicant; publication (letters) comes after confirmation.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

import sqlalchemy as sa

from competition.accounts.models import User
from competition.assignment.queries import HIDDEN_FROM_JURORS, in_stage
from competition.audit.operations import record_event
from competition.core.decisions import (
    Candidate,
    Waiting,
    plan_confirmations,
    plan_proposals,
)
from competition.db import operation
from competition.errors import refuse
from competition.extensions import db
from competition.i18n import gettext as _
from competition.permissions import require
from competition.programmes.models import Stage
from competition.proposals.models import Proposal
from competition.selection.models import Decision, Outcome
from competition.selection.permissions import can_confirm_decision, can_propose_decision
from competition.selection.rules.queries import is_last_stage
from competition.workflow import apply_steps


@operation
def propose_decisions(
    stage: Stage,
    proposal_ids: Sequence[int],
    *,
    outcome: Outcome,
    rationale: str,
    actor: User,
    now: dt.datetime,
    ranking_id: int | None = None,
    conditions: str = "",
) -> list[Decision]:
    """Propose one outcome for each of the proposals. An unconfirmed proposal of a decision is
    replaced (and needs a confirmation again); a confirmed one is refused. At an interim
    evaluation of funded grants only continue, continue with conditions (with ``conditions``)
    and stop are accepted, and those nowhere else.
    Side effects: decision rows; audit ``decision.proposed`` (one event for the batch).
    """
    require(can_propose_decision(actor, stage))
    proposals = list(
        db.session.scalars(
            sa.select(Proposal)
            .where(
                Proposal.id.in_(list(proposal_ids)),
                Proposal.call_id == stage.call_id,
                Proposal.state.not_in(HIDDEN_FROM_JURORS),
                in_stage(stage),
            )
            .order_by(Proposal.reference)
        )
    )
    existing = {
        d.proposal_id: d
        for d in db.session.scalars(
            sa.select(Decision)
            .where(Decision.stage_id == stage.id, Decision.proposal_id.in_(list(proposal_ids)))
            .with_for_update()
        )
    }
    plan = plan_proposals(
        [
            Candidate(
                p.id, p.reference, p.id in existing and existing[p.id].confirmed_at is not None
            )
            for p in proposals
        ],
        proposal_ids,
        outcome=outcome.value,
        last_stage=stage.name if is_last_stage(stage) else "",
        rationale=rationale,
        evaluation=stage.is_evaluation,
        conditions=conditions,
    )
    refuse(plan.problems)
    rationale = rationale.strip()
    # Kept only where the outcome has conditions.
    conditions = conditions.strip() if outcome == Outcome.CONTINUE_WITH_CONDITIONS else ""
    decisions = []
    for proposal in proposals:
        decision = existing.get(proposal.id)
        if decision is None:
            decision = Decision(stage_id=stage.id, proposal_id=proposal.id)
            db.session.add(decision)
        decision.outcome = outcome
        decision.rationale = rationale
        decision.conditions = conditions
        decision.ranking_id = ranking_id
        decision.proposed_by_id = actor.id
        decision.proposed_at = now
        decisions.append(decision)
    db.session.flush()
    record_event(
        actor=actor,
        action="decision.proposed",
        object_type="stage",
        object_id=stage.id,
        after={
            "outcome": outcome.value,
            "proposals": [p.id for p in proposals],
            "rationale_chars": len(rationale),
            **({"conditions": conditions} if conditions else {}),
        },
        now=now,
    )
    return decisions


@operation
def confirm_decisions(
    stage: Stage,
    decision_ids: Sequence[int],
    *,
    actor: User,
    now: dt.datetime,
    seen: Mapping[int, dt.datetime] | None = None,
) -> int:
    """Confirm proposed decisions as the second officer. Refused for any decision the actor
    proposed. ``seen`` maps decision ids to the ``proposed_at`` the confirming officer was
    shown: a decision proposed anew since is refused, so nobody confirms an outcome or rationale
    they have not read. Side effects: ``confirmed_by_id``/``confirmed_at``; audit
    ``decision.confirmed``.
    """
    require(can_confirm_decision(actor, stage))
    decisions = list(
        db.session.scalars(
            sa.select(Decision)
            .where(
                Decision.stage_id == stage.id,
                Decision.id.in_(list(decision_ids)),
                Decision.confirmed_at.is_(None),
            )
            .order_by(Decision.id)
            .with_for_update()
        )
    )
    references = dict(
        db.session.execute(
            sa.select(Proposal.id, Proposal.reference).where(
                Proposal.id.in_([d.proposal_id for d in decisions])
            )
        ).all()
    )
    waiting = [
        Waiting(d.id, references[d.proposal_id], d.proposed_by_id, d.proposed_at) for d in decisions
    ]
    refuse(plan_confirmations(waiting, decision_ids, viewer=actor.id, seen=seen).problems)
    apply_steps(
        decisions,
        "confirm",
        actor=actor,
        now=now,
        values={"confirmed_by_id": actor.id, "confirmed_at": now},
        event="decision.confirmed",
        object_type="stage",
        object_id=stage.id,
        detail={"decisions": [d.id for d in decisions]},
        stale=_("Some of these decisions are already confirmed."),
    )
    return len(decisions)
