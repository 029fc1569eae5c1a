"""The cost model (dlrepro.training.cost): a run's estimate from the measured per-sample
figures, and what its training job asks a scheduler for."""
import math
from pathlib import Path

import pytest
import yaml

from dlrepro.config import resolve
from dlrepro.training import cost

ROOT = Path(__file__).resolve().parents[2]
POLICY = {"safety": 2.0, "min_runtime": 10, "mem_safety": 1.5, "job_overhead_mb": 300, "min_mem_mb": 1000,
          "group_below": 30, "fallback": {"runtime": 720, "mem_mb": 4000}}


def _settings(**kw):
    s = {"dataset": "kmnist", "model": "kmnist_mlp", "model_args": {"arch": "plain"}, "batch_size": 64,
         "epochs": 4, "optimizer": {"name": "adamw", "lr": 0.001}, "seed": 0}
    s.update(kw)
    return s


def _costs(s, cpu=None, cuda=None, gpu_factor=10):
    g = {"key": cost.train_fields(s)}
    if cpu:
        g["cpu"] = cpu
    if cuda:
        g["cuda"] = cuda
    return cost.Costs({"gpu_factor": gpu_factor, "base_mb": {"cpu": 700.0}, "startup_s": {"cpu": 5.0},
                       "groups": [g]})


FIG = {"train_s": 1e-3, "eval_s": 1e-4, "fixed_mb": 2.0, "train_mb": 10.0, "train_images": 64,
       "eval_mb": 4.0, "eval_images": 128}


def test_loop_defaults_are_the_trainers():
    from dlrepro.training import trainer

    assert trainer.LOOP_DEFAULTS is cost.LOOP_DEFAULTS and trainer.EVAL_CHUNK == cost.EVAL_CHUNK


def test_image_shapes_are_the_registrys():
    from dlrepro.data.registry import DATASETS

    assert {name: tuple(spec.shape) for name, spec in DATASETS.items()} == cost.IMAGE_SHAPES


def test_estimate_by_hand():
    s = _settings()
    est = cost.estimate(s, _costs(s, cpu=FIG), "cpu")
    # 4 epochs x (60000 train x 1 ms + (10000 val + 0 running train acc) x 0.1 ms)
    assert est.seconds == pytest.approx(4 * (60000 * 1e-3 + 10000 * 1e-4))
    assert est.source == "measured"
    data = (60000 + 10000) * (784 + 8) / 2 ** 20
    # base + data + fixed + max(train step at 64 of 64 images, eval chunk of 4096 scaled from 128)
    assert est.mem_mb == pytest.approx(700 + data + 2 + max(10.0, 4.0 * 4096 / 128))


def test_gpu_figures_measured_or_from_the_stated_factor():
    s = _settings()
    est = cost.estimate(s, _costs(s, cpu=FIG, gpu_factor=20), "cuda")
    assert est.source == "gpu_factor"
    assert est.seconds == pytest.approx(cost.estimate(s, _costs(s, cpu=FIG), "cpu").seconds / 20)
    # the host of a GPU job: no activations (on the device); the CPU base + the stated CUDA context
    data = (60000 + 10000) * (784 + 8) / 2 ** 20
    assert est.mem_mb == pytest.approx(700 + 2000 + data + 2)
    measured = {**FIG, "train_s": 1e-6, "eval_s": 1e-6}
    est = cost.estimate(s, _costs(s, cpu=FIG, cuda=measured, gpu_factor=20), "cuda")
    assert est.source == "measured" and est.seconds == pytest.approx(4 * 70000 * 1e-6)


def test_an_unmeasured_group_falls_back_to_its_model_then_to_nothing():
    s = _settings()
    other_batch = _settings(batch_size=128)
    est = cost.estimate(other_batch, _costs(s, cpu=FIG), "cpu")
    assert est.source == "model" and est.seconds == pytest.approx(cost.estimate(s, _costs(s, cpu=FIG), "cpu").seconds)
    est = cost.estimate(_settings(model_args={"arch": "bn"}), _costs(s, cpu=FIG), "cpu")
    assert est.source == "none" and est.seconds is None
    job = cost.job_request(est, POLICY)
    assert job == {"runtime": 720, "mem_mb": 4000, "small": False, "estimate_s": None, "source": "none"}


def test_job_request_rounds_up_with_safety_and_floors():
    est = cost.Estimate(seconds=3000.0, mem_mb=2000.0, device="cpu", source="measured")
    job = cost.job_request(est, POLICY, startup_s=60)
    assert job["runtime"] == math.ceil((3000 + 60) * 2 / 60) == 102
    assert job["mem_mb"] == 3300 and not job["small"]        # 2000 x 1.5 + 300
    tiny = cost.job_request(cost.Estimate(1.0, 10.0, "cpu", "measured"), POLICY, startup_s=5)
    assert tiny["runtime"] == 10 and tiny["mem_mb"] == 1000 and tiny["small"]
    # a GPU job is never grouped: a group runs its jobs side by side, a GPU each
    assert not cost.job_request(cost.Estimate(1.0, 10.0, "cuda", "measured"), POLICY)["small"]


def test_write_costs_merges_one_device_and_keeps_the_other(tmp_path):
    s, t = _settings(), _settings(batch_size=32)
    path = tmp_path / "costs.yaml"
    cost.write_costs(path, "cuda", [(cost.train_fields(s), {**FIG, "train_s": 1e-6})], {"device_name": "gpu"}, 900, 3)
    cost.write_costs(path, "cpu", [(cost.train_fields(s), FIG), (cost.train_fields(t), FIG)], {"device_name": "cpu"},
                     700, 5, header="# a header\n")
    assert path.read_text().startswith("# a header\n")
    doc = yaml.safe_load(path.read_text())
    assert doc["base_mb"] == {"cuda": 900, "cpu": 700} and doc["startup_s"] == {"cuda": 3, "cpu": 5}
    assert set(doc["measured"]) == {"cpu", "cuda"}
    costs = cost.load_costs(path)
    assert costs.figure(s, "cuda") == ({**FIG, "train_s": 1e-6}, "measured")
    assert costs.figure(s, "cpu") == (FIG, "measured")
    assert costs.figure(t, "cuda")[1] == "gpu_factor"


def test_the_committed_costs_cover_every_full_preset_run(base_config):
    """benchmarks/costs.yaml (budget.py --write-costs) has a measured CPU figure for every
    torch run of the full preset; a new run's group needs a new measurement."""
    cfg = resolve(base_config)
    costs = cost.load_costs(ROOT / cfg.cluster["costs"])
    missing = [r.key for r in cfg.runs.values() if costs.figure(r.settings, "cpu")[1] != "measured"]
    assert not missing, f"no measured figure for {missing}: run benchmarks/budget.py --write-costs"
    assert costs.doc["measured"]["cpu"]["threads"] == 1 and costs.startup_s["cpu"] > 0
