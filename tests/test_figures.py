"""Charts: every point labelled, none hidden behind another, today's estate drawn, one unit."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from capplan.viz import figures, results


def test_pareto_points_are_labelled_merged_when_equal_and_today_is_drawn() -> None:
    fig = figures.pareto_scatter(
        ["a", "b", "c", "d"],
        [100.0, 100.0, 250.0, 90.0],
        [0.99, 0.99, 0.999, 0.98],
        [0.0, 0.01, 0.0, 0.02],
        [False, False, True, False],
        today=(300.0, 0.995),
    )
    points, star = fig.data
    # a and b coincide: one marker that names both; three markers for four scenarios.
    assert list(points.x) == [100.0, 250.0, 90.0]
    assert list(points.text) == ["a<br>b", "c", "d"]
    assert points.mode == "markers+text"
    assert list(points.y) == pytest.approx([99.0, 99.9, 98.0])  # percent, like the tiles
    assert points.marker.color[1] == "#d62728"  # c is on the Pareto front
    assert list(star.x) == [300.0] and list(star.text) == ["today"]
    assert star.y[0] == pytest.approx(99.5)
    assert "%" in fig.layout.yaxis.title.text


def test_study_charts_use_readable_labels_and_todays_estate() -> None:
    from capplan.results import EstateSummary, ScenarioSummary

    def result(name: str, cost: float) -> SimpleNamespace:
        return SimpleNamespace(
            name=name,
            summary=ScenarioSummary(cost_usd=cost, availability_frac_min=0.999, slatah_frac=0.0),
        )

    study = SimpleNamespace(
        results=[result("mode=containers,mem_overcommit_ratio=1.5#abc", 10.0)],
        baseline=EstateSummary(cost_usd=20.0, availability_frac_min=0.998, n_hosts=5),
        pareto_front=lambda: [True],
    )
    fig = results.pareto(study)
    assert fig is not None
    assert list(fig.data[0].text) == ["containers · mem 1.5"]
    assert list(fig.data[1].text) == ["today"]
    bars = results.comparison(study, "n_hosts", "hosts")
    assert list(bars.data[0].x) == ["today", "containers · mem 1.5"]


def test_tornado_bars_span_each_assumptions_range_around_the_base_saving() -> None:
    sens = {
        "npv_savings_usd": 100.0,
        "rows": [  # largest swing first, as economics orders them
            {
                "label": "labour",
                "low": "per host",
                "high": "per VM",
                "npv_savings_usd_low": -50.0,
                "npv_savings_usd_high": 300.0,
            },
            {
                "label": "energy price",
                "low": 0.1,
                "high": 0.3,
                "npv_savings_usd_low": 80.0,
                "npv_savings_usd_high": 120.0,
            },
        ],
    }
    low, high = figures.tornado(sens).data
    assert list(low.y) == ["energy price", "labour"]  # the largest swing drawn on top
    assert [b + x for b, x in zip(low.base, low.x, strict=True)] == [80.0, -50.0]
    assert [b + x for b, x in zip(high.base, high.x, strict=True)] == [120.0, 300.0]
