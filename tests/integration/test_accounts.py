"""Accounts from the outside: registration, confirmation, login and logout, sessions, throttling,
password reset, invitations, disabling and the audit events they leave. Runs on PostgreSQL."""

# ruff: noqa: F811

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import urlencode, urlsplit

import pytest
from argon2 import PasswordHasher

from competition.accounts.models import Role, UserStatus
from competition.notifications.models import NotificationState
from tests.factories import PASSWORD
from tests.integration.accounts_world import (
    DAY,
    NEW_PASSWORD,
    Person,
    all_mail_count,
    assert_signed_in,
    assert_signed_out,
    audit_events,
    create_user,
    field_error,
    find_user_id,
    link_in,
    load_user,
    mails_to,
    new_browser,
    only_link,
    redirect_path,
    register,
    shift_sessions,
    tamper,
    text,
    travel,  # noqa: F401  (a fixture, found by name)
    user_count,
)

pytestmark = pytest.mark.postgres


# --- registration -------------------------------------------------------------------------


def visible(response) -> str:  # type: ignore[no-untyped-def]
    """What a person reads on the page: its text without markup (nor the form's token)."""
    body = text(response).split("<body", 1)[-1]
    return " ".join(re.sub(r"<[^>]+>", " ", body).split())


def test_registration_says_check_your_mail_and_sends_one_confirmation(app, browser):
    response = register(browser, name="Ada Lovelace", email="Ada@Example.org")

    assert response.status_code == 200
    assert "Check your e-mail" in text(response)
    assert "ada@example.org" in text(response)
    mails = mails_to(app, "ada@example.org")
    assert [(m.template, m.state) for m in mails] == [
        ("accounts/confirm_email", NotificationState.SENT)
    ]
    assert link_in(mails[0], "/confirm/")
    user_id = find_user_id(app, "ada@example.org")
    assert user_id is not None
    assert load_user(app, user_id) == (UserStatus.UNCONFIRMED, frozenset({Role.APPLICANT}))


def test_registering_a_taken_address_answers_as_for_a_new_one_and_tells_the_owner_by_mail(
    app, browser
):
    create_user(app, email="grace@example.org")
    fresh = register(new_browser(app), name="Ada Lovelace", email="ada@example.org")

    response = register(browser, name="Grace Again", email="GRACE@example.ORG")

    # The same page as for a new address: the form does not tell who has an account.
    assert response.status_code == 200
    assert visible(response).replace("grace@example.org", "ADDRESS") == visible(fresh).replace(
        "ada@example.org", "ADDRESS"
    )
    assert user_count(app) == 2
    notice = mails_to(app, "grace@example.org")
    assert [m.template for m in notice] == ["accounts/already_registered"]
    assert link_in(notice[0], "/password/") == "/password/forgot"
    # Sent again and again, the owner is told once an hour, not once a try.
    register(browser, name="Grace Again", email="grace@example.org")
    assert len(mails_to(app, "grace@example.org")) == 1


@pytest.mark.parametrize(
    ("email", "password", "confirm", "field", "message"),
    [
        ("not-an-address", PASSWORD, PASSWORD, "email", "Enter a valid e-mail address"),
        ("ada@example.org", "short1", "short1", "password", "Use at least 10 characters."),
        ("ada@example.org", PASSWORD, PASSWORD + "!", "confirm", "The passwords differ."),
    ],
    ids=["malformed-email", "short-password", "mismatched-confirmation"],
)
def test_invalid_registration_shows_the_problem_at_its_field_and_keeps_the_entries(
    app, browser, email, password, confirm, field, message
):
    response = register(
        browser, name="Ada Lovelace", email=email, password=password, confirm=confirm
    )

    assert response.status_code == 422
    assert message in (field_error(response, field) or "")
    page = response.get_data(as_text=True)
    assert 'value="Ada Lovelace"' in page
    assert f'value="{email}"' in page
    assert password not in page
    assert user_count(app) == 0
    assert all_mail_count(app) == 0


# --- confirmation -------------------------------------------------------------------------


