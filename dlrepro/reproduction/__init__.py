"""The one comparison of the write-ups' numbers with ours.

A study's ledger (``studies/<study>.printed.yaml``, expanded by
:mod:`dlrepro.config.ledger`) lists every number the write-up printed; :mod:`.ours` reads
our value of each from the study's outputs; :mod:`.verdicts` decides match / differs /
missing / explained (only with a cause from a fixed list) / illegible; :mod:`.claims`
evaluates the write-up's conclusions on its own numbers and on ours; :mod:`.compare`
writes ``tables/reproduction.csv`` and ``tables/claims.csv``. Tables, pages and the NumPy
study all use it; nothing else compares.
"""
