"""Full energy evaluation time for Au–Cu particles (neighbour list + descriptors + networks).

Usage: python benchmarks/full_energy.py [--repeat K] [--basis behler|chebyshev]
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
    for length, cut in SIZES:
        atoms = alloy_particle(length, cut)
        best = best_time(lambda: pot.energy(atoms), args.repeat)
        rows.append([len(atoms), f"{best:.4f}", f"{1e6 * best / len(atoms):.1f}"])
    print_table(["atoms", "seconds", "us/atom"], rows)


if __name__ == "__main__":
    main()
