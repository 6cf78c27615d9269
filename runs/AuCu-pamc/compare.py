"""Population annealing against replica exchange on the same particle: surface, subsurface and
interior Au fractions at the replica ladder's temperatures, with errors, and their difference in
units of the combined error.

    nanomc run runs/AuCu-pamc/params.toml            # or mpirun -n 2 ...
    nanomc run runs/AuCu-pamc/replica.toml
    python runs/AuCu-pamc/compare.py                 # prints the README's table

The population's errors treat the walkers of one family as one correlated cluster; the replica
exchange errors are blocking errors over the snapshots after the first 20 % of the sweeps.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import nanomc.analysis as na

HERE = Path(__file__).resolve().parent
SITES = (("surface", "composition_layer", "0"), ("subsurface", "composition_layer", "1"),
         ("interior", "composition_site_type", "interior"))


def value(analysis: na.Analysis, quantity: str, category: str, temperature: float) -> tuple[float, float]:
    """(mean, error) of the Au fraction of `category` at the analysis temperature nearest `temperature` (K)."""
    nearest = float(analysis.temperatures[np.argmin(np.abs(analysis.temperatures - temperature))])
    (row,) = analysis.select(quantity=quantity, category=category, element="Au", temperature_K=nearest).rows()
    return row["mean"], row["error"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pamc", default=HERE / "results" / "results.h5")
    parser.add_argument("--replica", default=HERE / "replica" / "results.h5")
    args = parser.parse_args()
    pamc, replica = na.load(args.pamc, element="Au"), na.load(args.replica, element="Au", discard=0.2)
    print("| T (K) | site | Au, population annealing | Au, replica exchange | difference / σ |")
    print("|---:|---|---:|---:|---:|")
    for temperature in sorted(replica.temperatures):
        for name, quantity, category in SITES:
            (a, da), (b, db) = value(pamc, quantity, category, temperature), value(replica, quantity, category,
                                                                                    temperature)
            print(f"| {temperature:.0f} | {name} | {100 * a:.2f} ± {100 * da:.2f}% | {100 * b:.2f} ± {100 * db:.2f}% "
                  f"| {(a - b) / np.hypot(da, db):+.1f} |")


if __name__ == "__main__":
    main()
