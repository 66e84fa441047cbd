"""The line of a stage: which proposals a ranking suggests to advance or to fund, which are
skipped, kept in reserve or not selected and why, the grey zone, and its draw by lot.

A layer over ``core.selection``: it reads the ranking snapshot, the stage's selection rules, the
public funding each proposal requests at the stage, the attributes the constraints count, and
what the programme has already committed at its other stages.

* A stage that draws its line by a target (``rules.funding`` false): ``select_by_target`` with
  ``stage.selection_target``; without a target every fundable proposal advances.
* A funding stage: ``merit_order_line`` (or ``optimal_line`` when the rules ask for it) under
  ``remaining_budget``, with the rules' constraints. ``selection_target``, when set, caps the
  number funded: the worst-ranked funded proposals give way, except those a constraint needs;
  what the constraints cost is then measured against the same line without them, capped alike.
* The grey zone: fundable proposals whose rank interval straddles the line. With a lottery in
  the rules, the places the line gives the zone are drawn among it with the seed fixed in the
  rules (``record_lottery``); a recorded draw replaces the zone's part of the line. Proposals a
  constraint cannot do without are held out of the draw, so a draw never breaks a constraint.

Proposals withdrawn or out of the competition since the ranking stay in the rows without a
suggestion. The core names proposals by their reference, so its explanations read
"C4F-0017 (rank 9)", and a lottery record lists references: what the public knows.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from competition.accounts.models import User
from competition.assignment.queries import HIDDEN_FROM_JURORS
from competition.audit.operations import record_event
from competition.core.selection import (
    NOT_FUNDABLE,
    Candidate,
    ConstraintReport,
    FundingLine,
    LotteryDraw,
    MinimumCount,
    Swap,
    draw_lottery,
    grey_zone,
    merit_order_line,
    optimal_line,
    select_by_target,
)
from competition.db import operation
from competition.errors import DomainError, StaleState
from competition.extensions import db
from competition.organisations.models import EASTERN_STATES, Organisation, OrganisationKind
from competition.permissions import require
from competition.programmes.models import Call, Stage
from competition.proposals.models import (
    BudgetLine,
    ConsortiumMember,
    MemberRole,
    Proposal,
    StageSubmission,
)
from competition.selection.models import (
    Decision,
    LotteryRecord,
    Outcome,
    Ranking,
    SnapshotState,
)
from competition.selection.permissions import can_draw_line
from competition.selection.rankings import latest_done
from competition.selection.rules import SelectionRules, rules_for

# How many fundable proposals below a funding line form the reserve list.
RESERVE_SIZE = 5

# Where a row stands on the line.
SELECTED = "selected"  # advances, or is funded
SKIPPED = "skipped"  # fundable and ranked above the line, passed over (money, a constraint)
RESERVE = "reserve"  # next in line if money or a place frees up
NOT_SELECTED = "not_selected"
OUT = "out"  # withdrawn or out of the competition since the ranking: no suggestion


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
    why: str | None  # why it is not selected; None when it is
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
    explanations: dict[int, str]  # why a proposal is not selected
    grey_zone: list[int]
    lottery: LotteryRecord | None  # the draw recorded for this ranking, if any
    constraint_reports: list[ConstraintReport]
    # Added to the agreed fields: notes from the core and about the budget or the draw, what a
    # draw would hand out (None: no lottery, or nothing to draw), the stage's target, and the
    # rank the provisional line lies below (proposals a constraint brought in from further
    # down do not move it; 0 when nothing is selected).
    notes: list[str] = field(default_factory=list)
    draw_plan: DrawPlan | None = None
    target: int | None = None
    line_rank: int = 0

    @property
    def remaining(self) -> Decimal | None:
        return None if self.budget is None else self.budget - self.committed

    def in_group(self, group: str) -> list[LineRow]:
        return [row for row in self.rows if row.group == group]


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
    return sorted(ranking.result.get("proposals", []), key=lambda p: p["rank"])


def _proposals(stage: Stage, ids: Sequence[int]) -> dict[int, _Proposal]:
    if not ids:
        return {}
    requested: dict[int, Decimal] = defaultdict(Decimal)
    for proposal_id, amount in db.session.execute(
        sa.select(StageSubmission.proposal_id, sa.func.sum(BudgetLine.public_funding))
        .join(BudgetLine, BudgetLine.submission_id == StageSubmission.id)
        .where(StageSubmission.stage_id == stage.id, StageSubmission.proposal_id.in_(ids))
        .group_by(StageSubmission.proposal_id)
    ):
        requested[proposal_id] = Decimal(amount or 0).quantize(Decimal("0.01"))
    attributes: dict[int, set[str]] = defaultdict(set)
    for proposal_id, role, kind, state in db.session.execute(
        sa.select(
            ConsortiumMember.proposal_id,
            ConsortiumMember.role,
            Organisation.kind,
            Organisation.federal_state,
        )
        .join(Organisation, Organisation.id == ConsortiumMember.organisation_id)
        .where(ConsortiumMember.proposal_id.in_(ids))
    ):
        if role == MemberRole.COORDINATOR and state in EASTERN_STATES:
            attributes[proposal_id].add("eastern")
        if kind == OrganisationKind.SME:
            attributes[proposal_id].add("sme")
    found = {}
    for p in db.session.execute(
        sa.select(
            Proposal.id, Proposal.reference, Proposal.acronym, Proposal.title, Proposal.state
        ).where(Proposal.id.in_(ids))
    ):
        found[p.id] = _Proposal(
            id=p.id,
            reference=p.reference,
            acronym=p.acronym,
            title=p.title,
            in_competition=p.state not in HIDDEN_FROM_JURORS,
            requested=requested[p.id],
            attributes=frozenset(attributes[p.id]),
        )
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


def _check(stage: Stage, ranking: Ranking) -> None:
    if ranking.stage_id != stage.id:
        raise DomainError("This ranking belongs to another stage.")
    if ranking.state != SnapshotState.DONE:
        raise DomainError("This ranking has not finished; the line needs a finished one.")


def _live(rows: list[dict[str, Any]], found: Mapping[int, _Proposal]) -> list[dict[str, Any]]:
    """The ranked rows of proposals still in the competition."""
    return [r for r in rows if r["proposal_id"] in found and found[r["proposal_id"]].in_competition]


def candidates(stage: Stage, ranking: Ranking) -> list[Candidate]:
    """The ranking's proposals still in the competition, as the core's candidates: ``requested``
    is the public funding of the proposal's submission for this stage, ``attributes`` are
    "eastern" (the coordinator is in an eastern federal state) and "sme" (an SME is in the
    consortium) where they apply, the rank interval comes from the ranking."""
    _check(stage, ranking)
    ranked = _ranked(ranking)
    found = _proposals(stage, [r["proposal_id"] for r in ranked])
    return [_candidate(r, found[r["proposal_id"]], r["proposal_id"]) for r in _live(ranked, found)]


def remaining_budget(stage: Stage) -> Decimal:
    """The programme's total budget minus the public funding requested by proposals whose
    funding is confirmed at the programme's other stages. Negative when they exceed it."""
    call = db.session.get(Call, stage.call_id)
    assert call is not None
    committed = db.session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(BudgetLine.public_funding), 0))
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
            Call.programme_id == call.programme_id,
            Decision.stage_id != stage.id,
            Decision.outcome == Outcome.FUND,
            Decision.confirmed_at.is_not(None),
        )
    )
    return (call.programme.total_budget - Decimal(committed or 0)).quantize(Decimal("0.01"))


