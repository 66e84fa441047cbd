"""The jury pages: a juror's calls, invitation answers, profile, conflict declaration and bidding;
the officers' jury page of a call; the consortium's requests to exclude a juror.

A juror who is not on a call's jury, or has a conflict with a proposal, gets 404 for it: the same
answer as for something that does not exist. Views are thin: load (404), check, validate the
form, call one operation, flash, redirect; domain errors come back at the fields with 422.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import ngettext

from competition import params
from competition.access import current_person, roles_required
from competition.accounts.models import Role, User
from competition.assignment import operations as ops
from competition.assignment import queries
from competition.assignment.forms import (
    BID_LABELS,
    BidsForm,
    ButtonForm,
    ExclusionForm,
    InviteJurorForm,
    OfficerConflictForm,
    ProfileForm,
    RemoveConflictForm,
    RespondForm,
    bid_choices,
    declaration_form,
    declared,
)
from competition.assignment.jury_permissions import can_manage_jury, can_request_exclusion
from competition.assignment.models import ConflictSource, MembershipState
from competition.assignment.permissions import bidding_phase, can_see_call_as_juror
from competition.errors import DomainError, PermissionDenied
from competition.forms import attempt, perform, show_errors
from competition.i18n import gettext as _
from competition.i18n import lazy_gettext as _l
from competition.programmes import topic_queries
from competition.programmes.models import Call, Stage
from competition.proposals.models import Proposal
from competition.proposals.permissions import is_contributor

bp = Blueprint("jury", __name__)

SOURCE_LABELS = {
    ConflictSource.AUTOMATIC: _l("Automatic"),
    ConflictSource.DECLARED: _l("Declared by the juror"),
    ConflictSource.OFFICER: _l("Set by an officer"),
    ConflictSource.APPLICANT: _l("Asked by the consortium"),
}

MEMBERSHIP_LABELS = {
    MembershipState.INVITED: _l("Invited"),
    MembershipState.ACCEPTED: _l("Accepted"),
    MembershipState.DECLINED: _l("Declined"),
}


def _membership_counts(counts: Mapping[MembershipState, int]) -> list[str]:
    """The jury page's head count, in words: '1 invited', '3 accepted', '0 declined'."""
    n = {state: counts.get(state, 0) for state in MembershipState}
    return [
        ngettext("%(num)d invited", "%(num)d invited", n[MembershipState.INVITED]),
        ngettext("%(num)d accepted", "%(num)d accepted", n[MembershipState.ACCEPTED]),
        ngettext("%(num)d declined", "%(num)d declined", n[MembershipState.DECLINED]),
    ]


# --- loading with the object checks ------------------------------------------------------------


def _juror_call(call_id: int) -> Call:
    """A call on whose jury the juror has accepted a place; 404 for any other."""
    call = queries.find_call(call_id)
    place = queries.find_membership(current_person(), call_id) if call is not None else None
    if call is None or place is None or place.state != MembershipState.ACCEPTED:
        abort(404)
    return call


def _officer_call(call_id: int) -> Call:
    call = queries.find_call(call_id)
    # Another programme's calls look the same as missing ones.
    if call is None or not can_manage_jury(current_person(), call):
        abort(404)
    return call


# --- the juror's pages -------------------------------------------------------------------------


@bp.route("/jury")
@roles_required(Role.JUROR)
def list_calls():  # type: ignore[no-untyped-def]
    me = current_person()
    return render_template(
        "jury/calls.html",
        entries=queries.list_juror_calls(me),
        profile=queries.find_profile(me),
        respond=RespondForm(),
    )


@bp.route("/jury/calls/<int:call_id>/respond", methods=["POST"])
@roles_required(Role.JUROR)
def respond_to_invitation(call_id: int):  # type: ignore[no-untyped-def]
    place = queries.find_membership(current_person(), call_id)
    if place is None:
        abort(404)
    form = RespondForm()
    if not form.validate_on_submit():
        flash(_("Accept or decline the invitation."), "error")
        return redirect(url_for("jury.list_calls")), 303
    accept = form.answer.data == "accept"
    outcome = perform(
        lambda: ops.respond_to_jury_invitation(
            place, actor=current_person(), accept=accept, now=g.now
        )
    )
    if outcome.error is not None:
        flash(str(outcome.error), "error")
        return redirect(url_for("jury.list_calls")), 303
    if accept:
        flash(
            _(
                "Thank you for joining the jury. Check your profile, then declare your conflicts "
                "of interest: the call's proposals open after that."
            ),
            "success",
        )
        return redirect(url_for("jury.declare_conflicts", call_id=call_id))
    flash(_("You declined the invitation."), "success")
    return redirect(url_for("jury.list_calls"))


