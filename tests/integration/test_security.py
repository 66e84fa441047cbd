"""Security properties that hold across the whole application: every endpoint declares who may
use it, every change needs a CSRF token, roles and relations decide access, responses carry the
security headers, cookies are locked down, errors and logs leak nothing. Runs on PostgreSQL."""

from __future__ import annotations

import html
import logging
import re
import secrets
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa
from flask import url_for
from werkzeug.routing import IntegerConverter

from competition.access import policy_of, public
from competition.accounts.models import Role
from competition.extensions import db
from competition.notifications.models import Notification
from competition.proposals.models import Proposal
from tests.conftest import Browser, csrf_from
from tests.factories import (
    PASSWORD,
    make_call,
    make_programme,
    make_proposal,
    make_topic,
    make_user,
)

pytestmark = pytest.mark.postgres

CHANGING_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
CSRF_TEXT = "This form has expired or was sent from another site."


# --- helpers ------------------------------------------------------------------------------


@pytest.fixture
def loggers_enabled(monkeypatch):  # type: ignore[no-untyped-def]
    """Undo the disabling of existing loggers by logging.config.fileConfig (the migrations'
    env.py runs it when the test database is built), so that caplog sees the app's records."""
    for logger in list(logging.root.manager.loggerDict.values()):
        if isinstance(logger, logging.Logger) and logger.disabled:
            monkeypatch.setattr(logger, "disabled", False)


@dataclass(frozen=True)
class Person:
    id: int
    email: str


def create_user(app, **overrides) -> Person:  # type: ignore[no-untyped-def]
    with app.app_context():
        user = make_user(**overrides)
        db.session.commit()
        return Person(user.id, user.email)


def signed_in_browser(app, *roles: Role) -> tuple[Browser, Person]:  # type: ignore[no-untyped-def]
    person = create_user(app, roles=roles)
    browser = Browser(app.test_client())
    response = browser.login(person.email, PASSWORD)
    assert response.status_code == 302, "the test user could not log in"
    return browser, person


def text(response) -> str:  # type: ignore[no-untyped-def]
    return html.unescape(response.get_data(as_text=True))


def dummy_url(app, rule) -> str:  # type: ignore[no-untyped-def]
    """A URL for ``rule`` with placeholder arguments: 1 for numbers, "x" for anything else."""
    values = {
        name: 1 if isinstance(converter, IntegerConverter) else "x"
        for name, converter in rule._converters.items()
    }
    with app.test_request_context():
        return url_for(rule.endpoint, **values)


def csp_directives(response) -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
    header = response.headers.get("Content-Security-Policy", "")
    directives: dict[str, list[str]] = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            directives[words[0].lower()] = words[1:]
    return directives


# --- every endpoint declares a policy, and enforcement is fail-closed -----------------------


def test_every_endpoint_declares_an_access_policy(app):
    missing = sorted(
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if policy_of(app.view_functions[rule.endpoint]) is None
    )

    assert missing == [], f"endpoints without an access policy: {', '.join(missing)}"


def test_a_route_without_a_policy_is_refused(make_app):
    app = make_app()
    app.add_url_rule("/throwaway", "throwaway", lambda: "the secret content")
    client = app.test_client()

    anonymous = client.get("/throwaway")
    browser, _ = signed_in_browser(app, Role.ADMIN, Role.OFFICER)
    signed_in = browser.get("/throwaway")

    for response in (anonymous, signed_in):
        assert response.status_code == 403
        assert "the secret content" not in text(response)


# --- CSRF ---------------------------------------------------------------------------------


