"""Who may read and change the registry of organisations, and who may search it."""

from __future__ import annotations

from competition.accounts.models import Role, User
from competition.i18n import gettext as _
from competition.organisations import uses
from competition.permissions import ALLOWED, Decision


def can_manage_registry(user: User) -> Decision:
    """Officers and administrators keep the registry: list, edit, import, merge."""
    if user.has_role(Role.OFFICER, Role.ADMIN):
        return ALLOWED
    return Decision(False, _("Only officers and administrators keep the registry."))


def can_search_registry(user: User) -> Decision:
    """Whoever names organisations somewhere: the registry's keepers, jurors (their
    affiliation), and those an area above allows (a contributor of a proposal in draft)."""
    if user.has_role(Role.OFFICER, Role.ADMIN, Role.JUROR):
        return ALLOWED
    if any(searcher(user) for searcher in uses.registered("searchers")):
        return ALLOWED
    return Decision(False, _("Searching the registry is for those who edit a consortium."))
