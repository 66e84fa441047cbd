"""Jury operations: inviting jurors to a call, their answers and profiles, conflicts of interest
from every source (automatic, declared, officer, applicant) and bids.

Each is one transaction (competition.db.operation) that checks permission, validates, changes
state, records an audit event and writes outbox rows. A juror who is not on the call's jury, or who
has a conflict with the proposal, is refused with PermissionDenied.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Collection, Mapping

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from competition.accounts.models import Role, User, UserStatus
from competition.accounts.operations import find_user_by_email, invite_person, normalise_email
from competition.assignment import queries
from competition.assignment.jury_permissions import can_manage_jury, can_request_exclusion
from competition.assignment.models import (
    Bid,
    BidLevel,
    Conflict,
    ConflictSource,
    ExclusionRequest,
    JurorProfile,
    JuryMembership,
    MembershipState,
)
from competition.assignment.permissions import bidding_phase, can_bid_on, membership
from competition.audit.operations import record_event
from competition.core import workflow
from competition.core.texts import N_
from competition.db import add_unique, on_postgresql, operation
from competition.errors import DomainError, PermissionDenied
from competition.extensions import db
from competition.i18n import gettext as _
from competition.notifications.operations import notify
from competition.organisations import queries as org_queries
from competition.organisations.models import Organisation
from competition.permissions import require
from competition.programmes.models import Call, Stage, Topic
from competition.programmes.topic_queries import choosable_ids
from competition.proposals.models import ConsortiumMember, MemberRole, Proposal, ProposalState
from competition.workflow import StepRefused, apply_step

log = logging.getLogger(__name__)

MAX_REASON = 2000
MAX_EXPERTISE_TEXT = 5000
MAX_LOAD_LIMIT = 100


def _require_member(actor: User, call: Call) -> JuryMembership:
    """An accepted place on the call's jury, or PermissionDenied."""
    place = membership(actor, call) if actor.has_role(Role.JUROR) else None
    if place is None or place.state != MembershipState.ACCEPTED:
        raise PermissionDenied(_("You are not on this call's jury."))
    return place


def _reason_problem(reason: str, *, missing: str | None = None) -> str | None:
    if not reason.strip():
        return missing if missing is not None else _("Give a reason.")
    if len(reason) > MAX_REASON:
        return _("Keep the reason under %(limit)s characters.", limit=MAX_REASON)
    return None


def _valid_email(address: str) -> bool:
    local, _at, domain = address.partition("@")
    return bool(local) and "." in domain and " " not in address and len(address) <= 254


# --- invitations -------------------------------------------------------------------------------


@operation
def invite_juror_to_call(
    call: Call, *, actor: User, email: str, name: str, now: dt.datetime
) -> JuryMembership:
    """An officer of the programme invites someone to the call's jury by e-mail.

    Someone without an account gets one through the accounts invitation (and its e-mail); an
    account without the juror role gains it. Requests of consortia to exclude this address become
    conflicts now. Side effects: maybe a user and role row (``account.invited`` /
    ``account.role_granted`` and their e-mail); a membership row; audit ``jury.invited``; the jury
    invitation e-mail with a link to the juror's jury page.
    """
    require(can_manage_jury(actor, call))
    address = normalise_email(email)
    if not _valid_email(address):
        raise DomainError({"email": [_("Enter a valid e-mail address, like name@example.org.")]})
    user = find_user_by_email(address)
    if user is not None:
        if membership(user, call) is not None:
            raise DomainError(
                {
                    "email": [
                        _("%(address)s has already been invited to this jury.", address=address)
                    ]
                }
            )
        if user.status == UserStatus.DISABLED:
            raise DomainError({"email": [_("This account is disabled; enable it first.")]})
    if user is None or not user.has_role(Role.JUROR):
        user = invite_person(actor=actor, email=address, name=name, role=Role.JUROR, now=now)
    place = JuryMembership(
        call_id=call.id,
        user_id=user.id,
        state=MembershipState.INVITED,
        invited_by_id=actor.id,
        invited_at=now,
    )
    add_unique(
        place,
        taken=DomainError(
            {"email": [_("%(address)s has already been invited to this jury.", address=address)]}
        ),
    )
    record_event(
        actor=actor,
        action="jury.invited",
        object_type="jury_membership",
        object_id=place.id,
        after={"call_id": call.id, "user_id": user.id, "state": place.state},
        now=now,
    )
    _apply_exclusion_requests(user, call, now=now)
    notify(
        to=user,
        template="jury/invitation",
        context={
            "name": user.name,
            "inviter": actor.name,
            "call": call.name,
            "programme": call.programme.name,
        },
        dedup_key=f"jury.invite:{place.id}",
        now=now,
    )
    return place


