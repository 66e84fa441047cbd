"""The reviewer-assignment engine on plain data.

Independent references: a brute force that enumerates every assignment of tiny instances, and,
for the property tests, a 0-1 program in OR-Tools CP-SAT written here from the problem's fields
(SciPy is not installed in this project, so its milp is not used). Affinities are multiples of
1/1000, so the engine's integer rounding (1e-6) is exact and totals compare as integers."""

from __future__ import annotations

import dataclasses
import random
from collections import Counter

import pytest

from competition.core.assignment import (
    Infeasible,
    Juror,
    Problem,
    Proposal,
    solve,
)
from tests.unit.assignment_references import (
    RULES,
    assert_rules_hold,
    brute_force,
    random_problem,
    total_micro,
    weakest_micro,
)


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
    assert list(map(str, caught.value.reasons)) == [
        "proposal 17 has only 2 jurors without a conflict for 3 seats"
    ]


def test_total_capacity_below_the_seats_is_named():
    proposals = [Proposal(i, 3) for i in range(1, 255)]
    jurors = [Juror(j, 3) for j in range(1, 61)]
    with pytest.raises(Infeasible) as caught:
        solve(Problem(proposals, jurors, {}))
    assert "total capacity 180 seats < 254 × 3 needed" in list(map(str, caught.value.reasons))
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
    assert reason in list(map(str, caught.value.reasons))


def test_a_shortage_only_the_flow_finds_names_the_proposals_involved():
    # Each proposal on its own has enough jurors without a conflict, and capacity is ample,
    # but proposals 1 and 2 share the only two jurors they may have, each free for one more.
    proposals = [Proposal(1, 2), Proposal(2, 2), Proposal(3, 1)]
    jurors = [Juror(10, 1), Juror(11, 1), Juror(12, 5), Juror(13, 5)]
    conflicts = frozenset({(1, 12), (1, 13), (2, 12), (2, 13)})
    with pytest.raises(Infeasible) as caught:
        solve(Problem(proposals, jurors, {}, conflicts))
    assert list(map(str, caught.value.reasons)) == [
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
    assert list(map(str, caught.value.reasons)) == [
        "juror 10 must review at least 2 proposals but has no conflict with only 1"
    ]


def test_minimum_loads_that_compete_for_the_same_seats_are_named():
    # Each juror alone could meet its minimum; together they need two seats of proposal 1.
    proposals = [Proposal(1, 1), Proposal(2, 1)]
    jurors = [Juror(10, 2, min_load=1), Juror(11, 2, min_load=1), Juror(12, 2)]
    conflicts = frozenset({(2, 10), (2, 11)})
    with pytest.raises(Infeasible) as caught:
        solve(Problem(proposals, jurors, {}, conflicts))
    assert list(map(str, caught.value.reasons)) == [
        "the minimum loads of jurors 10 and 11 add up to 2 reviews, but only 1 can be placed: "
        "the proposals they may review (1) have too few seats; lower these minimum loads"
    ]


def test_non_academic_seats_that_compete_for_the_same_jurors_are_named():
    proposals = [Proposal(1, 1), Proposal(2, 1)]
    jurors = [Juror(10, 1, sector="industry"), Juror(11, 2), Juror(12, 2, sector="other")]
    conflicts = frozenset({(1, 12), (2, 12)})
    with pytest.raises(Infeasible) as caught:
        solve(Problem(proposals, jurors, {}, conflicts, min_non_academic_seats=1))
    assert list(map(str, caught.value.reasons)) == [
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
