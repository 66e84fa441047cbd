"""Clarification requests (Rückfragen): an officer asks a consortium for information with a
deadline during screening or review; its members answer with text and PDFs."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """The request threads on a proposal's pages (for its officers and its consortium); on the
    officers' proposal list, a filter and a marker for proposals with an open request."""
    from competition.clarifications.queries import proposals_with_open_request, threads_for_reader
    from competition.i18n import lazy_gettext as _l
    from competition.proposals.list_marks import ListMark, register_mark
    from competition.proposals.panels import register_panel

    register_panel(app, "clarifications", threads_for_reader)
    register_mark(
        app,
        ListMark(
            key="open_clarification",
            label=_l("With an open clarification request"),
            marker=_l("Clarification open"),
            proposal_ids=proposals_with_open_request,
        ),
    )
