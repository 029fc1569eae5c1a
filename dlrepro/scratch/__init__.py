"""The ``scratch_backprop`` study (seed 002): gradient descent and back-propagation in
plain NumPy/SciPy.

Modules: ``gd`` (1.1 gradient descent on f(x, y)), ``nn`` (1.2-1.5 activations, BCE,
layers, ``Net``), ``checks`` (1.2-1.4 seeded demonstrations and gradient checks),
``digits`` (1.6 data, training loop, RNG chain, checkpoints), ``compare`` (the
seed-vs-ours acceptance table), ``plots`` and ``stages`` (one function per pipeline job).
"""
from .gd import f, final_value_grid, global_minimum, grad_x_f, grad_y_f, optimize_f  # noqa: F401
from .nn import (Linear, Net, ReLU, Sigmoid, bce_loss, bce_loss_grad, build_net,  # noqa: F401
                 relu, relu_grad, sigmoid, sigmoid_grad)
from .digits import fit, prepare_digits, run_plans, train_run  # noqa: F401
from .compare import comparison_table  # noqa: F401
