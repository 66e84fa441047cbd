"""Who may see and do what with a grant. Officers of the grant's programme manage it; the
consortium's coordinator acts for it (accepts the offer, submits reports, requests payments);
its other contributors read it. Each intention has its own predicate, so that a page, an
operation and a test name what they allow."""

from __future__ import annotations

from competition.accounts.models import User
from competition.grants.models import Grant
from competition.i18n import gettext as _
from competition.permissions import ALLOWED, Decision
from competition.programmes.permissions import is_programme_officer
from competition.proposals.models import ContributorRole
from competition.proposals.permissions import contributor_role


def is_grant_officer(user: User, grant: Grant) -> bool:
    """An officer of the programme the grant's call belongs to."""
    return is_programme_officer(user, grant.call.programme_id)


def is_grant_coordinator(user: User, grant: Grant) -> bool:
    return contributor_role(user, grant.proposal) == ContributorRole.COORDINATOR


def can_see_grant(user: User, grant: Grant) -> Decision:
    """The grant's page: its officers and the consortium's contributors. Anyone else is told
    nothing (the views answer 404)."""
    if is_grant_officer(user, grant) or contributor_role(user, grant.proposal) is not None:
        return ALLOWED
    return Decision(False, _("Only the consortium and the programme's officers see this grant."))


def can_manage_grant(user: User, grant: Grant) -> Decision:
    """Adjust amounts and conditions, start, end or close the grant: its officers."""
    if not is_grant_officer(user, grant):
        return Decision(False, _("Only officers of this programme manage its grants."))
    return ALLOWED


def can_act_for_consortium(user: User, grant: Grant) -> Decision:
    """Accept the offer, submit reports, request payments: the coordinator."""
    if not is_grant_coordinator(user, grant):
        return Decision(False, _("Only the consortium's coordinator acts for this grant."))
    return ALLOWED


def can_offer_grant(user: User, programme_id: int) -> Decision:
    """Offer a grant for a published decision (publication does it): an officer of the
    programme."""
    if not is_programme_officer(user, programme_id):
        return Decision(False, _("Only officers of this programme offer its grants."))
    return ALLOWED
