"""Single sign-on through OpenID Connect providers (Authlib's Flask client).

The providers come from the settings (``OIDC_PROVIDERS``); each is discovered at its issuer's
``/.well-known/openid-configuration``. Signing in is the authorization code flow with PKCE
(S256), ``state`` and ``nonce``, kept by Authlib in the signed cookie session between the
redirect and the callback. Authlib checks the ID token: its signature with the provider's JWKS,
``iss``, ``aud``, ``exp`` and the ``nonce``; a token response without an ID token is refused
here. The claims are the ID token's, completed by the provider's userinfo endpoint when it has
one (for the same ``sub`` only).

What a provider's word is worth:

- A known identity (provider, ``sub``) signs its account in.
- An unknown one with an e-mail the provider says is verified: a new account (active, no
  role) when nobody has the address; when an account has it, linking is only offered, and done
  once the person enters that account's password or opens a link mailed to the address. Never
  silently: an address at a provider proves nothing about who holds the account here.
- An unverified (or missing) e-mail is refused.
- Roles come only from an administrator's mapping (provider, claim, value → role), applied at
  each sign-in. A role a mapping granted is marked as such (``UserRole.granted_via``) and taken
  away when the claim no longer matches; a role granted by hand is never touched.

The session is opened by ``second_factor.finish_login`` (method ``sso:<provider>``), or, for a
person with a second factor, that step follows first, as after a password.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from authlib.integrations.flask_client import OAuth, OAuthError
from flask import Flask, current_app, url_for
from flask import session as cookie_session
from joserfc.errors import JoseError
from requests import RequestException

from competition.accounts import operations as ops
from competition.accounts.models import Role, User, UserRole, UserStatus
from competition.accounts.sso_models import SsoIdentity, SsoRoleMapping
from competition.accounts.tokens import Purpose, TokenError, fingerprint, make_token, read_token
from competition.audit.operations import record_event
from competition.db import add_unique, operation
from competition.errors import DomainError, PermissionDenied
from competition.extensions import db
from competition.i18n import gettext as _
from competition.notifications.operations import notify
from config import OidcProvider

log = logging.getLogger(__name__)

EXTENSION = "single_sign_on"
METHOD_PREFIX = "sso:"
NEXT_KEY = "sso_next"
LINK_KEY = "sso_link"
LOGOUT_KEY = "sso_logout"
LINK_PENDING_FOR = dt.timedelta(minutes=10)
# Clocks differ a little between machines; an ID token older than this past its exp is refused.
LEEWAY_SECONDS = 60
HTTP_TIMEOUT_SECONDS = 10
CLAIM_LENGTH = 100
VALUE_LENGTH = 200


# --- the providers ----------------------------------------------------------------------------


def init_app(app: Flask) -> None:
    """One Authlib client per configured provider, for this app."""
    oauth = OAuth(app)
    for provider in app.extensions["settings"].oidc_providers:
        oauth.register(
            provider.name,
            client_id=provider.client_id,
            client_secret=provider.client_secret or None,
            server_metadata_url=provider.issuer + "/.well-known/openid-configuration",
            client_kwargs={
                "scope": provider.scope,
                "code_challenge_method": "S256",
                "token_endpoint_auth_method": (
                    "client_secret_basic" if provider.client_secret else "none"
                ),
                "timeout": HTTP_TIMEOUT_SECONDS,
            },
        )
    app.extensions[EXTENSION] = oauth


def providers() -> tuple[OidcProvider, ...]:
    return tuple(current_app.extensions["settings"].oidc_providers)


def find_provider(name: str) -> OidcProvider | None:
    return current_app.extensions["settings"].provider(name)  # type: ignore[no-any-return]


def _client(provider: OidcProvider) -> Any:
    return current_app.extensions[EXTENSION].create_client(provider.name)


def _absolute(endpoint: str, **values: Any) -> str:
    """An address of ours as the provider must see it: under BASE_URL, never the request's Host
    header, so that the redirect URI registered at the provider is the one sent."""
    return current_app.extensions["settings"].base_url + url_for(endpoint, **values)


def callback_url(provider: OidcProvider) -> str:
    return _absolute("sso.callback", provider=provider.name)


def authorize_redirect(provider: OidcProvider, *, next_url: str | None) -> Any:
    """The redirect to the provider's login; Authlib keeps state, nonce and the PKCE verifier
    in the cookie session until the callback. None when the provider cannot be reached (its
    description is read at the first sign-in of each process)."""
    cookie_session[NEXT_KEY] = next_url or ""
    try:
        return _client(provider).authorize_redirect(callback_url(provider))
    except (RequestException, RuntimeError, ValueError, KeyError) as error:
        log.warning("provider %s unreachable: %s", provider.name, type(error).__name__)
        return None


@dataclass(frozen=True)
class ProviderAnswer:
    """What a provider said about the person, after every check."""

    provider: str
    claims: dict[str, Any]
    id_token: str

    @property
    def subject(self) -> str:
        return str(self.claims["sub"])


def receive_answer(provider: OidcProvider) -> ProviderAnswer | None:
    """Exchange the callback's code for tokens and check the ID token; None for anything wrong
    (a forged, expired or foreign token, a wrong nonce or state, a provider that cannot be
    reached). The reason is logged, never the tokens."""
    client = _client(provider)
    try:
        token = client.authorize_access_token(leeway=LEEWAY_SECONDS)
        id_claims = token.get("userinfo")
        if not token.get("id_token") or not id_claims or not id_claims.get("sub"):
            raise OAuthError(description="the token response holds no valid ID token")
        claims = dict(id_claims)
        if client.load_server_metadata().get("userinfo_endpoint"):
            extra = dict(client.userinfo(token=token))
            if str(extra.get("sub")) != str(claims["sub"]):
                raise OAuthError(description="userinfo is about another subject")
            claims = {**extra, **claims}
    except (OAuthError, JoseError, RequestException, RuntimeError, ValueError, KeyError) as error:
        log.warning(
            "sign-in through %s refused: %s %s",
            provider.name,
            type(error).__name__,
            getattr(error, "description", "") or getattr(error, "error", ""),
        )
        return None
    return ProviderAnswer(provider=provider.name, claims=claims, id_token=str(token["id_token"]))


def remember_for_logout(answer: ProviderAnswer) -> None:
    """Kept in the new session's cookie: logging out then also ends the provider's session."""
    cookie_session[LOGOUT_KEY] = {"provider": answer.provider, "id_token": answer.id_token}


def end_session_url(kept: object) -> str | None:
    """The provider's end_session_endpoint (RP-initiated logout) for a session opened through it,
    with the ID token as hint and our login page to come back to; None when there is none."""
    if not isinstance(kept, dict):
        return None
    provider = find_provider(str(kept.get("provider") or ""))
    if provider is None:
        return None
    client = _client(provider)
    try:
        if not client.load_server_metadata().get("end_session_endpoint"):
            return None
        created = client.create_logout_url(
            post_logout_redirect_uri=_absolute("accounts.login"),
            id_token_hint=kept.get("id_token") or None,
            client_id=provider.client_id,
        )
    except (RequestException, RuntimeError, ValueError) as error:
        log.warning("no logout at %s: %s", provider.name, type(error).__name__)
        return None
    return str(created["url"])


# --- signing in -------------------------------------------------------------------------------


class SignInRefused(DomainError):
    """The provider's answer does not let this person in (shown on a page of its own)."""


