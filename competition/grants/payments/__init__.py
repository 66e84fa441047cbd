"""Disbursement requests (Mittelabruf) of a grant, their four-eyes approval and export for the
ministry's payment system, and the programme's money view."""

from __future__ import annotations

from typing import Any

from flask import Flask, before_render_template


def init_app(app: Flask) -> None:
    """The payments panel on the grant's page: whichever view renders ``grants/show.html``
    with a ``grant``, the panel's data is loaded just before the page renders (so the template
    runs no query), for the signed-in reader (at the request's time; the clock outside a
    request)."""

    def load_panel(sender: Flask, template: Any, context: dict[str, Any], **_: Any) -> None:
        if template.name != "grants/show.html" or "grant" not in context:
            return
        if "payments" in context:
            return
        from flask import g
        from flask_login import current_user

        from competition.access import current_person
        from competition.db import utcnow
        from competition.grants.payments.panel import panel

        if not current_user.is_authenticated:
            context["payments"] = None  # nobody to show it to: the panel stays empty
            return
        now = getattr(g, "now", None) or utcnow()
        context["payments"] = panel(context["grant"], current_person(), now=now)

    before_render_template.connect(load_panel, app, weak=False)
