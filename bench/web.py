"""The pages at the scale of the largest funders, against a bare page, in one run.

Builds a large competition (``bench/large.py``: 20,000 proposals, 8,000 jurors, 3–4 reviews
each; ``--quick``: 2,000 and 800) in a database of its own, starts the app under gunicorn (sync
workers, production settings) and, as the ceiling of the machine, a bare Flask page that runs
one SELECT, then loads each page with loadtest (a load generator from the npm registry,
installed under ``bench/.tools`` on first use, driven by ``bench/load.mjs``) and prints
requests per second, p50 and p99 latency and the ratio to the bare page's rate. The last line
holds the figures as key=value.

    .venv/bin/python bench/web.py --quick
"""

from __future__ import annotations

import argparse
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
    rps: float
    p50_ms: float
    p99_ms: float
    kb: float
    errors: int


def ensure_loadtest() -> None:
    if not LOADTEST.exists():
        TOOLS.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["npm", "install", "--prefix", str(TOOLS), "--no-audit", "--no-fund", "loadtest@8"],
            check=True,
            stdout=subprocess.DEVNULL,
        )


def load(url: str, *, cookie: str, seconds: int, connections: int) -> dict[str, Any]:
    # Run from beside the installed package: Node resolves an import from the script's folder.
    runner = TOOLS / RUNNER.name
    shutil.copyfile(RUNNER, runner)
    command = ["node", str(runner), url, str(connections), str(seconds), cookie]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def measure(
    name: str, port: int, path: str, cookie: str, *, seconds: int, connections: int
) -> Figures:
    from bench.deadline_surge import Browser

    browser = Browser(port)
    if cookie:
        browser.cookies.update(dict(part.split("=", 1) for part in cookie.split("; ")))
    first = browser.request("GET", path)
    if first.status != 200:
        raise RuntimeError(f"{name}: GET {path} answered {first.status}")
    data = load(
        f"http://127.0.0.1:{port}{path}", cookie=cookie, seconds=seconds, connections=connections
    )
    return Figures(
        name=name,
        path=path,
        rps=float(data["rps"]),
        p50_ms=float(data["p50"]),
        p99_ms=float(data["p99"]),
        kb=len(first.body.encode()) / 1024,
        errors=int(data["errors"]),
    )


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


