"""The consortium's requests that a partner's name be withheld from the public portal, and
their lifting: a confirmation page each, reached from the proposal's consortium and from the
grant's page (``?next=`` brings the coordinator back there). Anyone who may not see the
proposal gets 404; a contributor without the coordinator's rights reads why not (403)."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, g, redirect, render_template, request, url_for

from competition.access import current_person, roles_required, safe_next
from competition.accounts.models import Role
from competition.forms import attempt
from competition.i18n import gettext as _
from competition.proposals import permissions, withholding
from competition.proposals.models import ConsortiumMember, Proposal
from competition.proposals.queries import find_proposal_for_page
from competition.proposals.views import bp
from competition.proposals.withholding_forms import ShowNameForm, WithholdNameForm


def _load(proposal_id: int, member_id: int) -> tuple[Proposal, ConsortiumMember]:
    proposal = find_proposal_for_page(proposal_id)
    if proposal is None or not permissions.can_view_proposal(current_person(), proposal):
        abort(404)
    member = next((m for m in proposal.members if m.id == member_id), None)
    if member is None:
        abort(404)
    return proposal, member


def _back(proposal: Proposal, target: str | None) -> str:
    return safe_next(target) or url_for(
        "proposals.show_proposal", proposal_id=proposal.id, _anchor="public-names"
    )


def _confirm(proposal_id: int, member_id: int, *, withhold: bool, form: Any, done: str) -> Any:
    proposal, member = _load(proposal_id, member_id)
    me = current_person()
    operation = withholding.withhold_name if withhold else withholding.show_name
    changed = attempt(
        form,
        lambda: operation(member, actor=me, reason=form.reason.data or "", now=g.now),
    )
    back = _back(proposal, form.next.data if request.method == "POST" else request.args.get("next"))
    if changed.done:
        flash(done if changed.result else _("Nothing changed: it was so already."), "success")
        return redirect(back)
    allowed = withholding.can_withhold_names(me, proposal)
    if request.method == "GET":
        form.next.data = back
    return render_template(
        "proposals/withhold_name.html",
        proposal=proposal,
        member=member,
        withhold=withhold,
        form=form,
        back=back,
        refusal=None if allowed else allowed.reason,
    ), (changed.status if allowed else 403)


@bp.route(
    "/proposals/<int:proposal_id>/members/<int:member_id>/withhold-name", methods=["GET", "POST"]
)
@roles_required(Role.APPLICANT)
def withhold_name(proposal_id: int, member_id: int):  # type: ignore[no-untyped-def]
    return _confirm(
        proposal_id,
        member_id,
        withhold=True,
        form=WithholdNameForm(),
        done=_("The partner's name is withheld from the public portal."),
    )


@bp.route("/proposals/<int:proposal_id>/members/<int:member_id>/show-name", methods=["GET", "POST"])
@roles_required(Role.APPLICANT)
def show_name(proposal_id: int, member_id: int):  # type: ignore[no-untyped-def]
    return _confirm(
        proposal_id,
        member_id,
        withhold=False,
        form=ShowNameForm(),
        done=_("The public portal names the partner again."),
    )
