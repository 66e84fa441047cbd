"""What later areas add to a proposal's pages (its decision letters, later its grant) and who
else may read its documents (the jurors it is assigned to), each registered at app creation, so
that the proposals area never imports the areas above it."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask, current_app

from competition.accounts.models import User
from competition.proposals.models import Attachment, Proposal

_KEY = "proposal_panels"
_READERS = "attachment_readers"

Loader = Callable[[Proposal], object]


def register_panel(app: Flask, name: str, load: Loader) -> None:
    """``name`` becomes a template variable of the proposal's pages, loaded by ``load``."""
    app.extensions.setdefault(_KEY, {})[name] = load


def load_panels(proposal: Proposal) -> dict[str, object]:
    loaders: dict[str, Loader] = current_app.extensions.get(_KEY, {})
    return {name: load(proposal) for name, load in loaders.items()}


Reader = Callable[[User, Attachment], bool]


def register_reader(app: Flask, may_read: Reader) -> None:
    """Someone besides the consortium and the officers who may download an attachment."""
    app.extensions.setdefault(_READERS, []).append(may_read)


def other_reader(user: User, attachment: Attachment) -> bool:
    readers: list[Reader] = current_app.extensions.get(_READERS, [])
    return any(may_read(user, attachment) for may_read in readers)
