"""gunicorn's settings for the web workers: ``gunicorn --config config/web_server.py …``
(the Procfile's ``web``). Read by gunicorn as a file, not imported by the app."""

from __future__ import annotations

import gc
from typing import Any

# A full collection walks every object a worker holds: with a finished ranking of 20,000
# proposals kept for its page (~440,000 objects) that is 265-312 ms, paid by whichever request
# sets it off. Full collections follow from young ones promoting what is alive at that moment.
# Python's default starts a young collection after 700 more objects made than freed, well
# inside one page, so each page promoted what it was building (a full collection every ~150
# ranking pages); after 20,000, a page's objects are mostly freed before one starts.
YOUNG_COLLECTION_AFTER = 20_000


def post_worker_init(worker: Any) -> None:
    """Once the worker has loaded the app: what loading made lives as long as the worker, so
    the collector stops walking it, and young collections come less often."""
    gc.collect()
    gc.freeze()
    _, middle, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_COLLECTION_AFTER, middle, oldest)
