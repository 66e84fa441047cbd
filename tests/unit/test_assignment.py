"""The reviewer-assignment engine on plain data.

Independent references: a brute force that enumerates every assignment of tiny instances, and,
for the property tests, a 0-1 program in OR-Tools CP-SAT written here from the problem's fields
(SciPy is not installed in this project, so its milp is not used). Affinities are multiples of
1/1000, so the engine's integer rounding (1e-6) is exact and totals compare as integers.
"""

from __future__ import annotations

import dataclasses
import itertools
import random
from collections import Counter

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ortools.sat.python import cp_model

from competition.core.assignment import (
    Assignment,
    Infeasible,
    Juror,
    PairArrays,
    Problem,
    Proposal,
    alternates,
    candidate_pairs,
    check_change,
    greedy,
    solve,
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


@pytest.mark.parametrize("rules", RULES, ids=lambda r: ",".join(r) or "plain")
def test_the_total_equals_the_brute_force_optimum(rules):
    rng = random.Random(2026)
    solved = 0
    for _ in range(100):
        problem = random_problem(
            rng, proposals=rng.randint(1, 3), jurors=rng.randint(2, 5), **rules
        )
        best = brute_force(problem)
        try:
            result = solve(problem)
        except Infeasible:
            assert best is None
            continue
        assert best is not None
        assert_rules_hold(problem, result)
        if result.method == "cp-sat" and "candidates_per_proposal" in rules:
            # The integer program on a sparse candidate set claims no proof, and says so.
            assert not result.optimal
            continue
        assert result.optimal
        assert (weakest_micro(result) if problem.fairness else 0, total_micro(result)) == best
        solved += 1
    assert solved >= 20


# --- each rule changes the optimum -------------------------------------------------------------


def test_a_minimum_load_pulls_in_a_weaker_juror():
    proposals = [Proposal(1, 1), Proposal(2, 1)]
    strong, weak = Juror(10, max_load=2), Juror(11, max_load=2)
    affinity = {(1, 10): 0.9, (2, 10): 0.8, (1, 11): 0.2, (2, 11): 0.3}
    free = solve(Problem(proposals, [strong, weak], affinity))
    assert free.pairs == ((1, 10), (2, 10))
    forced = solve(Problem(proposals, [strong, dataclasses.replace(weak, min_load=1)], affinity))
    assert forced.pairs == ((1, 10), (2, 11))
    assert forced.total_affinity == pytest.approx(1.2)
    assert forced.optimal


def test_a_maximum_load_spreads_the_work():
    proposals = [Proposal(1, 1), Proposal(2, 1), Proposal(3, 1)]
    jurors = [Juror(10, max_load=1), Juror(11, max_load=3)]
    affinity = {(1, 10): 0.9, (2, 10): 0.8, (3, 10): 0.7, (1, 11): 0.1, (2, 11): 0.5}
    result = solve(Problem(proposals, jurors, affinity))
    # Juror 10 can take one proposal: the one where the gain over juror 11 is largest.
    assert result.pairs == ((1, 10), (2, 11), (3, 11))
    assert result.loads == {10: 1, 11: 2}


def test_every_proposal_gets_exactly_its_seats():
    proposals = [Proposal(1, 2), Proposal(2, 0), Proposal(3, 1)]
    jurors = [Juror(10, 3), Juror(11, 3), Juror(12, 3)]
    affinity = {(2, 10): 1.0, (2, 11): 1.0, (1, 12): 0.4}
    result = solve(Problem(proposals, jurors, affinity))
    assert Counter(p for p, _ in result.pairs) == {1: 2, 3: 1}


def test_a_conflict_is_never_assigned_even_when_it_is_the_best_pair():
    proposals = [Proposal(1, 1)]
    jurors = [Juror(10, 1), Juror(11, 1)]
    affinity = {(1, 10): 1.0, (1, 11): 0.1}
    result = solve(Problem(proposals, jurors, affinity, frozenset({(1, 10)})))
    assert result.pairs == ((1, 11),)


def test_one_juror_per_organisation_changes_the_optimum():
    proposals = [Proposal(1, 2)]
    jurors = [Juror(10, 1, organisation_id=7), Juror(11, 1, organisation_id=7), Juror(12, 1)]
    affinity = {(1, 10): 0.9, (1, 11): 0.8, (1, 12): 0.1}
    assert solve(Problem(proposals, jurors, affinity)).pairs == ((1, 10), (1, 11))
    ruled = solve(Problem(proposals, jurors, affinity, one_per_organisation=True))
    assert ruled.pairs == ((1, 10), (1, 12))
    assert ruled.method == "min-cost flow"


def test_a_non_academic_seat_changes_the_optimum():
    proposals = [Proposal(1, 2)]
    jurors = [Juror(10, 1), Juror(11, 1), Juror(12, 1, sector="industry")]
    affinity = {(1, 10): 0.9, (1, 11): 0.8, (1, 12): 0.1}
    assert solve(Problem(proposals, jurors, affinity)).pairs == ((1, 10), (1, 11))
    ruled = solve(Problem(proposals, jurors, affinity, min_non_academic_seats=1))
    assert ruled.pairs == ((1, 10), (1, 12))


def test_both_rules_with_an_organisation_on_both_sides_use_the_integer_program():
    # Organisation 7 has an academic and an industry juror: the two rules cross, which is no
    # longer a network.
    proposals = [Proposal(1, 2), Proposal(2, 2)]
    jurors = [
        Juror(10, 2, organisation_id=7),
        Juror(11, 2, organisation_id=7, sector="industry"),
        Juror(12, 2),
        Juror(13, 2, sector="other"),
    ]
    affinity = {(1, 10): 0.9, (1, 11): 0.8, (1, 12): 0.3, (1, 13): 0.2}
    affinity |= {(2, 10): 0.5, (2, 11): 0.6, (2, 12): 0.4, (2, 13): 0.1}
    problem = Problem(
        proposals, jurors, affinity, one_per_organisation=True, min_non_academic_seats=1
    )
    result = solve(problem)
    assert result.method == "cp-sat"
    assert result.optimal
    assert "organisations 7 have jurors both inside and outside academia" in result.diagnostics[0]
    assert (0, total_micro(result)) == brute_force(problem)
    assert_rules_hold(problem, result)


# --- infeasibility in words --------------------------------------------------------------------


def test_too_few_jurors_without_a_conflict_are_named():
    proposals = [Proposal(17, 3), Proposal(18, 3)]
    jurors = [Juror(j, 2) for j in range(1, 6)]
    conflicts = frozenset({(17, 1), (17, 2), (17, 3)})
    with pytest.raises(Infeasible) as caught:
        solve(Problem(proposals, jurors, {}, conflicts))
    assert caught.value.reasons == ["proposal 17 has only 2 jurors without a conflict for 3 seats"]


def test_total_capacity_below_the_seats_is_named():
    proposals = [Proposal(i, 3) for i in range(1, 255)]
    jurors = [Juror(j, 3) for j in range(1, 61)]
    with pytest.raises(Infeasible) as caught:
        solve(Problem(proposals, jurors, {}))
    assert "total capacity 180 seats < 254 × 3 needed" in caught.value.reasons
    assert str(caught.value).startswith("total capacity 180 seats < 254 × 3 needed")


@pytest.mark.parametrize(
    ("proposals", "jurors", "rules", "reason"),
    [
        (
            [Proposal(1, 1)],
            [Juror(5, max_load=2, min_load=3), Juror(6, 2)],
            {},
            "juror 5 has a minimum load of 3 above the maximum load of 2",
        ),
        (
            [Proposal(1, 1), Proposal(2, 1)],
            [Juror(5, 3, min_load=2), Juror(6, 3, min_load=1)],
            {},
            "minimum loads add up to 3 reviews > 2 × 1 seats to fill; lower some minimum loads",
        ),
        (
            [Proposal(5, 2)],
            [Juror(1, 1, organisation_id=9), Juror(2, 1, organisation_id=9)],
            {"one_per_organisation": True},
            "proposal 5 needs 2 jurors from different organisations, but its jurors without a "
            "conflict come from only 1 organisation",
        ),
        (
            [Proposal(5, 2)],
            [Juror(1, 1), Juror(2, 1), Juror(3, 1, sector="industry")],
            {"min_non_academic_seats": 2},
            "proposal 5 needs 2 jurors from outside academia, but only 1 of its jurors without "
            "a conflict is from outside academia",
        ),
        (
            [Proposal(5, 1)],
            [Juror(1, 1), Juror(2, 1)],
            {"min_non_academic_seats": 2},
            "proposal 5 has 1 seat but 2 must go to jurors from outside academia",
        ),
    ],
)
def test_obvious_causes_are_named_before_solving(proposals, jurors, rules, reason):
    with pytest.raises(Infeasible) as caught:
        solve(Problem(proposals, jurors, {}, **rules))
    assert reason in caught.value.reasons


def test_a_shortage_only_the_flow_finds_names_the_proposals_involved():
    # Each proposal on its own has enough jurors without a conflict, and capacity is ample,
    # but proposals 1 and 2 share the only two jurors they may have, each free for one more.
    proposals = [Proposal(1, 2), Proposal(2, 2), Proposal(3, 1)]
    jurors = [Juror(10, 1), Juror(11, 1), Juror(12, 5), Juror(13, 5)]
    conflicts = frozenset({(1, 12), (1, 13), (2, 12), (2, 13)})
    with pytest.raises(Infeasible) as caught:
        solve(Problem(proposals, jurors, {}, conflicts))
    assert caught.value.reasons == [
        "proposals 1 and 2 need 4 seats together, but the jurors without a conflict can fill "
        "only 2 of them; the other jurors who could review them (10 and 11) are at their "
        "maximum load"
    ]


def test_a_juror_with_too_few_proposals_for_the_minimum_load_is_named():
    proposals = [Proposal(1, 1), Proposal(2, 1), Proposal(3, 1)]
    jurors = [Juror(10, 3, min_load=2), Juror(11, 3, min_load=1), Juror(12, 3)]
    conflicts = frozenset({(2, 10), (3, 10)})
    with pytest.raises(Infeasible) as caught:
        solve(Problem(proposals, jurors, {}, conflicts))
    assert caught.value.reasons == [
        "juror 10 must review at least 2 proposals but has no conflict with only 1"
    ]


def test_minimum_loads_that_compete_for_the_same_seats_are_named():
    # Each juror alone could meet its minimum; together they need two seats of proposal 1.
    proposals = [Proposal(1, 1), Proposal(2, 1)]
    jurors = [Juror(10, 2, min_load=1), Juror(11, 2, min_load=1), Juror(12, 2)]
    conflicts = frozenset({(2, 10), (2, 11)})
    with pytest.raises(Infeasible) as caught:
        solve(Problem(proposals, jurors, {}, conflicts))
    assert caught.value.reasons == [
        "the minimum loads of jurors 10 and 11 add up to 2 reviews, but only 1 can be placed: "
        "the proposals they may review (1) have too few seats; lower these minimum loads"
    ]


def test_non_academic_seats_that_compete_for_the_same_jurors_are_named():
    proposals = [Proposal(1, 1), Proposal(2, 1)]
    jurors = [Juror(10, 1, sector="industry"), Juror(11, 2), Juror(12, 2, sector="other")]
    conflicts = frozenset({(1, 12), (2, 12)})
    with pytest.raises(Infeasible) as caught:
        solve(Problem(proposals, jurors, {}, conflicts, min_non_academic_seats=1))
    assert caught.value.reasons == [
        "proposals 1 and 2 need 2 jurors from outside academia together, but only 1 can be "
        "assigned: the non-academic jurors without a conflict are at their maximum loads"
    ]


def test_a_sparse_candidate_set_that_admits_no_assignment_is_widened():
    # Everybody's best juror is juror 10, who can take one proposal: the top-1 candidates
    # admit no assignment, and the minimum cut names the pairs to add.
    proposals = [Proposal(i, 1) for i in range(1, 5)]
    jurors = [Juror(10, 1), Juror(11, 1), Juror(12, 1), Juror(13, 1)]
    affinity = {(p, 10): 0.9 for p in range(1, 5)} | {(1, 11): 0.5}
    problem = Problem(proposals, jurors, affinity, candidates_per_proposal=1)
    result = solve(problem)
    assert result.optimal
    assert total_micro(result) == brute_force(problem)[1]
    assert any("admitted no assignment" in note for note in result.diagnostics)


def test_sparse_candidates_reach_the_optimum_over_all_pairs(monkeypatch):
    # The reference is the same engine with every allowed pair a candidate (no proof needed),
    # itself checked against brute force and CP-SAT above and below. Small blocks, so that the
    # passes over all pairs run in many pieces.
    monkeypatch.setattr("competition.core.assignment._BLOCK_CELLS", 37)
    rng = random.Random(5)
    proven_after_rounds = widened = 0
    for trial in range(40):
        people = [
            Juror(
                id=j,
                max_load=rng.randint(2, 6),
                min_load=rng.choice([0, 0, 1]),
                organisation_id=j % 4 if trial % 2 else None,
                sector="industry" if j % 3 == 0 else "academia",
            )
            for j in range(1, 13)
        ]
        problem = Problem(
            proposals=[Proposal(i, rng.choice([1, 2, 2, 3])) for i in range(1, 26)],
            jurors=people,
            affinity={
                (i, j.id): rng.randint(0, 1000) / 1000
                for i in range(1, 26)
                for j in people
                if rng.random() < 0.7
            },
            conflicts=frozenset(
                (i, j.id) for i in range(1, 26) for j in people if rng.random() < 0.1
            ),
            one_per_organisation=bool(trial % 2),
            min_non_academic_seats=trial % 3 == 0,
            candidates_per_proposal=rng.choice([1, 2, 3]),
        )
        try:
            reference = solve(dataclasses.replace(problem, candidates_per_proposal=None))
        except Infeasible as dense:
            with pytest.raises(Infeasible) as sparse:
                solve(problem)
            assert sparse.value.reasons == dense.reasons
            continue
        result = solve(problem)
        assert_rules_hold(problem, result)
        assert result.optimal
        assert total_micro(result) == total_micro(reference)
        notes = " ".join(result.diagnostics)
        proven_after_rounds += "adding pairs" in notes
        widened += "admitted no assignment" in notes
    # The proofs did real work: pairs outside the first candidate set were needed.
    assert proven_after_rounds >= 5
    assert widened >= 1


# --- determinism -------------------------------------------------------------------------------


def test_the_same_input_gives_the_same_output_in_any_order():
    rng = random.Random(7)
    for rules in ({}, {"candidates_per_proposal": 2}, {"fairness": True}):
        problem = random_problem(rng, proposals=8, jurors=9, **rules)
        # Many ties: the choice among equal optima must not depend on the input order.
        flat = {key: round(value, 1) for key, value in problem.affinity.items()}
        problem = dataclasses.replace(problem, affinity=flat)
        problem = dataclasses.replace(
            problem, jurors=[dataclasses.replace(j, max_load=3, min_load=0) for j in problem.jurors]
        )
        try:
            first = solve(problem)
        except Infeasible:
            continue
        assert solve(problem) == first
        for _ in range(5):
            items = list(problem.affinity.items())
            rng.shuffle(items)
            shuffled = Problem(
                proposals=rng.sample(list(problem.proposals), len(problem.proposals)),
                jurors=rng.sample(list(problem.jurors), len(problem.jurors)),
                affinity=dict(items),
                conflicts=rng.sample(sorted(problem.conflicts), len(problem.conflicts)),
                fairness=problem.fairness,
                candidates_per_proposal=problem.candidates_per_proposal,
            )
            assert solve(shuffled) == first


def test_ties_go_to_the_lower_ids():
    proposals = [Proposal(2, 1), Proposal(1, 1)]
    jurors = [Juror(12, 1), Juror(11, 1), Juror(13, 1)]
    result = solve(Problem(proposals, jurors, {}, candidates_per_proposal=1))
    assert len(result.pairs) == 2 and result.optimal
    assert result == solve(Problem(proposals[::-1], jurors[::-1], {}, candidates_per_proposal=1))


def test_the_three_forms_of_affinity_agree():
    rng = random.Random(3)
    problem = random_problem(rng, proposals=12, jurors=10, candidates_per_proposal=3)
    problem = dataclasses.replace(
        problem, jurors=[dataclasses.replace(j, max_load=4, min_load=0) for j in problem.jurors]
    )
    p_ids = np.array([p for p, _ in problem.affinity], dtype=np.int64)
    j_ids = np.array([j for _, j in problem.affinity], dtype=np.int64)
    values = np.array(list(problem.affinity.values()))
    lookup = dict(problem.affinity)

    def rows(proposal_ids: np.ndarray, juror_ids: np.ndarray) -> np.ndarray:
        return np.array(
            [[lookup.get((p, j), 0.0) for j in juror_ids.tolist()] for p in proposal_ids.tolist()]
        )

    as_dict = solve(problem)
    as_arrays = solve(dataclasses.replace(problem, affinity=PairArrays(p_ids, j_ids, values)))
    as_rows = solve(dataclasses.replace(problem, affinity=rows))
    assert as_dict.pairs == as_arrays.pairs == as_rows.pairs
    assert as_dict.total_affinity == as_rows.total_affinity
    given = candidate_pairs(problem)
    assert solve(problem, candidates=given).pairs == as_dict.pairs


# --- fairness ----------------------------------------------------------------------------------


def test_fairness_lifts_the_worst_served_proposal():
    # The plain optimum gives juror 10 to proposal 1 and leaves proposal 2 with juror 11 (0.05);
    # fairness gives juror 10 to proposal 2 at a small cost in total.
    proposals = [Proposal(1, 1), Proposal(2, 1)]
    jurors = [Juror(10, 1), Juror(11, 1), Juror(12, 1)]
    affinity = {(1, 10): 0.95, (1, 11): 0.3, (1, 12): 0.2, (2, 10): 0.6, (2, 11): 0.05}
    plain = solve(Problem(proposals, jurors, affinity))
    fair = solve(Problem(proposals, jurors, affinity, fairness=True))
    assert plain.pairs == ((1, 10), (2, 11))
    assert plain.min_pair_affinity == 0.05
    assert fair.pairs == ((1, 11), (2, 10))
    assert fair.min_pair_affinity == 0.3
    assert fair.fairness_threshold == 0.3
    assert fair.min_proposal_affinity == 0.3 > plain.min_proposal_affinity
    assert fair.total_affinity < plain.total_affinity
    assert fair.optimal
    problem = Problem(proposals, jurors, affinity, fairness=True)
    assert brute_force(problem) == (weakest_micro(fair), total_micro(fair))


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


def test_a_valid_swap_raises_no_issue():
    assert check_change(PAIRS, TEAM, swap=(13, 2, 1)) == []


def test_adding_a_conflicted_juror_is_refused():
    issues = check_change(PAIRS, TEAM, add=(13, 4))
    assert codes(issues) == [("conflict", True), ("seats_over", False)]
    assert issues[0].message == "juror 4 has a conflict of interest with proposal 13"


def test_adding_beyond_the_maximum_load_is_refused():
    issues = check_change(PAIRS, TEAM, swap=(13, 2, 3))
    assert codes(issues) == [("above_max_load", True)]
    assert issues[0].message == "juror 3 would review 2 proposals, above their maximum load of 1"


def test_adding_a_juror_already_on_the_proposal_is_refused():
    issues = check_change(PAIRS, TEAM, swap=(12, 1, 3))
    assert ("already_assigned", True) in codes(issues)
    assert check_change(PAIRS, TEAM, add=(12, 3))[0].message == (
        "juror 3 is already assigned to proposal 12"
    )


def test_a_second_juror_of_the_same_organisation_is_refused():
    issues = check_change(PAIRS, TEAM, swap=(12, 5, 2))
    assert codes(issues) == [("same_organisation", True)]
    assert issues[0].message == (
        "proposal 12 already has juror 1 from organisation 4, the organisation of juror 2"
    )
    # Swapping juror 1 for juror 2 keeps one juror of organisation 4; juror 1 then falls
    # below its minimum load, which is allowed but reported.
    assert codes(check_change(PAIRS, TEAM, swap=(12, 1, 2))) == [("below_min_load", False)]


def test_removing_is_allowed_but_reports_the_shortfall():
    issues = check_change(PAIRS, TEAM, remove=(12, 5))
    assert codes(issues) == [("seats_short", False)]
    assert issues[0].message == "proposal 12 now has 2 of 3 jurors"


def test_removing_below_the_minimum_load_and_the_non_academic_seat_is_reported():
    issues = check_change(PAIRS, TEAM, remove=(12, 3))
    assert codes(issues) == [("seats_short", False), ("non_academic_short", False)]
    issues = check_change(PAIRS, TEAM, remove=(12, 1))
    assert ("below_min_load", False) in codes(issues)
    assert "juror 1 would review 0 proposals, below their minimum load of 1" in [
        i.message for i in issues
    ]


def test_changes_that_make_no_sense_are_refused():
    assert codes(check_change(PAIRS, TEAM, remove=(13, 1))) == [("not_assigned", True)]
    assert codes(check_change(PAIRS, TEAM, add=(99, 1))) == [("unknown_proposal", True)]
    assert codes(check_change(PAIRS, TEAM, add=(12, 99))) == [("unknown_juror", True)]
    assert codes(check_change(PAIRS, TEAM, swap=(12, 1, 1))) == [("same_juror", True)]
    with pytest.raises(ValueError):
        check_change(PAIRS, TEAM, add=(12, 4), remove=(12, 1))


def test_alternates_respect_conflicts_loads_and_organisations():
    # Proposal 13 has jurors 2 and 5. Juror 1 shares juror 2's organisation, juror 3 is full,
    # juror 4 has a conflict.
    assert alternates(TEAM, PAIRS, 13) == []
    # When juror 2 (organisation 4) declines, juror 1 of the same organisation may step in.
    assert alternates(TEAM, PAIRS, 13, replacing=2) == [1]
    # Proposal 12: juror 4 has the best affinity and room; juror 2 shares juror 1's organisation.
    assert alternates(TEAM, PAIRS, 12) == [4]
    assert alternates(TEAM, PAIRS, 12, replacing=1) == [4, 2]
    # Replacing the only industry juror: jurors outside academia first (none has room here).
    assert alternates(TEAM, PAIRS, 12, replacing=3) == [4]


# --- greedy ------------------------------------------------------------------------------------


def test_greedy_obeys_the_hard_rules_and_never_beats_the_engine():
    rng = random.Random(11)
    for _ in range(30):
        problem = random_problem(
            rng, proposals=5, jurors=6, one_per_organisation=True, min_non_academic_seats=1
        )
        # Greedy ignores minimum loads; compare on problems without them.
        problem = dataclasses.replace(
            problem, jurors=[dataclasses.replace(j, min_load=0) for j in problem.jurors]
        )
        base = greedy(problem)
        assert not base.optimal and base.method == "greedy"
        assert not set(base.pairs) & set(problem.conflicts)
        loads = Counter(j for _, j in base.pairs)
        assert all(loads[j.id] <= j.max_load for j in problem.jurors)
        try:
            best = solve(problem)
        except Infeasible:
            continue
        if len(base.pairs) == len(best.pairs):
            assert base.total_affinity <= best.total_affinity + 1e-9


# --- input errors ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "problem",
    [
        Problem([Proposal(1, 1), Proposal(1, 1)], [Juror(1, 1)], {}),
        Problem([Proposal(1, -1)], [Juror(1, 1)], {}),
        Problem([Proposal(1, 1)], [Juror(1, 1)], {(1, 1): 1.5}),
        Problem([Proposal(1, 1)], [Juror(1, 1)], {(1, 1): float("nan")}),
        Problem([Proposal(1, 1)], [Juror(1, 1)], {(1, 2): 0.5}),
        Problem([Proposal(1, 1)], [Juror(1, 1)], {}, frozenset({(3, 1)})),
        Problem([Proposal(1, 1)], [Juror(1, 1, sector="nowhere")], {}),  # type: ignore[arg-type]
    ],
)
def test_malformed_input_is_a_value_error_not_infeasibility(problem):
    with pytest.raises(ValueError) as caught:
        solve(problem)
    assert not isinstance(caught.value, Infeasible)


