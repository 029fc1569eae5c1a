"""The training engine: one loop for every torch run (trainer), N seeds in one job
(replicates), a whole run with checkpoints and outputs (run), schedules, augmentation and
optimizers."""