def _profile_form(form: ProfileForm | None = None) -> ProfileForm:
    """The profile form, filled from the saved profile on GET. Only the organisations the
    profile names are loaded, never the registry: the search offers the others."""
    me = current_person()
    profile = queries.find_profile(me)
    former_ids = list(profile.former_organisation_ids or []) if profile is not None else []
    named = queries.organisations_by_id(
        [
            *former_ids,
            *([profile.affiliation_id] if profile is not None and profile.affiliation_id else []),
            *([me.organisation_id] if profile is None and me.organisation_id else []),
        ]
    )
    if form is None:
        if profile is not None:
            affiliation = named.get(profile.affiliation_id or 0)
            data: dict[str, object] = {
                "affiliation": affiliation.name if affiliation is not None else "",
                "former_organisation_ids": former_ids,
                "topic_ids": [topic.id for topic in profile.topics],
                "max_load": profile.max_load,
                "expertise_text": profile.expertise_text,
            }
        else:
            home = named.get(me.organisation_id or 0)
            data = {"affiliation": home.name if home is not None else ""}
        form = ProfileForm(data=data)
    form.former_organisation_ids.choices = [(o, named[o].name) for o in former_ids if o in named]
    form.topic_ids.choices = topic_queries.flat(_topic_groups())
    return form


def _topic_groups() -> list[topic_queries.TopicGroup]:
    """The topics of the programmes whose juries the juror sits on and the shared ones; retired
    ones only where the profile names them already."""
    me = current_person()
    profile = queries.find_profile(me)
    return topic_queries.offered(
        queries.juror_programme_ids(me),
        keep=[t.id for t in profile.topics] if profile is not None else [],
    )


@bp.route("/jury/profile", methods=["GET", "POST"])
@roles_required(Role.JUROR)
def edit_profile():  # type: ignore[no-untyped-def]
    form = ProfileForm()
    outcome = attempt(
        form,
        lambda: ops.update_juror_profile_by_names(
            current_person(),
            actor=current_person(),
            affiliation=form.affiliation.data or "",
            former_organisation_ids=form.former_organisation_ids.data or [],
            add_former=form.add_former.data or "",
            topic_ids=form.topic_ids.data or [],
            max_load=form.max_load.data,
            expertise_text=form.expertise_text.data or "",
            now=g.now,
        ),
    )
    if outcome.done:
        flash(_("Your profile is saved."), "success")
        return redirect(url_for("jury.list_calls"))
    form = _profile_form(form if request.method == "POST" else None)
    return render_template(
        "jury/profile.html", form=form, topic_groups=_topic_groups()
    ), outcome.status


# The tick box and the reason of one proposal in the conflict form.
_DECLARATION_FIELD = re.compile(r"^(?:conflict|reason)_(\d{1,10})$")
# What the conflict form's page is narrowed to; kept across a save.
_DECLARATION_ARGS = ("q", "topic", "organisation", "conflicts", "page")


def _declaration_filters() -> queries.DeclarationFilters:
    return queries.DeclarationFilters(
        q=params.text("q"),
        topic_id=params.number("topic"),
        organisation_id=params.number("organisation"),
        only_conflicts=request.args.get("conflicts") == "1",
    )


