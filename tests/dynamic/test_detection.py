"""Overload tests on hand-worked histories."""

from __future__ import annotations

import numpy as np
import pytest

from capplan.dynamic.detection import (
    HostLoad,
    get_overload_test,
    iqr,
    lr,
    lr_prediction,
    lrr,
    mad,
    thr,
    trimmed_length,
)
from capplan.errors import CapplanError


def load(req: list[float], hist: list[list[float]], mig_s: float = 20.0) -> HostLoad:
    history = np.zeros((len(hist), 30))
    for row, values in enumerate(hist):
        history[row, : len(values)] = values
    return HostLoad(np.asarray(req), history, np.full(len(req), mig_s), 300.0)


def test_trimmed_length_drops_trailing_zeros_only() -> None:
    h = np.zeros((3, 30))
    h[0, :5] = [0.5, 0, 0.2, 0.1, 0.3]  # an inner zero stays
    h[1, 29] = 0.1
    assert trimmed_length(h).tolist() == [5, 30, 0]


def test_thr_is_strictly_above_threshold() -> None:
    result = thr(load([0.79, 0.8, 0.81], [[0.1]] * 3), 0.8)
    assert result.tolist() == [False, False, True]


def test_iqr_threshold_from_cloudsim_quartile_positions() -> None:
    # 12 samples 0.05, 0.10, ..., 0.60 (in any order): n = 12, q1 at round(3.25) - 1 = 2,
    # q3 at round(9.75) - 1 = 9 -> 0.15 and 0.50, IQR 0.35, threshold 1 - 1.5 * 0.35 = 0.475
    values = [0.05 * k for k in range(12, 0, -1)]
    result = iqr(load([0.47, 0.48], [values, values]), 1.5)
    assert result.tolist() == [False, True]


def test_iqr_and_mad_fall_back_to_thr_07_with_11_samples() -> None:
    short = [0.05 * k for k in range(1, 12)]
    for test, param in ((iqr, 1.5), (mad, 2.5)):
        result = test(load([0.69, 0.71], [short, short]), param)
        assert result.tolist() == [False, True]


def test_mad_threshold() -> None:
    # 12 values: six 0.2 and six 0.4 -> median 0.3, deviations all 0.1 -> MAD 0.1,
    # threshold 1 - 2.5 * 0.1 = 0.75
    values = [0.2, 0.4] * 6
    result = mad(load([0.74, 0.76], [values, values]), 2.5)
    assert result.tolist() == [False, True]


def test_mad_odd_count_median() -> None:
    # 13 values 0.1 .. 1.3 -> median 0.7; |dev| 0..0.6 twice + 0 -> median dev 0.3;
    # threshold 1 - 1.0 * 0.3 = 0.7
    values = [0.1 * k for k in range(1, 14)]
    result = mad(load([0.69, 0.71], [values, values]), 1.0)
    assert result.tolist() == [False, True]


def test_lr_predicts_the_line_one_migration_ahead() -> None:
    # newest-first history 0.55, 0.50, ..., 0.10 (rising 0.05 per step, oldest first)
    # line through x = 1..10: a = 0.05, b = 0.05; a 20 s migration spans 1 round, so the
    # prediction at x = 11 is 0.60; × 1.2 = 0.72 < 1 -> not overloaded; × 1.7 = 1.02 -> yes
    hist = [0.55 - 0.05 * k for k in range(10)]
    predicted = lr_prediction(load([0.0], [hist]).history, np.array([20.0]), 300.0)
    assert predicted[0] == pytest.approx(0.60)
    assert lr(load([0.0], [hist]), 1.2).tolist() == [False]
    assert lr(load([0.0], [hist]), 1.7).tolist() == [True]
    # a 400 s migration spans 2 rounds: prediction at x = 12 is 0.65
    assert lr_prediction(load([0.0], [hist]).history, np.array([400.0]), 300.0)[0] == (
        pytest.approx(0.65)
    )


def test_lr_falls_back_below_ten_samples_and_lrr_equals_lr() -> None:
    hist9 = [0.9] * 9
    assert lr(load([0.69, 0.71], [hist9, hist9]), 1.2).tolist() == [False, True]
    rng = np.random.default_rng(3)
    histories = rng.random((20, 30)).tolist()
    requested = rng.random(20).tolist()
    assert (
        lrr(load(requested, histories), 1.2).tolist()
        == lr(load(requested, histories), 1.2).tolist()
    )


def test_unknown_overload_test_lists_valid_names() -> None:
    with pytest.raises(CapplanError, match="valid: iqr, lr, lrr, mad, thr"):
        get_overload_test("xyz")
