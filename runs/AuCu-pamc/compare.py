"""Population annealing against replica exchange on the same particle: mean energy and surface and
subsurface Au fractions at the replica ladder's temperatures, with errors, and their difference
z in units of the combined error.

    nanomc run runs/AuCu-pamc/params.toml            # or mpirun -n 2 ...
    nanomc run runs/AuCu-pamc/replica.toml
    python runs/AuCu-pamc/compare.py                 # prints the table in docs/replica-exchange-and-population-annealing.md

The population's errors treat the walkers of one family as one correlated cluster; the replica
exchange errors are blocking errors over the snapshots after the first 20 % of the sweeps.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import nanomc.analysis as na
from nanomc.errors import NanomcError

HERE = Path(__file__).resolve().parent
#: (name, quantity, category) of the Au fractions compared; the interior mirrors the surface at fixed composition
SITES = (("surface", "composition_layer", "0"), ("subsurface", "composition_layer", "1"))


def value(analysis: na.Analysis, quantity: str, category: str, temperature: float,
          element: str = "Au") -> tuple[float, float]:
    """(mean, error) of a quantity at the analysis temperature nearest `temperature` (K)."""
    nearest = float(analysis.temperatures[np.argmin(np.abs(analysis.temperatures - temperature))])
    (row,) = analysis.select(quantity=quantity, category=category, element=element, temperature_K=nearest).rows()
    return row["mean"], row["error"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pamc", default=HERE / "results" / "results.h5")
    parser.add_argument("--replica", default=HERE / "replica" / "results.h5")
    args = parser.parse_args()
    try:
        pamc, replica = na.load(args.pamc, element="Au"), na.load(args.replica, element="Au", discard=0.2)
    except NanomcError as exc:
        raise SystemExit(f"compare.py: {exc}") from None
    print("| T (K) | ⟨E⟩ (eV), PAMC | replica exchange | z | surface Au, PAMC | replica exchange | z "
          "| subsurface Au, PAMC | replica exchange | z |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for temperature in sorted(replica.temperatures):
        cells = [f"{temperature:.0f}"]
        for quantity, category, element, scale, unit, digits in (("energy", "", "", 1, "", 3),
                                                                  *((q, c, "Au", 100, "%", 2) for _, q, c in SITES)):
            (a, da), (b, db) = (value(x, quantity, category, temperature, element) for x in (pamc, replica))
            cells += [f"{scale * a:.{digits}f} ± {scale * da:.{digits}f}{unit}",
                      f"{scale * b:.{digits}f} ± {scale * db:.{digits}f}{unit}", f"{(a - b) / np.hypot(da, db):+.1f}"]
        print("| " + " | ".join(cells) + " |")

if __name__ == "__main__":
    main()
