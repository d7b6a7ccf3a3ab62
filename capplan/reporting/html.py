"""The self-contained HTML report of a study: one file that opens offline (no CDN).

plotly.js is embedded once; every figure comes from :mod:`capplan.viz.figures`, the same
functions the dashboard uses. The page is rendered from ``templates/report.html.j2`` with
autoescaping, so names from traces cannot inject markup.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jinja2
import plotly.graph_objects as go
import polars as pl
from plotly.offline import get_plotlyjs

from capplan import __version__
from capplan.results import INDICATORS, ScenarioResult, StudyResult
from capplan.spec.catalog import load_catalog
from capplan.viz import results as results_viz

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("capplan.reporting", "templates"),
    autoescape=jinja2.select_autoescape(["html", "j2"]),
    undefined=jinja2.ChainableUndefined,
)


def _fmt(value: Any, kind: str = "") -> str:
    """Format a figure for a table cell (``n/a`` for missing or non-finite values)."""
    if (
        value is None
        or isinstance(value, jinja2.Undefined)
        or (isinstance(value, float) and not math.isfinite(value))
    ):
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if not isinstance(value, int | float):
        return str(value)
    if kind == "usd":
        return f"${value:,.0f}"
    if kind == "frac":
        return f"{value:.2%}"
    if kind == "avail":
        return f"{value:.6f}"
    if abs(value) >= 100 or float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:,.3f}"


_ENV.filters["fmt"] = _fmt


def _div(figure: go.Figure) -> str:
    html: str = figure.to_html(full_html=False, include_plotlyjs=False, config={"responsive": True})
    return html


def _kind(key: str) -> str:
    if key.endswith("_usd"):
        return "usd"
    if key == "availability_frac_min":
        return "avail"
    if key.endswith("_frac") or key.endswith("_prob_max"):
        return "frac"
    return ""


def _scenario_section(result: ScenarioResult) -> dict[str, Any]:
    drawn = [
        results_viz.utilization(result),
        results_viz.power(result),
        results_viz.cost(result),
        results_viz.links(result),
        *results_viz.pool_forecasts(result),
    ]
    charts = [_div(figure) for figure in drawn if figure is not None]
    kpis = result.kpis
    pools = result.storage.pools
    return {
        "name": result.name,
        "scenario": result.scenario.model_dump(mode="json"),
        "summary": result.summary,
        "solve": result.solve,
        "kpis": kpis,
        "economics": result.economics,
        "storage": result.storage,
        "pools": pools,
        "charts": charts,
        "quality": result.workload,
    }


def _sources(study: StudyResult) -> list[tuple[str, str]]:
    rows: dict[str, str] = {}
    catalogs = {r.scenario.catalog for r in study.results}
    for catalog_dir in sorted(catalogs, key=str):
        catalog = load_catalog(Path(catalog_dir) if catalog_dir else None)
        rows.update({f"catalog: {k}": v for k, v in catalog.sources.items()})
    for result in study.results[:1]:
        rows.update(
            {
                f"economics: {k}": v
                for k, v in (result.economics.sources if result.economics else {}).items()
            }
        )
    return sorted(rows.items())


def render_report(study: StudyResult) -> str:
    """Return the report of a study result as one HTML document."""
    table = study.comparison()
    columns = [(ind.key, ind.label) for ind in INDICATORS]
    rows = [
        {"scenario": row["scenario"], "pareto": row["pareto"], **{k: row[k] for k, _ in columns}}
        for row in table.iter_rows(named=True)
    ]
    best, reason = study.recommended()
    pareto_figure = results_viz.pareto(study)
    pareto = _div(pareto_figure) if pareto_figure is not None else ""
    first = study.results[0] if study.results else None
    template = _ENV.get_template("report.html.j2")
    return template.render(
        title=f"capplan report: {study.study.name}",
        study=study.study.model_dump(mode="json"),
        generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        version=__version__,
        plotly_js=get_plotlyjs(),
        baseline=study.baseline,
        best=best.summary if best else None,
        best_name=best.name if best else None,
        best_econ=best.economics if best else None,
        reason=reason,
        columns=columns,
        kinds={key: _kind(key) for key, _ in columns},
        rows=rows,
        pareto=pareto,
        scenarios=[_scenario_section(r) for r in study.results],
        workload=first.workload if first else {},
        sources=_sources(study),
        timings=study.timings_s,
    )


def write_report(study: StudyResult, out: Path) -> Path:
    """Write the HTML report atomically and return its path."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(render_report(study), encoding="utf-8")
    tmp.replace(out)
    return out


def comparison_frame(study: StudyResult) -> pl.DataFrame:
    """The comparison table with readable column names (for CSV/XLSX)."""
    labels = {ind.key: ind.label for ind in INDICATORS}
    return study.comparison().rename(lambda c: labels.get(c, c))
