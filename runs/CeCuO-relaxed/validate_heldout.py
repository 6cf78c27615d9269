"""Relaxed-lattice potentials against the teacher's own full relaxations of the held-out set (issue 36 §3).

    python runs/CeCuO-relaxed/validate_heldout.py POTENTIAL [POTENTIAL ...]

The held-out set is runs/CeCuO-relaxer/heldout.extxyz (31 structures on the ideal lattice, vacancies as
X), relaxed by the teacher's own BFGS (heldout-relaxed-7net-0.extxyz). A relaxation that maps back to
the lattice (with the swap groups Ce,Cu and O,X and --max-displacement 1.5 Å, as the labels are made)
gives the relaxed energy of the occupation it maps to; the potential's energy of that occupation on
the ideal sites is compared with it: RMSE and mean error in meV/atom per kind of structure. The
ideal-lattice `CeCuO` row says how far unrelaxed energies are from relaxed ones.
"""
from __future__ import annotations

import argparse
from collections import defaultdict
from pathlib import Path

import numpy as np

import nanomc
from nanomc.particles import read_frames
from nanomc.structure import without_vacancies
from nanomc.training.labelfile import read_labels, structure_hash
from nanomc.training.relaxed import map_to_lattice

RELAXER = Path(__file__).parent.parent / "CeCuO-relaxer"
SWAP_GROUPS = [("Ce", "Cu"), ("O", "X")]
MAX_DISPLACEMENT = 1.5


def relaxed_occupations() -> list[tuple[str, object, float]]:
    """(kind, occupation on the ideal sites, teacher's relaxed energy eV) of every held-out relaxation that maps."""
    inputs = {structure_hash(without_vacancies(frame)): frame for frame in read_frames(RELAXER / "heldout.extxyz")}
    out = []
    for relaxed in read_labels(RELAXER / "heldout-relaxed-7net-0.extxyz"):
        frame = inputs[str(relaxed.info["structure_hash"])]
        ideal, vacant = without_vacancies(frame), frame.positions[frame.numbers == 0]
        mapping = map_to_lattice(ideal, relaxed, MAX_DISPLACEMENT, vacant, SWAP_GROUPS)
        if mapping.reason is None:
            out.append((str(frame.info["config_type"]), mapping.occupation(ideal, vacant),
                        relaxed.get_potential_energy()))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("potentials", nargs="+")
    args = parser.parse_args()
    structures = relaxed_occupations()
    kinds = sorted({kind for kind, _, _ in structures})
    print(f"{len(structures)} of the held-out teacher relaxations map back; potential energy of the occupation "
          f"on the ideal sites − teacher's relaxed energy, RMSE / mean (meV/atom)\n")
    print("| potential | " + " | ".join(f"{k} ({sum(s[0] == k for s in structures)})" for k in kinds) + " | all |")
    print("|---|" + "---:|" * (len(kinds) + 1))
    for name in args.potentials:
        potential = nanomc.Potential.load(name)
        errors = defaultdict(list)
        for kind, atoms, energy in structures:
            error = 1e3 * (potential.energy(atoms) - energy) / len(atoms)
            errors[kind].append(error)
            errors["all"].append(error)
        cells = [f"{np.sqrt(np.mean(np.square(errors[k]))):.1f} / {np.mean(errors[k]):+.1f}" for k in [*kinds, "all"]]
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
