import math

import numpy as np
import pytest

from dlrepro.training.lr_finder import lr_finder
from dlrepro.training.schedules import build_schedule, clr_value, keras_step_lr

SQ = math.sqrt(0.1)


# --------------------------------------------------------------------------- simple ones

def test_constant_and_exp_decay():
    s = build_schedule({"name": "constant"}, 0.1, 10, 5)
    assert s.per == "epoch" and s.lr(3, 37) == 0.1
    e = build_schedule({"name": "exp_decay", "lam": 0.2}, 0.5, 10, 5)
    assert e.lr(0, 0) == 0.5
    assert e.lr(3, 30) == pytest.approx(0.5 * math.exp(-0.6), rel=1e-15)
    assert build_schedule({"name": "exp_decay", "lambda": 0.2}, 0.5, 10, 5).lr(3, 0) == e.lr(3, 0)


def test_range_test_endpoints_and_midpoint():
    s = build_schedule({"name": "range_test", "lr_start": 1e-9, "lr_end": 10.0}, 1e-9, 17, 3)
    T = 51
    assert s.per == "batch"
    assert s.lr(0, 0) == pytest.approx(1e-9, rel=1e-12)
    assert s.lr(2, T - 1) == pytest.approx(10.0, rel=1e-12)
    assert s.lr(1, 25) == pytest.approx(1e-4, rel=1e-9)           # geometric middle
    ratios = [s.lr(0, i + 1) / s.lr(0, i) for i in range(T - 1)]
    np.testing.assert_allclose(ratios, (1e10) ** (1 / (T - 1)), rtol=1e-9)
    assert s.lr(3, 10_000) == pytest.approx(10.0)                  # clamped past the end
    s5 = build_schedule({"name": "range_test", "epochs": 5}, 1e-9, 4, 60)
    assert s5.lr(4, 19) == pytest.approx(10.0)


# --------------------------------------------------------------------------- CLR (Kenstler)

def test_clr_triangular_known_points():
    s = build_schedule({"name": "clr", "min_lr": 1e-4, "max_lr": 1e-1, "step_size": 100}, 1e-4, 50, 10)
    assert s.per == "batch"
    assert s.lr(0, 0) == pytest.approx(1e-4)                 # starts at base_lr
    assert s.lr(2, 100) == pytest.approx(1e-1)               # peak at step_size
    assert s.lr(0, 50) == pytest.approx(1e-4 + 0.5 * (1e-1 - 1e-4))
    assert s.lr(4, 200) == pytest.approx(1e-4)               # back to base after a cycle
    assert s.lr(6, 300) == pytest.approx(1e-1)               # second peak, same height
    assert max(s.lr(0, i) for i in range(1000)) == pytest.approx(1e-1)


def test_clr_triangular2_halves_each_cycle():
    s = build_schedule({"name": "clr", "max_lr": 1.0, "step_size": 10, "mode": "triangular2"}, 0.0, 5, 10)
    assert s.lr(0, 10) == pytest.approx(1.0)
    assert s.lr(0, 30) == pytest.approx(0.5)
    assert s.lr(0, 50) == pytest.approx(0.25)


def test_clr_exp_range_decay():
    g = 0.99
    s = build_schedule({"name": "clr", "min_lr": 0.001, "max_lr": 0.1, "step_size": 20,
                        "mode": "exp_range", "gamma": g}, 0.001, 10, 10)
    assert s.lr(0, 20) == pytest.approx(0.001 + 0.099 * g ** 20)
    assert s.lr(0, 60) == pytest.approx(0.001 + 0.099 * g ** 60)
    assert s.lr(0, 70) == pytest.approx(0.001 + 0.099 * 0.5 * g ** 70)
    peaks = [s.lr(0, 20 + 40 * k) for k in range(5)]
    assert all(a > b for a, b in zip(peaks, peaks[1:]))


def test_clr_step_size_in_epochs_and_seed_quirk():
    s = build_schedule({"name": "clr", "max_lr": 0.1, "step_size_epochs": 2}, 0.01, 25, 10)
    assert s.lr(2, 50) == pytest.approx(0.1)                  # 2 epochs * 25 steps
    q = build_schedule({"name": "clr", "max_lr": 0.01, "step_size": 8, "mode": "exp_range",
                        "gamma": 0.9}, 0.01, 25, 10)           # seed passed max_lr = min_lr
    assert {q.lr(0, i) for i in range(100)} == {0.01}
    assert clr_value(5, 0.0, 1.0, 10) == pytest.approx(0.5)
    with pytest.raises(ValueError):
        build_schedule({"name": "clr", "max_lr": 0.1}, 0.01, 25, 10)


# --------------------------------------------------------------------------- step + plateau

def test_keras_step_values():
    assert keras_step_lr(0) == 1e-3
    assert keras_step_lr(80) == 1e-3                          # "epoch > 80"
    assert keras_step_lr(81) == pytest.approx(1e-4)
    assert keras_step_lr(121) == pytest.approx(1e-5)
    assert keras_step_lr(161) == pytest.approx(1e-6)
    assert keras_step_lr(181) == pytest.approx(5e-7)


# epochs 0,1 improve; 2..6 do not (wait 1..5) -> reduction at end of epoch 6;
# 7..11 do not -> reduction at end of 11; 12 improves; 13..17 do not -> end of 17.
VAL = [1.0, 0.9] + [0.95] * 5 + [0.92] * 5 + [0.5] + [0.49995] * 5


