"""What one request of each page costs the web process in CPU instructions, counted by
valgrind's callgrind: unlike a time, the count stays the same whatever else the machine runs,
so two versions of the code can be compared in one run on a busy machine (a page's time moved
by half between runs there, its count by under 0.5 %). PostgreSQL's own work is not counted
(the statements per request are printed beside). On a database that ``bench/large.py`` built
(``bench/funded.py`` added for ``portal_search``), with the production settings that
``bench/web.py`` serves.

    .venv/bin/python bench/page_cost.py --database-url postgresql+psycopg://…/bench_large_…
    .venv/bin/python bench/page_cost.py --quick --database-url …   # three pages, under a minute

Each page runs in a process of its own under callgrind, two at a time: it signs in, loads the
page three times to warm up, then counts the instructions of ``--requests`` requests through
Flask's test client (no web server). ``bare`` is ``bench/web.py``'s ceiling, a Flask page that
runs one SELECT; a page's ratio is the bare page's count over its own: the web process's side
of ``bench/web.py``'s ratio, which also pays for PostgreSQL's work and the server. Figures last,
on one line, as key=value: ``<page>_mi``, millions of instructions per request, and
``<page>_ratio``.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.officer_pages import HTTPS  # noqa: E402

# (page, who signs in, path); {proposal} is the middle proposal of the officer's first call.
PAGES = [
    # bench/web.py's ceiling: a bare Flask page that runs one SELECT.
    ("bare", None, "/"),
    ("juror_reviews", "juror-0@bench.test", "/reviews"),
    ("applicant_dashboard", "applicant-0@bench.test", "/"),
    ("officer_list", "officer@bench.test", "/proposals"),
    ("officer_search", "officer@bench.test", "/proposals?q=hydrogen"),
    ("officer_filter", "officer@bench.test", "/proposals?state=submitted&federal_state=DE-BY"),
    ("officer_proposal", "officer@bench.test", "/proposals/{proposal}"),
    # A different word on every request, as bench/web.py's portal_search_miss: no page kept
    # (the entries of consortia that earlier words found are).
    ("portal_search", None, "/portal/funded?q={word}"),
]
QUICK_PAGES = ("bare", "juror_reviews", "officer_list")
COLLECTED = re.compile(r"Collected : (\d+)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--requests", type=int, help="counted per page (default 20; --quick 5)")
    parser.add_argument("--quick", action="store_true", help=f"only {', '.join(QUICK_PAGES)}")
    parser.add_argument("--pages", help="comma-separated page names (default: all)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    requests = args.requests or (5 if args.quick else 20)
    if args.child:
        return child(args.child, args.database_url, requests)
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        print("valgrind (with callgrind_control) is needed: apt-get install valgrind")
        return 2
    names = [name for name, _, _ in PAGES]
    wanted = args.pages.split(",") if args.pages else list(QUICK_PAGES if args.quick else names)
    unknown = sorted(set(wanted) - set(names))
    if unknown:
        parser.error(f"unknown pages: {', '.join(unknown)} (known: {', '.join(names)})")
    print("command: " + " ".join([".venv/bin/python", "bench/page_cost.py", *sys.argv[1:]]))
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        counted = list(pool.map(lambda name: count(name, args.database_url, requests), wanted))
    measured = dict(zip(wanted, counted, strict=True))
    bare = measured["bare"][0] if "bare" in measured else None
    print(f"{'page':20} {'M instructions':>14} {'statements':>10} {'ratio':>6}")
    figures = []
    for name, (instructions, statements) in measured.items():
        ratio = f"{bare / instructions:.3f}" if bare else "-"
        print(f"{name:20} {instructions / 1e6:14.2f} {statements:>10} {ratio:>6}")
        figures.append(f"{name}_mi={instructions / 1e6:.2f}")
        if bare and name != "bare":
            figures.append(f"{name}_ratio={ratio}")
    print(" ".join(figures))
    return 0


def count(page: str, database_url: str, requests: int) -> tuple[float, str]:
    """Instructions per request of ``page`` and its statements per request, from a process
    of its own under callgrind that counts only while the requests run."""
    command = [
        "valgrind",
        "--tool=callgrind",
        "--instr-atstart=no",
        "--callgrind-out-file=/dev/null",
        sys.executable,
        str(Path(__file__).resolve()),
        "--child",
        page,
        "--database-url",
        database_url,
        "--requests",
        str(requests),
    ]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=False)
    found = COLLECTED.search(done.stderr)
    statements = re.search(r"statements=(\S+)", done.stdout)
    if done.returncode != 0 or found is None or statements is None:
        raise SystemExit(f"{page} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return int(found[1]) / requests, statements[1]


def child(page: str, database_url: str, requests: int) -> int:
    import sqlalchemy as sa

    from bench.large import WORDS
    from bench.officer_pages import first_call_and_middle_proposal, sign_in
    from competition import create_app
    from competition.extensions import db
    from config import Settings

    for name in [k for k in os.environ if k.startswith(("REDIS_URL", "MAIL_"))]:
        del os.environ[name]
    os.environ.update(
        APP_ENV="production",
        SECRET_KEY=secrets.token_urlsafe(48),
        DATABASE_URL=database_url,
        UPLOAD_FOLDER=tempfile.mkdtemp(prefix="bench_page_cost_"),
        DEMO_MODE="false",
        SECOND_FACTOR_REQUIRED_ROLES="none",
    )
    if page == "bare":
        os.environ["BENCH_BARE_DSN"] = database_url.replace(
            "postgresql+psycopg://", "postgresql://"
        )
        from bench.web import _make_bare

        app = _make_bare()
    else:
        app = create_app(Settings.from_env())
    _, who, path = next(p for p in PAGES if p[0] == page)
    if "{proposal}" in path:
        with app.app_context():
            path = path.format(proposal=first_call_and_middle_proposal()[1])
            db.session.remove()
    client = app.test_client()
    if who is not None:
        sign_in(client, who)
    # Words in mixed capitals, each its own address: the portal keeps no page for them.
    words = iter(f"{w[: i % len(w)].upper()}{w[i % len(w) :]}" for i, w in enumerate(WORDS * 50))
    paths = [path.format(word=next(words)) for _ in range(requests + 3)]
    for warm in paths[:3]:
        assert client.get(warm, base_url=HTTPS).status_code == 200, warm
    statements = 0

    def counted(*_: Any) -> None:
        nonlocal statements
        statements += 1

    sa.event.listen(sa.engine.Engine, "before_cursor_execute", counted)
    instrument("on")
    answers = [client.get(measured, base_url=HTTPS).status_code for measured in paths[3:]]
    instrument("off")
    assert set(answers) == {200}, f"{page} answered {sorted(set(answers))}"
    # The bare page's one SELECT goes to the driver, past SQLAlchemy's count.
    print(f"statements={1.0 if page == 'bare' else statements / requests:.1f}")
    return 0


def instrument(state: str) -> None:
    subprocess.run(
        ["callgrind_control", "-i", state, str(os.getpid())], check=True, capture_output=True
    )


if __name__ == "__main__":
    sys.exit(main())
