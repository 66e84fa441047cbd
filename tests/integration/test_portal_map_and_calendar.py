"""The portal's map of funded partners and its calendar of deadlines, as anyone reads them.

One small world: two programmes, two grants the public sees (one running, one accepted) and one
only offered; partners in Bavaria (one of them in both funded consortia), Berlin, North
Rhine-Westphalia (its name withheld) and France; a published call with two stages and a draft
call with one."""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

import pytest
from icalendar import Calendar

from competition.extensions import db
from competition.grants.models import GrantState
from competition.organisations.models import FederalState
from competition.programmes.models import CallState, Programme, PublicField, StageKind
from competition.proposals.models import ProposalState
from tests.conftest import Browser
from tests.factories import (
    make_call,
    make_grant,
    make_organisation,
    make_programme,
    make_proposal,
    make_stage,
)
from tests.helpers import text

pytestmark = pytest.mark.postgres

SVG = "{http://www.w3.org/2000/svg}"
UTC = dt.UTC


@dataclass(frozen=True)
class World:
    outline: int  # stage of the published call
    full: int  # its second stage
    draft_stage: int  # stage of a call still in draft
    evaluation: int  # an interim evaluation of the published call
    alpha: int  # programme id


@pytest.fixture
def world(app) -> World:  # type: ignore[no-untyped-def]
    with app.app_context():
        alpha = make_programme(slug="alpha", name="Alpha Clusters")
        beta = make_programme(slug="beta", name="Beta Alliances")
        call = make_call(alpha, name="Round one")
        outline = make_stage(
            call,
            name="Outline",
            opens_at=dt.datetime(2027, 3, 1, 9, 0, tzinfo=UTC),
            closes_at=dt.datetime(2027, 5, 31, 10, 0, tzinfo=UTC),
        )
        full = make_stage(
            call,
            name="Full proposal",
            kind=StageKind.FULL_PROPOSAL,
            opens_at=dt.datetime(2027, 9, 1, 9, 0, tzinfo=UTC),
            closes_at=dt.datetime(2027, 11, 30, 11, 0, tzinfo=UTC),
        )
        evaluation = make_stage(
            call,
            name="Interim evaluation",
            kind=StageKind.INTERIM_EVALUATION,
            evaluates_phase=1,
            opens_at=dt.datetime(2029, 3, 1, 9, 0, tzinfo=UTC),
            closes_at=dt.datetime(2029, 5, 1, 9, 0, tzinfo=UTC),
        )
        draft = make_call(alpha, name="Round two", state=CallState.DRAFT)
        draft_stage = make_stage(draft, name="Secret outline")
        beta_call = make_call(beta, name="Alliance call")

        munich = make_organisation(name="TU Munich", federal_state=FederalState.BY)
        augsburg = make_organisation(name="Augsburg Labs", federal_state=FederalState.BY)
        berlin = make_organisation(name="Berlin Institute", federal_state=FederalState.BE)
        cologne = make_organisation(name="Cologne Works", federal_state=FederalState.NW)
        paris = make_organisation(name="Paris Lab", federal_state=None, country="FR")
        dresden = make_organisation(name="Dresden Start-up", federal_state=FederalState.SN)

        running = make_proposal(
            call, organisations=(munich, berlin, paris), state=ProposalState.FUNDED
        )
        make_grant(running, state=GrantState.RUNNING, starts_on=dt.date(2027, 1, 1), years=3)
        accepted = make_proposal(
            beta_call, organisations=(munich, cologne), state=ProposalState.FUNDED
        )
        make_grant(accepted, state=GrantState.ACCEPTED, starts_on=dt.date(2030, 1, 1), years=3)
        cologne_member = next(m for m in accepted.members if m.organisation_id == cologne.id)
        cologne_member.name_withheld = True
        offered = make_proposal(call, organisations=(augsburg, dresden), state=ProposalState.FUNDED)
        make_grant(offered, state=GrantState.OFFERED, starts_on=dt.date(2027, 1, 1))
        db.session.commit()
        return World(outline.id, full.id, draft_stage.id, evaluation.id, alpha.id)


# --- the map -----------------------------------------------------------------------------------

ROW = re.compile(r'<tr data-state="([^"]+)"><th scope="row">([^<]+)</th><td class="num">(\d+)</td>')


