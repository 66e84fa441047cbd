"""The registry of organisations: officers' and administrators' list, detail, edit, import and
merge pages, and the search endpoint the consortium editor asks while a name is typed.

Views are thin: load (404), check, validate the form, call one operation, flash, redirect.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, url_for
from flask_babel import ngettext

from competition import params
from competition.access import current_person, roles_required, signed_in
from competition.accounts.models import Role
from competition.extensions import db
from competition.forms import attempt
from competition.i18n import gettext as _
from competition.organisations import operations as ops
from competition.organisations import queries
from competition.organisations.forms import ImportForm, MergeForm, OrganisationForm
from competition.organisations.models import FederalState, Organisation, OrganisationKind
from competition.organisations.permissions import can_manage_registry, can_search_registry

bp = Blueprint("organisations", __name__)
KEEPERS = (Role.OFFICER, Role.ADMIN)


def _keeper() -> None:
    if not can_manage_registry(current_person()):
        abort(403)


def _load(organisation_id: int) -> Organisation:
    _keeper()
    organisation = db.session.get(Organisation, organisation_id)
    if organisation is None:
        abort(404)
    return organisation


@bp.route("/organisations")
@roles_required(*KEEPERS)
def list_organisations():  # type: ignore[no-untyped-def]
    _keeper()
    filters = queries.RegistryFilters(
        q=params.text("q"),
        kind=params.choice("kind", OrganisationKind),
        federal_state=params.choice("federal_state", FederalState),
        country=params.text("country", length=2),
        merged=params.text("merged") == "1",
    )
    page = queries.list_organisations(filters, page=params.page())
    return render_template(
        "organisations/list.html",
        filters=filters,
        page=page,
        clusters=queries.cluster_counts(o.id for o in page.items),
        countries=queries.countries(),
        kinds=list(OrganisationKind),
        states=list(FederalState),
    )


@bp.route("/organisations/search")
@signed_in
def search_organisations():  # type: ignore[no-untyped-def]
    """JSON for the consortium editor and the juror's profile: at most 20 organisations in use
    whose name contains ``q``."""
    allowed = can_search_registry(current_person())
    if not allowed:
        return {"error": allowed.reason}, 403
    found = queries.search(params.text("q"))
    return {
        "results": [
            {
                "id": o.id,
                "name": o.name,
                "kind": o.kind.value,
                "kind_name": o.kind.label,
                "federal_state": o.federal_state.value if o.federal_state else None,
                "federal_state_name": o.federal_state.label if o.federal_state else None,
                "country": o.country,
            }
            for o in found
        ]
    }


@bp.route("/organisations/<int:organisation_id>")
@roles_required(*KEEPERS)
def show_organisation(organisation_id: int):  # type: ignore[no-untyped-def]
    organisation = _load(organisation_id)
    return render_template("organisations/show.html", detail=queries.detail(organisation))


@bp.route("/organisations/<int:organisation_id>/edit", methods=["GET", "POST"])
@roles_required(*KEEPERS)
def edit_organisation(organisation_id: int):  # type: ignore[no-untyped-def]
    organisation = _load(organisation_id)
    form = OrganisationForm(
        data={
            "name": organisation.name,
            "kind": organisation.kind.value,
            "federal_state": organisation.federal_state.value if organisation.federal_state else "",
            "country": organisation.country,
        }
    )
    done = attempt(
        form,
        lambda: ops.update_organisation(
            organisation,
            actor=current_person(),
            name=form.name.data or "",
            kind=form.kind.data or "",
            federal_state=form.federal_state.data or None,
            country=form.country.data or "",
            now=g.now,
        ),
    )
    if done.done:
        flash(_("%(organisation)s saved.", organisation=organisation.name), "success")
        return redirect(url_for(".show_organisation", organisation_id=organisation.id))
    return (
        render_template("organisations/edit.html", organisation=organisation, form=form),
        done.status,
    )


@bp.route("/organisations/import", methods=["GET", "POST"])
@roles_required(*KEEPERS)
def import_organisations():  # type: ignore[no-untyped-def]
    _keeper()
    form = ImportForm()
    done = attempt(
        form,
        lambda: ops.import_organisations(
            actor=current_person(),
            data=form.file.data.read(),
            update_existing=bool(form.update_existing.data),
            now=g.now,
        ),
    )
    if done.done and done.result is not None:
        report = done.result
        flash(
            ngettext(
                "%(num)d organisation added to the registry.",
                "%(num)d organisations added to the registry.",
                len(report.inserted),
            ),
            "success",
        )
        return render_template("organisations/import_report.html", report=report)
    return render_template("organisations/import.html", form=form), done.status


@bp.route("/organisations/<int:organisation_id>/merge")
@roles_required(*KEEPERS)
def confirm_merge(organisation_id: int):  # type: ignore[no-untyped-def]
    """Choose the organisation to keep (a search), then confirm what the merge will move."""
    organisation = _load(organisation_id)
    into_id = params.number("into")
    into = queries.in_use([into_id]).get(into_id) if into_id is not None else None
    q = params.text("q")
    candidates = [o for o in queries.search(q) if o.id != organisation.id] if q else []
    return render_template(
        "organisations/merge.html",
        detail=queries.detail(organisation),
        into=queries.detail(into) if into is not None and into.id != organisation.id else None,
        q=q,
        candidates=candidates,
        form=MergeForm(data={"into": into.id if into is not None else ""}),
    )


@bp.route("/organisations/<int:organisation_id>/merge", methods=["POST"])
@roles_required(*KEEPERS)
def merge_organisation(organisation_id: int):  # type: ignore[no-untyped-def]
    organisation = _load(organisation_id)
    form = MergeForm()
    into_id = form.into.data if form.into.data and str(form.into.data).isdigit() else None
    into = db.session.get(Organisation, int(into_id)) if into_id and len(into_id) < 10 else None
    if into is None:
        abort(404)
    name, kept = organisation.name, into.name
    done = attempt(
        form,
        lambda: ops.merge_organisations(organisation, into=into, actor=current_person(), now=g.now),
    )
    if done.done:
        flash(
            _("%(merged)s was merged into %(kept)s.", merged=name, kept=kept),
            "success",
        )
        return redirect(url_for(".show_organisation", organisation_id=into.id))
    organisation = _load(organisation_id)
    return (
        render_template(
            "organisations/merge.html",
            detail=queries.detail(organisation),
            into=queries.detail(into) if into.id != organisation.id else None,
            q="",
            candidates=[],
            form=form,
        ),
        done.status,
    )
