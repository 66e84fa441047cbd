"""Funded projects for the portal and the API at scale, added to a world ``bench/large.py`` built.

Three programmes of past rounds (one with concept phases and six-year projects in two phases of
three years, two with three-year projects in one phase), each round's proposals funded: a
published decision confirmed by a second officer, and the grant it offered, accepted by the
consortium, with its phases and its approved amounts per partner and project year taken from the
budget the proposal submitted (a concept grant: the stage's set amount on the coordinator). The
grants of the latest round of each programme are accepted and start next month, older ones are
running or closed by their dates. A few partners (and coordinators) have their names withheld;
every programme declares all public fields. Their own officer runs these programmes, so the
competition pages ``bench/web.py`` measures for the large world's officer read what they read
before.

Rows go in with bulk inserts and ids chosen here, as in ``bench/large.py``: not an example of
how the product writes; what the portal and the API read is the same.

    .venv/bin/python bench/funded.py --grants 20000 --database-url URL   # after bench/large.py
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import sys
import time
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from bench.large import (  # noqa: E402
    PASSWORD,
    SECTIONS,
    Ids,
    _insert,
    _text,
    bench_app,
    submitted,
)

FUNDING_OFFICER = "funding-officer@bench.test"
SECOND_OFFICER = "second-officer@bench.test"
# A word none of the generated texts or names contain, put into the title or summary of about
# a fifth of the funded proposals, so that a search for it matches that many.
SEARCH_WORD = "lighthouse"
SEARCH_SHARE = 0.2
WITHHELD_PARTNER_SHARE = 0.03
WITHHELD_COORDINATOR_SHARE = 0.01
CONCEPT_AMOUNT = Decimal("250000.00")
CONCEPT_MONTHS = 6
# Tables of a few rows, inserted with their Python-side defaults; the others are copied.
FEW = {"programmes", "programme_officers", "calls", "stages"}


@dataclass(frozen=True)
class ProgrammePlan:
    slug: str
    name: str
    prefix: str
    rounds: int  # one a year, the latest published a few days ago
    budget_years: int
    phase_years: int
    concept_share: float  # of its grants, concept phases (the rest projects)


PLANS = (
    ProgrammePlan("bench-future-clusters", "Bench Future Clusters", "BFC", 6, 6, 3, 0.4),
    ProgrammePlan("bench-innovation-alliances", "Bench Innovation Alliances", "BIA", 8, 3, 3, 0),
    ProgrammePlan("bench-regional-growth", "Bench Regional Growth", "BRG", 8, 3, 3, 0),
)


@dataclass(frozen=True)
class Funded:
    """What the benchmarks need to find the funded world again."""

    programme_slugs: list[str]
    grant_ids: list[int]
    officer_email: str
    search_word: str
    search_matches: int  # funded proposals whose title or summary contains the word
    states: dict[str, int]  # grants per state
    kinds: dict[str, int]  # grants per kind
    withheld: int  # consortium members of funded proposals whose names are withheld
    amounts: int  # grant_amounts rows
    year: int  # this calendar year
    year_matches: int  # grants running in some part of it


def copy_rows(conn: sa.Connection, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    """``COPY`` the rows into ``table`` in the connection's transaction: several times faster
    than an executemany of inserts. Every row names the same columns; the others take their
    server defaults (Python-side defaults do not apply: name those columns)."""
    if not rows:
        return
    columns = list(rows[0])
    names = ", ".join(f'"{c}"' for c in columns)
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    with cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row(
                [
                    json.dumps(value) if isinstance(value, dict | list) else value
                    for value in (row[c] for c in columns)
                ]
            )


@dataclass(frozen=True)
class _Round:
    plan: ProgrammePlan
    programme_id: int
    call_id: int
    prefix: str  # the call's reference prefix
    outline_id: int | None  # the stage whose "advance" funds a concept phase
    full_id: int  # the stage whose "fund" funds a project
    published_at: dt.datetime
    latest: bool  # the programme's latest round


TABLES = (
    "users",
    "user_roles",
    "programmes",
    "programme_officers",
    "calls",
    "stages",
    "proposals",
    "proposal_topics",
    "proposal_contributors",
    "consortium_members",
    "stage_submissions",
    "budget_lines",
    "submission_versions",
    "decisions",
    "grants",
    "grant_phases",
    "grant_amounts",
)


class _Builder:
    """The rows of the funded world, in memory until ``add_funded`` writes them in the order of
    ``TABLES`` (foreign keys first)."""

    def __init__(self, conn: sa.Connection, tables: dict[str, sa.Table], *, seed: int) -> None:
        from competition.accounts.passwords import hash_password
        from competition.berlin import BERLIN
        from competition.programmes.models import PublicField

        self.rng = random.Random(seed)
        self.now = dt.datetime.now(dt.UTC).replace(microsecond=0)
        self.today = self.now.astimezone(BERLIN).date()
        self.berlin = BERLIN
        self.password_hash = hash_password(PASSWORD)
        self.public_fields = [f.value for f in PublicField]
        self.ids = Ids(conn, [n for n, t in tables.items() if "id" in t.c and t.c.id.primary_key])
        self.rows: dict[str, list[dict[str, Any]]] = {name: [] for name in TABLES}
        organisations = tables["organisations"].c
        self.orgs = {
            r.id: r._mapping
            for r in conn.execute(
                sa.select(
                    organisations.id,
                    organisations.name,
                    organisations.kind,
                    organisations.federal_state,
                )
            )
        }
        self.org_ids = sorted(self.orgs)
        topics = tables["topics"].c
        self.topics = {r.id: r.slug for r in conn.execute(sa.select(topics.id, topics.slug))}
        self.topic_ids = sorted(self.topics)
        self.committed: dict[int, Decimal] = {}  # per programme
        self.search_matches = 0
        self.withheld = 0
        self.officer = self.person(FUNDING_OFFICER, "Fiona Funding", "officer")
        self.second = self.person(SECOND_OFFICER, "Sami Second", "officer")

    def take(self, table: str) -> int:
        [found] = self.ids.take(table)
        return found

    def person(self, email: str, name: str, role: str) -> int:
        uid = self.take("users")
        self.rows["users"].append(
            {
                "id": uid,
                "email": email,
                "name": name,
                "password_hash": self.password_hash,
                "status": "active",
                "email_confirmed_at": self.now,
                "created_at": self.now,
            }
        )
        self.rows["user_roles"].append(
            {"id": self.take("user_roles"), "user_id": uid, "role": role, "granted_at": self.now}
        )
        return uid

    def programme(self, plan: ProgrammePlan) -> list[_Round]:
        """The programme, run by the two officers, and its rounds: one a year, the latest
        published three days ago."""
        programme_id = self.take("programmes")
        self.rows["programmes"].append(
            {
                "id": programme_id,
                "slug": plan.slug,
                "name": plan.name,
                "description": _text(self.rng, 30),
                "total_budget": 0,  # set in ``budgets``
                "currency": "EUR",
                "public_fields": self.public_fields,
                "created_at": self.now - dt.timedelta(days=366 * (plan.rounds + 1)),
            }
        )
        for user_id in (self.officer, self.second):
            self.rows["programme_officers"].append(
                {
                    "id": self.take("programme_officers"),
                    "programme_id": programme_id,
                    "user_id": user_id,
                }
            )
        rounds = []
        for number in range(1, plan.rounds + 1):
            published_at = self.now - dt.timedelta(days=365 * (plan.rounds - number) + 3)
            call_id = self.take("calls")
            prefix = f"{plan.prefix}{number}"
            self.rows["calls"].append(
                {
                    "id": call_id,
                    "programme_id": programme_id,
                    "round_number": number,
                    "name": f"{plan.name}, round {number}",
                    "reference_prefix": prefix,
                    "state": "closed",
                    "budget_years": plan.budget_years,
                    "phase_years": plan.phase_years,
                    "created_at": published_at - dt.timedelta(days=300),
                }
            )
            kinds = ["outline", "full_proposal"] if plan.concept_share else ["full_proposal"]
            stage_ids = []
            for position, kind in enumerate(kinds, start=1):
                concept = kind == "outline"
                closes_at = published_at - dt.timedelta(days=150 if concept else 60)
                stage_ids.append(self.take("stages"))
                self.rows["stages"].append(
                    {
                        "id": stage_ids[-1],
                        "call_id": call_id,
                        "position": position,
                        "kind": kind,
                        "name": "Outline" if concept else "Full proposal",
                        "opens_at": closes_at - dt.timedelta(days=90),
                        "closes_at": closes_at,
                        "required_sections": SECTIONS,
                        "attachment_rules": [],
                        "reviewers_per_proposal": 3,
                        "max_load_per_juror": 12,
                        "concept_grant_amount": CONCEPT_AMOUNT if concept else None,
                        "concept_grant_months": CONCEPT_MONTHS if concept else None,
                    }
                )
            rounds.append(
                _Round(
                    plan=plan,
                    programme_id=programme_id,
                    call_id=call_id,
                    prefix=prefix,
                    outline_id=stage_ids[0] if plan.concept_share else None,
                    full_id=stage_ids[-1],
                    published_at=published_at,
                    latest=number == plan.rounds,
                )
            )
        return rounds

    def funded_proposal(self, number: int, reference: str, batch: _Round) -> None:
        """A proposal of ``batch`` with its consortium, submitted version, published decision
        and the grant that decision offered."""
        rng = self.rng
        concept = rng.random() < batch.plan.concept_share
        stage_id = batch.outline_id if concept else batch.full_id
        assert stage_id is not None
        applicant = self.person(
            f"funded-{number}@bench.test", f"Funded Applicant {number}", "applicant"
        )
        pid = self.take("proposals")
        title = _text(rng, 6)[:-1]
        abstract = _text(rng, 40)
        if rng.random() < SEARCH_SHARE:
            self.search_matches += 1
            if rng.random() < 0.5:
                title = f"{title} {SEARCH_WORD}"
            else:
                abstract = f"{abstract[:-1]} for a {SEARCH_WORD} region."
        acronym = "".join(w[0] for w in title.split()[:4]).upper() + str(number)
        submitted_at = batch.published_at - dt.timedelta(
            days=150 if concept else 61, minutes=rng.randrange(0, 60 * 24 * 20)
        )
        self.rows["proposals"].append(
            {
                "id": pid,
                "call_id": batch.call_id,
                "reference": reference,
                "acronym": acronym,
                "title": title,
                "abstract": abstract,
                "state": "advanced" if concept else "funded",
                "created_by_id": applicant,
                "created_at": submitted_at - dt.timedelta(days=5),
                "updated_at": batch.published_at,
            }
        )
        chosen_topics = rng.sample(self.topic_ids, rng.choice((1, 2)))
        self.rows["proposal_topics"] += [
            {"proposal_id": pid, "topic_id": tid} for tid in chosen_topics
        ]
        self.rows["proposal_contributors"].append(
            {
                "id": self.take("proposal_contributors"),
                "proposal_id": pid,
                "user_id": applicant,
                "role": "coordinator",
            }
        )
        members = []
        for position, oid in enumerate(rng.sample(self.org_ids, rng.randint(2, 5))):
            mid = self.take("consortium_members")
            hidden = rng.random() < (
                WITHHELD_COORDINATOR_SHARE if position == 0 else WITHHELD_PARTNER_SHARE
            )
            self.withheld += hidden
            members.append(
                {
                    "id": mid,
                    "proposal_id": pid,
                    "organisation_id": oid,
                    "role": "coordinator" if position == 0 else "partner",
                    "contact_name": f"Contact {mid}",
                    "contact_email": f"contact-{mid}@bench.test",
                    "name_withheld": hidden,
                }
            )
        self.rows["consortium_members"] += members
        sid = self.take("stage_submissions")
        sections = {s["key"]: _text(rng, 40) for s in SECTIONS}
        budget = []
        for member in members:
            for year in range(1, batch.plan.budget_years + 1):
                public = rng.randrange(50, 400) * 1000
                budget.append(
                    {
                        "id": self.take("budget_lines"),
                        "submission_id": sid,
                        "member_id": member["id"],
                        "year": year,
                        "public_funding": public,
                        "own_contribution": public // 2,
                    }
                )
        self.rows["budget_lines"] += budget
        submission, version = submitted(
            submission_id=sid,
            version_id=self.take("submission_versions"),
            proposal=self.rows["proposals"][-1],
            topics=[self.topics[tid] for tid in chosen_topics],
            stage={
                "id": stage_id,
                "kind": "outline" if concept else "full_proposal",
                "name": "Outline" if concept else "Full proposal",
            },
            sections=sections,
            members=members,
            organisations=self.orgs,
            budget=budget,
            submitted_at=submitted_at,
            submitted_by=applicant,
        )
        self.rows["stage_submissions"].append(submission)
        self.rows["submission_versions"].append(version)
        decision_id = self.take("decisions")
        self.rows["decisions"].append(
            {
                "id": decision_id,
                "stage_id": stage_id,
                "proposal_id": pid,
                "outcome": "advance" if concept else "fund",
                "state": "published",
                "rationale": _text(rng, 12),
                "proposed_by_id": self.officer,
                "proposed_at": batch.published_at - dt.timedelta(days=10),
                "confirmed_by_id": self.second,
                "confirmed_at": batch.published_at - dt.timedelta(days=5),
                "published_at": batch.published_at,
            }
        )
        self.grant(pid, decision_id, applicant, batch, concept, members[0]["id"], budget)

    def grant(
        self,
        pid: int,
        decision_id: int,
        applicant: int,
        batch: _Round,
        concept: bool,
        coordinator: int,
        budget: list[dict[str, Any]],
    ) -> None:
        """The grant the decision offered, as ``grants.operations.offer_*_grant`` computes it,
        accepted a week later; its state by its dates."""
        from competition.core import grants as rules

        plan = batch.plan
        starts_on = rules.first_of_next_month(batch.published_at.astimezone(self.berlin).date())
        if batch.latest:
            # Published three days ago: starting next month whatever today's date.
            starts_on = max(starts_on, rules.first_of_next_month(self.today))
        if concept:
            ends_on = rules.add_months(starts_on, CONCEPT_MONTHS)
            cells = rules.complete(
                {(coordinator, 1): CONCEPT_AMOUNT}, years=rules.project_years(starts_on, ends_on)
            )
            phase_years = rules.MAX_YEARS  # one phase: a concept phase has no evaluation
        else:
            ends_on = rules.add_years(starts_on, plan.budget_years)
            cells = rules.amounts_from_budget(
                (
                    rules.BudgetRow(b["member_id"], b["year"], Decimal(b["public_funding"]))
                    for b in budget
                ),
                years=plan.budget_years,
            )
            phase_years = plan.phase_years
        if starts_on > self.today:
            state = "accepted"
        elif ends_on <= self.today:
            state = "closed"
        else:
            state = "running"
        grant_id = self.take("grants")
        accepted_at = min(
            batch.published_at + dt.timedelta(days=7), self.now - dt.timedelta(hours=1)
        )
        self.rows["grants"].append(
            {
                "id": grant_id,
                "proposal_id": pid,
                "decision_id": decision_id,
                "call_id": batch.call_id,
                "kind": "concept" if concept else "project",
                "state": state,
                "starts_on": starts_on,
                "ends_on": ends_on,
                "conditions": "",
                "offered_at": batch.published_at,
                "accepted_at": accepted_at,
                "accepted_by_id": applicant,
                "created_at": batch.published_at,
                "updated_at": accepted_at,
            }
        )
        phases = rules.plan_phases(starts_on, ends_on, phase_years=phase_years)
        started = {p.number for p in phases if state != "accepted" and p.starts_on <= self.today}
        for phase in phases:
            self.rows["grant_phases"].append(
                {
                    "id": self.take("grant_phases"),
                    "grant_id": grant_id,
                    "number": phase.number,
                    "first_year": phase.first_year,
                    "last_year": phase.last_year,
                    "starts_on": phase.starts_on,
                    "ends_on": phase.ends_on,
                    "released_at": dt.datetime.combine(phase.starts_on, dt.time(8), dt.UTC)
                    if phase.number in started
                    else None,
                    "outcome": "continued" if phase.number + 1 in started else None,
                }
            )
        for (member_id, year), amount in sorted(cells.items()):
            self.rows["grant_amounts"].append(
                {
                    "id": self.take("grant_amounts"),
                    "grant_id": grant_id,
                    "member_id": member_id,
                    "year": year,
                    "amount": amount,
                }
            )
        self.committed[batch.programme_id] = self.committed.get(
            batch.programme_id, Decimal(0)
        ) + sum(cells.values(), Decimal(0))

    def budgets(self) -> None:
        """A programme's budget: what its grants commit and a fifth in reserve."""
        for programme in self.rows["programmes"]:
            spent = self.committed.get(programme["id"], Decimal(0))
            millions = (spent * Decimal("1.2") / 1_000_000).to_integral_value(ROUND_CEILING)
            programme["total_budget"] = millions * 1_000_000


