"""What the portal shows, for programs: programmes, open calls and funded consortia, for anyone.

The answers are read by the portal's own queries (``portal.queries``) and records
(``portal.records``), so a consortium has the same fields here as on the portal and in its open
data: title, acronym, programme, round and kind always, every other field only where its
programme declares it public (null otherwise), and a withheld partner's name never. A token
sent along changes nothing: these endpoints do not read it."""

from __future__ import annotations

from typing import Any

from flask import g, url_for
from marshmallow import Schema, fields, validate

from competition.api import API_PREFIX, ApiBlueprint
from competition.api.auth import api_public
from competition.api.paging import (
    CursorPage,
    PageArgs,
    cursor_page,
    decode,
    encode,
    link_header,
    page_of,
    page_schema,
)
from competition.api.problems import ApiProblem
from competition.api.schemas import Amount
from competition.extensions import db
from competition.grants.models import Grant, GrantKind, GrantState
from competition.memberships import queries as memberships
from competition.organisations.models import FederalState, OrganisationKind
from competition.portal import queries, records
from competition.portal.caching import kept_page
from competition.programmes.models import (
    Call,
    CallState,
    Programme,
    ProgrammeKind,
    Stage,
    StageKind,
)
from competition.proposals.models import MemberRole
from competition.proposals.queries import list_open_stages

blp = ApiBlueprint(
    "api_public",
    __name__,
    url_prefix=f"{API_PREFIX}/public",
    description="What the public portal shows: programmes, open calls and funded consortia",
)

LINK_HEADER = {
    "Link": {
        "description": 'the next page, as <…>; rel="next"; absent on the last page',
        "schema": {"type": "string"},
    }
}


def _codes(kind: Any) -> validate.OneOf:
    return validate.OneOf([member.value for member in kind])


# --- programmes and calls ------------------------------------------------------------------------


class PublicStageSchema(Schema):
    id = fields.Integer(required=True)
    position = fields.Integer(required=True)
    name = fields.String(required=True)
    kind = fields.String(required=True, validate=_codes(StageKind))
    opens_at = fields.DateTime(required=True)
    closes_at = fields.DateTime(required=True, metadata={"description": "the deadline"})


class PublicRoundSchema(Schema):
    id = fields.Integer(required=True)
    round_number = fields.Integer(required=True)
    name = fields.String(required=True)
    state = fields.String(required=True, validate=_codes(CallState))
    budget_envelope = Amount(
        required=True, allow_none=True, metadata={"description": "the round's share of the budget"}
    )
    url = fields.String(required=True, metadata={"description": "the call's public page"})
    stages = fields.List(fields.Nested(PublicStageSchema), required=True)


class PublicProgrammeSchema(Schema):
    id = fields.Integer(required=True)
    slug = fields.String(required=True)
    name = fields.String(required=True)
    kind = fields.String(required=True, validate=_codes(ProgrammeKind))
    description = fields.String(required=True)
    currency = fields.String(required=True)
    total_budget = Amount(required=True)
    committed = Amount(
        required=True,
        allow_none=True,
        metadata={
            "description": "what the funded consortia hold, by the product's committed-money "
            "rule; null where the programme does not publish funding"
        },
    )
    funded = fields.Integer(required=True, metadata={"description": "funded consortia"})
    url = fields.String(required=True, metadata={"description": "the programme's portal page"})


class PublicProgrammeDetailSchema(PublicProgrammeSchema):
    rounds = fields.List(fields.Nested(PublicRoundSchema), required=True)
    open_call_ids = fields.List(
        fields.Integer(), required=True, metadata={"description": "rounds taking proposals now"}
    )
    public_fields = fields.List(
        fields.String(),
        required=True,
        metadata={"description": "the fields its funded consortia show besides title and acronym"},
    )


class OpenCallSchema(Schema):
    id = fields.Integer(required=True)
    programme_id = fields.Integer(required=True)
    programme = fields.String(required=True, metadata={"description": "the programme's slug"})
    round_number = fields.Integer(required=True)
    name = fields.String(required=True)
    url = fields.String(required=True, metadata={"description": "the call's public page"})
    open_stage = fields.Nested(
        PublicStageSchema, required=True, metadata={"description": "the stage taking proposals now"}
    )
    stages = fields.List(fields.Nested(PublicStageSchema), required=True)


def _stage(stage: Stage) -> dict[str, Any]:
    return {
        "id": stage.id,
        "position": stage.position,
        "name": stage.name,
        "kind": stage.kind.value,
        "opens_at": stage.opens_at,
        "closes_at": stage.closes_at,
    }


def _round(call: Call) -> dict[str, Any]:
    return {
        "id": call.id,
        "round_number": call.round_number,
        "name": call.name,
        "state": call.state.value,
        "budget_envelope": call.budget_envelope,
        "url": url_for("proposals.show_call", call_id=call.id, _external=True),
        "stages": [_stage(s) for s in queries.stages_of(call)],
    }


