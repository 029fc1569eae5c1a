"""The names of what a torch run records: the columns of ``metrics.csv``, the run-level
numbers of ``final.json`` and the metrics derived from them. The training engine writes
these (``dlrepro.training.trainer`` takes its columns from here); the figures and tables
read them; the config check (:mod:`dlrepro.config.checks`) refuses a figure or table that
names anything else, before any job runs. No imports: read at DAG time.
"""
from __future__ import annotations

__all__ = ["BATCH_MEAN_COLUMNS", "DERIVED_ERRORS", "EPOCH_COLUMNS", "WRITEUP_COLUMNS", "FIGURE_EPOCH_METRICS", "FIGURE_METRICS", "LOSS_ACC_COLUMNS",
           "RUN_LEVEL", "RUN_SECTIONS", "STD_COLUMNS", "TABLE_METRICS"]

#: the columns of metrics.csv, one row per epoch (the mean over seeds for replicates)
EPOCH_COLUMNS = ("epoch", "train_loss", "train_loss_mean", "train_acc", "val_loss", "val_acc", "lr", "seconds",
                 "last_batch_loss")
#: columns a run logs as a write-up computed them, where its settings ask: batch means with
#: ``loop.eval_batch_size``; Keras's validation loss with the L2 term with ``l2``; the
#: plateau callback's logged lr with schedule ``keras_step_plateau``
BATCH_MEAN_COLUMNS = ("train_acc_batchmean", "val_loss_batchmean", "val_acc_batchmean")
WRITEUP_COLUMNS = BATCH_MEAN_COLUMNS + ("val_loss_reg", "lr_logged", "plateau_reduced", "plateau_reductions")
#: the loss and accuracy columns: a non-finite value in any of them marks a run ``diverged``
LOSS_ACC_COLUMNS = ("train_loss", "train_loss_mean", "train_acc", "val_loss", "val_acc")
#: the columns that a ``replicates: N`` run also logs as ``<column>_std``
STD_COLUMNS = LOSS_ACC_COLUMNS + ("last_batch_loss",)
#: derived from a logged accuracy: name -> the accuracy it is 1 minus
DERIVED_ERRORS = {"val_error": "val_acc", "train_error": "train_acc"}
#: run-level numbers of final.json (not per epoch)
RUN_LEVEL = ("n_params", "train_seconds", "wall_seconds", "best_val_acc", "epochs_completed", "train_samples",
             "val_samples")
#: sections of final.json whose keys a table may name as ``<section>.<key>``
RUN_SECTIONS = ("test", "final_eval")
#: derived in tables only: validation / training accuracy (seed 001's "Overfitting" column)
TABLE_ONLY = ("overfit_ratio",)

#: what an overlay's ``y`` may name (per epoch) and a final_vs_setting's (also run-level numbers)
FIGURE_EPOCH_METRICS = tuple(c for c in EPOCH_COLUMNS if c != "epoch") + WRITEUP_COLUMNS + tuple(DERIVED_ERRORS)
FIGURE_METRICS = FIGURE_EPOCH_METRICS + RUN_LEVEL
#: what a table's ``metrics`` may name (``<column>@<epoch>``: a column after that epoch)
TABLE_METRICS = tuple(c for c in EPOCH_COLUMNS if c != "epoch") + WRITEUP_COLUMNS + RUN_LEVEL + TABLE_ONLY

