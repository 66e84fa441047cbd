"""Selection constraints with minimums and maximums on any attribute ("coordinator_state:DE-BE",
"topic:energy", ...), on plain data: the merit order skips a proposal that would exceed a
maximum and reports what that cost in places; swapping meets minimums without breaking a
maximum; when swapping cannot meet them together the best-ranked selection that does is drawn;
the exact option honours maximums; and constraints that can never be met are named with their
numbers. A brute force over every subset is the reference.
"""

from __future__ import annotations

from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from competition.core.line import Policy, Ranked, plan_line
from competition.core.selection import (
    SCORE_SCALE,
    Candidate,
    MinimumCount,
    infeasibility,
    merit_order_line,
    optimal_line,
    values_of,
)
from competition.core.texts import N_

M = Decimal(1_000_000)
BE, BB, SN = "coordinator_state:DE-BE", "coordinator_state:DE-BB", "coordinator_state:DE-SN"


def cand(pid, rank, requested=M, *, attrs=(), fundable=True, score=None):
    return Candidate(
        proposal_id=pid,
        rank=rank,
        score=float(100 - rank) if score is None else score,
        requested=Decimal(requested),
        fundable=fundable,
        attributes=frozenset(attrs),
    )


def berlin(maximum):
    return MinimumCount(BE, 0, maximum, name=N_("led from %(state)s", state="Berlin"))


# --- maximums in the merit order -----------------------------------------------------------


def test_a_proposal_that_would_exceed_a_maximum_is_skipped_and_the_cost_is_reported():
    field = [
        cand("A", 1, attrs={BE}),
        cand("B", 2, attrs={BE}),
        cand("C", 3, attrs={BB}),
        cand("D", 4, attrs={SN}),
    ]

    line = merit_order_line(field, 3 * M, constraints=[berlin(1)])

    assert line.funded == ("A", "C", "D")
    assert (
        str(line.skipped[0].reason) == "skipped to keep: at most 1 funded proposal led from Berlin"
    )
    (report,) = line.constraints
    assert report.met and report.funded_count == 1
    assert report.places == 2  # D (rank 4) came in for B (rank 2)
    assert [(s.funded, s.displaced) for s in report.swaps] == [("D", (("B", 2),))]
    assert str(report.message) == (
        "At most 1 funded proposal led from Berlin: met by 1 swap, costing 2 places in the "
        "ranking: D (rank 4) funded instead of B (rank 2): 2 places."
    )


def test_a_maximum_kept_by_the_merit_order_costs_nothing():
    field = [cand("A", 1, attrs={BE}), cand("B", 2, attrs={BB})]

    (report,) = merit_order_line(field, 2 * M, constraints=[berlin(1)]).constraints

    assert report.met and report.places == 0
    assert str(report.message) == (
        "At most 1 funded proposal led from Berlin: met by the merit order (1 funded)."
    )


def test_a_skipped_proposal_nobody_replaces_is_named():
    field = [cand("A", 1, attrs={BE}), cand("B", 2, attrs={BE})]

    line = merit_order_line(field, 2 * M, constraints=[berlin(1)])

    assert line.funded == ("A",) and line.remaining == M
    assert "B (rank 2) skipped; nobody was funded in its place" in str(line.constraints[0].message)


def test_swapping_for_a_minimum_never_breaks_a_maximum():
    # The only eastern candidate with money enough is led from Berlin, which is full.
    field = [
        cand("A", 1, attrs={BE, "region:east"}),
        cand("W", 2, attrs={"region:west"}),
        cand("E", 3, attrs={BE, "region:east"}),
    ]
    constraints = [berlin(1), MinimumCount("region:east", 2)]

    line = merit_order_line(field, 2 * M, constraints=constraints)

    assert line.funded == ("A", "W")
    maximum, minimum = line.constraints
    assert maximum.met and not minimum.met
    assert "cannot be met" in str(minimum.message)


