"""The line's policy on plain data (``core.line.plan_line``): where each proposal stands and why,
the funding line under a target, constraints and the grey zone's draw. The number funded under a
target is checked against a brute force over every subset; test_line.py checks the same policy
read from the database."""

from __future__ import annotations

from decimal import Decimal
from itertools import combinations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from competition.core.line import (
    NOT_SELECTED,
    OUT,
    RESERVE,
    RESERVE_SIZE,
    SELECTED,
    SKIPPED,
    LineRefused,
    Policy,
    Ranked,
    plan_line,
)
from competition.core.selection import MinimumCount

M = Decimal(1_000_000)
SEED = "Lotto 6aus49 2026-11-28: 4 8 15 16 23 42"


def ranked(ref, rank, requested=M, *, fundable=True, interval=None, attrs=(), out=False):
    return Ranked(
        reference=ref,
        rank=rank,
        score=float(100 - rank),
        fundable=fundable,
        rank_interval=interval or (rank, rank),
        requested=Decimal(requested),
        attributes=frozenset(attrs),
        below_thresholds=() if fundable else ("Excellence: mean 2.1 below 3",),
        in_competition=not out,
    )


def shown(why):
    """A proposal's why as the line's page shows it: a sentence."""
    said = str(why)
    return said[:1].upper() + said[1:]


def groups(plan):
    return {p.reference: p.group for p in plan.placements}


def suggested(plan):
    return {p.reference: p.suggested for p in plan.placements}


# --- by target ------------------------------------------------------------------------------


def test_a_target_selects_the_best_fundable_and_says_why_the_others_are_not():
    field = [
        ranked("A", 1),
        ranked("B", 2, fundable=False),
        ranked("C", 3),
        ranked("D", 4),
        ranked("E", 5, out=True),
    ]
    plan = plan_line(field, Policy(funding=False, target=2))

    assert groups(plan) == {
        "A": SELECTED,
        "B": NOT_SELECTED,
        "C": SELECTED,
        "D": NOT_SELECTED,
        "E": OUT,
    }
    assert suggested(plan) == {
        "A": "advance",
        "B": "reject",
        "C": "advance",
        "D": "reject",
        "E": None,
    }
    assert shown(plan.placement("B").why) == "Below a threshold: Excellence: mean 2.1 below 3"
    assert plan.placement("D").why is not None and plan.placement("A").why is None
    assert shown(plan.placement("E").why) == "Withdrawn or out of the competition since the ranking"
    assert plan.line_rank == 3 and plan.committed == 0


def test_without_a_target_every_fundable_proposal_advances():
    plan = plan_line([ranked("A", 1), ranked("B", 2, fundable=False)], Policy(funding=False))
    assert suggested(plan) == {"A": "advance", "B": "reject"}
    assert "every fundable proposal advances" in str(plan.notes[0])


def test_constraints_do_not_bend_a_line_drawn_by_target():
    field = [ranked("A", 1), ranked("B", 2, attrs={"eastern"})]
    policy = Policy(funding=False, target=1, constraints=(MinimumCount("eastern", 1),))
    plan = plan_line(field, policy)
    assert suggested(plan) == {"A": "advance", "B": "reject"}
    assert any("drawn by its target" in note for note in map(str, plan.notes))


# --- by budget ------------------------------------------------------------------------------


def test_a_funding_line_skips_what_does_not_fit_and_keeps_a_reserve():
    field = [ranked("A", 1, 4 * M), ranked("B", 2, 5 * M), ranked("C", 3, 2 * M)]
    field += [ranked(f"R{n}", 3 + n, 9 * M) for n in range(1, RESERVE_SIZE + 3)]
    plan = plan_line(field, Policy(funding=True, budget=7 * M))

    assert [p.reference for p in plan.placements if p.group == SELECTED] == ["A", "C"]
    assert (
        groups(plan)["B"] == SKIPPED
        and shown(plan.placement("B").why) == "Requested 5.0 M€, only 3.0 M€ left"
    )
    reserve = [p.reference for p in plan.placements if p.group == RESERVE]
    assert reserve == [f"R{n}" for n in range(1, RESERVE_SIZE + 1)]
    assert (
        suggested(plan)["R1"] == "reserve" and suggested(plan)[f"R{RESERVE_SIZE + 1}"] == "reject"
    )
    assert plan.committed == 6 * M


def test_a_skipped_proposal_that_fits_the_budget_alone_is_first_in_reserve():
    plan = plan_line(
        [ranked("A", 1, 5 * M), ranked("B", 2, 4 * M), ranked("C", 3, 2 * M)],
        Policy(funding=True, budget=8 * M),
    )
    assert groups(plan) == {"A": SELECTED, "B": SKIPPED, "C": SELECTED}
    assert suggested(plan) == {"A": "fund", "B": "reserve", "C": "fund"}


def test_a_budget_already_spent_elsewhere_funds_nothing_and_says_by_how_much():
    plan = plan_line([ranked("A", 1)], Policy(funding=True, budget=Decimal("-1234.5")))
    assert suggested(plan) == {"A": "reserve"}
    assert str(plan.notes[0]).startswith(
        "Funding confirmed at other stages exceeds the programme's budget by 1,234.50 EUR"
    )


def test_the_exact_option_refuses_what_it_cannot_solve_in_words():
    field = [Ranked("A", 1, -1.0, True, (1, 1), M)]
    with pytest.raises(LineRefused, match="score"):
        plan_line(field, Policy(funding=True, budget=M, line_method="optimal"))


