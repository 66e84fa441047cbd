"""Deadline surge: many applicants submit in the last minute, concurrently, through the
production web server (gunicorn, sync workers) on PostgreSQL; and the same load on a bare
endpoint that only inserts one row, as the ceiling of the machine. See bench/README.md.

One run:

1. Creates a database of its own, applies the migrations and seeds one published call whose
   stage closes a few minutes from now, the applicants (one argon2 hash shared by all) and for
   each a complete, submittable proposal (abstract, topic, three sections, two consortium
   members, four budget lines, the one required PDF attachment). Written directly; not measured.
2. Starts gunicorn on 127.0.0.1 with ``competition:create_app()`` (APP_ENV=production by
   default). Every applicant logs in (``--login form``: the login form, argon2 in the server;
   ``--login session``: the benchmark opens the server-side session itself) and opens the submit
   page for its CSRF token and idempotency key; two applicants per worker then submit to warm
   the workers up. Not measured.
3. The surge: ``--concurrency`` client threads wait at a barrier, then post the submissions as
   fast as the server answers. Some applicants double-click (a second POST with the same key
   shortly after the first, on its own connection); some lose the answer (the client drops the
   connection unread after 0-200 ms, as after a timeout) and post again with the same key. A
   receipt is a 302 to /proposals/<id>/versions/<n>.
4. Stops the server gracefully (requests it accepted are finished) and checks the database:
   lost = receipts whose version (same proposal, stage and number, made from the key posted) is
   not stored; duplicated = idempotency keys with more than one version, plus versions beyond
   the number of distinct keys posted for a proposal. Both must be 0; the exit status is 1
   otherwise.
5. The ceiling: a second gunicorn with the same workers serves ``bare_app`` below (parse the
   form, one INSERT in its own committed transaction on one connection per worker, answer 302)
   and gets POSTs at the same concurrency. ``ratio`` = submit_rps / bare_rps is the figure to
   quote.

During both phases a sampler reads pg_stat_activity and pg_locks every ``--sample-ms`` to see
how the database backends spend the time (waiting for the audit chainer's lock, for the WAL
flush, for the application between statements, ...); CPU time of the web workers, of the
database's backends, of this client and of everything else is read from /proc.

Run from the repository root: ``.venv/bin/python bench/deadline_surge.py --quick``. The last
line of the output holds the figures as key=value pairs.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import http.client
import itertools
import os
import random
import re
import secrets
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode

ROOT = Path(__file__).resolve().parent.parent
# The key of the audit chainer's advisory lock (competition.audit.operations._CHAIN_LOCK_KEY).
# Requests only insert their events; after a commit one chainer at a time extends the chain, and
# a commit that finds the lock taken leaves its events to the chainer at work.
CHAIN_LOCK_KEY = 7_340_021
PASSWORD = "deadline surge password"
RECEIPT = re.compile(r"/proposals/(\d+)/versions/(\d+)(?:\?|$)")
HTTP_TIMEOUT = 120.0  # seconds for any one request of the benchmark's clients

QUICK = {"submissions": 60, "concurrency": 30}
FULL = {"submissions": 400, "concurrency": 64}


class BenchError(RuntimeError):
    """The benchmark could not run as designed (setup failed, server did not start, ...)."""


# --- The ceiling: a bare endpoint that inserts one row ------------------------------------------
# Imported by the second gunicorn as ``bench.deadline_surge:bare_app``; keep this module's
# top-level imports light, so its workers load nothing but psycopg.

_bare_connection: Any = None


def _bare_db() -> Any:
    global _bare_connection
    if _bare_connection is None or _bare_connection.closed:
        import psycopg

        _bare_connection = psycopg.connect(os.environ["BENCH_BARE_DSN"], autocommit=True)
    return _bare_connection


def bare_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """POST /submit: one INSERT (its own committed transaction), then a 302 like a receipt."""
    if environ.get("REQUEST_METHOD") == "GET" and environ.get("PATH_INFO") == "/healthz":
        _bare_db().execute("SELECT 1")
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
        return [b"ok"]
    if environ.get("REQUEST_METHOD") != "POST":
        start_response("405 Method Not Allowed", [("Content-Length", "0")])
        return [b""]
    length = int(environ.get("CONTENT_LENGTH") or 0)
    form = parse_qs(environ["wsgi.input"].read(length).decode())
    key = (form.get("idempotency_key") or [""])[0]
    row = _bare_db().execute("INSERT INTO bench_bare_hits (key) VALUES (%s) RETURNING id", (key,))
    number = row.fetchone()[0]
    start_response("302 Found", [("Location", f"/done/{number}"), ("Content-Length", "0")])
    return [b""]


# --- HTTP client ----------------------------------------------------------------------------------

_CSRF = re.compile(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"')
_IDEMPOTENCY = re.compile(r'<input[^>]*name="idempotency_key"[^>]*value="([^"]+)"')


@dataclasses.dataclass
class Answer:
    status: int
    location: str
    body: str
    seconds: float


class Browser:
    """Cookies and form posts over plain HTTP/1.1, one connection per request (gunicorn's sync
    workers close the connection after each answer anyway).

    It keeps every cookie, including ``Secure`` ones: a browser would drop those over plain HTTP,
    but this client only ever talks to 127.0.0.1, so the server can run in production mode.
    """

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}

    def _headers(self, body: bytes | None) -> dict[str, str]:
        headers = {"Host": f"127.0.0.1:{self.port}", "Accept": "text/html"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in list(self.cookies.items()))
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        return headers

    def _keep_cookies(self, response: http.client.HTTPResponse) -> None:
        for header in response.headers.get_all("Set-Cookie") or ():
            pair, _, attributes = header.partition(";")
            name, _, value = pair.strip().partition("=")
            lowered = attributes.lower().replace(" ", "")
            if not value or "max-age=0" in lowered or "expires=thu,01jan1970" in lowered:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value

    def request(self, method: str, path: str, form: dict[str, str] | None = None) -> Answer:
        body = urlencode(form).encode() if form is not None else None
        started = time.perf_counter()
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=HTTP_TIMEOUT)
        try:
            connection.request(method, path, body=body, headers=self._headers(body))
            response = connection.getresponse()
            data = response.read()
        finally:
            connection.close()
        seconds = time.perf_counter() - started
        self._keep_cookies(response)
        return Answer(
            response.status,
            response.getheader("Location", ""),
            data.decode(errors="replace"),
            seconds,
        )

    def post_and_drop(self, path: str, form: dict[str, str], wait: float) -> None:
        """Send the POST, then close the connection unread after ``wait`` seconds: the answer
        is lost, as when the browser times out or the network drops."""
        body = urlencode(form).encode()
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=HTTP_TIMEOUT)
        try:
            connection.request("POST", path, body=body, headers=self._headers(body))
            time.sleep(wait)
        finally:
            connection.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- Measuring ----------------------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float:
    """Linear interpolation between closest ranks (p in 0..100)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    rank = (len(ordered) - 1) * p / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def _clock_ticks() -> int:
    try:
        return os.sysconf("SC_CLK_TCK")
    except (ValueError, OSError, AttributeError):
        return 100


