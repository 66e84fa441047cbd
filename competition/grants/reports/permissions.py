"""Who may do what with a grant's milestones and reports. The programme's officers plan
reports, add them by hand, manage milestones and review what is submitted; the consortium's
contributors write the drafts and the coordinator submits them; everyone else is told nothing
(the views answer 404 through ``grants.blueprint.visible_grant``)."""

from __future__ import annotations

from competition.accounts.models import Role, User
from competition.grants.models import Grant, GrantState, Milestone, Report, ReportState
from competition.grants.permissions import is_grant_coordinator, is_grant_officer
from competition.i18n import gettext as _
from competition.permissions import ALLOWED, Decision
from competition.proposals.permissions import contributor_role

# Reports are planned and written while the grant runs, and after it ended early (the final
# report and the statement of use are still owed).
REPORTING_GRANT_STATES = frozenset(
    {GrantState.ACCEPTED, GrantState.RUNNING, GrantState.IN_EVALUATION, GrantState.ENDED_EARLY}
)
# States in which the consortium writes the report.
EDITABLE = frozenset({ReportState.DUE, ReportState.CHANGES_REQUESTED})
SUBMITTED_STATES = frozenset({ReportState.SUBMITTED, ReportState.ACCEPTED})
MILESTONE_GRANT_STATES = frozenset(set(GrantState) - {GrantState.DECLINED, GrantState.CLOSED})


def is_consortium_writer(user: User, grant: Grant) -> bool:
    """An applicant who contributes to the grant's proposal (coordinator or contributor)."""
    return user.has_role(Role.APPLICANT) and contributor_role(user, grant.proposal) is not None


def can_plan_reports(user: User, grant: Grant) -> Decision:
    """Plan the grant's reports, or add one by hand: its officers, while it runs."""
    if not is_grant_officer(user, grant):
        return Decision(False, _("Only officers of this programme plan a grant's reports."))
    if grant.state not in REPORTING_GRANT_STATES:
        return Decision(False, _("Reports are planned once the grant is accepted."))
    return ALLOWED


def can_manage_milestones(user: User, grant: Grant) -> Decision:
    """Add, change, mark reached and delete milestones: the grant's officers."""
    if not is_grant_officer(user, grant):
        return Decision(False, _("Only officers of this programme manage a grant's milestones."))
    if grant.state not in MILESTONE_GRANT_STATES:
        return Decision(False, _("This grant has ended; its milestones stay as they are."))
    return ALLOWED


def can_change_milestone(user: User, milestone: Milestone, grant: Grant) -> Decision:
    """Edit a milestone: as ``can_manage_milestones``, until it is reached."""
    allowed = can_manage_milestones(user, grant)
    if not allowed:
        return allowed
    if milestone.reached_on is not None:
        return Decision(False, _("This milestone is reached; it is no longer changed."))
    return ALLOWED


def can_edit_report(user: User, report: Report) -> Decision:
    """Write the draft and attach PDFs: the consortium's contributors, while the report is due
    or returned for changes."""
    if not is_consortium_writer(user, report.grant):
        return Decision(False, _("Only the consortium writes this report."))
    if report.state not in EDITABLE:
        return Decision(False, _("This report has been submitted; it is no longer changed."))
    return ALLOWED


def can_submit_report(user: User, report: Report) -> Decision:
    """Submit: the coordinator, while the report is due or returned for changes."""
    if not (user.has_role(Role.APPLICANT) and is_grant_coordinator(user, report.grant)):
        return Decision(False, _("Only the consortium's coordinator submits this report."))
    if report.state not in EDITABLE:
        return Decision(False, _("This report has been submitted; it is no longer changed."))
    return ALLOWED


def can_review_report(user: User, report: Report) -> Decision:
    """Accept a submitted report or return it for changes: the grant's officers."""
    if not is_grant_officer(user, report.grant):
        return Decision(False, _("Only officers of this programme review its reports."))
    if report.state != ReportState.SUBMITTED:
        return Decision(False, _("Only a submitted report is reviewed."))
    return ALLOWED


def can_read_submitted(user: User, report: Report) -> bool:
    """The report's text and PDFs: the consortium always, officers while it stands submitted or
    accepted (a draft, also one revised after changes were requested, is the consortium's
    until it is submitted)."""
    if contributor_role(user, report.grant.proposal) is not None:
        return True
    return is_grant_officer(user, report.grant) and report.state in SUBMITTED_STATES
