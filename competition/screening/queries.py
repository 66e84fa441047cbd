"""What an officer sees when screening: the four formal checks of a submitted version, and the
list of a stage's submitted proposals with their checks and verdicts.

The checks repeat the applicant's checklist (competition.core.rules, through
competition.proposals.snapshot.content_problems) on the frozen content of the latest version and
group its problems into the four questions of the screening form. They are computed in Python
from loaded rows, so a list of any length costs the same few queries.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import sqlalchemy as sa
from flask_babel import LazyString
from sqlalchemy.orm import joinedload

from competition.accounts.models import User
from competition.core import rules
from competition.extensions import db
from competition.i18n import gettext as _
from competition.i18n import lazy_gettext as _l
from competition.i18n import say
from competition.paging import Page
from competition.programmes.models import Call, Stage
from competition.proposals import snapshot
from competition.proposals.models import (
    DeadlineExtension,
    Proposal,
    StageSubmission,
    SubmissionVersion,
)
from competition.proposals.queries import name_matches
from competition.screening.models import ScreeningResult

PER_PAGE = 25

CHECK_KEYS = ("complete", "on_time", "budget", "scope")
CHECK_LABELS: Mapping[str, LazyString] = MappingProxyType(
    {
        "complete": _l("Complete"),
        "on_time": _l("On time"),
        "budget": _l("Budget rules"),
        "scope": _l("Scope"),
    }
)

# Which screening question each problem code of competition.core.rules answers. A code missing
# here (a rule added later) counts under "complete", so a new rule can never pass unnoticed.
CHECK_OF_CODE: Mapping[str, str] = MappingProxyType(
    {
        # general
        "title_missing": "complete",
        "acronym_missing": "complete",
        "abstract_missing": "complete",
        "no_topic": "complete",
        # sections
        "section_missing": "complete",
        "section_too_long": "complete",
        # consortium
        "no_coordinator": "complete",
        "too_many_coordinators": "complete",
        "too_few_partners": "complete",
        "duplicate_member": "complete",
        # attachments
        "attachment_missing": "complete",
        "attachment_pages_unknown": "complete",
        "attachment_too_many_pages": "complete",
        "attachment_too_large": "complete",
        "attachment_unexpected": "complete",
        # budget rules
        "budget_missing": "budget",
        "budget_amount_invalid": "budget",
        "budget_negative": "budget",
        "budget_member_unknown": "budget",
        "budget_over_cap": "budget",
        "private_share_too_low": "budget",
        "funding_rate_exceeded": "budget",
        "budget_over_yearly_cap": "budget",
        "budget_year_outside_call": "budget",
        "budget_category_missing": "budget",
        "budget_category_unknown": "budget",
        "associated_partner_funded": "budget",
        # scope
        "outside_region": "scope",
    }
)

STATUSES = ("all", "unscreened", "eligible", "ineligible", "flagged")
STATUS_LABELS: Mapping[str, LazyString] = MappingProxyType(
    {
        "all": _l("All"),
        "unscreened": _l("Unscreened"),
        "eligible": _l("Eligible"),
        "ineligible": _l("Ineligible"),
        "flagged": _l("Flagged"),
    }
)


# --- the checks --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    key: str
    ok: bool
    messages: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return str(CHECK_LABELS[self.key])


@dataclass(frozen=True)
class ScreeningChecks:
    """The four checks of one proposal at one stage, judged on its latest submitted version."""

    submission: StageSubmission | None
    version: SubmissionVersion | None
    deadline: dt.datetime
    # The deadline is this proposal's own extension, not the stage's.
    extended: bool
    complete: Check
    on_time: Check
    budget: Check
    scope: Check

    @property
    def all_checks(self) -> tuple[Check, Check, Check, Check]:
        return (self.complete, self.on_time, self.budget, self.scope)

    @property
    def all_ok(self) -> bool:
        return all(check.ok for check in self.all_checks)

    def as_json(self) -> dict[str, Any]:
        """As stored with a verdict: what the officer saw when deciding."""
        return {
            **{check.key: check.ok for check in self.all_checks},
            "messages": {check.key: list(check.messages) for check in self.all_checks},
            "deadline": self.deadline.isoformat(),
            "version_id": self.version.id if self.version is not None else None,
        }


def latest_version(submission: StageSubmission | None) -> SubmissionVersion | None:
    if submission is None:
        return None
    return max(submission.versions, key=lambda version: version.number, default=None)


def evaluate(
    version: SubmissionVersion | None,
    *,
    submission: StageSubmission | None,
    stage: Stage,
    call: Call,
    deadline: dt.datetime,
) -> ScreeningChecks:
    """The checks of a loaded version under the stage's and call's current rules. No queries."""
    if version is None:
        nothing = (_("Not checked: nothing has been submitted for this stage."),)
        return ScreeningChecks(
            submission=submission,
            version=None,
            deadline=deadline,
            extended=deadline != stage.closes_at,
            complete=Check("complete", False, (_("Nothing has been submitted for this stage."),)),
            on_time=Check("on_time", False, nothing),
            budget=Check("budget", False, nothing),
            scope=Check("scope", False, nothing),
        )
    messages: dict[str, list[str]] = {key: [] for key in CHECK_KEYS}
    for problem in snapshot.content_problems(version.content, stage, call):
        messages[CHECK_OF_CODE.get(problem.code, "complete")].append(say(problem.message))
    extended = deadline != stage.closes_at
    if version.submitted_at > deadline:
        submitted_at = rules.format_berlin(version.submitted_at)
        closed_at = rules.format_berlin(deadline)
        messages["on_time"].append(
            _(
                "Submitted at %(submitted)s, after the extended deadline of %(deadline)s.",
                submitted=submitted_at,
                deadline=closed_at,
            )
            if extended
            else _(
                "Submitted at %(submitted)s, after the deadline of %(deadline)s.",
                submitted=submitted_at,
                deadline=closed_at,
            )
        )
    checks = {key: Check(key, not found, tuple(found)) for key, found in messages.items()}
    return ScreeningChecks(
        submission=submission, version=version, deadline=deadline, extended=extended, **checks
    )


# --- the list of a stage -----------------------------------------------------------------------


@dataclass(frozen=True)
class ScreeningRow:
    proposal: Proposal
    submission: StageSubmission
    version: SubmissionVersion
    result: ScreeningResult | None
    checks: ScreeningChecks

    @property
    def status(self) -> str:
        return "unscreened" if self.result is None else self.result.verdict.value

    @property
    def flagged(self) -> bool:
        return self.result is None and not self.checks.all_ok

    @property
    def outdated(self) -> bool:
        """The verdict was given on an earlier version than the latest one."""
        return self.result is not None and self.result.version_id != self.version.id

    def has_status(self, status: str) -> bool:
        if status == "all":
            return True
        if status == "flagged":
            return self.flagged
        return self.status == status


@dataclass(frozen=True)
class ScreeningList:
    page: Page
    # Per status, over the proposals that match the search.
    counts: Mapping[str, int]


def find_stage(stage_id: int) -> Stage | None:
    return db.session.scalar(
        sa.select(Stage).where(Stage.id == stage_id).options(joinedload(Stage.call))
    )


def find_proposal(proposal_id: int) -> Proposal | None:
    return db.session.scalar(
        sa.select(Proposal).where(Proposal.id == proposal_id).options(joinedload(Proposal.call))
    )


def find_result(proposal: Proposal, stage: Stage) -> ScreeningResult | None:
    return db.session.scalar(
        sa.select(ScreeningResult).where(
            ScreeningResult.proposal_id == proposal.id, ScreeningResult.stage_id == stage.id
        )
    )


def find_user(user_id: int | None) -> User | None:
    return db.session.get(User, user_id) if user_id is not None else None


def list_for_screening(stage: Stage, *, q: str, status: str, page: int) -> ScreeningList:
    """The stage's proposals that have a submitted version, with their latest version, verdict
    and checks; filtered by search text and status, 25 to a page.

    One query loads every matching row (the status "flagged" depends on checks computed in
    Python, and the counts need them all); the page is cut from those rows.
    """
    call = stage.call
    latest_number = (
        sa.select(
            SubmissionVersion.submission_id,
            sa.func.max(SubmissionVersion.number).label("number"),
        )
        .join(StageSubmission, StageSubmission.id == SubmissionVersion.submission_id)
        .where(StageSubmission.stage_id == stage.id)
        .group_by(SubmissionVersion.submission_id)
        .subquery()
    )
    query = (
        sa.select(Proposal, StageSubmission, SubmissionVersion, ScreeningResult, DeadlineExtension)
        .join(
            StageSubmission,
            sa.and_(
                StageSubmission.proposal_id == Proposal.id, StageSubmission.stage_id == stage.id
            ),
        )
        .join(latest_number, latest_number.c.submission_id == StageSubmission.id)
        .join(
            SubmissionVersion,
            sa.and_(
                SubmissionVersion.submission_id == StageSubmission.id,
                SubmissionVersion.number == latest_number.c.number,
            ),
        )
        .outerjoin(
            ScreeningResult,
            sa.and_(
                ScreeningResult.proposal_id == Proposal.id, ScreeningResult.stage_id == stage.id
            ),
        )
        .outerjoin(
            DeadlineExtension,
            sa.and_(
                DeadlineExtension.proposal_id == Proposal.id,
                DeadlineExtension.stage_id == stage.id,
            ),
        )
        .where(Proposal.call_id == stage.call_id)
        .order_by(Proposal.reference)
    )
    if q:
        query = query.where(sa.or_(*name_matches(q)))
    stage_rules = snapshot.stage_rules(stage)
    rows: list[ScreeningRow] = []
    for proposal, submission, version, result, extension in db.session.execute(query):
        # The same rule as permissions.deadline_for, from the extension loaded with the row.
        deadline = rules.deadline(stage_rules, extension.closes_at if extension else None)
        checks = evaluate(version, submission=submission, stage=stage, call=call, deadline=deadline)
        rows.append(ScreeningRow(proposal, submission, version, result, checks))
    counts = {key: sum(1 for row in rows if row.has_status(key)) for key in STATUSES}
    chosen = [row for row in rows if row.has_status(status)]
    start = (page - 1) * PER_PAGE
    return ScreeningList(
        page=Page(
            chosen[start : start + PER_PAGE], page=page, per_page=PER_PAGE, total=len(chosen)
        ),
        counts=MappingProxyType(counts),
    )