# --- drawing the line -----------------------------------------------------------------------


@dataclass
class _Draft:
    """The line while it is being drawn; keys are references, as the core sees them."""

    selected: list[str]
    group: dict[str, str]
    why: dict[str, str]
    reports: list[ConstraintReport] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _not_fundable(row: dict[str, Any]) -> str:
    below = row.get("below_thresholds") or []
    return "below a threshold: " + "; ".join(below) if below else NOT_FUNDABLE


def _by_target(
    stage: Stage, rules: SelectionRules, cands: list[Candidate], ranked: dict[str, dict[str, Any]]
) -> _Draft:
    target = stage.selection_target
    chosen = select_by_target(cands, target if target is not None else len(cands))
    draft = _Draft(list(map(str, chosen.advancing)), {}, {})
    for pid in chosen.advancing:
        draft.group[str(pid)] = SELECTED
    for out in chosen.not_advancing:
        ref = str(out.proposal_id)
        draft.group[ref] = NOT_SELECTED
        draft.why[ref] = _not_fundable(ranked[ref]) if out.reason == NOT_FUNDABLE else out.reason
    if target is None:
        draft.notes.append("This stage has no selection target: every fundable proposal advances.")
    else:
        draft.notes.extend(chosen.notes)
    if rules.constraints:
        draft.notes.append(
            "The constraints apply to funding lines; this stage's line is drawn by its target."
        )
    return draft


