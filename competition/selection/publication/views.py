"""The officer's publication page: how many letters go out per outcome, the confirmation, then
the progress of the publication's job (also as JSON for the page's poller)."""

from __future__ import annotations

from flask import Response, flash, g, jsonify, redirect, render_template, request, url_for
from flask_babel import ngettext
from flask_wtf import FlaskForm

from competition.access import roles_required, wants_json
from competition.accounts.models import Role
from competition.forms import attempt
from competition.selection.blueprint import bp, me, officer_stage
from competition.selection.publication import operations as publication_operations
from competition.selection.publication import queries as publication_queries

# Seconds between reloads of the publication page while letters are going out.
REFRESH_SECONDS = 3


class PublishForm(FlaskForm):
    """The confirmation button: only the CSRF token."""


@bp.route("/calls/<int:call_id>/stages/<int:stage_id>/selection/publish", methods=["GET", "POST"])
@roles_required(Role.OFFICER)
def publish(call_id: int, stage_id: int):  # type: ignore[no-untyped-def]
    """GET: how many letters go out per outcome, and the progress of a publication under way
    (JSON for a poller). POST: start the publication."""
    call, stage = officer_stage(call_id, stage_id)
    form = PublishForm()
    status_code = 200
    if request.method == "POST":
        started = attempt(
            form, lambda: publication_operations.start_publication(stage, actor=me(), now=g.now)
        )
        if started.done:
            count = started.result or 0
            flash(
                ngettext(
                    "%(num)d letter is being published. This page shows the progress.",
                    "%(num)d letters are being published. This page shows the progress.",
                    count,
                ),
                "success",
            )
            return redirect(url_for("selection.publish", call_id=call.id, stage_id=stage.id), 303)
        status_code = started.status
    status = publication_queries.publication_status(stage)
    if wants_json():
        return jsonify(
            confirmed=status.confirmed,
            published=status.published,
            waiting=status.waiting,
            in_progress=status.in_progress,
        )
    response = Response(
        render_template(
            "selection/publish_confirm.html",
            call=call,
            stage=stage,
            status=status,
            form=form,
            outcome_labels=publication_queries.OUTCOME_LABELS,
            outcome_effects=publication_queries.OUTCOME_EFFECTS,
        ),
        status=status_code,
    )
    if status.in_progress:
        # Reloads the page while letters go out; works without JavaScript.
        response.headers["Refresh"] = str(REFRESH_SECONDS)
    return response
