"""Time-based one-time codes (TOTP, RFC 6238) and recovery codes: pure functions on plain values.

Codes have six digits and change every 30 seconds (what every authenticator app does by default).
A code is accepted for the current step and one step either side, so a phone whose clock is a
little off still works; the step a code matched is returned, so that the caller can refuse it
next time (a code works once).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import io
import secrets

import pyotp

DIGITS = 6
STEP_SECONDS = 30
# Steps either side of the current one whose codes are still accepted.
WINDOW = 1
RECOVERY_CODE_COUNT = 10
# No 0/o, 1/i/l: a code written down on paper must read back unambiguously.
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
# 16 characters of 31: about 79 bits, beyond guessing even against the stored hash.
_RECOVERY_GROUPS = 4
_RECOVERY_GROUP_LENGTH = 4


def new_secret() -> str:
    """A random base32 secret of 160 bits (RFC 4226 recommends at least 128)."""
    return pyotp.random_base32(32)


def is_secret(value: object) -> bool:
    """A secret as :func:`new_secret` makes it (what a cookie brings back is checked again)."""
    if not isinstance(value, str) or len(value) != 32:
        return False
    try:
        base64.b32decode(value, casefold=False)
    except ValueError:
        return False
    return True


def grouped(secret: str) -> str:
    """The secret in groups of four, for typing it into an app by hand."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def provisioning_uri(secret: str, *, account: str, issuer: str) -> str:
    """The ``otpauth://`` address an app reads from the QR code."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).provisioning_uri(
        name=account, issuer_name=issuer
    )


def qr_data_url(text: str) -> str:
    """``text`` as a QR code: an SVG in a ``data:`` address, which the pages' Content Security
    Policy allows for images (no inline script, no inline style)."""
    import qrcode
    import qrcode.image.svg

    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, box_size=10, border=2)
    buffer = io.BytesIO()
    image.save(buffer)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def clean_code(text: str) -> str:
    """What a person typed, without the spaces and dashes apps and paper put in."""
    return "".join(text.split()).replace("-", "").lower()


def looks_like_totp(text: str) -> bool:
    cleaned = clean_code(text)
    return len(cleaned) == DIGITS and cleaned.isascii() and cleaned.isdigit()


def step_at(moment: dt.datetime) -> int:
    """The number of the 30-second step ``moment`` (timezone-aware) falls in."""
    return int(moment.timestamp()) // STEP_SECONDS


def code_at(secret: str, step: int) -> str:
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).generate_otp(step)


def matching_step(secret: str, code: str, *, now: dt.datetime, after: int | None) -> int | None:
    """The step whose code ``code`` is, within the window around ``now`` and later than step
    ``after`` (the last one used), or None. Compared in constant time."""
    if not looks_like_totp(code):
        return None
    cleaned = clean_code(code)
    current = step_at(now)
    found = None
    for step in range(current - WINDOW, current + WINDOW + 1):
        if after is not None and step <= after:
            continue
        # Every step is compared, so the time taken does not tell which one matched.
        if hmac.compare_digest(code_at(secret, step), cleaned) and found is None:
            found = step
    return found


def new_recovery_codes(count: int = RECOVERY_CODE_COUNT) -> list[str]:
    """``count`` random codes like ``k7mq-2xrt-9bnd-h4wz``."""
    return [
        "-".join(
            "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(_RECOVERY_GROUP_LENGTH))
            for _ in range(_RECOVERY_GROUPS)
        )
        for _ in range(count)
    ]


def recovery_code_hash(text: str) -> str:
    """The stored form of a recovery code, the same however it was typed (case, spaces, dashes)."""
    return hashlib.sha256(clean_code(text).encode()).hexdigest()
