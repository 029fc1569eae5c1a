"""Sections 1.2-1.4: the seeded demonstrations and the gradient checks.

Every ``*_demo`` function replays one cell of the write-up, with its own
``np.random.default_rng(seed)`` and its draws in the same order, and returns the values
the cell printed, keyed by the names used in the config's ``reported`` list
(``<cell>.<quantity>``). ``gradient_check_table`` and ``check_grad_table`` build the
study's gradient-check tables.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.optimize

from dlrepro.studies.scratch_backprop.nn import (Linear, ReLU, Sigmoid, bce_loss, bce_loss_grad, central_difference,
                 central_difference_h, numerical_gradient, relu, relu_grad, sigmoid,
                 sigmoid_grad)

__all__ = ["activation_demo", "bce_demo", "one_layer_fn", "one_layer_demo", "layer_demo",
           "layer_check_grads", "gradient_check_table", "check_grad_table", "printed_values"]


def activation_demo(seed: int = 12345, low: float = -10.0, high: float = 10.0, size: int = 5,
                    h: float = 0.001) -> dict:
    """1.2(b) and 1.2(f): sigmoid and ReLU at ``rng.uniform(low, high, size)``, and the
    ReLU gradient by centred differences (step ``h``)."""
    x = np.random.default_rng(seed).uniform(low, high, size=size)
    return {
        "sigmoid.x": x, "sigmoid.sigmoid": sigmoid(x), "sigmoid.sigmoid_grad": sigmoid_grad(x),
        "sigmoid.sigmoid_grad_numerical": central_difference(sigmoid, x, h),
        "relu.x": x, "relu.relu": relu(x), "relu.relu_grad": relu_grad(x),
        "relu.relu_grad_numerical": central_difference(relu, x, h),
    }


def bce_demo(seed: int = 12345, size: int = 5, h: float = 0.001) -> dict:
    """1.2(k): BCE and its gradient at ``y = rng.integers(2)``, ``y_hat = rng.uniform(0, 1)``;
    numerical gradient ``(L(y_hat + h) - L(y_hat - h)) / 2h``."""
    rng = np.random.default_rng(seed)
    y = rng.integers(2, size=size)
    y_hat = rng.uniform(0, 1, size=size)
    grad = bce_loss_grad(y, y_hat)
    num = central_difference_h(lambda v: bce_loss(y, v), y_hat, h)
    return {"bce.y": y, "bce.y_hat": y_hat, "bce.loss": bce_loss(y, y_hat), "bce.grad": grad,
            "bce.grad_numerical": num, "bce.difference": np.abs(grad - num)}


def one_layer_fn(w: np.ndarray, b: float):
    """1.3(a): h = x w^T + b, y_hat = sigmoid(h), BCE; returns ``fn(x, y) -> (loss, grad_x)``."""
    def fn(x, y):
        h = x @ w.T + b
        y_hat = sigmoid(h)
        loss = bce_loss(y, y_hat)
        grad_y_hat = bce_loss_grad(y, y_hat)
        grad_h = grad_y_hat * sigmoid_grad(h)
        grad_x = grad_h * w.T
        return loss, grad_x
    return fn


def one_layer_demo(seed: int = 12345, size: int = 5, eps: float = 1e-5, label: int = 1) -> dict:
    """1.3(a) and 1.3(b). Cell (a) draws ``w = normal(size)``, ``b = normal()`` and then
    ``x = uniform(size)`` from one generator; cell (b) keeps w and b and re-seeds for x."""
    rng = np.random.default_rng(seed)
    w = rng.normal(size=size)
    b = rng.normal()
    fn = one_layer_fn(w, b)
    x = rng.uniform(size=size)
    loss, grad_x = fn(x, label)
    x2 = np.random.default_rng(seed).uniform(size=size)
    _, symbolic = fn(x2, label)
    numerical = numerical_gradient(lambda v: fn(v, label)[0], x2, eps)
    return {"one_layer.loss": np.float64(loss), "one_layer.grad_x": grad_x,
            "one_layer_check.symbolic": symbolic, "one_layer_check.numerical": numerical,
            "one_layer_check.max_abs_diff": np.max(np.abs(symbolic - numerical))}


def layer_demo(seed: int = 12345, batch: int = 3, n_in: int = 5, n_out: int = 7) -> dict:
    """1.4(a)-(c): forward and backward (with dy = 1) of Linear, Sigmoid and ReLU."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(size=(batch, n_in))
    layer = Linear(n_in, n_out, rng=rng)
    y = layer.forward(x)
    dx = layer.backward(x, np.ones_like(y))
    out = {"linear.y": y, "linear.dx": dx}
    # the write-up's own sanity asserts: doubling W and b -> 2y + 1, 2 dx
    layer.W *= 2
    layer.b = layer.b * 2 + 1
    out["linear.assert_y2"] = np.float64(np.all(layer.forward(x) == 2 * y + 1))
    out["linear.assert_dx2"] = np.float64(np.all(layer.backward(x, np.ones_like(y)) == 2 * dx))

    xs = np.random.default_rng(seed).normal(size=(batch, n_in))
    s = Sigmoid()
    ys = s.forward(xs)
    out["sigmoid_layer.y"] = ys
    out["sigmoid_layer.dx"] = s.backward(xs, np.ones_like(ys))

    xr = np.random.default_rng(seed).uniform(-10, 10, size=(batch, n_in))
    r = ReLU()
    yr = r.forward(xr)
    out["relu_layer.y"] = yr
    out["relu_layer.dx"] = r.backward(xr, np.ones_like(yr))
    return out


