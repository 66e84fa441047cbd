"""The applicant's decision letters, as a page and as a PDF.

A letter is shown only once published, only to the proposal's contributors and the officers of
its programme; for anyone else, and for a decision not yet published, it does not exist (404)."""

from __future__ import annotations

from contextlib import nullcontext

from flask import Response, abort, render_template
from flask_babel import force_locale
from markupsafe import Markup

from competition.access import signed_in
from competition.downloads import download
from competition.extensions import db
from competition.proposals.models import Proposal
from competition.proposals.permissions import can_view_proposal
from competition.selection.blueprint import bp, me
from competition.selection.letters import pdf as letters_pdf
from competition.selection.letters import queries as letters_queries
from competition.selection.models import Decision


def _published_letter(proposal_id: int, decision_id: int) -> tuple[Proposal, Decision]:
    proposal = db.session.get(Proposal, proposal_id)
    # Someone else's proposal, an unpublished decision and a missing one all look the same.
    if proposal is None or not can_view_proposal(me(), proposal):
        abort(404)
    decision = letters_queries.find_published(proposal, decision_id)
    if decision is None or decision.letter is None:
        abort(404)
    return proposal, decision


@bp.route("/proposals/<int:proposal_id>/letters/<int:decision_id>")
@signed_in
def letter(proposal_id: int, decision_id: int):  # type: ignore[no-untyped-def]
    proposal, decision = _published_letter(proposal_id, decision_id)
    letter = decision.letter
    assert letter is not None
    # The letter as it was sent, in its language; the page around it in the reader's.
    language = letter.get("language")
    with force_locale(language) if language else nullcontext():
        body = render_template("selection/_letter_body.html", letter=letter)
    response = Response(
        render_template(
            "selection/letter.html",
            proposal=proposal,
            decision=decision,
            letter=letter,
            body=Markup(body),
        )
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/proposals/<int:proposal_id>/letters/<int:decision_id>.pdf")
@signed_in
def letter_pdf(proposal_id: int, decision_id: int):  # type: ignore[no-untyped-def]
    _, decision = _published_letter(proposal_id, decision_id)
    assert decision.letter is not None
    return download(
        letters_pdf.render_pdf(decision.letter),
        filename=letters_pdf.pdf_filename(decision.letter),
        mimetype="application/pdf",
        inline=True,
        private=True,
    )