def export_seconds(port: int, path: str, cookie: str) -> float:
    """One download of an export, in seconds."""
    from bench.deadline_surge import Browser

    browser = Browser(port)
    browser.cookies.update(dict(part.split("=", 1) for part in cookie.split("; ")))
    answer = browser.request("GET", path)
    if answer.status != 200:
        raise RuntimeError(f"GET {path} answered {answer.status}")
    return answer.seconds


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2,000 proposals, 3 s per page")
    parser.add_argument("--proposals", type=int)
    parser.add_argument("--jurors", type=int)
    parser.add_argument("--seconds", type=int, help="load per page (default 10; --quick 3)")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers")
    parser.add_argument("--keep-db", action="store_true")
    args = parser.parse_args(argv)
    proposals = args.proposals or (2_000 if args.quick else 20_000)
    jurors = args.jurors or max(1, proposals * 2 // 5)
    seconds = args.seconds or (3 if args.quick else 10)

    from bench.deadline_surge import server_env, start_server
    from bench.large import ADMIN, OFFICER, build, drop_database, fresh_database

    cleanup: list[Any] = []
    work = Path(tempfile.mkdtemp(prefix="bench_web_"))
    name = f"bench_web_{secrets.token_hex(4)}"
    try:
        ensure_loadtest()
        started = time.perf_counter()
        url = fresh_database(name)
        if not args.keep_db:
            cleanup.append(lambda: drop_database(name))
        world = build(url, proposals=proposals, jurors=jurors)
        build_s = time.perf_counter() - started
        print(f"built {proposals} proposals, {jurors} jurors in {build_s:.0f} s ({url})")
        env = server_env(
            APP_ENV="production",
            SECRET_KEY=secrets.token_urlsafe(48),
            DATABASE_URL=url,
            UPLOAD_FOLDER=str(work / "uploads"),
            DEMO_MODE="false",
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
        officer = signed_in(app.port, OFFICER)
        juror = signed_in(app.port, world.juror_emails[0])
        applicant = signed_in(app.port, world.applicant_emails[0])
        signed_in(app.port, ADMIN)
        hub = f"/calls/{world.call_id}/stages/{world.stage_id}/selection"
        pages = [
            ("officer_list", "/proposals", officer),
            ("officer_search", "/proposals?q=hydrogen", officer),
            ("officer_filter", "/proposals?state=submitted&federal_state=DE-BY", officer),
            (
                "officer_proposal",
                f"/proposals/{world.proposal_ids[len(world.proposal_ids) // 2]}",
                officer,
            ),
            ("juror_reviews", "/reviews", juror),
            ("applicant_dashboard", "/", applicant),
            ("ranking_page", f"{hub}/rankings/{world.ranking_id}", officer),
        ]
        baseline = measure(
            "bare", bare.port, "/", "", seconds=seconds, connections=args.connections
        )
        results = [
            measure(key, app.port, path, cookie, seconds=seconds, connections=args.connections)
            for key, path, cookie in pages
        ]
        exports = {
            what: export_seconds(app.port, f"{hub}/exports/{what}.xlsx", officer)
            for what in ("rankings", "reviews")
        }
        peak_mb = worker_peak_mb(app.process.pid)
    finally:
        for undo in reversed(cleanup):
            try:
                undo()
            except Exception as error:  # noqa: BLE001  (cleaning up: report and go on)
                print(f"cleanup: {type(error).__name__}: {error}", file=sys.stderr)
        shutil.rmtree(work, ignore_errors=True)

    header = f"{'page':<22}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'KB':>9}{'ratio':>8}  path"
    print("\n" + header)

    def row(name: str, f: Figures, ratio: float, path: str) -> str:
        numbers = f"{f.rps:>9.1f}{f.p50_ms:>9.0f}{f.p99_ms:>9.0f}{f.kb:>9.1f}{ratio:>8.3f}"
        errors = f"  ({f.errors} errors)" if f.errors else ""
        return f"{name:<22}{numbers}  {path}{errors}"

    print(row("bare (one SELECT)", baseline, 1.0, "/"))
    figures: dict[str, str] = {"proposals": str(proposals), "bare_rps": f"{baseline.rps:.1f}"}
    ratios = []
    for r in results:
        ratio = r.rps / baseline.rps if baseline.rps else 0.0
        ratios.append(ratio)
        print(row(r.name, r, ratio, re.sub(r"/\d+", "/<id>", r.path)))
        figures[f"{r.name}_rps"] = f"{r.rps:.1f}"
        figures[f"{r.name}_p99_ms"] = f"{r.p99_ms:.0f}"
        figures[f"{r.name}_ratio"] = f"{ratio:.3f}"
    ranking = next(r for r in results if r.name == "ranking_page")
    figures["min_ratio"] = f"{min(ratios):.3f}"
    figures["ranking_page_ms"] = f"{ranking.p99_ms:.0f}"
    figures["ranking_page_kb"] = f"{ranking.kb:.0f}"
    print()
    for what, took in exports.items():
        print(f"export {what}.xlsx: {took:.1f} s")
        figures[f"export_{what}_s"] = f"{took:.1f}"
    print(f"largest peak resident size of a web worker over the run: {peak_mb:.0f} MB")
    figures["web_worker_peak_mb"] = f"{peak_mb:.0f}"
    command = " ".join(["bench/web.py", *(argv if argv is not None else sys.argv[1:])])
    print(f"\ncommand: .venv/bin/python {command}")
    print(" ".join(f"{k}={v}" for k, v in figures.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
