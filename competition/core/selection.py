"""Drawing the line: which proposals advance to the next stage or are funded, and why the others
are not.

Plain data in, plain data out. A :class:`Candidate` is one ranked proposal (rank 1 is best) with
its score, the public funding it requests (``Decimal`` euros with cents; money is never a float
here and becomes integer cents for any arithmetic) and whether it is fundable at all (a proposal
below a threshold never is). Every proposal that is not selected gets a reason in plain words.

* :func:`select_by_target`: a stage with a selection target (16 of 137 outlines advance).
* :func:`merit_order_line`: the default funding line. Fund down the merit order while the budget
  lasts, skipping what does not fit (see REFERENCES.md, "Selection under a budget"). Optional
  :class:`MinimumCount` constraints (at least 3 consortia led from the eastern states, at most
  2 led from one state) are met by swapping and skipping, and what that costs in places is
  reported; :func:`infeasibility` names constraints that can never be met.
* :func:`optimal_line`: the exact option, off by default. It maximises the total score under the
  budget and constraints (an integer program), which favours many cheap proposals.
* :func:`grey_zone`, :func:`draw_lottery`, :func:`verify_draw`: partial randomisation. Proposals
  whose rank is too uncertain to tell on which side of the line they fall are drawn by lot, in a
  way anyone can repeat (RFC 3797 style: the seed and the candidate list are fixed first).

Ties in rank are broken by proposal id (integer ids before text ids), so every result is
deterministic.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import time
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Context, Decimal, InvalidOperation
from typing import Any, Literal, TypeAlias

import numpy as np
from numpy.typing import NDArray

from competition.core.texts import N_, Nn_, Text

logger = logging.getLogger(__name__)

ProposalId: TypeAlias = int | str
Objective: TypeAlias = Literal["score", "count"]

# Plenty of digits: cents of any real budget stay exact, never rounded by the context.
_EXACT = Context(prec=60)
# Scores become integers for the optimiser; "optimal" means optimal for the rounded scores.
SCORE_SCALE = 1_000_000
DRAW_METHOD = "sha256-rfc3797-v1"
NOT_FUNDABLE = N_("not fundable (below a threshold)")


# --- input ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    """One ranked proposal as the line sees it.

    ``rank`` 1 is best. ``requested`` is the public funding asked for, in euros with cents.
    ``fundable`` is false for a proposal below a threshold: it is never selected.
    ``attributes`` are labels the constraints count, such as "eastern" or "sme".
    ``rank_low`` and ``rank_high`` (both or neither) are the best and the worst rank the proposal
    plausibly has, from the ranking's uncertainty (so ``rank_low <= rank <= rank_high``); only
    :func:`grey_zone` uses them.
    """

    proposal_id: ProposalId
    rank: int
    score: float
    requested: Decimal
    fundable: bool = True
    attributes: frozenset[str] = frozenset()
    rank_low: int | None = None
    rank_high: int | None = None
    _cents: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        pid = self.proposal_id
        if isinstance(pid, bool) or not isinstance(pid, int | str):
            raise TypeError(f"a proposal id is an int or a str, not {pid!r}")
        if not _is_int(self.rank) or self.rank < 1:
            raise ValueError(f"{_who(pid)}: the rank must be a whole number of at least 1")
        if isinstance(self.score, bool) or not isinstance(self.score, int | float):
            raise TypeError(f"{_who(pid)}: the score must be a number")
        if not math.isfinite(self.score):
            raise ValueError(f"{_who(pid)}: the score must be finite")
        cents = _to_cents(self.requested, f"{_who(pid)}: the requested amount")
        object.__setattr__(self, "_cents", cents)
        object.__setattr__(self, "attributes", frozenset(self.attributes))
        low, high = self.rank_low, self.rank_high
        if (low is None) != (high is None):
            raise ValueError(f"{_who(pid)}: give both ends of the rank interval or neither")
        if low is not None and high is not None:
            if not (_is_int(low) and _is_int(high) and 1 <= low <= self.rank <= high):
                raise ValueError(
                    f"{_who(pid)}: the rank interval must satisfy 1 <= rank_low <= rank "
                    f"<= rank_high"
                )

    @property
    def label(self) -> Text:
        """'P-17 (rank 9)': how messages name the proposal."""
        return N_("%(proposal)s (rank %(rank)s)", proposal=_named(self.proposal_id), rank=self.rank)


@dataclass(frozen=True)
class MinimumCount:
    """At least ``count`` and, when ``maximum`` is given, at most ``maximum`` funded proposals
    carry ``attribute`` (e.g. at least 3 "eastern"; at most 2 "coordinator_state:DE-BE").

    ``name`` says in words what the attribute means ("led from Berlin"); the web layer gives it
    in a form the reader's language can be chosen for. Without it the attribute is quoted. A
    minimum above the maximum is allowed here and named by :func:`infeasibility`.
    """

    attribute: str
    count: int = 0
    maximum: int | None = None
    name: Any = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.attribute, str) or not self.attribute:
            raise ValueError("a constraint needs an attribute")
        if not _is_int(self.count) or self.count < 0:
            raise ValueError(f"constraint on {self.attribute!r}: the count must be at least 0")
        if self.maximum is not None and (not _is_int(self.maximum) or self.maximum < 0):
            raise ValueError(f"constraint on {self.attribute!r}: the maximum must be at least 0")

    @property
    def what(self) -> Any:
        """What the counted proposals are: the name, or the attribute quoted."""
        if self.name is not None:
            return self.name
        return N_("with '%(attribute)s'", attribute=self.attribute)

    def describe(self) -> Text:
        if self.maximum is None:
            return Nn_(
                "at least %(num)s funded proposal %(what)s",
                "at least %(num)s funded proposals %(what)s",
                self.count,
                what=self.what,
            )
        if self.count == 0:
            return Nn_(
                "at most %(num)s funded proposal %(what)s",
                "at most %(num)s funded proposals %(what)s",
                self.maximum,
                what=self.what,
            )
        return N_(
            "at least %(minimum)s and at most %(maximum)s funded proposals %(what)s",
            minimum=self.count,
            maximum=self.maximum,
            what=self.what,
        )

    def heading(self) -> Text:
        """The description starting a sentence."""
        if self.maximum is None:
            return Nn_(
                "At least %(num)s funded proposal %(what)s",
                "At least %(num)s funded proposals %(what)s",
                self.count,
                what=self.what,
            )
        if self.count == 0:
            return Nn_(
                "At most %(num)s funded proposal %(what)s",
                "At most %(num)s funded proposals %(what)s",
                self.maximum,
                what=self.what,
            )
        return N_(
            "At least %(minimum)s and at most %(maximum)s funded proposals %(what)s",
            minimum=self.count,
            maximum=self.maximum,
            what=self.what,
        )


# A constraint that may set a maximum as well as a minimum: the same class, by its wider name.
Quota = MinimumCount


# --- output --------------------------------------------------------------------------------


@dataclass(frozen=True)
class NotSelected:
    """A proposal that does not advance or is not funded, and why."""

    proposal_id: ProposalId
    rank: int
    requested: Decimal
    reason: Text


@dataclass(frozen=True)
class TargetSelection:
    target: int
    advancing: tuple[ProposalId, ...]
    not_advancing: tuple[NotSelected, ...]
    notes: tuple[Text, ...] = ()


@dataclass(frozen=True)
class Swap:
    """One step taken to meet a constraint: ``funded`` came in, ``displaced`` (id, rank) went out.

    ``places`` is the cost in the ranking: the incoming rank minus each displaced rank, summed
    (negative when the incoming proposal ranks better, which happens when it was skipped for
    its size).
    """

    attribute: str
    funded: ProposalId
    funded_rank: int
    displaced: tuple[tuple[ProposalId, int], ...]
    places: int
    message: Text


@dataclass(frozen=True)
class ConstraintReport:
    constraint: MinimumCount
    met: bool
    funded_count: int
    swaps: tuple[Swap, ...]
    places: int
    message: Text


@dataclass(frozen=True)
class FundingLine:
    """A funding line. Every candidate appears in exactly one of the four groups.

    * ``funded``: in rank order.
    * ``skipped``: fundable but passed over while a worse-ranked proposal was funded (it did not
      fit, or was displaced to meet a constraint, or the optimiser left it out).
    * ``reserve``: the next ``reserve_size`` fundable proposals ranked below the worst-ranked
      funded one, in rank order. Skipped proposals rank above the reserve; if money frees up,
      look at them first.
    * ``not_funded``: everything else, including proposals that are not fundable.

    ``line_rank`` is the rank of the worst-ranked funded proposal (None if none is funded).
    """

    method: str
    budget: Decimal
    funded: tuple[ProposalId, ...]
    skipped: tuple[NotSelected, ...]
    reserve: tuple[NotSelected, ...]
    not_funded: tuple[NotSelected, ...]
    total_committed: Decimal
    remaining: Decimal
    line_rank: int | None
    constraints: tuple[ConstraintReport, ...] = ()
    notes: tuple[Text, ...] = ()


@dataclass(frozen=True)
class GreyZone:
    """The proposals whose place relative to the line is uncertain (see :func:`grey_zone`).

    ``places`` is how many of them the provisional line funds (``funded``), and
    ``funded_amount`` what those request together: the places and money a lottery among
    ``members`` hands out. ``secure`` are the funded proposals certainly above the line.
    """

    line_rank: int
    members: tuple[ProposalId, ...]
    funded: tuple[ProposalId, ...]
    secure: tuple[ProposalId, ...]
    places: int
    funded_amount: Decimal


@dataclass(frozen=True)
class LotteryDraw:
    """A complete record of a draw: enough for anyone to repeat it (see :func:`draw_lottery`).

    ``candidates`` are sorted as the draw sorts them; ``requested`` (only with a budget) is
    aligned with them. ``order`` is the full draw order, ``drawn`` the winners in draw order and
    ``skipped`` those drawn while places were left that did not fit the remaining budget.
    """

    method: str
    seed: str
    candidates: tuple[ProposalId, ...]
    places: int
    budget: Decimal | None
    requested: tuple[Decimal, ...]
    order: tuple[ProposalId, ...]
    drawn: tuple[ProposalId, ...]
    skipped: tuple[ProposalId, ...] = field(default=())

    def as_record(self) -> dict[str, Any]:
        """JSON values (money as text), to publish or store next to the decision."""
        return {
            "method": self.method,
            "seed": self.seed,
            "candidates": list(self.candidates),
            "places": self.places,
            "budget": None if self.budget is None else str(self.budget),
            "requested": [str(amount) for amount in self.requested],
            "order": list(self.order),
            "drawn": list(self.drawn),
            "skipped": list(self.skipped),
        }

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> LotteryDraw:
        """The draw from :meth:`as_record`'s output; ValueError if it is malformed."""
        try:
            budget = record["budget"]
            return cls(
                method=_text(record["method"]),
                seed=_text(record["seed"]),
                candidates=_ids(record["candidates"]),
                places=_whole(record["places"]),
                budget=None if budget is None else Decimal(_text(budget)),
                requested=tuple(Decimal(_text(a)) for a in record["requested"]),
                order=_ids(record["order"]),
                drawn=_ids(record["drawn"]),
                skipped=_ids(record["skipped"]),
            )
        except (KeyError, TypeError, InvalidOperation) as error:
            raise ValueError(f"not a lottery record: {error!r}") from error


