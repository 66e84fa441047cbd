"""What API tests share: a token for a person with the scopes a test names."""

from __future__ import annotations

import datetime as dt
from typing import Any

from competition.accounts.models import User
from competition.api.tokens import create_token
from competition.db import utcnow


def token_for(user: User, *scopes: str, days: int = 30) -> str:
    """A live token's secret; the caller sends it as ``Authorization: Bearer …``."""
    now = utcnow()
    return create_token(
        user, name="test", scopes=list(scopes), expires_at=now + dt.timedelta(days=days), now=now
    ).secret


def bearer(token: str) -> dict[str, Any]:
    return {"Authorization": f"Bearer {token}"}
