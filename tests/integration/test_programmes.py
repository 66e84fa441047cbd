"""Every programme of the family, set up through the pages as its officers would (in German),
then one applicant taken through to a submitted proposal and one juror through a review.

Nothing here is made by a factory but the officers' accounts: programmes, calls, stages,
criteria, topics, rules, slots, the applicant's account and proposal, the juror's account and
review all come from posting the forms the pages show.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass, field

import openpyxl
import pytest
import sqlalchemy as sa

from competition.extensions import db
from competition.programmes.models import Call, Stage
from competition.proposals.models import ConsortiumMember, Proposal
from competition.reviews.models import Review, ReviewState
from tests.integration.programme_pages import (
    Applicant,
    Juror,
    Officer,
    assignment_of,
    berlin,
    errors_of,
    juror_choice,
    mail_templates,
    officer_account,
    score_fields,
    text,
    visible,
)

pytestmark = pytest.mark.postgres

NOW = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
LONG_COMMENT = "Die Strategie überzeugt, der Verbund ist stark und die Ziele sind messbar. " * 6


def window(**fields: str) -> dict[str, str]:
    """A stage open now for a month, reviews due a month later."""
    return {
        "opens_at": berlin(NOW - dt.timedelta(days=1)),
        "closes_at": berlin(NOW + dt.timedelta(days=30)),
        "reviews_due_at": berlin(NOW + dt.timedelta(days=60)),
        "min_comment_chars": "200",
        **fields,
    }


def later(days: int, **fields: str) -> dict[str, str]:
    """A later stage of the same call: opens after the first one closed."""
    return {
        "opens_at": berlin(NOW + dt.timedelta(days=days)),
        "closes_at": berlin(NOW + dt.timedelta(days=days + 60)),
        "reviews_due_at": berlin(NOW + dt.timedelta(days=days + 90)),
        "min_comment_chars": "200",
        **fields,
    }


@dataclass
class Consortium:
    acronym: str
    title: str
    coordinator: tuple[str, str, str]  # organisation, kind, federal state
    partners: list[tuple[str, str, str]] = field(default_factory=list)
    topics: list[str] = field(default_factory=list)
    sections: dict[str, str] = field(default_factory=dict)
    public: str = "1000000"
    own: str = "1000000"


def apply(app, call: int, email: str, consortium: Consortium) -> Applicant:  # type: ignore[no-untyped-def]
    """An applicant registers, writes the proposal and fills every part but the submission."""
    applicant = Applicant.register(app, f"Dr. {email.split('@')[0].title()}", email)
    applicant.start(call, consortium.acronym, consortium.title)
    offered = applicant.topics_offered()
    chosen = [offered[name] for name in consortium.topics]
    applicant.general(consortium.acronym, consortium.title, "Worum es geht.", chosen)
    name, kind, state = consortium.coordinator
    applicant.member(name, "coordinator", kind, state)
    for name, kind, state in consortium.partners:
        applicant.member(name, "partner", kind, state)
    cells = {}
    for member in applicant.members.values():
        cells[f"public-m{member}-y1"] = consortium.public
        cells[f"own-m{member}-y1"] = consortium.own
    applicant.budget(cells)
    for key, words in consortium.sections.items():
        applicant.section(key, words)
    return applicant


def review(app, officer: Officer, call: int, stage: int, proposal: int, who: str) -> Juror:  # type: ignore[no-untyped-def]
    """The officer invites a juror who accepts, declares, is assigned and reviews."""
    email = f"{who.split()[-1].lower()}@gutachter.example"
    officer.invite_juror(call, who, email)
    juror = Juror.accept(app, email, who, call)
    juror.declare_no_conflicts(call)
    officer.assign(call, stage, proposal, juror_choice(officer, call, stage, proposal, who))
    officer.release(call, stage)
    assignment = assignment_of(juror)
    page = text(juror.browser.get(f"/reviews/assignments/{assignment}"))
    scores = {name: "4" for name in score_fields(page)}
    assert scores, "the review page has no criteria to score"
    juror.review(assignment, scores, LONG_COMMENT)
    assert submitted_review(app, assignment)
    return juror


def submitted_review(app, assignment: int) -> bool:  # type: ignore[no-untyped-def]
    with app.app_context():
        state = db.session.scalar(sa.select(Review.state).where(Review.assignment_id == assignment))
        return state == ReviewState.SUBMITTED


def stored(app, model, id_: int):  # type: ignore[no-untyped-def]
    with app.app_context():
        row = db.session.get(model, id_)
        db.session.expunge_all()
        return row


# --- Clusters4Future --------------------------------------------------------------------------


def test_programme_clusters4future_two_rounds_of_outline_full_proposal_and_hearing(app):
    officer = Officer(app, officer_account(app, "referat-c4f@bmbf.example"))
    programme = officer.programme(name="Clusters4Future", total_budget="630.000.000")
    photonics = officer.topic(programme, "Photonik", "Photonics", "cluster")
    officer.topic(programme, "Quantentechnologie", "Quantum technology", "cluster")
    officer.topic(programme, "Lichtquellen", "Light sources", "cluster", parent=photonics)

    rounds = {}
    for number, finalists, winners in ((1, "16", "7"), (2, "15", "7")):
        call = officer.call(
            programme,
            name=f"Clusters4Future, {number}. Runde",
            round_number=str(number),
            reference_prefix=f"C4F{number}",
            max_public_funding_per_proposal="45.000.000",
            max_public_funding_per_year="5.000.000",
            budget_years="9",
            other_reviews="after_own",
        )
        outline = officer.stage(
            call,
            kind="outline",
            name="Skizze",
            sections="Clusterstrategie | 12000",
            reviewers_per_proposal="1",
            selection_target=finalists,
            **window(),
        )
        full = officer.stage(
            call,
            kind="full_proposal",
            name="Vollantrag",
            sections="Clusterstrategie | 20000\nArbeitsplan | 30000",
            selection_target=winners,
            **later(60),
        )
        hearing = officer.stage(call, kind="hearing", name="Jury-Sitzung (Pitch)", **later(150))
        for stage in (outline, full, hearing):
            officer.criterion(stage, "Exzellenz der Strategie", weight="2")
            officer.criterion(stage, "Stärke des Verbunds")
        officer.publish_call(call)
        rounds[number] = (call, outline, full, hearing)

    # The hearing: two pitches of 45 minutes in one room; a third overlapping them is refused.
    call, _outline, _full, hearing = rounds[1]
    day = (NOW + dt.timedelta(days=200)).replace(hour=8, minute=0)
    for n in range(2):
        response = officer.slot(call, hearing, day + dt.timedelta(hours=n), 45, room="Saal 1")
        assert response.status_code in (302, 303), errors_of(response)
    response = officer.slot(call, hearing, day + dt.timedelta(minutes=30), 45, room="saal 1 ")
    assert response.status_code == 422
    assert "belegt" in errors_of(response)
    timetable = officer.browser.get(f"/calls/{call}/stages/{hearing}/hearing.ics")
    assert timetable.status_code == 200
    assert timetable.get_data(as_text=True).count("BEGIN:VEVENT") == 2

    with app.app_context():
        calls = db.session.scalars(sa.select(Call).order_by(Call.round_number)).all()
        assert [c.round_number for c in calls] == [1, 2]
        assert [[s.kind.value for s in c.stages] for c in calls] == [
            ["outline", "full_proposal", "hearing"]
        ] * 2
        assert [[s.selection_target for s in c.stages] for c in calls] == [
            [16, 7, None],
            [15, 7, None],
        ]
        assert all(c.reviews_hidden_until_own for c in calls)
        assert [(c.budget_years, c.max_public_funding_per_year) for c in calls] == [
            (9, 5_000_000)
        ] * 2
        db.session.expunge_all()

    consortium = Consortium(
        "PHOTON",
        "Photonik für die Zukunft",
        ("Friedrich-Schiller-Universität Jena", "university", "DE-TH"),
        [("Carl Zeiss AG", "large_enterprise", "DE-BW")],
        topics=["Lichtquellen"],
        sections={"clusterstrategie": "Unsere Strategie. " * 50},
    )
    # Up to 5 million euro a year per cluster: 6 million in one year is not ready.
    consortium.public = "3000000"
    applicant = apply(app, rounds[1][0], "kim@uni-jena.example", consortium)
    assert "5.000.000" in applicant.checklist() and "Noch nicht bereit" in applicant.checklist()
    members = list(applicant.members.values())
    applicant.budget(
        {
            **{f"public-m{m}-y1": "2000000" for m in members},
            **{f"own-m{m}-y1": "1000000" for m in members},
            **{f"public-m{m}-y9": "500000" for m in members},
            **{f"own-m{m}-y9": "500000" for m in members},
        }
    )
    assert applicant.submit()
    assert "proposals/receipt" in mail_templates(app, applicant.email)
    review(app, officer, rounds[1][0], rounds[1][1], applicant.proposal_id, "Prof. Jana Berg")


# --- innoBB 2025 ------------------------------------------------------------------------------

CLUSTERS = [
    ("Energietechnik", "Energy technology"),
    ("Gesundheitswirtschaft", "Healthcare industry"),
    ("IKT, Medien und Kreativwirtschaft", "ICT, media and creative industries"),
    ("Optik und Photonik", "Optics and photonics"),
    ("Verkehr, Mobilität und Logistik", "Transport, mobility and logistics"),
]
THEMES = [
    ("Clean Technologies", "Clean technologies"),
    ("Industrielle Produktion", "Industrial production"),
    ("Smart Cities", "Smart cities"),
    (
        "Technologietransfer und Innovationsmanagement",
        "Technology transfer and innovation management",
    ),
]


def test_programme_innobb_2025_clusters_as_taxonomy_berlin_brandenburg_and_one_per_cluster(app):
    officer = Officer(app, officer_account(app, "innobb@senweb.example"))
    programme = officer.programme(name="innoBB 2025", total_budget="40.000.000")
    for de, en in CLUSTERS:
        officer.topic(programme, de, en, "cluster")
    for de, en in THEMES:
        officer.topic(programme, de, en, "theme")
    taxonomy = text(officer.browser.get(f"/programmes/{programme}/topics"))
    assert all(de in taxonomy for de, _en in CLUSTERS + THEMES)

    call = officer.call(
        programme,
        name="innoBB 2025, Förderaufruf",
        round_number="1",
        reference_prefix="INNOBB",
        region_scope=["DE-BE", "DE-BB"],
    )
    stage = officer.stage(
        call,
        kind="full_proposal",
        name="Antrag",
        sections="Vorhaben | 10000",
        selection_target="10",
        **window(),
    )
    officer.criterion(stage, "Innovationsgehalt")
    officer.publish_call(call)

    # At least one proposal per cluster where quality allows: one row per cluster.
    rows = text(officer.browser.get(f"/calls/{call}/stages/{stage}/selection/rules"))
    slugs = [s for s in _topic_values(rows) if not s.startswith("DE-")]
    cluster_slugs = [
        s
        for s in slugs
        if s.split("-")[0] in {"energy", "healthcare", "ict", "optics", "transport"}
    ]
    assert len(cluster_slugs) == 5, slugs
    officer.rules(
        call,
        stage,
        [{"attribute": "topic", "value": slug, "minimum": "1"} for slug in cluster_slugs],
    )
    with app.app_context():
        saved = db.session.get(Stage, stage).selection_rules["constraints"]
        assert sorted(c["value"] for c in saved) == sorted(cluster_slugs)
        assert all(c["minimum"] == 1 for c in saved)
        assert db.session.get(Call, call).region_scope == ["DE-BB", "DE-BE"]

    # A coordinator from Bavaria is told the call is limited to Berlin and Brandenburg.
    bavarian = apply(
        app,
        call,
        "anna@tum.example",
        Consortium(
            "BAYLIGHT",
            "Licht aus Bayern",
            ("Technische Universität München", "university", "DE-BY"),
            [("Berliner Photonik GmbH", "sme", "DE-BE")],
            topics=["Optik und Photonik"],
            sections={"vorhaben": "Unser Vorhaben. " * 40},
        ),
    )
    assert "Brandenburg" in bavarian.checklist() and "Berlin" in bavarian.checklist()
    assert "Noch nicht bereit" in bavarian.checklist()

    applicant = apply(
        app,
        call,
        "lena@b-tu.example",
        Consortium(
            "LAUSITZ-H2",
            "Wasserstoff für die Lausitz",
            ("Brandenburgische Technische Universität Cottbus-Senftenberg", "university", "DE-BB"),
            [("Energiewerk Spree GmbH", "sme", "DE-BB")],
            topics=["Energietechnik", "Clean Technologies"],
            sections={"vorhaben": "Unser Vorhaben. " * 40},
        ),
    )
    assert applicant.submit()
    review(app, officer, call, stage, applicant.proposal_id, "Dr. Paul Lorenz")


def _topic_values(page: str) -> list[str]:
    import re

    return sorted(set(re.findall(r'<option value="([a-z0-9-]+)"', page)) - {"each", "east", "west"})


# --- Entrepreneurial Regions ------------------------------------------------------------------


def test_programme_entrepreneurial_regions_eastern_states_and_at_most_two_per_state(app):
    officer = Officer(app, officer_account(app, "unternehmen-region@bmbf.example"))
    programme = officer.programme(name="Unternehmen Region", total_budget="500.000.000")
    call = officer.call(
        programme,
        name="Innovative regionale Wachstumskerne",
        round_number="1",
        reference_prefix="WK",
        eastern_states="y",
    )
    stage = officer.stage(
        call,
        kind="full_proposal",
        name="Antrag",
        sections="Wachstumskern | 10000",
        bidding_enabled="y",
        bidding_opens_at=berlin(NOW - dt.timedelta(hours=1)),
        bidding_closes_at=berlin(NOW + dt.timedelta(days=40)),
        **window(min_comment_chars="400"),
    )
    officer.criterion(stage, "Regionale Wirkung")
    officer.publish_call(call)
    officer.rules(call, stage, [{"attribute": "coordinator_state", "value": "*", "maximum": "2"}])
    with app.app_context():
        assert db.session.get(Call, call).region_scope == [
            "DE-BB", "DE-BE", "DE-MV", "DE-SN", "DE-ST", "DE-TH"
        ]  # fmt: skip
        rule = db.session.get(Stage, stage).selection_rules["constraints"][0]
        assert (rule["attribute"], rule["value"], rule["maximum"]) == ("coordinator_state", "*", 2)

    applicant = apply(
        app,
        call,
        "jens@tu-chemnitz.example",
        Consortium(
            "CARBON",
            "Carbonbeton aus Sachsen",
            ("Technische Universität Chemnitz", "university", "DE-SN"),
            [("Erzgebirge Textil GmbH", "sme", "DE-SN")],
            sections={"wachstumskern": "Unser Wachstumskern. " * 40},
        ),
    )
    assert applicant.submit()

    # The juror bids inside the window, then reviews.
    who, email = "Dr. Ute Sommer", "sommer@gutachter.example"
    officer.invite_juror(call, who, email)
    juror = Juror.accept(app, email, who, call)
    juror.declare_no_conflicts(call)
    response = juror.bid(call, stage, applicant.proposal_id, "eager")
    assert response.status_code in (302, 303), errors_of(response)
    proposal = applicant.proposal_id
    officer.assign(call, stage, proposal, juror_choice(officer, call, stage, proposal, who))
    officer.release(call, stage)
    assignment = assignment_of(juror)
    page = text(juror.browser.get(f"/reviews/assignments/{assignment}"))
    scores = {name: "3" for name in score_fields(page)}
    # The officer asked for 400 characters at least.
    short = juror.send_review(assignment, scores, "Gut.")
    assert short.status_code == 422 and "400" in errors_of(short)
    assert not submitted_review(app, assignment)
    juror.review(assignment, scores, LONG_COMMENT)
    assert submitted_review(app, assignment)


# --- Innovation alliance LIB 2015 -------------------------------------------------------------

INDUSTRY = [
    ("BASF SE", "large_enterprise", "DE-RP"),
    ("Robert Bosch GmbH", "large_enterprise", "DE-BW"),
    ("Evonik Industries AG", "large_enterprise", "DE-NW"),
    ("Li-Tec Battery GmbH", "sme", "DE-SN"),
    ("Volkswagen AG", "large_enterprise", "DE-NI"),
]


def partners_workbook(rows: list[tuple[str, str, str, str]]) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Name", "Art", "Bundesland", "Land", "Rolle"])
    for row in rows:
        sheet.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_programme_lib_2015_alliance_of_sixty_partners_from_a_file_funded_15_85(app):
    officer = Officer(app, officer_account(app, "lib2015@bmbf.example"))
    programme = officer.programme(name="Innovationsallianz LIB 2015", total_budget="60.000.000")
    officer.topic(programme, "Lithium-Ionen-Batterien", "Lithium-ion batteries", "cluster")
    call = officer.call(
        programme,
        name="Innovationsallianz LIB 2015",
        round_number="1",
        reference_prefix="LIB",
        min_private_share="85",
    )
    stage = officer.stage(
        call,
        kind="full_proposal",
        name="Allianzantrag",
        sections="Allianzstrategie | 20000",
        selection_target="1",
        **window(),
    )
    officer.criterion(stage, "Beitrag zur Batterieforschung")
    officer.publish_call(call)

    applicant = Applicant.register(app, "Dr. Eva Winter", "winter@basf.example")
    applicant.start(call, "LIB2015", "Lithium-Ionen-Batterie 2015")
    offered = applicant.topics_offered()
    applicant.general(
        "LIB2015",
        "Lithium-Ionen-Batterie 2015",
        "Die Allianz.",
        [offered["Lithium-Ionen-Batterien"]],
    )
    applicant.member("BASF SE", "coordinator", "large_enterprise", "DE-RP")
    research = [
        (f"Forschungsinstitut {n}", "Forschungseinrichtung", "Sachsen", "DE") for n in range(1, 57)
    ]
    rows = [(name, kind, state, "DE") for name, kind, state in INDUSTRY[1:]]
    rows = [(n, k, s, c, "Partner") for n, k, s, c in rows + research[:-2]]
    # Two rows an officer of the alliance got wrong: an unknown kind, a missing name.
    rows += [("Institut ohne Art", "Zauberei", "Sachsen", "DE", "Partner")]
    rows += [("", "Hochschule", "Sachsen", "DE", "Partner")]
    response = applicant.partners_file("partner.xlsx", partners_workbook(rows))
    page = visible(response.get_data(as_text=True))
    assert response.status_code == 200, errors_of(response)
    assert "58" in page and "Zauberei" in page
    with app.app_context():
        members = db.session.scalar(
            sa.select(sa.func.count())
            .select_from(ConsortiumMember)
            .where(ConsortiumMember.proposal_id == applicant.proposal_id)
        )
        assert members == 59  # the coordinator and 58 partners: the two bad rows were refused

    # 15 % federal, 85 % industry: a budget with less private money is not ready.
    cells = {}
    for member in applicant.members.values():
        cells[f"public-m{member}-y1"] = "30000"
        cells[f"own-m{member}-y1"] = "70000"
    applicant.budget(cells)
    applicant.section("allianzstrategie", "Die Strategie der Allianz. " * 40)
    assert "85" in applicant.checklist() and "Noch nicht bereit" in applicant.checklist()
    for member in applicant.members.values():
        cells[f"public-m{member}-y1"] = "15000"
        cells[f"own-m{member}-y1"] = "85000"
    applicant.budget(cells)
    assert applicant.submit()
    with app.app_context():
        proposal = db.session.get(Proposal, applicant.proposal_id)
        assert proposal.state.value == "submitted"
        db.session.expunge_all()
    review(app, officer, call, stage, applicant.proposal_id, "Prof. Martin Winter")


# --- Leading-Edge Cluster Competition ---------------------------------------------------------


def test_programme_leading_edge_clusters_three_rounds_five_years_half_private_and_envelopes(app):
    officer = Officer(app, officer_account(app, "spitzencluster@bmbf.example"))
    programme = officer.programme(name="Spitzencluster-Wettbewerb", total_budget="600.000.000")
    calls = []
    for number in (1, 2, 3):
        fields = {
            "name": f"Spitzencluster-Wettbewerb, {number}. Runde",
            "round_number": str(number),
            "reference_prefix": f"SCW{number}",
            "min_private_share": "50",
            "budget_years": "5",
            "budget_envelope": "200.000.000",
            "cost_categories": "Personnel | Personal\nMaterial | Sachmittel\nTravel | Reisen",
        }
        if number == 3:
            # A third envelope larger than what is left of the programme's total is refused.
            url = f"/programmes/{programme}/calls/new"
            refused = officer.browser.submit(url, {**fields, "budget_envelope": "250.000.000"})
            assert refused.status_code == 422
            assert "600.000.000" in errors_of(refused) or "Gesamt" in errors_of(refused)
        call = officer.call(programme, **fields)
        stage = officer.stage(
            call,
            kind="full_proposal",
            name="Clusterantrag",
            sections="Clusterstrategie | 20000",
            selection_target="5",
            **window(),
        )
        officer.criterion(stage, "Exzellenz des Clusters")
        officer.publish_call(call)
        calls.append((call, stage))
    with app.app_context():
        rounds = db.session.scalars(sa.select(Call).order_by(Call.round_number)).all()
        assert [(c.budget_years, c.budget_envelope) for c in rounds] == [(5, 200_000_000)] * 3
        assert [c.stages[0].selection_target for c in rounds] == [5, 5, 5]
        db.session.expunge_all()
    dashboard = text(officer.browser.get(f"/programmes/{programme}/dashboard"))
    assert dashboard.count("200.000.000") >= 3

    call, stage = calls[0]
    applicant = Applicant.register(app, "Dr. Otto Hahn", "hahn@cluster-it.example")
    applicant.start(call, "SOFTWARE", "Software-Cluster Südwest")
    applicant.general("SOFTWARE", "Software-Cluster Südwest", "Software für Unternehmen.", [])
    tud = applicant.member("Technische Universität Darmstadt", "coordinator", "university", "DE-HE")
    sap = applicant.member("SAP SE", "partner", "large_enterprise", "DE-BW")
    applicant.member("Softwarehaus Kaiserslautern GmbH", "associated_partner", "sme", "DE-RP")
    applicant.section("clusterstrategie", "Die Strategie des Clusters. " * 40)
    page = text(applicant.browser.get(applicant.editor))
    assert "Sachmittel" in page and "Jahr 5" in page and "Jahr 6" not in page
    categories = _category_keys(page, tud)
    assert len(categories) == 3

    # A sixth year is outside the call: refused at its cell, nothing saved.
    sixth = applicant.post(
        f"/proposals/{applicant.proposal_id}/budget",
        {
            "base_revision": _revision(applicant),
            f"public-m{tud}-c{categories[0]}-y6": "100000",
        },
        "budget",
    )
    assert sixth.status_code == 422, visible(text(sixth))
    assert "Jahr" in errors_of(sixth)

    # Less than half private money is not ready; half and more is.
    cells = {}
    for year in range(1, 6):
        cells[f"public-m{tud}-c{categories[0]}-y{year}"] = "600000"
        cells[f"own-m{tud}-c{categories[0]}-y{year}"] = "100000"
        cells[f"public-m{sap}-c{categories[1]}-y{year}"] = "400000"
        cells[f"own-m{sap}-c{categories[1]}-y{year}"] = "500000"
    applicant.budget(cells)
    assert "50" in applicant.checklist() and "Noch nicht bereit" in applicant.checklist()
    for year in range(1, 6):
        cells[f"own-m{sap}-c{categories[1]}-y{year}"] = "1100000"
    applicant.budget(cells)
    assert applicant.submit()
    review(app, officer, call, stage, applicant.proposal_id, "Prof. Clara Weiss")


def _revision(applicant: Applicant) -> str:
    from tests.integration.programme_pages import form_value

    page = applicant.browser.get(applicant.editor).get_data(as_text=True)
    return form_value(page, f"/proposals/{applicant.proposal_id}/budget", "base_revision")


def _category_keys(page: str, member: int) -> list[str]:
    import re

    return list(dict.fromkeys(re.findall(rf'name="public-m{member}-c([a-z0-9_-]+)-y1"', page)))
