"""What areas above selection do when a decision is published (a grant is offered for a
"fund", a concept phase for an "advance" from a stage that funds one), registered at app
creation so that selection never imports them. A hook runs inside the publication's
transaction: what it refuses (a ``DomainError``) leaves the decision unpublished, recorded as
a failed letter with the hook's reason."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from flask import Flask, current_app

from competition.accounts.models import User
from competition.programmes.models import Stage
from competition.proposals.models import Proposal
from competition.selection.models import Decision

_KEY = "decision_published_hooks"

Hook = Callable[[Decision, Proposal, Stage, User, dt.datetime], None]


def register_on_publish(app: Flask, hook: Hook) -> None:
    """``hook(decision, proposal, stage, actor, now)`` runs as each decision is published."""
    app.extensions.setdefault(_KEY, []).append(hook)


def run_hooks(
    decision: Decision, proposal: Proposal, stage: Stage, actor: User, now: dt.datetime
) -> None:
    hooks: list[Hook] = current_app.extensions.get(_KEY, [])
    for hook in hooks:
        hook(decision, proposal, stage, actor, now)
