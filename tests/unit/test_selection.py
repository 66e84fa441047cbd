"""Drawing the line on plain data: selection to a target, the merit-order funding line with its
constraints, the exact option against a brute force, the grey zone and the verifiable lottery.

Independent references written here from the rules: a plain merit-order walk, a brute force over
every subset for the exact option (same order of preference: smallest shortfall, then highest
value, then rank weights), and the draw recipe re-implemented from its docstring.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from competition.core.selection import (
    NOT_FUNDABLE,
    SCORE_SCALE,
    Candidate,
    LotteryDraw,
    MinimumCount,
    draw_lottery,
    grey_zone,
    merit_order_line,
    optimal_line,
    select_by_target,
    verify_draw,
)

M = Decimal(1_000_000)
EASTERN = frozenset({"eastern"})
SME = frozenset({"sme"})


def cand(pid, rank, requested, *, score=None, fundable=True, attrs=frozenset(), interval=None):
    low, high = interval if interval else (None, None)
    return Candidate(
        proposal_id=pid,
        rank=rank,
        score=float(100 - rank) if score is None else score,
        requested=Decimal(requested),
        fundable=fundable,
        attributes=frozenset(attrs),
        rank_low=low,
        rank_high=high,
    )


def ids(entries):
    return [e.proposal_id for e in entries]


def cents(amount):
    return int(amount * 100)


# --- input ---------------------------------------------------------------------------------


def test_money_must_be_decimal_in_whole_cents():
    with pytest.raises(TypeError):
        Candidate("P-1", 1, 5.0, 10.5)
    with pytest.raises(ValueError, match="whole cents"):
        cand("P-1", 1, Decimal("10.005"))
    with pytest.raises(ValueError):
        cand("P-1", 1, Decimal("-1"))
    with pytest.raises(TypeError):
        merit_order_line([cand("P-1", 1, 10)], 100.0)


def test_a_proposal_listed_twice_is_refused():
    with pytest.raises(ValueError, match="twice"):
        merit_order_line([cand("P-1", 1, 10), cand("P-1", 2, 10)], Decimal(100))


def test_rank_interval_must_contain_the_rank():
    with pytest.raises(ValueError, match="rank interval"):
        cand("P-1", 5, 10, interval=(6, 9))


# --- selection to a target -----------------------------------------------------------------


def test_first_target_fundable_candidates_advance_in_rank_order():
    field = [
        cand("P-4", 4, 1),
        cand("P-1", 1, 1),
        cand("P-2", 2, 1, fundable=False),
        cand("P-3", 3, 1),
        cand("P-5", 5, 1),
    ]
    result = select_by_target(field, 3)
    assert result.advancing == ("P-1", "P-3", "P-4")
    reasons = {n.proposal_id: str(n.reason) for n in result.not_advancing}
    assert reasons["P-2"] == str(NOT_FUNDABLE)
    assert "below a threshold" in reasons["P-2"]
    assert reasons["P-5"] == "outside the target: 3 better-ranked fundable proposals advance"
    assert tuple(map(str, result.notes)) == ()


def test_target_larger_than_the_fundable_field_takes_all_fundable_and_says_so():
    field = [cand("P-1", 1, 1), cand("P-2", 2, 1, fundable=False), cand("P-3", 3, 1)]
    result = select_by_target(field, 16)
    assert result.advancing == ("P-1", "P-3")
    assert ids(result.not_advancing) == ["P-2"]
    assert tuple(map(str, result.notes)) == (
        "Only 2 fundable proposals for a target of 16: all of them advance.",
    )


def test_target_of_16_of_137():
    field = [cand(i, i, 1, fundable=i % 10 != 3) for i in range(1, 138)]
    result = select_by_target(field, 16)
    assert result.advancing == (1, 2, 4, 5, 6, 7, 8, 9, 10, 11, 12, 14, 15, 16, 17, 18)
    assert len(result.not_advancing) == 137 - 16


# --- the merit-order line ------------------------------------------------------------------


def test_merit_order_skips_what_does_not_fit_and_funds_a_later_cheaper_one():
    field = [
        cand("P-1", 1, 45 * M),
        cand("P-2", 2, 45 * M),
        cand("P-3", 3, 5 * M),
        cand("P-4", 4, 8 * M),
        cand("P-5", 5, 20 * M),
    ]
    line = merit_order_line(field, Decimal("57.3") * M)
    assert line.funded == ("P-1", "P-3")
    assert ids(line.skipped) == ["P-2"]
    assert str(line.skipped[0].reason) == "requested 45.0 M€, only 12.3 M€ left"
    assert ids(line.reserve) == ["P-4", "P-5"]
    assert str(line.reserve[0].reason) == "requested 8.0 M€, only 7.3 M€ left"
    assert line.total_committed == Decimal("50000000.00")
    assert line.remaining == Decimal("7300000.00")
    assert line.line_rank == 3


def test_reserve_list_is_the_next_fundable_ones_after_the_line_up_to_its_size():
    field = [cand(f"P-{r}", r, 10 * M, fundable=r != 5) for r in range(1, 11)]
    line = merit_order_line(field, 30 * M, reserve_size=3)
    assert line.funded == ("P-1", "P-2", "P-3")
    assert ids(line.reserve) == ["P-4", "P-6", "P-7"]
    assert ids(line.not_funded) == ["P-5", "P-8", "P-9", "P-10"]
    assert line.not_funded[0].reason == NOT_FUNDABLE
    assert ids(merit_order_line(field, 30 * M).reserve) == ["P-4", "P-6", "P-7", "P-8", "P-9"]
    assert merit_order_line(field, 30 * M, reserve_size=0).reserve == ()


def test_not_fundable_is_never_funded_even_with_money_left():
    field = [cand("P-1", 1, 1 * M, fundable=False), cand("P-2", 2, 1 * M)]
    line = merit_order_line(field, 100 * M)
    assert line.funded == ("P-2",)
    assert [n.reason for n in line.not_funded] == [NOT_FUNDABLE]


def test_totals_are_exact_decimals():
    field = [cand(i, i, Decimal("0.10") if i % 2 else Decimal("0.20")) for i in range(1, 31)]
    line = merit_order_line(field, Decimal("3.33"))
    assert isinstance(line.total_committed, Decimal) and isinstance(line.remaining, Decimal)
    # 0.1 + 0.2 in floats would not be exact; here every cent is.
    assert line.total_committed == Decimal("3.30")
    assert line.remaining == Decimal("0.03")
    assert line.total_committed + line.remaining == Decimal("3.33")
    assert str(line.total_committed) == "3.30"


def test_small_amounts_read_in_euros_with_cents():
    field = [cand("P-1", 1, Decimal("800000.25")), cand("P-2", 2, Decimal("300000"))]
    line = merit_order_line(field, Decimal("1000000.50"))
    assert str(line.reserve[0].reason) == "requested 300,000 €, only 200,000.25 € left"


def test_twenty_thousand_candidates_are_all_placed_within_the_budget():
    # How fast this runs is bench/ranking.py's business, not a test's.
    field = [
        cand(i, i, Decimal(100_000 + (i * 7919) % 5_000_000), attrs=EASTERN if i % 7 else ())
        for i in range(1, 20_001)
    ]
    field.reverse()
    line = merit_order_line(field, Decimal(630) * M)
    assert line.total_committed <= Decimal(630) * M
    assert len(line.funded) + len(line.skipped) + len(line.reserve) + len(line.not_funded) == 20_000


def reference_walk(field, budget):
    """The merit order as the rule states it, in the plainest code."""
    left = cents(budget)
    funded = []
    for c in sorted(field, key=lambda c: (c.rank, c.proposal_id)):
        if c.fundable and cents(c.requested) <= left:
            funded.append(c.proposal_id)
            left -= cents(c.requested)
    return funded


@st.composite
def fields(draw, max_size=12, ties=True):
    n = draw(st.integers(0, max_size))
    ranks = (
        draw(st.lists(st.integers(1, n + 1), min_size=n, max_size=n))
        if ties
        else draw(st.permutations(range(1, n + 1)))
    )
    out = []
    for i, rank in enumerate(ranks):
        out.append(
            Candidate(
                proposal_id=i,
                rank=rank,
                score=draw(st.integers(0, 40)) / 4,
                requested=Decimal(draw(st.integers(0, 3_000))).scaleb(-2),
                fundable=draw(st.integers(0, 3)) > 0,
                attributes=frozenset(
                    draw(st.lists(st.sampled_from(["eastern", "sme"]), max_size=2))
                ),
            )
        )
    return out


budgets = st.integers(0, 10_000).map(lambda c: Decimal(c).scaleb(-2))


@settings(max_examples=200, deadline=None)
@given(fields(), budgets, st.integers(0, 4))
def test_merit_order_matches_the_plain_rule_and_accounts_for_every_cent(field, budget, reserve):
    line = merit_order_line(field, budget, reserve_size=reserve)
    assert list(line.funded) == reference_walk(field, budget)
    by_id = {c.proposal_id: c for c in field}
    assert line.total_committed == sum((by_id[p].requested for p in line.funded), Decimal(0))
    assert line.total_committed + line.remaining == budget
    assert line.remaining >= 0
    groups = [line.funded, ids(line.skipped), ids(line.reserve), ids(line.not_funded)]
    assert sorted(itertools.chain(*groups)) == sorted(by_id)
    assert len(line.reserve) <= reserve
    funded_ranks = [by_id[p].rank for p in line.funded]
    for entry in line.skipped:
        assert by_id[entry.proposal_id].fundable and entry.rank <= max(funded_ranks)
        assert by_id[entry.proposal_id].requested > line.remaining
    for entry in line.reserve:
        assert by_id[entry.proposal_id].fundable and entry.rank >= max(funded_ranks, default=0)
    for entry in line.not_funded:
        if by_id[entry.proposal_id].fundable:
            assert len(line.reserve) == reserve


# --- constraints ---------------------------------------------------------------------------


def brief_case():
    """Ranks 1-7 fill the budget; P-17 (rank 9) is the best unfunded eastern proposal."""
    names = {1: "P-3", 2: "P-8", 3: "P-1", 4: "P-20", 5: "P-9", 6: "P-2", 7: "P-12"}
    field = [cand(names[r], r, 10 * M, attrs=EASTERN if r == 2 else ()) for r in names]
    field += [
        cand("P-5", 8, 10 * M, attrs=EASTERN, fundable=False),
        cand("P-17", 9, 10 * M, attrs=EASTERN),
        cand("P-30", 10, 10 * M, attrs=EASTERN),
    ]
    return field


def test_constraint_met_by_swapping_with_its_cost_reported():
    line = merit_order_line(brief_case(), 70 * M, constraints=[MinimumCount("eastern", 2)])
    assert "P-17" in line.funded and "P-12" not in line.funded
    (report,) = line.constraints
    assert report.met and report.funded_count == 2
    (swap,) = report.swaps
    assert str(swap.message) == "P-17 (rank 9) funded instead of P-12 (rank 7): 2 places"
    assert swap.displaced == (("P-12", 7),) and swap.places == 2 == report.places
    assert str(report.message) == (
        "At least 2 funded proposals with 'eastern': met by 1 swap, costing 2 places in the "
        "ranking: P-17 (rank 9) funded instead of P-12 (rank 7): 2 places."
    )
    (displaced,) = line.skipped
    assert displaced.proposal_id == "P-12"
    assert str(displaced.reason) == (
        "displaced by P-17 (rank 9) to meet: at least 2 funded proposals with 'eastern'"
    )
    assert line.total_committed == 70 * M


def test_constraint_already_met_costs_nothing():
    line = merit_order_line(brief_case(), 70 * M, constraints=[MinimumCount("eastern", 1)])
    assert line.funded == merit_order_line(brief_case(), 70 * M).funded
    assert str(line.constraints[0].message) == (
        "At least 1 funded proposal with 'eastern': met by the merit order (1 funded)."
    )


def test_swap_displaces_as_few_of_the_worst_ranked_as_the_money_needs():
    field = [
        cand("A", 1, 10 * M),
        cand("B", 2, 10 * M),
        cand("C", 3, 12 * M),
        cand("D", 4, 3 * M),
        cand("E", 5, 12 * M, attrs=EASTERN),
    ]
    line = merit_order_line(field, 35 * M, constraints=[MinimumCount("eastern", 1)])
    # D (rank 4) alone frees too little; C must go, and then D can stay.
    assert line.funded == ("A", "B", "D", "E")
    assert line.constraints[0].swaps[0].displaced == (("C", 3),)
    assert (
        str(line.constraints[0].swaps[0].message)
        == "E (rank 5) funded instead of C (rank 3): 2 places"
    )


def test_swap_naming_several_displaced_proposals():
    field = [
        cand("A", 1, 10 * M),
        cand("B", 2, 5 * M),
        cand("C", 3, 5 * M),
        cand("E", 4, 10 * M, attrs=EASTERN),
    ]
    line = merit_order_line(field, 20 * M, constraints=[MinimumCount("eastern", 1)])
    assert line.funded == ("A", "E")
    (swap,) = line.constraints[0].swaps
    assert str(swap.message) == (
        "E (rank 4) funded instead of B (rank 2, 2 places) and C (rank 3, 1 place)"
    )
    assert swap.places == 3


def test_swapping_never_breaks_another_constraint_that_is_only_just_met():
    field = [
        cand("A", 1, 10 * M),
        cand("B", 2, 10 * M),
        cand("C", 3, 10 * M, attrs=EASTERN),
        cand("D", 4, 10 * M),
        cand("S", 5, 10 * M, attrs=SME),
    ]
    constraints = [MinimumCount("eastern", 1), MinimumCount("sme", 1)]
    line = merit_order_line(field, 30 * M, constraints=constraints)
    assert line.funded == ("A", "C", "S")
    assert all(r.met for r in line.constraints)
    assert line.constraints[1].swaps[0].displaced == (("B", 2),)


def test_budget_freed_by_a_swap_goes_down_the_merit_order_again():
    field = [
        cand("A", 1, 40 * M),
        cand("B", 2, 10 * M),
        cand("C", 3, 25 * M),
        cand("E", 4, 15 * M, attrs=EASTERN),
    ]
    line = merit_order_line(field, 50 * M, constraints=[MinimumCount("eastern", 1)])
    # B (10) makes too little room for E (15), so A (40) goes; C (25) then fits the freed money.
    assert line.funded == ("B", "C", "E")
    assert line.constraints[0].swaps[0].displaced == (("A", 1),)
    assert tuple(map(str, line.notes)) == ("C (rank 3) funded from the budget freed by the swaps.",)
    assert line.remaining == Decimal("0.00")


def test_unmeetable_constraint_is_reported_in_plain_words_and_costs_nothing():
    plain = merit_order_line(brief_case(), 70 * M)
    line = merit_order_line(brief_case(), 70 * M, constraints=[MinimumCount("eastern", 4)])
    assert line.funded == plain.funded
    (report,) = line.constraints
    assert not report.met and report.swaps == () and report.funded_count == 1
    assert str(report.message) == (
        "At least 4 funded proposals with 'eastern': cannot be met: "
        "only 3 fundable proposals have 'eastern'."
    )
    line = merit_order_line(brief_case(), 70 * M, constraints=[MinimumCount("sme", 1)])
    assert str(line.constraints[0].message) == (
        "At least 1 funded proposal with 'sme': cannot be met: no fundable proposal has 'sme'."
    )


def test_constraint_beyond_the_budget_is_reported():
    line = merit_order_line(brief_case(), 25 * M, constraints=[MinimumCount("eastern", 3)])
    assert str(line.constraints[0].message) == (
        "At least 3 funded proposals with 'eastern': cannot be met: the 3 cheapest fundable "
        "proposals with 'eastern' request 30.0 M€ together, more than the budget of 25.0 M€."
    )


def test_constraints_that_swapping_cannot_meet_together_point_to_the_exact_option():
    field = [
        cand("A", 1, 10 * M),
        cand("B", 2, 10 * M, attrs=SME),
        cand("E1", 3, 10 * M, attrs=EASTERN),
        cand("E2", 4, 10 * M, attrs=EASTERN),
    ]
    constraints = [MinimumCount("eastern", 2), MinimumCount("sme", 1)]
    line = merit_order_line(field, 20 * M, constraints=constraints)
    assert line.funded == ("A", "B")
    eastern, sme = line.constraints
    assert sme.met and not eastern.met and eastern.swaps == ()
    assert "optimal_line" in str(eastern.message) and "cannot be met" in str(eastern.message)
    exact = optimal_line(field, 20 * M, constraints)
    assert not all(r.met for r in exact.constraints)
    assert "no selection within the budget meets it" in " ".join(
        str(r.message) for r in exact.constraints
    )


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fields(), budgets, st.integers(0, 3), st.integers(0, 3))
def test_constrained_merit_order_keeps_the_budget_and_reports_truthfully(
    field, budget, eastern, sme
):
    constraints = [MinimumCount("eastern", eastern), MinimumCount("sme", sme)]
    line = merit_order_line(field, budget, constraints=constraints)
    by_id = {c.proposal_id: c for c in field}
    assert line.total_committed == sum((by_id[p].requested for p in line.funded), Decimal(0))
    assert line.total_committed <= budget and line.total_committed + line.remaining == budget
    assert all(by_id[p].fundable for p in line.funded)
    for report in line.constraints:
        have = sum(report.constraint.attribute in by_id[p].attributes for p in line.funded)
        assert report.funded_count == have
        assert report.met == (have >= report.constraint.count)
        assert ("cannot be met" in str(report.message)) == (not report.met)
    # Money left never fits anyone left out.
    for entry in [*line.skipped, *line.reserve, *line.not_funded]:
        if by_id[entry.proposal_id].fundable:
            assert by_id[entry.proposal_id].requested > line.remaining


# --- the exact option ----------------------------------------------------------------------


def brute_force(field, budget, constraints, objective="score"):
    """Every subset of the fundable: the best (smallest shortfall, value, rank weight)."""
    fundable = sorted((c for c in field if c.fundable), key=lambda c: (c.rank, c.proposal_id))
    m = len(fundable)
    need = {}
    for k in constraints:
        need[k.attribute] = max(need.get(k.attribute, 0), k.count)
    best_key, best_sets = None, []
    for mask in range(1 << m):
        chosen = [j for j in range(m) if mask >> j & 1]
        if sum(cents(fundable[j].requested) for j in chosen) > cents(budget):
            continue
        key = solution_key([fundable[j] for j in chosen], fundable, need, objective)
        if best_key is None or key > best_key:
            best_key, best_sets = key, [chosen]
        elif key == best_key:
            best_sets.append(chosen)
    return best_key, [{fundable[j].proposal_id for j in s} for s in best_sets]


def solution_key(chosen, fundable, need, objective):
    shortfall = sum(max(0, n - sum(a in c.attributes for c in chosen)) for a, n in need.items())
    if objective == "score":
        value = sum(round(c.score * SCORE_SCALE) for c in chosen)
    else:
        value = len(chosen)
    position = {c.proposal_id: j for j, c in enumerate(fundable)}
    weight = sum(len(fundable) - position[c.proposal_id] for c in chosen)
    return (-shortfall, value, weight)


constraint_sets = st.lists(
    st.builds(MinimumCount, st.sampled_from(["eastern", "sme"]), st.integers(0, 4)),
    min_size=1,
    max_size=2,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    fields(max_size=10),
    budgets,
    constraint_sets,
    st.sampled_from(["score", "count"]),
)
def test_exact_option_equals_brute_force_over_all_subsets(field, budget, constraints, objective):
    line = optimal_line(field, budget, constraints, objective=objective)
    best_key, best_sets = brute_force(field, budget, constraints, objective)
    by_id = {c.proposal_id: c for c in field}
    fundable = sorted((c for c in field if c.fundable), key=lambda c: (c.rank, c.proposal_id))
    need = {}
    for k in constraints:
        need[k.attribute] = max(need.get(k.attribute, 0), k.count)
    chosen = [by_id[p] for p in line.funded]
    assert line.total_committed == sum((c.requested for c in chosen), Decimal(0))
    assert line.total_committed <= budget
    assert solution_key(chosen, fundable, need, objective) == best_key
    if len(best_sets) == 1:
        assert set(line.funded) == best_sets[0]
    for report in line.constraints:
        have = sum(report.constraint.attribute in c.attributes for c in chosen)
        assert report.met == (have >= report.constraint.count)


def test_exact_option_favours_many_cheap_proposals_over_the_merit_order():
    field = [cand("TOP", 1, 100 * M, score=9.0)]
    field += [cand(f"C-{r}", r, 10 * M, score=5.0) for r in range(2, 12)]
    merit = merit_order_line(field, 100 * M)
    exact = optimal_line(field, 100 * M)
    assert merit.funded == ("TOP",)
    assert len(exact.funded) == 10 and "TOP" not in exact.funded
    assert exact.total_committed == merit.total_committed == 100 * M
    assert exact.skipped[0].proposal_id == "TOP"
    assert "favours many cheap proposals" in str(exact.notes[0])
    assert str(exact.notes[1]) == "This selection funds 10 proposals; the merit order would fund 1."


def test_exact_option_breaks_ties_towards_better_ranked_proposals():
    field = [cand(f"P-{r}", r, 10 * M, score=5.0) for r in range(1, 6)]
    assert optimal_line(field, 30 * M).funded == ("P-1", "P-2", "P-3")


def test_exact_option_is_deterministic_and_refuses_negative_scores():
    field = [cand(i, i, (i % 5 + 1) * M, score=float(i % 7)) for i in range(1, 40)]
    first = optimal_line(field, 20 * M, [MinimumCount("eastern", 0)])
    assert optimal_line(field, 20 * M, [MinimumCount("eastern", 0)]) == first
    with pytest.raises(ValueError, match="scores of at least 0"):
        optimal_line([cand("P-1", 1, 1, score=-0.5)], Decimal(10))


# --- grey zone -----------------------------------------------------------------------------


def grey_field():
    return [
        cand("A", 1, 10 * M, interval=(1, 2)),
        cand("B", 2, 10 * M, interval=(1, 4)),
        cand("C", 3, 10 * M, interval=(2, 6)),
        cand("D", 4, 10 * M, interval=(3, 5)),
        cand("E", 5, 10 * M, interval=(4, 9), fundable=False),
        cand("F", 6, 10 * M, interval=(4, 8)),
        cand("G", 7, 10 * M),
    ]


def test_grey_zone_is_the_fundable_proposals_whose_interval_straddles_the_line():
    zone = grey_zone(grey_field(), ["A", "B", "C"])
    assert zone.line_rank == 3
    # rank_low <= 3 < rank_high: B (1-4), C (2-6), D (3-5); not A (1-2: certainly above),
    # nor E (not fundable), nor F (4-8: certainly below), nor G (no interval).
    assert zone.members == ("B", "C", "D")
    assert zone.funded == ("B", "C") and zone.secure == ("A",)
    assert zone.places == 2 and zone.funded_amount == Decimal("20000000.00")


def test_grey_zone_at_a_given_line():
    zone = grey_zone(grey_field(), ["A", "B", "C", "D"], line_rank=4)
    # B (1-4) cannot fall below rank 4, so it is certainly above this line.
    assert zone.members == ("C", "D", "F")
    with pytest.raises(ValueError, match="not candidates"):
        grey_zone(grey_field(), ["Z"])


def test_nobody_funded_means_an_empty_grey_zone():
    zone = grey_zone(grey_field(), [])
    assert zone.members == () and zone.places == 0


# --- lottery -------------------------------------------------------------------------------


SEED = "DAX close 2025-06-02: 23955.58; Lotto 6aus49 2025-05-31: 3 14 15 26 35 49"


def reference_order(seed, candidate_ids):
    """The draw recipe, written from the docstring alone."""
    pool = sorted(
        candidate_ids, key=lambda p: (isinstance(p, str), p if isinstance(p, int) else 0, str(p))
    )
    key = json.dumps(
        {"candidates": pool, "seed": seed},
        ensure_ascii=False,
        separators=(",", ":"),
        sort_keys=True,
    ).encode()
    order = []
    pool = list(pool)
    for j in range(1, len(pool) + 1):
        h = int.from_bytes(
            hashlib.sha256(j.to_bytes(4, "big") + key + j.to_bytes(4, "big")).digest(), "big"
        )
        order.append(pool.pop(h % len(pool)))
    return order


def test_same_seed_same_draw_and_anyone_can_repeat_it():
    zone = ["P-7", "P-3", "P-11", "P-2", "P-9", 12, 4]
    first = draw_lottery(zone, 3, SEED)
    again = draw_lottery(list(reversed(zone)), 3, SEED)
    assert first == again
    assert first.candidates == (4, 12, "P-11", "P-2", "P-3", "P-7", "P-9")
    assert list(first.order) == reference_order(SEED, zone)
    assert first.drawn == first.order[:3]


def test_different_seeds_usually_give_different_draws():
    zone = [f"P-{i}" for i in range(8)]
    draws = {draw_lottery(zone, 3, f"{SEED} #{k}").drawn for k in range(30)}
    assert len(draws) >= 25


@settings(max_examples=200, deadline=None)
@given(
    st.sets(st.one_of(st.integers(0, 500), st.text(min_size=1, max_size=4)), max_size=15),
    st.integers(0, 20),
    st.text(min_size=1, max_size=20).filter(str.strip),
)
def test_the_draw_picks_only_from_the_grey_zone_and_fills_the_places(zone, places, seed):
    draw = draw_lottery(zone, places, seed)
    assert set(draw.order) == set(zone) and len(draw.order) == len(zone)
    assert set(draw.drawn) <= set(zone)
    assert len(draw.drawn) == len(set(draw.drawn)) == min(places, len(zone))
    assert verify_draw(draw)


def test_more_places_than_the_grey_zone_take_everyone():
    draw = draw_lottery(["B", "A", "C"], 10, SEED)
    assert sorted(draw.drawn) == ["A", "B", "C"]


def test_with_a_budget_a_drawn_proposal_that_does_not_fit_is_skipped_and_the_draw_goes_on():
    zone = ["P-1", "P-2", "P-3", "P-4", "P-5"]
    order = reference_order(SEED, zone)
    requested = {p: 10 * M for p in zone}
    requested[order[1]] = 50 * M
    draw = draw_lottery(zone, 3, SEED, budget=35 * M, requested=requested)
    assert draw.drawn == (order[0], order[2], order[3])
    assert draw.skipped == (order[1],)
    assert verify_draw(draw)
    tight = draw_lottery(zone, 3, SEED, budget=25 * M, requested=requested)
    assert tight.drawn == (order[0], order[2])
    with pytest.raises(ValueError, match="requested amount"):
        draw_lottery(zone, 3, SEED, budget=25 * M, requested={"P-1": M})


def test_verify_draw_accepts_a_real_record_and_rejects_a_tampered_one():
    zone = ["P-1", "P-2", "P-3", "P-4", "P-5", "P-6"]
    draw = draw_lottery(zone, 2, SEED, budget=30 * M, requested={p: 10 * M for p in zone})
    record = json.loads(json.dumps(draw.as_record()))
    assert verify_draw(draw) and verify_draw(record)
    assert LotteryDraw.from_record(record) == draw

    loser = next(p for p in zone if p not in draw.drawn)
    tampered = [
        {**record, "drawn": [loser, record["drawn"][1]]},
        {**record, "drawn": list(reversed(record["drawn"]))},
        {**record, "seed": SEED + " "},
        {**record, "candidates": record["candidates"][:-1]},
        {**record, "candidates": list(reversed(record["candidates"]))},
        {**record, "places": 3},
        {**record, "budget": "15000000.00"},
        {**record, "order": list(reversed(record["order"]))},
        {**record, "method": "md5"},
        {**record, "drawn": "P-1"},
        {key: value for key, value in record.items() if key != "seed"},
    ]
    for bad in tampered:
        assert not verify_draw(bad), bad


def test_a_draw_redone_with_another_seed_fails_against_the_published_seed():
    zone = ["P-1", "P-2", "P-3", "P-4"]
    redone = draw_lottery(zone, 2, "a seed chosen after the fact")
    assert verify_draw(redone)
    assert not verify_draw(redone, published_seed=SEED)
    assert not verify_draw(redone, published_candidates=zone[:3])
    honest = draw_lottery(zone, 2, SEED)
    assert verify_draw(honest, published_seed=SEED, published_candidates=list(reversed(zone)))