def _drive(s, vals, steps_per_epoch=3, start=0):
    used, logs = [], []
    for e, v in enumerate(vals, start=start):
        lrs = {s.lr(e, e * steps_per_epoch + b) for b in range(steps_per_epoch)}
        assert len(lrs) == 1
        used.append(lrs.pop())
        s.on_epoch_end(e, {"val_loss": v, "val_acc": 0.5, "train_loss": 1.0})
        logs.append(dict(s.last_log))
    return used, logs


def test_step_plateau_faithful_reduction_is_overwritten():
    s = build_schedule({"name": "keras_step_plateau"}, 1e-3, 3, 100)
    used, logs = _drive(s, VAL)
    assert used == [1e-3] * len(VAL)                          # training never sees a reduction
    fired = [i for i, l in enumerate(logs) if l["plateau_reduced"]]
    assert fired == [6, 11, 17]                               # min_delta 1e-4: 0.49995 is no gain
    assert logs[6]["lr_logged"] == pytest.approx(1e-3 * SQ, rel=1e-6)  # Keras history 'lr'
    assert logs[7]["lr_logged"] == pytest.approx(1e-3)
    assert s.state_dict()["reductions"] == 3


def test_step_plateau_persistent_mode():
    s = build_schedule({"name": "keras_step_plateau", "faithful": False}, 1e-3, 3, 100)
    used, logs = _drive(s, VAL)
    exp = [1e-3] * 7 + [1e-3 * SQ] * 5 + [1e-4] * 6
    np.testing.assert_allclose(used, exp, rtol=1e-12)
    # the plateau scale multiplies the step schedule after epoch 80
    assert s.lr(81, 0) == pytest.approx(1e-4 * SQ ** 3)


def test_step_plateau_min_lr_floor_persistent():
    s = build_schedule({"name": "keras_step_plateau", "faithful": False, "patience": 1}, 1e-3, 1, 100)
    used, logs = _drive(s, [1.0] * 40)
    assert min(used) == pytest.approx(0.5e-6)
    assert used[-1] == pytest.approx(0.5e-6)
    n = s.state_dict()["reductions"]
    assert n == 7      # 1e-3 * sqrt(.1)^k > 5e-7 for k <= 6, the 7th hits the floor, then no more
    assert not logs[-1]["plateau_reduced"]


def test_step_plateau_state_round_trip():
    a = build_schedule({"name": "keras_step_plateau", "faithful": False}, 1e-3, 3, 100)
    used_a, _ = _drive(a, VAL)
    b = build_schedule({"name": "keras_step_plateau", "faithful": False}, 1e-3, 3, 100)
    used_b1, _ = _drive(b, VAL[:9])
    state = b.state_dict()
    c = build_schedule({"name": "keras_step_plateau", "faithful": False}, 1e-3, 3, 100)
    c.load_state_dict(state)
    used_c, _ = _drive(c, VAL[9:], start=9)
    assert used_b1 + used_c == used_a
    with pytest.raises(ValueError):
        build_schedule({"name": "constant"}, 1e-3, 3, 100).load_state_dict(state)


def test_unknown_names_and_options():
    with pytest.raises(ValueError):
        build_schedule({"name": "cosine"}, 0.1, 10, 5)
    with pytest.raises(ValueError):
        build_schedule({"name": "constant", "lam": 1}, 0.1, 10, 5)


# --------------------------------------------------------------------------- lr_finder

def _synthetic(n=2000):
    lrs = np.logspace(-9, 1, n)
    u = np.log10(lrs)
    loss = np.where(u < -5, 2.3, np.where(u < -2, 2.3 - 2.0 * (u + 5) / 3, 0.3 + 50 * (u + 2) ** 2))
    return lrs, loss


def test_lr_finder_synthetic_curve():
    lrs, loss = _synthetic()
    r = lr_finder(lrs, loss)
    assert r["stop_index"] is not None                          # explosion detected
    assert lrs[r["stop_index"]] < 1.0
    s = np.asarray(r["smoothed"])
    assert s[r["stop_index"] - 1] <= 4 * s.min() + 1e-12
    assert 10 ** -2 <= r["lr_at_min_loss"] <= 10 ** -1.5        # true minimum at 1e-2, smoothing lag
    assert r["lr_max"] == pytest.approx(r["lr_at_min_loss"] / 10)
    assert 10 ** -5 < r["lr_min"] < 10 ** -4                    # onset of the descent (true: 10^-4.7)
    assert r["lr_min"] < r["lr_max"]
    assert 10 ** -5 < r["lr_steepest"] <= r["lr_at_min_loss"]
    assert "lr_max" in r["rule"]


def test_lr_finder_bias_correction_and_stop():
    r = lr_finder([1e-3, 1e-2, 1e-1], [2.0, 2.0, 2.0])
    np.testing.assert_allclose(r["smoothed"], [2.0, 2.0, 2.0], rtol=1e-12)  # no startup bias
    assert r["stop_index"] is None
    r = lr_finder(np.logspace(-5, 0, 20), [1.0] * 10 + [1000.0] + [1.0] * 9)
    assert r["stop_index"] == 10
    r = lr_finder(np.logspace(-5, 0, 5), [1.0, 0.9, float("nan"), 0.5, 0.4])
    assert r["stop_index"] == 2 and len(r["smoothed"]) == 2
