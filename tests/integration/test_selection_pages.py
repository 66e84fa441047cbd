"""The officers' ranking and line pages on PostgreSQL with tasks in-process: starting a ranking
from the hub and following it, the ranking's table and interval chart with the provisional line,
recomputing it, the line with its money and reasons, and the lottery's confirmation, record and
download. Other programmes' officers get 404; jurors and applicants are refused."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
import sqlalchemy as sa
from babel.numbers import format_decimal
from sqlalchemy.orm import undefer

from competition.accounts.models import Role, User
from competition.core.ranking import InvalidRankingInput
from competition.core.selection import verify_draw
from competition.core.texts import load
from competition.db import utcnow
from competition.extensions import db
from competition.jobs import operations as jobs
from competition.programmes.models import Stage
from competition.reviews.models import Review
from competition.selection.models import LotteryRecord, Ranking, RankingMethod, SnapshotState
from competition.selection.ranking import operations as ranking_operations
from tests.conftest import csrf_from
from tests.factories import make_job, make_user
from tests.helpers import as_person, text
from tests.integration.test_assignment_runs import World
from tests.integration.test_line import SEED, LineWorld, zone_world
from tests.integration.test_rankings import reviewed_world

# --- helpers --------------------------------------------------------------------------------


def hub(world: World | LineWorld) -> str:
    return f"/calls/{world.call_id}/stages/{world.stage_id}/selection"


def words(page: str) -> str:
    """What a reader sees: the text without tags, spaces collapsed."""
    return " ".join(re.sub(r"<[^>]+>", " ", page).split()).replace(" ,", ",").replace(" .", ".")


def rankings_of(app, world: World) -> list[Ranking]:  # type: ignore[no-untyped-def]
    with app.app_context():
        found = list(
            db.session.scalars(
                sa.select(Ranking)
                .where(Ranking.stage_id == world.stage_id)
                .order_by(Ranking.id)
                .options(undefer(Ranking.result))  # read after the session is gone
            )
        )
        db.session.expunge_all()
        return found


def start(browser, world: World, **fields: str):  # type: ignore[no-untyped-def]
    return browser.submit(f"{hub(world)}/rankings", {"method": "raw", **fields}, page=hub(world))


@pytest.fixture
def world(app) -> World:  # type: ignore[no-untyped-def]
    """Six reviewed proposals; the stage advances three (no budget)."""
    with app.app_context():
        world = reviewed_world()
        stage = db.session.get(Stage, world.stage_id)
        stage.selection_target = 3
        stage.selection_rules = {"funding": False}
        db.session.commit()
        return world


def queue_ranking(app, world: World, state: SnapshotState, message: str) -> int:  # type: ignore[no-untyped-def]
    with app.app_context():
        officer = db.session.scalar(sa.select(User).where(User.email == world.officer))
        ranking = Ranking(
            stage_id=world.stage_id,
            method=RankingMethod.BIAS_MODEL,
            params={"seed": 7},
            job=make_job(
                "selection.rank",
                world.stage_id,
                state=state,
                message=message,
                started_by_id=officer.id,
                heartbeat_at=utcnow(),
            ),
            code_version="test",
            result={},
            created_by_id=officer.id,
            created_at=utcnow(),
        )
        db.session.add(ranking)
        db.session.commit()
        return ranking.id


# --- the hub and its progress ---------------------------------------------------------------


def test_the_officer_starts_a_ranking_from_the_hub_and_it_reports_its_state(app, world):
    officer = as_person(app, world.officer)

    response = start(officer, world)

    assert response.status_code == 302
    [ranking] = rankings_of(app, world)
    assert ranking.method == RankingMethod.RAW
    assert ranking.state == SnapshotState.DONE, ranking.message
    status = officer.get(f"{hub(world)}/rankings/{ranking.id}.json").get_json()
    assert status == {"state": "done", "label": "Done", "message": "Done.", "finished": True}
    page = text(officer.get(hub(world)))
    assert "data-status-url" not in page
    assert f'href="{hub(world)}/line"' in page
    assert f'href="{hub(world)}/rankings/{ranking.id}"' in page
    # The line in brief: the stage's target of three.
    assert "3 advancing (target 3), 3 not selected" in words(page)


def test_a_ranking_under_way_is_polled_and_a_second_one_is_refused_at_the_form(app, world):
    ranking_id = queue_ranking(app, world, SnapshotState.QUEUED, "Waiting for a worker to start.")
    officer = as_person(app, world.officer)

    page = text(officer.get(hub(world)))
    status = officer.get(f"{hub(world)}/rankings/{ranking_id}.json").get_json()
    refused = start(officer, world)

    assert f'data-status-url="{hub(world)}/rankings/{ranking_id}.json"' in page
    assert "Waiting for a worker to start." in page
    assert status == {
        "state": "queued",
        "label": "Waiting",
        "message": "Waiting for a worker to start.",
        "finished": False,
    }
    assert refused.status_code == 409
    assert "A ranking of this stage is already being computed." in text(refused)
    assert len(rankings_of(app, world)) == 1


def test_a_ranking_left_running_by_a_stopped_process_shows_as_interrupted_and_starts_again(
    app, world
):
    ranking_id = queue_ranking(app, world, SnapshotState.RUNNING, "Computing.")
    with app.app_context():
        job = db.session.get(Ranking, ranking_id).job
        job.heartbeat_at = utcnow() - jobs.timeout() - dt.timedelta(seconds=1)
        db.session.commit()
    officer = as_person(app, world.officer)

    page = text(officer.get(hub(world)))
    status = officer.get(f"{hub(world)}/rankings/{ranking_id}.json").get_json()
    again = officer.submit(f"{hub(world)}/rankings", {"method": "bias_model"}, page=hub(world))

    assert "The latest ranking was interrupted" in page
    assert 'id="start-again"' in page
    assert "data-status-url" not in page
    assert re.search(rf'id="ranking-{ranking_id}">.*?<td>Interrupted', page, re.S)
    assert status["label"] == "Interrupted" and status["finished"] is True
    assert again.status_code == 302
    interrupted, fresh = rankings_of(app, world)
    assert interrupted.state == SnapshotState.FAILED
    assert fresh.state == SnapshotState.DONE, fresh.message


def test_a_failed_ranking_shows_its_reasons(app, world):
    queue_ranking(
        app,
        world,
        SnapshotState.FAILED,
        "The reviews cannot be ranked: proposal 4: a score outside the scale",
    )

    page = text(as_person(app, world.officer).get(hub(world)))

    assert "The latest ranking failed" in page
    assert "proposal 4: a score outside the scale" in page


def test_a_german_officer_reads_a_rankings_progress_and_its_failure_in_german(
    app, world, monkeypatch
):
    officer = as_person(app, world.officer)
    start(officer, world)
    [done] = rankings_of(app, world)
    english = officer.get(f"{hub(world)}/rankings/{done.id}.json").get_json()["message"]
    with app.app_context():
        db.session.scalar(sa.select(User).where(User.email == world.officer)).locale = "de"
        db.session.commit()
    german = as_person(app, world.officer)

    def unrankable(ranking: Ranking) -> None:
        raise InvalidRankingInput(["proposal 4: a score outside the scale", "no criteria"])

    monkeypatch.setattr(ranking_operations, "compute", unrankable)
    start(german, world)
    _done, failed = rankings_of(app, world)

    assert english == "Done."
    assert german.get(f"{hub(world)}/rankings/{done.id}.json").get_json()["message"] == "Fertig."
    assert (
        "Aus den Gutachten lässt sich keine Rangliste bilden: "
        "proposal 4: a score outside the scale; no criteria"
    ) in words(text(german.get(hub(world))))
    assert str(load(failed.message)) == (
        "The reviews cannot be ranked: proposal 4: a score outside the scale; no criteria"
    )


def test_an_unknown_method_is_refused_at_the_field(app, world):
    response = start(as_person(app, world.officer), world, method="astrology")

    assert response.status_code == 422
    assert re.search(r'id="method-error">Choose one of the three methods\.<', text(response))
    assert rankings_of(app, world) == []


# --- one ranking ----------------------------------------------------------------------------


def test_the_officer_sees_the_ranking_table_and_the_chart_with_the_line(app, world):
    officer = as_person(app, world.officer)
    start(officer, world)
    [ranking] = rankings_of(app, world)

    page = text(officer.get(f"{hub(world)}/rankings/{ranking.id}"))

    order = [p["proposal_id"] for p in ranking.result["proposals"]]
    rows = re.findall(r'<tr id="rank-(\d+)" data-proposal="(\d+)">', page)
    assert [(int(r), int(p)) for r, p in rows] == list(enumerate(order, 1))
    assert 'id="ranking-table"' in page
    assert "true place lies between 3 and 9 with 90% probability" in page
    assert "Few reviews: 2, fewer than 3" in page  # two reviews each
    assert "Excellence (mean ± spread)" in page and "Impact (mean ± spread)" in page
    # The chart: one mark per proposal, the three advancing filled, the line after rank 3.
    chart = page[page.index('<svg id="ranking-chart"') : page.index("</svg>")]
    assert '<title id="chart-title">' in chart and '<desc id="chart-desc">' in chart
    assert chart.count("<circle") == 6
    assert chart.count('fill="#0b5cad"') == 3
    assert re.search(r'id="chart-line" data-after-rank="3"', chart)
    assert "after rank 3 is the provisional line" in chart
    assert page.count(">Advances</td>") == 3
    assert ranking.inputs_hash in page and ranking.code_version in page


def outside_details(page: str) -> str:
    """What a reader sees before opening any <details> disclosure."""
    return re.sub(r"<details.*?</details>", "", page, flags=re.S)


def test_the_ranking_page_says_in_plain_words_how_it_was_computed_the_record_behind_details(
    app, world
):
    officer = as_person(app, world.officer)
    start(officer, world, method="bias_model")
    [ranking] = rankings_of(app, world)

    page = text(officer.get(f"{hub(world)}/rankings/{ranking.id}"))
    seen = outside_details(page)

    assert "<summary>Details</summary>" in page
    assert "harshness or leniency" in words(seen)
    for record in ("tie_rule", "seed =", ranking.inputs_hash, "sigma", "iterations"):
        assert record not in seen, record
    details = page[page.index('<details id="ranking-details">') :]
    assert ranking.inputs_hash in details and "seed =" in details


def test_a_german_officer_reads_scores_and_shares_the_german_way(app, world):
    officer = as_person(app, world.officer)
    start(officer, world, method="raw")
    [ranking] = rankings_of(app, world)
    page = officer.get(f"{hub(world)}/rankings/{ranking.id}").get_data(as_text=True)
    officer.client.post(
        "/language", data={"locale": "de", "next": "/", "csrf_token": csrf_from(page)}
    )

    german = text(officer.get(f"{hub(world)}/rankings/{ranking.id}"))

    first = ranking.result["proposals"][0]
    score = format_decimal(first["score"], format="#,##0.##", locale="de")
    assert re.search(rf'id="rank-1"[^>]*>.*?{re.escape(score)} \(', german, re.S)
    assert "90\u00a0%" in german
    # The chart too: its marks' titles, its score axis and its description.
    chart = german[german.index('<svg id="ranking-chart"') : german.index("</svg>")]
    low, high = (format_decimal(v, format="#,##0.00", locale="de") for v in first["score_interval"])
    fixed = format_decimal(first["score"], format="#,##0.00", locale="de")
    assert f"Rang 1, Bewertung {fixed} ({low}–{high})" in chart
    ticks = re.findall(r'text-anchor="end" fill="#555f6d">([^<]+)<', chart)
    assert ticks and not any("." in tick for tick in ticks), ticks
    assert "ihr 90\u00a0%-Intervall" in chart


def test_a_ranking_page_opened_again_shows_what_changed_since(app, world, monkeypatch):
    """The table and charts of a finished ranking are rendered once and kept with everything
    they show: opened again unchanged they are not laid out again; a proposal renamed since,
    or another language, shows at once."""
    from competition.proposals.models import Proposal
    from competition.selection.ranking import views as ranking_views

    charts = []
    chart = ranking_views._chart
    monkeypatch.setattr(ranking_views, "_chart", lambda *a: charts.append(1) or chart(*a))
    # Rows without translated flags read the same in both languages: only the language tells.
    monkeypatch.setattr(ranking_views, "_flag_words", lambda flag, *_: flag)
    officer = as_person(app, world.officer)
    start(officer, world, method="raw")
    [ranking] = rankings_of(app, world)
    url = f"{hub(world)}/rankings/{ranking.id}"
    first = ranking.result["proposals"][0]

    def shown(page: str) -> str:
        return page[page.index('aria-labelledby="chart-h"') :]

    before = shown(text(officer.get(url)))
    again = shown(text(officer.get(url)))
    assert len(charts) == 1 and again == before

    with app.app_context():
        proposal = db.session.get(Proposal, first["proposal_id"])
        proposal.title = "Wasserstoff aus der Nordsee"
        db.session.commit()
    renamed = text(officer.get(url))
    assert len(charts) == 2
    row = renamed[renamed.index('id="rank-1"') : renamed.index('id="rank-2"')]
    assert "Wasserstoff aus der Nordsee" in row

    page = officer.get(url).get_data(as_text=True)
    officer.client.post(
        "/language", data={"locale": "de", "next": "/", "csrf_token": csrf_from(page)}
    )
    german = text(officer.get(url))
    assert len(charts) == 3
    assert "Rang 1, Bewertung" in german and "rank 1, score" not in german


def test_a_long_ranking_opens_on_the_page_of_the_line_with_a_chart_of_all(app, world, monkeypatch):
    from competition.selection.ranking import views as ranking_views

    monkeypatch.setattr(ranking_views, "ROWS_PER_PAGE", 2)  # six proposals: three pages
    officer = as_person(app, world.officer)
    start(officer, world)
    [ranking] = rankings_of(app, world)
    url = f"{hub(world)}/rankings/{ranking.id}"

    page = text(officer.get(url))

    # The line falls after rank 3: the table opens on ranks 3-4.
    rows = re.findall(r'<tr id="rank-(\d+)"', page)
    assert rows == ["3", "4"]
    assert "Page 2 of 3 (6 in all)" in page
    summary = page[page.index('<svg id="ranking-summary"') :]
    assert "All 6 proposals in rank order" in summary
    assert 'id="summary-line"' in summary and 'id="summary-page"' in summary
    detail = page[page.index('<svg id="ranking-chart"') :]
    assert detail[: detail.index("</svg>")].count("<circle") == 2
    assert re.search(r'id="chart-line" data-after-rank="3"', detail)
    first = text(officer.get(f"{url}?page=1"))
    assert re.findall(r'<tr id="rank-(\d+)"', first) == ["1", "2"]
    beyond = text(officer.get(f"{url}?page=99"))
    assert re.findall(r'<tr id="rank-(\d+)"', beyond) == ["5", "6"]


def test_recomputing_a_ranking_says_whether_it_reproduces(app, world):
    officer = as_person(app, world.officer)
    start(officer, world)
    [ranking] = rankings_of(app, world)
    url = f"{hub(world)}/rankings/{ranking.id}"

    same = officer.submit(f"{url}/recompute", {}, page=url, follow_redirects=True)

    assert "the same inputs and the same numbers" in text(same)

    with app.app_context():
        review = db.session.scalar(sa.select(Review).order_by(Review.id).limit(1))
        review.scores = {k: "5" for k in review.scores}
        db.session.commit()
    changed = officer.submit(f"{url}/recompute", {}, page=url, follow_redirects=True)

    assert "the result differs" in text(changed)


# --- the line and its lottery ---------------------------------------------------------------


@pytest.fixture
def zone(app) -> LineWorld:  # type: ignore[no-untyped-def]
    with app.app_context():
        return zone_world()


def test_the_line_shows_the_money_the_groups_and_the_grey_zone(app, zone):
    officer = as_person(app, zone.officer)

    page = text(officer.get(f"{hub(zone)}/line"))

    nnbsp = "\u202f"
    assert f'id="available">10{nnbsp}000{nnbsp}000 EUR<' in page
    assert f'id="committed">10{nnbsp}000{nnbsp}000 EUR<' in page
    assert 'id="remaining">0 EUR<' in page
    selected = page[
        page.index('<table id="selected"') : page.index(
            "</table>", page.index('<table id="selected"')
        )
    ]
    assert [ref for ref in zone.references if ref in selected] == zone.references[:5]
    grey = page[page.index('<table id="grey-zone"') :]
    assert [ref for ref in zone.references if ref in grey[: grey.index("</table>")]] == (
        zone.references[3:]
    )
    assert 'id="draw-link"' in page


def test_the_lottery_is_confirmed_recorded_once_and_downloaded(app, zone):
    officer = as_person(app, zone.officer)
    confirm_url = f"{hub(zone)}/lottery"
    fields = {
        "ranking_id": str(zone.ranking_id),
        "candidates": ",".join(map(str, zone.proposals[3:])),
        "places": "2",
    }

    confirm = text(officer.get(confirm_url))

    assert f'<code id="seed">{SEED}</code>' in confirm
    assert "2 places on the line go to 3 proposals" in confirm
    assert all(ref in confirm for ref in zone.references[3:])
    assert not any(ref in confirm for ref in zone.references[:3])
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(LotteryRecord)) == 0

    response = officer.submit(confirm_url, fields, page=confirm_url)

    assert response.status_code == 302
    with app.app_context():
        [record] = db.session.scalars(sa.select(LotteryRecord))
        drawn, record_id = record.record["drawn"], record.id
    line = text(officer.get(f"{hub(zone)}/line"))
    assert f"Drawn: {', '.join(drawn)}." in words(line)
    assert 'id="draw-link"' not in line
    download = officer.get(f"{hub(zone)}/lottery/{record_id}.json")
    assert download.headers["Content-Disposition"].startswith("attachment;")
    exported = json.loads(download.get_data(as_text=True))
    assert exported["drawn"] == drawn and verify_draw(exported, published_seed=SEED)

    # A second confirmation, from the page as it was before the draw.
    again = officer.submit(confirm_url, fields, page=f"{hub(zone)}/line")

    assert again.status_code == 302
    assert "already recorded" in text(officer.get(f"{hub(zone)}/line"))
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(LotteryRecord)) == 1


def test_a_draw_confirmed_on_another_grey_zone_is_refused_on_the_page(app, zone):
    officer = as_person(app, zone.officer)
    confirm_url = f"{hub(zone)}/lottery"

    response = officer.submit(
        confirm_url,
        {"ranking_id": str(zone.ranking_id), "candidates": str(zone.proposals[5]), "places": "2"},
        page=confirm_url,
    )

    assert response.status_code == 422
    assert "The grey zone has changed since you opened this page" in text(response)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(LotteryRecord)) == 0


# --- access ---------------------------------------------------------------------------------


def urls(world: World | LineWorld, ranking_id: int) -> list[str]:
    return [
        hub(world),
        f"{hub(world)}/rankings/{ranking_id}",
        f"{hub(world)}/rankings/{ranking_id}.json",
        f"{hub(world)}/line",
        f"{hub(world)}/lottery",
    ]


def test_an_officer_of_another_programme_gets_404(app, zone):
    officer = as_person(app, zone.officer)
    officer.submit(
        f"{hub(zone)}/lottery",
        {
            "ranking_id": str(zone.ranking_id),
            "candidates": ",".join(map(str, zone.proposals[3:])),
            "places": "2",
        },
        page=f"{hub(zone)}/lottery",
    )
    with app.app_context():
        draw_id = db.session.scalar(sa.select(LotteryRecord.id))
    other = as_person(app, zone.other_officer)

    for url in [*urls(zone, zone.ranking_id), f"{hub(zone)}/lottery/{draw_id}.json"]:
        assert other.get(url).status_code == 404, url
    assert other.submit(f"{hub(zone)}/rankings", {"method": "raw"}, page="/").status_code == 404
    assert other.submit(f"{hub(zone)}/lottery", {}, page="/").status_code == 404
    recompute = f"{hub(zone)}/rankings/{zone.ranking_id}/recompute"
    assert other.submit(recompute, {}, page="/").status_code == 404


@pytest.mark.parametrize("who", ["juror", "applicant"])
def test_jurors_and_applicants_are_refused(app, zone, who):
    if who == "juror":
        with app.app_context():
            email = make_user(roles=(Role.JUROR,)).email
            db.session.commit()
    else:
        email = zone.applicant
    browser = as_person(app, email)

    for url in urls(zone, zone.ranking_id):
        assert browser.get(url).status_code == 403, url
    assert browser.submit(f"{hub(zone)}/rankings", {"method": "raw"}, page="/").status_code == 403
    assert browser.submit(f"{hub(zone)}/lottery", {}, page="/").status_code == 403
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Ranking)) == 1
        assert db.session.scalar(sa.select(sa.func.count()).select_from(LotteryRecord)) == 0
