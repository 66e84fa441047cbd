"""The officers' decision pages of a stage: every proposal in rank order with the line's
suggestion and its decision, proposing outcomes in bulk (or for one proposal) through a
preview, and confirming another officer's proposals through a preview. Nothing here reaches
applicants: they learn of a decision only once it is confirmed and published.

Stages of another programme's calls answer 404, like missing ones.
"""

from __future__ import annotations

from collections.abc import Iterable

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import ngettext

from competition import params
from competition.access import roles_required
from competition.accounts.models import Role
from competition.core.decisions import MIN_RATIONALE
from competition.forms import attempt
from competition.i18n import gettext as _
from competition.programmes.models import Stage
from competition.selection.blueprint import PREFIX, bp, me, officer_stage
from competition.selection.decisions import operations as ops
from competition.selection.decisions import queries as dq
from competition.selection.forms import ConfirmForm, ProposeForm
from competition.selection.models import Outcome


def _propose_form(stage: Stage, *, formdata: bool = True) -> ProposeForm:
    form = ProposeForm() if formdata else ProposeForm(formdata=None)
    outcomes = dq.outcomes_for(stage)
    form.outcome.choices = [("", _("Choose…"))] + [
        (o.value, dq.OUTCOME_LABELS[o]) for o in outcomes
    ]
    form.suggested.choices = [("", _("No, only the ticked proposals"))] + [
        (o.value, dq.OUTCOME_LABELS[o]) for o in dq.OUTCOME_LABELS
    ]
    return form


def _search() -> str:
    return params.text("q")


def _page_number() -> int:
    return params.page()


def _list_query() -> dict[str, object]:
    """The list's search and page as they go into a link, leaving out the defaults."""
    query: dict[str, object] = {}
    if _search():
        query["q"] = _search()
    if _page_number() > 1:
        query["page"] = _page_number()
    return query


def _ticks(chosen: list[int] | None, shown: set[int]) -> tuple[set[int], list[int]]:
    """The ticked ids, and those of them on other pages of the list: they travel with the form
    as hidden fields, so no tick is lost when the officer pages."""
    selected = set(chosen or [])
    return selected, sorted(selected - shown)


def _decisions_page(stage: Stage, *, form: ProposeForm | None = None, status: int = 200):  # type: ignore[no-untyped-def]
    q, page = _search(), _page_number()
    listing = dq.decision_list(stage, q=q, page=page)
    if form is None:
        form = _propose_form(stage, formdata=False)
    form.suggested.choices = [("", _("No, only the ticked proposals"))] + [
        (
            o.value,
            ngettext(
                "%(outcome)s (%(num)d proposal not yet confirmed)",
                "%(outcome)s (%(num)d proposals not yet confirmed)",
                listing.suggested_open[o],
                outcome=str(label),
            ),
        )
        for o, label in dq.OUTCOME_LABELS.items()
        if listing.suggested_open.get(o)
    ]
    selected, hidden = _ticks(form.proposals.data, {row.proposal.id for row in listing.rows.items})
    return render_template(
        "selection/decisions.html",
        call=stage.call,
        stage=stage,
        listing=listing,
        form=form,
        selected=selected,
        hidden_selected=hidden,
        labels=dq.OUTCOME_LABELS,
        q=q,
        page=page,
        me=me(),
        min_rationale=MIN_RATIONALE,
    ), status


@bp.route(f"{PREFIX}/decisions")
@roles_required(Role.OFFICER)
def decisions(call_id: int, stage_id: int):  # type: ignore[no-untyped-def]
    _call, stage = officer_stage(call_id, stage_id)
    return _decisions_page(stage)


def _suggested(form: ProposeForm) -> Outcome | None:
    try:
        return Outcome(form.suggested.data) if form.suggested.data else None
    except ValueError:
        return None


@bp.route(f"{PREFIX}/decisions/preview", methods=["POST"])
@roles_required(Role.OFFICER)
def preview_decisions(call_id: int, stage_id: int):  # type: ignore[no-untyped-def]
    _call, stage = officer_stage(call_id, stage_id)
    form = _propose_form(stage)
    if request.form.get("edit"):
        # Back from the preview to change the choice, with everything as it was typed.
        return _decisions_page(stage, form=form)
    previewed = attempt(
        form,
        lambda: dq.preview_proposals(
            stage,
            proposal_ids=form.proposals.data or [],
            suggested=_suggested(form),
            outcome=Outcome(form.outcome.data),
            rationale=form.rationale.data or "",
            conditions=form.conditions.data or "",
        ),
    )
    if previewed.done:
        return render_template(
            "selection/decisions_preview.html",
            call=stage.call,
            stage=stage,
            form=form,
            preview=previewed.result,
            outcome=Outcome(form.outcome.data),
            labels=dq.OUTCOME_LABELS,
            list_args=_list_query(),
        )
    return _decisions_page(stage, form=form, status=previewed.status)


