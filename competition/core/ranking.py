"""Ranking: from jurors' scores to a ranked list of proposals, with its uncertainty.

What goes in. The stage's criteria in order (:class:`Criterion`: weight, scale, optional
threshold), every submitted review (:class:`ReviewScores`: one score per criterion and an
optional confidence 1–5), the panel's consensus scores (:class:`Override`) and the options
(:class:`RankingOptions`). What comes out is a :class:`Ranking`: one :class:`RankedProposal` per
reviewed proposal, best first, plus the estimated harshness of each juror (bias model only), the
parameters used and a hash of the inputs, so that a stored snapshot can be recomputed and checked.

Aggregation (the same for every method).

* A criterion's **mean** is the mean of the jurors' scores on it (weighted by confidence when
  ``confidence_weighted``); a consensus override replaces it. Its **spread** is the sample
  standard deviation of the jurors' own scores (None with fewer than two reviews); an override
  does not hide the disagreement that led to it.
* The **weighted total** is Σ weight × mean with the weights normalised to sum 1, so it is on the
  criteria's own scale (0–5 when every criterion is 0–5).
* Each review also gets its own weighted total, with an overridden criterion counted at the
  consensus score: the panel settled it, so all methods and flags see the settled value.
* **Thresholds**: a criterion's threshold applies to its mean, ``overall_threshold`` to the
  weighted total; a proposal is ``fundable`` when it meets all of them (meeting = at least the
  threshold, as in Horizon Europe). ``below_thresholds`` names each one it misses.
* **Flags**: "few reviews" (fewer than ``min_reviews``); "disagreement" when the sample standard
  deviation of the review totals exceeds ``disagreement_share`` of the scale's range (1 point on
  0–5 by default); "outlier juror <id>" when, with at least three reviews, a review's total is
  further than ``outlier_share`` of the range (2 points on 0–5) from the mean of the others.

The score used for ranking (``method``). See REFERENCES.md, "Scores, calibration, ranking".

* ``raw``: the mean of the review totals (confidence-weighted if asked); equal to the weighted
  total. Uncertainty: draws from the posterior of a normal model fitted to the totals (empirical
  Bayes: quality ~ N(μ, τ²) over proposals, a review's total = quality + noise ~ N(0, σ²), σ²
  pooled within proposals, τ² by the method of moments). A bootstrap over three reviews, used
  before, gave 90 % rank intervals that held the true rank for only 52–69 % of proposals.
* ``zscore``: each juror's review totals are standardised over that juror's reviews (a juror with
  one review, or who gave every proposal the same total, gets 0: "average for this juror"), then
  put back on the scale of all reviews (their overall mean and standard deviation) and averaged
  per proposal. Uncertainty: the same normal model over the standardised values. Fragile with
  few reviews per juror; kept because it is the method people know.
* ``bias_model`` (the default; NeurIPS since 2002, SNSF 2022): a review's total is
  ``quality(proposal) + bias(juror) + noise``, with priors quality ~ N(mean of all totals, σ_q²),
  bias ~ N(0, σ_b²), and noise ~ N(0, σ²); with ``confidence_weighted`` a review's noise variance
  is σ² divided by its confidence relative to the mean confidence. Written in standardised
  unknowns, the most probable values (MAP) solve one damped sparse least-squares problem,
  ``min ‖A x − y‖² + ‖x‖²``, solved with SciPy's LSQR.
  The score is the estimated quality, on the scale of the totals.

  Uncertainty by perturb-and-MAP: each draw solves the same problem with the data perturbed by
  N(0, 1) noise and the prior mean of x moved to an N(0, 1) draw. The solution of such a problem
  is an exact draw from the Gaussian posterior (its mean is the MAP, its covariance
  ``(AᵀA + I)⁻¹``), given σ_q, σ_b, σ.

  The variances, unless given in the options. σ (noise) comes from residuals: the additive model
  is fitted without priors (plain least squares, also with LSQR) and σ² = residual sum of squares
  / (reviews − rank of the design), the rank being proposals + jurors − connected groups of the
  review graph; that estimate is unbiased under the model. σ_q and σ_b come by the method of
  moments: the pooled variance of totals within a proposal is σ_b² + σ² (different jurors, one
  proposal), within a juror it is σ_q² + σ², so subtract σ² (with random assignment). Where the
  data cannot say (no proposal, or no juror, with two reviews) the variance of all totals minus
  σ² stands in; with no residual degrees of freedom σ comes from the same moments. Every σ is at
  least 1 % of the scale's range, so the problem stays well posed. The values used are in
  ``Ranking.parameters``.

Draws give, per proposal, the **score interval** and **rank interval** (the central ``interval``
share of the draws, 5 %–95 % by default) and the **expected rank**
ER_i = 1 + Σ_k P(θ_k > θ_i) (Heyard et al. 2022), with ties within a draw counting one half, so
the expected ranks always sum to n(n + 1)/2. An interval is widened to contain its point
estimate if the draws' quantiles miss it (the draws lean towards the mean of all proposals, as
the truth does; a raw mean does not). On synthetic data the 90 % rank intervals of every method
hold the true rank for 89–91 % of proposals (``tests/unit/test_ranking.py``).

Order and ties. Proposals are ordered by the score (higher first). Scores equal to 9 decimal
places are tied; a tie is broken by the higher mean on each criterion of ``tie_rule`` in turn,
then by the lower proposal id, and ``tie_broken_by`` says which rule decided ("higher mean on
Excellence", "lower proposal id"). The rank is 1 … n without gaps or repeats.

Reproducibility. Inputs are put in id order before anything is computed and the draws come from
one NumPy generator seeded with ``seed``, so the same inputs (in any order) and the same seed give
bit-identical results. ``inputs_hash`` is the SHA-256 of a canonical JSON of every input and
option (:func:`inputs_hash`).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType
from typing import Any, Final, Literal, get_args

import numpy as np
from numpy.typing import NDArray

from competition.core.texts import N_, Text

Id = int | str
Method = Literal["raw", "zscore", "bias_model"]
METHODS: Final = get_args(Method)
# Stored with every ranking; change it when a change to this module changes the numbers.
ALGORITHM: Final = "ranking/2"

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

# A review without a confidence counts as the middle of 1..5.
MISSING_CONFIDENCE: Final = 3
# Scores and means equal to this many decimals are equal (sums of the same scores in another
# order may differ in the last bit).
_TIE_DECIMALS: Final = 9
_EPS: Final = 1e-9
# Lower bound of σ, σ_q, σ_b as a share of the scale's range: keeps the problem well posed when
# the data cannot say (no residual degrees of freedom, every juror agrees).
_SIGMA_FLOOR_SHARE: Final = 0.01
# LSQR's stopping tolerances: solutions to about 1e-7 on the score scale, far below the spread
# of the draws.
_LSQR_TOL: Final = 1e-8
# Work per chunk of draws (draws × reviews or proposals), to bound memory.
_BOOTSTRAP_CELLS: Final = 1_000_000


# --- input -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Criterion:
    id: Id
    weight: float
    scale_min: float
    scale_max: float
    threshold: float | None = None
    name: str = ""

    @property
    def label(self) -> str:
        return self.name or f"criterion {self.id}"


@dataclass(frozen=True)
class ReviewScores:
    proposal_id: Id
    juror_id: Id
    scores: Mapping[Id, float]
    confidence: int | None = None


@dataclass(frozen=True)
class Override:
    """A panel's consensus score for one criterion of one proposal; replaces the mean."""

    proposal_id: Id
    criterion_id: Id
    score: float
    reason: str = ""