def test_confirmation_link_activates_the_account_once(app, browser):
    register(browser, name="Ada Lovelace", email="ada@example.org")
    link = only_link(app, "ada@example.org", "accounts/confirm_email", "/confirm/")

    first = browser.get(link, follow_redirects=True)
    assert first.status_code == 200
    assert "Your e-mail address is confirmed" in text(first)
    second = browser.get(link, follow_redirects=True)
    assert "already confirmed" in text(second)

    user_id = find_user_id(app, "ada@example.org")
    assert load_user(app, user_id)[0] == UserStatus.ACTIVE
    assert redirect_path(browser.login("ada@example.org", PASSWORD)) == "/"


def test_expired_confirmation_link_says_so_and_offers_a_new_one(app, browser, travel):
    register(browser, name="Ada Lovelace", email="ada@example.org")
    link = only_link(app, "ada@example.org", "accounts/confirm_email", "/confirm/")

    travel(3 * DAY + 60)
    response = browser.get(link)

    assert response.status_code == 400
    assert "This link has expired." in text(response)
    assert 'href="/confirm"' in response.get_data(as_text=True)
    user_id = find_user_id(app, "ada@example.org")
    assert load_user(app, user_id)[0] == UserStatus.UNCONFIRMED

    # The offered page sends a fresh link, which works.
    travel(0)
    assert "Check your e-mail" in text(browser.submit("/confirm", {"email": "ada@example.org"}))
    confirmations = [
        m for m in mails_to(app, "ada@example.org") if m.template == "accounts/confirm_email"
    ]
    assert len(confirmations) == 2
    fresh = link_in(confirmations[-1], "/confirm/")
    assert "is confirmed" in text(browser.get(fresh, follow_redirects=True))


def test_confirmation_link_still_works_before_it_expires(app, browser, travel):
    register(browser, name="Ada Lovelace", email="ada@example.org")
    link = only_link(app, "ada@example.org", "accounts/confirm_email", "/confirm/")

    travel(3 * DAY - 3600)

    assert "is confirmed" in text(browser.get(link, follow_redirects=True))


@pytest.mark.parametrize("forgery", ["changed-signature", "reset-token-used-for-confirmation"])
def test_forged_confirmation_link_is_not_valid(app, browser, forgery):
    register(browser, name="Ada Lovelace", email="ada@example.org")
    link = only_link(app, "ada@example.org", "accounts/confirm_email", "/confirm/")
    if forgery == "changed-signature":
        forged = tamper(link)
    else:
        # A correctly signed token for another purpose must not confirm anything.
        from competition.accounts.tokens import Purpose, make_token

        user_id = find_user_id(app, "ada@example.org")
        token = make_token(
            app.config["SECRET_KEY"],
            Purpose.RESET_PASSWORD,
            user_id=user_id,
            bound_to="ada@example.org",
        )
        forged = f"/confirm/{token}"

    response = browser.get(forged)

    assert response.status_code == 400
    assert "This link is not valid." in text(response)
    assert load_user(app, find_user_id(app, "ada@example.org"))[0] == UserStatus.UNCONFIRMED


def test_unconfirmed_account_cannot_log_in_and_is_told_to_confirm(app, browser):
    register(browser, name="Ada Lovelace", email="ada@example.org")

    response = browser.login("ada@example.org", PASSWORD)

    assert response.status_code == 422
    assert "Confirm your e-mail address first" in field_error(response, "email")
    assert_signed_out(browser.client)


# --- login --------------------------------------------------------------------------------


def test_login_with_wrong_password_or_unknown_email_says_the_same_at_the_password_field(
    app, browser
):
    person = create_user(app)

    wrong_password = browser.login(person.email, "not the password")
    unknown_email = browser.login("nobody@example.org", PASSWORD)

    assert wrong_password.status_code == unknown_email.status_code == 422
    message = field_error(wrong_password, "password")
    assert message == "The e-mail address or password is not correct."
    assert field_error(unknown_email, "password") == message
    assert field_error(wrong_password, "email") is None
    assert field_error(unknown_email, "email") is None
    assert_signed_out(browser.client)


def test_an_unknown_address_costs_the_same_password_check_as_a_wrong_password(
    app, browser, monkeypatch
):
    # Timing would tell which addresses have accounts if only known ones were hashed.
    from competition.accounts import passwords

    checks: list[str] = []

    class Counted(PasswordHasher):
        def verify(self, stored_hash, password):  # type: ignore[no-untyped-def]
            checks.append(stored_hash)
            return super().verify(stored_hash, password)

    monkeypatch.setattr(passwords, "_hasher", Counted())
    person = create_user(app)

    browser.login(person.email, "not the password")
    known = len(checks)
    browser.login("nobody@example.org", "not the password")

    assert known == 1
    assert len(checks) == 2
    assert checks[1].startswith("$argon2id$")


