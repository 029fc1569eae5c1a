"""`replicates: N`: N seeds of one run trained together (torch.func), and shown as mean ± s.d."""
import json

import pandas as pd
import pytest
import torch

from dlrepro.outputs import figures, tables
from dlrepro.config import ConfigError, resolve
from dlrepro.data.prepare import save_prepared
from dlrepro.training.run import train_run
from dlrepro.training.trainer import METRIC_COLUMNS, STD_COLUMNS
from dlrepro.training.replicates import ReplicaTrainer, SeedLoopTrainer, trainer_class
from test_engine import make_data, settings

CPU = torch.device("cpu")
CURVES = ["train_loss", "train_acc", "val_loss", "val_acc"]


@pytest.fixture
def data_file(tmp_path):
    p = tmp_path / "data.pt"
    save_prepared(make_data(n_train=600, n_test=200), p)
    return p


def _run(tmp, data_file, s, name):
    out = tmp / name
    final = train_run(s, str(data_file), str(out / "metrics.csv"), str(out / "final.json"),
                      str(out / "model.pt"), str(tmp / "ckpt" / name), log=lambda m: None)
    return pd.read_csv(out / "metrics.csv"), final


@pytest.mark.parametrize("strategy,arch,tol", [("vmap", "plain", 1e-4), ("vmap", "bn", 1e-4),
                                               ("loop", "both", 0.0)])
def test_each_replicate_is_the_run_with_its_own_seed(tmp_path, data_file, monkeypatch, strategy, arch, tol):
    """Replicate r of a 3-replicate job follows the single run with seed + r (same init, data
    order, per-replicate clipping and L2 penalty): through vmap up to the float rounding of
    batched kernels; through the CPU seed loop exactly, dropout draws included."""
    monkeypatch.setenv("DLREPRO_REPLICATES", strategy)
    s = settings(epochs=2, model_args={"arch": arch}, clip_grad_norm=0.5, l2={"coef": 1e-4})
    df, final = _run(tmp_path, data_file, {**s, "replicates": 3}, "rep")
    # the run has an L2 term: Keras's validation loss with it is logged too (val_loss_reg)
    assert list(df.columns) == METRIC_COLUMNS + ["val_loss_reg"] + [f"{c}_std" for c in STD_COLUMNS]
    reps = final["replicates"]
    assert reps["n"] == 3 and reps["seeds"] == [3, 4, 5] and len(reps["metrics"]) == 3
    singles = []
    for r in range(3):
        single, _ = _run(tmp_path, data_file, {**s, "seed": s["seed"] + r}, f"seed{r}")
        ours = pd.DataFrame(reps["metrics"][r])
        if tol:
            pd.testing.assert_frame_equal(ours[CURVES], single[CURVES], rtol=tol, atol=tol)
        else:
            pd.testing.assert_frame_equal(ours[CURVES], single[CURVES], check_exact=True)
        singles.append(single)
    stacked = pd.concat(singles)
    for c in ("val_acc", "train_loss"):  # metrics.csv: mean and s.d. over the seeds
        by_epoch = stacked.groupby("epoch")[c]
        assert df[c].tolist() == pytest.approx(by_epoch.mean().tolist(), rel=1e-4, abs=1e-4)
        assert df[f"{c}_std"].tolist() == pytest.approx(by_epoch.std().tolist(), rel=1e-3, abs=1e-4)
    # model.pt is replicate 0 as an ordinary state dict of the architecture
    ours, theirs = torch.load(tmp_path / "rep/model.pt"), torch.load(tmp_path / "seed0/model.pt")
    assert ours.keys() == theirs.keys()
    # A Linear bias that feeds a BatchNorm has an exactly zero gradient: what reaches it is
    # float rounding, which AdamW's normalised step turns into lr-sized moves, so it differs
    # between batched and plain kernels by construction; every other tensor must match.
    from dlrepro.models import build
    modules = list(build(s["model"], **s["model_args"]).named_children())
    pre_bn = {f"{name}.bias" for (name, _), (_, nxt) in zip(modules, modules[1:])
              if isinstance(nxt, torch.nn.modules.batchnorm._BatchNorm)}
    bad = {k: float((ours[k].float() - theirs[k].float()).abs().max()) for k in ours
           if k not in pre_bn and not torch.allclose(ours[k].float(), theirs[k].float(), atol=tol, rtol=tol)}
    assert not bad, bad


