"""Reviewer assignment: which jurors review which proposals.

The rules. Each proposal needs ``seats`` jurors. A juror reviews between ``min_load`` and
``max_load`` proposals, never one they have a conflict of interest with, and never the same
proposal twice. Optionally a proposal gets at most one juror per organisation, and at least
``min_non_academic_seats`` of its seats go to jurors from outside academia (industry, other).
Among all assignments that obey the rules, :func:`solve` returns one with the largest total
affinity; with ``fairness`` it first makes the weakest assigned pair as strong as possible.

The method (see REFERENCES.md, "Reviewer assignment") is an integer min-cost flow, solved
exactly by OR-Tools' ``SimpleMinCostFlow``::

    S --(max - min load)--> juror --(1, cost -affinity)--> [org node] --> [non-academic node] --> P

* Seats: a proposal node has demand ``seats``; all supplies must be routed, so every proposal
  gets exactly its seats.
* Loads: the arc from the source to a juror carries ``max_load - min_load``; the minimum is a
  lower bound, moved into the juror's own supply (the standard lower-bound transformation), so
  it is exact and needs no "big M" cost.
* Conflicts: the pair arc is simply absent. A pair arc has capacity 1: a juror never takes two
  seats of one proposal.
* One juror per organisation: a node per (proposal, organisation) with an out-arc of capacity 1
  between that organisation's jurors and the proposal.
* Non-academic seats: non-academic jurors reach a proposal through a (proposal, non-academic)
  node whose arc to the proposal has the lower bound ``k`` (again moved into supplies).

Each of these nests inside the others (the sets of arcs form a laminar family), so the result is
still a network and its optimum is integral. The one combination that is not a network is both
rules together with an organisation that has jurors inside *and* outside academia: the two
per-proposal sets then cross. That case is solved with OR-Tools CP-SAT (an exact integer
program); ``Assignment.method`` says which solver ran.

Affinities are rounded to multiples of 1e-6 (``SCALE``) to become integer costs; "optimal" means
optimal for the rounded affinities, so the true total is within ``seats × 1e-6`` of the best.

Candidates. With ``candidates_per_proposal = k`` the flow runs on a sparse candidate set: each
proposal's ``k`` best conflict-free jurors (ties: lower juror id first) and each juror's
``2 × max_load`` best proposals (ties: lower proposal id first). Optimality for *all* pairs is
then proven, not assumed: node potentials of the optimal flow (shortest paths in its residual
graph) are the dual solution, and every pair outside the candidate set is checked to have a
non-negative reduced cost. Pairs that fail are added and the flow is solved again (column
generation) until none fails. Likewise, when the sparse set admits no assignment, the minimum cut
of a max-flow either proves that no assignment exists at all (no excluded pair crosses it) or
names the pairs to add. ``Assignment.optimal`` is True only with such a proof.

Fairness. ``fairness=True`` first maximises the *weakest assigned pair*: the largest threshold
τ such that an assignment exists using only pairs with affinity ≥ τ (binary search over τ; each
test is a max-flow feasibility check, exact for flows). Then, among the assignments whose every
pair has affinity ≥ τ*, it maximises the total. "Worst-served proposal" therefore means the
proposal holding the lowest single assigned affinity. The per-proposal *sum* version (PR4A) is
NP-hard in general and is not what this mode computes.

Determinism. Proposals, jurors, affinities and conflicts are put in id order before anything is
built, arcs are added in that order, and the solvers run single-threaded, so the same input
(in any order) gives the same output. Ties in the candidate choice and in the greedy baseline
go to the lower id. The passes over all pairs run block by block on two threads; their
results are combined in block order.

Input affinities come in three forms: a mapping ``(proposal_id, juror_id) -> score``, the same as
parallel numpy arrays (:class:`PairArrays`), or a function that scores a block of proposals
against all jurors (:class:`ScoreRows`). Scores are in [0, 1]. In the first two forms an absent
pair scores 0 and is still allowed unless it is a conflict. The third form lets large instances
(20,000 × 8,000) be scored block by block without holding every pair in memory.
"""

from __future__ import annotations

import logging
import math
import os
from collections import deque
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Literal, Protocol, TypeVar

import numpy as np
from numpy.typing import NDArray

from competition.core.texts import N_, Nn_, Text

log = logging.getLogger(__name__)

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

Sector = Literal["academia", "industry", "other"]
SECTORS: tuple[str, ...] = ("academia", "industry", "other")

# Affinity unit of the integer costs: scores are rounded to multiples of 1 / SCALE.
SCALE = 1_000_000
# Scores of a block of proposals are computed as one (rows × jurors) matrix of about this size.
_BLOCK_CELLS = 2_000_000
# Threads for the passes over all pairs (numpy releases the GIL); results are combined in block
# order, so the outcome does not depend on them.
_WORKERS = min(2, os.cpu_count() or 1)
# Pairs added per proposal and round when the optimality or feasibility proof names more.
_ADD_PER_ROW = 16
_MAX_ROUNDS = 50
# CP-SAT is only used for the non-network case; a deterministic time limit keeps it reproducible.
_CP_SAT_DETERMINISTIC_SECONDS = 120.0
_MAX_IDS_SHOWN = 10
# Each juror's best proposals kept as candidates, per unit of maximum load.
_JUROR_CANDIDATES_PER_LOAD = 2
# See _scan: pairs this close to breaking the optimality proof are added with those that do.
_NEAR_MARGIN = SCALE // 20


# --- input -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Juror:
    id: int
    max_load: int
    min_load: int = 0
    organisation_id: int | None = None
    sector: Sector = "academia"


@dataclass(frozen=True)
class Proposal:
    id: int
    # Jurors this proposal needs.
    seats: int


@dataclass(frozen=True, eq=False)
class PairArrays:
    """(proposal id, juror id) pairs as parallel arrays, with a score per pair or none (for
    conflicts). The compact form for large instances: a frozenset of 1.6 million (proposal,
    juror) tuples takes about 160 MB and 3 s to build; these arrays take 26 MB."""

    proposal_ids: IntArray
    juror_ids: IntArray
    scores: FloatArray | None = None

    def __len__(self) -> int:
        return int(len(self.proposal_ids))


class ScoreRows(Protocol):
    """Scores of a block of proposals against jurors: a (len(proposal_ids), len(juror_ids))
    matrix of affinities in [0, 1]. Called with ids in ascending order, possibly from two
    threads at once; must be a pure function of the ids (called more than once for the same
    block)."""

    def __call__(self, proposal_ids: IntArray, juror_ids: IntArray) -> FloatArray: ...


Affinity = Mapping[tuple[int, int], float] | PairArrays | ScoreRows
Conflicts = Collection[tuple[int, int]] | PairArrays


@dataclass(frozen=True)
class Labels:
    """How messages name proposals, jurors and organisations (e.g. references and people's
    names); an id without a label is shown as the number."""

    proposals: Mapping[int, str] = field(default_factory=dict)
    jurors: Mapping[int, str] = field(default_factory=dict)
    organisations: Mapping[int, str] = field(default_factory=dict)

    def proposal(self, id_: int | np.integer) -> str:
        return self.proposals.get(int(id_), str(int(id_)))

    def juror(self, id_: int | np.integer) -> str:
        return self.jurors.get(int(id_), str(int(id_)))

    def organisation(self, id_: int | np.integer) -> str:
        return self.organisations.get(int(id_), str(int(id_)))


@dataclass(frozen=True, eq=False)
class Problem:
    proposals: Sequence[Proposal]
    jurors: Sequence[Juror]
    # (proposal_id, juror_id) -> score in [0, 1]; absent pairs score 0 but are allowed.
    affinity: Affinity
    # (proposal_id, juror_id) pairs that must never be assigned.
    conflicts: Conflicts = frozenset()
    one_per_organisation: bool = False
    # Per proposal with seats, at least this many jurors whose sector is not "academia".
    min_non_academic_seats: int = 0
    fairness: bool = False
    # Sparse candidate set size per proposal; None = every allowed pair is a candidate.
    candidates_per_proposal: int | None = None
    labels: Labels = field(default_factory=Labels)


# --- output ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Assignment:
    # (proposal_id, juror_id), sorted.
    pairs: tuple[tuple[int, int], ...]
    # Affinity of each pair, in the order of `pairs`.
    affinities: tuple[float, ...]
    total_affinity: float
    # The weakest assigned pair (what fairness mode maximises); None without pairs.
    min_pair_affinity: float | None
    # The lowest sum of affinities of one proposal's jurors; None without proposals with seats.
    min_proposal_affinity: float | None
    # juror_id -> number of proposals, for every juror.
    loads: Mapping[int, int]
    # True only when proven: the total is the largest possible under all rules (and, in
    # fairness mode, the weakest pair is as strong as possible), over all pairs.
    optimal: bool
    # "min-cost flow", "cp-sat" or "greedy".
    method: str
    # In fairness mode, the proven best threshold τ*: every assigned pair has affinity ≥ τ*.
    fairness_threshold: float | None
    # Plain-language notes on how the result was reached.
    diagnostics: tuple[str, ...]


class Infeasible(ValueError):
    """No assignment obeys all rules. `reasons` says why, in words a user can act on (shown
    with ``say``; ``str()`` gives the English)."""

    def __init__(self, reasons: Sequence[Text]) -> None:
        self.reasons = list(reasons)
        super().__init__("; ".join(map(str, self.reasons)))


@dataclass(frozen=True)
class ChangeIssue:
    code: str
    # A clause: shown with ``say(..., capital=True)``; ``str()`` gives the English.
    message: Text
    # Blocking issues break a hard rule (conflict, maximum load, organisation); the others
    # (seats short, minimum load, non-academic share) are allowed but should be shown.
    blocking: bool


# --- formatting --------------------------------------------------------------------------------


def _plural(count: int, singular: str, plural: str | None = None) -> str:
    return f"{count:,} {singular if count == 1 else (plural or singular + 's')}"


def _id_list(ids: Sequence[int | str]) -> Text | str:
    shown = [str(i) for i in ids[:_MAX_IDS_SHOWN]]
    if len(ids) > _MAX_IDS_SHOWN:
        return N_(
            "%(list)s and %(more)s more", list=", ".join(shown), more=len(ids) - _MAX_IDS_SHOWN
        )
    if len(shown) <= 1:
        return "".join(shown)
    return N_("%(list)s and %(last)s", list=", ".join(shown[:-1]), last=shown[-1])


def _seats(n: int) -> Text:
    return Nn_("%(num)s seat", "%(num)s seats", int(n))


