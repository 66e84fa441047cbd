"""Account operations: registration, confirmation, login, password reset, invitations, disabling.

Each is one transaction (see competition.db.operation) that checks permission, changes state,
records an audit event and writes outbox rows.
"""

from __future__ import annotations

import datetime as dt
import logging

import sqlalchemy as sa
from flask import current_app

from competition.accounts import passwords, sessions, throttle
from competition.accounts.models import Role, User, UserRole, UserStatus
from competition.accounts.tokens import Purpose, TokenError, fingerprint, make_token, read_token
from competition.audit.operations import record_event
from competition.db import operation
from competition.errors import DomainError, PermissionDenied
from competition.extensions import db
from competition.i18n import gettext as _
from competition.notifications.operations import notify

log = logging.getLogger(__name__)

INVITABLE_ROLES = (Role.JUROR, Role.OFFICER)


def normalise_email(email: str) -> str:
    return email.strip().lower()


def find_user_by_email(email: str) -> User | None:
    return db.session.scalar(sa.select(User).where(User.email == normalise_email(email)))


def _secret() -> str:
    return str(current_app.config["SECRET_KEY"])


def _settings():  # type: ignore[no-untyped-def]
    return current_app.extensions["settings"]


def _user_state(user: User) -> dict[str, object]:
    return {"status": user.status, "roles": sorted(r.value for r in user.roles)}


def _send_confirmation(user: User, *, now: dt.datetime, reason: str) -> None:
    token = make_token(_secret(), Purpose.CONFIRM_EMAIL, user_id=user.id, bound_to=user.email)
    notify(
        to=user,
        template="accounts/confirm_email",
        context={"name": user.name, "token": token},
        dedup_key=f"accounts.confirm:{user.id}:{reason}",
        now=now,
    )


@operation
def register_applicant(*, email: str, name: str, password: str, now: dt.datetime) -> User | None:
    """Create an applicant account waiting for e-mail confirmation.

    For an address that already has an account nothing is created and None returned; the page
    answers the same either way (it must not tell who has an account) and the owner is told by
    e-mail instead. Side effects: a user and role row; audit ``account.registered``; a
    confirmation e-mail (or, for a known address, the owner's notice).
    """
    email = normalise_email(email)
    errors: dict[str, list[str]] = {}
    problems = passwords.password_problems(password, email=email)
    if problems:
        errors["password"] = problems
    if not name.strip():
        errors["name"] = [_("Enter your name.")]
    if errors:
        raise DomainError(errors)
    # Hashed either way, so that a known address takes as long as a new one.
    password_hash = passwords.hash_password(password)
    existing = find_user_by_email(email)
    if existing is not None:
        notify(
            to=existing,
            template="accounts/already_registered",
            context={"name": existing.name},
            # At most one notice an hour, however often the form is sent.
            dedup_key=f"accounts.already_registered:{existing.id}:{now:%Y-%m-%dT%H}",
            now=now,
        )
        return None
    user = User(
        email=email,
        name=name.strip(),
        password_hash=password_hash,
        status=UserStatus.UNCONFIRMED,
        created_at=now,
    )
    user.role_rows.append(UserRole(role=Role.APPLICANT, granted_at=now))
    db.session.add(user)
    db.session.flush()
    record_event(
        actor=user,
        action="account.registered",
        object_type="user",
        object_id=user.id,
        after=_user_state(user),
        now=now,
    )
    _send_confirmation(user, now=now, reason="registered")
    return user


@operation
def resend_confirmation(*, email: str, now: dt.datetime) -> None:
    """Send a new confirmation link if the address belongs to an unconfirmed account.

    Says nothing either way, so the form does not reveal which addresses have accounts.
    Side effects: at most one e-mail per account per minute.
    """
    user = find_user_by_email(email)
    if user is None or user.status != UserStatus.UNCONFIRMED:
        return
    _send_confirmation(user, now=now, reason=f"resent:{now:%Y%m%d%H%M}")


