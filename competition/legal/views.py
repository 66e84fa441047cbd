"""The legal pages: open to everyone, signed in or not, at addresses that do not change."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, current_app, render_template

from competition.access import public, roles_required
from competition.accounts.models import Role
from competition.i18n import current_language
from competition.i18n import lazy_gettext as _l
from competition.legal import texts
from competition.legal.processing import PROCESSINGS

bp = Blueprint("legal", __name__)

TITLES = {
    "impressum": _l("Legal notice"),
    "datenschutz": _l("Privacy policy"),
    "barrierefreiheit": _l("Accessibility statement"),
}


def legal_folder() -> Path:
    configured = current_app.extensions["settings"].legal_folder
    return Path(configured) if configured else Path(current_app.instance_path) / "legal"


def _page(page: str, **extra: object):  # type: ignore[no-untyped-def]
    text = texts.find_text(page, language=current_language(), folder=legal_folder())
    return render_template(
        "legal/page.html", page=page, title=str(TITLES[page]), text=text, **extra
    )


@bp.route("/impressum")
@public
def show_legal_notice():  # type: ignore[no-untyped-def]
    return _page("impressum")


@bp.route("/datenschutz")
@public
def show_privacy_policy():  # type: ignore[no-untyped-def]
    # The operator's text, then what the system stores, from the same list as the records.
    return _page("datenschutz", processings=PROCESSINGS)


@bp.route("/barrierefreiheit")
@public
def show_accessibility_statement():  # type: ignore[no-untyped-def]
    return _page("barrierefreiheit")


@bp.route("/admin/processing")
@roles_required(Role.ADMIN)
def show_processing_records():  # type: ignore[no-untyped-def]
    """The records of processing activities (Art. 30 GDPR) for administrators: each
    processing with its data, purpose, legal basis, recipients, period and tables."""
    return render_template("legal/processing.html", processings=PROCESSINGS)
