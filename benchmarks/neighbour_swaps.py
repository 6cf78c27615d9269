"""Neighbour swaps against swaps with any partner in Cu-doped ceria: accepted moves per second.

The particle, swap groups and potential of runs/CeO2-Cu/params.toml (Cu54Ce405O834, 84 O vacancies,
a truncated octahedron of 459 cation and 918 anion sites; the shipped Ce–Cu–O potential), built as a
campaign builds it. It starts at random and is first equilibrated with ordinary swaps
(`--equilibrate` sweeps at each temperature); from that same state each `neighbour_swaps` fraction
f then runs `--sweeps` sweeps (Chain.sweep, as a campaign does). Columns: trials/s, acceptance
(accepted / trials), accepted moves per second, and the number of sites whose element differs
after the timed sweeps from before them (how far the state moved). Neighbour trials that draw a
like neighbour cost nothing, so trials/s grows with f.

Usage: python benchmarks/neighbour_swaps.py [--temperatures 600,1200] [--fractions 0,0.5,0.9]
       [--equilibrate 60] [--sweeps 100] [--seed 1]
"""
import argparse
import time
from pathlib import Path

import numpy as np
from common import print_table

from nanomc.campaign import build_particle, load_potential
from nanomc.campaign.schema import load_config
from nanomc.local_energy import LocalEnergyModel
from nanomc.mc import Chain

EXAMPLE = Path(__file__).parents[1] / "runs" / "CeO2-Cu" / "params.toml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--temperatures", default="600,1200", help="K, comma-separated")
    parser.add_argument("--fractions", default="0,0.5,0.9", help="neighbour_swaps values, comma-separated")
    parser.add_argument("--equilibrate", type=int, default=60, help="sweeps of ordinary swaps before timing")
    parser.add_argument("--sweeps", type=int, default=100, help="timed sweeps per fraction")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    config, _ = load_config(EXAMPLE)
    potential = load_potential(config, EXAMPLE.parent)
    atoms, groups = build_particle(config, EXAMPLE.parent, potential, np.random.default_rng(args.seed))
    model = LocalEnergyModel(potential, atoms)
    print(f"{len(atoms)} sites of {EXAMPLE.parent.name}, potential {config['potential']['file']}: {potential}")
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
