"""The independent references the assignment tests compare the engine with: a brute force
over every assignment of tiny instances and a 0-1 program in OR-Tools CP-SAT, with the
instances they share."""

from __future__ import annotations

import itertools
import random
from collections import Counter

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from ortools.sat.python import cp_model

from competition.core.assignment import (
    Assignment,
    Juror,
    Problem,
    Proposal,
)

MICRO = 1_000_000


def micro(score: float) -> int:
    return int(score * MICRO + 0.5)


def total_micro(result: Assignment) -> int:
    return sum(micro(a) for a in result.affinities)


def weakest_micro(result: Assignment) -> int:
    return min((micro(a) for a in result.affinities), default=0)


def score_of(problem: Problem, p: int, j: int) -> float:
    assert isinstance(problem.affinity, dict)
    return problem.affinity.get((p, j), 0.0)


# --- independent references --------------------------------------------------------------------


def brute_force(problem: Problem) -> tuple[int, int] | None:
    """(weakest pair, total) of the best assignment by enumeration, in micro-units; in fairness
    mode the weakest pair first, else the total only (weakest reported as 0). None if none."""
    proposals = sorted(problem.proposals, key=lambda p: p.id)
    jurors = sorted(problem.jurors, key=lambda j: j.id)
    conflicts = set(problem.conflicts)
    per_proposal = []
    for p in proposals:
        free = [j for j in jurors if (p.id, j.id) not in conflicts and j.max_load > 0]
        options = []
        for combo in itertools.combinations(free, p.seats):
            orgs = [j.organisation_id for j in combo if j.organisation_id is not None]
            if problem.one_per_organisation and len(orgs) != len(set(orgs)):
                continue
            outside = sum(j.sector != "academia" for j in combo)
            if p.seats and outside < problem.min_non_academic_seats:
                continue
            options.append(combo)
        per_proposal.append(options)
    best = None
    for choice in itertools.product(*per_proposal):
        load = Counter(j.id for combo in choice for j in combo)
        if any(not j.min_load <= load[j.id] <= j.max_load for j in jurors):
            continue
        scores = [
            micro(score_of(problem, p.id, j.id))
            for p, combo in zip(proposals, choice, strict=True)
            for j in combo
        ]
        key = (min(scores, default=0) if problem.fairness else 0, sum(scores))
        if best is None or key > best:
            best = key
    return best


def cp_sat_reference(problem: Problem, *, weakest_at_least: int = 0) -> int | None:
    """Best total (micro-units) by an independent 0-1 program; None if infeasible."""
    model = cp_model.CpModel()
    conflicts = set(problem.conflicts)
    x = {}
    for p in problem.proposals:
        for j in problem.jurors:
            if (p.id, j.id) in conflicts or micro(score_of(problem, p.id, j.id)) < weakest_at_least:
                continue
            x[p.id, j.id] = model.new_bool_var(f"x_{p.id}_{j.id}")
    for p in problem.proposals:
        mine = [v for (pid, _), v in x.items() if pid == p.id]
        model.add(sum(mine) == p.seats)
        if p.seats and problem.min_non_academic_seats:
            outside = [
                v
                for (pid, jid), v in x.items()
                if pid == p.id and juror(problem, jid).sector != "academia"
            ]
            model.add(sum(outside) >= problem.min_non_academic_seats)
        if problem.one_per_organisation:
            by_org: dict[int, list[cp_model.IntVar]] = {}
            for (pid, jid), v in x.items():
                org = juror(problem, jid).organisation_id
                if pid == p.id and org is not None:
                    by_org.setdefault(org, []).append(v)
            for members in by_org.values():
                model.add(sum(members) <= 1)
    for j in problem.jurors:
        load = sum(v for (_, jid), v in x.items() if jid == j.id)
        model.add(load <= j.max_load)
        model.add(load >= j.min_load)
    model.maximize(sum(micro(score_of(problem, p, j)) * v for (p, j), v in x.items()))
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.max_time_in_seconds = 60
    status = solver.solve(model)
    if status == cp_model.INFEASIBLE:
        return None
    assert status == cp_model.OPTIMAL
    return round(solver.objective_value)


def juror(problem: Problem, juror_id: int) -> Juror:
    return next(j for j in problem.jurors if j.id == juror_id)


