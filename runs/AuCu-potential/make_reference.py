"""Reference data for the shipped Au–Cu potential, labelled with ASE's EMT calculator.

    python runs/AuCu-potential/make_reference.py                         # round 1: reference-initial.extxyz
    python runs/AuCu-potential/make_reference.py --active potential-initial.h5
                                                                         # round 2: reference-active.extxyz

Round 1 follows the recipe of nanomc.training.reference (bulk and ordered phases with
strain and tilt, random alloys, slabs, clusters of 13–300 atoms). Round 2 is one round of
active learning: short MC runs with the first potential on ~300-atom particles, whose
configurations are labelled and added. Replace EMT by any ASE calculator for real data.
"""
import argparse
from pathlib import Path

from ase.calculators.emt import EMT
from ase.io import write

from nanomc import Potential
from nanomc.training.reference import active_learning_set, initial_set, label

HERE = Path(__file__).parent
ELEMENTS = ["Au", "Cu"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--active", help="first-round potential: write the active-learning set instead")
    parser.add_argument("--bulk", type=int, default=1200)
    parser.add_argument("--slabs", type=int, default=600)
    parser.add_argument("--clusters", type=int, default=1500)
    parser.add_argument("--particles", type=int, default=40, help="active learning: MC particles")
    parser.add_argument("--snapshots", type=int, default=10, help="active learning: configurations per particle")
    args = parser.parse_args()
    if args.active:
        structures = active_learning_set(Potential.load(HERE / args.active), ELEMENTS, args.particles,
                                         args.snapshots, seed=7)
        out = HERE / "reference-active.extxyz"
    else:
        structures = initial_set(ELEMENTS, args.bulk, args.slabs, args.clusters, seed=2026)
        out = HERE / "reference-initial.extxyz"
    write(out, label(structures, EMT), format="extxyz")
    print(f"wrote {len(structures)} structures to {out}")


if __name__ == "__main__":
    main()