def _programme(summary: queries.ProgrammeSummary, *, detail: bool = False) -> dict[str, Any]:
    p = summary.programme
    body: dict[str, Any] = {
        "id": p.id,
        "slug": p.slug,
        "name": p.name,
        "kind": p.kind.value,
        "description": p.description,
        "currency": p.currency,
        "total_budget": p.total_budget,
        "committed": summary.committed,
        "funded": summary.funded,
        "url": url_for("portal.show_programme", slug=p.slug, _external=True),
    }
    if detail:
        body["rounds"] = [_round(call) for call in summary.rounds]
        body["open_call_ids"] = [entry.call.id for entry in summary.open_calls]
        body["public_fields"] = sorted(f.value for f in queries.shown_fields(p))
    return body


@blp.route("/programmes")
@blp.etag
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_schema(PublicProgrammeSchema, "PublicProgrammePage"), headers=LINK_HEADER)
@api_public
def programmes(args: dict[str, Any]) -> Any:
    """Every programme with its budget, the money committed and how many consortia it funds."""
    summaries = queries.summarise(queries.list_programmes(), now=g.now)
    page = page_of([_programme(s) for s in summaries], lambda item: item["id"], args)
    return page.body(), link_header(page)


@blp.route("/programmes/<int:programme_id>")
@blp.etag
@blp.response(200, PublicProgrammeDetailSchema)
@api_public
def programme(programme_id: int) -> Any:
    """A programme with its rounds, their stages and deadlines, and the rounds open now."""
    found = queries.find_programme(programme_id=programme_id)
    if found is None:
        raise ApiProblem(404, detail="There is no such programme.")
    (summary,) = queries.summarise([found], now=g.now)
    return _programme(summary, detail=True)


@blp.route("/calls")
@blp.etag
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_schema(OpenCallSchema, "PublicCallPage"), headers=LINK_HEADER)
@api_public
def open_calls(args: dict[str, Any]) -> Any:
    """The calls taking proposals now, with every stage's deadline."""
    items = [
        {
            "id": entry.call.id,
            "programme_id": entry.call.programme_id,
            "programme": entry.call.programme.slug,
            "round_number": entry.call.round_number,
            "name": entry.call.name,
            "url": url_for("proposals.show_call", call_id=entry.call.id, _external=True),
            "open_stage": _stage(entry.stage),
            "stages": [_stage(s) for s in queries.stages_of(entry.call)],
        }
        for entry in list_open_stages(now=g.now)
    ]
    page = page_of(items, lambda item: item["id"], args)
    return page.body(), link_header(page)


# --- funded consortia ----------------------------------------------------------------------------


class PartnerSchema(Schema):
    name = fields.String(
        required=True, allow_none=True, metadata={"description": "null where withheld"}
    )
    name_withheld = fields.Boolean(required=True)
    federal_state = fields.String(
        required=True, allow_none=True, validate=_codes(FederalState), metadata={"example": "DE-SN"}
    )
    country = fields.String(required=True)
    kind = fields.String(required=True, validate=_codes(OrganisationKind))


class MemberSchema(PartnerSchema):
    role = fields.String(required=True, validate=_codes(MemberRole))


class TopicSchema(Schema):
    slug = fields.String(required=True)
    name_en = fields.String(required=True)
    name_de = fields.String(required=True)


class YearSchema(Schema):
    year = fields.Integer(required=True, metadata={"description": "project year, 1 = the first"})
    phase = fields.Integer(required=True, allow_none=True)
    amount = Amount(required=True)


class PhaseSchema(Schema):
    number = fields.Integer(required=True)
    first_year = fields.Integer(required=True)
    last_year = fields.Integer(required=True)
    amount = Amount(required=True)


class FundingSchema(Schema):
    total = Amount(required=True)
    years = fields.List(fields.Nested(YearSchema), required=True)
    phases = fields.List(fields.Nested(PhaseSchema), required=True)


class FundedSchema(Schema):
    """A funded consortium; a field its programme keeps private is null (see the portal's open
    data page, /portal/open-data)."""

    id = fields.Integer(required=True)
    url = fields.String(required=True, metadata={"description": "its page on the portal"})
    programme = fields.String(required=True, metadata={"description": "the programme's slug"})
    programme_name = fields.String(required=True)
    call_id = fields.Integer(required=True)
    call = fields.String(required=True, metadata={"description": "the round's name"})
    kind = fields.String(required=True, validate=_codes(GrantKind))
    title = fields.String(required=True)
    acronym = fields.String(required=True)
    summary = fields.String(required=True, allow_none=True)
    coordinator = fields.Nested(PartnerSchema, required=True, allow_none=True)
    partners = fields.List(fields.Nested(MemberSchema), required=True, allow_none=True)
    topics = fields.List(fields.Nested(TopicSchema), required=True, allow_none=True)
    funding = fields.Nested(FundingSchema, required=True, allow_none=True)
    starts_on = fields.Date(required=True, allow_none=True)
    ends_on = fields.Date(
        required=True, allow_none=True, metadata={"description": "the first day without funding"}
    )
    state = fields.String(required=True, allow_none=True, validate=_codes(GrantState))


