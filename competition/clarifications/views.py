"""Clarification pages: the officer's question, the thread with the consortium's answers, and
the attachments' downloads. Requests are seen only by the programme's officers and the
proposal's consortium; anyone else gets 404."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, url_for

from competition import params
from competition.access import current_person, roles_required, signed_in
from competition.accounts.models import Role
from competition.berlin import berlin_to_utc
from competition.clarifications import operations as ops
from competition.clarifications import queries
from competition.clarifications.forms import AnswerForm, AskForm, DeadlineForm, FollowUpForm
from competition.clarifications.models import ClarificationRequest
from competition.clarifications.permissions import (
    can_answer,
    can_ask,
    can_manage,
    can_see_thread,
)
from competition.downloads import download
from competition.forms import attempt
from competition.i18n import gettext as _
from competition.programmes.models import Stage
from competition.programmes.permissions import is_programme_officer
from competition.proposals import storage
from competition.proposals.forms import ButtonForm
from competition.proposals.models import Proposal
from competition.workflow import offered

bp = Blueprint("clarifications", __name__)


def _utc(value):  # type: ignore[no-untyped-def]
    return berlin_to_utc(value) if value is not None else None


def _stage_of(proposal: Proposal, stage_id: int | None) -> Stage | None:
    return next((stage for stage in proposal.call.stages if stage.id == stage_id), None)


def _current_stage_id(proposal: Proposal) -> int | None:
    """The stage the proposal last handed something in for, else the call's first."""
    submitted = [s for s in proposal.submissions if s.submitted_at is not None]
    if submitted:
        return max(submitted, key=lambda s: s.stage.position).stage_id
    return proposal.call.stages[0].id if proposal.call.stages else None


@bp.route("/proposals/<int:proposal_id>/clarifications/new", methods=["GET", "POST"])
@roles_required(Role.OFFICER)
def ask(proposal_id: int):  # type: ignore[no-untyped-def]
    proposal = queries.find_proposal(proposal_id)
    me = current_person()
    if proposal is None or not is_programme_officer(me, proposal.call.programme_id):
        abort(404)
    form = AskForm()
    form.stage_id.choices = [(stage.id, stage.name) for stage in proposal.call.stages]
    if form.stage_id.data is None:
        chosen = _stage_of(proposal, params.number("stage"))
        form.stage_id.data = chosen.id if chosen else _current_stage_id(proposal)
    stage = _stage_of(proposal, form.stage_id.data)
    if form.is_submitted() and stage is None:
        abort(404)
    asked = attempt(
        form,
        lambda: ops.ask_clarification(
            proposal,
            stage,  # type: ignore[arg-type]
            actor=me,
            question=form.question.data or "",
            due_at=_utc(form.due_at.data),
            now=g.now,
        ),
    )
    if asked.done:
        flash(_("The question is sent; the consortium is told by e-mail."), "success")
        return redirect(url_for("clarifications.show", request_id=asked.result.id))  # type: ignore[union-attr]
    return render_template(
        "clarifications/new.html",
        proposal=proposal,
        form=form,
        refusal=None if (allowed := can_ask(me, proposal)) else allowed.reason,
    ), asked.status


def _load(request_id: int) -> ClarificationRequest:
    clarification = queries.find_request(request_id)
    if clarification is None or not can_see_thread(current_person(), clarification.proposal):
        abort(404)
    return clarification


def _thread(clarification: ClarificationRequest, status: int = 200, **forms: Any):  # type: ignore[no-untyped-def]
    me = current_person()
    manage = bool(can_manage(me, clarification))
    return render_template(
        "clarifications/show.html",
        clarification=clarification,
        proposal=clarification.proposal,
        may_answer=can_answer(me, clarification),
        may_manage=manage,
        actions=offered(clarification, {"close": manage, "withdraw": manage}),
        late=g.now > clarification.due_at,
        answer_form=forms.get("answer_form") or AnswerForm(formdata=None),
        follow_up_form=forms.get("follow_up_form") or FollowUpForm(formdata=None),
        deadline_form=forms.get("deadline_form") or DeadlineForm(prefix="extend", formdata=None),
        button_form=ButtonForm(formdata=None),
    ), status


