"""Specification of the HTML report renderer: self-contained, escaped, spikes kept visible."""

from __future__ import annotations

from audit.report import Chart, FeedTrace, Report, Series, downsample, feed_chart, rounds_report

T = 1_700_000_000_000


def test_report_escapes_every_text_it_is_given() -> None:
    report = Report("<b>title</b>")
    report.paragraph("a & b")
    report.table(["<col>"], [["<td>"]])
    page = report.render()
    assert "<b>title" not in page
    assert "&lt;b&gt;title&lt;/b&gt;" in page
    assert "a &amp; b" in page
    assert "&lt;col&gt;" in page


def test_downsampling_bounds_the_points_and_keeps_a_spike() -> None:
    points = [(float(i), 100.0) for i in range(100_000)]
    points[54_321] = (54_321.0, 500.0)
    small = downsample(points, 1000)
    assert len(small) <= 1000
    assert (54_321.0, 500.0) in small
    assert small == sorted(small)


def test_short_series_are_kept_as_they_are() -> None:
    points = [(1.0, 2.0), (2.0, 3.0)]
    assert downsample(points) == points


def test_chart_without_data_says_so() -> None:
    report = Report("r")
    report.chart(Chart("empty", [Series("x", [])]))
    assert "no data" in report.render()


def trace() -> FeedTrace:
    t = FeedTrace("BTC/USD")
    statuses = ["closed", "open", "open", "half_open", "closed", "open"]
    for i, status in enumerate(statuses):
        t.add(
            T + i * 10_000,
            100.0 + i,
            i in (0, 3),
            status,
            ("deviation",) if status == "open" else (),
        )
    t.sources["a"] = [(T, 100.0), (T + 5000, 101.0)]
    return t


def test_breaker_periods_are_the_runs_of_open_and_half_open_rounds() -> None:
    bands = trace().breaker_periods(10_000)
    assert [(b.start_ms - T, b.end_ms - T, b.label) for b in bands] == [
        (10_000, 30_000, "breaker open"),
        (30_000, 40_000, "breaker half-open"),
        (50_000, 60_000, "breaker open"),
    ]


def test_feed_chart_plots_sources_aggregate_and_published_points() -> None:
    chart = feed_chart(trace(), 10_000)
    names = [s.name for s in chart.series]
    assert names == ["a", "aggregate", "published"]
    assert [p[1] for p in chart.series[2].points] == [100.0, 103.0]


def test_rounds_report_summarises_each_feed() -> None:
    page = rounds_report("Backtest", ["intro"], [trace()], 10_000).render()
    assert page.count("<svg") == 1
    assert "<td>BTC/USD</td><td>6</td><td>6</td><td>2</td><td>3</td><td>2</td>" in page
    assert "deviation 3" in page
