"""The public portal as anyone reads it: the programmes with their budgets, committed money and
open calls, a programme's rounds, the funded consortia (searched, filtered, paged) with the
fields each programme declares public, their open data, and the cache headers."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from competition.portal import queries
from competition.portal.records import CSV_COLUMNS
from tests.conftest import Browser, app_for_module
from tests.helpers import as_person, queries_for_page, text
from tests.integration.portal_world import MANY, World, build_world

pytestmark = pytest.mark.postgres

NBSP = "\u00a0"


@pytest.fixture(scope="module")
def app(pg_url) -> Iterator[object]:  # type: ignore[no-untyped-def]
    """One app and one world for the module: the tests only read."""
    yield from app_for_module(pg_url)


@pytest.fixture(scope="module")
def world(app) -> World:  # type: ignore[no-untyped-def]
    with app.app_context():
        return build_world()


def anyone(app) -> Browser:  # type: ignore[no-untyped-def]
    return Browser(app.test_client())


def in_german(app) -> Browser:  # type: ignore[no-untyped-def]
    browser = anyone(app)
    assert browser.submit("/language", {"locale": "de"}, page="/portal").status_code == 303
    return browser


def acronyms(page: str) -> list[str]:
    """The consortia a list page shows, in order."""
    return re.findall(r'<h2><a href="/portal/funded/\d+">([^<:]+):', page)


# --- the start page and a programme ------------------------------------------------------------


def test_start_page_shows_each_programme_with_its_money_and_open_calls(app, world):
    page = text(anyone(app).get("/portal"))

    assert "Clusters4Future" in page
    assert "Regional innovation networks that bring research to application." in page
    assert f'href="/calls/{world.open_call_id}"' in page
    assert "Clusters4Future round 2" in page and " left)" in page
    assert "Draft round 3" not in page
    # The membership programme links to its public members list.
    assert f'href="/programmes/{world.membership_slug}/members"' in page
    # The map and the deadlines' calendar of the portal.
    assert 'href="/portal/map"' in page and 'href="/portal/deadlines.ics"' in page


def test_committed_money_counts_only_what_the_public_sees(app, world):
    page = text(in_german(app).get("/portal"))

    # 630 M budget; committed: the project's 900.000 and the concept phase's 250.000, not the
    # offer nobody has accepted yet (another 300.000).
    assert f"630.000.000,00{NBSP}€" in page
    assert f"1.150.000,00{NBSP}€" in page
    assert "1.450.000" not in page
    # The alliance does not publish funding: no sum of its consortia's money either.
    assert "2.109.876" not in page
    assert "nicht veröffentlicht" in page


def test_programme_page_shows_rounds_with_stages_and_deadlines(app, world):
    page = text(anyone(app).get(f"/portal/programmes/{world.programme_slug}"))

    assert "Clusters4Future round 1" in page and "Clusters4Future round 2" in page
    assert "Draft round 3" not in page
    assert "Outline" in page and "Deadline" in page
    assert "1 funded consortium (Project)" in page
    assert "1 funded consortium (Concept phase)" in page
    assert f'href="/portal/funded?programme={world.programme_slug}"' in page
    assert anyone(app).get("/portal/programmes/no-such-programme").status_code == 404


# --- funded consortia ---------------------------------------------------------------------------


def test_funded_list_shows_accepted_grants_with_their_declared_fields(app, world):
    page = text(anyone(app).get(f"/portal/funded?programme={world.programme_slug}"))

    assert acronyms(page) == ["H2LAUSITZ", "BATTERYNET"]  # newest first
    assert "Technische Universität Dresden" in page
    assert "Electrolysis" in page
    assert "NOTYET" not in page  # offered, not accepted


def test_consortium_page_shows_partners_topics_funding_period_and_state(app, world):
    page = text(anyone(app).get(f"/portal/funded/{world.project_grant}"))

    assert "H2LAUSITZ: Green hydrogen for the Lausitz" in page
    assert "Electrolysers powered by the wind of the Lausitz" in page
    assert "Technische Universität Dresden" in page and "Fraunhofer IWS" in page
    assert "Partner (name withheld)" in page
    assert "Verschwiegen" not in page
    assert "Brandenburg" in page and "SME" in page  # the withheld partner's state and kind
    assert "Electrolysis" in page
    assert "01.01.2027 until 01.01.2030" in page
    assert "Running" in page
    assert "Project" in page

    german = text(in_german(app).get(f"/portal/funded/{world.project_grant}"))
    assert f"300.000,00{NBSP}€" in german  # a year: three partners of 100.000,00 €
    assert f"900.000,00{NBSP}€" in german
    assert "Partner (Name nicht veröffentlicht)" in german


def test_a_programme_keeping_funding_private_shows_none(app, world):
    page = text(anyone(app).get(f"/portal/funded/{world.alliance_grant}"))

    assert "Lithium battery alliance" in page
    assert "Cells made in Germany." in page  # its summary is public
    assert "Funding per year" not in page
    assert "2,109,876" not in page.replace("\u202f", ",")


@pytest.mark.parametrize("address", ["offered", "missing", "huge"])
def test_a_grant_the_public_may_not_see_has_no_page(app, world, address):
    grant = {"offered": world.offered_grant, "missing": 999_999, "huge": 10**12}[address]

    assert anyone(app).get(f"/portal/funded/{grant}").status_code == 404


FILTERS = {
    "title": ("q=hydrogen+for", ["H2LAUSITZ"]),
    "summary": ("q=wind+of+the", ["H2LAUSITZ"]),
    "partner": ("q=fraunhofer", ["H2LAUSITZ"]),
    "withheld partner": ("q=verschwiegen", []),
    "acronym": ("q=batterynet", ["BATTERYNET"]),
    "programme": ("programme=alliance", ["LIBALLY"]),
    "cluster with its sub-topics": ("topic=hydrogen", ["H2LAUSITZ", "BATTERYNET"]),
    "sub-topic": ("topic=electrolysis", ["H2LAUSITZ"]),
    "federal state (of a withheld partner)": ("federal_state=DE-BB", ["H2LAUSITZ"]),
    "organisation kind": ("kind=research_institute", ["H2LAUSITZ"]),
    "year before": ("year=2025", ["BATTERYNET"]),
    "year during": ("year=2029", ["H2LAUSITZ"]),
    "year after": ("year=2031", []),
    "combined": ("topic=hydrogen&year=2025", ["BATTERYNET"]),
}


@pytest.mark.parametrize("query, expected", FILTERS.values(), ids=FILTERS.keys())
def test_search_and_each_filter_narrow_the_list(app, world, query, expected):
    page = text(anyone(app).get(f"/portal/funded?{query}"))

    assert acronyms(page) == expected
    # The open data of the same list holds the same consortia.
    data = anyone(app).get(f"/portal/funded.json?{query}").get_json()
    assert [item["acronym"] for item in data["items"]] == expected


def test_the_list_is_paged(app, world):
    first = text(anyone(app).get(f"/portal/funded?programme={world.many_slug}"))
    second = text(anyone(app).get(f"/portal/funded?programme={world.many_slug}&page=2"))

    assert f"{MANY} funded consortia" in first
    assert len(acronyms(first)) == 25 and acronyms(first)[0] == "SMALL25"
    assert acronyms(second) == ["SMALL00"]
    assert re.search(r'href="/portal/funded\?[^"]*programme=many[^"]*page=2"', first) or re.search(
        r'href="/portal/funded\?[^"]*page=2[^"]*programme=many"', first
    )


def test_a_search_for_a_common_word_counts_no_further_than_its_pages_go(app, world, monkeypatch):
    # 1,000 in production; the 26 small consortia stand in for a word most projects contain.
    monkeypatch.setattr(queries, "SEARCH_COUNTED", 20)

    english = text(anyone(app).get("/portal/funded?q=small+consortium"))
    german = text(in_german(app).get("/portal/funded?q=Small+Consortium"))

    assert "More than 20 funded consortia; the pages show the newest 20." in english
    assert "Mehr als 20 geförderte Verbünde; die Seiten zeigen die neuesten 20." in german
    assert acronyms(english) == [f"SMALL{n:02d}" for n in range(25, 5, -1)]
    assert acronyms(german) == acronyms(english)


def test_the_pages_of_a_capped_search_end_where_its_count_does(app, world, monkeypatch):
    monkeypatch.setattr(queries, "SEARCH_COUNTED", 20)
    with app.test_request_context():
        programmes = queries.list_programmes(with_rounds=False)
        found = queries.FundedFilters(q="small consortium")
        pages = [queries.list_funded(found, programmes, page=n, per_page=8) for n in (1, 3, 4)]

    assert [(p.total, p.more, p.pages) for p in pages] == [(20, True, 3)] * 3
    assert [[c.acronym for c in p.items] for p in pages] == [
        [f"SMALL{n:02d}" for n in range(25, 17, -1)],
        ["SMALL09", "SMALL08", "SMALL07", "SMALL06"],
        [],
    ]


SEARCHES = [
    "hydrogen for",
    "wind of the",
    "fraunhofer",
    "verschwiegen",
    "batterynet",
    "small",
    "zögerlich",
    "x",
]


@pytest.mark.parametrize("dense", [0, queries.SAMPLE + 1], ids=["walking", "by sets"])
@pytest.mark.parametrize("q", SEARCHES)
def test_a_search_finds_the_same_consortia_however_it_is_run(app, world, monkeypatch, q, dense):
    """The list and the API walk the grants for a word common among the newest and read the
    proposals found for a rarer one; either way they show what the open data lists, and never
    a consortium for the withheld partner's name ("verschwiegen")."""
    from competition.extensions import db

    monkeypatch.setattr(queries, "DENSE", dense)
    with app.test_request_context():
        programmes = queries.list_programmes(with_rounds=False)
        filters = queries.FundedFilters(q=q)
        shown = queries.list_funded(filters, programmes, per_page=100)
        _, batches = queries.funded_batches(filters, programmes)
        listed = [c.grant_id for batch in batches for c in batch]
        # The API's pages (in the order of ids) take the same form of the search.
        by_api = db.session.scalars(queries.funded_ids_query(filters, programmes)).all()

    assert [c.grant_id for c in shown.items] == listed
    assert sorted(grant.id for grant in by_api) == sorted(listed)
    assert shown.total == len(listed) and not shown.more
    if q == "verschwiegen":
        assert listed == []


