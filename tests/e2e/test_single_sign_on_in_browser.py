"""Single sign-on in Chromium against a real OpenID provider (oidc-provider under Node, its
development login form): a new person signs in, signs out (here and at the provider), and an
existing account is linked by its password."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa
from werkzeug.serving import make_server

from tests.conftest import free_port
from tests.oidc import oidc_provider

pytestmark = pytest.mark.browser

PROVIDER = "testid"


@pytest.fixture(scope="module")
def app_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def provider(app_port):  # type: ignore[no-untyped-def]
    with oidc_provider(app_base_urls=[f"http://127.0.0.1:{app_port}"], name=PROVIDER) as running:
        yield running


@pytest.fixture
def sso_server(make_app, smtp_server, provider, app_port):  # type: ignore[no-untyped-def]
    base_url = f"http://127.0.0.1:{app_port}"
    app = make_app(
        mail_server=smtp_server.host,
        mail_port=smtp_server.port,
        base_url=base_url,
        oidc_providers=(provider.setting(PROVIDER),),
    )
    server = make_server("127.0.0.1", app_port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    app.base_url = base_url  # type: ignore[attr-defined]
    yield app
    server.shutdown()
    thread.join(timeout=10)


def sign_in_at_provider(page, account: str) -> None:  # type: ignore[no-untyped-def]
    page.get_by_role("link", name="Sign in with Test ID").click()
    page.locator("input[name=login]").fill(account)
    page.locator("input[name=password]").fill("anything")
    page.get_by_role("button", name="Sign-in").click()
    page.get_by_role("button", name="Continue").click()  # the provider's consent


def test_a_person_signs_in_and_out_with_the_provider_and_links_an_existing_account(
    sso_server, page
):
    from competition.accounts.models import UserSession
    from competition.accounts.sso_models import SsoIdentity
    from competition.extensions import db
    from tests.factories import PASSWORD, make_user

    base = sso_server.base_url
    with sso_server.app_context():
        make_user(email="erik.existing@example.org", name="Erik Existing")
        db.session.commit()

    page.goto(f"{base}/login")
    sign_in_at_provider(page, "new-person")
    page.get_by_role("heading", name="Welcome, Nora New").wait_for()

    page.get_by_role("button", name="Log out").click()
    # The app's session is over; its page goes on to the provider, which asks.
    page.get_by_role("button", name="Yes, sign me out").click()
    page.get_by_role("heading", name="Log in").wait_for()
    assert page.url.startswith(f"{base}/login")
    with sso_server.app_context():
        (session_row,) = db.session.scalars(sa.select(UserSession))
        assert session_row.ended_at is not None

    sign_in_at_provider(page, "existing-person")
    page.get_by_role("heading", name="Link your account").wait_for()
    page.get_by_label("Password of your account").fill(PASSWORD)
    page.get_by_role("button", name="Link with my password").click()
    page.get_by_role("heading", name="Welcome, Erik Existing").wait_for()
    page.get_by_text("Your account is linked").wait_for()
    with sso_server.app_context():
        linked = db.session.scalars(sa.select(SsoIdentity.subject).order_by(SsoIdentity.id))
        assert list(linked) == ["new-person", "existing-person"]
