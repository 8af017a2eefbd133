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
from exchange.errors import HTTP_CODES, DomainError
from exchange.logs.models import PRACTICE_CATEGORIES, TEACHING_CATEGORIES
from exchange.logs.workflow import Action, Status
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
    "staff_number": nullable(
        text(
            32,
            pattern="^([A-Za-z0-9]([A-Za-z0-9/-]*[A-Za-z0-9])?)?$",
            description="The college's staff number (工号): letters, digits, - and /; "
            "stored upper-cased, unique when set. null or empty: none.",
            example="T2019034",
        )
    ),
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


_LOG_FIELDS: dict[str, Schema] = {
    "kind": {
        **enum("practice", "teaching"),
        "description": "Teachers and heads log `practice`, experts `teaching`.",
    },
    "date": {**DATE, "description": "The day worked (college time zone); not in the future."},
    "hours": {
        "anyOf": [
            {"type": "number", "minimum": 0.25, "maximum": 12, "multipleOf": 0.25},
            {"type": "string", "example": "1.5"},
        ],
        "description": "0.25 to 12 in quarter hours; a number, or a number as a string. "
        "At most 12 hours a day across the owner's logs that are not rejected.",
    },
    "category": {
        **enum(*dict.fromkeys((*PRACTICE_CATEGORIES, *TEACHING_CATEGORIES))),
        "description": "practice: "
        + ", ".join(PRACTICE_CATEGORIES)
        + "; teaching: "
        + ", ".join(TEACHING_CATEGORIES)
        + ".",
    },
    "description": text(2000, minLength=1, description="Plain text, stored as typed."),
    "enterprise_id": nullable(
        {
            **ID,
            "description": "practice (required): the partner enterprise, with an agreement "
            "in force on the date. teaching: the expert's own enterprise, implicit.",
        }
    ),
    "department_id": nullable(
        {
            **ID,
            "description": "teaching (required): where the expert taught, with an agreement "
            "in force on the date. practice: the teacher's own department, implicit.",
        }
    ),
    "course": nullable(text(120, description="teaching: required.")),
    "cohort": nullable(text(60, description="teaching: optional.")),
    "students": nullable(
        {"type": "integer", "minimum": 1, "maximum": 1000, "description": "teaching: required."}
    ),
    "verifier_id": nullable(
        {
            **ID,
            "description": "practice: an expert of the enterprise; teaching: a teacher or head "
            "of the department; never the owner. null: on-site confirmation.",
        }
    ),
}
_CLIENT_ID: Schema = nullable(
    {
        "type": "string",
        "format": "uuid",
        "description": "Chosen by the client: a second create with the same one answers "
        "200 with the first log instead of storing a duplicate.",
    }
)
_EVIDENCE: Schema = obj(
    {
        "name": {"type": "string"},
        "type": {"type": "string", "example": "image/jpeg"},
        "size": {"type": "integer", "minimum": 1},
        "url": {"type": "string", "format": "uri", "description": "Signed-in download."},
    },
    ["name", "type", "size", "url"],
)
_LOG_STATUSES = tuple(s.value for s in Status)


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
                    "details": {
                        "type": "object",
                        "description": "Facts to act on, where an error has them, e.g. "
                        "`finalize_from` (a date) with `too_early`.",
                        "additionalProperties": {"type": "string"},
                    },
                    "request_id": {
                        "type": "string",
                        "description": "The request's id (also the `X-Request-ID` header), "
                        "to quote when reporting a problem.",
                    },
                },
                ["code", "message", "fields"],
            )
        },
        ["error"],
    ),
    "TokenRequest": obj(
        {
            "email": {"type": "string"},
            "password": {"type": "string"},
            "code": {
                "type": "string",
                "maxLength": 40,
                "description": "For accounts with two-factor sign-in: the current 6-digit "
                "code of the authenticator app, or a recovery code.",
            },
        },
        ["email", "password"],
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
    "Log": _resource(
        {
            **_LOG_FIELDS,
            "hours": {"type": "number", "minimum": 0.25, "maximum": 12, "multipleOf": 0.25},
            "owner_id": ID,
            "status": enum(*_LOG_STATUSES),
            "client_id": _CLIENT_ID,
            "period_id": ID,
            "url": {"type": "string", "format": "uri", "description": "The log's web page."},
            "version": {
                "type": "integer",
                "minimum": 1,
                "description": "Grows with every change; give it back on PATCH to refuse "
                "overwriting a change not yet seen.",
            },
            "evidence": nullable(_EVIDENCE),
        }
    ),
    "LogDetail": {
        "allOf": [
            ref("Log"),
            obj({"history": {"type": "array", "items": ref("HistoryEntry")}}, ["history"]),
        ],
        "description": "A log with its audit trail, oldest entry first.",
    },
    "HistoryEntry": obj(
        {
            "action": enum(*(a.value for a in Action if a is not Action.DELETE)),
            "from_status": nullable(enum(*_LOG_STATUSES)),
            "to_status": enum(*_LOG_STATUSES),
            "actor_id": nullable({**ID, "description": "null: an on-site confirmer."}),
            "actor_name": {
                "type": "string",
                "description": "On site: the name and job title the confirmer typed.",
            },
            "at": {"type": "string", "format": "date-time", "example": "2026-09-01T08:30:00Z"},
            "reason": nullable(text(500)),
        },
        ["action", "from_status", "to_status", "actor_id", "actor_name", "at", "reason"],
    ),
    "LogInput": obj(
        {
            **copy.deepcopy(_LOG_FIELDS),
            "client_id": _CLIENT_ID,
            "submit": {
                "type": "boolean",
                "default": False,
                "description": "true: create and submit at once.",
            },
        },
        ["kind", "date", "hours", "category", "description"],
    ),
    "LogPatch": obj(
        {
            **copy.deepcopy(_LOG_FIELDS),
            "kind": {**enum("practice", "teaching"), "description": "Cannot change."},
            "version": {
                "type": "integer",
                "description": "If given and not the log's current version: 409.",
            },
        }
    ),
    "Reason": obj({"reason": text(500, minLength=1)}, ["reason"]),
    "VerifierChoice": obj(
        {
            "verifier_id": nullable(
                {
                    **ID,
                    "description": "An active expert of the log's enterprise (practice) or "
                    "teacher or head of its department (teaching), not the owner; null: "
                    "on-site confirmation.",
                }
            )
        },
        ["verifier_id"],
    ),
    "BulkApproval": obj(
        {
            "ids": {
                "type": "array",
                "items": ID,
                "maxItems": 200,
                "description": "Log ids; an id given twice is answered once.",
            }
        },
        ["ids"],
    ),
    "BulkApprovalResult": obj(
        {
            "results": {
                "type": "array",
                "description": "One per id, in the order given.",
                "items": {
                    "oneOf": [
                        obj(
                            {"id": ID, "ok": {"const": True}, "log": ref("Log")},
                            ["id", "ok", "log"],
                        ),
                        obj(
                            {
                                "id": ID,
                                "ok": {"const": False},
                                "error": obj(
                                    {
                                        "code": enum(*sorted(set(HTTP_CODES.values()))),
                                        "message": {"type": "string"},
                                    },
                                    ["code", "message"],
                                ),
                            },
                            ["id", "ok", "error"],
                        ),
                    ]
                },
            }
        },
        ["results"],
    ),
    "ConfirmationLink": obj(
        {
            "url": {
                "type": "string",
                "format": "uri",
                "description": "The public confirmation page, to show as a QR code.",
            },
            "expires_at": {"type": "string", "format": "date-time"},
        },
        ["url", "expires_at"],
    ),
}
# --- rewards (SPEC §4, §5) --------------------------------------------------------

