"""Disbursement requests (Mittelabruf) of a grant, their four-eyes approval and export for the
ministry's payment system, and the programme's money view."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Nothing to register: the grant's page reads the payments panel itself."""
