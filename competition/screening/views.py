"""Officers' eligibility screening: a stage's list of submitted proposals with their checks, and
one proposal's checklist with the verdict form."""

from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for

from competition import params
from competition.access import current_person, roles_required
from competition.accounts.models import Role
from competition.forms import attempt
from competition.i18n import gettext as _
from competition.programmes.models import Stage
from competition.proposals.models import Proposal
from competition.screening import operations as ops
from competition.screening import queries
from competition.screening.forms import VerdictForm
from competition.screening.models import Verdict
from competition.screening.permissions import can_screen, can_screen_stage

bp = Blueprint("screening", __name__)


@bp.route("/calls/<int:call_id>/stages/<int:stage_id>/screening")
@roles_required(Role.OFFICER)
def list_proposals(call_id: int, stage_id: int):  # type: ignore[no-untyped-def]
    stage = queries.find_stage(stage_id)
    # Another programme's stages look the same as missing ones.
    if stage is None or stage.call_id != call_id or not can_screen_stage(current_person(), stage):
        abort(404)
    status = request.args.get("status", "all")
    if status not in queries.STATUSES:
        status = "all"
    q = params.text("q")
    listing = queries.list_for_screening(stage, q=q, status=status, page=params.page())
    return render_template(
        "screening/list.html",
        stage=stage,
        call=stage.call,
        listing=listing,
        status=status,
        q=q,
        statuses=queries.STATUSES,
        status_labels=queries.STATUS_LABELS,
        check_labels=queries.CHECK_LABELS,
    )


def _load(proposal_id: int, stage_id: int) -> tuple[Proposal, Stage]:
    proposal = queries.find_proposal(proposal_id)
    stage = queries.find_stage(stage_id)
    if (
        proposal is None
        or stage is None
        or stage.call_id != proposal.call_id
        or not can_screen(current_person(), proposal)
    ):
        abort(404)
    return proposal, stage


@bp.route("/screening/proposals/<int:proposal_id>/stages/<int:stage_id>", methods=["GET", "POST"])
@roles_required(Role.OFFICER)
def screen_proposal(proposal_id: int, stage_id: int):  # type: ignore[no-untyped-def]
    proposal, stage = _load(proposal_id, stage_id)
    result = queries.find_result(proposal, stage)
    data = {"verdict": result.verdict.value, "reason": result.reason} if result else {}
    form = VerdictForm(data=data)
    recorded = attempt(
        form,
        lambda: ops.record_verdict(
            proposal,
            stage,
            actor=current_person(),
            verdict=Verdict(form.verdict.data),
            reason=form.reason.data or "",
            now=g.now,
        ),
    )
    if recorded.done:
        names = {"reference": proposal.reference, "acronym": proposal.acronym, "stage": stage.name}
        flash(
            _("%(reference)s (%(acronym)s) is recorded as ineligible for “%(stage)s”.", **names)
            if form.verdict.data == Verdict.INELIGIBLE
            else _("%(reference)s (%(acronym)s) is recorded as eligible for “%(stage)s”.", **names),
            "success",
        )
        return redirect(
            url_for("screening.list_proposals", call_id=stage.call_id, stage_id=stage.id)
        )
    status = recorded.status
    if recorded.error is not None:
        # The failed operation rolled back; show the page as it is now.
        proposal, stage = _load(proposal_id, stage_id)
        result = queries.find_result(proposal, stage)
    checks = ops.screening_checks(proposal, stage)
    return render_template(
        "screening/proposal.html",
        proposal=proposal,
        stage=stage,
        call=proposal.call,
        checks=checks,
        refusal=ops.screening_refusal(proposal, checks),
        result=result,
        decided_by=queries.find_user(result.decided_by_id if result else None),
        form=form,
    ), status
