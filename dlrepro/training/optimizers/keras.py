"""Keras-semantics optimizers for PyTorch (seed 003, P1 and P4).

The seed trained with ``tf.keras`` optimizers at their *Keras* defaults; its log
shows ``keras\\optimizer_v2\\adam.py`` warnings, i.e. TF 2.x ``optimizer_v2``
(Keras 2.0-2.10).  These classes therefore follow **Keras 2 optimizer_v2**
semantics by default (``flavor="keras2"``).  ``flavor="keras3"`` switches to the
update rules of the "new" optimizers (``keras.optimizers`` in Keras >= 2.11 and
Keras 3), where they differ.

Sources (update rules read from the source, not the docs):

* Keras 2 ``keras/optimizers/optimizer_v2/{adagrad,adadelta,rmsprop,adam,nadam}.py``;
  Adagrad/Adadelta/Adam and RMSprop-with-momentum call the fused TF kernels
  ``ResourceApplyAdagradV2`` / ``ResourceApplyAdadelta`` / ``ResourceApplyAdam`` /
  ``ResourceApply(Centered)RMSProp`` in ``tensorflow/core/kernels/training_ops.cc``;
  RMSprop without momentum and Nadam are written out in Python.
* Keras 3 ``keras/src/optimizers/{adagrad,adadelta,rmsprop,adam,nadam}.py``
  (identical rules in Keras 2.11+ ``keras/optimizers/*.py``).

Common conventions (all five classes)

* ``iterations`` is **one counter per optimizer** (Keras's ``optimizer.iterations``),
  stored in every param group and incremented once per ``step()`` call (a group added
  later with ``add_param_group`` starts at 0).  Bias
  corrections use it, so a parameter whose gradient is ``None`` for a while still
  sees the global step when it starts to move (torch keeps a per-parameter
  ``step``).  Parameters with ``grad is None`` are skipped, as Keras skips
  variables with no gradient.
* Slots are created lazily on the first update of a parameter (Keras builds them
  on the first ``apply_gradients``).  Everything lives in ``self.state`` or the
  param groups, so ``state_dict()`` / ``load_state_dict()`` round-trip it.
* No weight decay: Keras's ``kernel_regularizer`` L2 belongs in the loss.
* Not reproduced: ``epsilon=0`` being silently replaced by ``1e-7``
  (``epsilon or backend_config.epsilon()`` in optimizer_v2), the optimizer_v2
  ``decay`` time-inverse lr decay, sparse (IndexedSlices) updates.
"""
from __future__ import annotations

import math

import torch

from dlrepro.training.optimizers.registry import register_optimizer

_FLAVORS = ("keras2", "keras3")


class _KerasOptimizer(torch.optim.Optimizer):
    """Shared plumbing: validation, the global ``iterations`` counter, closure."""

    def __init__(self, params, defaults: dict):
        if defaults["lr"] < 0:
            raise ValueError(f"invalid learning rate {defaults['lr']}")
        if defaults.get("flavor", "keras2") not in _FLAVORS:
            raise ValueError(f"flavor must be one of {_FLAVORS}, got {defaults['flavor']!r}")
        if "epsilon" in defaults and defaults["epsilon"] < 0:
            raise ValueError(f"invalid epsilon {defaults['epsilon']}")
        defaults = dict(defaults, iterations=0)
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            t = group["iterations"] + 1  # Keras's local_step = iterations + 1
            self._group_prepare(group, t)
            for p in group["params"]:
                if p.grad is None:
                    continue
                if p.grad.is_sparse:
                    raise RuntimeError(f"{type(self).__name__} does not support sparse gradients")
                self._update(p, p.grad, self.state[p], group, t)
            group["iterations"] = t
        return loss

    def _group_prepare(self, group: dict, t: int) -> None:  # per-step scalars
        pass

    def _update(self, p, g, state, group, t) -> None:  # pragma: no cover
        raise NotImplementedError


