"""Two small inline SVG charts: a daily rate line chart and horizontal stacked bars.

Inline SVG prints sharp, needs no script and no file beside the report. Every text goes
through `esc`, so a name from the registry can never break the markup.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from html import escape

FONT = 'font-family="Noto Sans CJK SC, Source Han Sans SC, Microsoft YaHei, sans-serif"'


Scale = Callable[[float], float]


def esc(text: object) -> str:
    return escape(str(text), quote=True)


def text_width(text: str, size: float = 10) -> float:
    """Rough width at `size` px: CJK characters are square, Latin ones about half as wide."""
    return sum(size if ord(c) >= 0x2E80 else size * 0.56 for c in text)


@dataclass(frozen=True, slots=True)
class Series:
    label: str
    color: str
    values: Sequence[float | None]
    """One per day, in 0..1; None where there is no figure (the line breaks there)."""
    dashed: bool = False


def _open(width: int, height: int, title: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
            f'width="100%" role="img" aria-label="{esc(title)}" {FONT} font-size="10">'
            f"<title>{esc(title)}</title>")


def y_floor(series: Sequence[Series]) -> float:
    """Lower end of the y axis: a tenth below the lowest value, so 97 % and 100 % differ."""
    low = min((v for s in series for v in s.values if v is not None), default=1.0)
    return max(0.0, math.floor(min(low, 0.95) * 10 - 1e-9) / 10)


def line_chart(days: Sequence[date], series: Sequence[Series], title: str,
               width: int = 680, height: int = 220, target: float = 1.0) -> str:
    left, right, top, bottom = 46, 10, 24, 26
    lo = y_floor(series)
    plot_w, plot_h = width - left - right, height - top - bottom
    step = plot_w / max(1, len(days) - 1)

    def x(i: int) -> float:
        return left + (i * step if len(days) > 1 else plot_w / 2)

    def y(v: float) -> float:
        return top + (1 - (v - lo) / (1 - lo)) * plot_h
    parts = [_open(width, height, title)]
    parts += _y_axis(lo, y, left, width - right)
    parts += _x_axis(days, x, height - bottom)
    parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y(target):.1f}" '
                 f'y2="{y(target):.1f}" stroke="#c0392b" stroke-dasharray="4 3"/>')
    for s in series:
        parts += _line(s, x, y)
    parts += _legend(series, left)
    return "".join(parts) + "</svg>"


def _y_axis(lo: float, y: Scale, x0: int, x1: int) -> list[str]:
    out = []
    for k in range(6):
        v = lo + (1 - lo) * k / 5
        out.append(f'<line x1="{x0}" x2="{x1}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="#ddd"/>'
                   f'<text x="{x0 - 4}" y="{y(v) + 3:.1f}" text-anchor="end">'
                   f"{v * 100:.0f}%</text>")
    return out


def _x_axis(days: Sequence[date], x: Scale, base: float) -> list[str]:
    every = max(1, math.ceil(len(days) / 8))
    out = [f'<line x1="{x(0):.1f}" x2="{x(len(days) - 1):.1f}" y1="{base}" y2="{base}" '
           'stroke="#999"/>']
    last = len(days) - 1
    for i, d in enumerate(days):
        if (i % every == 0 and (i == 0 or last - i >= every / 2)) or i == last:
            anchor = "start" if i == 0 and last else "end" if i == last and last else "middle"
            out.append(f'<text x="{x(i):.1f}" y="{base + 14}" text-anchor="{anchor}">'
                       f"{d:%m-%d}</text>")
    return out


def _line(s: Series, x: Scale, y: Scale) -> list[str]:
    """A polyline per run of days with figures; a lone day is a dot."""
    dash = ' stroke-dasharray="3 2"' if s.dashed else ""
    out, run = [], []
    for i, v in enumerate([*s.values, None]):
        if v is not None:
            run.append((x(i), y(v)))
            continue
        if len(run) == 1:
            out.append(f'<circle cx="{run[0][0]:.1f}" cy="{run[0][1]:.1f}" r="2.5" '
                       f'fill="{esc(s.color)}"/>')
        elif run:
            pts = " ".join(f"{a:.1f},{b:.1f}" for a, b in run)
            out.append(f'<polyline points="{pts}" fill="none" stroke="{esc(s.color)}" '
                       f'stroke-width="1.8"{dash}/>')
        run = []
    return out


def _legend(series: Sequence[Series], left: int) -> list[str]:
    out, at = [], left
    for s in series:
        dash = ' stroke-dasharray="3 2"' if s.dashed else ""
        out.append(f'<line x1="{at}" x2="{at + 16}" y1="10" y2="10" stroke="{esc(s.color)}" '
                   f'stroke-width="2"{dash}/><text x="{at + 20}" y="13">{esc(s.label)}</text>')
        at += 28 + text_width(s.label)
    return out


def bar_chart(rows: Sequence[tuple[str, Sequence[float]]], stacks: Sequence[tuple[str, str]],
              title: str, unit: str = "h", width: int = 680) -> str:
    """Horizontal stacked bars, one row per label; `stacks` names and colours each part."""
    left, right, top, row_h = 170, 60, 22, 18
    height = top + row_h * len(rows) + 8
    most = max((sum(v) for _, v in rows), default=0.0) or 1.0
    scale = (width - left - right) / most
    parts = [_open(width, height, title)]
    at = left
    for name, color in stacks:
        parts.append(f'<rect x="{at}" y="4" width="10" height="10" fill="{esc(color)}"/>'
                     f'<text x="{at + 14}" y="13">{esc(name)}</text>')
        at += 30 + text_width(name)
    for i, (label, values) in enumerate(rows):
        y0 = top + i * row_h
        parts.append(f'<text x="{left - 6}" y="{y0 + 12}" text-anchor="end">'
                     f"{esc(_short(label))}</text>")
        x0 = float(left)
        for v, (_, color) in zip(values, stacks, strict=False):
            parts.append(f'<rect x="{x0:.1f}" y="{y0 + 2}" width="{v * scale:.1f}" '
                         f'height="{row_h - 5}" fill="{esc(color)}"/>')
            x0 += v * scale
        parts.append(f'<text x="{x0 + 4:.1f}" y="{y0 + 12}">{sum(values):.1f} {esc(unit)}'
                     "</text>")
    return "".join(parts) + "</svg>"


def _short(label: str, most: int = 14) -> str:
    return label if len(label) <= most else label[:most - 1] + "…"
