"""How an API endpoint is declared: typed pydantic models for its query string, its
request body and its answers, given once to ``@operation``. The same models parse
the request (``query=`` and ``body=`` reach the view as model instances) and make
the OpenAPI document (exchange.api.openapi).

Parsing checks JSON types and what a column can hold; the services still decide
whether a value is acceptable (a period open, the daily limit, who may do what).
A value of the wrong shape is answered with the error body of SPEC §7, naming the
field, in the reader's language: 422 for a request body, 400 for the query string.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import wraps
from typing import Annotated, Any, Literal, TypeVar

import pydantic
from flask import request
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    WithJsonSchema,
)
from pydantic.fields import FieldInfo
from pydantic_core import PydanticCustomError

from exchange.db import MAX_ID
from exchange.errors import DomainError, ValidationError
from exchange.i18n import _l

F = TypeVar("F", bound=Callable[..., Any])
M = TypeVar("M", bound=BaseModel)

MAX_PER_PAGE = 100
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class MalformedRequest(DomainError):
    status = 400
    code = "bad_request"


# --- value types ------------------------------------------------------------------


def _storable(value: str) -> str:
    """Refuses text no database column can hold (NUL, lone UTF-16 surrogates)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise PydanticCustomError("storable", "not storable") from None
    if "\x00" in value:
        raise PydanticCustomError("storable", "not storable")
    return value


def _iso_date(value: object) -> object:
    """Only YYYY-MM-DD (SPEC §7), not the other spellings ISO 8601 allows."""
    if isinstance(value, dt.date):
        return value
    if not isinstance(value, str) or not _ISO_DATE.fullmatch(value):
        raise PydanticCustomError("iso_date", "not a date")
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise PydanticCustomError("iso_date", "not a date") from None


def _number(value: object) -> object:
    """A JSON number or a number written as a string ("1.5"), passed on as given."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise PydanticCustomError("number", "not a number")
    return value


def choice(*values: str) -> Any:
    """An answer's string that is one of ``values`` (an ``enum`` in the document)."""
    return Literal[tuple(values)]  # type: ignore[valid-type]


# Request fields are checked for their JSON type and for what a column can hold; the
# values a field accepts (choices, lengths, whether it is required) are the services'
# to judge, all fields at once, with messages that say what is allowed. The document
# states them all the same (``documented``). One exception: a text longer than its
# documented ``maxLength`` as sent is refused here, although the services (which the
# pages share) would trim blanks around it first and might accept it.


def _documented(schema: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in schema.items() if value is not None}


def text(
    max_length: int,
    *,
    min_length: int | None = None,
    pattern: str | None = None,
    fmt: str | None = None,
    write_only: bool | None = None,
    **schema: Any,
) -> Any:
    """A string of at most ``max_length`` characters (the service says when it is longer)."""
    documented = _documented(
        {
            "maxLength": max_length,
            "minLength": min_length,
            "pattern": pattern,
            "format": fmt,
            "writeOnly": write_only,
        }
    )

    def within(value: str) -> str:
        if len(value) > max_length:
            raise PydanticCustomError("string_too_long", "too long", {"max_length": max_length})
        return value

    return Annotated[
        str,
        Field(strict=True, json_schema_extra=documented, **schema),
        AfterValidator(_storable),
        AfterValidator(within),
    ]


def one_of(*values: str, **schema: Any) -> Any:
    """A string that should be one of ``values`` (the service says when it is not)."""
    return Annotated[
        str,
        Field(strict=True, json_schema_extra={"enum": list(values)}, **schema),
        AfterValidator(_storable),
    ]


def whole(minimum: int, maximum: int) -> Any:
    """A JSON integer the database can hold; ``minimum`` to ``maximum`` is what the service
    accepts."""
    return Annotated[
        StrictInt,
        Field(ge=-MAX_ID, le=MAX_ID),
        WithJsonSchema({"type": "integer", "minimum": minimum, "maximum": maximum}),
    ]


def required(*names: str) -> ConfigDict:
    """A body's fields the service requires: documented as required, while a missing one
    is reported by the service with every other field's problem."""

    def document(schema: dict[str, Any], model: type[BaseModel]) -> None:
        if not model.__name__.endswith("Patch"):  # a PATCH body requires nothing
            schema["required"] = list(names)

    return ConfigDict(extra="ignore", json_schema_extra=document)


Text = Annotated[str, Field(strict=True), AfterValidator(_storable)]
Id = Annotated[StrictInt, Field(ge=1, le=MAX_ID)]
InputId = whole(1, MAX_ID)
Count = Annotated[StrictInt, Field(ge=0, le=MAX_ID)]
Bool = StrictBool
IsoDate = Annotated[
    dt.date,
    BeforeValidator(_iso_date),
    WithJsonSchema({"type": "string", "format": "date", "examples": ["2026-09-01"]}),
]


