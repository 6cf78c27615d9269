"""The cheap path finished by the teacher: relax with a nanomc potential, then go on with the teacher's
own BFGS from there, and count the teacher's steps against its relaxation from the ideal lattice.

    python runs/CeCuO-relaxer/finish_with_teacher.py CeCuO-relaxer1.h5 > finish-relaxer1.txt

For each held-out structure: the teacher's steps from the lattice (heldout-relaxed-7net-0.extxyz) and
from the relaxer's geometry, and (E_finished − E_ref)/N in meV/atom (negative: a lower minimum found).
Needs the teacher (torch and sevenn).
"""
import sys
from pathlib import Path

import numpy as np
from ase.optimize import BFGS

from nanomc.potential import Potential
from nanomc.relax import relax
from nanomc.training.calculators import CalculatorSpec
from nanomc.training.relaxer import paired_references

HERE = Path(__file__).parent


def main() -> None:
    potential = Potential.load(HERE / sys.argv[1])
    teacher = CalculatorSpec.parse("sevennet").build()
    pairs = paired_references([HERE / "heldout.extxyz"], HERE / "heldout-relaxed-7net-0.extxyz")
    print(f"{'kind':10s} {'atoms':>5s} {'teacher steps':>13s} {'after relaxer':>13s} {'dE (meV/atom)':>13s}")
    ratios, errors = [], []
    for origin, atoms, reference in pairs:
        cheap = relax(atoms, potential, 0.05, 500, "BFGS", origin, keep_going=True).atoms
        cheap.calc = teacher
        optimizer = BFGS(cheap, logfile=None)
        optimizer.run(fmax=0.05, steps=500)
        error = 1e3 * (cheap.get_potential_energy() - reference.get_potential_energy()) / len(cheap)
        steps = int(reference.info["relax_steps"])
        ratios.append(optimizer.nsteps / steps)
        errors.append(error)
        print(f"{atoms.info['config_type']:10s} {len(atoms):5d} {steps:13d} {optimizer.nsteps:13d} {error:13.2f}",
              flush=True)
    errors = np.array(errors)
    print(f"teacher steps after the relaxer / from the lattice: median {np.median(ratios):.2f}, "
          f"mean {np.mean(ratios):.2f}; (E_finished − E_ref)/N: median {np.median(errors):.2f}, "
          f"RMSE {np.sqrt(np.mean(errors ** 2)):.2f}, range {errors.min():.2f} … {errors.max():.2f} meV/atom")


if __name__ == "__main__":
    main()
