"""VM creation dates in canonical CSV and Parquet, and the arrival rate fitted from them
(the RVTools ``Creation date`` column is tested in test_rvtools.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from capplan.errors import TraceFormatError
from capplan.forecast.checks import ForecastError
from capplan.forecast.horizon import arrivals_from_created
from capplan.io import ReadOptions, read_trace
from capplan.io.canonical import write_canonical_parquet


def test_canonical_inventory_created_parses_and_round_trips_through_parquet(
    tmp_path: Path,
) -> None:
    csv = tmp_path / "inventory.csv"
    csv.write_text(
        "vm_id,n_vcpus,created\na,2,2023-04-01\nb,4,2023-05-02T08:00:00Z\nc,1,\n",
        encoding="utf-8",
    )
    trace = read_trace(csv, "canonical-inventory", ReadOptions())
    assert trace.inventory["created"].to_list() == [
        datetime(2023, 4, 1, tzinfo=UTC),
        datetime(2023, 5, 2, 8, tzinfo=UTC),
        None,
    ]
    out = write_canonical_parquet(trace, tmp_path / "t.parquet")
    back = read_trace(out, "parquet", ReadOptions()).inventory
    assert back["created"].to_list() == trace.inventory["created"].to_list()


def test_canonical_inventory_bad_created_names_the_line(tmp_path: Path) -> None:
    csv = tmp_path / "inventory.csv"
    csv.write_text("vm_id,created\na,2023-04-01\nb,soon\n", encoding="utf-8")
    with pytest.raises(TraceFormatError, match=r"inventory\.csv:3, column 'created'.*'soon'"):
        read_trace(csv, "canonical-inventory", ReadOptions())


def test_arrival_rate_and_its_exact_poisson_interval() -> None:
    # 10 VMs created in the last year (and 5 older ones): 10 / 12 a month. Garwood's exact
    # 95 % interval for a Poisson count of 10 is 4.795 to 18.390 (published tables).
    until = datetime(2024, 1, 1, tzinfo=UTC)
    recent = [until - timedelta(days=30 * k + 3) for k in range(10)]
    old = [until - timedelta(days=400 + k) for k in range(5)]
    fit = arrivals_from_created([*recent, *old, None], until, level=0.95)
    months = 365 / 30.4375
    assert fit.n_created == 10 and fit.window_days == 365
    assert fit.per_month == pytest.approx(10 / months)
    assert fit.lower == pytest.approx(4.795 / months, rel=1e-3)
    assert fit.upper == pytest.approx(18.390 / months, rel=1e-3)
    assert any("gross arrivals" in n for n in fit.notes)
    assert any("1 VM(s) have no creation date" in n for n in fit.notes)


def test_a_young_estate_is_fitted_over_its_age_and_says_so() -> None:
    until = datetime(2024, 1, 1, tzinfo=UTC)
    created = [until - timedelta(days=d) for d in (10, 40, 91)]
    fit = arrivals_from_created(created, until)
    assert fit.window_days == pytest.approx(91)
    assert fit.per_month == pytest.approx(3 / (91 / 30.4375))
    assert any("initial build-out" in n for n in fit.notes)


def test_no_creation_dates_is_a_clear_error() -> None:
    with pytest.raises(ForecastError, match="creation dates"):
        arrivals_from_created([None, None], datetime(2024, 1, 1, tzinfo=UTC))