def test_every_changing_endpoint_refuses_a_request_without_csrf_token(app):
    browser, _ = signed_in_browser(app, Role.ADMIN, Role.OFFICER)
    checked: list[str] = []
    accepted: list[str] = []
    for rule in app.url_map.iter_rules():
        # The API takes no cookie, only a bearer token another site cannot send: the signed-in
        # browser is refused as anonymous (401), which is what stands in for the CSRF token.
        api = getattr(policy_of(app.view_functions[rule.endpoint]), "api", False)
        for method in sorted((rule.methods or set()) & CHANGING_METHODS):
            url = dummy_url(app, rule)
            response = browser.client.open(url, method=method, data={"anything": "x"})
            checked.append(f"{method} {url}")
            refused = (
                response.status_code == 401
                if api
                else (response.status_code == 400 and CSRF_TEXT in text(response))
            )
            if not refused:
                accepted.append(f"{method} {url} ({rule.endpoint}): {response.status_code}")

    assert checked, "the URL map has no changing endpoints at all?"
    assert accepted == [], "accepted without a CSRF token: " + "; ".join(accepted)
    # The refusals changed nothing: the admin is still signed in.
    assert browser.get("/admin/users").status_code == 200


def test_a_form_posted_with_its_token_is_not_refused_as_csrf(app):
    browser, _ = signed_in_browser(app, Role.OFFICER)

    response = browser.submit(
        "/people/invite", {"name": "Jane", "email": "jane@example.org", "role": "juror"}
    )

    assert response.status_code == 302


# --- role × endpoint matrix -----------------------------------------------------------------

APPLICANT = (Role.APPLICANT,)
JUROR = (Role.JUROR,)
OFFICER = (Role.OFFICER,)
ADMIN = (Role.ADMIN,)

ROLE_MATRIX = [
    (APPLICANT, "/proposals", 403),
    (APPLICANT, "/people/invite", 403),
    (APPLICANT, "/admin/users", 403),
    (APPLICANT, "/dev/mailbox", 403),
    (APPLICANT, "/dev/mailbox/1", 403),
    (JUROR, "/proposals", 403),
    (JUROR, "/people/invite", 403),
    (JUROR, "/admin/users", 403),
    (JUROR, "/dev/mailbox", 403),
    (OFFICER, "/admin/users", 403),
    (OFFICER, "/dev/mailbox", 403),
    (OFFICER, "/dev/mailbox/1", 403),
    (OFFICER, "/proposals", 200),
    (OFFICER, "/people/invite", 200),
    (ADMIN, "/admin/users", 200),
    (ADMIN, "/dev/mailbox", 200),
    (ADMIN, "/proposals", 403),
    (ADMIN, "/people/invite", 403),
    (APPLICANT, "/programmes/1/memberships", 403),
    (JUROR, "/programmes/1/memberships", 403),
    (APPLICANT, "/memberships/1/decision", 403),
    (ADMIN, "/memberships/1/evaluation", 403),
    (ADMIN, "/programmes/1/memberships/apply", 403),
]


@pytest.mark.parametrize(
    ("roles", "path", "status"),
    ROLE_MATRIX,
    ids=[f"{'+'.join(r.value for r in roles)}-{path}-{code}" for roles, path, code in ROLE_MATRIX],
)
def test_role_decides_access_to_each_page(app, roles, path, status):
    browser, _ = signed_in_browser(app, *roles)

    response = browser.get(path)

    assert response.status_code == status
    if status == 403:
        assert "You do not have permission to open this page." in text(response)


@pytest.mark.parametrize(
    "path",
    [
        "/proposals",
        "/proposals/1",
        "/people/invite",
        "/admin/users",
        "/dev/mailbox",
        "/dev/mailbox/1",
    ],
)
def test_anonymous_visitor_of_a_signed_in_page_is_sent_to_login(app, path):
    response = app.test_client().get(path)

    assert response.status_code == 302
    target = urlsplit(response.location)
    assert target.path == "/login"
    assert parse_qs(target.query)["next"] == [path]


def test_every_signed_in_page_sends_anonymous_visitors_to_login(app):
    client = app.test_client()
    wrong: list[str] = []
    for rule in app.url_map.iter_rules():
        policy = policy_of(app.view_functions[rule.endpoint])
        if policy is None or policy.public or policy.api or "GET" not in (rule.methods or set()):
            continue
        response = client.get(dummy_url(app, rule))
        if response.status_code != 302 or urlsplit(response.location).path != "/login":
            wrong.append(f"{rule.endpoint}: {response.status_code}")

    assert wrong == []


