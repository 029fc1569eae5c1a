"""The sample-image figures of the write-ups (analysis kind `samples`)."""
import torch
from PIL import Image

from dlrepro.outputs.analyses import run_analysis
from dlrepro.outputs.training_analyses import sample_indices

from prepared import write_prepared


def test_sample_indices():
    labels = [3, 1, 3, 0, 2, 1]
    assert sample_indices(labels, "per_class", 10) == [3, 1, 4, 0]   # first image of classes 0, 1, 2, 3
    assert sample_indices(labels, "per_class", 2) == [3, 1]
    assert sample_indices(labels, "first", 4) == [0, 1, 2, 3]


def test_samples_figure_from_prepared_data(tmp_path):
    g = torch.Generator().manual_seed(0)
    write_prepared(tmp_path / "d.pt", torch.randint(0, 255, (40, 1, 28, 28), generator=g, dtype=torch.uint8),
                   torch.arange(40) % 10, classes=[f"c{i}" for i in range(10)])
    out = tmp_path / "samples.png"
    run_analysis({"kind": "samples", "args": {"mode": "per_class", "n": 10, "cols": 5}}, str(out),
                 data_path=str(tmp_path / "d.pt"))
    with Image.open(out) as im:
        assert im.size[0] > 400 and im.size[1] > 200
