"""A person's passkeys (WebAuthn credentials), a second factor beside the password."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from competition.accounts.models import User
from competition.db import JSONData
from competition.extensions import db

NAME_LENGTH = 100


class PasskeyCredential(db.Model):
    """One authenticator's key pair for this site. Only the public key is kept; the private key
    never leaves the authenticator (a phone, a security key, the computer's own)."""

    __tablename__ = "passkey_credentials"
    __table_args__ = (sa.CheckConstraint("sign_count >= 0", name="sign_count_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # base64url, as browsers send it; unique across the site (the spec lets an RP refuse a
    # credential id that is registered already, whoever holds it).
    credential_id: Mapped[str] = mapped_column(sa.String(1400), unique=True)
    # COSE_Key as the authenticator sent it at registration.
    public_key: Mapped[bytes] = mapped_column(sa.LargeBinary)
    # Counts signatures where the authenticator keeps a counter (32-bit unsigned); 0 where not.
    sign_count: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    # "usb", "nfc", "ble", "internal", "hybrid": hints for the browser at sign-in.
    transports: Mapped[list[str]] = mapped_column(JSONData, default=list)
    name: Mapped[str] = mapped_column(sa.String(NAME_LENGTH))
    created_at: Mapped[dt.datetime]
    last_used_at: Mapped[dt.datetime | None]

    user: Mapped[User] = relationship()
