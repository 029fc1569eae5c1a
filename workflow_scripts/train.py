"""Train one run (rule `train`): reads snakemake.input/output/params, calls the engine."""
from dlrepro.config import resolve
from dlrepro.training.trainer import train_run
from dlrepro.logutil import file_logger

sm = snakemake  # noqa: F821  (injected by Snakemake)
with file_logger(sm.log[0]) as log:
    train_run(
        sm.params.settings,
        data_path=sm.input.data,
        metrics_path=sm.output.metrics,
        final_path=sm.output.final,
        model_path=sm.output.model,
        ckpt_dir=sm.params.checkpoint_dir,
        device=resolve(sm.config).device,  # where to train (preset-resolved) is not a run parameter
        threads=sm.threads,
        init_path=sm.input.get("init"),
        log=log,
        run_key=sm.params.key,
        lr_bounds_path=sm.input.get("lr_bounds"),
    )
