"""The OpenAPI 3.1 description of /api/v1, written by hand and served at /openapi.json.

How it is laid out, so a new endpoint is a few lines:

* ``SCHEMAS``: one JSON Schema per resource of SPEC §7 and per request body;
  ``_inputs()`` makes the create body (with ``required``) and the PATCH body
  (every field optional) from one field list.
* one ``*_PATHS`` dict per domain, built with ``operation()``;
  ``admin_collection()`` writes the usual POST/GET list/GET one/PATCH four.
* ``SECTIONS`` lists the domains; ``document()`` joins them.

tests/test_api_base.py fails when a route under /api/v1 is missing here.
"""

from __future__ import annotations

import copy
import functools
from typing import Any

from flask import jsonify

from exchange.api import bp
from exchange.api.helpers import MAX_PER_PAGE
from exchange.errors import HTTP_CODES
from exchange.permissions import public

Schema = dict[str, Any]

# --- building blocks ------------------------------------------------------


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(schema: Schema) -> Schema:
    return {"anyOf": [schema, {"type": "null"}]}


ID: Schema = {"type": "integer", "minimum": 1}
DATE: Schema = {"type": "string", "format": "date", "example": "2026-09-01"}


def text(max_length: int, **extra: Any) -> Schema:
    return {"type": "string", "maxLength": max_length, **extra}


def enum(*values: str) -> Schema:
    return {"type": "string", "enum": list(values)}


def obj(properties: dict[str, Schema], required: list[str] | None = None) -> Schema:
    schema: Schema = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    return schema


def page_of(name: str) -> Schema:
    return obj(
        {
            "items": {"type": "array", "items": ref(name)},
            "page": {"type": "integer", "minimum": 1},
            "per_page": {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE},
            "total": {"type": "integer", "minimum": 0},
        },
        ["items", "page", "per_page", "total"],
    )


def path_id(name: str) -> Schema:
    return {"name": name, "in": "path", "required": True, "schema": ID}


def query(name: str, schema: Schema, description: str) -> Schema:
    return {"name": name, "in": "query", "schema": schema, "description": description}


PAGE_PARAMS = [
    query("page", {"type": "integer", "minimum": 1, "default": 1}, "Page number, from 1."),
    query(
        "per_page",
        {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE, "default": 25},
        f"Items per page; larger values are cut to {MAX_PER_PAGE}.",
    ),
]

# Shared error responses, referenced by status code.
ERROR_RESPONSES = {
    400: ("BadRequest", "Malformed request: not JSON, not an object, bad query parameter."),
    401: ("Unauthorized", "No valid bearer token (missing, wrong, revoked or expired)."),
    403: ("Forbidden", "Signed in, but this role may not do this."),
    404: ("NotFound", "No such record (or one the caller may not see)."),
    409: ("Conflict", "The record's state does not allow this (e.g. the period is locked)."),
    422: ("ValidationFailed", "Invalid fields; `error.fields` names each one."),
    429: ("RateLimited", "Too many attempts; try again later."),
}


def responses(ok_status: int, ok: Schema | None, description: str, *errors: int) -> Schema:
    answer: Schema = {"description": description}
    if ok is not None:
        answer["content"] = {"application/json": {"schema": ok}}
    result: Schema = {str(ok_status): answer}
    for status in errors:
        result[str(status)] = {"$ref": f"#/components/responses/{ERROR_RESPONSES[status][0]}"}
    return result


def operation(
    operation_id: str,
    summary: str,
    *,
    tag: str,
    who: str,
    responses: Schema,
    body: Schema | None = None,
    parameters: list[Schema] | None = None,
    description: str = "",
) -> Schema:
    """One operation; ``who`` is "public", "any" (signed in) or the roles allowed."""
    op: Schema = {
        "operationId": operation_id,
        "summary": summary,
        "tags": [tag],
        "description": (f"{description}\n\n" if description else "") + f"Who: {who}.",
        "responses": responses,
    }
    if who == "public":
        op["security"] = []
    if body is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    if parameters:
        op["parameters"] = parameters
    return op