def _funding_line(
    rules: SelectionRules,
    cands: list[Candidate],
    budget: Decimal,
    constraints: Sequence[MinimumCount],
) -> FundingLine:
    try:
        if rules.line_method == "optimal":
            return optimal_line(cands, budget, constraints, reserve_size=RESERVE_SIZE)
        return merit_order_line(cands, budget, reserve_size=RESERVE_SIZE, constraints=constraints)
    except (ValueError, RuntimeError) as error:
        # The core's own words: the exact option's negative scores, a solver that failed.
        raise DomainError(str(error)) from error


def _by_budget(
    stage: Stage,
    rules: SelectionRules,
    cands: list[Candidate],
    ranked: dict[str, dict[str, Any]],
    budget: Decimal,
) -> _Draft:
    line = _funding_line(rules, cands, budget, rules.constraints)
    draft = _Draft(list(map(str, line.funded)), {}, {}, list(line.constraints), list(line.notes))
    for pid in line.funded:
        draft.group[str(pid)] = SELECTED
    for group, rows in ((SKIPPED, line.skipped), (RESERVE, line.reserve)):
        for out in rows:
            draft.group[str(out.proposal_id)] = group
            draft.why[str(out.proposal_id)] = out.reason
    for out in line.not_funded:
        ref = str(out.proposal_id)
        draft.group[ref] = NOT_SELECTED
        draft.why[ref] = _not_fundable(ranked[ref]) if out.reason == NOT_FUNDABLE else out.reason
    target = stage.selection_target
    if target is not None and len(draft.selected) > target:
        plain = _funding_line(rules, cands, budget, ()) if rules.constraints else line
        _cap(draft, cands, target, rules.constraints, plain)
    return draft


def _needs(constraints: Sequence[MinimumCount]) -> dict[str, int]:
    """How many selected proposals each attribute needs: the strictest constraint on it."""
    need: dict[str, int] = {}
    for constraint in constraints:
        need[constraint.attribute] = max(need.get(constraint.attribute, 0), constraint.count)
    return need


def _places(places: int) -> str:
    if places < 0:
        return f"{-places} place{'' if places == -1 else 's'} better"
    return f"{places} place{'' if places == 1 else 's'}"


