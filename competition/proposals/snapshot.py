"""What a submission contains, as plain data: the frozen content of a version, and the inputs of
the rule checks in competition.core.rules (built from a draft or from a frozen version alike)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from competition.core import rules
from competition.db import remembered
from competition.extensions import db
from competition.programmes.models import Call, Stage, Topic
from competition.proposals.models import BudgetLine, Proposal, StageSubmission

# Problems about time, not content: left out when judging an already submitted version.
WINDOW_CODES = frozenset({"window_not_open", "deadline_passed"})


def member_key(member_id: int) -> str:
    return f"m{member_id}"


def call_rules(call: Call, *, topics_chosen: bool = False) -> rules.CallRules:
    """The call's rules; ``topics_chosen`` for a draft with topics, whose check does not ask
    whether the programme offers any (the question costs a query)."""
    return rules.CallRules(
        max_public_funding_per_proposal=call.max_public_funding_per_proposal,
        min_private_share=call.min_private_share,
        funding_rates={
            kind: Decimal(str(rate)) for kind, rate in (call.funding_rates or {}).items()
        },
        region_scope=frozenset(call.region_scope or ()),
        budget_years=call.budget_years,
        max_public_funding_per_year=call.max_public_funding_per_year,
        cost_categories=call.category_names(),
        topics_offered=topics_chosen or offers_topics(call.programme_id),
    )


def offers_topics(programme_id: int) -> bool:
    """Whether applicants to the programme have topics to choose from (its own or shared ones,
    not retired)."""

    def read() -> bool:
        offered = sa.select(Topic.id).where(
            sa.or_(Topic.programme_id.is_(None), Topic.programme_id == programme_id),
            Topic.retired_at.is_(None),
        )
        return db.session.scalar(sa.select(offered.exists())) is True

    return remembered(("offers_topics", programme_id), read)


def stage_rules(stage: Stage, *, kind_of: Stage | None = None) -> rules.StageRules:
    """The stage's rules; ``kind_of`` is the saved stage whose kind and phase count, where
    ``stage`` is an unsaved one carrying only proposed rules."""
    saved = kind_of or stage
    return rules.StageRules(
        sections=tuple(
            rules.SectionRule(
                key=s["key"],
                title=s["title"],
                max_chars=int(s["max_chars"]),
                required=bool(s.get("required", True)),
            )
            for s in stage.required_sections or ()
        ),
        attachments=tuple(
            rules.AttachmentRule(
                key=a["key"],
                title=a["title"],
                required=bool(a.get("required", False)),
                max_pages=a.get("max_pages"),
                max_bytes=a.get("max_bytes"),
            )
            for a in stage.attachment_rules or ()
        ),
        opens_at=stage.opens_at,
        closes_at=stage.closes_at,
        budget_years=saved.budget_years if saved.is_evaluation else None,
    )


def snapshot(proposal: Proposal, submission: StageSubmission) -> dict[str, Any]:
    """Everything a version freezes, as JSON-ready data (money as strings)."""
    stage = submission.stage
    return {
        "proposal": {
            "reference": proposal.reference,
            "acronym": proposal.acronym,
            "title": proposal.title,
            "abstract": proposal.abstract,
            "topics": sorted(t.slug for t in proposal.topics),
        },
        "stage": {"id": stage.id, "kind": stage.kind.value, "name": stage.name},
        "sections": {key: text for key, text in sorted((submission.sections or {}).items())},
        "members": [
            {
                "key": member_key(m.id),
                "organisation_id": m.organisation_id,
                "name": m.organisation.name,
                "kind": m.organisation.kind.value,
                "federal_state": m.organisation.federal_state.value
                if m.organisation.federal_state
                else None,
                "role": m.role.value,
                "contact_name": m.contact_name,
                "contact_email": m.contact_email,
            }
            for m in proposal.members
        ],
        "budget": [_budget_line(line) for line in budget_order(submission.budget_lines)],
        "attachments": [
            {
                "attachment_id": a.id,
                "key": a.kind,
                "filename": a.filename,
                "size_bytes": a.size_bytes,
                "page_count": a.page_count,
                "sha256": a.sha256,
            }
            for a in submission.attachments
        ],
    }


def budget_order(lines: Iterable[BudgetLine]) -> list[BudgetLine]:
    return sorted(lines, key=lambda b: (b.member_id, b.year, b.category))


def _budget_line(line: BudgetLine) -> dict[str, Any]:
    frozen = {
        "member_key": member_key(line.member_id),
        "year": line.year,
        "public_funding": str(line.public_funding),
        "own_contribution": str(line.own_contribution),
    }
    # Only where there is one, so that versions of calls without categories read as before.
    if line.category:
        frozen["category"] = line.category
    return frozen


def content_hash(content: dict[str, Any]) -> str:
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def draft_from_snapshot(content: dict[str, Any]) -> rules.ProposalDraft:
    proposal = content["proposal"]
    return rules.ProposalDraft(
        title=proposal["title"],
        acronym=proposal["acronym"],
        abstract=proposal["abstract"],
        topic_count=len(proposal["topics"]),
        sections=dict(content["sections"]),
        members=tuple(
            rules.Member(
                key=m["key"],
                name=m["name"],
                kind=m["kind"],
                federal_state=m["federal_state"],
                is_coordinator=m["role"] == "coordinator",
                is_associated=m["role"] == "associated_partner",
            )
            for m in content["members"]
        ),
        budget=tuple(
            rules.BudgetRow(
                member_key=b["member_key"],
                year=int(b["year"]),
                public_funding=Decimal(b["public_funding"]),
                own_contribution=Decimal(b["own_contribution"]),
                category=str(b.get("category", "")),
            )
            for b in content["budget"]
        ),
        attachments=tuple(
            rules.AttachmentInfo(
                key=a["key"],
                filename=a["filename"],
                size_bytes=int(a["size_bytes"]),
                page_count=a["page_count"],
            )
            for a in content["attachments"]
        ),
    )


def content_problems(
    content: dict[str, Any], stage: Stage, call: Call, *, kind_of: Stage | None = None
) -> list[rules.Problem]:
    """What is wrong with frozen content under the given rules, leaving the deadline aside
    (``kind_of``: see ``stage_rules``)."""
    problems = rules.checklist(
        draft_from_snapshot(content),
        stage_rules(stage, kind_of=kind_of),
        call_rules(call),
        now=stage.opens_at,
    )
    return [p for p in problems if p.code not in WINDOW_CODES]
