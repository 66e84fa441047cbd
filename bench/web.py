"""The pages at the scale of the largest funders, against a bare page, in one run.

Builds a large competition (``bench/large.py``: 20,000 proposals, 8,000 jurors, 3–4 reviews
each; ``--quick``: 1,000 and 400) and as many funded projects for the portal and the API
(``bench/funded.py``) in a database of its own, starts the app under gunicorn (sync workers and
``config/web_server.py`` as the Procfile, production settings) and, as the ceiling of the
machine, a bare Flask page that runs one SELECT, then loads each page with loadtest (a load
generator from the npm registry, installed under ``bench/.tools`` on first use, driven by
``bench/load.mjs``) and prints requests per second, p50 and p99 latency and the ratio to the
bare page's rate. The portal's open data is downloaded once. The last line holds the figures
as key=value.

The portal's pages are loaded anonymously at one address each, so all but a worker's first
request are served from the kept pages (``portal/page_cache.py``, here in each worker's
memory: the benchmark sets no REDIS_URL); ``portal_search_miss`` searches a different word on
every request, each rendered afresh.

    .venv/bin/python bench/web.py --quick
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

TOOLS = ROOT / "bench" / ".tools"
LOADTEST = TOOLS / "node_modules" / "loadtest"
RUNNER = ROOT / "bench" / "load.mjs"
# The longest a slow page is loaded (see ``measure``); --quick keeps to its minute instead of
# waiting for every connection's answers, so its slowest pages' figures are rougher.
MAX_SECONDS = 60.0
QUICK_MAX_SECONDS = 2.0

# --- The ceiling: a bare Flask page with one SELECT -----------------------------------------
# Served by the second gunicorn as ``bench.web:bare_app``.


def _make_bare() -> Any:
    from flask import Flask

    # The surge benchmark's connection: one per worker, from BENCH_BARE_DSN.
    from bench.deadline_surge import _bare_db

    bare = Flask("bare")

    @bare.get("/healthz")
    def healthz() -> str:
        return "ok"

    @bare.get("/")
    def page() -> str:
        row = _bare_db().execute("SELECT title FROM proposals ORDER BY id LIMIT 1").fetchone()
        return f"<!doctype html><title>bare</title><p>{row[0] if row else ''}</p>"

    return bare


bare_app = _make_bare() if os.environ.get("BENCH_BARE_DSN") else None


# --- Running ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Figures:
    name: str
    path: str
    group: str  # "competition", "portal" or "api"
    status: int  # of the first request; only a page that answered 200 is loaded
    rps: float = 0.0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    kb: float = 0.0
    errors: int = 0
    codes: str = ""  # the statuses of failed requests under load, e.g. "429×12"
    seconds: float = 0.0  # how long it was loaded

    @property
    def measured(self) -> bool:
        return self.status == 200


def ensure_loadtest() -> None:
    if not LOADTEST.exists():
        TOOLS.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["npm", "install", "--prefix", str(TOOLS), "--no-audit", "--no-fund", "loadtest@8"],
            check=True,
            stdout=subprocess.DEVNULL,
        )


class Loader:
    """``bench/load.mjs`` running for the whole benchmark: one job at a time."""

    def __init__(self) -> None:
        # Run from beside the installed package: Node resolves an import from the script's
        # folder.
        runner = TOOLS / RUNNER.name
        shutil.copyfile(RUNNER, runner)
        self.process = subprocess.Popen(
            ["node", str(runner)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )

    def load(
        self,
        url: str,
        *,
        headers: dict[str, str],
        seconds: float,
        connections: int,
        words: list[str] | None = None,
    ) -> dict[str, Any]:
        job: dict[str, Any] = {
            "url": url,
            "concurrency": connections,
            "seconds": seconds,
            "headers": headers,
        }
        if words:
            job["words"] = words  # "QWORD" in the URL: a different word on each request
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(json.dumps(job) + "\n")
        self.process.stdin.flush()
        while True:
            line = self.process.stdout.readline()
            if not line:
                raise RuntimeError(f"bench/load.mjs ended (status {self.process.wait()})")
            if line.startswith("result "):
                result: dict[str, Any] = json.loads(line.removeprefix("result "))
                return result

    def stop(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def get(port: int, path: str, headers: dict[str, str]) -> tuple[int, bytes, float]:
    """One GET on its own connection: status, body and seconds until the body was read."""
    started = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    try:
        connection.request("GET", path, headers={"Host": f"127.0.0.1:{port}", **headers})
        response = connection.getresponse()
        body = response.read()
    finally:
        connection.close()
    return response.status, body, time.perf_counter() - started


def measure(
    loader: Loader,
    name: str,
    port: int,
    path: str,
    headers: dict[str, str],
    *,
    group: str,
    seconds: float,
    connections: int,
    workers: int,
    longest: float = MAX_SECONDS,
    words: list[str] | None = None,
) -> Figures:
    """Load the page for ``seconds`` after a request that checks it answers 200 (and gives its
    size); a page that does not is reported with its status and not loaded. That first request
    also waits out what the previous page left queued and warms the page; the quickest of three
    more times it (a worker's first request may fill its caches), and a slow page is loaded
    longer, so that each connection has about three answers: a window shorter than the
    queue's round trip would count none. With ``words``, "QWORD" in the path is a different
    word (or mix of capitals) on every request, so that no page is served kept."""
    checked = path.replace("QWORD", words[0]) if words else path
    status, body, _ = get(port, checked, headers)
    if status != 200:
        return Figures(name=name, path=path, group=group, status=status)
    timed = [path.replace("QWORD", w) for w in words[1:4]] if words else [path] * 3
    took = min(get(port, each, headers)[2] for each in timed)
    seconds = min(max(seconds, 3 * took * connections / workers), longest)
    data = loader.load(
        f"http://127.0.0.1:{port}{path}",
        headers=headers,
        seconds=seconds,
        connections=connections,
        words=words,
    )
    codes = " ".join(f"{code}×{count}" for code, count in sorted(data.get("codes", {}).items()))
    return Figures(
        name=name,
        path=path,
        group=group,
        status=status,
        rps=float(data["rps"]),
        p50_ms=float(data["p50"]),
        p99_ms=float(data["p99"]),
        kb=len(body) / 1024,
        errors=int(data["errors"]),
        codes=codes,
        seconds=seconds,
    )


def download(port: int, path: str) -> tuple[int, float, float, float]:
    """One anonymous download of open data: status, milliseconds until the answer's first
    bytes (gunicorn sends the headers with the first chunk of a streamed body) and until its
    last, and KB."""
    started = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    try:
        connection.request("GET", path, headers={"Host": f"127.0.0.1:{port}"})
        response = connection.getresponse()
        first = time.perf_counter() - started
        body = response.read()
    finally:
        connection.close()
    took = time.perf_counter() - started
    return response.status, first * 1000, took * 1000, len(body) / 1024


def worker_peak_mb(master_pid: int) -> float:
    """The largest peak resident size (VmHWM) of the gunicorn master's workers."""
    peak = 0.0
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(
                line.split(":", 1) for line in status.read_text().splitlines() if ":" in line
            )
        except OSError:
            continue
        if fields.get("PPid", "").strip() == str(master_pid) and "VmHWM" in fields:
            peak = max(peak, int(fields["VmHWM"].split()[0]) / 1024)
    return peak


def export_seconds(port: int, path: str, cookie: str) -> float | int:
    """One download of an export, in seconds (a float), or the status it answered instead (an
    int), so that a refused export does not cost the run's other figures."""
    from bench.deadline_surge import Browser

    browser = Browser(port)
    browser.cookies.update(dict(part.split("=", 1) for part in cookie.split("; ")))
    answer = browser.request("GET", path)
    if answer.status != 200:
        return int(answer.status)
    return float(answer.seconds)


def signed_in(port: int, email: str) -> str:
    from bench.deadline_surge import _CSRF, Browser
    from bench.large import PASSWORD

    browser = Browser(port)
    page = browser.request("GET", "/login")
    token = _CSRF.search(page.body)
    assert token is not None, "the login page has no form"
    answer = browser.request(
        "POST", "/login", {"email": email, "password": PASSWORD, "next": "", "csrf_token": token[1]}
    )
    if answer.status != 302:
        raise RuntimeError(f"{email} could not log in ({answer.status})")
    return "; ".join(f"{k}={v}" for k, v in browser.cookies.items())


def api_token(database_url: str, email: str) -> str:
    """A personal API token of ``email`` that reads proposals, programmes and grants, made with
    the product's operation."""
    import datetime as dt

    import sqlalchemy as sa

    from bench.large import bench_app
    from competition.accounts.models import User
    from competition.api.tokens import create_token
    from competition.extensions import db

    app = bench_app(database_url)
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == email))
        assert user is not None, f"no user {email}"
        now = dt.datetime.now(dt.UTC)
        secret = create_token(
            user,
            name="bench",
            scopes=["programmes:read", "proposals:read", "grants:read"],
            expires_at=now + dt.timedelta(days=1),
            now=now,
        ).secret
        db.engine.dispose()
    return secret


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 proposals, 1 s per page")
    parser.add_argument("--proposals", type=int)
    parser.add_argument("--jurors", type=int)
    parser.add_argument("--grants", type=int, help="funded projects (default: as proposals)")
    parser.add_argument("--seconds", type=float, help="load per page (default 10; --quick 1)")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers")
    parser.add_argument("--keep-db", action="store_true")
    args = parser.parse_args(argv)
    proposals = args.proposals or (1_000 if args.quick else 20_000)
    jurors = args.jurors or max(1, proposals * 2 // 5)
    grants = args.grants or proposals
    seconds = args.seconds or (1 if args.quick else 10)
    longest = QUICK_MAX_SECONDS if args.quick else MAX_SECONDS

    from bench.deadline_surge import server_env, start_server
    from bench.funded import add_funded
    from bench.large import ADMIN, OFFICER, WORDS, build, drop_database, fresh_database

    run_started = time.perf_counter()
    cleanup: list[Any] = []
    work = Path(tempfile.mkdtemp(prefix="bench_web_"))
    name = f"bench_web_{secrets.token_hex(4)}"
    app_log = ""
    try:
        ensure_loadtest()
        started = time.perf_counter()
        url = fresh_database(name)
        if not args.keep_db:
            cleanup.append(lambda: drop_database(name))
        world = build(url, proposals=proposals, jurors=jurors)
        build_s = time.perf_counter() - started
        print(f"built {proposals} proposals, {jurors} jurors in {build_s:.0f} s ({url})")
        started = time.perf_counter()
        funded = add_funded(url, grants=grants)
        funded_s = time.perf_counter() - started
        print(
            f"added {grants} funded projects in {funded_s:.1f} s: "
            + ", ".join(f"{n} {k}" for k, n in {**funded.kinds, **funded.states}.items())
            + f"; {funded.amounts} approved amounts, {funded.withheld} names withheld"
        )
        marks = {"data": time.perf_counter()}
        token = api_token(url, funded.officer_email)
        env = server_env(
            APP_ENV="production",
            SECRET_KEY=secrets.token_urlsafe(48),
            DATABASE_URL=url,
            UPLOAD_FOLDER=str(work / "uploads"),
            DEMO_MODE="false",
            # The API's rate limit would turn the load into 429s: this measures the endpoints.
            API_RATE_LIMIT="1000000 per minute",
            # Its officers sign in with the password alone: this measures the pages, not the
            # second step production asks of them.
            SECOND_FACTOR_REQUIRED_ROLES="none",
        )
        app = start_server(
            "app",
            "competition:create_app()",
            workers=args.workers,
            env=env,
            log_dir=work,
            cleanup=cleanup,
        )
        bare = start_server(
            "bare",
            "bench.web:bare_app",
            workers=args.workers,
            env=server_env(BENCH_BARE_DSN=url.replace("postgresql+psycopg://", "postgresql://")),
            log_dir=work,
            cleanup=cleanup,
        )

        def cookie(email: str) -> dict[str, str]:
            return {"Cookie": signed_in(app.port, email), "Accept": "text/html"}

        officer = cookie(OFFICER)
        juror = cookie(world.juror_emails[0])
        applicant = cookie(world.applicant_emails[0])
        signed_in(app.port, ADMIN)
        anonymous = {"Accept": "text/html"}
        program = {"Accept": "application/json"}
        bearer = {**program, "Authorization": f"Bearer {token}"}
        hub = f"/calls/{world.call_id}/stages/{world.stage_id}/selection"
        grant_id = funded.grant_ids[len(funded.grant_ids) // 2]
        pages = [
            ("officer_list", "/proposals", officer, "competition"),
            ("officer_search", "/proposals?q=hydrogen", officer, "competition"),
            (
                "officer_filter",
                "/proposals?state=submitted&federal_state=DE-BY",
                officer,
                "competition",
            ),
            (
                "officer_proposal",
                f"/proposals/{world.proposal_ids[len(world.proposal_ids) // 2]}",
                officer,
                "competition",
            ),
            ("juror_reviews", "/reviews", juror, "competition"),
            ("applicant_dashboard", "/", applicant, "competition"),
            ("ranking_page", f"{hub}/rankings/{world.ranking_id}", officer, "competition"),
            ("portal_start", "/portal", anonymous, "portal"),
            ("portal_funded", "/portal/funded", anonymous, "portal"),
            ("portal_search", f"/portal/funded?q={funded.search_word}", anonymous, "portal"),
            (
                "portal_filter",
                f"/portal/funded?federal_state=DE-BY&year={funded.year}",
                anonymous,
                "portal",
            ),
            ("portal_grant", f"/portal/funded/{grant_id}", anonymous, "portal"),
            ("portal_map", "/portal/map", anonymous, "portal"),
            ("api_public_funded", "/api/v1/public/funded?limit=50", program, "api"),
            ("api_grants", "/api/v1/grants?limit=50", bearer, "api"),
            ("api_proposals", "/api/v1/proposals?limit=50", bearer, "api"),
        ]
        marks["servers and sign-in"] = time.perf_counter()
        loader = Loader()
        cleanup.append(loader.stop)
        baseline = measure(
            loader,
            "bare",
            bare.port,
            "/",
            {},
            group="",
            seconds=seconds,
            connections=args.connections,
            workers=args.workers,
            longest=longest,
        )
        results = [
            measure(
                loader,
                key,
                app.port,
                path,
                headers,
                group=group,
                seconds=seconds,
                connections=args.connections,
                workers=args.workers,
                longest=longest,
            )
            for key, path, headers, group in pages
        ]
        # Every search a different word: each request misses the kept pages and is rendered.
        results.append(
            measure(
                loader,
                "portal_search_miss",
                app.port,
                "/portal/funded?q=QWORD",
                anonymous,
                group="portal",
                seconds=seconds,
                connections=args.connections,
                workers=args.workers,
                longest=longest,
                words=list(WORDS),
            )
        )
        marks["pages"] = time.perf_counter()
        open_data = {kind: download(app.port, f"/portal/funded.{kind}") for kind in ("json", "csv")}
        exports = {
            what: export_seconds(app.port, f"{hub}/exports/{what}.xlsx", officer["Cookie"])
            for what in ("rankings", "reviews")
        }
        marks["downloads"] = time.perf_counter()
        peak_mb = worker_peak_mb(app.process.pid)
        if any(r.status >= 500 for r in results) or any(
            status >= 500 for status, _, _, _ in open_data.values()
        ):
            app_log = app.log_tail(60)
    finally:
        for undo in reversed(cleanup):
            try:
                undo()
            except Exception as error:  # noqa: BLE001  (cleaning up: report and go on)
                print(f"cleanup: {type(error).__name__}: {error}", file=sys.stderr)
        shutil.rmtree(work, ignore_errors=True)
    marks["cleanup"] = time.perf_counter()

    print(
        f"\nportal and API: {grants} funded projects; q={funded.search_word} is in "
        f"{funded.search_matches}, {funded.year_matches} run in {funded.year}"
    )
    header = f"{'page':<22}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'KB':>9}{'ratio':>8}  path"
    print(header)

    def row(name: str, f: Figures, ratio: float, path: str) -> str:
        if not f.measured:
            what = "missing" if f.status == 404 else "failed"
            return f"{name:<22}{what + f' (answered {f.status})':>44}  {path}"
        numbers = f"{f.rps:>9.1f}{f.p50_ms:>9.0f}{f.p99_ms:>9.0f}{f.kb:>9.1f}{ratio:>8.3f}"
        notes = [f"{f.errors} errors: {f.codes}"] if f.errors else []
        if f.seconds >= 1.5 * seconds:
            notes.append(f"loaded {f.seconds:.0f} s")
        return f"{name:<22}{numbers}  {path}" + (f"  ({'; '.join(notes)})" if notes else "")

    print(row("bare (one SELECT)", baseline, 1.0, "/"))
    figures: dict[str, str] = {"proposals": str(proposals), "bare_rps": f"{baseline.rps:.1f}"}
    ratios: dict[str, float] = {}
    for r in results:
        ratio = r.rps / baseline.rps if baseline.rps else 0.0
        print(row(r.name, r, ratio, re.sub(r"/\d+", "/<id>", r.path)))
        if not r.measured:
            figures[f"{r.name}_rps"] = "missing" if r.status == 404 else f"failed_{r.status}"
            continue
        ratios[r.name] = ratio
        figures[f"{r.name}_rps"] = f"{r.rps:.1f}"
        figures[f"{r.name}_p99_ms"] = f"{r.p99_ms:.0f}"
        figures[f"{r.name}_ratio"] = f"{ratio:.3f}"
    by_name = {r.name: r for r in results}

    def lowest(group: str) -> str:
        found = [ratios[r.name] for r in results if r.group == group and r.name in ratios]
        return f"{min(found):.3f}" if found else "missing"

    ranking = by_name["ranking_page"]
    figures["min_ratio"] = f"{min(ratios.values()):.3f}"
    figures["ranking_page_ms"] = f"{ranking.p99_ms:.0f}"
    figures["ranking_page_kb"] = f"{ranking.kb:.0f}"
    print()
    for what, took in exports.items():
        if isinstance(took, int):
            print(f"export {what}.xlsx: answered {took}")
            figures[f"export_{what}_s"] = f"failed_{took}"
            continue
        print(f"export {what}.xlsx: {took:.1f} s")
        figures[f"export_{what}_s"] = f"{took:.1f}"
    print(f"largest peak resident size of a web worker over the run: {peak_mb:.0f} MB")
    figures["web_worker_peak_mb"] = f"{peak_mb:.0f}"
    figures["grants"] = str(grants)
    figures["funded_s"] = f"{funded_s:.1f}"
    figures["portal_min_ratio"] = lowest("portal")
    portal_funded = by_name["portal_funded"]
    figures["portal_funded_p99_ms"] = (
        f"{portal_funded.p99_ms:.0f}" if portal_funded.measured else "missing"
    )
    figures["api_min_ratio"] = lowest("api")
    for kind, (status, first_ms, ms, kb) in open_data.items():
        if status == 200:
            print(
                f"open data funded.{kind}: first bytes after {first_ms:.0f} ms, all {kb:.0f} KB "
                f"after {ms:.0f} ms (one anonymous download)"
            )
            figures[f"open_data_{kind}_first_ms"] = f"{first_ms:.0f}"
            figures[f"open_data_{kind}_ms"] = f"{ms:.0f}"
            figures[f"open_data_{kind}_kb"] = f"{kb:.0f}"
        else:
            print(f"open data funded.{kind}: answered {status}")
            for figure in ("first_ms", "ms", "kb"):
                figures[f"open_data_{kind}_{figure}"] = "missing"
    unmeasured = [r.name for r in results if not r.measured] + [
        f"open_data_{kind}" for kind, (status, _, _, _) in open_data.items() if status != 200
    ]
    figures["missing"] = ",".join(unmeasured) or "none"
    if app_log:
        print(f"\nthe app's log ends:\n{app_log}")
    command = " ".join(["bench/web.py", *(argv if argv is not None else sys.argv[1:])])
    spans, previous = [], run_started
    for what, mark in marks.items():
        spans.append(f"{what} {mark - previous:.0f} s")
        previous = mark
    print(f"\nwhere the run's time went: {', '.join(spans)}")
    print(f"\ncommand: .venv/bin/python {command} (took {time.perf_counter() - run_started:.0f} s)")
    print(" ".join(f"{k}={v}" for k, v in figures.items()))
    # 2: a page or a download did not answer 200, so the run's figures are incomplete.
    return 2 if unmeasured else 0


if __name__ == "__main__":
    raise SystemExit(main())
