"""The backtest tables' rows, apart from the backtest itself so that pages and reports that only
show a backtest do not import the optimizer."""

from __future__ import annotations

#: The KPIs a backtest table shows, with their labels and format kind (``""``: a number,
#: ``"frac"``: a share): the HTML report and the dashboard read this one declaration.
KPI_ROWS: tuple[tuple[str, str, str], ...] = (
    ("n_hosts_active", "hosts with VMs", ""),
    ("overloaded_host_steps", "overloaded host-steps", ""),
    ("slatah_frac", "SLA violation time (SLATAH)", "frac"),
    ("pdm_frac", "performance degradation (PDM)", "frac"),
    ("peak_cpu_util_frac", "peak CPU utilization", "frac"),
    ("paging_mib", "paging volume (MiB)", ""),
    ("peak_mem_used_frac", "peak memory demand / RAM", "frac"),
    ("storage_slo_breach_steps", "storage latency SLO breaches (steps)", ""),
    ("storage_p95_latency_ms", "storage p95 latency (ms)", ""),
    ("peak_nic_load_ratio", "peak NIC load", "frac"),
)
