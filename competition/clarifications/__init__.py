"""Clarification requests (Rückfragen): an officer asks a consortium for information with a
deadline during screening or review; its members answer with text and PDFs."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """The request threads on a proposal's pages (for its officers and its consortium)."""
    from competition.clarifications.queries import threads_for_reader
    from competition.proposals.panels import register_panel

    register_panel(app, "clarifications", threads_for_reader)
