"""Tiny server-side SVG charts: no JavaScript, no CDN, Chinese labels as plain SVG text."""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

from handlers import messages as msg

FONT = "'Noto Sans CJK SC', 'WenQuanYi Micro Hei', 'Microsoft YaHei', sans-serif"
PALETTE = ("#2f6fdf", "#e8833a", "#3aa876", "#c0504d", "#8064a2", "#4bacc6", "#9b9b9b")
AXIS, GRID, INK = "#888", "#e4e4e4", "#333"


def _num(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


# Gridline steps people read at a glance: whole numbers (1, 2, 3, 4, 5, 6, 8, 10, 15, 20, 25,
# 30, 40, 50, 60, 80, 100, 150 …), and tenths or hundredths only below one.
_STEPS = sorted(
    {m * 10**e for e in (-2, -1) for m in (1, 2, 5)}
    | {m * 10**e for e in range(0, 9) for m in (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8) if m * 10**e >= 1}
    - {1.5, 2.5}
)
GRIDLINES = 4


def nice_step(value: float) -> float:
    """The smallest readable gridline step at least `value` (a quarter of the axis)."""
    return next((step for step in _STEPS if step >= value - 1e-9), _STEPS[-1])


def _nice_max(value: float) -> float:
    """A round axis maximum at or above `value`: four gridlines of a readable step."""
    return GRIDLINES * nice_step(value / GRIDLINES) if value > 0 else 1.0


def _svg(width: int, height: int, title: str, body: list[str]) -> Markup:
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="{escape(title)}" '
        f'font-family="{FONT}" font-size="12">'
        f"<title>{escape(title)}</title>"
    )
    return Markup(head + "".join(body) + "</svg>")


def _text(x: float, y: float, text: str, anchor: str = "middle", **attrs: str) -> str:
    attrs = {"fill": INK, **attrs}  # a colour given replaces the ink (never two fill attributes)
    extra = "".join(f' {k.replace("_", "-")}="{escape(v)}"' for k, v in attrs.items())
    return f'<text x="{_num(x)}" y="{_num(y)}" text-anchor="{anchor}"{extra}>{escape(text)}</text>'


def _axes(
    left: float, top: float, plot_w: float, plot_h: float, top_value: float, unit: str
) -> list[str]:
    parts = []
    for i in range(GRIDLINES + 1):
        y = top + plot_h - plot_h * i / GRIDLINES
        parts.append(
            f'<line x1="{_num(left)}" y1="{_num(y)}" x2="{_num(left + plot_w)}" y2="{_num(y)}" '
            f'stroke="{GRID if i else AXIS}"/>'
        )
        tick = _num(top_value * i / GRIDLINES)
        parts.append(_text(left - 6, y + 4, tick + unit, "end", fill=AXIS))
    return parts


LEGEND_LINE = 16


def _legend_width(name: str) -> float:
    # CJK glyphs are about as wide as the font size: 12, or 14 on a phone (dashboard.css).
    return 14 + 14 * len(name) + 12


def _legend_lines(names: Sequence[str], left: float, right_edge: float) -> int:
    """How many lines the legend takes when it wraps at the chart's right edge."""
    lines, x = 1, left
    for name in names:
        if x > left and x + _legend_width(name) > right_edge:
            lines, x = lines + 1, left
        x += _legend_width(name)
    return lines


def _legend(names: Sequence[str], left: float, y: float, right_edge: float) -> list[str]:
    """Coloured keys, wrapped onto more lines on a narrow chart (never cut off)."""
    parts, x = [], left
    for i, name in enumerate(names):
        if x > left and x + _legend_width(name) > right_edge:
            x, y = left, y + LEGEND_LINE
        parts.append(
            f'<rect x="{_num(x)}" y="{_num(y - 9)}" width="10" height="10" '
            f'fill="{PALETTE[i % len(PALETTE)]}"/>'
        )
        parts.append(_text(x + 14, y, name, "start"))
        x += _legend_width(name)
    return parts


