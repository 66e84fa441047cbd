"""Reading rows of organisations and partners (core.registry) on plain data."""

from __future__ import annotations

import pytest

from competition.core import registry
from competition.organisations.models import FederalState, OrganisationKind

ROLES = {"coordinator": "coordinator", "partner": "partner", "koordination": "coordinator"}


def header(*cells: str, wanted=registry.REGISTRY_COLUMNS):  # type: ignore[no-untyped-def]
    return registry.read_header(list(cells), wanted=wanted)


def test_the_core_names_every_kind_and_state_of_the_registry() -> None:
    assert set(registry.KINDS) == {k.value for k in OrganisationKind}
    assert set(registry.STATES) == {s.value for s in FederalState}


def test_german_and_english_headers_in_any_order_name_the_columns() -> None:
    found = header("Bundesland", " ORGANISATION ", "Art", "Land", "Bemerkung")
    assert found.columns == {"federal_state": 0, "name": 1, "kind": 2, "country": 3}
    assert found.unknown == ("Bemerkung",)
    assert registry.header_problem(found) is None
    assert registry.header_problem(header("Kind", "State")) is not None


@pytest.mark.parametrize(
    ("kind", "state", "expected"),
    [
        ("KMU", "Sachsen", ("sme", "DE-SN")),
        ("sme", "DE-SN", ("sme", "DE-SN")),
        ("Research institute", "bavaria", ("research_institute", "DE-BY")),
        ("Hochschule", "NRW", ("university", "DE-NW")),
        ("Verein / öffentliche Einrichtung", "Thüringen", ("society", "DE-TH")),
        ("large_enterprise", "BW", ("large_enterprise", "DE-BW")),
    ],
)
def test_a_row_reads_kind_and_state_from_codes_or_names_in_either_language(
    kind: str, state: str, expected: tuple[str, str]
) -> None:
    row = registry.read_organisation(
        2, ["  Fraunhofer  IWS ", kind, state, ""], header("name", "kind", "state", "country")
    )
    assert isinstance(row, registry.OrganisationRow)
    assert (row.name, row.kind, row.federal_state, row.country) == (
        "Fraunhofer IWS",
        *expected,
        "DE",
    )


def test_a_malformed_row_is_refused_with_every_reason_and_its_number() -> None:
    row = registry.read_organisation(
        7, ["", "Bakery", "Atlantis", "Germany!"], header("name", "kind", "state", "country")
    )
    assert isinstance(row, registry.Refused)
    assert row.row == 7
    said = [str(reason) for reason in row.reasons]
    assert said == [
        "The name is empty.",
        "Unknown kind of organisation: Bakery.",
        "Unknown country: Germany! (use a two-letter code such as DE).",
        "Unknown federal state: Atlantis.",
    ]


def test_germany_needs_a_federal_state_and_other_countries_none() -> None:
    head = header("name", "kind", "state", "country")
    missing = registry.read_organisation(2, ["BASF SE", "large enterprise", "", "DE"], head)
    assert isinstance(missing, registry.Refused)
    assert [str(r) for r in missing.reasons] == [
        "The federal state is missing (required for Germany)."
    ]
    abroad = registry.read_organisation(3, ["CEA", "research institute", "", "fr"], head)
    assert isinstance(abroad, registry.OrganisationRow) and abroad.country == "FR"
    both = registry.read_organisation(4, ["CEA", "research institute", "Bayern", "FR"], head)
    assert isinstance(both, registry.Refused)


def test_a_partner_row_reads_role_and_contact_and_may_leave_a_known_kind_empty() -> None:
    head = header(*registry.PARTNER_COLUMNS, wanted=registry.PARTNER_COLUMNS)
    row = registry.read_partner(
        2,
        ["BASF SE", "", "", "", "Koordination", "Anna Chem", "ANNA@basf.example"],
        head,
        roles=ROLES,
    )
    assert isinstance(row, registry.PartnerRow)
    assert (row.role, row.contact_name, row.contact_email) == (
        "coordinator",
        "Anna Chem",
        "anna@basf.example",
    )
    assert row.organisation.kind == ""
    default = registry.read_partner(3, ["Bosch", "", "", "", "", "", ""], head, roles=ROLES)
    assert isinstance(default, registry.PartnerRow) and default.role == "partner"


def test_a_partner_row_with_an_unknown_role_and_a_bad_address_is_refused() -> None:
    head = header(*registry.PARTNER_COLUMNS, wanted=registry.PARTNER_COLUMNS)
    row = registry.read_partner(
        5, ["Evonik", "sme", "NW", "DE", "sponsor", "", "not-an-address"], head, roles=ROLES
    )
    assert isinstance(row, registry.Refused)
    assert [str(r) for r in row.reasons] == [
        "Unknown role: sponsor.",
        "Not an e-mail address: not-an-address.",
    ]
