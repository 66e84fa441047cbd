"""The officers' proposal pages and a ranking page timed in one process (the Flask test
client), on a database that ``bench/large.py`` built (and ``bench/web.py --keep-db`` kept): per
page the median of N requests, its SQL statements and their time, signed in as the large
world's officer with the production settings ``bench/web.py`` serves (no second step for
officers). Figures last, on one line, as key=value.

    .venv/bin/python bench/officer_pages.py --database-url postgresql+psycopg://…/bench_web_…
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

HTTPS = "https://localhost"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--requests", type=int, help="per page (default 30; --quick 5)")
    parser.add_argument("--quick", action="store_true", help="5 requests per page")
    args = parser.parse_args(argv)
    requests = args.requests or (5 if args.quick else 30)

    import sqlalchemy as sa

    from bench.large import OFFICER
    from competition import create_app
    from competition.extensions import db
    from competition.programmes.models import Stage
    from competition.selection.models import Ranking
    from config import Settings

    for name in [k for k in os.environ if k.startswith(("REDIS_URL", "MAIL_"))]:
        del os.environ[name]
    os.environ.update(
        APP_ENV="production",
        SECRET_KEY=secrets.token_urlsafe(48),
        DATABASE_URL=args.database_url,
        UPLOAD_FOLDER=tempfile.mkdtemp(prefix="bench_officer_"),
        DEMO_MODE="false",
        SECOND_FACTOR_REQUIRED_ROLES="none",
    )
    app = create_app(Settings.from_env())
    with app.app_context():
        call_id, middle = first_call_and_middle_proposal()
        # The call's first ranking, as bench/web.py shows it (one page of it, around the line).
        stage_id, ranking_id = db.session.execute(
            sa.select(Stage.id, Ranking.id)
            .join(Ranking, Ranking.stage_id == Stage.id)
            .where(Stage.call_id == call_id)
            .order_by(Ranking.id)
            .limit(1)
        ).one()
        db.session.remove()
    client = app.test_client()
    sign_in(client, OFFICER)

    statements: list[float] = []

    @sa.event.listens_for(sa.engine.Engine, "before_cursor_execute")
    def started(conn: Any, *_: Any) -> None:
        conn.info.setdefault("started", []).append(time.perf_counter())

    @sa.event.listens_for(sa.engine.Engine, "after_cursor_execute")
    def ended(conn: Any, *_: Any) -> None:
        statements.append(time.perf_counter() - conn.info["started"].pop())

    pages = {
        "officer_list": "/proposals",
        "officer_search": "/proposals?q=hydrogen",
        "officer_filter": "/proposals?state=submitted&federal_state=DE-BY",
        "officer_proposal": f"/proposals/{middle}",
        "ranking_page": f"/calls/{call_id}/stages/{stage_id}/selection/rankings/{ranking_id}",
    }
    print("command: " + " ".join([".venv/bin/python", "bench/officer_pages.py", *sys.argv[1:]]))
    figures = {}
    print(f"{'page':18} {'median ms':>9} {'min ms':>7} {'queries':>7} {'SQL ms':>7}  path")
    for name, path in pages.items():
        for _ in range(3):  # warm-up
            assert client.get(path, base_url=HTTPS).status_code == 200, path
        times, sql = [], []
        for _ in range(requests):
            statements.clear()
            begun = time.perf_counter()
            client.get(path, base_url=HTTPS)
            times.append(time.perf_counter() - begun)
            sql.append(sum(statements))
        figures[f"{name}_ms"] = f"{statistics.median(times) * 1000:.1f}"
        figures[f"{name}_queries"] = str(len(statements))
        print(
            f"{name:18} {statistics.median(times) * 1000:9.1f} {min(times) * 1000:7.1f} "
            f"{len(statements):7d} {statistics.median(sql) * 1000:7.1f}  {path}"
        )
    print(" ".join(f"{key}={value}" for key, value in figures.items()))
    return 0


def first_call_and_middle_proposal() -> tuple[int, int]:
    """The officer's first call and its middle proposal, as bench/web.py shows them (in an
    app context)."""
    import sqlalchemy as sa

    from bench.large import OFFICER
    from competition.accounts.models import User
    from competition.extensions import db
    from competition.programmes.models import Call, ProgrammeOfficer
    from competition.proposals.models import Proposal

    call_id = db.session.scalar(
        sa.select(sa.func.min(Call.id))
        .join(ProgrammeOfficer, ProgrammeOfficer.programme_id == Call.programme_id)
        .join(User, User.id == ProgrammeOfficer.user_id)
        .where(User.email == OFFICER)
    )
    ids = db.session.scalars(
        sa.select(Proposal.id).where(Proposal.call_id == call_id).order_by(Proposal.id)
    ).all()
    return int(call_id), int(ids[len(ids) // 2])


def sign_in(client: Any, email: str) -> None:
    """Sign ``email`` in through the login form of the app behind Flask's ``client``."""
    from bench.large import PASSWORD

    login = client.get("/login", base_url=HTTPS).get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', login)
    assert token is not None, "the login page has no form"
    answer = client.post(
        "/login",
        data={"email": email, "password": PASSWORD, "next": "", "csrf_token": token[1]},
        base_url=HTTPS,
        headers={"Referer": f"{HTTPS}/login"},
    )
    assert answer.status_code == 302, f"{email} could not log in ({answer.status_code})"


if __name__ == "__main__":
    sys.exit(main())
