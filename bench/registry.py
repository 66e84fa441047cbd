"""The organisation registry at cluster scale: importing go-cluster's 15,500 member
organisations from a file, importing them again, searching, merging. See bench/README.md.

On a fresh PostgreSQL database (migrations applied, dropped at the end unless --keep-db):

1. import: a CSV file (UTF-8 with BOM, ``;``-separated, German headers, kinds and states named
   in German, English or by code) of N organisations, one in a hundred rows malformed, read by
   ``organisations.operations.import_organisations`` as the import page calls it (the file's
   bytes in, the report out, one transaction with bulk inserts);
2. reimport: the same organisations as an XLSX workbook, every row now already in the registry
   (read, compared, skipped or counted as unchanged);
3. search: the search endpoint's query (``organisations.queries.search``) for 50 two- to
   six-letter fragments of names, p50 and p99;
4. merge: one duplicate merged into another organisation through ``merge_organisations``.

Run from the repository root: ``.venv/bin/python bench/registry.py --quick``. The last line of
the output holds the figures as key=value pairs.
"""

from __future__ import annotations

import argparse
import io
import random
import shlex
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

KINDS = ["Hochschule", "Research institute", "KMU", "sme", "Großunternehmen", "start-up",
         "Verein / öffentliche Einrichtung", "Forschungseinrichtung"]  # fmt: skip
STATES = ["Sachsen", "DE-BY", "Berlin", "Nordrhein-Westfalen", "Bavaria", "DE-HH", "Thüringen",
          "Baden-Württemberg", "Niedersachsen", "Hesse", "BB", "Sachsen-Anhalt"]  # fmt: skip
SYLLABLES = "ka lo mi ne ru sa te vo bri cha dre fla gro kle pra stu wen zor".split()
FORMS = ["GmbH", "AG", "e.V.", "UG", "KG", "Institut", "Universität", "Stiftung"]


def rows_for(count: int, seed: int) -> list[list[str]]:
    rng = random.Random(seed)
    rows = [["Name", "Art", "Bundesland", "Land"]]
    for n in range(count):
        word = "".join(rng.choice(SYLLABLES) for _ in range(3)).capitalize()
        name = f"{word} {rng.choice(FORMS)} {n:05d}"
        kind, state = rng.choice(KINDS), rng.choice(STATES)
        if n % 100 == 99:  # malformed: an unknown kind or state
            kind, state = ("Bäckerei", state) if n % 200 == 99 else (kind, "Atlantis")
        rows.append([name, kind, state, "DE"])
    return rows


def csv_file(rows: list[list[str]]) -> bytes:
    return ("\ufeff" + "\r\n".join(";".join(r) for r in rows) + "\r\n").encode()


def xlsx_file(rows: list[list[str]]) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet()
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,550 organisations")
    parser.add_argument("--rows", type=int, help="organisations in the file (default 15,500)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep-db", action="store_true")
    args = parser.parse_args(argv)
    count = args.rows or (1_550 if args.quick else 15_500)
    print("command:", shlex.join(["bench/registry.py", *(argv or sys.argv[1:])]))

    from bench.large import drop_database, fresh_database

    name = f"bench_registry_{int(time.time())}"
    url = fresh_database(name)
    try:
        figures = run(url, count=count, seed=args.seed)
    finally:
        if not args.keep_db:
            drop_database(name)
    print(" ".join(f"{k}={v}" for k, v in figures.items()))
    return 0


def run(url: str, *, count: int, seed: int) -> dict[str, object]:
    import sqlalchemy as sa

    from bench.large import bench_app
    from competition.accounts.models import Role, User, UserRole, UserStatus
    from competition.db import utcnow
    from competition.extensions import db
    from competition.organisations import operations, queries
    from competition.organisations.models import Organisation

    rows = rows_for(count, seed)
    data, workbook = csv_file(rows), xlsx_file(rows)
    app = bench_app(url)
    with app.test_request_context():
        now = utcnow()
        officer = User(
            email="officer@bench.test",
            name="Bench Officer",
            status=UserStatus.ACTIVE,
            created_at=now,
        )
        officer.role_rows.append(UserRole(role=Role.OFFICER, granted_at=now))
        db.session.add(officer)
        db.session.commit()

        started = time.perf_counter()
        report = operations.import_organisations(
            actor=officer, data=data, update_existing=False, now=now
        )
        import_s = time.perf_counter() - started
        print(
            f"import (CSV, {len(data) / 1e6:.1f} MB): {import_s:.2f} s, "
            f"{len(report.inserted)} added, {len(report.refused)} refused"
        )

        started = time.perf_counter()
        again = operations.import_organisations(
            actor=officer, data=workbook, update_existing=True, now=now
        )
        reimport_s = time.perf_counter() - started
        print(
            f"reimport (XLSX, {len(workbook) / 1e6:.1f} MB): {reimport_s:.2f} s, "
            f"{again.unchanged} unchanged, {len(again.inserted)} added"
        )

        rng = random.Random(seed)
        fragments = [
            "".join(rng.choice(SYLLABLES) for _ in range(rng.choice((1, 2)))) for _ in range(50)
        ]
        times = []
        for fragment in fragments:
            started = time.perf_counter()
            queries.search(fragment)
            times.append((time.perf_counter() - started) * 1000)
        times.sort()
        search_p50, search_p99 = statistics.median(times), times[int(len(times) * 0.99) - 1]
        print(f"search: p50 {search_p50:.1f} ms, p99 {search_p99:.1f} ms over 50 fragments")

        ids = list(
            db.session.scalars(sa.select(Organisation.id).order_by(Organisation.id).limit(2))
        )
        merged, kept = (db.session.get(Organisation, i) for i in ids)
        started = time.perf_counter()
        operations.merge_organisations(merged, into=kept, actor=officer, now=now)
        merge_s = time.perf_counter() - started
        print(f"merge: {merge_s * 1000:.0f} ms")
        db.session.remove()
        db.engine.dispose()
    return {
        "rows": count,
        "import_s": round(import_s, 2),
        "rows_per_s": round(count / import_s),
        "refused": len(report.refused),
        "reimport_xlsx_s": round(reimport_s, 2),
        "search_p50_ms": round(search_p50, 1),
        "search_p99_ms": round(search_p99, 1),
        "merge_ms": round(merge_s * 1000),
    }


if __name__ == "__main__":
    raise SystemExit(main())
