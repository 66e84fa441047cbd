"""Passkeys from the outside, with a software authenticator instead of a browser: adding one on
the passkeys page, signing in with it as the second step, the answers that are refused and their
throttle, removing one (password required), and the officers' requirement. The administrator's
reset is tested with the other factors' (test_second_factors.py). Runs on PostgreSQL."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from competition.accounts.models import Role, User
from competition.accounts.passkey_models import PasskeyCredential
from competition.extensions import db
from tests.conftest import Browser, csrf_from
from tests.factories import PASSWORD
from tests.integration.accounts_world import (
    Person,
    assert_signed_in,
    assert_signed_out,
    audit_events,
    create_user,
    field_error,
    new_browser,
    redirect_path,
    text,
)
from tests.integration.passkey_authenticator import SoftAuthenticator

pytestmark = pytest.mark.postgres


SECOND_STEP = "/login/second-factor"


def signed_in(app, **overrides) -> tuple[Browser, Person]:  # type: ignore[no-untyped-def]
    person = create_user(app, **overrides)
    browser = new_browser(app)
    assert browser.login(person.email, PASSWORD).status_code == 302
    return browser, person


def post_json(browser: Browser, url: str, body: dict, page: str = "/account/passkeys"):  # type: ignore[no-untyped-def, type-arg]
    """A post as passkeys.js sends it: JSON, with the page's CSRF token in the header."""
    token = csrf_from(browser.get(page).get_data(as_text=True))
    return browser.client.post(url, json=body, headers={"X-CSRFToken": token})


def add_passkey(browser: Browser, name: str = "Security key") -> SoftAuthenticator:
    key = SoftAuthenticator()
    options = post_json(browser, "/account/passkeys/options", {"name": name})
    assert options.status_code == 200, options.get_json()
    credential = key.create(options.get_json()["options"])
    added = post_json(browser, "/account/passkeys", {"name": name, "credential": credential})
    assert added.status_code == 200, added.get_json()
    return key


def with_passkey(app, name: str = "Security key") -> tuple[Person, SoftAuthenticator, Browser]:  # type: ignore[no-untyped-def]
    """A person who added a passkey on the page (and is still signed in, in the browser)."""
    browser, person = signed_in(app)
    return person, add_passkey(browser, name), browser


def at_second_step(app, person: Person, **form: str) -> Browser:  # type: ignore[no-untyped-def]
    """A new browser in which ``person`` has given their password."""
    browser = new_browser(app)
    passed = browser.submit("/login", {"email": person.email, "password": PASSWORD, **form})
    assert redirect_path(passed) == SECOND_STEP
    return browser


def sign_in_options(browser: Browser) -> dict:  # type: ignore[type-arg]
    answer = post_json(browser, "/login/passkey/options", {}, page=SECOND_STEP)
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()["options"]  # type: ignore[no-any-return]


def use(browser: Browser, assertion: dict):  # type: ignore[no-untyped-def, type-arg]
    return post_json(browser, "/login/passkey/verify", assertion, page=SECOND_STEP)


def sign_count(app, person: Person) -> int:  # type: ignore[no-untyped-def]
    with app.app_context():
        return db.session.scalar(  # type: ignore[no-any-return]
            sa.select(PasskeyCredential.sign_count).where(PasskeyCredential.user_id == person.id)
        )


def test_a_person_with_only_a_passkey_signs_in_with_it_after_the_password(app):
    person, key, first = with_passkey(app, "Laptop")
    assert "Laptop" in text(first.get("/account/security"))
    browser = at_second_step(app, person, next="/account/security")
    assert_signed_out(browser.client)
    page = text(browser.get(SECOND_STEP))
    assert "Use a passkey" in page and "Recovery code" in page
    assert "authenticator app" not in page

    answer = use(browser, key.get(sign_in_options(browser)))

    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json() == {"next": "/account/security"}
    assert_signed_in(browser.client, person)
    assert sign_count(app, person) == 1
    assert [actor for actor, _ in audit_events(app, "passkey.added")] == [person.id]
    assert len(audit_events(app, "passkey.used")) == 1

    # The same authenticator again is the same factor: its name is refused before it is asked.
    again = post_json(browser, "/account/passkeys/options", {"name": "laptop"})
    assert again.status_code == 422
    assert again.get_json()["errors"]["name"] == ["You already have a passkey with this name."]