def test_the_apps_queries_are_not_compiled_by_postgresqls_jit(app):
    """A capped search is estimated as if it read every match, which made PostgreSQL compile
    it (15–20 ms of a 30 ms search): the app's connections turn the JIT off."""
    from competition.extensions import db

    with app.app_context():
        assert db.session.execute(sa.text("SHOW jit")).scalar() == "off"


def test_a_page_of_consortia_costs_the_same_queries_for_one_or_many(app, world):
    browser = anyone(app)
    browser.get("/portal")  # the session's first request sets its cookie
    browser.get("/portal/funded")  # the process keeps the filter choices from then on

    two = queries_for_page(app, browser, f"/portal/funded?programme={world.programme_slug}")
    many = queries_for_page(app, browser, f"/portal/funded?programme={world.many_slug}")
    every = queries_for_page(app, browser, "/portal/funded")

    assert two == many == every
    assert many <= 12


# --- open data ----------------------------------------------------------------------------------


def test_csv_has_a_row_per_consortium_with_machine_readable_values(app, world):
    response = anyone(app).get("/portal/funded.csv")
    rows = list(csv.DictReader(io.StringIO(response.get_data().decode("utf-8-sig"))))

    assert response.mimetype == "text/csv"
    assert tuple(rows[0]) == CSV_COLUMNS
    by_acronym = {row["acronym"]: row for row in rows}
    assert len(rows) == 2 + 1 + MANY  # the offered grant is not among them
    project = by_acronym["H2LAUSITZ"]
    assert project["coordinator"] == "Technische Universität Dresden"
    assert project["coordinator_federal_state"] == "DE-SN"
    assert project["partners"] == "Fraunhofer IWS; (name withheld)"
    assert project["partner_federal_states"] == "DE-SN; DE-BB"
    assert project["partner_kinds"] == "research_institute; sme"
    assert project["topics"] == "electrolysis"
    assert project["funding_total"] == "900000.00"
    assert [project[f"funding_year_{y}"] for y in (1, 2, 3, 4)] == [
        "300000.00",
        "300000.00",
        "300000.00",
        "",
    ]
    assert project["phases"] == "1:1-3"
    assert (project["starts_on"], project["ends_on"]) == ("2027-01-01", "2030-01-01")
    assert (project["kind"], project["state"]) == ("project", "running")
    assert by_acronym["BATTERYNET"]["kind"] == "concept"
    alliance = by_acronym["LIBALLY"]
    assert alliance["funding_total"] == "" and alliance["funding_year_1"] == ""
    assert alliance["summary"] == "Cells made in Germany."
    assert "Verschwiegen" not in response.get_data(as_text=True)


