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

from competition.core.ranking import note_text
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
    infeasibility,
    merit_order_line,
    optimal_line,
    select_by_target,
)
from competition.core.texts import N_, Nn_, Text
from competition.core.wording import joined

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
    # Why it is not selected (None when it is): a clause, started with a capital when shown.
    why: Text | None
    in_grey_zone: bool
    drawn: bool  # won the recorded draw


@dataclass(frozen=True)
class LinePlan:
    placements: tuple[Placement, ...]  # in the order of the ranked proposals given
    committed: Decimal  # requested public funding of those suggested "fund"
    grey_zone: tuple[str, ...]
    reports: tuple[ConstraintReport, ...]
    notes: tuple[Text, ...]
    draw: DrawInputs | None  # None: no lottery, or nothing to draw
    draw_applied: bool  # a recorded draw made on the same inputs is reflected
    line_rank: int  # the provisional line lies below this rank (0: nothing selected)
    # Why the constraints can never all be met, each naming the constraint and the numbers.
    infeasible: tuple[Text, ...] = ()

    def placement(self, reference: str) -> Placement:
        return next(p for p in self.placements if p.reference == reference)


# --- drawing the line -----------------------------------------------------------------------


@dataclass
class _Draft:
    """The line while it is being drawn; keys are references, as the core sees them."""

    selected: list[str]
    group: dict[str, str]
    why: dict[str, Text]
    reports: list[ConstraintReport] = field(default_factory=list)
    notes: list[Text] = field(default_factory=list)


def _not_fundable(row: Ranked) -> Text:
    below = row.below_thresholds
    if not below:
        return NOT_FUNDABLE
    notes: Text = note_text(below[0])
    for more in below[1:]:
        notes = N_("%(list)s; %(item)s", list=notes, item=note_text(more))
    return N_("below a threshold: %(thresholds)s", thresholds=notes)


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
        draft.notes.append(
            N_("This stage has no selection target: every fundable proposal advances.")
        )
    else:
        draft.notes.extend(chosen.notes)
    if policy.constraints:
        draft.notes.append(
            N_("The constraints apply to funding lines; this stage's line is drawn by its target.")
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


def _places(places: int) -> Text:
    if places < 0:
        return Nn_("%(num)s place better", "%(num)s places better", -places)
    return Nn_("%(num)s place", "%(num)s places", places)


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
            N_(
                "The target of %(target)s leaves too few places to meet every constraint.",
                target=target,
            )
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
    paired: dict[str, Text] = {}
    caps = {c.attribute: c.maximum for c in constraints if c.maximum is not None}
    at_cap = {a: sum(1 for c in kept if a in c.attributes) >= m for a, m in caps.items()}
    for came, out in zip(incoming, displaced, strict=False):
        # Brought in for a minimum, or let in because a maximum kept the displaced one out.
        attribute = next((a for a in need if need[a] and a in came.attributes), "")
        if attribute:
            constraint = next(c for c in constraints if c.attribute == attribute and c.count)
        else:
            attribute = next((a for a in caps if a in out.attributes and at_cap[a]), "")
            if not attribute:
                continue
            constraint = next(
                c for c in constraints if c.attribute == attribute and c.maximum is not None
            )
        places = came.rank - out.rank
        swaps[attribute].append(
            Swap(
                attribute=attribute,
                funded=came.proposal_id,
                funded_rank=came.rank,
                displaced=((out.proposal_id, out.rank),),
                places=places,
                message=N_(
                    "%(proposal)s funded instead of %(displaced)s: %(places)s",
                    proposal=came.label,
                    displaced=out.label,
                    places=_places(places),
                ),
            )
        )
        paired[str(out.proposal_id)] = N_(
            "displaced by %(proposal)s to meet: %(constraint)s",
            proposal=came.label,
            constraint=constraint.describe(),
        )
    outside = N_("outside the target: at most %(target)s proposals are funded", target=target)
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
        head = constraint.heading()
        total = sum(s.places for s in mine)
        if have >= constraint.count and not mine:
            message = N_(
                "%(constraint)s: met by the merit order within the target of %(target)s "
                "(%(have)s funded).",
                constraint=head,
                target=target,
                have=have,
            )
        elif have >= constraint.count:
            swaps_made: Text | None = None
            for s in mine:
                swaps_made = (
                    s.message
                    if swaps_made is None
                    else N_("%(a)s; %(b)s", a=swaps_made, b=s.message)
                )
            message = Nn_(
                "%(constraint)s: met within the target of %(target)s by %(num)s swap, costing "
                "%(places)s in the ranking: %(swaps)s.",
                "%(constraint)s: met within the target of %(target)s by %(num)s swaps, costing "
                "%(places)s in the ranking: %(swaps)s.",
                len(mine),
                constraint=head,
                target=target,
                places=_places(total),
                swaps=swaps_made,
            )
        else:
            message = N_(
                "%(constraint)s: cannot be met within the target of %(target)s: %(have)s funded.",
                constraint=head,
                target=target,
                have=have,
            )
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
    lost = Nn_(
        "lost the draw among the grey zone (%(num)s place for %(count)s proposals)",
        "lost the draw among the grey zone (%(num)s places for %(count)s proposals)",
        drawn.places,
        count=len(members),
    )
    for ref in members:
        if ref in winners:
            draft.group[ref] = SELECTED
            draft.why.pop(ref, None)
            continue
        draft.group[ref] = RESERVE if funding else NOT_SELECTED
        draft.why[ref] = (
            N_("drawn by lot, but its request did not fit the money left for the draw")
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
                N_(
                    "Funding confirmed at other stages exceeds the programme's budget by "
                    "%(amount)s %(currency)s: nothing is left for this line.",
                    amount=(-budget).quantize(Decimal("0.01")),
                    currency=policy.currency,
                ),
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
                N_(
                    "Held out of the draw because a constraint needs them: %(references)s.",
                    references=joined(held),
                )
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
                N_(
                    "The draw recorded for this ranking was made among another grey zone, "
                    "places, budget or seed than the line has now; its result is not applied."
                )
            )

    spendable = max(budget, Decimal(0)) if policy.funding and budget is not None else None
    zone = set(members)
    placements = []
    committed = Decimal(0)
    for r in ranked:
        ref = r.reference
        if not r.in_competition:
            gone = N_("Withdrawn or out of the competition since the ranking")
            placements.append(Placement(ref, OUT, None, gone, in_grey_zone=False, drawn=False))
            continue
        group = draft.group[ref]
        why = draft.why.get(ref)
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
        infeasible=(
            infeasibility(
                [c for c in cands if c.fundable],
                max(budget, Decimal(0)),
                policy.constraints,
                policy.target,
            )
            if policy.funding and budget is not None and policy.constraints
            else ()
        ),
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
