"""The registry of organisations that take part in consortia or employ jurors."""

from __future__ import annotations

import datetime as dt
import enum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from competition.db import enum_type, utcnow
from competition.extensions import db
from competition.i18n import lazy_gettext as _


class OrganisationKind(enum.StrEnum):
    UNIVERSITY = "university"
    RESEARCH_INSTITUTE = "research_institute"
    LARGE_ENTERPRISE = "large_enterprise"
    SME = "sme"
    START_UP = "start_up"
    SOCIETY = "society"  # society and public bodies

    @property
    def label(self) -> str:
        return str(KIND_LABELS[self])


# Lazy: each is read in the language of the page, mail or letter that shows it.
KIND_LABELS = {
    OrganisationKind.UNIVERSITY: _("University"),
    OrganisationKind.RESEARCH_INSTITUTE: _("Research institute"),
    OrganisationKind.LARGE_ENTERPRISE: _("Large enterprise"),
    OrganisationKind.SME: _("SME"),
    OrganisationKind.START_UP: _("Start-up"),
    OrganisationKind.SOCIETY: _("Society / public body"),
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
        return str(STATE_NAMES[self])


STATE_NAMES = {
    FederalState.BW: _("Baden-Württemberg"),
    FederalState.BY: _("Bavaria"),
    FederalState.BE: _("Berlin"),
    FederalState.BB: _("Brandenburg"),
    FederalState.HB: _("Bremen"),
    FederalState.HH: _("Hamburg"),
    FederalState.HE: _("Hesse"),
    FederalState.MV: _("Mecklenburg-Western Pomerania"),
    FederalState.NI: _("Lower Saxony"),
    FederalState.NW: _("North Rhine-Westphalia"),
    FederalState.RP: _("Rhineland-Palatinate"),
    FederalState.SL: _("Saarland"),
    FederalState.SN: _("Saxony"),
    FederalState.ST: _("Saxony-Anhalt"),
    FederalState.SH: _("Schleswig-Holstein"),
    FederalState.TH: _("Thuringia"),
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
    # A duplicate merged into another organisation: kept, so history and frozen versions still
    # name it, but no longer offered; every reference moved to the one it names.
    merged_into_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("organisations.id", ondelete="RESTRICT"), index=True
    )