def bar_chart(
    labels: Sequence[str],
    series: dict[str, Sequence[float]],
    title: str,
    *,
    width: int = 480,
    height: int = 220,
) -> Markup:
    """Stacked vertical bars, one column per label, one colour per series."""
    left, right, bottom = 44, 12, 40
    extra = LEGEND_LINE * (_legend_lines(list(series), left, width - right) - 1)
    top, height = 28 + extra, height + extra
    plot_w, plot_h = width - left - right, height - top - bottom
    totals = [sum(values[i] for values in series.values()) for i in range(len(labels))]
    # Counts get whole-number gridlines of a readable step (1, 2, 5, 10, 15, 20 …), with room
    # above the tallest column for its total (so it never runs into the legend).
    top_value = max(4, _nice_max(max(totals, default=0) + 1))
    body = _axes(left, top, plot_w, plot_h, top_value, "")
    body += _legend(list(series), left, 14, width - right)
    slot = plot_w / max(len(labels), 1)
    bar_w = slot * 0.6
    for i, label in enumerate(labels):
        x = left + slot * i + (slot - bar_w) / 2
        y = top + plot_h
        for s, (name, values) in enumerate(series.items()):
            value = values[i]
            if not value:
                continue
            h = plot_h * value / top_value
            y -= h
            body.append(
                f'<rect x="{_num(x)}" y="{_num(y)}" width="{_num(bar_w)}" height="{_num(h)}" '
                f'fill="{PALETTE[s % len(PALETTE)]}"><title>{escape(label)} {escape(name)}：'
                f"{_num(value)}</title></rect>"
            )
        if totals[i]:
            body.append(_text(x + bar_w / 2, y - 4, _num(totals[i]), font_size="11"))
        body.append(_text(x + bar_w / 2, top + plot_h + 16, label, font_size="11"))
    if not any(totals):
        body.append(_text(left + plot_w / 2, top + plot_h / 2, msg.CHART_NO_DATA, fill=AXIS))
    return _svg(width, height, title, body)


def line_chart(
    labels: Sequence[str],
    series: dict[str, Sequence[float | None]],
    title: str,
    *,
    unit: str = "",
    value_unit: str | None = None,
    fixed_max: float | None = None,
    width: int = 480,
    height: int = 220,
) -> Markup:
    """Lines with dots; a None value leaves a gap (a week without data). `unit` follows the
    axis ticks ("%"), `value_unit` each dot's value when pointed at ("分钟"; `unit` if None)."""
    value_unit = unit if value_unit is None else value_unit
    left, right, bottom = 52, 12, 40
    extra = LEGEND_LINE * (_legend_lines(list(series), left, width - right) - 1)
    top, height = 28 + extra, height + extra
    plot_w, plot_h = width - left - right, height - top - bottom
    present = [v for values in series.values() for v in values if v is not None]
    top_value = fixed_max or _nice_max(max(present, default=0))
    body = _axes(left, top, plot_w, plot_h, top_value, unit)
    body += _legend(list(series), left, 14, width - right)
    slot = plot_w / max(len(labels), 1)
    for i, label in enumerate(labels):
        body.append(_text(left + slot * (i + 0.5), top + plot_h + 16, label, font_size="11"))
    for s, (name, values) in enumerate(series.items()):
        colour = PALETTE[s % len(PALETTE)]
        points = [
            (i, left + slot * (i + 0.5), top + plot_h - plot_h * min(v, top_value) / top_value)
            for i, v in enumerate(values)
            if v is not None
        ]
        path, previous = [], -2
        for i, x, y in points:
            path.append(f"{'L' if i == previous + 1 else 'M'}{_num(x)},{_num(y)}")
            previous = i
        if path:
            body.append(
                f'<path d="{" ".join(path)}" fill="none" stroke="{colour}" stroke-width="2"/>'
            )
        for i, x, y in points:
            body.append(
                f'<circle cx="{_num(x)}" cy="{_num(y)}" r="3.5" fill="{colour}">'
                f"<title>{escape(labels[i])} {escape(name)}："
                f"{_num(values[i] or 0)}{escape(value_unit)}"
                "</title></circle>"
            )
    if not present:
        body.append(_text(left + plot_w / 2, top + plot_h / 2, msg.CHART_NO_DATA, fill=AXIS))
    return _svg(width, height, title, body)


def hbar_chart(
    items: Sequence[tuple[str, float]],
    title: str,
    *,
    width: int = 480,
    row: int = 21,
    unit: str = "",
    fixed_max: float | None = None,
) -> Markup:
    """Horizontal bars, largest first (e.g. requests per building). `unit` follows each value
    ("%"); `fixed_max` is the full bar's value (100 for rates), else the largest value."""
    left, top, right = 96, 12, 40
    height = max(top + row * len(items) + 12, 80)
    plot_w = width - left - right
    top_value = fixed_max or max((v for _, v in items), default=0) or 1
    body: list[str] = []
    for i, (label, value) in enumerate(items):
        y = top + row * i
        w = plot_w * value / top_value
        body.append(_text(left - 8, y + row / 2 + 4, label, "end"))
        body.append(
            f'<rect x="{left}" y="{_num(y + 4)}" width="{_num(w)}" height="{row - 8}" '
            f'fill="{PALETTE[0]}"><title>{escape(label)}：{_num(value)}{escape(unit)}</title></rect>'
        )
        body.append(_text(left + w + 6, y + row / 2 + 4, _num(value) + unit, "start"))
    if not items:
        body.append(_text(width / 2, height / 2, msg.CHART_NO_DATA, fill=AXIS))
    return _svg(width, height, title, body)
