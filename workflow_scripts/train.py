"""Train one run (rule `train`): reads snakemake.input/output/params, calls the engine."""
from dlrepro.jobserver import run_warm

run_warm(globals())  # in a local build, the warm job server runs this script (dlrepro/jobserver.py)
from dlrepro.config import resolved_device
from dlrepro.logutil import job_log
from dlrepro.training.run import train_run

sm = snakemake  # noqa: F821  (injected by Snakemake)
with job_log(sm) as log:
    # where to train (preset-resolved) is not a run parameter: it comes from the config
    device = resolved_device(sm.config)
    train_run(
        sm.params.settings,
        data_path=sm.input.data,
        metrics_path=sm.output.metrics,
        final_path=sm.output.final,
        model_path=sm.output.model,
        ckpt_dir=sm.params.checkpoint_dir,
        device=device,
        threads=sm.threads,
        init_path=sm.input.get("init"),
        log=log,
        run_key=sm.params.key,
        lr_bounds_path=sm.input.get("lr_bounds"),
    )