@register_optimizer("keras_adagrad")
class KerasAdagrad(_KerasOptimizer):
    r"""Adagrad as ``tf.keras.optimizers.Adagrad`` (defaults lr 1e-3, accumulator 0.1, eps 1e-7).

    keras2 (optimizer_v2 -> ``ResourceApplyAdagradV2``)::

        acc <- acc + g^2                       (acc starts at initial_accumulator_value)
        w   <- w - lr * g / (sqrt(acc) + eps)

    keras3: ``w <- w - lr * g / sqrt(acc + eps)`` (epsilon *inside* the sqrt).

    vs ``torch.optim.Adagrad``: the keras2 rule is the same formula; only the
    defaults differ (torch: lr 1e-2, initial_accumulator_value 0, eps 1e-10,
    plus an lr_decay term Keras does not have).
    """

    def __init__(self, params, lr: float = 1e-3, initial_accumulator_value: float = 0.1,
                 epsilon: float = 1e-7, flavor: str = "keras2"):
        if initial_accumulator_value < 0:
            raise ValueError("initial_accumulator_value must be non-negative")
        super().__init__(params, dict(lr=lr, initial_accumulator_value=initial_accumulator_value,
                                      epsilon=epsilon, flavor=flavor))

    def _update(self, p, g, state, group, t):
        if "accumulator" not in state:
            state["accumulator"] = torch.full_like(p, group["initial_accumulator_value"],
                                                   memory_format=torch.preserve_format)
        acc = state["accumulator"]
        acc.addcmul_(g, g)
        if group["flavor"] == "keras2":
            denom = acc.sqrt().add_(group["epsilon"])
        else:
            denom = acc.add(group["epsilon"]).sqrt_()
        p.addcdiv_(g, denom, value=-group["lr"])


@register_optimizer("keras_adadelta")
class KerasAdadelta(_KerasOptimizer):
    r"""Adadelta as ``tf.keras.optimizers.Adadelta`` (defaults lr 1e-3, rho 0.95, eps 1e-7).

    Both Keras versions (``ResourceApplyAdadelta``; Keras 3 ``update_step``)::

        Eg2  <- rho * Eg2 + (1 - rho) * g^2
        d    <- sqrt(Edx2 + eps) / sqrt(Eg2 + eps) * g
        Edx2 <- rho * Edx2 + (1 - rho) * d^2
        w    <- w - lr * d

    vs ``torch.optim.Adadelta``: identical formula; defaults differ (torch lr 1.0,
    rho 0.9, eps 1e-6).  Keras's lr of 1e-3 multiplies the "unit-correct"
    Adadelta step, which is why the seed's Adadelta barely moves (final L2 loss 37.67).
    """

    def __init__(self, params, lr: float = 1e-3, rho: float = 0.95, epsilon: float = 1e-7,
                 flavor: str = "keras2"):
        super().__init__(params, dict(lr=lr, rho=rho, epsilon=epsilon, flavor=flavor))

    def _update(self, p, g, state, group, t):
        if "accum_grad" not in state:
            state["accum_grad"] = torch.zeros_like(p, memory_format=torch.preserve_format)
            state["accum_update"] = torch.zeros_like(p, memory_format=torch.preserve_format)
        rho, eps = group["rho"], group["epsilon"]
        eg2, edx2 = state["accum_grad"], state["accum_update"]
        eg2.mul_(rho).addcmul_(g, g, value=1 - rho)
        d = edx2.add(eps).sqrt_().div_(eg2.add(eps).sqrt_()).mul_(g)
        edx2.mul_(rho).addcmul_(d, d, value=1 - rho)
        p.add_(d, alpha=-group["lr"])