def _apply_exclusion_requests(user: User, call: Call, *, now: dt.datetime) -> None:
    """Requests naming this address for the call's proposals become applicant conflicts."""
    requests = db.session.scalars(
        sa.select(ExclusionRequest)
        .join(Proposal, Proposal.id == ExclusionRequest.proposal_id)
        .where(Proposal.call_id == call.id, ExclusionRequest.email == user.email)
    ).all()
    for request in requests:
        exists = db.session.scalar(
            sa.select(Conflict.id).where(
                Conflict.user_id == user.id,
                Conflict.proposal_id == request.proposal_id,
                Conflict.source == ConflictSource.APPLICANT,
            )
        )
        if exists is None:
            conflict = Conflict(
                user_id=user.id,
                proposal_id=request.proposal_id,
                source=ConflictSource.APPLICANT,
                reason=request.reason,
                created_by_id=request.created_by_id,
                created_at=now,
            )
            db.session.add(conflict)
            db.session.flush()
            record_event(
                actor=None,
                action="conflict.exclusion_applied",
                object_type="conflict",
                object_id=conflict.id,
                after={
                    "user_id": user.id,
                    "proposal_id": request.proposal_id,
                    "source": ConflictSource.APPLICANT,
                    "request_id": request.id,
                },
                now=now,
            )
        db.session.delete(request)
    db.session.flush()


@operation
def respond_to_jury_invitation(
    place: JuryMembership, *, actor: User, accept: bool, now: dt.datetime
) -> JuryMembership:
    """The invited juror accepts or declines. Answering the same way twice changes nothing.

    Side effects: the membership's state (compare-and-set); audit ``jury.accepted`` or
    ``jury.declined``; on accepting, the juror's automatic conflicts for the call.
    """
    if actor.id != place.user_id or not actor.has_role(Role.JUROR):
        raise PermissionDenied(_("This invitation is not yours."))
    action = "accept" if accept else "decline"
    try:
        moved = apply_step(
            place,
            action,
            actor=actor,
            now=now,
            values={"responded_at": now},
            event=f"jury.{workflow.MEMBERSHIP.past[action]}",
            stale=_("Your answer was recorded meanwhile, in another window. Reload the page."),
        )
    except StepRefused:
        already = (
            _("You have already accepted this invitation.")
            if place.state == MembershipState.ACCEPTED
            else _("You have already declined this invitation.")
        )
        raise DomainError(already) from None
    if not moved:
        return place
    if accept:
        call = db.session.get(Call, place.call_id)
        assert call is not None
        refresh_automatic_conflicts(call, now=now, user_ids=[actor.id])
    return place


# --- profiles ----------------------------------------------------------------------------------


def _profile_state(profile: JurorProfile) -> dict[str, object]:
    return {
        "affiliation_id": profile.affiliation_id,
        "former_organisation_ids": list(profile.former_organisation_ids or []),
        "topic_ids": sorted(topic.id for topic in profile.topics),
        "max_load": profile.max_load,
        "expertise_text_chars": len(profile.expertise_text or ""),
    }


@operation
def update_juror_profile(
    user: User,
    *,
    actor: User,
    affiliation_id: int | None,
    former_organisation_ids: Collection[int],
    topic_ids: Collection[int],
    max_load: int | None,
    expertise_text: str,
    now: dt.datetime,
) -> JurorProfile:
    """The juror keeps their profile: organisations (for automatic conflicts), expertise topics
    and text (for matching), and the most proposals they will review.

    Side effects: the profile row; audit ``juror.profile_updated``; the juror's automatic
    conflicts refreshed on every call where they accepted a place.
    """
    return _save_profile(
        user,
        actor=actor,
        affiliation_id=affiliation_id,
        former_organisation_ids=former_organisation_ids,
        topic_ids=topic_ids,
        max_load=max_load,
        expertise_text=expertise_text,
        now=now,
        errors={},
    )