def _cap(
    draft: _Draft,
    cands: list[Candidate],
    target: int,
    constraints: Sequence[MinimumCount],
    plain: FundingLine,
) -> None:
    """Fund at most ``target``. Those kept are the line's funded ones less the worst-ranked,
    except proposals a constraint needs. What the constraints cost is measured against the
    line without them, capped the same way: the best ``target`` it funds."""
    by_ref = {str(c.proposal_id): c for c in cands}
    funded = sorted((by_ref[ref] for ref in draft.selected), key=lambda c: c.rank)
    need = _needs(constraints)
    count = {a: sum(1 for c in funded if a in c.attributes) for a in need}
    excess = len(funded) - target
    removed: list[Candidate] = []
    for cand in reversed(funded):
        if excess == 0:
            break
        if any(a in cand.attributes and count[a] <= need[a] for a in need):
            continue
        removed.append(cand)
        excess -= 1
        for a in need:
            if a in cand.attributes:
                count[a] -= 1
    if excess:
        # The constraints need more places than the target has: the target wins.
        removed += [c for c in reversed(funded) if c not in removed][:excess]
        draft.notes.append(
            f"The target of {target} leaves too few places to meet every constraint."
        )
    kept = [c for c in funded if c not in removed]
    kept_refs = {str(c.proposal_id) for c in kept}
    merit = sorted((by_ref[str(pid)] for pid in plain.funded), key=lambda c: c.rank)[:target]
    merit_refs = {str(c.proposal_id) for c in merit}
    line_rank = merit[-1].rank if merit else 0
    merit_why = {
        str(out.proposal_id): out.reason
        for out in (*plain.skipped, *plain.reserve, *plain.not_funded)
    }
    # Who came in for a constraint instead of whom, worst-displaced first.
    incoming = [c for c in kept if str(c.proposal_id) not in merit_refs]
    displaced = sorted(
        (c for c in merit if str(c.proposal_id) not in kept_refs), key=lambda c: -c.rank
    )
    swaps: dict[str, list[Swap]] = defaultdict(list)
    paired: dict[str, str] = {}
    for came, out in zip(incoming, displaced, strict=False):
        attribute = next((a for a in need if a in came.attributes), "")
        if not attribute:
            continue
        constraint = next(c for c in constraints if c.attribute == attribute)
        places = came.rank - out.rank
        swaps[attribute].append(
            Swap(
                attribute=attribute,
                funded=came.proposal_id,
                funded_rank=came.rank,
                displaced=((out.proposal_id, out.rank),),
                places=places,
                message=f"{came.label} funded instead of {out.label}: {_places(places)}",
            )
        )
        paired[str(out.proposal_id)] = f"displaced by {came.label} to meet: {constraint.describe()}"
    outside = f"outside the target: at most {target} proposals are funded"
    below: list[str] = []
    for cand in cands:
        ref = str(cand.proposal_id)
        if ref in kept_refs:
            draft.group[ref] = SELECTED
            draft.why.pop(ref, None)
        elif not cand.fundable:
            continue  # as the line had it: below a threshold
        elif ref in merit_refs:
            draft.group[ref] = SKIPPED
            draft.why[ref] = paired.get(ref, outside)
        elif cand.rank < line_rank:
            draft.group[ref] = SKIPPED
            draft.why[ref] = merit_why.get(ref, draft.why.get(ref, outside))
        else:
            below.append(ref)
            draft.why[ref] = outside
    below.sort(key=lambda ref: by_ref[ref].rank)
    for n, ref in enumerate(below):
        draft.group[ref] = RESERVE if n < RESERVE_SIZE else NOT_SELECTED
    draft.selected = [str(c.proposal_id) for c in kept]
    reports = []
    for constraint in constraints:
        mine = tuple(swaps.get(constraint.attribute, []))
        have = sum(1 for c in kept if constraint.attribute in c.attributes)
        head = constraint.describe()
        head = head[0].upper() + head[1:]
        total = sum(s.places for s in mine)
        if have >= constraint.count and not mine:
            message = (
                f"{head}: met by the merit order within the target of {target} ({have} funded)."
            )
        elif have >= constraint.count:
            message = (
                f"{head}: met within the target of {target} by {len(mine)} "
                f"swap{'' if len(mine) == 1 else 's'}, costing {_places(total)} in the ranking: "
                + "; ".join(s.message for s in mine)
                + "."
            )
        else:
            message = f"{head}: cannot be met within the target of {target}: {have} funded."
        reports.append(
            ConstraintReport(constraint, have >= constraint.count, have, mine, total, message)
        )
    draft.reports = reports


