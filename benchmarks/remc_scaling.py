"""Replica-exchange throughput: a ~1300-atom Au–Cu particle, 4 replicas, on 1 and 2 MPI ranks.

Each configuration runs `nanomc run` twice, with a short and a longer number of sweeps; the
difference in wall time over the difference in sweeps removes start-up (imports, neighbour
lists, caches) from the rate. Prints sweeps/s (all replicas advance one sweep) and the
parallel efficiency rate(2 ranks) / (2 × rate(1 rank)).

Usage: python benchmarks/remc_scaling.py [--short 2] [--long 8]
"""
import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import benchmark_potential, print_table

PARAMS = """
[particle]
shape = "truncated_octahedron"
size = 13
composition = {{ Au = 0.5, Cu = 0.5 }}
[potential]
file = "pot.h5"
[mc]
temperatures = [300.0, 500.0, 800.0, 1200.0]
exchange_interval = 1
sweeps = {sweeps}
checkpoint_interval = 1000
snapshot_interval = 1000
[output]
directory = "out{sweeps}"
"""


def wall_time(directory: Path, ranks: int, sweeps: int) -> float:
    params = directory / f"params{sweeps}.toml"
    params.write_text(PARAMS.format(sweeps=sweeps))
    command = [sys.executable, "-m", "nanomc.cli", "run", str(params), "-q", "--overwrite"]
    if ranks > 1:
        command = [str(Path(sys.executable).parent / "mpirun"), "-n", str(ranks), *command]
    t0 = time.perf_counter()
    subprocess.run(command, check=True)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--short", type=int, default=2)
    parser.add_argument("--long", type=int, default=8)
    args = parser.parse_args()
    rows, rates = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        benchmark_potential().save(directory / "pot.h5")
        for ranks in (1, 2):
            short = wall_time(directory, ranks, args.short)
            long = wall_time(directory, ranks, args.long)
            rates[ranks] = (args.long - args.short) / (long - short)
            rows.append([ranks, 1289, 4, f"{rates[ranks]:.3f}", f"{4 * 1289 * rates[ranks]:.0f}",
                         f"{short - args.short / rates[ranks]:.1f}"])
    print_table(["ranks", "atoms", "replicas", "sweeps/s", "trials/s", "start-up s"], rows)
    print(f"parallel efficiency on 2 ranks: {rates[2] / (2 * rates[1]):.2f}")


if __name__ == "__main__":
    main()
