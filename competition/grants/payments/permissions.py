"""Who may request, decide, confirm and export payments, and read a programme's money. The
consortium's coordinator requests and withdraws; officers of the grant's programme decide,
confirm (never their own approval: four eyes), export and record what was paid."""

from __future__ import annotations

from competition.accounts.models import User
from competition.grants.models import Disbursement, Grant
from competition.grants.permissions import can_act_for_consortium, is_grant_officer
from competition.i18n import gettext as _
from competition.permissions import ALLOWED, Decision
from competition.programmes.models import Programme
from competition.programmes.permissions import is_programme_officer


def can_request_payment(user: User, grant: Grant) -> Decision:
    """Request a disbursement, or withdraw one not yet decided: the coordinator."""
    if not can_act_for_consortium(user, grant):
        return Decision(False, _("Only the consortium's coordinator requests payments."))
    return ALLOWED


def can_decide_payment(user: User, disbursement: Disbursement) -> Decision:
    """Approve (or propose, above the threshold), reject, mark paid: an officer of the grant's
    programme."""
    if not is_grant_officer(user, disbursement.grant):
        return Decision(False, _("Only officers of this programme decide on its payments."))
    return ALLOWED


def can_confirm_payment(user: User, disbursement: Disbursement) -> Decision:
    """Confirm a payment above the threshold: an officer of the programme other than the one who
    approved it."""
    allowed = can_decide_payment(user, disbursement)
    if not allowed:
        return allowed
    if disbursement.decided_by_id == user.id:
        return Decision(
            False,
            _(
                "You approved this payment yourself; a second officer of the programme must "
                "confirm it."
            ),
        )
    return ALLOWED


def can_handle_payments(user: User, programme: Programme) -> Decision:
    """The programme's payments, their exports and its money view: its officers."""
    if not is_programme_officer(user, programme.id):
        return Decision(False, _("Only officers of this programme handle its payments."))
    return ALLOWED
