"""Reference data for the shipped Au–Cu potential, labelled with ASE's EMT calculator.

    python runs/AuCu-potential/make_reference.py                         # round 1: reference-initial.extxyz
    python runs/AuCu-potential/make_reference.py --active potential-initial.h5
                                                                         # round 2: reference-active.extxyz
    python runs/AuCu-potential/make_reference.py --pairs ../../nanomc/data/AuCu.h5 --pair-ordered 16
                                                                         # move pairs: reference-pairs.extxyz
    python runs/AuCu-potential/make_reference.py --pairs ../../nanomc/data/AuCu.h5 --pair-particles 0 \
        --pair-ordered 12 --pair-shapes "13,6 17,8 14,6 16,7" --pair-seed 31 --output reference-pairs-shapes.extxyz
                                                                         # more pairs, in particles of other shapes

Round 1 follows the recipe of nanomc.training.reference (bulk and ordered phases with
strain and tilt, random alloys, slabs, clusters of 13–300 atoms). Round 2 is one round of
active learning: short MC runs with the first potential on ~300-atom particles, whose
configurations are labelled and added. The pairs round runs canonical MC with a potential on
1072- and 1654-atom truncated octahedra (random compositions, 300–1200 K), takes snapshots and
proposes random Au↔Cu swaps in each (with --pair-ordered, also in particles of the same
sizes, or of the --pair-shapes given, occupied at random or core–shell at random compositions,
far from equilibrium); every (before, after) pair is labelled with EMT exactly
(nanomc.training.lattice_emt: only the atoms within EMT's range of the swapped sites are
re-evaluated) and written as a move-pair file (see nanomc.training.pairs). Replace EMT by any
ASE calculator for real data (label_pairs with calculator_delta).
"""
import argparse
from pathlib import Path

import numpy as np

from ase.calculators.emt import EMT
from ase.cluster import Octahedron
from ase.io import write

from nanomc import Potential
from nanomc.training.lattice_emt import emt_pair_energies
from nanomc.training.pairs import label_pairs, swap_moves
from nanomc.training.reference import ORDERINGS, active_learning_set, initial_set, label, occupy_alloy, vegard

HERE = Path(__file__).parent
ELEMENTS = ["Au", "Cu"]


def ordered_particles(n: int, rng: np.random.Generator, shapes: list[tuple[int, int]]) -> list:
    """n particles of each shape (ase.cluster.Octahedron's length, cutoff) at the Vegard lattice constant
    of a random Cu fraction, occupied at random, Cu-core or Cu-shell (reference.occupy_alloy)."""
    out = []
    for length, cutoff in shapes:
        for _ in range(n):
            x = rng.uniform(0.1, 0.9)
            atoms = Octahedron(ELEMENTS[0], length, cutoff, latticeconstant=vegard(ELEMENTS, x))
            occupy_alloy(atoms, ELEMENTS, x, ORDERINGS[rng.integers(3)], rng)
            out.append(atoms)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--active", help="first-round potential: write the active-learning set instead")
    parser.add_argument("--bulk", type=int, default=1200)
    parser.add_argument("--slabs", type=int, default=600)
    parser.add_argument("--clusters", type=int, default=1500)
    parser.add_argument("--particles", type=int, default=40, help="active learning: MC particles")
    parser.add_argument("--snapshots", type=int, default=10, help="active learning: configurations per particle")
    parser.add_argument("--pairs", help="potential for MC: write the move-pair set instead")
    parser.add_argument("--pair-particles", type=int, default=8, help="pairs: MC particles of each size")
    parser.add_argument("--pair-snapshots", type=int, default=4, help="pairs: snapshots per particle")
    parser.add_argument("--swaps", type=int, default=20, help="pairs: swaps per snapshot")
    parser.add_argument("--pair-ordered", type=int, default=0,
                        help="pairs: also this many particles of each --pair-shapes shape with random, Cu-core or "
                             "Cu-shell occupations at random compositions (not equilibrated)")
    parser.add_argument("--pair-shapes", default="12,3 14,4",
                        help="pairs: Octahedron length,cutoff of the --pair-ordered particles (default: the MC sizes)")
    parser.add_argument("--pair-seed", type=int, default=13, help="pairs: seed of the --pair-ordered particles")
    parser.add_argument("--output", help="output file, relative to this directory "
                                         "(default: reference-initial, -active or -pairs.extxyz)")
    args = parser.parse_args()
    default = "reference-pairs" if args.pairs else "reference-active" if args.active else "reference-initial"
    out = HERE / (args.output or f"{default}.extxyz")
    if args.pairs:
        potential = Potential.load(HERE / args.pairs)
        shapes = [tuple(int(v) for v in shape.split(",")) for shape in args.pair_shapes.split()]
        snapshots = [atoms for k, size in enumerate((12, 14))
                     for atoms in active_learning_set(potential, ELEMENTS, args.pair_particles, args.pair_snapshots,
                                                      seed=11 + k, size=size, temperatures=(300.0, 600.0, 900.0, 1200.0),
                                                      sweeps_between=5)]
        snapshots += ordered_particles(args.pair_ordered, np.random.default_rng(args.pair_seed), shapes)
        frames = label_pairs(swap_moves(snapshots, args.swaps, np.random.default_rng(12)),
                             emt_pair_energies(ELEMENTS))
        write(out, frames, format="extxyz")
        print(f"wrote {len(frames) // 2} move pairs ({len(snapshots)} snapshots of "
              f"{min(map(len, snapshots))}-{max(map(len, snapshots))} atoms) to {out}")
        return
    if args.active:
        structures = active_learning_set(Potential.load(HERE / args.active), ELEMENTS, args.particles,
                                         args.snapshots, seed=7)
    else:
        structures = initial_set(ELEMENTS, args.bulk, args.slabs, args.clusters, seed=2026)
    write(out, label(structures, EMT), format="extxyz")
    print(f"wrote {len(structures)} structures to {out}")


if __name__ == "__main__":
    main()
