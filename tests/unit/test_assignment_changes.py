"""The reviewer-assignment engine on plain data, continued: the same input gives the same
assignment, fairness, an officer's manual changes, the greedy start, input errors, and
properties on random instances checked against the references in assignment_references.py."""

from __future__ import annotations

import dataclasses
import random
from collections import Counter

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from competition.core.assignment import (
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
from tests.unit.assignment_references import (
    PAIRS,
    PROPERTY,
    TEAM,
    assert_rules_hold,
    brute_force,
    codes,
    cp_sat_reference,
    micro,
    problems,
    random_problem,
    total_micro,
    weakest_micro,
)

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


def test_a_valid_swap_raises_no_issue():
    assert check_change(PAIRS, TEAM, swap=(13, 2, 1)) == []


def test_adding_a_conflicted_juror_is_refused():
    issues = check_change(PAIRS, TEAM, add=(13, 4))
    assert codes(issues) == [("conflict", True), ("seats_over", False)]
    assert str(issues[0].message) == "juror 4 has a conflict of interest with proposal 13"


def test_adding_beyond_the_maximum_load_is_refused():
    issues = check_change(PAIRS, TEAM, swap=(13, 2, 3))
    assert codes(issues) == [("above_max_load", True)]
    assert (
        str(issues[0].message) == "juror 3 would review 2 proposals, above their maximum load of 1"
    )


def test_adding_a_juror_already_on_the_proposal_is_refused():
    issues = check_change(PAIRS, TEAM, swap=(12, 1, 3))
    assert ("already_assigned", True) in codes(issues)
    assert str(check_change(PAIRS, TEAM, add=(12, 3))[0].message) == (
        "juror 3 is already assigned to proposal 12"
    )


def test_a_second_juror_of_the_same_organisation_is_refused():
    issues = check_change(PAIRS, TEAM, swap=(12, 5, 2))
    assert codes(issues) == [("same_organisation", True)]
    assert str(issues[0].message) == (
        "proposal 12 already has juror 1 from organisation 4, the organisation of juror 2"
    )
    # Swapping juror 1 for juror 2 keeps one juror of organisation 4; juror 1 then falls
    # below its minimum load, which is allowed but reported.
    assert codes(check_change(PAIRS, TEAM, swap=(12, 1, 2))) == [("below_min_load", False)]


def test_removing_is_allowed_but_reports_the_shortfall():
    issues = check_change(PAIRS, TEAM, remove=(12, 5))
    assert codes(issues) == [("seats_short", False)]
    assert str(issues[0].message) == "proposal 12 now has 2 of 3 jurors"


def test_removing_below_the_minimum_load_and_the_non_academic_seat_is_reported():
    issues = check_change(PAIRS, TEAM, remove=(12, 3))
    assert codes(issues) == [("seats_short", False), ("non_academic_short", False)]
    issues = check_change(PAIRS, TEAM, remove=(12, 1))
    assert ("below_min_load", False) in codes(issues)
    assert "juror 1 would review 0 proposals, below their minimum load of 1" in [
        str(i.message) for i in issues
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
