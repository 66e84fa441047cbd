"""Officers' list of proposals and the proposal page."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from flask import Blueprint, abort, render_template, request
from flask_login import current_user

from competition.access import roles_required, signed_in
from competition.accounts.models import Role
from competition.organisations.models import FederalState
from competition.programmes.queries import list_programmes_run_by
from competition.proposals import queries
from competition.proposals.models import ProposalState
from competition.proposals.permissions import can_view_proposal

bp = Blueprint("proposals", __name__)


def _enum_arg(name: str, enum_class):  # type: ignore[no-untyped-def]
    value = request.args.get(name, "")
    try:
        return enum_class(value) if value else None
    except ValueError:
        return None


@bp.route("/proposals")
@roles_required(Role.OFFICER)
def list_proposals():  # type: ignore[no-untyped-def]
    call_id = request.args.get("call", type=int)
    filters = queries.ProposalFilters(
        q=request.args.get("q", "").strip()[:100],
        call_id=call_id,
        topic=request.args.get("topic", "").strip(),
        state=_enum_arg("state", ProposalState),
        federal_state=_enum_arg("federal_state", FederalState),
    )
    page = queries.list_proposals_for_officer(
        current_user, filters, page=max(1, request.args.get("page", 1, type=int))
    )
    programmes = list_programmes_run_by(current_user)
    return render_template(
        "proposals/list.html",
        page=page,
        filters=filters,
        calls=[call for programme in programmes for call in programme.calls],
        topics=queries.list_topics(),
        states=list(ProposalState),
        federal_states=list(FederalState),
    )


@bp.route("/proposals/<int:proposal_id>")
@signed_in
def show_proposal(proposal_id: int):  # type: ignore[no-untyped-def]
    proposal = queries.find_proposal_for_page(proposal_id)
    # Not found and not allowed look the same: nobody learns which proposals exist.
    if proposal is None or not can_view_proposal(current_user, proposal):
        abort(404)
    budgets = {}
    for submission in proposal.submissions:
        per_member: dict[int, list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
        for line in submission.budget_lines:
            per_member[line.member_id][0] += line.public_funding
            per_member[line.member_id][1] += line.own_contribution
        public = sum((v[0] for v in per_member.values()), Decimal(0))
        own = sum((v[1] for v in per_member.values()), Decimal(0))
        budgets[submission.id] = {"per_member": per_member, "public": public, "own": own}
    return render_template("proposals/show.html", proposal=proposal, budgets=budgets)