def add_funded(database_url: str, *, grants: int, seed: int = 2) -> Funded:
    """Add ``grants`` funded projects (one grant per proposal) to a database ``bench/large.py``
    filled; returns what the benchmarks need."""
    from competition.extensions import db

    app = bench_app(database_url)
    t = {name: db.metadata.tables[name] for name in db.metadata.tables}
    with app.app_context(), db.engine.begin() as conn:
        world = _Builder(conn, t, seed=seed)
        rounds = [batch for plan in PLANS for batch in world.programme(plan)]
        per_round: dict[int, int] = {}
        for number in range(grants):
            batch = rounds[number % len(rounds)]
            per_round[batch.call_id] = per_round.get(batch.call_id, 0) + 1
            reference = f"{batch.prefix}-{per_round[batch.call_id]:05d}"
            world.funded_proposal(number, reference, batch)
        world.budgets()
        for name in TABLES:
            if name in FEW:
                _insert(conn, t[name], world.rows[name])  # their Python-side defaults apply
            else:
                copy_rows(conn, t[name], world.rows[name])
        # The large world's programme shows every field too.
        conn.execute(t["programmes"].update().values(public_fields=world.public_fields))
        for table, following in world.ids.next.items():
            conn.execute(
                sa.text("SELECT setval(pg_get_serial_sequence(:t, 'id'), :v, false)"),
                {"t": table, "v": following},
            )
    with app.app_context(), db.engine.connect() as conn:
        # As after bench/large.py's import, as autovacuum would: statistics for the planner
        # and the visibility map, without which an index-only read visits every row it finds.
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(sa.text("VACUUM ANALYZE"))
    with app.app_context():
        db.engine.dispose()

    states: dict[str, int] = {}
    kinds: dict[str, int] = {}
    this_year = world.today.year
    running_this_year = 0
    for grant in world.rows["grants"]:
        states[grant["state"]] = states.get(grant["state"], 0) + 1
        kinds[grant["kind"]] = kinds.get(grant["kind"], 0) + 1
        last_day = grant["ends_on"] - dt.timedelta(days=1)
        running_this_year += grant["starts_on"].year <= this_year <= last_day.year
    return Funded(
        programme_slugs=[plan.slug for plan in PLANS],
        grant_ids=[g["id"] for g in world.rows["grants"]],
        officer_email=FUNDING_OFFICER,
        search_word=SEARCH_WORD,
        search_matches=world.search_matches,
        states=dict(sorted(states.items())),
        kinds=dict(sorted(kinds.items())),
        withheld=world.withheld,
        amounts=len(world.rows["grant_amounts"]),
        year=this_year,
        year_matches=running_this_year,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True, help="a database bench/large.py filled")
    parser.add_argument("--grants", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=2)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    funded = add_funded(args.database_url, grants=args.grants, seed=args.seed)
    seconds = time.perf_counter() - started
    print(
        f"grants={len(funded.grant_ids)} amounts={funded.amounts} withheld={funded.withheld} "
        f"search_matches={funded.search_matches} "
        + " ".join(f"{k}={v}" for k, v in {**funded.states, **funded.kinds}.items())
        + f" funded_s={seconds:.1f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
