"""Passkeys from the outside, with a software authenticator instead of a browser: adding one on
the passkeys page, confirming with it, the answers that are refused, removing one (password
required) and the administrator's reset. Runs on PostgreSQL."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from competition.accounts.models import Role, User
from competition.accounts.passkey_models import PasskeyCredential
from competition.db import utcnow
from competition.extensions import db
from tests.conftest import Browser, csrf_from
from tests.factories import PASSWORD, make_user
from tests.integration.accounts_world import (
    Person,
    audit_events,
    create_user,
    field_error,
    new_browser,
    redirect_path,
)
from tests.integration.passkey_authenticator import SoftAuthenticator

pytestmark = pytest.mark.postgres


def signed_in(app) -> tuple[Browser, Person]:  # type: ignore[no-untyped-def]
    person = create_user(app)
    browser = new_browser(app)
    assert browser.login(person.email, PASSWORD).status_code == 302
    return browser, person


def post_json(browser: Browser, url: str, body: dict):  # type: ignore[no-untyped-def, type-arg]
    """A post as passkeys.js sends it: JSON, with the page's CSRF token in the header."""
    token = csrf_from(browser.get("/account/passkeys").get_data(as_text=True))
    return browser.client.post(url, json=body, headers={"X-CSRFToken": token})


def add_passkey(browser: Browser, name: str = "Security key") -> SoftAuthenticator:
    key = SoftAuthenticator()
    options = post_json(browser, "/account/passkeys/options", {"name": name})
    assert options.status_code == 200, options.get_json()
    credential = key.create(options.get_json()["options"])
    added = post_json(browser, "/account/passkeys", {"name": name, "credential": credential})
    assert added.status_code == 200, added.get_json()
    return key


def sign_in_options(browser: Browser) -> dict:  # type: ignore[type-arg]
    answer = post_json(browser, "/login/passkey/options", {})
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()["options"]  # type: ignore[no-any-return]


def confirm(browser: Browser, assertion: dict) -> int:  # type: ignore[type-arg]
    return post_json(browser, "/login/passkey/verify", assertion).status_code  # type: ignore[no-any-return]


def sign_count(app, person: Person) -> int:  # type: ignore[no-untyped-def]
    with app.app_context():
        return db.session.scalar(  # type: ignore[no-any-return]
            sa.select(PasskeyCredential.sign_count).where(PasskeyCredential.user_id == person.id)
        )


def test_a_passkey_added_on_the_page_confirms_it_is_the_person(app):
    browser, person = signed_in(app)
    key = add_passkey(browser, "Laptop")
    page = browser.get("/account/passkeys").get_data(as_text=True)
    assert "Laptop" in page and "never" in page

    assert confirm(browser, key.get(sign_in_options(browser))) == 200
    assert confirm(browser, key.get(sign_in_options(browser))) == 200
    assert sign_count(app, person) == 2
    assert [actor for actor, _ in audit_events(app, "passkey.added")] == [person.id]
    assert len(audit_events(app, "passkey.used")) == 2

    # The same authenticator again is the same factor: its name is refused before it is asked.
    again = post_json(browser, "/account/passkeys/options", {"name": "laptop"})
    assert again.status_code == 422
    assert again.get_json()["errors"]["name"] == ["You already have a passkey with this name."]


@pytest.mark.parametrize("wrong", ["foreign passkey", "wrong challenge", "count", "other site"])
def test_an_answer_that_does_not_prove_the_person_is_refused(app, wrong):
    browser, person = signed_in(app)
    key = add_passkey(browser)
    options = sign_in_options(browser)
    if wrong == "foreign passkey":
        # Another person's passkey, however well it signs, is not this person's.
        other, _ = signed_in(app)
        assertion = add_passkey(other).get(options)
    elif wrong == "wrong challenge":
        assertion = key.get(options, challenge=options["challenge"][::-1])
    elif wrong == "count":
        assert confirm(browser, key.get(options)) == 200
        # A signature on a fresh challenge whose count did not rise: a copied key.
        assertion = key.get(sign_in_options(browser), count=key.sign_count)
    else:
        assertion = key.get(options, origin="https://phishing.example")
    assert confirm(browser, assertion) == 422
    assert sign_count(app, person) == (1 if wrong == "count" else 0)
    assert [actor for actor, _ in audit_events(app, "passkey.refused")] == [person.id]


