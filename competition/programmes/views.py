"""Officers set up programmes, their calls, the calls' stages and the stages' criteria."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import ngettext
from flask_login import current_user
from flask_wtf import FlaskForm

from competition.access import current_person, roles_required
from competition.accounts.models import Role
from competition.core import workflow
from competition.forms import attempt, perform
from competition.i18n import gettext as _
from competition.i18n import lazy_gettext as _l
from competition.i18n import number, percent
from competition.organisations.models import (
    EASTERN_STATES,
    STATE_NAMES,
    FederalState,
    OrganisationKind,
)
from competition.programmes import operations as ops
from competition.programmes import queries, uses
from competition.programmes.forms import (
    MEBIBYTE,
    CallForm,
    CriterionForm,
    DeleteForm,
    MoveForm,
    ProgrammeForm,
    StageForm,
)
from competition.programmes.models import (
    Call,
    CallState,
    Criterion,
    Programme,
    PublicField,
    Stage,
    StageKind,
)
from competition.programmes.permissions import can_manage_programme

bp = Blueprint("programmes", __name__)

# The buttons that change a call's state, by the workflow's actions (workflow.ACTION_LABELS).
CALL_ACTION_LABELS = {
    "publish": _l("Publish the call"),
    "close": _l("Close the call"),
    "reopen": _l("Reopen the call"),
}


# --- how rules read on the pages ------------------------------------------------------------


@bp.app_template_filter("share_percent")
def share_percent(fraction: Any) -> str:
    """A stored share (0.855) as the reader writes it: '85,5 %' in German, '85.5%' in English."""
    if fraction is None:
        return "–"
    return percent(Decimal(str(fraction)) * 100, 2)


@bp.app_template_filter("size_mb")
def size_mb(size_bytes: int | None) -> str:
    if size_bytes is None:
        return "–"
    return f"{number(Decimal(size_bytes) / MEBIBYTE, 2)}\u00a0MB"


@bp.app_template_filter("plain_number")
def plain_number(value: Decimal | None) -> str:
    """A rule's number (a weight, a scale's step, a length) with the digits it has."""
    return "–" if value is None else number(Decimal(value), 4)


@bp.app_template_filter("region_name")
def region_name(code: str) -> str:
    try:
        return str(STATE_NAMES[FederalState(code)])
    except ValueError:
        return code


# --- loading -----------------------------------------------------------------------------------


_actor = current_person


def _managed_or_404(programme: Programme | None) -> Programme:
    # Programmes the officer does not run look the same as ones that do not exist.
    if programme is None or not can_manage_programme(current_user, programme):
        abort(404)
    return programme


def _programme_or_404(programme_id: int) -> Programme:
    return _managed_or_404(queries.find_programme(programme_id))


def _call_or_404(call_id: int) -> Call:
    call = queries.find_call(call_id) or abort(404)
    _managed_or_404(call.programme)
    return call


def _stage_or_404(stage_id: int, *, call_id: int | None = None) -> Stage:
    stage = queries.find_stage(stage_id) or abort(404)
    if call_id is not None and stage.call_id != call_id:
        abort(404)
    _managed_or_404(stage.call.programme)
    return stage


def _criterion_or_404(criterion_id: int) -> Criterion:
    criterion = queries.find_criterion(criterion_id) or abort(404)
    _managed_or_404(criterion.stage.call.programme)
    return criterion


# --- the form round trip -----------------------------------------------------------------------


@dataclass
class Outcome:
    saved: bool = False
    result: Any = None
    status: int = 200
    breaking: list[uses.AffectedProposal] = field(default_factory=list)


def _save(form: FlaskForm, run: Callable[[], Any]) -> Outcome:
    """Validate the posted form and run one operation; on a domain error put its messages at
    the fields (422). A change that would break submitted proposals asks for confirmation."""
    if request.method != "POST":
        return Outcome()
    saved = attempt(form, run)
    if saved.done:
        return Outcome(saved=True, result=saved.result)
    if isinstance(saved.error, ops.RulesWouldBreak):
        form.ask_to_confirm(len(saved.error.affected))  # type: ignore[attr-defined]
        return Outcome(status=422, breaking=saved.error.affected)
    return Outcome(status=422)


def _to_programme(programme_id: int, anchor: str | None = None) -> Any:
    return redirect(url_for(".show_programme", programme_id=programme_id, _anchor=anchor))


# --- programmes --------------------------------------------------------------------------------


@bp.route("/programmes")
@roles_required(Role.OFFICER)
def list_programmes():  # type: ignore[no-untyped-def]
    return render_template(
        "programmes/list.html", programmes=queries.list_programmes_run_by(current_user)
    )


@bp.route("/programmes/new", methods=["GET", "POST"])
@roles_required(Role.OFFICER)
def new_programme():  # type: ignore[no-untyped-def]
    form = ProgrammeForm()
    outcome = _save(form, lambda: ops.create_programme(actor=_actor(), now=g.now, **form.values()))
    if outcome.saved:
        flash(
            _("Programme “%(name)s” created. Add its first call.", name=outcome.result.name),
            "success",
        )
        return _to_programme(outcome.result.id)
    return render_template(
        "programmes/programme_form.html", form=form, programme=None
    ), outcome.status


@bp.route("/programmes/<int:programme_id>")
@roles_required(Role.OFFICER)
def show_programme(programme_id: int):  # type: ignore[no-untyped-def]
    programme = _managed_or_404(queries.find_programme_for_page(programme_id))
    stage_ids = [stage.id for call in programme.calls for stage in call.stages]
    return render_template(
        "programmes/show.html",
        programme=programme,
        stages_with_submissions=uses.stage_ids_with_submissions(stage_ids),
        move_form=MoveForm(),
        state_form=DeleteForm(),
        call_actions=lambda call: workflow.actions_from(workflow.CALL, call.state.value),
        action_labels=CALL_ACTION_LABELS,
        kind_labels={kind.value: kind.label for kind in OrganisationKind},
        public_fields=[f.label for f in PublicField if f.value in (programme.public_fields or ())],
    )


@bp.route("/programmes/<int:programme_id>/edit", methods=["GET", "POST"])
@roles_required(Role.OFFICER)
def edit_programme(programme_id: int):  # type: ignore[no-untyped-def]
    programme = _programme_or_404(programme_id)
    form = ProgrammeForm()
    if request.method == "GET":
        form.fill(programme)
    outcome = _save(
        form,
        lambda: ops.update_programme(programme, actor=_actor(), now=g.now, **form.values()),
    )
    if outcome.saved:
        flash(_("Programme saved."), "success")
        return _to_programme(programme.id)
    return render_template(
        "programmes/programme_form.html", form=form, programme=programme
    ), outcome.status


# --- calls -------------------------------------------------------------------------------------


def _call_page(form: CallForm, programme: Programme, call: Call | None, outcome: Outcome) -> Any:
    return render_template(
        "programmes/call_form.html",
        form=form,
        programme=programme,
        call=call,
        breaking=outcome.breaking,
        eastern={state.value for state in EASTERN_STATES},
    ), outcome.status


@bp.route("/programmes/<int:programme_id>/calls/new", methods=["GET", "POST"])
@roles_required(Role.OFFICER)
def new_call(programme_id: int):  # type: ignore[no-untyped-def]
    programme = _programme_or_404(programme_id)
    form = CallForm()
    if request.method == "GET":
        form.round_number.data = len(programme.calls) + 1
    outcome = _save(
        form, lambda: ops.create_call(programme, actor=_actor(), now=g.now, **form.values())
    )
    if outcome.saved:
        flash(_("Call “%(name)s” created. Add its stages.", name=outcome.result.name), "success")
        return _to_programme(programme.id, f"call-{outcome.result.id}")
    return _call_page(form, programme, None, outcome)


@bp.route("/calls/<int:call_id>/edit", methods=["GET", "POST"])
@roles_required(Role.OFFICER)
def edit_call(call_id: int):  # type: ignore[no-untyped-def]
    call = _call_or_404(call_id)
    form = CallForm()
    if request.method == "GET":
        form.fill(call)
    outcome = _save(
        form,
        lambda: ops.update_call(
            call,
            actor=_actor(),
            now=g.now,
            confirmed_breaking=form.confirmed_count(),
            **form.values(),
        ),
    )
    if outcome.saved:
        flash(_("Call saved."), "success")
        return _to_programme(call.programme_id, f"call-{call.id}")
    return _call_page(form, call.programme, call, outcome)


# --- stages ------------------------------------------------------------------------------------


def _stage_page(form: StageForm, call: Call, stage: Stage | None, outcome: Outcome) -> Any:
    return render_template(
        "programmes/stage_form.html",
        form=form,
        call=call,
        stage=stage,
        breaking=outcome.breaking,
    ), outcome.status


@bp.route("/calls/<int:call_id>/stages/new", methods=["GET", "POST"])
@roles_required(Role.OFFICER)
def new_stage(call_id: int):  # type: ignore[no-untyped-def]
    call = _call_or_404(call_id)
    form = StageForm()
    outcome = _save(form, lambda: ops.add_stage(call, actor=_actor(), now=g.now, **form.values()))
    if outcome.saved:
        flash(
            _("Stage “%(name)s” added. Add its review criteria.", name=outcome.result.name),
            "success",
        )
        return _to_programme(call.programme_id, f"stage-{outcome.result.id}")
    return _stage_page(form, call, None, outcome)


@bp.route("/calls/<int:call_id>/stages/<int:stage_id>/edit", methods=["GET", "POST"])
@roles_required(Role.OFFICER)
def edit_stage(call_id: int, stage_id: int):  # type: ignore[no-untyped-def]
    stage = _stage_or_404(stage_id, call_id=call_id)
    form = StageForm()
    if stage.is_evaluation:
        form.keep_evaluation()
    if request.method == "GET":
        form.fill(stage)
    outcome = _save(
        form,
        lambda: ops.update_stage(
            stage,
            actor=_actor(),
            now=g.now,
            confirmed_breaking=form.confirmed_count(),
            **form.values(),
        ),
    )
    if outcome.saved:
        flash(_("Stage saved."), "success")
        return _to_programme(stage.call.programme_id, f"stage-{stage.id}")
    return _stage_page(form, stage.call, stage, outcome)


@bp.route("/stages/<int:stage_id>/delete", methods=["GET", "POST"])
@roles_required(Role.OFFICER)
def delete_stage(stage_id: int):  # type: ignore[no-untyped-def]
    stage = _stage_or_404(stage_id)
    form = DeleteForm()
    programme_id = stage.call.programme_id
    outcome = _save(form, lambda: ops.remove_stage(stage, actor=_actor(), now=g.now))
    if outcome.saved:
        flash(_("Stage removed."), "success")
        return _to_programme(programme_id)
    return render_template(
        "programmes/confirm_delete.html",
        form=form,
        what=_("the stage “%(stage)s” of %(call)s", stage=stage.name, call=stage.call.name),
        details=[_("%(num)s review criteria are removed with it.", num=len(stage.criteria))],
        blocked=_why_not_removable(stage),
        cancel_url=url_for(
            ".show_programme", programme_id=programme_id, _anchor=f"stage-{stage.id}"
        ),
    ), outcome.status


def _why_not_removable(stage: Stage) -> str:
    """What keeps the stage, said before the officer presses the button; empty if nothing."""
    if uses.stage_has_submissions(stage):
        return _(
            "Proposals have already started or submitted material for this stage, so it can no "
            "longer be removed."
        )
    slots = uses.count_hearing_slots(stage) if stage.kind == StageKind.HEARING else 0
    if slots:
        return ngettext(
            "The hearing “%(name)s” has %(num)d slot; remove it on the hearing page before "
            "the stage.",
            "The hearing “%(name)s” has %(num)d slots; remove them on the hearing page "
            "before the stage.",
            slots,
            name=stage.name,
        )
    return ""


@bp.route("/stages/<int:stage_id>/move", methods=["POST"])
@roles_required(Role.OFFICER)
def move_stage(stage_id: int):  # type: ignore[no-untyped-def]
    stage = _stage_or_404(stage_id)
    form = MoveForm()
    if not form.validate_on_submit():
        abort(400)
    moved = perform(lambda: ops.move_stage(stage, actor=_actor(), offset=form.offset, now=g.now))
    if moved.error is not None:
        flash(str(moved.error), "error")
    return _to_programme(stage.call.programme_id, f"stage-{stage.id}")


# --- criteria ----------------------------------------------------------------------------------


def _criterion_page(
    form: CriterionForm, stage: Stage, criterion: Criterion | None, outcome: Outcome
) -> Any:
    return render_template(
        "programmes/criterion_form.html", form=form, stage=stage, criterion=criterion
    ), outcome.status


@bp.route("/stages/<int:stage_id>/criteria/new", methods=["GET", "POST"])
@roles_required(Role.OFFICER)
def new_criterion(stage_id: int):  # type: ignore[no-untyped-def]
    stage = _stage_or_404(stage_id)
    form = CriterionForm()
    outcome = _save(
        form, lambda: ops.add_criterion(stage, actor=_actor(), now=g.now, **form.values())
    )
    if outcome.saved:
        flash(_("Criterion “%(name)s” added.", name=outcome.result.name), "success")
        return _to_programme(stage.call.programme_id, f"stage-{stage.id}")
    return _criterion_page(form, stage, None, outcome)


@bp.route("/criteria/<int:criterion_id>/edit", methods=["GET", "POST"])
@roles_required(Role.OFFICER)
def edit_criterion(criterion_id: int):  # type: ignore[no-untyped-def]
    criterion = _criterion_or_404(criterion_id)
    form = CriterionForm()
    if request.method == "GET":
        form.fill(criterion)
    outcome = _save(
        form,
        lambda: ops.update_criterion(criterion, actor=_actor(), now=g.now, **form.values()),
    )
    if outcome.saved:
        flash(_("Criterion saved."), "success")
        return _to_programme(criterion.stage.call.programme_id, f"stage-{criterion.stage_id}")
    return _criterion_page(form, criterion.stage, criterion, outcome)


@bp.route("/criteria/<int:criterion_id>/delete", methods=["GET", "POST"])
@roles_required(Role.OFFICER)
def delete_criterion(criterion_id: int):  # type: ignore[no-untyped-def]
    criterion = _criterion_or_404(criterion_id)
    stage = criterion.stage
    programme_id = stage.call.programme_id
    form = DeleteForm()
    outcome = _save(form, lambda: ops.remove_criterion(criterion, actor=_actor(), now=g.now))
    if outcome.saved:
        flash(_("Criterion removed."), "success")
        return _to_programme(programme_id, f"stage-{stage.id}")
    return render_template(
        "programmes/confirm_delete.html",
        form=form,
        what=_(
            "the criterion “%(criterion)s” of the stage “%(stage)s”",
            criterion=criterion.name,
            stage=stage.name,
        ),
        details=[],
        blocked=False,
        cancel_url=url_for(
            ".show_programme", programme_id=programme_id, _anchor=f"stage-{stage.id}"
        ),
    ), outcome.status


@bp.route("/criteria/<int:criterion_id>/move", methods=["POST"])
@roles_required(Role.OFFICER)
def move_criterion(criterion_id: int):  # type: ignore[no-untyped-def]
    criterion = _criterion_or_404(criterion_id)
    form = MoveForm()
    if not form.validate_on_submit():
        abort(400)
    ops.move_criterion(criterion, actor=_actor(), offset=form.offset, now=g.now)
    return _to_programme(criterion.stage.call.programme_id, f"stage-{criterion.stage_id}")


@bp.route("/calls/<int:call_id>/state", methods=["POST"])
@roles_required(Role.OFFICER)
def change_call_state(call_id: int):  # type: ignore[no-untyped-def]
    call = _call_or_404(call_id)
    action = request.form.get("action", "")
    if not DeleteForm().validate_on_submit() or action not in workflow.ACTION_LABELS:
        abort(400)
    changed = perform(lambda: ops.change_call_state(call, actor=_actor(), action=action, now=g.now))
    if changed.error is not None:
        flash(str(changed.error), "error")
    else:
        changed_to = {
            CallState.DRAFT: _("%(name)s is draft.", name=call.name),
            CallState.PUBLISHED: _("%(name)s is published.", name=call.name),
            CallState.CLOSED: _("%(name)s is closed.", name=call.name),
        }
        flash(changed_to[call.state], "success")
    return _to_programme(call.programme_id, f"call-{call.id}")
