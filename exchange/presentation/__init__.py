"""How codes, hours, amounts, times and bilingual names read on every page, export
and message: the presentation package, registered once on the app.

One money format everywhere (SPEC §4): the currency sign and the grouping of the
reader's locale, e.g. ¥8,000.00 in English and in Chinese. Amounts are kept in
minor units (fen) and only turned into text here (the arithmetic is
``exchange.units``'). Names that exist in two languages (reward rules) are shown
in the reader's language.

The labels of each domain's codes (roles, statuses, kinds, audiences …) are in
the submodule named after it (``presentation.org``, ``.accounts``, ``.logs``,
``.rewards``), so that a domain's forms take their choices from there without
importing a higher domain. ``presentation.templates.register`` makes all of it
template globals once (so macros imported without context see them too); no
blueprint registers labels of its own.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Protocol

import segno
from babel.dates import format_date, format_time
from babel.numbers import format_currency, get_currency_symbol
from markupsafe import Markup

from exchange.i18n import _, language
from exchange.timeutil import college_zone
from exchange.units import hours_number, minor_to_major

# A label is a lazy string (Flask-Babel's, untyped): translated when shown.
Label = Any


def label(labels: Mapping[Any, Label], code: str) -> Label:
    """``code``'s label, or the code itself for one without a label."""
    return labels.get(code, code)


# CLDR's narrow currency signs, which Babel does not ship: an English reader at a
# Chinese college reads ¥, not "CN¥". Other currencies keep the locale's symbol.
NARROW_SIGNS = {"CNY": "¥"}


def money(amount_minor: int | None, currency: str = "CNY", locale: str | None = None) -> str:
    """An amount in minor units as the reader reads it: 800000, "CNY" → "¥8,000.00"."""
    if amount_minor is None:
        return "—"
    return _formatted_money(amount_minor, currency, locale or language())


@functools.lru_cache(maxsize=4096)
def _formatted_money(amount_minor: int, currency: str, locale: str) -> str:
    """Formatting is Babel's (some 70 µs an amount); a page shows the same few amounts
    again and again (one per rule a person meets)."""
    text = format_currency(minor_to_major(amount_minor), currency, locale=locale)
    narrow = NARROW_SIGNS.get(currency)
    if narrow:
        text = text.replace(get_currency_symbol(currency, locale=locale), narrow, 1)
    return text


class Bilingual(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def name_zh(self) -> str: ...


def is_chinese(locale: str | None = None) -> bool:
    return (locale or language()).startswith("zh")


def local_name(record: Bilingual, locale: str | None = None) -> str:
    """A bilingual name in the reader's language; the English one where no Chinese
    name was given."""
    if is_chinese(locale) and record.name_zh:
        return record.name_zh
    return record.name


def qr_svg(text: str, *, millimetres: bool = False) -> Markup:
    """``text`` (a link, an otpauth:// address) as an inline SVG QR code, drawn here:
    no request leaves the page. Without a size it fills its box on any phone width;
    ``millimetres`` gives one module a millimetre, for paper (about 4 cm wide).

    Safe to mark as markup: segno writes only its own elements and path data, and no
    text of ours (no title, no description) goes into it.
    """
    code = segno.make(text, error="m")
    if millimetres:
        svg = code.svg_inline(scale=1, unit="mm", dark="#000", light="#fff", svgclass="qr-code")
    else:
        svg = code.svg_inline(scale=4, dark="#000", light="#fff", omitsize=True)
    return Markup(svg)  # noqa: S704


# --- hours and times ----------------------------------------------------------------


def hours(log_or_minutes: Any) -> str:
    """Hours as people read them: a log (or minutes) → "1.5 h"."""
    minutes = getattr(log_or_minutes, "minutes", log_or_minutes)
    return str(_("%(hours)s h", hours=hours_number(minutes)))


def local_time(moment: datetime | None) -> str:
    """A UTC instant shown in the college's time zone: "2026-03-02 17:05"."""
    if moment is None:
        return ""
    return moment.astimezone(college_zone()).strftime("%Y-%m-%d %H:%M")


def local_datetime(moment: datetime) -> str:
    """An instant as its reader reads it: in the college's time zone, in the language in
    force (in a message, the recipient's), e.g. "2026年3月2日 17:05 (Asia/Shanghai)"."""
    zone = college_zone()
    locale = language()
    day = format_date(moment.astimezone(zone), format="long", locale=locale)
    clock = format_time(moment, format="short", tzinfo=zone, locale=locale)
    return f"{day} {clock} ({zone.key})"
