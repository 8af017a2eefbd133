"""Work dates are local dates in the college's time zone; instants are UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from flask import current_app


def college_zone() -> ZoneInfo:
    return ZoneInfo(str(current_app.config["EXCHANGE_TIMEZONE"]))


def utc_now() -> datetime:
    """The current instant, in UTC."""
    return datetime.now(UTC)


def college_today() -> date:
    return datetime.now(college_zone()).date()


def iso_utc(moment: datetime | None) -> str | None:
    """ISO 8601 with a ``Z``, as the API promises."""
    if moment is None:
        return None
    return moment.isoformat().replace("+00:00", "Z")
