"""Interim evaluations of funded grants: at the end of a phase, an evaluation stage of the
grant's call (``StageKind.INTERIM_EVALUATION``) through which the consortium submits its report,
the next phase's plan and budget, jurors review it, the panel meets and two officers decide
whether the grant continues (with conditions) or stops; publishing the decision releases the
next phase's money or ends the grant."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Publishing an evaluation's decision acts on the grant (selection sits below grants and
    calls what is registered)."""
    from competition.grants.evaluations.operations import apply_published_evaluation
    from competition.selection.publication.hooks import register_on_publish

    register_on_publish(app, apply_published_evaluation)
