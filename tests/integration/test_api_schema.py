"""The API answers as its description says, for every operation it describes (those added
later too): Schemathesis generates calls from /api/v1/openapi.json and sends them with the
tokens of several roles (and none) over a world with real rows, then checks that no answer is
a server error and that each answer's status, content type, headers and body are the ones the
description lists. The description itself names the security, the scope and the problem
responses of every operation."""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from marshmallow import Schema, fields

from competition import create_app
from competition.access import policy_of
from competition.accounts.models import Role, User
from competition.api import ApiBlueprint
from competition.api.auth import api_public
from competition.api.models import ApiArea, scope
from competition.api.paging import PageArgs, link_header, page_of, page_schema
from competition.assignment.models import Assignment
from competition.db import utcnow
from competition.extensions import db
from competition.grants.models import Disbursement, Grant, Report
from competition.grants.payments import operations as payments
from competition.programmes.models import Stage
from competition.proposals.models import Proposal, ProposalState, StageSubmission
from competition.reviews.models import Review
from competition.selection.models import Decision, Ranking, RankingMethod
from competition.selection.publication import operations as publication
from competition.selection.ranking import operations as ranking
from tests.conftest import testing_settings, truncate_all
from tests.factories import make_grant, make_report, make_user
from tests.helpers import freeze_version
from tests.integration.api_world import token_for
from tests.integration.reviews_world import submitted_proposal
from tests.integration.test_publication import build_letters

pytestmark = pytest.mark.postgres

# Examples per operation and role; CI may raise it (API_SCHEMA_EXAMPLES) for a deeper run.
EXAMPLES = int(os.environ.get("API_SCHEMA_EXAMPLES", "10"))
ROLES = ("anonymous", "applicant", "juror", "officer", "admin")
# A public operation shows everyone the same; it is checked without a token and with one.
PUBLIC_ROLES = ("anonymous", "officer")
ALL_SCOPES = tuple(scope(area, write) for area in ApiArea for write in (False, True))


@dataclass(frozen=True)
class World:
    tokens: dict[str, str | None]  # role → the secret of a token with every scope
    ids: dict[str, list[Any]]  # a parameter's name → values that name real rows


def _ids(model: Any, column: Any = None) -> list[int]:
    return list(db.session.scalars(sa.select(column or model.id).order_by(model.id)))


def build_world() -> World:
    """A call through review, ranking, four-eyes decisions and published letters (the
    publication tests' world), each proposal with a submitted version, and a funded proposal
    of the applicant with a running grant, a report due and a payment requested."""
    letters = build_letters()
    world = letters.world
    stage = db.session.get(Stage, world.stage_id)
    assert stage is not None
    officer = db.session.scalar(sa.select(User).where(User.email == world.officer))
    applicant = db.session.scalar(sa.select(User).where(User.email == world.applicant))
    assert officer is not None and applicant is not None
    for submission in db.session.scalars(
        sa.select(StageSubmission).where(StageSubmission.stage_id == stage.id)
    ):
        proposal = submission.proposal
        by = (
            db.session.get(User, proposal.contributors[0].user_id)
            if proposal.contributors
            else applicant
        )
        freeze_version(proposal, submission, submitted_at=submission.submitted_at, by=by)
    db.session.commit()
    ranking.start_ranking(
        stage,
        actor=officer,
        method=RankingMethod.RAW,
        now=utcnow(),
        options={"draws": 50, "min_reviews": 2},
    )
    publication.start_publication(stage, actor=officer, now=utcnow())
    funded, _ = submitted_proposal(stage.call, stage, coordinator=applicant)
    funded.state = ProposalState.FUNDED
    now = utcnow()
    grant = make_grant(funded, starts_on=now.date().replace(day=1))
    make_report(grant)
    db.session.commit()
    payments.request_disbursement(
        grant,
        actor=applicant,
        member_id=grant.amounts[0].member_id,
        year=1,
        period_from=grant.starts_on,
        period_to=grant.starts_on + dt.timedelta(days=27),
        amount=Decimal("1000.00"),
        now=now,
    )
    juror = db.session.get(User, world.jurors["ada@jury.test"])
    admin = make_user(roles=(Role.ADMIN,))
    people = {"applicant": applicant, "juror": juror, "officer": officer, "admin": admin}
    tokens: dict[str, str | None] = {
        role: token_for(person, *ALL_SCOPES) for role, person in people.items() if person
    }
    tokens["anonymous"] = None
    db.session.commit()
    proposals = _ids(Proposal)
    ids: dict[str, list[Any]] = {
        "programme_id": [stage.call.programme_id],
        "call_id": [stage.call_id],
        "stage_id": _ids(Stage),
        "proposal_id": proposals,
        "number": [1],
        "version": [1],
        "assignment_id": _ids(Assignment),
        "review_id": _ids(Review),
        "ranking_id": _ids(Ranking),
        "decision_id": _ids(Decision),
        "grant_id": _ids(Grant),
        "report_id": _ids(Report),
        "disbursement_id": _ids(Disbursement),
        "payment_id": _ids(Disbursement),
        "user_id": [person.id for person in people.values() if person],
        "slug": [stage.call.programme.slug],
    }
    return World(tokens=tokens, ids={name: values for name, values in ids.items() if values})


