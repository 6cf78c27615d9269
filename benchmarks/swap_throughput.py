"""Canonical swap trials per second of the Cython sweep loop, against full re-evaluation.

Au–Cu truncated octahedra (50% Cu), one swap group. For each size and temperature the chain is
first equilibrated for two sweeps; then the kernel's sweep loop (sweep_swaps, what Chain.sweep
runs: propose a swap of unlike atoms, ΔE, Metropolis, commit) runs windows of `--trials` trials
for about `--seconds`. On a shared machine single windows are slowed by other work, so the
table shows the median and the best window. The full re-evaluation recomputes every descriptor
and atomic energy with the cached neighbour list (LocalEnergyModel.recompute; best of 3).
Columns: path = how the engine gets triplet geometry ("lattice": tables per pair of lattice
offsets; "triplet cache": per-atom cache; "direct": computed per trial), MiB = the engine's
memory (LocalEnergyModel.nbytes), drift = |cached − recomputed| total energy per atom after the
timed trials.

Usage: python benchmarks/swap_throughput.py [--seconds S] [--trials N] [--sizes 1,3] [--temperatures 300,800]
       [--potential benchmark|shipped] [--basis behler|chebyshev] [--path auto|lattice|cache|direct]
"""
import argparse
import time

import numpy as np
from common import SIZES, add_basis_argument, alloy_particle, benchmark_potential, print_table

import nanomc
from nanomc.local_energy import LocalEnergyModel
from nanomc.potential.store import default_potential_path
from nanomc.mc import KB, Chain, SwapGroups

PATHS = {"auto": {}, "lattice": {"lattice": True}, "cache": {"lattice": False, "triplet_cache": True},
         "direct": {"lattice": False, "triplet_cache": False}}


def sweep_rates(chain: Chain, temperature: float, seconds: float, trials: int) -> tuple[float, float, float]:
    """(median trials/s, best trials/s, acceptance) of windows of `trials` canonical trials at
    `temperature` (K) in the kernel's sweep loop, for about `seconds`."""
    chain.sweep(temperature, 2)
    kernel, groups = chain.model._kernel, chain.groups
    site_list, site_pos, block_start = groups.site_blocks(chain.model.element_indices, chain.n_elements)
    beta = 1.0 / (KB * temperature)
    rates, accepted, total = [], 0, 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds or len(rates) < 3:
        uniforms = chain.rng.random((trials, 3))
        t0 = time.perf_counter()
        accepted += kernel.sweep_swaps(beta, groups.movable, groups.group, site_list, site_pos, block_start, uniforms)[0]
        rates.append(trials / (time.perf_counter() - t0))
        total += trials
    return float(np.median(rates)), max(rates), accepted / total


def full_rate(model: LocalEnergyModel) -> float:
    """Full re-evaluations per second (best of 3)."""
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        model.recompute()
        best = min(best, time.perf_counter() - t0)
    return 1.0 / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5.0, help="time per measurement")
    parser.add_argument("--trials", type=int, default=2000, help="trials per timed window")
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
        full = full_rate(model)
        for temperature in map(float, args.temperatures.split(",")):
            median, best, acceptance = sweep_rates(chain, temperature, args.seconds, args.trials)
            drift = abs(model.energy - model.recompute()) / len(atoms)
            rows.append([len(atoms), f"{temperature:.0f}", f"{median:.0f}", f"{best:.0f}", f"{acceptance:.3f}",
                         f"{full:.2f}", f"{median / full:.0f}", model.engine_path, f"{model.nbytes / 2**20:.1f}",
                         f"{drift:.1e}"])
    print_table(["atoms", "T K", "trials/s", "best", "acceptance", "full/s", "ratio", "path", "MiB",
                 "drift eV/atom"], rows)


if __name__ == "__main__":
    main()