# --- selection to a target -----------------------------------------------------------------


def select_by_target(candidates: Iterable[Candidate], target: int) -> TargetSelection:
    """The first ``target`` fundable candidates in rank order advance; no others do.

    For a stage with a selection target (16 of 137 outlines go on to the full proposal stage).
    Money plays no part. A candidate that is not fundable never advances, whatever its rank.
    """
    if not _is_int(target) or target < 0:
        raise ValueError("the selection target must be a whole number of at least 0")
    cands, _ = _in_rank_order(candidates)
    advancing: list[ProposalId] = []
    rest: list[NotSelected] = []
    for cand in cands:
        if not cand.fundable:
            rest.append(_not_selected(cand, NOT_FUNDABLE))
        elif len(advancing) < target:
            advancing.append(cand.proposal_id)
        else:
            rest.append(
                _not_selected(
                    cand,
                    N_(
                        "outside the target: %(target)s better-ranked fundable proposals advance",
                        target=target,
                    ),
                )
            )
    notes = []
    if len(advancing) < target:
        notes.append(
            Nn_(
                "Only %(num)s fundable proposal for a target of %(target)s: all of them advance.",
                "Only %(num)s fundable proposals for a target of %(target)s: all of them advance.",
                len(advancing),
                target=target,
            )
        )
    return TargetSelection(target, tuple(advancing), tuple(rest), tuple(notes))


# --- the merit-order line ------------------------------------------------------------------


