"""Every lifecycle of the product as a table: (state, action) -> next state.

The gateway (``competition.workflow``) applies a step as compare-and-set and records it; the
pages offer exactly the actions a table allows from the current state, filtered by permission.
A new lifecycle (grants, reports, payments) is one more ``Workflow`` here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


class IllegalStep(ValueError):
    """The action is not possible from the current state."""


Table = Mapping[tuple[str, str], str]


@dataclass(frozen=True)
class Workflow:
    # The object type written in the history and the audit trail.
    name: str
    states: tuple[str, ...]
    initial: str
    steps: Table
    # Past tense of each action, for audit event names ("proposal.withdrawn").
    past: Mapping[str, str]
    # Button labels of the actions a person takes from a page.
    labels: Mapping[str, str] = field(default_factory=dict)
    # Whether each step is an audit event of its own. A job's steps are the machinery of work
    # whose start and result the owning area records; they stay in the history only.
    audited: bool = True

    def __post_init__(self) -> None:
        known = set(self.states)
        for (source, action), target in self.steps.items():
            if source not in known or target not in known:
                raise ValueError(f"{self.name}: {source} -{action}-> {target} leaves the states")
            if action not in self.past:
                raise ValueError(f"{self.name}: action {action} has no past tense")
        if self.initial not in known:
            raise ValueError(f"{self.name}: initial state {self.initial} is not a state")

    @property
    def actions(self) -> frozenset[str]:
        return frozenset(action for _, action in self.steps)

    def targets(self, action: str) -> frozenset[str]:
        return frozenset(t for (_, a), t in self.steps.items() if a == action)


def step(workflow: Workflow, state: str, action: str) -> str | None:
    """The state after ``action``; None when the object already stands where the action leads
    (a repeated request changes nothing); IllegalStep otherwise."""
    target = workflow.steps.get((state, action))
    if target is not None:
        return target
    if state in workflow.targets(action):
        return None
    raise IllegalStep(f"cannot {action} a {state} {workflow.name}")


def next_state(workflow: Workflow, state: str, action: str) -> str:
    """The state after ``action``, refusing a repeated one."""
    try:
        return workflow.steps[(state, action)]
    except KeyError:
        raise IllegalStep(f"cannot {action} a {state} {workflow.name}") from None


def actions_from(workflow: Workflow, state: str) -> list[str]:
    return [action for (source, action) in workflow.steps if source == state]


# A call is prepared as a draft, published for applicants, closed when its rounds are over.
CALL = Workflow(
    name="call",
    states=("draft", "published", "closed"),
    initial="draft",
    steps={
        ("draft", "publish"): "published",
        ("published", "close"): "closed",
        ("closed", "reopen"): "published",
    },
    past={"publish": "published", "close": "closed", "reopen": "reopened"},
    labels={
        "publish": "Publish the call",
        "close": "Close the call",
        "reopen": "Reopen the call",
    },
)

# A proposal's material for one stage. Submitting again before the deadline freezes a new
# version; the submission stays submitted.
SUBMISSION = Workflow(
    name="stage_submission",
    states=("draft", "submitted", "withdrawn"),
    initial="draft",
    steps={
        ("draft", "submit"): "submitted",
        ("submitted", "resubmit"): "submitted",
        ("draft", "withdraw"): "withdrawn",
        ("submitted", "withdraw"): "withdrawn",
    },
    past={"submit": "submitted", "resubmit": "resubmitted", "withdraw": "withdrawn"},
)

# A proposal from its first draft to the end of the competition. Screening takes a submitted
# proposal out of the review and can re-admit it; publication applies the decisions.
PROPOSAL = Workflow(
    name="proposal",
    states=("draft", "submitted", "withdrawn", "ineligible", "advanced", "rejected", "funded"),
    initial="draft",
    steps={
        ("draft", "submit"): "submitted",
        ("advanced", "submit"): "submitted",
        ("draft", "withdraw"): "withdrawn",
        ("submitted", "withdraw"): "withdrawn",
        ("advanced", "withdraw"): "withdrawn",
        ("submitted", "screen_out"): "ineligible",
        ("ineligible", "readmit"): "submitted",
        ("draft", "advance"): "advanced",
        ("submitted", "advance"): "advanced",
        ("submitted", "reject"): "rejected",
        ("advanced", "reject"): "rejected",
        ("submitted", "fund"): "funded",
        ("advanced", "fund"): "funded",
    },
    past={
        "submit": "submitted",
        "withdraw": "withdrawn",
        "screen_out": "screened_out",
        "readmit": "readmitted",
        "advance": "advanced",
        "reject": "rejected",
        "fund": "funded",
    },
    labels={"withdraw": "Withdraw the proposal"},
)

# A juror answers an invitation once. Declining is final for that invitation; an officer who
# still wants the person asks them outside the system (a second invitation is refused).
MEMBERSHIP = Workflow(
    name="jury_membership",
    states=("invited", "accepted", "declined"),
    initial="invited",
    steps={("invited", "accept"): "accepted", ("invited", "decline"): "declined"},
    past={"accept": "accepted", "decline": "declined"},
    labels={"accept": "Accept", "decline": "Decline"},
)

# A juror's seat on a proposal: drafted by a run or by hand, released to the juror, given back.
# A draft is replaced by the next run (deleted, never released).
ASSIGNMENT = Workflow(
    name="assignment",
    states=("draft", "released", "declined"),
    initial="draft",
    steps={("draft", "release"): "released", ("released", "decline"): "declined"},
    past={"release": "released", "decline": "declined"},
)

# A review is saved as a draft until submitted; changing a submitted one before the due date
# makes it a draft again, to be submitted anew.
REVIEW = Workflow(
    name="review",
    states=("draft", "submitted"),
    initial="draft",
    steps={("draft", "submit"): "submitted", ("submitted", "edit"): "draft"},
    past={"submit": "submitted", "edit": "reopened"},
)

# Proposed by one officer (again, while unconfirmed), confirmed by another, then published.
DECISION = Workflow(
    name="decision",
    states=("proposed", "confirmed", "published"),
    initial="proposed",
    steps={
        ("proposed", "propose"): "proposed",
        ("proposed", "confirm"): "confirmed",
        ("confirmed", "publish"): "published",
    },
    past={"propose": "proposed", "confirm": "confirmed", "publish": "published"},
)

# Long work done off the request: an assignment run, a ranking, a publication. A worker that
# finds a running job whose heartbeat stopped takes it over (``restart``).
JOB = Workflow(
    name="job",
    states=("queued", "running", "done", "failed"),
    initial="queued",
    steps={
        ("queued", "start"): "running",
        ("running", "restart"): "running",
        ("running", "finish"): "done",
        ("running", "fail"): "failed",
        ("queued", "fail"): "failed",
    },
    past={"start": "started", "restart": "restarted", "finish": "finished", "fail": "failed"},
    audited=False,
)

WORKFLOWS: tuple[Workflow, ...] = (
    CALL,
    SUBMISSION,
    PROPOSAL,
    MEMBERSHIP,
    ASSIGNMENT,
    REVIEW,
    DECISION,
    JOB,
)

# Kept for the call's page, which offers the call's actions with these labels.
ACTION_LABELS: Mapping[str, str] = CALL.labels
