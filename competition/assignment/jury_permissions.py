"""Who runs a call's jury and who may ask to exclude a juror. The jurors' own access predicates
(can_see_call_as_juror, can_bid_on, has_conflict) live in competition.assignment.permissions and
are shared with the review pages; these are the officer's and the applicant's side."""

from __future__ import annotations

from competition.accounts.models import User
from competition.i18n import gettext as _
from competition.permissions import ALLOWED, Decision
from competition.programmes.models import Call
from competition.programmes.permissions import is_programme_officer
from competition.proposals.models import ContributorRole, Proposal
from competition.proposals.permissions import DECIDED_STATES, contributor_role


def can_manage_jury(user: User, call: Call) -> Decision:
    """Invite jurors, see the jury's overview, set and remove conflicts: an officer of the
    programme the call belongs to."""
    if not is_programme_officer(user, call.programme_id):
        return Decision(False, _("Only officers of this call's programme manage its jury."))
    return ALLOWED


def can_request_exclusion(user: User, proposal: Proposal) -> Decision:
    """Name a person the consortium asks to keep off its proposal: the coordinator, until a
    decision."""
    if contributor_role(user, proposal) != ContributorRole.COORDINATOR:
        return Decision(False, _("Only the coordinator can ask to exclude a juror."))
    if proposal.state in DECIDED_STATES:
        return Decision(False, _("The proposal is closed."))
    return ALLOWED
