"""The registry of organisations that take part in consortia or employ jurors."""

from __future__ import annotations

import datetime as dt
import enum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from competition.db import enum_type, utcnow
from competition.extensions import db


class OrganisationKind(enum.StrEnum):
    UNIVERSITY = "university"
    RESEARCH_INSTITUTE = "research_institute"
    LARGE_ENTERPRISE = "large_enterprise"
    SME = "sme"
    START_UP = "start_up"
    SOCIETY = "society"  # society and public bodies

    @property
    def label(self) -> str:
        return KIND_LABELS[self]


KIND_LABELS = {
    OrganisationKind.UNIVERSITY: "University",
    OrganisationKind.RESEARCH_INSTITUTE: "Research institute",
    OrganisationKind.LARGE_ENTERPRISE: "Large enterprise",
    OrganisationKind.SME: "SME",
    OrganisationKind.START_UP: "Start-up",
    OrganisationKind.SOCIETY: "Society / public body",
}


class FederalState(enum.StrEnum):
    """German federal states (Bundesländer), by their ISO 3166-2 codes."""

    BW = "DE-BW"
    BY = "DE-BY"
    BE = "DE-BE"
    BB = "DE-BB"
    HB = "DE-HB"
    HH = "DE-HH"
    HE = "DE-HE"
    MV = "DE-MV"
    NI = "DE-NI"
    NW = "DE-NW"
    RP = "DE-RP"
    SL = "DE-SL"
    SN = "DE-SN"
    ST = "DE-ST"
    SH = "DE-SH"
    TH = "DE-TH"

    @property
    def label(self) -> str:
        return STATE_NAMES[self]


STATE_NAMES = {
    FederalState.BW: "Baden-Württemberg",
    FederalState.BY: "Bavaria",
    FederalState.BE: "Berlin",
    FederalState.BB: "Brandenburg",
    FederalState.HB: "Bremen",
    FederalState.HH: "Hamburg",
    FederalState.HE: "Hesse",
    FederalState.MV: "Mecklenburg-Western Pomerania",
    FederalState.NI: "Lower Saxony",
    FederalState.NW: "North Rhine-Westphalia",
    FederalState.RP: "Rhineland-Palatinate",
    FederalState.SL: "Saarland",
    FederalState.SN: "Saxony",
    FederalState.ST: "Saxony-Anhalt",
    FederalState.SH: "Schleswig-Holstein",
    FederalState.TH: "Thuringia",
}

# The eastern federal states, as used by region-scoped calls.
EASTERN_STATES = frozenset(
    {
        FederalState.BE,
        FederalState.BB,
        FederalState.MV,
        FederalState.SN,
        FederalState.ST,
        FederalState.TH,
    }
)


class Organisation(db.Model):
    __tablename__ = "organisations"
    __table_args__ = (sa.UniqueConstraint("name", "country"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(300))
    kind: Mapped[OrganisationKind] = mapped_column(enum_type(OrganisationKind, "organisation_kind"))
    federal_state: Mapped[FederalState | None] = mapped_column(
        enum_type(FederalState, "federal_state")
    )
    country: Mapped[str] = mapped_column(sa.String(2), default="DE")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
