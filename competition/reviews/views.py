"""Reviews: the juror's dashboard, the review page of one assignment (the frozen proposal beside
the review form, saved as it is typed), and the officers' progress view of a stage.

A juror asking for an assignment that is not theirs, or one of a proposal they have a conflict
with, gets 404: nobody learns which assignments exist.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for

from competition import params
from competition.access import current_person, roles_required, wants_json
from competition.accounts import pending
from competition.accounts.models import Role
from competition.assignment import runs
from competition.assignment.forms import DeclineForm
from competition.assignment.models import Assignment
from competition.berlin import berlin_time
from competition.core import scoring
from competition.core.rules import format_berlin
from competition.errors import StaleState
from competition.forms import attempt, perform
from competition.i18n import gettext as _
from competition.i18n import say, time_left
from competition.kept import kept_fragment
from competition.programmes.models import Stage
from competition.proposals.models import Proposal
from competition.reviews import operations as ops
from competition.reviews import permissions, queries
from competition.reviews.forms import ReviewForm
from competition.reviews.models import Review

bp = Blueprint("reviews", __name__)


# --- the juror's dashboard ------------------------------------------------------------------------


# Rendered rows of jurors' dashboards kept per process (about 1 KB a row).
DASHBOARD_ROWS_KEPT = 256


@bp.route("/reviews")
@roles_required(Role.JUROR)
def list_assignments():  # type: ignore[no-untyped-def]
    dashboard = queries.list_juror_assignments(current_person())
    rows = tuple(dashboard.rows)
    left = tuple(time_left(row.due_at) for row in rows)
    # The rows as read for this juror now and the time left are the key: a new review state
    # or another hour left renders them afresh.
    shown = kept_fragment(
        "juror_dashboard_rows",
        (rows, left),
        "reviews/_assignment_rows.html",
        rows=rows,
        left=left,
        status_labels=queries.STATUS_LABELS,
        size=DASHBOARD_ROWS_KEPT,
    )
    return render_template("reviews/dashboard.html", dashboard=dashboard, rows=shown)


# --- one review ----------------------------------------------------------------------------------


def _load(assignment_id: int) -> tuple[Assignment, Proposal, Stage]:
    assignment = queries.find_assignment(assignment_id)
    if assignment is None:
        abort(404)
    proposal = queries.find_proposal(assignment.proposal_id)
    stage = queries.find_stage(assignment.stage_id)
    # Someone else's assignment, a conflict, a declined or unreleased one: as if missing.
    if (
        proposal is None
        or stage is None
        or not permissions.can_open_review(current_person(), assignment, proposal)
    ):
        abort(404)
    return assignment, proposal, stage


def _saved_values(review: Review | None) -> dict[str, Any]:
    if review is None:
        return {"scores": {}, "comment_for_applicant": "", "comment_for_jury": "", "confidence": ""}
    return {
        "scores": dict(review.scores or {}),
        "comment_for_applicant": review.comment_for_applicant,
        "comment_for_jury": review.comment_for_jury,
        "confidence": str(review.confidence or ""),
    }


def _typed_values(stage: Stage, fields: Mapping[str, str]) -> dict[str, Any]:
    return {
        "scores": {str(c.id): fields.get(ops.score_field(str(c.id)), "") for c in stage.criteria},
        "comment_for_applicant": fields.get("comment_for_applicant", ""),
        "comment_for_jury": fields.get("comment_for_jury", ""),
        "confidence": fields.get("confidence", ""),
    }


def _review_page(
    assignment: Assignment,
    proposal: Proposal,
    stage: Stage,
    *,
    status: int = 200,
    errors: dict[str, list[str]] | None = None,
    typed: dict[str, Any] | None = None,
    kept: bool = False,
):  # type: ignore[no-untyped-def]
    me = current_person()
    review = queries.find_review(assignment)
    values = typed if typed is not None else _saved_values(review)
    rules = queries.scoring_criteria(stage)
    criteria = []
    for criterion, rule in zip(stage.criteria, rules, strict=True):
        chosen = str(values["scores"].get(rule.key, "") or "")
        options = [scoring.plain(v) for v in scoring.allowed_values(rule)]
        parsed = scoring.parse_score(chosen)
        chosen = scoring.plain(parsed) if parsed is not None else chosen
        criteria.append(
            {
                "criterion": criterion,
                "field": ops.score_field(rule.key),
                "options": options,
                "chosen": chosen,
                # A saved value the scale no longer offers stays visible instead of vanishing.
                "off_scale": bool(chosen) and chosen not in options,
                "scale": say(scoring.scale_words(rule)),
                "weight": scoring.plain(rule.weight),
            }
        )
    version = queries.find_latest_version(proposal.id, stage.id)
    total = None
    if review is not None and not scoring.validate_scores(review.scores or {}, rules):
        total = scoring.plain(scoring.weighted_total(review.scores, rules))
    own_submitted = review is not None and review.submitted_at is not None
    errors = errors or {}
    return (
        render_template(
            "reviews/review.html",
            assignment=assignment,
            proposal=proposal,
            stage=stage,
            call=stage.call,
            frozen=queries.frozen_proposal(version, stage) if version is not None else None,
            review=review,
            review_status=queries.review_status(review),
            status_labels=queries.STATUS_LABELS,
            criteria=criteria,
            values=values,
            total=total,
            errors=errors,
            can_write=permissions.can_write_review(me, assignment, proposal, stage, now=g.now),
            form=ReviewForm(),
            base_revision=review.revision if review is not None else 0,
            other_reviews=queries.list_other_reviews(
                assignment, proposal, stage, viewer=me, own=review
            ),
            others_visible=permissions.can_see_other_reviews(
                me, assignment, proposal, own_submitted=own_submitted
            ),
            confidence_levels=list(ops.CONFIDENCE_LEVELS),
            kept=kept,
        ),
        status,
    )


@bp.route("/reviews/assignments/<int:assignment_id>", methods=["GET", "POST"])
@roles_required(Role.JUROR)
def edit_review(assignment_id: int):  # type: ignore[no-untyped-def]
    """The review page. A POST saves what was typed (the autosave script asks for JSON) and,
    for the Submit button, submits in the same transaction: a refused submission keeps the
    saved draft and shows every problem at its field."""
    assignment, proposal, stage = _load(assignment_id)
    if request.method == "GET":
        # A form posted after the session had ended was kept; it is shown again after login.
        kept = pending.take(request.path, user_id=current_person().id, now=g.now).get(request.path)
        if kept:
            typed = _typed_values(stage, kept)
            return _review_page(assignment, proposal, stage, typed=typed, kept=True)
        return _review_page(assignment, proposal, stage)
    form = ReviewForm()
    if not form.validate_on_submit():
        if wants_json():
            return {"error": _("The form is incomplete. Reload the page.")}, 400
        abort(400)
    me = current_person()
    typed = _typed_values(stage, request.form)
    submitting = form.action.data == "submit" and not wants_json()
    outcome = perform(
        lambda: ops.save_review(
            assignment,
            actor=me,
            submit=submitting,
            scores={
                str(c.id): request.form[ops.score_field(str(c.id))]
                for c in stage.criteria
                if ops.score_field(str(c.id)) in request.form
            },
            comment_for_applicant=form.comment_for_applicant.data or "",
            comment_for_jury=form.comment_for_jury.data or "",
            confidence=form.confidence.data or None,
            base_revision=int(form.base_revision.data),
            now=g.now,
        )
    )
    error = outcome.error
    if isinstance(error, StaleState):
        if wants_json():
            return {"error": str(error), "conflict": True}, 409
        message = _(
            "Your review was saved meanwhile, in another window or tab. What you typed here is "
            "shown below; saving again replaces the other version."
        )
        return _review_page(
            assignment, proposal, stage, status=409, errors={"": [message]}, typed=typed
        )
    if error is not None:
        if wants_json():
            return {"error": str(error)}, outcome.status
        # Shown, not saved: the juror can still copy what they typed.
        flash(
            _("%(error)s What you typed is shown below; it was not saved.", error=str(error)),
            "error",
        )
        return _review_page(assignment, proposal, stage, status=outcome.status, typed=typed)
    saved = outcome.result
    problems = dict(saved.problems)
    if wants_json():
        status = queries.review_status(saved.review)
        return {
            "revision": saved.revision,
            "saved_at": g.now.isoformat(),
            # The page's script shows this as it is: 24-hour Europe/Berlin, whatever the
            # browser's clock and zone.
            "saved_at_shown": berlin_time(g.now, "%H:%M:%S"),
            "problems": problems,
            "status": status,
            "status_label": str(queries.STATUS_LABELS[status]),
        }
    if saved.submitted:
        due = stage.reviews_due_at
        flash(
            _(
                "Your review is submitted. You can change it until %(when)s.",
                when=format_berlin(due),
            )
            if due
            else _("Your review is submitted."),
            "success",
        )
        return redirect(url_for("reviews.edit_review", assignment_id=assignment.id), 303)
    if problems:
        return _review_page(assignment, proposal, stage, status=422, errors=problems, typed=typed)
    flash(_("Draft saved."), "success")
    return redirect(url_for("reviews.edit_review", assignment_id=assignment.id), 303)


# --- the officers' progress view ------------------------------------------------------------------


@bp.route("/stages/<int:stage_id>/review-progress")
@roles_required(Role.OFFICER)
def show_progress(stage_id: int):  # type: ignore[no-untyped-def]
    stage = queries.find_stage(stage_id)
    # Another programme's stages look the same as missing ones.
    if stage is None or not permissions.can_follow_progress(current_person(), stage):
        abort(404)
    q = params.text("q")
    juror_q = params.text("jq")
    late_only = request.args.get("late") == "1"
    progress = queries.stage_progress(
        stage,
        now=g.now,
        q=q,
        page=params.page(),
        juror_q=juror_q,
        juror_page=params.page("jpage"),
        late_only=late_only,
    )
    return render_template(
        "reviews/progress.html",
        stage=stage,
        call=stage.call,
        progress=progress,
        q=q,
        juror_q=juror_q,
        late_only=late_only,
        reminder_steps=ops.REMINDER_STEPS,
    )


# --- giving an assignment back ------------------------------------------------------------------


def _decline_page(
    assignment: Assignment,
    proposal: Proposal,
    stage: Stage,
    form: DeclineForm,
    *,
    status: int = 200,
):  # type: ignore[no-untyped-def]
    return render_template(
        "reviews/decline.html", assignment=assignment, proposal=proposal, stage=stage, form=form
    ), status


@bp.route("/reviews/assignments/<int:assignment_id>/decline")
@roles_required(Role.JUROR)
def confirm_decline(assignment_id: int):  # type: ignore[no-untyped-def]
    assignment, proposal, stage = _load(assignment_id)
    return _decline_page(assignment, proposal, stage, DeclineForm())


@bp.route("/reviews/assignments/<int:assignment_id>/decline", methods=["POST"])
@roles_required(Role.JUROR)
def decline(assignment_id: int):  # type: ignore[no-untyped-def]
    assignment, proposal, stage = _load(assignment_id)
    form = DeclineForm()
    declined = attempt(
        form,
        lambda: runs.decline(
            assignment, actor=current_person(), reason=form.reason.data or "", now=g.now
        ),
    )
    if declined.denied:
        abort(404)
    if declined.done:
        flash(
            _(
                "You have given %(reference)s back; the programme office has been told.",
                reference=proposal.reference,
            ),
            "success",
        )
        return redirect(url_for("reviews.list_assignments"))
    return _decline_page(assignment, proposal, stage, form, status=422)
