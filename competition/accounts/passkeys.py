"""Passkeys (WebAuthn) as a second factor: registering one, proving with one that it is the
person (the second step of signing in), removing them. They register here as a kind of second
factor (``second_factor.register_factor``): a person with a passkey gets the second step, meets
a role's requirement, and loses their passkeys in an administrator's reset.

Built on py_webauthn 3, which checks the ceremonies (challenge, origin, relying party,
signature, sign count); this module keeps the credentials and the challenges.

A ceremony's challenge lives in the signed cookie session between its options and its answer:
it is taken out (used once) when the answer arrives, holds for ``CHALLENGE_SECONDS`` and names
the person it was made for. The relying party (``WEBAUTHN_RP_ID``, ``WEBAUTHN_ORIGIN``) is the
request's host unless the settings say otherwise; a passkey works only on the RP id it was made
for, so changing the site's domain makes every passkey useless.
"""

from __future__ import annotations

import datetime as dt
import hmac
import logging
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import current_app, request
from flask import session as cookie_session
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url, options_to_json_dict
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from competition.accounts import passwords, second_factor, throttle
from competition.accounts.models import User
from competition.accounts.passkey_models import NAME_LENGTH, PasskeyCredential
from competition.audit.operations import record_event
from competition.db import add_unique, operation, utcnow
from competition.errors import DomainError, PermissionDenied
from competition.extensions import db
from competition.i18n import gettext as _
from competition.i18n import lazy_gettext as _l

log = logging.getLogger(__name__)

REGISTRATION = "passkey_registration"
SIGN_IN = "passkey_sign_in"
CHALLENGE_SECONDS = 300
TIMEOUT_MS = CHALLENGE_SECONDS * 1000
KNOWN_TRANSPORTS = frozenset(t.value for t in AuthenticatorTransport)


@dataclass(frozen=True)
class RelyingParty:
    id: str
    origin: str
    name: str


def relying_party() -> RelyingParty:
    """Who the passkeys are for: the settings' RP id and origin, else the request's host.

    The request's host is only to be trusted where no proxy of ours rewrites it without
    TRUSTED_PROXIES; a production site behind one sets both settings."""
    settings = current_app.extensions["settings"]
    origin = settings.webauthn_origin or request.host_url.rstrip("/")
    rp_id = settings.webauthn_rp_id or urlsplit(origin).hostname or ""
    return RelyingParty(id=rp_id, origin=origin, name=_("Funding competitions"))


def _user_handle(user: User) -> bytes:
    """WebAuthn's user id: stable per account, and no personal data (the spec forbids the
    address). Derived rather than stored; it is only a label on the authenticator here, since
    sign-in names the allowed credentials itself."""
    secret = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(secret, f"webauthn-user:{user.id}".encode(), "sha256").digest()


# --- queries ------------------------------------------------------------------------------


def list_passkeys(user: User) -> list[PasskeyCredential]:
    return list(
        db.session.scalars(
            sa.select(PasskeyCredential)
            .where(PasskeyCredential.user_id == user.id)
            .order_by(PasskeyCredential.created_at, PasskeyCredential.id)
        )
    )


def find_passkey(user: User, passkey_id: int) -> PasskeyCredential | None:
    """The person's own passkey; another person's is as unknown as a missing one."""
    return db.session.scalar(
        sa.select(PasskeyCredential).where(
            PasskeyCredential.id == passkey_id, PasskeyCredential.user_id == user.id
        )
    )


def has_passkeys(user: User) -> bool:
    return bool(
        db.session.scalar(
            sa.select(sa.exists().where(PasskeyCredential.user_id == user.id)),
        )
    )


def _holders(user_ids: Collection[int]) -> set[int]:
    return set(
        db.session.scalars(
            sa.select(PasskeyCredential.user_id)
            .where(PasskeyCredential.user_id.in_(list(user_ids)))
            .distinct()
        )
    )


def remove_passkeys(user: User) -> int:
    """Delete every passkey of ``user`` (an administrator's reset of the second factors, which
    audits the count); returns how many there were. The caller commits."""
    result = db.session.execute(
        sa.delete(PasskeyCredential).where(PasskeyCredential.user_id == user.id)
    )
    return result.rowcount or 0  # type: ignore[attr-defined]


second_factor.register_factor(
    second_factor.Factor("passkey", holders=_holders, remove=remove_passkeys)
)


def _descriptor(passkey: PasskeyCredential) -> PublicKeyCredentialDescriptor:
    return PublicKeyCredentialDescriptor(
        id=base64url_to_bytes(passkey.credential_id),
        transports=[AuthenticatorTransport(t) for t in passkey.transports],
    )


# --- challenges in the cookie session -----------------------------------------------------