RULE_KINDS = ("honour", "bonus")
AUDIENCES = ("teacher", "expert")
AWARD_STATUSES = ("proposed", "approved", "rejected", "issued", "revoked")
AWARD_ACTIONS = ("propose", "repropose", "withdraw", "approve", "reject", "issue", "revoke")
ROUND_STATES = ("draft", "finalized")
SCOPES = ("department", "college")
HOURS: Schema = {"type": "number", "minimum": 0, "description": "Decimal hours, e.g. 12.5."}
MONEY: Schema = {
    "type": "integer",
    "minimum": 0,
    "maximum": 2**31 - 1,
    "description": "Minor currency units (fen).",
}

_RULE_FIELDS: dict[str, Schema] = {
    "code": text(
        40,
        description="Letters, digits, - and _; unique within the period.",
        example="practice-cert",
    ),
    "name": text(120, description="English name; shown to English readers and on certificates."),
    "name_zh": text(120, description="Chinese name; shown to Chinese readers and on certificates."),
    "scope": {
        **enum(*SCOPES),
        "description": "department: hours counted per department, decided in that "
        "department's round; college: a person's hours across all departments of the "
        "period, decided in the college round.",
    },
    "kind": {**enum(*RULE_KINDS), "description": "honour: title and certificate; bonus: money."},
    "audience": {
        **enum(*AUDIENCES),
        "description": "teacher: approved practice hours of teachers and heads; "
        "expert: approved teaching hours.",
    },
    "threshold_hours": {
        **HOURS,
        "maximum": 10000,
        "description": "Met when the approved hours its scope counts reach it.",
    },
    "group": nullable(
        text(
            40,
            description="Honours only: honours of one group are tiers, only the "
            "highest met is awarded.",
        )
    ),
    "fixed_amount_minor": {**MONEY, "description": "Bonus only: paid once the rule is met."},
    "rate_per_hour_minor": {**MONEY, "description": "Bonus only: per hour over the threshold."},
    "cap_minor": nullable({**MONEY, "description": "Bonus only; null: no cap."}),
    "currency": text(3, example="CNY"),
}
_RULE_OUTCOME: dict[str, Schema] = {
    "code": {"type": "string"},
    "name": {"type": "string"},
    "name_zh": {"type": "string"},
    "scope": enum(*SCOPES),
    "kind": enum(*RULE_KINDS),
    "threshold_hours": HOURS,
    "met": {"type": "boolean", "description": "Approved hours reach the threshold."},
    "hours_missing": {**HOURS, "description": "0 once met."},
    "amount_minor": {
        "type": "integer",
        "minimum": 0,
        "description": "Bonus only: the money the approved hours come to now; 0 otherwise.",
    },
}
_HOURS_SO_FAR: dict[str, Schema] = {
    "approved_hours": HOURS,
    "pending_hours": {**HOURS, "description": "Submitted and verified, not yet approved."},
}
_EXPORTS: Schema = obj(
    {
        f"{sheet}_{fmt}": {"type": "string", "format": "uri"}
        for sheet in ("payout", "honours")
        for fmt in ("csv", "xlsx")
    },
    [f"{sheet}_{fmt}" for sheet in ("payout", "honours") for fmt in ("csv", "xlsx")],
)

