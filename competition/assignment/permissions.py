"""What a juror may see. A juror sees a call's proposals only after accepting the jury place and
declaring conflicts; never a proposal they have a conflict with; the full content only of
proposals assigned to them and released."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from competition.accounts.models import Role, User
from competition.assignment.models import (
    Assignment,
    Conflict,
    JuryMembership,
    MembershipState,
)
from competition.extensions import db
from competition.i18n import gettext as _
from competition.i18n import local_time
from competition.permissions import ALLOWED, Decision
from competition.programmes.models import Call, Stage
from competition.proposals.models import Attachment, Proposal
from competition.proposals.queries import is_submitted_attachment


def membership(user: User, call: Call) -> JuryMembership | None:
    return db.session.scalar(
        sa.select(JuryMembership).where(
            JuryMembership.user_id == user.id, JuryMembership.call_id == call.id
        )
    )


def has_conflict(user: User, proposal: Proposal) -> bool:
    return (
        db.session.scalar(
            sa.select(Conflict.id)
            .where(Conflict.user_id == user.id, Conflict.proposal_id == proposal.id)
            .limit(1)
        )
        is not None
    )


def conflicted_proposal_ids(user: User) -> sa.Select[tuple[int]]:
    """For ``WHERE proposal_id NOT IN (...)`` in every list a juror sees."""
    return sa.select(Conflict.proposal_id).where(Conflict.user_id == user.id)


def can_see_call_as_juror(user: User, call: Call) -> Decision:
    if not user.has_role(Role.JUROR):
        return Decision(False, _("Only jurors take part in the jury."))
    place = membership(user, call)
    if place is None or place.state != MembershipState.ACCEPTED:
        return Decision(False, _("You are not on this call's jury."))
    if place.conflicts_declared_at is None:
        return Decision(False, _("Declare your conflicts of interest first."))
    return ALLOWED


def can_bid_on(user: User, proposal: Proposal) -> Decision:
    """Titles and abstracts, for bidding and declaring conflicts."""
    decision = can_see_call_as_juror(user, proposal.call)
    if not decision:
        return decision
    if has_conflict(user, proposal):
        return Decision(False, _("You have a conflict of interest with this proposal."))
    return ALLOWED


def bidding_phase(stage: Stage, *, now: dt.datetime) -> Decision:
    """Bids are taken while the stage's bidding window is open (whenever bidding is on, for a
    stage that has no window)."""
    if not stage.bidding_enabled:
        return Decision(False, _("Bidding is not open for this stage."))
    opens, closes = stage.bidding_opens_at, stage.bidding_closes_at
    if opens is not None and now < opens:
        return Decision(
            False, _("Bidding opens on %(when)s; come back then.", when=local_time(opens))
        )
    if closes is not None and now > closes:
        return Decision(
            False,
            _("Bidding closed on %(when)s; bids can no longer change.", when=local_time(closes)),
        )
    return ALLOWED


def released_assignment(user: User, proposal: Proposal) -> Assignment | None:
    return db.session.scalar(
        sa.select(Assignment).where(
            Assignment.user_id == user.id,
            Assignment.proposal_id == proposal.id,
            Assignment.released_at.is_not(None),
            Assignment.declined_at.is_(None),
        )
    )


def can_read_submitted(user: User, attachment: Attachment) -> bool:
    """Jurors get what was submitted for the stage they review, never a draft."""
    submission = attachment.submission
    proposal = submission.proposal
    if not can_review(user, proposal) or not is_submitted_attachment(attachment):
        return False
    return (
        db.session.scalar(
            sa.select(Assignment.id).where(
                Assignment.user_id == user.id,
                Assignment.proposal_id == proposal.id,
                Assignment.stage_id == submission.stage_id,
                Assignment.released_at.is_not(None),
                Assignment.declined_at.is_(None),
            )
        )
        is not None
    )


def can_review(user: User, proposal: Proposal) -> Decision:
    """The full proposal and its documents: assigned, released, and still no conflict."""
    decision = can_bid_on(user, proposal)
    if not decision:
        return decision
    if released_assignment(user, proposal) is None:
        return Decision(False, _("This proposal is not assigned to you."))
    return ALLOWED
