"""The rendered answers of the portal's pages, kept for anonymous visitors.

A page an anonymous visitor asks for (the HTML pages, ``map.svg``, ``deadlines.ics``, and the
public API's funded consortia, which show the same data; not the streamed open data) is
rendered once and kept under its address (path, host and the query
string's parameters sorted), the page's language and ``published_mark()``: the same marks the
open data's ETag is made from (the grants' mark and the newest audit event), so an accepted
grant, a withheld name or a programme's public fields make the next request render afresh. The
pages that show the time left until a deadline are kept per minute as well (``clock=True``).

Kept in Redis with ``REDIS_URL`` (shared by every web process, ``EXPIRY`` seconds; bounding
Redis's memory with ``maxmemory`` and an LRU policy is the operator's), else in each process
(the ``SIZE`` most recent). ``PORTAL_PAGE_CACHE=off`` turns it off.

Never kept or served: a signed-in visitor's page, a request whose session holds messages to
flash (the page shows and consumes them), an answer other than 200 or one that sets a cookie.
The header's language switch carries the session's CSRF token: it is kept as a placeholder and
each visitor's own token is put in when the page is served (which gives a new visitor a session
of their own, as rendering would have), so no visitor ever receives another's token.

A page is rendered after the marks are read, so what is kept under a mark is never older than
the mark. A change made outside the operations (a bulk import by hand, an SQL update) moves
neither mark and shows once the kept page expires."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from flask import Response, current_app, g, request, session
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

from competition.audit.queries import latest_event
from competition.i18n import current_language
from competition.portal.published import grants_mark

log = logging.getLogger(__name__)

EXPIRY = 600  # seconds
SIZE = 256  # pages per process without Redis
VERSION = "portal-page-1"
MARKER = "X-Portal-Cache"  # "hit" or "miss", for operators and the benchmark
KEPT_HEADERS = ("Content-Type", "Content-Disposition", "Cache-Control", "ETag", "Link")
_CSRF_VALUE = re.compile(rb'(name="csrf_token"[^>]*value=")[^"]*(")')
_TOKEN = b"\x00csrf\x00"
_LOCK = threading.Lock()


def published_mark() -> tuple[Any, ...]:
    """What changes whenever anything the public sees may have changed: the grants' mark and
    the newest audit event (every change the public could see, a withheld name or a
    programme's public fields, is an audited operation). The open data's ETag and the kept
    pages' keys are both made from it."""
    return (grants_mark(), latest_event())


def serve(render: Callable[[], Response], *, clock: bool = False) -> Response:
    """The kept answer for this request, or ``render()``'s (kept when it may be). A kept
    answer that carries an ETag (the public API's) answers a matching ``If-None-Match`` with
    304, as the view that made it would have."""
    if not _cacheable_request():
        return render()
    key = _key(clock=clock)
    store = _store()
    found = store.get(key)
    if found is not None:
        response = _response(found)
        response.headers[MARKER] = "hit"
        return response.make_conditional(request) if response.get_etag()[0] else response
    response = render()
    if _keepable(response):
        store.put(key, _entry(response))
    response.headers[MARKER] = "miss"
    return response


def _cacheable_request() -> bool:
    settings = current_app.extensions["settings"]
    return (
        settings.portal_page_cache
        and request.method == "GET"
        and not current_user.is_authenticated
        and not session.get("_flashes")
    )


def _keepable(response: Response) -> bool:
    return (
        response.status_code == 200
        and not response.is_streamed
        and "Set-Cookie" not in response.headers
        and not session.get("_flashes")
        and not current_user.is_authenticated
    )


def _key(*, clock: bool) -> str:
    parts: list[Any] = [
        VERSION,
        request.host_url,
        request.path,
        sorted(request.args.items(multi=True)),
        current_language(),
        published_mark(),
    ]
    if clock:
        parts.append(g.now.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M"))
    return "portal-page:" + hashlib.sha256(repr(parts).encode()).hexdigest()


def _entry(response: Response) -> bytes:
    body = response.get_data()
    if response.mimetype == "text/html":
        body = _CSRF_VALUE.sub(rb"\1" + _TOKEN + rb"\2", body)
    head = {name: response.headers[name] for name in KEPT_HEADERS if name in response.headers}
    head["Vary"] = ", ".join(sorted(response.vary))
    return json.dumps(head).encode() + b"\n" + body


def _response(entry: bytes) -> Response:
    head_line, body = entry.split(b"\n", 1)
    head = json.loads(head_line)
    if _TOKEN in body:
        body = body.replace(_TOKEN, generate_csrf().encode())
    response = Response(body)
    vary = head.pop("Vary", "")
    for name, value in head.items():
        response.headers[name] = value
    for name in filter(None, (v.strip() for v in vary.split(","))):
        response.vary.add(name)
    return response


class _Memory:
    """The ``SIZE`` most recently used pages of this process, each for ``EXPIRY`` seconds."""

    def __init__(self) -> None:
        self.pages: OrderedDict[str, tuple[float, bytes]] = OrderedDict()

    def get(self, key: str) -> bytes | None:
        with _LOCK:
            found = self.pages.get(key)
            if found is None:
                return None
            if found[0] < time.monotonic():
                del self.pages[key]
                return None
            self.pages.move_to_end(key)
            return found[1]

    def put(self, key: str, entry: bytes) -> None:
        with _LOCK:
            self.pages[key] = (time.monotonic() + EXPIRY, entry)
            self.pages.move_to_end(key)
            while len(self.pages) > SIZE:
                self.pages.popitem(last=False)


class _Redis:
    """Pages shared by every web process; Redis being away only costs the rendering."""

    def __init__(self, url: str) -> None:
        import redis

        self.error = redis.RedisError
        self.client = redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5)

    def get(self, key: str) -> bytes | None:
        try:
            found = self.client.get(key)
        except self.error as error:
            log.warning("portal page cache: Redis unavailable (%s)", type(error).__name__)
            return None
        return found if isinstance(found, bytes) else None

    def put(self, key: str, entry: bytes) -> None:
        try:
            self.client.set(key, entry, ex=EXPIRY)
        except self.error as error:
            log.warning("portal page cache: Redis unavailable (%s)", type(error).__name__)


def _store() -> _Memory | _Redis:
    store = current_app.extensions.get("portal_page_cache")
    if store is None:
        url = current_app.extensions["settings"].redis_url
        store = _Redis(url) if url else _Memory()
        current_app.extensions["portal_page_cache"] = store
    return store  # type: ignore[no-any-return]