def user_for_token(purpose: Purpose, token: str) -> User:
    """The user a link is for. Raises TokenError for forged, expired or used links."""
    content = read_token(_secret(), purpose, token)
    user = db.session.get(User, content.user_id)
    if user is None:
        raise TokenError(_("This link is not valid."), expired=False)
    bound = user.password_hash if purpose == Purpose.RESET_PASSWORD else user.email
    if content.fingerprint != fingerprint(bound):
        raise TokenError(_("This link has already been used or is no longer valid."), expired=False)
    return user


@operation
def confirm_email(user: User, *, now: dt.datetime) -> bool:
    """Activate an account whose owner opened the confirmation link.

    Returns False when it was already confirmed. Side effects: audit ``account.confirmed``.
    """
    if user.status != UserStatus.UNCONFIRMED:
        return False
    result = db.session.execute(
        sa.update(User)
        .where(User.id == user.id, User.status == UserStatus.UNCONFIRMED)
        .values(status=UserStatus.ACTIVE, email_confirmed_at=now)
    )
    if not result.rowcount:
        return False
    db.session.refresh(user)
    record_event(
        actor=user,
        action="account.confirmed",
        object_type="user",
        object_id=user.id,
        before={"status": UserStatus.UNCONFIRMED},
        after={"status": UserStatus.ACTIVE},
        now=now,
    )
    return True


class LoginRefused(DomainError):
    def __init__(self, errors: dict[str, list[str]], *, throttled: bool = False) -> None:
        super().__init__(errors)
        self.throttled = throttled


@operation
def check_password(*, email: str, password: str, client_address: str, now: dt.datetime) -> User:
    """The first step of signing in: the account whose credentials these are, if it may sign in.

    Opens no session: a person with a second factor must pass it first
    (``second_factor.finish_login`` opens it). Refuses while the account or the client address
    has too many recent failures. Side effects: on failure a throttle row (committed even though
    the login is refused); on success the account's failures are forgotten.
    """
    settings = _settings()
    window = dt.timedelta(minutes=settings.throttle_window_minutes)
    account_bucket = throttle.bucket(_secret(), "login-account", email)
    address_bucket = throttle.bucket(_secret(), "login-address", client_address)
    wait = throttle.first_retry_after(
        (
            (account_bucket, settings.login_failures_per_account),
            (address_bucket, settings.login_failures_per_address),
        ),
        window=window,
        now=now,
    )
    if wait is not None:
        raise LoginRefused(
            {
                "": [
                    _(
                        "Too many failed attempts. Try again in %(wait)s minutes, or reset "
                        "your password.",
                        wait=wait,
                    )
                ]
            },
            throttled=True,
        )
    user = find_user_by_email(email)
    # Verified even without a user (against a dummy hash), so that an unknown address takes as
    # long as a wrong password and the timing does not tell which addresses have accounts.
    matches = passwords.verify_password(user.password_hash if user else None, password)
    if user is None or not matches:
        throttle.note([account_bucket, address_bucket], now=now, window=window)
        db.session.commit()  # the failure must count even though this operation refuses
        raise LoginRefused({"password": [_("The e-mail address or password is not correct.")]})
    if user.status == UserStatus.UNCONFIRMED:
        raise LoginRefused(
            {
                "email": [
                    _(
                        "Confirm your e-mail address first: open the link we sent you, or ask "
                        "for a new one below."
                    )
                ]
            }
        )
    if user.status == UserStatus.INVITED:
        raise LoginRefused(
            {"email": [_("Accept your invitation first, using the link we sent you.")]}
        )
    if user.status == UserStatus.DISABLED:
        raise LoginRefused(
            {"email": [_("This account is disabled. Please contact the programme office.")]}
        )
    assert user.password_hash is not None
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
    throttle.clear(account_bucket)
    return user


