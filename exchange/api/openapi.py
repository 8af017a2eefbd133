"""The OpenAPI 3.1 document of /api/v1, made from the endpoints' declarations.

Every endpoint declares itself with ``@operation`` (exchange.api.spec) and the typed
models of exchange.api.models; this module walks the API's routes and turns each
declaration into an operation, and the models into ``components.schemas`` (pydantic's
JSON Schema, which is OpenAPI 3.1's dialect). Nothing here describes a field by hand.

tests/test_api_base.py fails when a route under /api/v1 is not declared.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from flask import current_app, jsonify
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from exchange.api import bp, models
from exchange.api.spec import Operation, operation_of
from exchange.db import MAX_ID
from exchange.permissions import PUBLIC, permission_of, public

Schema = dict[str, Any]
REF = "#/components/schemas/{model}"

# Shared error responses, by status code.
ERROR_RESPONSES = {
    400: ("BadRequest", "Malformed request: not JSON, not an object, bad query parameter."),
    401: ("Unauthorized", "No valid bearer token (missing, wrong, revoked or expired)."),
    403: ("Forbidden", "Signed in, but not allowed to do this."),
    404: ("NotFound", "No such record (or one the caller may not see)."),
    409: ("Conflict", "The record's state does not allow this (e.g. the period is locked)."),
    413: ("TooLarge", "The request body is larger than the server accepts."),
    422: ("ValidationFailed", "Invalid fields; `error.fields` names each one."),
    429: ("RateLimited", "Too many attempts; try again later."),
}
# Not the app's: the HTTP server refuses a request line longer than it reads (gunicorn:
# 4,094 bytes) before the app sees it, in its own words.
URI_TOO_LONG = ("UriTooLong", "The address with its query string is too long for the server.")

TAGS = [
    {"name": "auth", "description": "Tokens and the caller."},
    {"name": "organisation", "description": "Departments, enterprises, agreements, periods."},
    {"name": "users", "description": "Administration of users."},
    {"name": "logs", "description": "Exchange logs, their workflow and on-site confirmation."},
    {
        "name": "rewards",
        "description": "Progress, eligibility, reward rounds, awards, certificates, rules.",
    },
]

_ARGUMENT = re.compile(r"<(?:([^<>:]+):)?([^<>]+)>")
ID_SCHEMA: Schema = {"type": "integer", "minimum": 1, "maximum": MAX_ID}


def api_routes() -> list[tuple[str, str, str, str, Operation | None]]:
    """(method, path in the document, rule, endpoint, declaration) of every API route."""
    routes = []
    for rule in current_app.url_map.iter_rules():
        if not rule.endpoint.startswith(f"{bp.name}."):
            continue
        path = _ARGUMENT.sub(r"{\2}", rule.rule.removeprefix(bp.url_prefix or ""))
        view = current_app.view_functions[rule.endpoint]
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            routes.append((method.lower(), path, rule.rule, rule.endpoint, operation_of(view)))
    return routes


def _path_parameters(rule: str, declared: Operation) -> list[Schema]:
    parameters = []
    for converter, name in _ARGUMENT.findall(rule):
        schema = declared.path.get(name) or (ID_SCHEMA if converter == "id" else {"type": "string"})
        parameters.append({"name": name, "in": "path", "required": True, "schema": schema})
    return parameters


def _query_parameters(model: type[BaseModel]) -> list[Schema]:
    schema = _tidy(model.model_json_schema(ref_template=REF))
    required = set(schema.get("required", ()))
    parameters = []
    for name, prop in schema["properties"].items():
        prop = dict(prop)
        description = prop.pop("description", None)
        prop.pop("title", None)
        parameter: Schema = {"name": name, "in": "query", "schema": prop}
        if name in required:
            parameter["required"] = True
        if description:
            parameter["description"] = description
        parameters.append(parameter)
    return parameters


def _statuses(declared: Operation, is_public: bool, has_path: bool) -> list[int]:
    implied = set(declared.errors)
    if declared.body is not None or declared.file_body:
        implied |= {400, 422}
    if declared.query is not None:
        implied |= {400, 414}
    if not is_public:
        implied |= {401, 403}
    if has_path:
        implied.add(404)
    return sorted(implied)


def media_of(endpoint: str, status: int) -> str | None:
    """The media type of a documented answer that is not JSON (None for JSON or none)."""
    declared = operation_of(current_app.view_functions[endpoint])
    answer = declared.answer_for(status) if declared else None
    return answer.media if answer else None


def answers_of(endpoint: str) -> dict[int, type[BaseModel] | None]:
    """Every status an endpoint is documented to answer, with the model of its body."""
    view = current_app.view_functions[endpoint]
    declared = operation_of(view)
    if declared is None:
        return {}
    rules = current_app.url_map.iter_rules(endpoint)
    has_path = any(rule.arguments for rule in rules)
    answers: dict[int, type[BaseModel] | None] = {a.status: a.model for a in declared.answers}
    for status in _statuses(declared, permission_of(view) == PUBLIC, has_path):
        answers[status] = None if status == 414 else models.Error
    return answers


def _operation(endpoint: str, rule: str, declared: Operation, schemas: dict[str, Schema]) -> Schema:
    is_public = permission_of(current_app.view_functions[endpoint]) == PUBLIC
    op: Schema = {
        "operationId": endpoint.removeprefix(f"{bp.name}."),
        "summary": declared.summary,
        "tags": [declared.tag],
        "description": (f"{declared.description}\n\n" if declared.description else "")
        + f"Who: {declared.who}.",
    }
    if is_public:
        op["security"] = []
    path_parameters = _path_parameters(rule, declared)
    parameters = path_parameters + (_query_parameters(declared.query) if declared.query else [])
    if parameters:
        op["parameters"] = parameters
    if declared.body is not None:
        op["requestBody"] = {
            "required": declared.body_required,
            "content": {
                "application/json": {"schema": {"$ref": REF.format(model=declared.body.__name__)}}
            },
        }
    if declared.file_body:
        op["requestBody"] = {
            "required": True,
            "content": {
                media: {"schema": {"type": "string", "format": "binary"}}
                for media in declared.file_body
            },
        }
    answers: Schema = {}
    for answer in declared.answers:
        described: Schema = {"description": answer.description}
        if answer.model is not None:
            ref = {"$ref": REF.format(model=answer.model.__name__)}
            described["content"] = {"application/json": {"schema": ref}}
        elif answer.media:
            described["content"] = {answer.media: {"schema": {"type": "string"}}}
        answers[str(answer.status)] = described
    for status in _statuses(declared, is_public, bool(path_parameters)):
        name = URI_TOO_LONG[0] if status == 414 else ERROR_RESPONSES[status][0]
        answers[str(status)] = {"$ref": f"#/components/responses/{name}"}
    op["responses"] = answers
    return op


def _tidy(node: Any) -> Any:
    """Drops what pydantic adds for Python's sake: titles, and the ``null`` or ``""``
    that stand for "not given" (the service then says what is missing)."""
    if isinstance(node, dict):
        return {
            key: _tidy(value)
            for key, value in node.items()
            if key != "title" and not (key == "default" and value in (None, ""))
        }
    if isinstance(node, list):
        return [_tidy(item) for item in node]
    return node


def _schemas(declarations: list[Operation]) -> dict[str, Schema]:
    requests: set[type[BaseModel]] = {models.Error}
    answers: set[type[BaseModel]] = {models.Error}
    for declared in declarations:
        if declared.body is not None:
            requests.add(declared.body)
        answers.update(a.model for a in declared.answers if a.model is not None)
    both = [(m, "validation") for m in requests] + [(m, "serialization") for m in answers]
    both.sort(key=lambda pair: (pair[0].__name__, pair[1]))
    _, generated = models_json_schema(both, ref_template=REF)  # type: ignore[arg-type]
    return _tidy(generated.get("$defs", {}))


@functools.cache
def _document(app_name: str) -> Schema:
    routes = api_routes()
    declarations = [declared for *_, declared in routes if declared is not None]
    schemas = _schemas(declarations)
    paths: dict[str, Schema] = {}
    for method, path, rule, endpoint, declared in routes:
        if declared is not None:
            paths.setdefault(path, {})[method] = _operation(endpoint, rule, declared, schemas)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Exchange API",
            "version": "1",
            "description": (
                "JSON in and out, UTF-8, dates YYYY-MM-DD, times ISO 8601 UTC. "
                "Errors answer the Error schema. Lists are paginated."
            ),
        },
        "servers": [{"url": bp.url_prefix}],
        "tags": TAGS,
        "security": [{"bearerAuth": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A token from POST /tokens.",
                }
            },
            "schemas": schemas,
            "responses": {
                name: {
                    "description": description,
                    "content": {
                        "application/json": {"schema": {"$ref": REF.format(model="Error")}}
                    },
                }
                for name, description in ERROR_RESPONSES.values()
            }
            | {URI_TOO_LONG[0]: {"description": URI_TOO_LONG[1], "content": {"text/html": {}}}},
        },
    }


def document() -> Schema:
    """The document (made once per application)."""
    return _document(current_app.name)


@bp.get("/openapi.json")
@public
def openapi_json():
    return jsonify(document())
