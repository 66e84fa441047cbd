"""Reading rows of organisations (and consortium partners) from a table people filled in.

A file of the registry or of a consortium arrives as rows of text: a header naming the columns
(in German or English, in any order) and one row per organisation. Each row is checked on its
own and either read (``OrganisationRow``, ``PartnerRow``) or refused with every reason
(``Refused``), so one bad row never stops the others. Kinds and federal states are read from
their codes or their names in either language; the codes are the organisations' own
(``organisations.models``: a unit test holds the two to each other).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from competition.core.texts import N_, Text

# Column keys, and the header words (German and English) that name them; compared normalised.
NAME, KIND, STATE, COUNTRY, ROLE, CONTACT_NAME, CONTACT_EMAIL = (
    "name",
    "kind",
    "federal_state",
    "country",
    "role",
    "contact_name",
    "contact_email",
)
HEADERS: Mapping[str, tuple[str, ...]] = {
    NAME: (
        "name",
        "organisation",
        "organization",
        "organisation name",
        "einrichtung",
        "organisationsname",
        "name der organisation",
        "organisation / name",
    ),
    KIND: (
        "kind",
        "type",
        "kind of organisation",
        "organisation kind",
        "art",
        "typ",
        "organisationsart",
        "art der organisation",
        "art der einrichtung",
    ),
    STATE: ("federal state", "state", "bundesland", "land (bundesland)"),
    COUNTRY: ("country", "country code", "staat", "land", "länderkennung", "ländercode"),
    ROLE: ("role", "rolle", "partner role", "rolle im verbund"),
    CONTACT_NAME: (
        "contact name",
        "contact",
        "contact person",
        "ansprechperson",
        "ansprechpartner",
        "ansprechpartnerin",
        "kontakt",
        "kontaktperson",
    ),
    CONTACT_EMAIL: (
        "contact e-mail",
        "contact email",
        "e-mail",
        "email",
        "e-mail address",
        "kontakt-e-mail",
        "e-mail-adresse",
        "e-mail der ansprechperson",
    ),
}
REGISTRY_COLUMNS = (NAME, KIND, STATE, COUNTRY)
PARTNER_COLUMNS = (NAME, KIND, STATE, COUNTRY, ROLE, CONTACT_NAME, CONTACT_EMAIL)

# Codes and the words that name them, both languages, normalised (see ``normalise``).
KINDS: Mapping[str, tuple[str, ...]] = {
    "university": ("university", "hochschule", "universität", "fachhochschule", "uni"),
    "research_institute": (
        "research institute",
        "research institution",
        "forschungseinrichtung",
        "forschungsinstitut",
        "institut",
    ),
    "large_enterprise": (
        "large enterprise",
        "large company",
        "großunternehmen",
        "grossunternehmen",
        "unternehmen (groß)",
    ),
    "sme": ("sme", "kmu", "small or medium-sized enterprise", "kleines oder mittleres unternehmen"),
    "start_up": ("start-up", "startup", "start up", "gründung", "neugründung"),
    "society": (
        "society / public body",
        "society",
        "public body",
        "association",
        "verein / öffentliche einrichtung",
        "verein",
        "verband",
        "öffentliche einrichtung",
        "behörde",
    ),
}
STATES: Mapping[str, tuple[str, ...]] = {
    "DE-BW": ("baden-württemberg", "baden-wuerttemberg", "bw"),
    "DE-BY": ("bavaria", "bayern", "by"),
    "DE-BE": ("berlin", "be"),
    "DE-BB": ("brandenburg", "bb"),
    "DE-HB": ("bremen", "hb"),
    "DE-HH": ("hamburg", "hh"),
    "DE-HE": ("hesse", "hessen", "he"),
    "DE-MV": ("mecklenburg-western pomerania", "mecklenburg-vorpommern", "mv"),
    "DE-NI": ("lower saxony", "niedersachsen", "ni"),
    "DE-NW": ("north rhine-westphalia", "nordrhein-westfalen", "nrw", "nw"),
    "DE-RP": ("rhineland-palatinate", "rheinland-pfalz", "rp"),
    "DE-SL": ("saarland", "sl"),
    "DE-SN": ("saxony", "sachsen", "sn"),
    "DE-ST": ("saxony-anhalt", "sachsen-anhalt", "st"),
    "DE-SH": ("schleswig-holstein", "sh"),
    "DE-TH": ("thuringia", "thüringen", "thueringen", "th"),
}
GERMANY = ("de", "deu", "germany", "deutschland")
NAME_MAX = 300
CONTACT_NAME_MAX = 200
EMAIL_MAX = 254
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_COUNTRY = re.compile(r"^[a-z]{2}$")


def normalise(text: str) -> str:
    """Case, spacing, Unicode forms and the dashes people type made alike."""
    text = unicodedata.normalize("NFC", text).replace("\u2013", "-").replace("\u2011", "-")
    return " ".join(text.replace("*", " ").split()).casefold()


def _lookup(words: Mapping[str, tuple[str, ...]]) -> dict[str, str]:
    table: dict[str, str] = {}
    for code, names in words.items():
        table[normalise(code)] = code
        table[normalise(code.replace("_", " "))] = code
        for name in names:
            table[normalise(name)] = code
    return table


_KIND_WORDS = _lookup(KINDS)
_STATE_WORDS = _lookup(STATES)


def read_kind(text: str) -> str | None:
    """A kind's code from its code or its name in German or English; None if unknown."""
    return _KIND_WORDS.get(normalise(text))


