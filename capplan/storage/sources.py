"""Published sources of every storage-planning default, by citation key.

The planner's JSON output lists the keys it relied on, so a reader can trace each figure.
"""

from __future__ import annotations

from typing import Final

SOURCES: Final[dict[str, str]] = {
    "cinder-oversubscription": (
        "OpenStack Cinder, 'Thin provisioning and oversubscription' (contributor docs, Queens "
        "onwards; admin guide 'Oversubscription in thin provisioning'): when a back end reports "
        "no max_over_subscription_ratio the scheduler uses the [DEFAULT] value, which falls back "
        "to 20.0; a ratio of 1.0 means provisioned capacity may not exceed physical capacity."
    ),
    "sapcc-ratio-1.5": (
        "SAP Converged Cloud helm-charts pull request #1383 (2020-04-07), '[cinder] update the "
        "max_over_subscription_ratio to 1.5': an operator lowering the ratio to 1.5 to limit "
        "an already over-committed NetApp back end."
    ),
    "vcenter-datastore-alarm": (
        "VMware vCenter default alarm 'Datastore usage on disk': warning at 75 %, alert at "
        "85 % (as listed in M. Preston, 'VCP-5 Objective 7.2: Create and administer vCenter "
        "Server alarms', blog.mwpreston.net)."
    ),
    "nutanix-ser": (
        "R. Anil Kumar, M. Chamness (Nutanix), 'Stochastic Estimated Risk for Storage "
        "Capacity', arXiv:1901.10552 (2019): used capacity modelled as Brownian motion with "
        "drift; the risk reported is the probability of running out of capacity within a "
        "time frame rather than a single date."
    ),
    "hpe-3par-forecast-window": (
        "HPE 3PAR StoreServ Management Console 3.7 online help, 'Saturation forecast': the "
        "forecast period is always half of the selected assessment (history) period."
    ),
    "first-passage-bm-drift": (
        "First-passage time of Brownian motion with drift to a fixed level: inverse Gaussian "
        "distribution, P(T <= t) = Phi((mu t - b)/(sigma sqrt t)) + exp(2 mu b / sigma^2) "
        "Phi((-b - mu t)/(sigma sqrt t)) (e.g. Karlin & Taylor, 'A First Course in Stochastic "
        "Processes', 2nd ed., ch. 7)."
    ),
    "idc-storagesphere-2020": (
        "IDC press release 2020-05-13, 'IDC's Global StorageSphere Forecast Shows Continued "
        "Strong Growth in the World's Installed Base of Storage Capacity': utilized storage "
        "grows at a 2019-2024 CAGR of 20.4 % (installed base 17.8 %)."
    ),
    "ontap-snapshot-reserve": (
        "NetApp ONTAP System Manager (classic, 9.6/9.7) online help, 'Setting Snapshot copy "
        "reserve': the default space reserved for Snapshot copies is 5 percent for SAN and "
        "VMware volumes."
    ),
    "ols-prediction-interval": (
        "Ordinary least squares prediction interval for a new observation at x0: "
        "y_hat +/- t(1-alpha/2, n-2) * s * sqrt(1 + 1/n + (x0 - x_bar)^2 / Sxx) (standard "
        "regression result, e.g. Montgomery, Peck & Vining, 'Introduction to Linear "
        "Regression Analysis', section 2.4)."
    ),
    "seed-storage-virtualization": (
        "The project's textbook chapter (shared/seed), section 9.4.3: thin provisioning "
        "allocates physical space on write; lifecycle management moves data between fast "
        "expensive and cheap mass storage; an in-band appliance is a bottleneck and a single "
        "point of failure unless mirrored; an out-of-band appliance needs modified host "
        "drivers and leaves the data path alone."
    ),
}


def cite(*keys: str) -> dict[str, str]:
    """Return ``{key: reference}`` for the given citation keys (unknown keys raise KeyError)."""
    return {key: SOURCES[key] for key in keys}