@operation
def update_juror_profile_by_names(
    user: User,
    *,
    actor: User,
    affiliation: str,
    former_organisation_ids: Collection[int],
    add_former: str,
    topic_ids: Collection[int],
    max_load: int | None,
    expertise_text: str,
    now: dt.datetime,
) -> JurorProfile:
    """:func:`update_juror_profile` from the profile page, which names organisations as typed
    (the registry's search offers names while typing; without JavaScript the name is typed in
    full): ``affiliation`` is the current organisation's name (empty for none), ``add_former``
    one more former organisation's name (empty for none), ``former_organisation_ids`` the former
    ones kept. A name matches an organisation in use of exactly that name, case-insensitive;
    an unknown or ambiguous name is refused at its field. A name that is the saved
    affiliation's keeps it even when another organisation has the same name."""
    errors: dict[str, list[str]] = {}
    current = queries.find_profile(user)
    found = org_queries.in_use_by_names([affiliation, add_former])

    def resolve(name: str, field: str, keep: Collection[int]) -> int | None:
        name = org_queries.normalise_name(name)
        if not name:
            return None
        matches = found.get(name.lower(), [])
        kept = [o.id for o in matches if o.id in keep]
        if kept:
            return kept[0]
        if len(matches) == 1:
            return matches[0].id
        if not matches:
            errors[field] = [
                _(
                    "No organisation in the registry is called “%(name)s”. Choose one of the "
                    "names offered as you type, or check the spelling.",
                    name=name,
                )
            ]
        else:
            errors[field] = [
                _(
                    "Several organisations in the registry are called “%(name)s”. Ask the "
                    "programme office which one to choose.",
                    name=name,
                )
            ]
        return None

    saved = (
        {current.affiliation_id} if current is not None and current.affiliation_id else set[int]()
    )
    affiliation_id = resolve(affiliation, "affiliation", saved)
    added = resolve(add_former, "add_former", set(former_organisation_ids))
    former = [*former_organisation_ids, *([added] if added is not None else [])]
    return _save_profile(
        user,
        actor=actor,
        affiliation_id=affiliation_id,
        former_organisation_ids=former,
        topic_ids=topic_ids,
        max_load=max_load,
        expertise_text=expertise_text,
        now=now,
        errors=errors,
    )


def _save_profile(
    user: User,
    *,
    actor: User,
    affiliation_id: int | None,
    former_organisation_ids: Collection[int],
    topic_ids: Collection[int],
    max_load: int | None,
    expertise_text: str,
    now: dt.datetime,
    errors: dict[str, list[str]],
) -> JurorProfile:
    """The body of both profile operations; ``errors`` come in with those of typed names."""
    if actor.id != user.id or not user.has_role(Role.JUROR):
        raise PermissionDenied(_("Only jurors keep a juror profile, and only their own."))
    former = sorted({int(o) for o in former_organisation_ids} - {affiliation_id})
    wanted = set(former) | ({affiliation_id} if affiliation_id is not None else set())
    known = (
        set(db.session.scalars(sa.select(Organisation.id).where(Organisation.id.in_(wanted))))
        if wanted
        else set()
    )
    if affiliation_id is not None and affiliation_id not in known:
        errors.setdefault("affiliation_id", [_("Choose your organisation from the list.")])
    if set(former) - known:
        errors.setdefault(
            "former_organisation_ids", [_("Choose former organisations from the list.")]
        )
    topics = (
        list(db.session.scalars(sa.select(Topic).where(Topic.id.in_(set(topic_ids)))))
        if topic_ids
        else []
    )
    # The topics of the programmes whose juries the juror sits on, and the shared ones; a
    # retired one only if the profile names it already.
    current = queries.find_profile(user)
    allowed = choosable_ids(
        queries.juror_programme_ids(user),
        keep=[t.id for t in current.topics] if current is not None else [],
    )
    if len(topics) != len(set(topic_ids)) or not set(topic_ids) <= allowed:
        errors["topic_ids"] = [_("Choose topics from the list.")]
    if max_load is not None and not 1 <= max_load <= MAX_LOAD_LIMIT:
        errors["max_load"] = [
            _("Enter a number from 1 to %(limit)s, or leave it empty.", limit=MAX_LOAD_LIMIT)
        ]
    text = expertise_text.strip()
    if len(text) > MAX_EXPERTISE_TEXT:
        errors["expertise_text"] = [
            _("Keep this under %(limit)s characters.", limit=MAX_EXPERTISE_TEXT)
        ]
    if errors:
        raise DomainError(errors)
    profile = queries.find_profile(user)
    before = _profile_state(profile) if profile is not None else None
    if profile is None:
        profile = JurorProfile(user_id=user.id, updated_at=now)
        db.session.add(profile)
    profile.affiliation_id = affiliation_id
    profile.former_organisation_ids = former
    profile.topics = topics
    profile.max_load = max_load
    profile.expertise_text = text
    profile.updated_at = now
    db.session.flush()
    record_event(
        actor=actor,
        action="juror.profile_updated",
        object_type="juror_profile",
        object_id=profile.id,
        before=before,
        after=_profile_state(profile),
        now=now,
    )
    calls = db.session.scalars(
        sa.select(Call)
        .join(JuryMembership, JuryMembership.call_id == Call.id)
        .where(
            JuryMembership.user_id == user.id,
            JuryMembership.state == MembershipState.ACCEPTED,
        )
    ).all()
    for call in calls:
        refresh_automatic_conflicts(call, now=now, user_ids=[user.id])
    return profile


