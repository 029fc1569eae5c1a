"""The config slices the report rules pass as params (evaluated at DAG time)."""
from dlrepro.site import index_params, page_params

__all__ = ["index_params", "page_params"]
