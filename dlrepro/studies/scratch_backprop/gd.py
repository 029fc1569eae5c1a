"""Section 1.1: gradient descent on f(x, y) = x^2 + y^2 + x (y + 2) + cos(3x).

``optimize_f`` is the write-up's final version (1.1(g)): step ``eta_t = eta_0 * decay**t``;
``decay=1`` is the fixed step of 1.1(a) (``decay**t`` is then exactly 1.0, so both
versions give bit-identical paths).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.optimize

__all__ = ["f", "grad_x_f", "grad_y_f", "GDResult", "optimize_f", "final_value_grid",
           "global_minimum", "contour_grid"]


def f(x, y):
    return x ** 2 + y ** 2 + x * (y + 2) + np.cos(3 * x)


def grad_x_f(x, y):
    return 2 * x - 3 * np.sin(3 * x) + y + 2


def grad_y_f(x, y):
    return x + 2 * y


@dataclass
class GDResult:
    x: float
    y: float
    value: float
    x_hist: list = field(default_factory=list)
    y_hist: list = field(default_factory=list)

    @property
    def f_hist(self) -> np.ndarray:
        return f(np.array(self.x_hist, dtype=float), np.array(self.y_hist, dtype=float))


def optimize_f(x: float, y: float, step_size: float, steps: int, decay: float = 1.0) -> GDResult:
    """Gradient descent from (x, y); returns the final point, f there, and the path."""
    x_hist, y_hist = [x], [y]
    for step in range(steps):
        dx = grad_x_f(x, y)
        dy = grad_y_f(x, y)
        eta = step_size * np.power(decay, step)
        x = x - eta * dx
        y = y - eta * dy
        x_hist.append(x)
        y_hist.append(y)
    return GDResult(float(x), float(y), float(f(x, y)), x_hist, y_hist)


def final_value_grid(x0: float, y0: float, step_sizes, steps_list, decay: float = 1.0) -> np.ndarray:
    """f after gradient descent for every (step size, number of steps): shape
    ``(len(step_sizes), len(steps_list))``. One descent per step size, read off at each
    number of steps (the path of n steps is the prefix of the path of m > n steps).
    Diverged entries are ``inf``/``nan``."""
    steps_list = [int(s) for s in steps_list]
    n_max = max(steps_list)
    out = np.empty((len(step_sizes), len(steps_list)))
    with np.errstate(over="ignore", invalid="ignore"):
        for i, eta in enumerate(step_sizes):
            res = optimize_f(x0, y0, float(eta), n_max, decay)
            fh = res.f_hist
            out[i] = [fh[n] for n in steps_list]
    return out


def global_minimum(bound: float = 5.0, starts_per_axis: int = 11) -> dict:
    """The global minimum of f on [-bound, bound]^2: L-BFGS-B with the analytic gradient
    from every point of a regular grid of starts, best result kept."""
    def fun(p):
        return float(f(p[0], p[1]))

    def jac(p):
        return np.array([grad_x_f(p[0], p[1]), grad_y_f(p[0], p[1])], dtype=float)

    best = None
    grid = np.linspace(-bound, bound, starts_per_axis)
    for sx in grid:
        for sy in grid:
            r = scipy.optimize.minimize(fun, np.array([sx, sy]), jac=jac, method="L-BFGS-B",
                                        bounds=[(-bound, bound)] * 2,
                                        options={"ftol": 1e-15, "gtol": 1e-12, "maxiter": 1000})
            if best is None or r.fun < best.fun:
                best = r
    x, y = (float(v) for v in best.x)
    g = jac(best.x)
    return {"x": x, "y": y, "value": float(best.fun), "grad_norm": float(np.hypot(*g)),
            "starts": starts_per_axis ** 2}


def contour_grid(lim: float = 5.0, n: int = 50):
    """The write-up's plot grid: ``meshgrid(linspace(-5, 5), linspace(-5, 5))`` and f on it."""
    xx, yy = np.meshgrid(np.linspace(-lim, lim, n), np.linspace(-lim, lim, n))
    return xx, yy, f(xx, yy)