@pytest.mark.parametrize("cls", [ReplicaTrainer, SeedLoopTrainer])
def test_replicates_resume_bit_identical(cls):
    """A checkpointed replicate trainer continues exactly as an uninterrupted one."""
    data = make_data(n_train=400, n_test=100)
    s = {**settings(epochs=3, model_args={"arch": "both"}), "replicates": 2}
    a = cls(s, data, CPU)
    rows_a = [a.run_epoch(e)[0] for e in range(3)]
    b = cls(s, data, CPU)
    b.run_epoch(0)
    st = b.state_dict()
    torch.manual_seed(1234)  # a fresh process: the global RNG is elsewhere
    c = cls(s, data, CPU)
    c.load_state_dict(st)
    rows_c = [c.run_epoch(e)[0] for e in (1, 2)]
    drop = lambda r: {k: v for k, v in r.items() if k != "seconds"}  # noqa: E731
    assert [drop(r) for r in rows_c] == [drop(r) for r in rows_a[1:]]
    assert len(c.replica_rows) == 3


def test_augmentation_copies_stay_with_their_replicate():
    """Batch augmentation (M copies) and micro-batches keep each replicate's samples together."""
    data = make_data(n_train=64, n_test=32, channels=3, size=32)
    s = {"dataset": "cifar10", "model": "cnn_p1a", "optimizer": {"name": "sgd", "lr": 0.01}, "batch_size": 16,
         "micro_batch": 8, "epochs": 1, "seed": 0, "augment": {"repeat": 2, "cutout": 8, "hflip": True},
         "replicates": 3}
    tr = ReplicaTrainer(s, data, CPU)
    out = tr.train_epoch(0)
    assert out["seen"] == [128] * 3 and out["n_batches"] == 4 and len(out["loss_sum"]) == 3


def test_strategy_follows_the_device(monkeypatch):
    monkeypatch.delenv("DLREPRO_REPLICATES", raising=False)
    assert trainer_class(torch.device("cuda")) is ReplicaTrainer and trainer_class(CPU) is SeedLoopTrainer
    monkeypatch.setenv("DLREPRO_REPLICATES", "vmap")
    assert trainer_class(CPU) is ReplicaTrainer
    monkeypatch.setenv("DLREPRO_REPLICATES", "threads")
    with pytest.raises(ValueError, match="DLREPRO_REPLICATES='threads'"):
        trainer_class(CPU)


@pytest.mark.parametrize("over,needle", [
    ({"schedule": {"name": "keras_step_plateau"}}, "keras_step_plateau"),
    ({"loop": {"record_batches": True}}, "record_batches"),
    ({"loop": {"eval_batch_size": 64}}, "eval_batch_size"),
    ({"loop": {"final_eval": True}}, "final_eval"),
    ({"loop": {"final_eval_batch_sizes": {"test": 2048}}}, "final_eval_batch_sizes"),
])
def test_config_refuses_what_replicates_cannot_share(base_config, over, needle):
    exp = base_config["studies"]["kmnist_tricks"]["experiments"]["debug"]
    exp["set"] = {**exp["set"], "replicates": 2, **over}
    with pytest.raises(ConfigError, match=needle) as e:
        resolve(base_config)
    assert "experiments.debug" in str(e.value)


def test_figures_and_tables_show_mean_and_spread(tmp_path, data_file):
    s = settings(epochs=2, model_args={"arch": "plain"})
    paths = []
    for lr in (1e-3, 1e-2):
        run = {**s, "optimizer": {**s["optimizer"], "lr": lr}, "replicates": 2}
        _, final = _run(tmp_path, data_file, run, f"lr{lr}")
        final["run"] = f"study/sweep/lr-{lr}"
        (tmp_path / f"lr{lr}/final.json").write_text(json.dumps(final))
        paths.append((str(tmp_path / f"lr{lr}/metrics.csv"), str(tmp_path / f"lr{lr}/final.json")))
    df = pd.read_csv(paths[0][0])
    fig, ax = figures.plt.subplots()
    figures.plot_band(ax, df, "val_error")
    assert len(ax.collections) == 1  # the ±1 s.d. band
    band = ax.collections[0].get_paths()[0].vertices[:, 1]
    err = 1 - df["val_acc"]
    assert band.min() == pytest.approx((err - df["val_acc_std"]).min())
    figures.plt.close(fig)
    figures.run_curves(*paths[0], str(tmp_path / "curves.png"), "curves")
    figures.overlay([p[0] for p in paths], [p[1] for p in paths], str(tmp_path / "overlay.png"),
                    {"y": "val_acc", "hue": "optimizer.lr"}, "overlay")
    figures.final_vs_setting([p[1] for p in paths], str(tmp_path / "final.png"),
                             {"x": "optimizer.lr", "y": "val_acc", "logx": True}, "final")
    assert all((tmp_path / f).stat().st_size > 5000 for f in ("curves.png", "overlay.png", "final.png"))
    t = tables.run_table([p[1] for p in paths], [p[0] for p in paths], {"kind": "final", "metrics": ["val_acc"]}, {})
    assert t["seeds"].tolist() == [2, 2] and t["val_acc_std"].notna().all()

