"""Ranking methods on synthetic reviews whose truth is known. See bench/README.md.

The data: proposals with a true quality on four criteria, jurors with a known harshness (bias)
and a known noise level, three reviews per proposal by randomly chosen jurors (each juror 7 or 8
reviews), scores 0–5 in half points. For each method (raw, zscore, bias_model) one call of
``rank_proposals`` with ``draws`` uncertainty draws, timed, with its peak memory, and the
Spearman rank correlation of its score with the true quality.

Each method runs in a fresh child process that builds the same data from the seed, so that its
memory figure is its own. Peak memory is the peak resident set size of that process during the
call (VmHWM from /proc/self/status, reset just before the call through /proc/self/clear_refs;
where that is not possible, ru_maxrss of the child, which then includes building the data). It
includes the interpreter, NumPy, SciPy and the input objects (reported as "before").

Run from the repository root: ``.venv/bin/python bench/ranking.py --quick``. The last line of the
output holds the figures as key=value pairs.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
from scipy.stats import pearsonr, spearmanr

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from competition.core.ranking import (  # noqa: E402
    Criterion,
    RankingOptions,
    ReviewScores,
    rank_proposals,
)
from competition.core.selection import Candidate, MinimumCount, merit_order_line  # noqa: E402

METHODS = ("raw", "zscore", "bias_model")
CRITERIA = (
    Criterion(1, 0.4, 0, 5, 3, "Excellence"),
    Criterion(2, 0.3, 0, 5, 3, "Impact"),
    Criterion(3, 0.2, 0, 5, 3, "Implementation"),
    Criterion(4, 0.1, 0, 5, None, "Consortium"),
)


@dataclass(frozen=True)
class Size:
    proposals: int
    jurors: int
    per_proposal: int = 3


SIZES = {"quick": Size(2_000, 800), "full": Size(20_000, 8_000)}
# The synthetic truth: quality ~ N(3, 0.6) per proposal, criteria spread ±0.3 around it, juror
# harshness ~ N(0, 0.4), each juror's noise level (standard deviation of a score) from [0.3, 0.7].
QUALITY_MEAN, QUALITY_SD, CRITERION_SD = 3.0, 0.6, 0.3
BIAS_SD, NOISE_RANGE = 0.4, (0.3, 0.7)
# Share of a score's noise variance common to all criteria of the review.
HALO = 0.7


@dataclass(frozen=True)
class Synthetic:
    reviews: list[ReviewScores]
    quality: np.ndarray  # per proposal: the weighted true quality
    bias: np.ndarray  # per juror


def assign(size: Size, rng: np.random.Generator) -> np.ndarray:
    """proposals × per_proposal juror indices; loads differ by at most one; no juror twice."""
    seats = size.proposals * size.per_proposal
    loads = np.full(size.jurors, seats // size.jurors)
    loads[: seats % size.jurors] += 1
    slots = np.repeat(np.arange(size.jurors), loads)
    rng.shuffle(slots)
    table = slots.reshape(size.proposals, size.per_proposal)
    ordered = np.sort(table, axis=1)
    for p in np.flatnonzero((ordered[:, 1:] == ordered[:, :-1]).any(axis=1)).tolist():
        # Swap a repeated seat with a random seat elsewhere that repeats nobody in either row.
        for s in range(1, size.per_proposal):
            while table[p, s] in table[p, :s]:
                q, t = int(rng.integers(size.proposals)), int(rng.integers(size.per_proposal))
                if table[q, t] not in table[p] and table[p, s] not in table[q]:
                    table[p, s], table[q, t] = table[q, t], table[p, s]
    return table


def synthetic(size: Size, seed: int) -> Synthetic:
    rng = np.random.default_rng(seed)
    weights = np.array([c.weight for c in CRITERIA]) / sum(c.weight for c in CRITERIA)
    base = rng.normal(QUALITY_MEAN, QUALITY_SD, size.proposals)
    true = base[:, None] + rng.normal(0, CRITERION_SD, (size.proposals, len(CRITERIA)))
    bias = rng.normal(0, BIAS_SD, size.jurors)
    noise = rng.uniform(*NOISE_RANGE, size.jurors)
    table = assign(size, rng)
    proposal = np.repeat(np.arange(size.proposals), size.per_proposal)
    juror = table.ravel()
    # Halo: most of a review's error is shared by its criteria (one overall impression).
    common = rng.standard_normal((len(juror), 1))
    own = rng.standard_normal((len(juror), len(CRITERIA)))
    error = noise[juror, None] * (HALO**0.5 * common + (1 - HALO) ** 0.5 * own)
    raw = true[proposal] + bias[juror, None] + error
    scores = np.clip(np.round(raw * 2) / 2, 0, 5).tolist()
    ids = [c.id for c in CRITERIA]
    reviews = [
        ReviewScores(f"P{p:05d}", f"J{j:05d}", dict(zip(ids, row, strict=True)))
        for p, j, row in zip(proposal.tolist(), juror.tolist(), scores, strict=True)
    ]
    return Synthetic(reviews, true @ weights, bias)


def _status_mb(field: str) -> float | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def _reset_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def run_method(method: str, size_name: str, seed: int, draws: int) -> dict[str, Any]:
    size = SIZES[size_name]
    data = synthetic(size, seed)
    options = RankingOptions(method=method, draws=draws, seed=seed)
    before = _status_mb("VmRSS")
    reset = _reset_peak()
    t0 = time.perf_counter()
    ranking = rank_proposals(CRITERIA, data.reviews, options=options)
    seconds = time.perf_counter() - t0
    peak = _status_mb("VmHWM") if reset else None
    memory_source = "VmHWM"
    if peak is None:
        peak, memory_source = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "ru_maxrss"
    by_id = {p.proposal_id: p for p in ranking.proposals}
    ordered = [by_id[f"P{p:05d}"] for p in range(size.proposals)]
    score = np.array([p.score for p in ordered])
    expected = np.array([p.expected_rank for p in ordered])
    contains = np.mean(
        [
            p.rank_interval[0] <= r <= p.rank_interval[1]
            for p, r in zip(ordered, true_ranks(data), strict=True)
        ]
    )
    result: dict[str, Any] = {
        "method": method,
        "seconds": seconds,
        "peak_mb": peak,
        "before_mb": before,
        "memory": memory_source,
        "spearman": float(spearmanr(score, data.quality).statistic),
        "spearman_expected_rank": float(spearmanr(-expected, data.quality).statistic),
        "true_rank_in_interval": float(contains),
    }
    if ranking.juror_biases:
        est = np.array([b.bias for b in ranking.juror_biases])  # juror id order = index order
        truth = data.bias - data.bias.mean()
        result["bias_corr"] = float(pearsonr(est, truth).statistic)
        result["bias_mae"] = float(np.abs(est - truth).mean())
        result["sigma_bias"] = ranking.parameters["sigma_bias"]
        result["sigma_quality"] = ranking.parameters["sigma_quality"]
        result["sigma_noise"] = ranking.parameters["sigma_noise"]
    return result


def true_ranks(data: Synthetic) -> list[int]:
    order = np.argsort(-data.quality, kind="stable")
    ranks = np.empty(len(order), dtype=np.int64)
    ranks[order] = np.arange(1, len(order) + 1)
    return ranks.tolist()


def time_funding_line(proposals: int, seed: int) -> dict[str, Any]:
    """The merit-order line over every proposal, with and without two minimum-count
    constraints: requests of 8–45 M€, a budget for about one proposal in twenty."""
    rng = np.random.default_rng(seed)
    requested = rng.integers(8_000, 45_001, size=proposals) * 1000
    eastern = rng.random(proposals) < 0.2
    sme = rng.random(proposals) < 0.5
    candidates = [
        Candidate(
            proposal_id=i,
            rank=i + 1,
            score=float(proposals - i),
            requested=Decimal(int(requested[i])),
            fundable=bool(i % 17),
            attributes=frozenset(a for a, on in (("eastern", eastern[i]), ("sme", sme[i])) if on),
        )
        for i in range(proposals)
    ]
    budget = Decimal(int(requested.mean() * proposals / 20))
    constraints = (MinimumCount("eastern", proposals // 40), MinimumCount("sme", proposals // 40))
    start = time.perf_counter()
    plain = merit_order_line(candidates, budget, reserve_size=10)
    plain_s = time.perf_counter() - start
    start = time.perf_counter()
    constrained = merit_order_line(candidates, budget, reserve_size=10, constraints=constraints)
    constrained_s = time.perf_counter() - start
    return {
        "seconds": plain_s,
        "constrained_seconds": constrained_s,
        "funded": len(plain.funded),
        "funded_constrained": len(constrained.funded),
        "budget": budget,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="2,000 proposals instead of 20,000")
    parser.add_argument("--seed", type=int, default=20260501)
    parser.add_argument("--draws", type=int, default=200)
    parser.add_argument("--only", choices=METHODS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    size_name = "quick" if args.quick else "full"
    if args.only:
        print(json.dumps(run_method(args.only, size_name, args.seed, args.draws)))
        return 0

    print("$ " + shlex.join([".venv/bin/python", "bench/ranking.py", *sys.argv[1:]]))
    size = SIZES[size_name]
    reviews = size.proposals * size.per_proposal
    print(
        f"{size.proposals:,} proposals × {size.per_proposal} reviews = {reviews:,} reviews, "
        f"{size.jurors:,} jurors ({reviews / size.jurors:.1f} reviews each), "
        f"{len(CRITERIA)} criteria 0–5 in half points, draws={args.draws}, seed={args.seed}, "
        f"{os.cpu_count()} CPUs"
    )
    print(
        f"truth: quality N({QUALITY_MEAN}, {QUALITY_SD}), criteria ±{CRITERION_SD}, "
        f"juror bias N(0, {BIAS_SD}), juror noise sd U{NOISE_RANGE}, {HALO:.0%} of it shared "
        "by a review's criteria"
    )
    results = {}
    for method in METHODS:
        command = [sys.executable, __file__, "--only", method, "--seed", str(args.seed)]
        command += ["--draws", str(args.draws)] + (["--quick"] if args.quick else [])
        child = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
        if child.returncode != 0:
            print(child.stdout + child.stderr, file=sys.stderr)
            return 2
        results[method] = json.loads(child.stdout.strip().splitlines()[-1])

    print()
    heads = ["method", "seconds", "peak MB", "before MB", "spearman", "ER spearman"]
    heads += ["true rank in 90% interval"]
    rows = [
        [
            m,
            f"{r['seconds']:.2f}",
            f"{r['peak_mb']:.0f}",
            f"{r['before_mb']:.0f}" if r["before_mb"] is not None else "-",
            f"{r['spearman']:.4f}",
            f"{r['spearman_expected_rank']:.4f}",
            f"{r['true_rank_in_interval']:.1%}",
        ]
        for m, r in results.items()
    ]
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(heads)]
    print("  ".join(h.rjust(w) for h, w in zip(heads, widths, strict=True)))
    for row in rows:
        print("  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)))
    bm = results["bias_model"]
    line = time_funding_line(size.proposals, args.seed)
    print()
    print(
        f"merit-order funding line over {size.proposals:,} proposals, budget "
        f"{line['budget'] / 1_000_000:,.0f} M€: {line['funded']} funded in "
        f"{line['seconds']:.3f} s; with two minimum-count constraints "
        f"{line['funded_constrained']} funded in {line['constrained_seconds']:.3f} s"
    )
    print(f"memory: peak resident set size of the method's process ({bm['memory']})")
    print(
        f"bias model: juror bias vs truth r={bm['bias_corr']:.3f}, MAE={bm['bias_mae']:.3f}; "
        f"σ_bias={bm['sigma_bias']:.3f} (true {BIAS_SD}), σ_quality={bm['sigma_quality']:.3f}, "
        f"σ_noise={bm['sigma_noise']:.3f} (on the weighted total)"
    )
    print()
    figures = {
        "proposals": size.proposals,
        "reviews": reviews,
        "jurors": size.jurors,
        "draws": args.draws,
        "spearman_raw": f"{results['raw']['spearman']:.4f}",
        "spearman_zscore": f"{results['zscore']['spearman']:.4f}",
        "spearman_calibrated": f"{bm['spearman']:.4f}",
        "raw_s": f"{results['raw']['seconds']:.2f}",
        "zscore_s": f"{results['zscore']['seconds']:.2f}",
        "bias_model_s": f"{bm['seconds']:.2f}",
        "bias_model_vs_raw_time": f"{bm['seconds'] / results['raw']['seconds']:.2f}",
        "raw_peak_mb": f"{results['raw']['peak_mb']:.0f}",
        "zscore_peak_mb": f"{results['zscore']['peak_mb']:.0f}",
        "bias_model_peak_mb": f"{bm['peak_mb']:.0f}",
        "line_s": f"{line['seconds']:.3f}",
        "line_constrained_s": f"{line['constrained_seconds']:.3f}",
        "bias_corr": f"{bm['bias_corr']:.3f}",
        "bias_mae": f"{bm['bias_mae']:.3f}",
    }
    print(" ".join(f"{k}={v}" for k, v in figures.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
