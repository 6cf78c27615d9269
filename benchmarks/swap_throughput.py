"""Canonical swap trials per second of the Cython sweep loop, against full re-evaluation.

Au–Cu truncated octahedra (50% Cu), one swap group. For each size and temperature the chain is
first equilibrated for two sweeps, then `Chain.sweep` (the kernel's sweep_swaps: propose a
swap of unlike atoms, ΔE, Metropolis, commit) runs whole sweeps for about `--seconds`. The
full re-evaluation recomputes every descriptor and atomic energy with the cached neighbour list
(LocalEnergyModel.recompute). Columns: path = how the engine gets triplet geometry ("lattice":
tables per pair of lattice offsets; "triplet cache": per-atom cache; "direct": computed per
trial), MiB = the engine's memory (LocalEnergyModel.nbytes), drift = |cached − recomputed| total
energy per atom after the timed sweeps.

Usage: python benchmarks/swap_throughput.py [--seconds S] [--sizes 1,3] [--temperatures 300,800]
       [--potential benchmark|shipped] [--basis behler|chebyshev] [--path auto|lattice|cache|direct]
"""
import argparse
import time

import numpy as np
from common import SIZES, add_basis_argument, alloy_particle, benchmark_potential, print_table

import nanomc
from nanomc.local_energy import LocalEnergyModel
from nanomc.potential.store import default_potential_path
from nanomc.mc import Chain, SwapGroups

PATHS = {"auto": {}, "lattice": {"lattice": True}, "cache": {"lattice": False, "triplet_cache": True},
         "direct": {"lattice": False, "triplet_cache": False}}


def sweep_rate(chain: Chain, temperature: float, seconds: float) -> tuple[float, float]:
    """(trials/s, acceptance) of whole sweeps at `temperature` (K) for about `seconds`."""
    chain.sweep(temperature, 2)
    trials, accepted = 0, 0.0
    n_sites = len(chain.groups.movable)
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        result = chain.sweep(temperature)
        trials += n_sites
        accepted += result.acceptance * n_sites
    return trials / (time.perf_counter() - t0), accepted / trials


def full_rate(model: LocalEnergyModel, seconds: float) -> float:
    """Full re-evaluations per second."""
    n = 0
    t0 = time.perf_counter()
    while n == 0 or time.perf_counter() - t0 < seconds:
        model.recompute()
        n += 1
    return n / (time.perf_counter() - t0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=3.0, help="time per measurement")
    parser.add_argument("--sizes", default="1,3", help="indices into SIZES (0: 314, 1: 1289, 2: 5635, 3: 21659 atoms)")
    parser.add_argument("--temperatures", default="300,800", help="K, comma-separated")
    parser.add_argument("--potential", choices=["benchmark", "shipped"], default="benchmark",
                        help="benchmark: random weights, see common.py; shipped: nanomc's Au–Cu potential")
    parser.add_argument("--path", choices=sorted(PATHS), default="auto", help="force an engine path")
    add_basis_argument(parser)
    args = parser.parse_args()
    pot = benchmark_potential(args.basis) if args.potential == "benchmark" else nanomc.Potential.load(default_potential_path())
    print(f"potential: {args.potential} {pot}")
    rows = []
    for k in map(int, args.sizes.split(",")):
        atoms = alloy_particle(*SIZES[k])
        model = LocalEnergyModel(pot, atoms, **PATHS[args.path])
        chain = Chain(model, SwapGroups.single(len(atoms), [0, 1]), np.random.default_rng(0))
        full = full_rate(model, args.seconds)
        for temperature in map(float, args.temperatures.split(",")):
            rate, acceptance = sweep_rate(chain, temperature, args.seconds)
            drift = abs(model.energy - model.recompute()) / len(atoms)
            rows.append([len(atoms), f"{temperature:.0f}", f"{rate:.0f}", f"{acceptance:.3f}", f"{full:.2f}",
                         f"{rate / full:.0f}", model.engine_path, f"{model.nbytes / 2**20:.1f}", f"{drift:.1e}"])
    print_table(["atoms", "T K", "trials/s", "acceptance", "full/s", "ratio", "path", "MiB", "drift eV/atom"], rows)


if __name__ == "__main__":
    main()