def merit_order_line(
    candidates: Iterable[Candidate],
    budget: Decimal,
    *,
    reserve_size: int = 5,
    constraints: Sequence[MinimumCount] = (),
) -> FundingLine:
    """The default funding line: fund down the merit order while the budget lasts.

    Going down the ranks, each fundable proposal whose request fits the money left is funded.
    One that does not fit is skipped, with the reason ("requested 45.0 M€, only 12.3 M€ left"),
    and later, cheaper proposals may still be funded. The fundable proposals after the
    worst-ranked funded one form the reserve list (up to ``reserve_size``).

    Constraints (``MinimumCount``) are met after the merit order, by swapping: while one is
    short, the best-ranked unfunded fundable proposal with the attribute comes in, and the
    worst-ranked funded proposals without it go out, as few as needed for the money to fit (it
    comes in without displacing anybody if the money left suffices). A swap never takes a
    constraint that is met below its minimum, never makes one that is short worse, and never
    undoes an earlier swap. If swapping cannot meet a constraint, none of its swaps is kept
    (half a quota costs places and meets nothing). Budget freed by the swaps then goes down the
    merit order again (a displaced proposal that fits again comes back). Each constraint's
    report says which proposals were displaced by which and how many places that cost, or, in
    plain words, why it cannot be met.

    Maximums are kept throughout: going down the ranks, a proposal that would take an attribute
    above its maximum is skipped ("skipped to keep: at most 1 funded proposal led from Berlin"),
    and a swap never brings one in. What a maximum cost is measured on the first pass: each
    proposal it kept out, paired in rank order with one funded with the money instead.

    Swapping is a rule of thumb. When it leaves a minimum short that is not plainly impossible
    on its own (:func:`infeasibility` names those), the line becomes the best-ranked selection
    within the budget that meets every constraint (an integer program on rank weights, as
    :func:`optimal_line` solves), if there is one; its swaps are reported against the plain
    merit order. So whenever some selection meets every constraint, the line does.

    Runs in linear time after sorting by rank (and sorting input that is already in rank order
    is linear too); each swap costs another pass.
    """
    if not _is_int(reserve_size) or reserve_size < 0:
        raise ValueError("the reserve size must be a whole number of at least 0")
    cands, cents = _in_rank_order(candidates)
    budget_cents = _to_cents(budget, "the budget")
    constraints = tuple(constraints)
    funded = [False] * len(cands)
    _, reasons, _ = _walk(cands, cents, budget_cents, funded, explain=not constraints)
    if not constraints:
        return _line("merit order", cands, cents, budget_cents, funded, reasons, reserve_size)

    plain = list(funded)
    limits = _limits(constraints)
    funded = [False] * len(cands)
    _, _, capped = _walk(cands, cents, budget_cents, funded, limits, explain=False)
    # Who was funded with the money a maximum kept from a better-ranked proposal.
    incoming = [i for i in range(len(cands)) if funded[i] and not plain[i]]
    skipped = sorted(capped)
    cap_steps = [
        (capped[out], incoming[n] if n < len(incoming) else None, out)
        for n, out in enumerate(skipped)
    ]
    swaps = _swap_for_constraints(cands, cents, budget_cents, funded, constraints)
    before = list(funded)
    _, reasons, _ = _walk(cands, cents, budget_cents, funded, limits)
    notes = [
        N_("%(proposal)s funded from the budget freed by the swaps.", proposal=cands[i].label)
        for i in range(len(cands))
        if funded[i] and not before[i]
    ]
    unmet = [k for k in constraints if _count_with(k.attribute, cands, funded) < k.count]
    # Search only when no unmet minimum is plainly impossible on its own (then nothing meets
    # them all, and the search over 20,000 proposals would take seconds for nothing).
    if unmet and not any(
        _why_unmeetable(k, cands, cents, budget_cents) is not None
        or (k.attribute in limits and _cap_of(limits[k.attribute]) < k.count)
        for k in unmet
    ):
        nearest = _nearest_feasible(cands, cents, budget_cents, constraints)
        if nearest is not None:
            _, reasons, _ = _walk(cands, cents, budget_cents, nearest, limits)
            found, displaced = _report_nearest(constraints, cands, plain, nearest)
            reasons.update(displaced)
            notes = [
                N_(
                    "Swapping down the merit order could not meet every constraint together; "
                    "the line is the best-ranked selection within the budget that meets them all."
                )
            ]
            return _line(
                "merit order with constraints",
                cands,
                cents,
                budget_cents,
                nearest,
                reasons,
                reserve_size,
                found,
                tuple(notes),
            )
    reports = []
    for constraint in constraints:
        mine = [s for s in swaps if s[0] == constraint.attribute]
        kept = (
            [step for step in cap_steps if step[0] == constraint.attribute]
            if limits.get(constraint.attribute) is constraint
            else []
        )
        reports.append(_report_swaps(constraint, mine, kept, cands, cents, budget_cents, funded))
        for _, came, outs in mine:
            for out in outs:
                if not funded[out]:
                    reasons[out] = N_(
                        "displaced by %(proposal)s to meet: %(constraint)s",
                        proposal=cands[came].label,
                        constraint=constraint.describe(),
                    )
    return _line(
        "merit order with constraints",
        cands,
        cents,
        budget_cents,
        funded,
        reasons,
        reserve_size,
        tuple(reports),
        tuple(notes),
    )


def _nearest_feasible(
    cands: Sequence[Candidate],
    cents: Sequence[int],
    budget_cents: int,
    constraints: Sequence[MinimumCount],
) -> list[bool] | None:
    """The best-ranked selection within the budget that meets every constraint (the largest
    sum of rank weights, an integer program), or None if there is none."""
    chosen = _solve(cands, cents, budget_cents, constraints, "rank")
    funded = [False] * len(cands)
    for i in chosen:
        funded[i] = True
    need = _minimums(constraints)
    if any(_count_with(a, cands, funded) < n for a, n in need.items()):
        return None
    return funded


def _report_nearest(
    constraints: Sequence[MinimumCount],
    cands: Sequence[Candidate],
    plain: Sequence[bool],
    funded: Sequence[bool],
) -> tuple[tuple[ConstraintReport, ...], dict[int, Text]]:
    """Reports for a line the exact search drew: who came in instead of whom (worst-ranked
    displaced first), each swap put to the constraint it serves."""
    incoming = [i for i in range(len(cands)) if funded[i] and not plain[i]]
    displaced = [i for i in reversed(range(len(cands))) if plain[i] and not funded[i]]
    swaps: dict[int, list[Swap]] = defaultdict(list)
    reasons: dict[int, Text] = {}
    for came, out in zip(incoming, displaced, strict=False):
        owner = next(
            (
                n
                for n, k in enumerate(constraints)
                if k.count and k.attribute in cands[came].attributes
            ),
            next(
                (
                    n
                    for n, k in enumerate(constraints)
                    if k.maximum is not None and k.attribute in cands[out].attributes
                ),
                0,
            ),
        )
        places = cands[came].rank - cands[out].rank
        swaps[owner].append(
            Swap(
                attribute=constraints[owner].attribute,
                funded=cands[came].proposal_id,
                funded_rank=cands[came].rank,
                displaced=((cands[out].proposal_id, cands[out].rank),),
                places=places,
                message=_instead(cands[came].label, cands[out].label, places),
            )
        )
        reasons[out] = N_(
            "displaced by %(proposal)s to meet: %(constraint)s",
            proposal=cands[came].label,
            constraint=constraints[owner].describe(),
        )
    reports = []
    for n, constraint in enumerate(constraints):
        have = _count_with(constraint.attribute, cands, funded)
        mine = tuple(swaps.get(n, ()))
        total = sum(s.places for s in mine)
        head = constraint.heading()
        if mine:
            message = Nn_(
                "%(constraint)s: met, together with the other constraints, by %(num)s swap "
                "costing %(places)s in the ranking: %(swaps)s.",
                "%(constraint)s: met, together with the other constraints, by %(num)s swaps "
                "costing %(places)s in the ranking: %(swaps)s.",
                len(mine),
                constraint=head,
                places=_places(total),
                swaps=_listed(s.message for s in mine),
            )
        else:
            message = N_("%(constraint)s: met (%(have)s funded).", constraint=head, have=have)
        reports.append(ConstraintReport(constraint, True, have, mine, total, message))
    return tuple(reports), reasons


def _walk(
    cands: Sequence[Candidate],
    cents: Sequence[int],
    budget_cents: int,
    funded: list[bool],
    limits: Mapping[str, MinimumCount] | None = None,
    *,
    explain: bool = True,
) -> tuple[int, dict[int, Text], dict[int, str]]:
    """Fund, in rank order, every fundable candidate that fits; already funded ones stay.

    A candidate that fits the money but would take an attribute above the maximum of its
    constraint in ``limits`` (attribute: the constraint with the smallest maximum) is skipped.
    Changes ``funded`` in place; returns the money left, for each fundable candidate left out
    why (unless ``explain`` is false: a pass whose reasons are not shown), and for those skipped
    for a maximum the attribute.
    """
    limits = limits or {}
    remaining = budget_cents - sum(c for c, f in zip(cents, funded, strict=True) if f)
    caps = {a: _cap_of(k) for a, k in limits.items()}
    count = dict.fromkeys(caps, 0)
    for i, cand in enumerate(cands):
        if funded[i]:
            for a in cand.attributes:
                if a in count:
                    count[a] += 1
    reasons: dict[int, Text] = {}
    capped: dict[int, str] = {}
    for i, cand in enumerate(cands):
        if funded[i] or not cand.fundable:
            continue
        full = min((a for a in cand.attributes if a in caps and count[a] >= caps[a]), default=None)
        if full is not None:
            # The maximum is the reason, money or not; it cost a place only if the money fitted.
            if explain:
                reasons[i] = N_(
                    "skipped to keep: %(constraint)s", constraint=limits[full].describe()
                )
            if cents[i] <= remaining:
                capped[i] = full
            continue
        if cents[i] > remaining:
            if explain:
                reasons[i] = N_(
                    "requested %(requested)s, only %(left)s left",
                    requested=_money(cents[i]),
                    left=_money(remaining),
                )
            continue
        funded[i] = True
        remaining -= cents[i]
        for a in cand.attributes:
            if a in count:
                count[a] += 1
    return remaining, reasons, capped


