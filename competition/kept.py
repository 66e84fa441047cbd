"""Results kept per app process: things that are costly to make and identified completely by
their key (a finished ranking's parsed result, a line drawn from inputs that have not changed,
fitted affinities). Kept in the app, so two apps in one process never share them."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from flask import current_app

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
