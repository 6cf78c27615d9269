"""Force evaluation time for Au–Cu particles: energy + analytic forces (Potential.energy_forces)
against energy only (Potential.energy), both including the neighbour list.

Usage: python benchmarks/forces.py [--repeat K]
"""
import argparse
import time

from common import SIZES, alloy_particle, benchmark_potential, print_table


def best_time(fn, repeat: int) -> float:
    """Shortest wall time (s) of `repeat` calls."""
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3, help="timings per size; the best is shown")
    args = parser.parse_args()
    pot = benchmark_potential()
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