def layer_check_grads(seed: int = 12345, batch: int = 3, n_in: int = 5, n_out: int = 7,
                      low: float = -10.0, high: float = 10.0, relu_low: float = 1.0) -> dict:
    """1.4(d): ``scipy.optimize.check_grad`` on Linear (dx, dW, db), Sigmoid and ReLU,
    with the write-up's draws: one generator for the three Linear checks, re-seeded for the
    Sigmoid and for the ReLU check. The ReLU check samples from (relu_low, high) to stay
    off the kink, as the write-up does."""
    rng = np.random.default_rng(seed)
    # dx
    layer = Linear(n_in, n_out, rng)

    def fx(x):
        return 2 * np.sum(layer.forward(x.reshape(batch, n_in)))

    def gx(x):
        return layer.backward(x.reshape(batch, n_in), 2 * np.ones((batch, n_out))).flatten()

    err_dx = scipy.optimize.check_grad(fx, gx, rng.uniform(low, high, size=batch * n_in))

    # dW
    x = rng.uniform(size=(batch, n_in))
    layer = Linear(n_in, n_out, rng)

    def fw(w):
        layer.W = w.reshape(n_in, n_out)
        return 2 * np.sum(layer.forward(x))

    def gw(w):
        layer.W = w.reshape(n_in, n_out)
        layer.backward(x, 2 * np.ones((batch, n_out)))
        return layer.dW.flatten()

    err_dw = scipy.optimize.check_grad(fw, gw, rng.uniform(low, high, size=n_in * n_out))

    # db
    xb = rng.uniform(size=(batch, n_in))
    layer = Linear(n_in, n_out, rng)

    def fb(b):
        layer.b = b
        return 2 * np.sum(layer.forward(xb))

    def gb(b):
        layer.b = b
        layer.backward(xb, 2 * np.ones((xb.shape[0], n_out)))
        return layer.db

    err_db = scipy.optimize.check_grad(fb, gb, rng.uniform(low, high, size=n_out))

    # Sigmoid
    sig = Sigmoid()
    rng = np.random.default_rng(seed)
    err_sig = scipy.optimize.check_grad(lambda v: np.sum(2 * sig.forward(v)),
                                        lambda v: sig.backward(v, 2 * np.ones(v.shape)),
                                        rng.uniform(low, high, size=n_in))
    # ReLU
    rel = ReLU()
    rng = np.random.default_rng(seed)
    err_relu = scipy.optimize.check_grad(lambda v: 2 * np.sum(rel.forward(v)),
                                         lambda v: rel.backward(v, 2 * np.ones(v.shape)),
                                         rng.uniform(relu_low, high, size=n_in))
    return {"check_grad.linear_dx": np.float64(err_dx), "check_grad.linear_dW": np.float64(err_dw),
            "check_grad.linear_db": np.float64(err_db), "check_grad.sigmoid_dx": np.float64(err_sig),
            "check_grad.relu_dx": np.float64(err_relu)}


