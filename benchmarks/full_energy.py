"""Full energy evaluation time for Au–Cu particles (neighbour list + descriptors + networks).

Usage: python benchmarks/full_energy.py [--repeat K] [--basis behler|chebyshev]
"""
from common import SIZES, alloy_particle, best_time, print_table, timing_setup


def main() -> None:
    args, pot = timing_setup(__doc__)
    rows = []
    for length, cut in SIZES:
        atoms = alloy_particle(length, cut)
        best = best_time(lambda: pot.energy(atoms), args.repeat)
        rows.append([len(atoms), f"{best:.4f}", f"{1e6 * best / len(atoms):.1f}"])
    print_table(["atoms", "seconds", "us/atom"], rows)


if __name__ == "__main__":
    main()
