"""Screenshots of the main pages in English and German, for the documentation.

Seeds the demo competition on a fresh SQLite database, adds what the demo does not reach (a
juror's review, a ranking, decisions and letters: the world of the accessibility tests, see
tests/e2e/world.py), serves it from a thread and saves each page as a JPEG in docs/screenshots/
with an index, README.md. Needs the test tools and Chromium: ``make install-test browser``, then
``make screenshots`` (or ``.venv/bin/python docs/screenshots.py``)."""

from __future__ import annotations

import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402
from flask_migrate import upgrade  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

from competition import create_app  # noqa: E402
from competition.accounts.models import User  # noqa: E402
from competition.extensions import db  # noqa: E402
from config import Settings  # noqa: E402
from tests import services  # noqa: E402
from tests.conftest import free_port  # noqa: E402
from tests.e2e.world import DEMO_PASSWORD, RECOVERY_CODES, build_page_world  # noqa: E402

OUT = ROOT / "docs" / "screenshots"
WIDTH, HEIGHT = 1366, 900
QUALITY = 70
LANGUAGES = {"en": "English", "de": "Deutsch"}
# (file name, who looks, what the page is, its address with the world's ids)
PAGES = [
    ("open-calls", "public", "Open calls", "/calls"),
    ("editor", "applicant", "The applicant's proposal editor", "/proposals/{draft}/edit#budget"),
    ("receipt", "applicant", "A receipt", "/proposals/{draft}/versions/1"),
    (
        "conflicts",
        "juror",
        "The juror's declaration of conflicts",
        "/jury/calls/{round_1}/conflicts",
    ),
    ("review", "juror", "The juror's review form", "/reviews/assignments/{assignment}#review"),
    ("officer-start", "officer", "The officer's start page", "/"),
    ("proposals", "officer", "The list of proposals", "/proposals"),
    ("ranking", "officer", "A ranking", "/calls/{call}/stages/{stage}/selection/rankings/{ranked}"),
    ("line", "officer", "The line", "/calls/{call}/stages/{stage}/selection/line"),
    ("decisions", "officer", "Decisions", "/calls/{call}/stages/{stage}/selection/decisions"),
    ("letter", "applicant", "A decision letter", "/proposals/{letter_proposal}/letters/{letter}"),
    ("portal", "public", "The public portal", "/portal"),
    ("portal-funded", "public", "Funded consortia on the portal", "/portal/funded"),
    ("portal-map", "public", "The map of funded partners", "/portal/map"),
    ("api-tokens", "officer", "An officer's API tokens", "/account/api-tokens/new"),
    ("api-docs", "public", "The API's documentation", "/api/v1/docs"),
]


def main() -> None:
    with tempfile.TemporaryDirectory() as work:
        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        app = create_app(
            Settings(
                env="development",
                secret_key="screenshots-" + "x" * 40,
                database_url=f"sqlite:///{Path(work) / 'demo.sqlite3'}",
                upload_folder=str(Path(work) / "uploads"),
                base_url=base_url,
                demo_password=DEMO_PASSWORD,
                # The ranking and the letters are finished before the pages are shown.
                tasks_inline=True,
                default_locale="en",
            )
        )
        with app.app_context():
            upgrade(directory=str(ROOT / "migrations"))
        world = build_page_world(app)
        server = make_server("127.0.0.1", port, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            shots = photograph(app, base_url, world)
        finally:
            server.shutdown()
    write_index()
    total = sum(path.stat().st_size for path in OUT.glob("*.jpg"))
    print(f"{len(shots)} screenshots, {total / 1e6:.1f} MB, in {OUT.relative_to(ROOT)}")


def photograph(app, base_url: str, world) -> list[str]:  # type: ignore[no-untyped-def]
    """Log each role in once per language and save every page of PAGES; returns the files."""
    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.glob("*.jpg"):
        old.unlink()
    shots = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=services.CHROMIUM, headless=True)
        unused_codes = iter(RECOVERY_CODES)
        for language in LANGUAGES:
            with app.app_context():
                db.session.execute(
                    sa.update(User)
                    .where(User.email.in_(world.logins.values()))
                    .values(locale=language)
                )
                db.session.commit()
            pages = {}
            for role in ("public", *world.logins):
                context = browser.new_context(viewport={"width": WIDTH, "height": HEIGHT})
                page = context.new_page()
                page.goto(f"{base_url}/login")
                if role == "public":
                    if language != "en":
                        page.locator(f"button[name=locale][value={language}]").click()
                        page.wait_for_load_state()
                else:
                    page.locator("input[name=email]").fill(world.logins[role])
                    page.locator("input[name=password]").fill(DEMO_PASSWORD)
                    page.locator("form:has(input[name=password]) button[type=submit]").click()
                    page.wait_for_load_state()
                    if page.url.endswith("/login/second-factor"):  # the applicant's passkey
                        page.locator("input[name=code]").fill(next(unused_codes))
                        page.locator("form:has(input[name=code]) button[type=submit]").click()
                    page.wait_for_url(f"{base_url}/")
                pages[role] = page
            for name, role, _what, address in PAGES:
                page = pages[role]
                page.goto(base_url + world.url(address))
                page.wait_for_load_state("networkidle")
                file_name = f"{language}-{name}.jpg"
                page.screenshot(path=str(OUT / file_name), type="jpeg", quality=QUALITY)
                shots.append(file_name)
        browser.close()
    return shots


def write_index() -> None:
    lines = [
        "# Screenshots",
        "",
        "The main pages of the seeded demo, in English and German, made by `make screenshots`",
        "(docs/screenshots.py); run it again after changing a page.",
        "",
        "| Page | English | Deutsch |",
        "| --- | --- | --- |",
    ]
    for name, _role, what, _address in PAGES:
        cells = [f"![{what}, {LANGUAGES[lang]}]({lang}-{name}.jpg)" for lang in LANGUAGES]
        lines.append(f"| {what} | {' | '.join(cells)} |")
    (OUT / "README.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
