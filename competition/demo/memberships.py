"""go-cluster in the demo: a membership programme whose cluster management organisations apply
with their member organisations from the registry, are evaluated by an officer and granted by
a second one, and after one annual re-evaluation are renewed, or withdrawn for one or two.

Everything goes through the operations the pages use (the registry's import, the application,
the member file, evaluations, decisions, the beat task's operation), as the demo's officers, a
juror and one applicant per cluster, on a simulated calendar of its own. What is simulated and
never stored is each cluster's hidden quality, drawn from ``seed`` and the cluster's name, so the
same seed gives the same clusters, members, scores and decisions. The registry gains about
1,500 actors: enough to show the counts, few enough for the demo and its tests to stay quick.

Steps already done are skipped: a second run changes nothing.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa
from flask import current_app

from competition.accounts.models import Role, User, UserRole, UserStatus
from competition.core import memberships as rules
from competition.core import scoring
from competition.db import operation
from competition.demo import names
from competition.extensions import db
from competition.i18n import gettext as _
from competition.memberships import operations as ops
from competition.memberships import permissions, queries
from competition.memberships.models import HELD_STATES, Membership, MembershipState
from competition.organisations.models import Organisation, OrganisationKind
from competition.organisations.operations import import_organisations
from competition.programmes.models import Programme, ProgrammeKind, ProgrammeOfficer
from competition.programmes.operations import create_programme

log = logging.getLogger(__name__)

SLUG = "go-cluster"
OFFICER = "officer@demo.test"  # evaluates the applications, decides the re-evaluations
SECOND_OFFICER = "officer2@demo.test"  # decides the applications: four eyes
EVALUATOR = "juror3@demo.test"  # evaluates the re-evaluations
CLUSTERS = 92
REFUSED = 2  # the weakest applications
WITHDRAWN = 2  # the weakest members at the re-evaluation
MEMBERS = (8, 16, 30)  # a cluster's member organisations: low, mode, high
SHARED = 0.08  # share of a cluster's members that belong to another cluster too
K = OrganisationKind
MEMBER_KINDS = {K.SME: 55, K.START_UP: 10, K.LARGE_ENTERPRISE: 12, K.UNIVERSITY: 8,
                K.RESEARCH_INSTITUTE: 8, K.SOCIETY: 7}  # fmt: skip
FIELDS = (
    "Automotive", "Photonik", "Medizintechnik", "Energietechnik", "Logistik", "Kunststoff",
    "Holz", "Ernährungswirtschaft", "Software", "Luftfahrt", "Maritime Wirtschaft", "Chemie",
    "Mikroelektronik", "Biotechnologie", "Kreativwirtschaft", "Wasserstoff", "Textil",
    "Gesundheitswirtschaft", "Smart Home", "Umwelttechnik",
)  # fmt: skip
SERVICES = (
    "Matchmaking between SMEs and research partners.",
    "Joint stands at trade fairs at home and abroad.",
    "Training in digitalisation and skilled labour.",
    "Help with funding applications and innovation projects.",
    "A technology scouting service for members.",
    "Working groups on standards and certification.",
    "An annual cluster conference with a start-up pitch.",
)
CRITERIA = (
    ("Services for members", Decimal(2)),
    ("Reach and growth", Decimal(1)),
    ("Internationalisation", Decimal(1)),
)
# The calendar: applications the week the demo starts, decisions a few days later; the
# re-evaluation opens when the beat task would, before the first period ends.
APPLIED_AT = dt.datetime(2026, 11, 23, 8, tzinfo=dt.UTC)
EVALUATED_AT = dt.datetime(2026, 11, 24, 9, tzinfo=dt.UTC)
DECIDED_AT = dt.datetime(2026, 11, 26, 9, tzinfo=dt.UTC)
REEVALUATED_AFTER = dt.timedelta(days=9)  # the juror evaluates, after the beat task opened it
REDECIDED_AFTER = dt.timedelta(days=16)


@dataclass(frozen=True)
class Member:
    name: str
    kind: OrganisationKind
    state: str  # FederalState's short code, as names.CITIES gives it


@dataclass(frozen=True)
class Cluster:
    number: int
    name: str
    state: str
    services: str
    members: tuple[Member, ...]
    quality: float  # hidden: what the evaluators judge


def plan(seed: int) -> list[Cluster]:
    """The clusters, their members and their hidden quality: the same for the same seed. A
    member drawn again (the city's university, a company in two clusters) is the same
    organisation of the registry."""
    rng = random.Random(f"go-cluster:{seed}")
    cities = names.CITIES
    weights = [weight for _city, _state, weight in cities]
    cluster_names: set[str] = set()
    known: dict[str, Member] = {}
    clusters: list[Cluster] = []
    for number in range(1, CLUSTERS + 1):
        for _attempt in range(1000):
            city, state, _weight = rng.choices(cities, weights)[0]
            name = f"{rng.choice(FIELDS)}-Cluster {city} e.V."
            if name not in cluster_names:
                break
        cluster_names.add(name)
        count = round(rng.triangular(MEMBERS[0], MEMBERS[2], MEMBERS[1]))
        members: list[Member] = []
        for _attempt in range(count * 20):
            if len(members) == count:
                break
            if known and rng.random() < SHARED:
                member = rng.choice(sorted(known.values(), key=lambda m: m.name))
            else:
                drawn = _member(rng, city, state)
                member = known.setdefault(drawn.name, drawn)
            if member not in members:
                members.append(member)
        services = " ".join(rng.sample(SERVICES, 3))
        quality = random.Random(f"{seed}:{name}").gauss(0, 1)
        clusters.append(Cluster(number, name, state, services, tuple(members), quality))
    return clusters


def _member(rng: random.Random, city: str, state: str) -> Member:
    kinds = list(MEMBER_KINDS)
    kind = rng.choices(kinds, [MEMBER_KINDS[k] for k in kinds])[0]
    if kind == K.UNIVERSITY:
        name = rng.choice(names.UNIVERSITY_PATTERNS).format(city=city)
    elif kind == K.RESEARCH_INSTITUTE:
        name = rng.choice(names.RESEARCH_PATTERNS).format(
            city=city,
            field=rng.choice(names.RESEARCH_FIELDS),
            founder=rng.choice(names.FOUNDERS),
        )
    elif kind == K.LARGE_ENTERPRISE:
        stem = rng.choice(names.COMPANY_PREFIXES) + rng.choice(names.COMPANY_SUFFIXES)
        name = f"{stem} {rng.choice(names.LARGE_ENTERPRISE_FORMS)}"
    elif kind == K.SOCIETY:
        name = rng.choice(names.SOCIETY_PATTERNS).format(city=city)
    elif kind == K.START_UP:
        name = f"{rng.choice(names.START_UP_STEMS)} {rng.choice(names.START_UP_FORMS)}"
    else:
        trade = f"{rng.choice(names.LAST_NAMES)} {rng.choice(names.SME_TRADES)}"
        name = f"{trade} {city} {rng.choice(names.SME_FORMS)}"
    return Member(name, kind, state)


def _table(rows: list[list[str]]) -> bytes:
    return ("\r\n".join(";".join(row) for row in rows) + "\r\n").encode()


class _Demo:
    def __init__(self, seed: int, echo: Callable[[str], None]) -> None:
        self.seed = seed
        self.echo = echo
        self.clusters = plan(seed)
        self.by_name = {cluster.name: cluster for cluster in self.clusters}
        # The weakest applications are refused; of the rest, the weakest are withdrawn a year on.
        weakest = [c.name for c in sorted(self.clusters, key=lambda c: (c.quality, c.name))]
        self.refused = frozenset(weakest[:REFUSED])
        self.withdrawn = frozenset(weakest[REFUSED : REFUSED + WITHDRAWN])

    def person(self, email: str) -> User:
        found = db.session.scalar(sa.select(User).where(User.email == email))
        if found is None:
            raise LookupError(email)
        return found

    # -- set-up --

    def programme(self) -> Programme:
        found = db.session.scalar(sa.select(Programme).where(Programme.slug == SLUG))
        if found is not None:
            return found
        officer = self.person(OFFICER)
        programme = create_programme(
            actor=officer,
            name="go-cluster",
            slug=SLUG,
            description=(
                "The federal excellence programme for innovation clusters: cluster management "
                "organisations hold a membership that is re-evaluated every year."
            ),
            total_budget=Decimal(0),
            kind=ProgrammeKind.MEMBERSHIP.value,
            now=APPLIED_AT - dt.timedelta(days=1),
        )
        operation(self._set_up)(programme)
        return programme

    def _set_up(self, programme: Programme) -> None:
        officer = self.person(OFFICER)
        now = APPLIED_AT - dt.timedelta(days=1)
        # The programme's second officer (there is no page for adding one yet).
        db.session.add(
            ProgrammeOfficer(programme_id=programme.id, user_id=self.person(SECOND_OFFICER).id)
        )
        db.session.flush()
        for name, weight in CRITERIA:
            ops.add_criterion(
                programme,
                actor=officer,
                name=name,
                weight=weight,
                scale_min="0",
                scale_max="5",
                scale_step="0.5",
                now=now,
            )
        ops.add_evaluator(programme, actor=officer, email=EVALUATOR, now=now)

    def registry(self) -> None:
        """The clusters and their members into the registry, by the registry's own import."""
        wanted = {c.name for c in self.clusters} | {
            m.name for c in self.clusters for m in c.members
        }
        known = set(
            db.session.scalars(sa.select(Organisation.name).where(Organisation.country == "DE"))
        )
        if wanted <= known:
            return
        rows = [["Name", "Art", "Bundesland", "Land"]]
        seen: set[str] = set()
        for cluster in self.clusters:
            rows.append([cluster.name, K.SOCIETY.value, f"DE-{cluster.state}", "DE"])
            for member in cluster.members:
                if member.name not in seen:
                    seen.add(member.name)
                    rows.append([member.name, member.kind.value, f"DE-{member.state}", "DE"])
        report = import_organisations(
            actor=self.person(OFFICER),
            data=_table(rows),
            update_existing=False,
            now=APPLIED_AT - dt.timedelta(hours=2),
        )
        self.echo(
            _(
                "go-cluster: %(num)s organisations added to the registry.",
                num=len(report.inserted),
            )
        )

    def applicants(self) -> dict[int, User]:
        """One applicant per cluster, acting for its management organisation."""
        emails = {f"cluster{c.number}@demo.test": c for c in self.clusters}
        found = {
            u.email: u
            for u in db.session.scalars(sa.select(User).where(User.email.in_(list(emails))))
        }
        missing = [email for email in emails if email not in found]
        if missing:
            operation(self._accounts)(missing, emails)
            found = {
                u.email: u
                for u in db.session.scalars(sa.select(User).where(User.email.in_(list(emails))))
            }
        return {cluster.number: found[email] for email, cluster in emails.items()}

    def _accounts(self, missing: list[str], emails: dict[str, Cluster]) -> None:
        rng = random.Random(f"go-cluster-people:{self.seed}")
        password = self.person(OFFICER).password_hash
        organisations = {
            o.name: o.id
            for o in db.session.scalars(
                sa.select(Organisation).where(
                    Organisation.name.in_([c.name for c in emails.values()]),
                    Organisation.merged_into_id.is_(None),
                )
            )
        }
        for email in sorted(emails, key=lambda e: emails[e].number):
            first, last = rng.choice(names.FIRST_NAMES), rng.choice(names.LAST_NAMES)
            if email not in missing:
                continue
            user = User(
                email=email,
                name=f"{first} {last}",
                password_hash=password,
                status=UserStatus.ACTIVE,
                email_confirmed_at=APPLIED_AT - dt.timedelta(days=7),
                created_at=APPLIED_AT - dt.timedelta(days=7),
                organisation_id=organisations.get(emails[email].name),
                role_rows=[UserRole(role=Role.APPLICANT, granted_at=APPLIED_AT)],
            )
            db.session.add(user)
        db.session.flush()

    # -- the lifecycle --

    def apply(self, programme: Programme, applicants: dict[int, User]) -> int:
        """Each cluster without a membership applies and lists its members from a file."""
        held = set(
            db.session.scalars(
                sa.select(Organisation.name)
                .join(Membership, Membership.organisation_id == Organisation.id)
                .where(Membership.programme_id == programme.id)
            )
        )
        applied = 0
        for cluster in self.clusters:
            if cluster.name in held:
                continue
            when = APPLIED_AT + dt.timedelta(minutes=7 * cluster.number)
            applicant = applicants[cluster.number]
            membership = ops.apply_for_membership(
                programme,
                actor=applicant,
                organisation_name=cluster.name,
                services=cluster.services,
                now=when,
            )
            rows = [["Name", "Land"], *([m.name, "DE"] for m in cluster.members)]
            ops.add_members_from_file(
                membership, actor=applicant, data=_table(rows), now=when + dt.timedelta(minutes=3)
            )
            applied += 1
        return applied

    def _scores(self, cluster: Cluster, round_: int, criteria: list[int]) -> dict[str, str]:
        """What an evaluator who sees the cluster's hidden quality (with some noise) scores."""
        rng = random.Random(f"{self.seed}:{cluster.name}:{round_}")
        grid = scoring.Criterion("x", "x", Decimal(1), Decimal(0), Decimal(5), Decimal("0.5"))
        values = scoring.allowed_values(grid)
        scores = {}
        for criterion_id in criteria:
            wanted = 3.2 + 0.8 * cluster.quality + rng.gauss(0, 0.35)
            best = min(values, key=lambda v: (abs(float(v) - wanted), v))
            scores[str(criterion_id)] = scoring.plain(best)
        return scores

    def evaluate_and_decide(
        self,
        programme: Programme,
        *,
        states: tuple[MembershipState, ...],
        evaluator: User,
        fallback: User,
        decider: User,
        evaluated_at: dt.datetime,
        decided_at: dt.datetime,
        weak: frozenset[str],
        weak_action: str,
        strong_action: str,
    ) -> dict[str, int]:
        """The round's evaluations by ``evaluator`` where still missing, then ``decider``'s
        decision on each: ``weak_action`` for the clusters named in ``weak``."""
        evaluator_ = evaluator
        criteria = [c.id for c in queries.criteria_of(programme.id)]
        memberships = db.session.scalars(
            sa.select(Membership)
            .join(Organisation, Organisation.id == Membership.organisation_id)
            .where(
                Membership.programme_id == programme.id,
                Membership.state.in_(states),
                Organisation.name.in_(list(self.by_name)),
            )
            .order_by(Membership.id)
        ).all()
        done: dict[str, int] = {}
        for membership in memberships:
            cluster = self.by_name[membership.organisation.name]
            action = weak_action if cluster.name in weak else strong_action
            # An evaluator who works for the cluster or a member leaves it to the other officer.
            evaluator = fallback if permissions.conflicted(evaluator_, membership) else evaluator_
            evaluation = (
                queries.find_evaluation(membership, evaluator)
                if membership.state != MembershipState.APPLIED
                else None
            )
            if evaluation is None:
                evaluation = ops.record_evaluation(
                    membership,
                    actor=evaluator,
                    scores=self._scores(cluster, membership.round + 1, criteria),
                    comment=_comment(action),
                    recommendation=action,
                    now=evaluated_at + dt.timedelta(minutes=5 * cluster.number),
                )
            when = decided_at + dt.timedelta(minutes=5 * cluster.number)
            period: tuple[dt.date | None, dt.date | None] = (None, None)
            if action == "grant":
                period = rules.first_period(queries.today_in_berlin(when))
            elif action == "renew":
                assert membership.valid_until is not None
                period = rules.renewed_period(membership.valid_until)
            ops.decide(
                membership,
                actor=decider,
                action=action,
                evaluation_id=evaluation.id,
                valid_from=period[0],
                valid_until=period[1],
                reason=_reason(action),
                now=when,
            )
            done[action] = done.get(action, 0) + 1
        return done


def reevaluation_opens() -> dt.datetime:
    """When the beat task opens the first annual re-evaluation of the demo's memberships: the
    configured days before the first period ends (every grant is made on one day)."""
    _, ends = rules.first_period(queries.today_in_berlin(DECIDED_AT))
    days = current_app.extensions["settings"].membership_reevaluation_days
    return dt.datetime.combine(ends - dt.timedelta(days=days), dt.time(7), tzinfo=dt.UTC)


def _comment(action: str) -> str:
    return {
        "grant": "An active cluster with services its members use.",
        "refuse": "Too few services for its members so far; the cluster is still forming.",
        "renew": "Members grew and the services are well used.",
        "withdraw": "The services have stopped; members report no activity this year.",
    }[action]


def _reason(action: str) -> str:
    return {
        "refuse": "The cluster does not yet offer its members the services the programme asks "
        "for. You are welcome to apply again next year.",
        "withdraw": "The annual re-evaluation found that the cluster no longer offers its "
        "members services.",
    }.get(action, "")


def simulate_memberships(*, seed: int, echo: Callable[[str], None] = print) -> int:
    """Run go-cluster in the demo to the end of its first annual re-evaluation (or to the end of
    what is left) and return how many memberships are granted (held) at the end.

    Side effects: everything the operations write (registry rows, accounts, memberships,
    evaluations, decisions, audit events, mails to the clusters' applicants).
    """
    demo = _Demo(seed, echo)
    programme = demo.programme()
    demo.registry()
    applied = demo.apply(programme, demo.applicants())
    officer, second = demo.person(OFFICER), demo.person(SECOND_OFFICER)
    first = demo.evaluate_and_decide(
        programme,
        states=(MembershipState.APPLIED, MembershipState.IN_EVALUATION),
        evaluator=officer,
        fallback=officer,
        decider=second,
        evaluated_at=EVALUATED_AT,
        decided_at=DECIDED_AT,
        weak=demo.refused,
        weak_action="refuse",
        strong_action="grant",
    )
    opens = reevaluation_opens()
    days = current_app.extensions["settings"].membership_reevaluation_days
    ops.start_due_reevaluations(now=opens, days_before=days)
    second_round = demo.evaluate_and_decide(
        programme,
        states=(MembershipState.IN_REEVALUATION,),
        evaluator=demo.person(EVALUATOR),
        fallback=second,
        decider=officer,
        evaluated_at=opens + REEVALUATED_AFTER,
        decided_at=opens + REDECIDED_AFTER,
        weak=demo.withdrawn,
        weak_action="withdraw",
        strong_action="renew",
    )
    held = (
        db.session.scalar(
            sa.select(sa.func.count()).where(
                Membership.programme_id == programme.id, Membership.state.in_(HELD_STATES)
            )
        )
        or 0
    )
    if applied or first or second_round:
        echo(
            _(
                "go-cluster: %(applied)s applications, %(granted)s granted, %(refused)s "
                "refused; after the annual re-evaluation %(renewed)s renewed, %(withdrawn)s "
                "withdrawn.",
                applied=applied,
                granted=first.get("grant", 0),
                refused=first.get("refuse", 0),
                renewed=second_round.get("renew", 0),
                withdrawn=second_round.get("withdraw", 0),
            )
        )
    log.info("go-cluster demo: %s memberships held", held)
    return held
