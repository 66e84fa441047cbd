"""Signed, expiring links sent by e-mail (confirmation, password reset, invitation).

Each purpose has its own salt, so a token for one cannot be used for another. A reset token
carries a fingerprint of the current password hash, so it stops working once used.
"""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from competition.i18n import gettext as _


class Purpose(enum.StrEnum):
    CONFIRM_EMAIL = "confirm-email"
    RESET_PASSWORD = "reset-password"
    INVITATION = "invitation"
    CONTRIBUTOR = "contributor"  # user_id holds the proposal invitation's id
    SSO_LINK = "sso-link"  # extra holds the provider and the subject to link to the account


MAX_AGE_SECONDS = {
    Purpose.CONFIRM_EMAIL: 3 * 24 * 3600,
    Purpose.RESET_PASSWORD: 3600,
    Purpose.INVITATION: 14 * 24 * 3600,
    Purpose.CONTRIBUTOR: 14 * 24 * 3600,
    Purpose.SSO_LINK: 3600,
}


class TokenError(ValueError):
    """The link cannot be used; ``expired`` tells the user whether to ask for a new one."""

    def __init__(self, message: str, *, expired: bool) -> None:
        super().__init__(message)
        self.expired = expired


@dataclass(frozen=True)
class TokenContent:
    user_id: int
    fingerprint: str
    extra: dict[str, Any] | None = None


def fingerprint(value: str | None) -> str:
    return hashlib.sha256((value or "").encode()).hexdigest()[:16]


def _serializer(secret_key: str, purpose: Purpose) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=f"competition.{purpose.value}")


def make_token(
    secret_key: str,
    purpose: Purpose,
    *,
    user_id: int,
    bound_to: str | None,
    extra: dict[str, Any] | None = None,
) -> str:
    """``bound_to`` is a value whose change must invalidate the link (e-mail, password hash);
    ``extra`` is signed with it (readable by whoever holds the link: never a secret)."""
    payload: dict[str, Any] = {"u": user_id, "f": fingerprint(bound_to)}
    if extra is not None:
        payload["x"] = extra
    return _serializer(secret_key, purpose).dumps(payload)


def read_token(
    secret_key: str, purpose: Purpose, token: str, *, now_timestamp: float | None = None
) -> TokenContent:
    serializer = _serializer(secret_key, purpose)
    max_age = MAX_AGE_SECONDS[purpose]
    try:
        data: Any = serializer.loads(token, max_age=max_age)
    except SignatureExpired as exc:
        raise TokenError(_("This link has expired."), expired=True) from exc
    except BadSignature as exc:
        raise TokenError(_("This link is not valid."), expired=False) from exc
    if not isinstance(data, dict) or not isinstance(data.get("u"), int):
        raise TokenError(_("This link is not valid."), expired=False)
    extra = data.get("x")
    return TokenContent(
        user_id=data["u"],
        fingerprint=str(data.get("f", "")),
        extra=extra if isinstance(extra, dict) else None,
    )
