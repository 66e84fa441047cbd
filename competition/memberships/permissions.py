"""Who may apply for, read, evaluate and decide on memberships. Pure predicates over loaded
objects, except the two relations they read (remembered per session): whether a juror evaluates
for a programme, and whether a juror's organisation is the cluster or one of its members."""

from __future__ import annotations

import sqlalchemy as sa

from competition.accounts.models import Role, User
from competition.db import remembered
from competition.extensions import db
from competition.i18n import gettext as _
from competition.memberships.models import (
    EVALUATED_STATES,
    Membership,
    MembershipEvaluator,
    MembershipMember,
    MembershipState,
)
from competition.permissions import ALLOWED, Decision
from competition.programmes.models import Programme
from competition.programmes.permissions import is_programme_officer

EDITABLE = frozenset(
    {
        MembershipState.APPLIED,
        MembershipState.IN_EVALUATION,
        MembershipState.GRANTED,
        MembershipState.IN_REEVALUATION,
    }
)


def evaluates_for(user: User, programme_id: int) -> bool:
    """A juror the programme's officers listed as an evaluator of its memberships."""
    return user.has_role(Role.JUROR) and remembered(
        ("evaluates_for", user.id, programme_id),
        lambda: (
            db.session.scalar(
                sa.select(MembershipEvaluator.id).where(
                    MembershipEvaluator.programme_id == programme_id,
                    MembershipEvaluator.user_id == user.id,
                )
            )
            is not None
        ),
    )


def conflicted(user: User, membership: Membership) -> bool:
    """The person works for the cluster management organisation or one of its members."""
    organisation_id = user.organisation_id
    if organisation_id is None:
        return False
    if organisation_id == membership.organisation_id:
        return True
    return remembered(
        ("membership_conflict", user.id, membership.id),
        lambda: (
            db.session.scalar(
                sa.select(MembershipMember.id).where(
                    MembershipMember.membership_id == membership.id,
                    MembershipMember.organisation_id == organisation_id,
                )
            )
            is not None
        ),
    )


def is_holder(user: User, membership: Membership) -> bool:
    return user.has_role(Role.APPLICANT) and membership.applicant_id == user.id


def can_apply(user: User, programme: Programme) -> Decision:
    """Apply for membership: a signed-in applicant, to a membership programme."""
    if not user.has_role(Role.APPLICANT):
        return Decision(False, _("Only applicants apply for membership."))
    if not programme.is_membership:
        return Decision(False, _("This programme takes proposals to its calls, not memberships."))
    return ALLOWED


def can_see(user: User, membership: Membership) -> Decision:
    """Read a membership's page: its applicant, the programme's officers, and its evaluators
    unless their organisation is the cluster or one of its members."""
    if is_holder(user, membership):
        return ALLOWED
    if is_programme_officer(user, membership.programme_id):
        return ALLOWED
    if evaluates_for(user, membership.programme_id) and not conflicted(user, membership):
        return ALLOWED
    return Decision(False, _("Only the applicant, the programme office and its evaluators."))


def can_edit_profile(user: User, membership: Membership) -> Decision:
    """Change the member organisations and the services: the applicant, while the application
    or the membership runs (the members change from year to year)."""
    if not is_holder(user, membership):
        return Decision(False, _("Only the applicant changes the profile."))
    if membership.state not in EDITABLE:
        return Decision(False, _("This membership has ended; its profile stays as it was."))
    return ALLOWED


def can_retract(user: User, membership: Membership) -> Decision:
    """Take back an application before it is decided: its applicant."""
    if not is_holder(user, membership):
        return Decision(False, _("Only the applicant withdraws the application."))
    return ALLOWED


def can_evaluate(user: User, membership: Membership) -> Decision:
    """Record an evaluation: an officer of the programme or one of its evaluators without a
    conflict, while the membership is applied for or being evaluated."""
    officer = is_programme_officer(user, membership.programme_id)
    if not officer and not evaluates_for(user, membership.programme_id):
        return Decision(False, _("Only the programme's officers and evaluators evaluate."))
    if conflicted(user, membership):
        return Decision(
            False,
            _("You work for the cluster or one of its members; someone else evaluates it."),
        )
    if membership.state not in (MembershipState.APPLIED, *EVALUATED_STATES):
        return Decision(False, _("This membership is not being evaluated now."))
    return ALLOWED


def can_manage(user: User, membership: Membership) -> Decision:
    """Decide (grant, refuse, renew, withdraw) and open a re-evaluation: an officer of the
    programme. Four eyes is the operation's rule: not on an evaluation of one's own."""
    if not is_programme_officer(user, membership.programme_id):
        return Decision(False, _("Only officers of this programme decide on memberships."))
    return ALLOWED


def can_set_up(user: User, programme: Programme) -> Decision:
    """Set up the criteria and the evaluators, see the memberships: an officer of a membership
    programme."""
    if not is_programme_officer(user, programme.id):
        return Decision(False, _("Only officers of this programme set it up."))
    if not programme.is_membership:
        return Decision(False, _("This programme has no memberships."))
    return ALLOWED