@operation
def open_signed_in_session(user: User, *, method: str, now: dt.datetime) -> str:
    """Open a new server-side session for a person who passed every step of signing in.

    ``method`` names how they signed in (``password``, ``totp``, ``recovery_code``, later
    ``passkey`` or single sign-on). Returns the session token for the cookie. Refuses an account
    that may no longer sign in (disabled between the steps). Side effects: a session row; audit
    ``account.logged_in`` with the method.
    """
    if not user.is_active:
        raise LoginRefused(
            {"": [_("This account is disabled. Please contact the programme office.")]}
        )
    token = sessions.open_session(user, now=now)
    record_event(
        actor=user,
        action="account.logged_in",
        object_type="user",
        object_id=user.id,
        after={"method": method},
        now=now,
    )
    return token


@operation
def log_out(user: User, *, session_token: str | None, now: dt.datetime) -> None:
    """End this browser's session on the server, so a copied cookie stops working.

    Side effects: the session row ended; audit ``account.logged_out``.
    """
    sessions.end_session(session_token, reason="logout", now=now)
    record_event(
        actor=user, action="account.logged_out", object_type="user", object_id=user.id, now=now
    )


@operation
def request_password_reset(*, email: str, client_address: str, now: dt.datetime) -> None:
    """Mail a reset link if the address belongs to an active account; say nothing either way.

    Throttled per account and per address like logins. Side effects: at most one e-mail.
    """
    settings = _settings()
    window = dt.timedelta(minutes=settings.throttle_window_minutes)
    account_bucket = throttle.bucket(_secret(), "reset-account", email)
    address_bucket = throttle.bucket(_secret(), "reset-address", client_address)
    limits = ((account_bucket, 3), (address_bucket, settings.login_failures_per_address))
    for name, limit in limits:
        wait = throttle.retry_after(name, limit=limit, window=window, now=now)
        if wait is not None:
            raise LoginRefused(
                {"": [_("Too many reset requests. Try again in %(wait)s minutes.", wait=wait)]},
                throttled=True,
            )
    throttle.note([account_bucket, address_bucket], now=now, window=window)
    user = find_user_by_email(email)
    if user is None or user.status != UserStatus.ACTIVE:
        return
    token = make_token(
        _secret(), Purpose.RESET_PASSWORD, user_id=user.id, bound_to=user.password_hash
    )
    notify(
        to=user,
        template="accounts/reset_password",
        context={"name": user.name, "token": token},
        dedup_key=f"accounts.reset:{user.id}:{now.isoformat()}",
        now=now,
    )


@operation
def reset_password(user: User, *, password: str, now: dt.datetime) -> None:
    """Set a new password from a reset link and end every session of the account.

    Side effects: sessions ended; audit ``account.password_reset``.
    """
    problems = passwords.password_problems(password, email=user.email)
    if problems:
        raise DomainError({"password": problems})
    user.password_hash = passwords.hash_password(password)
    sessions.end_sessions(user, reason="password reset", now=now)
    record_event(
        actor=user, action="account.password_reset", object_type="user", object_id=user.id, now=now
    )


