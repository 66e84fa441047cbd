"""Membership pages: the public list of members; the applicant's application, profile and member
list; the evaluation form; the officers' list, decision (with a preview before a withdrawal),
criteria and evaluators. A membership is seen only by its applicant, the programme's officers
and its evaluators; anyone else gets 404.

Views are thin: load (404), check (403), validate the form, call one operation, flash, redirect.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import ngettext

from competition import params
from competition.access import current_person, public, roles_required, signed_in
from competition.accounts.models import Role
from competition.core import memberships as rules
from competition.core import scoring
from competition.extensions import db
from competition.forms import attempt, perform, show_errors
from competition.i18n import gettext as _
from competition.i18n import lazy_gettext as _l
from competition.memberships import operations as ops
from competition.memberships import permissions, queries
from competition.memberships.forms import (
    ApplyForm,
    CriterionForm,
    DecisionForm,
    EvaluationForm,
    EvaluatorForm,
    MemberForm,
    MembersFileForm,
    ServicesForm,
)
from competition.memberships.models import (
    RECOMMENDATION_LABELS,
    Membership,
    MembershipCriterion,
    MembershipState,
    Recommendation,
)
from competition.organisations.models import FederalState, Organisation
from competition.programmes.models import Programme
from competition.proposals.forms import ButtonForm
from competition.workflow import history, offered

bp = Blueprint("memberships", __name__)

# A membership's history, by the lifecycle's actions. Lazy: read in the page's language.
STEP_LABELS = {
    "start_evaluation": _l("Evaluation opened"),
    "grant": _l("Granted"),
    "refuse": _l("Refused"),
    "start_reevaluation": _l("Re-evaluation opened"),
    "renew": _l("Renewed"),
    "withdraw": _l("Withdrawn"),
    "retract": _l("Application withdrawn by the applicant"),
}


@bp.app_template_filter("day")
def day(value: Any) -> str:
    """A day (a membership's period) as German and English readers of this product write it:
    05.12.2026. Takes a date or its ISO text (kept in an e-mail's context)."""
    if not value:
        return "–"
    if isinstance(value, str):
        import datetime as dt

        value = dt.date.fromisoformat(value[:10])
    return str(value.strftime("%d.%m.%Y"))


# --- loading -------------------------------------------------------------------------------------


def _membership(membership_id: int) -> Membership:
    membership = queries.find_membership(membership_id)
    if membership is None or not permissions.can_see(current_person(), membership):
        abort(404)
    return membership


def _set_up_programme(programme_id: int) -> Programme:
    """A membership programme the officer runs; any other looks like one that does not exist."""
    programme = queries.find_programme(programme_id)
    if programme is None or not permissions.can_set_up(current_person(), programme):
        abort(404)
    return programme


def _back(membership: Membership, message: str, anchor: str | None = None) -> Any:
    flash(message, "success")
    return redirect(url_for(".show_membership", membership_id=membership.id, _anchor=anchor))


# --- the public list -----------------------------------------------------------------------------


@bp.route("/programmes/<slug>/members")
@public
def public_members(slug: str):  # type: ignore[no-untyped-def]
    """The members of a membership programme, for anyone: only memberships in force."""
    programme = queries.find_membership_programme(slug)
    if programme is None:
        abort(404)
    q = params.text("q")
    state = params.choice("federal_state", FederalState)
    return render_template(
        "memberships/public.html",
        programme=programme,
        q=q,
        federal_state=state,
        states=list(FederalState),
        page=queries.public_members(
            programme,
            today=queries.today_in_berlin(g.now),
            q=q,
            federal_state=state,
            page=params.page(),
        ),
    )


# --- the start page of memberships ---------------------------------------------------------------


@bp.route("/memberships")
@signed_in
def overview():  # type: ignore[no-untyped-def]
    """What the signed-in person does with memberships: an applicant's own applications and the
    programmes to apply to; an evaluator's memberships to evaluate; an officer's programmes."""
    me = current_person()
    applicant = me.has_role(Role.APPLICANT)
    return render_template(
        "memberships/overview.html",
        mine=queries.list_for_applicant(me) if applicant else [],
        programmes=queries.membership_programmes() if applicant else [],
        to_evaluate=queries.list_to_evaluate(me) if me.has_role(Role.JUROR, Role.OFFICER) else [],
        run=queries.programmes_run_by(me) if me.has_role(Role.OFFICER) else [],
        applicant=applicant,
    )


# --- applying and the profile ----------------------------------------------------------------


@bp.route("/programmes/<int:programme_id>/memberships/apply", methods=["GET", "POST"])
@roles_required(Role.APPLICANT)
def apply(programme_id: int):  # type: ignore[no-untyped-def]
    programme = queries.find_programme(programme_id)
    if programme is None or not programme.is_membership:
        abort(404)
    me = current_person()
    form = ApplyForm()
    if request.method == "GET" and me.organisation_id is not None:
        own = db.session.get(Organisation, me.organisation_id)
        form.organisation.data = own.name if own is not None else ""
    applied = attempt(
        form,
        lambda: ops.apply_for_membership(
            programme,
            actor=me,
            organisation_name=form.organisation.data or "",
            kind=form.kind.data or None,
            federal_state=form.federal_state.data or None,
            services=form.services.data or "",
            now=g.now,
        ),
    )
    if applied.done:
        flash(_("Your application is in. Add the cluster's member organisations now."), "success")
        return redirect(
            url_for(".show_membership", membership_id=applied.result.id, _anchor="members")  # type: ignore[union-attr]
        )
    return render_template("memberships/apply.html", programme=programme, form=form), applied.status


def _page(membership: Membership, status: int = 200, **extra: Any):  # type: ignore[no-untyped-def]
    """The membership's page, everything loaded up front; each reader sees their part."""
    me = current_person()
    officer = bool(permissions.can_manage(me, membership))
    holder = permissions.is_holder(me, membership)
    editable = bool(permissions.can_edit_profile(me, membership))
    q = params.text("q")
    evaluations = queries.evaluations_of(membership)
    if not officer:
        evaluations = [e for e in evaluations if e.evaluator_id == me.id]
    return render_template(
        "memberships/show.html",
        membership=membership,
        counts=queries.counts_of(membership),
        members=queries.list_members(membership, q=q, page=params.page()),
        q=q,
        criterion_names={c.id: c.name for c in queries.criteria_of(membership.programme_id)},
        evaluations=evaluations,
        decisions=queries.decisions_of(membership),
        steps=history("membership", [membership.id]),
        step_labels=STEP_LABELS,
        officer=officer,
        holder=holder,
        editable=editable,
        may_evaluate=bool(permissions.can_evaluate(me, membership)),
        decisions_offered=ops.decisions_offered(membership) if officer else [],
        actions=offered(
            membership,
            {
                "retract": holder,
                "start_reevaluation": officer,
            },
        ),
        services_form=extra.pop("services_form", None)
        or ServicesForm(formdata=None, data={"services": membership.services}),
        member_form=extra.pop("member_form", None) or MemberForm(formdata=None),
        file_form=extra.pop("file_form", None) or MembersFileForm(formdata=None),
        button_form=ButtonForm(formdata=None),
        **extra,
    ), status


@bp.route("/memberships/<int:membership_id>")
@signed_in
def show_membership(membership_id: int):  # type: ignore[no-untyped-def]
    return _page(_membership(membership_id))


@bp.route("/memberships/<int:membership_id>/services", methods=["POST"])
@roles_required(Role.APPLICANT)
def update_services(membership_id: int):  # type: ignore[no-untyped-def]
    membership = _membership(membership_id)
    form = ServicesForm()
    saved = attempt(
        form,
        lambda: ops.update_services(
            membership, actor=current_person(), services=form.services.data or "", now=g.now
        ),
    )
    if saved.done:
        return _back(membership, _("The services are saved."), "services")
    return _page(_membership(membership_id), saved.status, services_form=form)


@bp.route("/memberships/<int:membership_id>/members", methods=["POST"])
@roles_required(Role.APPLICANT)
def add_member(membership_id: int):  # type: ignore[no-untyped-def]
    membership = _membership(membership_id)
    form = MemberForm()
    added = attempt(
        form,
        lambda: ops.add_member(
            membership,
            actor=current_person(),
            name=form.name.data or "",
            kind=form.kind.data or None,
            federal_state=form.federal_state.data or None,
            now=g.now,
        ),
    )
    if added.done:
        return _back(membership, _("The member organisation is added."), "members")
    return _page(_membership(membership_id), added.status, member_form=form)


@bp.route("/memberships/<int:membership_id>/members/import", methods=["POST"])
@roles_required(Role.APPLICANT)
def import_members(membership_id: int):  # type: ignore[no-untyped-def]
    membership = _membership(membership_id)
    form = MembersFileForm()
    imported = attempt(
        form,
        lambda: ops.add_members_from_file(
            membership, actor=current_person(), data=form.file.data.read(), now=g.now
        ),
    )
    if imported.done and imported.result is not None:
        report = imported.result
        flash(
            ngettext(
                "%(num)d member organisation added from the file.",
                "%(num)d member organisations added from the file.",
                len(report.added),
            ),
            "success",
        )
        # The report is the answer to the post (it is not stored), as the registry's import.
        return _page(_membership(membership_id), report=report)
    return _page(_membership(membership_id), imported.status, file_form=form)


@bp.route("/memberships/<int:membership_id>/members/<int:organisation_id>/remove", methods=["POST"])
@roles_required(Role.APPLICANT)
def remove_member(membership_id: int, organisation_id: int):  # type: ignore[no-untyped-def]
    membership = _membership(membership_id)
    removed = attempt(
        ButtonForm(),
        lambda: ops.remove_member(
            membership, actor=current_person(), organisation_id=organisation_id, now=g.now
        ),
    )
    if removed.done:
        return _back(membership, _("The member organisation is removed."), "members")
    flash(str(removed.error or _("Nothing was changed.")), "error")
    return redirect(url_for(".show_membership", membership_id=membership.id, _anchor="members"))


@bp.route("/memberships/<int:membership_id>/retract", methods=["POST"])
@roles_required(Role.APPLICANT)
def retract(membership_id: int):  # type: ignore[no-untyped-def]
    membership = _membership(membership_id)
    retracted = attempt(
        ButtonForm(),
        lambda: ops.retract_application(membership, actor=current_person(), now=g.now),
    )
    if retracted.done:
        return _back(membership, _("Your application is withdrawn."))
    flash(str(retracted.error or _("Nothing was changed.")), "error")
    return _page(_membership(membership_id), retracted.status)


# --- evaluation ----------------------------------------------------------------------------------


def _scores_posted(criteria: list[MembershipCriterion]) -> dict[str, str]:
    return {
        str(c.id): request.form.get(ops.score_field(c.id), "")[: scoring.MAX_SCORE_CHARS + 5]
        for c in criteria
    }


def _score_items(
    criteria: list[MembershipCriterion], chosen: dict[str, str]
) -> list[dict[str, Any]]:
    items = []
    for criterion in criteria:
        grid = scoring.Criterion(
            str(criterion.id),
            criterion.name,
            criterion.weight,
            criterion.scale_min,
            criterion.scale_max,
            criterion.scale_step,
        )
        items.append(
            {
                "criterion": criterion,
                "field": ops.score_field(criterion.id),
                "options": [scoring.plain(v) for v in scoring.allowed_values(grid)],
                "chosen": chosen.get(str(criterion.id), ""),
            }
        )
    return items


@bp.route("/memberships/<int:membership_id>/evaluation", methods=["GET", "POST"])
@roles_required(Role.OFFICER, Role.JUROR)
def evaluate(membership_id: int):  # type: ignore[no-untyped-def]
    membership = _membership(membership_id)
    me = current_person()
    allowed = permissions.can_evaluate(me, membership)
    if not allowed and request.method == "POST":
        abort(403)
    criteria = queries.criteria_of(membership.programme_id)
    own = queries.find_evaluation(membership, me) if allowed else None
    form = EvaluationForm()
    form.recommendation.choices = [
        (r.value, RECOMMENDATION_LABELS[r]) for r in ops.recommendations_for(membership)
    ]
    if request.method == "GET" and own is not None:
        form.recommendation.data = own.recommendation.value
        form.comment.data = own.comment
    chosen = (
        _scores_posted(criteria)
        if request.method == "POST"
        else {str(s.criterion_id): s.score for s in own.scores}
        if own is not None
        else {}
    )
    recorded = attempt(
        form,
        lambda: ops.record_evaluation(
            membership,
            actor=me,
            scores=_scores_posted(criteria),
            comment=form.comment.data or "",
            recommendation=form.recommendation.data or "",
            now=g.now,
        ),
    )
    if recorded.done:
        return _back(membership, _("Your evaluation is recorded."), "evaluations")
    errors = recorded.error.errors if recorded.error is not None else {}
    return render_template(
        "memberships/evaluate.html",
        membership=membership,
        counts=queries.counts_of(membership),
        form=form,
        items=_score_items(criteria, chosen),
        errors=errors,
        own=own,
        refusal=None if allowed else allowed.reason,
    ), recorded.status


# --- officers: decisions and re-evaluation -------------------------------------------------------


DECISION_LABELS = {
    "grant": RECOMMENDATION_LABELS[Recommendation.GRANT],
    "refuse": RECOMMENDATION_LABELS[Recommendation.REFUSE],
    "renew": RECOMMENDATION_LABELS[Recommendation.RENEW],
    "withdraw": RECOMMENDATION_LABELS[Recommendation.WITHDRAW],
}


def _officer_membership(membership_id: int) -> Membership:
    membership = _membership(membership_id)
    if not permissions.can_manage(current_person(), membership):
        abort(403)
    return membership


def _decision_page(membership: Membership, form: DecisionForm, status: int = 200, **extra: Any):  # type: ignore[no-untyped-def]
    me = current_person()
    today = queries.today_in_berlin(g.now)
    evaluations = (
        queries.evaluations_of(membership, round=membership.round)
        if membership.state in (MembershipState.IN_EVALUATION, MembershipState.IN_REEVALUATION)
        else []
    )
    form.evaluation_id.choices = [(str(e.id), str(e.id)) for e in evaluations]
    if membership.state == MembershipState.IN_REEVALUATION and membership.valid_until:
        period = rules.renewed_period(membership.valid_until)
    else:
        period = rules.first_period(today)
    if form.valid_from.data is None and not form.is_submitted():
        form.valid_from.data, form.valid_until.data = period
    return render_template(
        "memberships/decide.html",
        membership=membership,
        counts=queries.counts_of(membership),
        form=form,
        evaluations=evaluations,
        me=me,
        offered=ops.decisions_offered(membership),
        labels=DECISION_LABELS,
        **extra,
    ), status


@bp.route("/memberships/<int:membership_id>/decision", methods=["GET", "POST"])
@roles_required(Role.OFFICER)
def decide(membership_id: int):  # type: ignore[no-untyped-def]
    membership = _officer_membership(membership_id)
    form = DecisionForm()
    if not form.is_submitted():
        return _decision_page(membership, form)
    action = form.action.data or ""

    def chosen_id() -> int | None:
        value = form.evaluation_id.data or ""
        return int(value) if value.isdigit() and len(value) < 10 else None

    def seen() -> int | None:
        # The revision of the chosen evaluation as the page showed it.
        value = request.form.get(f"revision-{chosen_id()}", "")
        return int(value) if value.isdigit() and len(value) < 10 else None

    arguments = {
        "actor": current_person(),
        "action": action,
        "evaluation_id": chosen_id(),
        "seen_revision": seen(),
        "valid_from": form.valid_from.data,
        "valid_until": form.valid_until.data,
        "reason": form.reason.data or "",
    }
    if action == "withdraw" and form.confirmed.data != "1":
        # A withdrawal ends a membership the public list shows: say what it does, then ask.
        if not form.validate_on_submit():
            return _decision_page(membership, form, 422)
        checked = perform(lambda: ops.plan_decision(membership, **arguments))
        if checked.error is not None:
            show_errors(form, checked.error)
            return _decision_page(_officer_membership(membership_id), form, checked.status)
        return render_template(
            "memberships/confirm_withdrawal.html",
            membership=membership,
            counts=queries.counts_of(membership),
            plan=checked.result,
            form=form,
        )
    decided = attempt(form, lambda: ops.decide(membership, now=g.now, **arguments))
    if decided.done:
        done = {
            "grant": _("The membership is granted; the organisation is told by e-mail."),
            "refuse": _("The membership is refused; the organisation is told by e-mail."),
            "renew": _("The membership is renewed; the organisation is told by e-mail."),
            "withdraw": _("The membership is withdrawn; the organisation is told by e-mail."),
        }
        return _back(membership, done[action])
    return _decision_page(_officer_membership(membership_id), form, decided.status)


@bp.route("/memberships/<int:membership_id>/reevaluate", methods=["POST"])
@roles_required(Role.OFFICER)
def reevaluate(membership_id: int):  # type: ignore[no-untyped-def]
    membership = _officer_membership(membership_id)
    started = attempt(
        ButtonForm(),
        lambda: ops.start_reevaluation(membership, actor=current_person(), now=g.now),
    )
    if started.done:
        return _back(
            membership, _("The re-evaluation is open; the organisation is told by e-mail.")
        )
    flash(str(started.error or _("Nothing was changed.")), "error")
    return _page(_membership(membership_id), started.status)


# --- officers: the programme's memberships, criteria and evaluators ------------------------


@bp.route("/programmes/<int:programme_id>/memberships")
@roles_required(Role.OFFICER)
def list_for_programme(programme_id: int):  # type: ignore[no-untyped-def]
    programme = _set_up_programme(programme_id)
    filters = queries.ListFilters(q=params.text("q"), state=params.choice("state", MembershipState))
    return render_template(
        "memberships/list.html",
        programme=programme,
        filters=filters,
        states=list(MembershipState),
        counts=queries.state_counts(programme),
        page=queries.list_for_programme(programme, filters, page=params.page()),
    )


def _criteria_page(programme: Programme, status: int = 200, **forms: Any):  # type: ignore[no-untyped-def]
    return render_template(
        "memberships/criteria.html",
        programme=programme,
        criteria=queries.criteria_of(programme.id),
        scored=queries.scored_criterion_ids(programme.id),
        evaluators=queries.evaluators_of(programme.id),
        criterion_form=forms.get("criterion_form") or CriterionForm(formdata=None),
        evaluator_form=forms.get("evaluator_form") or EvaluatorForm(formdata=None),
        button_form=ButtonForm(formdata=None),
    ), status


@bp.route("/programmes/<int:programme_id>/membership-criteria")
@roles_required(Role.OFFICER)
def list_criteria(programme_id: int):  # type: ignore[no-untyped-def]
    return _criteria_page(_set_up_programme(programme_id))


def _criterion_values(form: CriterionForm) -> dict[str, Any]:
    return {
        "name": form.name.data or "",
        "description": form.description.data or "",
        "weight": form.weight.data,
        "scale_min": form.scale_min.data,
        "scale_max": form.scale_max.data,
        "scale_step": form.scale_step.data,
    }


@bp.route("/programmes/<int:programme_id>/membership-criteria", methods=["POST"])
@roles_required(Role.OFFICER)
def add_criterion(programme_id: int):  # type: ignore[no-untyped-def]
    programme = _set_up_programme(programme_id)
    form = CriterionForm()
    added = attempt(
        form,
        lambda: ops.add_criterion(
            programme, actor=current_person(), now=g.now, **_criterion_values(form)
        ),
    )
    if added.done:
        flash(_("The criterion is added."), "success")
        return redirect(url_for(".list_criteria", programme_id=programme.id))
    return _criteria_page(programme, added.status, criterion_form=form)


def _criterion(criterion_id: int) -> MembershipCriterion:
    criterion = db.session.get(MembershipCriterion, criterion_id)
    if criterion is None:
        abort(404)
    _set_up_programme(criterion.programme_id)
    return criterion


@bp.route("/membership-criteria/<int:criterion_id>/edit", methods=["GET", "POST"])
@roles_required(Role.OFFICER)
def edit_criterion(criterion_id: int):  # type: ignore[no-untyped-def]
    criterion = _criterion(criterion_id)
    form = CriterionForm()
    if not form.is_submitted():
        form = CriterionForm(
            formdata=None,
            data={
                "name": criterion.name,
                "description": criterion.description,
                "weight": scoring.plain(criterion.weight),
                "scale_min": scoring.plain(criterion.scale_min),
                "scale_max": scoring.plain(criterion.scale_max),
                "scale_step": scoring.plain(criterion.scale_step),
            },
        )
    saved = attempt(
        form,
        lambda: ops.update_criterion(
            criterion, actor=current_person(), now=g.now, **_criterion_values(form)
        ),
    )
    if saved.done:
        flash(_("The criterion is saved."), "success")
        return redirect(url_for(".list_criteria", programme_id=criterion.programme_id))
    programme = queries.find_programme(criterion.programme_id)
    return render_template(
        "memberships/criterion_form.html", criterion=criterion, programme=programme, form=form
    ), saved.status


@bp.route("/membership-criteria/<int:criterion_id>/remove", methods=["POST"])
@roles_required(Role.OFFICER)
def remove_criterion(criterion_id: int):  # type: ignore[no-untyped-def]
    criterion = _criterion(criterion_id)
    programme_id = criterion.programme_id
    removed = attempt(
        ButtonForm(), lambda: ops.remove_criterion(criterion, actor=current_person(), now=g.now)
    )
    if removed.done:
        flash(_("The criterion is removed."), "success")
    else:
        flash(str(removed.error or _("Nothing was changed.")), "error")
    return redirect(url_for(".list_criteria", programme_id=programme_id))


@bp.route("/programmes/<int:programme_id>/membership-evaluators", methods=["POST"])
@roles_required(Role.OFFICER)
def add_evaluator(programme_id: int):  # type: ignore[no-untyped-def]
    programme = _set_up_programme(programme_id)
    form = EvaluatorForm()
    added = attempt(
        form,
        lambda: ops.add_evaluator(
            programme, actor=current_person(), email=form.email.data or "", now=g.now
        ),
    )
    if added.done:
        flash(_("The juror evaluates the programme's memberships."), "success")
        return redirect(url_for(".list_criteria", programme_id=programme.id, _anchor="evaluators"))
    return _criteria_page(programme, added.status, evaluator_form=form)


@bp.route(
    "/programmes/<int:programme_id>/membership-evaluators/<int:user_id>/remove",
    methods=["POST"],
)
@roles_required(Role.OFFICER)
def remove_evaluator(programme_id: int, user_id: int):  # type: ignore[no-untyped-def]
    programme = _set_up_programme(programme_id)
    removed = attempt(
        ButtonForm(),
        lambda: ops.remove_evaluator(programme, actor=current_person(), user_id=user_id, now=g.now),
    )
    if removed.done:
        flash(_("The juror no longer evaluates."), "success")
    else:
        flash(str(removed.error or _("Nothing was changed.")), "error")
    return redirect(url_for(".list_criteria", programme_id=programme.id, _anchor="evaluators"))
