"""Full energy evaluation time for Au–Cu particles (neighbour list + descriptors + networks).

Usage: python benchmarks/full_energy.py [--repeat K]
"""
import argparse
import time

from common import SIZES, alloy_particle, benchmark_potential, print_table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3, help="timings per size; the best is shown")
    args = parser.parse_args()
    pot = benchmark_potential()
    print(f"potential: {pot}; {pot.descriptor_sets['Au'].size} symmetry functions per element")
    rows = []
    for length, cut in SIZES:
        atoms = alloy_particle(length, cut)
        best = float("inf")
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            pot.energy(atoms)
            best = min(best, time.perf_counter() - t0)
        rows.append([len(atoms), f"{best:.4f}", f"{1e6 * best / len(atoms):.1f}"])
    print_table(["atoms", "seconds", "us/atom"], rows)


if __name__ == "__main__":
    main()
