"""Who may screen proposals for eligibility."""

from __future__ import annotations

from competition.accounts.models import User
from competition.i18n import gettext as _
from competition.permissions import ALLOWED, Decision
from competition.programmes.models import Stage
from competition.programmes.permissions import is_programme_officer
from competition.proposals.models import Proposal


def can_screen_stage(user: User, stage: Stage) -> Decision:
    """See a stage's screening list: an officer of its programme."""
    if not is_programme_officer(user, stage.call.programme_id):
        return Decision(False, _("Only officers of this programme can screen its proposals."))
    return ALLOWED


def can_screen(user: User, proposal: Proposal) -> Decision:
    """Record or correct an eligibility verdict: an officer of the proposal's programme."""
    if not is_programme_officer(user, proposal.call.programme_id):
        return Decision(False, _("Only officers of this programme can screen its proposals."))
    return ALLOWED
