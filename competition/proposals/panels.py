"""What later areas add to a proposal's pages (its decision letters, later its grant), each
registered at app creation, so that the proposals area never imports the areas above it."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask, current_app

from competition.proposals.models import Proposal

_KEY = "proposal_panels"

Loader = Callable[[Proposal], object]


def register_panel(app: Flask, name: str, load: Loader) -> None:
    """``name`` becomes a template variable of the proposal's pages, loaded by ``load``."""
    app.extensions.setdefault(_KEY, {})[name] = load


def load_panels(proposal: Proposal) -> dict[str, object]:
    loaders: dict[str, Loader] = current_app.extensions.get(_KEY, {})
    return {name: load(proposal) for name, load in loaders.items()}
