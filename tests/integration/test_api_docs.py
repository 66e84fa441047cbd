"""The API's documentation page: generated on the server from the description, every operation
with its access, parameters and responses, every schema; no script; its own words in German and
English, the description's English texts marked as English."""

from __future__ import annotations

import html
import re

import pytest

from competition.accounts.models import Role
from competition.extensions import db
from tests.conftest import Browser
from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.postgres

DOCS = "/api/v1/docs"


def page_text(response) -> str:  # type: ignore[no-untyped-def]
    return html.unescape(response.get_data(as_text=True))


@pytest.mark.parametrize("address", ["/api", "/api/", "/api/v1", "/api/v1/"])
def test_the_apis_addresses_lead_to_its_documentation(app, address):
    response = app.test_client().get(address)

    assert response.status_code in (301, 302, 308)
    assert response.location.endswith(DOCS)


def test_every_operation_and_schema_of_the_description_is_on_the_page(app):
    client = app.test_client()
    spec = client.get("/api/v1/openapi.json").get_json()

    response = client.get(DOCS)

    assert response.status_code == 200
    page = page_text(response)
    operations = 0
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            operations += 1
            heading = rf"<h4 id=\"[^\"]+\"><code>{method.upper()} {re.escape(path)}</code></h4>"
            found = re.search(rf"{heading}(.*?)</article>", page, re.S)
            assert found, f"{method.upper()} {path} is not on the page"
            block = found.group(1)
            for status in operation["responses"]:
                assert f'<th scope="row">{status}</th>' in block, (path, status)
            if operation["security"] == []:
                assert "Anyone, without a token." in block
            elif operation.get("x-scope"):
                assert f"<code>{operation['x-scope']}</code>" in block
            else:
                assert "Any live token." in block
    assert operations >= 2
    for name in spec["components"]["schemas"]:
        assert f'id="schema-{name.lower()}"' in page


def test_the_page_explains_tokens_scopes_cursors_etags_problems_and_limits(make_app):
    app = make_app(api_rate_limit="120 per minute")

    page = page_text(app.test_client().get(DOCS))

    for heading in ("Tokens", "Scopes", "Lists and cursors", "ETags", "Errors", "Rate limits"):
        assert f">{heading}</h2>" in page
    assert "A token may make 120 calls in 60 seconds." in page
    assert 'href="/account/api-tokens"' in page
    assert "<code>proposals:write</code>" in page


def test_the_page_runs_no_script(app):
    response = app.test_client().get(DOCS)

    assert "<script" not in response.get_data(as_text=True)
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]


def test_in_german_the_pages_words_are_german_and_the_descriptions_are_marked_english(app):
    with app.app_context():
        person = make_user(roles=(Role.APPLICANT,), locale="de")
        db.session.commit()
        email = person.email
    browser = Browser(app.test_client())
    browser.login(email, PASSWORD)

    page = page_text(browser.get(DOCS))

    assert "<h1>API-Dokumentation</h1>" in page
    assert "Aufrufgrenzen" in page and "Jedes gültige Token." in page
    assert '<p lang="en">The person the token belongs to' in page