def admin_collection(
    collection: str,
    resource: str,
    *,
    tag: str,
    list_who: str = "admin",
    list_params: list[Schema] | None = None,
    patch_description: str = "",
    patch_errors: tuple[int, ...] = (),
) -> dict[str, Schema]:
    """The usual four: POST and GET on /<collection>, GET and PATCH on /<collection>/{id}."""
    name = resource.lower()
    id_param = f"{name}_id"
    denied = (401, 403) if list_who == "admin" else (401,)
    return {
        f"/{collection}": {
            "get": operation(
                f"list_{collection}",
                f"List {collection}",
                tag=tag,
                who=list_who,
                parameters=[*(list_params or []), *PAGE_PARAMS],
                responses=responses(200, page_of(resource), "One page.", 400, *denied),
            ),
            "post": operation(
                f"create_{name}",
                f"Create a {name}",
                tag=tag,
                who="admin",
                body=ref(f"{resource}Input"),
                responses=responses(
                    201, ref(resource), f"The new {name}.", 400, 401, 403, 409, 422
                ),
            ),
        },
        f"/{collection}/{{{id_param}}}": {
            "parameters": [path_id(id_param)],
            "get": operation(
                f"get_{name}",
                f"One {name}",
                tag=tag,
                who="admin",
                responses=responses(200, ref(resource), f"The {name}.", 401, 403, 404),
            ),
            "patch": operation(
                f"update_{name}",
                f"Change a {name}",
                tag=tag,
                who="admin",
                description="Only the fields given change; the others keep their values. "
                + patch_description,
                body=ref(f"{resource}Patch"),
                responses=responses(
                    200,
                    ref(resource),
                    f"The {name} as saved.",
                    400,
                    401,
                    403,
                    404,
                    422,
                    *patch_errors,
                ),
            ),
        },
    }


# --- schemas --------------------------------------------------------------

ROLES = ("teacher", "expert", "head", "admin")
LOCALES = ("en", "zh_Hans")
ENTERPRISE_KINDS = ("hospital", "pharma", "device", "health_it", "other")
AGREEMENT_SCOPES = ("practice", "teaching", "both")
PERIOD_STATES = ("open", "locked")

_USER_FIELDS: dict[str, Schema] = {
    "email": text(254, format="email"),
    "name": text(120),
    "role": enum(*ROLES),
    "department_id": nullable({**ID, "description": "Required for teacher and head."}),
    "enterprise_id": nullable({**ID, "description": "Required for expert."}),
    "active": {"type": "boolean", "description": "Inactive users cannot sign in."},
    "locale": nullable(enum(*LOCALES)),
}
_DEPARTMENT_FIELDS: dict[str, Schema] = {
    "code": text(16, description="Letters, digits, - and _; unique.", example="CM"),
    "name": text(120),
}
_ENTERPRISE_FIELDS: dict[str, Schema] = {
    "code": text(16, description="Letters, digits, - and _; unique."),
    "name": text(160),
    "kind": enum(*ENTERPRISE_KINDS),
    "contact_person": text(120),
    "phone": text(40),
    "address": text(300),
}
_AGREEMENT_FIELDS: dict[str, Schema] = {
    "enterprise_id": ID,
    "department_id": nullable({**ID, "description": "null: all departments."}),
    "reference": text(60),
    "starts_on": DATE,
    "ends_on": DATE,
    "scope": enum(*AGREEMENT_SCOPES),
}
_PERIOD_FIELDS: dict[str, Schema] = {
    "name": text(40, example="2025-2026"),
    "starts_on": DATE,
    "ends_on": DATE,
}


def _resource(fields: dict[str, Schema], **more: Schema) -> Schema:
    properties = {"id": ID, **fields, **more}
    return obj(properties, list(properties))


def _inputs(resource: str, fields: dict[str, Schema], required: list[str]) -> dict[str, Schema]:
    """``<resource>Input`` for POST and ``<resource>Patch`` (all optional) for PATCH."""
    return {
        f"{resource}Input": obj(copy.deepcopy(fields), required),
        f"{resource}Patch": obj(copy.deepcopy(fields)),
    }


