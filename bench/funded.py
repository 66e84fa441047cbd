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
import hashlib
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

from bench.large import PASSWORD, SECTIONS, Ids, _insert, _text, bench_app  # noqa: E402

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


@dataclass
class _Round:
    plan: ProgrammePlan
    programme_id: int
    call_id: int
    outline_id: int | None  # the stage whose "advance" funds a concept phase
    full_id: int  # the stage whose "fund" funds a project
    published_at: dt.datetime
    latest: bool  # the programme's latest round


def add_funded(database_url: str, *, grants: int, seed: int = 2) -> Funded:
    """Add ``grants`` funded projects (one grant per proposal) to a database ``bench/large.py``
    filled; returns what the benchmarks need."""
    from competition.accounts.passwords import hash_password
    from competition.berlin import BERLIN
    from competition.core import grants as rules
    from competition.extensions import db
    from competition.programmes.models import PublicField

    rng = random.Random(seed)
    app = bench_app(database_url)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    today = now.astimezone(BERLIN).date()
    password_hash = hash_password(PASSWORD)
    public_fields = [f.value for f in PublicField]
    t = {name: db.metadata.tables[name] for name in db.metadata.tables}
    with app.app_context(), db.engine.begin() as conn:
        ids = Ids(conn, [n for n in t if "id" in t[n].c and t[n].c.id.primary_key])
        rows: dict[str, list[dict[str, Any]]] = {
            name: []
            for name in (
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
        }

        def person(email: str, name: str, role: str) -> int:
            [uid] = ids.take("users")
            rows["users"].append(
                {
                    "id": uid,
                    "email": email,
                    "name": name,
                    "password_hash": password_hash,
                    "status": "active",
                    "email_confirmed_at": now,
                    "created_at": now,
                }
            )
            [rid] = ids.take("user_roles")
            rows["user_roles"].append({"id": rid, "user_id": uid, "role": role, "granted_at": now})
            return uid

        officer = person(FUNDING_OFFICER, "Fiona Funding", "officer")
        second = person(SECOND_OFFICER, "Sami Second", "officer")
        orgs = {
            r.id: r
            for r in conn.execute(
                sa.select(
                    t["organisations"].c.id,
                    t["organisations"].c.name,
                    t["organisations"].c.kind,
                    t["organisations"].c.federal_state,
                )
            )
        }
        org_ids = sorted(orgs)
        topics = {
            r.id: r.slug for r in conn.execute(sa.select(t["topics"].c.id, t["topics"].c.slug))
        }
        topic_ids = sorted(topics)

        rounds: list[_Round] = []
        for plan in PLANS:
            [programme_id] = ids.take("programmes")
            rows["programmes"].append(
                {
                    "id": programme_id,
                    "slug": plan.slug,
                    "name": plan.name,
                    "description": _text(rng, 30),
                    "total_budget": 0,  # set below, to what its grants commit and a reserve
                    "currency": "EUR",
                    "public_fields": public_fields,
                    "created_at": now - dt.timedelta(days=366 * (plan.rounds + 1)),
                }
            )
            for user_id in (officer, second):
                [po] = ids.take("programme_officers")
                rows["programme_officers"].append(
                    {"id": po, "programme_id": programme_id, "user_id": user_id}
                )
            for number in range(1, plan.rounds + 1):
                published_at = now - dt.timedelta(days=365 * (plan.rounds - number) + 3)
                [call_id] = ids.take("calls")
                rows["calls"].append(
                    {
                        "id": call_id,
                        "programme_id": programme_id,
                        "round_number": number,
                        "name": f"{plan.name}, round {number}",
                        "reference_prefix": f"{plan.prefix}{number}",
                        "state": "closed",
                        "budget_years": plan.budget_years,
                        "phase_years": plan.phase_years,
                        "created_at": published_at - dt.timedelta(days=300),
                    }
                )
                stage_plans = [("full_proposal", "Full proposal")]
                if plan.concept_share:
                    stage_plans.insert(0, ("outline", "Outline"))
                stage_ids = ids.take("stages", len(stage_plans))
                for position, (stage_id, (kind, name)) in enumerate(
                    zip(stage_ids, stage_plans, strict=True), start=1
                ):
                    concept = kind == "outline"
                    closes_at = published_at - dt.timedelta(days=150 if concept else 60)
                    rows["stages"].append(
                        {
                            "id": stage_id,
                            "call_id": call_id,
                            "position": position,
                            "kind": kind,
                            "name": name,
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
                        plan,
                        programme_id,
                        call_id,
                        stage_ids[0] if plan.concept_share else None,
                        stage_ids[-1],
                        published_at,
                        number == plan.rounds,
                    )
                )

        committed: dict[int, Decimal] = {}
        search_matches = 0
        withheld = 0
        proposal_ids = ids.take("proposals", grants)
        numbers: dict[int, int] = {}
        for i, pid in enumerate(proposal_ids):
            batch = rounds[i % len(rounds)]
            plan = batch.plan
            concept = rng.random() < plan.concept_share
            stage_id = batch.outline_id if concept else batch.full_id
            assert stage_id is not None
            applicant = person(f"funded-{i}@bench.test", f"Funded Applicant {i}", "applicant")
            numbers[batch.call_id] = numbers.get(batch.call_id, 0) + 1
            reference = f"{plan.prefix}{batch.call_id}-{numbers[batch.call_id]:05d}"
            title = _text(rng, 6)[:-1]
            abstract = _text(rng, 40)
            if rng.random() < SEARCH_SHARE:
                search_matches += 1
                if rng.random() < 0.5:
                    title = f"{title} {SEARCH_WORD}"
                else:
                    abstract = f"{abstract[:-1]} for a {SEARCH_WORD} region."
            acronym = "".join(w[0] for w in title.split()[:4]).upper() + str(i)
            submitted_at = batch.published_at - dt.timedelta(
                days=150 if concept else 61, minutes=rng.randrange(0, 60 * 24 * 20)
            )
            rows["proposals"].append(
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
            chosen_topics = rng.sample(topic_ids, rng.choice((1, 2)))
            rows["proposal_topics"] += [
                {"proposal_id": pid, "topic_id": tid} for tid in chosen_topics
            ]
            [contributor] = ids.take("proposal_contributors")
            rows["proposal_contributors"].append(
                {"id": contributor, "proposal_id": pid, "user_id": applicant, "role": "coordinator"}
            )
            members = []
            for position, oid in enumerate(rng.sample(org_ids, rng.randint(2, 5))):
                [mid] = ids.take("consortium_members")
                hidden = rng.random() < (
                    WITHHELD_COORDINATOR_SHARE if position == 0 else WITHHELD_PARTNER_SHARE
                )
                withheld += hidden
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
            rows["consortium_members"] += members
            [sid] = ids.take("stage_submissions")
            sections = {s["key"]: _text(rng, 40) for s in SECTIONS}
            budget = []
            for member in members:
                for year in range(1, plan.budget_years + 1):
                    [bid] = ids.take("budget_lines")
                    public = rng.randrange(50, 400) * 1000
                    budget.append(
                        {
                            "id": bid,
                            "submission_id": sid,
                            "member_id": member["id"],
                            "year": year,
                            "public_funding": public,
                            "own_contribution": public // 2,
                        }
                    )
            rows["budget_lines"] += budget
            content = {
                "proposal": {
                    "reference": reference,
                    "acronym": acronym,
                    "title": title,
                    "abstract": abstract,
                    "topics": sorted(topics[tid] for tid in chosen_topics),
                },
                "stage": {
                    "id": stage_id,
                    "kind": "outline" if concept else "full_proposal",
                    "name": "Outline" if concept else "Full proposal",
                },
                "sections": dict(sorted(sections.items())),
                "members": [
                    {
                        "key": f"m{m['id']}",
                        "organisation_id": m["organisation_id"],
                        "name": orgs[m["organisation_id"]].name,
                        "kind": orgs[m["organisation_id"]].kind,
                        "federal_state": orgs[m["organisation_id"]].federal_state,
                        "role": m["role"],
                        "contact_name": m["contact_name"],
                        "contact_email": m["contact_email"],
                    }
                    for m in members
                ],
                "budget": [
                    {
                        "member_key": f"m{b['member_id']}",
                        "year": b["year"],
                        "public_funding": f"{b['public_funding']}.00",
                        "own_contribution": f"{b['own_contribution']}.00",
                    }
                    for b in budget
                ],
                "attachments": [],
            }
            digest = hashlib.sha256(
                json.dumps(content, sort_keys=True, separators=(",", ":")).encode()
            ).hexdigest()
            rows["stage_submissions"].append(
                {
                    "id": sid,
                    "proposal_id": pid,
                    "stage_id": stage_id,
                    "state": "submitted",
                    "sections": sections,
                    "section_revisions": {key: 1 for key in sections},
                    "revision": 1,
                    "submitted_at": submitted_at,
                    "content_hash": digest,
                    "updated_at": submitted_at,
                }
            )
            [vid] = ids.take("submission_versions")
            rows["submission_versions"].append(
                {
                    "id": vid,
                    "submission_id": sid,
                    "number": 1,
                    "content": content,
                    "content_hash": digest,
                    "receipt_code": f"R{vid:010d}",
                    "idempotency_key": f"bench-{vid}",
                    "submitted_at": submitted_at,
                    "submitted_by_id": applicant,
                }
            )

            # The decision, as confirmed by a second officer and published.
            published_at = batch.published_at
            [decision_id] = ids.take("decisions")
            rows["decisions"].append(
                {
                    "id": decision_id,
                    "stage_id": stage_id,
                    "proposal_id": pid,
                    "outcome": "advance" if concept else "fund",
                    "state": "published",
                    "rationale": _text(rng, 12),
                    "proposed_by_id": officer,
                    "proposed_at": published_at - dt.timedelta(days=10),
                    "confirmed_by_id": second,
                    "confirmed_at": published_at - dt.timedelta(days=5),
                    "published_at": published_at,
                }
            )
            # The grant it offered, as grants.operations.offer_*_grant computes it.
            published_on = published_at.astimezone(BERLIN).date()
            starts_on = rules.first_of_next_month(published_on)
            if batch.latest:
                # Accepted a few days ago, starting next month whatever today's date.
                starts_on = max(starts_on, rules.first_of_next_month(today))
            if concept:
                ends_on = rules.add_months(starts_on, CONCEPT_MONTHS)
                coordinator = members[0]["id"]
                cells = rules.complete(
                    {(coordinator, 1): CONCEPT_AMOUNT},
                    years=rules.project_years(starts_on, ends_on),
                )
                phase_years = rules.MAX_YEARS
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
            if starts_on > today:
                state = "accepted"
            elif ends_on <= today:
                state = "closed"
            else:
                state = "running"
            [grant_id] = ids.take("grants")
            accepted_at = min(published_at + dt.timedelta(days=7), now - dt.timedelta(hours=1))
            rows["grants"].append(
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
                    "offered_at": published_at,
                    "accepted_at": accepted_at,
                    "accepted_by_id": applicant,
                    "created_at": published_at,
                    "updated_at": accepted_at,
                }
            )
            phases = rules.plan_phases(starts_on, ends_on, phase_years=phase_years)
            phase_ids = ids.take("grant_phases", len(phases))
            for phase_id, phase in zip(phase_ids, phases, strict=True):
                released = state != "accepted" and phase.starts_on <= today
                following = next((p for p in phases if p.number == phase.number + 1), None)
                continued = following is not None and following.starts_on <= today
                rows["grant_phases"].append(
                    {
                        "id": phase_id,
                        "grant_id": grant_id,
                        "number": phase.number,
                        "first_year": phase.first_year,
                        "last_year": phase.last_year,
                        "starts_on": phase.starts_on,
                        "ends_on": phase.ends_on,
                        "released_at": dt.datetime.combine(
                            phase.starts_on, dt.time(8), tzinfo=dt.UTC
                        )
                        if released
                        else None,
                        "outcome": "continued" if continued else None,
                    }
                )
            amount_ids = ids.take("grant_amounts", len(cells))
            for amount_id, ((member_id, year), amount) in zip(
                amount_ids, sorted(cells.items()), strict=True
            ):
                rows["grant_amounts"].append(
                    {
                        "id": amount_id,
                        "grant_id": grant_id,
                        "member_id": member_id,
                        "year": year,
                        "amount": amount,
                    }
                )
            committed[batch.programme_id] = committed.get(batch.programme_id, Decimal(0)) + sum(
                cells.values(), Decimal(0)
            )

        # A programme's budget holds what its grants commit, with a fifth in reserve.
        for programme in rows["programmes"]:
            spent = committed.get(programme["id"], Decimal(0))
            millions = (spent * Decimal("1.2") / 1_000_000).to_integral_value(ROUND_CEILING)
            programme["total_budget"] = millions * 1_000_000
        for name, table_rows in rows.items():
            if name in FEW:
                _insert(conn, t[name], table_rows)  # their Python-side defaults apply
            else:
                copy_rows(conn, t[name], table_rows)
        # The large world's programme shows every field too.
        conn.execute(t["programmes"].update().values(public_fields=public_fields))

        for table, following in ids.next.items():
            conn.execute(
                sa.text("SELECT setval(pg_get_serial_sequence(:t, 'id'), :v, false)"),
                {"t": table, "v": following},
            )
    with app.app_context(), db.engine.connect() as conn:
        # As after bench/large.py's import: statistics for the planner.
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(sa.text("ANALYZE"))
    with app.app_context():
        db.engine.dispose()

    states: dict[str, int] = {}
    kinds: dict[str, int] = {}
    running_this_year = 0
    for grant in rows["grants"]:
        states[grant["state"]] = states.get(grant["state"], 0) + 1
        kinds[grant["kind"]] = kinds.get(grant["kind"], 0) + 1
        last_day = grant["ends_on"] - dt.timedelta(days=1)
        running_this_year += grant["starts_on"].year <= today.year <= last_day.year
    return Funded(
        programme_slugs=[plan.slug for plan in PLANS],
        grant_ids=[g["id"] for g in rows["grants"]],
        officer_email=FUNDING_OFFICER,
        search_word=SEARCH_WORD,
        search_matches=search_matches,
        states=dict(sorted(states.items())),
        kinds=dict(sorted(kinds.items())),
        withheld=withheld,
        amounts=len(rows["grant_amounts"]),
        year=today.year,
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
