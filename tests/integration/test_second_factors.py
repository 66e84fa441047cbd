"""Second factors from the outside: setting up an authenticator app, the second step of signing in
(codes that work once, recovery codes, throttling), the requirement for officers, and an
administrator's reset. Runs on PostgreSQL."""

from __future__ import annotations

import datetime as dt
import re

import pyotp
import pytest
import sqlalchemy as sa

from competition.accounts import factor_operations as factor_ops
from competition.accounts import totp
from competition.accounts.models import Role, TotpFactor, User
from competition.accounts.operations import LoginRefused
from competition.accounts.passkey_models import PasskeyCredential
from competition.audit.models import AuditEvent
from competition.errors import PermissionDenied
from competition.extensions import db
from competition.notifications.models import NotificationState
from tests.conftest import Browser
from tests.factories import PASSWORD, make_user
from tests.integration.accounts_world import (
    Person,
    assert_signed_in,
    assert_signed_out,
    audit_events,
    create_user,
    field_error,
    mails_to,
    new_browser,
    redirect_path,
    text,
)

pytestmark = pytest.mark.postgres

T = dt.datetime(2027, 3, 1, 9, 0, 10, tzinfo=dt.UTC)
STEP = dt.timedelta(seconds=totp.STEP_SECONDS)
OFFICER_PAGE = "/programmes"


def code(secret: str, at: dt.datetime | None = None) -> str:
    """What the person's app shows at ``at`` (now by default)."""
    at = at or dt.datetime.now(dt.UTC)
    return pyotp.TOTP(secret).at(at)


def set_up_by_the_pages(browser: Browser) -> tuple[str, list[str]]:
    """Set up an authenticator app as a person does: read the key from the page, type a code.
    Returns the secret and the recovery codes shown."""
    page = text(browser.get("/account/security/authenticator"))
    match = re.search(r'<code id="totp-secret">([A-Z2-7 ]+)</code>', page)
    assert match, "the set-up page shows no key"
    secret = match.group(1).replace(" ", "")
    response = browser.submit("/account/security/authenticator", {"code": code(secret)})
    assert response.status_code == 200, field_error(response, "code")
    codes = re.findall(r"<li><code>([a-z2-9-]+)</code></li>", text(response))
    return secret, codes


def next_step_code(secret: str) -> str:
    """The app's next code: the current one was used by the set-up, and a code works once."""
    return code(secret, dt.datetime.now(dt.UTC) + STEP)


def second_step(browser: Browser, value: str):  # type: ignore[no-untyped-def]
    return browser.submit("/login/second-factor", {"code": value})


def give_totp(app, person: Person, secret: str) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        db.session.add(TotpFactor(user_id=person.id, secret=secret, created_at=T))
        db.session.commit()


def give_passkeys(app, person: Person, count: int) -> None:  # type: ignore[no-untyped-def]
    """Passkeys as rows (their ceremonies are tested in test_passkeys.py)."""
    with app.app_context():
        db.session.add_all(
            PasskeyCredential(
                user_id=person.id,
                credential_id=f"credential-{person.id}-{n}",
                public_key=b"not used here",
                sign_count=0,
                transports=[],
                name=f"Key {n}",
                created_at=T,
            )
            for n in range(count)
        )
        db.session.commit()


# --- codes at a fixed clock -----------------------------------------------------------------


def test_a_code_is_accepted_once_within_a_step_either_side_of_the_servers_clock(ctx):
    user = make_user()
    secret = totp.new_secret()
    factor_ops.set_up_totp(user, secret=secret, code=code(secret, T), now=T)

    def verify(value: str, at: dt.datetime) -> str:
        return factor_ops.verify_second_step(user, code=value, client_address="10.0.0.1", now=at)

    with pytest.raises(LoginRefused):  # the set-up's own code, replayed
        verify(code(secret, T), T)
    assert verify(code(secret, T + STEP), T) == "totp"  # a phone a little ahead
    with pytest.raises(LoginRefused):  # the same code again, even a few seconds later
        verify(code(secret, T + STEP), T + dt.timedelta(seconds=5))
    with pytest.raises(LoginRefused):  # two steps ahead is too far
        verify(code(secret, T + 3 * STEP), T)
    assert verify(code(secret, T + 2 * STEP), T + 3 * STEP) == "totp"  # a phone a little behind
    assert audit_events(ctx, "account.second_step_failed") == [(user.id, str(user.id))] * 3


# --- signing in -----------------------------------------------------------------------------


def test_with_an_authenticator_app_the_password_alone_opens_no_session(app):
    person = create_user(app)
    browser = new_browser(app)
    browser.login(person.email, PASSWORD)
    secret, codes = set_up_by_the_pages(browser)
    assert len(codes) == 10 and len(set(codes)) == 10
    browser.logout()

    response = browser.login(person.email, PASSWORD)

    assert redirect_path(response) == "/login/second-factor"
    assert_signed_out(browser.client)
    response = second_step(browser, next_step_code(secret))
    assert redirect_path(response) == "/"
    assert_signed_in(browser.client, person)
    assert audit_events(app, "account.second_factor_set_up") == [(person.id, str(person.id))]


def test_the_second_step_keeps_the_address_asked_for_before_login(app):
    person = create_user(app)
    secret = totp.new_secret()
    give_totp(app, person, secret)
    browser = new_browser(app)

    browser.submit(
        "/login", {"email": person.email, "password": PASSWORD, "next": "/account/security"}
    )
    response = second_step(browser, code(secret))

    assert redirect_path(response) == "/account/security"