@bp.route("/jury/calls/<int:call_id>/conflicts", methods=["GET", "POST"])
@roles_required(Role.JUROR)
def declare_conflicts(call_id: int):  # type: ignore[no-untyped-def]
    call = _juror_call(call_id)
    me = current_person()
    filters, page = _declaration_filters(), params.page()
    listing = queries.list_proposals_for_conflict_declaration(me, call, filters, page=page)
    # The form posts one page: the proposals shown on it, and any other the post names (the list
    # may have moved since it was shown), as long as the juror can still declare a conflict.
    posted = {int(m.group(1)) for name in request.form if (m := _DECLARATION_FIELD.match(name))}
    shown = {row.proposal.id for row in listing.rows.items if not row.conflicts}
    open_ids = sorted(shown | (posted & listing.open_ids))
    form = declaration_form(open_ids)
    # Before the first declaration, a page can be saved on the way; sending opens the call.
    finished = "save_page" not in request.form
    declaration = attempt(
        form,
        lambda: ops.declare_conflicts(
            call,
            actor=me,
            proposal_ids_with_reasons=declared(form, open_ids),
            now=g.now,
            finished=finished,
        ),
    )
    kept = {k: v for k, v in request.args.items() if k in _DECLARATION_ARGS and v}
    if declaration.done and finished:
        flash(_("Your declaration is recorded. The call's proposals are open to you."), "success")
        return redirect(url_for("jury.list_calls"))
    if declaration.done:
        flash(
            _(
                "This page is saved. When you have looked through every page, send your "
                "declaration: the call's proposals open after that."
            ),
            "success",
        )
        return redirect(url_for("jury.declare_conflicts", call_id=call.id, **kept))
    if declaration.error is not None:
        # The failed operation rolled back; show the page as it is now.
        call = _juror_call(call_id)
        listing = queries.list_proposals_for_conflict_declaration(me, call, filters, page=page)
    return render_template(
        "jury/conflicts.html",
        call=call,
        listing=listing,
        filters=filters,
        kept=kept,
        form=form,
        place=queries.find_membership(me, call_id),
        source_labels=SOURCE_LABELS,
    ), declaration.status


def _bidding(call_id: int, stage_id: int) -> tuple[Call, Stage]:
    call = _juror_call(call_id)
    stage = queries.find_stage(call, stage_id)
    if stage is None or not stage.bidding_enabled:
        abort(404)
    return call, stage


def _declare_first(call: Call):  # type: ignore[no-untyped-def]
    flash(_("Declare your conflicts of interest first; then the call's proposals open."), "info")
    return redirect(url_for("jury.declare_conflicts", call_id=call.id))


@bp.route("/jury/calls/<int:call_id>/stages/<int:stage_id>/bids")
@roles_required(Role.JUROR)
def list_bids(call_id: int, stage_id: int):  # type: ignore[no-untyped-def]
    call, stage = _bidding(call_id, stage_id)
    me = current_person()
    if not can_see_call_as_juror(me, call):
        return _declare_first(call)
    q = params.text("q")
    page = params.page()
    return _bids_page(call, stage, q=q, page=page, form=BidsForm(data={"q": q, "page": page}))


def _bids_page(call: Call, stage: Stage, *, q: str, page: int, form: BidsForm, status: int = 200):  # type: ignore[no-untyped-def]
    listing = queries.list_proposals_for_juror(current_person(), call, q=q, page=page, stage=stage)
    return render_template(
        "jury/bids.html",
        call=call,
        stage=stage,
        listing=listing,
        q=q,
        form=form,
        choices=bid_choices(),
        bid_labels=BID_LABELS,
        phase=bidding_phase(stage, now=g.now),
    ), status


@bp.route("/jury/calls/<int:call_id>/stages/<int:stage_id>/bids", methods=["POST"])
@roles_required(Role.JUROR)
def save_bids(call_id: int, stage_id: int):  # type: ignore[no-untyped-def]
    call, stage = _bidding(call_id, stage_id)
    me = current_person()
    if not can_see_call_as_juror(me, call):
        return _declare_first(call)
    form = BidsForm()
    q = (form.q.data or "").strip()[:100]
    page = int(form.page.data) if (form.page.data or "").isdigit() else 1
    if not form.validate_on_submit():
        return _bids_page(call, stage, q=q, page=page, form=form, status=422)
    levels, mentioned, valid = form.chosen(request.form.items())
    # A proposal the juror may not bid on is answered like one that does not exist.
    if not set(mentioned) <= queries.biddable_ids(me, stage, mentioned):
        abort(404)
    if not valid:
        form.form_errors.append(_("Choose one of the bid levels for each proposal."))
        return _bids_page(call, stage, q=q, page=page, form=form, status=422)
    outcome = perform(lambda: ops.save_bids(stage, actor=me, levels=levels, now=g.now))
    if outcome.error is not None:
        show_errors(form, outcome.error)
        return _bids_page(call, stage, q=q, page=page, form=form, status=422)
    saved = outcome.result
    flash(ngettext("Saved %(num)d bid.", "Saved %(num)d bids.", saved), "success")
    return redirect(
        url_for(
            "jury.list_bids",
            call_id=call.id,
            stage_id=stage.id,
            q=q or None,
            page=page if page > 1 else None,
        )
    )