def table(page: str) -> dict[str, tuple[str, int]]:
    return {code: (name, int(count)) for code, name, count in ROW.findall(page)}


def svg_counts(svg: str) -> dict[str, tuple[int, str]]:
    root = ET.fromstring(svg)
    found = {}
    for path in root.iter(f"{SVG}path"):
        title = path.find(f"{SVG}title")
        assert title is not None and title.text
        found[path.get("data-state", "")] = (int(path.get("data-count", "-1")), title.text)
    return found


def test_the_map_counts_partners_of_public_grants_per_state(app, world):
    page = Browser(app.test_client()).get("/portal/map")
    assert page.status_code == 200
    shown = table(text(page))
    # Munich twice (one partner in two funded grants), Cologne though its name is withheld,
    # nothing of the grant that is only offered (Augsburg, Dresden).
    assert shown["DE-BY"] == ("Bavaria", 2)
    assert shown["DE-BE"] == ("Berlin", 1)
    assert shown["DE-NW"] == ("North Rhine-Westphalia", 1)
    assert shown["DE-SN"] == ("Saxony", 0)
    assert shown["elsewhere"][1] == 1
    assert sum(count for code, (_, count) in shown.items() if code != "elsewhere") == 4
    assert "5 funded partners in all." in text(page)
    # The names of the partners are not what the map shows.
    assert "Cologne Works" not in text(page) and "TU Munich" not in text(page)


def test_the_bare_svg_draws_every_state_with_its_name_and_count_as_the_table_says(app, world):
    client = Browser(app.test_client())
    response = client.get("/portal/map.svg")
    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    states = svg_counts(response.get_data(as_text=True))

    assert set(states) == {state.value for state in FederalState}
    assert states["DE-BY"] == (2, "Bavaria: 2 funded partners")
    assert states["DE-BE"] == (1, "Berlin: 1 funded partner")
    assert states["DE-HB"] == (0, "Bremen: 0 funded partners")
    shown = table(text(client.get("/portal/map")))
    assert {code: count for code, (count, _) in states.items()} == {
        code: count for code, (_, count) in shown.items() if code != "elsewhere"
    }


def test_the_page_carries_the_map_inline_with_a_legend_and_names_the_outlines_source(app, world):
    page = text(Browser(app.test_client()).get("/portal/map"))
    inline = page[page.index("<svg") : page.index("</svg>") + len("</svg>")]
    legend = ET.fromstring(inline).find(f".//{SVG}g[@id='map-legend']")
    assert legend is not None
    words = [t.text for t in legend.iter(f"{SVG}text")]
    assert words == ["Funded partners", "none", "1", "2"]
    # Bavaria's two partners take the darkest class, Saxony's none the lightest.
    shades = {p.get("data-state"): p.get("fill") for p in ET.fromstring(inline).iter(f"{SVG}path")}
    swatches = [r.get("fill") for r in legend.iter(f"{SVG}rect")]
    assert shades["DE-BY"] == swatches[-1] and shades["DE-SN"] == swatches[0]
    assert "CC BY 4.0" in page and "svg-maps" in page


def test_the_map_filters_by_programme_and_by_the_year_the_grants_run(app, world):
    client = Browser(app.test_client())
    alpha = table(text(client.get("/portal/map?programme=alpha")))
    assert alpha["DE-BY"][1] == 1 and alpha["DE-BE"][1] == 1 and alpha["DE-NW"][1] == 0
    beta_svg = svg_counts(client.get("/portal/map.svg?programme=beta").get_data(as_text=True))
    assert beta_svg["DE-BY"][0] == 1 and beta_svg["DE-NW"][0] == 1 and beta_svg["DE-BE"][0] == 0
    # 2027 to 2029: the first grant; from 2030: the second.
    in_2029 = table(text(client.get("/portal/map?year=2029")))
    assert in_2029["DE-BE"][1] == 1 and in_2029["DE-NW"][1] == 0
    in_2031 = table(text(client.get("/portal/map?year=2031&programme=beta")))
    assert in_2031["DE-NW"][1] == 1 and in_2031["DE-BY"][1] == 1
    assert table(text(client.get("/portal/map?year=2026")))["DE-BY"][1] == 0
    assert client.get("/portal/map?programme=no-such-programme").status_code == 404
    # The filter offers the programmes with public grants and the years they run in.
    page = text(client.get("/portal/map"))
    assert '<option value="alpha">Alpha Clusters</option>' in page
    assert '<option value="2027">2027</option>' in page
    assert '<option value="2032">2032</option>' in page


