"""Single sign-on against a real OpenID provider (panva's oidc-provider run with Node, started
by this module): a new person, linking an existing account by password or mailed link, an
unverified address, unlinking, logging out at the provider, roles from mapped claims, and ID
tokens that are forged, expired or meant for another client. Runs on PostgreSQL."""

from __future__ import annotations

import re
import time
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests
import sqlalchemy as sa
from authlib.integrations.flask_client import FlaskOAuth2App
from joserfc import jwt
from joserfc.jwk import RSAKey

from competition.accounts import single_sign_on as sso
from competition.accounts.models import Role, User, UserRole, UserSession
from competition.accounts.sso_models import SsoIdentity
from competition.audit.models import AuditEvent
from competition.db import utcnow
from competition.extensions import db
from competition.notifications.models import Notification
from tests.conftest import Browser
from tests.factories import PASSWORD, make_user
from tests.integration.accounts_world import field_error, text
from tests.oidc import ACCOUNTS, CLIENT_ID, RunningProvider, oidc_provider

pytestmark = pytest.mark.postgres

APP_BASE = "http://localhost"
PROVIDER = "testid"


@pytest.fixture(scope="module")
def provider() -> Any:
    with oidc_provider(app_base_urls=[APP_BASE], name=PROVIDER) as running:
        yield running


@pytest.fixture
def app(make_app, provider: RunningProvider):  # type: ignore[no-untyped-def]
    return make_app(base_url=APP_BASE, oidc_providers=(provider.setting(PROVIDER),))


def through_provider(browser: Browser, account: str, *, next_url: str = "") -> Any:
    """Sign in at the provider as ``account`` (its development login form and consent page,
    spoken to over HTTP) and hand the app the callback; the app's answer to it."""
    started = browser.get(f"/login/sso/{PROVIDER}" + (f"?next={next_url}" if next_url else ""))
    assert started.status_code == 302
    at_provider = requests.Session()
    url = started.location
    for _ in range(12):
        if url.startswith(APP_BASE):
            return browser.get(url[len(APP_BASE) :])
        answer = at_provider.get(url, allow_redirects=False, timeout=10)
        if answer.status_code in (302, 303):
            url = urljoin(url, answer.headers["Location"])
            continue
        assert answer.status_code == 200, answer.text
        prompt = re.search(r'name="prompt" value="(\w+)"', answer.text).group(1)
        action = re.search(r'<form[^>]*action="([^"]+)"', answer.text).group(1)
        form = {"prompt": prompt, "login": account, "password": "any"}
        answer = at_provider.post(urljoin(url, action), data=form, allow_redirects=False)
        url = urljoin(url, answer.headers["Location"])
    raise AssertionError("the provider never sent the browser back")


def welcome(browser: Browser) -> str:
    return text(browser.get("/"))


def identities(app) -> list[tuple[str, str, int]]:  # type: ignore[no-untyped-def]
    with app.app_context():
        rows = db.session.scalars(sa.select(SsoIdentity).order_by(SsoIdentity.id))
        return [(r.provider, r.subject, r.user_id) for r in rows]


def actions(app) -> list[str]:  # type: ignore[no-untyped-def]
    with app.app_context():
        return list(db.session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id)))


# --- through the real provider ---------------------------------------------------------------


def test_a_new_person_signs_in_with_the_provider_and_gets_an_account_without_roles(app):
    browser = Browser(app.test_client())
    login_page = text(browser.get("/login"))
    assert "Sign in with Test ID" in login_page

    answer = through_provider(browser, "new-person", next_url="/account/sign-ins")
    assert answer.status_code == 302 and answer.location.endswith("/account/sign-ins")
    page = text(browser.get("/account/sign-ins"))
    assert "Test ID" in page and "nora.new@example.org" in page
    assert "Welcome, Nora New" in welcome(browser)
    with app.app_context():
        user = db.session.scalars(sa.select(User).where(User.email == "nora.new@example.org")).one()
        assert user.roles == frozenset() and user.password_hash is None and user.is_active
        (event,) = db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == "account.logged_in")
        )
        assert event.after == {"method": "sso:testid"}
    assert identities(app) == [(PROVIDER, "new-person", user.id)]
    assert {"account.registered", "sso.linked", "sso.used"} <= set(actions(app))

    # The same person again: the same account, no second one.
    browser.logout()
    again = Browser(app.test_client())
    through_provider(again, "new-person")
    assert "Welcome, Nora New" in welcome(again)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(User.id))) == 1