def test_anonymous_form_post_changes_nothing_and_asks_to_log_in(app):
    browser = Browser(app.test_client())

    response = browser.submit("/logout", {}, page="/login")

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")
    page = browser.get(response.headers["Location"]).get_data(as_text=True)
    assert "Please log in" in page
    assert "what you typed is kept" not in page  # nothing was typed


def test_anonymous_json_change_request_is_refused_not_redirected(app):
    browser = Browser(app.test_client())
    token = csrf_from(browser.get("/login").get_data(as_text=True))

    response = browser.client.post(
        "/logout", data={"csrf_token": token}, headers={"Accept": "application/json"}
    )

    assert response.status_code == 401


# --- proposal access ----------------------------------------------------------------------


@dataclass(frozen=True)
class ProposalWorld:
    proposal_id: int
    acronym: str
    other_acronym: str
    contributor: Person
    other_applicant: Person
    juror: Person
    officer: Person
    other_officer: Person


@pytest.fixture
def world(app) -> ProposalWorld:  # type: ignore[no-untyped-def]
    with app.app_context():
        contributor = make_user(roles=(Role.APPLICANT,))
        other_applicant = make_user(roles=(Role.APPLICANT,))
        juror = make_user(roles=(Role.JUROR,))
        officer = make_user(roles=(Role.OFFICER,))
        other_officer = make_user(roles=(Role.OFFICER,))
        call = make_call(make_programme(officers=(officer,)))
        other_call = make_call(make_programme(officers=(other_officer,)))
        proposal = make_proposal(call, coordinator=contributor, acronym="MINE")
        make_proposal(other_call, coordinator=other_applicant, acronym="THEIRS")
        db.session.commit()
        return ProposalWorld(
            proposal_id=proposal.id,
            acronym="MINE",
            other_acronym="THEIRS",
            contributor=Person(contributor.id, contributor.email),
            other_applicant=Person(other_applicant.id, other_applicant.email),
            juror=Person(juror.id, juror.email),
            officer=Person(officer.id, officer.email),
            other_officer=Person(other_officer.id, other_officer.email),
        )


def as_person(app, person: Person) -> Browser:  # type: ignore[no-untyped-def]
    browser = Browser(app.test_client())
    assert browser.login(person.email, PASSWORD).status_code == 302
    return browser


@pytest.mark.parametrize("who", ["contributor", "officer"])
def test_contributor_and_programme_officer_see_the_proposal(app, world, who):
    browser = as_person(app, getattr(world, who))

    response = browser.get(f"/proposals/{world.proposal_id}")

    assert response.status_code == 200
    assert world.acronym in text(response)


@pytest.mark.parametrize(
    "who",
    [
        "other_applicant",
        "juror",
        "other_officer",
    ],
)
def test_people_without_a_relation_to_the_proposal_get_not_found(app, world, who):
    browser = as_person(app, getattr(world, who))

    response = browser.get(f"/proposals/{world.proposal_id}")

    assert response.status_code == 404
    assert world.acronym not in text(response)


def test_missing_and_forbidden_proposals_look_the_same(app, world):
    browser = as_person(app, world.other_officer)

    forbidden = browser.get(f"/proposals/{world.proposal_id}")
    missing = browser.get("/proposals/999999")

    assert forbidden.status_code == missing.status_code == 404
    assert without_token(text(forbidden)) == without_token(text(missing))


def without_token(page: str) -> str:
    """The page without its CSRF token, which carries the second it was made in."""
    return re.sub(
        r'name="csrf_token"[^>]*value="[^"]*"|value="[^"]*"([^>]*name="csrf_token")', "", page
    )


def test_an_id_beyond_the_databases_integers_is_not_found_like_any_other(app, world):
    browser = as_person(app, world.other_officer)

    huge = browser.get(f"/proposals/{2**63}")
    missing = browser.get("/proposals/999999")

    assert huge.status_code == missing.status_code == 404
    assert without_token(text(huge)) == without_token(text(missing))