# --- the officers' jury page -------------------------------------------------------------------


def _jury_page(call: Call, *, status: int = 200, forms: dict | None = None):  # type: ignore[no-untyped-def,type-arg]
    forms = dict(forms or {})
    overview = queries.jury_overview(call)
    conflict_form = forms.get("conflict") or OfficerConflictForm(prefix="conflict")
    conflict_form.juror_id.choices = [("", _("Choose…"))] + [
        (row.user.id, f"{row.user.name} ({row.user.email})") for row in overview.jurors
    ]
    conflict_form.proposal_id.choices = [("", _("Choose…"))] + [
        (p.id, f"{p.reference} {p.acronym}: {p.title}") for p in overview.proposals
    ]
    remove_forms = {
        row.conflict.id: RemoveConflictForm(prefix=f"remove-{row.conflict.id}", formdata=None)
        for row in overview.conflicts
    }
    posted = forms.get("remove")
    if posted is not None:
        remove_forms[posted[0]] = posted[1]
    return render_template(
        "jury/overview.html",
        call=call,
        overview=overview,
        invite_form=forms.get("invite") or InviteJurorForm(prefix="invite"),
        conflict_form=conflict_form,
        remove_forms=remove_forms,
        button=ButtonForm(),
        source_labels=SOURCE_LABELS,
        sources=list(ConflictSource),
        membership_counts=_membership_counts(overview.states),
        membership_labels=MEMBERSHIP_LABELS,
    ), status


@bp.route("/calls/<int:call_id>/jury")
@roles_required(Role.OFFICER)
def show_jury(call_id: int):  # type: ignore[no-untyped-def]
    return _jury_page(_officer_call(call_id))


def _refused(error: PermissionDenied, call: Call):  # type: ignore[no-untyped-def]
    flash(str(error), "error")
    return redirect(url_for("jury.show_jury", call_id=call.id)), 303


@bp.route("/calls/<int:call_id>/jury", methods=["POST"])
@roles_required(Role.OFFICER)
def invite_juror(call_id: int):  # type: ignore[no-untyped-def]
    call = _officer_call(call_id)
    form = InviteJurorForm(prefix="invite")
    invited = attempt(
        form,
        lambda: ops.invite_juror_to_call(
            call,
            actor=current_person(),
            email=form.email.data,
            name=form.name.data or "",
            now=g.now,
        ),
    )
    if invited.denied:
        return _refused(invited.error, call)
    if invited.done:
        flash(
            _("%(address)s is invited to the jury.", address=form.email.data.strip().lower()),
            "success",
        )
        return redirect(url_for("jury.show_jury", call_id=call.id))
    return _jury_page(_officer_call(call_id), status=422, forms={"invite": form})


@bp.route("/calls/<int:call_id>/jury/conflicts", methods=["POST"])
@roles_required(Role.OFFICER)
def add_conflict(call_id: int):  # type: ignore[no-untyped-def]
    call = _officer_call(call_id)
    form = OfficerConflictForm(prefix="conflict")

    def record() -> tuple[Proposal, User]:
        errors: dict[str, list[str]] = {}
        proposal = queries.find_proposal(form.proposal_id.data) if form.proposal_id.data else None
        juror = queries.find_user(form.juror_id.data) if form.juror_id.data else None
        if proposal is None or proposal.call_id != call.id:
            errors["proposal_id"] = [_("Choose a proposal of this call.")]
        if juror is None:
            errors["juror_id"] = [_("Choose a member of this call's jury.")]
        if errors or proposal is None or juror is None:
            raise DomainError(errors)
        ops.add_officer_conflict(
            proposal, actor=current_person(), juror=juror, reason=form.reason.data or "", now=g.now
        )
        return proposal, juror

    recorded = attempt(form, record)
    if recorded.denied:
        return _refused(recorded.error, call)
    if recorded.result is not None:
        proposal, juror = recorded.result
        flash(
            _(
                "The conflict of %(name)s with %(reference)s is recorded.",
                name=juror.name,
                reference=proposal.reference,
            ),
            "success",
        )
        return redirect(url_for("jury.show_jury", call_id=call.id, _anchor="conflicts"))
    return _jury_page(_officer_call(call_id), status=422, forms={"conflict": form})


