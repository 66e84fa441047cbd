"""The officers' pages of a call's interim evaluations: the phases its grants run in with the
evaluations started so far, and the form that starts one. The evaluation's own work happens on
the stage's usual pages (assignment, reviews, ranking, panel, decisions, publication).

Calls of another programme answer 404, like missing ones."""

from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import ngettext

from competition.access import roles_required
from competition.accounts.models import Role
from competition.forms import attempt
from competition.grants.blueprint import bp, me
from competition.grants.evaluations import operations as ops
from competition.grants.evaluations import queries
from competition.grants.evaluations.forms import StartEvaluationForm, default_criteria
from competition.grants.evaluations.permissions import can_run_evaluations
from competition.i18n import gettext as _
from competition.programmes.models import Call
from competition.programmes.queries import find_call
from competition.selection.decisions.queries import OUTCOME_LABELS

PREFIX = "/calls/<int:call_id>/interim-evaluations"


def _call_or_404(call_id: int) -> Call:
    call = find_call(call_id)
    if call is None or not can_run_evaluations(me(), call):
        abort(404)
    return call


@bp.route(PREFIX)
@roles_required(Role.OFFICER)
def list_interim_evaluations(call_id: int):  # type: ignore[no-untyped-def]
    call = _call_or_404(call_id)
    return render_template(
        "grants/evaluations/list.html",
        call=call,
        to_evaluate=queries.phases_to_evaluate(call),
        evaluations=queries.evaluations_of(call),
        outcome_labels=OUTCOME_LABELS,
    )


def _form(call: Call, to_evaluate: list[queries.PhaseToEvaluate]) -> StartEvaluationForm:
    form = StartEvaluationForm()
    waiting = {entry.phase: len(entry.grants) for entry in to_evaluate}
    # Phases evaluated already stay choosable: starting again (a second click, or grants that
    # came to run in the phase since) takes in what is new and makes no second stage.
    started = set(queries.evaluated_phases(call))
    form.phase.choices = [
        (
            phase,
            ngettext(
                "Phase %(phase)s (%(num)d grant running in it)",
                "Phase %(phase)s (%(num)d grants running in it)",
                waiting.get(phase, 0),
                phase=phase,
            )
            if phase not in started
            else ngettext(
                "Phase %(phase)s (started; %(num)d more grant running in it)",
                "Phase %(phase)s (started; %(num)d more grants running in it)",
                waiting.get(phase, 0),
                phase=phase,
            ),
        )
        for phase in sorted(set(waiting) | started)
    ]
    if request.method == "GET":
        wanted = request.args.get("phase", type=int)
        phases = [entry.phase for entry in to_evaluate]
        phase = wanted if wanted in phases else (phases[0] if phases else 1)
        form.phase.data = phase
        form.name.data = _("Interim evaluation of phase %(phase)s", phase=phase)
        form.criteria.data = default_criteria()
    return form


@bp.route(f"{PREFIX}/new", methods=["GET", "POST"])
@roles_required(Role.OFFICER)
def start_interim_evaluation(call_id: int):  # type: ignore[no-untyped-def]
    call = _call_or_404(call_id)
    to_evaluate = queries.phases_to_evaluate(call)
    form = _form(call, to_evaluate)
    started = attempt(
        form, lambda: ops.start_interim_evaluation(call, actor=me(), now=g.now, **form.values())
    )
    if started.done and started.result is not None:
        result = started.result
        if result.created:
            message = ngettext(
                "“%(name)s” started: %(num)d grant is in interim evaluation, and its "
                "consortium has been asked for its report and plan.",
                "“%(name)s” started: %(num)d grants are in interim evaluation, and their "
                "consortia have been asked for their reports and plans.",
                len(result.grants),
                name=result.stage.name,
            )
        else:
            message = ngettext(
                "“%(name)s” had been started already; %(num)d more grant was taken in.",
                "“%(name)s” had been started already; %(num)d more grants were taken in.",
                len(result.grants),
                name=result.stage.name,
            )
        flash(message, "success")
        return redirect(url_for("grants.list_interim_evaluations", call_id=call.id), 303)
    return render_template(
        "grants/evaluations/new.html", call=call, form=form, to_evaluate=to_evaluate
    ), started.status
