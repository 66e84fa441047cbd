"""The organisation registry at cluster scale: import, merge with conflicts following, the search
endpoint's access rules, and a consortium of 60 partners entered from a file."""

from __future__ import annotations

import io
import re
import time
from dataclasses import dataclass

import pytest
import sqlalchemy as sa
from openpyxl import Workbook

from competition.accounts.models import Role
from competition.assignment.models import (
    Conflict,
    ConflictSource,
    JurorProfile,
    JuryMembership,
    MembershipState,
)
from competition.assignment.operations import refresh_automatic_conflicts
from competition.audit.models import AuditEvent
from competition.db import utcnow
from competition.extensions import db
from competition.organisations import operations as registry_ops
from competition.organisations.models import FederalState, Organisation, OrganisationKind
from competition.proposals.models import ConsortiumMember, Proposal, ProposalState
from tests.conftest import Browser, csrf_from
from tests.factories import (
    NOW,
    PASSWORD,
    make_call,
    make_organisation,
    make_programme,
    make_proposal,
    make_user,
)
from tests.integration.submission_world import build_world, user, write_draft


def plain(page: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))


def upload(browser: Browser, url: str, page: str, data: bytes, name: str, *, prefix: str = ""):  # type: ignore[no-untyped-def]
    """Post a file as the page's form does (a form with a prefix names its fields with it)."""
    token = csrf_from(browser.get(page).get_data(as_text=True))
    return browser.client.post(
        url,
        data={f"{prefix}csrf_token": token, f"{prefix}file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def csv_bytes(rows: list[list[str]], *, delimiter: str = ";", bom: bool = True) -> bytes:
    text = "\r\n".join(delimiter.join(cells) for cells in rows) + "\r\n"
    return ("\ufeff" if bom else "").encode() + text.encode("utf-8")


def xlsx_bytes(rows: list[list[str]]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def organisation_named(name: str) -> Organisation | None:
    return db.session.scalar(sa.select(Organisation).where(Organisation.name == name))


# --- Registry pages and import ------------------------------------------------------------------


@pytest.fixture
def officer(app) -> str:  # type: ignore[no-untyped-def]
    with app.app_context():
        person = make_user(roles=(Role.OFFICER,))
        make_organisation(
            name="Evonik Industries AG",
            kind=OrganisationKind.LARGE_ENTERPRISE,
            federal_state=FederalState.NW,
        )
        db.session.commit()
        return person.email


def test_officer_imports_a_csv_with_bom_and_german_headers_and_a_malformed_row_is_reported(
    app, browser, officer
) -> None:  # type: ignore[no-untyped-def]
    data = csv_bytes(
        [
            ["Name", "Art", "Bundesland", "Land"],
            ["Technische Universität Dresden", "Hochschule", "Sachsen", "DE"],
            ["Li-Tec Battery GmbH", "KMU", "DE-SN", ""],
            ["Bäckerei Müller", "Bäckerei", "Atlantis", "DE"],
            ["Evonik Industries AG", "Großunternehmen", "Nordrhein-Westfalen", "DE"],
            ["CEA Grenoble", "research institute", "", "FR"],
            ["Li-Tec Battery GmbH", "sme", "SN", "DE"],
        ]
    )
    browser.login(officer, PASSWORD)
    answer = upload(
        browser, "/organisations/import", "/organisations/import", data, "go-cluster.csv"
    )
    assert answer.status_code == 200
    page = plain(answer.get_data(as_text=True))
    assert "3 organisations added" in page
    assert "1 already in the registry as given" in page
    assert "2 rows refused" in page
    assert (
        "4 Bäckerei Müller Unknown kind of organisation: Bäckerei. Unknown federal state: Atlantis."
        in page
    )
    assert "7 Li-Tec Battery GmbH The same organisation is already in row 3." in page
    with app.app_context():
        assert organisation_named("Bäckerei Müller") is None
        tud = organisation_named("Technische Universität Dresden")
        assert tud is not None and tud.kind == OrganisationKind.UNIVERSITY
        assert tud.federal_state == FederalState.SN
        cea = organisation_named("CEA Grenoble")
        assert cea is not None and (cea.country, cea.federal_state) == ("FR", None)
        event = db.session.scalar(
            sa.select(AuditEvent).where(AuditEvent.action == "organisations.imported")
        )
        assert event is not None and event.after["refused"] == 2


def test_existing_names_are_skipped_unless_the_officer_asks_to_update_them(app, officer) -> None:  # type: ignore[no-untyped-def]
    rows = [["name", "kind", "federal state"], ["evonik industries ag", "sme", "Bayern"]]
    with app.test_request_context():
        actor = user(officer)
        skipped = registry_ops.import_organisations(
            actor=actor, data=xlsx_bytes(rows), update_existing=False, now=utcnow()
        )
        assert [str(s.reason) for s in skipped.skipped] == [
            "Already in the registry with another kind or federal state; not updated."
        ]
        assert organisation_named("Evonik Industries AG").kind == OrganisationKind.LARGE_ENTERPRISE
        updated = registry_ops.import_organisations(
            actor=actor, data=xlsx_bytes(rows), update_existing=True, now=utcnow()
        )
        assert updated.updated == ["Evonik Industries AG"]
        db.session.expire_all()
        evonik = organisation_named("Evonik Industries AG")
        assert (evonik.kind, evonik.federal_state) == (OrganisationKind.SME, FederalState.BY)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\xff\xfe\x00garbage\x00\xfa", "not a UTF-8 CSV file or an XLSX workbook"),
        (b"Kind;State\r\nsme;DE-BY\r\n", "none of them is the organisation"),
        (b"PK\x03\x04 not really a workbook", "The XLSX workbook cannot be read."),
    ],
)
def test_an_unreadable_file_writes_nothing_and_says_why_at_the_field(
    app, browser, officer, data, message
) -> None:  # type: ignore[no-untyped-def]
    browser.login(officer, PASSWORD)
    answer = upload(browser, "/organisations/import", "/organisations/import", data, "x.csv")
    assert answer.status_code == 422
    assert message in answer.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Organisation.id))) == 1