def number(*, minimum: float, maximum: float, multiple_of: float | None = None) -> Any:
    """Decimal hours: a JSON number, or a number as a string ("1.5"). The range is the
    service's to check (with a message that says what is allowed)."""
    as_number: dict[str, Any] = {"type": "number", "minimum": minimum, "maximum": maximum}
    if multiple_of is not None:
        as_number["multipleOf"] = multiple_of
    return Annotated[
        float | str,
        BeforeValidator(_number),
        WithJsonSchema({"anyOf": [as_number, {"type": "string", "examples": ["1.5"]}]}),
    ]


def _whole_number(value: object) -> object:
    if (
        not isinstance(value, str)
        or len(value) > 10
        or not value.isascii()
        or not value.isdigit()
        or not 0 < int(value) <= MAX_ID
    ):
        raise PydanticCustomError("whole_number", "not a whole number")
    return int(value)


QueryId = Annotated[int, Field(ge=1, le=MAX_ID), BeforeValidator(_whole_number)]


def _query_text(value: object) -> object:
    if not isinstance(value, str):
        raise PydanticCustomError("query_text", "not text")
    value = value.strip()
    if len(value) > 200:
        raise PydanticCustomError("query_text", "too long")
    return _storable(value)


QueryText = Annotated[
    str,
    BeforeValidator(_query_text),
    # No NUL: every request carrying one is refused (exchange.errors).
    WithJsonSchema({"type": "string", "maxLength": 200, "pattern": r"^[^\u0000]*$"}),
]


# --- models --------------------------------------------------------------------------


class Body(BaseModel):
    """A request body: unknown fields are ignored (a client may send back a whole
    resource to change a part of it)."""

    model_config = ConfigDict(extra="ignore")


