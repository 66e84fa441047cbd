"""What the core says about an interim evaluation of a funded grant, on plain data: the budget
covers the next phase's years only, the grant's general details and consortium are not judged
again, and only the evaluation's outcomes are decided there (conditions required with them)."""

from __future__ import annotations

import dataclasses

from competition.core.decisions import Candidate, plan_proposals
from competition.core.rules import checklist
from tests.unit.rules_drafts import DURING, MEMBERS, RULES, STAGE, codes, good_draft, only, row

EVALUATION = dataclasses.replace(STAGE, attachments=(), budget_years=(4, 6))
PHASE_BUDGET = (row("m1", 4, "100000"), row("m2", 6, "50000", "50000"))
RATIONALE = "The jury found the phase's results convincing."
GRANTS = [Candidate(1, "C4F-001", confirmed=False), Candidate(2, "C4F-002", confirmed=False)]


def test_a_budget_in_the_next_phases_years_passes_where_the_call_runs_fewer_years():
    draft = good_draft(budget=PHASE_BUDGET, attachments=())
    call = dataclasses.replace(RULES, budget_years=3)

    assert checklist(draft, EVALUATION, call, now=DURING) == []
    # The same lines at a stage of the competition lie outside the call's three years.
    assert "budget_year_outside_call" in codes(checklist(draft, STAGE, call, now=DURING))


def test_lines_outside_the_next_phase_are_named_with_its_years():
    draft = good_draft(budget=(*PHASE_BUDGET, row("m1", 2, "1000"), row("m1", 7, "1")))

    problem = only(checklist(draft, EVALUATION, RULES, now=DURING), "budget_year_outside_phase")

    assert str(problem.message) == (
        "TU Dresden has budget lines for years 2, 7; the next phase runs over the project "
        "years 4 to 6. Delete those lines."
    )
    assert problem.anchor == "budget"


def test_the_grants_general_details_and_consortium_are_not_judged_again():
    budget = (row("m1", 4, "100000"),)
    draft = good_draft(budget=budget, attachments=(), topic_count=0, members=MEMBERS[:1])

    assert codes(checklist(draft, EVALUATION, RULES, now=DURING)) == []
    assert {"no_topic", "too_few_partners"} <= set(
        codes(checklist(draft, STAGE, RULES, now=DURING))
    )


def test_an_evaluation_decides_only_continue_with_conditions_or_stop():
    for outcome in ("continue", "stop"):
        plan = plan_proposals(GRANTS, {1}, outcome=outcome, rationale=RATIONALE, evaluation=True)
        assert plan.problems == () and plan.chosen == (1,)
    for outcome in ("advance", "fund", "reject", "reserve"):
        plan = plan_proposals(GRANTS, {1}, outcome=outcome, rationale=RATIONALE, evaluation=True)
        assert [(p.kind, p.field) for p in plan.problems] == [("invalid", "outcome")]


def test_continue_and_stop_are_refused_at_a_stage_of_the_competition():
    plan = plan_proposals(GRANTS, {1}, outcome="continue", rationale=RATIONALE)

    assert [(p.kind, p.field) for p in plan.problems] == [("invalid", "outcome")]
    assert "interim evaluation" in str(plan.problems[0].message)


def test_continuing_with_conditions_needs_the_conditions():
    without = plan_proposals(
        GRANTS, {1, 2}, outcome="continue_with_conditions", rationale=RATIONALE, evaluation=True
    )
    assert [(p.kind, p.field) for p in without.problems] == [("invalid", "conditions")]
    assert str(without.problems[0].message) == "Write the conditions the grant continues with."

    blank = plan_proposals(
        GRANTS,
        {1},
        outcome="continue_with_conditions",
        rationale=RATIONALE,
        evaluation=True,
        conditions="   ",
    )
    assert [p.field for p in blank.problems] == ["conditions"]

    given = plan_proposals(
        GRANTS,
        {1},
        outcome="continue_with_conditions",
        rationale=RATIONALE,
        evaluation=True,
        conditions="Hire the missing data steward within six months.",
    )
    assert given.problems == ()