def test_registry_import_of_15500_generated_organisations(app, officer) -> None:  # type: ignore[no-untyped-def]
    kinds = ["Hochschule", "sme", "Large enterprise", "KMU", "start-up", "Forschungseinrichtung"]
    states = [s.value for s in FederalState]
    rows = [["Name", "Kind", "Federal state", "Country"]]
    rows += [
        [f"Clustermitglied {n:05d}", kinds[n % len(kinds)], states[n % len(states)], "DE"]
        for n in range(15_500)
    ]
    with app.test_request_context():
        started = time.perf_counter()
        report = registry_ops.import_organisations(
            actor=user(officer),
            data=csv_bytes(rows, delimiter=","),
            update_existing=False,
            now=utcnow(),
        )
        took = time.perf_counter() - started
        assert (len(report.inserted), len(report.refused), report.rows) == (15_500, 0, 15_500)
        assert db.session.scalar(sa.select(sa.func.count(Organisation.id))) == 15_501
    print(f"imported 15,500 organisations in {took:.1f} s")


def test_the_registry_list_searches_filters_and_pages_for_officers_only(
    app, browser, officer
) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        for n in range(55):
            make_organisation(
                name=f"Saxon SME {n:02d}", kind=OrganisationKind.SME, federal_state=FederalState.SN
            )
        make_organisation(
            name="Bavarian SME", kind=OrganisationKind.SME, federal_state=FederalState.BY
        )
        applicant = make_user(roles=(Role.APPLICANT,))
        db.session.commit()
        applicant_email = applicant.email
    browser.login(officer, PASSWORD)
    page = plain(
        browser.get("/organisations?q=sme&kind=sme&federal_state=DE-SN").get_data(as_text=True)
    )
    assert "55 organisations" in page and "Page 1 of 2" in page and "Bavarian" not in page
    second = plain(
        browser.get("/organisations?q=sme&kind=sme&federal_state=DE-SN&page=2").get_data(
            as_text=True
        )
    )
    assert "Saxon SME 54" in second and "Saxon SME 00" not in second
    browser.logout()
    browser.login(applicant_email, PASSWORD)
    assert browser.get("/organisations").status_code == 403


