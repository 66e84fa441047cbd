"""The public API (/api/v1/public): what the portal shows, for programs, to anyone, with the
portal's filters, fields and withholding; a token changes nothing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import app_for_module
from tests.integration.api_world import bearer
from tests.integration.portal_world import MANY, World, build_world

pytestmark = pytest.mark.postgres

PREFIX = "/api/v1/public"
# Members of membership programmes are checked with their own world.
MEMBERS_OPERATIONS = {("get", f"{PREFIX}/programmes/{{programme_id}}/members")}
COVERED_OPERATIONS = {
    ("get", f"{PREFIX}/programmes"),
    ("get", f"{PREFIX}/programmes/{{programme_id}}"),
    ("get", f"{PREFIX}/calls"),
    ("get", f"{PREFIX}/funded"),
    ("get", f"{PREFIX}/funded/{{grant_id}}"),
}


@pytest.fixture(scope="module")
def app(pg_url) -> Iterator[object]:  # type: ignore[no-untyped-def]
    """One app and one world for the module: the tests only read."""
    yield from app_for_module(pg_url)


@pytest.fixture(scope="module")
def world(app) -> World:  # type: ignore[no-untyped-def]
    with app.app_context():
        return build_world()


def get(app, address: str, **kwargs):  # type: ignore[no-untyped-def]
    return app.test_client().get(address, **kwargs)


def test_every_public_operation_is_described(app, world):
    spec = get(app, "/api/v1/openapi.json").get_json()

    described = {
        (method, path)
        for path, item in spec["paths"].items()
        for method in item
        if path.startswith(PREFIX) and method != "parameters"
    }
    assert described == COVERED_OPERATIONS | MEMBERS_OPERATIONS


def test_programmes_with_budget_committed_money_and_funded_consortia(app, world):
    body = get(app, f"{PREFIX}/programmes").get_json()

    by_slug = {item["slug"]: item for item in body["items"]}
    c4f = by_slug[world.programme_slug]
    assert c4f["total_budget"] == "630000000.00"
    assert c4f["committed"] == "1150000.00"  # not the offer nobody accepted yet
    assert c4f["funded"] == 2
    assert c4f["url"].endswith(f"/portal/programmes/{world.programme_slug}")
    assert by_slug[world.alliance_slug]["committed"] is None  # it keeps funding private
    assert by_slug[world.membership_slug]["kind"] == "membership"
    assert body["next_cursor"] is None


def test_a_programme_with_its_rounds_stages_and_open_calls(app, world):
    listed = get(app, f"{PREFIX}/programmes").get_json()["items"]
    programme_id = next(p["id"] for p in listed if p["slug"] == world.programme_slug)

    body = get(app, f"{PREFIX}/programmes/{programme_id}").get_json()

    assert [r["name"] for r in body["rounds"]] == [
        "Clusters4Future round 1",
        "Clusters4Future round 2",
    ]  # the draft round is not public
    assert body["rounds"][1]["stages"][0]["closes_at"].endswith("+00:00")
    assert body["open_call_ids"] == [world.open_call_id]
    assert "funding" in body["public_fields"]
    missing = get(app, f"{PREFIX}/programmes/999999")
    assert missing.status_code == 404
    assert missing.mimetype == "application/problem+json"


def test_open_calls_with_every_stage_deadline(app, world):
    body = get(app, f"{PREFIX}/calls").get_json()

    assert [c["id"] for c in body["items"]] == [world.open_call_id]
    call = body["items"][0]
    assert call["programme"] == world.programme_slug
    assert call["open_stage"]["id"] == call["stages"][0]["id"]
    assert call["url"].endswith(f"/calls/{world.open_call_id}")


def test_funded_consortia_are_paged_by_cursor(app, world):
    seen: list[int] = []
    address = f"{PREFIX}/funded?limit=10"
    pages = 0
    while address:
        response = get(app, address)
        body = response.get_json()
        seen += [item["id"] for item in body["items"]]
        pages += 1
        if body["next_cursor"]:
            assert response.headers["Link"].endswith('rel="next"')
            address = f"{PREFIX}/funded?limit=10&cursor={body['next_cursor']}"
        else:
            address = ""

    assert len(seen) == len(set(seen)) == 2 + 1 + MANY
    assert pages == 3
    assert world.offered_grant not in seen


FILTERS = {
    "search": ("q=fraunhofer", ["H2LAUSITZ"]),
    "withheld name": ("q=verschwiegen", []),
    "programme": ("programme=alliance", ["LIBALLY"]),
    "topic": ("topic=hydrogen", ["BATTERYNET", "H2LAUSITZ"]),
    "federal state": ("federal_state=DE-BB", ["H2LAUSITZ"]),
    "kind": ("kind=sme", ["H2LAUSITZ"]),
    "year": ("year=2025", ["BATTERYNET"]),
}


@pytest.mark.parametrize("query, expected", FILTERS.values(), ids=FILTERS.keys())
def test_funded_consortia_take_the_portals_filters(app, world, query, expected):
    body = get(app, f"{PREFIX}/funded?{query}").get_json()

    assert sorted(item["acronym"] for item in body["items"]) == expected


@pytest.mark.parametrize("query", ["federal_state=XX", "kind=pirate", "year=12", "limit=0"])
def test_a_filter_outside_its_values_is_refused(app, world, query):
    response = get(app, f"{PREFIX}/funded?{query}")

    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"


def test_a_consortium_has_the_same_record_as_in_the_open_data(app, world):
    record = get(app, f"{PREFIX}/funded/{world.project_grant}").get_json()
    data = get(app, "/portal/funded.json").get_json()

    assert record == next(item for item in data["items"] if item["id"] == world.project_grant)
    assert record["partners"][1]["name"] is None
    assert record["funding"]["total"] == "900000.00"


def test_a_programme_keeping_funding_private_gives_none_through_the_api(app, world):
    record = get(app, f"{PREFIX}/funded/{world.alliance_grant}").get_json()

    assert record["funding"] is None
    assert record["summary"] == "Cells made in Germany."


@pytest.mark.parametrize("grant", ["offered", "missing"])
def test_a_grant_the_public_may_not_see_is_not_found(app, world, grant):
    grant_id = world.offered_grant if grant == "offered" else 999_999

    response = get(app, f"{PREFIX}/funded/{grant_id}")

    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"


def test_an_unchanged_list_is_not_sent_again(app, world):
    first = get(app, f"{PREFIX}/funded")
    again = get(app, f"{PREFIX}/funded", headers={"If-None-Match": first.headers["ETag"]})

    assert again.status_code == 304


def test_a_token_changes_nothing(app, world):
    anonymous = get(app, f"{PREFIX}/funded")
    with_garbage = get(app, f"{PREFIX}/funded", headers=bearer("cmp_not-a-token"))

    assert with_garbage.status_code == 200
    assert with_garbage.get_json() == anonymous.get_json()
