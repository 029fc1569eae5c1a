"""The engine's loop defaults and evaluation chunk: constants that the trainer uses and
that the cost model (:mod:`dlrepro.training.cost`) reads at DAG time, so no torch here."""

EVAL_CHUNK = 4096  # samples per evaluation forward pass
LOOP_DEFAULTS = {"logged_train_loss": "mean", "train_acc": "running", "eval_before_train": False,
                 "time_includes_eval": True, "record_batches": False, "stop_on_loss_explosion": None,
                 "eval_batch_size": None, "final_eval": False, "final_eval_batch_sizes": {}}
