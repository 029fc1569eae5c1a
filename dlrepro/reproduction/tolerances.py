"""Tolerances of the reproduction verdicts, from the config's ``tolerances`` mapping:
``name -> number``; the most specific name wins, from ``{study}/{experiment}/{run}.{metric}``
down to ``{metric}`` and ``default``. A name ending in ``%`` is relative, in percent of the
reported value, in our units (a printed percentage is compared as a fraction). A number with
no tolerance must match to the precision the write-up printed it."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable


@dataclass(frozen=True)
class Tolerance:
    value: float | None          # absolute, or percent when ``relative``
    relative: bool = False
    key: str | None = None       # the config name it came from

    def bound(self, reported: float) -> float:
        if self.value is None:
            return 0.0
        return abs(reported) * self.value / 100.0 if self.relative else self.value

    def __str__(self) -> str:
        if self.value is None:
            return "none set (exact)"
        return f"±{self.value:g} %" if self.relative else f"±{self.value:g}"


def tolerance_keys(study: str, where: str, metric: str) -> list[str]:
    """Config names that can set the tolerance of one number, most specific first."""
    parts = [p for p in where.split("/") if p]
    keys: list[str] = []
    for i in range(len(parts), 0, -1):
        prefix = "/".join([study, *parts[:i]])
        keys += [f"{prefix}.{metric}", prefix]
    keys += [f"{study}.{metric}", study, metric, "default"]
    return keys


def tolerance_for(tolerances: dict, study: str, where: str, metric: str) -> Tolerance:
    for key in tolerance_keys(study, where, metric):
        if key in tolerances:
            return Tolerance(float(tolerances[key]), False, key)
        if f"{key}%" in tolerances:
            return Tolerance(float(tolerances[f"{key}%"]), True, f"{key}%")
    return Tolerance(None)


def tolerances_for_study(tolerances: dict, study: str, all_studies: Iterable[str]) -> dict:
    """The tolerances a study's page can use (so that editing another study's does not
    rebuild this page): names of this study and generic names."""
    others = [s for s in all_studies if s != study]

    def foreign(k: str) -> bool:
        k = k.rstrip("%")
        return any(k == o or k.startswith(f"{o}/") or k.startswith(f"{o}.") for o in others)
    return {k: v for k, v in tolerances.items() if not foreign(k)}
