"""The hearing pages: the officers' slots and timetable, the jurors' availability, the
consortium's slot with its confirmation, and the timetable as iCalendar for each of them.

Views are thin: load (404 for what the person may not know about), check, validate the form,
call one operation, flash, redirect; domain errors come back at the fields with 422.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import ngettext

from competition.access import current_person, roles_required, signed_in
from competition.accounts.models import Role
from competition.berlin import utc_to_berlin_input
from competition.downloads import download
from competition.forms import attempt
from competition.hearings import calendar, queries
from competition.hearings import operations as ops
from competition.hearings.forms import AssignSlotForm, ButtonForm, SlotForm
from competition.hearings.models import HearingSlot
from competition.hearings.permissions import (
    can_confirm_slot,
    can_run_hearing,
    can_see_slot,
    can_state_availability,
)
from competition.i18n import gettext as _
from competition.programmes.models import Stage
from competition.proposals.models import Proposal

bp = Blueprint("hearings", __name__)


# --- loading with the object checks ------------------------------------------------------------


def _officer_stage(call_id: int, stage_id: int) -> Stage:
    stage = queries.find_stage(stage_id)
    # Another programme's stages, and stages that are no hearing, look the same as missing ones.
    if stage is None or stage.call_id != call_id or not can_run_hearing(current_person(), stage):
        abort(404)
    return stage


def _officer_slot(call_id: int, stage_id: int, slot_id: int) -> tuple[Stage, HearingSlot]:
    stage = _officer_stage(call_id, stage_id)
    slot = queries.find_slot(slot_id)
    if slot is None or slot.stage_id != stage.id:
        abort(404)
    return stage, slot


def _juror_stage(stage_id: int) -> Stage:
    stage = queries.find_stage(stage_id)
    if stage is None or not can_state_availability(current_person(), stage):
        abort(404)
    return stage


def _consortium_proposal(proposal_id: int) -> Proposal:
    proposal = queries.find_proposal(proposal_id)
    if proposal is None or not can_see_slot(current_person(), proposal):
        abort(404)
    return proposal


def _hearing_url(stage: Stage, anchor: str | None = None) -> str:
    return url_for(
        "hearings.show_hearing", call_id=stage.call_id, stage_id=stage.id, _anchor=anchor
    )


def _ics(entries: list[calendar.Entry], *, name: str, filename: str) -> Any:
    body = calendar.ics(entries, name=name, stamp=g.now)
    return download(body, filename=filename, mimetype="text/calendar", private=True)


def _entry(slot: HearingSlot, stage: Stage, proposal: Proposal | None) -> calendar.Entry:
    return calendar.slot_entry(
        slot.id,
        starts_at=slot.starts_at,
        ends_at=slot.ends_at,
        room=slot.room,
        video_url=slot.video_url,
        stage=f"{stage.call.name} · {stage.name}",
        proposal=f"{proposal.reference} {proposal.acronym}" if proposal else None,
        host=request.host.split(":")[0],
    )


# --- the officers' pages -----------------------------------------------------------------------


def _page(
    stage: Stage,
    *,
    slot_form: SlotForm | None = None,
    assign_forms: dict[int, AssignSlotForm] | None = None,
    status: int = 200,
) -> Any:
    table = queries.timetable(stage)
    forms = assign_forms or {}
    choices = [("", _("– no proposal –"))] + [
        (str(p.id), f"{p.reference} {p.acronym}") for p in table.finalists
    ]
    for row in table.rows:
        form = forms.get(row.slot.id)
        if form is None:
            form = AssignSlotForm(formdata=None, prefix=f"slot-{row.slot.id}")
            form.proposal_id.data = row.slot.proposal_id
            forms[row.slot.id] = form
        form.proposal_id.choices = choices
    return render_template(
        "hearings/timetable.html",
        stage=stage,
        call=stage.call,
        table=table,
        slot_form=slot_form or SlotForm(formdata=None),
        assign_forms=forms,
        button=ButtonForm(),
    ), status


@bp.route("/calls/<int:call_id>/stages/<int:stage_id>/hearing")
@roles_required(Role.OFFICER)
def show_hearing(call_id: int, stage_id: int):  # type: ignore[no-untyped-def]
    return _page(_officer_stage(call_id, stage_id))


@bp.route("/calls/<int:call_id>/stages/<int:stage_id>/hearing/slots", methods=["POST"])
@roles_required(Role.OFFICER)
def create_slot(call_id: int, stage_id: int):  # type: ignore[no-untyped-def]
    stage = _officer_stage(call_id, stage_id)
    form = SlotForm()
    outcome = attempt(
        form,
        lambda: ops.save_slot(
            stage,
            actor=current_person(),
            starts_at=form.starts_at.utc,
            ends_at=form.ends_at.utc,
            room=form.room.data or "",
            video_url=form.video_url.data or "",
            now=g.now,
        ),
    )
    if not outcome.done:
        return _page(stage, slot_form=form, status=outcome.status)
    flash(_("The slot was added."), "success")
    return redirect(_hearing_url(stage, "slots"))


@bp.route(
    "/calls/<int:call_id>/stages/<int:stage_id>/hearing/slots/<int:slot_id>/edit",
    methods=["GET", "POST"],
)
@roles_required(Role.OFFICER)
def edit_slot(call_id: int, stage_id: int, slot_id: int):  # type: ignore[no-untyped-def]
    stage, slot = _officer_slot(call_id, stage_id, slot_id)
    form = SlotForm()
    if request.method == "GET":
        form = SlotForm(formdata=None)
        form.starts_at.data = utc_to_berlin_input(slot.starts_at)
        form.ends_at.data = utc_to_berlin_input(slot.ends_at)
        form.room.data = slot.room
        form.video_url.data = slot.video_url
    outcome = attempt(
        form,
        lambda: ops.save_slot(
            stage,
            actor=current_person(),
            slot=slot,
            starts_at=form.starts_at.utc,
            ends_at=form.ends_at.utc,
            room=form.room.data or "",
            video_url=form.video_url.data or "",
            now=g.now,
        ),
    )
    if not outcome.done:
        return render_template(
            "hearings/slot.html", stage=stage, call=stage.call, slot=slot, form=form
        ), outcome.status
    flash(_("The slot was changed."), "success")
    return redirect(_hearing_url(stage, "slots"))


@bp.route(
    "/calls/<int:call_id>/stages/<int:stage_id>/hearing/slots/<int:slot_id>/delete",
    methods=["POST"],
)
@roles_required(Role.OFFICER)
def delete_slot(call_id: int, stage_id: int, slot_id: int):  # type: ignore[no-untyped-def]
    stage, slot = _officer_slot(call_id, stage_id, slot_id)
    outcome = attempt(
        ButtonForm(), lambda: ops.delete_slot(slot, actor=current_person(), now=g.now)
    )
    if outcome.done:
        flash(_("The slot was removed."), "success")
    else:
        flash(str(outcome.error or _("The form had expired. Try again.")), "error")
    return redirect(_hearing_url(stage, "slots")), 303


@bp.route(
    "/calls/<int:call_id>/stages/<int:stage_id>/hearing/slots/<int:slot_id>/proposal",
    methods=["POST"],
)
@roles_required(Role.OFFICER)
def assign_slot(call_id: int, stage_id: int, slot_id: int):  # type: ignore[no-untyped-def]
    stage, slot = _officer_slot(call_id, stage_id, slot_id)
    form = AssignSlotForm(prefix=f"slot-{slot.id}")
    outcome = attempt(
        form,
        lambda: ops.assign_slot(
            slot, actor=current_person(), proposal_id=form.proposal_id.data, now=g.now
        ),
    )
    if not outcome.done:
        return _page(stage, assign_forms={slot.id: form}, status=outcome.status)
    flash(_("The slot's proposal was saved."), "success")
    return redirect(_hearing_url(stage, f"slot-{slot.id}"))


def _button(stage: Stage, run: Any, done: Any) -> Any:
    outcome = attempt(ButtonForm(), run)
    if outcome.done:
        flash(done(outcome.result), "success")
    else:
        flash(str(outcome.error or _("The form had expired. Try again.")), "error")
    return redirect(_hearing_url(stage)), 303


@bp.route("/calls/<int:call_id>/stages/<int:stage_id>/hearing/assign-in-order", methods=["POST"])
@roles_required(Role.OFFICER)
def assign_in_order(call_id: int, stage_id: int):  # type: ignore[no-untyped-def]
    stage = _officer_stage(call_id, stage_id)
    return _button(
        stage,
        lambda: ops.assign_in_order(stage, actor=current_person(), now=g.now),
        lambda n: ngettext(
            "%(num)d finalist was given a slot.", "%(num)d finalists were given slots.", n
        ),
    )


@bp.route("/calls/<int:call_id>/stages/<int:stage_id>/hearing/jury", methods=["POST"])
@roles_required(Role.OFFICER)
def seat_jury(call_id: int, stage_id: int):  # type: ignore[no-untyped-def]
    stage = _officer_stage(call_id, stage_id)
    return _button(
        stage,
        lambda: ops.seat_jury(stage, actor=current_person(), now=g.now),
        lambda n: ngettext(
            "%(num)d review assignment was added and released.",
            "%(num)d review assignments were added and released.",
            n,
        ),
    )


@bp.route("/calls/<int:call_id>/stages/<int:stage_id>/hearing/send", methods=["POST"])
@roles_required(Role.OFFICER)
def send_timetable(call_id: int, stage_id: int):  # type: ignore[no-untyped-def]
    stage = _officer_stage(call_id, stage_id)
    return _button(
        stage,
        lambda: ops.send_timetable(stage, actor=current_person(), now=g.now),
        lambda n: ngettext(
            "%(num)d message with the timetable was sent.",
            "%(num)d messages with the timetable were sent.",
            n,
        ),
    )


@bp.route("/calls/<int:call_id>/stages/<int:stage_id>/hearing.ics")
@roles_required(Role.OFFICER)
def officer_calendar(call_id: int, stage_id: int):  # type: ignore[no-untyped-def]
    stage = _officer_stage(call_id, stage_id)
    table = queries.timetable(stage)
    entries = [_entry(row.slot, stage, row.proposal) for row in table.rows]
    return _ics(entries, name=f"{stage.call.name} · {stage.name}", filename="hearing.ics")


# --- the jurors' page --------------------------------------------------------------------------


@bp.route("/jury/stages/<int:stage_id>/hearing", methods=["GET", "POST"])
@roles_required(Role.JUROR)
def juror_availability(stage_id: int):  # type: ignore[no-untyped-def]
    stage = _juror_stage(stage_id)
    me = current_person()
    form = ButtonForm()
    slots = queries.juror_slots(stage, me)
    answers = {
        s.slot.id: request.form.get(f"slot-{s.slot.id}") == "yes"
        for s in slots
        if request.form.get(f"slot-{s.slot.id}") in ("yes", "no")
    }
    outcome = attempt(
        form, lambda: ops.save_availability(stage, actor=me, answers=answers, now=g.now)
    )
    if outcome.done:
        flash(_("Your availability was saved."), "success")
        return redirect(url_for("hearings.juror_availability", stage_id=stage.id))
    return render_template(
        "hearings/availability.html", stage=stage, call=stage.call, slots=slots, form=form
    ), outcome.status


@bp.route("/jury/stages/<int:stage_id>/hearing.ics")
@roles_required(Role.JUROR)
def juror_calendar(stage_id: int):  # type: ignore[no-untyped-def]
    stage = _juror_stage(stage_id)
    entries = [
        _entry(s.slot, stage, s.proposal) for s in queries.sitting_slots(stage, current_person())
    ]
    return _ics(entries, name=f"{stage.call.name} · {stage.name}", filename="hearing.ics")


# --- the consortium's page ---------------------------------------------------------------------


@bp.route("/proposals/<int:proposal_id>/hearing")
@signed_in
def show_slot(proposal_id: int):  # type: ignore[no-untyped-def]
    proposal = _consortium_proposal(proposal_id)
    return render_template(
        "hearings/proposal.html",
        proposal=proposal,
        slots=queries.proposal_slots(proposal),
        can_confirm=bool(can_confirm_slot(current_person(), proposal)),
        form=ButtonForm(),
    )


@bp.route("/proposals/<int:proposal_id>/hearing/<int:slot_id>/confirm", methods=["POST"])
@signed_in
def confirm_slot(proposal_id: int, slot_id: int):  # type: ignore[no-untyped-def]
    proposal = _consortium_proposal(proposal_id)
    entry = queries.find_proposal_slot(proposal, slot_id)
    if entry is None:
        abort(404)
    outcome = attempt(
        ButtonForm(), lambda: ops.confirm_slot(entry.slot, actor=current_person(), now=g.now)
    )
    if outcome.done:
        flash(_("Thank you: your hearing slot is confirmed."), "success")
    else:
        flash(str(outcome.error or _("The form had expired. Try again.")), "error")
    return redirect(url_for("hearings.show_slot", proposal_id=proposal.id)), 303


@bp.route("/proposals/<int:proposal_id>/hearing.ics")
@signed_in
def proposal_calendar(proposal_id: int):  # type: ignore[no-untyped-def]
    proposal = _consortium_proposal(proposal_id)
    entries = [_entry(s.slot, s.stage, proposal) for s in queries.proposal_slots(proposal)]
    return _ics(entries, name=f"{proposal.reference} {proposal.acronym}", filename="hearing.ics")