def _held_for_constraints(
    draft: _Draft, cands: list[Candidate], constraints: Sequence[MinimumCount]
) -> list[str]:
    """Selected proposals a constraint cannot do without: a draw must not take their place."""
    by_ref = {str(c.proposal_id): c for c in cands}
    need = _needs(constraints)
    count = {a: sum(1 for ref in draft.selected if a in by_ref[ref].attributes) for a in need}
    return [
        ref
        for ref in draft.selected
        if any(a in by_ref[ref].attributes and count[a] <= need[a] for a in need)
    ]


def _draw_inputs(
    draft: _Draft,
    cands: list[Candidate],
    budget: Decimal | None,
    held: Sequence[str],
    line_rank: int,
) -> tuple[list[str], int, Decimal | None, dict[str, Decimal]]:
    """The grey zone (references, rank order), its places and the money a draw hands out.
    Proposals ``held`` for a constraint are never drawn."""
    pool = [c for c in cands if str(c.proposal_id) not in held]
    zone = grey_zone(pool, [ref for ref in draft.selected if ref not in held], line_rank)
    by_ref = {str(c.proposal_id): c for c in cands}
    requested = {ref: by_ref[ref].requested for ref in map(str, zone.members)}
    money = None
    if budget is not None:
        staying = set(draft.selected) - set(map(str, zone.funded))
        money = max(budget, Decimal(0)) - sum(
            (by_ref[ref].requested for ref in staying), Decimal(0)
        )
    return list(map(str, zone.members)), zone.places, money, requested


def _lottery(
    draw_inputs: tuple[list[str], int, Decimal | None, dict[str, Decimal]], seed: str
) -> LotteryDraw:
    members, places, money, requested = draw_inputs
    return draw_lottery(
        members,
        places,
        seed,
        budget=money,
        requested=requested if money is not None else None,
    )


def _record_for(ranking: Ranking) -> LotteryRecord | None:
    return db.session.scalar(
        sa.select(LotteryRecord)
        .where(LotteryRecord.ranking_id == ranking.id)
        .order_by(LotteryRecord.id.desc())
        .limit(1)
    )


def _apply_draw(draft: _Draft, drawn: LotteryDraw, funding: bool) -> None:
    winners = set(map(str, drawn.drawn))
    skipped = set(map(str, drawn.skipped))
    members = list(map(str, drawn.candidates))
    lost = (
        f"lost the draw among the grey zone ({drawn.places} "
        f"place{'' if drawn.places == 1 else 's'} for {len(members)} proposals)"
    )
    for ref in members:
        if ref in winners:
            draft.group[ref] = SELECTED
            draft.why.pop(ref, None)
            continue
        draft.group[ref] = RESERVE if funding else NOT_SELECTED
        draft.why[ref] = (
            "drawn by lot, but its request did not fit the money left for the draw"
            if ref in skipped
            else lost
        )
    zone = set(members)
    draft.selected = [ref for ref in draft.selected if ref not in zone] + [
        ref for ref in members if ref in winners
    ]


