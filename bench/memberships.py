"""Membership programmes at go-cluster scale: the registry's member counts of the cluster
management organisations and the public list of members, with 90 clusters and 15,500 member
organisations (10,500 SMEs, 2,000 large firms). See bench/README.md.

On a fresh PostgreSQL database (migrations applied, dropped at the end unless --keep-db):

1. build: the organisations, a membership programme and one granted membership per cluster with
   its members, by bulk inserts (not measured as a page would be; printed for scale);
2. counts: ``memberships.queries.member_counts_of_clusters`` for every cluster at once (the
   registry's one grouped query), and ``organisations.queries.cluster_counts`` for a page of
   the registry (50 organisations, the clusters among them), p50 and p99;
3. pages: through the test client, as an officer, the registry's list of the clusters (with
   their member counts) and a cluster's page; anonymously, the public list of members (first
   page, a search, the last page); p50 and p99 of each, and how many SQL statements one view
   runs.

Run from the repository root: ``.venv/bin/python bench/memberships.py --quick``. The last line
of the output holds the figures as key=value pairs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import re
import shlex
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PASSWORD = "bench-password-1"
# go-cluster: 15,500 actors, 10,500 of them SMEs, 2,000 large firms; the rest research partners
# and others.
SHARES = {"sme": 10_500, "large_enterprise": 2_000, "university": 900, "research_institute": 1_100,
          "start_up": 0, "society": 1_000}  # fmt: skip
STATES = ["DE-BW", "DE-BY", "DE-BE", "DE-BB", "DE-HB", "DE-HH", "DE-HE", "DE-MV", "DE-NI",
          "DE-NW", "DE-RP", "DE-SL", "DE-SN", "DE-ST", "DE-SH", "DE-TH"]  # fmt: skip
CHUNK = 5_000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="fewer repetitions (the same go-cluster scale)"
    )
    parser.add_argument("--clusters", type=int, default=90)
    parser.add_argument("--actors", type=int, default=15_500)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep-db", action="store_true")
    args = parser.parse_args(argv)
    repeats = 10 if args.quick else 50
    print("command:", shlex.join(["bench/memberships.py", *(argv or sys.argv[1:])]))

    from bench.large import drop_database, fresh_database

    name = f"bench_memberships_{int(time.time())}"
    url = fresh_database(name)
    try:
        figures = run(
            url, clusters=args.clusters, actors=args.actors, seed=args.seed, repeats=repeats
        )
    finally:
        if not args.keep_db:
            drop_database(name)
    print(" ".join(f"{k}={v}" for k, v in figures.items()))
    return 0


def _timed(fn: Callable[[], Any], repeats: int) -> tuple[float, float]:
    """p50 and p99 of ``fn`` in milliseconds, after one warm-up call."""
    fn()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return statistics.median(times), times[max(0, int(len(times) * 0.99) - 1)]


def build(clusters: int, actors: int, seed: int) -> dict[str, Any]:
    """Inside an app context: the registry, the programme and its granted memberships."""
    import sqlalchemy as sa

    from competition.accounts.models import Role, User, UserRole, UserStatus
    from competition.accounts.passwords import hash_password
    from competition.db import utcnow
    from competition.extensions import db
    from competition.memberships.models import Membership, MembershipMember, MembershipState
    from competition.organisations.models import Organisation
    from competition.programmes.models import Programme, ProgrammeKind, ProgrammeOfficer

    rng = random.Random(seed)
    now = utcnow()
    officer = User(
        email="officer@bench.test",
        name="Bench Officer",
        password_hash=hash_password(PASSWORD),
        status=UserStatus.ACTIVE,
        created_at=now,
    )
    officer.role_rows.append(UserRole(role=Role.OFFICER, granted_at=now))
    applicant = User(email="applicant@bench.test", name="Bench Applicant",
                     status=UserStatus.ACTIVE, created_at=now)  # fmt: skip
    applicant.role_rows.append(UserRole(role=Role.APPLICANT, granted_at=now))
    db.session.add_all([officer, applicant])
    programme = Programme(slug="go-cluster", name="go-cluster", total_budget=0,
                          kind=ProgrammeKind.MEMBERSHIP)  # fmt: skip
    db.session.add(programme)
    db.session.flush()
    db.session.add(ProgrammeOfficer(programme_id=programme.id, user_id=officer.id))
    scale = actors / sum(SHARES.values())
    kinds = [k for k, n in SHARES.items() for _ in range(round(n * scale))]
    rng.shuffle(kinds)
    rows = [
        {"name": f"Cluster {n:03d} Management e.V.", "kind": "society",
         "federal_state": rng.choice(STATES), "country": "DE", "created_at": now}
        for n in range(clusters)
    ] + [
        {"name": f"Member {n:05d} {kind}", "kind": kind, "federal_state": rng.choice(STATES),
         "country": "DE", "created_at": now}
        for n, kind in enumerate(kinds)
    ]  # fmt: skip
    for start in range(0, len(rows), CHUNK):
        db.session.execute(sa.insert(Organisation), rows[start : start + CHUNK])
    ids = list(db.session.scalars(sa.select(Organisation.id).order_by(Organisation.id)))
    cluster_ids, member_ids = ids[:clusters], ids[clusters:]
    today = now.date()
    db.session.execute(
        sa.insert(Membership),
        [
            {"programme_id": programme.id, "organisation_id": cluster_id,
             "applicant_id": applicant.id, "state": MembershipState.GRANTED,
             "services": f"Matchmaking, trade fairs and training in field {n}.",
             "applied_at": now, "updated_at": now, "round": 1,
             "valid_from": today - dt.timedelta(days=100),
             "valid_until": today + dt.timedelta(days=265)}
            for n, cluster_id in enumerate(cluster_ids)
        ],
    )  # fmt: skip
    membership_ids = list(
        db.session.scalars(
            sa.select(Membership.id)
            .where(Membership.programme_id == programme.id)
            .order_by(Membership.id)
        )
    )
    # Every actor in one cluster; one in twenty in a second one too.
    links = {(membership_ids[i % clusters], m) for i, m in enumerate(member_ids)}
    links |= {
        (rng.choice(membership_ids), m) for m in rng.sample(member_ids, len(member_ids) // 20)
    }
    link_rows = [
        {"membership_id": membership_id, "organisation_id": organisation_id, "added_at": now}
        for membership_id, organisation_id in sorted(links)
    ]
    for start in range(0, len(link_rows), CHUNK):
        db.session.execute(sa.insert(MembershipMember), link_rows[start : start + CHUNK])
    db.session.commit()
    return {
        "programme": programme.slug,
        "cluster_ids": cluster_ids,
        "membership_ids": membership_ids,
        "links": len(link_rows),
    }


def run(url: str, *, clusters: int, actors: int, seed: int, repeats: int) -> dict[str, object]:
    import sqlalchemy as sa

    from bench.large import bench_app
    from competition.extensions import db
    from competition.memberships import queries
    from competition.organisations import queries as registry
    from competition.organisations.models import Organisation

    app = bench_app(url)
    with app.app_context():
        started = time.perf_counter()
        world = build(clusters, actors, seed)
        build_s = time.perf_counter() - started
        print(
            f"build: {clusters} clusters, {actors} actors, {world['links']} member rows "
            f"in {build_s:.1f} s"
        )
        cluster_ids = world["cluster_ids"]
        all_p50, all_p99 = _timed(lambda: queries.member_counts_of_clusters(cluster_ids), repeats)
        page_ids = list(
            db.session.scalars(
                sa.select(Organisation.id).order_by(sa.func.lower(Organisation.name)).limit(50)
            )
        )
        page_p50, page_p99 = _timed(lambda: registry.cluster_counts(page_ids), repeats)
        print(
            f"counts: all {clusters} clusters p50 {all_p50:.1f} ms, p99 {all_p99:.1f} ms; a "
            f"registry page of 50 p50 {page_p50:.1f} ms, p99 {page_p99:.1f} ms"
        )
        db.session.remove()

    statements = 0

    def count(*_: object) -> None:
        nonlocal statements
        statements += 1

    with app.app_context():
        engine = db.engine
    officer = _signed_in(app)
    anonymous = app.test_client()
    slug = world["programme"]
    last = -(-clusters // queries.PUBLIC_PER_PAGE)
    pages = {
        "registry_list": (officer, "/organisations?q=Cluster"),
        "membership_page": (officer, f"/memberships/{world['membership_ids'][0]}"),
        "public_first": (anonymous, f"/programmes/{slug}/members"),
        "public_search": (anonymous, f"/programmes/{slug}/members?q=field+1"),
        "public_last": (anonymous, f"/programmes/{slug}/members?page={last}"),
    }
    figures: dict[str, object] = {
        "clusters": clusters,
        "actors": actors,
        "member_rows": world["links"],
        "build_s": round(build_s, 1),
        "counts_all_p50_ms": round(all_p50, 1),
        "counts_all_p99_ms": round(all_p99, 1),
        "counts_page_p50_ms": round(page_p50, 1),
    }
    for key, (client, url_) in pages.items():

        def get(client: Any = client, url_: str = url_) -> None:
            response = client.get(url_)
            assert response.status_code == 200, (url_, response.status_code)

        p50, p99 = _timed(get, repeats)
        statements = 0
        sa.event.listen(engine, "before_cursor_execute", count)
        get()
        sa.event.remove(engine, "before_cursor_execute", count)
        print(f"{key}: p50 {p50:.1f} ms, p99 {p99:.1f} ms, {statements} SQL statements")
        figures[f"{key}_p50_ms"] = round(p50, 1)
        figures[f"{key}_queries"] = statements
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    return figures


def _signed_in(app: Any) -> Any:
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    assert token is not None, "the login page has no form"
    answer = client.post(
        "/login",
        data={"email": "officer@bench.test", "password": PASSWORD, "csrf_token": token.group(1)},
    )
    assert answer.status_code == 302, "the officer could not log in"
    return client


if __name__ == "__main__":
    raise SystemExit(main())
