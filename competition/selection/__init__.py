"""Selection: rankings, the funding line, the panel, decisions, publication and letters."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """What the selection area lends to the areas below it: the letter as a PDF on its e-mail,
    and the published letters on a proposal's pages."""
    from competition.notifications.mailer import register_attachments
    from competition.proposals.panels import register_panel
    from competition.selection.letters.pdf import mail_attachments
    from competition.selection.letters.queries import list_published

    register_attachments(app, "selection/letter", mail_attachments)
    register_panel(app, "letters", list_published)
