"""Issue 19 validation (not run at scale yet): relaxed-EMT swap energies against a relaxed-lattice potential's.

For an Au–Cu truncated octahedron with a random occupation (default 1289 atoms), pick --swaps random
Au–Cu pairs; for each, the reference swap energy is E_relaxed(swapped) − E_relaxed(original) with both
structures relaxed by EMT (FIRE, --fmax) from their ideal lattice positions, and the prediction is the
potential's on-lattice energy difference. Prints every pair and the RMSE and bias (meV). Each EMT
relaxation of ~1300 atoms takes minutes: start with --swaps 5.

    python runs/AuCu-relaxed-lattice/validate_swaps.py POTENTIAL.h5 [--length 13 --cutoff 4] [--swaps 20]
"""
from __future__ import annotations

import argparse

import numpy as np
from ase.calculators.emt import EMT
from ase.cluster import Octahedron

import nanomc
from nanomc.training.relaxed import RelaxSettings, Unmapped, relax_and_label


def relaxed_energy(atoms, settings: RelaxSettings) -> float:
    """EMT energy (eV) of atoms relaxed from their lattice positions; NaN if it does not map back."""
    result = relax_and_label(atoms, EMT(), None, settings)
    return float("nan") if isinstance(result, Unmapped) else result[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("potential", help="a relaxed-lattice potential file (nanomc train on `nanomc label --relax`)")
    parser.add_argument("--length", type=int, default=13, help="ase.cluster.Octahedron length (13 with cutoff 4: 1289 atoms)")
    parser.add_argument("--cutoff", type=int, default=4, help="ase.cluster.Octahedron cutoff")
    parser.add_argument("--swaps", type=int, default=20)
    parser.add_argument("--fmax", type=float, default=0.05, help="eV/Å")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    potential = nanomc.Potential.load(args.potential)
    if potential.energies != "relaxed-lattice":
        print(f"note: {args.potential} is not a relaxed-lattice potential (energies = {potential.energies})")
    rng = np.random.default_rng(args.seed)
    atoms = Octahedron("Au", args.length, args.cutoff, latticeconstant=3.85)
    atoms.symbols[rng.random(len(atoms)) < 0.5] = "Cu"
    atoms.center(vacuum=6.0)
    settings = RelaxSettings(fmax=args.fmax, steps=2000)
    e_ref0, e_pot0 = relaxed_energy(atoms, settings), potential.energy(atoms)
    errors = []
    print(f"{len(atoms)} atoms; pair  dE_EMT_relaxed (meV)  dE_potential (meV)")
    for _ in range(args.swaps):
        i = rng.choice(np.flatnonzero(atoms.numbers == 79))
        j = rng.choice(np.flatnonzero(atoms.numbers == 29))
        swapped = atoms.copy()
        swapped.numbers[[i, j]] = swapped.numbers[[j, i]]
        ref = 1e3 * (relaxed_energy(swapped, settings) - e_ref0)
        pred = 1e3 * (potential.energy(swapped) - e_pot0)
        errors.append(pred - ref)
        print(f"{i:5d}-{j:<5d} {ref:12.1f} {pred:12.1f}", flush=True)
    errors = np.array(errors)
    errors = errors[np.isfinite(errors)]
    print(f"{len(errors)} swaps: RMSE {np.sqrt(np.mean(errors ** 2)):.1f} meV, bias {errors.mean():+.1f} meV")


if __name__ == "__main__":
    main()