def test_login_redirects_to_the_dashboard(app, browser):
    person = create_user(app)

    response = browser.login(person.email, PASSWORD)

    assert redirect_path(response) == "/"
    assert_signed_in(browser.client, person)


def test_login_accepts_the_address_in_any_case(app, browser):
    person = create_user(app, email="mixed@example.org")

    assert redirect_path(browser.login("Mixed@Example.ORG", PASSWORD)) == "/"
    assert_signed_in(browser.client, person)


def test_login_works_for_an_account_at_a_reserved_domain_like_the_demo_accounts(app, browser):
    # The demo accounts live at demo.test; a stored address must never fail the login form.
    person = create_user(app, email="officer@demo.test")

    assert redirect_path(browser.login(person.email, PASSWORD)) == "/"
    assert_signed_in(browser.client, person)


@pytest.mark.parametrize(
    ("next_url", "lands_on"),
    [
        ("/admin/users?q=a", "/admin/users"),
        ("https://evil.example/steal", "/"),
        ("//evil.example/steal", "/"),
        ("javascript:alert(1)", "/"),
        ("/admin/users\r\nSet-Cookie: stolen=1", "/"),
        ("/\\evil.example/steal", "/"),
    ],
    ids=["same-site-path", "other-host", "scheme-relative", "javascript", "crlf", "backslash"],
)
def test_login_follows_next_only_to_same_site_paths(app, browser, next_url, lands_on):
    person = create_user(app, roles=(Role.ADMIN,))
    page = "/login?" + urlencode({"next": next_url})

    response = browser.submit(
        "/login", {"email": person.email, "password": PASSWORD, "next": next_url}, page=page
    )

    assert response.status_code == 302
    assert "evil.example" not in response.location
    assert urlsplit(response.location).path == lands_on


def test_anonymous_visit_to_a_signed_in_page_returns_there_after_login(app, browser):
    person = create_user(app, roles=(Role.ADMIN,))

    to_login = browser.get("/admin/users")
    assert redirect_path(to_login) == "/login"
    login_page = browser.get(to_login.location)
    assert 'value="/admin/users"' in login_page.get_data(as_text=True)
    response = browser.submit(
        "/login",
        {"email": person.email, "password": PASSWORD, "next": "/admin/users"},
        page=to_login.location,
    )

    assert redirect_path(response) == "/admin/users"


def test_login_renews_the_session_cookie(app, browser):
    person = create_user(app)
    browser.get("/login")
    before = browser.client.get_cookie("competition_session")
    assert before is not None

    assert redirect_path(browser.login(person.email, PASSWORD)) == "/"

    after = browser.client.get_cookie("competition_session")
    assert after is not None and after.value != before.value
    # Someone holding the cookie from before the login does not share the signed-in session.
    other = app.test_client()
    other.set_cookie("competition_session", before.value)
    assert_signed_out(other)
    assert "Welcome," not in text(other.get("/"))


def test_a_page_that_changes_nothing_in_the_session_does_not_send_its_cookie_again(app, browser):
    person = create_user(app)
    browser.login(person.email, PASSWORD)
    browser.get("/")  # the welcome message is read, and leaves the session
    cookie = browser.client.get_cookie("competition_session")
    assert cookie is not None and cookie.expires is not None
    lifetime = cookie.expires - dt.datetime.now(dt.UTC)

    response = browser.get("/")

    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers
    assert_signed_in(browser.client, person)
    # The cookie lasts as long as the server's absolute limit lets a session last.
    limit = dt.timedelta(hours=app.extensions["settings"].session_absolute_hours)
    assert limit - dt.timedelta(minutes=1) < lifetime <= limit


# --- logout and session lifetime -----------------------------------------------------------


def test_logout_ends_the_session_on_the_server_for_copied_cookies_too(app, browser):
    person = create_user(app)
    browser.login(person.email, PASSWORD)
    copy = app.test_client()
    copy.set_cookie("competition_session", browser.client.get_cookie("competition_session").value)
    assert_signed_in(copy, person)

    response = browser.logout()

    assert redirect_path(response) == "/login"
    assert "You are logged out." in text(browser.get("/login"))
    assert_signed_out(browser.client)
    assert_signed_out(copy)