def _jurors(n: int) -> Text:
    return Nn_("%(num)s juror", "%(num)s jurors", int(n))


def _proposals(n: int) -> Text:
    return Nn_("%(num)s proposal", "%(num)s proposals", int(n))


def _org_rule(one_org: bool) -> Text | str:
    """Added to a reason when the organisation rule applies."""
    return N_(" with at most one juror per organisation") if one_org else ""


def _score(value: int) -> str:
    return f"{value / SCALE:.3f}"


# --- normalised input --------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _Index:
    """The problem in index space: proposals and jurors sorted by id, numbered 0..P-1, 0..J-1;
    a pair is the key p * J + j."""

    p_ids: IntArray
    seats: IntArray
    j_ids: IntArray
    max_load: IntArray
    min_load: IntArray
    # Dense organisation number per juror, -1 for none.
    org: IntArray
    org_ids: IntArray
    nonacad: BoolArray
    conflicts: IntArray  # sorted unique keys
    one_org: bool
    k_na: int
    labels: Labels

    @property
    def P(self) -> int:  # noqa: N802 - the sizes read as in the literature
        return int(self.p_ids.size)

    @property
    def J(self) -> int:  # noqa: N802
        return int(self.j_ids.size)

    @property
    def n_orgs(self) -> int:
        return int(self.org_ids.size)

    @property
    def sector_rule(self) -> bool:
        return self.k_na > 0

    @property
    def k_p(self) -> IntArray:
        """Non-academic seats required per proposal."""
        return np.where(self.seats > 0, self.k_na, 0).astype(np.int64)

    @property
    def usable(self) -> BoolArray:
        return self.max_load > 0


def _positions(sorted_ids: IntArray, ids: IntArray, what: str) -> IntArray:
    pos = np.searchsorted(sorted_ids, ids).astype(np.int64)
    ok = pos < sorted_ids.size
    ok[ok] = sorted_ids[pos[ok]] == ids[ok]
    if not bool(ok.all()):
        unknown = ids[~ok][:_MAX_IDS_SHOWN].tolist()
        raise ValueError(f"unknown {what} id(s): {unknown}")
    return pos


def _sorted_unique(keys: IntArray) -> IntArray:
    keys = np.sort(keys)
    if keys.size:
        keys = keys[np.r_[True, keys[1:] != keys[:-1]]]
    return keys


def _pairs_to_arrays(pairs: Iterable[tuple[int, int]]) -> tuple[IntArray, IntArray]:
    flat = np.array([x for pair in pairs for x in pair], dtype=np.int64)
    return flat[0::2].copy(), flat[1::2].copy()


def _index(problem: Problem) -> _Index:
    proposals = sorted(problem.proposals, key=lambda p: p.id)
    jurors = sorted(problem.jurors, key=lambda j: j.id)
    p_ids = np.array([p.id for p in proposals], dtype=np.int64)
    j_ids = np.array([j.id for j in jurors], dtype=np.int64)
    for ids, what in ((p_ids, "proposal"), (j_ids, "juror")):
        if ids.size and bool((ids[1:] == ids[:-1]).any()):
            raise ValueError(f"{what} ids are not unique")
    seats = np.array([p.seats for p in proposals], dtype=np.int64)
    max_load = np.array([j.max_load for j in jurors], dtype=np.int64)
    min_load = np.array([j.min_load for j in jurors], dtype=np.int64)
    if bool((seats < 0).any()) or bool((max_load < 0).any()) or bool((min_load < 0).any()):
        raise ValueError("seats and loads must not be negative")
    for juror in jurors:
        if juror.sector not in SECTORS:
            raise ValueError(f"juror {juror.id}: unknown sector {juror.sector!r}")
    if problem.min_non_academic_seats < 0:
        raise ValueError("min_non_academic_seats must not be negative")
    if problem.candidates_per_proposal is not None and problem.candidates_per_proposal < 1:
        raise ValueError("candidates_per_proposal must be at least 1")
    raw_org = [j.organisation_id for j in jurors]
    org_ids = np.array(sorted({o for o in raw_org if o is not None}), dtype=np.int64)
    org = np.full(len(jurors), -1, dtype=np.int64)
    has_org = np.array([o is not None for o in raw_org], dtype=bool)
    if bool(has_org.any()):
        named = np.array([o for o in raw_org if o is not None], dtype=np.int64)
        org[has_org] = np.searchsorted(org_ids, named)
    nonacad = np.array([j.sector != "academia" for j in jurors], dtype=bool)

    if isinstance(problem.conflicts, PairArrays):
        cp_ids = np.asarray(problem.conflicts.proposal_ids, dtype=np.int64)
        cj_ids = np.asarray(problem.conflicts.juror_ids, dtype=np.int64)
    else:
        cp_ids, cj_ids = _pairs_to_arrays(problem.conflicts)
    conflicts = _sorted_unique(
        _positions(p_ids, cp_ids, "proposal") * max(len(jurors), 1)
        + _positions(j_ids, cj_ids, "juror")
    )
    return _Index(
        p_ids=p_ids,
        seats=seats,
        j_ids=j_ids,
        max_load=max_load,
        min_load=min_load,
        org=org,
        org_ids=org_ids,
        nonacad=nonacad,
        conflicts=conflicts,
        one_org=problem.one_per_organisation,
        k_na=problem.min_non_academic_seats,
        labels=problem.labels,
    )


