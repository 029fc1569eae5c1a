"""Optimizers built by name from a run's ``optimizer`` mapping: the registry
(``registry``), PyTorch's own (``torch_optimizers``) and Keras-semantics ports
(``keras``, the ``keras_*`` names). The modules below are all that fill the registry."""
from dlrepro.training.optimizers.registry import REGISTRY, build_optimizer, optimizer_names, register_optimizer
from dlrepro.training.optimizers import keras, torch_optimizers  # noqa: F401  (each registers its optimizers)

__all__ = ["REGISTRY", "build_optimizer", "optimizer_names", "register_optimizer"]
