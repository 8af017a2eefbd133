"""How amounts and bilingual names read on every page, export and message.

One money format everywhere (SPEC §4): the currency sign and the grouping of the
reader's locale, e.g. ¥8,000.00 in English and in Chinese. Amounts are kept in
minor units (fen) and only turned into text here. Names that exist in two
languages (reward rules) are shown in the reader's language.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Protocol

import segno
from babel.numbers import format_currency, get_currency_symbol
from flask import Flask
from flask_babel import get_locale
from markupsafe import Markup

# CLDR's narrow currency signs, which Babel does not ship: an English reader at a
# Chinese college reads ¥, not "CN¥". Other currencies keep the locale's symbol.
NARROW_SIGNS = {"CNY": "¥"}


def minor_to_major(amount_minor: int) -> Decimal:
    """Minor units as main units, exactly: 800000 → Decimal("8000.00")."""
    return Decimal(amount_minor).scaleb(-2).quantize(Decimal("0.01"))


def money(amount_minor: int | None, currency: str = "CNY", locale: str | None = None) -> str:
    """An amount in minor units as the reader reads it: 800000, "CNY" → "¥8,000.00"."""
    if amount_minor is None:
        return "—"
    where = locale or str(get_locale() or "en")
    text = format_currency(minor_to_major(amount_minor), currency, locale=where)
    narrow = NARROW_SIGNS.get(currency)
    if narrow:
        text = text.replace(get_currency_symbol(currency, locale=where), narrow, 1)
    return text


class Bilingual(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def name_zh(self) -> str: ...


def is_chinese(locale: str | None = None) -> bool:
    return (locale or str(get_locale() or "en")).startswith("zh")


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


def register(app: Flask) -> None:
    """Make the formatters available to every template (and macro) of the app."""
    app.jinja_env.globals.update(money=money, local_name=local_name)