def draw(stage: Stage, ranking: Ranking) -> Line:
    """The line the ranking gives under the stage's rules; a recorded draw is reflected.

    Raises DomainError when the ranking is not a finished one of this stage or the rules or
    the data do not allow a line (the message says why)."""
    _check(stage, ranking)
    rules = rules_for(stage)
    rows = _ranked(ranking)
    found = _proposals(stage, [r["proposal_id"] for r in rows])
    live = _live(rows, found)
    ref_of = {pid: p.reference for pid, p in found.items()}
    id_of = {p.reference: pid for pid, p in found.items()}
    ranked = {ref_of[r["proposal_id"]]: r for r in live}
    cands = [_candidate(r, found[r["proposal_id"]], ref_of[r["proposal_id"]]) for r in live]

    budget: Decimal | None = None
    if rules.funding:
        budget = remaining_budget(stage)
        draft = _by_budget(stage, rules, cands, ranked, max(budget, Decimal(0)))
        if budget < 0:
            draft.notes.insert(
                0,
                f"Funding confirmed at other stages exceeds the programme's budget by "
                f"{-budget:,.2f} {stage.call.programme.currency}: nothing is left for this line.",
            )
    else:
        draft = _by_target(stage, rules, cands, ranked)

    rank_of = {str(c.proposal_id): c.rank for c in cands}
    brought = {str(swap.funded) for report in draft.reports for swap in report.swaps}
    line_rank = max((rank_of[ref] for ref in draft.selected if ref not in brought), default=0)
    held = _held_for_constraints(draft, cands, rules.constraints) if rules.funding else []
    inputs = _draw_inputs(draft, cands, budget, held, line_rank)
    members, places, money, requested = inputs
    plan = None
    if rules.lottery and rules.lottery_seed and members and places:
        if held:
            draft.notes.append(
                "Held out of the draw because a constraint needs them: " + ", ".join(held) + "."
            )
        plan = DrawPlan(
            seed=rules.lottery_seed,
            candidates=tuple(id_of[ref] for ref in members),
            places=places,
            budget=money,
            requested={id_of[ref]: amount for ref, amount in requested.items()},
        )
    record = _record_for(ranking)
    drawn_refs: set[str] = set()
    if record is not None:
        try:
            recorded: LotteryDraw | None = LotteryDraw.from_record(record.record)
        except ValueError:
            recorded = None
        if recorded is not None and plan is not None and _lottery(inputs, plan.seed) == recorded:
            _apply_draw(draft, recorded, rules.funding)
            drawn_refs = set(map(str, recorded.drawn))
        else:
            draft.notes.append(
                "The draw recorded for this ranking was made among another grey zone, places, "
                "budget or seed than the line has now; its result is not applied."
            )

    suggested: dict[int, Outcome] = {}
    explanations: dict[int, str] = {}
    line_rows = []
    selected_outcome = Outcome.FUND if rules.funding else Outcome.ADVANCE
    spendable = max(budget, Decimal(0)) if budget is not None else None
    zone = set(members)
    for r in rows:
        proposal = found.get(r["proposal_id"])
        if proposal is None:  # deleted since the ranking
            continue
        ref = proposal.reference
        why: str | None
        outcome: Outcome | None
        if not proposal.in_competition:
            group, outcome = OUT, None
            why = "Withdrawn or out of the competition since the ranking"
        else:
            group = draft.group[ref]
            why = draft.why.get(ref)
            if why is not None:
                why = why[0].upper() + why[1:]
            if group == SELECTED:
                outcome = selected_outcome
            elif group == RESERVE and rules.funding:
                outcome = Outcome.RESERVE
            elif group == SKIPPED and spendable is not None and proposal.requested <= spendable:
                # Passed over above the line: first in line if money frees up.
                outcome = Outcome.RESERVE
            else:
                outcome = Outcome.REJECT
            suggested[proposal.id] = outcome
            if why is not None:
                explanations[proposal.id] = why
        low, high = r["score_interval"]
        rank_low, rank_high = r["rank_interval"]
        line_rows.append(
            LineRow(
                proposal_id=proposal.id,
                reference=ref,
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
                suggested=outcome,
                group=group,
                why=why,
                in_grey_zone=ref in zone,
                drawn=ref in drawn_refs,
            )
        )
    committed = sum(
        (row.requested for row in line_rows if row.suggested == Outcome.FUND), Decimal(0)
    )
    return Line(
        stage_id=stage.id,
        ranking_id=ranking.id,
        funding=rules.funding,
        rows=line_rows,
        suggested=suggested,
        budget=budget,
        committed=committed,
        explanations=explanations,
        grey_zone=[id_of[ref] for ref in members],
        lottery=record,
        constraint_reports=draft.reports,
        notes=draft.notes,
        draw_plan=plan,
        target=stage.selection_target,
        line_rank=line_rank,
    )


