"""Input checks shared by the forecasting functions: every bad input names its parameter."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from capplan.errors import CapplanError

SECONDS_PER_DAY = 86_400
DAYS_PER_WEEK = 7


class ForecastError(CapplanError):
    """A forecast cannot be made from the given input (too short, NaN, bad parameter)."""


def as_series(values: npt.ArrayLike, name: str = "values") -> npt.NDArray[np.float64]:
    """Return ``values`` as float64 ``(n_series, n_steps)``; a 1-D input becomes one row.

    Raises
    ------
    ForecastError
        If the array is not 1-D or 2-D, is empty, or holds NaN or infinity (the message gives
        the first bad series and step; mark missing steps with ``observed=False`` instead).
    """
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2:
        raise ForecastError(f"{name} must be 1-D or 2-D (n_series, n_steps); got {arr.ndim}-D")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ForecastError(f"{name} is empty; shape {arr.shape}")
    bad = ~np.isfinite(arr)
    if bad.any():
        row, col = (int(i[0]) for i in np.nonzero(bad))
        raise ForecastError(
            f"{name} holds {int(bad.sum())} NaN/infinite value(s), first at series {row}, "
            f"step {col}; mark missing steps with observed=False and put any finite number there"
        )
    return arr


def as_mask(
    observed: npt.ArrayLike | None, shape: tuple[int, int], name: str = "observed"
) -> npt.NDArray[np.bool_]:
    """Return ``observed`` as a bool array of ``shape`` (``None`` → every step observed)."""
    if observed is None:
        return np.ones(shape, dtype=bool)
    mask = np.asarray(observed, dtype=bool)
    if mask.ndim == 1:
        mask = mask[None, :]
    if mask.shape != shape:
        raise ForecastError(f"{name} must have the shape of values {shape}; got {mask.shape}")
    return mask


def steps_per_day(step_s: int) -> int:
    """Steps in one day; ``step_s`` must divide 86,400 s."""
    if step_s <= 0 or SECONDS_PER_DAY % int(step_s) != 0:
        raise ForecastError(f"step_s must be a positive divisor of 86400 s; got {step_s}")
    return SECONDS_PER_DAY // int(step_s)


def check_horizon(horizon_steps: int) -> int:
    """``horizon_steps`` as an int ≥ 1."""
    if int(horizon_steps) != horizon_steps or horizon_steps <= 0:
        raise ForecastError(f"horizon_steps must be a positive whole number; got {horizon_steps}")
    return int(horizon_steps)


def check_level(level: float) -> float:
    """The confidence level of an interval, strictly between 0 and 1."""
    if not 0.0 < level < 1.0:
        raise ForecastError(f"level must be strictly between 0 and 1 (e.g. 0.9); got {level}")
    return float(level)


def forward_fill(
    values: npt.NDArray[np.float64], observed: npt.NDArray[np.bool_]
) -> npt.NDArray[np.float64]:
    """Replace unobserved steps by the last observed value of the row (leading ones: first)."""
    t = values.shape[1]
    idx = np.where(observed, np.arange(t)[None, :], -1)
    np.maximum.accumulate(idx, axis=1, out=idx)
    first = np.argmax(observed, axis=1)
    idx = np.where(idx < 0, first[:, None], idx)
    return np.take_along_axis(values, idx, axis=1)
