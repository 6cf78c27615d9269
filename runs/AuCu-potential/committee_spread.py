"""Does a committee's spread grow where its error grows? Swap energies against EMT.

    python runs/AuCu-potential/committee_spread.py AuCu-committee.h5 [--swaps 16]

1289-atom Au–Cu truncated octahedra (random occupation): in the training domain (Vegard
lattice constant, Cu fractions 0.25, 0.5, 0.75) and out of it (Au50Cu50 with the lattice
scaled by 0.88 ... 1.2; the reference set strains bulk by at most ±10%). For each particle,
random swaps of unlike atoms: the committee's mean ΔE against EMT's ΔE (error), and σ, the
spread of ΔE over the members; also the energy per atom against EMT and its σ. Prints one row
per particle (meV).
"""
import argparse
from pathlib import Path

import numpy as np
from ase.calculators.emt import EMT
from ase.cluster import Octahedron

from nanomc import Potential
from nanomc.analysis.uncertainty import CommitteeProbe
from nanomc.training.reference import vegard

ELEMENTS = ["Au", "Cu"]
CASES = [("in domain", x, 1.0) for x in (0.25, 0.5, 0.75)] + \
        [("strained", 0.5, s) for s in (0.88, 0.94, 1.06, 1.12, 1.2)]


def emt_energy(atoms) -> float:
    atoms = atoms.copy()
    atoms.calc = EMT()
    return float(atoms.get_potential_energy())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("potential", type=Path)
    parser.add_argument("--swaps", type=int, default=16, help="random swaps per particle")
    args = parser.parse_args()
    pot = Potential.load(args.potential)
    rng = np.random.default_rng(11)
    print(f"{'case':10s} {'x_Cu':>5s} {'a/a_V':>6s} {'swap RMSE':>10s} {'bias':>7s} {'mean σ':>7s} {'max σ':>7s} "
          f"{'mean|ΔE|':>9s} {'E err/atom':>10s} {'σ(E)/atom':>9s}")
    for name, x_cu, scale in CASES:
        atoms = Octahedron("Au", 13, 4, latticeconstant=scale * vegard(ELEMENTS, x_cu))
        occupation = (rng.permutation(len(atoms)) < round(x_cu * len(atoms))).astype(np.int64)
        atoms.set_chemical_symbols([ELEMENTS[k] for k in occupation])
        sample = CommitteeProbe(pot, atoms, ELEMENTS, np.zeros(len(atoms), np.int64)).sample(occupation[None],
                                                                                             args.swaps, rng)
        before = emt_energy(atoms)
        reference = []
        for i, j in sample.pairs[0]:
            swapped = atoms.copy()
            symbols = swapped.get_chemical_symbols()
            symbols[i], symbols[j] = symbols[j], symbols[i]
            swapped.set_chemical_symbols(symbols)
            reference.append(emt_energy(swapped) - before)
        error = 1000 * (sample.delta[0].mean(axis=1) - reference)
        sigma = 1000 * sample.spread[0]
        energy_error = 1000 * (sample.energy[0].mean() - before) / len(atoms)
        print(f"{name:10s} {x_cu:5.2f} {scale:6.2f} {np.sqrt(np.mean(error**2)):10.1f} {error.mean():7.1f} "
              f"{sigma.mean():7.1f} {sigma.max():7.1f} {1000 * np.mean(np.abs(reference)):9.0f} "
              f"{energy_error:10.2f} {1000 * sample.energy_spread[0]:9.2f}", flush=True)


if __name__ == "__main__":
    main()
