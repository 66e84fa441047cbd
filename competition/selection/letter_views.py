"""Publishing a stage's decisions (the officer confirms, then follows the progress) and the
applicant's decision letters, as a page and as a PDF.

A letter is shown only once published, only to the proposal's contributors and the officers of
its programme; for anyone else, and for a decision not yet published, it does not exist (404).
"""

from __future__ import annotations

import logging

from flask import Response, abort, flash, g, jsonify, redirect, render_template, request, url_for
from flask_wtf import FlaskForm

from competition.access import roles_required, signed_in, wants_json
from competition.accounts.models import Role
from competition.errors import DomainError, StaleState
from competition.extensions import db
from competition.forms import show_errors
from competition.proposals.models import Proposal
from competition.proposals.permissions import can_view_proposal
from competition.selection import letters, publication
from competition.selection.blueprint import bp, me, officer_stage
from competition.selection.models import Decision

log = logging.getLogger(__name__)

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
        if not form.validate_on_submit():
            abort(400)
        try:
            count = publication.start_publication(stage, actor=me(), now=g.now)
        except DomainError as error:
            db.session.rollback()
            show_errors(form, error)
            status_code = 409 if isinstance(error, StaleState) else 422
        else:
            flash(
                f"{count} letter{'' if count == 1 else 's'} {'is' if count == 1 else 'are'} "
                "being published. This page shows the progress.",
                "success",
            )
            return redirect(url_for("selection.publish", call_id=call.id, stage_id=stage.id), 303)
    status = publication.publication_status(stage)
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
            outcome_labels=publication.OUTCOME_LABELS,
            outcome_effects=publication.OUTCOME_EFFECTS,
        ),
        status=status_code,
    )
    if status.in_progress:
        # Reloads the page while letters go out; works without JavaScript.
        response.headers["Refresh"] = str(REFRESH_SECONDS)
    return response


def _published_letter(proposal_id: int, decision_id: int) -> tuple[Proposal, Decision]:
    proposal = db.session.get(Proposal, proposal_id)
    # Someone else's proposal, an unpublished decision and a missing one all look the same.
    if proposal is None or not can_view_proposal(me(), proposal):
        abort(404)
    decision = letters.find_published(proposal, decision_id)
    if decision is None or decision.letter is None:
        abort(404)
    return proposal, decision


@bp.route("/proposals/<int:proposal_id>/letters/<int:decision_id>")
@signed_in
def letter(proposal_id: int, decision_id: int):  # type: ignore[no-untyped-def]
    proposal, decision = _published_letter(proposal_id, decision_id)
    response = Response(
        render_template(
            "selection/letter.html", proposal=proposal, decision=decision, letter=decision.letter
        )
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/proposals/<int:proposal_id>/letters/<int:decision_id>.pdf")
@signed_in
def letter_pdf(proposal_id: int, decision_id: int):  # type: ignore[no-untyped-def]
    _, decision = _published_letter(proposal_id, decision_id)
    assert decision.letter is not None
    response = Response(letters.render_pdf(decision.letter), mimetype="application/pdf")
    response.headers["Content-Disposition"] = (
        f'inline; filename="{letters.pdf_filename(decision.letter)}"'
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response
