"""Running a study's scenarios on Dask: a local cluster (``workers=N``) or an existing one.

Each distinct workload of the study is read once, part by part on the workers
(:mod:`capplan.demand.dask_ingest`), and copied to every worker; each scenario then runs as
one task, independent of the others, so the results are those of an in-process run.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from capplan.demand.workload import Workload
from capplan.results import ScenarioResult
from capplan.runcontrol import CANCEL_POLL_S, Cancelled, Progress
from capplan.spec.study import Scenario

#: Runs one scenario on a workload (:func:`capplan.pipeline.run_scenario`).
ScenarioRunner = Callable[..., ScenarioResult]


def run_remote(run: ScenarioRunner, scenario: Scenario, workload: Workload) -> ScenarioResult:
    """Dask task: run one scenario in a worker process on the study's shared workload."""
    return run(scenario, workload=workload)


def run_on_dask(
    scenarios: list[Scenario],
    scheduler: str | None,
    workers: int | None,
    report: Progress,
    cancel: threading.Event | None,
    *,
    run: ScenarioRunner,
) -> tuple[list[ScenarioResult], float]:
    """Ingest each distinct workload on the cluster, then run the scenarios there with ``run``
    (:func:`capplan.pipeline.run_scenario`; Dask sends it by name).

    Returns the results in scenario order and the wall time of the ingest (seconds).
    """
    from dask.distributed import Client, LocalCluster

    cluster = None
    if scheduler is None:
        cluster = LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",  # any free port: studies may run side by side
            silence_logs=logging.CRITICAL,  # a failed task's traceback is not for users
        )
    try:
        with Client(scheduler or cluster) as client:
            loading = time.perf_counter()
            shared = _ingest(client, scenarios, report, cancel)
            ingest_s = time.perf_counter() - loading
            futures = [
                client.submit(run_remote, run, s, shared[s.workload], pure=False) for s in scenarios
            ]
            results = _gather(client, futures, report, cancel)
    finally:
        if cluster is not None:
            cluster.close()
    return results, ingest_s


def _raise_if_cancelled(cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        raise Cancelled("the study was cancelled")


def _ingest(
    client: Any, scenarios: list[Scenario], report: Progress, cancel: threading.Event | None
) -> dict[str, Any]:
    """Each distinct workload, read on the workers and copied onto every one: spec → future."""
    from capplan.demand.dask_ingest import load_workload_future_on_dask

    specs = list(dict.fromkeys(s.workload for s in scenarios))
    shared: dict[str, Any] = {}
    for number, spec in enumerate(specs, start=1):

        def ingest_progress(label: str, frac: float, number: int = number) -> None:
            report(f"ingest {number} of {len(specs)}: {label}", 0.0)

        # assembled on a worker and copied worker to worker (never through the client) onto
        # every worker, so no worker waits to fetch it and none is preferred by the scheduler
        shared[spec] = load_workload_future_on_dask(
            client,
            spec,
            progress=ingest_progress,
            check_cancel=lambda: _raise_if_cancelled(cancel),
        )
        client.replicate([shared[spec]])
    return shared


def _gather(
    client: Any, futures: list[Any], report: Progress, cancel: threading.Event | None
) -> list[ScenarioResult]:
    """The futures' results in their order, reporting progress; cancels what is pending."""
    from dask.distributed import wait

    index = {f.key: i for i, f in enumerate(futures)}
    out: list[ScenarioResult | None] = [None] * len(futures)
    pending = set(futures)
    while pending:
        if cancel is not None and cancel.is_set():
            client.cancel(list(pending))
            raise Cancelled("the study was cancelled")
        try:
            finished = wait(list(pending), timeout=CANCEL_POLL_S, return_when="FIRST_COMPLETED")
        except TimeoutError:
            continue
        for future in finished.done:
            out[index[future.key]] = future.result()
        pending = set(finished.not_done)
        n_done = len(futures) - len(pending)
        report(f"{n_done} of {len(futures)} scenarios", n_done / len(futures))
    return [r for r in out if r is not None]