@pytest.mark.parametrize("wrong", ["foreign passkey", "wrong challenge", "count", "other site"])
def test_an_answer_that_does_not_prove_the_person_is_refused(app, wrong):
    person, key, _ = with_passkey(app)
    browser = at_second_step(app, person)
    options = sign_in_options(browser)
    if wrong == "foreign passkey":
        # Another person's passkey, however well it signs, is not this person's.
        _other, other_key, _ = with_passkey(app)
        assertion = other_key.get(options)
    elif wrong == "wrong challenge":
        assertion = key.get(options, challenge=options["challenge"][::-1])
    elif wrong == "count":
        # A count below the last one seen: a copied key.
        with app.app_context():
            db.session.execute(sa.update(PasskeyCredential).values(sign_count=5))
            db.session.commit()
        assertion = key.get(options, count=3)
    else:
        assertion = key.get(options, origin="https://phishing.example")

    refused = use(browser, assertion)

    assert refused.status_code == 422
    assert refused.get_json()["errors"]["form"] == [
        "The passkey was not accepted. Please try again, or use another passkey."
    ]
    assert_signed_out(browser.client)
    assert sign_count(app, person) == (5 if wrong == "count" else 0)
    assert [actor for actor, _ in audit_events(app, "passkey.refused")] == [person.id]


def test_a_challenge_serves_one_answer(app):
    person, key, _ = with_passkey(app)
    browser = at_second_step(app, person)
    options = sign_in_options(browser)
    assert use(browser, key.get(options, origin="https://phishing.example")).status_code == 422
    # The challenge went with the refused answer: a good answer to it comes too late.
    assert use(browser, key.get(options)).status_code == 422
    assert_signed_out(browser.client)


def test_refused_passkeys_and_wrong_codes_are_throttled_together(app):
    person, key, _ = with_passkey(app)
    browser = at_second_step(app, person)
    for _ in range(4):
        assertion = key.get(sign_in_options(browser), origin="https://phishing.example")
        assert use(browser, assertion).status_code == 422
    assert browser.submit(SECOND_STEP, {"code": "123456"}).status_code == 422
    # A correct password again does not start the count afresh.
    browser = at_second_step(app, person)

    throttled = use(browser, key.get(sign_in_options(browser)))

    assert throttled.status_code == 429
    assert "Too many failed attempts" in throttled.get_json()["errors"]["form"][0]
    assert_signed_out(browser.client)
    assert len(audit_events(app, "account.second_step_throttled")) == 1


def test_the_passkey_step_serves_only_a_person_who_gave_their_password(app):
    person, key, signed_in_browser = with_passkey(app)
    # Signed in already, or never past the password: nobody is signing in here.
    for browser, page in ((signed_in_browser, "/account/passkeys"), (new_browser(app), "/login")):
        for url in ("/login/passkey/options", "/login/passkey/verify"):
            asked = post_json(browser, url, {"id": "anything"}, page=page)
            assert asked.status_code == 401
            assert asked.get_json()["next"] == "/login"
    assert audit_events(app, "passkey.refused") == []


def test_removing_a_passkey_asks_for_the_password(app):
    person, _key, browser = with_passkey(app, "Phone")
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
    browser.logout()
    assert redirect_path(browser.login(person.email, PASSWORD)) == "/"


def test_without_a_password_removing_a_passkey_is_refused_with_the_reason(app):
    person, _key, browser = with_passkey(app)
    with app.app_context():
        passkey_id = db.session.scalar(sa.select(PasskeyCredential.id))
        # As an account made through single sign-on is.
        db.session.execute(sa.update(User).values(password_hash=None))
        db.session.commit()
    url = f"/account/passkeys/{passkey_id}/remove"
    page = text(browser.get(url))
    assert "Your account has no password" in page and 'name="password"' not in page

    refused = browser.submit(url, {"password": "anything at all"})

    assert refused.status_code == 422
    assert "Your account has no password" in text(refused)
    assert sign_count(app, person) == 0  # still there


def test_the_passkey_pages_are_only_for_the_signed_in_person(app):
    _owner, _key, _ = with_passkey(app)
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
    assert redirect_path(new_browser(app).get("/account/passkeys")) == "/login"


def test_a_passkey_meets_the_officers_requirement_for_a_second_factor(make_app):
    app = make_app(second_factor_required_roles=("officer", "admin"))
    browser, _officer = signed_in(app, roles=(Role.OFFICER,))
    assert redirect_path(browser.get("/programmes")) == "/account/security"

    add_passkey(browser)

    assert browser.get("/programmes").status_code == 200


def test_the_configured_site_is_the_one_passkeys_belong_to(make_app):
    # Behind a proxy that does not pass the host on, the settings name the site.
    app = make_app(webauthn_origin="https://foerderung.example.de")
    browser, _person = signed_in(app)
    options = post_json(browser, "/account/passkeys/options", {"name": "Phone"}).get_json()
    assert options["options"]["rp"]["id"] == "foerderung.example.de"
    key = SoftAuthenticator(origin="https://foerderung.example.de")
    credential = key.create(options["options"])
    added = post_json(browser, "/account/passkeys", {"name": "Phone", "credential": credential})
    assert added.status_code == 200, added.get_json()
