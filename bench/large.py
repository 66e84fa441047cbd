"""A large competition in the database in about a minute, for the benchmarks.

One programme, one call, one closed outline stage with three criteria, N submitted proposals
(consortia of two to four organisations, budgets for three years, a frozen version each), J
jurors who accepted, three or four released assignments per proposal with a submitted review
each, and a finished ranking. Rows go in with bulk inserts and ids chosen here, not through the
operations, so it is not an example of how the product writes; what the pages read is the same.

    .venv/bin/python bench/large.py --proposals 20000 --jurors 8000 --database-url URL
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import math
import random
import sys
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

PASSWORD = "bench-password-1"
OFFICER = "officer@bench.test"
ADMIN = "admin@bench.test"
CHUNK = 5000
SECTIONS = [
    {"key": "strategy", "title": "Cluster strategy", "max_chars": 12000},
    {"key": "consortium", "title": "Consortium and partners", "max_chars": 6000},
    {"key": "impact", "title": "Expected impact", "max_chars": 6000},
]
CRITERIA = [("Excellence", "0.5"), ("Impact", "0.3"), ("Implementation", "0.2")]
KINDS = ["university", "research_institute", "large_enterprise", "sme", "start_up", "society"]
STATES = ["DE-BW", "DE-BY", "DE-BE", "DE-BB", "DE-HB", "DE-HH", "DE-HE", "DE-MV", "DE-NI",
          "DE-NW", "DE-RP", "DE-SL", "DE-SN", "DE-ST", "DE-SH", "DE-TH"]  # fmt: skip
WORDS = ("grid hydrogen battery photonics sensor quantum robot health genome vaccine climate "
         "water soil forest mobility rail port logistics textile steel cement chip software "
         "data privacy learning language ocean space satellite drone farm food bio circular "
         "recycling plastic wood building heat solar wind region city village health care "
         "ageing school skills transfer startup").split()  # fmt: skip


@dataclass(frozen=True)
class World:
    programme_id: int
    call_id: int
    stage_id: int
    ranking_id: int | None
    proposal_ids: list[int]
    juror_emails: list[str]
    applicant_emails: list[str]


class Ids:
    """Ids handed out here; the sequences are moved past them at the end."""

    def __init__(self, conn: sa.Connection, tables: Iterable[str]) -> None:
        self.next = {
            t: int(conn.execute(sa.text(f"SELECT coalesce(max(id), 0) FROM {t}")).scalar_one()) + 1
            for t in tables
        }

    def take(self, table: str, count: int = 1) -> list[int]:
        first = self.next[table]
        self.next[table] = first + count
        return list(range(first, first + count))


def _chunks(rows: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(rows), CHUNK):
        yield rows[start : start + CHUNK]


def _insert(conn: sa.Connection, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    for part in _chunks(rows):
        conn.execute(table.insert(), part)


def _text(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words)).capitalize() + "."


def submitted(
    *,
    submission_id: int,
    version_id: int,
    proposal: dict[str, Any],
    topics: list[str],
    stage: dict[str, Any],
    sections: dict[str, str],
    members: list[dict[str, Any]],
    organisations: Mapping[int, Mapping[str, Any]],
    budget: list[dict[str, Any]],
    submitted_at: dt.datetime,
    submitted_by: int,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The ``stage_submissions`` row of a submitted stage and its ``submission_versions`` row:
    the frozen content (``proposal``'s row, the ``stage``'s id, kind and name, the consortium
    ``members`` with their ``organisations``, the ``budget`` lines) and its SHA-256, as
    ``submit_stage`` stores them."""
    content = {
        "proposal": {
            "reference": proposal["reference"],
            "acronym": proposal["acronym"],
            "title": proposal["title"],
            "abstract": proposal["abstract"],
            "topics": sorted(topics),
        },
        "stage": stage,
        "sections": dict(sorted(sections.items())),
        "members": [
            {
                "key": f"m{m['id']}",
                "organisation_id": m["organisation_id"],
                "name": organisations[m["organisation_id"]]["name"],
                "kind": organisations[m["organisation_id"]]["kind"],
                "federal_state": organisations[m["organisation_id"]]["federal_state"],
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
    submission = {
        "id": submission_id,
        "proposal_id": proposal["id"],
        "stage_id": stage["id"],
        "state": "submitted",
        "sections": sections,
        "section_revisions": {key: 1 for key in sections},
        "revision": 1,
        "submitted_at": submitted_at,
        "content_hash": digest,
        "updated_at": submitted_at,
    }
    version = {
        "id": version_id,
        "submission_id": submission_id,
        "number": 1,
        "content": content,
        "content_hash": digest,
        "receipt_code": f"R{version_id:010d}",
        "idempotency_key": f"bench-{version_id}",
        "submitted_at": submitted_at,
        "submitted_by_id": submitted_by,
    }
    return submission, version


def bench_app(database_url: str) -> Any:
    """The app on ``database_url`` for a benchmark: tasks run inline, right after the commit."""
    from competition import create_app
    from config import Settings

    return create_app(
        Settings(
            env="testing",
            secret_key="bench-" + "k" * 40,
            database_url=database_url,
            tasks_inline=True,
        )
    )


def build(
    database_url: str,
    *,
    proposals: int,
    jurors: int,
    seed: int = 1,
    rank: bool = True,
    reviewed: bool = True,
) -> World:
    """Fill an empty, migrated database; returns what the benchmarks need to find again.
    ``reviewed=False`` leaves the stage before its assignment: no assignments, no reviews, no
    ranking."""
    from competition.accounts.passwords import hash_password
    from competition.extensions import db

    rng = random.Random(seed)
    app = bench_app(database_url)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    password_hash = hash_password(PASSWORD)
    t = {name: db.metadata.tables[name] for name in db.metadata.tables}
    with app.app_context(), db.engine.begin() as conn:
        ids = Ids(conn, [n for n in t if "id" in t[n].c and t[n].c.id.primary_key])
        users: list[dict[str, Any]] = []
        roles: list[dict[str, Any]] = []

        def person(email: str, name: str, *roles_of: str) -> int:
            [uid] = ids.take("users")
            users.append(
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
            for role in roles_of:
                [rid] = ids.take("user_roles")
                roles.append({"id": rid, "user_id": uid, "role": role, "granted_at": now})
            return uid

        officer = person(OFFICER, "Olga Officer", "officer")
        person(ADMIN, "Adam Admin", "admin")
        juror_emails = [f"juror-{i}@bench.test" for i in range(jurors)]
        juror_ids = [person(e, f"Juror {i}", "juror") for i, e in enumerate(juror_emails)]
        applicant_emails = [f"applicant-{i}@bench.test" for i in range(proposals)]
        applicant_ids = [
            person(e, f"Applicant {i}", "applicant") for i, e in enumerate(applicant_emails)
        ]
        _insert(conn, t["users"], users)
        _insert(conn, t["user_roles"], roles)

        n_orgs = max(300, proposals // 4)
        org_ids = ids.take("organisations", n_orgs)
        orgs = [
            {
                "id": oid,
                "name": f"{_text(rng, 2)[:-1]} {i}",
                "kind": rng.choice(KINDS),
                "federal_state": rng.choice(STATES),
                "country": "DE",
                "created_at": now,
            }
            for i, oid in enumerate(org_ids)
        ]
        _insert(conn, t["organisations"], orgs)
        org_by_id = {o["id"]: o for o in orgs}

        [programme_id] = ids.take("programmes")
        conn.execute(
            t["programmes"].insert(),
            {
                "id": programme_id,
                "slug": f"bench-{programme_id}",
                "name": "Bench Clusters",
                "total_budget": 630_000_000,
                "currency": "EUR",
                "created_at": now,
            },
        )
        [po] = ids.take("programme_officers")
        conn.execute(
            t["programme_officers"].insert(),
            {"id": po, "programme_id": programme_id, "user_id": officer},
        )
        [call_id] = ids.take("calls")
        conn.execute(
            t["calls"].insert(),
            {
                "id": call_id,
                "programme_id": programme_id,
                "round_number": 1,
                "name": "Bench call",
                "reference_prefix": "BEN",
                "state": "published",
                "max_public_funding_per_proposal": 5_000_000,
                "created_at": now,
            },
        )
        per_proposal_mean = 3.5
        load = math.ceil(proposals * per_proposal_mean / max(jurors, 1)) + 2
        [stage_id] = ids.take("stages")
        conn.execute(
            t["stages"].insert(),
            {
                "id": stage_id,
                "call_id": call_id,
                "position": 1,
                "kind": "outline",
                "name": "Outline",
                "opens_at": now - dt.timedelta(days=90),
                "closes_at": now - dt.timedelta(days=60),
                "required_sections": SECTIONS,
                "attachment_rules": [],
                "reviewers_per_proposal": 3,
                "max_load_per_juror": load,
                "selection_target": max(1, proposals // 8),
                "reviews_due_at": now - dt.timedelta(days=10),
            },
        )
        criterion_ids = ids.take("criteria", len(CRITERIA))
        _insert(
            conn,
            t["criteria"],
            [
                {
                    "id": cid,
                    "stage_id": stage_id,
                    "position": i + 1,
                    "name": name,
                    "weight": weight,
                    "scale_min": 0,
                    "scale_max": 5,
                    "scale_step": "0.5",
                    "threshold": None,
                }
                for i, (cid, (name, weight)) in enumerate(zip(criterion_ids, CRITERIA, strict=True))
            ],
        )
        topic_ids = ids.take("topics", 10)
        _insert(
            conn,
            t["topics"],
            [
                {"id": tid, "slug": f"bench-topic-{tid}", "name_en": f"Topic {tid}"}
                for tid in topic_ids
            ],
        )

        proposal_ids = ids.take("proposals", proposals)
        rows: dict[str, list[dict[str, Any]]] = {
            name: []
            for name in (
                "proposals",
                "proposal_topics",
                "proposal_contributors",
                "consortium_members",
                "stage_submissions",
                "submission_versions",
                "budget_lines",
            )
        }
        quality: dict[int, float] = {}
        for i, (pid, applicant) in enumerate(zip(proposal_ids, applicant_ids, strict=True)):
            title = _text(rng, 6)[:-1]
            abstract = _text(rng, 40)
            reference = f"BEN-{i + 1:05d}"
            acronym = "".join(w[0] for w in title.split()[:4]).upper() + str(i)
            quality[pid] = rng.gauss(3.0, 0.6)
            submitted_at = now - dt.timedelta(days=61, minutes=rng.randrange(0, 60 * 24 * 20))
            rows["proposals"].append(
                {
                    "id": pid,
                    "call_id": call_id,
                    "reference": reference,
                    "acronym": acronym,
                    "title": title,
                    "abstract": abstract,
                    "state": "submitted",
                    "created_by_id": applicant,
                    "created_at": submitted_at - dt.timedelta(days=5),
                    "updated_at": submitted_at,
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
            for position, oid in enumerate(rng.sample(org_ids, rng.randint(2, 4))):
                [mid] = ids.take("consortium_members")
                members.append(
                    {
                        "id": mid,
                        "proposal_id": pid,
                        "organisation_id": oid,
                        "role": "coordinator" if position == 0 else "partner",
                        "contact_name": f"Contact {mid}",
                        "contact_email": f"contact-{mid}@bench.test",
                    }
                )
            rows["consortium_members"] += members
            [sid] = ids.take("stage_submissions")
            sections = {s["key"]: _text(rng, 120) for s in SECTIONS}
            budget = []
            for member in members:
                for year in (1, 2, 3):
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
            [vid] = ids.take("submission_versions")
            submission, version = submitted(
                submission_id=sid,
                version_id=vid,
                proposal=rows["proposals"][-1],
                topics=[f"bench-topic-{tid}" for tid in chosen_topics],
                stage={"id": stage_id, "kind": "outline", "name": "Outline"},
                sections=sections,
                members=members,
                organisations=org_by_id,
                budget=budget,
                submitted_at=submitted_at,
                submitted_by=applicant,
            )
            rows["stage_submissions"].append(submission)
            rows["submission_versions"].append(version)
        for name in rows:
            _insert(conn, t[name], rows[name])

        memberships, profiles = [], []
        for uid in juror_ids:
            [mid] = ids.take("jury_memberships")
            memberships.append(
                {
                    "id": mid,
                    "call_id": call_id,
                    "user_id": uid,
                    "state": "accepted",
                    "invited_by_id": officer,
                    "invited_at": now - dt.timedelta(days=100),
                    "responded_at": now - dt.timedelta(days=99),
                    "conflicts_declared_at": now - dt.timedelta(days=98),
                }
            )
            [fid] = ids.take("juror_profiles")
            profiles.append(
                {
                    "id": fid,
                    "user_id": uid,
                    "affiliation_id": rng.choice(org_ids),
                    "former_organisation_ids": [],
                    "expertise_text": _text(rng, 30),
                    "max_load": load,
                    "updated_at": now,
                }
            )
        _insert(conn, t["jury_memberships"], memberships)
        _insert(conn, t["juror_profiles"], profiles)

        if not reviewed:
            rank = False
            juror_ids_to_assign: list[int] = []
        else:
            juror_ids_to_assign = juror_ids
        # Three or four reviewers per proposal, spread evenly over the jurors.
        harshness = {uid: rng.gauss(0, 0.4) for uid in juror_ids}
        queue = juror_ids[:]
        rng.shuffle(queue)
        cursor = 0
        assignments, reviews, scores = [], [], []
        for pid in proposal_ids if juror_ids_to_assign else ():
            chosen: list[int] = []
            for _ in range(rng.choice((3, 4))):
                while True:
                    uid = queue[cursor % len(queue)]
                    cursor += 1
                    if uid not in chosen:
                        break
                chosen.append(uid)
            for uid in chosen:
                [aid] = ids.take("assignments")
                assignments.append(
                    {
                        "id": aid,
                        "stage_id": stage_id,
                        "proposal_id": pid,
                        "user_id": uid,
                        "method": "automatic",
                        "affinity": round(rng.random(), 4),
                        "state": "released",
                        "created_at": now - dt.timedelta(days=50),
                        "released_at": now - dt.timedelta(days=50),
                    }
                )
                [rid] = ids.take("reviews")
                reviews.append(
                    {
                        "id": rid,
                        "assignment_id": aid,
                        "comment_for_applicant": _text(rng, 25),
                        "comment_for_jury": _text(rng, 10),
                        "confidence": rng.randint(2, 5),
                        "state": "submitted",
                        "revision": 1,
                        "updated_at": now - dt.timedelta(days=20),
                        "submitted_at": now - dt.timedelta(days=20),
                    }
                )
                for cid in criterion_ids:
                    [sid] = ids.take("review_scores")
                    value = quality[pid] + harshness[uid] + rng.gauss(0, 0.5)
                    scores.append(
                        {
                            "id": sid,
                            "review_id": rid,
                            "criterion_id": cid,
                            "score": min(5.0, max(0.0, round(value * 2) / 2)),
                        }
                    )
        _insert(conn, t["assignments"], assignments)
        _insert(conn, t["reviews"], reviews)
        _insert(conn, t["review_scores"], scores)

        for table, following in ids.next.items():
            conn.execute(
                sa.text("SELECT setval(pg_get_serial_sequence(:t, 'id'), :v, false)"),
                {"t": table, "v": following},
            )
    with app.app_context(), db.engine.connect() as conn:
        # As autovacuum would shortly after a bulk import: without statistics the planner
        # takes 20,000 rows for a handful and a filtered list takes a second instead of 10 ms;
        # without the visibility map a count reads every row besides its index.
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(sa.text("VACUUM ANALYZE"))
    ranking_id = _rank(app, stage_id, officer) if rank else None
    with app.app_context():
        db.engine.dispose()
    return World(
        programme_id, call_id, stage_id, ranking_id, proposal_ids, juror_emails, applicant_emails
    )


def _rank(app: Any, stage_id: int, officer_id: int) -> int:
    """A finished ranking of the stage, made the way an officer makes one."""
    from competition.accounts.models import User
    from competition.extensions import db
    from competition.programmes.models import Stage
    from competition.selection.models import RankingMethod
    from competition.selection.ranking.operations import start_ranking

    with app.app_context():
        stage = db.session.get(Stage, stage_id)
        officer = db.session.get(User, officer_id)
        ranking = start_ranking(
            stage, actor=officer, method=RankingMethod.BIAS_MODEL, now=dt.datetime.now(dt.UTC)
        )
        return int(ranking.id)


def fresh_database(name: str) -> str:
    """Create database ``name`` beside the tests' one and apply the migrations; its URL."""
    from flask_migrate import upgrade

    from bench.deadline_surge import admin, database_url
    from competition.extensions import db

    admin(f'CREATE DATABASE "{name}"')
    url = database_url(name)
    app = bench_app(url)
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        db.engine.dispose()
    return url


def drop_database(name: str) -> None:
    from bench.deadline_surge import admin

    admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database-url", help="an empty, migrated database (default: a new one, kept)"
    )
    parser.add_argument("--proposals", type=int, default=20_000)
    parser.add_argument("--jurors", type=int, default=8_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    url = args.database_url or fresh_database(f"bench_large_{int(time.time())}")
    print(f"database: {url}")
    world = build(url, proposals=args.proposals, jurors=args.jurors, seed=args.seed)
    seconds = time.perf_counter() - started
    print(
        f"proposals={len(world.proposal_ids)} jurors={len(world.juror_emails)} "
        f"stage_id={world.stage_id} ranking_id={world.ranking_id} build_s={seconds:.1f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
