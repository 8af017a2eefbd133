"""Field checks shared by every service; failures are collected per field."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any, TypeVar

from email_validator import EmailNotValidError, validate_email

from exchange.db import MAX_ID
from exchange.errors import ValidationError
from exchange.extensions import db
from exchange.i18n import _l

T = TypeVar("T")

# The longest reason (of a rejection, a revocation) the audit trails keep.
REASON_MAX = 500


def reason_missing() -> ValidationError:
    return ValidationError(fields={"reason": _l("Give a reason.")})


def check_reason(value: str | None, *, required: bool) -> str | None:
    """A reason as typed (trimmed at the ends), or None when none is given;
    ``required`` (a rejection, a revocation) refuses none. Too long is refused, never cut."""
    cleaned = (value or "").strip()
    if required and not cleaned:
        raise reason_missing()
    if len(cleaned) > REASON_MAX:
        raise ValidationError(fields={"reason": _l("At most %(max)d characters.", max=REASON_MAX)})
    return cleaned or None


class FieldErrors:
    """Collects one message per field, then raises them all at once."""

    def __init__(self) -> None:
        self.fields: dict[str, Any] = {}

    def add(self, field: str, message: Any) -> None:
        self.fields.setdefault(field, message)

    def __contains__(self, field: str) -> bool:
        return field in self.fields

    def raise_if_any(self) -> None:
        if self.fields:
            raise ValidationError(fields=self.fields)

    def text(self, field: str, value: str | None, *, max_length: int, required: bool = True) -> str:
        """Plain text as typed (trimmed at the ends); too long is refused, never cut."""
        cleaned = (value or "").strip()
        if required and not cleaned:
            self.add(field, _l("This field is required."))
        elif len(cleaned) > max_length:
            self.add(field, _l("At most %(max)d characters.", max=max_length))
        return cleaned

    def email(self, field: str, value: str | None) -> str:
        cleaned = self.text(field, value, max_length=254)
        if cleaned and field not in self:
            try:
                validate_email(cleaned, check_deliverability=False)
            except EmailNotValidError:
                self.add(field, _l("Enter a valid e-mail address."))
        return cleaned.lower()

    def choice(self, field: str, value: str | None, allowed: Iterable[str]) -> str:
        cleaned = (value or "").strip()
        if not cleaned:
            self.add(field, _l("This field is required."))
        elif cleaned not in set(allowed):
            self.add(field, _l("Choose one of the offered values."))
        return cleaned

    def record(self, field: str, model: type[T], record_id: int | None) -> T | None:
        """The record a form or request names by id; an unknown id is an error on the field."""
        found = db.session.get(model, record_id) if record_id and 0 < record_id <= MAX_ID else None
        if found is None:
            self.add(field, _l("Choose one of the offered values."))
        return found

    def date_range(self, starts_on: date | None, ends_on: date | None) -> None:
        if starts_on is None:
            self.add("starts_on", _l("This field is required."))
        if ends_on is None:
            self.add("ends_on", _l("This field is required."))
        if starts_on and ends_on and ends_on < starts_on:
            self.add("ends_on", _l("The end date must not be before the start date."))

    def password(self, field: str, value: str | None) -> str:
        value = value or ""
        if len(value) < 8:
            self.add(field, _l("At least 8 characters."))
        elif len(value) > 200:
            self.add(field, _l("At most %(max)d characters.", max=200))
        return value