SCHEMAS.update(
    {
        "Rule": _resource({"period_id": ID, **_RULE_FIELDS}),
        **_inputs(
            "Rule",
            {
                "period_id": {**ID, "description": "Cannot change once created."},
                **_RULE_FIELDS,
                "threshold_hours": {
                    "anyOf": [
                        {"type": "number", "minimum": 0, "maximum": 10000},
                        {"type": "string", "example": "40"},
                    ],
                    "description": "Hours (whole minutes), a number or a number as a string.",
                },
            },
            ["period_id", "code", "name", "kind", "audience", "threshold_hours"],
        ),
        "RuleProgress": obj(copy.deepcopy(_RULE_OUTCOME), list(_RULE_OUTCOME)),
        "DepartmentProgress": obj(
            {
                "department_id": ID,
                **copy.deepcopy(_HOURS_SO_FAR),
                "rules": {"type": "array", "items": ref("RuleProgress")},
            },
            ["department_id", "approved_hours", "pending_hours", "rules"],
        ),
        "Progress": obj(
            {
                "period_id": ID,
                **copy.deepcopy(_HOURS_SO_FAR),
                "rules": {
                    "type": "array",
                    "items": ref("RuleProgress"),
                    "description": "Every rule of the caller's audience (none for admins): "
                    "college rules against the caller's hours across all departments; "
                    "department rules count per department: with hours in several "
                    "departments (an expert), such a rule is `met` if met in any of them, "
                    "`hours_missing` is the closest department's and `amount_minor` the "
                    "sum of them all.",
                },
                "departments": {
                    "type": "array",
                    "items": ref("DepartmentProgress"),
                    "description": "One per department the caller's hours count in, with "
                    "its department rules: a teacher's own (even without hours yet); each "
                    "department an expert taught in. The top-level hours are their sum.",
                },
            },
            ["period_id", "approved_hours", "pending_hours", "rules", "departments"],
        ),
        "EligibilityRule": obj(
            {
                **copy.deepcopy(_RULE_OUTCOME),
                "awarded": {
                    "type": "boolean",
                    "description": "Met, and not outranked by a higher tier of its group.",
                },
                "outranked_by": nullable(
                    {"type": "string", "description": "The code of the higher tier awarded."}
                ),
            },
            [*_RULE_OUTCOME, "awarded", "outranked_by"],
        ),
        "Eligibility": obj(
            {
                "person_id": ID,
                "name": {"type": "string"},
                "role": enum(*ROLES),
                "audience": enum(*AUDIENCES),
                **copy.deepcopy(_HOURS_SO_FAR),
                "rules": {"type": "array", "items": ref("EligibilityRule")},
            },
            ["person_id", "name", "role", "audience", "approved_hours", "pending_hours", "rules"],
        ),
        "EligibilityPage": {
            "allOf": [
                page_of("Eligibility"),
                obj(
                    {
                        "department_id": {**ID, "description": "The department shown."},
                        "period_id": {**ID, "description": "The period shown."},
                    },
                    ["department_id", "period_id"],
                ),
            ]
        },
        "Award": _resource(
            {
                "round_id": ID,
                "holder_id": ID,
                "holder_name": {"type": "string"},
                "rule_id": ID,
                "rule_code": {"type": "string"},
                "rule_name": {"type": "string"},
                "rule_name_zh": {"type": "string"},
                "kind": enum(*RULE_KINDS),
                "hours": {**HOURS, "description": "The holder's approved hours it rests on."},
                "amount_minor": {"type": "integer", "minimum": 0, "description": "Bonus only."},
                "currency": {"type": "string", "example": "CNY"},
                "status": enum(*AWARD_STATUSES),
                "certificate_number": nullable(
                    {
                        "type": "string",
                        "example": "2025-2026-CM-0007",
                        "description": "Once issued.",
                    }
                ),
                "verification_code": nullable(
                    {"type": "string", "description": "Once issued: the code of /verify/<code>."}
                ),
                "reason": nullable(text(500, description="Of a rejection or revocation.")),
            }
        ),
        "AwardDetail": {
            "allOf": [
                ref("Award"),
                obj(
                    {"history": {"type": "array", "items": ref("AwardHistoryEntry")}},
                    ["history"],
                ),
            ],
            "description": "An award with its audit trail, oldest entry first: the whole "
            "story of the holder's award for this rule in this round (a proposal that a "
            "refresh withdrew and proposed again keeps its earlier entries).",
        },
        "AwardHistoryEntry": obj(
            {
                "action": enum(*AWARD_ACTIONS),
                "from_status": nullable(enum(*AWARD_STATUSES)),
                "to_status": nullable(
                    {**enum(*AWARD_STATUSES), "description": "null: withdrawn from the round."}
                ),
                "actor_id": ID,
                "actor_name": {"type": "string"},
                "at": {"type": "string", "format": "date-time", "example": "2026-09-01T08:30:00Z"},
                "hours": {**HOURS, "description": "The hours the award rested on after this step."},
                "amount_minor": {"type": "integer", "minimum": 0},
                "currency": {"type": "string", "example": "CNY"},
                "reason": nullable(text(500)),
            },
            [
                "action",
                "from_status",
                "to_status",
                "actor_id",
                "actor_name",
                "at",
                "hours",
                "amount_minor",
                "currency",
                "reason",
            ],
        ),
        "Round": _resource(
            {
                "scope": enum(*SCOPES),
                "department_id": nullable({**ID, "description": "null for the college round."}),
                "period_id": ID,
                "state": enum(*ROUND_STATES),
                "finalized_early": {
                    "type": "boolean",
                    "description": "An admin finalized it before the period's end.",
                },
                "awards": {"type": "array", "items": ref("Award")},
                "exports": nullable(
                    {
                        **_EXPORTS,
                        "description": "null while a draft; once finalized the payout sheet "
                        "(bonus awards) and the honour list, CSV and XLSX.",
                    }
                ),
            }
        ),
        "RoundInput": obj(
            {
                "scope": {
                    **enum(*SCOPES),
                    "description": "department (default) or college (admins): the college "
                    "round decides the period's college rules.",
                },
                "department_id": {**ID, "description": "Required for a department round."},
                "period_id": ID,
            },
            ["period_id"],
        ),
        "FinalizeInput": obj(
            {
                "early": {
                    "type": "boolean",
                    "description": "Admins: finalize before the period's end (audited).",
                }
            },
            [],
        ),
        "Verification": obj(
            {
                "valid": {"type": "boolean", "description": "Issued and not revoked."},
                "status": enum("valid", "revoked"),
                "holder_name": {"type": "string"},
                "award_name": {"type": "string", "description": "The rule's English name."},
                "award_name_zh": {
                    "type": "string",
                    "description": "The rule's Chinese name; empty when it has none.",
                },
                "period": {"type": "string", "example": "2025-2026"},
                "certificate_number": {"type": "string", "example": "2025-2026-CM-0007"},
                "issued_on": {
                    **DATE,
                    "description": "The day it was issued, in the college's time zone.",
                },
                "issuer": {
                    "type": "string",
                    "description": "The issuing department's name; for an award of the "
                    "college round, the institution's.",
                },
                "institution": {"type": "string"},
            },
            [
                "valid",
                "status",
                "holder_name",
                "award_name",
                "award_name_zh",
                "period",
                "certificate_number",
                "issued_on",
                "issuer",
                "institution",
            ],
        ),
    }
)

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
            description="Send it as `Authorization: Bearer <token>`. Rate limited. An "
            "account with two-factor sign-in also sends `code` (401 naming `code` when it "
            "is missing or wrong); a role that must use a second factor and has not set "
            "it up gets 403.",
            body=ref("TokenRequest"),
            responses=responses(201, ref("Token"), "A new token.", 400, 401, 403, 422, 429),
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
        query(
            "q",
            {"type": "string", "maxLength": 200},
            "Part of the e-mail address, name or staff number.",
        ),
    ],
)

