"""Keras-semantics optimizers against hand-written Keras update rules (numpy, float64).

Problem: w = [1.0, -2.0], loss = 0.5 * sum(c * w^2) with c = [1, 4], so grad = c * w.
Each reference below is the Keras rule written out step by step (see dlrepro.training.optimizers.keras
docstrings for the sources).
"""
import copy
import io
import math

import numpy as np
import pytest
import torch

from dlrepro.training.optimizers.keras import KerasAdadelta, KerasAdagrad, KerasAdam, KerasNadam, KerasRMSprop
from dlrepro.training.optimizers import build_optimizer

W0 = np.array([1.0, -2.0])
C = np.array([1.0, 4.0])


def grad(w):
    return C * w


def run_torch(opt_cls, n_steps=3, lrs=None, **kw):
    """Run the optimizer on the quadratic; returns the list of w after each step."""
    w = torch.nn.Parameter(torch.tensor(W0, dtype=torch.float64))
    opt = opt_cls([w], **kw)
    c = torch.tensor(C, dtype=torch.float64)
    out = []
    for i in range(n_steps):
        if lrs is not None:
            for g in opt.param_groups:
                g["lr"] = lrs[i]
        opt.zero_grad()
        (0.5 * (c * w * w).sum()).backward()
        opt.step()
        out.append(w.detach().numpy().copy())
    return out


def check(traj, ref):
    assert len(traj) == len(ref)
    for a, b in zip(traj, ref):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


# --------------------------------------------------------------------------- defaults

@pytest.mark.parametrize("name,expected", [
    ("keras_adagrad", dict(lr=1e-3, initial_accumulator_value=0.1, epsilon=1e-7)),
    ("keras_adadelta", dict(lr=1e-3, rho=0.95, epsilon=1e-7)),
    ("keras_rmsprop", dict(lr=1e-3, rho=0.9, epsilon=1e-7, momentum=0.0, centered=False)),
    ("keras_nadam", dict(lr=1e-3, beta_1=0.9, beta_2=0.999, epsilon=1e-7, momentum_cache_decay=0.004)),
    ("keras_adam", dict(lr=1e-3, beta_1=0.9, beta_2=0.999, epsilon=1e-7)),
])
def test_registered_with_keras_defaults(name, expected):
    opt = build_optimizer([torch.nn.Parameter(torch.zeros(2))], {"name": name})
    g = opt.param_groups[0]
    for k, v in expected.items():
        assert g[k] == v, (name, k)
    assert g["flavor"] == "keras2"


# --------------------------------------------------------------------------- Adagrad

def test_adagrad_keras2_hand_computed():
    lr, acc0, eps = 0.1, 0.1, 1e-7
    w, acc, ref = W0.copy(), np.full(2, acc0), []
    for _ in range(3):
        g = grad(w)
        acc = acc + g * g                          # accum += g^2
        w = w - lr * g / (np.sqrt(acc) + eps)      # ResourceApplyAdagradV2
        ref.append(w.copy())
    check(run_torch(KerasAdagrad, lr=lr), ref)


def test_adagrad_keras3_epsilon_inside_sqrt():
    lr, eps = 0.1, 0.5                            # large eps so inside/outside differ
    w, acc, ref = W0.copy(), np.full(2, 0.1), []
    for _ in range(3):
        g = grad(w)
        acc = acc + g * g
        w = w - lr * g / np.sqrt(acc + eps)
        ref.append(w.copy())
    check(run_torch(KerasAdagrad, lr=lr, epsilon=eps, flavor="keras3"), ref)
    k2 = run_torch(KerasAdagrad, lr=lr, epsilon=eps, flavor="keras2")
    assert not np.allclose(k2[-1], ref[-1])


# --------------------------------------------------------------------------- Adadelta

def test_adadelta_hand_computed_and_equals_torch_with_keras_defaults():
    lr, rho, eps = 1.0, 0.95, 1e-7
    w, eg2, edx2, ref = W0.copy(), np.zeros(2), np.zeros(2), []
    for _ in range(3):
        g = grad(w)
        eg2 = rho * eg2 + (1 - rho) * g * g
        d = np.sqrt(edx2 + eps) / np.sqrt(eg2 + eps) * g
        edx2 = rho * edx2 + (1 - rho) * d * d
        w = w - lr * d
        ref.append(w.copy())
    check(run_torch(KerasAdadelta, lr=lr), ref)
    # torch's Adadelta is the same formula once its defaults are replaced by Keras's
    check(run_torch(torch.optim.Adadelta, lr=lr, rho=rho, eps=eps), ref)


# --------------------------------------------------------------------------- RMSprop

