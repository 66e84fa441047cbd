"""The reviews and selection API as a program of a programme's officer reads it: the reviews
that count, rankings with their rows, the line with its budget and lottery, decisions; paged by
cursor, with ETags; and who may read them: officers of the stage's programme, nobody else."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from werkzeug.test import TestResponse

from competition.core.selection import verify_draw
from competition.extensions import db
from tests.conftest import app_for_module
from tests.integration.api_selection_world import (
    JURY_NOTE,
    RATIONALE,
    StageWorld,
    World,
    build_world,
)
from tests.integration.api_world import bearer

API = "/api/v1"

# Each operation, its area, and the address of one of its objects on a stage world.
ENDPOINTS: dict[tuple[str, str], tuple[str, Callable[[StageWorld], str]]] = {
    ("get", "/api/v1/stages/{stage_id}/reviews"): (
        "reviews",
        lambda s: f"{API}/stages/{s.stage_id}/reviews",
    ),
    ("get", "/api/v1/reviews/{review_id}"): ("reviews", lambda s: f"{API}/reviews/{s.counted[0]}"),
    ("get", "/api/v1/stages/{stage_id}/rankings"): (
        "selection",
        lambda s: f"{API}/stages/{s.stage_id}/rankings",
    ),
    ("get", "/api/v1/rankings/{ranking_id}"): (
        "selection",
        lambda s: f"{API}/rankings/{s.rankings[-1]}",
    ),
    ("get", "/api/v1/stages/{stage_id}/line"): (
        "selection",
        lambda s: f"{API}/stages/{s.stage_id}/line",
    ),
    ("get", "/api/v1/stages/{stage_id}/decisions"): (
        "selection",
        lambda s: f"{API}/stages/{s.stage_id}/decisions",
    ),
    ("get", "/api/v1/decisions/{decision_id}"): (
        "selection",
        lambda s: f"{API}/decisions/{s.decisions['published']}",
    ),
}
COVERED_OPERATIONS = set(ENDPOINTS)


@pytest.fixture(scope="module")
def app(pg_url) -> Iterator[Flask]:  # type: ignore[no-untyped-def]
    """One app and one world for the module: two stages reviewed, ranked twice and decided."""
    yield from app_for_module(pg_url)


@pytest.fixture(scope="module")
def world(app) -> World:  # type: ignore[no-untyped-def]
    with app.app_context():
        return build_world()


def get(app: Flask, world: World, who: str | None, url: str, **headers: str) -> TestResponse:
    sent = dict(headers)
    if who is not None:
        sent.update(bearer(world.tokens[who]))
    return app.test_client().get(url, headers=sent)


def body(app: Flask, world: World, url: str, who: str = "officer") -> Any:
    response = get(app, world, who, url)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def every_page(app: Flask, world: World, url: str, limit: int, who: str = "officer") -> list[Any]:
    """Each page of a list, following the Link header, as a program would."""
    pages = []
    address: str | None = f"{url}?limit={limit}"
    while address is not None:
        response = get(app, world, who, address)
        assert response.status_code == 200, response.get_data(as_text=True)
        pages.append(response.get_json())
        link = response.headers.get("Link")
        assert (link is None) == (response.get_json()["next_cursor"] is None)
        address = link[1 : link.index(">")] if link else None
    return pages


# --- the access matrix ----------------------------------------------------------------------------

# Who asks, with the token they send, and what they get for an object of the officer's
# programme ("here") and of another programme ("elsewhere").
ROLES: dict[str, tuple[int, int]] = {
    "anonymous": (401, 401),
    "applicant of a proposal in the stage": (404, 404),
    "juror of the stage": (404, 404),
    "juror conflicted with a proposal of the stage": (404, 404),
    "officer of the programme": (200, 404),
    "officer of the programme, this area's scope only": (200, 404),
    "officer of another programme": (404, 200),
    "administrator": (404, 404),
    "token without the scope": (403, 403),
    "token of the other area only": (403, 403),
}


def token_of(role: str, area: str) -> str | None:
    return {
        "anonymous": None,
        "applicant of a proposal in the stage": "applicant",
        "juror of the stage": "juror",
        "juror conflicted with a proposal of the stage": "conflicted juror",
        "officer of the programme": "officer",
        "officer of the programme, this area's scope only": f"{area} only",
        "officer of another programme": "other officer",
        "administrator": "administrator",
        "token without the scope": "no scope",
        "token of the other area only": "selection only" if area == "reviews" else "reviews only",
    }[role]


@pytest.mark.parametrize("role", list(ROLES))
@pytest.mark.parametrize("operation", list(ENDPOINTS), ids=lambda o: o[1].removeprefix(API))
def test_only_officers_of_the_programme_read_its_reviews_and_selection(app, world, operation, role):
    area, address = ENDPOINTS[operation]
    token = token_of(role, area)

    here = get(app, world, token, address(world.here))
    elsewhere = get(app, world, token, address(world.elsewhere))

    assert (here.status_code, elsewhere.status_code) == ROLES[role]
    for response in (here, elsewhere):
        if response.status_code != 200:
            assert response.mimetype == "application/problem+json"


def test_a_juror_never_reads_a_review_or_decision_not_even_their_own(app, world):
    """Not another juror's review, nor their own, nor anything of the proposal they are
    conflicted with: 404 as for a missing id."""
    here = world.here
    addresses = [
        *(f"{API}/reviews/{r}" for r in [*here.counted, here.draft, here.conflicted]),
        *(f"{API}/decisions/{d}" for d in here.decisions.values()),
        f"{API}/stages/{here.stage_id}/reviews?proposal_id={here.proposals[0]}",
        *(f"{API}/rankings/{r}" for r in here.rankings),
        f"{API}/stages/{here.stage_id}/line",
    ]
    for juror in ("juror", "conflicted juror"):
        for address in addresses:
            assert get(app, world, juror, address).status_code == 404, (juror, address)


# --- reviews ------------------------------------------------------------------------------------


def test_the_reviews_that_count_are_listed_with_juror_scores_and_both_comments(app, world):
    here = world.here

    page = body(app, world, f"{API}/stages/{here.stage_id}/reviews")

    assert [r["id"] for r in page["items"]] == here.counted
    assert page["next_cursor"] is None
    first = page["items"][0]
    assert first["proposal"] == {"id": here.proposals[0], "reference": here.references[0]}
    assert first["juror"] == {"id": here.juror, "name": "Jana Juror"}
    assert [(s["criterion"], s["score"]) for s in first["scores"]] == [
        ("Excellence", "1"),
        ("Impact", "1"),
    ]
    assert first["comment_for_jury"] == JURY_NOTE and first["comment_for_applicant"]
    assert first["submitted_at"].endswith("+00:00")


def test_drafts_and_a_conflicted_jurors_review_are_not_shown(app, world):
    here = world.here

    of_first = body(
        app, world, f"{API}/stages/{here.stage_id}/reviews?proposal_id={here.proposals[0]}"
    )

    assert [r["juror"]["name"] for r in of_first["items"]] == [
        "Jana Juror",
        "Jana Juror's colleague",
    ]
    for hidden in (here.draft, here.conflicted):
        assert get(app, world, "officer", f"{API}/reviews/{hidden}").status_code == 404


def test_one_review_reads_as_in_the_list(app, world):
    here = world.here
    listed = body(app, world, f"{API}/stages/{here.stage_id}/reviews")["items"][3]

    assert body(app, world, f"{API}/reviews/{listed['id']}") == listed


def test_reviews_are_paged_by_cursor_without_overlap(app, world):
    here = world.here

    pages = every_page(app, world, f"{API}/stages/{here.stage_id}/reviews", limit=3)

    assert [len(p["items"]) for p in pages] == [3, 3, 1]
    assert [r["id"] for p in pages for r in p["items"]] == here.counted


def test_a_cursor_not_given_out_and_a_limit_out_of_range_are_refused(app, world):
    url = f"{API}/stages/{world.here.stage_id}/reviews"

    assert get(app, world, "officer", f"{url}?cursor=bm9wZQ").status_code == 400
    assert get(app, world, "officer", f"{url}?limit=0").status_code == 422
    assert get(app, world, "officer", f"{url}?limit=201").status_code == 422


# --- rankings -----------------------------------------------------------------------------------


def test_the_stages_rankings_are_listed_oldest_first(app, world):
    here = world.here

    pages = every_page(app, world, f"{API}/stages/{here.stage_id}/rankings", limit=1)

    rankings = [r for p in pages for r in p["items"]]
    assert [r["id"] for r in rankings] == here.rankings
    assert [r["method"] for r in rankings] == ["raw", "zscore"]
    assert {r["state"] for r in rankings} == {"done"}
    assert rankings[0]["created_by"] == {"id": here.officer, "name": "Olga Officer"}
    assert len(rankings[0]["inputs_hash"]) == 64 and not rankings[0]["interrupted"]


def test_a_finished_rankings_rows_come_in_rank_order_page_by_page(app, world):
    here = world.here
    url = f"{API}/rankings/{here.rankings[-1]}"

    pages = every_page(app, world, url, limit=3)

    rows = [row for p in pages for row in p["items"]]
    assert [len(p["items"]) for p in pages] == [3, 1]
    assert [row["rank"] for row in rows] == [1, 2, 3, 4]
    assert {row["proposal"]["id"] for row in rows} == set(here.proposals)
    assert pages[0]["proposals"] == 4 and pages[0]["method"] == "zscore"
    assert pages[0]["options"]["min_reviews"] == 2
    for row in rows:
        assert row["rank_interval"]["low"] <= row["rank"] <= row["rank_interval"]["high"]
        assert [c["criterion_id"] for c in row["criteria"]]
    # The last proposal has one review that counts: the second juror's is a draft.
    last = next(row for row in rows if row["proposal"]["id"] == here.proposals[3])
    assert last["n_reviews"] == 1 and "few reviews" in last["flags"]
    assert last["proposal"]["reference"] == here.references[3]


# --- the line -----------------------------------------------------------------------------------


def test_the_line_by_target_shows_who_advances_and_why_the_others_do_not(app, world):
    here = world.here

    line = body(app, world, f"{API}/stages/{here.stage_id}/line")

    assert line["drawn"] and line["problem"] is None
    assert line["ranking_id"] == here.rankings[-1]
    assert (line["funding"], line["target"], line["budget"]) == (False, 2, None)
    assert line["counts"]["selected"] == 2
    rows = line["items"]
    assert [row["rank"] for row in rows] == [1, 2, 3, 4]
    selected = [row for row in rows if row["group"] == "selected"]
    assert [row["suggested"] for row in selected] == ["advance", "advance"]
    assert all(row["why"] for row in rows if row["group"] != "selected")
    assert line["lottery"] is None and line["draw_plan"] is None


def test_a_stage_without_a_finished_ranking_has_no_line_and_says_why(app, world):
    line = body(app, world, f"{API}/stages/{world.here.later_stage_id}/line")

    assert not line["drawn"] and line["items"] == [] and line["counts"] is None
    assert line["problem"] == "No ranking of this stage has finished yet: there is no line."


def test_the_funding_line_shows_its_money_and_the_draw_to_re_run(app, world):
    line = body(app, world, f"{API}/stages/{world.zone_stage_id}/line", who="zone officer")

    assert line["funding"] and line["line_method"] == "merit"
    assert line["budget"]["available"] == "10000000.00"
    assert line["budget"]["committed"] == "10000000.00"
    assert line["budget"]["remaining"] == "0.00"
    assert [p["reference"] for p in line["grey_zone"]] == world.zone_references[3:]
    lottery = line["lottery"]
    assert lottery["seed"] == world.zone_seed and lottery["places"] == 2
    assert lottery["candidates"] == world.zone_references[3:]
    assert set(lottery["drawn"]) <= set(world.zone_references[3:])
    assert lottery["record"]["stage_id"] == world.zone_stage_id
    assert verify_draw(lottery["record"], published_seed=world.zone_seed)
    assert line["draw_plan"] is None  # drawn already
    winners = [row for row in line["items"] if row["drawn"]]
    assert sorted(row["proposal"]["reference"] for row in winners) == sorted(lottery["drawn"])
    assert all(row["requested"] == "2000000.00" for row in line["items"])


def test_the_lines_rows_are_paged_by_rank_and_its_words_are_english(app, world):
    """A program reads English whatever language the session would choose for a page."""
    client = app.test_client()
    with client.session_transaction() as session:
        session["locale"] = "de"
    url = f"{API}/stages/{world.zone_stage_id}/line?limit=4"
    headers = bearer(world.tokens["zone officer"])

    first = client.get(url, headers=headers)
    rest = client.get(first.headers["Link"][1 : first.headers["Link"].index(">")], headers=headers)

    rows = first.get_json()["items"] + rest.get_json()["items"]
    assert [row["rank"] for row in rows] == [1, 2, 3, 4, 5, 6]
    assert rest.get_json()["next_cursor"] is None and "Link" not in rest.headers
    [loser] = [row for row in rows if row["in_grey_zone"] and not row["drawn"]]
    assert loser["why"].startswith("Lost the draw among the grey zone")


# --- decisions ----------------------------------------------------------------------------------


def test_decisions_say_their_state_and_who_proposed_and_confirmed_them(app, world):
    here = world.here

    page = body(app, world, f"{API}/stages/{here.stage_id}/decisions")

    found = {d["id"]: d for d in page["items"]}
    published = found[here.decisions["published"]]
    confirmed = found[here.decisions["confirmed"]]
    proposed = found[here.decisions["proposed"]]
    assert [d["state"] for d in (published, confirmed, proposed)] == [
        "published",
        "confirmed",
        "proposed",
    ]
    assert (published["outcome"], confirmed["outcome"]) == ("reject", "reserve")
    assert published["proposal"] == {"id": here.proposals[0], "reference": here.references[0]}
    assert published["rationale"] == RATIONALE and published["ranking_id"] == here.rankings[-1]
    assert published["proposed_by"] == {"id": here.officer, "name": "Olga Officer"}
    assert confirmed["confirmed_by"] == {"id": here.second_officer, "name": "Sam Second"}
    assert proposed["confirmed_by"] is None and proposed["confirmed_at"] is None
    assert published["letter_id"] == published["id"] and published["published_at"]
    assert confirmed["letter_id"] is None


def test_decisions_are_filtered_by_state_and_outcome_and_paged(app, world):
    url = f"{API}/stages/{world.here.stage_id}/decisions"

    proposed = body(app, world, f"{url}?state=proposed")["items"]
    reserve = body(app, world, f"{url}?outcome=reserve")["items"]
    pages = every_page(app, world, url, limit=2)

    assert [d["id"] for d in proposed] == [world.here.decisions["proposed"]]
    assert [d["id"] for d in reserve] == [world.here.decisions["confirmed"]]
    assert [len(p["items"]) for p in pages] == [2, 1]
    assert get(app, world, "officer", f"{url}?state=decided").status_code == 422


def test_one_decision_reads_as_in_the_list(app, world):
    here = world.here
    listed = body(app, world, f"{API}/stages/{here.stage_id}/decisions?state=confirmed")["items"]

    assert body(app, world, f"{API}/decisions/{here.decisions['confirmed']}") == listed[0]


# --- ETags --------------------------------------------------------------------------------------


@pytest.mark.parametrize("operation", list(ENDPOINTS), ids=lambda o: o[1].removeprefix(API))
def test_an_unchanged_answer_is_not_sent_again(app, world, operation):
    _area, address = ENDPOINTS[operation]
    url = address(world.here)

    first = get(app, world, "officer", url)
    again = get(app, world, "officer", url, **{"If-None-Match": first.headers["ETag"]})

    assert first.status_code == 200 and again.status_code == 304


# --- bounded queries ------------------------------------------------------------------------------


def statements(app: Flask, world: World, url: str) -> int:
    """How many SQL statements answering ``url`` runs, once the token's use is recorded (at
    most once a minute) and what is kept per process is kept."""
    assert get(app, world, "officer", url).status_code == 200
    count = 0

    def counter(*args: object) -> None:
        nonlocal count
        count += 1

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", counter)
    try:
        assert get(app, world, "officer", url).status_code == 200
    finally:
        sa.event.remove(engine, "before_cursor_execute", counter)
    return count


@pytest.mark.parametrize(
    "path", ["reviews", "decisions", "rankings"], ids=["reviews", "decisions", "rankings"]
)
def test_a_longer_page_runs_no_more_queries(app, world, path):
    url = f"{API}/stages/{world.here.stage_id}/{path}"

    assert statements(app, world, f"{url}?limit=1") == statements(app, world, f"{url}?limit=50")