@bp.route(f"{PREFIX}/decisions", methods=["POST"])
@roles_required(Role.OFFICER)
def propose_decisions(call_id: int, stage_id: int):  # type: ignore[no-untyped-def]
    _call, stage = officer_stage(call_id, stage_id)
    form = _propose_form(stage)
    proposed = attempt(
        form,
        lambda: ops.propose_decisions(
            stage,
            form.proposals.data or [],
            outcome=Outcome(form.outcome.data),
            rationale=form.rationale.data or "",
            actor=me(),
            now=g.now,
            ranking_id=getattr(dq.find_done_ranking(stage, form.ranking_id.data), "id", None),
            conditions=form.conditions.data or "",
        ),
    )
    if not proposed.done or proposed.result is None:
        return _decisions_page(stage, form=form, status=proposed.status)
    flash(
        ngettext(
            "%(num)d decision proposed: %(outcome)s. Another officer must confirm them before "
            "anything is published.",
            "%(num)d decisions proposed: %(outcome)s. Another officer must confirm them before "
            "anything is published.",
            len(proposed.result),
            outcome=str(dq.OUTCOME_LABELS[Outcome(form.outcome.data)]),
        ),
        "success",
    )
    return redirect(
        url_for("selection.decisions", call_id=call_id, stage_id=stage_id, **_list_query()), 303
    )


# --- confirmation ---------------------------------------------------------------------------------


def _confirm_page(
    stage: Stage,
    *,
    form: ConfirmForm | None = None,
    preview: list[dq.PendingRow] | None = None,
    status: int = 200,
):  # type: ignore[no-untyped-def]
    page = _page_number()
    pending = dq.pending_confirmations(stage, viewer=me(), page=page)
    if form is None:
        form = ConfirmForm(formdata=None)
    selected, hidden = _ticks(form.decisions.data, {row.decision.id for row in pending.rows.items})
    return render_template(
        "selection/confirm.html",
        call=stage.call,
        stage=stage,
        pending=pending,
        form=form,
        preview=preview,
        selected=selected,
        hidden_selected=hidden,
        labels=dq.OUTCOME_LABELS,
        page=page,
    ), status


@bp.route(f"{PREFIX}/confirm")
@roles_required(Role.OFFICER)
def confirmations(call_id: int, stage_id: int):  # type: ignore[no-untyped-def]
    _call, stage = officer_stage(call_id, stage_id)
    return _confirm_page(stage)


def _chosen(form: ConfirmForm) -> Iterable[int] | None:
    return None if form.scope.data == "all" else (form.decisions.data or [])


@bp.route(f"{PREFIX}/confirm/preview", methods=["POST"])
@roles_required(Role.OFFICER)
def preview_confirmations(call_id: int, stage_id: int):  # type: ignore[no-untyped-def]
    _call, stage = officer_stage(call_id, stage_id)
    form = ConfirmForm()
    previewed = attempt(
        form, lambda: dq.preview_confirmations(stage, viewer=me(), decision_ids=_chosen(form))
    )
    if previewed.done:
        return _confirm_page(stage, form=form, preview=previewed.result)
    return _confirm_page(stage, form=form, status=previewed.status)


@bp.route(f"{PREFIX}/confirm", methods=["POST"])
@roles_required(Role.OFFICER)
def confirm_decisions(call_id: int, stage_id: int):  # type: ignore[no-untyped-def]
    _call, stage = officer_stage(call_id, stage_id)
    form = ConfirmForm()

    def confirm() -> int:
        seen = dq.seen_versions(form.versions.data or [])
        return ops.confirm_decisions(stage, list(seen), actor=me(), now=g.now, seen=seen)

    confirmed = attempt(form, confirm)
    if confirmed.done:
        flash(
            ngettext(
                "%(num)d decision confirmed.",
                "%(num)d decisions confirmed.",
                confirmed.result or 0,
            ),
            "success",
        )
        return redirect(url_for("selection.confirmations", call_id=call_id, stage_id=stage_id), 303)
    if not form.decisions.data and form.versions.data:
        # Keep the choice ticked on the list shown with the message.
        form.decisions.data = dq.version_ids(form.versions.data)
    return _confirm_page(stage, form=form, status=confirmed.status)
