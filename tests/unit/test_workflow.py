"""Every lifecycle table: each legal step, each illegal one refused, a repeated one a no-op."""

from __future__ import annotations

import itertools

import pytest

from competition.core.workflow import (
    ASSIGNMENT,
    CALL,
    CLARIFICATION,
    CLUSTER_MEMBERSHIP,
    DECISION,
    JOB,
    MEMBERSHIP,
    PROPOSAL,
    REVIEW,
    SUBMISSION,
    WORKFLOWS,
    IllegalStep,
    Workflow,
    actions_from,
    next_state,
    step,
)

ALL_STEPS = [
    pytest.param(w, source, action, target, id=f"{w.name}:{source}-{action}->{target}")
    for w in WORKFLOWS
    for (source, action), target in w.steps.items()
]

OFF_TABLE = [
    pytest.param(w, state, action, id=f"{w.name}:{state}-{action}")
    for w in WORKFLOWS
    for state, action in itertools.product(w.states, sorted(w.actions))
    if (state, action) not in w.steps
]


@pytest.mark.parametrize(("workflow", "source", "action", "target"), ALL_STEPS)
def test_each_legal_step_leads_where_the_table_says(workflow, source, action, target):
    assert step(workflow, source, action) == target
    assert next_state(workflow, source, action) == target
    assert action in actions_from(workflow, source)


@pytest.mark.parametrize(("workflow", "state", "action"), OFF_TABLE)
def test_a_step_off_the_table_is_refused_unless_it_was_already_taken(workflow, state, action):
    with pytest.raises(IllegalStep):
        next_state(workflow, state, action)
    if state in workflow.targets(action):
        # The object already stands where the action leads: a repeated request changes nothing.
        assert step(workflow, state, action) is None
    else:
        with pytest.raises(IllegalStep):
            step(workflow, state, action)
    assert action not in actions_from(workflow, state)


def test_an_unknown_action_is_refused_everywhere():
    for workflow in WORKFLOWS:
        for state in workflow.states:
            with pytest.raises(IllegalStep):
                step(workflow, state, "delete")


@pytest.mark.parametrize(
    ("workflow", "path", "end"),
    [
        (CALL, ["publish", "close", "reopen"], "published"),
        (SUBMISSION, ["submit", "resubmit", "withdraw"], "withdrawn"),
        (PROPOSAL, ["submit", "screen_out", "readmit", "advance", "submit", "fund"], "funded"),
        (MEMBERSHIP, ["accept"], "accepted"),
        (ASSIGNMENT, ["release", "decline"], "declined"),
        (REVIEW, ["submit", "edit", "submit"], "submitted"),
        (DECISION, ["propose", "confirm", "publish"], "published"),
        (JOB, ["start", "restart", "finish"], "done"),
        (CLARIFICATION, ["answer", "ask_again", "answer", "close"], "closed"),
        (
            CLUSTER_MEMBERSHIP,
            ["start_evaluation", "grant", "start_reevaluation", "renew", "start_reevaluation"],
            "in_reevaluation",
        ),
        (CLUSTER_MEMBERSHIP, ["start_evaluation", "refuse"], "refused"),
        (
            CLUSTER_MEMBERSHIP,
            ["start_evaluation", "grant", "start_reevaluation", "withdraw"],
            "withdrawn",
        ),
        (CLUSTER_MEMBERSHIP, ["retract"], "retracted"),
        (CLUSTER_MEMBERSHIP, ["start_evaluation", "retract"], "retracted"),
    ],
)
def test_each_lifecycle_runs_from_its_first_state_to_its_end(workflow, path, end):
    state = workflow.initial
    for action in path:
        state = next_state(workflow, state, action)
    assert state == end


def test_closed_states_offer_nothing():
    for state in ("withdrawn", "rejected", "funded"):
        assert actions_from(PROPOSAL, state) == []
    assert actions_from(DECISION, "published") == []
    assert actions_from(JOB, "done") == actions_from(JOB, "failed") == []
    for state in ("refused", "withdrawn", "retracted"):
        assert actions_from(CLUSTER_MEMBERSHIP, state) == []


@pytest.mark.parametrize(
    ("state", "action"),
    [
        ("applied", "grant"),  # a grant rests on an evaluation: none exists before it opens
        ("applied", "refuse"),
        ("granted", "grant"),
        ("granted", "refuse"),
        ("granted", "withdraw"),  # withdrawn after a re-evaluation, never straight away
        ("granted", "retract"),  # a holder cannot take back what was granted
        ("in_reevaluation", "retract"),
        ("in_evaluation", "renew"),
        ("refused", "start_evaluation"),
        ("withdrawn", "renew"),
    ],
)
def test_membership_steps_a_decision_cannot_take(state, action):
    with pytest.raises(IllegalStep):
        next_state(CLUSTER_MEMBERSHIP, state, action)


def test_a_table_that_leaves_its_states_is_refused():
    with pytest.raises(ValueError, match="leaves the states"):
        Workflow(
            name="broken",
            states=("a",),
            initial="a",
            steps={("a", "go"): "b"},
            past={"go": "gone"},
        )
    with pytest.raises(ValueError, match="past tense"):
        Workflow(name="broken", states=("a",), initial="a", steps={("a", "go"): "a"}, past={})


def test_the_models_store_exactly_the_states_of_their_lifecycle():
    from competition.assignment.models import Assignment, JuryMembership
    from competition.clarifications.models import ClarificationRequest
    from competition.grants.models import Disbursement, Grant, Report
    from competition.jobs.models import Job
    from competition.memberships.models import Membership
    from competition.programmes.models import Call
    from competition.proposals.models import Proposal, StageSubmission
    from competition.reviews.models import Review
    from competition.selection.models import Decision

    models = [
        Call,
        StageSubmission,
        Proposal,
        JuryMembership,
        Assignment,
        Review,
        Decision,
        Job,
        ClarificationRequest,
        Grant,
        Report,
        Disbursement,
        Membership,
    ]
    assert {m.__workflow__.name for m in models} == {w.name for w in WORKFLOWS}
    for model in models:
        column = model.__table__.c.state
        assert set(column.type.enums) == set(model.__workflow__.states), model.__name__
        # Stored as text with a CHECK constraint on SQLite and PostgreSQL alike.
        assert column.type.native_enum is False and column.type.create_constraint is True
