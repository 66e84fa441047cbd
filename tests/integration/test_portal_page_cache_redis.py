"""With REDIS_URL, the portal's kept pages are shared by every web process: a page one process
rendered is served by another, a change of what is published makes both show it, and each
visitor still gets a CSRF token of their own."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from competition.accounts.models import User
from competition.db import utcnow
from competition.extensions import db
from competition.organisations.models import Organisation
from competition.portal import page_cache
from competition.proposals.models import Proposal
from competition.proposals.withholding import withhold_name
from tests.conftest import RUN_ID, csrf_from
from tests.factories import make_call, make_grant, make_organisation, make_proposal, make_user
from tests.helpers import text

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

MARKER = page_cache.MARKER
# The host is part of a kept page's key: this run's pages are its own in a shared Redis.
HOST = f"http://portal-{RUN_ID}.test"


class Visitor:
    """An anonymous visitor of one web process, with a session cookie of their own."""

    def __init__(self, app: Any) -> None:
        self.client = app.test_client()

    def get(self, path: str) -> Any:
        return self.client.get(path, base_url=HOST)

    def post(self, path: str, data: dict[str, str]) -> Any:
        return self.client.post(path, data=data, base_url=HOST)


@pytest.fixture
def kept_keys(monkeypatch, redis_url) -> Iterator[list[str]]:  # type: ignore[no-untyped-def]
    """The keys the test's pages were kept under, deleted from Redis afterwards."""
    import redis

    keys: list[str] = []
    put = page_cache._Redis.put

    def recorded(store: Any, key: str, entry: bytes) -> None:
        keys.append(key)
        put(store, key, entry)

    monkeypatch.setattr(page_cache._Redis, "put", recorded)
    yield keys
    if keys:
        redis.Redis.from_url(redis_url).delete(*keys)


def test_a_page_kept_by_one_web_process_is_served_by_another_until_the_published_mark_moves(  # type: ignore[no-untyped-def]
    make_app, redis_url, kept_keys
):
    one, two = make_app(redis_url=redis_url), make_app(redis_url=redis_url)
    with one.app_context():
        coordinator = make_user()
        proposal = make_proposal(
            make_call(),
            coordinator=coordinator,
            organisations=(make_organisation(), make_organisation(name="Alte Kathoden GmbH")),
        )
        grant = make_grant(proposal)
        db.session.commit()
        page, ids = f"/portal/funded/{grant.id}", (proposal.id, coordinator.id)
        partner_id = proposal.members[1].organisation_id

    filled = Visitor(one).get(page)
    with one.app_context():
        # Not through an operation: neither mark moves, so the kept page stays.
        db.session.execute(
            sa.update(Organisation)
            .where(Organisation.id == partner_id)
            .values(name="Neue Kathoden GmbH")
        )
        db.session.commit()
    second = Visitor(two)
    served = second.get(page)
    switched = second.post("/language", {"locale": "de", "csrf_token": csrf_from(text(served))})

    assert filled.headers[MARKER] == "miss" and "Alte Kathoden GmbH" in text(filled)
    assert served.headers[MARKER] == "hit" and "Alte Kathoden GmbH" in text(served)
    assert kept_keys and len(set(kept_keys)) == 1
    assert csrf_from(text(served)) != csrf_from(text(filled))
    assert switched.status_code == 303  # the kept page carried the second visitor's own token

    with two.app_context():
        member = db.session.get(Proposal, ids[0]).members[1]
        withhold_name(member, actor=db.session.get(User, ids[1]), reason="Asked.", now=utcnow())
    withheld = [Visitor(two).get(page), Visitor(one).get(page)]

    assert [r.headers[MARKER] for r in withheld] == ["miss", "hit"]
    assert not any("Kathoden" in text(r) for r in withheld)

    listed = [Visitor(one).get("/portal/funded"), Visitor(two).get("/portal/funded")]
    with two.app_context():
        make_grant(make_proposal(make_call(), acronym="NEWLY-FUNDED"))
        db.session.commit()
    published = [Visitor(two).get("/portal/funded"), Visitor(one).get("/portal/funded")]

    assert [r.headers[MARKER] for r in listed + published] == ["miss", "hit", "miss", "hit"]
    assert not any("NEWLY-FUNDED" in text(r) for r in listed)
    assert all("NEWLY-FUNDED" in text(r) for r in published)