# --- conflicts ---------------------------------------------------------------------------------


def _automatic_reason(name: str, role: MemberRole, *, current: bool) -> str:
    """Stored as a Text, so that each reader reads it in their language (``|say``)."""
    if role == MemberRole.COORDINATOR:
        text = (
            N_(
                "Affiliation %(organisation)s is the coordinator of the consortium.",
                organisation=name,
            )
            if current
            else N_(
                "Former organisation %(organisation)s is the coordinator of the consortium.",
                organisation=name,
            )
        )
    elif role == MemberRole.ASSOCIATED_PARTNER:
        text = (
            N_(
                "Affiliation %(organisation)s is an associated partner of the consortium.",
                organisation=name,
            )
            if current
            else N_(
                "Former organisation %(organisation)s is an associated partner of the consortium.",
                organisation=name,
            )
        )
    elif role == MemberRole.SUBCONTRACTOR:
        text = (
            N_(
                "Affiliation %(organisation)s is a subcontractor of the consortium.",
                organisation=name,
            )
            if current
            else N_(
                "Former organisation %(organisation)s is a subcontractor of the consortium.",
                organisation=name,
            )
        )
    elif current:
        text = N_("Affiliation %(organisation)s is a partner of the consortium.", organisation=name)
    else:
        text = N_(
            "Former organisation %(organisation)s is a partner of the consortium.",
            organisation=name,
        )
    return text.dumps()


