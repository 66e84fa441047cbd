"""The development mailbox: with no mail server configured, administrators read sent mail here."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, render_template

from competition import params
from competition.access import roles_required
from competition.accounts.models import Role
from competition.extensions import db
from competition.notifications import mailer
from competition.notifications.models import Notification, NotificationState

bp = Blueprint("notifications", __name__)
PER_PAGE = 50


def _require_dev_mailbox() -> None:
    if current_app.extensions["settings"].mail_backend != "dev":
        abort(404)


@bp.route("/dev/mailbox")
@roles_required(Role.ADMIN)
def list_mail():  # type: ignore[no-untyped-def]
    _require_dev_mailbox()
    to = params.text("to").lower()
    query = sa.select(Notification).where(Notification.state == NotificationState.SENT)
    if to:
        query = query.where(Notification.to_address.like(f"%{to}%"))
    page = db.paginate(
        query.order_by(Notification.id.desc()),
        page=params.page(),
        per_page=PER_PAGE,
        error_out=False,
    )
    return render_template("notifications/mailbox.html", page=page, to=to)


@bp.route("/dev/mailbox/<int:notification_id>")
@roles_required(Role.ADMIN)
def show_mail(notification_id: int):  # type: ignore[no-untyped-def]
    _require_dev_mailbox()
    message = db.session.get(Notification, notification_id)
    if message is None or message.state != NotificationState.SENT:
        abort(404)
    attachments = mailer.attachments_for(message.template, message.context)
    return render_template(
        "notifications/message.html",
        message=message,
        attachments=[a.filename for a in attachments],
    )
