"""Who may do what at a hearing: the programme's officers run it, the call's jurors state when
they can sit, the coordinator confirms the consortium's slot."""

from __future__ import annotations

from competition.accounts.models import User
from competition.assignment.permissions import can_see_call_as_juror
from competition.i18n import gettext as _
from competition.permissions import ALLOWED, Decision
from competition.programmes.models import Stage, StageKind
from competition.programmes.permissions import is_programme_officer
from competition.proposals.models import ContributorRole, Proposal
from competition.proposals.permissions import DECIDED_STATES, contributor_role


def is_hearing(stage: Stage) -> Decision:
    if stage.kind != StageKind.HEARING:
        return Decision(False, _("This stage is not a hearing."))
    return ALLOWED


def can_run_hearing(user: User, stage: Stage) -> Decision:
    """Slots, finalists in them, the timetable and the jury of each slot: an officer of the
    programme."""
    if not is_programme_officer(user, stage.call.programme_id):
        return Decision(False, _("Only officers of this call's programme run its hearings."))
    return is_hearing(stage)


def can_state_availability(user: User, stage: Stage) -> Decision:
    """A juror of the call who accepted the place and declared conflicts."""
    decision = can_see_call_as_juror(user, stage.call)
    if not decision:
        return decision
    return is_hearing(stage)


def can_see_slot(user: User, proposal: Proposal) -> Decision:
    """The consortium's people see their proposal's slot."""
    if contributor_role(user, proposal) is None:
        return Decision(False, _("Only the consortium's people see its hearing slot."))
    return ALLOWED


def can_confirm_slot(user: User, proposal: Proposal) -> Decision:
    """The coordinator confirms the slot for the consortium, until a decision."""
    if contributor_role(user, proposal) != ContributorRole.COORDINATOR:
        return Decision(False, _("Only the coordinator confirms the hearing slot."))
    if proposal.state in DECIDED_STATES:
        return Decision(False, _("The proposal is closed."))
    return ALLOWED