@operation
def refresh_automatic_conflicts(
    call: Call, *, now: dt.datetime, user_ids: Collection[int] | None = None
) -> tuple[int, int]:
    """Make the automatic conflicts of the call's proposals match the jurors' organisations.

    For every accepted juror (or only ``user_ids``) and every proposal of the call that is not
    withdrawn, an automatic conflict exists iff the juror's affiliation or a former organisation
    is any member of the consortium, coordinator or partner. Idempotent; safe to run at any time
    (the assignment step runs it before matching). Returns (added, removed).
    Side effects: conflict rows added, re-explained or removed; audit
    ``conflicts.automatic_refreshed`` when anything changed.
    """
    juror_query = sa.select(JuryMembership.user_id).where(
        JuryMembership.call_id == call.id, JuryMembership.state == MembershipState.ACCEPTED
    )
    if user_ids is not None:
        juror_query = juror_query.where(JuryMembership.user_id.in_(list(user_ids)))
    jurors = list(db.session.scalars(juror_query))
    organisations = queries.organisation_ids_of_jurors(jurors)

    members: dict[int, list[tuple[int, int, str, MemberRole]]] = {}
    for proposal_id, organisation_id, name, role in db.session.execute(
        sa.select(
            ConsortiumMember.proposal_id,
            ConsortiumMember.organisation_id,
            Organisation.name,
            ConsortiumMember.role,
        )
        .join(Proposal, Proposal.id == ConsortiumMember.proposal_id)
        .join(Organisation, Organisation.id == ConsortiumMember.organisation_id)
        .where(Proposal.call_id == call.id, Proposal.state != ProposalState.WITHDRAWN)
        .order_by(ConsortiumMember.proposal_id, ConsortiumMember.id)
    ):
        members.setdefault(organisation_id, []).append((proposal_id, organisation_id, name, role))

    desired: dict[tuple[int, int], str] = {}
    for user_id in jurors:
        current, former = organisations.get(user_id, (None, []))
        # The current organisation explains a conflict before a former one does.
        for candidate, is_current in [(current, True), *((o, False) for o in former)]:
            if candidate is None:
                continue
            for proposal_id, _org, name, role in members.get(candidate, []):
                desired.setdefault(
                    (user_id, proposal_id), _automatic_reason(name, role, current=is_current)
                )

    existing_query = sa.select(Conflict).where(
        Conflict.source == ConflictSource.AUTOMATIC,
        Conflict.proposal_id.in_(sa.select(Proposal.id).where(Proposal.call_id == call.id)),
    )
    if user_ids is not None:
        existing_query = existing_query.where(Conflict.user_id.in_(list(user_ids)))
    existing = {(c.user_id, c.proposal_id): c for c in db.session.scalars(existing_query)}

    removed = [key for key in existing if key not in desired]
    for key in removed:
        db.session.delete(existing[key])
    for key, reason in desired.items():
        if key in existing and existing[key].reason != reason:
            existing[key].reason = reason
    # Flushed now, so that a savepoint rolled back below cannot take these changes with it.
    db.session.flush()
    added = [key for key in desired if key not in existing]
    rows = [
        {
            "user_id": user_id,
            "proposal_id": proposal_id,
            "source": ConflictSource.AUTOMATIC,
            "reason": desired[(user_id, proposal_id)],
            "created_by_id": None,
            "created_at": now,
        }
        for user_id, proposal_id in added
    ]
    # In bulk (a large call has a hundred thousand); a row a concurrent refresh wrote first is
    # skipped, as ours is then not needed.
    insert = postgresql.insert if on_postgresql() else sqlite.insert
    for start in range(0, len(rows), 5000):
        db.session.execute(insert(Conflict).on_conflict_do_nothing(), rows[start : start + 5000])
    db.session.flush()
    if added or removed:
        record_event(
            actor=None,
            action="conflicts.automatic_refreshed",
            object_type="call",
            object_id=call.id,
            after={
                "added": [list(key) for key in sorted(added)],
                "removed": [list(key) for key in sorted(removed)],
            },
            now=now,
        )
    return len(added), len(removed)


@operation
def declare_conflicts(
    call: Call,
    *,
    actor: User,
    proposal_ids_with_reasons: Mapping[int, str],
    now: dt.datetime,
    finished: bool = True,
) -> JuryMembership:
    """The juror declares conflicts with the call's proposals, each with a reason. Declaring none
    is a declaration too: it opens the call's other pages. Declarations add to earlier ones;
    only an officer removes a declared conflict. Not ``finished`` (one page of the form saved
    on the way through a long call): the conflicts are kept, the call stays closed until the
    juror sends the whole declaration.

    Side effects: declared conflict rows; the automatic ones refreshed; ``conflicts_declared_at``
    set on the first declaration; audit ``conflicts.declared``.
    """
    place = _require_member(actor, call)
    declarable = queries.declarable_proposal_ids(call)
    errors: dict[str, list[str]] = {}
    for proposal_id, reason in proposal_ids_with_reasons.items():
        if proposal_id not in declarable:
            errors[""] = [_("One of the proposals is not part of this call.")]
            continue
        problem = _reason_problem(
            reason, missing=_("Say why you have a conflict with this proposal.")
        )
        if problem:
            errors[f"reason_{proposal_id}"] = [problem]
    if errors:
        raise DomainError(errors)
    refresh_automatic_conflicts(call, now=now, user_ids=[actor.id])
    already = set(
        db.session.scalars(
            sa.select(Conflict.proposal_id).where(
                Conflict.user_id == actor.id,
                Conflict.source == ConflictSource.DECLARED,
                Conflict.proposal_id.in_(list(proposal_ids_with_reasons)),
            )
        )
    )
    new = sorted(set(proposal_ids_with_reasons) - already)
    for proposal_id in new:
        try:
            # The same declaration sent twice at once (a double click) is one declaration.
            with db.session.begin_nested():
                db.session.add(
                    Conflict(
                        user_id=actor.id,
                        proposal_id=proposal_id,
                        source=ConflictSource.DECLARED,
                        reason=proposal_ids_with_reasons[proposal_id].strip(),
                        created_by_id=actor.id,
                        created_at=now,
                    )
                )
        except sa.exc.IntegrityError:
            log.info("declared conflict with proposal %s written concurrently", proposal_id)
    first = finished and place.conflicts_declared_at is None
    if first:
        place.conflicts_declared_at = now
    db.session.flush()
    record_event(
        actor=actor,
        action="conflicts.declared",
        object_type="jury_membership",
        object_id=place.id,
        after={"call_id": call.id, "proposal_ids": new, "first_declaration": first},
        now=now,
    )
    return place


