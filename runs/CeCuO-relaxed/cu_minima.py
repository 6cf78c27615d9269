"""Why relaxed Ce–Cu–O energies depend on the start: the two minima of a Cu next to an O vacancy (issue 36).

    cd runs/CeCuO-relaxer
    OMP_NUM_THREADS=1 python ../CeCuO-relaxed/cu_minima.py > ../CeCuO-relaxed/cu-minima.txt

Takes the first Ce15CuO31 base structure of moves-3 (one Cu, one O vacancy next to it, 47 atoms) and relaxes
it with the teacher itself (SevenNet-0, BFGS to 0.05 eV/Å, no relaxer) from three kinds of start, the same
starts `nanomc label --relax` makes (nanomc.training.relaxed.rattled):
- the ideal lattice;
- rattled: every atom displaced by a normal 0.03 Å (starts 0–2);
- kicked: rattled, and the Cu moved by 0.6 Å in a random direction (`--kick Cu=0.6`, starts 0–4).
Prints per relaxation the energy (eV), steps, the Cu's displacement from its site (Å, and the direction) and
its shortest Cu–O distances (Å): a 4+2 coordinated Cu half an ångström off its site, or a square-planar CuO4
about 1 Å off along a cube-face direction.
"""
from __future__ import annotations

import numpy as np
from ase.io import read
from ase.optimize import BFGS

from nanomc.structure import without_vacancies
from nanomc.training.calculators import CalculatorSpec
from nanomc.training.relaxed import rattled

#: eV/Å, the labels' fmax
FMAX = 0.05


def first_single_cu_base(path: str = "moves-3-bases.extxyz"):
    """The first base structure with formula Ce15CuO31 (vacancies dropped)."""
    for frame in read(path, ":"):
        atoms = without_vacancies(frame)
        if atoms.get_chemical_formula() == "Ce15CuO31":
            return atoms
    raise SystemExit(f"{path}: no Ce15CuO31 structure")


def main() -> None:
    atoms = first_single_cu_base()
    teacher = CalculatorSpec.parse("sevennet").build()
    cu = int(np.flatnonzero(atoms.symbols == "Cu")[0])
    oxygen = np.flatnonzero(atoms.symbols == "O")
    starts = ([("lattice", atoms.copy())] + [(f"rattled {k}", rattled(atoms, 0.03, k)) for k in range(3)]
              + [(f"kicked {k}", rattled(atoms, 0.03, k, (("Cu", 0.6),))) for k in range(5)])
    print(f"{atoms.get_chemical_formula()}, Cu atom {cu}; teacher BFGS to {FMAX} eV/Å from each start")
    for name, start in starts:
        start.calc = teacher
        optimizer = BFGS(start, logfile=None)
        converged = optimizer.run(fmax=FMAX, steps=500)
        shift = start.positions[cu] - atoms.positions[cu]
        distances = np.sort(start.get_distances(cu, oxygen, mic=True))[:6]
        print(f"{name:>10}: E {start.get_potential_energy():10.3f} eV, {optimizer.nsteps:3d} steps"
              f"{'' if converged else ' (not converged)'}, Cu moved {np.linalg.norm(shift):.2f} Å along "
              f"{np.round(shift / np.linalg.norm(shift), 2)}, Cu–O {' '.join(f'{d:.2f}' for d in distances)} Å")


if __name__ == "__main__":
    main()
