"""The account's data page: download everything the system holds about me. Any signed-in
person; an export is only ever shown to and downloaded by its own person (404 for everyone
else, administrators too)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, g, jsonify, redirect, render_template, url_for

from competition.access import current_person, signed_in
from competition.accounts.forms import ConfirmForm
from competition.downloads import download
from competition.forms import attempt, messages_of
from competition.i18n import gettext as _
from competition.i18n import say
from competition.jobs import operations as jobs
from competition.personal_data import operations as ops
from competition.personal_data.models import DataExport
from competition.proposals import storage

bp = Blueprint("personal_data", __name__, url_prefix="/account/data")


def _own_export(export_id: int) -> DataExport:
    export = ops.latest_export(current_person())
    if export is None or export.id != export_id:
        abort(404)
    return export


def _state_label(export: DataExport) -> str:
    if jobs.is_dead(export.job):
        return _("Interrupted")
    return {
        "queued": _("Waiting"),
        "running": _("Being gathered"),
        "done": _("Ready"),
        "failed": _("Failed"),
    }[export.job.state.value]


@bp.route("")
@signed_in
def show_data():  # type: ignore[no-untyped-def]
    export = ops.latest_export(current_person())
    downloadable = (
        export is not None and ops.find_download(current_person(), export.id, now=g.now) is not None
    )
    return render_template(
        "personal_data/page.html",
        form=ConfirmForm(),
        export=export,
        building=ops.is_building(export),
        interrupted=export is not None and jobs.is_dead(export.job),
        failed=export is not None and export.job.state.value == "failed",
        downloadable=downloadable,
        label=_state_label(export) if export is not None else "",
        days=ops.days_kept(),
    )


@bp.route("/export", methods=["POST"])
@signed_in
def start_export():  # type: ignore[no-untyped-def]
    form = ConfirmForm()
    started = attempt(form, lambda: ops.start_export(current_person(), now=g.now))
    if started.done:
        flash(
            _("Your data are being gathered. You will get an e-mail when they are ready."), "info"
        )
    elif started.error is not None:
        for message in messages_of(started.error):
            flash(message, "error")
    return redirect(url_for(".show_data"), 303)


@bp.route("/exports/<int:export_id>.json")
@signed_in
def export_status(export_id: int):  # type: ignore[no-untyped-def]
    """Polled by the data page while an export is being gathered."""
    export = _own_export(export_id)
    dead = jobs.is_dead(export.job)
    return jsonify(
        state=export.job.state.value,
        label=_state_label(export),
        progress=export.job.progress,
        message=say(jobs.DEAD if dead else export.job.message),
        finished=not jobs.is_live(export.job),
    )


@bp.route("/exports/<int:export_id>/download")
@signed_in
def download_export(export_id: int):  # type: ignore[no-untyped-def]
    export = ops.find_download(current_person(), export_id, now=g.now)
    if export is None or export.storage_key is None:
        abort(404)
    try:
        data = storage.read(export.storage_key)
    except FileNotFoundError:
        abort(404)
    return download(
        data, filename=ops.download_name(export), mimetype="application/zip", private=True
    )