class FundedArgs(PageArgs):
    q = fields.String(
        load_default="",
        validate=validate.Length(max=100),
        metadata={"description": "in title, acronym, public summary or partner names"},
    )
    programme = fields.String(load_default=None, metadata={"description": "a programme's slug"})
    topic = fields.String(
        load_default=None, metadata={"description": "a topic's slug (its sub-topics count too)"}
    )
    federal_state = fields.String(load_default=None, validate=_codes(FederalState))
    kind = fields.String(
        load_default=None,
        validate=_codes(OrganisationKind),
        metadata={"description": "a partner's kind of organisation"},
    )
    year = fields.Integer(
        load_default=None,
        validate=validate.Range(queries.FIRST_YEAR, queries.LAST_YEAR),
        metadata={"description": "a calendar year in which the grant runs"},
    )


def _filters(args: dict[str, Any]) -> queries.FundedFilters:
    return queries.FundedFilters(
        q=(args.get("q") or "").strip(),
        programme=args.get("programme") or None,
        topic=args.get("topic") or None,
        federal_state=FederalState(args["federal_state"]) if args.get("federal_state") else None,
        kind=OrganisationKind(args["kind"]) if args.get("kind") else None,
        year=args.get("year"),
    )


@blp.route("/funded")
@kept_page
@blp.etag
@blp.arguments(FundedArgs, location="query")
@blp.response(200, page_schema(FundedSchema, "FundedPage"), headers=LINK_HEADER)
@api_public
def funded(args: dict[str, Any]) -> Any:
    """The funded consortia, in the order of their ids, with the portal's filters."""
    programmes = queries.list_programmes(with_rounds=False)
    page = cursor_page(queries.funded_ids_query(_filters(args), programmes), Grant.id, args)
    consortia = queries.funded_by_ids([grant.id for grant in page.items], programmes)
    base = records.pages_base()
    items = [records.record(c, base=base) for c in consortia]
    body = {"items": items, "next_cursor": page.next_cursor}
    return body, link_header(page)


@blp.route("/funded/<int:grant_id>")
@kept_page
@blp.etag
@blp.response(200, FundedSchema)
@api_public
def funded_consortium(grant_id: int) -> Any:
    """One funded consortium; 404 for a grant the portal does not show."""
    found = queries.find_funded(grant_id, queries.list_programmes(with_rounds=False))
    if found is None:
        raise ApiProblem(404, detail="There is no such funded consortium.")
    return records.record(found)


# --- members of membership programmes ------------------------------------------------------------


class MemberCountsSchema(Schema):
    members = fields.Integer(required=True)
    smes = fields.Integer(required=True)
    large_firms = fields.Integer(required=True)
    research = fields.Integer(required=True)
    others = fields.Integer(required=True)


class ProgrammeMemberSchema(Schema):
    id = fields.Integer(required=True, metadata={"description": "the membership's id"})
    name = fields.String(required=True, metadata={"description": "the cluster organisation"})
    federal_state = fields.String(
        required=True, allow_none=True, validate=_codes(FederalState), metadata={"example": "DE-BY"}
    )
    country = fields.String(required=True)
    services = fields.String(required=True)
    valid_until = fields.Date(required=True)
    counts = fields.Nested(MemberCountsSchema, required=True)


@blp.route("/programmes/<int:programme_id>/members")
@blp.etag
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_schema(ProgrammeMemberSchema, "ProgrammeMemberPage"), headers=LINK_HEADER)
@api_public
def programme_members(args: dict[str, Any], programme_id: int) -> Any:
    """The members in force today of a membership programme, as its public list shows them."""
    programme = db.session.get(Programme, programme_id)
    if programme is None or programme.kind != ProgrammeKind.MEMBERSHIP:
        raise ApiProblem(404, detail="There is no such membership programme.")
    limit = int(args["limit"])
    members = memberships.public_members_after(
        programme,
        today=memberships.today_in_berlin(g.now),
        after=decode(args.get("cursor")),
        limit=limit + 1,
    )
    more = len(members) > limit
    members = members[:limit]
    page = CursorPage(
        [
            {
                "id": m.membership_id,
                "name": m.name,
                "federal_state": m.federal_state.value if m.federal_state else None,
                "country": m.country,
                "services": m.services,
                "valid_until": m.valid_until,
                "counts": {
                    "members": m.counts.members,
                    "smes": m.counts.smes,
                    "large_firms": m.counts.large_firms,
                    "research": m.counts.research,
                    "others": m.counts.others,
                },
            }
            for m in members
        ],
        encode(members[-1].membership_id) if more and members else None,
    )
    return page.body(), link_header(page)
