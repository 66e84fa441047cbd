"""gunicorn's settings for the web workers: ``gunicorn --config config/web_server.py …``
(the Procfile's ``web``). Read by gunicorn as a file, not imported by the app."""

from __future__ import annotations

import gc
from typing import Any

# Python's collector walks every object a worker keeps when it makes a full collection: a
# finished ranking of 20,000 proposals kept for its page is ~440,000 objects, ~250 ms a walk,
# a pause in whichever request sets it off. Full collections follow from young ones that
# promote what is alive at that moment; at Python's default (a young collection every 700 more
# objects made than freed) a page promotes what it builds, and at 20,000 proposals the ranking
# page's worker made a full collection every ~150 requests. At 20,000 a page's objects are
# mostly freed before a young collection comes, so few are promoted.
YOUNG_COLLECTION_AFTER = 20_000


def post_worker_init(worker: Any) -> None:
    """Once the worker has loaded the app: what loading made lives as long as the worker, so
    the collector stops walking it, and young collections come less often."""
    gc.collect()
    gc.freeze()
    _, middle, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_COLLECTION_AFTER, middle, oldest)
