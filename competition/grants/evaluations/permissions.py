"""Who runs the interim evaluations of a call's grants: the officers of its programme (the
stage's own pages, assignment, reviews, ranking, panel and decisions, check their own rules)."""

from __future__ import annotations

from competition.accounts.models import User
from competition.i18n import gettext as _
from competition.permissions import ALLOWED, Decision
from competition.programmes.models import Call
from competition.programmes.permissions import is_programme_officer


def can_run_evaluations(user: User, call: Call) -> Decision:
    """Start an interim evaluation of the call's grants, and see the call's evaluations."""
    if not is_programme_officer(user, call.programme_id):
        return Decision(False, _("Only officers of this programme evaluate its grants."))
    return ALLOWED
