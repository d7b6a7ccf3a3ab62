"""The self-contained HTML report of a backtest: the promised-vs-experienced chart and tables.

Like the study report it opens offline (plotly.js embedded) and is rendered with autoescaping
from ``templates/backtest.html.j2``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from plotly.offline import get_plotlyjs

from capplan import __version__
from capplan.forecast.kpi_rows import KPI_ROWS
from capplan.reporting.html import _ENV, _div
from capplan.viz.figures import backtest_chart


def render_backtest(backtest: dict[str, Any], *, title: str = "capplan backtest") -> str:
    """The report as HTML text, from :meth:`~capplan.forecast.backtest.BacktestResult.to_dict`."""
    template = _ENV.get_template("backtest.html.j2")
    return template.render(
        title=title,
        bt=backtest,
        windows=backtest["windows"],
        chart=_div(backtest_chart(backtest)),
        kpi_rows=KPI_ROWS,
        plotly_js=get_plotlyjs(),
        generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        version=__version__,
    )


def write_backtest_report(backtest: dict[str, Any], out: Path) -> Path:
    """Write the report to ``out`` (a temporary name renamed, so no partial file is left)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(render_backtest(backtest), encoding="utf-8")
    tmp.replace(out)
    return out
