"""Neural-network components of write-up 002 (sections 1.2-1.5), in plain NumPy.

The functions and classes follow the write-up's code line by line, because its printed
numbers are reproduced from them: the same expressions, the same order of operations,
the same random draws. Two quirks of the write-up are kept on purpose and can be
switched off where they change a result:

* ``Linear`` draws its weights from uniform(-a, a) with ``a = sqrt(6 / (n_in * n_out))``
  (``init="seed"``). Xavier/Glorot uses ``n_in + n_out`` (``init="xavier"``). Both draw
  the same number of values from the generator, so the RNG chain of a notebook session
  is the same under either rule.
* ``relu_grad`` is 1 at x = 0 (the write-up's ``np.where(x < 0, 0, 1)``).

The write-up's ``Linear`` takes a generator created once at class-definition time as its
default argument; every run of the write-up passes ``rng`` explicitly, so here ``rng`` is
a required argument and the RNG chain is explicit (see :mod:`dlrepro.studies.scratch_backprop.digits`).
"""
from __future__ import annotations

import re
from typing import Callable, Sequence

import numpy as np

__all__ = [
    "sigmoid", "sigmoid_grad", "relu", "relu_grad", "bce_loss", "bce_loss_grad",
    "central_difference", "central_difference_h", "numerical_gradient",
    "Linear", "Sigmoid", "ReLU", "Net", "parse_layer", "build_net", "linear_shapes",
    "INIT_RULES",
]


# ----------------------------------------------------------------------------- functions
def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def sigmoid_grad(x):
    return np.exp(-x) / (1 + np.exp(-x)) ** 2


def relu(x):
    return np.maximum(0, x)


def relu_grad(x):
    return np.where(x < 0, 0, 1)


def bce_loss(y, y_hat):
    return -(y * np.log(y_hat) + (1 - y) * np.log(1 - y_hat))


def bce_loss_grad(y, y_hat):
    return -(y / y_hat - (1 - y) / (1 - y_hat))


def central_difference(fn: Callable, x, eps: float):
    """Centred difference with half steps: ``(fn(x + eps/2) - fn(x - eps/2)) / eps``.

    For an element-wise ``fn`` this is the element-wise derivative (the write-up's check of
    the ReLU gradient, 1.2(f)).
    """
    return (fn(x + eps / 2) - fn(x - eps / 2)) / eps


def central_difference_h(fn: Callable, x, h: float):
    """Centred difference with full steps: ``(fn(x + h) - fn(x - h)) / (2 h)`` (the write-up's
    check of the BCE gradient, 1.2(k))."""
    return (fn(x + h) - fn(x - h)) / (2 * h)


def numerical_gradient(fn: Callable, x: np.ndarray, eps: float) -> np.ndarray:
    """Gradient of a scalar ``fn`` by centred differences, one coordinate at a time
    (the write-up's loop of 1.3(b): ``x_a[i] += eps/2``, ``x_b[i] -= eps/2``)."""
    x = np.asarray(x, dtype=float)
    grad = np.zeros(x.shape)
    for i in range(len(x)):
        x_a, x_b = x.copy(), x.copy()
        x_a[i] += eps / 2
        x_b[i] -= eps / 2
        grad[i] = (fn(x_a) - fn(x_b)) / eps
    return grad


# ----------------------------------------------------------------------------- layers
# "seed" names the write-up's rule (the documents were once called seeds). The value is
# kept: it is part of every digits plan, so it is written into each run's final.json and
# checkpoint fingerprint, and renaming it would retrain every 1.6 run.
INIT_RULES = ("seed", "xavier")


def init_bound(n_in: int, n_out: int, init: str = "seed") -> float:
    if init == "seed":
        return float(np.sqrt(6 / (n_in * n_out)))
    if init == "xavier":
        return float(np.sqrt(6 / (n_in + n_out)))
    raise ValueError(f"unknown init rule {init!r} (one of {INIT_RULES})")