def test_officer_list_shows_only_proposals_of_programmes_they_run(app, world):
    with app.app_context():
        calls = {}
        for proposal in db.session.scalars(sa.select(Proposal)):
            calls[proposal.acronym] = proposal.call.name
            make_topic(
                programme_id=proposal.call.programme_id,
                name=f"Topic for {proposal.acronym.lower()}",
            )
        db.session.commit()

    mine = as_person(app, world.officer).get("/proposals")
    theirs = as_person(app, world.other_officer).get("/proposals")

    assert mine.status_code == theirs.status_code == 200
    assert world.acronym in text(mine) and world.other_acronym not in text(mine)
    assert world.other_acronym in text(theirs) and world.acronym not in text(theirs)
    # The filters offer each officer the calls and topics of their own programmes only.
    for page, own, other in ((mine, "MINE", "THEIRS"), (theirs, "THEIRS", "MINE")):
        assert f">{calls[own]}</option>" in text(page)
        assert f">{calls[other]}</option>" not in text(page)
        assert f"Topic for {own.lower()}" in text(page)
        assert f"Topic for {other.lower()}" not in text(page)


# --- security headers ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "status"),
    [("/login", 200), ("/proposals", 302), ("/no-such-page", 404), ("/static/app.css", 200)],
    ids=["html-page", "redirect", "not-found", "static-file"],
)
def test_security_headers_are_on_every_kind_of_response(app, path, status):
    response = app.test_client().get(path)

    assert response.status_code == status
    csp = csp_directives(response)
    script_src = csp.get("script-src", csp.get("default-src"))
    assert script_src, "no script-src or default-src in the Content-Security-Policy"
    assert "'unsafe-inline'" not in script_src
    assert "'unsafe-eval'" not in script_src
    assert csp.get("object-src") == ["'none'"]
    assert response.headers.get("X-Content-Type-Options") == "nosniff"
    framing_denied = response.headers.get("X-Frame-Options") == "DENY"
    assert framing_denied or csp.get("frame-ancestors") == ["'none'"]


def test_pages_have_no_inline_scripts_that_the_policy_would_block(app):
    browser, _ = signed_in_browser(app, Role.ADMIN, Role.OFFICER)
    for path in ("/", "/login", "/admin/users", "/proposals", "/people/invite"):
        page = browser.get(path).get_data(as_text=True)
        inline = re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", page)
        assert inline == [], f"{path} has an inline script"
        assert not re.search(r"\son[a-z]+=", page), f"{path} has an inline event handler"


# --- cookies ------------------------------------------------------------------------------


def session_cookie_header(response) -> str:  # type: ignore[no-untyped-def]
    headers = [
        h for h in response.headers.getlist("Set-Cookie") if h.startswith("competition_session=")
    ]
    assert headers, "the response sets no session cookie"
    return headers[-1]


def cookie_flags(header: str) -> set[str]:
    return {part.strip().lower() for part in header.split(";")[1:]}


def test_session_cookie_in_production_is_secure_httponly_and_lax(make_app, pg_url):
    app = make_app(env="production", secret_key=secrets.token_urlsafe(36), database_url=pg_url)
    assert len(app.config["SECRET_KEY"]) == 48
    person = create_user(app)

    response = Browser(app.test_client()).login(person.email, PASSWORD)

    assert response.status_code == 302
    flags = cookie_flags(session_cookie_header(response))
    assert {"secure", "httponly", "samesite=lax"} <= flags


def test_session_cookie_in_testing_is_httponly_and_lax(app):
    person = create_user(app)

    response = Browser(app.test_client()).login(person.email, PASSWORD)

    assert response.status_code == 302
    flags = cookie_flags(session_cookie_header(response))
    assert {"httponly", "samesite=lax"} <= flags


# --- health check -------------------------------------------------------------------------