def test_nothing_to_assign_is_an_empty_optimal_assignment():
    result = solve(Problem([Proposal(1, 0)], [Juror(1, 2)], {}))
    assert result.pairs == () and result.optimal and result.loads == {1: 0}


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


@PROPERTY
@given(problems())
def test_random_instances_obey_every_rule_and_match_an_independent_solver(problem):
    reference = cp_sat_reference(problem)
    try:
        result = solve(problem)
    except Infeasible as caught:
        assert reference is None
        assert caught.reasons and all(reason for reason in caught.reasons)
        return
    assert reference is not None
    assert_rules_hold(problem, result)
    assert result.optimal and result.method == "min-cost flow"
    assert total_micro(result) == reference


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems(fairness=True))
def test_fairness_finds_the_strongest_weakest_pair_and_the_best_total_above_it(problem):
    try:
        result = solve(problem)
    except Infeasible:
        assert cp_sat_reference(problem) is None
        return
    assert_rules_hold(problem, result)
    assert result.optimal
    if not result.pairs:
        return
    weakest = weakest_micro(result)
    assert micro(result.fairness_threshold) == weakest
    assert cp_sat_reference(problem, weakest_at_least=weakest) == total_micro(result)
    assert cp_sat_reference(problem, weakest_at_least=weakest + 1) is None
