"""The ``scratch_backprop`` study (write-up 002): gradient descent and back-propagation in
plain NumPy/SciPy.

Modules: ``gd`` (1.1 gradient descent on f(x, y)), ``nn`` (1.2-1.5 activations, BCE,
layers, ``Net``), ``checks`` (1.2-1.4 seeded demonstrations and gradient checks),
``digits`` (1.6 data, training loop, RNG chain, checkpoints), ``compare`` (the
write-up-vs-ours acceptance table), ``plots`` and ``stages`` (one function per pipeline job).

The names below are imported on first use: rules/common.smk imports ``digits`` at every
Snakemake start, and ``gd`` pulls in scipy.optimize (0.35 s idle, over 1 s on a busy machine).
"""
import importlib

_EXPORTS = {
    "gd": ["f", "final_value_grid", "global_minimum", "grad_x_f", "grad_y_f", "optimize_f"],
    "nn": ["Linear", "Net", "ReLU", "Sigmoid", "bce_loss", "bce_loss_grad", "build_net",
           "relu", "relu_grad", "sigmoid", "sigmoid_grad"],
    "digits": ["fit", "prepare_digits", "run_plans", "train_run"],
    "compare": ["comparison_table"],
}
_MODULE_OF = {name: mod for mod, names in _EXPORTS.items() for name in names}
__all__ = list(_MODULE_OF)


def __getattr__(name):
    if name in _MODULE_OF:
        return getattr(importlib.import_module(f".{_MODULE_OF[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
