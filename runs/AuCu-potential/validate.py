"""Errors of a Au–Cu potential against EMT on ≥1000-atom particles not in the training set.

    python runs/AuCu-potential/validate.py AuCu.h5

Truncated octahedra (1289 atoms) and cuboctahedra (1415 atoms) at Au fractions 0.2–0.8,
with random, Au-shell and Cu-shell orderings; prints RMSE and MAE per atom by ordering.
"""
import argparse
from pathlib import Path

import numpy as np
from ase.calculators.emt import EMT
from ase.cluster import Octahedron

from nanomc import Potential
from nanomc.training.reference import label, occupy_alloy, vegard

ELEMENTS = ["Au", "Cu"]


def particles(seed: int = 99) -> dict[str, list]:
    """Large particles by ordering: random, Cu core / Au shell, Au core / Cu shell."""
    rng = np.random.default_rng(seed)
    names = {"random": "random", "b_core": "Cu core / Au shell", "b_shell": "Au core / Cu shell"}
    out: dict[str, list] = {name: [] for name in names.values()}
    for shape in ((13, 4), (15, 7)):
        for x_cu in (0.2, 0.5, 0.8):
            for ordering, name in names.items():
                atoms = Octahedron("Au", *shape, latticeconstant=vegard(ELEMENTS, x_cu))
                occupy_alloy(atoms, ELEMENTS, x_cu, ordering, rng)
                out[name].append(atoms)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("potential", type=Path)
    args = parser.parse_args()
    pot = Potential.load(args.potential)
    every = []
    for name, structures in particles().items():
        labelled = label(structures, EMT)
        err = np.array([(pot.energy(a) - a.info["energy"]) / len(a) for a in labelled]) * 1000
        every.append(err)
        print(f"{name:20s} {len(err)} particles of {min(map(len, labelled))}-{max(map(len, labelled))} atoms: "
              f"RMSE {np.sqrt(np.mean(err**2)):.2f} meV/atom, MAE {np.mean(np.abs(err)):.2f} meV/atom")
    err = np.concatenate(every)
    print(f"{'all':20s} {len(err)} particles: RMSE {np.sqrt(np.mean(err**2)):.2f} meV/atom, "
          f"MAE {np.mean(np.abs(err)):.2f} meV/atom")


if __name__ == "__main__":
    main()