def test_when_swapping_cannot_meet_minimums_together_the_best_ranked_selection_that_does_wins():
    # Swapping in the best eastern proposal (E1) for B leaves no place for photonics; only
    # {A, E2} meets all three within the budget.
    field = [
        cand("A", 1, attrs={"topic:energy"}),
        cand("B", 2),
        cand("E1", 3, attrs={"region:east"}),
        cand("E2", 4, attrs={"region:east", "topic:photonics"}),
    ]
    constraints = [
        MinimumCount("region:east", 1),
        MinimumCount("topic:energy", 1),
        MinimumCount("topic:photonics", 1),
    ]

    line = merit_order_line(field, 2 * M, constraints=constraints)

    assert set(line.funded) == {"A", "E2"}
    assert all(r.met for r in line.constraints)
    assert sum(r.places for r in line.constraints) == 2  # E2 (rank 4) instead of B (rank 2)
    assert "best-ranked selection within the budget that meets them all" in str(line.notes[0])


def test_the_exact_option_honours_maximums():
    field = [cand("A", 1, attrs={BE}), cand("B", 2, attrs={BE}), cand("C", 3, attrs={BB})]

    line = optimal_line(field, 3 * M, [berlin(1)])

    assert line.funded == ("A", "C")
    assert line.constraints[0].met


# --- constraints that can never be met -----------------------------------------------------


def test_a_minimum_above_a_maximum_is_named():
    field = [cand("A", 1, attrs={BE}), cand("B", 2, attrs={BE})]

    reasons = infeasibility(field, 5 * M, [MinimumCount(BE, 2, 1)])
    named = MinimumCount(BE, 2, name=N_("led from Berlin"))
    other = infeasibility(field, 5 * M, [named, berlin(1)])

    assert [str(r) for r in reasons] == [
        "At least 2 and at most 1 funded proposals with 'coordinator_state:DE-BE': the minimum "
        "of 2 is above the maximum of 1."
    ]
    assert [str(r) for r in other] == [
        "At least 2 funded proposals led from Berlin: the minimum of 2 is above the maximum of "
        "another constraint: at most 1 funded proposal led from Berlin."
    ]


def test_a_minimum_larger_than_the_fundable_proposals_with_the_attribute_is_named():
    field = [cand("A", 1, attrs={"topic:ict"}), cand("B", 2, attrs={"topic:ict"}, fundable=False)]
    ict = MinimumCount("topic:ict", 2, name=N_("on the topic ICT"))

    (reason,) = infeasibility(field, 5 * M, [ict])

    assert str(reason) == (
        "At least 2 funded proposals on the topic ICT: cannot be met: only 1 fundable proposal "
        "on the topic ICT."
    )


def test_minimums_needing_more_places_than_the_target_are_named():
    field = [
        cand("A", 1, attrs={"topic:a"}),
        cand("B", 2, attrs={"topic:b"}),
        cand("C", 3, attrs={"topic:c"}),
    ]
    constraints = [MinimumCount(f"topic:{t}", 1) for t in "abc"]

    (reason,) = infeasibility(field, 5 * M, constraints, target=2)

    assert str(reason).startswith(
        "Together these constraints need 3 places, more than the target of 2: at least 1 "
        "funded proposal with 'topic:a'; "
    )


def test_minimums_sharing_proposals_do_not_add_up():
    # One proposal on two topics meets both minimums: no claim that they need two places.
    field = [cand("A", 1, attrs={"topic:a", "topic:b"})]

    assert (
        infeasibility(field, 5 * M, [MinimumCount("topic:a", 1), MinimumCount("topic:b", 1)], 1)
        == ()
    )


def test_minimums_whose_cheapest_proposals_exceed_the_budget_together_are_named():
    field = [
        cand("A", 1, 3 * M, attrs={BE}),
        cand("B", 2, 3 * M, attrs={BB}),
        cand("C", 3, 1 * M, attrs={SN}),
    ]
    constraints = [MinimumCount(BE, 1), MinimumCount(BB, 1)]

    (reason,) = infeasibility(field, 5 * M, constraints)

    assert str(reason).startswith(
        "Together these constraints need at least 6.0 M€, more than the budget of 5.0 M€:"
    )


