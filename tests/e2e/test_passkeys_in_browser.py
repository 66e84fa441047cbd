"""A person adds a passkey and signs in with it after the password, in Chromium with the DevTools
protocol's virtual authenticator (a platform authenticator that verifies the user by itself)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

pytestmark = pytest.mark.browser


def test_a_person_adds_a_passkey_and_signs_in_with_it_after_the_password(live_server, page):
    from competition.accounts.passkey_models import PasskeyCredential
    from competition.extensions import db
    from tests.factories import PASSWORD, make_user

    with live_server.app_context():
        person = make_user(name="Clara Coordinator")
        email = person.email
        db.session.commit()

    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    authenticator = cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
            }
        },
    )["authenticatorId"]
    # A relying party is a domain name, never an IP address: the page is opened as localhost
    # (the server listens on 127.0.0.1), and the RP id follows the request's host.
    base = live_server.base_url.replace("127.0.0.1", "localhost")
    page.goto(f"{base}/login")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("link", name="Security", exact=True).click()
    page.get_by_role("link", name="Add a passkey").click()
    page.get_by_role("heading", name="Passkeys", exact=True).wait_for()

    # The name is refused at its field before the authenticator is asked.
    page.get_by_role("button", name="Add a passkey").click()
    page.get_by_text("Give the passkey a name").wait_for()
    assert page.get_by_label("Name of the passkey").get_attribute("aria-invalid") == "true"

    page.get_by_label("Name of the passkey").fill("Laptop")
    page.get_by_role("button", name="Add a passkey").click()
    page.get_by_text("The passkey “Laptop” is added.").wait_for()
    row = page.locator("#passkeys tbody tr")
    assert row.count() == 1
    assert "never" in row.inner_text()

    page.get_by_role("button", name="Log out").click()
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("heading", name="Second step").wait_for()
    page.get_by_role("button", name="Use a passkey").click()
    page.get_by_text("Welcome, Clara Coordinator").wait_for()
    page.get_by_role("link", name="Security", exact=True).click()
    page.get_by_role("link", name="Manage your passkeys").click()
    assert "never" not in page.locator("#passkeys tbody tr").inner_text()

    (credential,) = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})[
        "credentials"
    ]
    with live_server.app_context():
        kept = db.session.scalars(sa.select(PasskeyCredential)).one()
        assert kept.credential_id == credential["credentialId"].rstrip("=").replace(
            "+", "-"
        ).replace("/", "_")
        assert kept.sign_count == credential["signCount"] > 0
