"""Self-contained HTML reports with inline SVG charts: no script, no network, no CDN.

A `Report` is a title and a list of blocks (headings, paragraphs, tables, charts) rendered to
one HTML string. A `Chart` plots time series (lines or dots), point markers and shaded time
bands (e.g. when a breaker was open). Long series are downsampled to a bounded number of
points, keeping each bucket's minimum and maximum so that a spike stays visible.
Used by the backtest; meant for any audit output (replay, verification).
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

PALETTE = (
    "#4e79a7", "#f28e2b", "#59a14f", "#b07aa1", "#76b7b2",
    "#edc948", "#9c755f", "#bab0ac", "#e15759", "#ff9da7",
)  # fmt: skip
MAX_POINTS = 1500


@dataclass(frozen=True, slots=True)
class Series:
    """A named series of (x, y) points, x in unix milliseconds."""

    name: str
    points: Sequence[tuple[float, float]]
    style: Literal["line", "dots"] = "line"
    color: str | None = None
    width: float = 1.2


@dataclass(frozen=True, slots=True)
class TimeBand:
    """A shaded x interval [start_ms, end_ms] with a legend label."""

    start_ms: float
    end_ms: float
    label: str
    color: str


@dataclass(frozen=True, slots=True)
class Chart:
    title: str
    series: Sequence[Series]
    bands: Sequence[TimeBand] = ()
    y_label: str = ""


@dataclass(frozen=True, slots=True)
class Table:
    header: Sequence[str]
    rows: Sequence[Sequence[object]]


@dataclass(frozen=True, slots=True)
class Heading:
    text: str


@dataclass(frozen=True, slots=True)
class Paragraph:
    text: str


Block = Heading | Paragraph | Table | Chart


@dataclass
class Report:
    """An HTML document assembled block by block; `render` gives the whole page."""

    title: str
    blocks: list[Block] = field(default_factory=list)

    def heading(self, text: str) -> None:
        self.blocks.append(Heading(text))

    def paragraph(self, text: str) -> None:
        self.blocks.append(Paragraph(text))

    def table(self, header: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
        self.blocks.append(Table(header, rows))

    def chart(self, chart: Chart) -> None:
        self.blocks.append(chart)

    def render(self) -> str:
        body = "\n".join(_render_block(b) for b in self.blocks)
        return (
            '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f"<title>{_e(self.title)}</title><style>{CSS}</style></head>"
            f"<body><h1>{_e(self.title)}</h1>\n{body}\n</body></html>\n"
        )


CSS = (
    "body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:1100px}"
    "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.3em .6em;"
    "text-align:left;font-variant-numeric:tabular-nums}th{background:#f3f3f3}"
    "svg{display:block;margin:.5em 0 1.5em}.legend span{margin-right:1.2em;white-space:nowrap}"
    ".swatch{display:inline-block;width:.9em;height:.9em;margin-right:.3em;vertical-align:middle}"
)


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _render_block(block: Block) -> str:
    if isinstance(block, Heading):
        return f"<h2>{_e(block.text)}</h2>"
    if isinstance(block, Paragraph):
        return f"<p>{_e(block.text)}</p>"
    if isinstance(block, Table):
        head = "".join(f"<th>{_e(h)}</th>" for h in block.header)
        rows = "".join(
            "<tr>" + "".join(f"<td>{_e(c)}</td>" for c in row) + "</tr>" for row in block.rows
        )
        return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"
    return svg_chart(block)


def downsample(
    points: Sequence[tuple[float, float]], max_points: int = MAX_POINTS
) -> list[tuple[float, float]]:
    """At most about `max_points` points, keeping each bucket's lowest and highest y in x order."""
    if len(points) <= max_points:
        return list(points)
    buckets = max(1, max_points // 2)
    size = math.ceil(len(points) / buckets)
    out: list[tuple[float, float]] = []
    for start in range(0, len(points), size):
        chunk = points[start : start + size]
        lo = min(chunk, key=lambda p: p[1])
        hi = max(chunk, key=lambda p: p[1])
        out.extend(sorted({lo, hi}))
    return out


def svg_chart(chart: Chart, width: int = 1000, height: int = 340) -> str:
    """The chart as an inline `<svg>` plus an HTML legend."""
    left, right, top, bottom = 80, 20, 30, 40
    xs = [p[0] for s in chart.series for p in s.points] + [
        x for b in chart.bands for x in (b.start_ms, b.end_ms)
    ]
    ys = [p[1] for s in chart.series for p in s.points if math.isfinite(p[1])]
    title = f'<text x="{left}" y="18" font-weight="bold">{_e(chart.title)}</text>'
    if not xs or not ys:
        return (
            f'<svg width="{width}" height="60" xmlns="http://www.w3.org/2000/svg">{title}'
            f'<text x="{left}" y="45">no data</text></svg>'
        )
    x0, x1 = min(xs), max(xs)
    y0, y1 = min(ys), max(ys)
    if x1 == x0:
        x1 = x0 + 1
    pad = (y1 - y0) * 0.05 or abs(y0) * 0.01 or 1.0
    y0, y1 = y0 - pad, y1 + pad
    plot_w, plot_h = width - left - right, height - top - bottom

    def px(x: float) -> float:
        return left + (x - x0) / (x1 - x0) * plot_w

    def py(y: float) -> float:
        return top + (y1 - y) / (y1 - y0) * plot_h

    parts = [title]
    for band in chart.bands:
        a, b = px(band.start_ms), px(band.end_ms)
        parts.append(
            f'<rect x="{a:.1f}" y="{top}" width="{max(b - a, 1.0):.1f}" height="{plot_h}" '
            f'fill="{_e(band.color)}" opacity="0.18"><title>{_e(band.label)}</title></rect>'
        )
    parts.append(_axes(left, top, plot_w, plot_h, x0, x1, y0, y1, chart.y_label))
    colors = _colors(chart.series)
    for series, color in zip(chart.series, colors, strict=True):
        parts.append(_series_svg(series, color, px, py))
    legend = "".join(
        f'<span><i class="swatch" style="background:{_e(c)}"></i>{_e(s.name)}</span>'
        for s, c in zip(chart.series, colors, strict=True)
    )
    seen: dict[str, str] = {}
    for band in chart.bands:
        seen.setdefault(band.label, band.color)
    legend += "".join(
        f'<span><i class="swatch" style="background:{_e(c)};opacity:.4"></i>{_e(label)}</span>'
        for label, c in seen.items()
    )
    return (
        f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'xmlns="http://www.w3.org/2000/svg" font-size="11">{"".join(parts)}</svg>'
        f'<div class="legend">{legend}</div>'
    )


def _colors(series: Sequence[Series]) -> list[str]:
    colors, i = [], 0
    for s in series:
        if s.color is not None:
            colors.append(s.color)
        else:
            colors.append(PALETTE[i % len(PALETTE)])
            i += 1
    return colors


def _series_svg(
    series: Series, color: str, px: Callable[[float], float], py: Callable[[float], float]
) -> str:
    points = [p for p in downsample(series.points) if math.isfinite(p[1])]
    if not points:
        return ""
    coords = [(px(x), py(y)) for x, y in points]
    label = f"<title>{_e(series.name)}</title>"
    if series.style == "dots":
        dots = "".join(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.2"/>' for x, y in coords)
        return f'<g fill="{_e(color)}">{label}{dots}</g>'
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
    return (
        f'<polyline fill="none" stroke="{_e(color)}" stroke-width="{series.width}" '
        f'points="{path}">{label}</polyline>'
    )


def _axes(
    left: int,
    top: int,
    w: int,
    h: int,
    x0: float,
    x1: float,
    y0: float,
    y1: float,
    y_label: str,
) -> str:
    out = [
        f'<rect x="{left}" y="{top}" width="{w}" height="{h}" fill="none" stroke="#999"/>',
    ]
    for i in range(5):
        frac = i / 4
        y = top + h - frac * h
        value = y0 + frac * (y1 - y0)
        out.append(
            f'<line x1="{left}" x2="{left + w}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eee"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{value:.6g}</text>'
        )
        x = left + frac * w
        out.append(
            f'<text x="{x:.1f}" y="{top + h + 16}" text-anchor="middle">'
            f"{_e(format_time(x0 + frac * (x1 - x0)))}</text>"
        )
    if y_label:
        out.append(
            f'<text x="14" y="{top + h / 2:.1f}" transform="rotate(-90 14 {top + h / 2:.1f})" '
            f'text-anchor="middle">{_e(y_label)}</text>'
        )
    return "".join(out)


def format_time(ms: float) -> str:
    """Unix milliseconds as `YYYY-MM-DD HH:MM:SS` UTC."""
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")


BREAKER_COLORS = {"open": "#e15759", "half_open": "#edc948"}


@dataclass
class FeedTrace:
    """One feed's rounds as plain data: what a backtest or a replay report plots.

    `breaker` holds each round's status (`closed`, `open`, `half_open`); `trips` the checks
    that failed that round; `sources` each source's own quotes, (unix ms, price).
    """

    feed: str
    times: list[int] = field(default_factory=list)
    values: list[float | None] = field(default_factory=list)
    published: list[bool] = field(default_factory=list)
    breaker: list[str] = field(default_factory=list)
    trips: list[tuple[str, ...]] = field(default_factory=list)
    sources: dict[str, list[tuple[int, float]]] = field(default_factory=dict)

    def add(
        self,
        ts_ms: int,
        value: float | None,
        published: bool,
        breaker: str,
        trips: Sequence[str] = (),
    ) -> None:
        self.times.append(ts_ms)
        self.values.append(value)
        self.published.append(published)
        self.breaker.append(breaker)
        self.trips.append(tuple(trips))

    @property
    def published_count(self) -> int:
        return sum(self.published)

    @property
    def held_count(self) -> int:
        """Rounds the breaker did not let through while the feed had a value."""
        return sum(
            1
            for v, b in zip(self.values, self.breaker, strict=True)
            if v is not None and b == "open"
        )

    def breaker_periods(self, interval_ms: int) -> list[TimeBand]:
        """Runs of consecutive open / half-open rounds, each as a band to the next round."""
        bands: list[TimeBand] = []
        start = 0
        for i in range(1, len(self.times) + 1):
            if i < len(self.times) and self.breaker[i] == self.breaker[start]:
                continue
            status = self.breaker[start]
            if status in BREAKER_COLORS:
                end = self.times[i] if i < len(self.times) else self.times[-1] + interval_ms
                label = f"breaker {status.replace('_', '-')}"
                bands.append(TimeBand(self.times[start], end, label, BREAKER_COLORS[status]))
            start = i
        return bands

    def summary_row(self) -> list[object]:
        openings = sum(
            1
            for i, b in enumerate(self.breaker)
            if b == "open" and (i == 0 or self.breaker[i - 1] != "open")
        )
        counts: dict[str, int] = {}
        for trips in self.trips:
            for t in trips:
                counts[t] = counts.get(t, 0) + 1
        with_value = sum(1 for v in self.values if v is not None)
        return [
            self.feed,
            len(self.times),
            with_value,
            self.published_count,
            self.held_count,
            openings,
            ", ".join(f"{k} {counts[k]}" for k in sorted(counts)) or "none",
        ]


SUMMARY_HEADER = (
    "feed",
    "rounds",
    "rounds with a value",
    "published",
    "held by the breaker",
    "breaker openings",
    "failed checks (rounds)",
)


def feed_chart(trace: FeedTrace, interval_ms: int) -> Chart:
    """Each source's quotes, the aggregate, the published points and the breaker periods."""
    series = [Series(name, points, style="dots") for name, points in sorted(trace.sources.items())]
    aggregate = [(t, v) for t, v in zip(trace.times, trace.values, strict=True) if v is not None]
    published = [
        (t, v)
        for t, v, p in zip(trace.times, trace.values, trace.published, strict=True)
        if p and v is not None
    ]
    series.append(Series("aggregate", aggregate, color="#222222", width=1.6))
    series.append(Series("published", published, style="dots", color="#e15759"))
    return Chart(trace.feed, series, trace.breaker_periods(interval_ms), y_label=trace.feed)


def rounds_report(
    title: str, intro: Sequence[str], traces: Sequence[FeedTrace], interval_ms: int
) -> Report:
    """A report with a summary table and one chart per feed."""
    report = Report(title)
    for line in intro:
        report.paragraph(line)
    report.table(SUMMARY_HEADER, [t.summary_row() for t in traces])
    for trace in traces:
        report.heading(trace.feed)
        report.chart(feed_chart(trace, interval_ms))
    return report