def test_health_check_reports_database_and_broker(app):
    response = app.test_client().get("/healthz")

    assert response.status_code == 200
    assert response.is_json
    assert response.get_json() == {"database": "ok", "broker": "in-process", "status": "ok"}


def test_every_page_names_its_icon_and_the_usual_address_leads_to_it(app):
    client = app.test_client()

    page = client.get("/login").get_data(as_text=True)
    moved = client.get("/favicon.ico")
    icon = client.get(moved.headers["Location"])

    assert '<link rel="icon" type="image/svg+xml" href="/static/favicon.svg">' in page
    assert moved.status_code == 301 and moved.headers["Location"] == "/static/favicon.svg"
    assert icon.status_code == 200 and icon.mimetype == "image/svg+xml"


# --- errors -------------------------------------------------------------------------------


def test_an_unexpected_error_shows_the_friendly_page_without_a_stack_trace(
    make_app, caplog, loggers_enabled
):
    app = make_app()

    def explode():  # type: ignore[no-untyped-def]
        raise RuntimeError("internal detail: /srv/secret/path")

    app.add_url_rule("/explode", "explode", public(explode))

    with caplog.at_level(logging.ERROR):
        response = app.test_client().get("/explode")

    assert response.status_code == 500
    body = text(response)
    assert "Something went wrong" in body
    assert "Traceback" not in body
    assert "internal detail" not in body
    assert "RuntimeError" not in body
    # The details go to the log for the operators instead.
    assert any(record.exc_info for record in caplog.records)


def test_an_unexpected_error_answers_json_clients_without_details(make_app):
    app = make_app()

    def explode():  # type: ignore[no-untyped-def]
        raise RuntimeError("internal detail")

    app.add_url_rule("/explode", "explode", public(explode))

    response = app.test_client().get("/explode", headers={"Accept": "application/json"})

    assert response.status_code == 500
    assert response.get_json() == {
        "error": "Something went wrong",
        "detail": "The error has been logged. Please try again.",
    }


# --- logs ---------------------------------------------------------------------------------


def mail_links(app, address: str) -> list[str]:  # type: ignore[no-untyped-def]
    with app.app_context():
        bodies = db.session.scalars(
            sa.select(Notification.body_text).where(Notification.to_address == address)
        ).all()
    links = [link for body in bodies for link in re.findall(r"https?://\S+", body or "")]
    assert links, f"no links in the mail to {address}"
    return links


def test_logs_carry_no_addresses_passwords_or_tokens(app, caplog, loggers_enabled):
    caplog.set_level(logging.DEBUG)
    email, password, new_password = "private.person@example.org", "my secret words", "n3w secret!"
    browser = Browser(app.test_client())

    browser.submit(
        "/register",
        {"name": "Private Person", "email": email, "password": password, "confirm": password},
    )
    (confirm_link,) = mail_links(app, email)
    assert browser.get(urlsplit(confirm_link).path).status_code == 302
    assert browser.login(email, "a wrong password").status_code == 422
    assert browser.login(email, password).status_code == 302
    session_cookie = browser.client.get_cookie("competition_session").value
    browser.logout()
    browser.submit("/password/forgot", {"email": email})
    reset_link = next(link for link in mail_links(app, email) if "/password/reset/" in link)
    reset_path = urlsplit(reset_link).path
    response = browser.submit(reset_path, {"password": new_password, "confirm": new_password})
    assert response.status_code == 302
    assert browser.login(email, new_password).status_code == 302

    secrets_seen = {
        "e-mail address": email,
        "local part": "private.person",
        "password": password,
        "new password": new_password,
        "confirmation token": confirm_link.rsplit("/", 1)[1],
        "reset token": reset_link.rsplit("/", 1)[1],
        "session cookie": session_cookie,
    }
    messages = [record.getMessage() for record in caplog.records]
    assert any("logged in" in message for message in messages), "nothing was logged at all?"
    leaks = [
        f"{what} in {message!r}"
        for message in messages
        for what, value in secrets_seen.items()
        if value in message
    ]
    assert leaks == []
