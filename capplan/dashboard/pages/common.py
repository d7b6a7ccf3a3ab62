"""Small layout pieces shared by the pages."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from dash import html


def error_box(message: str, *, box_id: str | None = None) -> html.Div:
    """A red box with a message for the analyst."""
    if box_id:
        return html.Div(message, className="error", id=box_id)
    return html.Div(message, className="error")


def ok_box(message: str, *, box_id: str | None = None) -> html.Div:
    """A green box with a confirmation."""
    if box_id:
        return html.Div(message, className="ok", id=box_id)
    return html.Div(message, className="ok")


def problem_list(title: str, problems: Sequence[tuple[str, str]]) -> html.Div:
    """A red box listing ``(where, what)`` problems, one per line."""
    lines = [f"{where}: {what}" if where else what for where, what in problems]
    return html.Div(
        [html.Strong(title), html.Ul([html.Li(line) for line in lines])], className="error"
    )


def key_values(pairs: Sequence[tuple[str, Any]]) -> html.Dl:
    """A two-column list of labels and values."""
    children: list[Any] = []
    for key, value in pairs:
        children += [html.Dt(key), html.Dd(fmt(value))]
    return html.Dl(children, className="kv")


def fmt(value: Any, digits: int = 3) -> str:
    """Format a value for display (numbers with thousands separators, None as a dash)."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if not math.isfinite(value):
            return "—"
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        return f"{value:.{digits}g}"
    if isinstance(value, list | tuple):
        return ", ".join(fmt(v) for v in value) or "—"
    return str(value)


def fmt_as(kind: str, value: Any) -> str:
    """Format a value by kind: ``usd``, ``avail`` (percent, 5 decimals), ``frac`` (percent)."""
    if value is None or isinstance(value, bool) or not isinstance(value, int | float):
        return fmt(value)
    if not math.isfinite(value):
        return "—"
    if kind == "usd":
        return f"-${-value:,.0f}" if value < 0 else f"${value:,.0f}"
    if kind == "avail":
        return f"{value * 100:.5f} %"
    if kind == "frac":
        return f"{value * 100:.2f} %"
    return fmt(value)


def kind_of(key: str) -> str:
    """The display kind of a result field from its name (units live in names)."""
    if "availability" in key:
        return "avail"
    if key.endswith("_usd"):
        return "usd"
    if key.endswith("_frac") or key.endswith("_prob_max") or key.endswith("_frac_min"):
        return "frac"
    return ""


def when(unix_s: float | None) -> str:
    """A Unix time as ``YYYY-MM-DD HH:MM UTC``."""
    if unix_s is None:
        return "—"
    return datetime.fromtimestamp(unix_s, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")


def table(
    rows: Sequence[Mapping[str, Any]],
    columns: Sequence[str] | None = None,
    *,
    table_id: str | None = None,
    labels: Mapping[str, str] | None = None,
    kinds: Mapping[str, str] | None = None,
) -> html.Table:
    """A plain HTML table of rows (dicts); ``labels`` and ``kinds`` (see :func:`fmt_as`) are
    per column key."""
    names = list(columns) if columns is not None else list(rows[0]) if rows else []
    labels = labels or {}
    kinds = kinds or {}
    head = html.Thead(html.Tr([html.Th(labels.get(name, name)) for name in names]))
    body = html.Tbody(
        [html.Tr([html.Td(fmt_as(kinds.get(n, ""), row.get(n))) for n in names]) for row in rows]
    )
    if table_id:
        return html.Table([head, body], className="plain", id=table_id)
    return html.Table([head, body], className="plain")
