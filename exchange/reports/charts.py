"""Charts of the reports as SVG drawn on the server: figures in, markup out.

Pure: no Flask, no SQLAlchemy, no JavaScript sent to the browser (SPEC §6 "Charts
are SVG drawn on the server"). The caller passes every word already in the
reader's language; this module only measures and draws. A chart is a list of
horizontal bars, one line each (a month, an enterprise …), approved hours and
pending hours stacked: labels stay on the left at their full length whatever the
number of bars, so it reads the same on a 360 px phone as on a desk (the SVG has
a viewBox and no fixed size: it scales to the width it is given). The figures
are also in a table beside it on the page, for screen readers and for copying.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from html import escape

WIDTH = 360
LABEL_WIDTH = 92  # the bar's label, left of the bar
VALUE_WIDTH = 58  # the total, right of the bar
ROW = 28  # one bar and its gap
BAR = 18
TOP = 30  # the legend
APPROVED_FILL = "#0b6e69"
PENDING_FILL = "#f2b705"
INK = "#1d2a2c"
MUTED = "#5b6b6e"


@dataclass(frozen=True)
class Bar:
    """One line of the chart: its label and its two figures (hours)."""

    label: str
    approved: Decimal
    pending: Decimal

    @property
    def total(self) -> Decimal:
        return self.approved + self.pending


@dataclass(frozen=True)
class Words:
    """What the chart says, in the reader's language."""

    title: str
    approved: str
    pending: str
    empty: str
    unit: str = "h"  # after each total: "12.5 h"


def number(value: Decimal) -> str:
    """Hours as the chart prints them: at most two decimals, no trailing zeros."""
    text = f"{value.quantize(Decimal('0.01')):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _shorten(label: str, limit: int = 13) -> str:
    # Wide (CJK) characters take about twice the room of a Latin letter.
    room, kept = limit * 2, list[str]()
    for ch in label:
        room -= 2 if ord(ch) > 0x2E80 else 1
        if room < 0:
            return "".join(kept).rstrip() + "…"
        kept.append(ch)
    return label


def bar_chart(bars: Sequence[Bar], words: Words, chart_id: str) -> str:
    """An SVG of ``bars`` with a title, a description and a legend; ``chart_id`` makes
    the ids of its title and description unique on the page."""
    title_id, desc_id = f"{chart_id}-title", f"{chart_id}-desc"
    height = TOP + max(len(bars), 1) * ROW + 4
    largest = max((bar.total for bar in bars), default=Decimal(0))
    room = WIDTH - LABEL_WIDTH - VALUE_WIDTH - 8
    summary = "; ".join(
        f"{bar.label}: {words.approved} {number(bar.approved)} {words.unit}, "
        f"{words.pending} {number(bar.pending)} {words.unit}"
        for bar in bars
    )
    parts = [
        f'<svg class="chart" id="{escape(chart_id)}" viewBox="0 0 {WIDTH} {height}" '
        f'role="img" aria-labelledby="{title_id} {desc_id}" '
        f'xmlns="http://www.w3.org/2000/svg" font-family="system-ui, sans-serif" font-size="12">',
        f'<title id="{title_id}">{escape(words.title)}</title>',
        f'<desc id="{desc_id}">{escape(summary or words.empty)}</desc>',
        # The legend: approved, pending.
        f'<rect x="0" y="6" width="12" height="12" fill="{APPROVED_FILL}"/>',
        f'<text x="16" y="16" fill="{INK}">{escape(words.approved)}</text>',
        f'<rect x="150" y="6" width="12" height="12" fill="{PENDING_FILL}"/>',
        f'<text x="166" y="16" fill="{INK}">{escape(words.pending)}</text>',
    ]
    if not bars:
        parts.append(f'<text x="0" y="{TOP + 18}" fill="{MUTED}">{escape(words.empty)}</text>')
    for index, bar in enumerate(bars):
        y = TOP + index * ROW
        middle = y + BAR / 2 + 4
        approved_w = float(bar.approved / largest * room) if largest else 0.0
        pending_w = float(bar.pending / largest * room) if largest else 0.0
        parts.append(
            f'<text x="{LABEL_WIDTH - 6}" y="{middle:.1f}" text-anchor="end" fill="{INK}">'
            f"{escape(_shorten(bar.label))}</text>"
        )
        x = LABEL_WIDTH
        if approved_w > 0:
            parts.append(
                f'<rect x="{x}" y="{y}" width="{approved_w:.1f}" height="{BAR}" '
                f'fill="{APPROVED_FILL}"/>'
            )
        if pending_w > 0:
            parts.append(
                f'<rect x="{x + approved_w:.1f}" y="{y}" width="{pending_w:.1f}" height="{BAR}" '
                f'fill="{PENDING_FILL}"/>'
            )
        parts.append(
            f'<text x="{x + approved_w + pending_w + 4:.1f}" y="{middle:.1f}" fill="{MUTED}">'
            f"{number(bar.total)} {escape(words.unit)}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)
