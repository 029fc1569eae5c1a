"""dlrepro: library code behind the write-up regeneration pipeline.

Modules: ``config`` (schema validation, presets, run expansion), ``data`` (datasets in
their real on-disk formats, synthetic stand-ins, preparation into device-ready tensors),
``models``, ``optim``, ``engine`` (the one training loop), ``plotting``, ``tables``,
``report``, ``ioutil`` (atomic writes) and one module per NumPy study.
"""

__version__ = "0.1.0"