class Linear:
    """y = x W + b, with W drawn from uniform(-a, a) and b = 0."""

    def __init__(self, n_in: int, n_out: int, rng: np.random.Generator, init: str = "seed"):
        a = init_bound(n_in, n_out, init)
        self.W = rng.uniform(-a, a, size=(n_in, n_out))
        self.b = np.zeros((n_out,))

    def forward(self, x):
        return x @ self.W + self.b

    def backward(self, x, dy):
        dx = dy @ self.W.T
        self.dW = x.T @ dy
        self.db = np.sum(dy, axis=0)
        return dx

    def step(self, step_size):
        self.W -= step_size * self.dW
        self.b -= step_size * self.db

    def params(self) -> list[np.ndarray]:
        return [self.W, self.b]

    def __str__(self):
        return "Linear %dx%d" % self.W.shape


class Sigmoid:
    def forward(self, x):
        return sigmoid(x)

    def backward(self, x, dy):
        return sigmoid_grad(x) * dy

    def step(self, step_size):
        return

    def params(self) -> list[np.ndarray]:
        return []

    def __str__(self):
        return "Sigmoid"


class ReLU:
    def forward(self, x):
        return relu(x)

    def backward(self, x, dy):
        return relu_grad(x) * dy

    def step(self, step_size):
        return

    def params(self) -> list[np.ndarray]:
        return []

    def __str__(self):
        return "ReLU"


class Net:
    """The write-up's container: forward keeps a trace of each layer's input for backward."""

    def __init__(self, layers):
        self.layers = list(layers)

    def forward(self, x):
        trace = []
        y = x
        for layer in self.layers:
            y = layer.forward(x)
            trace.append((layer, x))
            x = y
        return y, trace

    def backward(self, trace, dy):
        for layer, x in trace[::-1]:
            dy = layer.backward(x, dy)
        return dy

    def step(self, learning_rate):
        for layer in self.layers:
            layer.step(learning_rate)

    # -- state, for checkpoints
    def get_params(self) -> list[np.ndarray]:
        return [p.copy() for layer in self.layers for p in layer.params()]

    def set_params(self, params: Sequence[np.ndarray]) -> None:
        params = list(params)
        expected = sum(len(layer.params()) for layer in self.layers)
        if len(params) != expected:
            raise ValueError(f"expected {expected} parameter arrays, got {len(params)}")
        i = 0
        for layer in self.layers:
            if isinstance(layer, Linear):
                if params[i].shape != layer.W.shape or params[i + 1].shape != layer.b.shape:
                    raise ValueError(f"parameter shapes {params[i].shape}, {params[i + 1].shape} "
                                     f"do not fit {layer}")
                layer.W = np.array(params[i], dtype=float)
                layer.b = np.array(params[i + 1], dtype=float)
                i += 2

    def __str__(self):
        return "\n".join(str(layer) for layer in self.layers)


# ----------------------------------------------------------------------------- specs
_LINEAR_RE = re.compile(r"^\s*Linear\(\s*(\d+)\s*,\s*(\d+)\s*\)\s*$")


def parse_layer(spec: str) -> tuple:
    """``"Linear(64,32)"`` -> ``("Linear", 64, 32)``; ``"ReLU"`` -> ``("ReLU",)``."""
    m = _LINEAR_RE.match(spec)
    if m:
        return ("Linear", int(m.group(1)), int(m.group(2)))
    name = spec.strip()
    if name in ("ReLU", "Sigmoid"):
        return (name,)
    raise ValueError(f"unknown layer spec {spec!r} (Linear(n_in,n_out), ReLU or Sigmoid)")


def linear_shapes(layers: Sequence[str]) -> list[tuple[int, int]]:
    """The (n_in, n_out) of every Linear layer, in order (what the init draws)."""
    return [(p[1], p[2]) for p in map(parse_layer, layers) if p[0] == "Linear"]


def build_net(layers: Sequence[str], rng: np.random.Generator, init: str = "seed") -> Net:
    """Build a :class:`Net` from layer specs, drawing the Linear weights from ``rng`` in
    order (as the write-up's ``Net([Linear(64, 32, rng=rng), ReLU(), ...])`` does)."""
    out = []
    for p in map(parse_layer, layers):
        if p[0] == "Linear":
            out.append(Linear(p[1], p[2], rng=rng, init=init))
        elif p[0] == "ReLU":
            out.append(ReLU())
        else:
            out.append(Sigmoid())
    return Net(out)