def test_an_existing_account_is_linked_only_after_its_password(app):
    with app.app_context():
        owner = make_user(email="erik.existing@example.org", name="Erik Existing")
        db.session.commit()
        owner_id = owner.id
    browser = Browser(app.test_client())
    answer = through_provider(browser, "existing-person")
    assert answer.status_code == 302 and urlsplit(answer.location).path == "/login/sso/link"
    # Not signed in, nothing linked yet.
    assert "Welcome, " not in welcome(browser)
    assert identities(app) == []
    page = text(browser.get("/login/sso/link"))
    assert "erik.existing@example.org" in page

    wrong = browser.submit("/login/sso/link", {"password": "not the password"})
    assert wrong.status_code == 422
    assert field_error(wrong, "password") == "The e-mail address or password is not correct."
    assert identities(app) == []

    right = browser.submit("/login/sso/link", {"password": PASSWORD})
    assert right.status_code == 302
    assert identities(app) == [(PROVIDER, "existing-person", owner_id)]
    assert "Welcome, Erik Existing" in welcome(browser)
    with app.app_context():
        linked = db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == "sso.linked")
        ).one()
        assert linked.after["how"] == "password"


def test_an_existing_account_is_linked_by_a_mailed_link(app):
    with app.app_context():
        owner = make_user(email="erik.existing@example.org", name="Erik Existing")
        db.session.commit()
        owner_id = owner.id
    browser = Browser(app.test_client())
    through_provider(browser, "existing-person")
    sent = browser.submit("/login/sso/link/mail", {}, page="/login/sso/link")
    assert sent.status_code == 200 and "Check your e-mail" in text(sent)
    with app.app_context():
        (mail,) = db.session.scalars(
            sa.select(Notification).where(Notification.template == "accounts/sso_link")
        )
        token = mail.context["token"]
    assert identities(app) == []

    other_browser = Browser(app.test_client())  # the mail may be opened anywhere
    confirm_page = other_browser.get(f"/login/sso/link/{token}")
    assert confirm_page.status_code == 200 and "Yes, link my account" in text(confirm_page)
    assert identities(app) == []  # opening the link (a mail scanner may) links nothing
    linked = other_browser.submit(f"/login/sso/link/{token}", {})
    assert linked.status_code == 302
    assert identities(app) == [(PROVIDER, "existing-person", owner_id)]
    assert "Welcome, " not in welcome(other_browser)  # a mailed link signs nobody in

    # Now the provider signs the account in at once.
    through_provider(browser, "existing-person")
    assert "Welcome, Erik Existing" in welcome(browser)
    # The link is used up, and a changed token is refused.
    assert other_browser.submit(f"/login/sso/link/{token}", {}).status_code == 422
    assert other_browser.get(f"/login/sso/link/{token[:-3]}xyz").status_code == 400


def test_an_unverified_address_is_refused_with_a_clear_page(app):
    browser = Browser(app.test_client())
    answer = through_provider(browser, "unverified-person")
    assert answer.status_code == 403
    assert "did not confirm your e-mail address" in text(answer)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(User.id))) == 0


def test_logging_out_ends_the_session_and_the_providers(app, provider):
    browser = Browser(app.test_client())
    through_provider(browser, "new-person")
    logged_out = browser.logout()
    assert logged_out.status_code == 200 and "You are logged out." in text(logged_out)
    location = re.search(r'content="0; url=([^"]+)"', text(logged_out)).group(1)
    assert location.startswith(provider.issuer + "/session/end")
    query = parse_qs(urlsplit(location).query)
    assert query["post_logout_redirect_uri"] == [f"{APP_BASE}/login"]
    assert query["client_id"] == [CLIENT_ID]
    assert jwt.decode(query["id_token_hint"][0], provider.signing_key).claims["sub"] == "new-person"
    with app.app_context():
        (session_row,) = db.session.scalars(sa.select(UserSession))
        assert session_row.ended_at is not None
    assert browser.get("/account/sign-ins").status_code == 302


