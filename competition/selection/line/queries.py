"""The line of a stage: which proposals a ranking suggests to advance or to fund, which are
skipped, kept in reserve or not selected and why, the grey zone, and its draw by lot.

It reads the ranking snapshot, the stage's selection rules, the public funding each proposal
requests at the stage, the attributes the constraints count, and what the programme has already
committed at its other stages, and hands them to the policy in ``core.line.plan_line``:

* A stage that draws its line by a target (``rules.funding`` false): ``select_by_target`` with
  ``stage.selection_target``; without a target every fundable proposal advances.
* A funding stage: ``merit_order_line`` (or ``optimal_line`` when the rules ask for it) under
  ``remaining_budget``, with the rules' constraints. ``selection_target``, when set, caps the
  number funded: the worst-ranked funded proposals give way, except those a constraint needs;
  what the constraints cost is then measured against the same line without them, capped alike.
* The grey zone: fundable proposals whose rank interval straddles the line. With a lottery in
  the rules, the places the line gives the zone are drawn among it with the seed fixed in the
  rules (``line.operations.record_lottery``); a recorded draw replaces the zone's part of the
  line. Proposals a constraint cannot do without are held out of the draw, so a draw never
  breaks a constraint.

Proposals withdrawn or out of the competition since the ranking stay in the rows without a
suggestion. The core names proposals by their reference, so its explanations read
"C4F-0017 (rank 9)", and a lottery record lists references: what the public knows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property
from typing import Any

import sqlalchemy as sa
from flask import Flask, current_app

from competition.assignment.queries import HIDDEN_FROM_JURORS
from competition.audit.models import StateTransition
from competition.core.grants import FundRequest
from competition.core.line import (
    LineRefused,
    Policy,
    Ranked,
    plan_line,
)
from competition.core.selection import Candidate, ConstraintReport, MinimumCount
from competition.core.texts import Text
from competition.errors import DomainError
from competition.extensions import db
from competition.i18n import current_language
from competition.i18n import gettext as _
from competition.i18n import lazy_gettext as _l
from competition.kept import kept
from competition.organisations.models import (
    EASTERN_STATES,
    FederalState,
    Organisation,
    OrganisationKind,
)
from competition.programmes.models import Call, Stage, Topic
from competition.proposals.models import (
    BudgetLine,
    ConsortiumMember,
    MemberRole,
    Proposal,
    StageSubmission,
    proposal_topics,
)
from competition.selection.models import (
    Decision,
    LotteryRecord,
    Outcome,
    Ranking,
    SnapshotState,
)
from competition.selection.ranking.queries import result_of
from competition.selection.rules.queries import quotas, rules_for, topic_names


@dataclass(frozen=True)
class LineRow:
    proposal_id: int
    reference: str
    acronym: str
    title: str
    rank: int
    expected_rank: float
    score: float
    score_interval: tuple[float, float]
    rank_interval: tuple[int, int]
    requested: Decimal
    attributes: frozenset[str]
    fundable: bool
    below_thresholds: tuple[str, ...]
    suggested: Outcome | None  # None for a proposal no longer in the competition
    group: str  # SELECTED, SKIPPED, RESERVE, NOT_SELECTED or OUT
    why: Text | None  # why it is not selected (shown with ``say``); None when it is
    in_grey_zone: bool
    drawn: bool  # won the recorded draw


@dataclass(frozen=True)
class DrawPlan:
    """What a draw among the grey zone would hand out, fixed before it is made."""

    seed: str
    candidates: tuple[int, ...]  # proposal ids, in rank order
    places: int
    budget: Decimal | None  # the money the draw hands out (funding stages)
    requested: Mapping[int, Decimal]


@dataclass(frozen=True)
class Line:
    stage_id: int
    ranking_id: int
    funding: bool  # drawn by budget (else by stage.selection_target)
    rows: list[LineRow]  # every ranked proposal, in rank order
    suggested: dict[int, Outcome]  # ADVANCE/REJECT, or FUND/RESERVE/REJECT on funding stages
    budget: Decimal | None  # remaining budget before this line (funding stages)
    committed: Decimal  # requested public funding of those suggested FUND
    explanations: dict[int, Text]  # why a proposal is not selected
    grey_zone: list[int]
    lottery: LotteryRecord | None  # the draw recorded for this ranking, if any
    constraint_reports: list[ConstraintReport]
    # Added to the agreed fields: notes from the core and about the budget or the draw, what a
    # draw would hand out (None: no lottery, or nothing to draw), the stage's target, and the
    # rank the provisional line lies below (proposals a constraint brought in from further
    # down do not move it; 0 when nothing is selected).
    # Texts, said in the reader's language when shown: a line is kept for readers of any.
    notes: list[Text] = field(default_factory=list)
    draw_plan: DrawPlan | None = None
    target: int | None = None
    line_rank: int = 0
    # Why the constraints can never all be met (each names the constraint and the numbers),
    # and the attributes the constraints count with their names (None: "eastern", "sme").
    infeasible: list[Text] = field(default_factory=list)
    counted: dict[str, Any] = field(default_factory=dict)

    @property
    def remaining(self) -> Decimal | None:
        return None if self.budget is None else self.budget - self.committed

    def in_group(self, group: str) -> list[LineRow]:
        return [row for row in self.rows if row.group == group]

    @cached_property
    def row_of(self) -> dict[int, LineRow]:
        """Each ranked proposal's row by its id: made once for a kept line, which pages read a
        page of rows from."""
        return {row.proposal_id: row for row in self.rows}


# --- reading the database -------------------------------------------------------------------


@dataclass(frozen=True)
class _Proposal:
    id: int
    reference: str
    acronym: str
    title: str
    in_competition: bool
    requested: Decimal
    attributes: frozenset[str]


def _ranked(ranking: Ranking) -> list[dict[str, Any]]:
    return sorted(result_of(ranking).get("proposals", []), key=lambda p: p["rank"])


def _proposals(stage: Stage, ids: Sequence[int]) -> dict[int, _Proposal]:
    """What the line needs of ``ids``, read per call (a ranking holds most of the call's
    proposals; a list of 20,000 ids in a query costs more than the rows it would spare)."""
    if not ids:
        return {}
    wanted = set(ids)
    requested = (
        sa.select(
            StageSubmission.proposal_id.label("proposal_id"),
            sa.func.sum(BudgetLine.public_funding).label("amount"),
        )
        .join(BudgetLine, BudgetLine.submission_id == StageSubmission.id)
        .where(StageSubmission.stage_id == stage.id)
        .group_by(StageSubmission.proposal_id)
        .subquery()
    )
    eastern_coordinator = sa.and_(
        ConsortiumMember.role == MemberRole.COORDINATOR,
        Organisation.federal_state.in_(sorted(EASTERN_STATES)),
    )
    consortium = (
        sa.select(
            ConsortiumMember.proposal_id.label("proposal_id"),
            sa.func.count().filter(eastern_coordinator).label("eastern"),
            # A subcontractor works for the consortium without being a member of it.
            sa.func.count()
            .filter(
                Organisation.kind == OrganisationKind.SME,
                ConsortiumMember.role != MemberRole.SUBCONTRACTOR,
            )
            .label("sme"),
        )
        .join(Organisation, Organisation.id == ConsortiumMember.organisation_id)
        .join(Proposal, Proposal.id == ConsortiumMember.proposal_id)
        .where(Proposal.call_id == stage.call_id)
        .group_by(ConsortiumMember.proposal_id)
        .subquery()
    )
    attributes_of = _attributes(stage)
    found = {}
    for p in db.session.execute(
        sa.select(
            Proposal.id,
            Proposal.reference,
            Proposal.acronym,
            Proposal.title,
            Proposal.state,
            requested.c.amount,
            consortium.c.eastern,
            consortium.c.sme,
        )
        .outerjoin(requested, requested.c.proposal_id == Proposal.id)
        .outerjoin(consortium, consortium.c.proposal_id == Proposal.id)
        .where(Proposal.call_id == stage.call_id)
    ):
        if p.id not in wanted:
            continue
        attributes = {"eastern"} if p.eastern else set()
        if p.sme:
            attributes.add("sme")
        attributes |= attributes_of.get(p.id, set())
        found[p.id] = _Proposal(
            id=p.id,
            reference=p.reference,
            acronym=p.acronym,
            title=p.title,
            in_competition=p.state not in HIDDEN_FROM_JURORS,
            requested=Decimal(p.amount or 0).quantize(Decimal("0.01")),
            attributes=frozenset(attributes),
        )
    return found


def _attributes(stage: Stage) -> dict[int, set[str]]:
    """The attributes the constraints count, for every proposal of the stage's call, in three
    queries: "coordinator_state:DE-BE" and "region:east" (of the coordinator), "topic:<slug>"
    and "member_kind:<kind>" (each organisation kind in the consortium)."""
    found: dict[int, set[str]] = defaultdict(set)
    in_call = Proposal.call_id == stage.call_id
    eastern = {s.value for s in EASTERN_STATES}
    for pid, state in db.session.execute(
        sa.select(ConsortiumMember.proposal_id, Organisation.federal_state)
        .join(Organisation, Organisation.id == ConsortiumMember.organisation_id)
        .join(Proposal, Proposal.id == ConsortiumMember.proposal_id)
        .where(in_call, ConsortiumMember.role == MemberRole.COORDINATOR)
    ):
        if state is not None:
            code = FederalState(state).value
            found[pid].add(f"coordinator_state:{code}")
            found[pid].add("region:east" if code in eastern else "region:west")
    for pid, kind in db.session.execute(
        sa.select(ConsortiumMember.proposal_id, Organisation.kind)
        .join(Organisation, Organisation.id == ConsortiumMember.organisation_id)
        .join(Proposal, Proposal.id == ConsortiumMember.proposal_id)
        .where(in_call)
        .distinct()
    ):
        found[pid].add(f"member_kind:{OrganisationKind(kind).value}")
    for pid, slug in db.session.execute(
        sa.select(proposal_topics.c.proposal_id, Topic.slug)
        .join(Topic, Topic.id == proposal_topics.c.topic_id)
        .join(Proposal, Proposal.id == proposal_topics.c.proposal_id)
        .where(in_call)
    ):
        found[pid].add(f"topic:{slug}")
    return found


def _candidate(row: dict[str, Any], proposal: _Proposal, pid: int | str) -> Candidate:
    low, high = row["rank_interval"]
    return Candidate(
        proposal_id=pid,
        rank=row["rank"],
        score=row["score"],
        requested=proposal.requested,
        fundable=row["fundable"],
        attributes=proposal.attributes,
        rank_low=low,
        rank_high=high,
    )


def check_ranking(stage: Stage, ranking: Ranking) -> None:
    if ranking.stage_id != stage.id:
        raise DomainError(_("This ranking belongs to another stage."))
    if ranking.state != SnapshotState.DONE:
        raise DomainError(_("This ranking has not finished; the line needs a finished one."))


def _live(rows: list[dict[str, Any]], found: Mapping[int, _Proposal]) -> list[dict[str, Any]]:
    """The ranked rows of proposals still in the competition."""
    return [r for r in rows if r["proposal_id"] in found and found[r["proposal_id"]].in_competition]


def candidates(stage: Stage, ranking: Ranking) -> list[Candidate]:
    """The ranking's proposals still in the competition, as the core's candidates: ``requested``
    is the public funding of the proposal's submission for this stage, ``attributes`` are
    "eastern" (the coordinator is in an eastern federal state) and "sme" (an SME is in the
    consortium, a subcontractor not counted) where they apply, the rank interval comes from
    the ranking."""
    check_ranking(stage, ranking)
    ranked = _ranked(ranking)
    found = _proposals(stage, [r["proposal_id"] for r in ranked])
    return [_candidate(r, found[r["proposal_id"]], r["proposal_id"]) for r in _live(ranked, found)]


@dataclass(frozen=True)
class BudgetSources:
    """Where a funding line's money comes from: the programme's total less what is committed
    at its other stages and, where the call has an envelope, the envelope less what is
    committed at the call's other stages (confirmed "fund" decisions, or the grants that
    replaced them, and concept grants). The line may spend the smaller of the two."""

    programme_total: Decimal
    programme_elsewhere: Decimal
    envelope: Decimal | None
    call_elsewhere: Decimal

    @property
    def programme_left(self) -> Decimal:
        return self.programme_total - self.programme_elsewhere

    @property
    def envelope_left(self) -> Decimal | None:
        return None if self.envelope is None else self.envelope - self.call_elsewhere

    @property
    def available(self) -> Decimal:
        left = self.envelope_left
        programme = self.programme_left
        return (programme if left is None else min(left, programme)).quantize(Decimal("0.01"))

    @property
    def limited_by_envelope(self) -> bool:
        left = self.envelope_left
        return left is not None and left < self.programme_left


# --- money committed elsewhere ----------------------------------------------------------------


@dataclass(frozen=True)
class Commitments:
    """Money committed besides the requests of confirmed "fund" decisions, counted by an area
    above selection (grants register theirs at app creation).

    ``correction(stage, where)`` is what it adds to the requests of the confirmed "fund"
    decisions at stages other than ``stage`` (None: at every stage) in the calls ``where``
    selects; negative where something replaces a request (a project grant its decision's).
    ``mark()`` is a query of one value that changes whenever the correction may, for the
    fingerprint of lines kept between requests."""

    correction: Callable[[Stage | None, sa.ColumnElement[bool]], Decimal]
    mark: Callable[[], sa.Select[Any]]


_COMMITMENTS = "line_commitments"


def register_commitments(app: Flask, commitments: Commitments) -> None:
    app.extensions.setdefault(_COMMITMENTS, []).append(commitments)


def _commitments() -> list[Commitments]:
    return list(current_app.extensions.get(_COMMITMENTS, []))


def _requests(where: sa.ColumnElement[bool], except_stage_id: int | None) -> sa.Select[Any]:
    """Confirmed "fund" decisions in the calls ``where`` selects (but at ``except_stage_id``)
    joined to the budget lines their proposal submitted for the decision's stage."""
    query = (
        sa.select(Decision.proposal_id, sa.func.sum(BudgetLine.public_funding).label("amount"))
        .select_from(Decision)
        .join(Stage, Stage.id == Decision.stage_id)
        .join(Call, Call.id == Stage.call_id)
        .join(
            StageSubmission,
            sa.and_(
                StageSubmission.proposal_id == Decision.proposal_id,
                StageSubmission.stage_id == Decision.stage_id,
            ),
        )
        .join(BudgetLine, BudgetLine.submission_id == StageSubmission.id)
        .where(
            where,
            Decision.outcome == Outcome.FUND,
            Decision.confirmed_at.is_not(None),
        )
        .group_by(Decision.id, Decision.proposal_id)
    )
    if except_stage_id is not None:
        query = query.where(Decision.stage_id != except_stage_id)
    return query


def fund_requests(
    where: sa.ColumnElement[bool], *, except_stage_id: int | None = None
) -> list[FundRequest]:
    """Each confirmed "fund" decision in the calls ``where`` selects (on ``Call``), with the
    public funding its proposal requested at the decision's stage: what the line counts as
    committed for it."""
    return [
        FundRequest(proposal_id=pid, requested=Decimal(amount or 0))
        for pid, amount in db.session.execute(_requests(where, except_stage_id))
    ]


def _confirmed_elsewhere(stage: Stage, where: sa.ColumnElement[bool]) -> Decimal:
    """Money committed at stages other than ``stage`` in the calls ``where`` selects: the public
    funding of proposals whose funding is confirmed there, corrected by what the registered
    commitments count (grants replace their decision's request; concept grants add theirs)."""
    requests = _requests(where, stage.id).subquery()
    committed = Decimal(
        db.session.scalar(sa.select(sa.func.coalesce(sa.func.sum(requests.c.amount), 0))) or 0
    )
    for commitments in _commitments():
        committed += commitments.correction(stage, where)
    return committed


def budget_sources(stage: Stage) -> BudgetSources:
    call = db.session.get(Call, stage.call_id)
    assert call is not None
    envelope = call.budget_envelope
    return BudgetSources(
        programme_total=call.programme.total_budget,
        programme_elsewhere=_confirmed_elsewhere(stage, Call.programme_id == call.programme_id),
        envelope=envelope,
        call_elsewhere=_confirmed_elsewhere(stage, Call.id == call.id)
        if envelope is not None
        else Decimal(0),
    )


def remaining_budget(stage: Stage) -> Decimal:
    """What a funding line of ``stage`` may spend: the programme's total budget minus the public
    funding requested by proposals whose funding is confirmed at the programme's other stages
    (a grant's amounts instead, once it replaced the request; concept grants too); with a call
    envelope, never more than the envelope minus what is committed at the call's other stages.
    Negative when they exceed it."""
    return budget_sources(stage).available


# --- drawing the line -----------------------------------------------------------------------

# An interim evaluation decides each funded grant on its own: no budget, no target, no line.
NO_LINE_AT_EVALUATION = _l(
    "An interim evaluation of funded grants draws no line: it has no budget and no target. "
    "The officers decide for each grant whether it continues, continues with conditions or "
    "stops, on the ranking and the panel's advice."
)


def recorded_draw(ranking: Ranking) -> LotteryRecord | None:
    return db.session.scalar(
        sa.select(LotteryRecord)
        .where(LotteryRecord.ranking_id == ranking.id)
        .order_by(LotteryRecord.id.desc())
        .limit(1)
    )


# Lines kept per app process for the pages: drawing one over 20,000 proposals takes about a
# second, and the ranking, line, panel and decisions pages each show it.
LINES_KEPT = 8


def _fingerprint(stage: Stage, ranking: Ranking) -> tuple[object, ...]:
    """Everything the line is drawn from, or a mark that changes with it: any state change
    anywhere (every one passes the gateway and leaves a step: a decision's confirmation too),
    the call's proposals and the stage's submissions as last touched (consortium, budget,
    texts; a new proposal is touched as it is made), the newest decision, the ranking's draws,
    the stage's rules, the programme's budget and the registered commitments' marks (grants).
    Organisations are never edited; proposals and decisions are never deleted. Each mark is
    read from an index (a count of the call's 20,000 proposals and the decisions took most of
    the ranking page's queries)."""
    marks = [
        sa.select(sa.func.max(StateTransition.id)),
        sa.select(sa.func.max(Proposal.updated_at)).where(Proposal.call_id == stage.call_id),
        sa.select(sa.func.max(StageSubmission.updated_at)).where(
            StageSubmission.stage_id == stage.id
        ),
        sa.select(sa.func.max(Decision.id)),
        sa.select(sa.func.max(LotteryRecord.id)).where(LotteryRecord.ranking_id == ranking.id),
        *(commitments.mark() for commitments in _commitments()),
    ]
    row = db.session.execute(sa.select(*(mark.scalar_subquery() for mark in marks))).one()
    call = stage.call
    return (
        ranking.id,
        ranking.inputs_hash,
        tuple(str(value) for value in row),
        repr(stage.selection_rules),
        stage.selection_target,
        tuple((s.id, s.position) for s in call.stages),
        str(call.programme.total_budget),
        str(call.budget_envelope),
        call.programme.currency,
    )


def draw_or_why(stage: Stage, ranking: Ranking | None) -> tuple[Line | None, str]:
    """The line, or why it cannot be drawn (in words for the officer). For pages: the line is
    drawn again only when something it is drawn from changed (``_fingerprint``); operations
    call ``draw``, which always draws."""
    if stage.is_evaluation:
        return None, str(NO_LINE_AT_EVALUATION)
    if ranking is None:
        return None, ""
    if ranking.stage_id != stage.id or ranking.state != SnapshotState.DONE:
        return _drawn_or_why(stage, ranking)

    language = current_language()

    def make() -> tuple[Line | None, str, str]:
        line, why = _drawn_or_why(stage, ranking)
        if line is not None and line.lottery is not None:
            # Kept beyond this request: out of its session, so that no later commit there
            # expires the draw's columns (they are all loaded).
            db.session.expunge(line.lottery)
        return line, why, language

    line, why, said_in = kept(
        "selection_lines", _fingerprint(stage, ranking), make, size=LINES_KEPT
    )
    if line is None and said_in != language:
        # A refusal kept from a request in another language: said again in this one's.
        return _drawn_or_why(stage, ranking)
    return line, why


def _drawn_or_why(stage: Stage, ranking: Ranking) -> tuple[Line | None, str]:
    try:
        return draw(stage, ranking), ""
    except DomainError as error:
        return None, _("The line cannot be drawn: %(problem)s", problem=str(error))


def draw(stage: Stage, ranking: Ranking) -> Line:
    """The line the ranking gives under the stage's rules; a recorded draw is reflected.

    Raises DomainError when the ranking is not a finished one of this stage or the rules or
    the data do not allow a line (the message says why)."""
    if stage.is_evaluation:
        raise DomainError(str(NO_LINE_AT_EVALUATION))
    check_ranking(stage, ranking)
    rules = rules_for(stage)
    rows = [r for r in _ranked(ranking)]
    found = _proposals(stage, [r["proposal_id"] for r in rows])
    rows = [r for r in rows if r["proposal_id"] in found]  # deleted since the ranking: gone
    budget = remaining_budget(stage) if rules.funding else None
    record = recorded_draw(ranking)
    ranked = [_as_ranked(r, found[r["proposal_id"]]) for r in rows]
    constraints: tuple[MinimumCount, ...] = ()
    if rules.constraints:
        by_topic = any(c.attribute == "topic" for c in rules.constraints)
        topics = topic_names(stage.call.programme_id) if by_topic else {}
        live = [x.candidate() for x in ranked if x.in_competition]
        constraints = quotas(rules.constraints, live, topics)
    try:
        plan = plan_line(
            ranked,
            Policy(
                funding=rules.funding,
                target=stage.selection_target,
                budget=budget,
                line_method=rules.line_method,
                constraints=constraints,
                lottery_seed=(rules.lottery_seed or None) if rules.lottery else None,
                currency=stage.call.programme.currency,
            ),
            record.record if record is not None else None,
        )
    except LineRefused as error:
        raise DomainError(str(error)) from error
    id_of = {p.reference: pid for pid, p in found.items()}
    line_rows = []
    for r, placed in zip(rows, plan.placements, strict=True):
        proposal = found[r["proposal_id"]]
        low, high = r["score_interval"]
        rank_low, rank_high = r["rank_interval"]
        line_rows.append(
            LineRow(
                proposal_id=proposal.id,
                reference=proposal.reference,
                acronym=proposal.acronym,
                title=proposal.title,
                rank=r["rank"],
                expected_rank=r["expected_rank"],
                score=r["score"],
                score_interval=(low, high),
                rank_interval=(rank_low, rank_high),
                requested=proposal.requested,
                attributes=proposal.attributes,
                fundable=r["fundable"],
                below_thresholds=tuple(r.get("below_thresholds") or ()),
                suggested=None if placed.suggested is None else Outcome(placed.suggested),
                group=placed.group,
                why=placed.why,
                in_grey_zone=placed.in_grey_zone,
                drawn=placed.drawn,
            )
        )
    inputs = plan.draw
    return Line(
        stage_id=stage.id,
        ranking_id=ranking.id,
        funding=rules.funding,
        rows=line_rows,
        suggested={
            row.proposal_id: row.suggested for row in line_rows if row.suggested is not None
        },
        budget=budget,
        committed=plan.committed,
        explanations={
            row.proposal_id: row.why
            for row in line_rows
            if row.suggested is not None and row.why is not None
        },
        grey_zone=[id_of[ref] for ref in plan.grey_zone],
        lottery=record,
        constraint_reports=list(plan.reports),
        notes=list(plan.notes),
        draw_plan=None
        if inputs is None
        else DrawPlan(
            seed=inputs.seed,
            candidates=tuple(id_of[ref] for ref in inputs.candidates),
            places=inputs.places,
            budget=inputs.budget,
            requested={id_of[ref]: amount for ref, amount in inputs.requested.items()},
        ),
        target=stage.selection_target,
        line_rank=plan.line_rank,
        infeasible=list(plan.infeasible),
        counted={k.attribute: k.name for k in constraints},
    )


def _as_ranked(row: dict[str, Any], proposal: _Proposal) -> Ranked:
    low, high = row["rank_interval"]
    return Ranked(
        reference=proposal.reference,
        rank=row["rank"],
        score=row["score"],
        fundable=row["fundable"],
        rank_interval=(low, high),
        requested=proposal.requested,
        attributes=proposal.attributes,
        below_thresholds=tuple(row.get("below_thresholds") or ()),
        in_competition=proposal.in_competition,
    )


CONTEXT = ("draw_id", "stage_id", "ranking_id", "drawn_at", "proposal_ids")


def export_record(record: LotteryRecord) -> dict[str, Any]:
    """The draw as published: the record ``verify_draw`` re-runs, plus where it was made (the
    draw, its stage and ranking), when, and which proposal each reference is. ``CONTEXT``
    names those; ``selection verify-draw`` checks them against the instance's database."""
    proposals = dict(
        db.session.execute(
            sa.select(Proposal.reference, Proposal.id).where(
                Proposal.reference.in_([str(c) for c in record.record.get("candidates", [])])
            )
        ).all()
    )
    return {
        **record.record,
        "draw_id": record.id,
        "stage_id": record.stage_id,
        "ranking_id": record.ranking_id,
        "drawn_at": record.created_at.isoformat(),
        "proposal_ids": proposals,
    }
