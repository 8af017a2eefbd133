"""Hours and money as numbers and as typed text, in one place.

Pure: standard library only, no Flask, no SQLAlchemy. Durations are kept in
whole minutes and money in whole minor units (fen) (SPEC §4); this module turns
them into exact Decimals and plain text, and reads what people type back into
them. How an amount reads on a page (currency sign, grouping, language) is
``exchange.presentation``'s; whether a value is allowed is the services'.
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal

MINUTES_PER_HOUR = 60
MINOR_PER_MAJOR = 100
CENT = Decimal("0.01")

# --- hours -------------------------------------------------------------------------


def hours(minutes: int) -> Decimal:
    """Minutes as hours: 90 → Decimal("1.5") (a third of an hour to 28 digits)."""
    return Decimal(minutes) / Decimal(MINUTES_PER_HOUR)


def hours_value(minutes: int) -> Decimal:
    """Minutes as hours with two decimals, for a number cell: 20 → Decimal("0.33")."""
    return hours(minutes).quantize(CENT)


def hours_number(minutes: int | None) -> str:
    """Minutes as a plain number of hours: 90 → "1.5", 120 → "2", 15 → "0.25", None → ""."""
    if minutes is None:
        return ""
    text = f"{Decimal(minutes) / MINUTES_PER_HOUR:.2f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def typed_minutes(typed: object) -> Decimal | None:
    """Hours as typed, in minutes, exactly: "1.5" → 90, "1,5" → 90, "１.５" → 90.

    A number (not a bool) is taken as hours too. None when nothing was typed.
    Raises ValueError when it is not a finite number (or one too large to compute
    with). The minutes need not be whole: see :func:`whole_minutes`.
    """
    if typed is None or (isinstance(typed, str) and not typed.strip()):
        return None
    if isinstance(typed, bool):
        raise ValueError(typed)
    try:
        # Decimal reads any Unicode decimal digits, so full-width ones too.
        value = Decimal(str(typed).strip().replace(",", "."))
        if not value.is_finite():
            raise ValueError(typed)
        return value * MINUTES_PER_HOUR
    except ArithmeticError:
        raise ValueError(typed) from None


def whole_minutes(minutes: Decimal) -> int | None:
    """``minutes`` as an int when it is a whole number of minutes, else None."""
    if minutes != minutes.to_integral_value():
        return None
    return int(minutes)


# --- money -------------------------------------------------------------------------


def minor_to_major(amount_minor: int) -> Decimal:
    """Minor units as main units, exactly, with two decimals: 800000 → Decimal("8000.00")."""
    return Decimal(amount_minor).scaleb(-2).quantize(CENT)


def yuan_text(minor: int | None) -> str:
    """Fen as a form shows them again: 5000 → "50.00", None → ""."""
    if minor is None:
        return ""
    return f"{Decimal(minor) / MINOR_PER_MAJOR:.2f}"


# Digits with an optional sign, thousands separated by commas or not, and at most
# two decimals: "50", "50.5", "8,000.00", "-3".
_AMOUNT = re.compile(r"[+-]?(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]{0,2})?|[+-]?\.[0-9]{1,2}")
_MAX_TYPED = 24  # characters; far more than any amount needs


def parse_yuan(text: str | None) -> int | None:
    """An amount typed in yuan as fen: "50.00" → 5000, "" → None.

    Full-width digits and a leading ¥ are accepted (Chinese input methods type
    them). Raises ValueError for anything that is not such an amount.
    """
    cleaned = unicodedata.normalize("NFKC", text or "").strip()
    cleaned = cleaned.removeprefix("¥").strip()
    if not cleaned:
        return None
    if len(cleaned) > _MAX_TYPED or not _AMOUNT.fullmatch(cleaned):
        raise ValueError(cleaned)
    yuan = Decimal(cleaned.replace(",", ""))
    return int(yuan * MINOR_PER_MAJOR)
