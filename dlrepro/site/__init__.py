"""The write-ups as a browsable static site: one page per study, in the write-up's own
order, and an index. Nothing here trains; a page is built from the study's outputs.

Modules (each imported where used; this package's import pulls in nothing):

- ``params``      the config slices the report rules pass as params (DAG time, no pandas)
- ``settings``    what the runs behind an output share and where they differ
- ``tolerances``  the tolerance of each reported number (most specific config name wins)
- ``verdicts``    the write-up's numbers beside ours, with a verdict
- ``views``       what the templates show, as plain data
- ``render``      the Jinja2 environment (``templates/``, autoescape) and ``static/`` files
- ``build``       writes a page (rule report_page) and the index + static files (report_index)
- ``provenance``  git state, package versions, compute time, devices of the runs
- ``browser``     every page checked in headless Chromium, with a screenshot

The page layout is data: ``report`` in ``studies/<study>.page.yaml``::

    report:
      intro: "one paragraph"
      sections:                                   # the write-up's problems, in order
        - {heading: "1.A ...", level: 2, text: "...",
           outputs: [figures/lr_sweep_val_acc, tables/sweeps_final, figures/curves/debug]}
      quirks:                                     # named bugs of the write-up's code
        - {name: double_softmax, text: "one line", affects: ["best/*softmax-true"],
           fixed: {softmax-true: softmax-false}}

An output is named by its path under ``{results}/{preset}/{study}/`` without the extension
(``figures/curves/debug/plain``); a section entry matches an output by that name, by a
glob (``figures/val_acc_*``) or as a folder prefix (``figures/curves/debug``). Outputs no
section names land in a trailing "Other outputs" section, so nothing is lost.
"""
