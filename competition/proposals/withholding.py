"""A partner's name withheld from the public portal at the consortium's request.

The portal and the open data name the partners of funded consortia (where the programme
publishes them); a consortium may ask that one partner's name be withheld, with a reason, and
may lift that again. The partner then shows with its federal state and kind only; the map still
counts it. Who asks: the consortium's coordinator, or a contributor given the coordinator's
rights (``ContributorRole.COORDINATOR``). Who sees that a name is withheld: the consortium's
contributors and the programme's officers, who see the proposal and the grant anyway."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

import sqlalchemy as sa
from flask_login import current_user

from competition.accounts.models import User
from competition.audit.operations import record_event
from competition.db import operation
from competition.errors import DomainError
from competition.extensions import db
from competition.i18n import gettext as _
from competition.permissions import ALLOWED, Decision, require
from competition.proposals.models import ConsortiumMember, ContributorRole, Proposal
from competition.proposals.permissions import contributor_role

log = logging.getLogger(__name__)
REASON_MAX_CHARS = 2000


def can_withhold_names(user: User, proposal: Proposal) -> Decision:
    """Ask that a partner's name be withheld from the public, or lift it: the coordinator."""
    if contributor_role(user, proposal) != ContributorRole.COORDINATOR:
        return Decision(
            False, _("Only the consortium's coordinator can ask to withhold a partner's name.")
        )
    return ALLOWED


@dataclass(frozen=True)
class PublicNames:
    """The consortium's partners with whether each is named in public, for the proposal's
    and the grant's pages, and whether the reader may change it."""

    members: list[ConsortiumMember]
    may_change: bool


def names_for(user: User, proposal: Proposal) -> PublicNames:
    """For a reader who may see the proposal (its pages check that first)."""
    return PublicNames(
        members=list(proposal.members), may_change=bool(can_withhold_names(user, proposal))
    )


def names_panel(proposal: Proposal) -> PublicNames | None:
    """The proposal's pages' panel (``proposals.panels``); nothing outside a signed-in
    request."""
    if not current_user.is_authenticated:
        return None
    return names_for(current_user._get_current_object(), proposal)


def _reason(reason: str, *, required: bool) -> str:
    reason = reason.strip()
    if required and not reason:
        raise DomainError(
            {"reason": [_("Give the reason why the partner's name should not be public.")]}
        )
    if len(reason) > REASON_MAX_CHARS:
        raise DomainError(
            {"reason": [_("Keep the reason within %(num)d characters.", num=REASON_MAX_CHARS)]}
        )
    return reason


def _set(member: ConsortiumMember, *, withheld: bool) -> bool:
    """Compare-and-set: False when the name already stands as asked (another request was
    first, or the page was old)."""
    changed = db.session.execute(
        sa.update(ConsortiumMember)
        .where(ConsortiumMember.id == member.id, ConsortiumMember.name_withheld != withheld)
        .values(name_withheld=withheld)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.refresh(member)
    return bool(changed)


def _audit(
    member: ConsortiumMember, action: str, *, actor: User, reason: str, now: dt.datetime
) -> None:
    record_event(
        actor=actor,
        action=action,
        object_type="consortium_member",
        object_id=member.id,
        before={"name_withheld": action == "consortium_member.name_shown"},
        after={
            "name_withheld": action == "consortium_member.name_withheld",
            "proposal_id": member.proposal_id,
            "organisation_id": member.organisation_id,
            "reason": reason,
        },
        now=now,
    )


@operation
def withhold_name(member: ConsortiumMember, *, actor: User, reason: str, now: dt.datetime) -> bool:
    """Withhold the partner's name from the public portal and the open data, for the reason
    given (required). Returns False when it was withheld already.

    Side effects: ``consortium_members.name_withheld``; audit
    ``consortium_member.name_withheld`` with the reason.
    """
    require(can_withhold_names(actor, member.proposal))
    reason = _reason(reason, required=True)
    if not _set(member, withheld=True):
        return False
    _audit(member, "consortium_member.name_withheld", actor=actor, reason=reason, now=now)
    log.info("name of consortium member %s withheld by user %s", member.id, actor.id)
    return True


@operation
def show_name(member: ConsortiumMember, *, actor: User, reason: str = "", now: dt.datetime) -> bool:
    """Lift the withholding: the portal names the partner again (a reason may be given).
    Returns False when the name was shown already.

    Side effects: ``consortium_members.name_withheld``; audit ``consortium_member.name_shown``
    with the reason.
    """
    require(can_withhold_names(actor, member.proposal))
    reason = _reason(reason, required=False)
    if not _set(member, withheld=False):
        return False
    _audit(member, "consortium_member.name_shown", actor=actor, reason=reason, now=now)
    log.info("name of consortium member %s shown again by user %s", member.id, actor.id)
    return True