def test_idle_session_is_logged_out(make_app):
    app = make_app(session_idle_minutes=5)
    person = create_user(app)
    browser = new_browser(app)
    browser.login(person.email, PASSWORD)

    shift_sessions(app, person.id, last_seen_at=dt.timedelta(minutes=4))
    assert_signed_in(browser.client, person)  # activity within the limit keeps it alive

    shift_sessions(app, person.id, last_seen_at=dt.timedelta(minutes=6))
    assert_signed_out(browser.client)
    shift_sessions(app, person.id, last_seen_at=-dt.timedelta(minutes=6))
    assert_signed_out(browser.client)  # an ended session never comes back


def test_session_older_than_the_absolute_limit_is_logged_out_even_when_active(make_app):
    app = make_app(session_absolute_hours=1)
    person = create_user(app)
    browser = new_browser(app)
    browser.login(person.email, PASSWORD)

    shift_sessions(app, person.id, created_at=dt.timedelta(minutes=55))
    assert_signed_in(browser.client, person)

    shift_sessions(app, person.id, created_at=dt.timedelta(minutes=10))
    assert_signed_out(browser.client)


# --- disabling ----------------------------------------------------------------------------


def test_disabling_an_account_logs_it_out_at_once_and_blocks_login(app, browser):
    admin = create_user(app, roles=(Role.ADMIN,))
    person = create_user(app)
    victim = new_browser(app)
    victim.login(person.email, PASSWORD)
    assert_signed_in(victim.client, person)
    browser.login(admin.email, PASSWORD)

    response = browser.submit(
        f"/admin/users/{person.id}/disable", {}, page="/admin/users", follow_redirects=True
    )

    assert response.status_code == 200
    assert f"{person.email} is disabled." in text(response)
    assert_signed_out(victim.client)
    refused = victim.login(person.email, PASSWORD)
    assert refused.status_code == 422
    assert "disabled" in field_error(refused, "email")
    assert "Disabled" in text(browser.get("/admin/users"))


def test_re_enabled_account_can_log_in_again(app, browser):
    admin = create_user(app, roles=(Role.ADMIN,))
    person = create_user(app)
    browser.login(admin.email, PASSWORD)
    browser.submit(f"/admin/users/{person.id}/disable", {}, page="/admin/users")

    response = browser.submit(
        f"/admin/users/{person.id}/enable", {}, page="/admin/users", follow_redirects=True
    )

    assert f"{person.email} is enabled." in text(response)
    assert load_user(app, person.id)[0] == UserStatus.ACTIVE
    again = new_browser(app)
    assert redirect_path(again.login(person.email, PASSWORD)) == "/"
    assert_signed_in(again.client, person)


def test_admin_cannot_disable_their_own_account(app, browser):
    admin = create_user(app, roles=(Role.ADMIN,))
    browser.login(admin.email, PASSWORD)

    response = browser.submit(
        f"/admin/users/{admin.id}/disable", {}, page="/admin/users", follow_redirects=True
    )

    assert "You cannot disable your own account." in text(response)
    assert load_user(app, admin.id)[0] == UserStatus.ACTIVE
    assert_signed_in(browser.client, admin)
    assert audit_events(app, "account.disabled") == []


def test_disabling_needs_the_admin_role(app, browser):
    officer = create_user(app, roles=(Role.OFFICER,))
    person = create_user(app)
    browser.login(officer.email, PASSWORD)

    response = browser.submit(f"/admin/users/{person.id}/disable", {}, page="/")

    assert response.status_code == 403
    assert load_user(app, person.id)[0] == UserStatus.ACTIVE


# --- throttling ---------------------------------------------------------------------------


def test_after_five_failed_logins_even_the_right_password_must_wait(app, browser):
    person = create_user(app)
    for _ in range(5):
        assert browser.login(person.email, "wrong password!").status_code == 422

    response = browser.login(person.email, PASSWORD)

    assert response.status_code == 429
    assert "Too many failed attempts. Try again in" in text(response)
    assert_signed_out(browser.client)
    # Another account from the same address is not affected by this account's failures.
    other = create_user(app)
    assert redirect_path(new_browser(app).login(other.email, PASSWORD)) == "/"


