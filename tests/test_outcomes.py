"""The typed outcomes of a scenario's stages: strict where they are built, lenient on load."""

from __future__ import annotations

import json

import pytest

from capplan.outcomes import EconomicsSummary, PlanSummary, PoolSummary, StorageSummary
from capplan.status import SolveStatus


def _storage_doc() -> dict[str, object]:
    pool = {"name": "p1", "tier": "ssd", "physical_gib": 100.0, "p_run_out_frac": 0.2}
    return {
        "status": "optimal",
        "cost_usd": 12.5,
        "pools": [pool, {**pool, "name": "p2", "p_run_out_frac": 0.05}],
        "forecast_band_gib": None,
        "replay_check": [{"io_quantile": 0.99, "breach_steps_by_pool": {}}],
        "replay_accepted": True,
    }


def test_storage_summary_reads_the_plan_and_refuses_a_figure_it_has_no_field_for() -> None:
    doc = _storage_doc()
    doc.pop("forecast_band_gib")
    plan = StorageSummary.from_dict(doc)
    assert plan.has_plan and plan.runout_prob_max == 0.2
    assert [p.name for p in plan.pools] == ["p1", "p2"]
    assert isinstance(plan.pools[0], PoolSummary)
    back = StorageSummary.from_dict(json.loads(json.dumps(plan.to_dict())))
    assert back == plan
    with pytest.raises(ValueError, match="forecast_band_gib"):
        StorageSummary.from_dict(_storage_doc())  # a pool figure at the plan's level
    bad_pool = {**doc, "pools": [{"name": "p", "tier": "ssd", "colour": "red"}]}
    with pytest.raises(ValueError, match="colour"):
        StorageSummary.from_dict(bad_pool)
    assert StorageSummary.from_dict(bad_pool, strict=False).pools[0].name == "p"


def test_a_storage_plan_that_did_not_run_has_no_plan_and_no_risk() -> None:
    plan = StorageSummary(status="not available", reason="no disk data")
    assert not plan.has_plan and plan.runout_prob_max is None and plan.pools == ()


def test_economics_summary_types_its_baseline_and_comparison() -> None:
    doc = {
        "mode": "hw-assisted",
        "n_vms": 4,
        "n_hosts": 1,
        "tco_usd": 1000.0,
        "baseline": {"n_hosts": 4, "tco_usd": 3000.0, "notes": ["assumed"]},
        "comparison": {"baseline_rule": "one host per VM", "tco_savings_usd": 2000.0},
    }
    econ = EconomicsSummary.from_dict(doc)
    assert econ.baseline.n_hosts == 4 and econ.baseline.notes == ("assumed",)
    assert econ.comparison.tco_savings_usd == 2000.0
    assert EconomicsSummary.from_dict(json.loads(json.dumps(econ.to_dict()))) == econ
    with pytest.raises(ValueError, match="watts"):
        EconomicsSummary.from_dict({**doc, "baseline": {"watts": 1.0}})


def test_plan_summary_keeps_full_precision_and_its_status_vocabulary() -> None:
    plan = PlanSummary("feasible", n_hosts=3, gap_frac=1 / 3, cost_usd=10_000.123456)
    assert plan.status is SolveStatus.FEASIBLE and plan.has_plan
    doc = plan.to_dict()
    assert doc["status"] == "feasible" and doc["gap_frac"] == 1 / 3
    assert doc["cost_usd"] == 10_000.123456
    assert PlanSummary.from_dict(doc) == plan
    assert not PlanSummary("infeasible").has_plan
