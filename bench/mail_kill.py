"""Mail while workers are killed and the mail server is slow to acknowledge: how many messages
reach the recipient twice.

N outbox messages are queued on Redis for a real Celery worker (solo pool) that sends them to an
SMTP server answering each DATA after ``--ack-ms``. Every ``--kill-every`` seconds the worker is
killed with SIGKILL and a new one started; the benchmark plays beat, running the outbox sweep
every second with a short claim lease, until every message is recorded as sent. The server
counts every message it received, by Message-ID.

    .venv/bin/python bench/mail_kill.py --quick
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from email import message_from_bytes
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

LEASE_SECONDS = 5


def slow_smtp(ack_seconds: float) -> tuple[Any, Counter[str]]:
    from aiosmtpd.controller import Controller

    received: Counter[str] = Counter()
    lock = threading.Lock()

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
            # The message is the server's once DATA ends; the answer only comes later.
            with lock:
                received[message_from_bytes(envelope.original_content)["Message-ID"]] += 1
            await asyncio.sleep(ack_seconds)
            return "250 Message accepted for delivery"

    from bench.deadline_surge import free_port

    controller = Controller(Handler(), hostname="127.0.0.1", port=free_port())
    controller.start()
    return controller, received


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "workers", "worker", "--pool=solo",
             "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel=WARNING",
             f"--hostname=bench-{secrets.token_hex(3)}@%h"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200 messages")
    parser.add_argument("--messages", type=int)
    parser.add_argument("--ack-ms", type=int, default=300)
    parser.add_argument(
        "--kill-every", type=float, default=8.0, help="seconds a worker lives (start-up ~4 s)"
    )
    args = parser.parse_args(argv)
    n = args.messages or (200 if args.quick else 1000)

    from bench.large import drop_database, fresh_database
    from competition import create_app
    from competition.db import operation, utcnow
    from competition.extensions import db
    from competition.notifications import operations as outbox
    from competition.notifications.models import Notification, NotificationState
    from config import Settings

    name = f"bench_mail_{secrets.token_hex(4)}"
    url = fresh_database(name)
    controller, received = slow_smtp(args.ack_ms / 1000)
    queue = f"bench-mail-{secrets.token_hex(3)}"
    redis_url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
    secret = secrets.token_urlsafe(48)
    settings = dict(
        secret_key=secret,
        database_url=url,
        redis_url=redis_url,
        task_queue=queue,
        mail_server="127.0.0.1",
        mail_port=controller.port,
        notification_claim_lease_seconds=LEASE_SECONDS,
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAIL_", "DATABASE_"))}
    env.update(
        APP_ENV="testing", SECRET_KEY=secret, DATABASE_URL=url, REDIS_URL=redis_url,
        TASK_QUEUE=queue, MAIL_SERVER="127.0.0.1", MAIL_PORT=str(controller.port),
        NOTIFICATION_CLAIM_LEASE_SECONDS=str(LEASE_SECONDS),
    )  # fmt: skip
    app = create_app(Settings(env="testing", **settings))
    # The benchmark is beat: a lost dispatch is re-queued after seconds, not a quarter hour.
    outbox.DISPATCH_LOST_AFTER = dt.timedelta(seconds=3 * LEASE_SECONDS)
    kills, worker = 0, None
    log = Path(tempfile.mkdtemp(prefix="bench_mail_")) / "worker.log"
    started = time.perf_counter()
    try:
        with app.app_context():

            @operation
            def queue_all() -> None:
                for i in range(n):
                    outbox.notify(
                        to=f"person-{i}@bench.test",
                        template="accounts/role_granted",
                        context={"name": f"Person {i}", "role": "juror", "inviter": "Olga"},
                        dedup_key=f"bench.mail:{i}",
                        now=utcnow(),
                    )

            queue_all()
            worker = start_worker(env, log)
            last_kill = time.monotonic()
            deadline = time.monotonic() + 60 + n * (args.ack_ms / 1000) * 3
            while time.monotonic() < deadline:
                time.sleep(1)
                db.session.expire_all()
                left = db.session.scalar(
                    db.select(db.func.count())
                    .select_from(Notification)
                    .where(Notification.state != NotificationState.SENT)
                )
                if not left:
                    break
                outbox.sweep(now=utcnow())
                if time.monotonic() - last_kill >= args.kill_every:
                    worker.send_signal(signal.SIGKILL)
                    worker.wait()
                    kills += 1
                    worker = start_worker(env, log)
                    last_kill = time.monotonic()
            seconds = time.perf_counter() - started
            sent = db.session.scalar(
                db.select(db.func.count())
                .select_from(Notification)
                .where(Notification.state == NotificationState.SENT)
            )
            db.session.remove()
            db.engine.dispose()
    finally:
        if worker is not None and worker.poll() is None:
            worker.kill()
            worker.wait()
        controller.stop()
        drop_database(name)

    twice = sum(count - 1 for count in received.values() if count > 1)
    print(
        f"{n} messages, SMTP answer after {args.ack_ms} ms, worker killed every "
        f"{args.kill_every:g} s ({kills} kills) in {seconds:.0f} s: {sent} recorded sent, "
        f"{len(received)} distinct received, {twice} received twice or more"
    )
    print(f"command: .venv/bin/python bench/mail_kill.py {' '.join(argv or sys.argv[1:])}")
    print(
        f"messages={n} kills={kills} sent={sent} distinct={len(received)} duplicates={twice} "
        f"duplicates_per_1000={1000 * twice / n:.1f} "
        f"duplicates_per_kill={twice / max(kills, 1):.2f}"
    )
    return 0 if sent == n and len(received) == n else 1


if __name__ == "__main__":
    raise SystemExit(main())