def read_state(text: str) -> str | None:
    """A federal state's ISO code from its code (``DE-BY``, ``BY``) or name; None if unknown."""
    return _STATE_WORDS.get(normalise(text))


def read_country(text: str) -> str | None:
    """An ISO 3166-1 alpha-2 code (``DE``), ``Germany``/``Deutschland`` read as ``DE``; empty is
    Germany; None for anything else."""
    word = normalise(text)
    if not word or word in GERMANY:
        return "DE"
    return word.upper() if _COUNTRY.match(word) else None


@dataclass(frozen=True)
class Header:
    """Which column of the file holds which field (the index), and what the header lacked."""

    columns: Mapping[str, int]
    missing: tuple[str, ...] = ()
    unknown: tuple[str, ...] = ()


def read_header(cells: Sequence[str], *, wanted: Sequence[str]) -> Header:
    """Match the header's cells to ``wanted`` columns; the name column is required, the others
    may be missing (their values then count as empty). Unknown columns are ignored."""
    table = {normalise(word): key for key in wanted for word in (*HEADERS[key], key)}
    columns: dict[str, int] = {}
    unknown: list[str] = []
    for index, cell in enumerate(cells):
        key = table.get(normalise(cell))
        if key is not None and key not in columns:
            columns[key] = index
        elif cell.strip():
            unknown.append(cell.strip())
    missing = tuple(key for key in wanted if key not in columns)
    return Header(columns, missing, tuple(unknown))


@dataclass(frozen=True)
class OrganisationRow:
    row: int  # as the spreadsheet numbers it: the header is row 1
    name: str
    kind: str
    federal_state: str | None
    country: str


@dataclass(frozen=True)
class PartnerRow:
    row: int
    organisation: OrganisationRow
    role: str
    contact_name: str
    contact_email: str


@dataclass(frozen=True)
class Refused:
    row: int
    name: str
    reasons: tuple[Text, ...] = field(default_factory=tuple)


def _cell(values: Sequence[str], header: Header, key: str) -> str:
    index = header.columns.get(key)
    if index is None or index >= len(values):
        return ""
    return values[index].strip()


def read_organisation(
    number: int, values: Sequence[str], header: Header, *, kind_required: bool = True
) -> OrganisationRow | Refused:
    """One row of the registry: a name, a known kind, a federal state for an organisation in
    Germany (none elsewhere), a country code. ``kind_required=False`` lets an empty kind pass
    (a partner row naming an organisation the registry knows)."""
    reasons: list[Text] = []
    name = " ".join(_cell(values, header, NAME).split())
    if not name:
        reasons.append(N_("The name is empty."))
    elif len(name) > NAME_MAX:
        reasons.append(N_("The name is longer than %(max)s characters.", max=NAME_MAX))
    kind_text = _cell(values, header, KIND)
    kind = read_kind(kind_text) if kind_text else None
    if kind_text and kind is None:
        reasons.append(N_("Unknown kind of organisation: %(value)s.", value=kind_text))
    elif kind is None and kind_required:
        reasons.append(N_("The kind of organisation is missing."))
    country_text = _cell(values, header, COUNTRY)
    country = read_country(country_text)
    if country is None:
        reasons.append(
            N_("Unknown country: %(value)s (use a two-letter code such as DE).", value=country_text)
        )
    state_text = _cell(values, header, STATE)
    state = read_state(state_text) if state_text else None
    if state_text and state is None:
        reasons.append(N_("Unknown federal state: %(value)s.", value=state_text))
    elif country == "DE" and state is None and (kind_required or kind is not None):
        reasons.append(N_("The federal state is missing (required for Germany)."))
    elif country not in (None, "DE") and state is not None:
        reasons.append(N_("A federal state is given for an organisation outside Germany."))
    if reasons:
        return Refused(number, name, tuple(reasons))
    assert country is not None
    return OrganisationRow(number, name, kind or "", state, country)


def read_partner(
    number: int, values: Sequence[str], header: Header, *, roles: Mapping[str, str]
) -> PartnerRow | Refused:
    """One row of a consortium: the organisation (its kind and state may be left empty when the
    registry knows it; the operation checks that), a role read through ``roles`` (normalised
    word → code, the caller's partner roles in both languages; empty means partner), and an
    optional contact."""
    organisation = read_organisation(number, values, header, kind_required=False)
    reasons = list(organisation.reasons) if isinstance(organisation, Refused) else []
    role_text = _cell(values, header, ROLE)
    role = roles.get(normalise(role_text)) if role_text else roles.get("partner")
    if role is None:
        reasons.append(N_("Unknown role: %(value)s.", value=role_text))
    contact_name = " ".join(_cell(values, header, CONTACT_NAME).split())
    if len(contact_name) > CONTACT_NAME_MAX:
        reasons.append(N_("The contact name is too long."))
    email = _cell(values, header, CONTACT_EMAIL).lower()
    if email and (len(email) > EMAIL_MAX or not _EMAIL.match(email)):
        reasons.append(N_("Not an e-mail address: %(value)s.", value=email))
    if reasons or isinstance(organisation, Refused):
        name = organisation.name
        return Refused(number, name, tuple(reasons))
    assert role is not None
    return PartnerRow(number, organisation, role, contact_name, email)


def is_blank(values: Sequence[str]) -> bool:
    return not any(v.strip() for v in values)


def header_problem(header: Header) -> Text | None:
    """Why a file cannot be read at all: no column of names."""
    if NAME in header.missing:
        return N_(
            "The first row must name the columns; none of them is the organisation's name "
            "(name, Name, Organisation)."
        )
    return None