def test_a_line_with_an_impossible_quota_names_it_and_is_still_drawn():
    ranked = [
        Ranked("A", 1, 9.0, True, (1, 1), M, frozenset({"topic:energy"})),
        Ranked("B", 2, 8.0, True, (2, 2), M, frozenset({"topic:energy"})),
    ]
    policy = Policy(
        funding=True,
        budget=5 * M,
        constraints=(MinimumCount("topic:ict", 1, name=N_("on the topic ICT")),),
    )

    plan = plan_line(ranked, policy)

    assert [str(r) for r in plan.infeasible] == [
        "At least 1 funded proposal on the topic ICT: cannot be met: no fundable proposal on "
        "the topic ICT."
    ]
    assert plan.committed == 2 * M
    assert not plan.reports[0].met


def test_under_a_target_a_maximum_still_reports_whom_it_kept_out_and_the_cost():
    ranked = [
        Ranked(ref, rank, 10.0 - rank, True, (rank, rank), M, frozenset({state}))
        for ref, rank, state in (("A", 1, BE), ("B", 2, BE), ("C", 3, BB), ("D", 4, SN))
    ]
    policy = Policy(funding=True, target=2, budget=10 * M, constraints=(berlin(1),))

    plan = plan_line(ranked, policy)

    assert [p.reference for p in plan.placements if p.suggested == "fund"] == ["A", "C"]
    (report,) = plan.reports
    assert report.met and report.places == 1
    assert [(s.funded, s.displaced) for s in report.swaps] == [("C", (("B", 2),))]
    assert str(plan.placement("B").why) == (
        "displaced by C (rank 3) to meet: at most 1 funded proposal led from Berlin"
    )


def test_each_value_is_every_value_the_candidates_carry():
    field = [cand("A", 1, attrs={BE, "topic:x"}), cand("B", 2, attrs={SN}), cand("C", 3)]

    assert values_of("coordinator_state", field) == ["DE-BE", "DE-SN"]
    assert values_of("region", field) == []


# --- against a brute force -----------------------------------------------------------------

ATTRIBUTES = ("state:a", "state:b", "topic:x")


@st.composite
def fields(draw, max_size=9):
    n = draw(st.integers(1, max_size))
    return [
        cand(
            f"P{rank}",
            rank,
            draw(st.sampled_from([M, 2 * M, 3 * M])),
            attrs={draw(st.sampled_from(ATTRIBUTES[:2]))}
            | ({"topic:x"} if draw(st.booleans()) else set()),
            fundable=draw(st.booleans()) or rank == 1,
            score=float(draw(st.integers(0, 9))),
        )
        for rank in range(1, n + 1)
    ]


quota_sets = st.lists(
    st.builds(
        MinimumCount,
        st.sampled_from(ATTRIBUTES),
        st.integers(0, 3),
        st.one_of(st.none(), st.integers(0, 3)),
    ),
    min_size=1,
    max_size=3,
)


def brute_force(field, budget, constraints):
    """Every subset of the fundable within the budget and under every maximum: the best by
    (smallest shortfall, highest score, rank weight), and whether any meets every minimum."""
    fundable = sorted((c for c in field if c.fundable), key=lambda c: c.rank)
    m = len(fundable)
    best = None
    feasible = False
    for mask in range(1 << m):
        chosen = [fundable[j] for j in range(m) if mask >> j & 1]
        if sum(c.requested for c in chosen) > budget:
            continue
        if not within_maximums(chosen, constraints):
            continue
        short = shortfall(chosen, constraints)
        feasible = feasible or short == 0
        key = (
            -short,
            sum(round(c.score * SCORE_SCALE) for c in chosen),
            sum(m - j for j in range(m) if mask >> j & 1),
        )
        best = key if best is None or key > best else best
    return best, feasible


def within_maximums(chosen, constraints):
    return all(
        k.maximum is None or sum(k.attribute in c.attributes for c in chosen) <= k.maximum
        for k in constraints
    )