@dataclass(frozen=True)
class RankingOptions:
    method: Method = "bias_model"
    confidence_weighted: bool = False
    overall_threshold: float | None = None
    tie_rule: tuple[Id, ...] = ()
    draws: int = 200
    seed: int = 0
    min_reviews: int = 3
    # Flag thresholds, as shares of the weighted total's scale range (0–5: 0.2 is one point).
    disagreement_share: float = 0.2
    outlier_share: float = 0.4
    # Central share of the draws shown as intervals (0.9: 5 %–95 %).
    interval: float = 0.9
    # Prior standard deviations of the bias model; None: estimated (see the module docstring).
    sigma_quality: float | None = None
    sigma_bias: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "tie_rule", tuple(self.tie_rule))
        problems = []
        if self.method not in METHODS:
            problems.append(f"method must be one of {', '.join(METHODS)}")
        if isinstance(self.draws, bool) or not isinstance(self.draws, int) or self.draws < 1:
            problems.append("draws must be a whole number of at least 1")
        if self.min_reviews < 1:
            problems.append("min_reviews must be at least 1")
        if not 0 < self.interval < 1:
            problems.append("interval must be between 0 and 1")
        for name in ("disagreement_share", "outlier_share"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                problems.append(f"{name} must be a non-negative number")
        for name in ("sigma_quality", "sigma_bias"):
            value = getattr(self, name)
            if value is not None and not (math.isfinite(value) and value > 0):
                problems.append(f"{name} must be positive")
        if self.overall_threshold is not None and not math.isfinite(self.overall_threshold):
            problems.append("overall_threshold must be a number")
        if len(set(self.tie_rule)) != len(self.tie_rule):
            problems.append("tie_rule names a criterion twice")
        if problems:
            raise InvalidRankingInput(problems)


class InvalidRankingInput(ValueError):
    """The inputs cannot be ranked; ``problems`` says why, one sentence each."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        shown = "; ".join(self.problems[:10])
        more = f" (and {len(self.problems) - 10} more)" if len(self.problems) > 10 else ""
        super().__init__(shown + more)


# --- output ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RankedProposal:
    proposal_id: Id
    n_reviews: int
    # In the criteria's order; a mean is the consensus score where an override applies.
    criterion_means: Mapping[Id, float]
    criterion_spreads: Mapping[Id, float | None]
    weighted_total: float
    score: float
    rank: int
    tie_broken_by: str | None
    expected_rank: float
    score_interval: tuple[float, float]
    rank_interval: tuple[int, int]
    fundable: bool
    below_thresholds: tuple[str, ...]
    flags: tuple[str, ...]
    outlier_jurors: tuple[Id, ...]
    overridden: tuple[Id, ...]


@dataclass(frozen=True)
class JurorBias:
    """How much higher (positive) or lower than average a juror scores, on the totals' scale."""

    juror_id: Id
    n_reviews: int
    bias: float
    interval: tuple[float, float]


@dataclass(frozen=True)
class Ranking:
    method: Method
    options: RankingOptions
    # Numbers the method chose or estimated (σ's, prior mean, iterations) and ``algorithm``.
    parameters: Mapping[str, float | int | str]
    proposals: tuple[RankedProposal, ...]  # best first
    juror_biases: tuple[JurorBias, ...]  # bias model only; in juror id order
    inputs_hash: str
    _index: Mapping[Id, int] = field(default_factory=dict, repr=False, compare=False)

    def get(self, proposal_id: Id) -> RankedProposal:
        return self.proposals[self._index[proposal_id]]

    def to_json(self) -> str:
        """Canonical JSON of the whole result: equal results give equal text."""
        return _canonical(
            {
                "method": self.method,
                "options": _options_json(self.options),
                "parameters": dict(self.parameters),
                "inputs_hash": self.inputs_hash,
                "proposals": [_proposal_json(p) for p in self.proposals],
                "juror_biases": [
                    [b.juror_id, b.n_reviews, b.bias, list(b.interval)] for b in self.juror_biases
                ],
            }
        )


# --- entry point -------------------------------------------------------------------------------


def rank_proposals(
    criteria: Sequence[Criterion],
    reviews: Iterable[ReviewScores],
    *,
    overrides: Iterable[Override] = (),
    options: RankingOptions | None = None,
) -> Ranking:
    """Rank every reviewed proposal; see the module docstring for the method.

    Raises :class:`InvalidRankingInput` (a ValueError) listing every problem with the input: a
    score missing, outside its scale or for an unknown criterion, a juror reviewing a proposal
    twice, an override for a proposal without reviews, and so on.
    """
    options = options or RankingOptions()
    reviews = list(reviews)
    overrides = list(overrides)
    data = _prepare(criteria, reviews, overrides, options)
    digest = inputs_hash(criteria, reviews, overrides=overrides, options=options)
    if data.n_proposals == 0:
        return Ranking(options.method, options, {"algorithm": ALGORITHM}, (), (), digest)

    means, spreads = _criterion_stats(data)
    weighted_total = means @ data.weights
    totals = data.adjusted @ data.weights

    rng = np.random.default_rng(options.seed)
    parameters: dict[str, float | int | str] = {"algorithm": ALGORITHM}
    juror_bias: FloatArray | None = None
    juror_draws: FloatArray | None = None
    if options.method == "raw":
        score = weighted_total
        draws, variances = _posterior_draws(data, totals, options.draws, rng)
        parameters |= variances
    elif options.method == "zscore":
        calibrated, overall_mean, overall_std = _standardise_per_juror(data, totals)
        score = _group_mean(data, calibrated)
        draws, variances = _posterior_draws(data, calibrated, options.draws, rng)
        parameters |= {"overall_mean": overall_mean, "overall_std": overall_std} | variances
    else:
        fit = _fit_bias_model(data, totals, options, rng)
        score, draws = fit.quality, fit.quality_draws
        juror_bias, juror_draws = fit.bias, fit.bias_draws
        parameters |= fit.parameters

    order, tie_broken_by = _order(data, score, means, options.tie_rule)
    rank = np.empty(data.n_proposals, dtype=np.int64)
    rank[order] = np.arange(1, data.n_proposals + 1)

    lo_q, hi_q = (1 - options.interval) / 2, (1 + options.interval) / 2
    draw_ranks = _ranks_per_draw(draws)
    expected_rank = draw_ranks.mean(axis=0)
    score_lo, score_hi = np.quantile(draws, [lo_q, hi_q], axis=0)
    score_lo, score_hi = np.minimum(score_lo, score), np.maximum(score_hi, score)
    rank_lo, rank_hi = np.quantile(draw_ranks, [lo_q, hi_q], axis=0)
    rank_lo = np.minimum(np.floor(rank_lo + _EPS).astype(np.int64), rank)
    rank_hi = np.maximum(np.ceil(rank_hi - _EPS).astype(np.int64), rank)

    flags, outliers = _flags(data, totals, options)
    below = _below_thresholds(data, means, weighted_total, options)
    proposals = _assemble(
        data,
        order=order,
        means=means,
        spreads=spreads,
        weighted_total=weighted_total,
        score=score,
        rank=rank,
        tie_broken_by=tie_broken_by,
        expected_rank=expected_rank,
        score_interval=(score_lo, score_hi),
        rank_interval=(rank_lo, rank_hi),
        below=below,
        flags=flags,
        outliers=outliers,
    )
    biases: tuple[JurorBias, ...] = ()
    if juror_bias is not None and juror_draws is not None:
        b_lo, b_hi = np.quantile(juror_draws, [lo_q, hi_q], axis=0)
        b_lo, b_hi = np.minimum(b_lo, juror_bias), np.maximum(b_hi, juror_bias)
        counts = np.bincount(data.juror, minlength=len(data.juror_ids)).tolist()
        biases = tuple(
            JurorBias(j, n, b, (lo, hi))
            for j, n, b, lo, hi in zip(
                data.juror_ids,
                counts,
                juror_bias.tolist(),
                b_lo.tolist(),
                b_hi.tolist(),
                strict=True,
            )
        )
    index = {p.proposal_id: i for i, p in enumerate(proposals)}
    return Ranking(
        method=options.method,
        options=options,
        parameters=MappingProxyType(parameters),
        proposals=proposals,
        juror_biases=biases,
        inputs_hash=digest,
        _index=MappingProxyType(index),
    )


def inputs_hash(
    criteria: Sequence[Criterion],
    reviews: Iterable[ReviewScores],
    *,
    overrides: Iterable[Override] = (),
    options: RankingOptions | None = None,
) -> str:
    """SHA-256 (hex) of a canonical JSON of every input and option.

    Reviews and overrides are sorted by id first, so their order does not matter; the criteria's
    order does (it is the order of the tie rule's labels and of the output). Scores are written
    as floats, so 4, 4.0 and Decimal("4.0") hash alike.
    """
    options = options or RankingOptions()
    criterion_ids = [c.id for c in criteria]
    review_rows = [
        [r.proposal_id, r.juror_id, [_float_or_none(r.scores.get(c)) for c in criterion_ids],
         r.confidence]
        for r in sorted(reviews, key=lambda r: (_id_key(r.proposal_id), _id_key(r.juror_id)))
    ]  # fmt: skip
    override_rows = [
        [o.proposal_id, o.criterion_id, float(o.score), o.reason]
        for o in sorted(
            overrides,
            key=lambda o: (_id_key(o.proposal_id), _id_key(o.criterion_id), o.score, o.reason),
        )
    ]
    document = {
        "criteria": [
            [
                c.id,
                float(c.weight),
                float(c.scale_min),
                float(c.scale_max),
                _float_or_none(c.threshold),
                c.name,
            ]
            for c in criteria
        ],  # fmt: skip
        "reviews": review_rows,
        "overrides": override_rows,
        "options": _options_json(options),
    }
    return hashlib.sha256(_canonical(document).encode()).hexdigest()


# --- preparation -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Data:
    criteria: tuple[Criterion, ...]
    weights: FloatArray  # normalised, per criterion
    scale_range: float  # of the weighted total
    proposal_ids: list[Id]  # id order
    juror_ids: list[Id]
    proposal: IntArray  # per review, reviews sorted by (proposal, juror)
    juror: IntArray
    scores: FloatArray  # reviews × criteria, as scored
    adjusted: FloatArray  # overridden criteria at the consensus score
    confidence: FloatArray  # per review: the weight of its vote
    start: IntArray  # per proposal: first review
    count: IntArray  # per proposal: number of reviews
    overrides: dict[int, dict[int, float]]  # proposal index → criterion index → score

    @property
    def n_proposals(self) -> int:
        return len(self.proposal_ids)


def _prepare(
    criteria: Sequence[Criterion],
    reviews: list[ReviewScores],
    overrides: list[Override],
    options: RankingOptions,
) -> _Data:
    problems: list[str] = []
    criteria = tuple(criteria)
    if not criteria:
        problems.append("there are no criteria")
    column = {c.id: i for i, c in enumerate(criteria)}
    if len(column) != len(criteria):
        problems.append("two criteria have the same id")
    for c in criteria:
        if (
            not (_finite(c.weight, c.scale_min, c.scale_max) and c.weight > 0)
            or not c.scale_max > c.scale_min
        ):
            problems.append(f"{c.label}: the weight or scale is not usable")
        elif c.threshold is not None and not _finite(c.threshold):
            problems.append(f"{c.label}: the threshold is not a number")
    for rule in options.tie_rule:
        if rule not in column:
            problems.append(f"the tie rule names criterion {rule}, which is not among the criteria")
    if problems:
        raise InvalidRankingInput(problems)

    ordered = sorted(reviews, key=lambda r: (_id_key(r.proposal_id), _id_key(r.juror_id)))
    n, m = len(ordered), len(criteria)
    scores = np.empty((n, m))
    confidence = np.ones(n)
    proposal_ids: list[Id] = []
    proposal = np.empty(n, dtype=np.int64)
    juror_index: dict[Id, int] = {}
    juror_list: list[Id] = []
    juror_raw = np.empty(n, dtype=np.int64)
    seen: set[tuple[Id, Id]] = set()
    known = set(column)
    for i, r in enumerate(ordered):
        if not proposal_ids or proposal_ids[-1] != r.proposal_id:
            proposal_ids.append(r.proposal_id)
        proposal[i] = len(proposal_ids) - 1
        j = juror_index.get(r.juror_id)
        if j is None:
            j = juror_index[r.juror_id] = len(juror_list)
            juror_list.append(r.juror_id)
        juror_raw[i] = j
        pair = (r.proposal_id, r.juror_id)
        if pair in seen:
            problems.append(f"juror {r.juror_id} reviewed proposal {r.proposal_id} twice")
        seen.add(pair)
        where = f"proposal {r.proposal_id}, juror {r.juror_id}"
        for c, k in zip(criteria, range(m), strict=True):
            value = r.scores.get(c.id)
            if value is None:
                problems.append(f"{where}: no score for {c.label}")
                scores[i, k] = c.scale_min
                continue
            x = float(value)
            if not (math.isfinite(x) and c.scale_min <= x <= c.scale_max):
                problems.append(f"{where}: {c.label} score {value} is outside the scale")
            scores[i, k] = x
        extra = set(r.scores) - known
        if extra:
            problems.append(f"{where}: scores for unknown criteria {sorted(map(str, extra))}")
        if r.confidence is not None and (
            isinstance(r.confidence, bool)
            or not isinstance(r.confidence, int)
            or not 1 <= r.confidence <= 5
        ):
            problems.append(f"{where}: confidence must be 1 to 5")
        elif options.confidence_weighted:
            confidence[i] = MISSING_CONFIDENCE if r.confidence is None else r.confidence

    # Jurors in id order, independent of which proposal they were met in first.
    juror_ids = sorted(juror_list, key=_id_key)
    renumber = np.empty(len(juror_list), dtype=np.int64)
    renumber[[juror_index[j] for j in juror_ids]] = np.arange(len(juror_ids))
    juror = renumber[juror_raw] if n else juror_raw

    proposal_index = {p: i for i, p in enumerate(proposal_ids)}
    adjusted = scores.copy()
    by_proposal: dict[int, dict[int, float]] = {}
    for o in overrides:
        row = proposal_index.get(o.proposal_id)
        col = column.get(o.criterion_id)
        where = f"override for proposal {o.proposal_id}, criterion {o.criterion_id}"
        if row is None:
            problems.append(f"{where}: the proposal has no reviews")
            continue
        if col is None:
            problems.append(f"{where}: no such criterion")
            continue
        c = criteria[col]
        x = float(o.score)
        if not (math.isfinite(x) and c.scale_min <= x <= c.scale_max):
            problems.append(f"{where}: {o.score} is outside the scale")
            continue
        if col in by_proposal.get(row, {}):
            problems.append(f"{where}: given twice")
            continue
        by_proposal.setdefault(row, {})[col] = x
    if problems:
        raise InvalidRankingInput(problems)

    count = np.bincount(proposal, minlength=len(proposal_ids)).astype(np.int64)
    start = np.zeros(len(proposal_ids), dtype=np.int64)
    np.cumsum(count[:-1], out=start[1:])
    for p, fixed in by_proposal.items():
        for k, x in fixed.items():
            adjusted[start[p] : start[p] + count[p], k] = x

    weights = np.array([float(c.weight) for c in criteria])
    weights = weights / weights.sum()
    scale_range = float(
        weights @ np.array([float(c.scale_max) - float(c.scale_min) for c in criteria])
    )
    return _Data(
        criteria=criteria,
        weights=weights,
        scale_range=scale_range,
        proposal_ids=proposal_ids,
        juror_ids=juror_ids,
        proposal=proposal,
        juror=juror,
        scores=scores,
        adjusted=adjusted,
        confidence=confidence,
        start=start,
        count=count,
        overrides=by_proposal,
    )


# --- aggregation -------------------------------------------------------------------------------


def _group_mean(data: _Data, values: FloatArray) -> FloatArray:
    """Per proposal, the (confidence-weighted) mean of per-review values (1-D or reviews × k)."""
    w = data.confidence if values.ndim == 1 else data.confidence[:, None]
    num = np.add.reduceat(w * values, data.start, axis=0)
    den = np.add.reduceat(w, data.start, axis=0)
    result: FloatArray = num / den
    return result


def _criterion_stats(data: _Data) -> tuple[FloatArray, FloatArray]:
    """Per proposal and criterion: the mean (overrides applied) and the sample std (NaN if n<2)."""
    means = _group_mean(data, data.scores)
    plain_means = np.add.reduceat(data.scores, data.start, axis=0) / data.count[:, None]
    squares = np.add.reduceat((data.scores - plain_means[data.proposal]) ** 2, data.start, axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        spreads = np.sqrt(squares / (data.count[:, None] - 1))
    spreads[data.count < 2] = np.nan
    for p, fixed in data.overrides.items():
        for k, x in fixed.items():
            means[p, k] = x
    return means, spreads


def _flags(
    data: _Data, totals: FloatArray, options: RankingOptions
) -> tuple[list[list[str]], list[list[Id]]]:
    """Per proposal, its flags and the jurors whose review is an outlier."""
    n = data.count
    mean = np.add.reduceat(totals, data.start) / n
    squares = np.add.reduceat((totals - mean[data.proposal]) ** 2, data.start)
    with np.errstate(invalid="ignore", divide="ignore"):
        spread = np.sqrt(squares / (n - 1))
    disagreement = (n >= 2) & (spread > options.disagreement_share * data.scale_range + _EPS)
    sums = np.add.reduceat(totals, data.start)
    n_r = n[data.proposal]
    with np.errstate(invalid="ignore", divide="ignore"):
        others = (sums[data.proposal] - totals) / (n_r - 1)
    outlier = (n_r >= 3) & (
        np.abs(totals - others) > options.outlier_share * data.scale_range + _EPS
    )
    flags: list[list[str]] = [[] for _ in range(data.n_proposals)]
    outliers: list[list[Id]] = [[] for _ in range(data.n_proposals)]
    for p in np.flatnonzero(n < options.min_reviews).tolist():
        flags[p].append("few reviews")
    for p in np.flatnonzero(disagreement).tolist():
        flags[p].append("disagreement")
    for r in np.flatnonzero(outlier).tolist():
        juror_id = data.juror_ids[int(data.juror[r])]
        flags[int(data.proposal[r])].append(f"outlier juror {juror_id}")
        outliers[int(data.proposal[r])].append(juror_id)
    return flags, outliers


def _below_thresholds(
    data: _Data, means: FloatArray, weighted_total: FloatArray, options: RankingOptions
) -> list[list[str]]:
    below: list[list[str]] = [[] for _ in range(data.n_proposals)]
    for k, c in enumerate(data.criteria):
        if c.threshold is None:
            continue
        t = float(c.threshold)
        for p in np.flatnonzero(means[:, k] < t - _EPS).tolist():
            below[p].append(f"{c.label} mean {means[p, k]:.2f} < threshold {t:g}")
    if options.overall_threshold is not None:
        t = float(options.overall_threshold)
        for p in np.flatnonzero(weighted_total < t - _EPS).tolist():
            below[p].append(f"overall weighted total {weighted_total[p]:.2f} < threshold {t:g}")
    return below


# --- methods -----------------------------------------------------------------------------------


def _posterior_draws(
    data: _Data, values: FloatArray, draws: int, rng: np.random.Generator
) -> tuple[FloatArray, dict[str, float | int | str]]:
    """Draws × proposals of each proposal's true score, and the variances used.

    A normal model fitted to the data (empirical Bayes): a review's value is the proposal's
    quality plus noise, quality ~ N(μ, τ²) over proposals, noise ~ N(0, σ²/confidence). σ² is
    the pooled variance within proposals (unbiased under the model), μ and τ² come from the
    proposals' means by the method of moments; each is at least 1 % of the scale's range. The
    draws come from the exact posterior of each quality. A bootstrap of three reviews cannot
    see the spread it resamples from, so its intervals held the truth far less often than
    they claimed (REFERENCES.md, "Scores, calibration, ranking")."""
    n = data.n_proposals
    w = data.confidence
    weight = np.add.reduceat(w, data.start)
    mean = np.add.reduceat(w * values, data.start) / weight
    floor = (0.01 * max(data.scale_range, _EPS)) ** 2
    df = int((data.count - 1).sum())
    if df > 0:
        sigma2 = float((w * (values - mean[data.proposal]) ** 2).sum() / df)
    else:
        sigma2 = float(values.var(ddof=1)) if len(values) >= 2 else floor
    sigma2 = max(sigma2, floor)
    mu = float(mean.mean())
    tau2 = float(mean.var(ddof=1) - np.mean(sigma2 / weight)) if n >= 2 else floor
    tau2 = max(tau2, floor)
    posterior_var = 1.0 / (1.0 / tau2 + weight / sigma2)
    posterior_mean = posterior_var * (mu / tau2 + weight * mean / sigma2)
    out: FloatArray = posterior_mean + np.sqrt(posterior_var) * rng.standard_normal((draws, n))
    return out, {"sigma_noise": sigma2**0.5, "sigma_quality": tau2**0.5, "prior_mean": mu}


def _ranks_per_draw(draws: FloatArray) -> FloatArray:
    """Draws × proposals: each draw's ranks, 1 = best, tied places averaged."""
    ranks = np.empty_like(draws)
    chunk = max(1, _BOOTSTRAP_CELLS // max(draws.shape[1], 1))
    # scipy.stats takes about a second to load; only computing a ranking needs it.
    from scipy.stats import rankdata  # type: ignore[import-untyped]

    for d0 in range(0, len(draws), chunk):  # in chunks: rankdata copies its input several times
        ranks[d0 : d0 + chunk] = rankdata(-draws[d0 : d0 + chunk], method="average", axis=1)
    return ranks


def _standardise_per_juror(data: _Data, totals: FloatArray) -> tuple[FloatArray, float, float]:
    """Per review, the juror-standardised total put back on the scale of all totals."""
    n_j = np.bincount(data.juror, minlength=len(data.juror_ids))
    mean_j = np.bincount(data.juror, totals, minlength=len(data.juror_ids)) / n_j
    dev = totals - mean_j[data.juror]
    squares = np.bincount(data.juror, dev**2, minlength=len(data.juror_ids))
    with np.errstate(invalid="ignore", divide="ignore"):
        std_j = np.sqrt(squares / (n_j - 1))
    usable = (n_j >= 2) & (std_j > _EPS * max(data.scale_range, 1.0))
    z = np.zeros_like(totals)
    ok = usable[data.juror]
    z[ok] = dev[ok] / std_j[data.juror[ok]]
    overall_mean = float(totals.mean())
    overall_std = float(totals.std(ddof=1)) if len(totals) >= 2 else 0.0
    return overall_mean + overall_std * z, overall_mean, overall_std


@dataclass(frozen=True)
class _BiasFit:
    quality: FloatArray
    quality_draws: FloatArray
    bias: FloatArray
    bias_draws: FloatArray
    parameters: dict[str, float | int | str]


def _pooled_within(groups: IntArray, n_groups: int, values: FloatArray) -> float | None:
    """Pooled within-group sample variance; None when no group has two values."""
    n = np.bincount(groups, minlength=n_groups)
    dof = int((n - 1).clip(min=0).sum())
    if dof == 0:
        return None
    mean = np.bincount(groups, values, minlength=n_groups)[groups] / n[groups]
    return float(((values - mean) ** 2).sum() / dof)


def _fit_bias_model(
    data: _Data, totals: FloatArray, options: RankingOptions, rng: np.random.Generator
) -> _BiasFit:
    """quality + bias + noise, MAP by damped LSQR, posterior draws by perturb-and-MAP."""
    # SciPy is imported where it is used: web processes that only read stored rankings never
    # load it (it costs each of them about 50 MB).
    import scipy.sparse as sp  # type: ignore[import-untyped]
    from scipy.sparse.csgraph import connected_components  # type: ignore[import-untyped]
    from scipy.sparse.linalg import LinearOperator, lsqr  # type: ignore[import-untyped]

    n_p, n_j, n_r = data.n_proposals, len(data.juror_ids), len(totals)
    omega = data.confidence / data.confidence.mean()
    root = np.sqrt(omega)
    prior_mean = float((omega * totals).sum() / omega.sum())
    centred = totals - prior_mean
    rows = np.concatenate([np.arange(n_r), np.arange(n_r)])
    cols = np.concatenate([data.proposal, n_p + data.juror])
    floor = _SIGMA_FLOOR_SHARE * max(data.scale_range, _EPS)

    # σ from the residuals of the plain least-squares fit of the same model.
    design = sp.csr_matrix((np.concatenate([root, root]), (rows, cols)), shape=(n_r, n_p + n_j))
    graph = sp.coo_matrix((np.ones(n_r), (data.proposal, n_p + data.juror)), (n_p + n_j,) * 2)
    groups = int(connected_components(graph, directed=False)[0])
    dof = n_r - (n_p + n_j - groups)
    within_p = _pooled_within(data.proposal, n_p, totals)
    within_j = _pooled_within(data.juror, n_j, totals)
    total_var = float(totals.var(ddof=1)) if n_r >= 2 else None
    if dof > 0:
        plain = lsqr(design, root * centred, atol=_LSQR_TOL, btol=_LSQR_TOL)[0]
        residual = root * centred - design @ plain
        noise_var = float(residual @ residual) / dof
        noise_source = "residuals"
    elif within_p is not None and within_j is not None and total_var is not None:
        noise_var = within_p + within_j - total_var
        noise_source = "moments"
    else:
        noise_var = floor**2
        noise_source = "floor"
    sigma = max(math.sqrt(max(noise_var, 0.0)), floor)

    def moment(within: float | None) -> float:
        base = within if within is not None else total_var
        return max(math.sqrt(max(base - sigma**2, 0.0)), floor) if base is not None else floor

    sigma_b = options.sigma_bias or moment(within_p)
    sigma_q = options.sigma_quality or moment(within_j)

    # Standardised unknowns x = (quality - mean) / σ_q, bias / σ_b, each with an N(0, 1) prior:
    # min ‖A x − y‖² + ‖x‖² is the negative log posterior.
    scale = np.concatenate([np.full(n_r, sigma_q), np.full(n_r, sigma_b)]) / sigma
    a = sp.csr_matrix((np.concatenate([root, root]) * scale, (rows, cols)), shape=(n_r, n_p + n_j))
    y = root * centred / sigma
    a_t = a.T.tocsr()  # LSQR's products with Aᵀ run faster on a row-major copy
    operator = LinearOperator(a.shape, matvec=a.dot, rmatvec=a_t.dot, dtype=np.float64)
    solution = lsqr(operator, y, damp=1.0, atol=_LSQR_TOL, btol=_LSQR_TOL)
    x_map = solution[0]
    samples = np.empty((options.draws, n_p + n_j))
    for d in range(options.draws):
        data_noise = rng.standard_normal(n_r)
        prior_draw = rng.standard_normal(n_p + n_j)
        # Substituting x = prior_draw + z keeps the solver's damping centred at 0.
        perturbed = y + data_noise - a @ prior_draw
        z = lsqr(operator, perturbed, damp=1.0, atol=_LSQR_TOL, btol=_LSQR_TOL)
        samples[d] = prior_draw + z[0]
    parameters: dict[str, float | int | str] = {
        "prior_mean": prior_mean,
        "sigma_quality": sigma_q,
        "sigma_bias": sigma_b,
        "sigma_noise": sigma,
        "sigma_noise_from": noise_source,
        "residual_dof": dof,
        "graph_components": groups,
        "lsqr_iterations": int(solution[2]),
    }
    return _BiasFit(
        quality=prior_mean + sigma_q * x_map[:n_p],
        quality_draws=prior_mean + sigma_q * samples[:, :n_p],
        bias=sigma_b * x_map[n_p:],
        bias_draws=sigma_b * samples[:, n_p:],
        parameters=parameters,
    )


# --- order and output --------------------------------------------------------------------------


def _order(
    data: _Data, score: FloatArray, means: FloatArray, tie_rule: tuple[Id, ...]
) -> tuple[list[int], list[str | None]]:
    """Proposal indices best first, and per proposal the rule that broke its tie (or None)."""
    column = {c.id: k for k, c in enumerate(data.criteria)}
    rule_columns = [column[k] for k in tie_rule]
    labels = [f"higher mean on {data.criteria[k].label}" for k in rule_columns]
    labels.append("lower proposal id")
    rounded = np.round(score, _TIE_DECIMALS).tolist()
    rounded_means = [np.round(means[:, k], _TIE_DECIMALS).tolist() for k in rule_columns]

    def key(p: int) -> tuple[Any, ...]:
        return (
            -rounded[p],
            *(-m[p] for m in rounded_means),
            _id_key(data.proposal_ids[p]),
        )

    keys = [key(p) for p in range(data.n_proposals)]
    order = sorted(range(data.n_proposals), key=keys.__getitem__)

    def decider(a: int, b: int) -> str:
        for i, (x, y) in enumerate(zip(keys[a][1:], keys[b][1:], strict=True)):
            if x != y:
                return labels[i]
        raise AssertionError("proposal ids are unique")

    broken: list[str | None] = [None] * data.n_proposals
    for i, p in enumerate(order):
        if i > 0 and rounded[order[i - 1]] == rounded[p]:
            broken[p] = decider(order[i - 1], p)
        elif i + 1 < len(order) and rounded[order[i + 1]] == rounded[p]:
            broken[p] = decider(p, order[i + 1])
    return order, broken


def _assemble(
    data: _Data,
    *,
    order: list[int],
    means: FloatArray,
    spreads: FloatArray,
    weighted_total: FloatArray,
    score: FloatArray,
    rank: IntArray,
    tie_broken_by: list[str | None],
    expected_rank: FloatArray,
    score_interval: tuple[FloatArray, FloatArray],
    rank_interval: tuple[IntArray, IntArray],
    below: list[list[str]],
    flags: list[list[str]],
    outliers: list[list[Id]],
) -> tuple[RankedProposal, ...]:
    criterion_ids = [c.id for c in data.criteria]
    means_l, spreads_l = means.tolist(), spreads.tolist()
    total_l, score_l, rank_l = weighted_total.tolist(), score.tolist(), rank.tolist()
    er_l, count_l = expected_rank.tolist(), data.count.tolist()
    s_lo, s_hi = score_interval[0].tolist(), score_interval[1].tolist()
    r_lo, r_hi = rank_interval[0].tolist(), rank_interval[1].tolist()
    result = []
    for p in order:
        result.append(
            RankedProposal(
                proposal_id=data.proposal_ids[p],
                n_reviews=count_l[p],
                criterion_means=MappingProxyType(dict(zip(criterion_ids, means_l[p], strict=True))),
                criterion_spreads=MappingProxyType(
                    {
                        k: (None if math.isnan(s) else s)
                        for k, s in zip(criterion_ids, spreads_l[p], strict=True)
                    }
                ),
                weighted_total=total_l[p],
                score=score_l[p],
                rank=rank_l[p],
                tie_broken_by=tie_broken_by[p],
                expected_rank=er_l[p],
                score_interval=(s_lo[p], s_hi[p]),
                rank_interval=(r_lo[p], r_hi[p]),
                fundable=not below[p],
                below_thresholds=tuple(below[p]),
                flags=tuple(flags[p]),
                outlier_jurors=tuple(outliers[p]),
                overridden=tuple(criterion_ids[k] for k in sorted(data.overrides.get(p, {}))),
            )
        )
    return tuple(result)


# --- helpers -----------------------------------------------------------------------------------


def _id_key(value: Id) -> tuple[int, int, str]:
    """Ids in order: numbers numerically, then text; mixed kinds never compare int with str."""
    return (0, value, "") if isinstance(value, int) else (1, 0, str(value))


def _finite(*values: float) -> bool:
    try:
        return all(math.isfinite(float(v)) for v in values)
    except (TypeError, ValueError):
        return False


def _float_or_none(value: float | None) -> float | None:
    return None if value is None else float(value)


def _options_json(options: RankingOptions) -> dict[str, Any]:
    return {
        "method": options.method,
        "confidence_weighted": options.confidence_weighted,
        "overall_threshold": _float_or_none(options.overall_threshold),
        "tie_rule": list(options.tie_rule),
        "draws": options.draws,
        "seed": options.seed,
        "min_reviews": options.min_reviews,
        "disagreement_share": float(options.disagreement_share),
        "outlier_share": float(options.outlier_share),
        "interval": float(options.interval),
        "sigma_quality": _float_or_none(options.sigma_quality),
        "sigma_bias": _float_or_none(options.sigma_bias),
    }


def _proposal_json(p: RankedProposal) -> dict[str, Any]:
    return {
        "proposal_id": p.proposal_id,
        "n_reviews": p.n_reviews,
        "criterion_means": [[k, v] for k, v in p.criterion_means.items()],
        "criterion_spreads": [[k, v] for k, v in p.criterion_spreads.items()],
        "weighted_total": p.weighted_total,
        "score": p.score,
        "rank": p.rank,
        "tie_broken_by": p.tie_broken_by,
        "expected_rank": p.expected_rank,
        "score_interval": list(p.score_interval),
        "rank_interval": list(p.rank_interval),
        "fundable": p.fundable,
        "below_thresholds": list(p.below_thresholds),
        "flags": list(p.flags),
        "outlier_jurors": list(p.outlier_jurors),
        "overridden": list(p.overridden),
    }


def _canonical(document: Any) -> str:
    return json.dumps(
        document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


# --- the record's notes, for readers ------------------------------------------------------------

# A ranking's results are hashed and verified as they were written, so their notes stay the
# English the engine wrote; readers get them in their own language through these patterns.
_NOTES: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], Text]], ...] = (
    (
        re.compile(r"^overall weighted total (?P<total>-?[\d.]+) < threshold (?P<threshold>\S+)$"),
        lambda m: N_(
            "overall weighted total %(total)s < threshold %(threshold)s",
            total=_decimal(m["total"]),
            threshold=_decimal(m["threshold"]),
        ),
    ),
    (
        re.compile(r"^(?P<criterion>.+) mean (?P<mean>-?[\d.]+) < threshold (?P<threshold>\S+)$"),
        lambda m: N_(
            "%(criterion)s mean %(mean)s < threshold %(threshold)s",
            criterion=m["criterion"],
            mean=_decimal(m["mean"]),
            threshold=_decimal(m["threshold"]),
        ),
    ),
    (re.compile(r"^few reviews$"), lambda m: N_("few reviews")),
    (re.compile(r"^disagreement$"), lambda m: N_("disagreement")),
    (
        re.compile(r"^outlier juror (?P<juror>.+)$"),
        lambda m: N_("outlier juror %(juror)s", juror=m["juror"]),
    ),
    (
        re.compile(r"^higher mean on (?P<criterion>.+)$"),
        lambda m: N_("higher mean on %(criterion)s", criterion=m["criterion"]),
    ),
    (re.compile(r"^lower proposal id$"), lambda m: N_("lower proposal id")),
)


def note_text(note: str) -> Text:
    """A note of a ranking's record (a flag, a threshold missed, the rule that broke a tie) as
    a text to translate; a note of another form is kept as written."""
    for pattern, text in _NOTES:
        found = pattern.match(note)
        if found:
            return text(found)
    return Text(note)


def _decimal(value: str) -> Decimal | str:
    try:
        return Decimal(value)
    except ArithmeticError:
        return value
