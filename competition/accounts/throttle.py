"""Throttling of failed logins and reset requests, per account and per client address.

Buckets are keyed by an HMAC of the e-mail address or IP address, so the table holds neither.
The client address is the connection's, unless the operator declared trusted proxies
(TRUSTED_PROXIES); a forged X-Forwarded-For header therefore changes nothing.
"""

from __future__ import annotations

import datetime as dt
import hmac
from collections.abc import Iterable

import sqlalchemy as sa

from competition.accounts.models import ThrottleEvent
from competition.extensions import db


def bucket(secret_key: str, scope: str, value: str) -> str:
    digest = hmac.new(secret_key.encode(), f"{scope}:{value.strip().lower()}".encode(), "sha256")
    return f"{scope}:{digest.hexdigest()[:48]}"


def retry_after(name: str, *, limit: int, window: dt.timedelta, now: dt.datetime) -> int | None:
    """Minutes until ``name`` may try again, or None when it is under the limit."""
    times = db.session.scalars(
        sa.select(ThrottleEvent.occurred_at)
        .where(ThrottleEvent.bucket == name, ThrottleEvent.occurred_at > now - window)
        .order_by(ThrottleEvent.occurred_at.desc())
        .limit(limit)
    ).all()
    if len(times) < limit:
        return None
    oldest_counted = times[-1]
    remaining = oldest_counted + window - now
    return max(1, int(remaining.total_seconds() // 60) + 1)


def first_retry_after(
    limits: Iterable[tuple[str, int]], *, window: dt.timedelta, now: dt.datetime
) -> int | None:
    """Minutes until the first of ``limits`` (bucket, limit) that is over its limit may try
    again, or None when every one is under: a step is refused while any of its buckets is full."""
    for name, limit in limits:
        wait = retry_after(name, limit=limit, window=window, now=now)
        if wait is not None:
            return wait
    return None


def note(names: list[str], *, now: dt.datetime, window: dt.timedelta) -> None:
    """Count one event in each bucket and forget what has left the window (caller commits)."""
    db.session.execute(
        sa.delete(ThrottleEvent).where(
            ThrottleEvent.bucket.in_(names), ThrottleEvent.occurred_at <= now - window
        )
    )
    db.session.add_all(ThrottleEvent(bucket=name, occurred_at=now) for name in names)


def clear(name: str) -> None:
    db.session.execute(sa.delete(ThrottleEvent).where(ThrottleEvent.bucket == name))