def test_json_has_the_documented_fields(app, world):
    data = anyone(app).get("/portal/funded.json").get_json()
    documented = text(anyone(app).get("/portal/open-data"))

    items = {item["acronym"]: item for item in data["items"]}
    assert data["count"] == len(data["items"]) == 2 + 1 + MANY
    project = items["H2LAUSITZ"]
    for name in project:
        assert f"<code>{name}</code>" in documented, name
    for column in CSV_COLUMNS:
        assert f"<code>{column}</code>" in documented or column.startswith("funding_year_")
    assert project["url"].endswith(f"/portal/funded/{world.project_grant}")
    assert project["coordinator"]["name"] == "Technische Universität Dresden"
    assert project["partners"][1] == {
        "name": None,
        "name_withheld": True,
        "federal_state": "DE-BB",
        "country": "DE",
        "kind": "sme",
        "role": "partner",
    }
    assert project["topics"] == [
        {"slug": "electrolysis", "name_en": "Electrolysis", "name_de": "Elektrolyse"}
    ]
    assert project["funding"]["total"] == "900000.00"
    assert project["funding"]["years"][0] == {"year": 1, "phase": 1, "amount": "300000.00"}
    assert project["funding"]["phases"] == [
        {"number": 1, "first_year": 1, "last_year": 3, "amount": "900000.00"}
    ]
    assert (project["starts_on"], project["state"]) == ("2027-01-01", "running")
    assert items["LIBALLY"]["funding"] is None
    assert "Verschwiegen" not in json.dumps(data)


