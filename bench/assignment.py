"""Reviewer assignment at the size of the demo and far beyond. See bench/README.md.

For each instance, on synthetic data (topics, text similarity, bids, organisations, sectors,
about 1 % conflicts from organisations in the consortia plus a few declared ones):

1. build: the inputs the database would supply (jurors, proposals, conflicts as arrays, the
   affinity model), then one pass over all pairs that scores them block by block and keeps the
   candidate set (each proposal's best jurors, each juror's best proposals):
   ``candidate_pairs``.
2. solve: ``solve(problem, candidates=...)``: min-cost flow on the candidates, then the proof
   that no pair outside them could improve the total (a second pass over all pairs).
3. store: the rows an operation would insert, as tuples and as CSV text in memory (what a
   ``COPY ... FROM STDIN`` would send); no database is contacted.
4. greedy: the plain greedy assignment on the same candidates, for the ratio of totals.

Then an independent check of the result: no conflict assigned, every proposal has its seats,
every load within [min, max], one juror per organisation, the non-academic seats.

One more instance, "demo-app", is the real demo competition run through the application as an
officer would: a fresh SQLite database (migrations, then the demo seed), the round-1 outline stage
(137 outlines, 58 accepted jurors, 4 per proposal), ``runs.start_run`` with the default options
and the task in-process (no Redis). Its phases are the run's own timings (reading the database
and building the affinities, solving, storing the rows); it is checked from the stored rows.

Each instance runs in a fresh child process so that its memory figures are its own. Peak memory
per phase is the peak resident set size of that process (VmHWM from /proc, reset before each
phase through /proc/self/clear_refs), so it includes the interpreter, numpy and OR-Tools.

Run from the repository root: ``.venv/bin/python bench/assignment.py --quick``. The last line
of the output holds the figures as key=value pairs.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import io
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from competition.core.assignment import (  # noqa: E402
    Assignment,
    Juror,
    PairArrays,
    Problem,
    Proposal,
    candidate_pairs,
    greedy,
    solve,
)


@dataclass(frozen=True)
class Size:
    name: str
    proposals: int
    jurors: int
    seats: int
    max_load: tuple[int, int]  # drawn uniformly from [lo, hi]
    min_load: int
    topics: int
    candidates: int = 50
    # Also solve in fairness mode (the weakest pair first) and report what it changes.
    fairness: bool = True


SIZES = {
    # The reference competition: 254 outlines, 60 jurors, 4 per proposal.
    "demo": Size("demo", 254, 60, 4, (18, 22), 12, 20),
    "medium": Size("medium", 2_000, 600, 3, (10, 14), 4, 40),
    "large": Size("large", 20_000, 8_000, 3, (7, 9), 5, 80, fairness=False),
}
QUICK = ("demo", "medium")
FULL = ("demo", "medium", "large")
# The demo competition through the application (run_demo_app); in both modes, last.
DEMO_APP = "demo-app"

ORG_POOL = 400  # organisations that appear in consortia or employ jurors
CONSORTIUM = 4  # organisations per consortium: 4 / 400 = 1 % of pairs in conflict
SECTOR_SHARES = {"academia": 0.6, "industry": 0.3, "other": 0.1}
EMBEDDING_DIM = 16


# --- synthetic data ----------------------------------------------------------------------------


class Affinity:
    """0.5 × topic overlap (share of the proposal's topics the juror covers) + 0.3 × text
    similarity ((1 + cosine) / 2 of profile embeddings) + 0.2 × bid (1 eager, 0.5 willing).
    Scores a block of proposals against all jurors with one matrix product; a pure function of
    the ids, as ScoreRows requires. Proposal and juror ids are 1..P and 1..J."""

    def __init__(
        self,
        p_features: np.ndarray,
        j_features: np.ndarray,
        bid_keys: np.ndarray,
        bid_values: np.ndarray,
        n_jurors: int,
    ) -> None:
        self.p_features = p_features
        self.j_features_t = np.ascontiguousarray(j_features.T)
        self.bid_keys = bid_keys
        self.bid_values = bid_values
        self.n_jurors = n_jurors

    def __call__(self, proposal_ids: np.ndarray, juror_ids: np.ndarray) -> np.ndarray:
        p = proposal_ids - 1
        j = juror_ids - 1
        scores = (self.p_features[p] @ self.j_features_t[:, j]).astype(np.float64)
        J = self.n_jurors
        # Bids of these proposals (ids are consecutive within a block, but need not be).
        lo = np.searchsorted(self.bid_keys, p.min() * J)
        hi = np.searchsorted(self.bid_keys, (p.max() + 1) * J)
        keys, values = self.bid_keys[lo:hi], self.bid_values[lo:hi]
        rows = np.searchsorted(p, keys // J)
        ok = (rows < p.size) & (p[np.minimum(rows, p.size - 1)] == keys // J)
        cols = np.searchsorted(j, keys % J)
        ok &= (cols < j.size) & (j[np.minimum(cols, j.size - 1)] == keys % J)
        scores[rows[ok], cols[ok]] += 0.2 * values[ok]
        np.clip(scores, 0.0, 1.0, out=scores)
        return scores


@dataclass
class Instance:
    size: Size
    problem: Problem
    conflict_keys: np.ndarray  # (p_index * J + j_index), sorted


def make_instance(size: Size, seed: int) -> Instance:
    rng = np.random.default_rng(seed)
    P, J, T = size.proposals, size.jurors, size.topics
    # Topics: proposals 1-3, jurors 2-5, some topics more popular than others (weighted
    # sampling without replacement by the Gumbel top-k trick).
    popularity = np.log(rng.dirichlet(np.full(T, 2.0)) + 1e-12)

    def topics(n: int, lo: int, hi: int) -> np.ndarray:
        order = np.argsort(-(popularity + rng.gumbel(size=(n, T))), axis=1)
        counts = rng.integers(lo, hi + 1, n)
        chosen = np.zeros((n, T), dtype=np.float32)
        rows = np.repeat(np.arange(n), counts)
        ranks = np.arange(rows.size) - np.repeat(np.cumsum(counts) - counts, counts)
        chosen[rows, order[rows, ranks]] = 1.0
        return chosen

    pt = topics(P, 1, 3)
    jt = topics(J, 2, 5)
    centroids = rng.normal(size=(T, EMBEDDING_DIM))
    pe = pt @ centroids / pt.sum(1, keepdims=True) + 0.8 * rng.normal(size=(P, EMBEDDING_DIM))
    je = jt @ centroids / jt.sum(1, keepdims=True) + 0.8 * rng.normal(size=(J, EMBEDDING_DIM))
    pe /= np.linalg.norm(pe, axis=1, keepdims=True)
    je /= np.linalg.norm(je, axis=1, keepdims=True)
    p_features = np.hstack(
        [0.5 * pt / pt.sum(1, keepdims=True), 0.15 * pe, np.full((P, 1), 0.15)]
    ).astype(np.float32)
    j_features = np.hstack([jt, je, np.ones((J, 1))]).astype(np.float32)

    # Bids: each juror bids on about twice its maximum load, on proposals of its topics: a
    # random topic of the juror, then a random proposal of that topic, repeated.
    max_load = rng.integers(size.max_load[0], size.max_load[1] + 1, J)
    by_topic_t, by_topic_p = np.nonzero(pt.T)  # (topic, proposal), grouped by topic
    t_start = np.searchsorted(by_topic_t, np.arange(T + 1))
    draws = 2 * int(max_load.max())
    j_topics = np.argsort(-(jt + rng.random(jt.shape)), axis=1)  # the juror's topics first
    pick = (rng.random((J, draws)) * jt.sum(1, keepdims=True)).astype(np.int64)
    topic = np.take_along_axis(j_topics, pick, axis=1)
    size_t = t_start[topic + 1] - t_start[topic]
    prop = by_topic_p[t_start[topic] + (rng.random((J, draws)) * size_t).astype(np.int64)]
    keep = (size_t > 0) & (np.arange(draws)[None, :] < 2 * max_load[:, None])
    bid_keys = np.unique((prop * J + np.arange(J)[:, None])[keep])
    bid_values = np.where(rng.random(bid_keys.size) < 0.6, 1.0, 0.5)
    affinity = Affinity(p_features, j_features, bid_keys, bid_values, J)

    # Organisations: a sector each; jurors belong to one; consortia of CONSORTIUM of them.
    sectors = np.array(list(SECTOR_SHARES))
    org_sector = rng.choice(sectors, ORG_POOL, p=list(SECTOR_SHARES.values()))
    juror_org = rng.integers(0, ORG_POOL, J)
    consortia = np.argpartition(rng.random((P, ORG_POOL)), CONSORTIUM, axis=1)[:, :CONSORTIUM]
    # Conflicts: a juror's organisation is in the consortium, plus one declared per juror.
    order = np.argsort(juror_org, kind="stable")
    starts = np.searchsorted(juror_org[order], np.arange(ORG_POOL + 1))
    sizes = starts[consortia + 1] - starts[consortia]  # (P, CONSORTIUM)
    rows = np.repeat(np.arange(P), sizes.sum(1))
    first = np.repeat(starts[consortia].ravel(), sizes.ravel())
    offs = np.arange(first.size) - np.repeat(
        np.cumsum(sizes.ravel()) - sizes.ravel(), sizes.ravel()
    )
    org_conflicts = rows * J + order[first + offs]
    declared = rng.integers(0, P, J) * J + np.arange(J)
    conflict_keys = np.unique(np.concatenate([org_conflicts, declared]))

    proposals = [Proposal(id=i + 1, seats=size.seats) for i in range(P)]
    jurors = [
        Juror(
            id=j + 1,
            max_load=int(max_load[j]),
            min_load=size.min_load,
            organisation_id=int(juror_org[j]) + 1,
            sector=str(org_sector[juror_org[j]]),  # type: ignore[arg-type]
        )
        for j in range(J)
    ]
    problem = Problem(
        proposals=proposals,
        jurors=jurors,
        affinity=affinity,
        conflicts=PairArrays(conflict_keys // J + 1, conflict_keys % J + 1),
        one_per_organisation=True,
        min_non_academic_seats=1,
        candidates_per_proposal=size.candidates,
    )
    return Instance(size, problem, conflict_keys)


# --- measuring ---------------------------------------------------------------------------------


def _reset_peak() -> None:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def _peak_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


class Phase:
    def __init__(self, figures: dict[str, Any], name: str) -> None:
        self.figures, self.name = figures, name

    def __enter__(self) -> Phase:
        _reset_peak()
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.figures[f"{self.name}_s"] = round(time.perf_counter() - self.t0, 3)
        self.figures[f"{self.name}_mb"] = round(_peak_mb(), 1)


def store_rows(assignment: Assignment, stage_id: int) -> tuple[list[tuple[Any, ...]], str]:
    """The rows of the assignments table an operation would insert, and the CSV a COPY would
    stream."""
    rows = [
        (stage_id, p, j, round(a, 6), "automatic", False)
        for (p, j), a in zip(assignment.pairs, assignment.affinities, strict=True)
    ]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(("stage_id", "proposal_id", "juror_id", "affinity", "method", "released"))
    writer.writerows(rows)
    return rows, out.getvalue()


def verify(inst: Instance, assignment: Assignment) -> dict[str, Any]:
    """Independent of the engine: conflicts, seats, loads, organisations, sectors."""
    problem, J = inst.problem, inst.size.jurors
    pairs = np.array(assignment.pairs, dtype=np.int64).reshape(-1, 2)
    p, j = pairs[:, 0] - 1, pairs[:, 1] - 1
    keys = p * J + j
    conflicts = int(np.isin(keys, inst.conflict_keys).sum())
    seats = np.bincount(p, minlength=inst.size.proposals)
    loads = np.bincount(j, minlength=J)
    max_load = np.array([x.max_load for x in problem.jurors])
    min_load = np.array([x.min_load for x in problem.jurors])
    org = np.array([x.organisation_id for x in problem.jurors])
    nonacad = np.array([x.sector != "academia" for x in problem.jurors])
    org_pairs = p * (ORG_POOL + 1) + org[j]
    return {
        "conflicts_assigned": conflicts,
        "duplicate_pairs": int(keys.size - np.unique(keys).size),
        "seats_ok": bool((seats == inst.size.seats).all()),
        "loads_ok": bool(((loads <= max_load) & (loads >= min_load)).all()),
        "orgs_ok": bool(np.unique(org_pairs).size == org_pairs.size),
        "non_academic_ok": bool(
            (np.bincount(p[nonacad[j]], minlength=inst.size.proposals) >= 1).all()
        ),
    }


def run_instance(name: str, seed: int) -> dict[str, Any]:
    size = SIZES[name]
    figures: dict[str, Any] = {
        "instance": name,
        "proposals": size.proposals,
        "jurors": size.jurors,
        "seats": size.seats,
    }
    with Phase(figures, "build"):
        inst = make_instance(size, seed)
        candidates = candidate_pairs(inst.problem)
    figures["pairs"] = size.proposals * size.jurors
    figures["conflicts"] = int(inst.conflict_keys.size)
    figures["candidates"] = len(candidates)
    with Phase(figures, "solve"):
        result = solve(inst.problem, candidates=candidates)
    with Phase(figures, "store"):
        rows, text = store_rows(result, stage_id=1)
    figures["stored_rows"] = len(rows)
    figures["csv_kb"] = round(len(text) / 1024, 1)
    with Phase(figures, "greedy"):
        base = greedy(inst.problem, candidates=candidates)
    if size.fairness:
        t0 = time.perf_counter()
        fair = solve(dataclasses.replace(inst.problem, fairness=True), candidates=candidates)
        figures["fair_s"] = round(time.perf_counter() - t0, 3)
        figures["fair_optimal"] = fair.optimal
        figures["fair_min_pair_affinity"] = round(fair.min_pair_affinity or 0.0, 3)
        figures["fair_total_vs_plain"] = round(fair.total_affinity / result.total_affinity, 4)
        figures["fair_conflicts_assigned"] = verify(inst, fair)["conflicts_assigned"]
    figures["total_s"] = round(figures["build_s"] + figures["solve_s"] + figures["store_s"], 3)
    figures["peak_mb"] = max(figures["build_mb"], figures["solve_mb"], figures["store_mb"])
    figures["optimal"] = result.optimal
    figures["total_affinity"] = round(result.total_affinity, 3)
    figures["min_pair_affinity"] = round(result.min_pair_affinity or 0.0, 3)
    figures["greedy_affinity"] = round(base.total_affinity, 3)
    figures["greedy_empty_seats"] = size.proposals * size.seats - len(base.pairs)
    figures["greedy_min_pair_affinity"] = round(base.min_pair_affinity or 0.0, 3)
    figures["affinity_vs_greedy"] = round(result.total_affinity / base.total_affinity, 4)
    figures["per_seat_vs_greedy"] = round(
        (result.total_affinity / len(result.pairs)) / (base.total_affinity / len(base.pairs)), 4
    )
    base_loads = np.bincount(np.array([j for _, j in base.pairs]) - 1, minlength=size.jurors)
    figures["greedy_below_min_load"] = int((base_loads < size.min_load).sum())
    figures["speed_vs_greedy"] = round(figures["solve_s"] / max(figures["greedy_s"], 1e-9), 2)
    figures.update(verify(inst, result))
    figures["diagnostics"] = list(result.diagnostics)
    return figures


# --- the demo competition through the application --------------------------------------------


def run_demo_app() -> dict[str, Any]:
    """The round-1 outline stage of the seeded demo, assigned by ``start_run`` as an officer
    starts it: the run reads the database, refreshes the automatic conflicts, builds the
    affinities (topics and TF-IDF text; the demo stage has no bidding), solves and stores the
    rows, in-process right after the commit. Setup (migrations, seeding) is not measured."""
    # Imported here so that the synthetic instances' processes never load Flask.
    import sqlalchemy as sa
    from flask_migrate import upgrade

    from competition import create_app
    from competition.accounts.models import User
    from competition.accounts.passwords import hash_password
    from competition.assignment import runs, stage_problem
    from competition.assignment.models import Assignment as AssignmentRow
    from competition.assignment.models import (
        AssignmentRun,
        Conflict,
        JurorProfile,
        JuryMembership,
        MembershipState,
        RunState,
    )
    from competition.core import assignment as engine
    from competition.db import operation, utcnow
    from competition.demo.seed import seed_demo
    from competition.extensions import db
    from competition.programmes.models import Call
    from competition.proposals.models import Proposal as ProposalRow
    from config.settings import Settings

    figures: dict[str, Any] = {"instance": DEMO_APP}
    with tempfile.TemporaryDirectory(prefix="bench-assignment-") as tmp:
        settings = Settings(
            env="development",
            secret_key="bench-assignment-" + "x" * 32,
            database_url=f"sqlite:///{tmp}/demo.sqlite3",
            redis_url=None,
            tasks_inline=True,  # tasks run in-process, right after the commit that queued them
            demo_mode=True,
            upload_folder=f"{tmp}/uploads",
        )
        app = create_app(settings)
        with app.app_context():
            t0 = time.perf_counter()
            upgrade(directory=str(ROOT / "migrations"))
            operation(seed_demo)(password_hash=hash_password("demo"), now=utcnow())
            figures["setup_s"] = round(time.perf_counter() - t0, 3)

            call = db.session.scalar(sa.select(Call).where(Call.round_number == 1))
            assert call is not None
            stage = call.stages[0]
            officer = db.session.scalar(sa.select(User).where(User.email == "officer@demo.test"))
            assert officer is not None

            # Peak memory per phase: thin wrappers around the run's three steps that reset
            # VmHWM before the step and read it after; they change nothing else.
            overall = [0.0]

            def peak_of(name: str, fn: Any) -> Any:
                def measured(*args: Any, **kwargs: Any) -> Any:
                    overall[0] = max(overall[0], _peak_mb())
                    _reset_peak()
                    try:
                        return fn(*args, **kwargs)
                    finally:
                        figures[f"{name}_mb"] = round(_peak_mb(), 1)
                        overall[0] = max(overall[0], figures[f"{name}_mb"])

                return measured

            with (
                mock.patch.object(stage_problem, "build", peak_of("build", stage_problem.build)),
                mock.patch.object(engine, "solve", peak_of("solve", engine.solve)),
                mock.patch.object(runs, "_store", peak_of("store", runs._store)),
            ):
                _reset_peak()
                t0 = time.perf_counter()
                run_id = runs.start_run(
                    stage, actor=officer, options=stage_problem.Options(), now=utcnow()
                ).id
                figures["seconds"] = round(time.perf_counter() - t0, 3)
                overall[0] = max(overall[0], _peak_mb())
            db.session.expire_all()
            run = db.session.get(AssignmentRun, run_id)
            assert run is not None
            if run.state != RunState.DONE:
                raise RuntimeError(f"run {run_id} ended {run.state}: {run.message} {run.result}")
            result = run.result
            for phase in ("build", "solve", "store"):
                figures[f"{phase}_s"] = round(result["seconds"][phase], 3)
            figures["total_s"] = round(
                figures["build_s"] + figures["solve_s"] + figures["store_s"], 3
            )
            figures["peak_mb"] = round(overall[0], 1)

            # Greedy on the run's problem (built again: the run has refreshed the conflicts).
            problem = stage_problem.build(stage, stage_problem.Options()).problem
            t0 = time.perf_counter()
            base = engine.greedy(problem)
            figures["greedy_s"] = round(time.perf_counter() - t0, 3)
            P, J = len(problem.proposals), len(problem.jurors)
            base_loads = {x.id: 0 for x in problem.jurors}
            for _, j in base.pairs:
                base_loads[j] += 1
            figures.update(
                proposals=result["proposals"],
                jurors=result["jurors"],
                seats=result["seats"],
                pairs=P * J,
                conflicts=result["conflicts"],
                candidates=len(engine.candidate_pairs(problem)),
                optimal=bool(result["optimal"]),
                total_affinity=round(result["total_affinity"], 3),
                min_pair_affinity=round(result["min_pair_affinity"] or 0.0, 3),
                greedy_affinity=round(base.total_affinity, 3),
                greedy_empty_seats=P * result["seats"] - len(base.pairs),
                greedy_below_min_load=sum(base_loads[x.id] < x.min_load for x in problem.jurors),
                greedy_min_pair_affinity=round(base.min_pair_affinity or 0.0, 3),
                affinity_vs_greedy=round(result["total_affinity"] / base.total_affinity, 4),
                per_seat_vs_greedy=round(
                    (result["total_affinity"] / result["pairs"])
                    / (base.total_affinity / len(base.pairs)),
                    4,
                ),
                diagnostics=list(result["diagnostics"]),
            )

            # The check, from the database alone (not from the engine or the run's summary).
            rows = db.session.execute(
                sa.select(
                    AssignmentRow.proposal_id,
                    AssignmentRow.user_id,
                    AssignmentRow.affinity,
                    AssignmentRow.run_id,
                ).where(AssignmentRow.stage_id == stage.id)
            ).all()
            pairs = {(p, j) for p, j, _, _ in rows}
            conflicts = set(
                db.session.execute(sa.select(Conflict.proposal_id, Conflict.user_id)).tuples()
            )
            proposal_ids = set(
                db.session.scalars(sa.select(ProposalRow.id).where(ProposalRow.call_id == call.id))
            )
            accepted = set(
                db.session.scalars(
                    sa.select(JuryMembership.user_id).where(
                        JuryMembership.call_id == call.id,
                        JuryMembership.state == MembershipState.ACCEPTED,
                    )
                )
            )
            stage_limit = stage.max_load_per_juror
            limit = {
                j: min(stage_limit, own)
                for j, own in db.session.execute(
                    sa.select(JurorProfile.user_id, JurorProfile.max_load)
                ).tuples()
                if own is not None
            }
            seats: dict[int, int] = dict.fromkeys(proposal_ids, 0)
            loads: dict[int, int] = {}
            for p, j, _, _ in rows:
                seats[p] = seats.get(p, 0) + 1
                loads[j] = loads.get(j, 0) + 1
            figures.update(
                stored_rows=len(rows),
                conflicts_in_db=len(conflicts),
                conflicts_assigned=len(pairs & conflicts),
                duplicate_pairs=len(rows) - len(pairs),
                seats_ok=set(seats) == proposal_ids
                and all(n == stage.reviewers_per_proposal for n in seats.values()),
                loads_ok=set(loads) <= accepted
                and all(n <= limit.get(j, stage_limit) for j, n in loads.items()),
                max_load_seen=max(loads.values(), default=0),
                # The run's own rows, and its summary agrees with them.
                run_rows_ok=all(r == run_id for *_, r in rows) and len(rows) == result["pairs"],
                stored_total_ok=abs(sum(a for _, _, a, _ in rows) - result["total_affinity"])
                < 1e-6 * max(len(rows), 1),
                # Rules a run with the default options does not ask for.
                orgs_ok=True,
                non_academic_ok=True,
            )
            db.session.remove()
            db.engine.dispose()
    return figures


# --- a large call through the application ------------------------------------------------------

APP_LARGE = "app-large"
APP_LARGE_SIZES = {"quick": (2_000, 800), "full": (20_000, 8_000)}


def run_app_large(proposals: int, jurors: int) -> dict[str, Any]:
    """A call of ``proposals`` submitted proposals and ``jurors`` accepted jurors with profiles
    (``bench/large.py``) on PostgreSQL, assigned three jurors each by ``runs.start_run`` as an
    officer starts it, in-process: conflicts refreshed, affinities built from the proposals'
    text and topics and the jurors' expertise, solved, rows stored. Building the data is not
    measured."""
    import secrets

    import sqlalchemy as sa

    sys.path.insert(0, str(ROOT))
    from bench.large import OFFICER, bench_app, build, drop_database, fresh_database
    from competition.accounts.models import User
    from competition.assignment import runs, stage_problem
    from competition.assignment.models import Assignment as AssignmentRow
    from competition.assignment.models import AssignmentRun, RunState
    from competition.db import utcnow
    from competition.extensions import db
    from competition.programmes.models import Stage

    name = f"bench_assign_{secrets.token_hex(4)}"
    url = fresh_database(name)
    try:
        world = build(url, proposals=proposals, jurors=jurors, reviewed=False)
        app = bench_app(url)
        with app.app_context():
            stage = db.session.get(Stage, world.stage_id)
            officer = db.session.scalar(sa.select(User).where(User.email == OFFICER))
            assert stage is not None and officer is not None
            _reset_peak()
            t0 = time.perf_counter()
            run_id = runs.start_run(
                stage, actor=officer, options=stage_problem.Options(), now=utcnow()
            ).id
            seconds = time.perf_counter() - t0
            peak = _peak_mb()
            db.session.expire_all()
            run = db.session.get(AssignmentRun, run_id)
            assert run is not None
            if run.state != RunState.DONE:
                raise RuntimeError(f"run {run_id} ended {run.state}: {run.message}")
            stored = db.session.scalar(
                sa.select(sa.func.count())
                .select_from(AssignmentRow)
                .where(AssignmentRow.stage_id == stage.id)
            )
            phases = run.result["seconds"]
            figures = {
                "proposals": proposals,
                "jurors": jurors,
                "seconds": round(seconds, 1),
                "peak_mb": round(peak),
                "build_s": round(phases["build"], 1),
                "solve_s": round(phases["solve"], 1),
                "store_s": round(phases["store"], 1),
                "stored_rows": stored,
                "optimal": bool(run.result["optimal"]),
            }
            db.session.remove()
            db.engine.dispose()
    finally:
        drop_database(name)
    return figures


# --- report ------------------------------------------------------------------------------------

COLUMNS = [
    ("instance", "instance", "{}"),
    ("size", "P × J × seats", "{}"),
    ("candidates", "candidates", "{:,}"),
    ("build_s", "build s", "{:.2f}"),
    ("solve_s", "solve s", "{:.2f}"),
    ("store_s", "store s", "{:.3f}"),
    ("total_s", "total s", "{:.2f}"),
    ("build_mb", "build MB", "{:.0f}"),
    ("solve_mb", "solve MB", "{:.0f}"),
    ("store_mb", "store MB", "{:.0f}"),
    ("optimal", "optimal", "{}"),
    ("total_affinity", "affinity", "{:,.1f}"),
    ("greedy_affinity", "greedy", "{:,.1f}"),
    ("affinity_vs_greedy", "ratio", "{:.4f}"),
    ("greedy_s", "greedy s", "{:.2f}"),
]


def print_table(results: list[dict[str, Any]]) -> None:
    cells = []
    for r in results:
        r = dict(r, size=f"{r['proposals']:,} × {r['jurors']:,} × {r['seats']}")
        cells.append([fmt.format(r[key]) for key, _, fmt in COLUMNS])
    heads = [title for _, title, _ in COLUMNS]
    widths = [max(len(h), *(len(row[i]) for row in cells)) for i, h in enumerate(heads)]
    print("  ".join(h.rjust(w) for h, w in zip(heads, widths, strict=True)))
    for row in cells:
        print("  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)))


def _in_child(name: str, seed: int) -> dict[str, Any] | None:
    """One instance in a fresh process (its memory figures its own); None when it failed."""
    child = subprocess.run(
        [sys.executable, __file__, "--only", name, "--seed", str(seed)],
        capture_output=True,
        text=True,
        check=False,
    )
    if child.returncode != 0:
        print(child.stdout + child.stderr, file=sys.stderr)
        return None
    result: dict[str, Any] = json.loads(child.stdout.strip().splitlines()[-1])
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="demo, 2,000 × 600 and demo-app")
    parser.add_argument("--seed", type=int, default=20260501)
    parser.add_argument(
        "--only",
        choices=sorted([*SIZES, DEMO_APP, *(f"{APP_LARGE}-{k}" for k in APP_LARGE_SIZES)]),
        help=argparse.SUPPRESS,
    )
    args = parser.parse_args()
    if args.only:  # the child process: one instance, figures as JSON
        if args.only.startswith(APP_LARGE):
            size = APP_LARGE_SIZES[args.only.removeprefix(f"{APP_LARGE}-")]
            print(json.dumps(run_app_large(*size)))
        elif args.only == DEMO_APP:
            print(json.dumps(run_demo_app()))
        else:
            print(json.dumps(run_instance(args.only, args.seed)))
        return 0

    print("$ " + shlex.join([".venv/bin/python", "bench/assignment.py", *sys.argv[1:]]))
    print(
        f"cores: {os.cpu_count()}; rules: min and max loads, 1 % conflicts, one juror per "
        "organisation, >= 1 juror from outside academia per proposal; top-50 candidates"
    )
    results = []
    for name in (*(QUICK if args.quick else FULL), DEMO_APP):
        r = _in_child(name, args.seed)
        if r is None:
            return 2
        results.append(r)
        if name == DEMO_APP:
            r["diagnostics"].insert(0, "round-1 outlines, default options: loads and conflicts")
        print(
            f"  {name}: {r['proposals']:,} proposals × {r['jurors']:,} jurors, "
            f"{r['conflicts']:,} conflicts ({r['conflicts'] / r['pairs']:.2%}); "
            + "; ".join(r["diagnostics"])
        )
    print()
    print_table(results)
    print()
    for r in results:
        print(
            f"{r['instance']}: greedy leaves {r['greedy_empty_seats']:,} seats empty and "
            f"{r['greedy_below_min_load']:,} jurors below their minimum load; per filled seat the "
            f"engine's affinity is {r['per_seat_vs_greedy']:.4f} × greedy's; weakest pair "
            f"{r['min_pair_affinity']:.3f} (greedy {r['greedy_min_pair_affinity']:.3f})"
        )
        if "fair_s" in r:
            print(
                f"{r['instance']}: fairness mode lifts the weakest pair to "
                f"{r['fair_min_pair_affinity']:.3f} at {r['fair_total_vs_plain']:.4f} × the "
                f"total, in {r['fair_s']:.2f} s (optimal={r['fair_optimal']})"
            )
        if r["instance"] == DEMO_APP:
            print(
                f"{DEMO_APP}: start_run took {r['seconds']:.2f} s end to end, of which build + "
                f"solve + store {r['total_s'] / r['seconds']:.0%} (the rest: refreshing the "
                "automatic conflicts, claiming the run, progress commits, audit events); peak "
                f"{r['peak_mb']:.0f} MB; setup (migrations, seed) {r['setup_s']:.1f} s, not "
                f"measured. Stored: {r['stored_rows']:,} rows, {r['conflicts_assigned']} of "
                f"{r['conflicts_in_db']:,} conflict rows assigned, highest load "
                f"{r['max_load_seen']}"
            )
    large = _in_child(f"{APP_LARGE}-{'quick' if args.quick else 'full'}", args.seed)
    if large is None:
        return 2
    print(
        f"{APP_LARGE}: {large['proposals']:,} proposals × {large['jurors']:,} jurors on "
        f"PostgreSQL, start_run end to end {large['seconds']:.1f} s (build "
        f"{large['build_s']:.1f}, solve {large['solve_s']:.1f}, store {large['store_s']:.1f}), "
        f"peak {large['peak_mb']} MB, {large['stored_rows']:,} rows stored, "
        f"optimal={large['optimal']}"
    )
    print()
    print(
        "build = synthetic inputs + scoring all pairs and keeping the candidates; solve = "
        "min-cost flow + proof over all pairs; store = rows and CSV in memory; MB = peak "
        "resident set size of the instance's process during the phase. demo-app: the run's "
        "own timings (build = reading the database and building the affinities, solve = the "
        "engine on all pairs, store = writing the rows); its MB include Flask and SQLAlchemy."
    )
    ok = all(
        r["seats_ok"] and r["loads_ok"] and r["orgs_ok"] and r["non_academic_ok"]
        and r["duplicate_pairs"] == 0 and r.get("run_rows_ok", True)
        and r.get("stored_total_ok", True)
        for r in results
    )  # fmt: skip
    last = [r for r in results if r["instance"] in SIZES][-1]
    figures: dict[str, Any] = {
        "optimal": all(r["optimal"] and r.get("fair_optimal", True) for r in results),
        "conflicts_assigned": sum(
            r["conflicts_assigned"] + r.get("fair_conflicts_assigned", 0) for r in results
        ),
        "rules_hold": ok,
        "affinity_vs_greedy": last["affinity_vs_greedy"],
    }
    for r in results:
        n = r["instance"]
        for key in (
            "total_s", "build_s", "solve_s", "store_s", "peak_mb", "affinity_vs_greedy",
            "per_seat_vs_greedy", "greedy_s", "min_pair_affinity", "greedy_min_pair_affinity",
            "greedy_empty_seats", "greedy_below_min_load", "fair_min_pair_affinity",
            "fair_total_vs_plain",
        ):  # fmt: skip
            if key in r and n in SIZES:
                figures[f"{n}_{key}"] = r[key]
    app = results[-1]
    renamed = {"build_s": "build", "solve_s": "solve", "store_s": "store"}
    for key in (
        "seconds", "build_s", "solve_s", "store_s", "peak_mb", "optimal", "conflicts_assigned",
        "affinity_vs_greedy", "per_seat_vs_greedy", "min_pair_affinity",
        "greedy_min_pair_affinity", "greedy_empty_seats",
    ):  # fmt: skip
        figures[f"demo_app_{renamed.get(key, key)}"] = app[key]
    figures["app_large_proposals"] = large["proposals"]
    figures["app_large_s"] = large["seconds"]
    figures["app_large_peak_mb"] = large["peak_mb"]
    print(
        " ".join(f"{k}={str(v).lower() if isinstance(v, bool) else v}" for k, v in figures.items())
    )
    return 0 if ok and figures["conflicts_assigned"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
