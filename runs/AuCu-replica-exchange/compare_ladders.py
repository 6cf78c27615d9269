"""Round trips of replica exchange on geometric and on tuned ladders.

Run the campaigns first:
    mpirun -n 2 nanomc run runs/AuCu-pamc/replica.toml            (300-600 K, 8 temperatures, geometric)
    mpirun -n 2 nanomc run runs/AuCu-replica-exchange/tuned.toml  (the same, tuned; 3000 sweeps each)
    mpirun -n 2 nanomc run runs/AuCu-replica-exchange/ladders.toml  (300-3000 K, 6 temperatures, both; 1000 sweeps)
then: python runs/AuCu-replica-exchange/compare_ladders.py (runs not made yet are listed and skipped)
Prints per ladder the temperatures, the exchange acceptance per neighbouring pair, the round
trips (lowest -> highest -> lowest temperature) and the mean round-trip time in sweeps
(replicas x sweeps / round trips).
"""
import sys
from pathlib import Path

import numpy as np

from nanomc.campaign.results import read_results

HERE = Path(__file__).resolve().parent
RUNS = {"300-600 K geometric": HERE.parent / "AuCu-pamc" / "replica" / "results.h5",
        "300-600 K tuned": HERE / "tuned" / "results.h5",
        "300-3000 K geometric": HERE / "ladders" / "ladder=fixed" / "results.h5",
        "300-3000 K tuned": HERE / "ladders" / "ladder=tuned" / "results.h5"}


def main() -> int:
    missing = [path for path in RUNS.values() if not path.exists()]
    for path in missing:
        print(f"{path} is missing; run its campaign first (see the docstring)", file=sys.stderr)
    if len(missing) == len(RUNS):
        return 1
    print(f"{'ladder':20s} {'sweeps':>6s} {'T (K)':36s} {'acceptance per pair':36s} {'round trips':>11s} "
          f"{'sweeps/trip':>11s}")
    for name, path in RUNS.items():
        if path in missing:
            continue
        record = read_results(path)
        ex = record.exchange
        acceptance = ex["accepted"] / np.maximum(ex["attempts"], 1)
        trips = int(ex["round_trips"].sum())
        per_trip = record.n_chains * record.sweeps_done / trips if trips else float("inf")
        print(f"{name:20s} {record.sweeps_done:6d} {' '.join(f'{t:.0f}' for t in record.temperatures):36s} "
              f"{' '.join(f'{a:.2f}' for a in acceptance):36s} {trips:11d} {per_trip:11.0f}")
        if record.tuning is not None:
            print(f"{'':20s} pilots: {len(record.tuning.acceptance)} x {record.tuning.sweeps} sweeps, first pilot "
                  f"acceptance {' '.join(f'{a:.2f}' for a in record.tuning.acceptance[0])}, predicted "
                  f"{record.tuning.predicted:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