@dataclass(frozen=True)
class SignedIn:
    user: User
    created: bool


@dataclass(frozen=True)
class LinkOffered:
    """An account has the verified address: the person may link it by proving it is theirs."""

    user: User


def _verified_email(claims: Mapping[str, Any]) -> str | None:
    email = claims.get("email")
    verified = claims.get("email_verified")
    if isinstance(verified, str):  # some providers send "true"
        verified = verified.lower() == "true"
    if not isinstance(email, str) or "@" not in email or verified is not True:
        return None
    return ops.normalise_email(email)


def _find_identity(provider: str, subject: str) -> SsoIdentity | None:
    return db.session.scalar(
        sa.select(SsoIdentity).where(
            SsoIdentity.provider == provider, SsoIdentity.subject == subject
        )
    )


def _refuse_inactive(user: User) -> None:
    if user.status == UserStatus.DISABLED:
        raise SignInRefused(_("This account is disabled. Please contact the programme office."))
    if not user.is_active:
        raise SignInRefused(
            _(
                "This account is not active yet: accept the invitation or confirm your e-mail "
                "address first, using the link we sent you."
            )
        )


@operation
def sign_in_with(answer: ProviderAnswer, *, now: dt.datetime) -> SignedIn | LinkOffered:
    """Who the provider's checked answer signs in: the linked account, a new one, or an offer to
    link an existing account with the same verified address.

    Side effects: for a new person an account (active, no role) and its identity; the
    identity's last use; roles by the provider's mappings; audit ``account.registered``,
    ``sso.linked``, ``sso.used``, ``sso.role_granted`` / ``sso.role_removed``.
    """
    identity = _find_identity(answer.provider, answer.subject)
    if identity is not None:
        user = identity.user
        _refuse_inactive(user)
        identity.last_used_at = now
        _record_use(user, identity, now=now)
        apply_role_mappings(user, provider=answer.provider, claims=answer.claims, now=now)
        return SignedIn(user, created=False)
    email = _verified_email(answer.claims)
    if email is None:
        raise SignInRefused(
            _(
                "The provider did not confirm your e-mail address, so we cannot tell which "
                "account is yours. Confirm the address at the provider, or log in with your "
                "password."
            )
        )
    existing = ops.find_user_by_email(email)
    if existing is not None:
        _refuse_inactive(existing)
        return LinkOffered(existing)
    name = str(answer.claims.get("name") or "").strip()[:200] or email.split("@", 1)[0]
    user = User(
        email=email,
        name=name,
        password_hash=None,
        status=UserStatus.ACTIVE,
        email_confirmed_at=now,
        created_at=now,
    )
    db.session.add(user)
    db.session.flush()
    record_event(
        actor=user,
        action="account.registered",
        object_type="user",
        object_id=user.id,
        after={"status": user.status, "roles": [], "via": METHOD_PREFIX + answer.provider},
        now=now,
    )
    identity = _link(user, answer.provider, answer.subject, email=email, how="new account", now=now)
    identity.last_used_at = now
    _record_use(user, identity, now=now)
    apply_role_mappings(user, provider=answer.provider, claims=answer.claims, now=now)
    return SignedIn(user, created=True)