# --- Merging duplicates -------------------------------------------------------------------------


@dataclass(frozen=True)
class MergeWorld:
    officer: str
    juror_id: int
    kept_id: int
    duplicate_id: int
    proposal_id: int  # the kept organisation is a partner here
    other_proposal_id: int  # the duplicate is a partner here


@pytest.fixture
def merge_world(app) -> MergeWorld:  # type: ignore[no-untyped-def]
    with app.app_context():
        officer = make_user(roles=(Role.OFFICER,))
        juror = make_user(roles=(Role.JUROR,))
        call = make_call(make_programme(officers=(officer,)))
        kept = make_organisation(
            name="Robert Bosch GmbH",
            kind=OrganisationKind.LARGE_ENTERPRISE,
            federal_state=FederalState.BW,
        )
        duplicate = make_organisation(
            name="Bosch GmbH", kind=OrganisationKind.LARGE_ENTERPRISE, federal_state=FederalState.BW
        )
        proposal = make_proposal(call, organisations=(make_organisation(), kept))
        other = make_proposal(call, organisations=(make_organisation(), duplicate))
        db.session.add(
            JurorProfile(
                user_id=juror.id,
                affiliation_id=duplicate.id,
                former_organisation_ids=[],
                updated_at=NOW,
            )
        )
        db.session.add(
            JuryMembership(
                call_id=call.id,
                user_id=juror.id,
                state=MembershipState.ACCEPTED,
                invited_by_id=officer.id,
                invited_at=NOW,
                responded_at=NOW,
            )
        )
        db.session.commit()
        refresh_automatic_conflicts(call, now=NOW)
        # Before the merge the juror is conflicted only where the duplicate takes part.
        assert automatic_conflicts(juror.id) == {other.id}
        return MergeWorld(officer.email, juror.id, kept.id, duplicate.id, proposal.id, other.id)


def automatic_conflicts(user_id: int) -> set[int]:
    return set(
        db.session.scalars(
            sa.select(Conflict.proposal_id).where(
                Conflict.user_id == user_id, Conflict.source == ConflictSource.AUTOMATIC
            )
        )
    )