# action: (summary, who, from which status and what it does, takes a reason)
_TRANSITIONS: dict[str, tuple[str, str, str, bool]] = {
    "submit": ("Submit a log", "the owner", "From draft to submitted.", False),
    "withdraw": ("Withdraw a log", "the owner", "From submitted back to draft.", False),
    "verify": (
        "Verify a log",
        "the named verifier, never the owner",
        "From submitted to verified.",
        False,
    ),
    "reject": (
        "Reject a log",
        "the named verifier (submitted), a head of its department or an admin (verified); "
        "never the owner",
        "To rejected; the owner can then edit it. Takes a reason.",
        True,
    ),
    "approve": (
        "Approve a log",
        "a head of its department or an admin; never the owner",
        "From verified to approved.",
        False,
    ),
    "revoke": (
        "Revoke an approved log",
        "admin",
        "From approved to revoked, while the period is open. Takes a reason.",
        True,
    ),
}


def _transition(action: str) -> Schema:
    summary, who, what, takes_reason = _TRANSITIONS[action]
    errors = (400, 401, 403, 404, 409, 422) if takes_reason else (401, 403, 404, 409)
    description = (
        f"{what} 409 when the log's state does not allow it (it has changed) or its period "
        "is locked; 404 when the caller may not see the log."
    )
    if takes_reason:
        description += " 422 names `reason` when it is missing or longer than 500 characters."
    op = operation(
        f"{action}_log",
        summary,
        tag="logs",
        who=who,
        description=description,
        body=ref("Reason") if takes_reason else None,
        responses=responses(200, ref("LogDetail"), "The log as it is now.", *errors),
    )
    return {"parameters": [path_id("log_id")], "post": op}


