"""What every area's permission predicates return: an answer with the reason behind it."""

from __future__ import annotations

from dataclasses import dataclass

from competition.errors import PermissionDenied


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str = ""

    def __bool__(self) -> bool:
        return self.allowed


ALLOWED = Decision(True)


def require(decision: Decision) -> None:
    """For operations: refuse with the predicate's own reason."""
    if not decision:
        raise PermissionDenied(decision.reason)