# --- the lottery --------------------------------------------------------------------------


@operation
def record_lottery(
    stage: Stage,
    ranking: Ranking,
    *,
    actor: User,
    now: dt.datetime,
    candidates: Sequence[int] | None = None,
    places: int | None = None,
) -> LotteryRecord:
    """Draw the grey zone's places by lot with the seed fixed in the stage's rules, and record
    the draw so anyone can re-run it. ``candidates`` and ``places``, when given, are what the
    officer confirmed: a grey zone that has changed since is refused.
    Refused when the rules enable no lottery, the ranking is not the stage's newest finished
    one, a draw is already recorded for it, or there is nothing to draw.
    Side effects: a ``LotteryRecord``; audit ``lottery.drawn``."""
    require(can_draw_line(actor, stage))
    rules = rules_for(stage)
    if not rules.lottery or not rules.lottery_seed:
        raise DomainError("The selection rules of this stage do not provide for a lottery.")
    # Locks the ranking so two officers confirming at once record one draw.
    locked = db.session.get(Ranking, ranking.id, with_for_update=True)
    if locked is None:
        raise StaleState("This ranking no longer exists.")
    _check(stage, locked)
    newest = latest_done(stage)
    if newest is None or newest.id != locked.id:
        raise StaleState("A newer ranking exists; draw on the line of the newest one.")
    if _record_for(locked) is not None:
        raise StaleState("A draw is already recorded for this ranking.")
    line = draw(stage, locked)
    plan = line.draw_plan
    if plan is None:
        raise DomainError(
            "No place on the line is uncertain enough to draw: the grey zone is empty."
        )
    if candidates is not None and sorted(candidates) != sorted(plan.candidates):
        raise StaleState("The grey zone has changed since you opened this page; check it again.")
    if places is not None and places != plan.places:
        raise StaleState("The number of places has changed since you opened this page.")
    reference = {row.proposal_id: row.reference for row in line.rows}
    result = draw_lottery(
        [reference[pid] for pid in plan.candidates],
        plan.places,
        plan.seed,
        budget=plan.budget,
        requested=(
            {reference[pid]: amount for pid, amount in plan.requested.items()}
            if plan.budget is not None
            else None
        ),
    )
    record = LotteryRecord(
        stage_id=stage.id,
        ranking_id=locked.id,
        seed=plan.seed,
        record=result.as_record(),
        created_by_id=actor.id,
        created_at=now,
    )
    db.session.add(record)
    db.session.flush()
    record_event(
        actor=actor,
        action="lottery.drawn",
        object_type="stage",
        object_id=stage.id,
        after={
            "draw": record.id,
            "ranking": locked.id,
            "seed": plan.seed,
            "candidates": list(result.candidates),
            "places": result.places,
            "drawn": list(result.drawn),
        },
        now=now,
    )
    return record


def export_record(record: LotteryRecord) -> dict[str, Any]:
    """The draw as published: the record ``verify_draw`` re-runs, plus which proposal each
    reference is and when the draw was made."""
    proposals = dict(
        db.session.execute(
            sa.select(Proposal.reference, Proposal.id).where(
                Proposal.reference.in_([str(c) for c in record.record.get("candidates", [])])
            )
        ).all()
    )
    return {
        **record.record,
        "stage_id": record.stage_id,
        "ranking_id": record.ranking_id,
        "drawn_at": record.created_at.isoformat(),
        "proposal_ids": proposals,
    }