def test_rmsprop_no_momentum_epsilon_outside():
    lr, rho, eps = 0.01, 0.9, 0.3
    w, ms, ref = W0.copy(), np.zeros(2), []
    for _ in range(3):
        g = grad(w)
        ms = rho * ms + (1 - rho) * g * g
        w = w - lr * g / (np.sqrt(ms) + eps)       # optimizer_v2 python branch
        ref.append(w.copy())
    check(run_torch(KerasRMSprop, lr=lr, epsilon=eps), ref)


def test_rmsprop_momentum_epsilon_inside_lr_inside_buffer():
    lrs, rho, mom, eps = [0.01, 0.005, 0.02], 0.9, 0.5, 0.3
    w, ms, buf, ref = W0.copy(), np.zeros(2), np.zeros(2), []
    for lr in lrs:
        g = grad(w)
        ms = ms + (g * g - ms) * (1 - rho)
        buf = buf * mom + g * lr / np.sqrt(ms + eps)   # ResourceApplyRMSProp kernel
        w = w - buf
        ref.append(w.copy())
    check(run_torch(KerasRMSprop, lrs=lrs, lr=lrs[0], momentum=mom, epsilon=eps), ref)
    # torch: eps outside the sqrt and lr outside the buffer -> different trajectory
    t = run_torch(torch.optim.RMSprop, lrs=lrs, lr=lrs[0], alpha=rho, momentum=mom, eps=eps)
    assert not np.allclose(t[-1], ref[-1])


def test_rmsprop_centered_both_branches():
    lr, rho, eps = 0.01, 0.9, 0.3
    for mom in (0.0, 0.5):
        w, ms, mg, buf, ref = W0.copy(), np.zeros(2), np.zeros(2), np.zeros(2), []
        for _ in range(3):
            g = grad(w)
            ms = rho * ms + (1 - rho) * g * g
            mg = rho * mg + (1 - rho) * g
            if mom == 0:
                w = w - lr * g / (np.sqrt(ms - mg * mg) + eps)
            else:
                buf = mom * buf + lr * g / np.sqrt(ms - mg * mg + eps)
                w = w - buf
            ref.append(w.copy())
        check(run_torch(KerasRMSprop, lr=lr, epsilon=eps, momentum=mom, centered=True), ref)


def test_rmsprop_keras3_epsilon_inside():
    lr, rho, eps = 0.01, 0.9, 0.3
    w, ms, ref = W0.copy(), np.zeros(2), []
    for _ in range(3):
        g = grad(w)
        ms = rho * ms + (1 - rho) * g * g
        w = w - lr * g / np.sqrt(ms + eps)
        ref.append(w.copy())
    check(run_torch(KerasRMSprop, lr=lr, epsilon=eps, flavor="keras3"), ref)


# --------------------------------------------------------------------------- Adam

def adam_ref(lr, b1, b2, eps, n=3):
    w, m, v, ref = W0.copy(), np.zeros(2), np.zeros(2), []
    for t in range(1, n + 1):
        g = grad(w)
        alpha = lr * math.sqrt(1 - b2 ** t) / (1 - b1 ** t)
        m = m + (g - m) * (1 - b1)
        v = v + (g * g - v) * (1 - b2)
        w = w - m * alpha / (np.sqrt(v) + eps)      # epsilon-hat form
        ref.append(w.copy())
    return ref


def test_adam_hand_computed_epsilon_hat():
    ref = adam_ref(0.1, 0.9, 0.999, 1e-7)
    check(run_torch(KerasAdam, lr=0.1), ref)


def test_adam_differs_from_torch_only_by_epsilon_placement():
    lr, eps = 0.1, 0.05
    ref = adam_ref(lr, 0.9, 0.999, eps)
    check(run_torch(KerasAdam, lr=lr, epsilon=eps), ref)
    t_same = run_torch(torch.optim.Adam, lr=lr, eps=eps)
    assert not np.allclose(t_same[0], ref[0])
    # first step: Keras eps-hat == torch eps * sqrt(1 - b2^1)
    t_equiv = run_torch(torch.optim.Adam, n_steps=1, lr=lr, eps=eps / math.sqrt(1 - 0.999))
    np.testing.assert_allclose(t_equiv[0], ref[0], rtol=1e-12)


# --------------------------------------------------------------------------- Nadam