@operation
def add_officer_conflict(
    proposal: Proposal, *, actor: User, juror: User, reason: str, now: dt.datetime
) -> Conflict:
    """An officer of the programme records a conflict between a member of the call's jury and a
    proposal. Side effects: a conflict row; audit ``conflict.added``."""
    call = proposal.call
    require(can_manage_jury(actor, call))
    errors: dict[str, list[str]] = {}
    if membership(juror, call) is None:
        errors["juror_id"] = [_("Choose a member of this call's jury.")]
    elif (
        db.session.scalar(
            sa.select(Conflict.id).where(
                Conflict.user_id == juror.id,
                Conflict.proposal_id == proposal.id,
                Conflict.source == ConflictSource.OFFICER,
            )
        )
        is not None
    ):
        errors["juror_id"] = [
            _("An officer has already recorded this conflict for %(name)s.", name=juror.name)
        ]
    problem = _reason_problem(reason)
    if problem:
        errors["reason"] = [problem]
    if errors:
        raise DomainError(errors)
    conflict = Conflict(
        user_id=juror.id,
        proposal_id=proposal.id,
        source=ConflictSource.OFFICER,
        reason=reason.strip(),
        created_by_id=actor.id,
        created_at=now,
    )
    add_unique(
        conflict,
        taken=DomainError(
            {
                "juror_id": [
                    _(
                        "An officer has already recorded this conflict for %(name)s.",
                        name=juror.name,
                    )
                ]
            }
        ),
    )
    record_event(
        actor=actor,
        action="conflict.added",
        object_type="conflict",
        object_id=conflict.id,
        after={
            "user_id": juror.id,
            "proposal_id": proposal.id,
            "source": ConflictSource.OFFICER,
            "reason": conflict.reason,
        },
        now=now,
    )
    return conflict


@operation
def remove_conflict(conflict: Conflict, *, actor: User, reason: str, now: dt.datetime) -> None:
    """An officer of the programme removes a declared, officer or applicant conflict, saying why.
    Automatic conflicts follow from the juror's organisations and cannot be removed; their
    reason explains them. Side effects: the row deleted; audit ``conflict.removed``."""
    proposal = db.session.get(Proposal, conflict.proposal_id)
    assert proposal is not None
    require(can_manage_jury(actor, proposal.call))
    if conflict.source == ConflictSource.AUTOMATIC:
        raise DomainError(
            _(
                "An automatic conflict follows from the juror's organisations and cannot be "
                "removed. It goes away when the juror's profile or the consortium changes."
            )
        )
    problem = _reason_problem(reason)
    if problem:
        raise DomainError({"reason": [problem]})
    before = {
        "user_id": conflict.user_id,
        "proposal_id": conflict.proposal_id,
        "source": conflict.source,
        "reason": conflict.reason,
    }
    conflict_id = conflict.id
    db.session.delete(conflict)
    db.session.flush()
    record_event(
        actor=actor,
        action="conflict.removed",
        object_type="conflict",
        object_id=conflict_id,
        before=before,
        after={"reason": reason.strip()},
        now=now,
    )


