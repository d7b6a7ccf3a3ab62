"""``capplan bench forecast``: forecast accuracy on real traces against two baselines, and speed.

Data sets (read in place from ``../shared``; a missing one is skipped, saying why):

- **Bitbrains** GWA-T-12 sample: each month file set (rnd 2013-7, 2013-8, 2013-9, fastStorage)
  read separately, ≈ 29 days at 300 s; every metric of every VM is a series (CPU, memory,
  disk read/write, network rx/tx).
- **Azure**: the V1 sample in ``data/azure-public-dataset-v1`` holds one CPU reading per VM (no
  time series), so it cannot be scored. Used instead: the temporal bin packing instances made
  from the Azure VM trace (``benchmarks/tbpp_azure``, 55 files): the summed CPU demand of the
  active jobs of each file, minute by minute over 14 days, averaged to 300 s: 55
  cluster-level series.
- **Alibaba** 2018 ``machine_usage`` excerpt: 16 machines × CPU and memory, 8 days at 60 s.
- **PlanetLab**: the VM names present in all 10 days; the days (not consecutive in the
  calendar) are put end to end, 288 steps each (daily profile only, no trend meaning).

Protocol: rolling origins at the starts of the last ``n_origins`` days, one day ahead, interval
level 0.9. Errors: MASE (seasonal lag 1 day), sMAPE, scaled pinball loss of the interval,
coverage. Speed: fit + forecast of 1,000 series × 30 days at 300 s (the Bitbrains CPU, memory
and network series, tiled with a random scale to make 1,000 rows), wall and CPU seconds.
Targets (issue 18): MASE below seasonal naive on each data set, coverage within 5 points of
nominal, ≤ 1 s per 1,000 series; the output says which are met.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import numpy.typing as npt
import typer

from capplan.bench.tbpp import shared_dir
from capplan.cli_app import console, print_json, user_errors
from capplan.commands.bench import bench_app

F64 = npt.NDArray[np.float64]
Series = tuple[F64, npt.NDArray[np.bool_], int]

BITBRAINS_PARTS = ("rnd/2013-7", "rnd/2013-8", "rnd/2013-9", "fastStorage")
#: Interval level the bench scores.
BENCH_LEVEL = 0.9
#: Target: coverage within this many percentage points of nominal.
COVERAGE_TOLERANCE_PTS = 5.0
#: Target: seconds per 1,000 series of 30 days at 300 s.
TARGET_S_PER_1000 = 1.0


def _stack(workload: Any, n_steps: int | None = None) -> tuple[F64, npt.NDArray[np.bool_]]:
    """Every metric of every VM as one row; ``n_steps`` trims to a common length."""
    cut = slice(0, n_steps)
    rows = [workload.mean[k][:, cut].astype(np.float64) for k in workload.metrics]
    obs = [workload.observed[:, cut] for _ in workload.metrics]
    return np.concatenate(rows), np.concatenate(obs)


def load_bitbrains(shared: Path) -> Series:
    """Bitbrains month sets, each trimmed to the shortest (≈ 29 days), stacked."""
    from capplan.demand import load_workload

    root = shared / "data" / "bitbrains-gwa-t-12"
    loads = [load_workload(root / part) for part in BITBRAINS_PARTS if (root / part).is_dir()]
    if not loads:
        raise FileNotFoundError(root)
    steps = min(w.n_steps for w in loads)
    parts = [_stack(w, steps) for w in loads]
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]), 300


def load_azure_tbpp(shared: Path, step_s: int = 300) -> Series:
    """Summed demand of the active jobs of each Azure-derived TBPP instance, ``(55, 4032)``."""
    files = sorted((shared / "benchmarks" / "tbpp_azure" / "d1").glob("*.txt"))
    if not files:
        raise FileNotFoundError(shared / "benchmarks" / "tbpp_azure" / "d1")
    horizon_min = 14 * 24 * 60
    per = step_s // 60
    rows = []
    for path in files:
        table = np.loadtxt(path, dtype=np.int64, ndmin=2)[1:]  # first row: n, capacity
        start, end, size = table[:, 1], np.minimum(table[:, 2], horizon_min), table[:, 3]
        delta = np.zeros(horizon_min + 1)
        np.add.at(delta, start, size)
        np.add.at(delta, end, -size)  # half-open [start, end) in minutes
        minute = np.cumsum(delta)[:horizon_min]
        rows.append(minute.reshape(-1, per).mean(axis=1))
    y = np.asarray(rows)
    return y, np.ones(y.shape, dtype=bool), step_s


def load_alibaba(shared: Path) -> Series:
    """Alibaba machines: CPU and memory at 60 s."""
    from capplan.demand import load_workload

    w = load_workload(shared / "data" / "alibaba-cluster-trace-v2018")
    y, obs = _stack(w)
    return y, obs, w.step_s


def load_planetlab(shared: Path) -> Series:
    """PlanetLab VMs present in every day, the days put end to end."""
    from capplan.demand import load_workload

    days = sorted(p for p in (shared / "data" / "planetlab").glob("2011*") if p.is_dir())
    if not days:
        raise FileNotFoundError(shared / "data" / "planetlab")
    loads = [load_workload(f"planetlab:{d}") for d in days]
    common = sorted(set.intersection(*(set(w.vm_ids.tolist()) for w in loads)))
    blocks, masks = [], []
    for w in loads:
        index = {v: i for i, v in enumerate(w.vm_ids.tolist())}
        rows = [index[v] for v in common]
        blocks.append(w.mean["cpu_demand_mhz"][rows].astype(np.float64))
        masks.append(w.observed[rows])
    return np.concatenate(blocks, axis=1), np.concatenate(masks, axis=1), loads[0].step_s


LOADERS = {
    "bitbrains": load_bitbrains,
    "azure": load_azure_tbpp,
    "alibaba": load_alibaba,
    "planetlab": load_planetlab,
}
#: Origins per data set: the last 7 days, or fewer where the trace is short.
ORIGINS = {"bitbrains": 7, "azure": 7, "alibaba": 3, "planetlab": 7}


def speed_figure(series: F64, *, n_series: int = 1000, repeats: int = 3) -> dict[str, float]:
    """Fit + forecast one day ahead for ``n_series`` rows × 30 days at 300 s (best of runs)."""
    from capplan.forecast import fit_forecast

    rng = np.random.default_rng(0)
    n_steps = 30 * 288
    base = series[:, :n_steps]
    if base.shape[1] < n_steps:  # extend by repeating the last days
        reps = -(-n_steps // base.shape[1])
        base = np.tile(base, (1, reps))[:, :n_steps]
    rows = base[rng.integers(0, base.shape[0], n_series)]
    data = (rows * rng.uniform(0.5, 2.0, (n_series, 1))).astype(np.float32)
    walls, cpus = [], []
    for _ in range(repeats):
        w0, c0 = time.perf_counter(), time.process_time()
        fit_forecast(data, 300, 288, level=BENCH_LEVEL)
        walls.append(time.perf_counter() - w0)
        cpus.append(time.process_time() - c0)
    return {
        "n_series": n_series,
        "n_steps": n_steps,
        "wall_s_best": min(walls),
        "wall_s_median": float(np.median(walls)),
        "cpu_s_best": min(cpus),
    }


def run_forecast_bench(shared: Path, *, names: tuple[str, ...] | None = None) -> dict[str, Any]:
    """Score every data set found; return the JSON-ready figures and target verdicts."""
    from capplan.forecast.evaluate import rolling_evaluation

    out: dict[str, Any] = {"level": BENCH_LEVEL, "datasets": {}, "skipped": {}}
    bitbrains: F64 | None = None
    for name in names or tuple(LOADERS):
        try:
            y, obs, step_s = LOADERS[name](shared)
        except (FileNotFoundError, OSError) as exc:
            out["skipped"][name] = f"not found: {exc}"
            continue
        if name == "bitbrains":
            bitbrains = y
        m = 86_400 // step_s
        n_days = y.shape[1] // m
        n_origins = min(ORIGINS[name], n_days - 3)
        origins = [y.shape[1] - d * m for d in range(n_origins, 0, -1)]
        start = time.perf_counter()
        figs = rolling_evaluation(y, obs, step_s, origins, level=BENCH_LEVEL)
        figs.update(
            n_series=int(y.shape[0]),
            n_steps=int(y.shape[1]),
            step_s=step_s,
            wall_s=time.perf_counter() - start,
        )
        model, snaive = figs["model"], figs["seasonal_naive"]
        figs["beats_seasonal_naive"] = bool(
            model and snaive and model["mase_mean"] < snaive["mase_mean"]
        )
        figs["coverage_ok"] = bool(
            model and abs(model["coverage_pct"] - 100 * BENCH_LEVEL) <= COVERAGE_TOLERANCE_PTS
        )
        out["datasets"][name] = figs
    if bitbrains is not None:
        sp = speed_figure(bitbrains)
        sp["meets_target"] = sp["wall_s_best"] <= TARGET_S_PER_1000
        out["speed"] = sp
    return out


def _print(out: dict[str, Any]) -> None:
    level_pct = 100 * out["level"]
    for name, figs in out["datasets"].items():
        console.print(
            f"[bold]{name}[/bold]: {figs['n_series']} series × {figs['n_steps']} steps at "
            f"{figs['step_s']} s, {figs['origins']} origins, "
            f"{figs['n_series_origin_pairs']} series-origins scored",
            highlight=False,
        )
        console.print(
            f"  {'method':<15} {'MASE mean':>9} {'median':>7} {'sMAPE %':>8} "
            f"{'pinball':>8} {'cover %':>8} {'s/1000':>7}",
            highlight=False,
        )
        for method in ("model", "seasonal_naive", "last_value"):
            f = figs[method]
            if f is None:
                console.print(f"  {method:<15} (nothing scored)")
                continue
            console.print(
                f"  {method:<15} {f['mase_mean']:9.3f} {f['mase_median']:7.3f} "
                f"{f['smape_pct']:8.1f} {f['scaled_pinball']:8.3f} {f['coverage_pct']:8.1f} "
                f"{f['s_per_1000_series']:7.2f}",
                highlight=False,
            )
        verdict_mase = "MET" if figs["beats_seasonal_naive"] else "MISSED"
        verdict_cov = "MET" if figs["coverage_ok"] else "MISSED"
        console.print(
            f"  target MASE < seasonal naive: {verdict_mase}; coverage within "
            f"{COVERAGE_TOLERANCE_PTS:g} pts of {level_pct:g} %: {verdict_cov}",
            highlight=False,
        )
    for name, why in out["skipped"].items():
        console.print(f"{name}: skipped ({why})", highlight=False)
    console.print(
        "azure: the V1 sample in data/azure-public-dataset-v1 has one reading per VM (not a "
        "time series); the 'azure' row uses the Azure-derived TBPP cluster series instead.",
        highlight=False,
    )
    if "speed" in out:
        sp = out["speed"]
        console.print(
            f"speed: {sp['n_series']} series × {sp['n_steps']} steps (30 days at 300 s), one day "
            f"ahead: wall {sp['wall_s_best']:.2f} s best / {sp['wall_s_median']:.2f} s median, "
            f"CPU {sp['cpu_s_best']:.2f} s (target ≤ {TARGET_S_PER_1000:g} s: "
            f"{'MET' if sp['meets_target'] else 'MISSED'})",
            highlight=False,
        )


@bench_app.command("forecast")
@user_errors
def forecast_command(
    shared: Annotated[
        Path | None, typer.Option("--shared", help="The shared folder (default ../shared).")
    ] = None,
    dataset: Annotated[
        list[str] | None,
        typer.Option(
            "--dataset", help="Only these data sets (bitbrains, azure, alibaba, planetlab)."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Forecast error vs seasonal naive and last value on real traces; time per 1,000 series."""
    root = shared or shared_dir()
    if dataset:
        unknown = sorted(set(dataset) - set(LOADERS))
        if unknown:
            raise typer.BadParameter(f"unknown data set(s) {unknown}; valid: {list(LOADERS)}")
    out = run_forecast_bench(root, names=tuple(dataset) if dataset else None)
    if as_json:
        print_json(out)
        return
    _print(out)