SCHEMAS: dict[str, Schema] = {
    "Error": obj(
        {
            "error": obj(
                {
                    "code": enum(*sorted(set(HTTP_CODES.values()))),
                    "message": {"type": "string", "description": "For people, in their language."},
                    "fields": {
                        "type": "object",
                        "description": "Field name → what is wrong with it; empty if none.",
                        "additionalProperties": {"type": "string"},
                    },
                },
                ["code", "message", "fields"],
            )
        },
        ["error"],
    ),
    "TokenRequest": obj(
        {"email": {"type": "string"}, "password": {"type": "string"}}, ["email", "password"]
    ),
    "Token": obj({"token": {"type": "string"}}, ["token"]),
    "User": _resource(_USER_FIELDS),
    **_inputs(
        "User",
        {
            **_USER_FIELDS,
            "password": {
                "type": "string",
                "minLength": 8,
                "maxLength": 200,
                "writeOnly": True,
                "description": "Required on create; on PATCH only to change it.",
            },
        },
        ["email", "name", "role", "password"],
    ),
    "Me": {
        "allOf": [
            ref("User"),
            obj(
                {
                    "department": nullable(ref("Department")),
                    "enterprise": nullable(
                        obj({"id": ID, "code": {"type": "string"}, "name": {"type": "string"}})
                    ),
                },
                ["department", "enterprise"],
            ),
        ]
    },
    "Department": _resource(_DEPARTMENT_FIELDS),
    **_inputs("Department", _DEPARTMENT_FIELDS, ["code", "name"]),
    "Enterprise": _resource(
        _ENTERPRISE_FIELDS, agreements={"type": "array", "items": ref("Agreement")}
    ),
    **_inputs("Enterprise", _ENTERPRISE_FIELDS, ["code", "name", "kind"]),
    "Agreement": _resource(_AGREEMENT_FIELDS),
    **_inputs(
        "Agreement",
        _AGREEMENT_FIELDS,
        ["enterprise_id", "reference", "starts_on", "ends_on", "scope"],
    ),
    "Period": _resource(_PERIOD_FIELDS, state=enum(*PERIOD_STATES)),
    **_inputs("Period", _PERIOD_FIELDS, ["name", "starts_on", "ends_on"]),
}
SCHEMAS["PeriodInput"]["properties"]["state"] = enum("open")
SCHEMAS["PeriodPatch"]["properties"]["state"] = {
    **enum(*PERIOD_STATES),
    "description": '"locked" locks the period for good; a locked period cannot be opened again.',
}


# --- paths, one dict per domain -------------------------------------------

AUTH_PATHS: dict[str, Schema] = {
    "/tokens": {
        "post": operation(
            "create_token",
            "Get a bearer token",
            tag="auth",
            who="public",
            description="Send it as `Authorization: Bearer <token>`. Rate limited.",
            body=ref("TokenRequest"),
            responses=responses(201, ref("Token"), "A new token.", 400, 401, 422, 429),
        )
    },
    "/tokens/current": {
        "delete": operation(
            "revoke_current_token",
            "Revoke the token used for this call",
            tag="auth",
            who="any",
            responses=responses(204, None, "Revoked.", 401),
        )
    },
    "/me": {
        "get": operation(
            "get_me",
            "The caller",
            tag="auth",
            who="any",
            responses=responses(200, ref("Me"), "The signed-in user.", 401),
        )
    },
}

ORG_PATHS: dict[str, Schema] = {
    **admin_collection("departments", "Department", tag="organisation", list_who="any"),
    **admin_collection(
        "enterprises",
        "Enterprise",
        tag="organisation",
        list_who="any",
    ),
    **admin_collection(
        "agreements",
        "Agreement",
        tag="organisation",
        list_params=[query("enterprise", ID, "Only the agreements of this enterprise.")],
    ),
    **admin_collection(
        "periods",
        "Period",
        tag="organisation",
        list_who="any",
        patch_description='`{"state": "locked"}` locks the period; locking is final.',
        patch_errors=(409,),
    ),
}

USER_PATHS: dict[str, Schema] = admin_collection(
    "users",
    "User",
    tag="users",
    list_params=[
        query("role", enum(*ROLES), "Only users with this role."),
        query("q", {"type": "string", "maxLength": 200}, "Part of the e-mail address or name."),
    ],
)

SECTIONS: tuple[dict[str, Schema], ...] = (AUTH_PATHS, ORG_PATHS, USER_PATHS)

TAGS = [
    {"name": "auth", "description": "Tokens and the caller."},
    {"name": "organisation", "description": "Departments, enterprises, agreements, periods."},
    {"name": "users", "description": "Administration of users."},
]


@functools.cache
def document() -> Schema:
    paths: dict[str, Schema] = {}
    for section in SECTIONS:
        clash = paths.keys() & section.keys()
        if clash:
            raise ValueError(f"paths described twice: {sorted(clash)}")
        paths.update(section)
    error_json = {"application/json": {"schema": ref("Error")}}
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
        "servers": [{"url": "/api/v1"}],
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
            "schemas": SCHEMAS,
            "responses": {
                name: {"description": description, "content": error_json}
                for name, description in ERROR_RESPONSES.values()
            },
        },
    }


@bp.get("/openapi.json")
@public
def openapi_json():
    return jsonify(document())
