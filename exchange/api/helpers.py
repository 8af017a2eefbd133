"""Request parsing, pagination and serialisation shared by the API views.

Parsing only: these check that a value has the JSON type a field needs and can
be stored at all. Whether it is an acceptable value is the service's business.
"""

from __future__ import annotations

import builtins
import re
from collections.abc import Iterable
from datetime import date
from typing import Any, TypeVar

from flask import Response, current_app, jsonify, request, url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select

from exchange.db import MAX_ID, Base
from exchange.errors import DomainError, NotFound, ValidationError
from exchange.extensions import db

M = TypeVar("M", bound=Base)

# Ids and counts are 32-bit integer columns; larger numbers cannot name a row
# and would overflow the database driver instead of answering 404/422.

MAX_PER_PAGE = 100
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class MalformedRequest(DomainError):
    status = 400
    code = "bad_request"


def json_body() -> dict[str, Any]:
    """The request's JSON object; 400 if it is not one."""
    try:
        data = request.get_json(silent=True)
    except RecursionError:  # absurdly deep nesting: malformed, not a server error
        data = None
    if not isinstance(data, dict):
        raise MalformedRequest(_l("The request body must be a JSON object."))
    return data


def optional_json_body() -> dict[str, Any]:
    """The request's JSON object, or ``{}`` when the request has no body at all."""
    if not request.get_data(cache=True):
        return {}
    return json_body()


def patch_body(current: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the fields given, the given fields merged onto ``current``) for a PATCH."""
    given = json_body()
    return given, {**current, **given}


def _storable(value: str) -> bool:
    """False for text no database column can hold (NUL, lone UTF-16 surrogates)."""
    if "\x00" in value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class Fields:
    """Reads typed values from a JSON object, collecting a 422 error per bad field."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self.errors: dict[str, Any] = {}

    def has(self, name: str) -> bool:
        return name in self.data

    def str(self, name: str, default: str = "") -> str:
        value = self.data.get(name, default)
        if value is None:
            return ""
        if not isinstance(value, str):
            self.errors[name] = _l("Must be a string.")
            return default
        if not _storable(value):
            self.errors[name] = _l("Contains characters that are not allowed.")
            return default
        return value

    def int(self, name: builtins.str, default: int | None = None) -> int | None:
        value = self.data.get(name, default)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            self.errors[name] = _l("Must be an integer.")
            return default
        if abs(value) > MAX_ID:
            self.errors[name] = _l("This number is out of range.")
            return default
        return value

    def number(self, name: builtins.str) -> builtins.int | builtins.float | builtins.str | None:
        """A JSON number, or a number written as a string ("1.5"), passed on as given:
        whether it is an acceptable amount is the service's business."""
        value = self.data.get(name)
        if value is None:
            return None
        if isinstance(value, builtins.bool) or not isinstance(
            value, builtins.int | builtins.float | builtins.str
        ):
            self.errors[name] = _l("Must be a number.")
            return None
        return value

    def ids(self, name: builtins.str, max_items: builtins.int) -> list[builtins.int]:
        """A required list of record ids (whole numbers from 1), at most ``max_items``."""
        value = self.data.get(name)
        if not isinstance(value, list) or not all(
            isinstance(item, builtins.int)
            and not isinstance(item, builtins.bool)
            and 0 < item <= MAX_ID
            for item in value
        ):
            self.errors[name] = _l("Must be a list of ids.")
            return []
        if len(value) > max_items:
            self.errors[name] = _l("At most %(max)d ids at once.", max=max_items)
            return []
        return list(value)

    def bool(self, name: builtins.str, default: bool = False) -> bool:
        value = self.data.get(name, default)
        if not isinstance(value, bool):
            self.errors[name] = _l("Must be true or false.")
            return default
        return value

    def date(self, name: builtins.str) -> date | None:
        value = self.data.get(name)
        if value is None:
            return None
        try:
            # Only YYYY-MM-DD (SPEC §7), not the other spellings fromisoformat takes.
            if not isinstance(value, str) or not _ISO_DATE.fullmatch(value):
                raise ValueError(value)
            return date.fromisoformat(value)
        except ValueError:
            self.errors[name] = _l("Must be a date like 2026-09-01.")
            return None

    def check(self) -> None:
        if self.errors:
            raise ValidationError(fields=self.errors)


def get_or_404(model: type[M], ident: int) -> M:
    """The row with this id, or a JSON 404."""
    found = db.session.get(model, ident)
    if found is None:
        raise NotFound()
    return found


def created(body: dict[str, Any], endpoint: str, **ids: Any) -> Response:
    """201 with the new resource, and its address in Location."""
    response = jsonify(body)
    response.status_code = 201
    response.headers["Location"] = url_for(endpoint, **ids)
    return response


# --- query string ---------------------------------------------------------


def _whole_number(name: str, default: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    if len(raw) > 10 or not raw.isascii() or not raw.isdigit() or not 0 < int(raw) <= MAX_ID:
        message = _l("%(name)s must be a whole number, 1 or more.", name=name)
        raise MalformedRequest(message, fields={name: message})
    return int(raw)


def query_int(name: str) -> int | None:
    """An optional id filter from the query string; 400 if it is not a whole number."""
    return _whole_number(name, 0) if name in request.args else None


def query_choice(name: str, allowed: Iterable[str]) -> str | None:
    """An optional filter that takes one of ``allowed``; 400 for anything else."""
    value = request.args.get(name)
    if value is None:
        return None
    options = sorted(allowed)
    if value not in options:
        raise MalformedRequest(
            _l("%(name)s must be one of: %(values)s.", name=name, values=", ".join(options))
        )
    return value


def query_text(name: str, max_length: int = 200) -> str:
    """An optional text filter from the query string, trimmed."""
    value = request.args.get(name, "").strip()
    if len(value) > max_length or not _storable(value):
        raise MalformedRequest(
            _l("%(name)s is too long or contains characters that are not allowed.", name=name)
        )
    return value


def page_args() -> tuple[int, int]:
    page = _whole_number("page", 1)
    per_page = _whole_number("per_page", int(current_app.config["PER_PAGE"]))
    return page, min(per_page, MAX_PER_PAGE)


def paginated(stmt: Select[Any], serialise: Any) -> dict[str, Any]:
    page, per_page = page_args()
    result = db.paginate(
        stmt, page=page, per_page=per_page, max_per_page=MAX_PER_PAGE, error_out=False
    )
    return {
        "items": [serialise(item) for item in result.items],
        "page": page,
        "per_page": per_page,
        "total": result.total,
    }
