"""Population-annealing throughput on 1 and 2 MPI ranks, and the cost of resampling.

A worker (this script with --worker, under mpirun for 2 ranks) builds a random Au–Cu truncated
octahedron (common.SIZES[--size]) with the benchmark potential, starts --walkers walkers at
infinite temperature and runs --steps temperature steps (geometric, 3000 K to 600 K) of
--sweeps sweeps each: reweight, resample (states move between ranks in one alltoall), sweep.
It times the sweeps and the resampling separately and counts the walker states that moved
between ranks and the bytes of their arrays. The parent prints per rank count: walker-sweeps/s,
trials/s, the parallel efficiency rate(2)/(2·rate(1)), and per step the resampling time,
walkers moved and megabytes moved.

The 1- and 2-rank runs alternate --rounds times; rates are medians.

Usage: python benchmarks/pamc_scaling.py [--size 1] [--walkers 16] [--steps 4] [--sweeps 2] [--rounds 3]
"""
import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from common import SIZES, alloy_particle, benchmark_potential, print_table

from nanomc.local_energy import LocalEnergyModel
from nanomc.mc import KB, SwapGroups
from nanomc.mc.parallel import world
from nanomc.mc.population import Population, reweight, walker_rng


def worker(args: argparse.Namespace) -> None:
    """Run the population on this rank; rank 0 prints one JSON line of timings."""
    comm = world()
    atoms = alloy_particle(*SIZES[args.size])
    model = LocalEnergyModel(benchmark_potential(), atoms)
    population = Population(model, SwapGroups.single(len(atoms), [0, 1]), args.walkers, 1, comm)
    energy = population.start(model.element_indices)
    temperatures = np.geomspace(3000.0, 600.0, args.steps)
    beta = 1.0 / (KB * temperatures)
    sweep_s, resample_s, moved, nbytes = 0.0, 0.0, 0, 0
    for k, temperature in enumerate(temperatures):
        comm.Barrier()
        t0 = time.perf_counter()
        step = reweight(energy, beta[k] - (beta[k - 1] if k else 0.0), walker_rng(1, 3, k), "systematic")
        transfer = population.resample(step.parents)
        t1 = time.perf_counter()
        energy, _ = population.sweep(k, float(temperature), args.sweeps)
        t2 = time.perf_counter()
        resample_s, sweep_s = resample_s + t1 - t0, sweep_s + t2 - t1
        moved, nbytes = moved + transfer.walkers, nbytes + transfer.bytes
    if comm.rank == 0:
        print(json.dumps({"atoms": len(atoms), "sweep_s": sweep_s, "resample_s": resample_s, "moved": moved,
                          "bytes": nbytes}))


def run(ranks: int, args: argparse.Namespace) -> dict:
    command = [sys.executable, __file__, "--worker", *(f"--{k}={getattr(args, k)}"
                                                       for k in ("size", "walkers", "steps", "sweeps"))]
    if ranks > 1:
        command = [str(Path(sys.executable).parent / "mpirun"), "-n", str(ranks), *command]
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=1, help="index into common.SIZES (1: 1289 atoms)")
    parser.add_argument("--walkers", type=int, default=16)
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--sweeps", type=int, default=2, help="sweeps per walker and step")
    parser.add_argument("--rounds", type=int, default=3, help="alternating runs on 1 and 2 ranks")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return
    walker_sweeps = args.walkers * args.steps * args.sweeps
    timings: dict[int, list[dict]] = {1: [], 2: []}
    for _ in range(args.rounds):                       # alternate, so that the machine's speed hits both alike
        for ranks in timings:
            timings[ranks].append(run(ranks, args))
    rows, rates = [], {}
    for ranks, runs in timings.items():
        rates[ranks] = float(np.median([walker_sweeps / (r["sweep_s"] + r["resample_s"]) for r in runs]))
        r = runs[0]
        rows.append([ranks, r["atoms"], args.walkers, f"{rates[ranks]:.2f}", f"{rates[ranks] * r['atoms']:.0f}",
                     f"{1000 * np.median([x['resample_s'] for x in runs]) / args.steps:.1f}",
                     f"{r['moved'] / args.steps:.1f}", f"{r['bytes'] / args.steps / 2**20:.2f}"])
    print(f"{args.steps} temperature steps of {args.sweeps} sweeps, systematic resampling; median of {args.rounds} "
          "alternating rounds")
    print_table(["ranks", "atoms", "walkers", "walker-sweeps/s", "trials/s", "resample ms/step",
                 "walkers moved/step", "MiB moved/step"], rows)
    print(f"parallel efficiency on 2 ranks: {rates[2] / (2 * rates[1]):.2f}")


if __name__ == "__main__":
    main()