def test_the_last_way_to_sign_in_is_not_unlinked_from_an_account_without_password(app):
    browser = Browser(app.test_client())
    through_provider(browser, "new-person")
    (_, _, user_id) = identities(app)[0]
    with app.app_context():
        identity_id = db.session.scalars(sa.select(SsoIdentity.id)).one()
    url = f"/account/sign-ins/{identity_id}/unlink"
    refused = browser.submit(url, {})
    assert refused.status_code == 422 and "only way to sign in" in text(refused)
    assert len(identities(app)) == 1

    with app.app_context():
        user = db.session.get(User, user_id)
        user.password_hash = make_user().password_hash
        db.session.commit()
    assert browser.submit(url, {}).status_code == 302
    assert identities(app) == []
    assert "sso.unlinked" in actions(app)

    stranger = Browser(app.test_client())
    with app.app_context():
        other = make_user()
        db.session.commit()
        email = other.email
    stranger.login(email, PASSWORD)
    assert stranger.get(url).status_code == 404


# --- roles from claims -----------------------------------------------------------------------


def answer_for(account: str, **claims: Any) -> sso.ProviderAnswer:
    return sso.ProviderAnswer(
        provider=PROVIDER, claims={"sub": account, **ACCOUNTS[account], **claims}, id_token="t"
    )


def test_roles_come_only_from_mapped_claims_and_go_when_the_claim_no_longer_matches(app):
    with app.app_context():
        admin = make_user(roles=(Role.ADMIN,))
        db.session.commit()
        admin_email = admin.email
    admin_browser = Browser(app.test_client())
    admin_browser.login(admin_email, PASSWORD)
    added = admin_browser.submit(
        "/admin/sign-in-providers",
        {"provider": PROVIDER, "claim": "groups", "value": "bmbf-officers", "role": "officer"},
    )
    assert added.status_code == 302
    page = text(admin_browser.get("/admin/sign-in-providers"))
    assert "bmbf-officers" in page
    twice = admin_browser.submit(
        "/admin/sign-in-providers",
        {"provider": PROVIDER, "claim": "groups", "value": "bmbf-officers", "role": "officer"},
    )
    assert twice.status_code == 422

    now = utcnow()
    with app.app_context():
        signed = sso.sign_in_with(answer_for("existing-person"), now=now)
        user = signed.user
        assert user.roles == {Role.OFFICER}
        # A juror role granted by hand meanwhile is never touched by the mapping.
        user.role_rows.append(UserRole(role=Role.JUROR, granted_at=now))
        db.session.commit()

        later = sso.sign_in_with(answer_for("existing-person", groups=["other"]), now=now)
        assert later.user.roles == {Role.JUROR}
        # A claim that is a plain string matches too.
        again = sso.sign_in_with(answer_for("existing-person", groups="bmbf-officers"), now=now)
        assert again.user.roles == {Role.JUROR, Role.OFFICER}
        # Another provider's answer with the same claims grants nothing.
        elsewhere = sso.ProviderAnswer(
            provider="elsewhere", claims={"sub": "x", **ACCOUNTS["new-person"]}, id_token="t"
        )
    assert actions(app).count("sso.role_granted") == 2
    assert actions(app).count("sso.role_removed") == 1
    assert "sso.mapping_added" in actions(app)

    with app.app_context():
        mapping_id = sso.list_mappings()[0].id
    removed = admin_browser.submit(f"/admin/sign-in-providers/mappings/{mapping_id}/remove", {})
    assert removed.status_code == 302
    with app.app_context():
        result = sso.sign_in_with(answer_for("existing-person"), now=now)
        assert result.user.roles == {Role.JUROR}
        assert sso.sign_in_with(elsewhere, now=now).user.roles == frozenset()
    assert "sso.mapping_removed" in actions(app)


def test_mapping_pages_are_for_administrators_only(app):
    with app.app_context():
        officer = make_user(roles=(Role.OFFICER,))
        db.session.commit()
        email = officer.email
    browser = Browser(app.test_client())
    browser.login(email, PASSWORD)
    assert browser.get("/admin/sign-in-providers").status_code == 403


# --- tokens that must be refused ---------------------------------------------------------------


def started(browser: Browser) -> tuple[str, str]:
    """Start signing in; the state and nonce the app sent to the provider."""
    query = parse_qs(urlsplit(browser.get(f"/login/sso/{PROVIDER}").location).query)
    assert query["code_challenge_method"] == ["S256"] and query["code_challenge"]
    return query["state"][0], query["nonce"][0]


def id_token(key: RSAKey, issuer: str, **changes: Any) -> str:
    now = int(time.time())
    claims = {
        "iss": issuer,
        "sub": "new-person",
        "aud": CLIENT_ID,
        "iat": now,
        "exp": now + 300,
        **changes,
    }
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode({"alg": "RS256", "kid": key.kid}, claims, key)


