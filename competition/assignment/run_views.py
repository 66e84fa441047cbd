"""The officers' assignment pages of a stage: start a run and follow its progress, look at the
proposed assignment, change it one juror at a time, release it. The juror's "give back" page is
in the reviews area.

Stages of another programme's calls answer 404, like missing ones.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, g, jsonify, redirect, render_template, url_for
from flask_babel import ngettext

from competition import params
from competition.access import current_person, roles_required
from competition.accounts.models import Role
from competition.assignment import proposed, queries, runs
from competition.assignment.forms import ButtonForm, ChangeForm, StartRunForm
from competition.assignment.jury_permissions import can_manage_jury
from competition.assignment.models import AssignmentRun
from competition.assignment.permissions import bidding_phase
from competition.assignment.stage_problem import Options
from competition.extensions import db
from competition.forms import attempt, perform
from competition.i18n import gettext as _
from competition.i18n import say
from competition.jobs import operations as jobs
from competition.programmes.models import Call, Stage

bp = Blueprint("assignment", __name__)


def _officer_stage(call_id: int, stage_id: int) -> tuple[Call, Stage]:
    call = queries.find_call(call_id)
    if call is None or not can_manage_jury(current_person(), call):
        abort(404)
    stage = queries.find_stage(call, stage_id)
    if stage is None:
        abort(404)
    return call, stage


def _page_url(stage: Stage, **args: object) -> str:
    return url_for("assignment.show_assignment", call_id=stage.call_id, stage_id=stage.id, **args)


def _page(stage: Stage, *, form: StartRunForm | None = None, status: int = 200):  # type: ignore[no-untyped-def]
    q = params.text("q")
    page = params.page()
    pagination, rows = proposed.proposal_page(stage, q=q, page=page)
    overview = proposed.overview(stage, now=g.now)
    if form is None:
        form = StartRunForm(formdata=None)
        if overview.run is not None:
            options = Options.from_params(overview.run.params)
            form.fairness.data = options.fairness
            form.one_per_organisation.data = options.one_per_organisation
            form.min_non_academic_seats.data = options.min_non_academic_seats
    return render_template(
        "jury/assignment.html",
        call=stage.call,
        stage=stage,
        overview=overview,
        form=form,
        proposals_page=pagination,
        rows=rows,
        q=q,
        abandoned_message=say(jobs.DEAD),
    ), status


@bp.route("/calls/<int:call_id>/stages/<int:stage_id>/assignment")
@roles_required(Role.OFFICER)
def show_assignment(call_id: int, stage_id: int):  # type: ignore[no-untyped-def]
    _call, stage = _officer_stage(call_id, stage_id)
    return _page(stage)


@bp.route("/calls/<int:call_id>/stages/<int:stage_id>/assignment/runs", methods=["POST"])
@roles_required(Role.OFFICER)
def start_run(call_id: int, stage_id: int):  # type: ignore[no-untyped-def]
    _call, stage = _officer_stage(call_id, stage_id)
    form = StartRunForm()
    started = attempt(
        form,
        lambda: runs.start_run(
            stage,
            actor=current_person(),
            options=Options(
                fairness=bool(form.fairness.data),
                one_per_organisation=bool(form.one_per_organisation.data),
                min_non_academic_seats=form.min_non_academic_seats.data or 0,
            ),
            now=g.now,
        ),
    )
    if not started.done:
        return _page(stage, form=form, status=started.status)
    flash(_("The assignment has started. This page shows its progress."), "success")
    return redirect(_page_url(stage))


@bp.route("/calls/<int:call_id>/stages/<int:stage_id>/assignment/runs/<int:run_id>")
@roles_required(Role.OFFICER)
def run_status(call_id: int, stage_id: int, run_id: int):  # type: ignore[no-untyped-def]
    """Polled by the page while a run is under way."""
    _call, stage = _officer_stage(call_id, stage_id)
    run = db.session.get(AssignmentRun, run_id)
    if run is None or run.stage_id != stage.id:
        abort(404)
    abandoned = jobs.is_dead(run.job)
    return jsonify(
        state=run.state.value,
        progress=run.progress,
        message=say(jobs.DEAD if abandoned else run.message),
        finished=not jobs.is_live(run.job),
    )


def _detail(
    stage: Stage,
    proposal_id: int,
    *,
    form: ChangeForm | None = None,
    warnings: list[str] | None = None,
    status: int = 200,
):  # type: ignore[no-untyped-def]
    proposal = queries.find_proposal(proposal_id)
    if proposal is None or proposal.call_id != stage.call_id:
        abort(404)
    detail = proposed.proposal_detail(stage, proposal)
    if detail is None:
        abort(404)
    return render_template(
        "jury/assignment_proposal.html",
        call=stage.call,
        stage=stage,
        detail=detail,
        proposal=proposal,
        form=form,
        warnings=warnings or [],
        button=ButtonForm(),
        released=runs.released_at(stage) is not None,
    ), status


@bp.route("/calls/<int:call_id>/stages/<int:stage_id>/assignment/proposals/<int:proposal_id>")
@roles_required(Role.OFFICER)
def show_proposal(call_id: int, stage_id: int, proposal_id: int):  # type: ignore[no-untyped-def]
    _call, stage = _officer_stage(call_id, stage_id)
    return _detail(stage, proposal_id)


def _int_or_none(value: object) -> int | None:
    try:
        return int(value)  # type: ignore[call-overload,no-any-return]
    except (TypeError, ValueError):
        return None


@bp.route(
    "/calls/<int:call_id>/stages/<int:stage_id>/assignment/proposals/<int:proposal_id>",
    methods=["POST"],
)
@roles_required(Role.OFFICER)
def change(call_id: int, stage_id: int, proposal_id: int):  # type: ignore[no-untyped-def]
    _call, stage = _officer_stage(call_id, stage_id)
    form = ChangeForm()
    chosen = runs.Change(
        kind=form.kind.data,
        proposal_id=proposal_id,
        juror_out=_int_or_none(form.juror_out.data),
        juror_in=form.juror_in.data,
    )
    outcome = attempt(
        form,
        lambda: runs.change_assignment(
            stage,
            chosen,
            actor=current_person(),
            confirmed=form.confirmed.data == "yes",
            now=g.now,
        ),
    )
    if outcome.done:
        flash(_("The assignment is changed."), "success")
        return redirect(
            url_for(
                "assignment.show_proposal",
                call_id=call_id,
                stage_id=stage_id,
                proposal_id=proposal_id,
            )
        )
    if outcome.denied:
        abort(404)
    warnings: list[str] = []
    if isinstance(outcome.error, runs.NeedsConfirmation):
        # Asked, not refused: the warnings stand above the confirm button, not as errors.
        warnings = outcome.error.warnings
        form.form_errors.clear()
    return _detail(stage, proposal_id, form=form, warnings=warnings, status=422)


@bp.route("/calls/<int:call_id>/stages/<int:stage_id>/assignment/release")
@roles_required(Role.OFFICER)
def confirm_release(call_id: int, stage_id: int):  # type: ignore[no-untyped-def]
    _call, stage = _officer_stage(call_id, stage_id)
    return render_template(
        "jury/assignment_release.html",
        call=stage.call,
        stage=stage,
        overview=proposed.overview(stage, now=g.now),
        # Bids made after the release no longer move anyone: the officer is told before.
        bidding_open=bool(bidding_phase(stage, now=g.now)),
        button=ButtonForm(),
    )


@bp.route("/calls/<int:call_id>/stages/<int:stage_id>/assignment/release", methods=["POST"])
@roles_required(Role.OFFICER)
def release(call_id: int, stage_id: int):  # type: ignore[no-untyped-def]
    _call, stage = _officer_stage(call_id, stage_id)
    if not ButtonForm().validate_on_submit():
        abort(400)
    outcome = perform(lambda: runs.release(stage, actor=current_person(), now=g.now))
    if outcome.error is not None:
        flash(str(outcome.error), "error")
    else:
        count = outcome.result
        flash(
            ngettext(
                "%(num)d assignment released; each juror is told by e-mail.",
                "%(num)d assignments released; each juror is told by e-mail.",
                count,
            ),
            "success",
        )
    return redirect(_page_url(stage))
