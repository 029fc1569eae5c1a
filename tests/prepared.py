"""Prepared data sets for tests, written as ``prepare_data`` writes them: every key
``load_prepared`` expects and the integrity record (``save_prepared``)."""
from pathlib import Path

import torch

from dlrepro.data.prepare import save_prepared


def write_prepared(path: Path, train_x: torch.Tensor, train_y: torch.Tensor, test_x: torch.Tensor | None = None,
                   test_y: torch.Tensor | None = None, dataset: str = "kmnist", classes: list[str] | None = None,
                   synthetic: bool = True) -> Path:
    """Save tensors as a prepared data set (test split: the first two training images unless
    given; mean/std: the images' own; source ``synthetic``)."""
    test_x = train_x[:2] if test_x is None else test_x
    test_y = train_y[:2] if test_y is None else test_y
    channels = train_x.shape[1]
    flat = train_x.float().div(255).transpose(0, 1).reshape(channels, -1)
    save_prepared({"train_x": train_x, "train_y": train_y, "test_x": test_x, "test_y": test_y,
                   "classes": classes or [str(i) for i in range(10)],
                   "mean": flat.mean(1).tolist(), "std": flat.std(1).clamp_min(1e-6).tolist(),
                   "synthetic": synthetic, "dataset": dataset, "source": "synthetic" if synthetic else "torchvision",
                   "manifest_md5s": {}}, path)
    return path