def test_forged_forwarded_for_header_does_not_escape_the_per_address_limit(make_app):
    app = make_app(login_failures_per_address=3)
    person = create_user(app)
    attacker = new_browser(app)
    address = {"REMOTE_ADDR": "198.51.100.7"}
    for n in range(3):
        response = attacker.submit(
            "/login",
            {"email": f"guess{n}@example.org", "password": "wrong password!"},
            headers={"X-Forwarded-For": f"203.0.113.{n}"},
            environ_base=address,
        )
        assert response.status_code == 422

    blocked = attacker.submit(
        "/login",
        {"email": person.email, "password": PASSWORD},
        headers={"X-Forwarded-For": "203.0.113.99"},
        environ_base=address,
    )

    assert blocked.status_code == 429
    assert "Too many failed attempts" in text(blocked)
    # The same account from another address is fine: the limit was the address's.
    elsewhere = new_browser(app).submit(
        "/login",
        {"email": person.email, "password": PASSWORD},
        environ_base={"REMOTE_ADDR": "198.51.100.8"},
    )
    assert redirect_path(elsewhere) == "/"


def test_password_reset_requests_for_one_account_are_throttled(app, browser):
    person = create_user(app)
    for _ in range(3):
        response = browser.submit("/password/forgot", {"email": person.email})
        assert response.status_code == 200

    response = browser.submit("/password/forgot", {"email": person.email})

    assert response.status_code == 429
    assert "Too many reset requests. Try again in" in text(response)
    assert len(mails_to(app, person.email)) == 3


def test_password_reset_requests_from_one_address_are_throttled_despite_forwarded_for(make_app):
    app = make_app(login_failures_per_address=3)
    browser = new_browser(app)
    address = {"REMOTE_ADDR": "198.51.100.7"}
    for n in range(3):
        response = browser.submit(
            "/password/forgot",
            {"email": f"someone{n}@example.org"},
            headers={"X-Forwarded-For": f"203.0.113.{n}"},
            environ_base=address,
        )
        assert response.status_code == 200

    response = browser.submit(
        "/password/forgot",
        {"email": "someone9@example.org"},
        headers={"X-Forwarded-For": "203.0.113.99"},
        environ_base=address,
    )

    assert response.status_code == 429
    assert "Too many reset requests" in text(response)


# --- password reset -----------------------------------------------------------------------


def test_reset_request_does_not_reveal_whether_the_account_exists(app, browser):
    person = create_user(app)

    known = browser.submit("/password/forgot", {"email": person.email})
    unknown = browser.submit("/password/forgot", {"email": "nobody@example.org"})

    assert known.status_code == unknown.status_code == 200
    assert "Check your e-mail" in text(known)
    # The header's language switch carries a CSRF token signed with the second it was made.
    assert without_csrf(text(known)).replace(person.email, "ADDRESS") == without_csrf(
        text(unknown)
    ).replace("nobody@example.org", "ADDRESS")
    assert [m.template for m in mails_to(app, person.email)] == ["accounts/reset_password"]
    assert mails_to(app, "nobody@example.org") == []
    assert all_mail_count(app) == 1


def test_reset_link_sets_a_new_password_ends_other_sessions_and_works_once(app, browser):
    person = create_user(app)
    elsewhere = new_browser(app)
    elsewhere.login(person.email, PASSWORD)
    assert_signed_in(elsewhere.client, person)
    browser.submit("/password/forgot", {"email": person.email})
    link = only_link(app, person.email, "accounts/reset_password", "/password/reset/")

    assert browser.get(link).status_code == 200
    response = browser.submit(link, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})

    assert redirect_path(response) == "/login"
    assert "Your password is changed" in text(browser.get("/login"))
    assert_signed_out(elsewhere.client)
    assert browser.login(person.email, PASSWORD).status_code == 422
    assert redirect_path(browser.login(person.email, NEW_PASSWORD)) == "/"
    used = new_browser(app).get(link)
    assert used.status_code == 400
    assert "already been used" in text(used)


def test_reset_form_refuses_a_short_password_at_its_field(app, browser):
    person = create_user(app)
    browser.submit("/password/forgot", {"email": person.email})
    link = only_link(app, person.email, "accounts/reset_password", "/password/reset/")

    response = browser.submit(link, {"password": "short1", "confirm": "short1"})

    assert response.status_code == 422
    assert "Use at least 10 characters." in field_error(response, "password")
    assert redirect_path(browser.login(person.email, PASSWORD)) == "/"