def test_an_answer_is_used_once(app):
    browser, _ = signed_in(app)
    key = add_passkey(browser)
    # An authenticator that keeps no count (0 every time): only the challenge, taken at the
    # first answer, stops the same answer sent twice.
    assertion = key.get(sign_in_options(browser), count=0)
    assert confirm(browser, assertion) == 200
    assert confirm(browser, assertion) == 422


def test_removing_a_passkey_asks_for_the_password(app):
    browser, person = signed_in(app)
    add_passkey(browser, "Phone")
    with app.app_context():
        passkey_id = db.session.scalar(sa.select(PasskeyCredential.id))
    url = f"/account/passkeys/{passkey_id}/remove"
    assert "Remove the passkey “Phone”?" in browser.get(url).get_data(as_text=True)

    refused = browser.submit(url, {"password": "not my password"})
    assert refused.status_code == 422
    assert field_error(refused, "password") == "The password is not correct."
    assert sign_count(app, person) == 0  # still there

    removed = browser.submit(url, {"password": PASSWORD})
    assert redirect_path(removed) == "/account/passkeys"
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(PasskeyCredential.id))) == 0
    assert audit_events(app, "passkey.removed") == [(person.id, str(passkey_id))]


def test_the_passkey_pages_are_only_for_the_signed_in_person(app):
    owner, _ = signed_in(app)
    add_passkey(owner)
    with app.app_context():
        passkey_id = db.session.scalar(sa.select(PasskeyCredential.id))
    stranger, _ = signed_in(app)
    assert stranger.get(f"/account/passkeys/{passkey_id}/remove").status_code == 404
    assert (
        stranger.submit(
            f"/account/passkeys/{passkey_id}/remove",
            {"password": PASSWORD},
            page="/account/passkeys",
        ).status_code
        == 404
    )
    assert "You have no passkeys yet." in stranger.get("/account/passkeys").get_data(as_text=True)

    anonymous = new_browser(app)
    assert redirect_path(anonymous.get("/account/passkeys")) == "/login"
    token = csrf_from(anonymous.get("/login").get_data(as_text=True))
    asked = anonymous.client.post("/login/passkey/options", json={}, headers={"X-CSRFToken": token})
    assert asked.status_code == 401


def test_an_administrator_removes_every_passkey_of_a_person(app):
    from competition.accounts import passkeys

    browser, person = signed_in(app)
    add_passkey(browser, "One")
    add_passkey(browser, "Two")
    with app.app_context():
        admin = make_user(roles=(Role.ADMIN,))
        user = db.session.get(User, person.id)
        assert passkeys.remove_all_passkeys(user, actor=admin, now=utcnow()) == 2
        assert not passkeys.has_passkeys(user)
        admin_id = admin.id
    assert [actor for actor, _ in audit_events(app, "passkey.removed")] == [admin_id, admin_id]


def test_the_configured_site_is_the_one_passkeys_belong_to(make_app):
    # Behind a proxy that does not pass the host on, the settings name the site.
    app = make_app(webauthn_origin="https://foerderung.example.de")
    browser, _ = signed_in(app)
    options = post_json(browser, "/account/passkeys/options", {"name": "Phone"}).get_json()
    assert options["options"]["rp"]["id"] == "foerderung.example.de"
    key = SoftAuthenticator(origin="https://foerderung.example.de")
    credential = key.create(options["options"])
    added = post_json(browser, "/account/passkeys", {"name": "Phone", "credential": credential})
    assert added.status_code == 200, added.get_json()