class Query(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Answer(BaseModel):
    """A response body: exactly these fields (the tests check every answer)."""

    model_config = ConfigDict(extra="forbid")


class Page(Query):
    page: QueryId = Field(1, description="Page number, from 1.")
    per_page: QueryId = Field(  # type: ignore[assignment]
        None, description=f"Items per page (25); larger values are cut to {MAX_PER_PAGE}."
    )


def patch_of(model: type[M], name: str = "") -> type[M]:
    """The PATCH body of ``model``: the same fields, none of them required (only the
    fields given change)."""
    fields: dict[str, Any] = {}
    for field_name, info in model.model_fields.items():
        optional = FieldInfo.merge_field_infos(info, default=None)
        fields[field_name] = (info.annotation, optional)
    patch = pydantic.create_model(
        name or model.__name__.removesuffix("Input") + "Patch",
        __base__=model,
        __module__=model.__module__,
        **fields,
    )

    patch.__doc__ = "Only the fields given change; the others keep their values."
    return patch


# --- translating pydantic's errors ------------------------------------------------


def _message(error: Any, name: str) -> Any:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind == "missing":
        return _l("This field is required.")
    if kind in ("string_type", "str_type"):
        return _l("Must be a string.")
    if kind == "storable":
        return _l("Contains characters that are not allowed.")
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return _l("Must be an integer.")
    if kind in ("bool_type", "bool_parsing"):
        return _l("Must be true or false.")
    if kind == "number":
        return _l("Must be a number.")
    if kind == "iso_date":
        return _l("Must be a date like 2026-09-01.")
    if kind in ("literal_error", "enum"):
        return _l("Choose one of the offered values.")
    if kind == "string_too_long":
        return _l("At most %(max)d characters.", max=ctx.get("max_length", 0))
    if kind == "string_too_short":
        return _l("This field is required.")
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        return _l("This number is out of range.")
    if kind == "list_type" or (kind in ("int_type", "int_parsing") and len(error["loc"]) > 1):
        return _l("Must be a list of ids.")
    if kind == "too_long":
        return _l("At most %(max)d ids at once.", max=ctx.get("max_length", 0))
    if kind == "model_type" or kind == "dict_type":
        return _l("Must be an object.")
    return _l("This value is not valid.")


def _field_errors(error: pydantic.ValidationError) -> dict[str, Any]:
    """One message per field (the first problem found), named by the top-level field."""
    fields: dict[str, Any] = {}
    for problem in error.errors():
        loc = problem["loc"]
        name = str(loc[0]) if loc else "body"
        if len(loc) > 1 and isinstance(loc[1], int):  # an item of a list: the list's error
            problem = {**problem, "type": "list_type"}
        fields.setdefault(name, _message(problem, name))
    return fields


def parse_body(model: type[M], data: Any) -> M:
    """``data`` (a JSON object) as ``model``; 422 naming every field of the wrong shape."""
    try:
        return model.model_validate(data)
    except pydantic.ValidationError as error:
        raise ValidationError(fields=_field_errors(error)) from None


def _query_message(problem: Any, name: str, model: type[BaseModel]) -> Any:
    annotation = model.model_fields[name].annotation if name in model.model_fields else None
    if problem["type"] == "literal_error":
        options = ", ".join(sorted(str(v) for v in getattr(annotation, "__args__", ())))
        return _l("%(name)s must be one of: %(values)s.", name=name, values=options)
    if problem["type"] in ("query_text", "storable"):
        return _l("%(name)s is too long or contains characters that are not allowed.", name=name)
    return _l("%(name)s must be a whole number, 1 or more.", name=name)


def parse_query(model: type[M]) -> M:
    """The query string as ``model``; 400 naming the parameter (a malformed address)."""
    # One value per name: the first, as request.args.get would read it.
    values = {name: request.args.get(name) for name in request.args}
    try:
        return model.model_validate(values)
    except pydantic.ValidationError as error:
        problems = error.errors()
        fields: dict[str, Any] = {}
        for problem in problems:
            name = str(problem["loc"][0])
            fields.setdefault(name, _query_message(problem, name, model))
        first = next(iter(fields.values()))
        raise MalformedRequest(first, fields=fields) from None


def json_body() -> Any:
    """The request's JSON object; 400 if it is not one."""
    try:
        data = request.get_json(silent=True)
    except RecursionError:  # absurdly deep nesting: malformed, not a server error
        data = None
    if not isinstance(data, dict):
        raise MalformedRequest(_l("The request body must be a JSON object."))
    return data


def optional_json_body() -> Any:
    """The request's JSON object, or ``{}`` when the request has no body at all."""
    if not request.get_data(cache=True):
        return {}
    return json_body()


# --- the declaration ------------------------------------------------------------------


@dataclass(frozen=True)
class Answered:
    """One documented answer: its status, its model (None: no body) and what it means."""

    status: int
    model: type[BaseModel] | None
    description: str
    # A body that is not JSON (a signed credential): its media type, documented as a string.
    media: str | None = None


@dataclass(frozen=True)
class Operation:
    summary: str
    tag: str
    who: str
    description: str = ""
    query: type[BaseModel] | None = None
    body: type[BaseModel] | None = None
    body_required: bool = True
    # The media types of a request body that is a file itself (not JSON).
    file_body: tuple[str, ...] = ()
    answers: tuple[Answered, ...] = ()
    errors: frozenset[int] = field(default_factory=frozenset)
    path: dict[str, Any] = field(default_factory=dict)

    def answer_for(self, status: int) -> Answered | None:
        return next((a for a in self.answers if a.status == status), None)


def operation(
    summary: str,
    *,
    tag: str,
    who: str,
    ok: tuple[int, type[BaseModel] | None, str] | tuple[int, None, str, str],
    also: Iterable[tuple[int, type[BaseModel] | None, str]] = (),
    body: type[BaseModel] | None = None,
    body_required: bool = True,
    file_body: tuple[str, ...] = (),
    query: type[BaseModel] | None = None,
    errors: Iterable[int] = (),
    path: dict[str, Any] | None = None,
    description: str = "",
    parse: bool = True,
) -> Callable[[F], F]:
    """Declares an endpoint. ``who`` is "public", "any" (signed in) or who may call it;
    ``ok`` its answer; ``errors`` the error statuses it can answer besides those its
    declaration implies (400/422 for a body, 400 for a query, 401 and 403 unless public,
    404 for an id in the path). The view gets ``query=`` and ``body=`` parsed (with
    ``parse=False``, ``body=`` is the JSON object, for the view to parse with
    ``parse_body``). ``file_body`` names the media types of a body that is a file
    itself, read by the view."""

    def decorate(view: F) -> F:
        declared = Operation(
            summary=summary,
            tag=tag,
            who=who,
            description=description,
            query=query,
            body=body,
            body_required=body_required,
            file_body=file_body,
            answers=(Answered(*ok), *(Answered(*a) for a in also)),
            errors=frozenset(errors),
            path=path or {},
        )

        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if query is not None:
                kwargs["query"] = parse_query(query)
            if body is not None:
                data = json_body() if body_required else optional_json_body()
                kwargs["body"] = parse_body(body, data) if parse else data
            return view(*args, **kwargs)

        wrapper.api_operation = declared  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate


def operation_of(view: Callable[..., Any]) -> Operation | None:
    return getattr(view, "api_operation", None)