def assert_rules_hold(problem: Problem, result: Assignment) -> None:
    jurors = {j.id: j for j in problem.jurors}
    assert len(set(result.pairs)) == len(result.pairs)
    assert not set(result.pairs) & set(problem.conflicts)
    seats = Counter(p for p, _ in result.pairs)
    for p in problem.proposals:
        assert seats[p.id] == p.seats
    loads = Counter(j for _, j in result.pairs)
    for j in problem.jurors:
        assert j.min_load <= loads[j.id] <= j.max_load
        assert result.loads[j.id] == loads[j.id]
    for p in problem.proposals:
        mine = [jurors[j] for q, j in result.pairs if q == p.id]
        if problem.one_per_organisation:
            orgs = [j.organisation_id for j in mine if j.organisation_id is not None]
            assert len(orgs) == len(set(orgs))
        if p.seats:
            outside = sum(j.sector != "academia" for j in mine)
            assert outside >= problem.min_non_academic_seats
    for (p, j), a in zip(result.pairs, result.affinities, strict=True):
        assert a == score_of(problem, p, j)


def random_problem(rng: random.Random, *, proposals: int, jurors: int, **rules) -> Problem:
    props = [Proposal(id=10 + 7 * i, seats=rng.choice([0, 1, 2, 2])) for i in range(proposals)]
    people = [
        Juror(
            id=100 + 3 * j,
            max_load=rng.randint(0, 3),
            min_load=rng.choice([0, 0, 0, 1]),
            organisation_id=rng.choice([None, 1, 2, 3]),
            sector=rng.choice(["academia", "academia", "industry", "other"]),
        )
        for j in range(jurors)
    ]
    affinity = {
        (p.id, j.id): rng.randint(0, 1000) / 1000
        for p in props
        for j in people
        if rng.random() < 0.8
    }
    conflicts = frozenset((p.id, j.id) for p in props for j in people if rng.random() < 0.15)
    return Problem(props, people, affinity, conflicts, **rules)


# --- optimum against brute force ---------------------------------------------------------------

RULES = [
    {},
    {"one_per_organisation": True},
    {"min_non_academic_seats": 1},
    {"one_per_organisation": True, "min_non_academic_seats": 1},
    {"candidates_per_proposal": 1},
    {"candidates_per_proposal": 2, "one_per_organisation": True, "min_non_academic_seats": 1},
    {"fairness": True},
    {"fairness": True, "candidates_per_proposal": 1, "one_per_organisation": True},
]


# --- manual changes ----------------------------------------------------------------------------

TEAM = Problem(
    proposals=[Proposal(12, 3), Proposal(13, 2)],
    jurors=[
        Juror(1, max_load=2, min_load=1, organisation_id=4),
        Juror(2, max_load=2, organisation_id=4),
        Juror(3, max_load=1, sector="industry"),
        Juror(4, max_load=2),
        Juror(5, max_load=2),
    ],
    affinity={(12, 4): 0.9, (12, 5): 0.7, (12, 2): 0.8, (13, 5): 0.2},
    conflicts=frozenset({(13, 4)}),
    one_per_organisation=True,
    min_non_academic_seats=1,
)


PAIRS = [(12, 1), (12, 3), (12, 5), (13, 2), (13, 5)]


def codes(issues):
    return [(issue.code, issue.blocking) for issue in issues]


# --- properties on random instances ------------------------------------------------------------


@st.composite
def problems(draw, *, fairness: bool = False):
    n_props = draw(st.integers(1, 6))
    n_jurors = draw(st.integers(1, 6))
    proposals = [Proposal(id=draw(st.integers(0, 3)) + 10 * i, seats=draw(st.integers(0, 3)))
                 for i in range(n_props)]  # fmt: skip
    one_org = draw(st.booleans())
    k = draw(st.sampled_from([0, 0, 1]))
    jurors = []
    for j in range(n_jurors):
        org = draw(st.sampled_from([None, 1, 2, 3]))
        # With both rules an organisation sits on one side, so the problem stays a network.
        sector = (
            ("industry" if org % 2 else "academia")
            if (org is not None and one_org and k)
            else draw(st.sampled_from(["academia", "industry", "other"]))
        )
        max_load = draw(st.integers(0, 4))
        jurors.append(
            Juror(
                id=100 + j,
                max_load=max_load,
                min_load=draw(st.integers(0, min(max_load, 1))),
                organisation_id=org,
                sector=sector,
            )
        )
    pairs = [(p.id, j.id) for p in proposals for j in jurors]
    affinity = {
        pair: draw(st.integers(0, 20)) / 20
        for pair in pairs
        if draw(st.booleans()) or draw(st.booleans())
    }
    conflicts = frozenset(pair for pair in pairs if draw(st.integers(0, 9)) == 0)
    return Problem(
        proposals,
        jurors,
        affinity,
        conflicts,
        one_per_organisation=one_org,
        min_non_academic_seats=k,
        fairness=fairness,
        candidates_per_proposal=draw(st.sampled_from([None, 1, 2])),
    )


PROPERTY = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