def _proc_stat(pid: int) -> tuple[str, int, float] | None:
    """(command, parent pid, CPU seconds) of a process, from /proc; None if it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    command = text[text.index("(") + 1 : text.rindex(")")]
    fields = text[text.rindex(")") + 2 :].split()
    # After the command: state ppid ... utime (14th field overall) stime (15th).
    return command, int(fields[1]), (int(fields[11]) + int(fields[12])) / _clock_ticks()


def _all_pids() -> list[int]:
    try:
        return [int(name) for name in os.listdir("/proc") if name.isdigit()]
    except OSError:
        return []


@dataclasses.dataclass
class CpuSnapshot:
    web: dict[int, float]  # the gunicorn master and its workers, CPU seconds by pid
    backends: dict[int, float]  # the PostgreSQL backends of the benchmark's database
    client: float  # this benchmark process, all threads
    busy: float  # the machine: non-idle time, in CPU seconds
    total: float  # the machine: all time, in CPU seconds


def cpu_snapshot(server_pid: int, backend_pids: set[int]) -> CpuSnapshot | None:
    """CPU time so far, from /proc (Linux); None where /proc cannot be read."""
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    except (OSError, ValueError):
        return None
    ticks = _clock_ticks()
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle and iowait
    web: dict[int, float] = {}
    backends: dict[int, float] = {}
    for pid in _all_pids():
        stat = _proc_stat(pid)
        if stat is None:
            continue
        _command, parent, seconds = stat
        if pid == server_pid or parent == server_pid:
            web[pid] = seconds
        elif pid in backend_pids:
            backends[pid] = seconds
    # user, nice, system, idle, iowait, irq, softirq, steal (guest time is within user time);
    # steal counts as busy: it was not available to anything here.
    counted = sum(fields[:8])
    return CpuSnapshot(
        web=web,
        backends=backends,
        client=time.process_time(),
        busy=(counted - idle) / ticks,
        total=counted / ticks,
    )


def cpu_delta(before: CpuSnapshot | None, after: CpuSnapshot | None) -> dict[str, float]:
    """CPU seconds spent between two snapshots: by the web server, by the benchmark database's
    backends, by this client, by everything else on the machine, and the machine's total."""
    if before is None or after is None:
        return {}

    def spent(old: dict[int, float], new: dict[int, float]) -> float:
        return sum(seconds - old.get(pid, 0.0) for pid, seconds in new.items())

    web = spent(before.web, after.web)
    backends = spent(before.backends, after.backends)
    client = after.client - before.client
    busy = after.busy - before.busy
    return {
        "web": web,
        "postgres": backends,
        "client": client,
        "other": max(0.0, busy - web - backends - client),
        "busy": busy,
        "total": after.total - before.total,
    }


def backend_pids(dsn: str) -> set[int]:
    import psycopg

    with psycopg.connect(dsn, autocommit=True, connect_timeout=5) as connection:
        rows = connection.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid()"
        ).fetchall()
    return {pid for (pid,) in rows}


def _backend_category(state: str | None, wait_type: str | None, wait_event: str | None) -> str:
    if state == "active":
        if wait_type == "Lock" and wait_event == "advisory":
            return "waiting for the audit-chain lock"
        if wait_type == "Lock":
            return "waiting for a row lock"
        if wait_event in ("WALSync", "WALWrite", "WALInsert", "WALBufMapping") or (
            wait_type == "IO" and (wait_event or "").startswith("WAL")
        ):
            return "waiting for the WAL (commit flush)"
        if wait_type in (None, "CPU"):
            return "running SQL"
        return f"other wait ({wait_type}:{wait_event})"
    if state and state.startswith("idle in transaction"):
        return "in a transaction, waiting for the app"
    return "idle (app outside a transaction)"


class DatabaseSampler:
    """Samples the states of the database's client backends and the audit-chain lock holder."""

    QUERY = """
        SELECT a.pid, a.state, a.wait_event_type, a.wait_event, l.pid IS NOT NULL AS holds
        FROM pg_stat_activity a
        LEFT JOIN pg_locks l
          ON l.pid = a.pid AND l.locktype = 'advisory' AND l.granted
         AND l.classid = 0 AND l.objid = %s
        WHERE a.datname = current_database() AND a.pid <> pg_backend_pid()
          AND a.backend_type = 'client backend'
    """

    def __init__(self, dsn: str, interval: float, max_seconds: float) -> None:
        self.dsn = dsn
        self.interval = interval
        self.max_seconds = max_seconds
        self.samples = 0
        self.held = 0
        self.categories: Counter[str] = Counter()
        self.holder: Counter[str] = Counter()
        self.pids: set[int] = set()
        self.most = 0  # the most backends seen in one sample
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.error: str | None = None

    def start(self) -> None:
        if self.interval <= 0:
            return
        self._thread = threading.Thread(target=self._run, name="db-sampler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        import psycopg

        deadline = time.monotonic() + self.max_seconds
        try:
            with psycopg.connect(self.dsn, autocommit=True, connect_timeout=5) as connection:
                while not self._stop.is_set() and time.monotonic() < deadline:
                    rows = connection.execute(self.QUERY, (CHAIN_LOCK_KEY,)).fetchall()
                    self.samples += 1
                    self.most = max(self.most, len(rows))
                    held = False
                    for pid, state, wait_type, wait_event, holds in rows:
                        self.pids.add(pid)
                        category = _backend_category(state, wait_type, wait_event)
                        self.categories[category] += 1
                        if holds:
                            held = True
                            self.holder[category] += 1
                    self.held += held
                    self._stop.wait(self.interval)
        except Exception as exc:  # the measurement goes on without the sampler
            self.error = f"{type(exc).__name__}: {exc}"


# --- Servers ------------------------------------------------------------------------------------


@dataclasses.dataclass
class Server:
    name: str
    process: subprocess.Popen[bytes]
    port: int
    log_path: Path

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self, timeout: float = 40.0) -> None:
        """SIGTERM to the master: the workers finish the requests they accepted, then exit."""
        if self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            # The master was started in a session of its own: its process group is ours to end.
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)


