"""Force evaluation time for Au–Cu particles: energy + analytic forces (Potential.energy_forces)
against energy only (Potential.energy), both including the neighbour list.

Usage: python benchmarks/forces.py [--repeat K] [--basis behler|chebyshev]
"""
import argparse

from common import SIZES, add_basis_argument, alloy_particle, benchmark_potential, best_time, print_table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3, help="timings per size; the best is shown")
    add_basis_argument(parser)
    args = parser.parse_args()
    pot = benchmark_potential(args.basis)
    print(f"potential: {pot}; {pot.descriptor_sets['Au'].size} symmetry functions per element")
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
