"""Rendering and sending one message. ``smtp`` talks to the configured server; ``dev`` keeps the
message for the in-app development mailbox (used when no mail server is configured)."""

from __future__ import annotations

import hashlib
import smtplib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate

from flask import Flask, current_app, render_template

from competition.i18n import lazy_gettext as _
from config import Settings

SUBJECTS = {
    "accounts/confirm_email": _("Confirm your e-mail address"),
    "accounts/reset_password": _("Reset your password"),
    "accounts/already_registered": _("You already have an account"),
    "accounts/invitation": _("You are invited to take part in a funding competition"),
    "accounts/role_granted": _("You have a new role in the funding competition system"),
    "accounts/second_factor_reset": _("The second factor of your account was reset"),
    "accounts/sso_link": _("Link your account to a sign-in provider"),
    "proposals/receipt": _("Receipt: your proposal was submitted"),
    "proposals/withdrawn": _("Your proposal has been withdrawn"),
    "proposals/extension": _("Your deadline has been extended"),
    "proposals/next_stage": _("Your proposal advances: you are invited to the next stage"),
    "proposals/contributor_invitation": _("You are invited to work on a proposal"),
    "screening/ineligible": _("Your proposal did not pass the eligibility check"),
    "reviews/reminder": _("Reminder: your review is due"),
    "jury/invitation": _("You are invited to a competition jury"),
    "jury/assignments": _("Proposals for you to review"),
    "selection/letter": _("The decision on your proposal"),
    "hearings/timetable": _("The hearing timetable"),
    "clarifications/asked": _("The programme office asks about your proposal"),
    "clarifications/answered": _("A consortium has answered your clarification request"),
    "clarifications/extended": _("More time to answer the programme office's question"),
    "clarifications/reminder": _("Reminder: a question about your proposal is due tomorrow"),
    "clarifications/ended": _("A clarification request on your proposal has ended"),
    "reports/receipt": _("Receipt: your report was submitted"),
    "reports/accepted": _("Your report has been accepted"),
    "reports/changes_requested": _("Changes requested to your report"),
    "reports/reminder": _("Reminder: a report on your grant is due"),
    "evaluations/opened": _("The interim evaluation of your grant: report and plan are due"),
    "grants/offered": _("A grant is offered for your proposal"),
    "grants/answered": _("A consortium has answered its grant offer"),
    "grants/changed": _("News about your grant"),
    "payments/approved": _("Your payment request is approved"),
    "payments/rejected": _("Your payment request is rejected"),
    "payments/confirmation_waiting": _("A payment waits for your confirmation"),
    "personal_data/export_ready": _("Your data are ready to download"),
    "memberships/granted": _("Your membership is granted"),
    "memberships/renewed": _("Your membership is renewed"),
    "memberships/refused": _("Your membership application is refused"),
    "memberships/withdrawn": _("Your membership is withdrawn"),
    "memberships/reevaluation": _("The annual re-evaluation of your membership begins"),
}


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str  # "application/pdf"
    data: bytes


@dataclass(frozen=True)
class RenderedMessage:
    subject: str
    text: str
    html: str
    attachments: tuple[Attachment, ...] = ()


AttachmentBuilder = Callable[[dict[str, object]], Iterable[Attachment]]
_BUILDERS = "mail_attachments"


def register_attachments(app: Flask, template: str, build: AttachmentBuilder) -> None:
    """Messages of ``template`` carry the files ``build`` makes from the outbox row's context.
    Built at delivery, so an attachment is part of the one delivery of its row; areas register
    their builders at app creation because they sit above this one."""
    app.extensions.setdefault(_BUILDERS, {})[template] = build


def attachments_for(template: str, context: dict[str, object]) -> tuple[Attachment, ...]:
    build = current_app.extensions.get(_BUILDERS, {}).get(template)
    if build is None:
        return ()
    return tuple(build(context))


def render(
    template: str, context: dict[str, object], *, with_attachments: bool = True
) -> RenderedMessage:
    """The message; ``with_attachments=False`` leaves out the files (the development mailbox
    keeps text and HTML only, and a decision letter's PDF takes a moment to draw)."""
    return RenderedMessage(
        subject=str(SUBJECTS[template]),
        text=render_template(f"emails/{template}.txt", **context),
        html=render_template(f"emails/{template}.html", **context),
        attachments=attachments_for(template, context) if with_attachments else (),
    )


def message_id(dedup_key: str, domain: str = "competition.local") -> str:
    """Derived from the outbox key, so a message resent after a crash carries the same id and
    mail clients show it once."""
    digest = hashlib.sha256(dedup_key.encode()).hexdigest()[:32]
    return f"<{digest}@{domain}>"


def send_smtp(
    settings: Settings,
    *,
    to: str,
    message: RenderedMessage,
    msg_id: str,
    on_accepted: Callable[[], None] | None = None,
) -> None:
    """Hand the message to the server. ``on_accepted`` runs as soon as the server has accepted
    it (its reply to DATA), before QUIT: a worker that dies after that point has its message
    recorded, so nobody sends it again. A failing QUIT does not undo an accepted message."""
    email = EmailMessage()
    email["Subject"] = message.subject
    email["From"] = settings.mail_sender
    email["To"] = to
    email["Date"] = formatdate(usegmt=True)
    email["Message-ID"] = msg_id
    email.set_content(message.text)
    email.add_alternative(message.html, subtype="html")
    for attachment in message.attachments:
        maintype, _, subtype = attachment.content_type.partition("/")
        email.add_attachment(
            attachment.data, maintype=maintype, subtype=subtype, filename=attachment.filename
        )
    assert settings.mail_server is not None
    client = smtplib.SMTP(settings.mail_server, settings.mail_port, timeout=30)
    try:
        if settings.mail_use_tls:
            client.starttls()
        if settings.mail_username:
            client.login(settings.mail_username, settings.mail_password or "")
        client.send_message(email)
        if on_accepted is not None:
            on_accepted()
    finally:
        try:
            client.quit()
        except (smtplib.SMTPException, OSError):
            client.close()