@operation
def invite_person(*, actor: User, email: str, name: str, role: Role, now: dt.datetime) -> User:
    """An officer invites a juror or another officer by e-mail.

    An existing account gains the role and is told; a new one is created as invited and gets a
    link to choose a password. Side effects: user/role rows; audit ``account.invited`` or
    ``account.role_granted``; one e-mail.
    """
    if not actor.has_role(Role.OFFICER):
        raise PermissionDenied(_("Only officers can invite people."))
    if role not in INVITABLE_ROLES:
        raise DomainError({"role": [_("Choose juror or officer.")]})
    email = normalise_email(email)
    user = find_user_by_email(email)
    if user is not None:
        if role in user.roles:
            # One sentence per role (only these two can be invited), so each reads well in German.
            already = (
                _("%(email)s already has the juror role.", email=email)
                if role == Role.JUROR
                else _("%(email)s already has the officer role.", email=email)
            )
            raise DomainError({"email": [already]})
        if user.status == UserStatus.DISABLED:
            raise DomainError({"email": [_("This account is disabled; enable it first.")]})
        before = _user_state(user)
        user.role_rows.append(UserRole(role=role, granted_at=now))
        db.session.flush()
        record_event(
            actor=actor,
            action="account.role_granted",
            object_type="user",
            object_id=user.id,
            before=before,
            after=_user_state(user),
            now=now,
        )
        if user.status == UserStatus.INVITED:
            _send_invitation(user, actor=actor, role=role, now=now)
        else:
            notify(
                to=user,
                template="accounts/role_granted",
                context={"name": user.name, "role": role.value, "inviter": actor.name},
                dedup_key=f"accounts.role:{user.id}:{role.value}",
                now=now,
            )
        return user
    if not name.strip():
        raise DomainError({"name": [_("Enter the person's name.")]})
    user = User(email=email, name=name.strip(), status=UserStatus.INVITED, created_at=now)
    user.role_rows.append(UserRole(role=role, granted_at=now))
    db.session.add(user)
    db.session.flush()
    record_event(
        actor=actor,
        action="account.invited",
        object_type="user",
        object_id=user.id,
        after=_user_state(user),
        now=now,
    )
    _send_invitation(user, actor=actor, role=role, now=now)
    return user


def _send_invitation(user: User, *, actor: User, role: Role, now: dt.datetime) -> None:
    token = make_token(_secret(), Purpose.INVITATION, user_id=user.id, bound_to=user.email)
    notify(
        to=user,
        template="accounts/invitation",
        context={"name": user.name, "role": role.value, "inviter": actor.name, "token": token},
        dedup_key=f"accounts.invite:{user.id}:{role.value}",
        now=now,
    )


@operation
def accept_invitation(user: User, *, name: str, password: str, now: dt.datetime) -> None:
    """The invited person chooses a password; the account becomes active.

    Side effects: audit ``account.invitation_accepted``.
    """
    if user.status != UserStatus.INVITED:
        raise DomainError(_("This invitation has already been accepted. Please log in."))
    errors: dict[str, list[str]] = {}
    problems = passwords.password_problems(password, email=user.email)
    if problems:
        errors["password"] = problems
    if not name.strip():
        errors["name"] = [_("Enter your name.")]
    if errors:
        raise DomainError(errors)
    user.name = name.strip()
    user.password_hash = passwords.hash_password(password)
    user.status = UserStatus.ACTIVE
    user.email_confirmed_at = now
    record_event(
        actor=user,
        action="account.invitation_accepted",
        object_type="user",
        object_id=user.id,
        before={"status": UserStatus.INVITED},
        after={"status": UserStatus.ACTIVE},
        now=now,
    )


@operation
def set_account_disabled(user: User, *, actor: User, disabled: bool, now: dt.datetime) -> None:
    """An administrator disables (ending every session at once) or re-enables an account.

    Side effects: sessions ended; audit ``account.disabled`` / ``account.enabled``.
    """
    if not actor.has_role(Role.ADMIN):
        raise PermissionDenied(_("Only administrators can disable accounts."))
    if user.id == actor.id:
        raise DomainError(_("You cannot disable your own account."))
    before = _user_state(user)
    if disabled:
        if user.status == UserStatus.DISABLED:
            return
        user.status = UserStatus.DISABLED
        sessions.end_sessions(user, reason="account disabled", now=now)
    else:
        if user.status != UserStatus.DISABLED:
            return
        user.status = UserStatus.ACTIVE if user.password_hash else UserStatus.INVITED
    record_event(
        actor=actor,
        action="account.disabled" if disabled else "account.enabled",
        object_type="user",
        object_id=user.id,
        before=before,
        after=_user_state(user),
        now=now,
    )


@operation
def choose_language(user: User, locale: str) -> None:
    """Pages, mail and letters for ``user`` in ``locale`` from now on."""
    from competition.i18n import LANGUAGES

    if locale not in LANGUAGES:
        raise DomainError(_("Choose one of the offered languages."))
    user.locale = locale
