"""The line of a stage as policy: from a ranking's proposals and a stage's rules to which
proposals are selected, skipped, kept in reserve or not selected and why, the grey zone, and what
a draw by lot among it hands out. Plain data in and out; ``selection.line`` reads the database
and turns the plan into the page's rows.

* A line by target (``Policy.funding`` false): :func:`select_by_target` with ``Policy.target``;
  without a target every fundable proposal advances.
* A funding line: :func:`merit_order_line` (or :func:`optimal_line` when the policy asks for it)
  under the remaining budget, with the constraints. ``target``, when set, caps the number funded:
  the worst-ranked funded proposals give way, except those a constraint needs; what the
  constraints cost is then measured against the same line without them, capped alike.
* The grey zone: fundable proposals whose rank interval straddles the line. With a lottery seed,
  the places the line gives the zone are drawn among it (:class:`DrawInputs`); a recorded draw
  made on the same inputs replaces the zone's part of the line. Proposals a constraint cannot do
  without are held out of the draw, so a draw never breaks a constraint.

Proposals are named by their reference ("C4F-0017 (rank 9)"), as the public knows them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from competition.core.selection import (
    NOT_FUNDABLE,
    Candidate,
    ConstraintReport,
    FundingLine,
    LotteryDraw,
    MinimumCount,
    ProposalId,
    Swap,
    draw_lottery,
    grey_zone,
    merit_order_line,
    optimal_line,
    select_by_target,
)

# How many fundable proposals below a funding line form the reserve list.
RESERVE_SIZE = 5

# Where a proposal stands on the line.
SELECTED = "selected"  # advances, or is funded
SKIPPED = "skipped"  # fundable and ranked above the line, passed over (money, a constraint)
RESERVE = "reserve"  # next in line if money or a place frees up
NOT_SELECTED = "not_selected"
OUT = "out"  # withdrawn or out of the competition since the ranking: no suggestion

Suggestion = Literal["advance", "fund", "reserve", "reject"]


class LineRefused(ValueError):
    """The policy and the data allow no line; the message says why."""


@dataclass(frozen=True)
class Ranked:
    """One proposal as the ranking placed it, with what the line reads about it."""

    reference: str
    rank: int
    score: float
    fundable: bool
    rank_interval: tuple[int, int]
    requested: Decimal = Decimal(0)  # public funding asked for at this stage
    attributes: frozenset[str] = frozenset()  # what the constraints count: "eastern", "sme"
    below_thresholds: tuple[str, ...] = ()
    in_competition: bool = True  # False: withdrawn or out since the ranking

    def candidate(self) -> Candidate:
        low, high = self.rank_interval
        return Candidate(
            proposal_id=self.reference,
            rank=self.rank,
            score=self.score,
            requested=self.requested,
            fundable=self.fundable,
            attributes=self.attributes,
            rank_low=low,
            rank_high=high,
        )


@dataclass(frozen=True)
class Policy:
    """What a stage's rules say about its line."""

    funding: bool  # by budget (else by target)
    target: int | None = None  # how many advance, or at most how many are funded
    budget: Decimal | None = None  # what the programme has left before this line (funding)
    line_method: str = "merit"  # or "optimal"
    constraints: tuple[MinimumCount, ...] = ()
    lottery_seed: str | None = None  # a draw among the grey zone, with this seed
    currency: str = "EUR"


@dataclass(frozen=True)
class DrawInputs:
    """What a draw among the grey zone would hand out, fixed before it is made."""

    seed: str
    candidates: tuple[str, ...]  # references, in rank order
    places: int
    budget: Decimal | None  # the money the draw hands out (funding lines)
    requested: Mapping[str, Decimal]

    def draw(self) -> LotteryDraw:
        return draw_lottery(
            list(self.candidates),
            self.places,
            self.seed,
            budget=self.budget,
            requested=(_by_id(self.requested) if self.budget is not None else None),
        )


@dataclass(frozen=True)
class Placement:
    """Where one proposal stands on the line."""

    reference: str
    group: str  # SELECTED, SKIPPED, RESERVE, NOT_SELECTED or OUT
    suggested: Suggestion | None  # None for a proposal no longer in the competition
    why: str | None  # why it is not selected; None when it is
    in_grey_zone: bool
    drawn: bool  # won the recorded draw


@dataclass(frozen=True)
class LinePlan:
    placements: tuple[Placement, ...]  # in the order of the ranked proposals given
    committed: Decimal  # requested public funding of those suggested "fund"
    grey_zone: tuple[str, ...]
    reports: tuple[ConstraintReport, ...]
    notes: tuple[str, ...]
    draw: DrawInputs | None  # None: no lottery, or nothing to draw
    draw_applied: bool  # a recorded draw made on the same inputs is reflected
    line_rank: int  # the provisional line lies below this rank (0: nothing selected)

    def placement(self, reference: str) -> Placement:
        return next(p for p in self.placements if p.reference == reference)


# --- drawing the line -----------------------------------------------------------------------


@dataclass
class _Draft:
    """The line while it is being drawn; keys are references, as the core sees them."""

    selected: list[str]
    group: dict[str, str]
    why: dict[str, str]
    reports: list[ConstraintReport] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _not_fundable(row: Ranked) -> str:
    below = row.below_thresholds
    return "below a threshold: " + "; ".join(below) if below else NOT_FUNDABLE


