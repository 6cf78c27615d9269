"""Trial swaps per second: incremental engine vs full re-evaluation, Au–Cu particles.

Each trial swaps a random Au atom with a random Cu atom (as canonical MC proposes them) and
computes ΔE; half the trials are committed. The full re-evaluation reuses the cached
neighbour list and recomputes every descriptor and atomic energy (LocalEnergyModel.recompute).

Usage: python benchmarks/swap_throughput.py [--seconds S] [--sizes 0,1,2,3] [--basis behler|chebyshev]
"""
import argparse
import time

import numpy as np
from common import SIZES, add_basis_argument, alloy_particle, benchmark_potential, print_table

from nanomc.local_energy import LocalEnergyModel


def incremental_rate(model: LocalEnergyModel, seconds: float, rng: np.random.Generator) -> tuple[float, float]:
    """(trials/s, mean affected atoms per trial) for unlike-pair swaps."""
    z = model.element_indices
    au, cu = np.flatnonzero(z == 0), np.flatnonzero(z == 1)
    n, affected = 0, 0
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        for _ in range(200):
            k, m = rng.integers(len(au)), rng.integers(len(cu))
            model.delta_swap(au[k], cu[m])
            if rng.random() < 0.5:
                model.commit()
                au[k], cu[m] = cu[m], au[k]
            affected += len(model._kernel.last_affected)
            n += 1
    return n / (time.perf_counter() - t0), affected / n


def full_rate(model: LocalEnergyModel, seconds: float) -> float:
    """Full re-evaluations per second."""
    n = 0
    t0 = time.perf_counter()
    while n == 0 or time.perf_counter() - t0 < seconds:
        model.recompute()
        n += 1
    return n / (time.perf_counter() - t0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=3.0, help="time per measurement")
    parser.add_argument("--sizes", default="0,1,2,3", help="indices into SIZES")
    parser.add_argument("--cache", choices=["auto", "on", "off"], default="auto",
                        help="triplet-geometry cache: by memory limit (auto), forced on or off")
    add_basis_argument(parser)
    args = parser.parse_args()
    pot = benchmark_potential(args.basis)
    rng = np.random.default_rng(0)
    rows = []
    for k in map(int, args.sizes.split(",")):
        atoms = alloy_particle(*SIZES[k])
        model = LocalEnergyModel(pot, atoms, triplet_cache={"auto": None, "on": True, "off": False}[args.cache])
        inc, aff = incremental_rate(model, args.seconds, rng)
        cached = model.energy
        drift = abs(cached - model.recompute()) / len(atoms)
        full = full_rate(model, args.seconds)
        rows.append([len(atoms), f"{inc:.0f}", f"{full:.2f}", f"{inc / full:.0f}", f"{aff:.0f}",
                     "yes" if model.uses_triplet_cache else "no", f"{model.nbytes / 2**20:.1f}", f"{drift:.1e}"])
    print_table(["atoms", "incr trials/s", "full trials/s", "ratio", "affected/trial", "triplet cache",
                 "MiB", "drift eV/atom"], rows)


if __name__ == "__main__":
    main()
