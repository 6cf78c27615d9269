"""Ideal-lattice Au–Cu structures for a relaxed-lattice potential (issue 19), to be labelled by
`nanomc label --relax` with EMT.

Every structure sits exactly on its lattice (no rattle, no strain: the inputs of a relaxed-lattice
potential are the sites the MC uses) at the Vegard lattice constant of its composition, the one a
campaign uses by default:

- clusters: octahedra and truncated octahedra of 38–405 atoms, Cu fraction uniform in [0.05, 0.95],
  random, Cu-core or Cu-shell occupations (nanomc.training.reference.occupy_alloy);
- MC states: snapshots of canonical MC with the shipped (unrelaxed) Au–Cu potential on 201- and
  314-atom truncated octahedra at 300–1200 K (nanomc.training.reference.active_learning_set),
  the segregated and ordered arrangements a campaign visits;
- bulk: 108-atom cubic fcc cells, random occupation (the particle interior).

    python runs/AuCu-relaxed-lattice/make_structures.py          # writes structures-train.extxyz here
    nanomc label runs/AuCu-relaxed-lattice/structures-train.extxyz -c emt --relax --fmax 0.02 \\
        -o runs/AuCu-relaxed-lattice/labels-emt-relaxed.extxyz
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.build import bulk
from ase.cluster import Octahedron
from ase.io import write

from nanomc import Potential
from nanomc.training.reference import ORDERINGS, active_learning_set, occupy_alloy, vegard

HERE = Path(__file__).parent
ELEMENTS = ["Au", "Cu"]
#: ase.cluster.Octahedron (length, cutoff): 38, 79, 140, 116, 201, 314, 260 and 405 atoms
CLUSTER_SHAPES = [(4, 1), (5, 1), (6, 1), (6, 2), (7, 2), (8, 2), (8, 3), (9, 3)]


def cluster_structures(n: int, rng: np.random.Generator) -> list[Atoms]:
    """n clusters on ideal fcc sites, each tagged info['config_type'] = 'cluster'."""
    out = []
    for _ in range(n):
        x = rng.uniform(0.05, 0.95)
        length, cutoff = CLUSTER_SHAPES[rng.integers(len(CLUSTER_SHAPES))]
        atoms = Octahedron(ELEMENTS[0], length, cutoff, latticeconstant=vegard(ELEMENTS, x))
        occupy_alloy(atoms, ELEMENTS, x, ORDERINGS[rng.integers(len(ORDERINGS))], rng)
        atoms.center(vacuum=6.0)
        atoms.info["config_type"] = "cluster"
        out.append(atoms)
    return out


def bulk_structures(n: int, rng: np.random.Generator) -> list[Atoms]:
    """n random 108-atom fcc cells (3×3×3 cubic) at their Vegard lattice constant."""
    out = []
    for _ in range(n):
        x = rng.uniform(0.05, 0.95)
        atoms = bulk(ELEMENTS[0], "fcc", a=vegard(ELEMENTS, x), cubic=True).repeat(3)
        occupy_alloy(atoms, ELEMENTS, x, "random", rng)
        atoms.info["config_type"] = "bulk"
        out.append(atoms)
    return out


def mc_structures(potential: Potential, particles: int, snapshots: int, seed: int) -> list[Atoms]:
    """Snapshots of canonical MC with `potential` on 201- and 314-atom truncated octahedra."""
    out = []
    for k, size in enumerate((7, 8)):
        for atoms in active_learning_set(potential, ELEMENTS, particles, snapshots, seed=seed + k, size=size,
                                         temperatures=(300.0, 600.0, 900.0, 1200.0), sweeps_between=20):
            atoms.center(vacuum=6.0)
            atoms.info["config_type"] = "mc"
            out.append(atoms)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clusters", type=int, default=400)
    parser.add_argument("--bulk", type=int, default=40)
    parser.add_argument("--mc-particles", type=int, default=15, help="MC particles of each of the two sizes")
    parser.add_argument("--snapshots", type=int, default=3, help="snapshots per MC particle")
    parser.add_argument("--seed", type=int, default=1919)
    parser.add_argument("-o", "--output", default=str(HERE / "structures-train.extxyz"))
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    frames = (cluster_structures(args.clusters, rng) + bulk_structures(args.bulk, rng)
              + mc_structures(Potential.load("AuCu"), args.mc_particles, args.snapshots, args.seed + 1))
    write(args.output, frames, format="extxyz")
    print(f"wrote {len(frames)} structures ({sum(map(len, frames))} atoms) to {args.output}")


if __name__ == "__main__":
    main()