@bp.route("/clarifications/<int:request_id>")
@signed_in
def show(request_id: int):  # type: ignore[no-untyped-def]
    return _thread(_load(request_id))


def _back(clarification: ClarificationRequest, message: str):  # type: ignore[no-untyped-def]
    flash(message, "success")
    return redirect(url_for("clarifications.show", request_id=clarification.id))


@bp.route("/clarifications/<int:request_id>/answers", methods=["POST"])
@roles_required(Role.APPLICANT)
def answer(request_id: int):  # type: ignore[no-untyped-def]
    clarification = _load(request_id)
    form = AnswerForm()
    answered = attempt(
        form,
        lambda: ops.answer_clarification(
            clarification,
            actor=current_person(),
            text=form.body.data or "",
            files=[
                ops.Upload(filename=upload.filename or "answer.pdf", data=upload.read())
                for upload in form.files.data or []
                if getattr(upload, "filename", None)
            ],
            now=g.now,
        ),
    )
    if answered.done:
        return _back(clarification, _("Your answer is sent to the programme office."))
    return _thread(_load(request_id), answered.status, answer_form=form)


@bp.route("/clarifications/<int:request_id>/follow-up", methods=["POST"])
@roles_required(Role.OFFICER)
def follow_up(request_id: int):  # type: ignore[no-untyped-def]
    clarification = _load(request_id)
    form = FollowUpForm()
    asked = attempt(
        form,
        lambda: ops.ask_again(
            clarification,
            actor=current_person(),
            question=form.question.data or "",
            due_at=_utc(form.due_at.data),
            now=g.now,
        ),
    )
    if asked.done:
        return _back(clarification, _("The question is sent; the consortium is told by e-mail."))
    return _thread(_load(request_id), asked.status, follow_up_form=form)


@bp.route("/clarifications/<int:request_id>/deadline", methods=["POST"])
@roles_required(Role.OFFICER)
def extend(request_id: int):  # type: ignore[no-untyped-def]
    clarification = _load(request_id)
    form = DeadlineForm(prefix="extend")
    extended = attempt(
        form,
        lambda: ops.extend_deadline(
            clarification, actor=current_person(), due_at=_utc(form.due_at.data), now=g.now
        ),
    )
    if extended.done:
        return _back(clarification, _("Deadline extended; the consortium is told by e-mail."))
    return _thread(_load(request_id), extended.status, deadline_form=form)


@bp.route("/clarifications/<int:request_id>/close", methods=["POST"])
@roles_required(Role.OFFICER)
def close(request_id: int):  # type: ignore[no-untyped-def]
    clarification = _load(request_id)
    form = ButtonForm()
    closed = attempt(
        form, lambda: ops.close_request(clarification, actor=current_person(), now=g.now)
    )
    if closed.done:
        return _back(clarification, _("The request is closed."))
    return _thread(_load(request_id), closed.status)


@bp.route("/clarifications/<int:request_id>/withdraw", methods=["POST"])
@roles_required(Role.OFFICER)
def withdraw(request_id: int):  # type: ignore[no-untyped-def]
    clarification = _load(request_id)
    form = ButtonForm()
    withdrawn = attempt(
        form, lambda: ops.withdraw_request(clarification, actor=current_person(), now=g.now)
    )
    if withdrawn.done:
        return _back(clarification, _("The request is withdrawn."))
    return _thread(_load(request_id), withdrawn.status)


@bp.route("/clarifications/attachments/<int:attachment_id>")
@signed_in
def download_attachment(attachment_id: int):  # type: ignore[no-untyped-def]
    attachment = queries.find_attachment(attachment_id)
    if attachment is None or not can_see_thread(
        current_person(), attachment.message.request.proposal
    ):
        abort(404)
    return download(
        storage.read(attachment.storage_key),
        filename=attachment.filename,
        mimetype="application/pdf",
        private=True,
    )
