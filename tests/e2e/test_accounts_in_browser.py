"""A person in a real browser: register, confirm from the mail, log in; an officer sees the demo."""

from __future__ import annotations

import re

import pytest

from tests.conftest import mail_text

pytestmark = pytest.mark.browser


def test_register_confirm_from_mail_and_log_in(live_server, smtp_server, page):
    base = live_server.base_url
    page.goto(f"{base}/register")
    page.get_by_label("Full name").fill("Clara Coordinator")
    page.get_by_label("E-mail address").fill("clara@example.org")
    page.get_by_label("Password", exact=True).fill("a long passphrase")
    page.get_by_label("Repeat the password").fill("a long passphrase")
    page.get_by_role("button", name="Register").click()
    page.get_by_role("heading", name="Check your e-mail").wait_for()

    (mail,) = smtp_server.wait_for(1)
    assert mail["To"] == "clara@example.org"
    link = re.search(r"https?://\S+/confirm/\S+", mail_text(mail)).group(0)

    # Logging in before confirming is refused with a clear message.
    page.goto(f"{base}/login")
    page.get_by_label("E-mail address").fill("clara@example.org")
    page.get_by_label("Password").fill("a long passphrase")
    page.get_by_role("button", name="Log in").click()
    assert "Confirm your e-mail address first" in page.content()

    page.goto(link)
    assert "Your e-mail address is confirmed" in page.content()
    page.get_by_label("E-mail address").fill("clara@example.org")
    page.get_by_label("Password").fill("a long passphrase")
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("heading", name="Welcome, Clara Coordinator").wait_for()
    assert page.get_by_role("heading", name="Your proposals").is_visible()

    page.get_by_role("button", name="Log out").click()
    page.get_by_role("heading", name="Log in").wait_for()


def test_officer_logs_in_and_sees_the_254_demo_proposals(live_server, page):
    from competition.accounts.passwords import hash_password
    from competition.db import operation, utcnow
    from competition.demo.seed import seed_demo

    with live_server.app_context():
        operation(seed_demo)(password_hash=hash_password("demo"), now=utcnow())

    page.goto(f"{live_server.base_url}/login")
    page.get_by_label("E-mail address").fill("officer@demo.test")
    page.get_by_label("Password").fill("demo")
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("heading", name="Clusters4Future").wait_for()
    assert "630.0 million euro" in page.content()

    page.get_by_role("link", name="Proposals").first.click()
    assert page.locator("#result-count").inner_text() == "254 proposals"
    page.get_by_label("Search").fill("C4F2-")
    page.get_by_role("button", name="Filter").click()
    assert page.locator("#result-count").inner_text() == "117 proposals"
    page.get_by_role("link", name="Next").click()
    assert "Page 2 of 5" in page.content()
