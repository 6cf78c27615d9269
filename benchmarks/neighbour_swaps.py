"""Neighbour swaps against swaps with any partner in Cu-doped ceria: accepted moves per second.

The particle of runs/CeO2-Cu (Cu54Ce405O834, 84 O vacancies, a truncated octahedron of 459 cation
and 918 anion sites) with the shipped Ce–Cu–O potential. It starts at random and is first
equilibrated with ordinary swaps (`--equilibrate` sweeps at each temperature); from that same state
each `neighbour_swaps` fraction f then runs `--sweeps` sweeps (Chain.sweep, as a campaign does).
Columns: trials/s, acceptance (accepted / trials), accepted moves per second, and the number of
sites whose element differs after the timed sweeps from before them (how far the state moved). Neighbour
trials that draw a like neighbour cost nothing, so trials/s grows with f.

Usage: python benchmarks/neighbour_swaps.py [--temperatures 600,1200] [--fractions 0,0.5,0.9]
       [--equilibrate 60] [--sweeps 30] [--seed 1]
"""
import argparse
import time

import numpy as np
from common import print_table

import nanomc
from nanomc.fluorite import fluorite_particle
from nanomc.local_energy import LocalEnergyModel
from nanomc.mc import Chain, SwapGroups


def doped_ceria(potential: nanomc.Potential, seed: int) -> tuple[LocalEnergyModel, SwapGroups]:
    """The runs/CeO2-Cu particle occupied at random: 54 Cu on cation sites, 84 vacant anion sites."""
    atoms = fluorite_particle("CeO2", "truncated_octahedron", 5.411, 9)
    symbols = np.array(atoms.get_chemical_symbols(), dtype=object)
    cations, anions = np.flatnonzero(symbols == "Ce"), np.flatnonzero(symbols == "O")
    rng = np.random.default_rng(seed)
    symbols[rng.choice(cations, 54, replace=False)] = "Cu"
    symbols[rng.choice(anions, 84, replace=False)] = "X"
    atoms.set_chemical_symbols(symbols.tolist())
    index = {e: k for k, e in enumerate([*potential.elements, "X"])}
    group = np.where(np.isin(np.arange(len(atoms)), cations), 0, 1)
    groups = SwapGroups(group, [[index["Ce"], index["Cu"]], [index["O"], index["X"]]])
    return LocalEnergyModel(potential, atoms), groups


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--temperatures", default="600,1200", help="K, comma-separated")
    parser.add_argument("--fractions", default="0,0.5,0.9", help="neighbour_swaps values, comma-separated")
    parser.add_argument("--equilibrate", type=int, default=60, help="sweeps of ordinary swaps before timing")
    parser.add_argument("--sweeps", type=int, default=30, help="timed sweeps per fraction")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    potential = nanomc.Potential.load("CeCuO")
    model, groups = doped_ceria(potential, args.seed)
    print(f"{len(model.atoms)} sites, potential CeCuO {potential}")
    rows = []
    for temperature in [float(t) for t in args.temperatures.split(",")]:
        Chain(model, groups, np.random.default_rng(args.seed)).sweep(temperature, args.equilibrate)
        start = model._kernel.get_state()
        for fraction in [float(f) for f in args.fractions.split(",")]:
            model._kernel.set_state(start)
            chain = Chain(model, groups, np.random.default_rng(args.seed + 1), neighbour_fraction=fraction)
            before = model.element_indices
            t0 = time.perf_counter()
            result = chain.sweep(temperature, args.sweeps)
            seconds = time.perf_counter() - t0
            trials = len(groups.movable) * args.sweeps
            accepted = result.acceptance * trials
            changed = int(np.count_nonzero(model.element_indices != before))
            rows.append([f"{temperature:.0f}", f"{fraction:g}", f"{trials / seconds:.0f}", f"{result.acceptance:.4f}",
                         f"{accepted / seconds:.2f}", str(changed)])
    print_table(["T K", "neighbour", "trials/s", "acceptance", "accepted/s", "sites changed"], rows)


if __name__ == "__main__":
    main()