CASES = {
    "signed by another key": lambda p, nonce: id_token(
        RSAKey.generate_key(2048, parameters={"kid": p.signing_key.kid}), p.issuer, nonce=nonce
    ),
    "for another client": lambda p, nonce: id_token(
        p.signing_key, p.issuer, nonce=nonce, aud="someone-else"
    ),
    "from another issuer": lambda p, nonce: id_token(
        p.signing_key, "http://127.0.0.1:1", nonce=nonce
    ),
    "with another nonce": lambda p, nonce: id_token(p.signing_key, p.issuer, nonce="replayed"),
    "expired": lambda p, nonce: id_token(
        p.signing_key,
        p.issuer,
        nonce=nonce,
        iat=int(time.time()) - 7200,
        exp=int(time.time()) - 3600,
    ),
    "missing": lambda p, nonce: None,
}


@pytest.mark.parametrize("case", [*CASES, "valid"])
def test_forged_foreign_replayed_or_expired_id_tokens_are_refused(app, provider, monkeypatch, case):
    browser = Browser(app.test_client())
    state, nonce = started(browser)
    if case == "valid":
        token = id_token(provider.signing_key, provider.issuer, nonce=nonce)
    else:
        token = CASES[case](provider, nonce)
    response = {"access_token": "at", "token_type": "Bearer", "expires_in": 60}
    if token is not None:
        response["id_token"] = token
    monkeypatch.setattr(FlaskOAuth2App, "fetch_access_token", lambda self, **kw: dict(response))
    monkeypatch.setattr(
        FlaskOAuth2App,
        "userinfo",
        lambda self, **kw: {"sub": "new-person", **ACCOUNTS["new-person"]},
    )
    answer = browser.get(f"/login/sso/{PROVIDER}/callback?code=c&state={state}")
    if case == "valid":  # the same way, with a good token, signs in: the refusals are the token's
        assert answer.status_code == 302
        assert "Welcome, Nora New" in welcome(browser)
        return
    assert answer.status_code == 400
    assert "could not be checked and was refused" in text(answer)
    assert "Welcome, " not in welcome(browser)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(UserSession.id))) == 0


def test_a_callback_without_the_state_this_browser_started_is_refused(app):
    browser = Browser(app.test_client())
    started(browser)
    answer = browser.get(f"/login/sso/{PROVIDER}/callback?code=c&state=forged")
    assert answer.status_code == 400


def test_no_provider_configured_shows_no_button_and_no_route(make_app):
    app = make_app()
    browser = Browser(app.test_client())
    assert "Sign in with" not in text(browser.get("/login"))
    assert browser.get("/login/sso/testid").status_code == 404


def test_an_unreachable_provider_is_named_on_a_page(make_app):
    from config import OidcProvider

    app = make_app(oidc_providers=(OidcProvider("gone", "Gone ID", "http://127.0.0.1:1", "c"),))
    answer = Browser(app.test_client()).get("/login/sso/gone")
    assert answer.status_code == 503
    assert "Gone ID cannot be reached at the moment" in text(answer)


def test_settings_read_providers_from_the_environment():
    from config import ConfigError, Settings

    settings = Settings.from_env(
        {
            "OIDC_PROVIDERS": '[{"name": "bund", "title": "BundID", "issuer": '
            '"https://id.example.de/", "client_id": "app"}]',
            "OIDC_BUND_CLIENT_SECRET": "s3cret",
        }
    )
    (bund,) = settings.oidc_providers
    assert (bund.name, bund.title, bund.issuer, bund.client_secret) == (
        "bund",
        "BundID",
        "https://id.example.de",
        "s3cret",
    )
    assert "s3cret" not in repr(settings)
    for bad in (
        '{"name": "x"}',
        '[{"name": "x", "issuer": "id.example.de", "client_id": "a"}]',
        '[{"name": "link", "issuer": "https://a.de", "client_id": "a"}]',
    ):
        with pytest.raises(ConfigError):
            Settings.from_env({"OIDC_PROVIDERS": bad})
    with pytest.raises(ConfigError):
        Settings.from_env(
            {
                "APP_ENV": "production",
                "SECRET_KEY": "k" * 40,
                "DATABASE_URL": "postgresql://x/y",
                "OIDC_PROVIDERS": '[{"name": "x", "issuer": "http://a.de", "client_id": "a"}]',
            }
        )
