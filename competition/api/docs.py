"""The API's documentation page, ``/api/v1/docs``: the description (``/api/v1/openapi.json``)
read on the server into plain HTML, so it needs no script and always says what the code does.
``/api`` and ``/api/v1`` lead to it. The page's own words are German and English; the
description's texts are English (and marked so)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, Flask, current_app, redirect, render_template, url_for
from limits import parse_many

from competition.access import public
from competition.api import API_PREFIX, spec_dict
from competition.api.models import ApiArea, scope
from competition.api.paging import DEFAULT_LIMIT, MAX_LIMIT

bp = Blueprint("api_docs", __name__)

METHODS = ("get", "post", "put", "patch", "delete")
REF = "#/components/schemas/"


@dataclass(frozen=True)
class TypeText:
    """A schema in a few words (``array of Proposal``), with the schema it names, if any."""

    text: str
    ref: str | None = None


@dataclass(frozen=True)
class Parameter:
    name: str
    where: str
    type: TypeText
    required: bool
    description: str


@dataclass(frozen=True)
class Response:
    status: str
    description: str
    media_type: str | None
    type: TypeText | None
    headers: list[str]


@dataclass(frozen=True)
class Operation:
    anchor: str
    method: str
    path: str
    summary: str
    description: str
    public: bool
    scope: str | None
    parameters: list[Parameter]
    body: TypeText | None
    body_media_type: str | None
    body_required: bool
    responses: list[Response]


@dataclass(frozen=True)
class Tag:
    name: str
    description: str
    operations: list[Operation] = field(default_factory=list)


@dataclass(frozen=True)
class Property:
    name: str
    type: TypeText
    required: bool
    description: str


@dataclass(frozen=True)
class SchemaDoc:
    name: str
    description: str
    properties: list[Property]
    other: TypeText | None  # a schema that is no object of named properties


@dataclass(frozen=True)
class Description:
    title: str
    version: str
    summary: str
    tags: list[Tag]
    schemas: list[SchemaDoc]


def anchor(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def type_text(schema: Any) -> TypeText:
    """How the page names a schema: its type and format, what a list holds, the values an
    enumeration allows, and the named schema a reference points to."""
    if not isinstance(schema, dict) or not schema:
        return TypeText("any")
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith(REF):
        name = ref.removeprefix(REF)
        return TypeText(name, name)
    for combined in ("allOf", "oneOf", "anyOf"):
        if combined in schema and isinstance(schema[combined], list):
            parts = [type_text(part) for part in schema[combined]]
            ref = next((part.ref for part in parts if part.ref), None)
            word = " and " if combined == "allOf" else " or "
            return TypeText(word.join(part.text for part in parts), ref)
    kinds = schema.get("type", "object" if "properties" in schema else "any")
    if isinstance(kinds, list):
        kinds = [kind for kind in kinds if kind != "null"] or ["null"]
        nullable = "null" in schema["type"]
        kind = " or ".join(kinds)
    else:
        nullable = bool(schema.get("nullable"))
        kind = str(kinds)
    named: str | None = None
    if kind == "array":
        inner = type_text(schema.get("items"))
        text, named = f"array of {inner.text}", inner.ref
    elif kind == "object" and isinstance(schema.get("additionalProperties"), dict):
        inner = type_text(schema["additionalProperties"])
        text, named = f"object of {inner.text}", inner.ref
    else:
        text = kind
    if schema.get("format"):
        text += f" ({schema['format']})"
    if "enum" in schema:
        values = ["null" if value is None else str(value) for value in schema["enum"]]
        nullable = nullable and "null" not in values
        text += ": " + ", ".join(values)
    bounds = [
        f"{word} {schema[key]}"
        for key, word in (("minimum", "from"), ("maximum", "to"), ("maxLength", "at most"))
        if key in schema
    ]
    if bounds:
        text += " (" + ", ".join(bounds) + (" characters" if "maxLength" in schema else "") + ")"
    if nullable:
        text += " or null"
    return TypeText(text, named)


def _resolve(spec: dict[str, Any], item: Any, kind: str) -> dict[str, Any]:
    """A component (``#/components/<kind>/…``) in place of a reference to it."""
    if isinstance(item, dict) and isinstance(item.get("$ref"), str):
        name = item["$ref"].rsplit("/", 1)[-1]
        found = spec.get("components", {}).get(kind, {}).get(name, {})
        return found if isinstance(found, dict) else {}
    return item if isinstance(item, dict) else {}


def _content(content: Any) -> tuple[str | None, TypeText | None]:
    if not isinstance(content, dict) or not content:
        return None, None
    media_type, body = next(iter(content.items()))
    schema = body.get("schema") if isinstance(body, dict) else None
    return str(media_type), type_text(schema) if schema is not None else None


def _operation(spec: dict[str, Any], path: str, method: str, raw: dict[str, Any]) -> Operation:
    parameters = []
    for item in raw.get("parameters", []):
        parameter = _resolve(spec, item, "parameters")
        if not parameter:
            continue
        parameters.append(
            Parameter(
                name=str(parameter.get("name", "")),
                where=str(parameter.get("in", "")),
                type=type_text(parameter.get("schema")),
                required=bool(parameter.get("required")),
                description=str(parameter.get("description", "")),
            )
        )
    body = _resolve(spec, raw.get("requestBody"), "requestBodies")
    body_media_type, body_type = _content(body.get("content"))
    responses = []
    for status, item in sorted(raw.get("responses", {}).items(), key=lambda pair: str(pair[0])):
        response = _resolve(spec, item, "responses")
        media_type, schema = _content(response.get("content"))
        responses.append(
            Response(
                status=str(status),
                description=str(response.get("description", "")),
                media_type=media_type,
                type=schema,
                headers=sorted(response.get("headers", {})),
            )
        )
    security = raw.get("security")
    return Operation(
        anchor=anchor(f"{method} {path}"),
        method=method.upper(),
        path=path,
        summary=str(raw.get("summary", "")),
        description=str(raw.get("description", "")),
        public=security == [],
        scope=raw.get("x-scope"),
        parameters=parameters,
        body=body_type,
        body_media_type=body_media_type,
        body_required=bool(body.get("required")),
        responses=responses,
    )


def _schema(name: str, raw: dict[str, Any]) -> SchemaDoc:
    properties = raw.get("properties")
    if not isinstance(properties, dict):
        return SchemaDoc(name, str(raw.get("description", "")), [], type_text(raw))
    required = set(raw.get("required", []))
    return SchemaDoc(
        name=name,
        description=str(raw.get("description", "")),
        properties=[
            Property(
                name=str(key),
                type=type_text(value),
                required=key in required,
                description=str(value.get("description", "")) if isinstance(value, dict) else "",
            )
            for key, value in properties.items()
        ],
        other=None,
    )


def describe(spec: dict[str, Any]) -> Description:
    """The description as the page shows it: operations grouped by tag in the description's
    order (by path within a tag), then every named schema."""
    tags = {
        str(tag["name"]): Tag(str(tag["name"]), str(tag.get("description") or ""))
        for tag in spec.get("tags", [])
    }
    for path, item in sorted(spec.get("paths", {}).items()):
        for method in METHODS:
            raw = item.get(method)
            if not isinstance(raw, dict):
                continue
            operation = _operation(spec, path, method, raw)
            for name in raw.get("tags") or ["other"]:
                tags.setdefault(str(name), Tag(str(name), "")).operations.append(operation)
    schemas = spec.get("components", {}).get("schemas", {})
    info = spec.get("info", {})
    return Description(
        title=str(info.get("title", "")),
        version=str(info.get("version", "")),
        summary=str(info.get("description", "")),
        tags=[tag for tag in tags.values() if tag.operations],
        schemas=[_schema(name, raw) for name, raw in sorted(schemas.items())],
    )


@bp.route("/api", strict_slashes=False)
@bp.route(API_PREFIX, strict_slashes=False)
@public
def to_docs():  # type: ignore[no-untyped-def]
    return redirect(url_for(".show_docs"))


def rate_limits(setting: str) -> list[tuple[int, int]]:
    """(calls, seconds) for each limit of the setting."""
    return [(limit.amount, limit.get_expiry()) for limit in parse_many(setting)]


@bp.route(f"{API_PREFIX}/docs")
@public
def show_docs():  # type: ignore[no-untyped-def]
    return render_template(
        "api/docs.html",
        description=describe(spec_dict()),
        openapi_url=f"{API_PREFIX}/openapi.json",
        areas=[(area.label, scope(area), scope(area, True)) for area in ApiArea],
        limits=rate_limits(current_app.extensions["settings"].api_rate_limit),
        max_limit=MAX_LIMIT,
        default_limit=DEFAULT_LIMIT,
    )


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
