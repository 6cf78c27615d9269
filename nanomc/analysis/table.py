"""A tidy table: one row per (temperature, quantity, category, element), columns as numpy arrays.

DataFrame-like without pandas: `table["mean"]`, `table.select(quantity="composition_layer")`,
`table.rows()`; `pandas.DataFrame(table.columns)` makes a DataFrame where pandas is installed.
"""
from __future__ import annotations

import csv
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from .convergence import AGREEMENT_P_MIN, ESS_MIN, RHAT_MAX
from .statistics import MIN_CLUSTERS

#: column name -> meaning (units); the order of the CSV columns
COLUMNS = {
    "temperature_K": "temperature (K); NaN for a structure without one",
    "quantity": "what is measured (see docs/analysis.md)",
    "category": "layer, site type, radial shell (Å), or the central element of a pair quantity",
    "element": "element the value refers to (for pairs: the neighbour element)",
    "mean": "average over the kept snapshots (fractions; energy in eV)",
    "error": "standard error of the mean (1σ): blocking; population annealing: clustered by walker family (several "
             "populations: the larger of the spread of their estimates and their own errors)",
    "n_samples": "snapshots (or sweeps, for the energy; walkers, for population annealing) averaged",
    "n_independent": "number of independent samples N/(2 τ_int) = s²/error²",
    "tau_int_sweeps": "integrated autocorrelation time in sweeps (NaN for population annealing)",
    "converged": f"the blocking error reached its plateau (population annealing: at least {MIN_CLUSTERS} families)",
    "rhat": "rank-normalised split-R̂ across the independent starts (one start: the halves of its chain); "
            "NaN: not a time series (population annealing, a structure) or fewer than 4 samples per half chain",
    "ess_bulk": "bulk effective sample size (rank-normalised), over all starts",
    "ess_tail": "tail effective sample size (5% and 95% quantiles), over all starts",
    "agreement_p": "population annealing with several starts: χ² tail probability that the populations' "
                   "estimates agree within their own errors (NaN otherwise)",
    "mcmc_converged": f"R̂ ≤ {RHAT_MAX} and bulk and tail ESS ≥ {ESS_MIN:.0f} (or the thresholds given to "
                      f"the analysis); populations: agreement_p ≥ {AGREEMENT_P_MIN}; False also where they could "
                      "not be computed",
    "random": "exact value for a random occupation of the same sites (NaN: not applicable)",
    "sites": "swappable sites in the category (NaN: not applicable)",
}

_DTYPES = {"quantity": object, "category": object, "element": object, "n_samples": int, "converged": bool,
           "mcmc_converged": bool}
#: values of columns that older analyses (analysis.json of earlier versions) or rows without a time series lack
_ABSENT = {"rhat": float("nan"), "ess_bulk": float("nan"), "ess_tail": float("nan"), "agreement_p": float("nan"),
           "mcmc_converged": False}


class Table:
    """Rows of equal keys (COLUMNS), stored column-wise as numpy arrays."""

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.columns: dict[str, np.ndarray] = {
            name: np.array([row[name] if name in row else _ABSENT[name] for row in rows],
                           dtype=_DTYPES.get(name, float)) for name in COLUMNS
        }

    def __len__(self) -> int:
        return len(self.columns["mean"])

    def __getitem__(self, name: str) -> np.ndarray:
        return self.columns[name]

    def rows(self) -> list[dict[str, Any]]:
        """The rows as dictionaries of plain Python values."""
        return [{name: _plain(col[k]) for name, col in self.columns.items()} for k in range(len(self))]

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.rows())

    def select(self, **equal: Any) -> "Table":
        """Rows whose columns equal the given values, e.g. select(quantity="energy", temperature_K=300.0).

        NaN matches NaN (the temperature of a structure without one).
        """
        keep = np.ones(len(self), bool)
        for name, value in equal.items():
            column = self.columns[name]
            if isinstance(value, (float, np.floating)) and np.isnan(value):
                keep &= np.isnan(column.astype(float))
            else:
                keep &= column == value
        return self.subset(keep)

    def subset(self, keep: np.ndarray) -> "Table":
        """The rows where the boolean array `keep` is True."""
        out = Table([])
        out.columns = {name: col[keep] for name, col in self.columns.items()}
        return out

    def value(self, **equal: Any) -> dict[str, Any]:
        """The single row matching `equal`; KeyError if there is none or more than one."""
        rows = self.select(**equal).rows()
        if len(rows) != 1:
            raise KeyError(f"{len(rows)} rows match {equal}")
        return rows[0]

    def write_csv(self, path: str | Path) -> None:
        """Write the table as CSV with a header line (COLUMNS)."""
        with open(path, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(COLUMNS))
            writer.writeheader()
            writer.writerows(self.rows())


def _plain(value: Any) -> Any:
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.generic):
        return value.item()
    return value
