"""Write seed 003's P3 architecture-arithmetic tables (CSV, atomically).

Each *named* output of the rule is one table, its name the table's key in
``dlrepro.studies.optim_clr_cutout.arithmetic.TABLES``: ``alexnet_params``, ``vgg19``, ``receptive_field``,
``inception_ops``, ``inception_summary``. Declare any subset, e.g.::

    output:
        alexnet_params=f"{R}/optim_clr_cutout/tables/alexnet_params.csv",
        vgg19=f"{R}/optim_clr_cutout/tables/vgg19.csv",
        ...
"""
from dlrepro.studies.optim_clr_cutout import arithmetic
from dlrepro.ioutil import write_csv

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive

outputs = dict(snakemake.output.items())
unknown = sorted(set(outputs) - set(arithmetic.TABLES))
if unknown or not outputs:
    raise ValueError(f"outputs must be named by table key ({', '.join(arithmetic.TABLES)}); "
                     f"got {unknown or 'no named outputs'}")
for key, path in outputs.items():
    write_csv(path, arithmetic.TABLES[key]())