@pytest.fixture(scope="module")
def world_app(pg_url, tmp_path_factory) -> Iterator[tuple[Any, World]]:  # type: ignore[no-untyped-def]
    """One app and one world for the module: building it (an assignment run, a ranking, a
    publication) takes longer than the checks of an operation."""
    app = create_app(
        testing_settings(database_url=pg_url, upload_folder=str(tmp_path_factory.mktemp("uploads")))
    )
    try:
        with app.app_context():
            world = build_world()
        yield app, world
    finally:
        truncate_all(app)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture(scope="module")
def schema(world_app):  # type: ignore[no-untyped-def]
    import schemathesis

    app, _ = world_app
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)


def _checks() -> list[Any]:
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_headers_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    return [
        not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_headers_conformance,
        response_schema_conformance,
    ]


def _cases(operation: Any, ids: dict[str, list[Any]]) -> st.SearchStrategy[Any]:
    """Calls of the operation, most of them naming rows of the world in the path and the
    query (so the answers are not all 404), the rest with whatever Schemathesis draws."""
    from schemathesis import GenerationMode

    names = {
        (parameter.location, parameter.name)
        for parameter in operation.iter_parameters()
        if parameter.name in ids
    }
    in_path = sorted(name for where, name in names if where == "path")
    in_query = sorted(name for where, name in names if where == "query")
    drawn = operation.as_strategy(GenerationMode.POSITIVE)
    refused = operation.as_strategy(GenerationMode.NEGATIVE)
    if not in_path and not in_query:
        return st.one_of(drawn, drawn, refused)

    def naming(values: dict[str, Any]) -> st.SearchStrategy[Any]:
        return operation.as_strategy(
            GenerationMode.POSITIVE,
            path_parameters={name: values[name] for name in in_path} or None,
            query={name: values[name] for name in in_query} or None,
        )

    known = st.fixed_dictionaries(
        {name: st.sampled_from(ids[name]) for name in [*in_path, *in_query]}
    ).flatmap(naming)
    return st.one_of(known, known, drawn, refused)


@pytest.mark.parametrize("role", ROLES)
def test_every_operation_answers_as_described(world_app, schema, role):
    _, world = world_app
    token = world.tokens[role]
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    checks = _checks()
    failures: dict[str, str] = {}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert operations, "the description has no operations"

    for operation in operations:
        if operation.definition.raw.get("security") == [] and role not in PUBLIC_ROLES:
            continue

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
            report_multiple_bugs=False,
        )
        @given(case=_cases(operation, world.ids))
        def answers_as_described(case: Any) -> None:
            response = case.call(headers=headers)
            case.validate_response(response, checks=checks, headers=headers)

        try:
            answers_as_described()
        except Exception as failure:  # every operation is checked; all failures reported
            failures[operation.label] = str(failure)[:3000]

    assert not failures, "\n\n".join(f"{label}:\n{text}" for label, text in failures.items())


def _described_path(rule: Any) -> str:
    """A route as the description writes it: ``<int:proposal_id>`` is ``{proposal_id}``."""
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)