def test_merging_a_duplicate_moves_every_reference_and_automatic_conflicts_follow(
    app, browser, merge_world
) -> None:  # type: ignore[no-untyped-def]
    w = merge_world
    browser.login(w.officer, PASSWORD)
    url = f"/organisations/{w.duplicate_id}/merge"
    choose = plain(browser.get(f"{url}?q=bosch").get_data(as_text=True))
    assert "Robert Bosch GmbH" in choose
    confirm = browser.get(f"{url}?into={w.kept_id}")
    page = plain(confirm.get_data(as_text=True))
    assert "Merge Bosch GmbH into Robert Bosch GmbH" in page
    token = csrf_from(confirm.get_data(as_text=True))
    answer = browser.client.post(url, data={"csrf_token": token, "into": str(w.kept_id)})
    assert answer.status_code == 302
    assert answer.headers["Location"].endswith(f"/organisations/{w.kept_id}")
    with app.app_context():
        duplicate = db.session.get(Organisation, w.duplicate_id)
        assert duplicate is not None and duplicate.merged_into_id == w.kept_id
        member_orgs = set(
            db.session.scalars(
                sa.select(ConsortiumMember.organisation_id).where(
                    ConsortiumMember.proposal_id == w.other_proposal_id
                )
            )
        )
        assert w.kept_id in member_orgs and w.duplicate_id not in member_orgs
        profile = db.session.scalar(
            sa.select(JurorProfile).where(JurorProfile.user_id == w.juror_id)
        )
        assert profile.affiliation_id == w.kept_id
        # The juror of the merged organisation is now conflicted with the kept one's proposals.
        assert automatic_conflicts(w.juror_id) == {w.proposal_id, w.other_proposal_id}
        event = db.session.scalar(
            sa.select(AuditEvent).where(AuditEvent.action == "organisation.merged")
        )
        assert event is not None and event.after["merged_into_id"] == w.kept_id
    shown = plain(browser.get(f"/organisations/{w.duplicate_id}").get_data(as_text=True))
    assert "Merged into Robert Bosch GmbH" in shown
    kept_page = plain(browser.get(f"/organisations/{w.kept_id}").get_data(as_text=True))
    assert "Bosch GmbH" in kept_page and "Duplicates merged into it" in kept_page
    # No longer offered: neither in the search nor in the registry's list.
    found = browser.get("/organisations/search?q=bosch").get_json()
    assert [r["id"] for r in found["results"]] == [w.kept_id]
    assert "Bosch GmbH</a>" not in browser.get("/organisations?q=bosch").get_data(
        as_text=True
    ).replace("Robert Bosch GmbH</a>", "")


def test_two_organisations_of_one_consortium_are_not_merged_and_nothing_moves(
    app, browser, merge_world
) -> None:  # type: ignore[no-untyped-def]
    w = merge_world
    with app.app_context():
        proposal = db.session.get(Proposal, w.proposal_id)
        proposal.members.append(ConsortiumMember(organisation_id=w.duplicate_id, role="partner"))
        db.session.commit()
        reference = proposal.reference
    browser.login(w.officer, PASSWORD)
    url = f"/organisations/{w.duplicate_id}/merge"
    token = csrf_from(browser.get(f"{url}?into={w.kept_id}").get_data(as_text=True))
    answer = browser.client.post(url, data={"csrf_token": token, "into": str(w.kept_id)})
    assert answer.status_code == 422
    assert f"Both organisations are in the consortium of {reference}" in answer.get_data(
        as_text=True
    )
    with app.app_context():
        assert db.session.get(Organisation, w.duplicate_id).merged_into_id is None
        profile = db.session.scalar(
            sa.select(JurorProfile).where(JurorProfile.user_id == w.juror_id)
        )
        assert profile.affiliation_id == w.duplicate_id


# --- The search endpoint ------------------------------------------------------------------------


def test_the_search_endpoint_answers_only_those_who_edit_something(app, browser) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        for n in range(25):
            make_organisation(name=f"Fraunhofer Institut {n:02d}")
        make_organisation(name="Institut Fraunhofer X", federal_state=FederalState.BY)
        officer = make_user(roles=(Role.OFFICER,))
        admin = make_user(roles=(Role.ADMIN,))
        juror = make_user(roles=(Role.JUROR,))
        bystander = make_user(roles=(Role.APPLICANT,))
        coordinator = make_user(roles=(Role.APPLICANT,))
        make_proposal(coordinator=coordinator, state=ProposalState.DRAFT)
        db.session.commit()
        people = {
            "officer": officer.email,
            "admin": admin.email,
            "juror": juror.email,
            "bystander": bystander.email,
            "coordinator": coordinator.email,
        }
    url = "/organisations/search?q=fraunhofer"
    anonymous = browser.get(url)
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    assert browser.get(url, headers={"Accept": "application/json"}).status_code in (302, 401)
    expected = {"officer": 200, "admin": 200, "juror": 200, "coordinator": 200, "bystander": 403}
    for who, status in expected.items():
        browser.login(people[who], PASSWORD)
        answer = browser.get(url)
        assert answer.status_code == status, who
        if status == 200:
            results = answer.get_json()["results"]
            assert len(results) == 20
            assert set(results[0]) >= {"id", "name", "kind", "federal_state"}
            assert results[0]["name"] == "Fraunhofer Institut 00"  # names starting with q first
        browser.logout()


