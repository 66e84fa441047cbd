import dataclasses
import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from competition.core.audit_chain import (
    GENESIS_HASH,
    ChainEntry,
    event_hash,
    first_break,
    to_jsonable,
)

T0 = dt.datetime(2026, 11, 21, 9, 0, tzinfo=dt.UTC)


def build_chain(n: int) -> list[ChainEntry]:
    entries = []
    prev = GENESIS_HASH
    for seq in range(1, n + 1):
        fields = dict(
            seq=seq,
            occurred_at=T0 + dt.timedelta(seconds=seq),
            actor_id=seq % 3 or None,
            action="proposal.submitted",
            object_type="proposal",
            object_id=str(seq),
            before={"state": "draft"},
            after={"state": "submitted", "amount": "12.50"},
        )
        digest = event_hash(prev_hash=prev, **fields)
        entries.append(ChainEntry(prev_hash=prev, hash=digest, **fields))
        prev = digest
    return entries


def test_an_untouched_chain_verifies():
    assert first_break(build_chain(20)) is None


def test_an_empty_chain_verifies():
    assert first_break([]) is None


def test_a_changed_event_is_named():
    chain = build_chain(10)
    chain[4] = dataclasses.replace(chain[4], after={"state": "funded"})
    found = first_break(chain)
    assert found is not None
    assert found.seq == 5
    assert "changed" in found.reason


def test_a_removed_event_is_named():
    chain = build_chain(10)
    del chain[6]
    found = first_break(chain)
    assert found is not None and found.seq == 7


def test_a_rehashed_event_still_breaks_the_link_to_the_next():
    chain = build_chain(10)
    forged_fields = dataclasses.asdict(chain[2]) | {"actor_id": 99}
    del forged_fields["hash"]
    forged = ChainEntry(
        hash=event_hash(**{k: v for k, v in forged_fields.items()}), **forged_fields
    )
    chain[2] = forged
    found = first_break(chain)
    assert found is not None and found.seq == 4
    assert "does not follow" in found.reason


def test_a_chain_that_does_not_start_at_genesis_is_refused():
    chain = build_chain(3)[1:]
    found = first_break(chain)
    assert found is not None and found.seq == 1


@given(st.integers(min_value=1, max_value=30), st.data())
def test_any_single_change_is_caught_at_or_before_the_changed_event(n, data):
    chain = build_chain(n)
    index = data.draw(st.integers(min_value=0, max_value=n - 1))
    field = data.draw(st.sampled_from(["action", "object_id", "occurred_at", "before"]))
    value = {
        "action": "proposal.withdrawn",
        "object_id": "x",
        "occurred_at": T0 - dt.timedelta(days=1),
        "before": {"state": "funded"},
    }[field]
    chain[index] = dataclasses.replace(chain[index], **{field: value})
    found = first_break(chain)
    assert found is not None and found.seq == index + 1


def test_values_are_recorded_as_plain_json():
    assert to_jsonable({"amount": Decimal("1.50"), "when": T0, "tags": {"b", "a"}}) == {
        "amount": "1.50",
        "when": "2026-11-21T09:00:00.000000+00:00",
        "tags": ["a", "b"],
    }


def test_naive_times_are_refused():
    with pytest.raises(ValueError):
        to_jsonable(dt.datetime(2026, 1, 1))