def test_every_operation_declares_its_security_scope_and_problems(world_app):
    app, _ = world_app
    spec = app.test_client().get("/api/v1/openapi.json").get_json()
    views = {
        (method.lower(), _described_path(rule)): app.view_functions[rule.endpoint]
        for rule in app.url_map.iter_rules()
        for method in rule.methods or ()
    }
    wrong = []
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            name = f"{method.upper()} {path}"
            responses = set(operation["responses"])
            security = operation.get("security")
            if security is None:
                wrong.append(f"{name}: no security requirement")
                continue
            if security and "x-scope" not in operation:
                wrong.append(f"{name}: a token is needed, but not which scope")
            if security and not {"401", "403"} <= responses:
                wrong.append(f"{name}: a token is needed, but 401/403 are not listed")
            if "{" in path and "404" not in responses:
                wrong.append(f"{name}: an id in the path, but 404 is not listed")
            takes_input = "requestBody" in operation or any(
                p.get("in") == "query" for p in operation.get("parameters", [])
            )
            if takes_input and not {"400", "422"} <= responses:
                wrong.append(f"{name}: takes input, but 400/422 are not listed")
            if "429" not in responses:
                wrong.append(f"{name}: 429 is not listed")
            for status, response in operation["responses"].items():
                ref = response.get("$ref", "")
                body = spec["components"]["responses"][ref.rsplit("/", 1)[-1]] if ref else response
                problem = list(body.get("content", {})) == ["application/problem+json"]
                if status.isdigit() and int(status) >= 400 and not problem:
                    wrong.append(f"{name}: {status} is not a problem document")
            view = views.get((method, path))
            policy = policy_of(view) if view is not None else None
            if policy is None or not policy.api or policy.public != (security == []):
                wrong.append(f"{name}: the view's policy and the description disagree")

    assert spec["paths"], "the description has no operations"
    assert wrong == []


# --- refused input: an endpoint of the tests' own, paged as every list is ------------------

probe = ApiBlueprint("api_probe", __name__, url_prefix="/api/v1/probes", description="Probes")


class ProbeSchema(Schema):
    id = fields.Integer(required=True)


@probe.route("")
@probe.arguments(PageArgs, location="query")
@probe.response(200, page_schema(ProbeSchema, "ProbePage"))
@api_public
def list_probes(args: dict[str, Any]) -> Any:
    """Three probes, paged."""
    page = page_of([{"id": n} for n in (1, 2, 3)], lambda row: row["id"], args)
    return page.body(), link_header(page)


@pytest.fixture
def probe_app():  # type: ignore[no-untyped-def]
    """An app with the probe list (no database: the list reads none)."""
    from competition.api import api

    app = create_app(testing_settings(database_url="sqlite://"))
    api.register_blueprint(probe)
    return app


def test_a_refused_query_value_is_named_at_its_field(probe_app):
    answer = probe_app.test_client().get("/api/v1/probes?limit=0")

    assert answer.status_code == 422
    assert answer.mimetype == "application/problem+json"
    problem = answer.get_json()
    assert set(problem["errors"]) == {"limit"}
    assert problem["errors"]["limit"][0].startswith("Must be greater than or equal to 1")


def test_a_cursor_the_api_did_not_give_out_is_a_bad_request(probe_app):
    client = probe_app.test_client()

    first = client.get("/api/v1/probes?limit=2")
    forged = client.get("/api/v1/probes?cursor=not-ours")

    assert first.get_json()["items"] == [{"id": 1}, {"id": 2}]
    assert first.headers["Link"].endswith('rel="next"')
    assert forged.status_code == 400
    assert forged.mimetype == "application/problem+json"


def test_a_paged_list_is_described_with_its_problems_and_passes_the_checks(probe_app):
    import schemathesis

    spec = probe_app.test_client().get("/api/v1/openapi.json").get_json()
    listed = spec["paths"]["/api/v1/probes"]["get"]
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", probe_app)
    operation = next(
        result.ok()
        for result in schema.get_all_operations()
        if result.ok().path.endswith("/probes")
    )

    @settings(max_examples=30, deadline=None, database=None, derandomize=True)
    @given(case=_cases(operation, {}))
    def answers_as_described(case: Any) -> None:
        case.validate_response(case.call(), checks=_checks())

    answers_as_described()
    assert set(listed["responses"]) == {"200", "400", "422", "429"}
    assert listed["security"] == []