def _cap_of(constraint: MinimumCount) -> int:
    assert constraint.maximum is not None
    return constraint.maximum


def _limits(constraints: Sequence[MinimumCount]) -> dict[str, MinimumCount]:
    """For each attribute with a maximum, the constraint with the smallest."""
    limits: dict[str, MinimumCount] = {}
    for constraint in constraints:
        if constraint.maximum is None:
            continue
        known = limits.get(constraint.attribute)
        if known is None or _cap_of(constraint) < _cap_of(known):
            limits[constraint.attribute] = constraint
    return limits


def _minimums(constraints: Sequence[MinimumCount]) -> dict[str, int]:
    """How many funded proposals each attribute needs: the strictest minimum on it."""
    need: dict[str, int] = {}
    for constraint in constraints:
        need[constraint.attribute] = max(need.get(constraint.attribute, 0), constraint.count)
    return need


_SwapStep: TypeAlias = tuple[str, int, tuple[int, ...]]


def _swap_for_constraints(
    cands: Sequence[Candidate],
    cents: Sequence[int],
    budget_cents: int,
    funded: list[bool],
    constraints: Sequence[MinimumCount],
) -> list[_SwapStep]:
    need = _minimums(constraints)
    caps = {a: _cap_of(k) for a, k in _limits(constraints).items()}
    count = {a: _count_with(a, cands, funded) for a in {*need, *caps}}
    remaining = budget_cents - sum(c for c, f in zip(cents, funded, strict=True) if f)
    brought_in: set[int] = set()
    steps: list[_SwapStep] = []
    # A met constraint stays met, so a pass that meets none ends the loop.
    progress = True
    while progress:
        progress = False
        for attribute in need:
            if count[attribute] >= need[attribute]:
                continue
            saved = (list(funded), remaining, dict(count), set(brought_in), len(steps))
            while count[attribute] < need[attribute]:
                found = _find_swap(
                    attribute, cands, cents, funded, remaining, need, caps, count, brought_in
                )
                if found is None:
                    break
                incoming, outs = found
                for i, delta in [(incoming, 1), *((o, -1) for o in outs)]:
                    funded[i] = delta > 0
                    remaining -= delta * cents[i]
                    for a in count:
                        if a in cands[i].attributes:
                            count[a] += delta
                brought_in.add(incoming)
                steps.append((attribute, incoming, outs))
            if count[attribute] >= need[attribute]:
                progress = True
            else:
                # Half a quota costs places and meets nothing: undo.
                funded[:], remaining, count, brought_in, kept = saved
                del steps[kept:]
    return steps


def _find_swap(
    attribute: str,
    cands: Sequence[Candidate],
    cents: Sequence[int],
    funded: Sequence[bool],
    remaining: int,
    need: Mapping[str, int],
    caps: Mapping[str, int],
    count: Mapping[str, int],
    brought_in: Collection[int],
) -> tuple[int, tuple[int, ...]] | None:
    """The best-ranked proposal with ``attribute`` that can come in, and whom it displaces.
    No maximum is exceeded once it is in."""
    pool = [
        i
        for i in reversed(range(len(cands)))
        if funded[i] and attribute not in cands[i].attributes and i not in brought_in
    ]
    freeable = remaining + sum(cents[i] for i in pool)
    for incoming, cand in enumerate(cands):
        if funded[incoming] or not cand.fundable or attribute not in cand.attributes:
            continue
        if cents[incoming] > freeable:
            continue
        gain = {a: int(a in cand.attributes) for a in count}
        if cents[incoming] <= remaining:
            if all(count[a] + gain[a] <= caps[a] for a in caps):
                return incoming, ()
            continue
        lost = dict.fromkeys(count, 0)
        removed: list[int] = []
        room = remaining
        for out in pool:
            held = [a for a in count if a in cands[out].attributes]
            if any(count[a] - lost[a] - 1 + gain[a] < min(count[a], need.get(a, 0)) for a in held):
                continue
            removed.append(out)
            room += cents[out]
            for a in held:
                lost[a] += 1
            if room >= cents[incoming]:
                break
        if room < cents[incoming]:
            continue
        # Keep the better-ranked of those removed if the newcomer fits without them.
        for out in sorted(removed):
            if room - cents[out] >= cents[incoming]:
                removed.remove(out)
                room -= cents[out]
                for a in count:
                    if a in cands[out].attributes:
                        lost[a] -= 1
        if any(count[a] - lost[a] + gain[a] > caps[a] for a in caps):
            continue
        return incoming, tuple(sorted(removed))
    return None


def _report_swaps(
    constraint: MinimumCount,
    steps: Sequence[_SwapStep],
    cap_steps: Sequence[tuple[str, int | None, int]],
    cands: Sequence[Candidate],
    cents: Sequence[int],
    budget_cents: int,
    funded: Sequence[bool],
) -> ConstraintReport:
    swaps = []
    unpaired: list[Text] = []
    # What a maximum cost is measured on the merit order's first pass: who was funded with the
    # money it kept from whom (a later swap for a minimum may displace that one in turn).
    for attribute, came, out in cap_steps:
        if funded[out]:
            continue  # back in after all: the maximum cost nothing here
        if came is None:
            unpaired.append(
                N_(
                    "%(proposal)s skipped; nobody was funded in its place",
                    proposal=cands[out].label,
                )
            )
            continue
        places = cands[came].rank - cands[out].rank
        swaps.append(
            Swap(
                attribute=attribute,
                funded=cands[came].proposal_id,
                funded_rank=cands[came].rank,
                displaced=((cands[out].proposal_id, cands[out].rank),),
                places=places,
                message=_instead(cands[came].label, cands[out].label, places),
            )
        )
    for attribute, incoming, outs in steps:
        gone = [o for o in outs if not funded[o]]
        cand = cands[incoming]
        places = sum(cand.rank - cands[o].rank for o in gone)
        if not gone:
            message = N_(
                "%(proposal)s funded from the money left; nobody displaced", proposal=cand.label
            )
        elif len(gone) == 1:
            message = _instead(cand.label, cands[gone[0]].label, places)
        else:
            instead: Text | None = None
            for o in gone:
                one = N_(
                    "%(proposal)s (rank %(rank)s, %(places)s)",
                    proposal=_named(cands[o].proposal_id),
                    rank=cands[o].rank,
                    places=_places(cand.rank - cands[o].rank),
                )
                instead = one if instead is None else N_("%(a)s and %(b)s", a=instead, b=one)
            message = N_(
                "%(proposal)s funded instead of %(displaced)s",
                proposal=cand.label,
                displaced=instead,
            )
        swaps.append(
            Swap(
                attribute=attribute,
                funded=cand.proposal_id,
                funded_rank=cand.rank,
                displaced=tuple((cands[o].proposal_id, cands[o].rank) for o in gone),
                places=places,
                message=message,
            )
        )
    have = _count_with(constraint.attribute, cands, funded)
    met = have >= constraint.count
    total = sum(s.places for s in swaps)
    head = constraint.heading()
    if met and not swaps and not unpaired:
        message = N_(
            "%(constraint)s: met by the merit order (%(have)s funded).", constraint=head, have=have
        )
    elif met and not swaps:
        message = N_(
            "%(constraint)s: met (%(have)s funded): %(skipped)s.",
            constraint=head,
            have=have,
            skipped=_listed(unpaired),
        )
    elif met:
        message = Nn_(
            "%(constraint)s: met by %(num)s swap, costing %(places)s in the ranking: %(swaps)s.",
            "%(constraint)s: met by %(num)s swaps, costing %(places)s in the ranking: %(swaps)s.",
            len(swaps),
            constraint=head,
            places=_places(total),
            swaps=_listed([*(s.message for s in swaps), *unpaired]),
        )
    else:
        why = _why_unmeetable(constraint, cands, cents, budget_cents)
        if why is None:
            why = N_(
                "swapping down the merit order funds only %(have)s; the exact option "
                "(optimal_line) can tell whether any selection within the budget meets it",
                have=have,
            )
        if swaps:
            message = N_(
                "%(constraint)s: cannot be met: %(why)s. Swaps made: %(swaps)s.",
                constraint=head,
                why=why,
                swaps=_listed(s.message for s in swaps),
            )
        else:
            message = N_("%(constraint)s: cannot be met: %(why)s.", constraint=head, why=why)
    return ConstraintReport(constraint, met, have, tuple(swaps), total, message)