def test_the_consortium_editor_sends_no_list_of_every_name(app, browser) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        world = build_world()
        draft = write_draft(world, complete=False)
    browser.login(world.coordinator, PASSWORD)
    page = browser.get(f"/proposals/{draft.proposal_id}/edit").get_data(as_text=True)
    assert "<datalist" not in page and "Universität Leipzig" not in page
    assert 'data-organisation-search="/organisations/search"' in page
    assert "organisations.js" in page


# --- Partners from a file -----------------------------------------------------------------------


def lib_partners() -> list[list[str]]:
    """The Innovation alliance LIB 2015: 60 partners, two rows of them malformed."""
    header = ["Name", "Art", "Bundesland", "Land", "Rolle", "Ansprechperson", "E-Mail"]
    rows = [
        header,
        [
            "BASF SE",
            "Großunternehmen",
            "Rheinland-Pfalz",
            "DE",
            "Koordination",
            "Anna Chem",
            "anna@basf.example",
        ],
        ["Robert Bosch GmbH", "", "", "", "Partner", "", ""],  # known to the registry
        ["Evonik Industries AG", "large enterprise", "NW", "DE", "partner", "", ""],
        ["Li-Tec Battery GmbH", "KMU", "Sachsen", "DE", "", "", ""],
        ["Volkswagen AG", "Großunternehmen", "Niedersachsen", "DE", "Partner", "", ""],
    ]
    rows += [
        [
            f"Forschungspartner {n:02d}",
            "Forschungseinrichtung",
            "DE-BY",
            "DE",
            "Partner",
            "",
            f"kontakt{n}@forschung.example",
        ]
        for n in range(53)
    ]
    rows.insert(20, ["Batteriewerk Nord", "Werkstatt", "Hamburg", "DE", "Partner", "", ""])
    rows.insert(41, ["Zellchemie Ost GmbH", "KMU", "Sachsen", "DE", "Partner", "", "kein@"])
    return rows


def test_a_coordinator_enters_60_partners_from_a_file_and_sees_the_2_rows_refused(
    app, browser
) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        world = build_world()
        draft = write_draft(world, complete=False)
        make_organisation(
            name="Robert Bosch GmbH",
            kind=OrganisationKind.LARGE_ENTERPRISE,
            federal_state=FederalState.BW,
        )
        db.session.commit()
    rows = lib_partners()
    assert len(rows) == 61
    browser.login(world.coordinator, PASSWORD)
    edit = f"/proposals/{draft.proposal_id}/edit"
    answer = upload(
        browser,
        f"/proposals/{draft.proposal_id}/members/import",
        edit,
        xlsx_bytes(rows),
        "LIB 2015.xlsx",
        prefix="partners-",
    )
    assert answer.status_code == 200
    page = plain(answer.get_data(as_text=True))
    assert "58 organisations added to the consortium" in page
    assert "2 rows refused" in page
    assert "21 Batteriewerk Nord Unknown kind of organisation: Werkstatt." in page
    assert "42 Zellchemie Ost GmbH Not an e-mail address: kein@." in page
    with app.app_context():
        proposal = db.session.get(Proposal, draft.proposal_id)
        by_name = {m.organisation.name: m for m in proposal.members}
        assert len(by_name) == 58
        assert by_name["BASF SE"].role == "coordinator"
        assert by_name["BASF SE"].contact_email == "anna@basf.example"
        assert by_name["Robert Bosch GmbH"].organisation.federal_state == FederalState.BW
        assert "Batteriewerk Nord" not in by_name
        assert organisation_named("Batteriewerk Nord") is None
        assert (
            db.session.scalar(
                sa.select(AuditEvent).where(AuditEvent.action == "consortium.members_imported")
            )
            is not None
        )
    # The same file again: every row is refused as already in the consortium, nothing added.
    again = upload(
        browser,
        f"/proposals/{draft.proposal_id}/members/import",
        edit,
        csv_bytes(rows[:3], delimiter=",", bom=False),
        "again.csv",
        prefix="partners-",
    )
    assert "BASF SE is already in the consortium." in plain(again.get_data(as_text=True))
    with app.app_context():
        assert len(db.session.get(Proposal, draft.proposal_id).members) == 58