def gradient_check_table(seed: int = 12345, size: int = 5, low: float = -10.0, high: float = 10.0,
                         h: float = 0.001, eps: float = 1e-5) -> pd.DataFrame:
    """Analytic gradient vs centred differences for sigmoid, ReLU, BCE and the one-layer
    model (1.2-1.3), at the write-up's seeded inputs: one row per function."""
    act = activation_demo(seed, low, high, size, h)
    bce = bce_demo(seed, size, h)
    one = one_layer_demo(seed, size, eps)
    rows = []

    def add(section, name, analytic, numerical, step, scheme):
        d = np.abs(np.asarray(analytic, float) - np.asarray(numerical, float))
        rows.append({"section": section, "function": name, "n_points": int(d.size), "step": step,
                     "scheme": scheme, "max_abs_error": float(d.max()),
                     "max_rel_error": float(np.max(d / np.maximum(np.abs(analytic), 1e-300)))})

    add("1.2(c)", "sigmoid", act["sigmoid.sigmoid_grad"], act["sigmoid.sigmoid_grad_numerical"], h,
        "(f(x+h/2)-f(x-h/2))/h")
    add("1.2(f)", "relu", act["relu.relu_grad"], act["relu.relu_grad_numerical"], h,
        "(f(x+h/2)-f(x-h/2))/h")
    add("1.2(k)", "bce_loss (wrt y_hat)", bce["bce.grad"], bce["bce.grad_numerical"], h,
        "(f(x+h)-f(x-h))/(2h)")
    add("1.3(b)", "one-layer model (wrt x)", one["one_layer_check.symbolic"],
        one["one_layer_check.numerical"], eps, "(f(x+eps/2)-f(x-eps/2))/eps per coordinate")
    return pd.DataFrame(rows)


def check_grad_table(**kwargs) -> pd.DataFrame:
    """1.4(d): the ``scipy.optimize.check_grad`` error of every layer gradient."""
    errs = layer_check_grads(**kwargs)
    rows = []
    for key, layer, wrt in [("check_grad.linear_dx", "Linear", "dx"), ("check_grad.linear_dW", "Linear", "dW"),
                            ("check_grad.linear_db", "Linear", "db"), ("check_grad.sigmoid_dx", "Sigmoid", "dx"),
                            ("check_grad.relu_dx", "ReLU", "dx")]:
        rows.append({"layer": layer, "gradient": wrt, "check_grad_error": float(errs[key]),
                     "below_1e-5": bool(abs(errs[key]) < 1e-5)})
    return pd.DataFrame(rows)


def printed_values(settings: dict | None = None) -> dict:
    """Every value that sections 1.2-1.4 print, computed (keys as in ``reported``)."""
    s = dict(settings or {})
    seed = s.get("seed", 12345)
    low, high = s.get("demo_range", [-10.0, 10.0])
    size = s.get("demo_size", 5)
    h = s.get("fd_h", 0.001)
    eps = s.get("fd_eps", 1e-5)
    batch, n_in, n_out = s.get("layer_batch", 3), s.get("layer_in", 5), s.get("layer_out", 7)
    out = {}
    out.update(activation_demo(seed, low, high, size, h))
    out.update(bce_demo(seed, size, h))
    out.update(one_layer_demo(seed, size, eps))
    out.update(layer_demo(seed, batch, n_in, n_out))
    out.update(layer_check_grads(seed, batch, n_in, n_out, low, high, s.get("relu_check_low", 1.0)))
    return out