def _why_unmeetable(
    constraint: MinimumCount, cands: Sequence[Candidate], cents: Sequence[int], budget_cents: int
) -> Text | None:
    """Why no selection at all meets the constraint on its own, if that is plain to see."""
    if constraint.maximum is not None and constraint.count > constraint.maximum:
        return N_(
            "its minimum of %(minimum)s is above its maximum of %(maximum)s",
            minimum=constraint.count,
            maximum=constraint.maximum,
        )
    prices = sorted(
        cents[i] for i, c in enumerate(cands) if c.fundable and constraint.attribute in c.attributes
    )
    named = constraint.name is not None
    if not prices:
        if named:
            return N_("no fundable proposal %(what)s", what=constraint.what)
        return N_("no fundable proposal has '%(attribute)s'", attribute=constraint.attribute)
    if len(prices) < constraint.count:
        if named:
            return Nn_(
                "only %(num)s fundable proposal %(what)s",
                "only %(num)s fundable proposals %(what)s",
                len(prices),
                what=constraint.what,
            )
        return Nn_(
            "only %(num)s fundable proposal has '%(attribute)s'",
            "only %(num)s fundable proposals have '%(attribute)s'",
            len(prices),
            attribute=constraint.attribute,
        )
    cheapest = sum(prices[: constraint.count])
    if cheapest > budget_cents:
        if named:
            return N_(
                "the %(count)s cheapest fundable proposals %(what)s request %(amount)s "
                "together, more than the budget of %(budget)s",
                count=constraint.count,
                what=constraint.what,
                amount=_money(cheapest),
                budget=_money(budget_cents),
            )
        return N_(
            "the %(count)s cheapest fundable proposals with '%(attribute)s' request %(amount)s "
            "together, more than the budget of %(budget)s",
            count=constraint.count,
            attribute=constraint.attribute,
            amount=_money(cheapest),
            budget=_money(budget_cents),
        )
    return None


def infeasibility(
    candidates: Iterable[Candidate],
    budget: Decimal,
    constraints: Sequence[MinimumCount],
    target: int | None = None,
) -> tuple[Text, ...]:
    """Why the constraints can never all be met, each reason naming the constraints and the
    numbers; empty when nothing is plain to see (a line may still miss one: its report says).

    * a minimum above a maximum on the same attribute (in one constraint or two);
    * a minimum larger than the fundable proposals with the attribute;
    * a minimum whose cheapest proposals request more than the budget;
    * minimums on attributes no proposal carries two of (a federal state, a region: one per
      proposal) that together need more places than the target, or more money than the budget
      even with the cheapest proposals.
    """
    cands, cents = _in_rank_order(candidates)
    budget_cents = _to_cents(budget, "the budget")
    reasons: list[Text] = []
    limits = _limits(constraints)
    for constraint in constraints:
        if constraint.count == 0:
            continue
        cap = limits.get(constraint.attribute)
        if cap is not None and _cap_of(cap) < constraint.count:
            if cap is constraint:
                reasons.append(
                    N_(
                        "%(constraint)s: the minimum of %(minimum)s is above the maximum of "
                        "%(maximum)s.",
                        constraint=constraint.heading(),
                        minimum=constraint.count,
                        maximum=_cap_of(cap),
                    )
                )
            else:
                reasons.append(
                    N_(
                        "%(constraint)s: the minimum of %(minimum)s is above the maximum of "
                        "another constraint: %(other)s.",
                        constraint=constraint.heading(),
                        minimum=constraint.count,
                        other=cap.describe(),
                    )
                )
            continue
        why = _why_unmeetable(constraint, cands, cents, budget_cents)
        if why is not None:
            reasons.append(
                N_(
                    "%(constraint)s: cannot be met: %(why)s.",
                    constraint=constraint.heading(),
                    why=why,
                )
            )
    # Minimums that never share a proposal add up.
    need = _minimums(constraints)
    carriers = {
        a: [i for i, c in enumerate(cands) if c.fundable and a in c.attributes] for a in need
    }
    for group in _disjoint_groups([a for a, n in need.items() if n], carriers):
        if len(group) < 2:
            continue
        places = sum(need[a] for a in group)
        listed = _listed(
            next(k for k in constraints if k.attribute == a and k.count == need[a]).describe()
            for a in group
        )
        if target is not None and places > target:
            reasons.append(
                N_(
                    "Together these constraints need %(places)s places, more than the target of "
                    "%(target)s: %(constraints)s.",
                    places=places,
                    target=target,
                    constraints=listed,
                )
            )
        prices = [sorted(cents[i] for i in carriers[a])[: need[a]] for a in group]
        if all(len(p) == need[a] for p, a in zip(prices, group, strict=True)):
            cheapest = sum(sum(p) for p in prices)
            if cheapest > budget_cents:
                reasons.append(
                    N_(
                        "Together these constraints need at least %(amount)s, more than the "
                        "budget of %(budget)s: %(constraints)s.",
                        amount=_money(cheapest),
                        budget=_money(budget_cents),
                        constraints=listed,
                    )
                )
    return tuple(reasons)


def _disjoint_groups(
    attributes: Sequence[str], carriers: Mapping[str, Sequence[int]]
) -> list[list[str]]:
    """The attributes grouped by kind (the part before ':'), keeping only kinds no candidate
    carries two values of, so their minimums add up."""
    kinds: dict[str, list[str]] = defaultdict(list)
    for attribute in attributes:
        kinds[attribute.split(":", 1)[0]].append(attribute)
    groups = []
    for members in kinds.values():
        seen: set[int] = set()
        disjoint = True
        for attribute in members:
            if seen & set(carriers[attribute]):
                disjoint = False
                break
            seen |= set(carriers[attribute])
        if disjoint:
            groups.append(sorted(members))
    return groups