def test_json_is_streamed_in_batches_with_the_bytes_of_one_document(app, world, monkeypatch):
    monkeypatch.setattr(queries, "BATCH", 2)
    first = anyone(app).get("/portal/funded.json")
    body = first.get_data(as_text=True)
    again = anyone(app).get("/portal/funded.json", headers={"If-None-Match": first.headers["ETag"]})

    assert "Content-Length" not in first.headers  # streamed: its length is not known up front
    data = json.loads(body)
    assert data["count"] == len(data["items"]) == 2 + 1 + MANY
    # The same bytes json.dumps writes for the whole document (as before it was streamed).
    assert body == json.dumps(data, ensure_ascii=False)
    assert again.status_code == 304 and again.headers["ETag"] == first.headers["ETag"]
    assert again.get_data() == b""


def test_open_data_page_documents_the_fields_in_both_languages(app, world):
    english = text(anyone(app).get("/portal/open-data"))
    german = text(in_german(app).get("/portal/open-data"))

    assert "The first day of the grant." in english
    assert "Der erste Tag der Förderung." in german
    assert "one row per consortium" in english
    # The texts are escaped like any other: an address pattern is shown, not read as a tag.
    raw = anyone(app).get("/portal/open-data").get_data(as_text=True)
    assert "/portal/funded/&lt;id&gt;" in raw


# --- caching ------------------------------------------------------------------------------------


CACHED = ["/portal", "/portal/funded?topic=hydrogen", "/portal/funded.csv", "/portal/funded.json"]


@pytest.mark.parametrize("address", CACHED)
def test_anonymous_answers_are_cached_publicly_and_revalidated(app, world, address):
    browser = anyone(app)
    first = browser.get(address)
    again = browser.get(address, headers={"If-None-Match": first.headers["ETag"]})

    assert first.headers["Cache-Control"] == "public, max-age=300"
    assert "Cookie" in first.headers["Vary"]
    assert again.status_code == 304
    assert again.headers["ETag"] == first.headers["ETag"]
    assert again.headers["Cache-Control"] == "public, max-age=300"


def test_signed_in_answers_are_kept_nowhere(app, world):
    etag = anyone(app).get("/portal").headers["ETag"]
    browser = as_person(app, world.applicant)

    response = browser.get("/portal", headers={"If-None-Match": etag})

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "private, no-store"
    assert "ETag" not in response.headers
    assert "Cookie" in response.headers["Vary"]
    assert "Ada Applicant" in text(response)


def test_a_missing_page_is_not_cached(app, world):
    response = anyone(app).get("/portal/funded/999999")

    assert response.headers["Cache-Control"] == "no-store"


# --- the way in ---------------------------------------------------------------------------------


def test_welcome_page_and_navigation_lead_to_the_portal(app, world):
    english = text(anyone(app).get("/"))
    german = text(in_german(app).get("/"))

    assert english.count('href="/portal"') >= 2  # the navigation and the welcome text
    assert "Funding portal" in english
    assert "Förderportal" in german
