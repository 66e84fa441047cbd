"""What the areas above the registry hold about organisations: where one is used (a
consortium, a jury), what a merge must respect or bring up to date (two members of one
consortium, the jurors' former organisations and automatic conflicts), who else may search
the registry (a coordinator editing a consortium), and how many member organisations of each
kind a cluster management organisation has (memberships). Those areas register it at app
creation, so that the registry never imports them."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app

from competition.accounts.models import User

_KEY = "organisation_uses"


@dataclass(frozen=True)
class Use:
    """One place an organisation is named: ``kind`` ("proposal", "juror"), a label for people
    and, where the registry's reader may open it, a link."""

    kind: str
    label: str
    detail: str = ""
    url: str | None = None


# organisation id → the places it is used
UsesOf = Callable[[int], Sequence[Use]]
# (merged id, kept id) → messages why the merge cannot be done (empty: it can)
MergeCheck = Callable[[int, int], Sequence[str]]
# (merged id, kept id, actor, now): bring what the area derives from organisations up to date
AfterMerge = Callable[..., None]
# user → whether they edit something that names organisations (a consortium, a juror profile)
Searcher = Callable[[User], bool]
# organisation ids → for those managing a cluster, its member organisations by kind code
MemberCounts = Callable[[Sequence[int]], Mapping[int, Mapping[str, int]]]

KINDS = ("uses", "merge_checks", "after_merge", "searchers", "member_counts")


def register(app: Flask, kind: str, function: Callable[..., Any]) -> None:
    if kind not in KINDS:
        raise ValueError(f"{kind!r} is not one of {', '.join(KINDS)}")
    app.extensions.setdefault(_KEY, {}).setdefault(kind, []).append(function)


def registered(kind: str) -> list[Callable[..., Any]]:
    found: list[Callable[..., Any]] = current_app.extensions.get(_KEY, {}).get(kind, [])
    return found


def uses_of(organisation_id: int) -> list[Use]:
    return [use for reader in registered("uses") for use in reader(organisation_id)]