LOG_PATHS: dict[str, Schema] = {
    "/logs": {
        "get": operation(
            "list_logs",
            "List logs",
            tag="logs",
            who="any",
            description="`mine` (default): the caller's own logs; `verify`: submitted logs "
            "naming the caller as verifier (while the caller is still of the log's enterprise "
            "or department); `approve`: verified logs the caller may approve; "
            "`department`: every log a head or an admin may see (others: 403). "
            "Newest date first. Without `history`.",
            parameters=[
                query("scope", enum("mine", "verify", "approve", "department"), "Which list."),
                query("status", enum(*_LOG_STATUSES), "Only logs in this status."),
                query("kind", enum("practice", "teaching"), "Only logs of this kind."),
                query("period", ID, "Only logs of this period."),
                *PAGE_PARAMS,
            ],
            responses=responses(200, page_of("Log"), "One page.", 400, 401, 403),
        ),
        "post": operation(
            "create_log",
            "Log hours",
            tag="logs",
            who="teacher, head, expert",
            description="Creates a draft (or, with `submit`, a submitted log). Every invalid "
            "field is named in `error.fields`: a future date or one outside an open period, "
            "hours that are not quarter hours from 0.25 to 12 or that bring the day over 12 h, "
            "an enterprise without an agreement in force, a verifier who may not verify it. "
            "Evidence (photo or PDF) is attached on the log's web page; the API does not "
            "take uploads.",
            body=ref("LogInput"),
            responses={
                **responses(201, ref("LogDetail"), "The new log.", 400, 401, 403, 409, 422),
                "200": {
                    "description": "This `client_id` was sent before: the first log, unchanged.",
                    "content": {"application/json": {"schema": ref("LogDetail")}},
                },
            },
        ),
    },
    "/logs/{log_id}": {
        "parameters": [path_id("log_id")],
        "get": operation(
            "get_log",
            "One log with its history",
            tag="logs",
            who="the owner, the named verifier, heads of its department, admin",
            description="Anyone else gets 404, also a verifier who has since moved to "
            "another enterprise or department.",
            responses=responses(200, ref("LogDetail"), "The log.", 401, 404),
        ),
        "patch": operation(
            "update_log",
            "Edit a log",
            tag="logs",
            who="the owner",
            description="Only the fields given change; the whole log is then checked as on "
            "create. Only a draft or a rejected log (which becomes a draft again); "
            "otherwise 409.",
            body=ref("LogPatch"),
            responses=responses(
                200, ref("LogDetail"), "The log as saved.", 400, 401, 403, 404, 409, 422
            ),
        ),
        "delete": operation(
            "delete_log",
            "Delete a draft",
            tag="logs",
            who="the owner",
            description="Only a draft; otherwise 409.",
            responses=responses(204, None, "Deleted.", 401, 403, 404, 409),
        ),
    },
    **{f"/logs/{{log_id}}/{action}": _transition(action) for action in _TRANSITIONS},
    "/logs/{log_id}/evidence": {
        "parameters": [path_id("log_id")],
        "put": {
            **operation(
                "put_log_evidence",
                "Attach evidence",
                tag="logs",
                who="the owner (a draft or rejected log)",
                description="The request body is the file itself: a photo (JPEG, PNG, GIF, "
                "WebP, HEIC) or a PDF of at most 5 MB, recognised by its content whatever the "
                "Content-Type says. It replaces any earlier file and counts as an edit (a "
                "rejected log returns to draft). The log's `evidence.url` serves it to people "
                "signed in to the web pages. 422 names `evidence` for another kind of file or "
                "one over 5 MB.",
                parameters=[
                    query("name", text(200), "The file's name as shown; `evidence` if none.")
                ],
                responses=responses(
                    200, ref("LogDetail"), "The log as saved.", 400, 401, 403, 404, 409, 422
                ),
            ),
            "requestBody": {
                "required": True,
                "content": {
                    media: {"schema": {"type": "string", "format": "binary"}}
                    for media in ("application/octet-stream", "image/*", "application/pdf")
                },
            },
        },
        "delete": operation(
            "delete_log_evidence",
            "Remove evidence",
            tag="logs",
            who="the owner (a draft or rejected log)",
            description="Counts as an edit (a rejected log returns to draft).",
            responses=responses(
                200, ref("LogDetail"), "The log as saved.", 400, 401, 403, 404, 409
            ),
        ),
    },
    "/logs/{log_id}/verifier": {
        "parameters": [path_id("log_id")],
        "post": operation(
            "change_log_verifier",
            "Name another verifier",
            tag="logs",
            who="the owner, heads of its department, admin",
            description="For a submitted log, e.g. when the verifier named has moved to "
            "another enterprise or department (verifier rights follow the person's current "
            "one). The history records it as an `edit` that leaves the status. 409 when the "
            "log is not submitted or its period is locked; 422 names `verifier_id` for "
            "someone who may not verify this log. The named verifier and anyone else get "
            "403 or 404.",
            body=ref("VerifierChoice"),
            responses=responses(
                200, ref("LogDetail"), "The log as saved.", 400, 401, 403, 404, 409, 422
            ),
        ),
    },
    "/logs/approve": {
        "post": operation(
            "approve_logs",
            "Approve many logs",
            tag="logs",
            who="head, admin",
            description="Each id is approved on its own: one that cannot be approved (not "
            "found, not verified, the caller's own) leaves the others alone and is answered "
            "with its error. At most 200 ids.",
            body=ref("BulkApproval"),
            responses=responses(
                200, ref("BulkApprovalResult"), "One answer per id.", 400, 401, 403, 422
            ),
        )
    },
    "/logs/{log_id}/confirmation-link": {
        "parameters": [path_id("log_id")],
        "post": operation(
            "create_confirmation_link",
            "A link for on-site confirmation",
            tag="logs",
            who="the owner",
            description="For a submitted log: a signed, single-use link valid for 7 days, "
            "for a confirmer without an account. A new link replaces the previous one. "
            "409 when the log is not submitted or its period is locked.",
            responses=responses(201, ref("ConfirmationLink"), "The link.", 401, 403, 404, 409),
        ),
    },
}

