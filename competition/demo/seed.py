"""The seeded demo competition: Clusters4Future with two rounds and 254 submitted outlines.

Everything is generated from :mod:`competition.demo.names` with one fixed random seed and fixed
dates, so every run produces the same data; ``now`` dates only the audit events and the jury's
answers. The caller owns the transaction: this module adds and flushes rows but never commits, so
run it inside an operation (the refresh of automatic conflicts joins it).
"""

from __future__ import annotations

import copy
import datetime as dt
import random
import unicodedata
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from competition.accounts.models import Role, User, UserRole, UserStatus
from competition.assignment.models import (
    Conflict,
    ConflictSource,
    JurorProfile,
    JuryMembership,
    MembershipState,
)
from competition.assignment.operations import refresh_automatic_conflicts
from competition.audit.operations import record_event
from competition.demo import names
from competition.extensions import db
from competition.organisations.models import (
    EASTERN_STATES,
    FederalState,
    Organisation,
    OrganisationKind,
)
from competition.programmes.models import (
    Call,
    CallState,
    Criterion,
    Programme,
    ProgrammeOfficer,
    Stage,
    StageKind,
    Topic,
    TopicKind,
)
from competition.proposals import snapshot
from competition.proposals.models import (
    BudgetLine,
    ConsortiumMember,
    ContributorRole,
    MemberRole,
    Proposal,
    ProposalContributor,
    ProposalState,
    StageSubmission,
    SubmissionState,
    SubmissionVersion,
)

PROGRAMME_SLUG = "clusters4future"
SEED = 20211
K = OrganisationKind


def _utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=dt.UTC)