def gunicorn_command(app: str, *, port: int, workers: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "gunicorn",
        # As the Procfile: the web workers' settings.
        "--config",
        str(ROOT / "config" / "web_server.py"),
        "--workers",
        str(workers),
        "--worker-class",
        "sync",
        # As the Procfile: a workbook of 80,000 reviews takes 20-40 s on a busy machine.
        "--timeout",
        "120",
        "--bind",
        f"127.0.0.1:{port}",
        app,
    ]


def start_server(
    name: str, app: str, *, workers: int, env: dict[str, str], log_dir: Path, cleanup: list[Any]
) -> Server:
    """Start gunicorn and wait for /healthz; its stop is registered in ``cleanup`` at once."""
    port = free_port()
    log_path = log_dir / f"{name}.log"
    with log_path.open("ab") as log_file:
        process = subprocess.Popen(
            gunicorn_command(app, port=port, workers=workers),
            cwd=ROOT,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server(name, process, port, log_path)
    cleanup.append(server.stop)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BenchError(f"{name} server exited early:\n{server.log_tail()}")
        try:
            answer = Browser(port).request("GET", "/healthz")
            if answer.status == 200:
                return server
        except OSError:
            pass
        time.sleep(0.2)
    raise BenchError(f"{name} server did not answer /healthz within 60 s:\n{server.log_tail()}")


def server_env(**values: str) -> dict[str, str]:
    """The caller's environment without the app's own settings, plus ``values``."""
    dropped = ("APP_ENV", "SECRET_KEY", "DATABASE_URL", "REDIS_URL", "MAIL_", "UPLOAD_FOLDER")
    env = {k: v for k, v in os.environ.items() if not k.startswith(dropped)}
    env.update(values, PYTHONUNBUFFERED="1")
    return env


# --- Database and seed --------------------------------------------------------------------------


def admin_url() -> str:
    host = os.environ.get("TEST_PG_HOST", "127.0.0.1")
    port = os.environ.get("TEST_PG_PORT", "5432")
    user = os.environ.get("TEST_PG_USER", os.environ.get("USER", "root"))
    return f"postgresql://{user}@{host}:{port}/" + os.environ.get("TEST_PG_DATABASE", "test")


def database_url(name: str) -> str:
    return admin_url().rsplit("/", 1)[0] + f"/{name}"


def admin(sql: str) -> list[tuple[Any, ...]]:
    import psycopg

    with psycopg.connect(admin_url(), autocommit=True, connect_timeout=5) as connection:
        cursor = connection.execute(sql)
        return cursor.fetchall() if cursor.description else []


def small_pdf() -> bytes:
    import io

    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(595, 842)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


SECTION_TEXT = (
    "The consortium will build a regional cluster for applied research and transfer. "
    "Partners contribute laboratories, pilot lines and staff; milestones are agreed per year. "
) * 25  # about 4,300 characters per section


@dataclasses.dataclass
class Seed:
    stage_id: int
    closes_at: dt.datetime
    applicants: list[tuple[int, str, int]]  # (user id, e-mail, proposal id)
    sections: int
    members: int
    budget_lines: int


def seed(n: int, *, closes_in_minutes: float) -> Seed:
    """Everything the surge needs, written directly (inside the current app context)."""
    from decimal import Decimal

    from competition.accounts.models import Role, User, UserRole, UserStatus
    from competition.accounts.passwords import hash_password
    from competition.core.uploads import UploadLimits, check_pdf
    from competition.db import utcnow
    from competition.extensions import db
    from competition.organisations.models import FederalState, Organisation, OrganisationKind
    from competition.programmes.models import Call, CallState, Programme, Stage, StageKind, Topic
    from competition.proposals import storage
    from competition.proposals.models import (
        Attachment,
        BudgetLine,
        ConsortiumMember,
        ContributorRole,
        MemberRole,
        Proposal,
        ProposalContributor,
        ProposalState,
        StageSubmission,
    )

    now = utcnow()
    password_hash = hash_password(PASSWORD)  # once: argon2 is slow on purpose
    sections = [
        {"key": "strategy", "title": "Strategy", "max_chars": 20000},
        {"key": "partners", "title": "Partners", "max_chars": 20000},
        {"key": "work_plan", "title": "Work plan", "max_chars": 20000},
    ]
    programme = Programme(slug="surge", name="Deadline surge", total_budget=Decimal("1e9"))
    call = Call(
        programme=programme,
        round_number=1,
        name="Surge call",
        reference_prefix="SRG",
        state=CallState.PUBLISHED,
        max_public_funding_per_proposal=Decimal("1000000"),
        min_private_share=Decimal("0.25"),
    )
    stage = Stage(
        call=call,
        position=1,
        kind=StageKind.OUTLINE,
        name="Outline",
        opens_at=now - dt.timedelta(days=30),
        closes_at=now + dt.timedelta(minutes=closes_in_minutes),
        required_sections=sections,
        attachment_rules=[
            {"key": "cv", "title": "CVs", "required": True, "max_pages": 5, "max_bytes": 10**6}
        ],
    )
    topic = Topic(slug="surge-topic", name_en="Surge topic", name_de="Thema Lastspitze")
    coordinator_org = Organisation(
        name="Surge University", kind=OrganisationKind.UNIVERSITY, federal_state=FederalState.SN
    )
    partner_org = Organisation(
        name="Surge GmbH", kind=OrganisationKind.SME, federal_state=FederalState.BE
    )
    db.session.add_all([programme, call, stage, topic, coordinator_org, partner_org])

    users = []
    for i in range(n):
        user = User(
            email=f"applicant{i:05d}@surge.test",
            name=f"Applicant {i}",
            password_hash=password_hash,
            status=UserStatus.ACTIVE,
            email_confirmed_at=now,
            created_at=now,
        )
        user.role_rows.append(UserRole(role=Role.APPLICANT, granted_at=now))
        users.append(user)
    db.session.add_all(users)
    db.session.flush()

    pdf = small_pdf()
    checked = check_pdf(pdf, filename="cv.pdf", limits=UploadLimits(max_bytes=10**6, max_pages=5))
    # One file on disk shared by every attachment row: submitting reads the rows, not the file.
    storage_key = storage.store(pdf)

    proposals = []
    for i, user in enumerate(users):
        proposal = Proposal(
            call=call,
            reference=f"SRG-{i + 1:05d}",
            acronym=f"SRG{i + 1}",
            title=f"Regional transfer cluster {i + 1}",
            abstract="A cluster that brings applied research into regional companies.",
            state=ProposalState.DRAFT,
            created_by_id=user.id,
            created_at=now,
            updated_at=now,
        )
        proposal.topics.append(topic)
        proposal.contributors.append(
            ProposalContributor(user_id=user.id, role=ContributorRole.COORDINATOR)
        )
        members = [
            ConsortiumMember(
                organisation=coordinator_org,
                role=MemberRole.COORDINATOR,
                contact_name=user.name,
                contact_email=user.email,
            ),
            ConsortiumMember(organisation=partner_org, role=MemberRole.PARTNER),
        ]
        proposal.members.extend(members)
        submission = StageSubmission(
            stage=stage,
            sections={s["key"]: SECTION_TEXT for s in sections},
            section_revisions={s["key"]: 1 for s in sections},
            revision=1,
            updated_at=now,
        )
        proposal.submissions.append(submission)
        for member in members:
            for year in (1, 2):
                submission.budget_lines.append(
                    BudgetLine(
                        member=member,
                        year=year,
                        public_funding=Decimal("100000.00"),
                        own_contribution=Decimal("50000.00"),
                    )
                )
        db.session.add(
            Attachment(
                submission=submission,
                kind="cv",
                filename="cv.pdf",
                content_type=checked.content_type,
                size_bytes=checked.size_bytes,
                page_count=checked.page_count,
                sha256=checked.sha256,
                storage_key=storage_key,
                uploaded_by_id=user.id,
                uploaded_at=now,
            )
        )
        proposals.append(proposal)
    db.session.add_all(proposals)
    db.session.commit()
    return Seed(
        stage_id=stage.id,
        closes_at=stage.closes_at,
        applicants=[(u.id, u.email, p.id) for u, p in zip(users, proposals, strict=True)],
        sections=len(sections),
        members=2,
        budget_lines=4,
    )


# --- The applicants -----------------------------------------------------------------------------


@dataclasses.dataclass
class Applicant:
    index: int
    user_id: int
    email: str
    proposal_id: int
    # "plain", "double" (double click), "retry" (answer lost, posted again) or "warm-up"
    kind: str
    browser: Browser
    csrf: str = ""
    key: str = ""
    error: str = ""


@dataclasses.dataclass
class Post:
    applicant: int
    status: int
    seconds: float
    receipt: tuple[int, int] | None  # (proposal id, version number) from a 302's Location
    error: str = ""


def submit_receipt(answer: Answer) -> tuple[int, int] | None:
    match = RECEIPT.search(answer.location) if answer.status == 302 else None
    return (int(match.group(1)), int(match.group(2))) if match else None


def run_pool(
    count: int, concurrency: int, work: Any, *, time_limit: float, barrier: bool = False
) -> float:
    """Call ``work(i)`` for i in 0..count-1 on ``concurrency`` threads; returns the wall time
    from the start (after the barrier, if any) until the last call returned."""
    threads = max(1, min(concurrency, count))
    lock = threading.Lock()
    next_index = iter(range(count))
    gate = threading.Barrier(threads + 1, timeout=60) if barrier else None
    deadline = time.monotonic() + time_limit

    def loop() -> None:
        if gate is not None:
            gate.wait()
        while time.monotonic() < deadline:
            with lock:
                index = next(next_index, None)
            if index is None:
                return
            work(index)

    pool = [threading.Thread(target=loop, daemon=True) for _ in range(threads)]
    for thread in pool:
        thread.start()
    if gate is not None:
        gate.wait()  # the last one to arrive: every client thread is waiting, all go at once
    started = time.perf_counter()
    for thread in pool:
        thread.join(timeout=max(0.0, deadline - time.monotonic()) + 5)
    if any(thread.is_alive() for thread in pool):
        raise BenchError(f"clients still running after the time limit of {time_limit:.0f} s")
    return time.perf_counter() - started


def prepare(applicant: Applicant, *, form_login: bool) -> None:
    """Log in (unless the session was opened directly) and open the submit page."""
    browser = applicant.browser
    try:
        if form_login:
            page = browser.request("GET", "/login")
            csrf = _CSRF.search(page.body)
            if page.status != 200 or csrf is None:
                raise BenchError(f"GET /login answered {page.status}")
            form = {"email": applicant.email, "password": PASSWORD, "next": ""}
            login = browser.request("POST", "/login", {**form, "csrf_token": csrf[1]})
            if login.status != 302:
                raise BenchError(f"POST /login answered {login.status}")
        page = browser.request("GET", f"/proposals/{applicant.proposal_id}/submit")
        csrf, key = _CSRF.search(page.body), _IDEMPOTENCY.search(page.body)
        if page.status != 200 or csrf is None or key is None:
            text = re.sub(r"<[^>]+>", " ", page.body)
            raise BenchError(
                f"submit page answered {page.status} without a submit form: "
                + " ".join(text.split())[-300:]
            )
        applicant.csrf, applicant.key = csrf[1], key[1]
    except Exception as exc:
        applicant.error = f"{type(exc).__name__}: {exc}"


def submit(applicant: Applicant, posts: list[Post], rng: random.Random) -> None:
    """The applicant's part of the surge: one POST, a double click, or a lost answer and retry."""
    path = f"/proposals/{applicant.proposal_id}/submit"
    form = {"csrf_token": applicant.csrf, "idempotency_key": applicant.key}

    def post() -> None:
        try:
            answer = applicant.browser.request("POST", path, form)
            receipt = submit_receipt(answer)
            posts.append(Post(applicant.index, answer.status, answer.seconds, receipt))
        except Exception as exc:
            posts.append(Post(applicant.index, 0, 0.0, None, f"{type(exc).__name__}: {exc}"))

    if applicant.kind == "double":
        second = threading.Thread(target=post, daemon=True)
        second.start()
        time.sleep(rng.uniform(0.0, 0.05))
        post()
        second.join(timeout=HTTP_TIMEOUT + 5)
    elif applicant.kind == "retry":
        try:
            applicant.browser.post_and_drop(path, form, wait=rng.uniform(0.0, 0.2))
        except OSError:
            pass  # the retry below is what counts
        post()
    else:
        post()


@dataclasses.dataclass
class Phase:
    name: str
    posts: list[Post]
    wall: float  # seconds from the barrier until the last answer
    cpu: dict[str, float]
    sampler: DatabaseSampler

    @property
    def latencies_ms(self) -> list[float]:
        return [p.seconds * 1000 for p in self.posts if not p.error]

    @property
    def receipted(self) -> int:
        """Applicants with a receipt (in the bare phase: rows inserted)."""
        return len({p.applicant for p in self.posts if p.receipt is not None})

    @property
    def rps(self) -> float:
        return self.receipted / self.wall if self.wall > 0 else float("nan")

    @property
    def errors(self) -> int:
        return sum(1 for p in self.posts if p.receipt is None)


# --- Checking the database ----------------------------------------------------------------------


@dataclasses.dataclass
class Verdict:
    lost: int
    duplicated: int
    versions: int
    versions_without_receipt: int
    submitted_events: int
    receipt_mails: int
    chain_checked: int
    chain_intact: bool


def verify(db_url: str, stage_id: int, applicants: list[Applicant], posts: list[Post]) -> Verdict:
    import psycopg

    from competition.audit.operations import verify_chain
    from competition.extensions import db

    with psycopg.connect(db_url, autocommit=True, connect_timeout=5) as connection:
        rows = connection.execute(
            """
            SELECT ss.proposal_id, sv.number, sv.idempotency_key
            FROM submission_versions sv JOIN stage_submissions ss ON ss.id = sv.submission_id
            WHERE ss.stage_id = %s
            """,
            (stage_id,),
        ).fetchall()
        events = connection.execute(
            "SELECT count(*) FROM audit_events WHERE action = 'submission.submitted'"
        ).fetchone()[0]
        mails = connection.execute(
            "SELECT count(*) FROM notifications WHERE template = 'proposals/receipt'"
        ).fetchone()[0]
    stored = {(pid, number): key for pid, number, key in rows}
    by_index = {a.index: a for a in applicants}
    lost = 0
    receipted_keys = set()
    for post in posts:
        receipt = post.receipt
        if receipt is None:
            continue
        applicant = by_index[post.applicant]
        # The receipt must name a stored version of this proposal made from the key posted.
        if receipt[0] != applicant.proposal_id or stored.get(receipt) != applicant.key:
            lost += 1
        else:
            receipted_keys.add(applicant.key)
    keys_posted: dict[int, set[str]] = {}
    for applicant in applicants:
        keys_posted.setdefault(applicant.proposal_id, set()).add(applicant.key)
    versions_per_proposal = Counter(pid for pid, _number in stored)
    duplicated = sum(count - 1 for count in Counter(stored.values()).values() if count > 1)
    duplicated += sum(
        max(0, count - len(keys_posted.get(pid, ())))
        for pid, count in versions_per_proposal.items()
    )
    checked, chain_break = verify_chain()
    db.session.remove()  # end its read transaction: the connection must not sit in one
    return Verdict(
        lost=lost,
        duplicated=duplicated,
        versions=len(stored),
        versions_without_receipt=sum(1 for key in stored.values() if key not in receipted_keys),
        submitted_events=events,
        receipt_mails=mails,
        chain_checked=checked,
        chain_intact=chain_break is None,
    )


# --- The run ------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: under a minute")
    parser.add_argument("--submissions", type=int, help="applicants (400; 60 with --quick)")
    parser.add_argument("--concurrency", type=int, help="client threads (64; 30 with --quick)")
    parser.add_argument(
        "--workers", type=int, default=2 * (cores or 1) + 1, help="gunicorn workers (2×cores+1)"
    )
    parser.add_argument(
        "--login",
        choices=("form", "session"),
        help="form: every applicant posts the login form (argon2 in the server, ~0.2 s of CPU "
        "each); session: the benchmark opens the server-side sessions itself. Not measured "
        "either way. Default: form, or session with --quick",
    )
    parser.add_argument("--double-click-share", type=float, default=0.1)
    parser.add_argument("--lost-answer-share", type=float, default=0.1)
    parser.add_argument(
        "--app-env",
        default="production",
        choices=("production", "testing", "development"),
        help="APP_ENV of the app server (production)",
    )
    parser.add_argument(
        "--redis-url",
        help="queue background tasks in Redis (a private queue, deleted at the end) as in "
        "production; without it they run in-process after the commit",
    )
    parser.add_argument("--sample-ms", type=float, default=20.0, help="0 turns the sampler off")
    parser.add_argument("--seed", type=int, default=20261121, help="random seed of the clients")
    parser.add_argument("--keep-db", action="store_true", help="keep the database for a look")
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    args.submissions = args.submissions or sizes["submissions"]
    args.concurrency = args.concurrency or sizes["concurrency"]
    args.login = args.login or ("session" if args.quick else "form")
    args.cores = cores
    if args.submissions < 1 or args.concurrency < 1 or args.workers < 1:
        parser.error("--submissions, --concurrency and --workers must be at least 1")
    shares = (args.double_click_share, args.lost_answer_share)
    if min(shares) < 0 or sum(shares) > 1:
        parser.error("the double-click and lost-answer shares must be >= 0 and add up to <= 1")
    return args


@dataclasses.dataclass
class Result:
    args: argparse.Namespace
    seed: Seed
    seed_seconds: float
    prepare_seconds: float
    applicants: list[Applicant]
    surge: Phase
    bare: Phase
    verdict: Verdict
    refreshed_sessions: int
    warm_ups: int
    versions: dict[str, str]
    notes: list[str]


def open_sessions(app: Any, applicants: list[Applicant]) -> None:
    """What a successful login leaves behind, without the password check: a server-side session
    row and the signed session cookie naming it (as accounts.views.login makes them)."""
    import sqlalchemy as sa
    from flask import session
    from flask_login import login_user

    from competition.accounts import sessions
    from competition.accounts.models import User
    from competition.db import utcnow
    from competition.extensions import db

    serializer = app.session_interface.get_signing_serializer(app)
    cookie_name = app.config["SESSION_COOKIE_NAME"]
    users = {
        u.id: u
        for u in db.session.scalars(
            sa.select(User).where(User.id.in_([a.user_id for a in applicants]))
        )
    }
    now = utcnow()
    for applicant in applicants:
        user = users[applicant.user_id]
        token = sessions.open_session(user, now=now)
        with app.test_request_context("/login", method="POST"):
            session.clear()
            session.permanent = True
            session[sessions.COOKIE_KEY] = token
            login_user(user)
            applicant.browser.cookies[cookie_name] = serializer.dumps(dict(session))
    db.session.commit()


def execute(url: str, sql: str) -> list[tuple[Any, ...]]:
    import psycopg

    with psycopg.connect(url, autocommit=True, connect_timeout=5) as connection:
        cursor = connection.execute(sql)
        return cursor.fetchall() if cursor.description else []


def run(args: argparse.Namespace, cleanup: list[Any]) -> Result:
    """Everything but the report. Registers what must be undone in ``cleanup`` (run in reverse)."""
    notes: list[str] = []
    work_dir = Path(tempfile.mkdtemp(prefix="deadline_surge_"))  # server logs, uploads
    name = f"bench_surge_{secrets.token_hex(4)}"
    log(f"creating database {name}")
    admin(f'CREATE DATABASE "{name}"')
    if args.keep_db:
        notes.append(f"kept: database {name}; server logs and uploads in {work_dir}")
    else:
        cleanup.append(lambda: shutil.rmtree(work_dir, ignore_errors=True))
        cleanup.append(lambda: admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    url = database_url(name)
    pg = dict(
        admin(
            "SELECT name, setting FROM pg_settings WHERE name IN "
            "('server_version', 'synchronous_commit', 'fsync', 'wal_sync_method')"
        )
    )
    import gunicorn

    versions = {
        "postgresql": pg.get("server_version", "?").split()[0],
        "durability": f"fsync={pg.get('fsync')}, synchronous_commit="
        f"{pg.get('synchronous_commit')}, wal_sync_method={pg.get('wal_sync_method')}",
        "gunicorn": gunicorn.__version__,
        "python": sys.version.split()[0],
    }

    from flask_migrate import upgrade

    from competition import create_app
    from competition.extensions import db
    from config import Settings

    upload_folder = work_dir / "uploads"
    secret = secrets.token_urlsafe(48)
    app = create_app(
        Settings(
            env="testing", secret_key=secret, database_url=url, upload_folder=str(upload_folder)
        )
    )
    context = app.app_context()
    context.push()
    cleanup.append(lambda: (db.session.remove(), db.engine.dispose(), context.pop()))

    started = time.perf_counter()
    upgrade(directory=str(ROOT / "migrations"))
    migrate_seconds = time.perf_counter() - started
    started = time.perf_counter()
    n = args.submissions
    # A few more applicants submit before the surge, so that every worker has been through the
    # submit path once (statement caches, e-mail templates); they are checked, not counted.
    warm = 2 * args.workers
    seeded = seed(warm + n, closes_in_minutes=10 + n / 50)
    rng = random.Random(args.seed)
    kinds = ["double"] * round(n * args.double_click_share)
    kinds += ["retry"] * round(n * args.lost_answer_share)
    kinds += ["plain"] * (n - len(kinds))
    rng.shuffle(kinds)
    kinds = ["warm-up"] * warm + kinds
    everyone = [
        Applicant(i, user_id, email, pid, kinds[i], Browser(0))
        for i, (user_id, email, pid) in enumerate(seeded.applicants)
    ]
    warm_ups, applicants = everyone[:warm], everyone[warm:]
    if args.login == "session":
        open_sessions(app, everyone)
    seed_seconds = time.perf_counter() - started
    db.session.remove()
    execute(
        url,
        "CREATE TABLE bench_bare_hits (id bigserial PRIMARY KEY, key text NOT NULL, "
        "created_at timestamptz NOT NULL DEFAULT now())",
    )
    log(
        f"migrations {migrate_seconds:.1f} s; seeded {n} + {warm} (warm-up) applicants with "
        "complete proposals"
        + (" and open sessions" if args.login == "session" else "")
        + f" in {seed_seconds:.1f} s"
    )

    # The app server.
    env = server_env(
        APP_ENV=args.app_env, SECRET_KEY=secret, DATABASE_URL=url, UPLOAD_FOLDER=str(upload_folder)
    )
    if args.redis_url:
        queue = f"bench-surge-{secrets.token_hex(4)}"
        env.update(REDIS_URL=args.redis_url, TASK_QUEUE=queue)
        cleanup.append(lambda: drop_redis_queue(args.redis_url, queue))
    app_server = start_server(
        "app",
        "competition:create_app()",
        workers=args.workers,
        env=env,
        log_dir=work_dir,
        cleanup=cleanup,
    )
    log(f"app server: gunicorn pid {app_server.process.pid} on 127.0.0.1:{app_server.port}")
    for applicant in everyone:
        applicant.browser.port = app_server.port
    form_login = args.login == "form"
    prepare_seconds = run_pool(
        len(everyone),
        args.concurrency,
        lambda i: prepare(everyone[i], form_login=form_login),
        time_limit=300 + 2 * n,
    )
    failed = [a for a in everyone if a.error]
    if failed:
        raise BenchError(
            f"{len(failed)} of {len(everyone)} applicants could not open the submit page; "
            f"first: {failed[0].error}\n{app_server.log_tail()}"
        )
    log(
        f"{len(everyone)} applicants "
        + ("logged in and " if form_login else "")
        + f"opened the submit page in {prepare_seconds:.1f} s"
    )
    warm_posts: list[Post] = []
    rngs = [random.Random(rng.random()) for _ in everyone]
    run_pool(
        warm,
        args.workers,
        lambda i: submit(warm_ups[i], warm_posts, rngs[i]),
        time_limit=120 + 2 * warm,
    )
    if len({p.applicant for p in warm_posts if p.receipt is not None}) != warm:
        raise BenchError(f"warm-up submissions failed: {warm_posts}\n{app_server.log_tail()}")

    # The surge. Every applicant was last seen now, as if all had just loaded the submit page;
    # the server refreshes a session last seen over a minute ago (one more UPDATE and commit).
    surge_started = execute(url, "UPDATE user_sessions SET last_seen_at = now() RETURNING now()")
    surge_posts: list[Post] = []
    sampler = DatabaseSampler(url, args.sample_ms / 1000, max_seconds=600)
    sampler.start()
    backends = backend_pids(url)
    cpu_before = cpu_snapshot(app_server.process.pid, backends)
    wall = run_pool(
        n,
        args.concurrency,
        lambda i: submit(applicants[i], surge_posts, rngs[warm + i]),
        time_limit=120 + 2 * n,
        barrier=True,
    )
    cpu = cpu_delta(cpu_before, cpu_snapshot(app_server.process.pid, backends))
    sampler.stop()
    surge = Phase("submit", surge_posts, wall, cpu, sampler)
    app_server.stop()  # finishes what it accepted (also the dropped posts) before the check
    log(f"surge: {len(surge_posts)} posts answered in {wall:.2f} s; app server stopped")

    verdict = verify(url, seeded.stage_id, everyone, warm_posts + surge_posts)
    verdict.versions -= warm  # made before the surge (all of them checked above)
    refreshed = execute(
        url,
        "SELECT count(*) FROM user_sessions WHERE last_seen_at > "
        f"'{surge_started[0][0].isoformat()}'::timestamptz",
    )[0][0]

    # The ceiling: the same workers and clients, one INSERT per request.
    bare_server = start_server(
        "bare",
        "bench.deadline_surge:bare_app",
        workers=args.workers,
        env=server_env(BENCH_BARE_DSN=url),
        log_dir=work_dir,
        cleanup=cleanup,
    )
    # Every worker opens its connection before the clock starts, as the app's did earlier.
    run_pool(args.workers * 4, args.workers * 2, lambda i: warm_up(bare_server), time_limit=60)
    bare_browser = Browser(bare_server.port)
    numbers = itertools.count()

    def bare_round(size: int, posts: list[Post]) -> float:
        def bare_post(i: int) -> None:
            applicant = applicants[i % n]
            form = {"csrf_token": applicant.csrf, "idempotency_key": applicant.key}
            try:
                answer = bare_browser.request("POST", "/submit", form)
                location = answer.location.rsplit("/", 1)[-1]
                receipt = (i, int(location)) if answer.status == 302 else None
                posts.append(Post(next(numbers), answer.status, answer.seconds, receipt))
            except Exception as exc:
                posts.append(Post(next(numbers), 0, 0.0, None, f"{type(exc).__name__}: {exc}"))

        return run_pool(size, args.concurrency, bare_post, time_limit=120 + n, barrier=True)

    # A first round of n POSTs warms up and finds the rate (not reported). The measured round is
    # sized to last about two seconds (n to 50 n POSTs), so that ramp-up and drain weigh little;
    # it is sized again and repeated (at most twice) while it lasts under a second.
    posts: list[Post] = []
    wall = bare_round(n, posts)
    for _attempt in range(3):
        ok = sum(1 for p in posts if p.receipt is not None)
        size = min(50 * n, max(n, round(2.0 * ok / max(wall, 1e-3))))
        posts = []
        bare_sampler = DatabaseSampler(url, args.sample_ms / 1000, max_seconds=600)
        bare_sampler.start()
        backends = backend_pids(url)
        cpu_before = cpu_snapshot(bare_server.process.pid, backends)
        wall = bare_round(size, posts)
        bare_cpu = cpu_delta(cpu_before, cpu_snapshot(bare_server.process.pid, backends))
        bare_sampler.stop()
        if wall >= 1.0 or size >= 50 * n:
            break
    bare_server.stop()
    bare_posts, bare_wall = posts, wall
    bare = Phase("bare", bare_posts, bare_wall, bare_cpu, bare_sampler)
    rows = execute(url, "SELECT count(*) FROM bench_bare_hits")[0][0]
    inserted = next(numbers)  # every POST took a number; those without a receipt failed
    failed = inserted - rows
    if failed:
        notes.append(f"bare endpoint: {rows} rows for {inserted} POSTs")
    log(f"bare: {len(bare_posts)} POSTs measured in {bare_wall:.2f} s; bare server stopped")
    return Result(
        args=args,
        seed=seeded,
        seed_seconds=seed_seconds,
        prepare_seconds=prepare_seconds,
        applicants=applicants,
        surge=surge,
        bare=bare,
        verdict=verdict,
        refreshed_sessions=refreshed,
        warm_ups=warm,
        versions=versions,
        notes=notes,
    )


def warm_up(server: Server) -> None:
    try:
        Browser(server.port).request("GET", "/healthz")
    except OSError:
        pass


def drop_redis_queue(redis_url: str, queue: str) -> None:
    import redis

    client = redis.Redis.from_url(redis_url, socket_connect_timeout=2, socket_timeout=5)
    for key in list(client.scan_iter(f"*{queue}*", count=100))[:1000]:
        client.delete(key)


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


# --- The report ---------------------------------------------------------------------------------


def _ms(value: float) -> str:
    return f"{value:.1f}"


def _lock_figures(phase: Phase, versions: int) -> dict[str, float]:
    """The share of the sampled time a chainer held the audit chain's lock, and that time per
    new version (each new version's commit tries the lock once)."""
    sampler = phase.sampler
    if not sampler.samples:
        return {}
    held = sampler.held / sampler.samples
    return {"held": held, "hold_ms": held * phase.wall * 1000 / max(1, versions)}


def report(result: Result) -> tuple[str, int]:
    args, surge, bare, verdict = result.args, result.surge, result.bare, result.verdict
    n = args.submissions
    kinds = Counter(a.kind for a in result.applicants)
    s_lat, b_lat = surge.latencies_ms, bare.latencies_ms
    ratio = surge.rps / bare.rps if bare.rps else float("nan")
    no_receipt = n - surge.receipted
    lock = _lock_figures(surge, verdict.versions)
    lines = []
    out = lines.append
    out("")
    out("Deadline surge: concurrent submissions through gunicorn on PostgreSQL")
    out(
        f"  machine: {args.cores} CPU cores; PostgreSQL {result.versions['postgresql']} "
        f"({result.versions['durability']}); gunicorn {result.versions['gunicorn']}, "
        f"Python {result.versions['python']}"
    )
    out(
        f"  app server: gunicorn --config config/web_server.py --workers {args.workers} "
        "--worker-class sync "
        f"'competition:create_app()', APP_ENV={args.app_env}"
        + (
            " (the benchmark's client keeps the Secure session cookie over plain HTTP on "
            "127.0.0.1, which a browser would not)"
            if args.app_env == "production"
            else " (not production: session cookies without Secure)"
        )
    )
    out(
        "  background tasks: "
        + (
            "queued in Redis (a private queue nobody consumes; deleted at the end)"
            if args.redis_url
            else "in-process after the commit (no REDIS_URL): the receipt e-mail is rendered "
            "and kept in the development mailbox inside the submit request"
        )
    )
    out(
        f"  each proposal: {result.seed.sections} sections of ~{len(SECTION_TEXT):,} characters, "
        f"{result.seed.members} consortium members, {result.seed.budget_lines} budget lines, one "
        "required PDF attachment (stage requires it; rows seeded, sharing one stored file)"
    )
    login = (
        "login form posted by every applicant (argon2 in the server)"
        if args.login == "form"
        else "sessions opened by the benchmark (no argon2)"
    )
    out(
        f"  not measured: seeding {result.seed_seconds:.1f} s; {login} and the submit pages "
        f"{result.prepare_seconds:.1f} s; the stage closes at {result.seed.closes_at:%H:%M:%S} UTC"
    )
    out(
        f"  surge: {n} applicants at concurrency {args.concurrency} after a barrier (and after "
        f"{result.warm_ups} warm-up submissions, 2 per worker, not counted); "
        f"{kinds['double']} double-click (two POSTs, same key), {kinds['retry']} lose the "
        f"answer and post again with the same key, {kinds['plain']} post once; all sessions "
        f"marked as seen at the start, {result.refreshed_sessions} refreshed by the server "
        "during the surge (last seen over a minute before)"
    )
    out(
        f"  bare: after a warm-up round of {n} POSTs, {len(bare.posts)} POSTs (about two seconds' "
        f"worth) at concurrency {args.concurrency}"
    )
    out("")
    out(f"  {'':34}{'submit':>12}{'bare insert':>14}")

    def both(value: Any) -> tuple[str, str]:
        return value(surge), value(bare)

    def mean(values: list[float]) -> float:
        return statistics.fmean(values) if values else float("nan")

    rows: list[tuple[str, tuple[str, str]]] = [
        ("requests answered", both(lambda p: f"{len(p.posts)}")),
        ("with a receipt (302)", both(lambda p: f"{len(p.posts) - p.errors}")),
        ("other answers or errors", both(lambda p: f"{p.errors}")),
        ("wall time, s", both(lambda p: f"{p.wall:.2f}")),
        ("submissions (inserts) per second", both(lambda p: f"{p.rps:.1f}")),
        ("requests per second", both(lambda p: f"{len(p.posts) / p.wall:.1f}")),
        ("latency p50, ms", both(lambda p: _ms(percentile(p.latencies_ms, 50)))),
        ("latency p95, ms", both(lambda p: _ms(percentile(p.latencies_ms, 95)))),
        ("latency p99, ms", both(lambda p: _ms(percentile(p.latencies_ms, 99)))),
        ("latency max, ms", both(lambda p: _ms(max(p.latencies_ms, default=float("nan"))))),
        ("latency mean, ms", both(lambda p: _ms(mean(p.latencies_ms)))),
    ]
    if surge.cpu and bare.cpu:
        rows.append(("CPU ms per submission (insert):", ("", "")))
        for key, label in (
            ("web", "  gunicorn workers"),
            ("postgres", "  PostgreSQL backends"),
            ("client", "  this client"),
            ("other", "  anything else on the machine"),
        ):
            rows.append(
                (label, both(lambda p, k=key: f"{p.cpu[k] * 1000 / max(1, p.receipted):.1f}"))
            )
        rows.append(
            ("machine CPU busy", both(lambda p: f"{p.cpu['busy'] / max(1e-9, p.cpu['total']):.0%}"))
        )
    for label, (a, b) in rows:
        out(f"  {label:34}{a:>12}{b:>14}")
    out("")
    out(
        f"  ratio submit_rps / bare_rps = {ratio:.3f} (the bare insert endpoint answers "
        f"{1 / ratio if ratio else float('nan'):.1f}× as many requests per second)"
    )
    out(
        f"  integrity: {sum(1 for p in surge.posts if p.receipt)} receipts for {surge.receipted} "
        f"applicants; lost {verdict.lost}; duplicated {verdict.duplicated}; applicants without "
        f"a receipt {no_receipt}; versions made in the surge {verdict.versions} "
        f"({verdict.versions_without_receipt} without a receipt)"
    )
    out(
        f"  audit chain: {verdict.chain_checked} events, "
        f"{'intact' if verdict.chain_intact else 'BROKEN'}; submitted events "
        f"{verdict.submitted_events}; receipt e-mails in the outbox {verdict.receipt_mails} "
        f"(both with the {result.warm_ups} warm-up submissions)"
    )
    errors = Counter(
        p.error.split(":")[0] if p.error else f"HTTP {p.status}"
        for p in surge.posts
        if not p.receipt
    )
    if errors:
        out(f"  surge answers without a receipt: {dict(errors)}")
    for phase in (surge, bare):
        sampler = phase.sampler
        if sampler.error:
            out(f"  sampler ({phase.name}) failed: {sampler.error}")
        if not sampler.samples:
            continue
        backends = max(1, sampler.most)
        total = sum(sampler.categories.values()) or 1
        out(
            f"  database backends during '{phase.name}' ({sampler.samples} samples every "
            f"{args.sample_ms:g} ms, up to {sampler.most} backends; share of backend time):"
        )
        for category, count in sampler.categories.most_common():
            average = count / sampler.samples
            out(f"    {count / total:6.1%}  {category}  (on average {average:.2f} of {backends})")
        if phase is surge and lock:
            out(
                f"  audit chainer's lock (no request waits for it): held {lock['held']:.0%} of "
                f"the surge; {lock['hold_ms']:.1f} ms per new version on average"
            )
            held_total = sum(sampler.holder.values()) or 1
            parts = ", ".join(
                f"{count / held_total:.0%} {category}"
                for category, count in sampler.holder.most_common()
                if count / held_total >= 0.005  # the two views are not read atomically
            )
            out(f"    while held, the holder was: {parts}")
    for note in result.notes:
        out(f"  note: {note}")
    out("")
    out("command: " + shlex.join(getattr(sys, "orig_argv", [sys.executable, *sys.argv])))
    figures = {
        "submissions": n,
        "concurrency": args.concurrency,
        "workers": args.workers,
        "submit_rps": f"{surge.rps:.1f}",
        "submit_p50_ms": _ms(percentile(s_lat, 50)),
        "submit_p95_ms": _ms(percentile(s_lat, 95)),
        "submit_p99_ms": _ms(percentile(s_lat, 99)),
        "bare_rps": f"{bare.rps:.1f}",
        "bare_p50_ms": _ms(percentile(b_lat, 50)),
        "bare_p95_ms": _ms(percentile(b_lat, 95)),
        "bare_p99_ms": _ms(percentile(b_lat, 99)),
        "ratio": f"{ratio:.3f}",
        "lock_held": f"{lock['held']:.2f}" if lock else "nan",
        "errors": surge.errors,
        "no_receipt": no_receipt,
        "lost": verdict.lost,
        "duplicated": verdict.duplicated,
    }
    out(" ".join(f"{k}={v}" for k, v in figures.items()))
    if verdict.lost or verdict.duplicated or not verdict.chain_intact:
        status = 1
    elif no_receipt:
        status = 2  # not a complete run: the figures are not comparable
    else:
        status = 0
    return "\n".join(lines), status


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    cleanup: list[Any] = []
    result: Result | None = None
    # A termination (e.g. from timeout) unwinds like Ctrl-C, so that the cleanup below runs.
    signal.signal(signal.SIGTERM, lambda _signum, _frame: sys.exit(143))
    try:
        result = run(args, cleanup)
    except BenchError as error:
        print(f"deadline_surge: {error}", file=sys.stderr, flush=True)
    except Exception:
        traceback.print_exc()
    finally:
        # The cleanup is bounded in time (a server gets 40 s to stop); a second Ctrl-C or a
        # second SIGTERM (timeout sends one to the whole process group too) must not cut it.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        for undo in reversed(cleanup):
            try:
                undo()
            except Exception as exc:  # clean up the rest regardless
                print(f"deadline_surge: cleanup: {type(exc).__name__}: {exc}", file=sys.stderr)
    if result is None:
        return 2
    text, status = report(result)
    print(text, flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
