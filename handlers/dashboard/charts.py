"""Charts drawn on the server as inline SVG: no JavaScript, nothing fetched from elsewhere.

Each chart is an image with a title and a description for screen readers, and is a link
to the table that holds its figures (the table is what a screen reader should read).
Series differ by colour and by line pattern and marker, so colour is never the only cue.
"""

from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH, HEIGHT = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 44, 40, 16, 48


@dataclass(frozen=True)
class Series:
    name: str
    values: list[float | None]  # None: nothing shown for that point (hidden or missing)
    colour: str
    dash: str = ""  # an SVG dash pattern
    marker: str = "circle"  # circle | square | diamond


# Colours with at least 4.5:1 contrast on white, told apart without colour too.
MARKETING = ("#0b5cad", "", "circle")
IT = ("#a84a00", "6 3", "square")
EVERYONE = ("#444444", "2 3", "diamond")
GAP = ("#6b2fa3", "", "diamond")
SCORE = "#1f6f43"


def _x(index: int, count: int) -> float:
    span = WIDTH - LEFT - RIGHT
    return LEFT + (span * index / (count - 1) if count > 1 else span / 2)


def _y(value: float, low: float, high: float) -> float:
    span = HEIGHT - TOP - BOTTOM
    return TOP + span * (1 - (value - low) / (high - low))


def _marker(kind: str, x: float, y: float, colour: str) -> str:
    if kind == "square":
        return f'<rect x="{x - 3.5:.1f}" y="{y - 3.5:.1f}" width="7" height="7" fill="{colour}"/>'
    if kind == "diamond":
        return (
            f'<path d="M{x:.1f} {y - 4.5:.1f}L{x + 4.5:.1f} {y:.1f}L{x:.1f} {y + 4.5:.1f}'
            f'L{x - 4.5:.1f} {y:.1f}Z" fill="{colour}"/>'
        )
    return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{colour}"/>'


def _frame(chart_id: str, title: str, description: str, body: list[str]) -> Markup:
    return Markup(
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc" '
        'xmlns="http://www.w3.org/2000/svg" preserveAspectRatio="xMidYMid meet">'
        f'<title id="{chart_id}-title">{escape(title)}</title>'
        f'<desc id="{chart_id}-desc">{escape(description)}</desc>' + "".join(body) + "</svg>"
    )


def _labelled(index: int, count: int, every: int) -> bool:
    """Every `every`-th label and the last one, leaving out one that would crowd the last."""
    if index == count - 1:
        return True
    return index % every == 0 and count - 1 - index >= every


def _axes(labels: list[str], low: float, high: float, unit: str) -> list[str]:
    body = []
    step = (high - low) / 4
    for i in range(5):
        value = low + step * i
        y = _y(value, low, high)
        body.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
            'stroke="#d0d0d0" stroke-width="1"/>'
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" '
            f'fill="#333">{value:.0f}{escape(unit)}</text>'
        )
    count = len(labels)
    every = max(1, -(-count // 8))  # at most about eight labels, so they never overlap
    for i, label in enumerate(labels):
        if not _labelled(i, count, every):
            continue
        x = _x(i, count)
        body.append(
            f'<text x="{x:.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle" '
            f'font-size="11" fill="#333">{escape(label)}</text>'
        )
    return body


def _legend(series: list[Series]) -> list[str]:
    body, x = [], LEFT
    for s in series:
        y = HEIGHT - 12
        body.append(
            f'<line x1="{x}" x2="{x + 22}" y1="{y - 4}" y2="{y - 4}" stroke="{s.colour}" '
            f'stroke-width="2.5" stroke-dasharray="{s.dash}"/>'
            + _marker(s.marker, x + 11, y - 4, s.colour)
            + f'<text x="{x + 28}" y="{y}" font-size="12" fill="#222">{escape(s.name)}</text>'
        )
        x += 40 + 7 * len(s.name)
    return body


def line_chart(
    chart_id: str,
    title: str,
    description: str,
    labels: list[str],
    series: list[Series],
    *,
    low: float = 0,
    high: float = 100,
    unit: str = "%",
) -> Markup:
    """Lines over `labels`; a None value breaks its line (a hidden side stays a gap)."""
    body = _axes(labels, low, high, unit)
    count = len(labels)
    for s in series:
        path: list[str] = []
        for i, value in enumerate(s.values):
            if value is None:
                if path:
                    body.append(_polyline(path, s))
                path = []
                continue
            clamped = min(high, max(low, value))
            path.append(f"{_x(i, count):.1f},{_y(clamped, low, high):.1f}")
            body.append(_marker(s.marker, _x(i, count), _y(clamped, low, high), s.colour))
        if path:
            body.append(_polyline(path, s))
    body += _legend(series)
    return _frame(chart_id, title, description, body)


def _polyline(points: list[str], s: Series) -> str:
    return (
        f'<polyline points="{" ".join(points)}" fill="none" stroke="{s.colour}" '
        f'stroke-width="2.5" stroke-dasharray="{s.dash}"/>'
    )


def bar_chart(
    chart_id: str,
    title: str,
    description: str,
    labels: list[str],
    values: list[float | None],
    *,
    high: float = 100,
    colour: str = SCORE,
) -> Markup:
    """One bar per label, its value written above it; a month with no value has no bar."""
    body = _axes(labels, 0, high, "")
    count = len(labels)
    slot = (WIDTH - LEFT - RIGHT) / max(count, 1)
    width = max(4.0, slot * 0.6)
    for i, value in enumerate(values):
        x = LEFT + slot * i + (slot - width) / 2
        label_x = x + width / 2
        if value is None:
            body.append(
                f'<text x="{label_x:.1f}" y="{_y(0, 0, high) - 4:.1f}" text-anchor="middle" '
                'font-size="10" fill="#555">–</text>'
            )
            continue
        top = _y(min(high, max(0.0, value)), 0, high)
        body.append(
            f'<rect x="{x:.1f}" y="{top:.1f}" width="{width:.1f}" '
            f'height="{_y(0, 0, high) - top:.1f}" fill="{colour}"/>'
            f'<text x="{label_x:.1f}" y="{top - 4:.1f}" text-anchor="middle" font-size="10" '
            f'fill="#222">{value:.0f}</text>'
        )
    # Bars are centred in their slots, unlike the points of a line chart.
    every = max(1, -(-count // 8))
    body = [b for b in body if 'text-anchor="middle" font-size="11"' not in b]
    for i, label in enumerate(labels):
        if not _labelled(i, count, every):
            continue
        body.append(
            f'<text x="{LEFT + slot * i + slot / 2:.1f}" y="{HEIGHT - BOTTOM + 16}" '
            f'text-anchor="middle" font-size="11" fill="#333">{escape(label)}</text>'
        )
    return _frame(chart_id, title, description, body)
