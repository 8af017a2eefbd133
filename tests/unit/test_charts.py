"""The reports' SVG charts: figures in, markup out, readable without a browser's help."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from decimal import Decimal

from exchange.reports.charts import Bar, Words, bar_chart, number

SVG = "{http://www.w3.org/2000/svg}"
WORDS = Words(title="Hours by month", approved="Approved", pending="Pending", empty="None")


def parse(markup: str) -> ET.Element:
    return ET.fromstring(markup)  # noqa: S314 - our own markup


def test_a_chart_scales_to_its_width_and_names_itself():
    svg = parse(bar_chart([Bar("2026-09", Decimal(6), Decimal("2.5"))], WORDS, "c1"))
    assert svg.get("viewBox", "").startswith("0 0 360 ")
    assert svg.get("width") is None  # no fixed size: it takes the width it is given
    assert svg.get("role") == "img"
    assert svg.get("aria-labelledby") == "c1-title c1-desc"
    assert svg.find(f"{SVG}title").text == "Hours by month"
    assert svg.find(f"{SVG}desc").text == "2026-09: Approved 6 h, Pending 2.5 h"


def test_bars_are_proportional_and_stacked():
    bars = [Bar("A", Decimal(10), Decimal(0)), Bar("B", Decimal(2), Decimal(3))]
    rects = list(parse(bar_chart(bars, WORDS, "c")).iter(f"{SVG}rect"))[2:]  # after the legend
    widths = [float(r.get("width")) for r in rects]
    assert abs(widths[0] - 5 * widths[1]) < 0.2  # 10 h against 2 h
    assert abs(widths[1] * 3 - widths[2] * 2) < 0.2  # 2 h approved beside 3 h pending
    assert float(rects[2].get("x")) == float(rects[1].get("x")) + widths[1]  # stacked


def test_labels_and_totals_are_escaped_and_long_labels_shortened():
    markup = bar_chart([Bar("<script>&" + "x" * 40, Decimal(1), Decimal(0))], WORDS, "c")
    assert "<script>" not in markup
    texts = [t.text for t in parse(markup).iter(f"{SVG}text")]
    assert any(t and t.startswith("<script>&") and t.endswith("…") for t in texts)
    assert "1 h" in texts


def test_an_empty_chart_says_so():
    svg = parse(bar_chart([], WORDS, "c"))
    assert "None" in [t.text for t in svg.iter(f"{SVG}text")]
    assert svg.find(f"{SVG}desc").text == "None"


def test_numbers_drop_trailing_zeros():
    assert number(Decimal("12.50")) == "12.5"
    assert number(Decimal("3.00")) == "3"
    assert number(Decimal("0.25")) == "0.25"
