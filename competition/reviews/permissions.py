"""Who may write, read and follow reviews. The juror side builds on the jury's shared predicates
(competition.assignment.permissions): assigned, released, not declined, no conflict."""

from __future__ import annotations

import datetime as dt

from competition.accounts.models import User
from competition.assignment import permissions as jury
from competition.assignment.models import Assignment
from competition.core.rules import format_berlin
from competition.i18n import gettext as _
from competition.permissions import ALLOWED, Decision
from competition.programmes import permissions as programme_permissions
from competition.programmes.models import Stage
from competition.proposals.models import Proposal


def review_phase(stage: Stage, *, now: dt.datetime) -> Decision:
    """Reviews can be written until the stage's review due date (open when it has none)."""
    if stage.reviews_due_at is not None and now > stage.reviews_due_at:
        return Decision(
            False,
            _(
                "The review phase closed on %(when)s; your review is read-only.",
                when=format_berlin(stage.reviews_due_at),
            ),
        )
    return ALLOWED


def can_open_review(user: User, assignment: Assignment, proposal: Proposal) -> Decision:
    """The review page of one assignment: the juror's own, released, not declined assignment of
    a proposal they have no conflict with. Views answer 404 when this is refused."""
    if assignment.user_id != user.id:
        return Decision(False, _("This proposal is not assigned to you."))
    if assignment.released_at is None or assignment.declined_at is not None:
        return Decision(False, _("This proposal is not assigned to you."))
    return jury.can_review(user, proposal)


def can_write_review(
    user: User, assignment: Assignment, proposal: Proposal, stage: Stage, *, now: dt.datetime
) -> Decision:
    """Save or submit the review: it may be opened, and the review phase is still on."""
    decision = can_open_review(user, assignment, proposal)
    if not decision:
        return decision
    return review_phase(stage, now=now)


def can_follow_progress(user: User, stage: Stage) -> Decision:
    """The review progress of a stage: officers who run its programme."""
    if not programme_permissions.is_programme_officer(user, stage.call.programme_id):
        return Decision(False, _("Only officers of this programme follow its review progress."))
    return ALLOWED


def can_see_other_reviews(
    user: User, assignment: Assignment, proposal: Proposal, *, own_submitted: bool
) -> Decision:
    """Other jurors' submitted reviews of the proposal: for a juror who may open the review,
    and, when the call hides them until then, only once the juror has submitted their own
    (having done so once is enough: what was seen cannot be unseen by a later edit)."""
    decision = can_open_review(user, assignment, proposal)
    if not decision:
        return decision
    if proposal.call.reviews_hidden_until_own and not own_submitted:
        return Decision(False, _("The other reviews are shown once you have submitted your own."))
    return ALLOWED