def values_of(kind: str, candidates: Iterable[Candidate]) -> list[str]:
    """The values of ``kind`` the candidates carry ("kind:value" attributes), sorted: what a
    constraint on each value of the kind becomes one constraint per."""
    prefix = kind + ":"
    return sorted(
        {a[len(prefix) :] for c in candidates for a in c.attributes if a.startswith(prefix)}
    )


# --- the exact option ----------------------------------------------------------------------


def optimal_line(
    candidates: Iterable[Candidate],
    budget: Decimal,
    constraints: Sequence[MinimumCount] = (),
    *,
    objective: Objective = "score",
    reserve_size: int = 5,
) -> FundingLine:
    """The explicit exact option: the selection with the highest total score within the budget
    that meets the constraints. Off by default; the merit order is the rule.

    Be warned: maximising a sum of scores under a budget is a knapsack, and it favours many
    cheap proposals over fewer expensive, better-ranked ones (measured on real-sized data: 69
    funded instead of 29 at the same budget, REFERENCES.md "Selection under a budget"). A
    proposal ranked 2nd can lose its funding to three ranked 20th to 22nd. ``objective="count"``
    maximises the number of funded proposals instead.

    Exact and deterministic: a 0-1 integer program over integer cents, solved by HiGHS
    (``scipy.optimize.milp``) with no optimality gap. Scores are rounded to multiples of 1e-6
    (``SCORE_SCALE``), so "highest" means highest for the rounded scores, and they must not be
    negative (a negative score would leave money unspent on purpose). In order:

    1. If no selection within the budget meets every constraint, the smallest total shortfall
       is found first, and each unmet constraint is reported in plain words.
    2. The highest total score (or count).
    3. Ties go to better-ranked proposals: among equally good selections, the one with the
       largest sum of rank weights, where the best-ranked fundable proposal weighs m (the
       number of fundable proposals), the next m - 1, and so on down to 1.

    Solving (up to four integer programs) took about 0.4 s for 254 proposals and 4 s for 2,000
    on a small machine; expect tens of seconds for 20,000.
    """
    if objective not in ("score", "count"):
        raise ValueError(f"unknown objective {objective!r}: use 'score' or 'count'")
    if not _is_int(reserve_size) or reserve_size < 0:
        raise ValueError("the reserve size must be a whole number of at least 0")
    cands, cents = _in_rank_order(candidates)
    budget_cents = _to_cents(budget, "the budget")
    constraints = tuple(constraints)
    if objective == "score":
        negative = [str(c.label) for c in cands if c.fundable and c.score < 0]
        if negative:
            raise ValueError(
                "the exact option needs scores of at least 0; shift the scale first: "
                + ", ".join(negative[:5])
            )
    started = time.perf_counter()
    chosen = _solve(cands, cents, budget_cents, constraints, objective)
    logger.debug(
        "optimal line: %d candidates solved in %.3f s", len(cands), time.perf_counter() - started
    )
    funded = [False] * len(cands)
    for i in chosen:
        funded[i] = True
    best = N_("highest total score") if objective == "score" else N_("most proposals")
    reasons: dict[int, Text] = {}
    for i, cand in enumerate(cands):
        if cand.fundable and not funded[i]:
            if cents[i] > budget_cents:
                reasons[i] = N_(
                    "requested %(requested)s, more than the whole budget of %(budget)s",
                    requested=_money(cents[i]),
                    budget=_money(budget_cents),
                )
            else:
                reasons[i] = N_(
                    "requested %(requested)s; not in the selection with the %(best)s",
                    requested=_money(cents[i]),
                    best=best,
                )
    reports = []
    for constraint in constraints:
        have = _count_with(constraint.attribute, cands, funded)
        head = constraint.heading()
        if constraint.maximum is not None and constraint.count > constraint.maximum:
            why = _why_unmeetable(constraint, cands, cents, budget_cents)
            unmet = N_("%(constraint)s: cannot be met: %(why)s.", constraint=head, why=why)
            reports.append(ConstraintReport(constraint, False, have, (), 0, unmet))
            continue
        if have >= constraint.count:
            met = N_("%(constraint)s: met (%(have)s funded).", constraint=head, have=have)
            reports.append(ConstraintReport(constraint, True, have, (), 0, met))
            continue
        why = _why_unmeetable(constraint, cands, cents, budget_cents) or N_(
            "no selection within the budget meets it together with the other constraints; "
            "this one funds %(have)s",
            have=have,
        )
        unmet = N_("%(constraint)s: cannot be met: %(why)s.", constraint=head, why=why)
        reports.append(ConstraintReport(constraint, False, have, (), 0, unmet))
    merit = merit_order_line(cands, budget, reserve_size=0, constraints=constraints)
    notes = (
        N_(
            "Exact option (%(best)s): it favours many cheap proposals; the merit order is the "
            "rule.",
            best=best,
        ),
        Nn_(
            "This selection funds %(num)s proposal; the merit order would fund %(merit)s.",
            "This selection funds %(num)s proposals; the merit order would fund %(merit)s.",
            len(chosen),
            merit=len(merit.funded),
        ),
    )
    return _line(
        f"optimal ({objective})",
        cands,
        cents,
        budget_cents,
        funded,
        reasons,
        reserve_size,
        tuple(reports),
        notes,
    )


def _solve(
    cands: Sequence[Candidate],
    cents: Sequence[int],
    budget_cents: int,
    constraints: Sequence[MinimumCount],
    objective: Objective | Literal["rank"],
) -> list[int]:
    """Positions of the chosen candidates. Objective "rank": the largest sum of rank weights
    (the best-ranked selection), for the merit order's search."""
    pos = [i for i, c in enumerate(cands) if c.fundable]
    m = len(pos)
    if objective == "score":
        values = [round(cands[i].score * SCORE_SCALE) for i in pos]
    elif objective == "count":
        values = [1] * m
    else:
        values = list(range(m, 0, -1))
    need = _minimums(constraints)
    caps = {a: _cap_of(k) for a, k in _limits(constraints).items()}
    attributes = list(need)
    k = len(attributes)
    if m == 0:
        return []

    # Columns: x (one per fundable candidate, 1 = funded), then y (shortfall per attribute).
    n = m + k
    rows: list[NDArray[np.float64]] = []
    lows: list[float] = []
    highs: list[float] = []

    def add_row(coefficients: NDArray[np.float64], low: float, high: float) -> None:
        rows.append(coefficients)
        lows.append(low)
        highs.append(high)

    row = np.zeros(n)
    row[:m] = [cents[i] for i in pos]
    add_row(row, -np.inf, float(budget_cents))
    for a_index, attribute in enumerate(attributes):
        row = np.zeros(n)
        row[:m] = [attribute in cands[i].attributes for i in pos]
        row[m + a_index] = 1.0
        add_row(row, float(need[attribute]), np.inf)
    for attribute, cap in caps.items():
        row = np.zeros(n)
        row[:m] = [attribute in cands[i].attributes for i in pos]
        add_row(row, -np.inf, float(cap))
    shortfall = np.zeros(n)
    shortfall[m:] = 1.0
    score_row = np.zeros(n)
    score_row[:m] = values

    upper = np.concatenate([np.ones(m), np.zeros(k)])
    res = _milp(-score_row, rows, lows, highs, upper)
    if res is None:
        # Some constraint cannot be met: allow the smallest total shortfall and go on.
        upper = np.concatenate([np.ones(m), [float(need[a]) for a in attributes]])
        res = _milp(shortfall, rows, lows, highs, upper)
        if res is None:
            raise RuntimeError("the selection problem has no solution even with shortfalls")
        add_row(shortfall, -np.inf, float(round(res.fun)))
        res = _milp(-score_row, rows, lows, highs, upper)
        if res is None:
            raise RuntimeError("the selection problem became infeasible")
    best = sum(v for v, x in zip(values, res.x[:m], strict=True) if x > 0.5)
    if objective == "rank":
        # The rank weights are the tie-break already.
        return [pos[j] for j in range(m) if res.x[j] > 0.5]
    add_row(score_row, float(best), np.inf)
    weights = np.zeros(n)
    weights[:m] = np.arange(m, 0, -1, dtype=np.float64)
    res = _milp(-weights, rows, lows, highs, upper)
    if res is None:
        raise RuntimeError("the tie-break found no selection as good as the best")
    chosen = [j for j in range(m) if res.x[j] > 0.5]
    # HiGHS works in floating point: check the answer in exact integers.
    if sum(cents[pos[j]] for j in chosen) > budget_cents or sum(values[j] for j in chosen) < best:
        raise RuntimeError("the solver's answer does not hold in exact arithmetic")
    return [pos[j] for j in chosen]


