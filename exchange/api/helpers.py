"""Request parsing, pagination and serialisation shared by the API views."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import abort, current_app, request
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select

from exchange.errors import DomainError, ValidationError
from exchange.extensions import db


class MalformedRequest(DomainError):
    status = 400
    code = "bad_request"


def json_body() -> dict[str, Any]:
    """The request's JSON object; 400 if it is not one."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise MalformedRequest(_l("The request body must be a JSON object."))
    return data


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
        return value

    def int(self, name: str, default: int | None = None) -> int | None:
        value = self.data.get(name, default)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            self.errors[name] = _l("Must be an integer.")
            return default
        return value

    def bool(self, name: str, default: bool = False) -> bool:
        value = self.data.get(name, default)
        if not isinstance(value, bool):
            self.errors[name] = _l("Must be true or false.")
            return default
        return value

    def date(self, name: str) -> date | None:
        value = self.data.get(name)
        if value is None:
            return None
        try:
            return date.fromisoformat(value) if isinstance(value, str) else _bad()
        except ValueError:
            self.errors[name] = _l("Must be a date like 2026-09-01.")
            return None

    def check(self) -> None:
        if self.errors:
            raise ValidationError(fields=self.errors)


def _bad() -> date:
    raise ValueError


def page_args() -> tuple[int, int]:
    try:
        page = int(request.args.get("page", 1))
        per_page = int(request.args.get("per_page", current_app.config["PER_PAGE"]))
    except ValueError:
        abort(400, description="page and per_page must be whole numbers.")
    if page < 1 or per_page < 1:
        abort(400, description="page and per_page must be at least 1.")
    return page, min(per_page, 100)


def paginated(stmt: Select[Any], serialise: Any) -> dict[str, Any]:
    page, per_page = page_args()
    result = db.paginate(stmt, page=page, per_page=per_page, max_per_page=100, error_out=False)
    return {
        "items": [serialise(item) for item in result.items],
        "page": page,
        "per_page": per_page,
        "total": result.total,
    }
