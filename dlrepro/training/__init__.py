"""The training engine: one loop for every torch run (trainer), N seeds in one job
(replicates), a whole run with checkpoints, resume, provenance and outputs (run), LR
schedules (schedules) and the LR range test's analysis (lr_finder), augmentation
(augment) and optimizers incl. Keras semantics (optimizers/)."""
