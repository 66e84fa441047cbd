"""The plans behind the decision previews and operations (``core.decisions``) on plain data: what
a bulk proposal or a confirmation would do, and every reason it cannot, of the kind the page
shows it as."""

from __future__ import annotations

import datetime as dt

from competition.core.decisions import (
    Candidate,
    Waiting,
    plan_confirmations,
    plan_proposals,
)

RATIONALE = "Ranked above the line by the jury."
STAGE = [
    Candidate(1, "C4F-001", confirmed=False),
    Candidate(2, "C4F-002", confirmed=True),
    Candidate(3, "C4F-003", confirmed=False),
    Candidate(4, "C4F-004", confirmed=False),
]
AT = dt.datetime(2026, 12, 5, 10, 0, tzinfo=dt.UTC)


def kinds(plan):
    return [(p.kind, p.field) for p in plan.problems]


def test_the_ticked_and_the_suggested_open_proposals_are_chosen_in_stage_order():
    plan = plan_proposals(STAGE, {4}, suggested={1, 2}, outcome="fund", rationale=RATIONALE)
    assert plan.chosen == (1, 4)
    assert plan.left_out == (2,)  # suggested, but its decision is confirmed
    assert plan.problems == ()


def test_a_confirmed_proposal_ticked_is_stale_and_named():
    plan = plan_proposals(STAGE, {1, 2}, outcome="reject", rationale=RATIONALE)
    assert kinds(plan) == [("stale", "proposals")]
    assert (
        str(plan.problems[0].message)
        == "Already confirmed, so they cannot be changed here: C4F-002."
    )


def test_a_proposal_outside_the_stage_and_an_empty_choice_are_refused():
    assert kinds(plan_proposals(STAGE, {1, 99}, outcome="reject")) == [("invalid", "proposals")]
    empty = plan_proposals(STAGE, set(), outcome="reject")
    assert kinds(empty) == [("invalid", "proposals")]
    assert "Choose at least one proposal" in str(empty.problems[0].message)


def test_the_rationale_and_the_last_stage_are_checked_at_their_fields():
    plan = plan_proposals(
        STAGE, {1}, outcome="advance", last_stage="Hearing", rationale="  too short  "
    )
    assert kinds(plan) == [("invalid", "rationale"), ("invalid", "outcome")]
    assert str(plan.problems[1].message) == (
        "Hearing is the call's last stage: nothing can advance from it."
    )
    assert kinds(plan_proposals(STAGE, {1}, outcome="advance", rationale="x" * 5001)) == [
        ("invalid", "rationale")
    ]
    assert plan_proposals(STAGE, {1}, outcome="fund", last_stage="Hearing").problems == ()


WAITING = [
    Waiting(10, "C4F-001", proposed_by=7, proposed_at=AT),
    Waiting(11, "C4F-003", proposed_by=8, proposed_at=AT),
    Waiting(12, "C4F-004", proposed_by=8, proposed_at=AT),
]


def test_confirming_all_takes_every_decision_the_viewer_did_not_propose():
    assert plan_confirmations(WAITING, None, viewer=7).chosen == (11, 12)
    nothing = plan_confirmations(WAITING[:1], None, viewer=7)
    assert kinds(nothing) == [("invalid", "decisions")]


def test_the_viewers_own_decisions_are_denied_by_four_eyes():
    plan = plan_confirmations(WAITING, {10, 11}, viewer=7)
    assert kinds(plan) == [("denied", "decisions")]
    assert str(plan.problems[0].message) == "You proposed C4F-001; another officer must confirm it."


def test_decisions_no_longer_waiting_or_proposed_anew_since_seen_are_stale():
    gone = plan_confirmations(WAITING, {11, 13}, viewer=7)
    assert kinds(gone) == [("stale", "decisions")]
    later = AT + dt.timedelta(minutes=5)
    anew = plan_confirmations(WAITING, {11, 12}, viewer=7, seen={11: AT, 12: later})
    assert kinds(anew) == [("stale", "decisions")]
    assert "since you looked: C4F-004." in str(anew.problems[0].message)
    assert plan_confirmations(WAITING, {11, 12}, viewer=7, seen={11: AT, 12: AT}).problems == ()
    assert kinds(plan_confirmations(WAITING, set(), viewer=7)) == [("invalid", "decisions")]