def _berlin(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    """A deadline as the ministry announces it, in Berlin time, stored as UTC."""
    local = dt.datetime(year, month, day, hour, minute, tzinfo=ZoneInfo("Europe/Berlin"))
    return local.astimezone(dt.UTC)


PROGRAMME_CREATED_AT = _utc(2025, 11, 3, 9)
ACCOUNTS_CREATED_AT = _utc(2026, 1, 15, 9)
EMAIL_CONFIRMED_AT = _utc(2026, 1, 15, 9, 30)
# Round 2's outline window is still open on the demo's reference day (2026-11-21): dating a
# submission after it would show receipts from the future, so round 2 stops here.
ROUND_2_SUBMITTED_BY = _utc(2026, 11, 20, 18)

ORGANISATION_COUNTS: dict[OrganisationKind, int] = {
    K.UNIVERSITY: 60,
    K.RESEARCH_INSTITUTE: 60,
    K.LARGE_ENTERPRISE: 60,
    K.SME: 150,
    K.START_UP: 60,
    K.SOCIETY: 60,
}
ACADEMIC = (K.UNIVERSITY, K.RESEARCH_INSTITUTE)
INDUSTRY = (K.LARGE_ENTERPRISE, K.SME, K.START_UP)
JURORS = 60
# The jury draws from its own stream, so that changing it leaves the proposals as they are.
JURY_SEED = SEED + 1
INVITED_ONLY = 2  # juror1 and juror2 have yet to accept: a demo user walks through it
FORMER_ORGANISATION_SHARE = 6  # one juror in six moved from another organisation recently
REDUCED_LOADS = (6, 8, 8, 10)  # a few jurors review fewer outlines than the stage allows
JUROR_TOPIC_COUNTS = ((2, 4), (3, 4), (4, 2))  # (number of topics, weight)
DECLARED_CONFLICTS = 10
DECLARING_JURORS = 7
EASTERN_COORDINATOR_SHARE = 0.2

# How consortia are drawn: coordinator kinds, sizes (3..12 members) and partner kinds.
COORDINATOR_KINDS = ((K.UNIVERSITY, 45), (K.RESEARCH_INSTITUTE, 35), (K.LARGE_ENTERPRISE, 13))
COORDINATOR_KINDS += ((K.SME, 7),)
MEMBER_COUNT_WEIGHTS = (6, 10, 13, 14, 13, 11, 9, 7, 5, 4)
PARTNER_KIND_WEIGHTS = {
    K.UNIVERSITY: 14,
    K.RESEARCH_INSTITUTE: 14,
    K.LARGE_ENTERPRISE: 14,
    K.SME: 30,
    K.START_UP: 12,
    K.SOCIETY: 16,
}
LOCAL_PARTNER_SHARE = 0.55  # clusters are regional: most partners come from the coordinator's state
CLUSTER_WEIGHTS = {"energy": 24, "health": 22, "ict-media": 20, "photonics": 16, "mobility": 18}

# Budget: public funding share weights and own-contribution rates (of public funding) per kind.
PUBLIC_WEIGHT = {
    K.UNIVERSITY: 1.0,
    K.RESEARCH_INSTITUTE: 1.0,
    K.LARGE_ENTERPRISE: 0.6,
    K.SME: 0.35,
    K.START_UP: 0.25,
    K.SOCIETY: 0.2,
}
OWN_RATE = {
    K.UNIVERSITY: (0.0, 0.05),
    K.RESEARCH_INSTITUTE: (0.03, 0.1),
    K.LARGE_ENTERPRISE: (0.9, 1.4),
    K.SME: (0.5, 0.9),
    K.START_UP: (0.25, 0.5),
    K.SOCIETY: (0.1, 0.3),
}
COORDINATOR_WEIGHT = 2.2
PUBLIC_TOTAL_THOUSANDS = (8_000, 45_000, 16_000)  # low, high, mode (thousand euro)
YEARS = (1, 2, 3)  # the competition's budgets cover the first phase

# Life after the decision, as Clusters4Future funds it: each finalist's six-month concept phase
# with a set amount (it counts as committed money, so the line at the hearing has that much less
# to give; at 250,000 EUR the 31 concept phases take 7.75 M EUR and both rounds still fund their
# seven winners), the winners' grants over nine years in phases of three (an interim evaluation
# at the end of each), and payments above 500,000 EUR confirmed by a second officer.
CONCEPT_GRANT_AMOUNT = Decimal("250000.00")
CONCEPT_GRANT_MONTHS = 6
GRANT_YEARS = 9
PHASE_YEARS = 3
PAYMENT_THRESHOLD = Decimal("500000.00")

KIND_COUNT_LABELS = {
    K.UNIVERSITY: ("university", "universities"),
    K.RESEARCH_INSTITUTE: ("research institute", "research institutes"),
    K.LARGE_ENTERPRISE: ("large enterprise", "large enterprises"),
    K.SME: ("SME", "SMEs"),
    K.START_UP: ("start-up", "start-ups"),
    K.SOCIETY: ("public body or society", "public bodies and societies"),
}

OUTLINE_SECTIONS = [
    {"key": "strategy", "title": "Clusterstrategie", "max_chars": 12000},
    {"key": "consortium", "title": "Verbund und Partner", "max_chars": 6000},
    {"key": "impact", "title": "Erwartete Wirkung", "max_chars": 6000},
]
FULL_SECTIONS = [
    {"key": "strategy", "title": "Clusterstrategie", "max_chars": 20000},
    {"key": "consortium", "title": "Verbund und Partner", "max_chars": 10000},
    {"key": "impact", "title": "Erwartete Wirkung", "max_chars": 10000},
    {"key": "work_plan", "title": "Arbeitsplan", "max_chars": 30000},
]
OUTLINE_ATTACHMENTS = [
    {
        "key": "letters",
        "title": "Absichtserklärungen",
        "required": False,
        "max_pages": 20,
        "max_bytes": 10_485_760,
    }
]
FULL_ATTACHMENTS = [
    {
        "key": "budget_plan",
        "title": "Ausführlicher Finanzplan",
        "required": True,
        "max_pages": 30,
        "max_bytes": 10_485_760,
    },
    {
        "key": "cvs",
        "title": "Lebensläufe der Schlüsselpersonen",
        "required": True,
        "max_pages": 40,
        "max_bytes": 20_971_520,
    },
]
# (name, weight, description, threshold); every criterion is scored 0..5 in steps of 0.5.
REVIEW_CRITERIA: tuple[tuple[str, str, str, str | None], ...] = (
    (
        "Exzellenz und Innovation",
        "0.4",
        "Wie weit Forschung und Innovation des Clusters über den Stand der Technik hinausgehen.",
        "3",
    ),
    (
        "Clusterstrategie und -struktur",
        "0.3",
        "Wie überzeugend die gemeinsame Strategie, die Steuerung und die Rollen der Partner sind.",
        "3",
    ),
    (
        "Wirkung und Transfer",
        "0.3",
        "Wie wahrscheinlich das Cluster Wertschöpfung, Arbeitsplätze und Transfer in seiner "
        "Region und darüber hinaus schafft.",
        "3",
    ),
)
HEARING_CRITERIA: tuple[tuple[str, str, str, str | None], ...] = (
    (
        "Gesamteindruck",
        "1",
        "Das Gesamturteil der Jury über das Cluster nach Präsentation und Diskussion.",
        None,
    ),
)

PROGRAMME_DESCRIPTION = (
    "Clusters4Future ist ein Wettbewerb des Bundes für regionale Innovationsnetzwerke, in denen "
    "Wissenschaft, Wirtschaft und Gesellschaft gemeinsam an den Technologien von morgen arbeiten. "
    "Die Gewinner-Cluster werden bis zu neun Jahre in drei Phasen von je drei Jahren gefördert; "
    "jede Phase endet mit einer Zwischenevaluation."
)


@dataclass(frozen=True)
class RoundSpec:
    number: int
    proposals: int
    created_at: dt.datetime
    outline: tuple[dt.datetime, dt.datetime]
    full: tuple[dt.datetime, dt.datetime]
    hearing: tuple[dt.datetime, dt.datetime]
    outline_target: int
    full_target: int
    outline_reviews_due: dt.datetime | None  # None while the outlines are still coming in
    submitted_by: dt.datetime  # no outline is dated later than this
    rush_share: float  # share of outlines sent in the week before submitted_by
    description: str

    @property
    def prefix(self) -> str:
        return f"C4F{self.number}"


ROUNDS = (
    RoundSpec(
        number=1,
        proposals=137,
        created_at=_utc(2025, 12, 1, 9),
        outline=(_utc(2026, 2, 2, 8), _utc(2026, 6, 30, 10)),
        full=(_utc(2026, 8, 1), _utc(2027, 1, 31, 10)),
        hearing=(_utc(2027, 3, 1), _utc(2027, 3, 31)),
        outline_target=16,
        full_target=7,
        outline_reviews_due=_berlin(2026, 12, 18, 16),
        submitted_by=_utc(2026, 6, 30, 10),
        rush_share=0.6,
        description=(
            "Erste Runde von Clusters4Future. Verbünde reichen eine Skizze ein; die Jury wählt "
            "Finalisten aus, die eine sechsmonatige Konzeptionsphase gefördert bekommen, danach "
            "einen Vollantrag einreichen und ihn der Jury vorstellen."
        ),
    ),
    RoundSpec(
        number=2,
        proposals=117,
        created_at=_utc(2026, 6, 15, 9),
        outline=(_utc(2026, 9, 1, 8), _utc(2027, 2, 26, 10)),
        full=(_utc(2027, 5, 3), _utc(2027, 10, 29, 10)),
        hearing=(_utc(2027, 12, 1), _utc(2027, 12, 17)),
        outline_target=15,
        full_target=7,
        outline_reviews_due=None,
        submitted_by=ROUND_2_SUBMITTED_BY,
        rush_share=0.2,
        description=(
            "Zweite Runde von Clusters4Future, offen für neue Verbünde und für Verbünde, die in "
            "der ersten Runde nicht ausgewählt wurden. Das Verfahren entspricht dem der Runde 1."
        ),
    ),
)


@dataclass(frozen=True)
class SeedSummary:
    """What the demo consists of; demo accounts that already existed are counted too."""

    programmes: int
    calls: int
    proposals: int
    organisations: int
    users: int
    jurors: int
    applicants: int
    budget_lines: int
    members: int
    jury_places: int
    conflicts: int


@dataclass(frozen=True)
class _Line:
    """One budget line before it has ids; inserted in bulk once members have theirs."""

    submission: StageSubmission
    member: ConsortiumMember
    year: int
    public_funding: Decimal
    own_contribution: Decimal


@dataclass
class _People:
    """Hands out person names; account holders get names no other account holder has."""

    rng: random.Random
    taken: set[str] = field(default_factory=set)

    def any(self) -> tuple[str, str]:
        return self.rng.choice(names.FIRST_NAMES), self.rng.choice(names.LAST_NAMES)

    def unique(self) -> tuple[str, str]:
        for _ in range(1000):
            first, last = self.any()
            if f"{first} {last}" not in self.taken:
                self.taken.add(f"{first} {last}")
                return first, last
        raise RuntimeError("ran out of distinct person names")


def seed_demo(*, password_hash: str, now: dt.datetime) -> SeedSummary | None:
    """Add the Clusters4Future demo competition; None (and no change) if it is already there.

    Side effects: adds topics, organisations, accounts, the programme with two calls, 254
    submitted outlines with consortia and budgets, juror profiles, the round-1 jury (58 accepted
    with their conflicts declared, two still invited) with automatic and declared conflicts, the
    audit events ``conflicts.automatic_refreshed`` and ``demo.seeded``; flushes, never commits.
    """
    session = db.session
    exists = session.scalar(sa.select(Programme.id).where(Programme.slug == PROGRAMME_SLUG))
    if exists is not None:
        return None
    rng = random.Random(SEED)
    people = _People(rng)

    topics = _topics()
    organisations = _organisations(rng)
    session.add_all(organisations)
    session.flush()

    accounts: list[tuple[str, str, tuple[Role, ...], int | None]] = [
        ("officer@demo.test", "Olivia Officer", (Role.OFFICER, Role.ADMIN), None),
        ("officer2@demo.test", "Oskar Second-Officer", (Role.OFFICER,), None),
    ]
    people.taken.update({"Olivia Officer", "Oskar Second-Officer"})
    juror_pool = [o for o in organisations if o.kind in (*ACADEMIC, K.LARGE_ENTERPRISE)]
    juror_organisations = rng.sample(juror_pool, JURORS)
    for n, org in enumerate(juror_organisations, start=1):
        first, last = people.unique()
        title = rng.choices(("Prof. Dr. ", "Dr. ", ""), weights=(45, 40, 15))[0]
        accounts.append((f"juror{n}@demo.test", f"{title}{first} {last}", (Role.JUROR,), org.id))

    programme = Programme(
        slug=PROGRAMME_SLUG,
        name="Clusters4Future",
        description=PROGRAMME_DESCRIPTION,
        total_budget=Decimal("630000000.00"),
        currency="EUR",
        payment_threshold=PAYMENT_THRESHOLD,
        payments_wait_for_reports=True,
        created_at=PROGRAMME_CREATED_AT,
    )
    calls: list[Call] = []
    proposals: list[Proposal] = []
    builder = _ProposalBuilder(rng, people, organisations, topics)
    for spec in ROUNDS:
        call = _call(programme, spec)
        calls.append(call)
        outline = call.stages[0]
        for proposal, applicant_name in builder.build_round(call, outline, spec):
            proposals.append(proposal)
            number = len(proposals)
            accounts.append(
                (
                    f"applicant{number}@demo.test",
                    applicant_name,
                    (Role.APPLICANT,),
                    proposal.members[0].organisation.id,
                )
            )

    users = _users(accounts, password_hash=password_hash)
    session.add_all(users.values())
    session.flush()
    _give_topics(programme, topics)

    officer = users["officer@demo.test"]
    programme.officer_rows = [
        ProgrammeOfficer(user_id=officer.id),
        ProgrammeOfficer(user_id=users["officer2@demo.test"].id),
    ]
    for number, proposal in enumerate(proposals, start=1):
        applicant = users[f"applicant{number}@demo.test"]
        proposal.created_by_id = applicant.id
        proposal.contributors = [
            ProposalContributor(user_id=applicant.id, role=ContributorRole.COORDINATOR)
        ]
    session.add(programme)
    session.add_all(calls)
    session.add_all(proposals)
    session.flush()
    # ~5,000 rows: a bulk insert is several times faster than flushing one object per line.
    session.execute(
        sa.insert(BudgetLine),
        [
            {
                "submission_id": line.submission.id,
                "member_id": line.member.id,
                "year": line.year,
                "public_funding": line.public_funding,
                "own_contribution": line.own_contribution,
            }
            for line in builder.budget_lines
        ],
    )

    _freeze_versions(proposals)

    jurors = [
        (users[f"juror{n}@demo.test"], org) for n, org in enumerate(juror_organisations, start=1)
    ]
    jury = _Jury(random.Random(JURY_SEED), topics, juror_pool)
    places, conflicts = jury.seed(
        calls[0],
        [p for p in proposals if p.call is calls[0]],
        jurors,
        officer=officer,
        now=now,
    )

    summary = SeedSummary(
        programmes=1,
        calls=len(calls),
        proposals=len(proposals),
        organisations=len(organisations),
        users=len(accounts),
        jurors=JURORS,
        applicants=len(proposals),
        budget_lines=len(builder.budget_lines),
        members=sum(len(p.members) for p in proposals),
        jury_places=places,
        conflicts=conflicts,
    )
    record_event(
        actor=officer,
        action="demo.seeded",
        object_type="programme",
        object_id=programme.id,
        after=asdict(summary),
        now=now,
    )
    return summary


def _freeze_versions(proposals: list[Proposal]) -> None:
    """Give every seeded outline the frozen version and receipt a real submission makes."""
    session = db.session
    by_id = {p.submissions[0].id: p for p in proposals}
    submissions = session.scalars(
        sa.select(StageSubmission)
        .where(StageSubmission.id.in_(by_id))
        .options(
            selectinload(StageSubmission.budget_lines), selectinload(StageSubmission.attachments)
        )
        .execution_options(populate_existing=True)
    ).all()
    for submission in submissions:
        proposal = by_id[submission.id]
        content = snapshot.snapshot(proposal, submission)
        digest = snapshot.content_hash(content)
        submission.content_hash = digest
        session.add(
            SubmissionVersion(
                submission_id=submission.id,
                number=1,
                content=content,
                content_hash=digest,
                receipt_code=f"{proposal.reference}-S1-V1-{digest[:6].upper()}",
                idempotency_key=f"demo-{proposal.reference}",
                submitted_at=submission.submitted_at,
                submitted_by_id=proposal.created_by_id,
            )
        )
    session.flush()


# --- reference data ----------------------------------------------------------------------------


def _topics() -> dict[str, Topic]:
    """The five clusters and the finer topics; rows that already exist are reused."""
    wanted = list(names.CLUSTERS)
    wanted += [(slug, en, de) for slug, en, de, _cluster in names.FINE_TOPICS]
    slugs = [slug for slug, _en, _de in wanted]
    found = {t.slug: t for t in db.session.scalars(sa.select(Topic).where(Topic.slug.in_(slugs)))}
    topics = {
        slug: found.get(slug) or Topic(slug=slug, name_en=en, name_de=de) for slug, en, de in wanted
    }
    db.session.add_all(t for t in topics.values() if t.slug not in found)
    return topics


def _give_topics(programme: Programme, topics: dict[str, Topic]) -> None:
    """The clusters and their finer topics become the programme's taxonomy (two levels, in the
    order of ``names``), so its officers manage them; topics some other programme had already
    keep their place."""
    db.session.flush()
    own = [t for t in topics.values() if t.programme_id is None and t.parent_id is None]
    for position, (slug, _en, _de) in enumerate(names.CLUSTERS, start=1):
        topic = topics[slug]
        if topic in own:
            topic.programme_id, topic.kind, topic.position = (
                programme.id,
                TopicKind.CLUSTER,
                position,
            )
    for position, (slug, _en, _de, cluster) in enumerate(names.FINE_TOPICS, start=1):
        topic = topics[slug]
        if topic in own and topics[cluster].programme_id == programme.id:
            topic.programme_id, topic.parent_id = programme.id, topics[cluster].id
            topic.kind, topic.position = TopicKind.CLUSTER, position


def _organisations(rng: random.Random) -> list[Organisation]:
    cities = names.CITIES
    weights = [weight for _city, _state, weight in cities]
    generated: set[str] = set()
    rows: list[tuple[str, OrganisationKind, str]] = []
    for kind, count in ORGANISATION_COUNTS.items():
        made = 0
        for _attempt in range(count * 50):
            if made == count:
                break
            city, state, _weight = rng.choices(cities, weights)[0]
            name = _organisation_name(rng, kind, city)
            if name in generated:
                continue  # redraw: the random stream stays the same on every run
            generated.add(name)
            rows.append((name, kind, state))
            made += 1
        else:
            raise RuntimeError(f"could not name {count} organisations of kind {kind}")
    # A registry that is not empty may already hold a generated name; suffix ours, without
    # touching the random stream, so the rest of the data stays the same.
    existing = set(
        db.session.scalars(
            sa.select(Organisation.name).where(
                Organisation.name.in_([name for name, _, _ in rows]), Organisation.country == "DE"
            )
        )
    )
    organisations = []
    for name, kind, state in rows:
        unique = name
        counter = 1
        while unique in existing or (unique != name and unique in generated):
            counter += 1
            unique = f"{name} ({counter})"
        organisations.append(
            Organisation(
                name=unique,
                kind=kind,
                federal_state=FederalState[state],
                country="DE",
                created_at=ACCOUNTS_CREATED_AT,
            )
        )
    return organisations


def _organisation_name(rng: random.Random, kind: OrganisationKind, city: str) -> str:
    if kind == K.UNIVERSITY:
        return rng.choice(names.UNIVERSITY_PATTERNS).format(city=city)
    if kind == K.RESEARCH_INSTITUTE:
        return rng.choice(names.RESEARCH_PATTERNS).format(
            city=city, field=rng.choice(names.RESEARCH_FIELDS), founder=rng.choice(names.FOUNDERS)
        )
    if kind == K.LARGE_ENTERPRISE:
        return f"{_company_stem(rng)} {rng.choice(names.LARGE_ENTERPRISE_FORMS)}"
    if kind == K.SME:
        if rng.random() < 0.5:
            stem = _company_stem(rng)
        else:
            stem = f"{rng.choice(names.LAST_NAMES)} {rng.choice(names.SME_TRADES)}"
        return f"{stem} {rng.choice(names.SME_FORMS)}"
    if kind == K.START_UP:
        return f"{rng.choice(names.START_UP_STEMS)} {rng.choice(names.START_UP_FORMS)}"
    return rng.choice(names.SOCIETY_PATTERNS).format(city=city)


def _company_stem(rng: random.Random) -> str:
    return rng.choice(names.COMPANY_PREFIXES) + rng.choice(names.COMPANY_SUFFIXES)


def _users(
    accounts: Sequence[tuple[str, str, tuple[Role, ...], int | None]], *, password_hash: str
) -> dict[str, User]:
    """Demo accounts by e-mail; an account that already exists keeps its password and gains
    the demo roles it lacks."""
    emails = [email for email, _, _, _ in accounts]
    found = {u.email: u for u in db.session.scalars(sa.select(User).where(User.email.in_(emails)))}
    users: dict[str, User] = {}
    for email, name, roles, organisation_id in accounts:
        user = found.get(email)
        if user is None:
            user = User(
                email=email,
                name=name,
                password_hash=password_hash,
                status=UserStatus.ACTIVE,
                email_confirmed_at=EMAIL_CONFIRMED_AT,
                created_at=ACCOUNTS_CREATED_AT,
                organisation_id=organisation_id,
                role_rows=[],
            )
        for role in roles:
            if role not in user.roles:
                user.role_rows.append(UserRole(role=role, granted_at=ACCOUNTS_CREATED_AT))
        users[email] = user
    return users


def _call(programme: Programme, spec: RoundSpec) -> Call:
    # Each stage gets its own copies: JSON values shared between rows would be mutated together.
    stages = [
        Stage(
            position=1,
            kind=StageKind.OUTLINE,
            name="Skizze",
            opens_at=spec.outline[0],
            closes_at=spec.outline[1],
            required_sections=copy.deepcopy(OUTLINE_SECTIONS),
            attachment_rules=copy.deepcopy(OUTLINE_ATTACHMENTS),
            reviewers_per_proposal=4,
            max_load_per_juror=12,
            selection_target=spec.outline_target,
            reviews_due_at=spec.outline_reviews_due,
            concept_grant_amount=CONCEPT_GRANT_AMOUNT,
            concept_grant_months=CONCEPT_GRANT_MONTHS,
            criteria=[_criterion(i, *c) for i, c in enumerate(REVIEW_CRITERIA, start=1)],
        ),
        Stage(
            position=2,
            kind=StageKind.FULL_PROPOSAL,
            name="Vollantrag (Strategie und Finanzplan)",
            opens_at=spec.full[0],
            closes_at=spec.full[1],
            required_sections=copy.deepcopy(FULL_SECTIONS),
            attachment_rules=copy.deepcopy(FULL_ATTACHMENTS),
            reviewers_per_proposal=5,
            max_load_per_juror=10,
            selection_target=spec.full_target,
            criteria=[_criterion(i, *c) for i, c in enumerate(REVIEW_CRITERIA, start=1)],
        ),
        Stage(
            position=3,
            kind=StageKind.HEARING,
            name="Jury-Anhörung",
            opens_at=spec.hearing[0],
            closes_at=spec.hearing[1],
            required_sections=[],
            attachment_rules=[],
            reviewers_per_proposal=5,
            max_load_per_juror=16,
            selection_target=None,
            criteria=[_criterion(i, *c) for i, c in enumerate(HEARING_CRITERIA, start=1)],
        ),
    ]
    return Call(
        programme=programme,
        round_number=spec.number,
        name=f"Clusters4Future – Runde {spec.number}",
        reference_prefix=spec.prefix,
        description=spec.description,
        state=CallState.PUBLISHED,
        max_public_funding_per_proposal=Decimal("45000000.00"),
        budget_years=GRANT_YEARS,
        phase_years=PHASE_YEARS,
        min_private_share=None,
        funding_rates={},
        region_scope=[],
        created_at=spec.created_at,
        stages=stages,
    )


def _criterion(
    position: int, name: str, weight: str, description: str, threshold: str | None
) -> Criterion:
    return Criterion(
        position=position,
        name=name,
        description=description,
        weight=Decimal(weight),
        scale_min=Decimal("0"),
        scale_max=Decimal("5"),
        scale_step=Decimal("0.5"),
        threshold=Decimal(threshold) if threshold is not None else None,
    )


# --- jury --------------------------------------------------------------------------------------


class _Jury:
    """Juror profiles for every demo juror and the round-1 jury with its conflicts."""

    def __init__(
        self, rng: random.Random, topics: dict[str, Topic], pool: Sequence[Organisation]
    ) -> None:
        self.rng = rng
        self.topics = topics
        self.pool = pool

    def seed(
        self,
        call: Call,
        proposals: Sequence[Proposal],
        jurors: Sequence[tuple[User, Organisation]],
        *,
        officer: User,
        now: dt.datetime,
    ) -> tuple[int, int]:
        """Add profiles, places and conflicts; return (jury places, conflicts)."""
        session = db.session
        rng = self.rng
        count = len(jurors)
        movers = set(rng.sample(range(count), count // FORMER_ORGANISATION_SHARE))
        loads = dict(zip(rng.sample(range(count), len(REDUCED_LOADS)), REDUCED_LOADS, strict=True))
        # A demo account that already existed keeps the profile its owner wrote.
        kept = set(
            session.scalars(
                sa.select(JurorProfile.user_id).where(
                    JurorProfile.user_id.in_([user.id for user, _ in jurors])
                )
            )
        )
        expertise: dict[int, tuple[set[int], set[str]]] = {}
        profiles = []
        for index, (user, org) in enumerate(jurors):
            # Drawn for every juror, kept or not, so the stream stays the same.
            former = []
            if index in movers:
                former = [rng.choice([o for o in self.pool if o is not org]).id]
            slugs = self._topics(org)
            text = self._expertise_text(org, slugs)
            affiliation = user.organisation_id
            expertise[user.id] = ({o for o in (affiliation, *former) if o is not None}, set(slugs))
            if user.id in kept:
                continue
            profiles.append(
                JurorProfile(
                    user_id=user.id,
                    affiliation_id=affiliation,
                    former_organisation_ids=former,
                    topics=[self.topics[slug] for slug in slugs],
                    expertise_text=text,
                    max_load=loads.get(index),
                    updated_at=now,
                )
            )
        session.add_all(profiles)

        places = []
        for index, (user, _) in enumerate(jurors):
            answered = None if index < INVITED_ONLY else now
            places.append(
                {
                    "call_id": call.id,
                    "user_id": user.id,
                    "state": MembershipState.ACCEPTED if answered else MembershipState.INVITED,
                    "invited_by_id": officer.id,
                    "invited_at": now,
                    "responded_at": answered,
                    "conflicts_declared_at": answered,
                }
            )
        session.execute(sa.insert(JuryMembership), places)
        session.flush()
        added, _removed = refresh_automatic_conflicts(call, now=now)
        accepted = [user for user, _ in jurors[INVITED_ONLY:]]
        declared = self._declared(accepted, proposals, expertise, now=now)
        session.add_all(declared)
        session.flush()
        return len(jurors), added + len(declared)

    def _topics(self, org: Organisation) -> list[str]:
        """A main cluster, then its finer topics; a neighbouring cluster when they run out."""
        rng = self.rng
        cluster = rng.choices(list(CLUSTER_WEIGHTS), weights=list(CLUSTER_WEIGHTS.values()))[0]
        counts, weights = zip(*JUROR_TOPIC_COUNTS, strict=True)
        wanted = rng.choices(counts, weights=weights)[0]
        fine = [slug for slug, _en, _de, parent in names.FINE_TOPICS if parent == cluster]
        slugs = [cluster, *rng.sample(fine, min(wanted - 1, len(fine)))]
        if len(slugs) < wanted:
            slugs.append(rng.choice([c for c in CLUSTER_WEIGHTS if c != cluster]))
        return slugs

    def _expertise_text(self, org: Organisation, slugs: Sequence[str]) -> str:
        rng = self.rng
        cluster = slugs[0]
        side = "academic" if org.kind in ACADEMIC else "industry"
        opening = rng.choice(names.EXPERTISE_OPENINGS[side]).format(
            field=_lower_first(self.topics[cluster].name_en),
            topics=_join_names([_lower_first(self.topics[slug].name_en) for slug in slugs[1:]]),
            tech=_lower_first(rng.choice(names.TECHNOLOGIES[cluster])),
            application=rng.choice(names.APPLICATIONS[cluster]),
        )
        record = rng.choice(names.EXPERTISE_RECORDS).format(years=rng.choice(names.EXPERTISE_YEARS))
        return f"{opening} {record}"

    def _declared(
        self,
        accepted: Sequence[User],
        proposals: Sequence[Proposal],
        expertise: dict[int, tuple[set[int], set[str]]],
        *,
        now: dt.datetime,
    ) -> list[Conflict]:
        """Conflicts a few jurors declared: with proposals in their field (that is where they
        know people) and not already in conflict through their organisations."""
        rng = self.rng
        declarers = rng.sample(list(accepted), DECLARING_JURORS)
        taken: set[tuple[int, int]] = set()
        conflicts = []
        for number in range(DECLARED_CONFLICTS):
            user = declarers[number % DECLARING_JURORS]
            organisations, slugs = expertise[user.id]
            candidates = [
                p
                for p in proposals
                if (user.id, p.id) not in taken
                and slugs & {t.slug for t in p.topics}
                and not organisations & {m.organisation.id for m in p.members}
            ]
            proposal = rng.choice(candidates)
            taken.add((user.id, proposal.id))
            partners = [m.organisation.name for m in proposal.members[1:]]
            reason = rng.choice(names.DECLARED_CONFLICT_REASONS).format(
                partner=rng.choice(partners)
            )
            conflicts.append(
                Conflict(
                    user_id=user.id,
                    proposal_id=proposal.id,
                    source=ConflictSource.DECLARED,
                    reason=reason,
                    created_by_id=user.id,
                    created_at=now,
                )
            )
        return conflicts


# --- proposals ---------------------------------------------------------------------------------


class _ProposalBuilder:
    def __init__(
        self,
        rng: random.Random,
        people: _People,
        organisations: Sequence[Organisation],
        topics: dict[str, Topic],
    ) -> None:
        self.rng = rng
        self.people = people
        self.topics = topics
        self.budget_lines: list[_Line] = []
        self.by_kind: dict[OrganisationKind, list[Organisation]] = {k: [] for k in K}
        self.by_kind_state: dict[tuple[K, FederalState | None], list[Organisation]] = {}
        for org in organisations:
            self.by_kind[org.kind].append(org)
            self.by_kind_state.setdefault((org.kind, org.federal_state), []).append(org)

    def build_round(
        self, call: Call, outline: Stage, spec: RoundSpec
    ) -> list[tuple[Proposal, str]]:
        rng = self.rng
        count = round(spec.proposals * EASTERN_COORDINATOR_SHARE)
        eastern = set(rng.sample(range(spec.proposals), count))
        acronyms: set[str] = set()
        built = []
        for index in range(spec.proposals):
            built.append(self._proposal(call, outline, spec, index, index in eastern, acronyms))
        return built

    def _proposal(
        self,
        call: Call,
        outline: Stage,
        spec: RoundSpec,
        index: int,
        eastern: bool,
        acronyms: set[str],
    ) -> tuple[Proposal, str]:
        rng = self.rng
        cluster = rng.choices(list(CLUSTER_WEIGHTS), weights=list(CLUSTER_WEIGHTS.values()))[0]
        topic_slugs = [cluster]
        fine = [slug for slug, _en, _de, parent in names.FINE_TOPICS if parent == cluster]
        if rng.random() < 0.6:
            topic_slugs.append(rng.choice(fine))
        if rng.random() < 0.25:
            topic_slugs.append(rng.choice([c for c in CLUSTER_WEIGHTS if c != cluster]))

        consortium = self._consortium(eastern)
        coordinator = consortium[0]
        contacts = [self.people.any() for _ in consortium[1:]]
        applicant = self.people.unique()
        contacts.insert(0, applicant)
        members = [
            ConsortiumMember(
                organisation=org,
                role=MemberRole.COORDINATOR if position == 0 else MemberRole.PARTNER,
                contact_name=f"{first} {last}",
                contact_email=f"{_ascii(first)}.{_ascii(last)}@example.org",
            )
            for position, (org, (first, last)) in enumerate(zip(consortium, contacts, strict=True))
        ]

        acronym = self._acronym(cluster, acronyms)
        state = coordinator.federal_state or FederalState.BE
        words = self._words(cluster, acronym, state, consortium)
        title = rng.choice(names.TITLE_PATTERNS).format(
            Adjective=rng.choice(names.TITLE_ADJECTIVES), **words
        )
        extra = sorted(rng.sample(range(1, len(names.ABSTRACT_SENTENCES)), rng.randint(1, 3)))
        abstract = " ".join(names.ABSTRACT_SENTENCES[i].format(**words) for i in [0, *extra])
        sections = {
            "strategy": self._paragraphs(names.STRATEGY_SENTENCES, 6, words),
            "consortium": self._paragraphs(names.CONSORTIUM_SENTENCES, 5, words, keep_last=True),
            "impact": self._paragraphs(names.IMPACT_SENTENCES, 4, words),
        }

        submitted_at = self._submitted_at(outline, spec)
        days_before = dt.timedelta(seconds=rng.randrange(3 * 86400, 75 * 86400))
        created_at = max(outline.opens_at + dt.timedelta(hours=1), submitted_at - days_before)
        submission = StageSubmission(
            stage=outline,
            state=SubmissionState.SUBMITTED,
            sections=sections,
            submitted_at=submitted_at,
            updated_at=submitted_at,
        )
        budget = self._budget(submission, members)
        # Replaced by the frozen version's hash once the rows have ids (see _freeze_versions).
        submission.content_hash = "0" * 64
        self.budget_lines.extend(budget)
        proposal = Proposal(
            call=call,
            reference=f"{spec.prefix}-{index + 1:03d}",
            acronym=acronym,
            title=title,
            abstract=abstract,
            state=ProposalState.SUBMITTED,
            created_at=created_at,
            updated_at=submitted_at,
            topics=[self.topics[slug] for slug in topic_slugs],
            members=members,
            submissions=[submission],
        )
        return proposal, f"{applicant[0]} {applicant[1]}"

    def _consortium(self, eastern: bool) -> list[Organisation]:
        """Coordinator first, then 2..11 distinct partners, most from the coordinator's state."""
        rng = self.rng
        kinds, kind_weights = zip(*COORDINATOR_KINDS, strict=True)
        kind = rng.choices(kinds, weights=kind_weights)[0]
        pool = [o for o in self.by_kind[kind] if (o.federal_state in EASTERN_STATES) == eastern]
        if not pool:  # cannot happen with the shipped lists; keeps a shorter city list working
            pool = self.by_kind[kind]
        coordinator = rng.choice(pool)
        size = rng.choices(range(3, 13), weights=MEMBER_COUNT_WEIGHTS)[0]

        # A cluster needs both sides: companies for an academic lead, research for a company.
        first = INDUSTRY if kind in ACADEMIC else ACADEMIC
        partner_kinds = [rng.choice(first)]
        partner_kinds += rng.choices(
            list(PARTNER_KIND_WEIGHTS), weights=list(PARTNER_KIND_WEIGHTS.values()), k=size - 2
        )
        chosen = [coordinator]
        used = {id(coordinator)}
        for partner_kind in partner_kinds:
            local = self.by_kind_state.get((partner_kind, coordinator.federal_state), [])
            candidates = []
            if rng.random() < LOCAL_PARTNER_SHARE:
                candidates = [o for o in local if id(o) not in used]
            if not candidates:
                candidates = [o for o in self.by_kind[partner_kind] if id(o) not in used]
            org = rng.choice(candidates)
            chosen.append(org)
            used.add(id(org))
        return chosen

    def _acronym(self, cluster: str, taken: set[str]) -> str:
        rng = self.rng
        for attempt in range(200):
            acronym = rng.choice(names.ACRONYM_STEMS[cluster]) + rng.choice(names.ACRONYM_TAILS)
            if attempt >= 100:  # the plain combinations are used up: add a second stem
                acronym = rng.choice(names.ACRONYM_STEMS[cluster]) + acronym
            if acronym not in taken:
                taken.add(acronym)
                return acronym
        raise RuntimeError("ran out of acronyms")

    def _words(
        self, cluster: str, acronym: str, state: FederalState, consortium: Sequence[Organisation]
    ) -> dict[str, str]:
        rng = self.rng
        tech = rng.choice(names.TECHNOLOGIES[cluster])
        counts: dict[OrganisationKind, int] = {}
        for org in consortium:
            counts[org.kind] = counts.get(org.kind, 0) + 1
        mix = [_counted(counts[k], *KIND_COUNT_LABELS[k]) for k in KIND_COUNT_LABELS if k in counts]
        companies = sum(counts.get(k, 0) for k in INDUSTRY)
        sectors = ["science"] + ["industry"] * bool(companies) + ["society"] * (K.SOCIETY in counts)
        partners = "; ".join(
            f"{org.name} ({'coordinator' if i == 0 else KIND_COUNT_LABELS[org.kind][0]})"
            for i, org in enumerate(consortium)
        )
        return {
            "acronym": acronym,
            "tech": tech,
            "tech_lower": _lower_first(tech),
            "application": rng.choice(names.APPLICATIONS[cluster]),
            "region": rng.choice(names.REGIONS[state.name]),
            "state": state.label,
            "coordinator": consortium[0].name,
            "n": str(len(consortium)),
            "mix": _join(mix),
            "companies": _counted(companies, "company", "companies"),
            "sectors": _join(sectors),
            "partners": partners,
        }

    def _paragraphs(
        self, sentences: Sequence[str], k: int, words: dict[str, str], *, keep_last: bool = False
    ) -> str:
        """k of the sentences in their order, in two paragraphs."""
        pool = range(len(sentences) - 1) if keep_last else range(len(sentences))
        picked = sorted(self.rng.sample(pool, k - 1 if keep_last else k))
        if keep_last:
            picked.append(len(sentences) - 1)
        text = [sentences[i].format(**words) for i in picked]
        half = (len(text) + 1) // 2
        return " ".join(text[:half]) + "\n\n" + " ".join(text[half:])

    def _submitted_at(self, outline: Stage, spec: RoundSpec) -> dt.datetime:
        """A second inside the window; a share of them in the week before the last moment,
        crowding towards it as real deadline rushes do."""
        rng = self.rng
        last = min(outline.closes_at, spec.submitted_by)
        week = 7 * 86400
        if rng.random() < spec.rush_share:
            return last - dt.timedelta(seconds=1 + int(rng.random() ** 2.5 * week))
        start = outline.opens_at + dt.timedelta(days=10)
        span = int((last - start).total_seconds()) - week
        return start + dt.timedelta(seconds=rng.randrange(span))

    def _budget(
        self, submission: StageSubmission, members: Sequence[ConsortiumMember]
    ) -> list[_Line]:
        """Per member and year, in whole thousands; public funding sums to 8..45 million."""
        rng = self.rng
        low, high, mode = PUBLIC_TOTAL_THOUSANDS
        total = int(rng.triangular(low, high, mode))
        weights = [
            PUBLIC_WEIGHT[m.organisation.kind]
            * rng.uniform(0.6, 1.4)
            * (COORDINATOR_WEIGHT if m.role == MemberRole.COORDINATOR else 1.0)
            for m in members
        ]
        lines = []
        for member, public in zip(members, _apportion(total, weights), strict=True):
            low_rate, high_rate = OWN_RATE[member.organisation.kind]
            own = round(public * rng.uniform(low_rate, high_rate))
            years = [rng.uniform(0.8, 1.2) for _ in YEARS]
            years[0] *= 0.75  # the first year starts slower
            for year, pub, own_year in zip(
                YEARS, _apportion(public, years), _apportion(own, years), strict=True
            ):
                lines.append(
                    _Line(
                        submission=submission,
                        member=member,
                        year=year,
                        public_funding=_thousands(pub),
                        own_contribution=_thousands(own_year),
                    )
                )
        return lines


def _apportion(total: int, weights: Sequence[float]) -> list[int]:
    """Split a whole number in proportion to weights (largest remainder; ties by position)."""
    scale = sum(weights)
    exact = [total * w / scale for w in weights]
    parts = [int(x) for x in exact]
    order = sorted(range(len(exact)), key=lambda i: (parts[i] - exact[i], i))
    for i in order[: total - sum(parts)]:
        parts[i] += 1
    return parts


def _thousands(amount: int) -> Decimal:
    return Decimal(amount * 1000).quantize(Decimal("0.01"))


def _counted(n: int, singular: str, plural: str) -> str:
    return f"{'one' if n == 1 else n} {singular if n == 1 else plural}"


def _join(parts: Sequence[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def _join_names(parts: Sequence[str]) -> str:
    """For names that hold an "and" themselves: 'healthcare, digital health as well as medical
    imaging'."""
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " as well as " + parts[-1]


def _lower_first(text: str) -> str:
    """'Green hydrogen' -> 'green hydrogen', but 'AI-assisted' and 'mRNA' stay as they are."""
    if len(text) > 1 and text[0].isupper() and text[1].islower():
        return text[0].lower() + text[1:]
    return text


_FOLD = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "ı": "i"})


def _ascii(name: str) -> str:
    folded = unicodedata.normalize("NFKD", name.lower().translate(_FOLD))
    return "".join(c for c in folded if c.isascii() and (c.isalnum() or c == "-"))