@register_optimizer("keras_rmsprop")
class KerasRMSprop(_KerasOptimizer):
    r"""RMSprop as ``tf.keras.optimizers.RMSprop`` (defaults lr 1e-3, rho 0.9, eps 1e-7, momentum 0).

    keras2, ``momentum == 0`` (Python branch of optimizer_v2)::

        ms <- rho * ms + (1 - rho) * g^2
        mg <- rho * mg + (1 - rho) * g                 (centered only)
        w  <- w - lr * g / (sqrt(ms [- mg^2]) + eps)   (eps OUTSIDE the sqrt)

    keras2, ``momentum > 0`` (``ResourceApply(Centered)RMSProp`` kernel)::

        mom <- momentum * mom + lr * g / sqrt(ms [- mg^2] + eps)   (eps INSIDE)
        w   <- w - mom

    keras3: always ``sqrt(ms [- mg^2] + eps)`` (eps inside), lr inside the
    momentum buffer as in the keras2 kernel.

    vs ``torch.optim.RMSprop`` (``alpha`` = rho): with momentum 0 the keras2 rule
    is torch's formula (defaults differ: torch lr 1e-2, alpha 0.99, eps 1e-8).  With
    momentum torch keeps eps outside the sqrt and the lr outside the buffer
    (``buf <- m*buf + g/(sqrt(ms)+eps); w <- w - lr*buf``), which differs from Keras
    whenever eps matters or the lr changes over time.
    """

    def __init__(self, params, lr: float = 1e-3, rho: float = 0.9, momentum: float = 0.0,
                 epsilon: float = 1e-7, centered: bool = False, flavor: str = "keras2"):
        if not 0.0 <= momentum <= 1.0:
            raise ValueError(f"momentum must be in [0, 1], got {momentum}")
        super().__init__(params, dict(lr=lr, rho=rho, momentum=momentum, epsilon=epsilon,
                                      centered=centered, flavor=flavor))

    def _update(self, p, g, state, group, t):
        rho, eps, mom_coef = group["rho"], group["epsilon"], group["momentum"]
        if "rms" not in state:
            state["rms"] = torch.zeros_like(p, memory_format=torch.preserve_format)
        ms = state["rms"]
        ms.mul_(rho).addcmul_(g, g, value=1 - rho)
        var = ms
        if group["centered"]:
            if "mg" not in state:
                state["mg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
            mg = state["mg"]
            mg.mul_(rho).add_(g, alpha=1 - rho)
            var = ms - mg * mg
        eps_inside = group["flavor"] == "keras3" or mom_coef > 0
        denom = var.add(eps).sqrt_() if eps_inside else var.sqrt().add_(eps)
        if mom_coef > 0:
            if "momentum" not in state:
                state["momentum"] = torch.zeros_like(p, memory_format=torch.preserve_format)
            buf = state["momentum"]
            buf.mul_(mom_coef).addcdiv_(g, denom, value=group["lr"])
            p.sub_(buf)
        else:
            p.addcdiv_(g, denom, value=-group["lr"])


@register_optimizer("keras_adam")
class KerasAdam(_KerasOptimizer):
    r"""Adam as ``tf.keras.optimizers.Adam`` (defaults lr 1e-3, 0.9, 0.999, eps 1e-7).

    Both Keras versions (``ResourceApplyAdam``; Keras 3 ``update_step``), t = iterations + 1::

        alpha <- lr * sqrt(1 - b2^t) / (1 - b1^t)
        m <- b1 * m + (1 - b1) * g
        v <- b2 * v + (1 - b2) * g^2
        w <- w - alpha * m / (sqrt(v) + eps)

    eps here is the paper's "epsilon hat" (formula before Sec. 2.1 of Kingma & Ba).
    ``torch.optim.Adam`` uses Algorithm 1: ``w <- w - lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps)``,
    i.e. Keras == torch with eps_torch = eps_keras / sqrt(1 - b2^t), a time-varying
    epsilon (at t=1 with b2 = 0.999 Keras's 1e-7 acts like torch's 3.16e-6; the two
    converge as t grows).  It matters where sqrt(v) is not >> eps (tiny gradients).
    """

    def __init__(self, params, lr: float = 1e-3, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-7, flavor: str = "keras2"):
        for b in (beta_1, beta_2):
            if not 0.0 <= b < 1.0:
                raise ValueError(f"invalid beta {b}")
        super().__init__(params, dict(lr=lr, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon,
                                      flavor=flavor))

    def _update(self, p, g, state, group, t):
        b1, b2 = group["beta_1"], group["beta_2"]
        alpha = group["lr"] * math.sqrt(1 - b2 ** t) / (1 - b1 ** t)
        if "m" not in state:
            state["m"] = torch.zeros_like(p, memory_format=torch.preserve_format)
            state["v"] = torch.zeros_like(p, memory_format=torch.preserve_format)
        m, v = state["m"], state["v"]
        m.lerp_(g, 1 - b1)
        v.mul_(b2).addcmul_(g, g, value=1 - b2)
        p.addcdiv_(m, v.sqrt().add_(group["epsilon"]), value=-alpha)


@register_optimizer("keras_nadam")
class KerasNadam(_KerasOptimizer):
    r"""Nadam as ``tf.keras.optimizers.Nadam`` (defaults lr 1e-3, 0.9, 0.999, eps 1e-7).

    keras2 (optimizer_v2/nadam.py), t = iterations + 1, momentum_cache_decay d = 0.004::

        mu_t      = b1 * (1 - 0.5 * 0.96^(d * t))
        mu_{t+1}  = b1 * (1 - 0.5 * 0.96^(d * (t + 1)))
        P_t       = prod_{i<=t} mu_i                 ("m_cache", one scalar per optimizer)
        m <- b1 * m + (1 - b1) * g
        v <- b2 * v + (1 - b2) * g^2
        m_bar = (1 - mu_t) * g / (1 - P_t) + mu_{t+1} * m / (1 - P_t * mu_{t+1})
        w <- w - lr * m_bar / (sqrt(v / (1 - b2^t)) + eps)

    keras3 (and Keras >= 2.11): the same with ``0.96^t`` instead of ``0.96^(0.004 t)``
    (``momentum_cache_decay = 1``), so mu_t approaches b1 within ~100 steps instead
    of tens of thousands (keras2: mu_t = 0.45 at t=1, still ~0.81 at t=10^4).  Pass ``flavor="keras3"`` (or set ``momentum_cache_decay``).

    vs ``torch.optim.NAdam``: torch implements exactly the keras2 rule
    (``momentum_decay=4e-3``, eps outside the sqrt of the bias-corrected v); only the
    defaults differ (torch lr 2e-3, eps 1e-8), and torch keeps ``mu_product`` and
    ``step`` per parameter instead of one cache per optimizer.
    """

    def __init__(self, params, lr: float = 1e-3, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-7, flavor: str = "keras2",
                 momentum_cache_decay: float | None = None):
        if momentum_cache_decay is None:
            momentum_cache_decay = 0.004 if flavor == "keras2" else 1.0
        super().__init__(params, dict(lr=lr, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon,
                                      flavor=flavor, momentum_cache_decay=momentum_cache_decay,
                                      mu_product=1.0))

    def _group_prepare(self, group, t):
        b1, d = group["beta_1"], group["momentum_cache_decay"]
        mu_t = b1 * (1.0 - 0.5 * 0.96 ** (d * t))
        mu_next = b1 * (1.0 - 0.5 * 0.96 ** (d * (t + 1)))
        prod = group["mu_product"] * mu_t
        group["mu_product"] = prod  # Keras updates m_cache once per apply_gradients
        self._coef = (mu_t, mu_next, prod)

    def _update(self, p, g, state, group, t):
        b1, b2, eps, lr = group["beta_1"], group["beta_2"], group["epsilon"], group["lr"]
        mu_t, mu_next, prod = self._coef
        if "m" not in state:
            state["m"] = torch.zeros_like(p, memory_format=torch.preserve_format)
            state["v"] = torch.zeros_like(p, memory_format=torch.preserve_format)
        m, v = state["m"], state["v"]
        m.lerp_(g, 1 - b1)
        v.mul_(b2).addcmul_(g, g, value=1 - b2)
        denom = v.div(1 - b2 ** t).sqrt_().add_(eps)
        p.addcdiv_(g, denom, value=-lr * (1 - mu_t) / (1 - prod))
        p.addcdiv_(m, denom, value=-lr * mu_next / (1 - prod * mu_next))


__all__ = ["KerasAdagrad", "KerasAdadelta", "KerasRMSprop", "KerasAdam", "KerasNadam"]