def _milp(
    cost: NDArray[np.float64],
    rows: Sequence[NDArray[np.float64]],
    lows: Sequence[float],
    highs: Sequence[float],
    upper: NDArray[np.float64],
) -> Any:
    """Minimise ``cost @ x`` over integer ``x``; None if infeasible. No gap: exact optimum."""
    # Imported here: only the draw and the funding line solve one; web processes skip ~65 MB.
    from scipy.optimize import Bounds, LinearConstraint, milp  # type: ignore[import-untyped]

    result = milp(
        cost,
        integrality=np.ones(len(cost)),
        bounds=Bounds(np.zeros(len(cost)), upper),
        constraints=LinearConstraint(np.vstack(rows), np.asarray(lows), np.asarray(highs)),
        options={"mip_rel_gap": 0.0, "disp": False, "presolve": True},
    )
    if result.status == 2:
        return None
    if result.status != 0 or result.x is None:
        raise RuntimeError(f"the optimiser did not finish: {result.message}")
    return result


# --- grey zone and lottery -----------------------------------------------------------------


def grey_zone(
    candidates: Iterable[Candidate],
    funded_ids: Collection[ProposalId],
    line_rank: int | None = None,
) -> GreyZone:
    """The fundable proposals whose rank interval straddles the provisional funding line.

    The line lies just below ``line_rank``: ranks 1 to ``line_rank`` are above it. By default
    ``line_rank`` is the rank of the worst-ranked funded proposal. A fundable proposal is in the
    grey zone when its best plausible rank is on or above the line and its worst plausible rank
    is below it::

        rank_low <= line_rank < rank_high

    A proposal without an interval counts as ``(rank, rank)`` and is never in the grey zone.
    The zone's funded members hold ``places`` places and ``funded_amount`` euros: what a lottery
    among the members hands out (add the line's remaining budget if that is to be drawn too).
    """
    cands, cents = _in_rank_order(candidates)
    known = {c.proposal_id for c in cands}
    funded_set = set(funded_ids)
    unknown = funded_set - known
    if unknown:
        raise ValueError(f"funded ids that are not candidates: {sorted(map(str, unknown))}")
    if line_rank is None:
        line_rank = max((c.rank for c in cands if c.proposal_id in funded_set), default=0)
    if not _is_int(line_rank) or line_rank < 0:
        raise ValueError("the line rank must be a whole number of at least 0")
    members: list[ProposalId] = []
    funded: list[ProposalId] = []
    secure: list[ProposalId] = []
    amount = 0
    for cand, cent in zip(cands, cents, strict=True):
        low = cand.rank if cand.rank_low is None else cand.rank_low
        high = cand.rank if cand.rank_high is None else cand.rank_high
        inside = cand.fundable and low <= line_rank < high
        if inside:
            members.append(cand.proposal_id)
        if cand.proposal_id in funded_set:
            if inside:
                funded.append(cand.proposal_id)
                amount += cent
            else:
                secure.append(cand.proposal_id)
    return GreyZone(
        line_rank=line_rank,
        members=tuple(members),
        funded=tuple(funded),
        secure=tuple(secure),
        places=len(funded),
        funded_amount=_decimal(amount),
    )


def draw_lottery(
    grey_zone_ids: Collection[ProposalId],
    places: int,
    seed: str,
    *,
    budget: Decimal | None = None,
    requested: Mapping[ProposalId, Decimal] | None = None,
) -> LotteryDraw:
    """Draw ``places`` proposals by lot from the grey zone, so that anyone can repeat the draw.

    As in RFC 3797 (the IETF's verifiable selection), the seed is fixed and published before
    the draw, together with the candidate list; the draw itself is then pure arithmetic:

    1. Sort the candidate ids (integers by value, before text ids in code-point order).
    2. ``key`` = the UTF-8 bytes of the JSON text ``{"candidates":[...],"seed":"..."}``
       (keys sorted, no spaces, non-ASCII kept as is).
    3. For draw j = 1, 2, ...: ``h = SHA-256(j as 4 bytes big-endian + key + j as 4 bytes)``,
       read as a big-endian integer; take the candidate at index ``h mod (number left)`` from
       the candidates not yet drawn (kept in sorted order) and remove it.

    This gives the full draw ``order``. The winners are taken from its start. With a
    ``budget`` (and each candidate's ``requested`` amount), a candidate drawn while places are
    left that does not fit the money still unspent is skipped, and the draw goes on. More
    places than candidates take everyone (who fits). Only grey-zone candidates are ever drawn.
    """
    ids = list(grey_zone_ids)
    for pid in ids:
        if isinstance(pid, bool) or not isinstance(pid, int | str):
            raise TypeError(f"a proposal id is an int or a str, not {pid!r}")
    candidates = sorted(ids, key=_id_key)
    if len(set(candidates)) != len(candidates):
        raise ValueError("the grey zone lists a proposal twice")
    if not _is_int(places) or places < 0:
        raise ValueError("the number of places must be a whole number of at least 0")
    if not isinstance(seed, str) or not seed.strip():
        raise ValueError("the seed must be a published, non-empty text")
    amounts: tuple[Decimal, ...] = ()
    left: int | None = None
    if budget is not None:
        if requested is None:
            raise ValueError("a budget needs each candidate's requested amount")
        missing = [pid for pid in candidates if pid not in requested]
        if missing:
            raise ValueError(f"no requested amount for {', '.join(map(str, missing))}")
        left = _to_cents(budget, "the budget")
        amounts = tuple(requested[pid] for pid in candidates)
        price = {
            pid: _to_cents(amount, f"{_who(pid)}: the requested amount")
            for pid, amount in zip(candidates, amounts, strict=True)
        }
    elif requested is not None:
        raise ValueError("requested amounts only count with a budget")

    order = _draw_order(seed, candidates)
    drawn: list[ProposalId] = []
    skipped: list[ProposalId] = []
    for pid in order:
        if len(drawn) >= places:
            break
        if left is None:
            drawn.append(pid)
        elif price[pid] <= left:
            drawn.append(pid)
            left -= price[pid]
        else:
            skipped.append(pid)
    return LotteryDraw(
        method=DRAW_METHOD,
        seed=seed,
        candidates=tuple(candidates),
        places=places,
        budget=budget,
        requested=amounts,
        order=tuple(order),
        drawn=tuple(drawn),
        skipped=tuple(skipped),
    )


