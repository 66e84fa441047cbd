"""Membership programmes (go-cluster): cluster management organisations apply with their
member organisations and services, are evaluated against the programme's criteria, granted a
membership for a period by a second officer, and re-evaluated every year."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """What the memberships area lends to the areas below it: how many memberships a programme
    holds (so its set-up keeps it a membership programme); and the registry where an
    organisation manages or belongs to a cluster, why a merge would break a member list, that
    applicants may search it, and each cluster's member organisations counted by kind."""
    from competition.memberships import queries, registry
    from competition.organisations import uses as organisation_uses
    from competition.programmes import uses

    uses.register(app, "memberships_in_programme", queries.memberships_in_programme)
    organisation_uses.register(app, "uses", registry.memberships_of)
    organisation_uses.register(app, "merge_checks", registry.shared_memberships)
    organisation_uses.register(app, "searchers", registry.is_membership_applicant)
    organisation_uses.register(app, "member_counts", registry.member_counts)