def _keep_challenge(key: str, challenge: bytes, user: User, now: dt.datetime) -> None:
    cookie_session[key] = {
        "challenge": bytes_to_base64url(challenge),
        "user_id": user.id,
        "expires": (now + dt.timedelta(seconds=CHALLENGE_SECONDS)).isoformat(),
    }


def _take_challenge(key: str, user: User, now: dt.datetime) -> bytes | None:
    """The challenge made for ``user`` and still fresh, taken out so it serves once."""
    kept = cookie_session.pop(key, None)
    if not isinstance(kept, dict) or kept.get("user_id") != user.id:
        return None
    try:
        if dt.datetime.fromisoformat(kept["expires"]) <= now:
            return None
        return base64url_to_bytes(kept["challenge"])
    except (KeyError, TypeError, ValueError):
        return None


# --- registration -------------------------------------------------------------------------


def _checked_name(user: User, name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise DomainError(
            {"name": [_("Give the passkey a name, like “Laptop” or “Security key”.")]}
        )
    if len(name) > NAME_LENGTH:
        raise DomainError({"name": [_("Use at most %(count)d characters.", count=NAME_LENGTH)]})
    if any(p.name.lower() == name.lower() for p in list_passkeys(user)):
        raise DomainError({"name": [_("You already have a passkey with this name.")]})
    return name


def registration_options(user: User, *, name: str, now: dt.datetime) -> dict[str, Any]:
    """The options for ``navigator.credentials.create``, as JSON (bytes in base64url).

    The name is checked first, so nobody touches their authenticator for a name that is then
    refused. Side effects: the challenge in the cookie session. Refuses with DomainError."""
    _checked_name(user, name)
    rp = relying_party()
    options = generate_registration_options(
        rp_id=rp.id,
        rp_name=rp.name,
        user_id=_user_handle(user),
        user_name=user.email,
        user_display_name=user.name,
        timeout=TIMEOUT_MS,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.PREFERRED,
            user_verification=UserVerificationRequirement.PREFERRED,
        ),
        # The same authenticator twice would be one factor counted twice.
        exclude_credentials=[_descriptor(p) for p in list_passkeys(user)],
    )
    _keep_challenge(REGISTRATION, options.challenge, user, now)
    return options_to_json_dict(options)


@operation
def add_passkey(
    user: User, *, name: str, credential: dict[str, Any], now: dt.datetime
) -> PasskeyCredential:
    """Keep the passkey the browser made with the options of :func:`registration_options`.

    The challenge is used up either way. Side effects: a ``passkey_credentials`` row; audit
    ``passkey.added``."""
    name = _checked_name(user, name)
    challenge = _take_challenge(REGISTRATION, user, now)
    if challenge is None:
        raise DomainError(_("This took too long or was started elsewhere. Please try again."))
    rp = relying_party()
    try:
        verified = verify_registration_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=rp.id,
            expected_origin=rp.origin,
        )
    except (WebAuthnException, KeyError, TypeError, ValueError) as error:
        log.info("passkey registration of user %s refused: %s", user.id, error)
        raise DomainError(
            _("The passkey could not be checked, so it was not added. Please try again.")
        ) from None
    response = credential.get("response")
    offered = response.get("transports") if isinstance(response, dict) else None
    transports = sorted(
        {t for t in offered if t in KNOWN_TRANSPORTS} if isinstance(offered, list) else set()
    )
    passkey = PasskeyCredential(
        user_id=user.id,
        credential_id=bytes_to_base64url(verified.credential_id),
        public_key=verified.credential_public_key,
        sign_count=verified.sign_count,
        transports=transports,
        name=name,
        created_at=now,
    )
    add_unique(passkey, taken=DomainError(_("This passkey is registered already.")))
    record_event(
        actor=user,
        action="passkey.added",
        object_type="passkey",
        object_id=passkey.id,
        after={"user_id": user.id, "name": name, "transports": transports},
        now=now,
    )
    return passkey


# --- proving it is the person -------------------------------------------------------------


def passkey_sign_in_options(user: User, *, now: dt.datetime | None = None) -> dict[str, Any]:
    """The options for ``navigator.credentials.get`` offering ``user``'s passkeys, as JSON.

    Side effects: the challenge, bound to ``user``, in the cookie session. Refuses with
    DomainError when the person has no passkey."""
    passkeys = list_passkeys(user)
    if not passkeys:
        raise DomainError(_("You have no passkey yet."))
    options = generate_authentication_options(
        rp_id=relying_party().id,
        timeout=TIMEOUT_MS,
        allow_credentials=[_descriptor(p) for p in passkeys],
        user_verification=UserVerificationRequirement.PREFERRED,
    )
    _keep_challenge(SIGN_IN, options.challenge, user, now or utcnow())
    return options_to_json_dict(options)