_PERIOD_QUERY = query(
    "period",
    ID,
    "The period; default: the open one today falls in, else the latest (404 when there is none).",
)


def _round_action(
    action: str, summary: str, description: str, body: Schema | None = None
) -> Schema:
    op = operation(
        f"{action}_round",
        summary,
        tag="rewards",
        who="heads of the round's department (the college round: admins), admin",
        description=f"{description} Anyone else gets 404.",
        body=body,
        responses=responses(200, ref("Round"), "The round as it is now.", 401, 403, 404, 409),
    )
    if body is not None:
        op["requestBody"]["required"] = False
    return {"parameters": [path_id("round_id")], "post": op}


def _award_action(
    action: str, summary: str, who: str, description: str, body: str | None
) -> Schema:
    return {
        "parameters": [path_id("award_id")],
        "post": operation(
            f"{action}_award",
            summary,
            tag="rewards",
            who=who,
            description=description,
            body=ref(body) if body else None,
            responses=responses(
                200,
                ref("AwardDetail"),
                "The award as it is now, with its history.",
                *((400, 401, 403, 404, 409, 422) if body else (401, 403, 404, 409)),
            ),
        ),
    }


REWARD_PATHS: dict[str, Schema] = {
    "/me/progress": {
        "get": operation(
            "get_my_progress",
            "The caller's progress",
            tag="rewards",
            who="any",
            description="Approved and pending hours, and how far each rule of the period is. "
            "Admins get no rules and zero hours.",
            parameters=[_PERIOD_QUERY],
            responses=responses(200, ref("Progress"), "The progress.", 400, 401, 404),
        )
    },
    "/eligibility": {
        "get": operation(
            "get_eligibility",
            "Who meets which rule",
            tag="rewards",
            who="head (own department), admin",
            description="Everybody with approved or pending hours in the department and "
            "period, by audience and name, with every rule's outcome. A head of another "
            "department gets 403.",
            parameters=[
                query(
                    "department",
                    ID,
                    "The department; a head's own by default, required for admins (422).",
                ),
                _PERIOD_QUERY,
                *PAGE_PARAMS,
            ],
            responses=responses(200, ref("EligibilityPage"), "One page.", 400, 401, 403, 404, 422),
        )
    },
    "/rounds": {
        "get": operation(
            "list_rounds",
            "List reward rounds",
            tag="rewards",
            who="head (own department's), admin",
            description="Newest first, with their awards.",
            parameters=[
                query("period", ID, "Only rounds of this period."),
                query("department", ID, "Only rounds of this department."),
                *PAGE_PARAMS,
            ],
            responses=responses(200, page_of("Round"), "One page.", 400, 401, 403),
        ),
        "post": operation(
            "open_round",
            "Open a reward round",
            tag="rewards",
            who="head (own department), admin (also the college round)",
            description="Proposes an award for every rule of the round's scope that each "
            "person's approved hours meet (tiers: the highest; bonuses coming to 0 are left "
            'out): a department round its department rules, the college round (`"scope": '
            '"college"`, admins only, 403 otherwise) the college rules on each person\'s '
            "hours across all departments. 409 when the department (or the college) already "
            "has a round for the period; 422 names an unknown department or period.",
            body=ref("RoundInput"),
            responses=responses(201, ref("Round"), "The new round.", 400, 401, 403, 409, 422),
        ),
    },
    "/rounds/{round_id}": {
        "parameters": [path_id("round_id")],
        "get": operation(
            "get_round",
            "One reward round",
            tag="rewards",
            who="heads of the round's department, admin",
            description="Anyone else gets 404.",
            responses=responses(200, ref("Round"), "The round.", 401, 404),
        ),
    },
    "/rounds/{round_id}/refresh": _round_action(
        "refresh",
        "Refresh a draft round",
        "Picks up newly approved hours: new awards are proposed, awards no longer met "
        "go, an award whose hours or amount changed is proposed again; the others keep "
        "their decision. 409 once finalized.",
    ),
    "/rounds/{round_id}/finalize": _round_action(
        "finalize",
        "Finalize a round",
        "Issues every approved award with a certificate number "
        "(`<period>-<department code>-<sequence>`, `COL` for the college round) and a "
        "verification code; the round never changes again. Only once the period's end "
        "date has passed (college time zone) or the period is locked: before that 409 "
        "`too_early` with `details.finalize_from`, unless an admin sends "
        '`{"early": true}` (a head who does gets 403). 409 while an award is still '
        "proposed, or once finalized.",
        ref("FinalizeInput"),
    ),
    "/awards/{award_id}/approve": _award_action(
        "approve",
        "Approve a proposed award",
        "heads of the round's department (never their own award: 403), admin",
        "While the round is a draft; a decision can be changed until it is finalized "
        "(then 409). No body needed. Anyone else gets 404.",
        None,
    ),
    "/awards/{award_id}/reject": _award_action(
        "reject",
        "Reject a proposed award",
        "heads of the round's department (never their own award: 403), admin",
        "While the round is a draft (then 409). 422 names `reason` when it is missing or "
        "longer than 500 characters. Anyone else gets 404.",
        "Reason",
    ),
    "/awards/{award_id}/revoke": _award_action(
        "revoke",
        "Revoke an issued award",
        "admin",
        "Only an issued award (otherwise 409); its certificate then verifies as revoked. "
        "422 names `reason` when it is missing or longer than 500 characters.",
        "Reason",
    ),
    "/verify/{code}": {
        "get": operation(
            "verify_award",
            "Check a certificate",
            tag="rewards",
            who="public",
            description="What the QR code on a certificate leads to: holder, award in "
            "English and Chinese, period, certificate number, issue date, issuer, "
            "institution and whether it is valid or revoked, nothing else. 404 for an "
            "unknown code. Rate limited (30 a minute).",
            parameters=[
                {
                    "name": "code",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string", "maxLength": 40},
                }
            ],
            responses=responses(200, ref("Verification"), "The certificate.", 404, 429),
        )
    },
    **admin_collection(
        "rules",
        "Rule",
        tag="rewards",
        list_params=[query("period", ID, "Only the rules of this period.")],
        patch_description="409 once the rules are final: the period is locked or one of its "
        "rounds is finalized. `period_id` cannot change (422).",
        patch_errors=(409,),
    ),
}

SECTIONS: tuple[dict[str, Schema], ...] = (
    AUTH_PATHS,
    ORG_PATHS,
    USER_PATHS,
    LOG_PATHS,
    REWARD_PATHS,
)

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


def _error_codes() -> list[str]:
    """Every code an error body can carry: the HTTP ones and every domain error's
    (``too_early``, ``link_expired``, …), found when the document is first asked for,
    once every domain has defined its errors."""
    codes = set(HTTP_CODES.values())
    kinds: list[type[DomainError]] = [DomainError]
    while kinds:
        kind = kinds.pop()
        codes.add(kind.code)
        kinds.extend(kind.__subclasses__())
    return sorted(codes)


@functools.cache
def document() -> Schema:
    SCHEMAS["Error"]["properties"]["error"]["properties"]["code"] = enum(*_error_codes())
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
