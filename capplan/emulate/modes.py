"""Compatibility of guests with a virtualization mode.

Rules (see the catalog's mode entries and their sources):

- legacy guests (OS family ``legacy``) run only where ``supports_legacy_guests``;
- paravirtualization (``needs_modified_guest``) needs a guest whose kernel can be modified:
  only the ``linux`` family qualifies;
- containers (``same_os_kernel``) share the host kernel: all guests of a host must be of one
  OS family, and legacy guests cannot run;
- bare metal (``one_guest_per_host``) gives each workload its own server.

A guest with an unknown OS family is not judged; the count is reported.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from capplan.spec.catalog import VirtMode

#: OS families whose kernel a paravirtualizing hypervisor can run modified.
MODIFIABLE_FAMILIES = ("linux",)


@dataclass(frozen=True)
class CompatReport:
    """Guests that cannot run as placed under a mode.

    Attributes
    ----------
    problems
        One line per finding ("12 legacy guests cannot run under hw-assisted ...").
    incompatible_vms
        Bool ``(n_vms,)``: True for a VM that violates a rule.
    n_unknown_os
        VMs whose OS family is unknown (not judged).
    """

    problems: tuple[str, ...]
    incompatible_vms: npt.NDArray[np.bool_]
    n_unknown_os: int

    @property
    def n_incompatible_vms(self) -> int:
        """Number of VMs that violate a rule."""
        return int(np.count_nonzero(self.incompatible_vms))


def _examples(vm_ids: npt.NDArray[np.str_], mask: npt.NDArray[np.bool_]) -> str:
    shown = [str(v) for v in vm_ids[mask][:3]]
    more = int(np.count_nonzero(mask)) - len(shown)
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "")


def check_compat(
    mode: VirtMode,
    *,
    vm_ids: npt.NDArray[np.str_],
    os_family: list[str | None],
    host_of_vm: npt.NDArray[np.int64],
    host_ids: npt.NDArray[np.str_],
) -> CompatReport:
    """Check every guest against the mode's rules.

    Parameters
    ----------
    mode
        The virtualization mode.
    vm_ids
        VM ids ``(n_vms,)``.
    os_family
        OS family per VM (``linux``, ``windows``, ``legacy``, ``other`` or None).
    host_of_vm
        Host index per VM.
    host_ids
        Host names ``(n_hosts,)``.

    Returns
    -------
    CompatReport
    """
    n = len(vm_ids)
    fam = np.array([f if f is not None else "" for f in os_family], dtype=object)
    known = fam != ""
    bad = np.zeros(n, dtype=bool)
    problems: list[str] = []
    legacy = fam == "legacy"
    if not mode.supports_legacy_guests and legacy.any():
        bad |= legacy
        problems.append(
            f"{int(legacy.sum())} legacy guest(s) cannot run under {mode.name} "
            f"(they need full virtualization with binary translation): "
            f"{_examples(vm_ids, legacy)}"
        )
    if mode.needs_modified_guest:
        closed = known & ~np.isin(fam, MODIFIABLE_FAMILIES) & ~legacy
        if closed.any():
            bad |= closed
            problems.append(
                f"{int(closed.sum())} guest(s) cannot run a modified (paravirtualized) kernel "
                f"under {mode.name}: {_examples(vm_ids, closed)}"
            )
    if mode.same_os_kernel and n:
        hosts = np.asarray(host_of_vm, dtype=np.int64)
        mixed_hosts: list[int] = []
        for h in np.unique(hosts[known]):
            families = set(fam[(hosts == h) & known].tolist())
            if len(families) > 1:
                mixed_hosts.append(int(h))
        if mixed_hosts:
            mixed = np.isin(hosts, mixed_hosts) & known
            bad |= mixed
            names = ", ".join(str(host_ids[h]) for h in mixed_hosts[:3])
            problems.append(
                f"{len(mixed_hosts)} host(s) mix OS families, but containers share the host "
                f"kernel: {names}" + (" ..." if len(mixed_hosts) > 3 else "")
            )
    if mode.one_guest_per_host and n:
        counts = np.bincount(np.asarray(host_of_vm, dtype=np.int64), minlength=len(host_ids))
        crowded = np.flatnonzero(counts > 1)
        if len(crowded):
            bad |= np.isin(host_of_vm, crowded)
            names = ", ".join(str(host_ids[h]) for h in crowded[:3])
            problems.append(
                f"{len(crowded)} host(s) hold more than one workload, but {mode.name} runs "
                f"one per server: {names}" + (" ..." if len(crowded) > 3 else "")
            )
    return CompatReport(tuple(problems), bad, int(np.count_nonzero(~known)))
