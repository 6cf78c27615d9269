"""Ce–Cu–O structures on the ideal fluorite lattice for the relaxer (issue 36), deterministic from a seed.

    python runs/CeCuO-relaxer/make_structures.py --seed 36 -o runs/CeCuO-relaxer/heldout.extxyz   # the held-out set
    python runs/CeCuO-relaxer/make_structures.py --seed 1 --bulk 60 --slabs 45 --particles 45 -o pool-1.extxyz

Three kinds, tagged in info["config_type"], on the ideal lattice (a = 5.411 Å, nothing rattled: the
inputs a relaxed-lattice labelling sees), O vacancies as X atoms (sites for the lattice mapping):
  bulk_cu    2×2×1 and 2×2×2 cubic cells (48/96 sites) with 1–4 Cu and Cu–vacancy complexes: one
             vacancy per Cu (sometimes half or one and a half), next to the Cu or at random;
  slab111/110/100  the non-polar slabs of runs/CeCuO-potential/structures.py with Cu on surface (or
             random) Ce sites and vacancies next to it or at the surface;
  particle   fluorite particles of 100–250 sites (octahedra, truncated octahedra, cuboctahedra, cubes,
             Wulff shapes) with 4–20 % of the Ce sites Cu, at the surface first, and vacancies next to it.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.io import write

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent / "CeCuO-potential"))
from structures import A, SLAB_SIZES, VACUUM, ceria, ceria_slab, tagged, with_cu, without_oxygen  # noqa: E402

from nanomc.fluorite import fluorite_particle  # noqa: E402

#: fluorite_particle (shape, size) of 100–250 sites
PARTICLES = [("octahedron", 4), ("truncated_octahedron", 4), ("cuboctahedron", 5), ("cube", 2), ("wulff", 40),
             ("wulff", 60), ("octahedron", 5), ("truncated_octahedron", 5)]


def vacancies_for(n_cu: int, rng: np.random.Generator) -> int:
    """O vacancies for n_cu Cu: one each (charge balance for Cu²⁺ on a Ce⁴⁺ site), sometimes half or 1.5."""
    return max(1, int(round(n_cu * rng.choice([0.5, 1.0, 1.0, 1.0, 1.5]))))


def doped_bulk(n: int, rng: np.random.Generator) -> list[Atoms]:
    """Cu–vacancy complexes in 48- and 96-site CeO2 cells."""
    out = []
    for _ in range(n):
        cell = ceria([(2, 2, 1), (2, 2, 2)][rng.integers(2)])
        n_cu = int(rng.integers(1, 5 if len(cell) > 48 else 3))
        atoms = with_cu(cell, n_cu, "random", rng)
        atoms = without_oxygen(atoms, vacancies_for(n_cu, rng), ["near_cu", "near_cu", "random"][rng.integers(3)],
                               rng, mark=True)
        out.append(tagged(atoms, "bulk_cu"))
    return out


def slabs(n: int, rng: np.random.Generator) -> list[Atoms]:
    """(111), (110), (100) slabs (36–120 sites) with Cu on surface or random Ce sites and vacancies."""
    out = []
    while len(out) < n:
        facet = list(SLAB_SIZES)[len(out) % 3]
        layers, repeat = SLAB_SIZES[facet][rng.integers(len(SLAB_SIZES[facet]))]
        atoms = ceria_slab(facet, layers, repeat)
        if len(atoms) > 120:
            continue
        n_ce = int((atoms.symbols == "Ce").sum())
        n_cu = max(1, int(round(rng.uniform(0.05, 0.2) * n_ce)))
        atoms = with_cu(atoms, n_cu, ["b_shell", "b_shell", "random"][rng.integers(3)], rng)
        atoms = without_oxygen(atoms, vacancies_for(n_cu, rng), ["near_cu", "surface"][rng.integers(2)], rng,
                               mark=True)
        out.append(tagged(atoms, f"slab{facet}"))
    return out


def particles(n: int, rng: np.random.Generator) -> list[Atoms]:
    """Fluorite particles of 100–250 sites with Cu at surface Ce sites first and vacancies next to it."""
    out = []
    while len(out) < n:
        shape, size = PARTICLES[rng.integers(len(PARTICLES))]
        atoms = fluorite_particle("CeO2", shape, A, size)
        del atoms.arrays["sublattice"]
        if not 100 <= len(atoms) <= 250:
            continue
        n_ce = int((atoms.symbols == "Ce").sum())
        n_cu = max(2, int(round(rng.uniform(0.04, 0.2) * n_ce)))
        atoms = with_cu(atoms, n_cu, ["b_shell", "b_shell", "random"][rng.integers(3)], rng)
        atoms = without_oxygen(atoms, vacancies_for(n_cu, rng), ["near_cu", "near_cu", "surface"][rng.integers(3)],
                               rng, mark=True)
        atoms.center(vacuum=VACUUM)
        out.append(tagged(atoms, "particle"))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bulk", type=int, default=12)
    parser.add_argument("--slabs", type=int, default=9)
    parser.add_argument("--particles", type=int, default=10)
    parser.add_argument("--seed", type=int, default=36)
    parser.add_argument("-o", "--output", default=str(HERE / "heldout.extxyz"))
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    structures = doped_bulk(args.bulk, rng) + slabs(args.slabs, rng) + particles(args.particles, rng)
    structures = [structures[k] for k in rng.permutation(len(structures))]
    write(args.output, structures, format="extxyz")
    print(f"wrote {len(structures)} structures to {args.output}")
    for kind in sorted({a.info["config_type"] for a in structures}):
        sizes = [len(a) for a in structures if a.info["config_type"] == kind]
        print(f"  {kind:9s} {len(sizes):4d} structures, {min(sizes)}–{max(sizes)} sites")


if __name__ == "__main__":
    main()
