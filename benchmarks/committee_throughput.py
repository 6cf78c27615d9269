"""Canonical swap trials per second: one network per element against a committee of N.

The committee's members share descriptors and scaling, so the engine runs their fused
network (nanomc.potential.committee: hidden layers N times wider, same descriptors). Both
chains run on the same random Au–Cu truncated octahedron with the kernel's sweep loop
(swap_throughput.sweep_rates: windows of `--trials` trials, median of at least three); the two
are timed alternately, `--rounds` times, so that the machine's changing speed hits both alike.
The table shows the median and the best over the rounds, and the ratio of the medians.

Usage: python benchmarks/committee_throughput.py [--members 4] [--size 1] [--rounds 7] [--trials 2000]
       [--temperature 600]
"""
import argparse

import numpy as np
from common import CUTOFF, SIZES, alloy_particle, benchmark_potential, print_table
from swap_throughput import sweep_rates

import nanomc
from nanomc.local_energy import LocalEnergyModel
from nanomc.mc import Chain, SwapGroups


def committee_potential(members: int) -> nanomc.Potential:
    """`members` random networks (2×10 tanh, seeds 1, 2, ...) with the benchmark potential's
    descriptors and scaling; member 0 is the benchmark potential itself."""
    first = benchmark_potential()
    others = [nanomc.Potential.random(["Au", "Cu"], CUTOFF, hidden=(10, 10), seed=1 + m) for m in range(1, members)]
    for pot in others:
        pot.scaling = first.scaling
    return nanomc.Potential.from_members([first, *others])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int, default=4, help="committee size")
    parser.add_argument("--size", type=int, default=1, help="index into SIZES (1: 1289 atoms)")
    parser.add_argument("--rounds", type=int, default=7, help="alternating measurements of each")
    parser.add_argument("--trials", type=int, default=2000, help="trials per timed window")
    parser.add_argument("--temperature", type=float, default=600.0, help="K")
    args = parser.parse_args()
    atoms = alloy_particle(*SIZES[args.size])
    potentials = {"single": benchmark_potential(), f"committee of {args.members}": committee_potential(args.members)}
    chains = {name: Chain(LocalEnergyModel(pot, atoms), SwapGroups.single(len(atoms), [0, 1]),
                          np.random.default_rng(0)) for name, pot in potentials.items()}
    rates: dict[str, list[float]] = {name: [] for name in chains}
    for _ in range(args.rounds):
        for name, chain in chains.items():
            rates[name].append(sweep_rates(chain, args.temperature, 0.0, args.trials)[0])
    reference = float(np.median(rates["single"]))
    rows = []
    for name, chain in chains.items():
        model = chain.model
        drift = abs(model.energy - model.recompute()) / len(atoms)
        widths = potentials[name].networks["Au"].sizes
        rows.append([name, len(atoms), "-".join(map(str, widths)), f"{np.median(rates[name]):.0f}",
                     f"{max(rates[name]):.0f}", f"{np.median(rates[name]) / reference:.2f}", f"{drift:.1e}"])
    print(f"{args.rounds} alternating rounds at {args.temperature:g} K, {model.engine_path} path")
    print_table(["potential", "atoms", "network", "trials/s", "best", "vs single", "drift eV/atom"], rows)


if __name__ == "__main__":
    main()
