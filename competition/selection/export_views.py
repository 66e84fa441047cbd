"""Filled in by its page group."""

from __future__ import annotations

from competition.selection.blueprint import bp  # noqa: F401