def shortfall(chosen, constraints):
    need = {}
    for k in constraints:
        need[k.attribute] = max(need.get(k.attribute, 0), k.count)
    return sum(max(0, n - sum(a in c.attributes for c in chosen)) for a, n in need.items())


budgets = st.sampled_from([M, 2 * M, 3 * M, 5 * M, 8 * M])


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fields(), budgets, quota_sets)
def test_the_merit_order_meets_every_quota_whenever_some_selection_does(field, budget, quotas):
    line = merit_order_line(field, budget, constraints=quotas)
    _, feasible = brute_force(field, budget, quotas)
    by_id = {c.proposal_id: c for c in field}
    chosen = [by_id[p] for p in line.funded]

    assert line.total_committed <= budget
    assert within_maximums(chosen, quotas)
    if feasible:
        assert shortfall(chosen, quotas) == 0
        assert all(r.met for r in line.constraints)
    for report in line.constraints:
        have = sum(report.constraint.attribute in c.attributes for c in chosen)
        assert report.funded_count == have
        assert ("cannot be met" in str(report.message)) == (not report.met)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fields(), budgets, quota_sets)
def test_the_exact_option_with_maximums_equals_the_brute_force(field, budget, quotas):
    line = optimal_line(field, budget, quotas)
    best, _ = brute_force(field, budget, quotas)
    by_id = {c.proposal_id: c for c in field}
    chosen = [by_id[p] for p in line.funded]
    fundable = sorted((c for c in field if c.fundable), key=lambda c: c.rank)
    position = {c.proposal_id: j for j, c in enumerate(fundable)}

    assert within_maximums(chosen, quotas)
    assert (
        -shortfall(chosen, quotas),
        sum(round(c.score * SCORE_SCALE) for c in chosen),
        sum(len(fundable) - position[c.proposal_id] for c in chosen),
    ) == best


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fields(), budgets, quota_sets)
def test_no_quota_is_called_impossible_that_some_selection_meets(field, budget, quotas):
    _, feasible = brute_force(field, budget, quotas)
    if feasible:
        assert infeasibility(field, budget, quotas) == ()


# Under a target with money enough for everyone: the funded are the best-ranked subset of at
# most t fundable proposals that keeps the maximum and meets the minimum as far as t allows.
@st.composite
def ranked_fields(draw):
    n = draw(st.integers(1, 8))
    return [
        Ranked(
            f"P{rank}",
            rank,
            10.0 - rank,
            draw(st.booleans()) or rank == 1,
            (rank, rank),
            M,
            frozenset({"topic:x"} if draw(st.booleans()) else {"topic:y"}),
        )
        for rank in range(1, n + 1)
    ]


def best_under_target(field, target, minimum, maximum):
    from itertools import combinations

    fundable = [r for r in field if r.fundable]
    best = None
    for size in range(min(target, len(fundable)) + 1):
        for subset in combinations(fundable, size):
            have = sum("topic:x" in r.attributes for r in subset)
            if maximum is not None and have > maximum:
                continue
            # Fewest missing, then most places, then the best ranks.
            key = (-min(have, minimum), -size, sorted(r.rank for r in subset))
            if best is None or key < best[0]:
                best = (key, {r.reference for r in subset})
    return best[1] if best else set()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    ranked_fields(),
    st.integers(1, 6),
    st.integers(0, 3),
    st.one_of(st.none(), st.integers(0, 3)),
)
def test_under_a_target_the_funded_are_the_best_subset_keeping_both_bounds(
    field, target, minimum, maximum
):
    if maximum is not None and minimum > maximum:
        minimum = maximum
    quota = MinimumCount("topic:x", minimum, maximum)
    policy = Policy(funding=True, target=target, budget=100 * M, constraints=(quota,))

    plan = plan_line(field, policy)

    funded = {p.reference for p in plan.placements if p.suggested == "fund"}
    assert funded == best_under_target(field, target, minimum, maximum)