def verify_draw(
    record: LotteryDraw | Mapping[str, Any],
    *,
    published_seed: str | None = None,
    published_candidates: Collection[ProposalId] | None = None,
) -> bool:
    """Whether a recorded draw is exactly what :func:`draw_lottery` gives for the record's own
    seed, candidates, places and money; a malformed record gives False.

    This proves the outcome follows from the inputs. That the inputs are the right ones is
    what publishing them before the draw is for: pass the published seed and candidate list
    to check them too (a record redrawn from another seed is otherwise self-consistent).
    """
    try:
        draw = record if isinstance(record, LotteryDraw) else LotteryDraw.from_record(record)
        if draw.method != DRAW_METHOD:
            return False
        if published_seed is not None and draw.seed != published_seed:
            return False
        if published_candidates is not None and sorted(published_candidates, key=_id_key) != list(
            draw.candidates
        ):
            return False
        requested = None
        if draw.budget is not None:
            requested = dict(zip(draw.candidates, draw.requested, strict=True))
        again = draw_lottery(
            draw.candidates, draw.places, draw.seed, budget=draw.budget, requested=requested
        )
    except (ValueError, TypeError):
        return False
    return again == draw


def _draw_order(seed: str, candidates: Sequence[ProposalId]) -> list[ProposalId]:
    key = json.dumps(
        {"candidates": list(candidates), "seed": seed},
        ensure_ascii=False,
        separators=(",", ":"),
        sort_keys=True,
    ).encode("utf-8")
    pool = list(candidates)
    order = []
    for j in range(1, len(pool) + 1):
        counter = j.to_bytes(4, "big")
        digest = hashlib.sha256(counter + key + counter).digest()
        order.append(pool.pop(int.from_bytes(digest, "big") % len(pool)))
    return order


# --- helpers -------------------------------------------------------------------------------


def _line(
    method: str,
    cands: Sequence[Candidate],
    cents: Sequence[int],
    budget_cents: int,
    funded: Sequence[bool],
    reasons: Mapping[int, Text],
    reserve_size: int,
    reports: tuple[ConstraintReport, ...] = (),
    notes: tuple[Text, ...] = (),
) -> FundingLine:
    last = max((i for i, f in enumerate(funded) if f), default=-1)
    chosen: list[ProposalId] = []
    skipped: list[NotSelected] = []
    reserve: list[NotSelected] = []
    rest: list[NotSelected] = []
    total = 0
    for i, cand in enumerate(cands):
        if funded[i]:
            chosen.append(cand.proposal_id)
            total += cents[i]
        elif not cand.fundable:
            rest.append(_not_selected(cand, NOT_FUNDABLE))
        elif i < last:
            skipped.append(_not_selected(cand, reasons[i]))
        elif len(reserve) < reserve_size:
            reserve.append(_not_selected(cand, reasons[i]))
        else:
            rest.append(_not_selected(cand, reasons[i]))
    return FundingLine(
        method=method,
        budget=_decimal(budget_cents),
        funded=tuple(chosen),
        skipped=tuple(skipped),
        reserve=tuple(reserve),
        not_funded=tuple(rest),
        total_committed=_decimal(total),
        remaining=_decimal(budget_cents - total),
        line_rank=cands[last].rank if last >= 0 else None,
        constraints=reports,
        notes=notes,
    )


def _in_rank_order(candidates: Iterable[Candidate]) -> tuple[list[Candidate], list[int]]:
    cands = list(candidates)
    for cand in cands:
        if not isinstance(cand, Candidate):
            raise TypeError(f"expected a Candidate, not {type(cand).__name__}")
    cands.sort(key=lambda c: (c.rank, _id_key(c.proposal_id)))
    seen: set[ProposalId] = set()
    twice = []
    for cand in cands:
        if cand.proposal_id in seen:
            twice.append(str(cand.proposal_id))
        seen.add(cand.proposal_id)
    if twice:
        raise ValueError(f"proposals listed twice: {', '.join(twice)}")
    return cands, [c._cents for c in cands]


def _to_cents(amount: Decimal, what: str) -> int:
    if not isinstance(amount, Decimal):
        raise TypeError(f"{what} must be a Decimal (euros with cents), not {type(amount).__name__}")
    if not amount.is_finite() or amount < 0:
        raise ValueError(f"{what} must be a finite amount of at least 0, not {amount}")
    cents = amount.scaleb(2, _EXACT)
    if cents != cents.to_integral_value(context=_EXACT):
        raise ValueError(f"{what} must be in whole cents, not {amount}")
    return int(cents)


def _decimal(cents: int) -> Decimal:
    return Decimal(cents).scaleb(-2, _EXACT)


def _money(cents: int) -> Text:
    """'45.0 M€', '12.3456789 M€', '800,000 €': exact, never rounded."""
    if cents >= 100_000_000:
        text = f"{Decimal(cents).scaleb(-8, _EXACT).normalize(_EXACT):f}"
        return N_("%(millions)s M€", millions=Decimal(text if "." in text else text + ".0"))
    euros, rest = divmod(cents, 100)
    amount = Decimal(euros) if rest == 0 else Decimal(f"{euros}.{rest:02d}")
    return N_("%(amount)s €", amount=amount)


def _places(places: int) -> Text:
    if places == 0:
        return N_("no places")
    if places < 0:
        return Nn_("%(num)s place better", "%(num)s places better", -places)
    return Nn_("%(num)s place", "%(num)s places", places)


def _instead(came: Text, went: Text, places: int) -> Text:
    return N_(
        "%(proposal)s funded instead of %(displaced)s: %(places)s",
        proposal=came,
        displaced=went,
        places=_places(places),
    )


def _listed(messages: Iterable[Text]) -> Text | str:
    """Messages one after another, parted by semicolons."""
    result: Text | str = ""
    for message in messages:
        result = message if result == "" else N_("%(a)s; %(b)s", a=result, b=message)
    return result


def _who(pid: ProposalId) -> str:
    """How an input error names a proposal (for the developer calling the core)."""
    return pid if isinstance(pid, str) else f"proposal {pid}"


def _named(pid: ProposalId) -> Text | str:
    return pid if isinstance(pid, str) else N_("proposal %(id)s", id=pid)


def _id_key(pid: ProposalId) -> tuple[int, int, str]:
    return (0, pid, "") if isinstance(pid, int) else (1, 0, pid)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _not_selected(cand: Candidate, reason: Text) -> NotSelected:
    return NotSelected(cand.proposal_id, cand.rank, cand.requested, reason)


def _count_with(attribute: str, cands: Sequence[Candidate], funded: Sequence[bool]) -> int:
    return sum(1 for i, c in enumerate(cands) if funded[i] and attribute in c.attributes)


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected text, not {type(value).__name__}")
    return value


def _whole(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"expected a whole number, not {value!r}")
    return value


def _ids(values: object) -> tuple[ProposalId, ...]:
    if not isinstance(values, list | tuple):
        raise TypeError("expected a list of proposal ids")
    out: list[ProposalId] = []
    for value in values:
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise TypeError(f"not a proposal id: {value!r}")
        out.append(value)
    return tuple(out)
