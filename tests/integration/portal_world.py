"""What the portal tests share: programmes with published rounds, an open call, and funded
consortia made by the grants factory (a grant the consortium accepted is what the public sees;
taking a proposal through review and publication would cost seconds and show nothing more).

``build_world`` (inside an app context; commits):

- Clusters4Future (every field public) with an open round: a running project grant of a
  consortium coordinated by TU Dresden, with Fraunhofer IWS and a Brandenburg SME whose name
  is withheld, on the sub-topic "Electrolysis" of the cluster "Hydrogen", three years from
  2027 at 100.000,00 € a partner and year (900.000,00 € in all); and a closed concept phase of
  another consortium in 2025.
- An innovation alliance that publishes every field but the funding, with a running grant.
- A programme of many small consortia, for paging.
- go-cluster, a membership programme.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from competition.accounts.models import Role
from competition.db import utcnow
from competition.extensions import db
from competition.grants.models import GrantKind, GrantState
from competition.organisations.models import FederalState, OrganisationKind
from competition.programmes.models import CallState, ProgrammeKind, PublicField
from competition.proposals.models import ProposalState
from tests.factories import (
    make_call,
    make_grant,
    make_organisation,
    make_programme,
    make_proposal,
    make_stage,
    make_topic,
    make_user,
)
from tests.helpers import Person, person

# A filler programme holds this many consortia: two pages of the list.
MANY = 26
PER_PARTNER_YEAR = Decimal("100000.00")
ALLIANCE_PER_PARTNER_YEAR = Decimal("2109876.00")


@dataclass(frozen=True)
class World:
    programme_slug: str
    alliance_slug: str
    many_slug: str
    membership_slug: str
    open_call_id: int
    project_grant: int
    concept_grant: int
    alliance_grant: int
    offered_grant: int
    hydrogen: str  # topic slugs
    electrolysis: str
    applicant: Person


def _funded(call, *, acronym, title, abstract, members, topics=(), **grant):  # type: ignore[no-untyped-def]
    """A proposal of ``members`` (organisation, name withheld) and its grant; the first member
    coordinates."""
    proposal = make_proposal(
        call,
        organisations=tuple(org for org, _ in members),
        acronym=acronym,
        title=title,
        abstract=abstract,
        state=ProposalState.FUNDED,
    )
    for member, (_, withheld) in zip(proposal.members, members, strict=True):
        member.name_withheld = withheld
    proposal.topics.extend(topics)
    return make_grant(proposal, **grant)


def build_world() -> World:
    now = utcnow()
    applicant = make_user(roles=(Role.APPLICANT,), name="Ada Applicant", locale="en")
    programme = make_programme(
        slug="clusters4future",
        name="Clusters4Future",
        description="Regional innovation networks that bring research to application.",
        total_budget=Decimal("630000000.00"),
    )
    round_1 = make_call(programme, name="Clusters4Future round 1")
    days = dt.timedelta(days=1)
    make_stage(round_1, opens_at=now - 400 * days, closes_at=now - 300 * days)
    open_round = make_call(programme, name="Clusters4Future round 2")
    make_stage(open_round, opens_at=now - 5 * days, closes_at=now + 20 * days)
    # A draft round stays off the portal.
    make_call(programme, name="Draft round 3, not public", state=CallState.DRAFT)
    hydrogen = make_topic(slug="hydrogen", name_en="Hydrogen", name_de="Wasserstoff")
    electrolysis = make_topic(
        slug="electrolysis", name_en="Electrolysis", name_de="Elektrolyse", parent_id=hydrogen.id
    )
    dresden = make_organisation(
        name="Technische Universität Dresden",
        kind=OrganisationKind.UNIVERSITY,
        federal_state=FederalState.SN,
    )
    iws = make_organisation(
        name="Fraunhofer IWS",
        kind=OrganisationKind.RESEARCH_INSTITUTE,
        federal_state=FederalState.SN,
    )
    hidden = make_organisation(
        name="Verschwiegen Elektrolyse GmbH",
        kind=OrganisationKind.SME,
        federal_state=FederalState.BB,
    )
    project = _funded(
        round_1,
        acronym="H2LAUSITZ",
        title="Green hydrogen for the Lausitz",
        abstract="Electrolysers powered by the wind of the Lausitz feed the regional industry.",
        members=((dresden, False), (iws, False), (hidden, True)),
        topics=(electrolysis,),
        starts_on=dt.date(2027, 1, 1),
        per_member_year=PER_PARTNER_YEAR,
    )
    concept = _funded(
        round_1,
        acronym="BATTERYNET",
        title="Battery recycling network",
        abstract="Closing the loop of battery materials in Saxony.",
        members=((make_organisation(name="Recycling Chemnitz e.V."), False),),
        topics=(hydrogen,),
        kind=GrantKind.CONCEPT,
        state=GrantState.CLOSED,
        years=1,
        starts_on=dt.date(2025, 1, 1),
        per_member_year=Decimal("250000.00"),
    )
    offered = _funded(
        round_1,
        acronym="NOTYET",
        title="Offered but not answered",
        abstract="Waiting for the consortium's answer.",
        members=((make_organisation(name="Zögerlich AG"), False),),
        state=GrantState.OFFERED,
    )

    alliance = make_programme(
        slug="alliance",
        name="Innovation alliance",
        total_budget=Decimal("50000000.00"),
        public_fields=[f.value for f in PublicField if f != PublicField.FUNDING],
    )
    alliance_call = make_call(alliance, name="Alliance call", state=CallState.CLOSED)
    alliance_grant = _funded(
        alliance_call,
        acronym="LIBALLY",
        title="Lithium battery alliance",
        abstract="Cells made in Germany.",
        members=((make_organisation(name="Allianz Zellfabrik GmbH"), False),),
        years=1,
        starts_on=dt.date(2026, 1, 1),
        per_member_year=ALLIANCE_PER_PARTNER_YEAR,
    )

    many = make_programme(slug="many", name="Many small consortia")
    many_call = make_call(many, name="Many call")
    for n in range(MANY):
        proposal = make_proposal(
            many_call, acronym=f"SMALL{n:02d}", title=f"Small consortium {n:02d}"
        )
        make_grant(proposal, years=1, starts_on=dt.date(2026, 1, 1) + dt.timedelta(days=n))

    go_cluster = make_programme(
        slug="go-cluster",
        name="go-cluster",
        kind=ProgrammeKind.MEMBERSHIP,
        total_budget=Decimal("0"),
    )
    db.session.commit()
    return World(
        programme_slug=programme.slug,
        alliance_slug=alliance.slug,
        many_slug=many.slug,
        membership_slug=go_cluster.slug,
        open_call_id=open_round.id,
        project_grant=project.id,
        concept_grant=concept.id,
        alliance_grant=alliance_grant.id,
        offered_grant=offered.id,
        hydrogen=hydrogen.slug,
        electrolysis=electrolysis.slug,
        applicant=person(applicant),
    )