def _by_target(policy: Policy, cands: list[Candidate], ranked: Mapping[str, Ranked]) -> _Draft:
    target = policy.target
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
    if policy.constraints:
        draft.notes.append(
            "The constraints apply to funding lines; this stage's line is drawn by its target."
        )
    return draft


def _funding_line(
    policy: Policy,
    cands: list[Candidate],
    budget: Decimal,
    constraints: Sequence[MinimumCount],
) -> FundingLine:
    try:
        if policy.line_method == "optimal":
            return optimal_line(cands, budget, constraints, reserve_size=RESERVE_SIZE)
        return merit_order_line(cands, budget, reserve_size=RESERVE_SIZE, constraints=constraints)
    except (ValueError, RuntimeError) as error:
        # The core's own words: the exact option's negative scores, a solver that failed.
        raise LineRefused(str(error)) from error


def _by_budget(
    policy: Policy, cands: list[Candidate], ranked: Mapping[str, Ranked], budget: Decimal
) -> _Draft:
    line = _funding_line(policy, cands, budget, policy.constraints)
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
    target = policy.target
    if target is not None and len(draft.selected) > target:
        plain = _funding_line(policy, cands, budget, ()) if policy.constraints else line
        _cap(draft, cands, target, policy.constraints, plain)
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


def plan_line(
    ranked: Sequence[Ranked], policy: Policy, recorded: Mapping[str, Any] | None = None
) -> LinePlan:
    """The line the ranked proposals give under the policy. ``recorded`` is a draw recorded for
    this ranking (``LotteryDraw.as_record``); it is applied only when it was made on the inputs
    the line has now. Raises :class:`LineRefused` when the policy and the data allow no line."""
    if policy.funding and policy.budget is None:
        raise ValueError("a funding line needs the remaining budget")
    live = [r for r in ranked if r.in_competition]
    by_ref = {r.reference: r for r in live}
    cands = [r.candidate() for r in live]

    budget = policy.budget
    if policy.funding and budget is not None:
        draft = _by_budget(policy, cands, by_ref, max(budget, Decimal(0)))
        if budget < 0:
            draft.notes.insert(
                0,
                f"Funding confirmed at other stages exceeds the programme's budget by "
                f"{-budget:,.2f} {policy.currency}: nothing is left for this line.",
            )
    else:
        draft = _by_target(policy, cands, by_ref)

    rank_of = {str(c.proposal_id): c.rank for c in cands}
    brought = {str(swap.funded) for report in draft.reports for swap in report.swaps}
    line_rank = max((rank_of[ref] for ref in draft.selected if ref not in brought), default=0)
    held = _held_for_constraints(draft, cands, policy.constraints) if policy.funding else []
    members, places, money, requested = _draw_inputs(draft, cands, budget, held, line_rank)
    inputs = None
    if policy.lottery_seed and members and places:
        if held:
            draft.notes.append(
                "Held out of the draw because a constraint needs them: " + ", ".join(held) + "."
            )
        inputs = DrawInputs(policy.lottery_seed, tuple(members), places, money, requested)
    drawn_refs: set[str] = set()
    applied = False
    if recorded is not None:
        try:
            made: LotteryDraw | None = LotteryDraw.from_record(recorded)
        except ValueError:
            made = None
        if made is not None and inputs is not None and inputs.draw() == made:
            _apply_draw(draft, made, policy.funding)
            drawn_refs = set(map(str, made.drawn))
            applied = True
        else:
            draft.notes.append(
                "The draw recorded for this ranking was made among another grey zone, places, "
                "budget or seed than the line has now; its result is not applied."
            )

    spendable = max(budget, Decimal(0)) if policy.funding and budget is not None else None
    zone = set(members)
    placements = []
    committed = Decimal(0)
    for r in ranked:
        ref = r.reference
        if not r.in_competition:
            gone = "Withdrawn or out of the competition since the ranking"
            placements.append(Placement(ref, OUT, None, gone, in_grey_zone=False, drawn=False))
            continue
        group = draft.group[ref]
        why = draft.why.get(ref)
        if why is not None:
            why = why[0].upper() + why[1:]
        suggested = _suggestion(group, r, policy.funding, spendable)
        if suggested == "fund":
            committed += r.requested
        placements.append(Placement(ref, group, suggested, why, ref in zone, ref in drawn_refs))
    return LinePlan(
        placements=tuple(placements),
        committed=committed,
        grey_zone=tuple(members),
        reports=tuple(draft.reports),
        notes=tuple(draft.notes),
        draw=inputs,
        draw_applied=applied,
        line_rank=line_rank,
    )


def _suggestion(
    group: str, proposal: Ranked, funding: bool, spendable: Decimal | None
) -> Suggestion:
    if group == SELECTED:
        return "fund" if funding else "advance"
    if group == RESERVE and funding:
        return "reserve"
    if group == SKIPPED and spendable is not None and proposal.requested <= spendable:
        # Passed over above the line: first in line if money frees up.
        return "reserve"
    return "reject"


def _by_id(amounts: Mapping[str, Decimal]) -> dict[ProposalId, Decimal]:
    return dict(amounts.items())
