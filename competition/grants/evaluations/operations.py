"""Interim evaluations of funded grants, reusing the competition's machinery.

``start_interim_evaluation`` appends an evaluation stage to the grant's call (its criteria, its
sections for the report and the next phase's plan) and, for every project grant running in the
evaluated phase, steps the grant into evaluation and opens the proposal's draft for the stage
(the proposal stays funded). Assignment, reviews, ranking, panel, four-eyes decisions and
publication with letters are the selection's own, unchanged. ``apply_published_evaluation``
runs as each decision of an evaluation stage is published: continue (with conditions) records
the phase's outcome, releases the next phase with the amounts the consortium submitted for it
and returns the grant to running; stop ends the grant early and releases nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa

from competition.accounts.models import User
from competition.audit.operations import record_event
from competition.core.wording import money
from competition.db import operation
from competition.errors import DomainError
from competition.extensions import db
from competition.grants.evaluations import queries
from competition.grants.evaluations.permissions import can_run_evaluations
from competition.grants.models import (
    Grant,
    GrantAmount,
    GrantKind,
    GrantPhase,
    GrantState,
    PhaseOutcome,
)
from competition.grants.reports.operations import follow_early_end
from competition.i18n import gettext as _
from competition.i18n import number, say
from competition.notifications.operations import notify
from competition.permissions import require
from competition.programmes import operations as setup
from competition.programmes.models import Call, Stage
from competition.proposals.models import (
    BudgetLine,
    Proposal,
    StageSubmission,
    SubmissionState,
    SubmissionVersion,
)
from competition.proposals.queries import coordinator_of
from competition.selection.line.queries import remaining_budget
from competition.selection.models import Decision, Outcome
from competition.workflow import apply_step

# How long the report and the plan may be, in characters.
SECTION_CHARS = 30_000
MAX_WEIGHT = Decimal("1000")
CENT = Decimal("0.01")


@dataclass(frozen=True)
class CriterionSpec:
    """A criterion the evaluation's jurors score, on the usual scale of 0 to 5 in half points;
    it can be changed afterwards on the stage's criteria pages."""

    name: str
    weight: Decimal = Decimal(1)
    description: str = ""


@dataclass(frozen=True)
class Started:
    stage: Stage
    # The grants taken into the evaluation now (none when it had already taken them all).
    grants: list[Grant]
    # Whether the stage was made now or found from an earlier start.
    created: bool


def _check_criteria(criteria: Sequence[CriterionSpec], errors: dict[str, list[str]]) -> None:
    messages = errors.setdefault("criteria", [])
    if not criteria:
        messages.append(_("Give at least one criterion the jurors score."))
    seen: set[str] = set()
    for spec in criteria:
        name = spec.name.strip()
        if not name:
            messages.append(_("Every criterion needs a name."))
        elif name.casefold() in seen:
            messages.append(_("“%(name)s” is listed twice.", name=name))
        elif len(name) > 200:
            messages.append(_("“%(name)s”: use at most 200 characters.", name=name[:40]))
        seen.add(name.casefold())
        if not 0 < spec.weight <= MAX_WEIGHT:
            messages.append(
                _(
                    "“%(name)s”: the weight must be more than 0 and at most %(max)s.",
                    name=name,
                    max=number(MAX_WEIGHT, 0),
                )
            )
    if not messages:
        del errors["criteria"]


@operation
def start_interim_evaluation(
    call: Call,
    *,
    actor: User,
    phase: int,
    name: str,
    opens_at: dt.datetime | None,
    closes_at: dt.datetime | None,
    reviews_due_at: dt.datetime | None,
    reviewers_per_proposal: int | None,
    max_load_per_juror: int | None,
    criteria: Sequence[CriterionSpec],
    report_title: str,
    plan_title: str,
    now: dt.datetime,
) -> Started:
    """Start the interim evaluation of ``phase`` of the call's grants. Every project grant
    running in that phase (the phase released, a later one not yet) goes into evaluation; a
    grant ended early, declined or not started is left out. Run again, it makes no second
    stage: it takes in the grants that came to run in the phase since, and changes nothing
    else (the stage is set up on its own pages from then on).

    Side effects: the stage with its sections and criteria (audit ``stage.added``,
    ``criterion.added``); per grant the step ``begin_evaluation`` (audit
    ``grant.evaluation_begun``), a draft submission of its proposal for the stage with the
    budget lines of its last competition submission in the next phase's years, and an e-mail
    to the coordinator; audit ``interim_evaluation.started`` naming the grants.
    """
    require(can_run_evaluations(actor, call))
    errors: dict[str, list[str]] = {}
    stage = queries.evaluation_stage(call, phase)
    # Locked: two officers starting at once take each grant in once.
    grants = queries.grants_in_phase(call, phase, for_update=True)
    if stage is None:
        if not grants:
            errors["phase"] = [
                _(
                    "No grant of this call runs in phase %(phase)s with a phase after it.",
                    phase=phase,
                )
            ]
        if reviews_due_at is None:
            errors["reviews_due_at"] = [_("Enter when the reviews are due.")]
        _check_criteria(criteria, errors)
        stage_errors: dict[str, list[str]] = {}
        try:
            stage = setup.add_evaluation_stage(
                call,
                actor=actor,
                phase=phase,
                name=name,
                opens_at=opens_at,
                closes_at=closes_at,
                sections=[
                    setup.SectionSpec(report_title, SECTION_CHARS),
                    setup.SectionSpec(plan_title, SECTION_CHARS),
                ],
                reviewers_per_proposal=reviewers_per_proposal,
                max_load_per_juror=max_load_per_juror,
                reviews_due_at=reviews_due_at,
                now=now,
            )
        except DomainError as error:
            stage_errors = error.errors
        for field, messages in stage_errors.items():
            errors.setdefault(field, []).extend(messages)
        if errors:
            raise DomainError(errors)
        assert stage is not None
        for spec in criteria:
            setup.add_criterion(
                stage,
                actor=actor,
                name=spec.name,
                description=spec.description,
                weight=spec.weight,
                scale_min=Decimal(0),
                scale_max=Decimal(5),
                scale_step=Decimal("0.5"),
                now=now,
            )
        created = True
    else:
        created = False
    taken = [grant for grant in grants if _take_in(grant, stage, actor=actor, now=now)]
    if taken or created:
        record_event(
            actor=actor,
            action="interim_evaluation.started",
            object_type="stage",
            object_id=stage.id,
            after={
                "call_id": call.id,
                "phase": phase,
                "grants": [g.id for g in taken],
                "stage_created": created,
            },
            now=now,
        )
    return Started(stage=stage, grants=taken, created=created)


