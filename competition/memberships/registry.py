"""What the memberships area tells the registry of organisations (``organisations.uses``): where
an organisation is a cluster management organisation or a cluster's member, why two
organisations cannot be merged (both in one cluster's member list, or both holding a membership
of one programme), that an applicant of a membership programme may search the registry, and
each cluster's member organisations counted by kind."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from flask import url_for

from competition.accounts.models import Role, User
from competition.extensions import db
from competition.i18n import gettext as _
from competition.memberships.models import OPEN_STATES, Membership, MembershipMember
from competition.memberships.queries import member_counts_of_clusters
from competition.organisations.models import Organisation
from competition.organisations.uses import Use
from competition.programmes.models import Programme, ProgrammeKind

# An organisation in many clusters is named in each; beyond this the page says how many more.
USES_SHOWN = 50


def memberships_of(organisation_id: int) -> list[Use]:
    """The memberships the organisation holds or applied for, and the clusters it is a member
    of (for the registry's keepers, who may open each)."""
    held = db.session.execute(
        sa.select(Membership.id, Programme.name, Membership.state)
        .join(Programme, Programme.id == Membership.programme_id)
        .where(Membership.organisation_id == organisation_id)
        .order_by(Programme.name, Membership.id)
        .limit(USES_SHOWN)
    ).all()
    uses = [
        Use(
            "membership",
            name,
            detail=state.label,
            url=url_for("memberships.show_membership", membership_id=membership_id),
        )
        for membership_id, name, state in held
    ]
    cluster = sa.orm.aliased(Organisation)
    member_of = db.session.execute(
        sa.select(Membership.id, Programme.name, cluster.name, Membership.state)
        .join(MembershipMember, MembershipMember.membership_id == Membership.id)
        .join(Programme, Programme.id == Membership.programme_id)
        .join(cluster, cluster.id == Membership.organisation_id)
        .where(MembershipMember.organisation_id == organisation_id)
        .order_by(cluster.name, Membership.id)
        .limit(USES_SHOWN)
    ).all()
    uses.extend(
        Use(
            "cluster_member",
            f"{cluster_name} ({programme_name})",
            detail=state.label,
            url=url_for("memberships.show_membership", membership_id=membership_id),
        )
        for membership_id, programme_name, cluster_name, state in member_of
    )
    return uses


def shared_memberships(merged_id: int, kept_id: int) -> list[str]:
    """A member list cannot hold one organisation twice, and an organisation holds one open
    membership per programme: name the clusters and programmes the merge would break."""
    problems: list[str] = []
    other = sa.orm.aliased(MembershipMember)
    cluster = sa.orm.aliased(Organisation)
    clusters = db.session.scalars(
        sa.select(cluster.name)
        .join(Membership, Membership.organisation_id == cluster.id)
        .join(MembershipMember, MembershipMember.membership_id == Membership.id)
        .join(other, other.membership_id == Membership.id)
        .where(MembershipMember.organisation_id == merged_id, other.organisation_id == kept_id)
        .order_by(cluster.name)
    ).all()
    if clusters:
        problems.append(
            _(
                "Both organisations are members of the cluster of %(clusters)s. Remove one of "
                "them from its member list first.",
                clusters=", ".join(clusters),
            )
        )
    kept = sa.orm.aliased(Membership)
    programmes = db.session.scalars(
        sa.select(Programme.name)
        .join(Membership, Membership.programme_id == Programme.id)
        .join(kept, kept.programme_id == Programme.id)
        .where(
            Membership.organisation_id == merged_id,
            kept.organisation_id == kept_id,
            Membership.state.in_(OPEN_STATES),
            kept.state.in_(OPEN_STATES),
        )
        .order_by(Programme.name)
    ).all()
    if programmes:
        problems.append(
            _(
                "Both organisations apply for or hold a membership of %(programmes)s; one "
                "organisation holds one.",
                programmes=", ".join(programmes),
            )
        )
    return problems


def is_membership_applicant(user: User) -> bool:
    """An applicant, once there is a membership programme to apply to: the application names
    the cluster management organisation and the members from the registry."""
    if not user.has_role(Role.APPLICANT):
        return False
    return (
        db.session.scalar(
            sa.select(Programme.id).where(Programme.kind == ProgrammeKind.MEMBERSHIP).limit(1)
        )
        is not None
    )


def member_counts(organisation_ids: Sequence[int]) -> dict[int, dict[str, int]]:
    return member_counts_of_clusters(organisation_ids)
