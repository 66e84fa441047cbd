"""How often a program may call the API: ``API_RATE_LIMIT`` (settings) per live token, counted
by the token's hash, or per client address for calls without one. One count covers every API
blueprint, so a program cannot spread its calls over areas to get more.

The count lives in Redis when ``REDIS_URL`` is set (every web process shares it), else in the
process's memory (the embedded default). A call over the limit is answered 429 as a problem
document (the app's error handler) with ``Retry-After``; every answer under /api/ tells the
caller where it stands, in the IETF draft's ``RateLimit-Policy``/``RateLimit`` fields and the
``X-RateLimit-*`` fields many clients read."""

from __future__ import annotations

import logging
import time
from collections.abc import Collection

from flask import Flask, Response, current_app, request
from flask_limiter import Limiter, RequestLimit
from flask_smorest import Blueprint as ApiBlueprint

from competition.api.auth import token_in_request

log = logging.getLogger(__name__)

POLICY = "api"  # the name the RateLimit fields give the one policy
EXTENSION = "api_limiter"


def rate_key() -> str:
    """Whose count a call adds to: the token's when it is live (the hash, never the secret),
    else the client's address, so that made-up tokens do not each get a fresh count."""
    token = token_in_request()
    if token is not None:
        return f"token:{token.token_hash}"
    return f"address:{request.remote_addr or 'unknown'}"


def init_app(app: Flask, blueprints: Collection[ApiBlueprint]) -> Limiter:
    """A limiter of this app's own (tests build several apps with different settings), limiting
    ``blueprints`` with one shared count."""
    settings = app.extensions["settings"]
    limiter = Limiter(
        rate_key,
        storage_uri=settings.redis_url or "memory://",
        storage_options={"socket_connect_timeout": 2} if settings.redis_url else {},
        key_prefix="competition",
        strategy="fixed-window",
        # The fields are written below, for API answers only.
        headers_enabled=False,
        # Redis away: count in memory for the while rather than refuse every call.
        in_memory_fallback_enabled=True,
        swallow_errors=True,
    )
    limiter.init_app(app)
    limited = frozenset(blp.name for blp in blueprints)
    # Every other request (pages, files) would otherwise have its limits looked up, none found.
    limiter.request_filter(lambda: request.blueprint not in limited)
    shared = limiter.shared_limit(
        settings.api_rate_limit,
        scope=POLICY,
        error_message=(
            f"This API takes at most {settings.api_rate_limit} calls of one token (or of one "
            "address without a token). Call again once the seconds in Retry-After have passed."
        ),
    )
    for blp in blueprints:
        shared(blp)
    app.extensions[EXTENSION] = limiter
    app.after_request(_rate_fields)
    return limiter


def _rate_fields(response: Response) -> Response:
    limiter: Limiter | None = current_app.extensions.get(EXTENSION)
    if limiter is None or not request.path.startswith("/api/"):
        return response
    current: RequestLimit | None = limiter.current_limit
    if current is None:
        return response
    try:
        remaining, reset_at = current.remaining, current.reset_at
    except Exception:  # the store went away after the check; the answer goes out without them
        log.warning("rate limit store unreachable while writing the RateLimit fields")
        return response
    amount, window = current.limit.amount, current.limit.get_expiry()
    reset_in = max(0, reset_at - int(time.time()))
    response.headers["RateLimit-Policy"] = f'"{POLICY}";q={amount};w={window}'
    response.headers["RateLimit"] = f'"{POLICY}";r={remaining};t={reset_in}'
    response.headers["X-RateLimit-Limit"] = str(amount)
    response.headers["X-RateLimit-Remaining"] = str(remaining)
    response.headers["X-RateLimit-Reset"] = str(reset_at)
    if response.status_code == 429:
        response.headers["Retry-After"] = str(max(1, reset_in))
    return response