def test_a_wrong_code_is_refused_at_its_field_and_many_are_throttled(app):
    person = create_user(app)
    secret = totp.new_secret()
    give_totp(app, person, secret)
    browser = new_browser(app)
    browser.login(person.email, PASSWORD)

    wrong = str((int(code(secret)) + 1) % 1_000_000).zfill(6)
    response = second_step(browser, wrong)
    assert response.status_code == 422
    assert "not correct" in (field_error(response, "code") or "")
    for _ in range(4):
        second_step(browser, wrong)
    # A correct password again does not start the count afresh.
    browser.login(person.email, PASSWORD)
    response = second_step(browser, code(secret))

    assert response.status_code == 429
    assert "Too many failed attempts" in text(response)
    assert_signed_out(browser.client)
    assert len(audit_events(app, "account.second_step_throttled")) == 1


def test_a_recovery_code_signs_in_once(app):
    person = create_user(app)
    browser = new_browser(app)
    browser.login(person.email, PASSWORD)
    _secret, codes = set_up_by_the_pages(browser)
    browser.logout()

    browser.login(person.email, PASSWORD)
    response = second_step(browser, codes[3].upper().replace("-", " "))
    assert redirect_path(response) == "/"
    assert_signed_in(browser.client, person)
    assert "9 unused recovery codes left" in text(browser.get("/account/security"))
    browser.logout()
    browser.login(person.email, PASSWORD)
    again = second_step(browser, codes[3])

    assert again.status_code == 422
    assert_signed_out(browser.client)
    assert audit_events(app, "account.recovery_code_used") == [(person.id, str(person.id))]


def test_the_second_step_must_follow_the_password_within_five_minutes(app):
    person = create_user(app)
    secret = totp.new_secret()
    give_totp(app, person, secret)
    browser = new_browser(app)
    browser.login(person.email, PASSWORD)
    with browser.client.session_transaction() as session:
        marker = session["second_factor_pending"]
        session["second_factor_pending"] = {**marker, "at": marker["at"] - 5 * 60 - 1}

    response = browser.submit("/login/second-factor", {"code": code(secret)}, page="/login")

    assert redirect_path(response) == "/login"
    assert_signed_out(browser.client)


def test_disabling_the_app_needs_the_password(app):
    person = create_user(app)
    browser = new_browser(app)
    browser.login(person.email, PASSWORD)
    set_up_by_the_pages(browser)

    refused = browser.submit("/account/security/authenticator/disable", {"password": "wrong one!"})
    assert refused.status_code == 422
    browser.submit("/account/security/authenticator/disable", {"password": PASSWORD})
    browser.logout()

    assert browser.login(person.email, PASSWORD).status_code == 302
    assert_signed_in(browser.client, person)
    assert len(audit_events(app, "account.second_factor_disabled")) == 1


# --- the requirement ------------------------------------------------------------------------


def test_an_officer_without_a_second_factor_reaches_officer_pages_only_after_setting_one_up(
    make_app,
):
    app = make_app(second_factor_required_roles=("officer", "admin"))
    officer = create_user(app, roles=(Role.OFFICER,))
    browser = new_browser(app)
    browser.login(officer.email, PASSWORD)

    response = browser.get(OFFICER_PAGE)
    assert redirect_path(response) == "/account/security"
    assert "Set up an authenticator app or add a passkey" in text(browser.get("/account/security"))
    set_up_by_the_pages(browser)

    assert browser.get(OFFICER_PAGE).status_code == 200


def test_an_applicant_needs_no_second_factor_where_officers_do(make_app):
    app = make_app(second_factor_required_roles=("officer", "admin"))
    applicant = create_user(app)
    browser = new_browser(app)
    browser.login(applicant.email, PASSWORD)

    assert browser.get("/").status_code == 200


# --- an administrator's reset ---------------------------------------------------------------


def test_an_administrator_cannot_reset_their_own_second_factor(app):
    admin = create_user(app, roles=(Role.ADMIN,))
    give_totp(app, admin, totp.new_secret())

    with app.app_context():
        user = db.session.get(User, admin.id)
        with pytest.raises(PermissionDenied):
            factor_ops.reset_second_factor(user, actor=user, now=T)
        assert db.session.scalar(sa.select(sa.func.count(TotpFactor.id))) == 1


def test_a_reset_removes_the_factor_mails_the_person_and_is_audited(app):
    admin = create_user(app, roles=(Role.ADMIN,))
    officer = create_user(app, roles=(Role.OFFICER,))
    secret = totp.new_secret()
    give_totp(app, officer, secret)
    give_passkeys(app, officer, 2)
    lost_device = new_browser(app)
    lost_device.login(officer.email, PASSWORD)
    second_step(lost_device, code(secret))
    assert lost_device.get("/account/security").status_code == 200
    browser = new_browser(app)
    browser.login(admin.email, PASSWORD)
    users = text(browser.get("/admin/users"))
    assert f"/admin/users/{officer.id}/second-factor/reset" in users
    assert f"/admin/users/{admin.id}/second-factor/reset" not in users

    response = browser.submit(f"/admin/users/{officer.id}/second-factor/reset", {})

    assert redirect_path(response) == "/admin/users"
    assert audit_events(app, "account.second_factor_reset") == [(admin.id, str(officer.id))]
    with app.app_context():
        event = db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == "account.second_factor_reset")
        ).one()
        assert event.before == {"removed": {"totp": 1, "passkey": 2}}
        assert db.session.scalar(sa.select(sa.func.count(PasskeyCredential.id))) == 0
    [mail] = [
        m for m in mails_to(app, officer.email) if m.template == "accounts/second_factor_reset"
    ]
    assert mail.state == NotificationState.SENT
    assert admin.name in (mail.body or "")
    assert redirect_path(lost_device.get("/account/security")) == "/login"
    officer_browser = new_browser(app)
    assert redirect_path(officer_browser.login(officer.email, PASSWORD)) == "/"
