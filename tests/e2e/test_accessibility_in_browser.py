"""Every kind of page, for each role, in German and in English, checked in Chromium by axe-core
(the rules of WCAG 2.0 to 2.2, levels A and AA, and axe's best practices): no violation anywhere,
of any impact; no rule is left out.

One world for all of it (the demo competition and a stage taken to its letters, see world.py),
one browser context per role, logged in once per language; each check is one page load. The
app's Content-Security-Policy stays in force: axe is evaluated through the DevTools protocol
(``page.evaluate``), which the policy does not govern, so the pages are checked exactly as people
get them (a context with ``bypass_csp`` would also let blocked inline styles count)."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page
from werkzeug.serving import make_server

from competition import create_app
from competition.accounts.models import User
from competition.extensions import db
from config import OidcProvider
from tests import services
from tests.conftest import free_port, testing_settings, truncate_all
from tests.e2e.world import DEMO_PASSWORD, RECOVERY_CODES, PageWorld, build_page_world

pytestmark = [pytest.mark.browser, pytest.mark.postgres]

# The rules of WCAG 2.0, 2.1 and 2.2 at levels A and AA, and axe's best practices (landmarks,
# heading order, …). No rule of these is left out.
STANDARDS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]

MISSING = "a missing page (404)"
# (role, what the page is, its address with the world's ids)
PAGES = [
    ("public", "log in", "/login"),
    ("public", "register", "/register"),
    ("public", "forgotten password", "/password/forgot"),
    ("public", "open calls", "/calls"),
    ("public", "a call", "/calls/{round_2}"),
    ("public", MISSING, "/no-such-page"),
    ("applicant", "start page", "/"),
    ("applicant", "proposal editor", "/proposals/{draft}/edit"),
    ("applicant", "review and submit", "/proposals/{draft}/submit"),
    ("applicant", "receipt", "/proposals/{draft}/versions/1"),
    ("applicant", "versions", "/proposals/{draft}/versions"),
    ("applicant", "decision letter", "/proposals/{letter_proposal}/letters/{letter}"),
    ("applicant", "hearing slot", "/proposals/{finalist}/hearing"),
    ("applicant", "clarification to answer", "/clarifications/{clarification}"),
    ("applicant", "a grant offered", "/grants/{grant}"),
    ("applicant", "declining a grant", "/grants/{grant}/decline"),
    ("applicant", "payments of a grant", "/grants/{running_grant}/payments"),
    ("applicant", "payment request form", "/grants/{running_grant}/payments/new"),
    ("applicant", "milestones and reports of a grant", "/grants/{running_grant}/reports"),
    ("applicant", "a report to write", "/reports/{report}"),
    ("juror", "jury calls", "/jury"),
    ("juror", "conflicts of interest", "/jury/calls/{round_1}/conflicts"),
    ("juror", "bids", "/jury/calls/{round_1}/stages/{outline}/bids"),
    ("juror", "assigned reviews", "/reviews"),
    ("juror", "review form", "/reviews/assignments/{assignment}"),
    ("juror", "profile", "/jury/profile"),
    ("juror", "hearing availability", "/jury/stages/{hearing}/hearing"),
    ("officer", "start page", "/"),
    ("officer", "programmes", "/programmes"),
    ("officer", "a programme", "/programmes/{programme}"),
    ("officer", "programme dashboard", "/programmes/{programme}/dashboard"),
    ("officer", "topics", "/programmes/{programme}/topics"),
    ("officer", "new topic", "/programmes/{programme}/topics/new"),
    ("officer", "a topic", "/topics/{topic}/edit"),
    ("officer", "deleting a topic", "/topics/{topic}/delete"),
    ("officer", "call form", "/calls/{round_2}/edit"),
    ("officer", "stage form", "/calls/{round_2}/stages/{round_2_outline}/edit"),
    ("officer", "proposals", "/proposals"),
    ("officer", "a proposal", "/proposals/{reviewed}"),
    ("officer", "hearing", "/calls/{round_1}/stages/{hearing}/hearing"),
    ("officer", "clarification", "/clarifications/{clarification}"),
    ("officer", "ask for a clarification", "/proposals/{finalist}/clarifications/new"),
    ("officer", "jury of a call", "/calls/{round_1}/jury"),
    ("officer", "review progress", "/stages/{outline}/review-progress"),
    ("officer", "assignment", "/calls/{call}/stages/{stage}/assignment"),
    ("officer", "screening", "/calls/{round_2}/stages/{round_2_outline}/screening"),
    (
        "officer",
        "assignment of a proposal",
        "/calls/{call}/stages/{stage}/assignment/proposals/{decided}",
    ),
    ("officer", "selection", "/calls/{call}/stages/{stage}/selection"),
    ("officer", "selection rules", "/calls/{call}/stages/{stage}/selection/rules"),
    ("officer", "ranking", "/calls/{call}/stages/{stage}/selection/rankings/{ranked}"),
    ("officer", "line", "/calls/{call}/stages/{stage}/selection/line"),
    ("officer", "decisions", "/calls/{call}/stages/{stage}/selection/decisions"),
    ("officer", "confirmations", "/calls/{call}/stages/{stage}/selection/confirm"),
    ("officer", "letters", "/calls/{call}/stages/{stage}/selection/publish"),
    ("officer", "grants of a programme", "/programmes/{grant_programme}/grants"),
    ("officer", "a grant", "/grants/{grant}"),
    ("officer", "a running grant with a payment waiting", "/grants/{running_grant}"),
    ("officer", "adjusting a grant", "/grants/{grant}/adjust"),
    ("officer", "registry of organisations", "/organisations"),
    ("officer", "an organisation", "/organisations/{organisation}"),
    ("officer", "an organisation's details", "/organisations/{organisation}/edit"),
    (
        "officer",
        "merging organisations",
        "/organisations/{organisation}/merge?q=Organisation&into={other_organisation}",
    ),
    ("officer", "registry import", "/organisations/import"),
    ("officer", "programme form", "/programmes/{programme}/edit"),
    ("officer", "a payment request", "/payments/{payment}"),
    ("officer", "payments of a programme", "/programmes/{programme}/payments"),
    ("officer", "payment export", "/programmes/{programme}/payments/export/xlsx"),
    ("officer", "payment exports", "/programmes/{programme}/payments/exports"),
    ("officer", "money view", "/programmes/{programme}/money"),
    ("officer", "reports of a programme", "/programmes/{programme}/reports"),
    ("officer", "a new milestone", "/grants/{running_grant}/milestones/new"),
    ("officer", "interim evaluations of a call", "/calls/{round_1}/interim-evaluations"),
    ("officer", "starting an interim evaluation", "/calls/{round_1}/interim-evaluations/new"),
    ("officer", "mailbox", "/dev/mailbox"),
    ("officer", "users", "/admin/users"),
    ("public", "members of a membership programme", "/programmes/{membership_slug}/members"),
    ("public", "funding portal", "/portal"),
    ("public", "a programme on the portal", "/portal/programmes/{programme_slug}"),
    ("public", "funded consortia with a filter", "/portal/funded?programme={programme_slug}"),
    ("public", "a funded consortium", "/portal/funded/{running_grant}"),
    ("public", "open data of the portal", "/portal/open-data"),
    ("applicant", "memberships", "/memberships"),
    ("applicant", "membership application", "/programmes/{membership_programme}/memberships/apply"),
    ("applicant", "a membership", "/memberships/{membership}"),
    ("officer", "memberships of a programme", "/programmes/{membership_programme}/memberships"),
    (
        "officer",
        "membership criteria and evaluators",
        "/programmes/{membership_programme}/membership-criteria",
    ),
    ("officer", "a membership", "/memberships/{membership}"),
    ("officer", "membership evaluation", "/memberships/{membership}/evaluation"),
    ("officer", "membership decision", "/memberships/{membership}/decision"),
    ("public", "map of funded partners", "/portal/map"),
    (
        "applicant",
        "withholding a partner's name",
        "/proposals/{funded}/members/{partner}/withhold-name",
    ),
    ("public", "API documentation", "/api/v1/docs"),
    ("applicant", "API tokens", "/account/api-tokens"),
    ("applicant", "new API token", "/account/api-tokens/new"),
    ("applicant", "passkeys", "/account/passkeys"),
    ("applicant", "removing a passkey", "/account/passkeys/{passkey}/remove"),
    ("applicant", "security", "/account/security"),
    ("applicant", "sign-in providers", "/account/sign-ins"),
    ("applicant", "my data", "/account/data"),
    ("officer", "retention and erasure", "/admin/retention"),
    ("officer", "recording an erasure request", "/admin/erasure-requests/new"),
    ("officer", "records of processing", "/admin/processing"),
]

# Forms sent empty (or with the field given), so they come back refused with a message at the
# field and nothing saved: (role, what the form is, the page it is on, the form, fields to fill)
REFUSED_FORMS = [
    ("officer", "new topic", "/programmes/{programme}/topics/new", 'form[action$="/new"]', {}),
    ("officer", "new hearing slot", "/calls/{round_1}/stages/{hearing}/hearing", "#new-slot", {}),
    (
        "officer",
        "question to a consortium",
        "/proposals/{finalist}/clarifications/new",
        'form[action$="/clarifications/new"]',
        {},
    ),
    ("officer", "follow-up", "/clarifications/{clarification}", 'form[action$="/follow-up"]', {}),
    ("applicant", "answer", "/clarifications/{clarification}", 'form[action$="/answers"]', {}),
    ("applicant", "declining a grant", "/grants/{grant}/decline", 'form[action$="/decline"]', {}),
    ("officer", "adjusting a grant", "/grants/{grant}/adjust", 'form[action$="/adjust"]', {}),
    (
        "applicant",
        "payment request",
        "/grants/{running_grant}/payments/new",
        'form[action$="/payments/new"]',
        {},
    ),
    ("officer", "rejection", "/payments/{payment}", 'form[action$="/reject"]', {}),
    (
        "officer",
        "selection rules with a quota that is no number",
        "/calls/{call}/stages/{stage}/selection/rules",
        'form[action$="/selection/rules"]',
        {"#constraints-0-maximum": "one"},
    ),
    (
        "officer",
        "membership evaluation",
        "/memberships/{membership}/evaluation",
        'form[action$="/evaluation"]',
        {},
    ),
    (
        "applicant",
        "membership application",
        "/programmes/{membership_programme}/memberships/apply",
        'form[action$="/apply"]',
        {"#organisation": ""},
    ),
    (
        "applicant",
        "withholding a partner's name without a reason",
        "/proposals/{funded}/members/{partner}/withhold-name",
        'form[action$="/withhold-name"]',
        {},
    ),
    ("applicant", "new API token", "/account/api-tokens/new", 'form[action$="/new"]', {}),
    (
        "applicant",
        "removing a passkey without the password",
        "/account/passkeys/{passkey}/remove",
        'form[action$="/remove"]',
        {},
    ),
]


@dataclass
class Served:
    app: object
    base_url: str
    world: PageWorld


@pytest.fixture(scope="module")
def served(pg_url, tmp_path_factory) -> Iterator[Served]:  # type: ignore[no-untyped-def]
    """The world on the run's (empty) PostgreSQL database, served from a thread; no mail server,
    so sent mail stays in the officer's mailbox."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    app = create_app(
        testing_settings(
            database_url=pg_url,
            base_url=base_url,
            upload_folder=str(tmp_path_factory.mktemp("uploads")),
            # The login page shows its "Sign in with …" button; nothing asks the provider.
            oidc_providers=(
                OidcProvider("bund", "BundID", "https://id.example.de", "foerderung", "s"),
            ),
        )
    )
    try:
        world = build_page_world(app)
        server = make_server("127.0.0.1", port, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        yield Served(app, base_url, world)
        server.shutdown()
        thread.join(timeout=10)
    finally:
        truncate_all(app)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@dataclass
class SignedIn:
    language: str
    pages: dict[str, Page]  # role → a page of that role's browser context


SECOND_STEP = "/login/second-factor"
_unused_codes = iter(RECOVERY_CODES)


def give_password(page: Page, base_url: str, email: str) -> None:
    page.goto(f"{base_url}/login")
    page.locator("input[name=email]").fill(email)
    page.locator("input[name=password]").fill(DEMO_PASSWORD)
    page.locator("form:has(input[name=password]) button[type=submit]").click()
    page.wait_for_load_state()


def log_in(page: Page, base_url: str, email: str) -> None:
    give_password(page, base_url, email)
    if page.url.endswith(SECOND_STEP):  # the applicant, who has a passkey
        page.locator("input[name=code]").fill(next(_unused_codes))
        page.locator("form:has(input[name=code]) button[type=submit]").click()
    page.wait_for_url(f"{base_url}/")


@pytest.fixture(scope="module", params=["en", "de"])
def signed_in(request, served, chromium) -> Iterator[SignedIn]:  # type: ignore[no-untyped-def]
    """One context per role, each person's language set on their account; the visitor chooses
    it with the header's switch."""
    language = request.param
    emails = served.world.logins
    with served.app.app_context():
        db.session.execute(
            sa.update(User).where(User.email.in_(emails.values())).values(locale=language)
        )
        db.session.commit()
    contexts = []
    pages = {}
    for role in ("public", *emails):
        context = chromium.new_context()
        context.set_default_timeout(20_000)
        contexts.append(context)
        page = context.new_page()
        if role != "public":
            log_in(page, served.base_url, emails[role])
        elif language != "en":
            page.goto(f"{served.base_url}/login")
            page.locator(f"button[name=locale][value={language}]").click()
            page.wait_for_load_state()
        pages[role] = page
    yield SignedIn(language, pages)
    for context in contexts:
        context.close()


@pytest.fixture(scope="module")
def axe() -> str:
    return services.axe_source()


def run_axe(page: Page, axe: str) -> list[dict[str, object]]:
    page.evaluate(axe)
    results = page.evaluate(
        "standards => axe.run(document, {runOnly: {type: 'tag', values: standards},"
        " resultTypes: ['violations']})",
        STANDARDS,
    )
    return results["violations"]  # type: ignore[no-any-return]


def described(violations: list[dict[str, object]]) -> str:
    lines = []
    for v in violations:
        targets = [n["target"] for n in v["nodes"]][:5]  # type: ignore[attr-defined]
        lines.append(f"{v['impact']} {v['id']}: {v['help']} at {targets}")
    return "\n".join(lines)


@pytest.mark.parametrize(
    ("role", "what", "address"),
    PAGES,
    ids=[re.sub(r"\W+", "-", f"{role} {what}").strip("-") for role, what, _ in PAGES],
)
def test_the_page_has_no_accessibility_violation(axe, signed_in, served, role, what, address):  # type: ignore[no-untyped-def]
    page = signed_in.pages[role]
    response = page.goto(served.base_url + served.world.url(address))
    assert response is not None
    assert response.status == (404 if what == MISSING else 200)
    assert page.locator("html").get_attribute("lang") == signed_in.language

    violations = run_axe(page, axe)

    assert not violations, described(violations)


def test_the_second_step_with_a_passkey_has_no_accessibility_violation(
    axe, signed_in, served, chromium
):  # type: ignore[no-untyped-def]
    context = chromium.new_context()
    try:
        page = context.new_page()
        give_password(page, served.base_url, served.world.logins["applicant"])
        assert page.url.endswith(SECOND_STEP)
        assert page.locator("html").get_attribute("lang") == signed_in.language
        assert page.locator("form[data-passkey-check] button").count() == 1

        violations = run_axe(page, axe)

        assert not violations, described(violations)
    finally:
        context.close()


@pytest.mark.parametrize(
    ("role", "what", "address", "form", "fill"),
    REFUSED_FORMS,
    ids=[re.sub(r"\W+", "-", f"{role} {what}").strip("-") for role, what, *_ in REFUSED_FORMS],
)
def test_a_refused_form_has_no_accessibility_violation(
    axe, signed_in, served, role, what, address, form, fill
):  # type: ignore[no-untyped-def]
    page = signed_in.pages[role]
    page.goto(served.base_url + served.world.url(address))
    for field, value in fill.items():
        page.locator(f"{form} {field}").fill(value)
    with page.expect_navigation() as sent:
        page.locator(f"{form} button[type=submit]").click()
    assert sent.value is not None and sent.value.status == 422
    assert page.locator(f"{form} .error").count() > 0

    violations = run_axe(page, axe)

    assert not violations, described(violations)


def test_a_wide_budget_scrolls_within_the_editor_and_leaves_the_checklist_readable(
    signed_in, served
):  # type: ignore[no-untyped-def]
    page = signed_in.pages["applicant"]
    page.goto(served.base_url + served.world.url("/proposals/{draft}/edit"))
    budget = page.locator("div.scroll:has(table.budget)")
    checklist = page.locator("aside.editor-side").bounding_box()
    shown = budget.bounding_box()
    assert shown is not None and checklist is not None

    assert shown["x"] + shown["width"] <= checklist["x"]
    # The rest of the table is reached by scrolling the budget, with the keyboard too.
    assert budget.evaluate("element => element.scrollWidth > element.clientWidth")
    assert budget.get_attribute("tabindex") == "0"
