"""The officers' line page (funded or advancing, skipped, reserve, not selected and why, the
money, the constraints, the grey zone) and its lottery (a confirmation page, then the record to
download and re-run).

Stages of another programme's calls answer 404, like missing ones."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from flask import abort, flash, g, jsonify, redirect, render_template, request, url_for

from competition import params
from competition.access import roles_required
from competition.accounts.models import Role
from competition.accounts.queries import names_of
from competition.core import line as standing
from competition.downloads import content_disposition
from competition.extensions import db
from competition.forms import perform, show_errors
from competition.i18n import gettext as _
from competition.paging import Page
from competition.programmes.models import Stage
from competition.selection.blueprint import PREFIX, bp, me, officer_stage
from competition.selection.forms import (
    METHOD_LABELS,
    DrawLotteryForm,
)
from competition.selection.line import operations as line_operations
from competition.selection.line import queries as line_queries
from competition.selection.models import (
    LotteryRecord,
    Ranking,
)
from competition.selection.ranking import queries as ranking_queries
from competition.selection.rules.queries import ATTRIBUTES, stored_rules

NOT_SELECTED_PER_PAGE = 50


# --- the line and its lottery ---------------------------------------------------------------


@dataclass(frozen=True)
class Money:
    programme_total: Decimal
    elsewhere: Decimal  # confirmed funding at the programme's other stages
    available: Decimal
    committed: Decimal
    remaining: Decimal
    # The call's envelope and what its other stages have confirmed; None without an envelope.
    envelope: Decimal | None = None
    call_elsewhere: Decimal | None = None
    limited_by_envelope: bool = False


@bp.route(f"{PREFIX}/line", endpoint="line")
@roles_required(Role.OFFICER)
def show_line(call_id: int, stage_id: int):  # type: ignore[no-untyped-def]
    _call, stage = officer_stage(call_id, stage_id)
    ranking = ranking_queries.latest_done(stage)
    line, problem = line_queries.draw_or_why(stage, ranking)
    money = None
    not_selected = None
    lottery_by = ""
    if line is not None:
        if line.budget is not None:
            sources = line_queries.budget_sources(stage)
            money = Money(
                sources.programme_total,
                sources.programme_elsewhere,
                line.budget,
                line.committed,
                line.budget - line.committed,
                envelope=sources.envelope,
                call_elsewhere=sources.call_elsewhere if sources.envelope is not None else None,
                limited_by_envelope=sources.limited_by_envelope,
            )
        rest = line.in_group(standing.NOT_SELECTED)
        page = params.page()
        start = (page - 1) * NOT_SELECTED_PER_PAGE
        not_selected = Page(
            rest[start : start + NOT_SELECTED_PER_PAGE], page, NOT_SELECTED_PER_PAGE, len(rest)
        )
        if line.lottery is not None:
            lottery_by = names_of([line.lottery.created_by_id]).get(line.lottery.created_by_id, "")
    rules, _problem = stored_rules(stage)
    rows_by_id = line.row_of if line else {}
    return render_template(
        "selection/line.html",
        call=stage.call,
        stage=stage,
        ranking=ranking,
        method_label=METHOD_LABELS.get(ranking.method.value, "") if ranking else "",
        line=line,
        line_problem=problem,
        rules=rules,
        money=money,
        currency=stage.call.programme.currency,
        not_selected=not_selected,
        attribute_labels=ATTRIBUTES,
        zone_rows=[rows_by_id[pid] for pid in line.grey_zone] if line else [],
        lottery_by=lottery_by,
        groups=standing,
    )


def _lottery_page(
    stage: Stage,
    ranking: Ranking,
    line: line_queries.Line,
    *,
    form: DrawLotteryForm | None = None,
    status: int = 200,
):  # type: ignore[no-untyped-def]
    plan = line.draw_plan
    assert plan is not None
    if form is None:
        form = DrawLotteryForm(formdata=None)
    form.ranking_id.data = str(ranking.id)
    form.candidates.data = ",".join(str(pid) for pid in plan.candidates)
    form.places.data = str(plan.places)
    rows_by_id = line.row_of
    return render_template(
        "selection/lottery_confirm.html",
        call=stage.call,
        stage=stage,
        ranking=ranking,
        line=line,
        plan=plan,
        candidates=[rows_by_id[pid] for pid in plan.candidates],
        currency=stage.call.programme.currency,
        form=form,
    ), status


def _ints(text: str | None) -> list[int] | None:
    try:
        return [int(part) for part in (text or "").split(",") if part.strip()]
    except ValueError:
        return None


@bp.route(f"{PREFIX}/lottery", methods=["GET", "POST"], endpoint="draw_lottery")
@roles_required(Role.OFFICER)
def draw_lottery(call_id: int, stage_id: int):  # type: ignore[no-untyped-def]
    """GET: what the draw will hand out, among whom, with which seed. POST: draw and record."""
    _call, stage = officer_stage(call_id, stage_id)
    line_url = url_for("selection.line", call_id=call_id, stage_id=stage_id)
    ranking = ranking_queries.latest_done(stage)
    line, problem = line_queries.draw_or_why(stage, ranking)
    if ranking is None or line is None:
        flash(problem or _("No ranking has finished yet: there is no line to draw on."), "error")
        return redirect(line_url)
    if line.lottery is not None:
        flash(_("The draw for this ranking is already recorded."), "info")
        return redirect(line_url)
    if line.draw_plan is None:
        flash(_("There is nothing to draw by lot on this line."), "info")
        return redirect(line_url)
    if request.method == "GET":
        return _lottery_page(stage, ranking, line)

    form = DrawLotteryForm()
    if form.validate_on_submit():
        chosen = _ints(form.candidates.data)
        places = _ints(form.places.data)
        ranking_ids = _ints(form.ranking_id.data)
        confirmed = db.session.get(Ranking, ranking_ids[0]) if ranking_ids else None
        if confirmed is None or chosen is None or not places or confirmed.stage_id != stage.id:
            form.form_errors.append(_("The form is incomplete; check the draw again."))
        else:
            recorded = perform(
                lambda: line_operations.record_lottery(
                    stage,
                    confirmed,
                    actor=me(),
                    now=g.now,
                    candidates=chosen,
                    places=places[0],
                )
            )
            if recorded.result is not None:
                drawn = ", ".join(str(ref) for ref in recorded.result.record["drawn"]) or _("none")
                flash(_("The draw is recorded. Drawn by lot: %(drawn)s.", drawn=drawn), "success")
                return redirect(line_url)
            if recorded.error is not None:
                show_errors(form, recorded.error)
    # Show the grey zone as it is now, with the messages of the refusal.
    ranking = ranking_queries.latest_done(stage)
    line, problem = line_queries.draw_or_why(stage, ranking)
    if ranking is None or line is None or line.draw_plan is None or line.lottery is not None:
        for message in form.form_errors:
            flash(message, "error")
        return redirect(line_url)
    return _lottery_page(stage, ranking, line, form=form, status=422)


@bp.route(f"{PREFIX}/lottery/<int:draw_id>.json", endpoint="lottery_record")
@roles_required(Role.OFFICER)
def lottery_record(call_id: int, stage_id: int, draw_id: int):  # type: ignore[no-untyped-def]
    """The recorded draw, to publish and to re-run (``flask selection verify-draw FILE``)."""
    _call, stage = officer_stage(call_id, stage_id)
    record = db.session.get(LotteryRecord, draw_id)
    if record is None or record.stage_id != stage.id:
        abort(404)
    response = jsonify(line_queries.export_record(record))
    response.headers["Content-Disposition"] = content_disposition(
        f"lottery-stage-{stage.id}-draw-{record.id}.json"
    )
    return response
