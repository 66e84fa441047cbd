"""Who may ask, read and answer clarification requests. Jurors never see them: a thread is
between the programme's officers and the proposal's consortium."""

from __future__ import annotations

from competition.accounts.models import Role, User
from competition.clarifications.models import ClarificationRequest, ClarificationState
from competition.i18n import gettext as _
from competition.permissions import ALLOWED, Decision
from competition.programmes.permissions import is_programme_officer
from competition.proposals import permissions as proposal_permissions
from competition.proposals.models import Proposal, ProposalState

ANSWERABLE = frozenset({ClarificationState.OPEN, ClarificationState.ANSWERED})


def can_ask(user: User, proposal: Proposal) -> Decision:
    """Ask the consortium a question: an officer of the proposal's programme, about a proposal
    that has been handed in and not withdrawn."""
    if not is_programme_officer(user, proposal.call.programme_id):
        return Decision(False, _("Only officers of this programme can ask its consortia."))
    if proposal.state == ProposalState.DRAFT:
        return Decision(False, _("The proposal has not been submitted yet."))
    if proposal.state == ProposalState.WITHDRAWN:
        return Decision(False, _("The proposal has been withdrawn."))
    return ALLOWED


def can_see_thread(user: User, proposal: Proposal) -> Decision:
    """Read a proposal's requests and download their attachments: its programme's officers and
    its consortium's contributors (applicants), nobody else."""
    if is_programme_officer(user, proposal.call.programme_id):
        return ALLOWED
    if user.has_role(Role.APPLICANT) and proposal_permissions.is_contributor(user, proposal):
        return ALLOWED
    return Decision(False, _("Only the programme's officers and the consortium read this thread."))


def can_answer(user: User, clarification: ClarificationRequest) -> Decision:
    """Answer: a contributor of the proposal, while the request is open or answered."""
    proposal = clarification.proposal
    if not (user.has_role(Role.APPLICANT) and proposal_permissions.is_contributor(user, proposal)):
        return Decision(False, _("Only members of the consortium can answer this request."))
    if clarification.state not in ANSWERABLE:
        if clarification.state == ClarificationState.WITHDRAWN:
            return Decision(False, _("The programme office has withdrawn this request."))
        return Decision(False, _("This request is closed; it takes no more answers."))
    return ALLOWED


def can_manage(user: User, clarification: ClarificationRequest) -> Decision:
    """Ask again, extend the deadline, close or withdraw: an officer of the programme."""
    if not is_programme_officer(user, clarification.proposal.call.programme_id):
        return Decision(False, _("Only officers of this programme can change this request."))
    return ALLOWED