def _last_competition_submission(proposal: Proposal) -> StageSubmission | None:
    return max(
        (s for s in proposal.submissions if not s.stage.is_evaluation),
        key=lambda s: s.stage.position,
        default=None,
    )


def _take_in(grant: Grant, stage: Stage, *, actor: User, now: dt.datetime) -> bool:
    """Put one grant into the evaluation; False when its proposal has a draft for it already."""
    proposal = grant.proposal
    exists = db.session.scalar(
        sa.select(StageSubmission.id).where(
            StageSubmission.proposal_id == proposal.id, StageSubmission.stage_id == stage.id
        )
    )
    if exists is not None:
        return False
    apply_step(
        grant,
        "begin_evaluation",
        actor=actor,
        now=now,
        values={"updated_at": now},
        detail={"stage_id": stage.id, "phase": stage.evaluates_phase},
    )
    # The proposal stays funded: only its new draft is for the evaluation.
    submission = StageSubmission(proposal=proposal, stage=stage, sections={}, updated_at=now)
    db.session.add(submission)
    db.session.flush()
    first, last = stage.budget_years
    previous = _last_competition_submission(proposal)
    for line in previous.budget_lines if previous is not None else ():
        if first <= line.year <= last:
            db.session.add(
                BudgetLine(
                    submission_id=submission.id,
                    member_id=line.member_id,
                    year=line.year,
                    category=line.category,
                    public_funding=line.public_funding,
                    own_contribution=line.own_contribution,
                )
            )
    coordinator = coordinator_of(proposal)
    if coordinator is not None:
        notify(
            to=coordinator,
            template="evaluations/opened",
            context={
                "name": coordinator.name,
                "reference": proposal.reference,
                "acronym": proposal.acronym,
                "phase": stage.evaluates_phase,
                "stage": stage.name,
                "first_year": first,
                "last_year": last,
                "closes_at": stage.closes_at.isoformat(),
                "proposal_id": proposal.id,
            },
            dedup_key=f"evaluations.opened:{grant.id}:{stage.id}",
            now=now,
        )
    return True


# --- publication ---------------------------------------------------------------------------


def _grant_of(proposal: Proposal) -> Grant:
    grant = db.session.scalar(
        sa.select(Grant)
        .where(Grant.proposal_id == proposal.id, Grant.kind == GrantKind.PROJECT)
        .with_for_update()
    )
    if grant is None:
        raise DomainError(_("The proposal has no project grant to evaluate."))
    return grant


def submitted_amounts(proposal: Proposal, stage: Stage) -> dict[tuple[int, int], Decimal] | None:
    """The public funding per (consortium member, project year) of the next phase, from the
    latest version the consortium submitted at the evaluation (its cost categories summed);
    None when nothing was submitted."""
    version = db.session.scalar(
        sa.select(SubmissionVersion)
        .join(StageSubmission, StageSubmission.id == SubmissionVersion.submission_id)
        .where(
            StageSubmission.proposal_id == proposal.id,
            StageSubmission.stage_id == stage.id,
            StageSubmission.state == SubmissionState.SUBMITTED,
        )
        .order_by(SubmissionVersion.number.desc())
        .limit(1)
    )
    if version is None:
        return None
    first, last = stage.budget_years
    members = {f"m{m.id}": m.id for m in proposal.members}
    amounts: dict[tuple[int, int], Decimal] = {}
    for line in version.content.get("budget", []):
        year = int(line["year"])
        member = members.get(str(line["member_key"]))
        if member is None or not first <= year <= last:
            continue
        key = (member, year)
        amounts[key] = amounts.get(key, Decimal(0)) + Decimal(str(line["public_funding"]))
    return amounts