def test_a_funding_line_without_a_budget_is_a_mistake_of_the_caller():
    with pytest.raises(ValueError, match="remaining budget"):
        plan_line([ranked("A", 1)], Policy(funding=True))


def test_a_target_caps_the_funded_and_a_constraint_keeps_its_proposal():
    field = [ranked("A", 1), ranked("B", 2), ranked("C", 3), ranked("D", 4, attrs={"eastern"})]
    policy = Policy(
        funding=True, target=2, budget=10 * M, constraints=(MinimumCount("eastern", 1),)
    )
    plan = plan_line(field, policy)

    assert groups(plan) == {"A": SELECTED, "B": SKIPPED, "C": RESERVE, "D": SELECTED}
    assert shown(plan.placement("B").why) == (
        "Displaced by D (rank 4) to meet: " + str(MinimumCount("eastern", 1).describe())
    )
    (report,) = plan.reports
    assert report.met and report.places == 2
    assert plan.line_rank == 1  # D came in for the constraint: it does not move the line


# The brute force: with money enough for everyone, a target of t funds the t fundable proposals
# that meet the constraint as far as t places allow, and of those the best-ranked.
def best_subset(field, target, need):
    fundable = [r for r in field if r.fundable]
    size = min(target, len(fundable))

    def key(subset):
        met = min(sum("eastern" in r.attributes for r in subset), need)
        return (-met, sorted(r.rank for r in subset))

    return {r.reference for r in min(combinations(fundable, size), key=key)}


@st.composite
def fields(draw):
    n = draw(st.integers(1, 8))
    return [
        ranked(
            f"P{rank}",
            rank,
            draw(st.sampled_from([M / 2, M, 2 * M])),
            fundable=draw(st.booleans()) or rank == 1,
            attrs={"eastern"} if draw(st.booleans()) else (),
        )
        for rank in range(1, n + 1)
    ]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fields(), st.integers(1, 8), st.integers(0, 4))
def test_under_a_target_the_funded_are_the_best_subset_a_brute_force_finds(field, target, need):
    constraints = (MinimumCount("eastern", need),) if need else ()
    policy = Policy(funding=True, target=target, budget=100 * M, constraints=constraints)
    plan = plan_line(field, policy)

    funded = {p.reference for p in plan.placements if p.suggested == "fund"}
    assert funded == best_subset(field, target, need)
    assert plan.committed == sum((r.requested for r in field if r.reference in funded), Decimal(0))
    for p in plan.placements:
        assert (p.why is None) == (p.group == SELECTED)


@settings(max_examples=200, deadline=None)
@given(fields(), st.sampled_from([M, 2 * M, 3 * M, 5 * M]))
def test_a_funding_line_never_commits_more_than_the_budget(field, budget):
    plan = plan_line(field, Policy(funding=True, budget=budget))
    assert plan.committed <= budget
    for p, r in zip(plan.placements, field, strict=True):
        assert r.fundable or p.group != SELECTED


# --- the grey zone and its draw -------------------------------------------------------------


def grey_field():
    return [
        ranked("A", 1, interval=(1, 1)),
        ranked("B", 2, interval=(1, 4)),
        ranked("C", 3, interval=(2, 5)),
        ranked("D", 4, interval=(3, 6)),
        ranked("E", 5, interval=(5, 7)),
    ]


def test_a_lottery_hands_the_grey_zones_places_out_by_a_draw_anyone_can_repeat():
    policy = Policy(funding=False, target=3, lottery_seed=SEED)
    plan = plan_line(grey_field(), policy)

    assert plan.grey_zone == ("B", "C", "D") and plan.draw is not None
    assert (plan.draw.candidates, plan.draw.places, plan.draw_applied) == (
        ("B", "C", "D"),
        2,
        False,
    )
    made = plan.draw.draw()
    drawn = plan_line(grey_field(), policy, made.as_record())

    assert drawn.draw_applied
    winners = set(map(str, made.drawn))
    assert {p.reference for p in drawn.placements if p.group == SELECTED} == {"A"} | winners
    (loser,) = {"B", "C", "D"} - winners
    assert shown(drawn.placement(loser).why) == (
        "Lost the draw among the grey zone (2 places for 3 proposals)"
    )
    assert all(drawn.placement(ref).drawn for ref in winners)


def test_a_draw_made_on_other_inputs_is_not_applied_and_the_page_is_told():
    policy = Policy(funding=False, target=3, lottery_seed=SEED)
    other = plan_line(grey_field(), Policy(funding=False, target=3, lottery_seed="another seed"))
    assert other.draw is not None
    plan = plan_line(grey_field(), policy, other.draw.draw().as_record())
    assert not plan.draw_applied
    assert groups(plan) == groups(plan_line(grey_field(), policy))
    assert any("its result is not applied" in note for note in map(str, plan.notes))
    broken = plan_line(grey_field(), policy, {"method": "nonsense"})
    assert not broken.draw_applied


def test_a_proposal_a_constraint_needs_is_held_out_of_the_draw():
    field = grey_field()
    field[2] = ranked("C", 3, interval=(2, 5), attrs={"eastern"})
    policy = Policy(
        funding=True,
        target=3,
        budget=10 * M,
        constraints=(MinimumCount("eastern", 1),),
        lottery_seed=SEED,
    )
    plan = plan_line(field, policy)
    assert plan.draw is not None and "C" not in plan.draw.candidates
    assert "Held out of the draw because a constraint needs them: C." in map(str, plan.notes)
