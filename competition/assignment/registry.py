"""What the assignment area tells the registry of organisations (``organisations.uses``): the
jurors an organisation employs or employed, and, after a merge, the jurors' former
organisations and automatic conflicts brought up to date."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from competition.accounts.models import User
from competition.assignment.models import JurorProfile, JuryMembership, MembershipState
from competition.assignment.operations import refresh_automatic_conflicts
from competition.extensions import db
from competition.i18n import gettext as _
from competition.organisations.uses import Use
from competition.programmes.models import Call
from competition.proposals.models import ConsortiumMember, Proposal


def jurors_of(organisation_id: int) -> list[Use]:
    found: list[Use] = []
    for name, affiliation, former in db.session.execute(
        sa.select(User.name, JurorProfile.affiliation_id, JurorProfile.former_organisation_ids)
        .join(User, User.id == JurorProfile.user_id)
        .order_by(User.name)
    ):
        if affiliation == organisation_id:
            found.append(Use("juror", name, detail=_("affiliation")))
        elif organisation_id in {int(o) for o in (former or [])}:
            found.append(Use("juror", name, detail=_("former organisation")))
    return found


def after_merge(merged_id: int, kept_id: int, *, actor: User, now: dt.datetime) -> None:
    """Former organisations name the kept one; the automatic conflicts of every juror of the
    kept organisation are refreshed in each call where they serve."""
    del actor  # the refresh is the system's, as after an assignment run
    for profile in db.session.scalars(sa.select(JurorProfile)):
        former = [int(o) for o in (profile.former_organisation_ids or [])]
        if merged_id in former or (kept_id in former and profile.affiliation_id == kept_id):
            moved = {kept_id if o == merged_id else o for o in former}
            moved.discard(profile.affiliation_id or 0)
            profile.former_organisation_ids = sorted(moved)
    db.session.flush()
    jurors = {
        profile.user_id
        for profile in db.session.scalars(sa.select(JurorProfile))
        if profile.affiliation_id == kept_id
        or kept_id in {int(o) for o in (profile.former_organisation_ids or [])}
    }
    jurors |= set(
        db.session.scalars(
            sa.select(User.id).where(
                User.organisation_id == kept_id,
                ~sa.exists().where(JurorProfile.user_id == User.id),
            )
        )
    )
    if not jurors:
        return
    calls = db.session.scalars(
        sa.select(Call)
        .where(
            Call.id.in_(
                sa.select(JuryMembership.call_id).where(
                    JuryMembership.user_id.in_(jurors),
                    JuryMembership.state == MembershipState.ACCEPTED,
                )
            ),
            Call.id.in_(
                sa.select(Proposal.call_id)
                .join(ConsortiumMember, ConsortiumMember.proposal_id == Proposal.id)
                .where(ConsortiumMember.organisation_id == kept_id)
            ),
        )
        .order_by(Call.id)
    ).all()
    for call in calls:
        refresh_automatic_conflicts(call, now=now, user_ids=jurors)