def _record_use(user: User, identity: SsoIdentity, *, now: dt.datetime) -> None:
    record_event(
        actor=user,
        action="sso.used",
        object_type="sso_identity",
        object_id=identity.id,
        after={"provider": identity.provider},
        now=now,
    )


def _link(
    user: User, provider: str, subject: str, *, email: str, how: str, now: dt.datetime
) -> SsoIdentity:
    identity = SsoIdentity(
        provider=provider, subject=subject, user_id=user.id, email=email, linked_at=now
    )
    add_unique(
        identity,
        taken=DomainError(_("This sign-in is already linked to an account.")),
    )
    record_event(
        actor=user,
        action="sso.linked",
        object_type="sso_identity",
        object_id=identity.id,
        after={"provider": provider, "user_id": user.id, "email": email, "how": how},
        now=now,
    )
    return identity


# --- linking an existing account --------------------------------------------------------------


def offer_link(answer: ProviderAnswer, user: User, *, now: dt.datetime) -> None:
    """Keep for ten minutes, in this browser's cookie, what the provider said, for the link page.
    Only the claims a mapping of the provider reads are kept."""
    wanted = set(
        db.session.scalars(
            sa.select(SsoRoleMapping.claim).where(SsoRoleMapping.provider == answer.provider)
        )
    )
    cookie_session[LINK_KEY] = {
        "provider": answer.provider,
        "subject": answer.subject,
        "email": user.email,
        "user_id": user.id,
        "at": int(now.timestamp()),
        "claims": {k: v for k, v in answer.claims.items() if k in wanted},
        "id_token": answer.id_token,
    }


@dataclass(frozen=True)
class PendingLink:
    provider: OidcProvider
    subject: str
    email: str
    user: User
    claims: dict[str, Any]
    id_token: str


def pending_link(now: dt.datetime) -> PendingLink | None:
    """The link offered in this browser less than ten minutes ago, if its account still has the
    address."""
    kept: Any = cookie_session.get(LINK_KEY)
    if not isinstance(kept, dict):
        return None
    at = kept.get("at")
    provider = find_provider(str(kept.get("provider") or ""))
    user = (
        db.session.get(User, kept.get("user_id")) if isinstance(kept.get("user_id"), int) else None
    )
    if (
        not isinstance(at, int)
        or not dt.datetime.fromtimestamp(at, dt.UTC)
        <= now
        < (dt.datetime.fromtimestamp(at, dt.UTC) + LINK_PENDING_FOR)
        or provider is None
        or user is None
        or user.email != kept.get("email")
    ):
        cookie_session.pop(LINK_KEY, None)
        return None
    return PendingLink(
        provider=provider,
        subject=str(kept.get("subject")),
        email=str(kept.get("email")),
        user=user,
        claims=dict(kept.get("claims") or {}),
        id_token=str(kept.get("id_token") or ""),
    )