@operation
def verify_passkey_sign_in(user: User, payload: object, *, now: dt.datetime) -> bool:
    """Whether ``payload`` (what ``navigator.credentials.get`` gave, as JSON) proves it is
    ``user``: one of their passkeys signed the challenge of :func:`passkey_sign_in_options`,
    on this site, with a sign count beyond the last one (where the authenticator counts; a
    count that stands still or goes back means a copied key or a replay).

    The challenge is used up either way. Side effects: the passkey's sign count and last use;
    audit ``passkey.used``, or ``passkey.refused`` with the reason."""
    challenge = _take_challenge(SIGN_IN, user, now)
    credential_id = payload.get("id") if isinstance(payload, dict) else None
    passkey = (
        db.session.scalar(
            sa.select(PasskeyCredential).where(
                PasskeyCredential.credential_id == credential_id,
                PasskeyCredential.user_id == user.id,
            )
        )
        if isinstance(credential_id, str)
        else None
    )
    if challenge is None or passkey is None:
        return _refuse(user, passkey, "no challenge" if challenge is None else "unknown", now)
    try:
        verified = verify_authentication_response(
            credential=payload,  # type: ignore[arg-type]  (a dict, checked above)
            expected_challenge=challenge,
            expected_rp_id=relying_party().id,
            expected_origin=relying_party().origin,
            credential_public_key=passkey.public_key,
            credential_current_sign_count=passkey.sign_count,
        )
    except (WebAuthnException, KeyError, TypeError, ValueError) as error:
        log.info("passkey %s of user %s refused: %s", passkey.id, user.id, error)
        return _refuse(user, passkey, str(error)[:200], now)
    # Compare-and-set: of two answers signed with the same count, one counts.
    used = db.session.execute(
        sa.update(PasskeyCredential)
        .where(
            PasskeyCredential.id == passkey.id,
            PasskeyCredential.sign_count == passkey.sign_count,
        )
        .values(sign_count=verified.new_sign_count, last_used_at=now)
    )
    if not used.rowcount:  # type: ignore[attr-defined]
        return _refuse(user, passkey, "used meanwhile", now)
    record_event(
        actor=user,
        action="passkey.used",
        object_type="passkey",
        object_id=passkey.id,
        after={"sign_count": verified.new_sign_count},
        now=now,
    )
    return True


def _refuse(user: User, passkey: PasskeyCredential | None, reason: str, now: dt.datetime) -> bool:
    record_event(
        actor=user,
        action="passkey.refused",
        object_type="passkey" if passkey is not None else "user",
        object_id=passkey.id if passkey is not None else user.id,
        after={"reason": reason},
        now=now,
    )
    return False


# --- removing -----------------------------------------------------------------------------

NO_PASSWORD = _l(
    "Your account has no password, so removing a passkey cannot be confirmed. Choose a "
    "password first (“Forgot your password?” on the login page mails you a link)."
)


@operation
def remove_passkey(
    user: User, passkey: PasskeyCredential, *, password: str, now: dt.datetime
) -> None:
    """The person removes one of their passkeys, confirming with their password.

    Wrong passwords count like failed logins (per account, over the login window), so a
    borrowed session cannot guess the password here. An account without a password (made
    through single sign-on) cannot confirm, and is refused. The recovery codes go with the last
    second factor (they stand in for one). Side effects: the row deleted; a throttle row on a
    wrong password (kept although refused); audit ``passkey.removed``."""
    if passkey.user_id != user.id:
        raise PermissionDenied(_("This is not your passkey."))
    if not user.password_hash:
        raise DomainError(str(NO_PASSWORD))
    settings = current_app.extensions["settings"]
    window = dt.timedelta(minutes=settings.throttle_window_minutes)
    bucket = throttle.bucket(str(current_app.config["SECRET_KEY"]), "confirm-account", str(user.id))
    wait = throttle.retry_after(
        bucket, limit=settings.login_failures_per_account, window=window, now=now
    )
    if wait is not None:
        raise DomainError(
            {"password": [_("Too many wrong passwords. Try again in %(wait)s minutes.", wait=wait)]}
        )
    if not passwords.verify_password(user.password_hash, password or ""):
        throttle.note([bucket], now=now, window=window)
        db.session.commit()  # the failure must count although this operation refuses
        raise DomainError({"password": [_("The password is not correct.")]})
    throttle.clear(bucket)
    before = {"user_id": user.id, "name": passkey.name, "created_at": passkey.created_at}
    db.session.execute(sa.delete(PasskeyCredential).where(PasskeyCredential.id == passkey.id))
    recovery_codes = 0
    if not second_factor.has_second_factor(user, fresh=True):
        recovery_codes = second_factor.remove_recovery_codes(user)
    record_event(
        actor=user,
        action="passkey.removed",
        object_type="passkey",
        object_id=passkey.id,
        before=before,
        after={"recovery_codes_removed": recovery_codes},
        now=now,
    )
