"""Neighbour swaps and composite moves against swaps with any partner in Cu-doped ceria: accepted moves per second.

The particle, swap groups and potential of runs/CeO2-Cu/params.toml (Cu54Ce405O834, 84 O vacancies,
a truncated octahedron of 459 cation and 918 anion sites; the shipped Ce–Cu–O potential), built as a
campaign builds it. It starts at random and is first equilibrated with ordinary swaps
(`--equilibrate` sweeps at each temperature); from that same state each `neighbour_swaps` fraction
f then runs `--sweeps` sweeps (Chain.sweep, as a campaign does). Columns: trials/s, acceptance
(accepted / trials), accepted moves per second, and the number of sites whose element differs
after the timed sweeps from before them (how far the state moved). Neighbour trials that draw a
like neighbour cost nothing, so trials/s grows with f. Then each `composite_moves` fraction
(`--composite`, neighbour_swaps 0) runs from the same state: a Cu–Ce swap that carries a vacancy
next to the first cation to an O site next to the second, four sites in one trial; the columns
"composite" give the composite trials per second and their acceptance (the other trials are
ordinary swaps, or plain swaps where no vacancy can move).

Usage: python benchmarks/neighbour_swaps.py [--temperatures 600,1200] [--fractions 0,0.5,0.9]
       [--composite 0.5,1] [--equilibrate 60] [--sweeps 100] [--seed 1]
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
    parser.add_argument("--composite", default="0.5,1", help="composite_moves values, comma-separated ('' for none)")
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
        runs = [(float(f), 0.0) for f in args.fractions.split(",")]
        runs += [(0.0, float(f)) for f in args.composite.split(",") if f]
        for fraction, composite in runs:
            model._kernel.set_state(start)
            chain = Chain(model, groups, np.random.default_rng(args.seed + 1), neighbour_fraction=fraction,
                          composite_fraction=composite)
            before = model.element_indices
            t0 = time.perf_counter()
            result = chain.sweep(temperature, args.sweeps)
            seconds = time.perf_counter() - t0
            trials = len(groups.movable) * args.sweeps
            accepted = result.acceptance * trials
            changed = int(np.count_nonzero(model.element_indices != before))
            kernel = model._kernel
            composite_rate, composite_acceptance = "-", "-"
            if composite:
                composite_rate = f"{kernel.composite_proposed / seconds:.0f}"
                composite_acceptance = f"{kernel.composite_accepted / max(kernel.composite_proposed, 1):.4f}"
            rows.append([f"{temperature:.0f}", f"{fraction:g}", f"{composite:g}", f"{trials / seconds:.0f}",
                         f"{result.acceptance:.4f}", f"{accepted / seconds:.2f}", str(changed), composite_rate,
                         composite_acceptance])
    print_table(["T K", "neighbour", "composite", "trials/s", "acceptance", "accepted/s", "sites changed",
                 "composite/s", "composite acc."], rows)


if __name__ == "__main__":
    main()