def drop_pending_link() -> None:
    cookie_session.pop(LINK_KEY, None)


@operation
def link_by_password(
    pending: PendingLink, *, password: str, client_address: str, now: dt.datetime
) -> User:
    """The person proves the account is theirs with its password: the identity is linked and
    the mappings applied; the caller signs them in. Wrong passwords count like failed logins.

    Side effects: the identity; audit ``sso.linked`` (how: password), ``sso.used``, roles.
    """
    user = ops.check_password(
        email=pending.email, password=password, client_address=client_address, now=now
    )
    if user.id != pending.user.id:  # the address moved to another account meanwhile
        raise DomainError({"password": [_("Please sign in with the provider again.")]})
    identity = _link(
        user, pending.provider.name, pending.subject, email=pending.email, how="password", now=now
    )
    identity.last_used_at = now
    _record_use(user, identity, now=now)
    apply_role_mappings(user, provider=pending.provider.name, claims=pending.claims, now=now)
    return user


@operation
def mail_link(pending: PendingLink, *, now: dt.datetime) -> None:
    """Mail the account's address a link that links the identity when opened (one hour).

    Side effects: one e-mail (at most one a minute per account and identity).
    """
    token = make_token(
        str(current_app.config["SECRET_KEY"]),
        Purpose.SSO_LINK,
        user_id=pending.user.id,
        bound_to=pending.user.email,
        extra={"p": pending.provider.name, "s": pending.subject},
    )
    notify(
        to=pending.user,
        template="accounts/sso_link",
        context={"name": pending.user.name, "token": token, "provider": pending.provider.title},
        dedup_key=(
            f"accounts.sso_link:{pending.user.id}:"
            f"{fingerprint(pending.provider.name + ':' + pending.subject)}:{now:%Y%m%d%H%M}"
        ),
        now=now,
    )


@dataclass(frozen=True)
class MailedLink:
    user: User
    provider: OidcProvider
    subject: str


def read_mailed_link(token: str) -> MailedLink:
    """What a mailed link would link. Raises TokenError for forged, expired or stale links."""
    content = read_token(str(current_app.config["SECRET_KEY"]), Purpose.SSO_LINK, token)
    user = db.session.get(User, content.user_id)
    extra = content.extra or {}
    provider = find_provider(str(extra.get("p") or ""))
    if (
        user is None
        or provider is None
        or not extra.get("s")
        or content.fingerprint != fingerprint(user.email)
    ):
        raise TokenError(_("This link is not valid."), expired=False)
    return MailedLink(user=user, provider=provider, subject=str(extra["s"]))


@operation
def link_by_mail(link: MailedLink, *, now: dt.datetime) -> SsoIdentity:
    """Link the identity a mailed link names to its account. Signs nobody in: the person then
    signs in with the provider. Side effects: the identity; audit ``sso.linked`` (how: mail)."""
    _refuse_inactive(link.user)
    return _link(
        link.user, link.provider.name, link.subject, email=link.user.email, how="mail", now=now
    )


# --- the account's identities -----------------------------------------------------------------


def list_identities(user: User) -> list[SsoIdentity]:
    return list(
        db.session.scalars(
            sa.select(SsoIdentity)
            .where(SsoIdentity.user_id == user.id)
            .order_by(SsoIdentity.provider, SsoIdentity.linked_at)
        )
    )


def find_identity_of(user: User, identity_id: int) -> SsoIdentity | None:
    return db.session.scalar(
        sa.select(SsoIdentity).where(SsoIdentity.id == identity_id, SsoIdentity.user_id == user.id)
    )


@operation
def unlink_identity(user: User, identity: SsoIdentity, *, now: dt.datetime) -> None:
    """Remove one of the person's sign-ins; refused for the last way to sign in of an account
    without a password. Roles its mappings granted stay until an administrator or the next
    sign-in elsewhere changes them.

    Side effects: the identity deleted; audit ``sso.unlinked``.
    """
    if identity.user_id != user.id:
        raise PermissionDenied(_("This sign-in belongs to another account."))
    others = db.session.scalar(
        sa.select(sa.func.count(SsoIdentity.id)).where(
            SsoIdentity.user_id == user.id, SsoIdentity.id != identity.id
        )
    )
    if not user.password_hash and not others:
        raise DomainError(
            _(
                "This is your only way to sign in: your account has no password. Choose a "
                "password first (“Forgot your password?” on the login page mails you a link)."
            )
        )
    record_event(
        actor=user,
        action="sso.unlinked",
        object_type="sso_identity",
        object_id=identity.id,
        before={"provider": identity.provider, "email": identity.email},
        now=now,
    )
    db.session.delete(identity)


