"""Cache headers of the portal's pages and open data.

An anonymous visitor's answer may be kept by browsers and shared caches for five minutes and is
revalidated by its ETag (``If-None-Match`` answers 304). A signed-in visitor's page carries the
person's name in its header, so it is kept nowhere. ``Vary: Cookie`` tells caches that the
answer depends on the session (signed in or not, the chosen language).

The ETag of a page is taken over its body without the CSRF token of the header's language
switch: the token is the session's, not the page's, and changes with every second it is
signed in, so a hash over it would never match. Such a body may differ from the cached one
only in that token, which stays valid for the session the cookie holds, so the ETag is weak.

The open data is streamed (``streamed``): its ETag cannot be a hash of bytes not yet written,
so it is a hash of what the file is made from, known before the first byte: the file's kind and
filters, the address of the pages it links to, the grants' mark and the newest audit event
(every change the public could see, a withheld name or a programme's public fields too, is
audited). A revalidation that matches is answered 304 without reading a consortium.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from flask import Response, make_response, request
from flask_login import current_user

from competition.portal import page_cache

F = TypeVar("F", bound=Callable[..., Any])
PUBLIC = "public, max-age=300"
PRIVATE = "private, no-store"
_CSRF_VALUE = re.compile(rb'(name="csrf_token"[^>]*value=")[^"]*(")')


def shared_cache(view: F | None = None, *, clock: bool = False) -> Any:
    """Wrap a GET view of the portal with its cache headers; an anonymous visitor's answer is
    served from the kept pages (``page_cache``), per minute as well where ``clock`` (the page
    shows the time left until a deadline)."""

    def wrap(view: F) -> F:
        @functools.wraps(view)
        def cached(*args: Any, **kwargs: Any) -> Response:
            response = page_cache.serve(lambda: make_response(view(*args, **kwargs)), clock=clock)
            return with_cache_headers(response)

        return cached  # type: ignore[return-value]

    return wrap(view) if view is not None else wrap


def kept_page(view: F) -> F:
    """Serve an anonymous visitor's answer of a GET view from the kept pages, leaving its cache
    headers to the view (the calendar sets its own; the public API's funded consortia their
    ETag, placed between ``blp.route`` and ``blp.etag``)."""

    @functools.wraps(view)
    def kept(*args: Any, **kwargs: Any) -> Response:
        return page_cache.serve(lambda: make_response(view(*args, **kwargs)))

    return kept  # type: ignore[return-value]


def with_cache_headers(response: Response) -> Response:
    response.vary.add("Cookie")
    if current_user.is_authenticated:
        response.headers["Cache-Control"] = PRIVATE
        return response
    if response.status_code != 200:
        return response  # errors keep the app's "no-store"
    response.headers["Cache-Control"] = PUBLIC
    body = response.get_data()
    weak = response.mimetype == "text/html"
    if weak:
        body = _CSRF_VALUE.sub(rb"\1\2", body)
    response.set_etag(hashlib.sha256(body).hexdigest()[:32], weak=weak)
    return response.make_conditional(request)


def streamed(tag_of: Sequence[Any], make: Callable[[], Response]) -> Response:
    """The answer ``make()`` builds (a streamed download) with the cache headers of
    ``with_cache_headers``, its strong ETag a hash of ``tag_of`` (everything the content
    depends on); an anonymous ``If-None-Match`` with it answers 304 without calling ``make``."""
    if current_user.is_authenticated:
        response = make()
        response.vary.add("Cookie")
        response.headers["Cache-Control"] = PRIVATE
        return response
    etag = hashlib.sha256(repr(tuple(tag_of)).encode()).hexdigest()[:32]
    response = Response(status=304) if etag in request.if_none_match else make()
    response.vary.add("Cookie")
    response.headers["Cache-Control"] = PUBLIC
    response.set_etag(etag)
    return response
