"""Who may see and change a proposal. Predicates over loaded objects; each answer carries its
reason, which pages show and operations put into their refusals."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from competition.accounts.models import Role, User
from competition.db import remembered
from competition.extensions import db
from competition.i18n import gettext as _
from competition.permissions import ALLOWED, Decision
from competition.programmes import permissions as programme_permissions
from competition.programmes.models import Stage
from competition.proposals.models import (
    ContributorRole,
    DeadlineExtension,
    Proposal,
    ProposalContributor,
    ProposalState,
    StageSubmission,
    SubmissionState,
)

# Until one of these, the consortium may still withdraw.
DECIDED_STATES = frozenset(
    {
        ProposalState.INELIGIBLE,
        ProposalState.REJECTED,
        ProposalState.FUNDED,
        ProposalState.WITHDRAWN,
    }
)
EDITABLE_STATES = frozenset({ProposalState.DRAFT, ProposalState.SUBMITTED, ProposalState.ADVANCED})


def contributor_role(user: User, proposal: Proposal) -> ContributorRole | None:
    return remembered(
        ("contributor_role", user.id, proposal.id),
        lambda: db.session.scalar(
            sa.select(ProposalContributor.role).where(
                ProposalContributor.user_id == user.id,
                ProposalContributor.proposal_id == proposal.id,
            )
        ),
    )


def known_contributor_role(user: User, proposal: Proposal, role: ContributorRole | None) -> None:
    """The user's role as a query read it along with the proposal: not asked again."""
    remembered(("contributor_role", user.id, proposal.id), lambda: role)


def known_extension(proposal: Proposal, stage: Stage, closes_at: dt.datetime | None) -> None:
    """The proposal's extension for the stage as a query read it: not asked again."""
    remembered(("extension_for", proposal.id, stage.id), lambda: closes_at)


def is_contributor(user: User, proposal: Proposal) -> bool:
    return contributor_role(user, proposal) is not None


def extension_for(proposal: Proposal, stage: Stage) -> dt.datetime | None:
    return remembered(
        ("extension_for", proposal.id, stage.id),
        lambda: db.session.scalar(
            sa.select(DeadlineExtension.closes_at).where(
                DeadlineExtension.proposal_id == proposal.id,
                DeadlineExtension.stage_id == stage.id,
            )
        ),
    )


def deadline_for(proposal: Proposal, stage: Stage) -> dt.datetime:
    extended = extension_for(proposal, stage)
    return max(stage.closes_at, extended) if extended else stage.closes_at


def window_decision(proposal: Proposal, stage: Stage, *, now: dt.datetime) -> Decision:
    if now < stage.opens_at:
        return Decision(False, _("The submission window has not opened yet."))
    if now > deadline_for(proposal, stage):
        return Decision(False, _("The deadline has passed; the proposal can no longer be changed."))
    return ALLOWED


def can_view_proposal(user: User, proposal: Proposal) -> Decision:
    if programme_permissions.is_programme_officer(user, proposal.call.programme_id):
        return ALLOWED
    if user.has_role(Role.APPLICANT) and is_contributor(user, proposal):
        return ALLOWED
    return Decision(False, "not an officer of this programme nor a member of this consortium")


def can_edit_submission(
    user: User, proposal: Proposal, submission: StageSubmission, *, now: dt.datetime
) -> Decision:
    """Its contributors, in the stage's window, while the proposal competes; a funded one
    only its submission to an interim evaluation of its grant (report, plan, next budget)."""
    if not is_contributor(user, proposal):
        return Decision(False, _("Only members of the consortium can edit this proposal."))
    editable = proposal.state in EDITABLE_STATES or (
        proposal.state == ProposalState.FUNDED and submission.stage.is_evaluation
    )
    if not editable or submission.state == SubmissionState.WITHDRAWN:
        return Decision(
            False,
            _(
                "The proposal is %(state)s; it is read-only.",
                state=proposal.state.in_sentence,
            ),
        )
    return window_decision(proposal, submission.stage, now=now)


def can_change_consortium(
    user: User, proposal: Proposal, submission: StageSubmission, *, now: dt.datetime
) -> Decision:
    """Title, abstract, topics and the consortium: as the submission, except at an interim
    evaluation, where they are the funded grant's and stay as they were funded."""
    if submission.stage.is_evaluation:
        return Decision(
            False,
            _(
                "The consortium and the general details are those of the funded grant; the "
                "programme office changes them if needed."
            ),
        )
    return can_edit_submission(user, proposal, submission, now=now)


def can_submit(
    user: User, proposal: Proposal, submission: StageSubmission, *, now: dt.datetime
) -> Decision:
    if contributor_role(user, proposal) != ContributorRole.COORDINATOR:
        return Decision(False, _("Only the coordinator can submit the proposal."))
    return can_edit_submission(user, proposal, submission, now=now)


def can_manage_consortium_access(user: User, proposal: Proposal) -> Decision:
    if contributor_role(user, proposal) != ContributorRole.COORDINATOR:
        return Decision(False, _("Only the coordinator can invite contributors."))
    if proposal.state in DECIDED_STATES:
        return Decision(False, _("The proposal is closed."))
    return ALLOWED


def can_withdraw(user: User, proposal: Proposal) -> Decision:
    if contributor_role(user, proposal) != ContributorRole.COORDINATOR:
        return Decision(False, _("Only the coordinator can withdraw the proposal."))
    if proposal.state in DECIDED_STATES:
        return Decision(
            False, _("A decision has been made; the proposal can no longer be withdrawn.")
        )
    return ALLOWED


def can_oversee(user: User, proposal: Proposal) -> Decision:
    """See who acted on the proposal and its deadline extensions: an officer of its programme."""
    if not programme_permissions.is_programme_officer(user, proposal.call.programme_id):
        return Decision(False, _("Only officers of this programme oversee its proposals."))
    return ALLOWED


def can_advance(user: User, proposal: Proposal) -> Decision:
    """Open the next stage for a proposal: an officer of its programme."""
    if not programme_permissions.is_programme_officer(user, proposal.call.programme_id):
        return Decision(False, _("Only officers of this programme can advance proposals."))
    return ALLOWED


def can_grant_extension(user: User, proposal: Proposal, stage: Stage | None = None) -> Decision:
    """Officers of the programme, until a decision; for a funded proposal, at an interim
    evaluation of its grant (``stage``)."""
    if not programme_permissions.is_programme_officer(user, proposal.call.programme_id):
        return Decision(False, _("Only officers of this programme can extend a deadline."))
    evaluated = stage is not None and stage.is_evaluation
    if proposal.state in DECIDED_STATES and not (
        evaluated and proposal.state == ProposalState.FUNDED
    ):
        return Decision(False, _("A decision has been made on this proposal."))
    return ALLOWED