def test_an_unreadable_partners_file_adds_nothing(app, browser) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        world = build_world()
        draft = write_draft(world, complete=False)
    browser.login(world.coordinator, PASSWORD)
    edit = f"/proposals/{draft.proposal_id}/edit"
    answer = upload(
        browser,
        f"/proposals/{draft.proposal_id}/members/import",
        edit,
        b"\x00\xff\xfe\xfa",
        "partners.csv",
        prefix="partners-",
    )
    assert answer.status_code == 422
    assert "Save it as" in answer.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Proposal, draft.proposal_id).members == []


def test_a_stranger_cannot_upload_partners_to_someone_elses_proposal(app, browser) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        world = build_world()
        draft = write_draft(world, complete=False)
        stranger = make_user(roles=(Role.APPLICANT,))
        db.session.commit()
        email = stranger.email
    browser.login(email, PASSWORD)
    answer = upload(
        browser,
        f"/proposals/{draft.proposal_id}/members/import",
        "/",
        b"name\nX\n",
        "x.csv",
        prefix="partners-",
    )
    assert answer.status_code == 404
    with app.app_context():
        assert db.session.get(Proposal, draft.proposal_id).members == []


def test_a_juror_who_worked_for_the_duplicate_names_the_kept_organisation_after_a_merge(
    app, merge_world
) -> None:  # type: ignore[no-untyped-def]
    w = merge_world
    with app.test_request_context():
        former = make_user(roles=(Role.JUROR,))
        db.session.add(
            JurorProfile(
                user_id=former.id,
                affiliation_id=None,
                former_organisation_ids=[w.duplicate_id],
                updated_at=NOW,
            )
        )
        db.session.commit()
        registry_ops.merge_organisations(
            db.session.get(Organisation, w.duplicate_id),
            into=db.session.get(Organisation, w.kept_id),
            actor=user(w.officer),
            now=utcnow(),
        )
        profile = db.session.scalar(
            sa.select(JurorProfile).where(JurorProfile.user_id == former.id)
        )
        assert profile.former_organisation_ids == [w.kept_id]


def test_an_officer_edits_an_organisation_and_a_name_taken_is_refused_at_the_field(
    app, browser, merge_world
) -> None:  # type: ignore[no-untyped-def]
    w = merge_world
    browser.login(w.officer, PASSWORD)
    url = f"/organisations/{w.duplicate_id}/edit"
    form = {"kind": "large_enterprise", "federal_state": "DE-BW", "country": "DE"}
    taken = browser.submit(url, {**form, "name": "robert bosch gmbh"})
    assert taken.status_code == 422
    assert "Another organisation has this name. If it is the same one, merge the two." in (
        taken.get_data(as_text=True)
    )
    abroad = browser.submit(url, {**form, "name": "Bosch Sp. z o.o.", "country": "PL"})
    assert abroad.status_code == 422
    assert "Only organisations in Germany have a federal state." in abroad.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Organisation, w.duplicate_id).name == "Bosch GmbH"
    saved = browser.submit(url, {**form, "name": "Bosch Thermotechnik GmbH"})
    assert saved.status_code == 302
    with app.app_context():
        assert db.session.get(Organisation, w.duplicate_id).name == "Bosch Thermotechnik GmbH"
        event = db.session.scalar(
            sa.select(AuditEvent).where(AuditEvent.action == "organisation.updated")
        )
        assert event is not None and event.before["name"] == "Bosch GmbH"
