"""Every lifecycle of the product as a table: (state, action) -> next state.

The gateway (``competition.workflow``) applies a step as compare-and-set and records it; the
pages offer exactly the actions a table allows from the current state, filtered by permission.
A new lifecycle (grants, reports, payments) is one more ``Workflow`` here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from competition.core.texts import N_, Text


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

# An officer's clarification request (Rückfrage) to a consortium: open until the consortium
# answers; the officer asks again in the same thread (open once more) or closes it, and may
# withdraw a request nobody has answered yet. Further answers to an answered request change
# nothing of its state.
CLARIFICATION = Workflow(
    name="clarification_request",
    states=("open", "answered", "closed", "withdrawn"),
    initial="open",
    steps={
        ("open", "answer"): "answered",
        ("answered", "ask_again"): "open",
        ("answered", "close"): "closed",
        ("open", "withdraw"): "withdrawn",
    },
    past={
        "answer": "answered",
        "ask_again": "asked_again",
        "close": "closed",
        "withdraw": "withdrawn",
    },
)

# A grant from its offer to its end. The coordinator accepts (or declines) the offer; an officer
# starts it; at the end of a phase an interim evaluation decides whether the next phase is
# funded (continue, with conditions, or stop); a grant ends early or is closed after its end.
GRANT = Workflow(
    name="grant",
    states=("offered", "accepted", "declined", "running", "in_evaluation", "ended_early", "closed"),
    initial="offered",
    steps={
        ("offered", "accept"): "accepted",
        ("offered", "decline"): "declined",
        ("accepted", "start"): "running",
        ("running", "begin_evaluation"): "in_evaluation",
        ("in_evaluation", "continue"): "running",
        ("in_evaluation", "continue_with_conditions"): "running",
        ("in_evaluation", "stop"): "ended_early",
        ("running", "end_early"): "ended_early",
        ("running", "close"): "closed",
        ("ended_early", "close"): "closed",
    },
    past={
        "accept": "accepted",
        "decline": "declined",
        "start": "started",
        "begin_evaluation": "evaluation_begun",
        "continue": "continued",
        "continue_with_conditions": "continued_with_conditions",
        "stop": "stopped",
        "end_early": "ended_early",
        "close": "closed",
    },
    labels={
        "accept": "Accept the grant",
        "decline": "Decline the grant",
        "start": "Start the grant",
        "end_early": "End the grant early",
        "close": "Close the grant",
    },
)

# A report of a grant (annual progress report, final report, statement of use). Submitted by
# the consortium; the officer accepts it or asks for changes, after which it is submitted anew.
REPORT = Workflow(
    name="report",
    states=("due", "submitted", "changes_requested", "accepted"),
    initial="due",
    steps={
        ("due", "submit"): "submitted",
        ("changes_requested", "submit"): "submitted",
        ("submitted", "accept"): "accepted",
        ("submitted", "request_changes"): "changes_requested",
    },
    past={
        "submit": "submitted",
        "accept": "accepted",
        "request_changes": "changes_requested",
    },
    labels={"accept": "Accept the report", "request_changes": "Request changes"},
)

# A disbursement request (Mittelabruf). One officer approves it; above the programme's
# threshold the first officer's approval is a proposal that a second officer confirms (the
# database refuses the same person twice). Approved payments are exported once for the
# ministry's payment system, which reports them paid.
DISBURSEMENT = Workflow(
    name="disbursement",
    states=("requested", "proposed", "approved", "rejected", "withdrawn", "exported", "paid"),
    initial="requested",
    steps={
        ("requested", "approve"): "approved",
        ("requested", "propose"): "proposed",
        ("proposed", "confirm"): "approved",
        ("requested", "reject"): "rejected",
        ("proposed", "reject"): "rejected",
        ("requested", "withdraw"): "withdrawn",
        ("approved", "export"): "exported",
        ("exported", "pay"): "paid",
    },
    past={
        "approve": "approved",
        "propose": "proposed",
        "confirm": "confirmed",
        "reject": "rejected",
        "withdraw": "withdrawn",
        "export": "exported",
        "pay": "paid",
    },
    labels={
        "approve": "Approve",
        "propose": "Approve, for a second officer to confirm",
        "confirm": "Confirm the payment",
        "reject": "Reject the request",
        "withdraw": "Withdraw the request",
    },
)

# A cluster management organisation's membership of a membership programme (go-cluster). The
# first evaluation recorded opens the evaluation; an officer other than the one who recorded
# the evaluation grants or refuses. A granted membership is re-evaluated every year (the beat
# task opens it when its period nears its end, or an officer does) and renewed or withdrawn the
# same way. The applicant may take back an application until it is decided. A refusal always
# rests on an evaluation, so there is no step from "applied" straight to "refused".
CLUSTER_MEMBERSHIP = Workflow(
    name="membership",
    states=(
        "applied",
        "in_evaluation",
        "granted",
        "in_reevaluation",
        "refused",
        "withdrawn",
        "retracted",
    ),
    initial="applied",
    steps={
        ("applied", "start_evaluation"): "in_evaluation",
        ("in_evaluation", "grant"): "granted",
        ("in_evaluation", "refuse"): "refused",
        ("granted", "start_reevaluation"): "in_reevaluation",
        ("in_reevaluation", "renew"): "granted",
        ("in_reevaluation", "withdraw"): "withdrawn",
        ("applied", "retract"): "retracted",
        ("in_evaluation", "retract"): "retracted",
    },
    past={
        "start_evaluation": "evaluation_started",
        "grant": "granted",
        "refuse": "refused",
        "start_reevaluation": "reevaluation_started",
        "renew": "renewed",
        "withdraw": "withdrawn",
        "retract": "retracted",
    },
    labels={
        "grant": "Grant the membership",
        "refuse": "Refuse the membership",
        "renew": "Renew the membership",
        "withdraw": "Withdraw the membership",
        "start_reevaluation": "Start the re-evaluation",
        "retract": "Withdraw the application",
    },
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
    CLARIFICATION,
    GRANT,
    REPORT,
    DISBURSEMENT,
    CLUSTER_MEMBERSHIP,
)

# Kept for the call's page, which offers the call's actions with these labels.
ACTION_LABELS: Mapping[str, str] = CALL.labels


# --- what a person is told when a step is refused -------------------------------------------------

# One sentence per lifecycle, so that each language can say it of its own noun.
_REFUSED: Mapping[str, Text] = {
    "call": N_("This call is %(state)s; it cannot be %(done)s."),
    "stage_submission": N_("This stage submission is %(state)s; it cannot be %(done)s."),
    "proposal": N_("This proposal is %(state)s; it cannot be %(done)s."),
    "jury_membership": N_("This jury membership is %(state)s; it cannot be %(done)s."),
    "assignment": N_("This assignment is %(state)s; it cannot be %(done)s."),
    "review": N_("This review is %(state)s; it cannot be %(done)s."),
    "decision": N_("This decision is %(state)s; it cannot be %(done)s."),
    "job": N_("This job is %(state)s; it cannot be %(done)s."),
    "clarification_request": N_("This clarification request is %(state)s; it cannot be %(done)s."),
    "grant": N_("This grant is %(state)s; it cannot be %(done)s."),
    "report": N_("This report is %(state)s; it cannot be %(done)s."),
    "disbursement": N_("This disbursement request is %(state)s; it cannot be %(done)s."),
    "membership": N_("This membership is %(state)s; it cannot be %(done)s."),
}
_CHANGED: Mapping[str, Text] = {
    "call": N_("Someone else changed this call meanwhile. Reload the page and try again."),
    "stage_submission": N_(
        "Someone else changed this stage submission meanwhile. Reload the page and try again."
    ),
    "proposal": N_("Someone else changed this proposal meanwhile. Reload the page and try again."),
    "jury_membership": N_(
        "Someone else changed this jury membership meanwhile. Reload the page and try again."
    ),
    "assignment": N_(
        "Someone else changed this assignment meanwhile. Reload the page and try again."
    ),
    "review": N_("Someone else changed this review meanwhile. Reload the page and try again."),
    "decision": N_("Someone else changed this decision meanwhile. Reload the page and try again."),
    "job": N_("Someone else changed this job meanwhile. Reload the page and try again."),
    "clarification_request": N_(
        "Someone else changed this clarification request meanwhile. Reload the page and try again."
    ),
    "grant": N_("Someone else changed this grant meanwhile. Reload the page and try again."),
    "report": N_("Someone else changed this report meanwhile. Reload the page and try again."),
    "disbursement": N_(
        "Someone else changed this disbursement request meanwhile. Reload the page and try again."
    ),
    "membership": N_(
        "Someone else changed this membership meanwhile. Reload the page and try again."
    ),
}
# States, and the past tense of actions with "now", as the sentences above use them.
_STATES: Mapping[str, Text] = {
    "draft": N_("draft"),
    "published": N_("published"),
    "closed": N_("closed"),
    "submitted": N_("submitted"),
    "withdrawn": N_("withdrawn"),
    "ineligible": N_("ineligible"),
    "advanced": N_("advanced"),
    "rejected": N_("rejected"),
    "funded": N_("funded"),
    "invited": N_("invited"),
    "accepted": N_("accepted"),
    "declined": N_("declined"),
    "released": N_("released"),
    "proposed": N_("proposed"),
    "confirmed": N_("confirmed"),
    "queued": N_("queued"),
    "running": N_("running"),
    "done": N_("done"),
    "failed": N_("failed"),
    "open": N_("open"),
    "answered": N_("answered"),
    "offered": N_("offered"),
    "ended_early": N_("ended early"),
    "due": N_("due"),
    "changes_requested": N_("returned for changes"),
    "exported": N_("exported for payment"),
    "requested": N_("requested"),
    "approved": N_("approved"),
    "paid": N_("paid"),
    "applied": N_("applied for"),
    "in_evaluation": N_("in evaluation"),
    "granted": N_("granted"),
    "in_reevaluation": N_("in re-evaluation"),
    "refused": N_("refused"),
    "retracted": N_("withdrawn by the applicant"),
}
_DONE_NOW: Mapping[str, Text] = {
    "published": N_("published now"),
    "closed": N_("closed now"),
    "reopened": N_("reopened now"),
    "submitted": N_("submitted now"),
    "resubmitted": N_("resubmitted now"),
    "withdrawn": N_("withdrawn now"),
    "screened_out": N_("screened out now"),
    "readmitted": N_("readmitted now"),
    "advanced": N_("advanced now"),
    "rejected": N_("rejected now"),
    "funded": N_("funded now"),
    "accepted": N_("accepted now"),
    "declined": N_("declined now"),
    "released": N_("released now"),
    "proposed": N_("proposed now"),
    "confirmed": N_("confirmed now"),
    "started": N_("started now"),
    "restarted": N_("restarted now"),
    "finished": N_("finished now"),
    "failed": N_("failed now"),
    "answered": N_("answered now"),
    "asked_again": N_("asked again now"),
    "evaluation_begun": N_("put into interim evaluation now"),
    "continued": N_("continued now"),
    "continued_with_conditions": N_("continued with conditions now"),
    "stopped": N_("stopped now"),
    "ended_early": N_("ended early now"),
    "changes_requested": N_("returned for changes now"),
    "exported": N_("exported now"),
    "approved": N_("approved now"),
    "paid": N_("paid now"),
    "evaluation_started": N_("put in evaluation now"),
    "granted": N_("granted now"),
    "refused": N_("refused now"),
    "reevaluation_started": N_("put in re-evaluation now"),
    "renewed": N_("renewed now"),
    "retracted": N_("withdrawn by the applicant now"),
}


def _state(key: str) -> Text | str:
    return _STATES.get(key) or key.replace("_", " ")


def _done_now(past: str) -> Text | str:
    return _DONE_NOW.get(past) or f"{past.replace('_', ' ')} now"


def _noun(workflow: Workflow) -> str:
    return workflow.name.replace("_", " ")


def refusal(workflow: Workflow, state: str, action: str) -> Text:
    """Why ``action`` is refused in ``state``, for the person who asked."""
    sentence = _REFUSED.get(workflow.name)
    values = {"state": _state(state), "done": _done_now(workflow.past.get(action, action))}
    if sentence is None:
        return N_(
            "This %(thing)s is %(state)s; it cannot be %(done)s.",
            thing=_noun(workflow),
            **values,
        )
    return Text(sentence.msgid, values)


def changed_meanwhile(workflow: Workflow) -> Text:
    """Someone else moved the object first."""
    return _CHANGED.get(workflow.name) or N_(
        "Someone else changed this %(thing)s meanwhile. Reload the page and try again.",
        thing=_noun(workflow),
    )