def test_a_programme_that_keeps_its_partners_private_is_not_counted(app, world):
    with app.app_context():
        beta = db.session.query(Programme).filter_by(slug="beta").one()
        beta.public_fields = [f.value for f in PublicField if f != PublicField.PARTNERS]
        db.session.commit()
    shown = table(text(Browser(app.test_client()).get("/portal/map")))
    assert shown["DE-NW"][1] == 0 and shown["DE-BY"][1] == 1


def test_the_map_speaks_german(app, world):
    client = Browser(app.test_client())
    client.submit("/language", {"locale": "de"}, page="/calls")
    page = text(client.get("/portal/map"))
    assert table(page)["DE-BY"] == ("Bayern", 2)
    assert "Nordrhein-Westfalen" in page
    svg = svg_counts(client.get("/portal/map.svg").get_data(as_text=True))
    assert svg["DE-BE"][1].startswith("Berlin: 1 ")


# --- the calendar ------------------------------------------------------------------------------


def events(response) -> dict[str, object]:  # type: ignore[no-untyped-def]
    calendar = Calendar.from_ical(response.get_data())
    return {str(e["uid"]): e for e in calendar.walk("VEVENT")}


def test_the_feed_has_the_deadlines_of_published_calls_only(app, world):
    response = Browser(app.test_client()).get("/portal/deadlines.ics")

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert response.headers["Cache-Control"] == "public, max-age=900"
    found = events(response)
    closes = found[f"stage-{world.outline}-closes@localhost"]
    assert closes["dtstart"].dt == dt.datetime(2027, 5, 31, 10, 0, tzinfo=UTC)
    assert str(closes["dtstart"].dt.tzinfo) == "Europe/Berlin"
    assert "Outline" in closes["summary"] and "Round one" in closes["summary"]
    assert "Alpha Clusters" in closes["summary"]
    assert str(closes["url"]).endswith(f"/calls/{closes_call_id(app, world)}")
    opens = found[f"stage-{world.outline}-opens@localhost"]
    assert opens["dtstart"].dt == dt.datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
    assert f"stage-{world.full}-closes@localhost" in found
    # Not a call in draft, not the interim evaluation of funded grants.
    assert not any(f"stage-{world.draft_stage}-" in uid for uid in found)
    assert not any(f"stage-{world.evaluation}-" in uid for uid in found)
    assert len(found) == 4


def closes_call_id(app, world: World) -> int:  # type: ignore[no-untyped-def]
    from competition.programmes.models import Stage

    with app.app_context():
        return db.session.get(Stage, world.outline).call_id


def test_the_feed_keeps_its_uids_and_filters_by_programme(app, world):
    client = Browser(app.test_client())
    first = set(events(client.get("/portal/deadlines.ics")))
    assert set(events(client.get("/portal/deadlines.ics"))) == first
    assert set(events(client.get("/portal/deadlines.ics?programme=alpha"))) == first
    assert events(client.get("/portal/deadlines.ics?programme=beta")) == {}
    assert client.get("/portal/deadlines.ics?programme=nothing").status_code == 404


def test_the_feed_speaks_the_readers_language_and_the_calls_page_links_it(app, world):
    client = Browser(app.test_client())
    calls = text(client.get("/calls"))
    assert 'href="/portal/deadlines.ics"' in calls and "Deadlines as a calendar (iCal)" in calls
    client.submit("/language", {"locale": "de"}, page="/calls")
    closes = events(client.get("/portal/deadlines.ics"))[f"stage-{world.outline}-closes@localhost"]
    assert str(closes["summary"]).startswith("Frist: Outline")
    assert "Fristen als Kalender (iCal)" in text(client.get("/calls"))


def test_map_is_cached_for_anonymous_visitors_only(app):
    client = app.test_client()

    page = client.get("/portal/map")
    again = client.get("/portal/map", headers={"If-None-Match": page.headers["ETag"]})
    svg = client.get("/portal/map.svg")

    assert page.headers["Cache-Control"].startswith("public")
    assert "Cookie" in page.headers["Vary"]
    assert again.status_code == 304
    assert svg.headers["Cache-Control"].startswith("public")