def test_expired_reset_link_is_refused_and_offers_a_new_one(app, browser, travel):
    person = create_user(app)
    browser.submit("/password/forgot", {"email": person.email})
    link = only_link(app, person.email, "accounts/reset_password", "/password/reset/")

    travel(3600 + 60)
    response = browser.get(link)

    assert response.status_code == 400
    assert "This link has expired." in text(response)
    assert 'href="/password/forgot"' in response.get_data(as_text=True)
    posted = new_browser(app).submit(
        link, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}, page="/login"
    )
    assert posted.status_code == 400
    assert "This link has expired." in text(posted)
    travel(0)
    assert redirect_path(new_browser(app).login(person.email, PASSWORD)) == "/"


def test_forged_reset_link_is_refused(app, browser):
    person = create_user(app)
    browser.submit("/password/forgot", {"email": person.email})
    link = only_link(app, person.email, "accounts/reset_password", "/password/reset/")

    response = browser.get(tamper(link))

    assert response.status_code == 400
    assert "This link is not valid." in text(response)


# --- invitations --------------------------------------------------------------------------


def test_invited_juror_chooses_name_and_password_and_logs_in_as_juror(app, browser):
    officer = create_user(app, roles=(Role.OFFICER,))
    browser.login(officer.email, PASSWORD)

    response = browser.submit(
        "/people/invite",
        {"name": "Jane Juror", "email": "Jane@Example.org", "role": "juror"},
        follow_redirects=True,
    )

    assert "Invitation sent to jane@example.org." in text(response)
    link = only_link(app, "jane@example.org", "accounts/invitation", "/invitations/")
    guest = new_browser(app)
    page = guest.get(link)
    assert page.status_code == 200
    assert "You were invited as <strong>Juror</strong>" in text(page)
    assert guest.login("jane@example.org", PASSWORD).status_code == 422

    accepted = guest.submit(
        link, {"name": "Jane Q. Juror", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    )

    assert redirect_path(accepted) == "/login"
    assert redirect_path(guest.login("jane@example.org", NEW_PASSWORD)) == "/"
    juror_id = find_user_id(app, "jane@example.org")
    assert load_user(app, juror_id) == (UserStatus.ACTIVE, frozenset({Role.JUROR}))
    assert_signed_in(guest.client, Person(juror_id, "jane@example.org", "Jane Q. Juror"))
    assert guest.get("/proposals").status_code == 403
    assert "already been accepted" in text(guest.get(link, follow_redirects=True))


def test_invited_person_cannot_log_in_before_accepting(app, browser):
    officer = create_user(app, roles=(Role.OFFICER,))
    person = create_user(app, roles=(Role.JUROR,), status=UserStatus.INVITED)
    browser.login(officer.email, PASSWORD)

    response = new_browser(app).login(person.email, PASSWORD)

    assert response.status_code == 422
    assert "Accept your invitation first" in field_error(response, "email")


def test_inviting_an_existing_applicant_grants_the_role_and_says_so_by_mail(app, browser):
    officer = create_user(app, roles=(Role.OFFICER,))
    applicant = create_user(app, roles=(Role.APPLICANT,))
    browser.login(officer.email, PASSWORD)

    response = browser.submit(
        "/people/invite", {"name": "", "email": applicant.email.upper(), "role": "juror"}
    )

    assert redirect_path(response) == "/people/invite"
    assert [m.template for m in mails_to(app, applicant.email)] == ["accounts/role_granted"]
    assert load_user(app, applicant.id) == (
        UserStatus.ACTIVE,
        frozenset({Role.APPLICANT, Role.JUROR}),
    )
    assert user_count(app) == 2
    # Their password is unchanged and they now have both roles.
    assert redirect_path(new_browser(app).login(applicant.email, PASSWORD)) == "/"


def test_inviting_someone_who_already_has_the_role_says_so_at_the_email_field(app, browser):
    officer = create_user(app, roles=(Role.OFFICER,))
    juror = create_user(app, roles=(Role.JUROR,))
    browser.login(officer.email, PASSWORD)

    response = browser.submit("/people/invite", {"name": "", "email": juror.email, "role": "juror"})

    assert response.status_code == 422
    assert "already has the juror role" in field_error(response, "email")
    assert mails_to(app, juror.email) == []


@pytest.mark.parametrize(
    "roles", [(Role.APPLICANT,), (Role.JUROR,), (Role.ADMIN,)], ids=["applicant", "juror", "admin"]
)
def test_only_officers_may_invite(app, browser, roles):
    person = create_user(app, roles=roles)
    browser.login(person.email, PASSWORD)

    assert browser.get("/people/invite").status_code == 403
    response = browser.submit(
        "/people/invite", {"name": "X", "email": "x@example.org", "role": "officer"}, page="/"
    )

    assert response.status_code == 403
    assert "You do not have permission" in text(response)
    assert find_user_id(app, "x@example.org") is None


# --- audit --------------------------------------------------------------------------------


def test_registration_confirmation_login_and_logout_are_audited_with_the_person(app, browser):
    register(browser, name="Ada Lovelace", email="ada@example.org")
    user_id = find_user_id(app, "ada@example.org")
    browser.get(only_link(app, "ada@example.org", "accounts/confirm_email", "/confirm/"))
    browser.login("ada@example.org", PASSWORD)
    browser.logout()

    for action in (
        "account.registered",
        "account.confirmed",
        "account.logged_in",
        "account.logged_out",
    ):
        assert audit_events(app, action) == [(user_id, str(user_id))], action


def test_failed_login_leaves_no_login_event(app, browser):
    person = create_user(app)

    browser.login(person.email, "wrong password!")

    assert audit_events(app, "account.logged_in") == []


def test_password_reset_is_audited_with_the_person(app, browser):
    person = create_user(app)
    browser.submit("/password/forgot", {"email": person.email})
    link = only_link(app, person.email, "accounts/reset_password", "/password/reset/")

    browser.submit(link, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})

    assert audit_events(app, "account.password_reset") == [(person.id, str(person.id))]


