"""Force evaluation time for Au–Cu particles: energy + analytic forces (Potential.energy_forces)
against energy only (Potential.energy), both including the neighbour list.

Usage: python benchmarks/forces.py [--repeat K] [--basis behler|chebyshev]
"""
from common import SIZES, alloy_particle, best_time, print_table, timing_setup


def main() -> None:
    args, pot = timing_setup(__doc__)
    rows = []
    for length, cut in SIZES[:3]:
        atoms = alloy_particle(length, cut)
        energy = best_time(lambda: pot.energy(atoms), args.repeat)
        forces = best_time(lambda: pot.energy_forces(atoms), args.repeat)
        rows.append([len(atoms), f"{forces:.4f}", f"{1e6 * forces / len(atoms):.1f}", f"{energy:.4f}",
                     f"{forces / energy:.2f}"])
    print_table(["atoms", "forces s/call", "us/atom", "energy s/call", "ratio"], rows)


if __name__ == "__main__":
    main()
