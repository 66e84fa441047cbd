"""Periodic: events chained that commits left waiting, and the chain's latest hash written
outside the database."""

from __future__ import annotations

from pathlib import Path

from celery import shared_task
from flask import current_app

from competition.audit.operations import chain_pending, write_anchor
from competition.db import utcnow
from competition.extensions import db
from workers.locks import run_exclusively


@shared_task(name="audit.chain")
def chain() -> int:
    """Chain events that no commit chained (its chainer found another at work, or failed).
    Returns how many were chained."""
    return chain_pending(db.engine)


@shared_task(name="audit.anchor")
def anchor() -> int:
    """Append an anchor to AUDIT_ANCHOR_FILE; an instance without the setting writes none.
    Returns the anchored event's number (0 for none)."""
    target = current_app.extensions["settings"].audit_anchor_file
    if target is None:
        return 0

    def write() -> int:
        written = write_anchor(Path(target), now=utcnow())
        return written.seq if written else 0

    return run_exclusively("audit-anchor", write, timeout=120)