@bp.route("/calls/<int:call_id>/jury/conflicts/<int:conflict_id>/remove", methods=["POST"])
@roles_required(Role.OFFICER)
def remove_conflict(call_id: int, conflict_id: int):  # type: ignore[no-untyped-def]
    call = _officer_call(call_id)
    conflict = queries.find_conflict(conflict_id)
    proposal = queries.find_proposal(conflict.proposal_id) if conflict is not None else None
    if conflict is None or proposal is None or proposal.call_id != call.id:
        abort(404)
    form = RemoveConflictForm(prefix=f"remove-{conflict.id}")
    removed = attempt(
        form,
        lambda: ops.remove_conflict(
            conflict, actor=current_person(), reason=form.reason.data or "", now=g.now
        ),
    )
    if removed.denied:
        return _refused(removed.error, call)
    if removed.done:
        flash(
            _("The conflict with %(reference)s is removed.", reference=proposal.reference),
            "success",
        )
        return redirect(url_for("jury.show_jury", call_id=call.id, _anchor="conflicts"))
    return _jury_page(_officer_call(call_id), status=422, forms={"remove": (conflict_id, form)})


@bp.route("/calls/<int:call_id>/jury/conflicts/refresh", methods=["POST"])
@roles_required(Role.OFFICER)
def refresh_conflicts(call_id: int):  # type: ignore[no-untyped-def]
    call = _officer_call(call_id)
    form = ButtonForm()
    if not form.validate_on_submit():
        abort(400)
    added, removed = ops.refresh_automatic_conflicts(call, now=g.now)
    flash(
        _(
            "Automatic conflicts brought up to date: %(added)s added, %(removed)s removed.",
            added=added,
            removed=removed,
        ),
        "success",
    )
    return redirect(url_for("jury.show_jury", call_id=call.id, _anchor="conflicts"))


# --- the consortium's requests to exclude a juror ----------------------------------------------


def _applicant_proposal(proposal_id: int) -> Proposal:
    proposal = queries.find_proposal(proposal_id)
    # Not found and not allowed look the same: nobody learns which proposals exist.
    if proposal is None or not is_contributor(current_person(), proposal):
        abort(404)
    return proposal


def _exclusions_page(proposal: Proposal, form: ExclusionForm, *, status: int = 200):  # type: ignore[no-untyped-def]
    return render_template(
        "jury/exclusions.html",
        proposal=proposal,
        entries=queries.list_exclusions(proposal),
        form=form,
        can_request=can_request_exclusion(current_person(), proposal),
    ), status


@bp.route("/proposals/<int:proposal_id>/exclusions")
@roles_required(Role.APPLICANT)
def list_exclusions(proposal_id: int):  # type: ignore[no-untyped-def]
    return _exclusions_page(_applicant_proposal(proposal_id), ExclusionForm())


@bp.route("/proposals/<int:proposal_id>/exclusions", methods=["POST"])
@roles_required(Role.APPLICANT)
def request_exclusion(proposal_id: int):  # type: ignore[no-untyped-def]
    proposal = _applicant_proposal(proposal_id)
    form = ExclusionForm()
    noted = attempt(
        form,
        lambda: ops.request_exclusion(
            proposal,
            actor=current_person(),
            juror_email=form.juror_email.data,
            reason=form.reason.data or "",
            now=g.now,
        ),
    )
    if noted.denied:
        flash(str(noted.error), "error")
        return redirect(url_for("proposals.edit_proposal", proposal_id=proposal.id)), 303
    if noted.done:
        flash(
            _(
                "Noted: %(address)s will not review this proposal. The person is not told.",
                address=form.juror_email.data.strip().lower(),
            ),
            "success",
        )
        return redirect(
            url_for("proposals.edit_proposal", proposal_id=proposal.id, _anchor="exclusions")
        )
    return _exclusions_page(_applicant_proposal(proposal_id), form, status=422)