# --- roles by claims --------------------------------------------------------------------------


def granted_via(provider: str) -> str:
    return METHOD_PREFIX + provider


def _matches(claim_value: Any, value: str) -> bool:
    if isinstance(claim_value, list | tuple):
        return any(str(item) == value for item in claim_value)
    if isinstance(claim_value, bool):
        return value.lower() == str(claim_value).lower()
    return claim_value is not None and str(claim_value) == value


def apply_role_mappings(
    user: User, *, provider: str, claims: Mapping[str, Any], now: dt.datetime
) -> None:
    """Grant the roles the provider's mappings give these claims, and take away the roles an
    earlier sign-in through this provider's mappings granted that no mapping gives any more.
    Roles granted by hand, or by another provider's mappings, are left alone (caller commits).
    """
    mappings = db.session.scalars(
        sa.select(SsoRoleMapping).where(SsoRoleMapping.provider == provider)
    ).all()
    wanted: dict[Role, SsoRoleMapping] = {}
    for mapping in mappings:
        if _matches(claims.get(mapping.claim), mapping.value):
            wanted.setdefault(mapping.role, mapping)
    marker = granted_via(provider)
    held = {row.role: row for row in user.role_rows}
    for role, mapping in wanted.items():
        if role in held:
            continue
        user.role_rows.append(UserRole(role=role, granted_at=now, granted_via=marker))
        record_event(
            actor=None,
            action="sso.role_granted",
            object_type="user",
            object_id=user.id,
            after={"role": role, "provider": provider, "mapping_id": mapping.id},
            now=now,
        )
    for role, row in held.items():
        if row.granted_via == marker and role not in wanted:
            user.role_rows.remove(row)
            record_event(
                actor=None,
                action="sso.role_removed",
                object_type="user",
                object_id=user.id,
                before={"role": role, "provider": provider},
                now=now,
            )
    db.session.flush()


def list_mappings() -> list[SsoRoleMapping]:
    return list(
        db.session.scalars(
            sa.select(SsoRoleMapping).order_by(
                SsoRoleMapping.provider, SsoRoleMapping.claim, SsoRoleMapping.value
            )
        )
    )


@operation
def add_role_mapping(
    *, actor: User, provider: str, claim: str, value: str, role: Role, now: dt.datetime
) -> SsoRoleMapping:
    """An administrator maps a provider's claim value to a role (from the next sign-in on).

    Side effects: the mapping; audit ``sso.mapping_added``.
    """
    if not actor.has_role(Role.ADMIN):
        raise PermissionDenied(_("Only administrators can map claims to roles."))
    claim, value = claim.strip(), value.strip()
    errors: dict[str, list[str]] = {}
    if find_provider(provider) is None:
        errors["provider"] = [_("Choose one of the configured providers.")]
    if not claim or len(claim) > CLAIM_LENGTH:
        errors["claim"] = [_("Enter the claim's name (at most 100 characters), e.g. groups.")]
    if not value or len(value) > VALUE_LENGTH:
        errors["value"] = [_("Enter the value the claim must have (at most 200 characters).")]
    if errors:
        raise DomainError(errors)
    mapping = SsoRoleMapping(
        provider=provider,
        claim=claim,
        value=value,
        role=role,
        created_at=now,
        created_by_id=actor.id,
    )
    add_unique(mapping, taken=DomainError({"value": [_("This mapping exists already.")]}))
    record_event(
        actor=actor,
        action="sso.mapping_added",
        object_type="sso_role_mapping",
        object_id=mapping.id,
        after={"provider": provider, "claim": claim, "value": value, "role": role},
        now=now,
    )
    return mapping


@operation
def remove_role_mapping(mapping: SsoRoleMapping, *, actor: User, now: dt.datetime) -> None:
    """An administrator removes a mapping; the roles it granted go at each person's next
    sign-in through the provider. Side effects: audit ``sso.mapping_removed``."""
    if not actor.has_role(Role.ADMIN):
        raise PermissionDenied(_("Only administrators can map claims to roles."))
    record_event(
        actor=actor,
        action="sso.mapping_removed",
        object_type="sso_role_mapping",
        object_id=mapping.id,
        before={
            "provider": mapping.provider,
            "claim": mapping.claim,
            "value": mapping.value,
            "role": mapping.role,
        },
        now=now,
    )
    db.session.delete(mapping)
