"""Round trips of the replica-exchange example on a geometric and on a tuned ladder.

Run the two campaigns first (same particle, ends, count, exchange interval, seed, 3000 sweeps):
    mpirun -n 2 nanomc run runs/AuCu-pamc/replica.toml                    (geometric ladder)
    mpirun -n 2 nanomc run runs/AuCu-replica-exchange/tuned.toml          (tuned ladder)
then: python runs/AuCu-replica-exchange/compare_ladders.py
Prints per ladder the temperatures, the exchange acceptance per neighbouring pair, the round
trips (lowest -> highest -> lowest temperature) and the mean round-trip time in sweeps
(replicas x sweeps / round trips).
"""
import sys
from pathlib import Path

import numpy as np

from nanomc.results import read_results

HERE = Path(__file__).resolve().parent
RUNS = {"geometric": HERE.parent / "AuCu-pamc" / "replica" / "results.h5", "tuned": HERE / "tuned" / "results.h5"}


def main() -> int:
    print(f"{'ladder':10s} {'T (K)':48s} {'acceptance per pair':42s} {'round trips':>11s} {'sweeps/trip':>11s}")
    for name, path in RUNS.items():
        if not path.exists():
            print(f"{path} is missing; run its campaign first (see the docstring)", file=sys.stderr)
            return 1
        record = read_results(path)
        ex = record.exchange
        acceptance = ex["accepted"] / np.maximum(ex["attempts"], 1)
        trips = int(ex["round_trips"].sum())
        per_trip = record.n_chains * record.sweeps_done / trips if trips else float("inf")
        print(f"{name:10s} {' '.join(f'{t:.0f}' for t in record.temperatures):48s} "
              f"{' '.join(f'{a:.2f}' for a in acceptance):42s} {trips:11d} {per_trip:11.0f}")
        if record.tuning is not None:
            print(f"{'':10s} pilots: {len(record.tuning.acceptance)} x {record.tuning.sweeps} sweeps, first pilot "
                  f"acceptance {' '.join(f'{a:.2f}' for a in record.tuning.acceptance[0])}, predicted "
                  f"{record.tuning.predicted:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
