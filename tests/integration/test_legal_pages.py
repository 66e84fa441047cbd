"""Impressum, Datenschutzerklärung and Erklärung zur Barrierefreiheit: at stable addresses, open
to everyone, linked from every page's footer, error pages included, in the reader's language,
with the operator's text where there is one."""

from __future__ import annotations

import pytest

from tests.conftest import Browser
from tests.helpers import text
from tests.integration.test_languages import choose

pytestmark = pytest.mark.postgres

PAGES = {
    "/impressum": ("Legal notice", "Impressum"),
    "/datenschutz": ("Privacy policy", "Datenschutzerklärung"),
    "/barrierefreiheit": ("Accessibility statement", "Erklärung zur Barrierefreiheit"),
}


@pytest.mark.parametrize("url", list(PAGES))
def test_a_visitor_who_is_not_logged_in_reads_each_legal_page_in_english(app, url):
    page = app.test_client().get(url)

    assert page.status_code == 200
    assert f"<h1>{PAGES[url][0]}</h1>" in text(page)


@pytest.mark.parametrize("url", list(PAGES))
def test_a_german_reader_gets_the_german_heading_and_text(make_app, url):
    page = text(make_app(default_locale="de").test_client().get(url))

    assert f"<h1>{PAGES[url][1]}</h1>" in page
    assert '<article class="legal-text" lang="de">' in page


@pytest.mark.parametrize("where", ["/login", "/no-such-page"])
def test_every_page_links_the_legal_pages_in_its_footer_error_pages_too(app, where):
    page = text(app.test_client().get(where))
    footer = page[page.index('<footer class="bottom">') :]

    for url, (title, _german) in PAGES.items():
        assert f'<a href="{url}">{title}</a>' in footer


def test_the_accessibility_statement_has_what_bitv_asks_for(make_app):
    german = text(make_app(default_locale="de").test_client().get("/barrierefreiheit"))

    assert "teilweise mit der BITV 2.0 vereinbar" in german  # the conformity status
    assert "Nicht barrierefreie Inhalte" in german  # the known limitations
    assert 'href="mailto:barrierefreiheit@example.org"' in german  # the feedback contact
    assert "Schlichtungsstelle nach § 16 BGG" in german  # the enforcement procedure
    assert "zuletzt am 05.12.2026 überprüft" in german  # the date of the last check


def test_the_operators_own_text_replaces_the_sample_and_its_html_stays_text(make_app, tmp_path):
    (tmp_path / "impressum.de.md").write_text(
        "# Anbieter\n\nBundesamt für Beispiele\nBeispielweg 2\n\n<script>alert(1)</script>\n",
        encoding="utf-8",
    )
    app = make_app(default_locale="de", legal_folder=str(tmp_path))

    raw = app.test_client().get("/impressum").get_data(as_text=True)

    assert "<h2>Anbieter</h2>" in raw
    assert "Bundesamt für Beispiele<br>" in raw
    assert "Musterministerium" not in raw and "Mustertext" not in raw
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in raw and "<script>" not in raw


def test_an_english_reader_gets_the_operators_german_text_when_there_is_no_english_one(
    make_app, tmp_path
):
    (tmp_path / "datenschutz.de.md").write_text("Wir speichern nur das Nötige.", encoding="utf-8")
    browser = Browser(make_app(default_locale="de", legal_folder=str(tmp_path)).test_client())
    choose(browser, "en", "/datenschutz")

    page = text(browser.get("/datenschutz"))

    assert "<h1>Privacy policy</h1>" in page
    assert "This page is available in German only." in page
    assert '<article class="legal-text" lang="de">' in page
    assert "Wir speichern nur das Nötige." in page
