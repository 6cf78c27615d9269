"""Replica-exchange throughput: a 1289-atom Au–Cu particle (or --atoms N), 4 replicas, on 1 and 2 MPI ranks.

Each configuration runs `nanomc run` twice, with a short and a longer number of sweeps; the
difference in wall time over the difference in sweeps removes start-up (imports, neighbour
lists, caches) from the rate. Prints sweeps/s (all replicas advance one sweep) and the
parallel efficiency rate(2 ranks) / (2 × rate(1 rank)).

Usage: python benchmarks/remc_scaling.py [--short 2] [--long 8] [--atoms 8000] [--potential default|AuCu]
(--potential default or AuCu: a shipped Au–Cu potential, by its name, instead of the benchmark one)
"""
import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import benchmark_potential, print_table

from nanomc.campaign.results import read_results

PARAMS = """
[particle]
shape = "truncated_octahedron"
{particle_size}
composition = {{ Au = 0.5, Cu = 0.5 }}
[potential]
file = "{potential}"
[mc]
temperatures = [300.0, 500.0, 800.0, 1200.0]
exchange_interval = 1
sweeps = {sweeps}
checkpoint_interval = 1000
snapshot_interval = 1000
[output]
directory = "out{sweeps}"
"""


def wall_time(directory: Path, ranks: int, sweeps: int, particle_size: str, potential: str) -> float:
    params = directory / f"params{sweeps}.toml"
    params.write_text(PARAMS.format(sweeps=sweeps, particle_size=particle_size, potential=potential))
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
    parser.add_argument("--atoms", type=int, help="particle size in atoms (default: size 13, 1289 atoms)")
    parser.add_argument("--potential", choices=("benchmark", "default", "AuCu"), default="benchmark")
    args = parser.parse_args()
    particle_size = f"atoms = {args.atoms}" if args.atoms else "size = 13"
    potential = "pot.h5" if args.potential == "benchmark" else args.potential
    rows, rates = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        benchmark_potential().save(directory / "pot.h5")
        for ranks in (1, 2):
            short = wall_time(directory, ranks, args.short, particle_size, potential)
            long = wall_time(directory, ranks, args.long, particle_size, potential)
            rates[ranks] = (args.long - args.short) / (long - short)
            atoms = len(read_results(directory / f"out{args.long}" / "results.h5").positions)
            rows.append([ranks, atoms, 4, f"{rates[ranks]:.3f}", f"{4 * atoms * rates[ranks]:.0f}",
                         f"{short - args.short / rates[ranks]:.1f}"])
    print_table(["ranks", "atoms", "replicas", "sweeps/s", "trials/s", "start-up s"], rows)
    print(f"parallel efficiency on 2 ranks: {rates[2] / (2 * rates[1]):.2f}")


if __name__ == "__main__":
    main()