class _Scores:
    """Affinity of any pair, as rows for a block of proposals or for given pairs."""

    def __init__(self, idx: _Index, affinity: Affinity) -> None:
        self.idx = idx
        self.rows: ScoreRows | None = None
        self.keys: IntArray = np.zeros(0, dtype=np.int64)
        self.values: FloatArray = np.zeros(0, dtype=np.float64)
        if isinstance(affinity, PairArrays):
            if affinity.scores is None:
                raise ValueError("affinity PairArrays needs scores")
            p = np.asarray(affinity.proposal_ids, dtype=np.int64)
            j = np.asarray(affinity.juror_ids, dtype=np.int64)
            v = np.asarray(affinity.scores, dtype=np.float64)
            self._listed(p, j, v)
        elif isinstance(affinity, Mapping):
            items = sorted(affinity.items())
            p = np.array([k[0] for k, _ in items], dtype=np.int64)
            j = np.array([k[1] for k, _ in items], dtype=np.int64)
            v = np.array([float(s) for _, s in items], dtype=np.float64)
            self._listed(p, j, v)
        else:
            self.rows = affinity

    def _listed(self, p: IntArray, j: IntArray, v: FloatArray) -> None:
        if not (p.size == j.size == v.size):
            raise ValueError("affinity arrays differ in length")
        _check_range(v)
        keys = _positions(self.idx.p_ids, p, "proposal") * self.idx.J + _positions(
            self.idx.j_ids, j, "juror"
        )
        order = np.argsort(keys, kind="stable")
        keys, v = keys[order], v[order]
        if keys.size and bool((keys[1:] == keys[:-1]).any()):
            raise ValueError("affinity lists a pair twice")
        self.keys, self.values = keys, v

    def block(self, p0: int, p1: int) -> FloatArray:
        J = self.idx.J
        if self.rows is not None:
            out = np.asarray(self.rows(self.idx.p_ids[p0:p1], self.idx.j_ids), dtype=np.float64)
            if out.shape != (p1 - p0, J):
                raise ValueError(f"affinity rows have shape {out.shape}, expected {(p1 - p0, J)}")
            _check_range(out)
            return out
        out = np.zeros((p1 - p0, J), dtype=np.float64)
        lo, hi = np.searchsorted(self.keys, [p0 * J, p1 * J])
        keys = self.keys[lo:hi]
        out[keys // J - p0, keys % J] = self.values[lo:hi]
        return out

    def of_pairs(self, keys: IntArray) -> FloatArray:
        if keys.size == 0:
            return np.zeros(0, dtype=np.float64)
        J = self.idx.J
        if self.rows is None:
            pos = np.searchsorted(self.keys, keys)
            found = pos < self.keys.size
            found[found] = self.keys[pos[found]] == keys[found]
            return np.where(found, self.values[np.minimum(pos, self.keys.size - 1)], 0.0)
        out = np.empty(keys.size, dtype=np.float64)
        props = keys // J
        for p0, p1 in _blocks(self.idx.P, J):
            lo, hi = np.searchsorted(props, [p0, p1])
            if lo == hi:
                continue
            wanted = _sorted_unique(props[lo:hi])
            rows = np.asarray(self.rows(self.idx.p_ids[wanted], self.idx.j_ids), dtype=np.float64)
            _check_range(rows)
            out[lo:hi] = rows[np.searchsorted(wanted, props[lo:hi]), keys[lo:hi] % J]
        return out


def _check_range(values: FloatArray) -> None:
    # NaN fails both comparisons, infinities the second.
    if values.size and not (values.min() >= 0.0 and values.max() <= 1.0 + 1e-9):
        raise ValueError("affinity scores must be finite numbers in [0, 1]")


def _quantise(scores: FloatArray) -> IntArray:
    """Integer affinities, rounded half up (scores are checked to lie in [0, 1 + 1e-9])."""
    scaled = scores * SCALE
    scaled += 0.5
    quantised: IntArray = scaled.astype(np.int64)
    return quantised


def _blocks(P: int, J: int) -> Iterator[tuple[int, int]]:
    step = max(1, _BLOCK_CELLS // max(J, 1))
    for p0 in range(0, P, step):
        yield p0, min(P, p0 + step)


_T = TypeVar("_T")


def _in_order(fn: Callable[[int, int], _T], blocks: Iterable[tuple[int, int]]) -> Iterator[_T]:
    """fn over the blocks on _WORKERS threads, results in block order, with at most _WORKERS
    blocks in flight beyond the one being consumed, so memory stays bounded."""
    if _WORKERS < 2:
        for p0, p1 in blocks:
            yield fn(p0, p1)
        return
    with ThreadPoolExecutor(_WORKERS) as pool:
        pending: deque[Future[_T]] = deque()
        for p0, p1 in blocks:
            pending.append(pool.submit(fn, p0, p1))
            if len(pending) > _WORKERS:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def _allowed(idx: _Index, p0: int, p1: int, S: FloatArray, tau: int) -> BoolArray:
    """Pairs of a block that may be assigned at threshold tau (affinity >= tau)."""
    J = idx.J
    mask = np.empty(S.shape, dtype=bool)
    mask[:] = idx.usable[None, :]
    mask[idx.seats[p0:p1] == 0] = False
    if tau > 0:
        mask &= _quantise(S) >= tau
    lo, hi = np.searchsorted(idx.conflicts, [p0 * J, p1 * J])
    keys = idx.conflicts[lo:hi]
    mask[keys // J - p0, keys % J] = False
    return mask


# --- pre-checks: the obvious reasons, in plain words -------------------------------------------


def _prechecks(idx: _Index) -> list[Text]:
    reasons: list[Text] = []
    P, J = idx.P, idx.J
    seats, usable = idx.seats, idx.usable
    lines: list[Text] = []
    for j in np.flatnonzero(idx.min_load > idx.max_load).tolist():
        lines.append(
            N_(
                "juror %(juror)s has a minimum load of %(min)s above the maximum load of %(max)s",
                juror=idx.labels.juror(idx.j_ids[j]),
                min=int(idx.min_load[j]),
                max=int(idx.max_load[j]),
            )
        )
    reasons += _capped(lines, "jurors")
    lines = []
    if idx.sector_rule:
        for p in np.flatnonzero((seats > 0) & (seats < idx.k_na)).tolist():
            lines.append(
                N_(
                    "proposal %(proposal)s has %(seats)s but %(needed)s must go to jurors from "
                    "outside academia",
                    proposal=idx.labels.proposal(idx.p_ids[p]),
                    seats=_seats(int(seats[p])),
                    needed=int(idx.k_na),
                )
            )
    reasons += _capped(lines, "proposals")
    total = int(seats.sum())
    uniform = P > 0 and bool((seats == seats[0]).all())
    needed = f"{P:,} × {int(seats[0]):,}" if uniform else f"{total:,}"
    capacity = int(idx.max_load.sum())
    if capacity < total:
        reasons.append(
            N_(
                "total capacity %(capacity)s < %(needed)s needed",
                capacity=_seats(capacity),
                needed=needed,
            )
        )
    minimum = int(idx.min_load.sum())
    if minimum > total:
        reasons.append(
            N_(
                "minimum loads add up to %(minimum)s reviews > %(needed)s seats to fill; "
                "lower some minimum loads",
                minimum=minimum,
                needed=needed,
            )
        )
    if idx.sector_rule:
        na_cap = int(idx.max_load[idx.nonacad].sum())
        na_need = int(idx.k_p.sum())
        if na_cap < na_need:
            shown = f"{int((seats > 0).sum()):,} × {idx.k_na}" if uniform else f"{na_need:,}"
            reasons.append(
                N_(
                    "jurors from outside academia can take %(capacity)s in total < %(needed)s "
                    "needed",
                    capacity=_seats(na_cap),
                    needed=shown,
                )
            )
    if P == 0 or J == 0:
        return reasons

    # Conflicts with jurors who can review at all, per proposal and per juror.
    ck = idx.conflicts
    cp, cj = ck // J, ck % J
    keep = usable[cj]
    cp, cj = cp[keep], cj[keep]
    n_usable = int(usable.sum())
    free = n_usable - np.bincount(cp, minlength=P)
    lines = []
    for p in np.flatnonzero((seats > 0) & (free < seats)).tolist():
        n = int(free[p])
        if n == 0:
            lines.append(
                N_(
                    "proposal %(proposal)s has no juror without a conflict for %(seats)s",
                    proposal=idx.labels.proposal(idx.p_ids[p]),
                    seats=_seats(int(seats[p])),
                )
            )
        else:
            lines.append(
                N_(
                    "proposal %(proposal)s has only %(jurors)s without a conflict for %(seats)s",
                    proposal=idx.labels.proposal(idx.p_ids[p]),
                    jurors=_jurors(n),
                    seats=_seats(int(seats[p])),
                )
            )
    reasons += _capped(lines, "proposals")
    short = set(np.flatnonzero((seats > 0) & (free < seats)).tolist())

    with_seats = seats > 0
    jp = with_seats[cp]
    free_j = int(with_seats.sum()) - np.bincount(cj[jp], minlength=J)
    lines = []
    for j in np.flatnonzero(idx.min_load > free_j).tolist():
        lines.append(
            N_(
                "juror %(juror)s must review at least %(min)s proposals but has no conflict "
                "with only %(free)s",
                juror=idx.labels.juror(idx.j_ids[j]),
                min=int(idx.min_load[j]),
                free=int(free_j[j]),
            )
        )

    reasons += _capped(lines, "jurors")

    def units(jmask: BoolArray) -> IntArray:
        """Per proposal, conflict-free jurors in jmask, counting an organisation once when the
        organisation rule applies."""
        cand = usable & jmask
        if not idx.one_org:
            return int(cand.sum()) - np.bincount(cp[cand[cj]], minlength=P)
        loners = cand & (idx.org < 0)
        count = int(loners.sum()) - np.bincount(cp[loners[cj]], minlength=P)
        in_org = cand & (idx.org >= 0)
        if idx.n_orgs == 0:
            return count
        size = np.bincount(idx.org[in_org], minlength=idx.n_orgs)
        count = count + int((size > 0).sum())
        hit = in_org[cj]
        g, n = np.unique(cp[hit] * idx.n_orgs + idx.org[cj[hit]], return_counts=True)
        blocked = g[n >= size[g % idx.n_orgs]] // idx.n_orgs
        return count - np.bincount(blocked, minlength=P)

    lines = []
    if idx.one_org:
        distinct = units(np.ones(J, dtype=bool))
        for p in np.flatnonzero(with_seats & (distinct < seats)).tolist():
            if p in short:
                continue
            lines.append(
                Nn_(
                    "proposal %(proposal)s needs %(jurors)s from different organisations, but "
                    "its jurors without a conflict come from only %(num)s organisation",
                    "proposal %(proposal)s needs %(jurors)s from different organisations, but "
                    "its jurors without a conflict come from only %(num)s organisations",
                    int(distinct[p]),
                    proposal=idx.labels.proposal(idx.p_ids[p]),
                    jurors=_jurors(int(seats[p])),
                )
            )
    reasons += _capped(lines, "proposals")
    lines = []
    if idx.sector_rule:
        na = units(idx.nonacad)
        for p in np.flatnonzero(with_seats & (na < idx.k_na)).tolist():
            n = int(na[p])
            lines.append(
                _non_academic_short(
                    idx.labels.proposal(idx.p_ids[p]), _jurors(int(idx.k_na)), n, idx.one_org
                )
            )
    reasons += _capped(lines, "proposals")
    return reasons


def _non_academic_short(proposal: str, needed: Text, n: int, one_org: bool) -> Text:
    if one_org and n == 0:
        return N_(
            "proposal %(proposal)s needs %(needed)s from outside academia, but none of its "
            "organisations without a conflict is from outside academia",
            proposal=proposal,
            needed=needed,
        )
    if n == 0:
        return N_(
            "proposal %(proposal)s needs %(needed)s from outside academia, but none of its "
            "jurors without a conflict is from outside academia",
            proposal=proposal,
            needed=needed,
        )
    if one_org:
        return Nn_(
            "proposal %(proposal)s needs %(needed)s from outside academia, but only %(num)s "
            "of its organisations without a conflict is from outside academia",
            "proposal %(proposal)s needs %(needed)s from outside academia, but only %(num)s "
            "of its organisations without a conflict are from outside academia",
            n,
            proposal=proposal,
            needed=needed,
        )
    return Nn_(
        "proposal %(proposal)s needs %(needed)s from outside academia, but only %(num)s of its "
        "jurors without a conflict is from outside academia",
        "proposal %(proposal)s needs %(needed)s from outside academia, but only %(num)s of its "
        "jurors without a conflict are from outside academia",
        n,
        proposal=proposal,
        needed=needed,
    )


def _capped(lines: list[Text], noun: Literal["jurors", "proposals"]) -> list[Text]:
    """At most _MAX_IDS_SHOWN reasons of one kind, then how many more there are."""
    if len(lines) <= _MAX_IDS_SHOWN:
        return lines
    more = len(lines) - _MAX_IDS_SHOWN
    if noun == "jurors":
        tail = Nn_("and %(num)s more juror like these", "and %(num)s more jurors like these", more)
    else:
        tail = Nn_(
            "and %(num)s more proposal like these", "and %(num)s more proposals like these", more
        )
    return [*lines[:_MAX_IDS_SHOWN], tail]


# --- candidates --------------------------------------------------------------------------------


@dataclass(eq=False)
class _Cands:
    """The candidate pairs: sorted keys, their scores and integer affinities."""

    keys: IntArray
    scores: FloatArray
    A: IntArray
    # Every allowed pair is a candidate: nothing to prove about excluded pairs.
    complete: bool
    # Each proposal's best allowed pairs (at least its seats) are included.
    topk: bool

    def add(self, keys: IntArray, scores: FloatArray) -> int:
        if keys.size == 0:
            return 0
        all_keys = np.concatenate([self.keys, keys])
        all_scores = np.concatenate([self.scores, scores])
        uniq, first = np.unique(all_keys, return_index=True)
        added = int(uniq.size - self.keys.size)
        self.keys, self.scores = uniq, all_scores[first]
        self.A = _quantise(self.scores)
        return added


def _rank_keys(A: IntArray, allowed: BoolArray, tiebreak: IntArray, bits: int) -> IntArray:
    """Sort keys that order pairs by affinity, then by the lower id in `tiebreak` (broadcast
    against A), all distinct, so that a plain argpartition picks exactly the top pairs; -1 for
    pairs that are not allowed."""
    key = A << bits
    key |= (1 << bits) - 1 - tiebreak
    key[~allowed] = -1
    return key


def _extract(idx: _Index, scores: _Scores, k: int | None) -> _Cands:
    """One pass over all pairs, block by block: the candidate set (all allowed pairs when k is
    None): each proposal's k best jurors and each juror's 2 × max_load best proposals."""
    P, J = idx.P, idx.J
    bits = max(P, J, 1).bit_length() + 1
    keys_out: list[IntArray] = []
    scores_out: list[FloatArray] = []
    m_j = np.minimum(_JUROR_CANDIDATES_PER_LOAD * idx.max_load, P)
    M = int(m_j.max()) if J and k is not None else 0
    # Each juror's best M proposals so far, juror by juror (-1 = none yet).
    run_key = np.full((J, M), -1, dtype=np.int64)
    run_s = np.zeros((J, M), dtype=np.float64)
    k_eff = None if k is None else min(J, max(k, int(idx.seats.max(initial=0))))
    cols_all = np.arange(J, dtype=np.int64)
    # The jurors' current M-th best, replaced (never changed in place) after each merge; a
    # block computed against an older one lets through more entries, never fewer.
    # Jurors who cannot review get a floor nothing passes.
    closed = np.where(idx.usable, -1, np.iinfo(np.int64).max).astype(np.int64)
    floor = [closed]

    def one(p0: int, p1: int) -> tuple[IntArray, FloatArray, _JurorEntries | None]:
        S = scores.block(p0, p1)
        A = _quantise(S)
        allowed = _allowed(idx, p0, p1, S, 0)
        if k_eff is None:
            r, c = np.nonzero(allowed)
        else:
            key = _rank_keys(A, allowed, cols_all[None, :], bits)
            c = np.argpartition(key, J - k_eff, axis=1)[:, J - k_eff :]
            r = np.broadcast_to(np.arange(p1 - p0)[:, None], c.shape)
            ok = np.take_along_axis(key, c, axis=1) >= 0
            r, c = r[ok], c[ok]
        entries = _juror_entries(A, S, allowed, p0, bits, M, floor[0]) if M else None
        return (r + p0) * J + c, S[r, c], entries

    # Entries wait in a buffer and are merged in batches of about J × M: merging re-sorts the
    # jurors' lists, and after the first blocks few entries arrive per block.
    buffer: list[_JurorEntries] = []
    buffered = 0
    for row_keys, row_scores, entries in _in_order(one, _blocks(P, J)):
        keys_out.append(row_keys)
        scores_out.append(row_scores)
        if entries is not None:
            buffer.append(entries)
            buffered += int(entries[0].size)
            if buffered >= J * M:
                _merge_juror_tops(run_key, run_s, buffer, bits)
                floor[0] = np.maximum(run_key.min(axis=1), closed)
                buffer, buffered = [], 0
    if buffer:
        _merge_juror_tops(run_key, run_s, buffer, bits)
    if M:
        order = np.argsort(-run_key, axis=1)
        run_key = np.take_along_axis(run_key, order, axis=1)
        run_s = np.take_along_axis(run_s, order, axis=1)
        keep = (run_key >= 0) & (np.arange(M)[None, :] < m_j[:, None])
        props = (1 << bits) - 1 - (run_key & ((1 << bits) - 1))
        jj = np.broadcast_to(cols_all[:, None], run_key.shape)
        keys_out.append(props[keep] * J + jj[keep])
        scores_out.append(run_s[keep])
    keys = np.concatenate(keys_out) if keys_out else np.zeros(0, dtype=np.int64)
    vals = np.concatenate(scores_out) if scores_out else np.zeros(0, dtype=np.float64)
    order = np.argsort(keys, kind="stable")
    keys, vals = keys[order], vals[order]
    first = np.r_[True, keys[1:] != keys[:-1]] if keys.size else np.zeros(0, dtype=bool)
    keys, vals = keys[first], vals[first]
    return _Cands(keys=keys, scores=vals, A=_quantise(vals), complete=k is None, topk=True)


# Entries of a block that may enter the jurors' best lists: juror, key, score.
_JurorEntries = tuple[IntArray, IntArray, FloatArray]


def _juror_entries(
    A: IntArray,
    S: FloatArray,
    allowed: BoolArray,
    p0: int,
    bits: int,
    M: int,
    floor: IntArray,
) -> _JurorEntries:
    """The entries of a block that beat a juror's current M-th best (`floor`); after the first
    blocks these are few."""
    B = A.shape[0]
    # First by affinity alone (a superset), then exactly by key.
    enter = allowed & (A >= (floor >> bits)[None, :])
    if B > M and bool((floor < 0).any()):
        # While jurors have fewer than M, the block's own M-th best bounds what can enter.
        enter &= A >= np.partition(np.where(allowed, A, -1), B - M, axis=0)[B - M][None, :]
    r, c = np.nonzero(enter)
    key = (A[r, c] << bits) | ((1 << bits) - 1 - (r + p0))
    ok = key > floor[c]
    return c[ok].astype(np.int64), key[ok], S[r[ok], c[ok]]


def _merge_juror_tops(
    run_key: IntArray, run_s: FloatArray, batch: list[_JurorEntries], bits: int
) -> None:
    """Merge entries into each juror's best M so far (in place)."""
    c = np.concatenate([entries[0] for entries in batch])
    if not c.size:
        return
    key = np.concatenate([entries[1] for entries in batch])
    score = np.concatenate([entries[2] for entries in batch])
    M = run_key.shape[1]
    touched = np.flatnonzero(np.bincount(c, minlength=run_key.shape[0]))
    all_c = np.concatenate([np.repeat(touched, M), c])
    all_key = np.concatenate([run_key[touched].ravel(), key])
    all_s = np.concatenate([run_s[touched].ravel(), score])
    # By juror, then by descending key. Keys are < 2 ** (21 + bits) or -1, jurors < 2 ** bits,
    # so one int64 sort key holds both unless the instance is huge.
    key_bits = 21 + bits
    if key_bits + bits < 63:
        order = np.argsort((all_c << key_bits) + ((1 << key_bits) - 2 - all_key))
    else:
        order = np.lexsort((-all_key, all_c))
    all_c, all_key, all_s = all_c[order], all_key[order], all_s[order]
    start = np.searchsorted(all_c, touched)
    rank = np.arange(all_c.size) - np.repeat(start, np.diff(np.r_[start, all_c.size]))
    top = rank < M
    run_key[touched] = all_key[top].reshape(touched.size, M)
    run_s[touched] = all_s[top].reshape(touched.size, M)


def _given_cands(idx: _Index, scores: _Scores, given: PairArrays) -> _Cands:
    J = idx.J
    keys = _positions(idx.p_ids, np.asarray(given.proposal_ids, dtype=np.int64), "proposal") * J
    keys = keys + _positions(idx.j_ids, np.asarray(given.juror_ids, dtype=np.int64), "juror")
    order = np.argsort(keys, kind="stable")
    keys = keys[order]
    if given.scores is not None:
        vals = np.asarray(given.scores, dtype=np.float64)[order]
        _check_range(vals)
    else:
        vals = scores.of_pairs(keys)
    keys, first = np.unique(keys, return_index=True)
    vals = vals[first]
    p, j = keys // J, keys % J
    ok = idx.usable[j] & (idx.seats[p] > 0)
    pos = np.searchsorted(idx.conflicts, keys)
    hit = pos < idx.conflicts.size
    hit[hit] = idx.conflicts[pos[hit]] == keys[hit]
    ok &= ~hit
    keys, vals = keys[ok], vals[ok]
    return _Cands(keys=keys, scores=vals, A=_quantise(vals), complete=False, topk=False)


def candidate_pairs(problem: Problem) -> PairArrays:
    """The sparse candidate set solve() starts from, with scores: one pass over all pairs. Hand
    it back to solve() or greedy() as `candidates=` to score the pairs only once; the scores
    must be the problem's own."""
    idx = _index(problem)
    cands = _extract(idx, _Scores(idx, problem.affinity), problem.candidates_per_proposal)
    return PairArrays(
        proposal_ids=idx.p_ids[cands.keys // max(idx.J, 1)],
        juror_ids=idx.j_ids[cands.keys % max(idx.J, 1)],
        scores=cands.scores,
    )


# --- the network -------------------------------------------------------------------------------


@dataclass(eq=False)
class _Net:
    n: int
    tails: NDArray[np.int32]
    heads: NDArray[np.int32]
    caps: IntArray
    costs: IntArray
    supplies: IntArray
    # The pair arcs are arcs pair0 .. pair0 + len(use) - 1, for candidates cands[use].
    pair0: int
    use: IntArray
    prop_node: IntArray
    na_node: IntArray  # == prop_node without the sector rule
    # Organisation groups (proposal, organisation) among the pairs used, sorted; node -1 for a
    # group of one pair, whose candidate index is in grp_single.
    grp_p: IntArray
    grp_o: IntArray
    grp_node: IntArray
    grp_single: IntArray

    def parent_of(self, idx: _Index, p: IntArray, nonacad: BoolArray) -> IntArray:
        return np.where(nonacad, self.na_node[p], self.prop_node[p])


def _build(
    idx: _Index,
    cands: _Cands,
    tau: int,
    *,
    min_loads: bool = True,
    sector: bool = True,
    org: bool = True,
) -> _Net:
    P, J, n_orgs = idx.P, idx.J, idx.n_orgs
    sector = sector and idx.sector_rule
    use = np.flatnonzero(cands.A >= tau).astype(np.int64)
    keys = cands.keys[use]
    p, j = keys // max(J, 1), keys % max(J, 1)
    prop_node = 1 + J + np.arange(P, dtype=np.int64)
    na_node = (1 + J + P + np.arange(P, dtype=np.int64)) if sector else prop_node
    nxt = 1 + J + P + (P if sector else 0)
    head = np.where(idx.nonacad[j], na_node[p], prop_node[p]) if sector else prop_node[p]
    empty = np.zeros(0, dtype=np.int64)
    grp_p, grp_o, grp_node, grp_single = empty, empty, empty, empty
    org_tails, org_heads = empty, empty
    if org and idx.one_org and use.size:
        has = idx.org[j] >= 0
        where = np.flatnonzero(has)
        g = p[where] * n_orgs + idx.org[j[where]]
        ug, first, inv, cnt = np.unique(g, return_index=True, return_inverse=True,
                                        return_counts=True)  # fmt: skip
        grp_p, grp_o = ug // n_orgs, ug % n_orgs
        multi = cnt >= 2
        grp_node = np.full(ug.size, -1, dtype=np.int64)
        grp_node[multi] = nxt + np.arange(int(multi.sum()))
        nxt += int(multi.sum())
        grp_single = np.where(multi, -1, use[where[first]])
        node_of_pair = grp_node[inv]
        head[where] = np.where(node_of_pair >= 0, node_of_pair, head[where])
        org_na = np.zeros(n_orgs, dtype=bool)
        org_na[idx.org[idx.nonacad & (idx.org >= 0)]] = True
        org_tails = grp_node[multi]
        mp, mo = grp_p[multi], grp_o[multi]
        org_heads = np.where(org_na[mo], na_node[mp], prop_node[mp]) if sector else prop_node[mp]
    k_p = idx.k_p if sector else np.zeros(P, dtype=np.int64)
    lower = idx.min_load if min_loads else np.zeros(J, dtype=np.int64)
    tails = np.concatenate(
        [np.zeros(J, dtype=np.int64), 1 + j, org_tails, na_node if sector else empty]
    )
    heads = np.concatenate(
        [1 + np.arange(J, dtype=np.int64), head, org_heads, prop_node if sector else empty]
    )
    caps = np.concatenate(
        [
            idx.max_load - lower,
            np.ones(use.size, dtype=np.int64),
            np.ones(org_tails.size, dtype=np.int64),
            (idx.seats - k_p) if sector else empty,
        ]
    )
    costs = np.concatenate(
        [
            np.zeros(J, dtype=np.int64),
            -cands.A[use],
            np.zeros(org_tails.size + (P if sector else 0), dtype=np.int64),
        ]
    )
    supplies = np.zeros(nxt, dtype=np.int64)
    supplies[0] = int(idx.seats.sum()) - int(lower.sum())
    supplies[1 : 1 + J] = lower
    supplies[prop_node] = -idx.seats + k_p
    if sector:
        supplies[na_node] -= k_p
    return _Net(
        n=nxt,
        tails=tails.astype(np.int32),
        heads=heads.astype(np.int32),
        caps=caps.astype(np.int64),
        costs=costs.astype(np.int64),
        supplies=supplies,
        pair0=J,
        use=use,
        prop_node=prop_node,
        na_node=na_node,
        grp_p=grp_p,
        grp_o=grp_o,
        grp_node=grp_node,
        grp_single=grp_single,
    )


def _min_cost(net: _Net) -> IntArray | None:
    """Flows of an optimal flow, or None when no flow meets the supplies."""
    # OR-Tools (and the pandas it loads) only where an assignment is solved: about 90 MB that
    # web processes need not hold.
    from ortools.graph.python import min_cost_flow  # type: ignore[import-untyped]

    smcf = min_cost_flow.SimpleMinCostFlow()
    smcf.add_arcs_with_capacity_and_unit_cost(net.tails, net.heads, net.caps, net.costs)
    smcf.set_nodes_supplies(np.arange(net.n, dtype=np.int32), net.supplies)
    status = smcf.solve()
    if status == smcf.INFEASIBLE:
        return None
    if status != smcf.OPTIMAL:
        raise RuntimeError(f"min-cost flow failed: {status}")
    return np.asarray(smcf.flows(np.arange(net.tails.size, dtype=np.int32)), dtype=np.int64)


@dataclass(eq=False)
class _Cut:
    feasible: bool
    flow: int
    demand: int
    source_side: BoolArray  # per node
    flows: IntArray  # per arc of the network, then the super-source/sink arcs
    extra_tails: IntArray
    extra_heads: IntArray


def _max_flow(net: _Net) -> _Cut:
    """Whether a flow meets all supplies (max-flow from a super-source to a super-sink), with
    the minimum cut when not."""
    from ortools.graph.python import max_flow

    ss, tt = net.n, net.n + 1
    pos = np.flatnonzero(net.supplies > 0)
    neg = np.flatnonzero(net.supplies < 0)
    extra_tails = np.concatenate([np.full(pos.size, ss), neg]).astype(np.int64)
    extra_heads = np.concatenate([pos, np.full(neg.size, tt)]).astype(np.int64)
    extra_caps = np.concatenate([net.supplies[pos], -net.supplies[neg]]).astype(np.int64)
    smf = max_flow.SimpleMaxFlow()
    smf.add_arcs_with_capacity(
        np.concatenate([net.tails, extra_tails.astype(np.int32)]),
        np.concatenate([net.heads, extra_heads.astype(np.int32)]),
        np.concatenate([net.caps, extra_caps]),
    )
    demand = int(net.supplies[pos].sum())
    if demand == 0:
        return _Cut(True, 0, 0, np.zeros(net.n + 2, dtype=bool), np.zeros(0, dtype=np.int64),
                    extra_tails, extra_heads)  # fmt: skip
    status = smf.solve(ss, tt)
    if status != smf.OPTIMAL:
        raise RuntimeError(f"max flow failed: {status}")
    flow = int(smf.optimal_flow())
    side = np.zeros(net.n + 2, dtype=bool)
    if flow < demand:
        side[np.asarray(smf.get_source_side_min_cut(), dtype=np.int64)] = True
    n_arcs = net.tails.size + extra_tails.size
    flows = np.asarray(smf.flows(np.arange(n_arcs, dtype=np.int32)), dtype=np.int64)
    return _Cut(flow == demand, flow, demand, side, flows, extra_tails, extra_heads)


def _potentials(net: _Net, flows: IntArray) -> IntArray | None:
    """Node potentials that prove a flow optimal: shortest distances in its residual graph
    from a virtual root joined to every node at cost 0 (Bellman-Ford, vectorised; it ends in
    as many rounds as the longest shortest path has arcs). None if it does not settle, which
    would mean the flow was not optimal."""
    fwd = flows < net.caps
    bwd = flows > 0
    tails = np.concatenate([net.tails[fwd], net.heads[bwd]]).astype(np.int64)
    heads = np.concatenate([net.heads[fwd], net.tails[bwd]]).astype(np.int64)
    costs = np.concatenate([net.costs[fwd], -net.costs[bwd]])
    d = np.zeros(net.n, dtype=np.int64)
    if tails.size == 0:
        return d
    order = np.argsort(heads, kind="stable")
    tails, heads, costs = tails[order], heads[order], costs[order]
    starts = np.flatnonzero(np.r_[True, heads[1:] != heads[:-1]])
    targets = heads[starts]
    for _ in range(net.n + 1):
        best = np.minimum.reduceat(d[tails] + costs, starts)
        improved = best < d[targets]
        if not bool(improved.any()):
            return d
        d[targets[improved]] = best[improved]
    return None


# --- scanning all pairs: optimality and feasibility proofs --------------------------------------


def _org_members(idx: _Index) -> tuple[IntArray, IntArray]:
    """Jurors grouped by organisation: (members, start of each organisation in members)."""
    with_org = np.flatnonzero(idx.org >= 0)
    members = with_org[np.argsort(idx.org[with_org], kind="stable")].astype(np.int64)
    starts = np.searchsorted(idx.org[members], np.arange(idx.n_orgs + 1)).astype(np.int64)
    return members, starts


def _scan(
    idx: _Index,
    scores: _Scores,
    cands: _Cands,
    net: _Net,
    tau: int,
    *,
    juror_value: IntArray,
    node_value: IntArray,
    group_value: IntArray,
    mode: Literal["reduced_cost", "cut"],
) -> tuple[IntArray, FloatArray, int, int]:
    """Go through every allowed pair outside the candidate set and return those that break the
    proof: a negative reduced cost (mode "reduced_cost": juror potential - affinity - head
    potential < 0) or an arc crossing the minimum cut (mode "cut": juror on the source side,
    head on the sink side). The head of an excluded pair is its (proposal, organisation) node
    when one exists, otherwise its proposal or (proposal, non-academic) node; `group_value`
    gives the value for every organisation group of the network.

    Returns the pairs to add, their scores, the number of pairs checked and the number that
    break the proof. With reduced costs, the pairs to add also include those whose reduced
    cost is below _NEAR_MARGIN (when any pair breaks the proof): re-solving shifts the
    potentials, and these are the pairs most likely to break the next proof, which would cost
    another round."""
    P, J = idx.P, idx.J
    members, starts = _org_members(idx) if net.grp_p.size else (np.zeros(0, np.int64),) * 2
    new_keys: list[IntArray] = []
    new_scores: list[FloatArray] = []
    checked = 0
    broken = 0
    grp_start = np.searchsorted(net.grp_p, np.arange(P + 1))
    empty_keys, empty_scores = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64)

    def one(p0: int, p1: int) -> tuple[IntArray, FloatArray, int, int]:
        S = scores.block(p0, p1)
        allowed = _allowed(idx, p0, p1, S, tau)
        lo, hi = np.searchsorted(cands.keys, [p0 * J, p1 * J])
        ck = cands.keys[lo:hi]
        allowed[ck // J - p0, ck % J] = False
        n_checked = int(np.count_nonzero(allowed))
        rows = np.arange(p0, p1)
        H = np.where(
            idx.nonacad[None, :],
            node_value[net.na_node[rows]][:, None],
            node_value[net.prop_node[rows]][:, None],
        )
        if net.grp_p.size:
            g0, g1 = int(grp_start[p0]), int(grp_start[p1])
            if g1 > g0:
                gp, go = net.grp_p[g0:g1], net.grp_o[g0:g1]
                size = starts[go + 1] - starts[go]
                r = np.repeat(gp - p0, size)
                offs = np.arange(int(size.sum())) - np.repeat(np.cumsum(size) - size, size)
                c = members[np.repeat(starts[go], size) + offs]
                H[r, c] = np.repeat(group_value[g0:g1], size)
        if mode == "reduced_cost":
            # Reduced cost R = juror potential - A - head potential, with A = the rounded
            # S × SCALE. X below is within 0.5 of R; only pairs it flags get the exact test.
            G = juror_value[None, :] - H
            X = G - S * SCALE
            r, c = np.nonzero(allowed & (X < _NEAR_MARGIN + 1))
            R = G[r, c] - _quantise(S[r, c])
            near = R < _NEAR_MARGIN
            n_broken = int(np.count_nonzero(R < 0))
            r, c, R = r[near], c[near], R[near]
        else:
            r, c = np.nonzero(allowed & (juror_value[None, :] > 0) & (H == 0))
            n_broken = int(r.size)
            # Among crossing pairs, the best-scoring first.
            R = -_quantise(S[r, c])
        if not r.size:
            return empty_keys, empty_scores, n_checked, n_broken
        # At most _ADD_PER_ROW per proposal: those that break the proof most.
        order = np.lexsort((c, R, r))
        r, c = r[order], c[order]
        start = np.searchsorted(r, r, side="left")
        keep = np.arange(r.size) - start < _ADD_PER_ROW
        r, c = r[keep], c[keep]
        return (r + p0) * J + c, S[r, c], n_checked, n_broken

    for keys, vals, n_checked, n_broken in _in_order(one, _blocks(P, J)):
        checked += n_checked
        broken += n_broken
        if keys.size:
            new_keys.append(keys)
            new_scores.append(vals)
    if not new_keys or not broken:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64), checked, broken
    return np.concatenate(new_keys), np.concatenate(new_scores), checked, broken


def _group_parent(idx: _Index, net: _Net) -> IntArray:
    if not net.grp_p.size:
        return np.zeros(0, dtype=np.int64)
    org_na = np.zeros(idx.n_orgs, dtype=bool)
    org_na[idx.org[idx.nonacad & (idx.org >= 0)]] = True
    return np.where(org_na[net.grp_o], net.na_node[net.grp_p], net.prop_node[net.grp_p])


def _certify(
    idx: _Index, scores: _Scores, cands: _Cands, net: _Net, flows: IntArray, tau: int
) -> tuple[bool, IntArray, FloatArray, int]:
    """Prove the flow optimal over all pairs, or return the pairs that may improve it."""
    d = _potentials(net, flows)
    if d is None:
        return False, np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64), 0
    J = idx.J
    parent = _group_parent(idx, net)
    gv = np.zeros(net.grp_p.size, dtype=np.int64)
    if gv.size:
        real = net.grp_node >= 0
        gv[real] = d[net.grp_node[real]]
        single = ~real
        ci = net.grp_single[single]
        # A one-pair group has no node; the smallest potential its node could take is the
        # juror's potential minus the pair's affinity when the pair carries flow (else the
        # parent's potential).
        pos = np.searchsorted(net.use, ci)
        carried = flows[net.pair0 + pos] > 0
        jj = cands.keys[ci] % J
        gv[single] = np.where(carried, d[1 + jj] - cands.A[ci], d[parent[single]])
    keys, vals, checked, broken = _scan(
        idx, scores, cands, net, tau,
        juror_value=d[1 : 1 + J], node_value=d, group_value=gv, mode="reduced_cost",
    )  # fmt: skip
    return broken == 0, keys, vals, checked


def _feasible(
    idx: _Index,
    scores: _Scores,
    cands: _Cands,
    tau: int,
    notes: list[str],
    *,
    min_loads: bool = True,
    sector: bool = True,
    org: bool = True,
) -> tuple[_Net, _Cut]:
    """Exact feasibility at threshold tau: max-flow on the candidates; when it falls short,
    either the minimum cut is also a cut of the full problem (no excluded pair crosses it:
    proven infeasible) or the crossing pairs are added and the check repeats."""
    added_total = 0
    while True:
        net = _build(idx, cands, tau, min_loads=min_loads, sector=sector, org=org)
        cut = _max_flow(net)
        if cut.feasible or cands.complete:
            break
        side = cut.source_side.astype(np.int64)
        parent = _group_parent(idx, net)
        gv = np.zeros(net.grp_p.size, dtype=np.int64)
        if gv.size:
            real = net.grp_node >= 0
            gv[real] = side[net.grp_node[real]]
            ci = net.grp_single[~real]
            jj = cands.keys[ci] % idx.J
            gv[~real] = (side[1 + jj] | side[parent[~real]]).astype(np.int64)
        keys, vals, _, _ = _scan(
            idx, scores, cands, net, tau,
            juror_value=side[1 : 1 + idx.J], node_value=side, group_value=gv, mode="cut",
        )  # fmt: skip
        if keys.size == 0:
            break
        added_total += cands.add(keys, vals)
    if added_total:
        notes.append(
            f"the candidate set admitted no assignment; {_plural(added_total, 'pair')} named "
            "by the minimum cut were added"
        )
    return net, cut


# --- explaining infeasibility ------------------------------------------------------------------


def _diagnose(idx: _Index, scores: _Scores, cands: _Cands, *, mixed: bool = False) -> list[Text]:
    """Which rule makes the problem infeasible, with the proposals or jurors involved (from the
    minimum cut of the failing max-flow). Each rule is tried on its own first, then all
    together. `mixed`: the organisation rule and the non-academic share cross (see _solve_cpsat)
    and cannot be checked together as a flow."""
    notes: list[str] = []
    P, J = idx.P, idx.J
    net, cut = _feasible(idx, scores, cands, 0, notes, min_loads=False, sector=False)
    rule = _org_rule(idx.one_org)
    if not cut.feasible:
        sink = ~cut.source_side
        props = np.flatnonzero(sink[net.prop_node]).tolist()
        need = int(idx.seats[props].sum())
        to_sink = cut.extra_heads == net.n + 1
        into = cut.flows[net.tails.size :][to_sink]
        filled = int(into[sink[cut.extra_tails[to_sink]]].sum())
        full = [int(idx.j_ids[j]) for j in range(J) if sink[1 + j]]
        named = _id_list([idx.labels.proposal(idx.p_ids[p]) for p in props])
        if full:
            return [
                Nn_(
                    "proposal %(proposals)s needs %(seats)s together, but the jurors without a "
                    "conflict can fill only %(filled)s of them%(rule)s; the other jurors who "
                    "could review them (%(jurors)s) are at their maximum load",
                    "proposals %(proposals)s need %(seats)s together, but the jurors without a "
                    "conflict can fill only %(filled)s of them%(rule)s; the other jurors who "
                    "could review them (%(jurors)s) are at their maximum load",
                    len(props),
                    proposals=named,
                    seats=_seats(need),
                    filled=filled,
                    rule=rule,
                    jurors=_id_list([idx.labels.juror(j) for j in full]),
                )
            ]
        return [
            Nn_(
                "proposal %(proposals)s needs %(seats)s together, but the jurors without a "
                "conflict can fill only %(filled)s of them%(rule)s",
                "proposals %(proposals)s need %(seats)s together, but the jurors without a "
                "conflict can fill only %(filled)s of them%(rule)s",
                len(props),
                proposals=named,
                seats=_seats(need),
                filled=filled,
                rule=rule,
            )
        ]
    if int(idx.min_load.sum()):
        net, cut = _feasible(idx, scores, cands, 0, notes, sector=False)
        if not cut.feasible:
            # The jurors on the source side with a minimum load, and the proposals they reach:
            # those proposals' seats cannot absorb these jurors' minimum loads.
            src = cut.source_side
            short = [j for j in range(J) if idx.min_load[j] > 0 and src[1 + j]]
            need = int(idx.min_load[short].sum())
            from_ss = cut.extra_tails == net.n
            placed = int(cut.flows[net.tails.size :][from_ss & np.isin(
                cut.extra_heads, [1 + j for j in short])].sum())  # fmt: skip
            reachable = [int(idx.p_ids[p]) for p in range(P) if src[net.prop_node[p]]]
            return [
                Nn_(
                    "the minimum loads of juror %(jurors)s add up to %(reviews)s, but only "
                    "%(placed)s can be placed: the proposals they may review (%(proposals)s) "
                    "have too few seats%(rule)s; lower these minimum loads",
                    "the minimum loads of jurors %(jurors)s add up to %(reviews)s, but only "
                    "%(placed)s can be placed: the proposals they may review (%(proposals)s) "
                    "have too few seats%(rule)s; lower these minimum loads",
                    len(short),
                    jurors=_id_list([idx.labels.juror(idx.j_ids[j]) for j in short]),
                    reviews=Nn_("%(num)s review", "%(num)s reviews", need),
                    placed=placed,
                    proposals=_id_list([idx.labels.proposal(p) for p in reachable]),
                    rule=rule,
                )
            ]
    if idx.sector_rule:
        net, cut = _feasible(idx, scores, cands, 0, notes, min_loads=False, org=not mixed)
        if not cut.feasible:
            sink = ~cut.source_side
            props = [p for p in range(P) if idx.k_p[p] > 0 and sink[net.na_node[p]]]
            need = int(idx.k_p[props].sum())
            to_sink = cut.extra_heads == net.n + 1
            nodes = np.array([net.na_node[p] for p in props], dtype=np.int64)
            filled = int(
                cut.flows[net.tails.size :][to_sink & np.isin(cut.extra_tails, nodes)].sum()
            )
            return [
                Nn_(
                    "proposal %(proposals)s needs %(jurors)s from outside academia together, "
                    "but only %(filled)s can be assigned: the non-academic jurors without a "
                    "conflict are at their maximum loads%(rule)s",
                    "proposals %(proposals)s need %(jurors)s from outside academia together, "
                    "but only %(filled)s can be assigned: the non-academic jurors without a "
                    "conflict are at their maximum loads%(rule)s",
                    len(props),
                    proposals=_id_list([idx.labels.proposal(idx.p_ids[p]) for p in props]),
                    jurors=_jurors(need),
                    filled=filled,
                    rule=rule,
                )
            ]
    if mixed and cands.complete:
        return [
            N_(
                "no assignment meets the one-juror-per-organisation rule and the non-academic "
                "share together, although each can be met on its own"
            )
        ]
    if mixed:
        return [
            N_(
                "no assignment meets the one-juror-per-organisation rule and the non-academic "
                "share together among the candidate pairs, although each can be met on its own"
            )
        ]
    net, cut = _feasible(idx, scores, cands, 0, notes)
    return [
        N_(
            "each rule can be met on its own, but not all together: at most %(flow)s of the "
            "%(demand)s seats can be filled when the minimum loads and the non-academic share "
            "apply at once; lower some minimum loads, raise maximum loads or reduce the "
            "non-academic share",
            flow=int(cut.flow),
            demand=int(cut.demand),
        )
    ]


# --- solving -----------------------------------------------------------------------------------


def _mixed_orgs(idx: _Index) -> list[int]:
    if not (idx.one_org and idx.sector_rule):
        return []
    with_org = idx.org >= 0
    na = np.bincount(idx.org[with_org & idx.nonacad], minlength=idx.n_orgs)
    ac = np.bincount(idx.org[with_org & ~idx.nonacad], minlength=idx.n_orgs)
    return [int(idx.org_ids[o]) for o in np.flatnonzero((na > 0) & (ac > 0))]


def solve(problem: Problem, *, candidates: PairArrays | None = None) -> Assignment:
    """An assignment with the largest total affinity under all rules (see the module docstring).
    Raises Infeasible with the reasons when none exists, ValueError on malformed input.
    `candidates` (from candidate_pairs) replaces the first pass over all pairs."""
    idx = _index(problem)
    reasons = _prechecks(idx)
    if reasons:
        raise Infeasible(reasons)
    scores = _Scores(idx, problem.affinity)
    if idx.P == 0 or int(idx.seats.sum()) == 0:
        return _result(idx, np.zeros(0, np.int64), np.zeros(0), True, "min-cost flow", None, [])
    if candidates is not None:
        cands = _given_cands(idx, scores, candidates)
    else:
        cands = _extract(idx, scores, problem.candidates_per_proposal)
    notes: list[str] = []
    if cands.complete:
        notes.append(f"every allowed pair is a candidate ({cands.keys.size:,} pairs)")
    elif candidates is not None:
        notes.append(f"{cands.keys.size:,} candidate pairs given")
    else:
        notes.append(
            f"{cands.keys.size:,} candidate pairs: each proposal's best "
            f"{problem.candidates_per_proposal} jurors and each juror's best proposals"
        )
    mixed = _mixed_orgs(idx)
    if mixed:
        return _solve_cpsat(idx, scores, cands, problem.fairness, mixed, notes)

    tau = 0
    if problem.fairness:
        tau = _best_threshold(idx, scores, cands, notes)
    rounds = 0
    checked = 0
    optimal = False
    retried = False
    while True:
        net = _build(idx, cands, tau)
        flows = _min_cost(net)
        if flows is None:
            if retried:
                raise RuntimeError("min-cost flow and max-flow disagree on feasibility")
            net, cut = _feasible(idx, scores, cands, tau, notes)
            if not cut.feasible:
                raise Infeasible(_diagnose(idx, scores, cands))
            retried = True
            continue
        retried = False
        if cands.complete:
            optimal = True
            break
        ok, keys, vals, checked = _certify(idx, scores, cands, net, flows, tau)
        if ok:
            optimal = True
            break
        rounds += 1
        if keys.size == 0 or rounds > _MAX_ROUNDS:
            notes.append("optimality over all pairs could not be proven; optimal among candidates")
            break
        cands.add(keys, vals)
    if not cands.complete and optimal:
        notes.append(
            f"proven optimal over all pairs: {_plural(checked, 'pair')} outside the candidate "
            "set checked by reduced cost"
            + (f" after {_plural(rounds, 'round')} adding pairs" if rounds else "")
        )
    chosen = net.use[flows[net.pair0 : net.pair0 + net.use.size] > 0]
    notes.insert(0, "OR-Tools SimpleMinCostFlow (exact integer min-cost flow)")
    log.debug(
        "assignment solved: proposals=%d jurors=%d candidates=%d rounds=%d optimal=%s",
        idx.P, idx.J, cands.keys.size, rounds, optimal,
    )  # fmt: skip
    return _result(
        idx,
        cands.keys[chosen],
        cands.scores[chosen],
        optimal,
        "min-cost flow",
        tau if problem.fairness else None,
        notes,
    )


def _best_threshold(idx: _Index, scores: _Scores, cands: _Cands, notes: list[str]) -> int:
    """The largest τ such that an assignment exists using only pairs with affinity ≥ τ
    (binary search; each step an exact feasibility check)."""
    net, cut = _feasible(idx, scores, cands, 0, notes)
    if not cut.feasible:
        raise Infeasible(_diagnose(idx, scores, cands))
    lo, hi = 0, SCALE
    if cands.topk:
        # No proposal can do better than its seats-th best pair.
        J = idx.J
        p = cands.keys // J
        order = np.lexsort((-cands.A, p))
        sp, sa = p[order], cands.A[order]
        start = np.searchsorted(sp, np.arange(idx.P))
        has = idx.seats > 0
        end = np.searchsorted(sp, np.arange(1, idx.P + 1))[has]
        at = start[has] + idx.seats[has] - 1
        if at.size and bool((at < end).all()):
            hi = int(sa[at].min())
    lo = _witness_min(net, cut, cands)
    steps = 0
    while lo < hi:
        mid = (lo + hi + 1) // 2
        # Pairs the minimum cut names at a threshold too high are no news: no note.
        net, cut = _feasible(idx, scores, cands, mid, [])
        steps += 1
        if cut.feasible:
            lo = max(mid, _witness_min(net, cut, cands))
        else:
            hi = mid - 1
    notes.append(
        f"fairness: the weakest assigned pair has affinity {_score(lo)}, proven the best "
        f"possible ({steps} feasibility checks); the total is maximised among assignments "
        "with no pair below it"
    )
    return lo


def _witness_min(net: _Net, cut: _Cut, cands: _Cands) -> int:
    """The weakest pair of the flow that proved feasibility."""
    used = cut.flows[net.pair0 : net.pair0 + net.use.size] > 0
    return int(cands.A[net.use[used]].min()) if bool(used.any()) else 0


def _solve_cpsat(
    idx: _Index,
    scores: _Scores,
    cands: _Cands,
    fairness: bool,
    mixed: list[int],
    notes: list[str],
) -> Assignment:
    """The non-network case: one juror per organisation and a non-academic share, with
    organisations that have jurors on both sides. An exact 0-1 program in CP-SAT on the
    candidate pairs; optimal only when CP-SAT proves it and every allowed pair is a
    candidate."""
    from ortools.sat.python import cp_model

    J = idx.J
    notes.insert(
        0,
        f"CP-SAT (exact integer program): organisations "
        f"{_id_list([idx.labels.organisation(o) for o in mixed])} have jurors both "
        "inside and outside academia, so the organisation rule and the non-academic share "
        "do not form a network",
    )
    p = cands.keys // J
    j = cands.keys % J
    A = cands.A

    by_p: dict[int, list[int]] = {}
    by_j: dict[int, list[int]] = {}
    by_g: dict[tuple[int, int], list[int]] = {}
    na_p: dict[int, list[int]] = {}
    for i, (pi, ji) in enumerate(zip(p.tolist(), j.tolist(), strict=True)):
        by_p.setdefault(pi, []).append(i)
        by_j.setdefault(ji, []).append(i)
        if idx.org[ji] >= 0:
            by_g.setdefault((pi, int(idx.org[ji])), []).append(i)
        if idx.nonacad[ji]:
            na_p.setdefault(pi, []).append(i)

    def model_for(tau: int) -> tuple[cp_model.CpModel, list[cp_model.IntVar]]:
        model = cp_model.CpModel()
        x = [model.new_bool_var(f"x{i}") for i in range(cands.keys.size)]

        def total(members: list[int]) -> cp_model.LinearExprT:
            return cp_model.LinearExpr.sum([x[i] for i in members])

        for i in np.flatnonzero(A < tau).tolist():
            model.add(x[i] == 0)
        for pi in range(idx.P):
            model.add(total(by_p.get(pi, [])) == int(idx.seats[pi]))
            if idx.k_p[pi]:
                model.add(total(na_p.get(pi, [])) >= int(idx.k_p[pi]))
        for ji in range(J):
            model.add(total(by_j.get(ji, [])) <= int(idx.max_load[ji]))
            model.add(total(by_j.get(ji, [])) >= int(idx.min_load[ji]))
        for members in by_g.values():
            if len(members) > 1:
                model.add(total(members) <= 1)
        return model, x

    def run(model: cp_model.CpModel) -> tuple[cp_model.CpSolver, int]:
        solver = cp_model.CpSolver()
        solver.parameters.num_workers = 1
        solver.parameters.random_seed = 0
        solver.parameters.max_deterministic_time = _CP_SAT_DETERMINISTIC_SECONDS
        return solver, int(solver.solve(model))

    proven = True
    tau = 0
    if fairness:
        model, x = model_for(0)
        t = model.new_int_var(0, SCALE, "t")
        for i in range(len(x)):
            # t may only exceed a pair's affinity when the pair is not chosen.
            model.add(t + SCALE * x[i] <= int(A[i]) + SCALE)
        model.maximize(t)
        solver, status = run(model)
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            raise Infeasible(_cpsat_reasons(idx, scores, cands, status))
        tau = int(solver.value(t))
        proven = status == cp_model.OPTIMAL
        notes.append(f"fairness: the weakest assigned pair has affinity {_score(tau)}")
    model, x = model_for(tau)
    model.maximize(cp_model.LinearExpr.weighted_sum(x, [int(a) for a in A.tolist()]))
    solver, status = run(model)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        raise Infeasible(_cpsat_reasons(idx, scores, cands, status))
    proven = proven and status == cp_model.OPTIMAL
    if not cands.complete:
        notes.append("optimal among the candidate pairs only; not proven for all pairs")
    elif not proven:
        notes.append("CP-SAT stopped at its time limit before proving optimality")
    chosen = np.array([i for i in range(len(x)) if solver.boolean_value(x[i])], dtype=np.int64)
    return _result(
        idx,
        cands.keys[chosen],
        cands.scores[chosen],
        proven and cands.complete,
        "cp-sat",
        tau if fairness else None,
        notes,
    )


def _cpsat_reasons(idx: _Index, scores: _Scores, cands: _Cands, status: int) -> list[Text]:
    from ortools.sat.python import cp_model

    if status == cp_model.INFEASIBLE:
        return _diagnose(idx, scores, cands, mixed=True)
    return [N_("the integer program found no assignment within its time limit")]


def _result(
    idx: _Index,
    keys: IntArray,
    vals: FloatArray,
    optimal: bool,
    method: str,
    tau: int | None,
    notes: list[str],
) -> Assignment:
    J = max(idx.J, 1)
    order = np.argsort(keys, kind="stable")
    keys, vals = keys[order], vals[order]
    p, j = keys // J, keys % J
    pairs = tuple(zip(idx.p_ids[p].tolist(), idx.j_ids[j].tolist(), strict=True))
    affinities = tuple(float(v) for v in vals.tolist())
    loads = np.bincount(j, minlength=idx.J)
    per_p = np.bincount(p, weights=vals, minlength=idx.P)
    with_seats = idx.seats > 0
    return Assignment(
        pairs=pairs,
        affinities=affinities,
        total_affinity=math.fsum(affinities),
        min_pair_affinity=min(affinities) if affinities else None,
        min_proposal_affinity=float(per_p[with_seats].min()) if bool(with_seats.any()) else None,
        loads=dict(zip(idx.j_ids.tolist(), loads.tolist(), strict=True)),
        optimal=optimal,
        method=method,
        fairness_threshold=None if tau is None else tau / SCALE,
        diagnostics=tuple(notes),
    )


# --- the greedy baseline -----------------------------------------------------------------------


def greedy(problem: Problem, *, candidates: PairArrays | None = None) -> Assignment:
    """The plain greedy assignment the engine is measured against: pairs by descending affinity
    (ties by ids), each taken if it breaks no rule (load, seats, organisation, and leaving room
    for the non-academic seats still missing). Proposals left short then get the best remaining
    jurors from all pairs. It may leave seats empty and ignores minimum loads; the diagnostics
    say so."""
    idx = _index(problem)
    scores = _Scores(idx, problem.affinity)
    if candidates is not None:
        cands = _given_cands(idx, scores, candidates)
    else:
        cands = _extract(idx, scores, problem.candidates_per_proposal)
    J = idx.J
    P = idx.P
    load = [0] * J
    filled = [0] * P
    na_have = [0] * P
    used_orgs: set[tuple[int, int]] = set()
    max_load = idx.max_load.tolist()
    seats = idx.seats.tolist()
    org = idx.org.tolist()
    nonacad = idx.nonacad.tolist()
    k_p = idx.k_p.tolist()
    taken: list[int] = []
    taken_scores: list[float] = []
    taken_set: set[int] = set()

    def consider(key: int, score: float) -> None:
        p, j = divmod(key, J)
        if load[j] >= max_load[j] or filled[p] >= seats[p] or key in taken_set:
            return
        if idx.one_org and org[j] >= 0 and (p, org[j]) in used_orgs:
            return
        if not nonacad[j] and seats[p] - filled[p] <= k_p[p] - na_have[p]:
            return
        load[j] += 1
        filled[p] += 1
        if nonacad[j]:
            na_have[p] += 1
        if idx.one_org and org[j] >= 0:
            used_orgs.add((p, org[j]))
        taken.append(key)
        taken_scores.append(score)
        taken_set.add(key)

    order = np.lexsort((cands.keys, -cands.scores))
    for key, score in zip(cands.keys[order].tolist(), cands.scores[order].tolist(), strict=True):
        consider(key, score)
    short = [p for p in range(P) if filled[p] < seats[p]]
    repaired = 0
    if short and J:
        short_arr = np.array(short, dtype=np.int64)
        for p0, p1 in _blocks(P, J):
            mine = short_arr[(short_arr >= p0) & (short_arr < p1)]
            if not mine.size:
                continue
            S = scores.block(p0, p1)
            allowed = _allowed(idx, p0, p1, S, 0)
            for p in mine.tolist():
                row = S[p - p0]
                # Only jurors with room left can take a seat.
                open_j = np.flatnonzero(allowed[p - p0] & (np.array(load) < idx.max_load))
                for j in open_j[np.lexsort((open_j, -row[open_j]))].tolist():
                    if filled[p] >= seats[p]:
                        break
                    before = len(taken)
                    consider(p * J + j, float(row[j]))
                    repaired += len(taken) - before
    notes = ["greedy: pairs by descending affinity, each taken if it breaks no rule"]
    if repaired:
        notes.append(f"{_plural(repaired, 'seat')} filled from outside the candidate set")
    empty = sum(seats) - sum(filled)
    if empty:
        notes.append(f"{_plural(empty, 'seat')} left empty")
    below = sum(1 for j in range(J) if load[j] < int(idx.min_load[j]))
    if below:
        notes.append(f"{_plural(below, 'juror')} below their minimum load")
    return _result(
        idx,
        np.array(taken, dtype=np.int64),
        np.array(taken_scores, dtype=np.float64),
        False,
        "greedy",
        None,
        notes,
    )


# --- manual changes ----------------------------------------------------------------------------


def check_change(
    pairs: Iterable[tuple[int, int]],
    problem: Problem,
    *,
    add: tuple[int, int] | None = None,
    remove: tuple[int, int] | None = None,
    swap: tuple[int, int, int] | None = None,
) -> list[ChangeIssue]:
    """Check one manual change to an assignment: `add` (proposal, juror), `remove` (proposal,
    juror) or `swap` (proposal, juror out, juror in). Returns the issues in plain words, empty
    when the change breaks nothing; see ChangeIssue.blocking."""
    if sum(change is not None for change in (add, remove, swap)) != 1:
        raise ValueError("give exactly one of add, remove, swap")
    proposals = {p.id: p for p in problem.proposals}
    jurors = {j.id: j for j in problem.jurors}
    current = set(pairs)
    load: dict[int, int] = {}
    on: dict[int, list[int]] = {}
    for p_id, j_id in current:
        load[j_id] = load.get(j_id, 0) + 1
        on.setdefault(p_id, []).append(j_id)
    issues: list[ChangeIssue] = []
    name = problem.labels

    def block(code: str, message: Text) -> None:
        issues.append(ChangeIssue(code, message, True))

    def warn(code: str, message: Text) -> None:
        issues.append(ChangeIssue(code, message, False))

    in_id: int | None
    out_id: int | None
    if add is not None:
        p_id, in_id, out_id = add[0], add[1], None
    elif remove is not None:
        p_id, in_id, out_id = remove[0], None, remove[1]
    else:
        assert swap is not None
        p_id, out_id, in_id = swap
    if p_id not in proposals:
        block(
            "unknown_proposal",
            N_(
                "there is no proposal %(proposal)s in this assignment", proposal=name.proposal(p_id)
            ),
        )
        return issues
    for who in (in_id, out_id):
        if who is not None and who not in jurors:
            block(
                "unknown_juror",
                N_("there is no juror %(juror)s in this assignment", juror=name.juror(who)),
            )
    if issues:
        return issues
    if in_id is not None and in_id == out_id:
        block("same_juror", N_("juror %(juror)s would replace themselves", juror=name.juror(in_id)))
        return issues
    seats = proposals[p_id].seats
    others = [j for j in on.get(p_id, []) if j != out_id]

    if out_id is not None:
        if (p_id, out_id) not in current:
            block(
                "not_assigned",
                N_(
                    "juror %(juror)s is not assigned to proposal %(proposal)s",
                    juror=name.juror(out_id),
                    proposal=name.proposal(p_id),
                ),
            )
        else:
            after = load.get(out_id, 0) - 1
            if after < jurors[out_id].min_load:
                warn(
                    "below_min_load",
                    N_(
                        "juror %(juror)s would review %(proposals)s, below their minimum load "
                        "of %(min)s",
                        juror=name.juror(out_id),
                        proposals=_proposals(after),
                        min=jurors[out_id].min_load,
                    ),
                )
    if in_id is not None:
        juror = jurors[in_id]
        if (p_id, in_id) in current:
            block(
                "already_assigned",
                N_(
                    "juror %(juror)s is already assigned to proposal %(proposal)s",
                    juror=name.juror(in_id),
                    proposal=name.proposal(p_id),
                ),
            )
        if _is_conflict(problem.conflicts, p_id, in_id):
            block(
                "conflict",
                N_(
                    "juror %(juror)s has a conflict of interest with proposal %(proposal)s",
                    juror=name.juror(in_id),
                    proposal=name.proposal(p_id),
                ),
            )
        after = load.get(in_id, 0) + 1
        if after > juror.max_load:
            block(
                "above_max_load",
                N_(
                    "juror %(juror)s would review %(proposals)s, above their maximum load of "
                    "%(max)s",
                    juror=name.juror(in_id),
                    proposals=_proposals(after),
                    max=juror.max_load,
                ),
            )
        if problem.one_per_organisation and juror.organisation_id is not None:
            same = [
                j
                for j in others
                if j != in_id and jurors[j].organisation_id == juror.organisation_id
            ]
            if same:
                block(
                    "same_organisation",
                    N_(
                        "proposal %(proposal)s already has juror %(other)s from organisation "
                        "%(organisation)s, the organisation of juror %(juror)s",
                        proposal=name.proposal(p_id),
                        other=name.juror(same[0]),
                        organisation=name.organisation(juror.organisation_id),
                        juror=name.juror(in_id),
                    ),
                )
    final = others + ([in_id] if in_id is not None and in_id not in others else [])
    if out_id is not None and (p_id, out_id) not in current:
        return issues
    if len(final) < seats and in_id is None:
        warn(
            "seats_short",
            N_(
                "proposal %(proposal)s now has %(have)s of %(seats)s jurors",
                proposal=name.proposal(p_id),
                have=len(final),
                seats=seats,
            ),
        )
    if len(final) > seats:
        warn(
            "seats_over",
            N_(
                "proposal %(proposal)s would have %(have)s jurors for %(seats)s seats",
                proposal=name.proposal(p_id),
                have=len(final),
                seats=seats,
            ),
        )
    k = problem.min_non_academic_seats if seats > 0 else 0
    if k:
        before = sum(1 for j in on.get(p_id, []) if jurors[j].sector != "academia")
        after_na = sum(1 for j in final if jurors[j].sector != "academia")
        if after_na < k and after_na < before:
            warn(
                "non_academic_short",
                N_(
                    "proposal %(proposal)s would have %(have)s of %(needed)s required jurors "
                    "from outside academia",
                    proposal=name.proposal(p_id),
                    have=after_na,
                    needed=k,
                ),
            )
    return issues


def _is_conflict(conflicts: Conflicts, p_id: int, j_id: int) -> bool:
    if isinstance(conflicts, PairArrays):
        return bool(((conflicts.proposal_ids == p_id) & (conflicts.juror_ids == j_id)).any())
    return (p_id, j_id) in conflicts


def alternates(
    problem: Problem,
    pairs: Iterable[tuple[int, int]],
    proposal_id: int,
    k: int = 5,
    *,
    replacing: int | None = None,
) -> list[int]:
    """Up to k jurors who could take a seat of a proposal (e.g. when `replacing` declines):
    no conflict, a load below their maximum, not from an organisation already on the proposal
    (with the organisation rule). Ranked: keeps the non-academic share first, then higher
    affinity, then lower id."""
    idx = _index(problem)
    if proposal_id not in set(idx.p_ids.tolist()):
        raise ValueError(f"unknown proposal id: {proposal_id}")
    p = int(np.searchsorted(idx.p_ids, proposal_id))
    row = _Scores(idx, problem.affinity).block(p, p + 1)[0]
    load: dict[int, int] = {}
    on: list[int] = []
    for p_id, j_id in pairs:
        load[j_id] = load.get(j_id, 0) + 1
        if p_id == proposal_id:
            on.append(j_id)
    others = [j for j in on if j != replacing]
    j_pos = {int(j): i for i, j in enumerate(idx.j_ids.tolist())}
    orgs_on = {int(idx.org[j_pos[j]]) for j in others if idx.org[j_pos[j]] >= 0}
    na_on = sum(1 for j in others if idx.nonacad[j_pos[j]])
    seats_after = len(others) + 1
    need_na = max(0, min(problem.min_non_academic_seats, int(idx.seats[p])) - na_on)
    allowed = _allowed(idx, p, p + 1, row[None, :], 0)[0]
    ranked: list[tuple[int, float, int]] = []
    for j in range(idx.J):
        j_id = int(idx.j_ids[j])
        if not allowed[j] or j_id in on or j_id == replacing:
            continue
        if load.get(j_id, 0) >= idx.max_load[j]:
            continue
        if idx.one_org and idx.org[j] >= 0 and int(idx.org[j]) in orgs_on:
            continue
        keeps = 1 if (idx.nonacad[j] or need_na == 0 or seats_after < int(idx.seats[p])) else 0
        ranked.append((-keeps, -float(row[j]), j_id))
    ranked.sort()
    return [j_id for _, _, j_id in ranked[:k]]
