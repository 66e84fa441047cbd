"""Workflow tables: (state, action) -> next state. The pages offer exactly the entries a user
is permitted; operations apply them as compare-and-set."""

from __future__ import annotations

from collections.abc import Mapping


class IllegalStep(ValueError):
    """The action is not possible from the current state."""


Table = Mapping[tuple[str, str], str]

# A call is prepared as a draft, published for applicants, closed when its rounds are over.
CALL: Table = {
    ("draft", "publish"): "published",
    ("published", "close"): "closed",
    ("closed", "reopen"): "published",
}

ACTION_LABELS: Mapping[str, str] = {
    "publish": "Publish the call",
    "close": "Close the call",
    "reopen": "Reopen the call",
}


def next_state(table: Table, state: str, action: str) -> str:
    try:
        return table[(state, action)]
    except KeyError:
        raise IllegalStep(f"cannot {action} from {state}") from None


def actions_from(table: Table, state: str) -> list[str]:
    return [action for (source, action) in table if source == state]