def _release(
    grant: Grant,
    following: GrantPhase,
    amounts: dict[tuple[int, int], Decimal],
    *,
    stage: Stage,
    decision: Decision,
    actor: User,
    now: dt.datetime,
) -> None:
    """Set the next phase's approved amounts to what was submitted and release it; never more
    than what is left of the call's envelope (and the programme's budget)."""
    years = range(following.first_year, following.last_year + 1)
    old = [a for a in grant.amounts if a.year in years]
    before = sum((a.amount for a in old), Decimal(0))
    after = sum(amounts.values(), Decimal(0))
    # The grant's earlier amounts for these years are committed already; only more counts.
    left = remaining_budget(stage)
    if after - before > left:
        raise DomainError(
            _(
                "The next phase's budget (%(after)s) is %(more)s more than approved for those "
                "years; only %(left)s is left of the round's budget.",
                after=say(money(after)),
                more=say(money(after - before)),
                left=say(money(max(left, Decimal(0)))),
            )
        )
    for amount in old:
        grant.amounts.remove(amount)
    db.session.flush()
    for (member_id, year), amount in sorted(amounts.items()):
        if amount > 0:
            grant.amounts.append(
                GrantAmount(member_id=member_id, year=year, amount=amount.quantize(CENT))
            )
    following.released_at = now
    record_event(
        actor=actor,
        action="grant.phase_released",
        object_type="grant",
        object_id=grant.id,
        before={"phase": following.number, "amount": str(before.quantize(CENT))},
        after={
            "phase": following.number,
            "amount": str(after.quantize(CENT)),
            "years": [following.first_year, following.last_year],
            "decision_id": decision.id,
            "stage_id": stage.id,
        },
        now=now,
    )


PHASE_OUTCOMES = {
    Outcome.CONTINUE: PhaseOutcome.CONTINUED,
    Outcome.CONTINUE_WITH_CONDITIONS: PhaseOutcome.CONTINUED_WITH_CONDITIONS,
    Outcome.STOP: PhaseOutcome.STOPPED,
}
GRANT_STEPS = {
    Outcome.CONTINUE: "continue",
    Outcome.CONTINUE_WITH_CONDITIONS: "continue_with_conditions",
    Outcome.STOP: "stop",
}


def apply_published_evaluation(
    decision: Decision, proposal: Proposal, stage: Stage, actor: User, now: dt.datetime
) -> None:
    """Registered with the publication (``register_on_publish``): runs inside the transaction
    that publishes ``decision``, so a refusal here leaves it unpublished with the reason.
    Nothing for a stage of the competition.

    Side effects: the evaluated phase's outcome (and conditions); continue: the next phase's
    approved amounts and its release (audit ``grant.phase_released``), the grant's step
    ``continue`` or ``continue_with_conditions``; stop: the grant's step ``stop`` (ended
    early, its funding ending with the evaluated phase), no later phase released, the reports
    it no longer owes dropped (``reports.operations.follow_early_end``).
    """
    if not stage.is_evaluation or decision.outcome not in PHASE_OUTCOMES:
        return
    grant = _grant_of(proposal)
    if grant.state != GrantState.IN_EVALUATION:
        raise DomainError(
            _("The grant is %(state)s, not in interim evaluation.", state=grant.state.label)
        )
    number_evaluated = stage.evaluates_phase or 0
    evaluated = next((p for p in grant.phases if p.number == number_evaluated), None)
    following = queries.phase_after(grant, number_evaluated)
    if evaluated is None:
        raise DomainError(_("The grant has no phase %(phase)s.", phase=number_evaluated))
    evaluated.outcome = PHASE_OUTCOMES[decision.outcome]
    evaluated.outcome_conditions = decision.conditions or ""
    if decision.outcome != Outcome.STOP:
        if following is None:
            raise DomainError(
                _("The grant has no phase after phase %(phase)s.", phase=number_evaluated)
            )
        amounts = submitted_amounts(proposal, stage)
        if amounts is None:
            raise DomainError(_("The consortium submitted no plan and budget for the next phase."))
        _release(grant, following, amounts, stage=stage, decision=decision, actor=actor, now=now)
    values: dict[str, object] = {"updated_at": now}
    stopped = decision.outcome == Outcome.STOP
    if stopped and evaluated.ends_on < grant.ends_on:
        # The funding ends with the phase the jury evaluated.
        values["ends_on"] = evaluated.ends_on
    apply_step(
        grant,
        GRANT_STEPS[decision.outcome],
        actor=actor,
        now=now,
        values=values,
        detail={
            "decision_id": decision.id,
            "phase": number_evaluated,
            **({"conditions": decision.conditions} if decision.conditions else {}),
            **({"ends_on": values["ends_on"]} if "ends_on" in values else {}),
        },
    )
    if stopped:
        follow_early_end(grant, actor=actor, now=now)