@operation
def request_exclusion(
    proposal: Proposal, *, actor: User, juror_email: str, reason: str, now: dt.datetime
) -> None:
    """The coordinator names a person the consortium asks to keep off its proposal.

    With an account for the address, an applicant conflict is recorded at once; without one,
    the request is kept and becomes a conflict when such an account joins the call's jury. The
    answer is the same either way, so nobody learns which addresses have accounts.
    Side effects: a conflict or an exclusion request row; audit ``conflict.exclusion_requested``.
    """
    require(can_request_exclusion(actor, proposal))
    address = normalise_email(juror_email)
    errors: dict[str, list[str]] = {}
    if not _valid_email(address):
        errors["juror_email"] = [_("Enter a valid e-mail address, like name@example.org.")]
    problem = _reason_problem(reason)
    if problem:
        errors["reason"] = [problem]
    if errors:
        raise DomainError(errors)
    duplicate = DomainError({"juror_email": [_("You have already asked to exclude this person.")]})
    user = find_user_by_email(address)
    row: Conflict | ExclusionRequest
    if user is not None:
        row = Conflict(
            user_id=user.id,
            proposal_id=proposal.id,
            source=ConflictSource.APPLICANT,
            reason=reason.strip(),
            created_by_id=actor.id,
            created_at=now,
        )
    else:
        row = ExclusionRequest(
            proposal_id=proposal.id,
            email=address,
            reason=reason.strip(),
            created_by_id=actor.id,
            created_at=now,
        )
    add_unique(row, taken=duplicate)
    record_event(
        actor=actor,
        action="conflict.exclusion_requested",
        object_type="proposal",
        object_id=proposal.id,
        after={
            "conflict_id": row.id if isinstance(row, Conflict) else None,
            "request_id": row.id if isinstance(row, ExclusionRequest) else None,
        },
        now=now,
    )


# --- bids --------------------------------------------------------------------------------------


@operation
def save_bid(
    proposal: Proposal, stage: Stage, *, actor: User, level: BidLevel, now: dt.datetime
) -> Bid:
    """The juror's preference for reviewing a proposal at a stage, while the stage's bidding
    window is open; a second bid replaces the first. Side effects: the bid row; audit
    ``bid.saved`` when the level changed."""
    if not stage.bidding_enabled or stage.call_id != proposal.call_id:
        raise PermissionDenied(_("Bidding is not open for this stage."))
    require(bidding_phase(stage, now=now))
    require(can_bid_on(actor, proposal))
    if queries.organisation_conflict(actor, proposal):
        raise PermissionDenied(_("You have a conflict of interest with this proposal."))
    if not queries.is_biddable(proposal, stage):
        raise PermissionDenied(_("This proposal is not open for bids at this stage."))
    bid = db.session.scalar(
        sa.select(Bid).where(
            Bid.stage_id == stage.id, Bid.proposal_id == proposal.id, Bid.user_id == actor.id
        )
    )
    if bid is None:
        bid = Bid(
            stage_id=stage.id,
            proposal_id=proposal.id,
            user_id=actor.id,
            level=level,
            updated_at=now,
        )
        try:
            with db.session.begin_nested():
                db.session.add(bid)
            before = None
        except sa.exc.IntegrityError:
            # Saved meanwhile from another window: update that one.
            bid = db.session.scalars(
                sa.select(Bid).where(
                    Bid.stage_id == stage.id,
                    Bid.proposal_id == proposal.id,
                    Bid.user_id == actor.id,
                )
            ).one()
            before = bid.level
    else:
        before = bid.level
    if before == level:
        return bid
    bid.level = level
    bid.updated_at = now
    db.session.flush()
    record_event(
        actor=actor,
        action="bid.saved",
        object_type="bid",
        object_id=bid.id,
        before={"level": before} if before is not None else None,
        after={"stage_id": stage.id, "proposal_id": proposal.id, "level": level},
        now=now,
    )
    return bid


@operation
def save_bids(
    stage: Stage, *, actor: User, levels: Mapping[int, BidLevel], now: dt.datetime
) -> int:
    """Several bids from one page, all or none. Returns how many were given.
    Side effects: those of save_bid for each."""
    for proposal_id, level in sorted(levels.items()):
        proposal = db.session.get(Proposal, proposal_id)
        if proposal is None:
            raise PermissionDenied(_("This proposal is not open for bids at this stage."))
        save_bid(proposal, stage, actor=actor, level=level, now=now)
    return len(levels)
