"""The submit POST in one process: milliseconds and SQL statements per submission.

Seeds the world of ``bench/deadline_surge.py`` (one call, N applicants with complete proposals
and open sessions) in a database of its own, opens every applicant's submit page with Flask's
test client for the CSRF token and idempotency key (not measured), then posts the submissions
one after another and reports the wall time, the process's CPU time and the SQL statements
per POST (the audit chainer's after the commit included). Settings as the
surge's server gets them (``APP_ENV=production``; with ``--redis-url`` the receipt is queued in
Redis on a private queue, deleted at the end). ``--profile FILE`` writes cProfile's figures (CPU
time) of the measured POSTs; ``--statements`` prints one POST's statements. See bench/README.md
("Deadline surge", "Results").

Run from the repository root: ``.venv/bin/python bench/submit_path.py --quick --redis-url
redis://127.0.0.1:6379/8``.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from types import SimpleNamespace
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.deadline_surge import (  # noqa: E402
    _CSRF,
    _IDEMPOTENCY,
    RECEIPT,
    admin,
    database_url,
    drop_redis_queue,
    open_sessions,
    seed,
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="50 submissions (~15 s)")
    parser.add_argument("--submissions", type=int, default=None, help="default 200")
    parser.add_argument("--warm-up", type=int, default=10)
    parser.add_argument("--redis-url", default=None)
    parser.add_argument("--profile", default=None, help="write cProfile stats to this file")
    parser.add_argument("--statements", action="store_true", help="print one POST's statements")
    args = parser.parse_args(argv)
    if args.submissions is None:
        args.submissions = 50 if args.quick else 200

    name = f"bench_submit_{secrets.token_hex(4)}"
    work_dir = Path(tempfile.mkdtemp(prefix="submit_path_"))
    queue = f"bench-submit-{secrets.token_hex(4)}"
    admin(f'CREATE DATABASE "{name}"')
    try:
        return _run(args, database_url(name), work_dir, queue)
    finally:
        from competition.extensions import db

        try:
            db.session.remove()
            db.engine.dispose()
        except Exception:  # noqa: BLE001 - no app was made
            pass
        admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        shutil.rmtree(work_dir, ignore_errors=True)
        if args.redis_url:
            drop_redis_queue(args.redis_url, queue)


def _run(args: argparse.Namespace, url: str, work_dir: Path, queue: str) -> int:
    import sqlalchemy as sa
    from flask_migrate import upgrade

    from competition import create_app
    from competition.extensions import db
    from config import Settings

    environ = {
        "APP_ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "DATABASE_URL": url,
        "UPLOAD_FOLDER": str(work_dir / "uploads"),
    }
    if args.redis_url:
        environ.update(REDIS_URL=args.redis_url, TASK_QUEUE=queue)
    app = create_app(Settings.from_env(environ))
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        n = args.warm_up + args.submissions
        seeded = seed(n, closes_in_minutes=60)
        applicants = [
            SimpleNamespace(user_id=u, email=e, proposal_id=p, browser=SimpleNamespace(cookies={}))
            for u, e, p in seeded.applicants
        ]
        open_sessions(app, applicants)
        db.session.remove()

    cookie_name = app.config["SESSION_COOKIE_NAME"]
    clients = []
    for applicant in applicants:
        client = app.test_client()
        client.set_cookie(cookie_name, applicant.browser.cookies[cookie_name])
        page = client.get(f"https://localhost/proposals/{applicant.proposal_id}/submit")
        body = page.get_data(as_text=True)
        csrf, key = _CSRF.search(body), _IDEMPOTENCY.search(body)
        if page.status_code != 200 or csrf is None or key is None:
            raise SystemExit(f"submit page answered {page.status_code}")
        form = {"csrf_token": csrf[1], "idempotency_key": key[1]}
        clients.append(
            (client, f"https://localhost/proposals/{applicant.proposal_id}/submit", form)
        )

    statements: list[str] = []
    cpu_seconds: list[float] = []

    def count(conn: Any, cursor: Any, statement: str, *rest: Any) -> None:
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", count)

    def post(i: int) -> tuple[float, int]:
        client, path, form = clients[i]
        before = len(statements)
        started, cpu = time.perf_counter(), time.process_time()
        answer = client.post(path, data=form, headers={"Referer": path})
        seconds = time.perf_counter() - started
        cpu_seconds.append(time.process_time() - cpu)
        if answer.status_code != 302 or not RECEIPT.search(answer.headers.get("Location", "")):
            raise SystemExit(f"POST {path} answered {answer.status_code}")
        return seconds, len(statements) - before

    for i in range(args.warm_up):
        post(i)
    profiler = cProfile.Profile(time.process_time) if args.profile else None
    timings, counts = [], []
    del cpu_seconds[:]
    if args.statements:
        del statements[:]
    for i in range(args.warm_up, n):
        if profiler is not None:
            profiler.enable()
        seconds, statement_count = post(i)
        if profiler is not None:
            profiler.disable()
        timings.append(seconds)
        counts.append(statement_count)
        if args.statements and i == args.warm_up:
            for statement in statements:
                text = " ".join(statement.split())
                print(text if "FOR UPDATE" in text else text[:160])
    if profiler is not None:
        profiler.dump_stats(args.profile)
        pstats.Stats(args.profile).sort_stats("cumulative").print_stats(40)
    ms = sorted(1000 * t for t in timings)
    print("command: " + " ".join([".venv/bin/python bench/submit_path.py", *sys.argv[1:]]))
    print(
        f"submissions={len(ms)} redis={'yes' if args.redis_url else 'no'} "
        f"ms_mean={statistics.fmean(ms):.1f} ms_p50={ms[len(ms) // 2]:.1f} "
        f"ms_p90={ms[int(len(ms) * 0.9)]:.1f} "
        f"cpu_ms_mean={1000 * statistics.fmean(cpu_seconds):.1f} "
        f"statements={'/'.join(str(c) for c, _ in Counter(counts).most_common())}"
    )
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    raise SystemExit(main())
