"""Two Ce–Cu–O structures on the ideal fluorite lattice for probing relaxed-lattice labels (issue 19).

    python runs/CeCuO-relaxed-lattice/probe_structures.py            # writes probe.extxyz here

Frame 0: a 2×2×2 fluorite cell (a = 5.411 Å, 32 cation and 64 anion sites) with 2 Cu on Ce sites and
2 O vacancies, at random. Frame 1: the size-4 truncated octahedron of runs/CeCuO-potential/
swap_structures.py (38 cation and 76 anion sites, Cu54Ce405O834's Cu and vacancy fractions at random).
Vacancies are X atoms, so that `nanomc label --relax` counts them as sites when it maps a relaxed
structure back to its lattice.
"""
import sys
from pathlib import Path

import numpy as np
from ase.io import write
from ase.spacegroup import crystal

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent / "CeCuO-potential"))
from swap_structures import random_particle  # noqa: E402

from nanomc.fluorite import LATTICE_CONSTANTS  # noqa: E402


def doped_cell(n_cu: int, n_vacancies: int, rng: np.random.Generator):
    """2×2×2 conventional fluorite CeO2 cell with n_cu Cu on Ce sites and n_vacancies X on O sites."""
    a = LATTICE_CONSTANTS["CeO2"]
    cell = crystal(["Ce", "O"], [(0, 0, 0), (0.25, 0.25, 0.25)], spacegroup=225,
                   cellpar=[a, a, a, 90, 90, 90]).repeat((2, 2, 2))
    cations = np.flatnonzero(cell.symbols == "Ce")
    anions = np.flatnonzero(cell.symbols == "O")
    cell.symbols[rng.choice(cations, n_cu, replace=False)] = "Cu"
    cell.symbols[rng.choice(anions, n_vacancies, replace=False)] = "X"
    return cell


def main() -> None:
    bulk = doped_cell(2, 2, np.random.default_rng(3))
    bulk.info["kind"] = "bulk Cu2Ce30O62"
    particle = random_particle(4, np.random.default_rng(1))
    particle.info["kind"] = "particle, 114 sites"
    write(HERE / "probe.extxyz", [bulk, particle])
    print(f"wrote {HERE / 'probe.extxyz'}: {len(bulk)} and {len(particle)} sites")


if __name__ == "__main__":
    main()
