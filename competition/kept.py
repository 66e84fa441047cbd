"""Results kept per app process: things that are costly to make and identified completely by
their key (a finished ranking's parsed result, a line drawn from inputs that have not changed,
fitted affinities, parts of pages rendered from the values in their key). Kept in the app, so
two apps in one process never share them."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from flask import current_app, request
from markupsafe import Markup

from competition.i18n import current_language

T = TypeVar("T")
_LOCK = threading.Lock()


def kept(name: str, key: Hashable, make: Callable[[], T], *, size: int) -> T:
    """The value kept under ``key``, or ``make()``'s, kept with the ``size`` most recent ones.
    What is kept is shared between requests: callers must not change it."""
    store: OrderedDict[Hashable, Any] = current_app.extensions.setdefault(
        f"kept:{name}", OrderedDict()
    )
    with _LOCK:
        if key in store:
            store.move_to_end(key)
            return store[key]  # type: ignore[no-any-return]
    value = make()
    with _LOCK:
        store[key] = value
        while len(store) > size:
            store.popitem(last=False)
    return value


def fragment(template: str, **values: Any) -> Markup:
    """Part of a page rendered from ``values``, without Flask's context processors (no
    ``current_user``): its template shows nothing but ``values`` in the request's language,
    so that the result may be kept under a key holding them and the language."""
    return Markup(current_app.jinja_env.get_template(template).render(**values))


def kept_fragment(name: str, key: Hashable, template: str, *, size: int, **values: Any) -> Markup:
    """``fragment(template, **values)``, kept under ``key``, the request's language and the
    root its links' addresses begin with. ``key`` must hold every value the part shows, so
    that a change to any of them renders it afresh."""
    return kept(
        name,
        (key, current_language(), request.script_root),
        lambda: fragment(template, **values),
        size=size,
    )