def nadam_ref(lr, b1, b2, eps, decay, n=3):
    w, m, v, prod, ref = W0.copy(), np.zeros(2), np.zeros(2), 1.0, []
    for t in range(1, n + 1):
        g = grad(w)
        mu_t = b1 * (1 - 0.5 * 0.96 ** (decay * t))
        mu_next = b1 * (1 - 0.5 * 0.96 ** (decay * (t + 1)))
        prod = prod * mu_t                          # m_schedule_new
        g_prime = g / (1 - prod)
        m = b1 * m + (1 - b1) * g
        m_prime = m / (1 - prod * mu_next)          # m_schedule_next
        v = b2 * v + (1 - b2) * g * g
        v_prime = v / (1 - b2 ** t)
        m_bar = (1 - mu_t) * g_prime + mu_next * m_prime
        w = w - lr * m_bar / (np.sqrt(v_prime) + eps)
        ref.append(w.copy())
    return ref


def test_nadam_keras2_hand_computed_and_torch_nadam_agrees():
    ref = nadam_ref(0.1, 0.9, 0.999, 1e-7, 0.004)
    check(run_torch(KerasNadam, lr=0.1), ref)
    # torch.optim.NAdam is the same rule (its mu_product is a float32 scalar -> ~1e-9 noise)
    t = run_torch(torch.optim.NAdam, lr=0.1, eps=1e-7, momentum_decay=0.004)
    for a, b in zip(t, ref):
        np.testing.assert_allclose(a, b, rtol=1e-7)


def test_nadam_keras3_mu_schedule():
    ref = nadam_ref(0.1, 0.9, 0.999, 1e-7, 1.0)     # 0.96 ** t
    check(run_torch(KerasNadam, lr=0.1, flavor="keras3"), ref)
    assert not np.allclose(ref[-1], nadam_ref(0.1, 0.9, 0.999, 1e-7, 0.004)[-1])


# --------------------------------------------------------------------------- Keras docstring examples

@pytest.mark.parametrize("cls,kw,expected,digits", [
    (KerasRMSprop, dict(lr=0.1), 9.683772, 5),   # keras RMSprop docstring
    (KerasAdam, dict(lr=0.1), 9.9, 1),           # keras Adam docstring
    (KerasNadam, dict(lr=0.2), 9.8, 1),          # keras Nadam docstring
])
def test_keras_docstring_examples(cls, kw, expected, digits):
    var = torch.nn.Parameter(torch.tensor(10.0))
    opt = cls([var], **kw)
    ((var ** 2) / 2.0).backward()
    opt.step()
    assert round(var.item(), digits) == round(expected, digits)


# --------------------------------------------------------------------------- global step, state_dict

def test_global_iteration_counter_used_for_bias_correction():
    a = torch.nn.Parameter(torch.tensor([1.0], dtype=torch.float64))
    b = torch.nn.Parameter(torch.tensor([1.0], dtype=torch.float64))
    opt = KerasAdam([a, b], lr=0.1)
    a.grad = torch.tensor([1.0], dtype=torch.float64)     # b has no grad at step 1
    opt.step()
    b.grad = torch.tensor([1.0], dtype=torch.float64)
    a.grad = None
    opt.step()                                           # Keras local_step = 2 for b
    t = 2
    m, v = 0.1 * 1.0, 0.001 * 1.0
    expected = 1.0 - (0.1 * math.sqrt(1 - 0.999 ** t) / (1 - 0.9 ** t)) * m / (math.sqrt(v) + 1e-7)
    assert b.item() == pytest.approx(expected, rel=1e-12)
    assert opt.param_groups[0]["iterations"] == 2


@pytest.mark.parametrize("cls,kw", [
    (KerasAdagrad, {}), (KerasAdadelta, dict(lr=1.0)), (KerasRMSprop, dict(momentum=0.5, centered=True)),
    (KerasAdam, {}), (KerasNadam, {}),
])
def test_state_dict_round_trip(cls, kw):
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 2).double()
    x = torch.randn(8, 3, dtype=torch.float64)

    def train(m, o, n):
        for _ in range(n):
            o.zero_grad()
            m(x).pow(2).mean().backward()
            o.step()

    ref_model = copy.deepcopy(model)
    ref_opt = cls(ref_model.parameters(), **kw)
    train(ref_model, ref_opt, 4)

    opt = cls(model.parameters(), **kw)
    train(model, opt, 2)
    buf = io.BytesIO()
    torch.save({"model": model.state_dict(), "opt": opt.state_dict()}, buf)
    buf.seek(0)
    ck = torch.load(buf)
    model2 = torch.nn.Linear(3, 2).double()
    model2.load_state_dict(ck["model"])
    opt2 = cls(model2.parameters(), **kw)
    opt2.load_state_dict(ck["opt"])
    assert opt2.param_groups[0]["iterations"] == 2
    train(model2, opt2, 2)
    for p, q in zip(model2.parameters(), ref_model.parameters()):
        torch.testing.assert_close(p, q, rtol=0, atol=0)
