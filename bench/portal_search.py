"""The portal's search rendered afresh, in one process: what a search costs that no kept page
answers, for common words, a rarer one, a partner's name and a word nobody has.

    .venv/bin/python bench/portal_search.py --database-url URL   # a database bench/funded.py filled

Each word is searched ``--repeat`` times (the first of all requests is left out: it loads the
templates and the kept filter choices) through the Flask test client, with kept pages off;
printed per word: the median of the whole request, of its SQL (the time in the driver's
``execute``) and the count the page shows.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

COMMON = ("wind", "health", "grid")
FIFTH = "lighthouse"
NONE = "zeppelinwerft"


def partner_name(url: str) -> str:
    """The name of an organisation the public may see in a few funded consortia."""
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        name = conn.execute(
            sa.text(
                "SELECT o.name FROM organisations o"
                " JOIN consortium_members m ON m.organisation_id = o.id"
                " WHERE NOT m.name_withheld GROUP BY o.id, o.name ORDER BY o.id DESC LIMIT 1"
            )
        ).scalar_one()
    engine.dispose()
    return str(name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--page", type=int, default=1)
    args = parser.parse_args(argv)

    from competition import create_app
    from competition.extensions import db
    from config import Settings

    app = create_app(
        Settings(
            env="production",
            secret_key="bench-" + "k" * 40,
            database_url=args.database_url,
            demo_mode=False,
            portal_page_cache=False,
        )
    )
    spent: list[float] = []
    with app.app_context():
        engine = db.engine

    @sa.event.listens_for(engine, "before_cursor_execute")
    def _before(conn: Any, cursor: Any, statement: str, *rest: Any) -> None:
        conn.info["bench_started"] = time.perf_counter()

    @sa.event.listens_for(engine, "after_cursor_execute")
    def _after(conn: Any, cursor: Any, statement: str, *rest: Any) -> None:
        spent.append(time.perf_counter() - conn.info.pop("bench_started"))

    client = app.test_client()
    client.get("/portal/funded?q=warmup", headers={"Accept-Language": "en"})
    words = [*COMMON, FIFTH, partner_name(args.database_url), NONE]
    print(f"{'search':28} {'request ms':>10} {'sql ms':>8} {'queries':>7}  count")
    for word in words:
        totals, sqls = [], []
        count = ""
        for _ in range(args.repeat):
            spent.clear()
            started = time.perf_counter()
            response = client.get(
                "/portal/funded",
                query_string={"q": word, "page": args.page},
                headers={"Accept-Language": "en"},
            )
            totals.append(time.perf_counter() - started)
            sqls.append(sum(spent))
            assert response.status_code == 200, response.status_code
            found = re.search(r'id="result-count">([^·<]*)', response.get_data(as_text=True))
            count = " ".join(found.group(1).split()) if found else "?"
        print(
            f"{word:28} {statistics.median(totals) * 1000:10.1f}"
            f" {statistics.median(sqls) * 1000:8.1f} {len(spent):7d}  {count}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