def test_invitation_and_its_acceptance_are_audited(app, browser):
    officer = create_user(app, roles=(Role.OFFICER,))
    applicant = create_user(app)
    browser.login(officer.email, PASSWORD)
    browser.submit("/people/invite", {"name": "Jane", "email": "jane@example.org", "role": "juror"})
    browser.submit("/people/invite", {"name": "", "email": applicant.email, "role": "juror"})
    jane_id = find_user_id(app, "jane@example.org")
    link = only_link(app, "jane@example.org", "accounts/invitation", "/invitations/")
    new_browser(app).submit(
        link, {"name": "Jane", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    )

    assert audit_events(app, "account.invited") == [(officer.id, str(jane_id))]
    assert audit_events(app, "account.role_granted") == [(officer.id, str(applicant.id))]
    assert audit_events(app, "account.invitation_accepted") == [(jane_id, str(jane_id))]


def test_disabling_and_enabling_are_audited_with_the_admin(app, browser):
    admin = create_user(app, roles=(Role.ADMIN,))
    person = create_user(app)
    browser.login(admin.email, PASSWORD)

    browser.submit(f"/admin/users/{person.id}/disable", {}, page="/admin/users")
    browser.submit(f"/admin/users/{person.id}/enable", {}, page="/admin/users")

    assert audit_events(app, "account.disabled") == [(admin.id, str(person.id))]
    assert audit_events(app, "account.enabled") == [(admin.id, str(person.id))]


@pytest.mark.parametrize(
    ("locale", "roles", "status"),
    [
        ("en", "Applicant, Juror", "Disabled"),
        ("de", "Antragsteller*in, Gutachter*in", "Deaktiviert"),
    ],
)
def test_the_accounts_page_names_roles_and_status_in_the_readers_language(
    app, browser, locale, roles, status
):
    admin = create_user(app, roles=(Role.ADMIN,), locale=locale)
    person = create_user(app, roles=(Role.JUROR, Role.APPLICANT), status=UserStatus.DISABLED)
    browser.login(admin.email, PASSWORD)

    page = text(browser.get("/admin/users"))

    row = page[page.index(person.email) :]
    row = re.sub(r"<[^>]+>", "|", row[: row.index("</tr>")])
    cells = [cell.strip() for cell in row.split("|") if cell.strip()]
    assert cells[1:3] == [roles, status]
    assert "juror" not in cells and "disabled" not in cells


def without_csrf(page: str) -> str:
    return re.sub(r'name="csrf_token"( type="hidden")? value="[^"]*"', "CSRF", page)
