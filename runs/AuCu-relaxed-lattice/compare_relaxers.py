"""Relaxed-lattice labels of Au–Cu with EMT: relax with EMT itself vs relax with the shipped nanomc
potential (nanomc/data/AuCu.h5, trained on EMT) plus one EMT single point.

20 structures with random occupations: truncated octahedra of 38, 79 and 140 atoms and 32-atom fcc
cells (cell relaxed too). Both label runs use `nanomc label --relax` (FIRE, fmax 0.05 eV/Å); the
script prints per structure the relaxation energy (E_unrelaxed − E_relaxed)/N under EMT and the
difference of the two relaxed labels, then their mean and largest absolute difference (meV/atom).

    python runs/AuCu-relaxed-lattice/compare_relaxers.py [--workers 2]
Writes structures.extxyz, labels-emt.extxyz, labels-nanomc.extxyz and comparison.txt here (resumable).
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from ase.build import bulk
from ase.calculators.emt import EMT
from ase.cluster import Octahedron
from ase.io import write

from nanomc.potential.store import potential_path
from nanomc.training.calculators import CalculatorSpec
from nanomc.training.label import label_files
from nanomc.training.labelfile import read_labels
from nanomc.training.relaxed import RelaxSettings

HERE = Path(__file__).parent


def structures(seed: int = 19) -> list:
    """20 Au–Cu structures on ideal fcc sites (Vegard lattice constant), Cu fraction uniform in [0.1, 0.9]."""
    rng = np.random.default_rng(seed)
    out = []
    for kind, count in (((4, 1), 6), ((5, 1), 5), ((6, 1), 3), ("bulk", 6)):
        for _ in range(count):
            x = rng.uniform(0.1, 0.9)
            a = 4.08 * (1 - x) + 3.61 * x
            atoms = (bulk("Au", "fcc", a=a, cubic=True).repeat(2) if kind == "bulk"
                     else Octahedron("Au", *kind, latticeconstant=a))
            atoms.symbols[rng.random(len(atoms)) < x] = "Cu"
            if kind != "bulk":
                atoms.center(vacuum=6.0)
            out.append(atoms)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    inputs = HERE / "structures.extxyz"
    frames = structures()
    write(inputs, frames)
    runs = {"emt": RelaxSettings(cell=True), "nanomc": RelaxSettings(relax_with=str(potential_path("AuCu")), cell=True)}
    labels = {}
    for name, settings in runs.items():
        out = HERE / f"labels-{name}.extxyz"
        label_files([inputs], out, CalculatorSpec.parse("emt"), workers=args.workers, relax=settings, quiet=True)
        labels[name] = {str(a.info["structure_hash"]): a for a in read_labels(out)}
    from nanomc.training.labelfile import structure_hash

    rows, diffs = [], []
    header = (f"{'structure':>9s} {'atoms':>5s} {'x_Cu':>5s} {'cell':>4s} {'relax EMT':>10s} {'max disp':>8s} "
              f"{'steps':>5s} {'relax nanomc':>12s} {'steps':>5s} {'nanomc-EMT':>10s}")
    for k, atoms in enumerate(frames):
        key, n = structure_hash(atoms), len(atoms)
        ref, cheap = labels["emt"].get(key), labels["nanomc"].get(key)
        ideal = atoms.copy()
        ideal.calc = EMT()
        e0 = ideal.get_potential_energy()
        if ref is None or cheap is None:
            rows.append(f"{k:9d} {n:5d}  left out (see the .unmapped files)")
            continue
        d = 1e3 * (cheap.get_potential_energy() - ref.get_potential_energy()) / n
        diffs.append(d)
        rows.append(f"{k:9d} {n:5d} {np.mean(atoms.numbers == 29):5.2f} {'yes' if ref.info['relax_cell'] else 'no':>4s} "
                    f"{1e3 * (e0 - ref.get_potential_energy()) / n:10.2f} {ref.info['relax_max_displacement']:8.3f} "
                    f"{ref.info['relax_steps']:5d} {1e3 * (e0 - cheap.get_potential_energy()) / n:12.2f} "
                    f"{cheap.info['relax_steps']:5d} {d:10.3f}")
    diffs = np.array(diffs)
    summary = (f"relaxation energies (E_unrelaxed - E_relaxed)/N in meV/atom, max displacement in Å (EMT relaxation); "
               f"nanomc-EMT: relaxed label from the nanomc relaxation minus that from the EMT relaxation (meV/atom)\n"
               f"{len(diffs)} structures: nanomc-EMT mean {diffs.mean():+.3f}, mean |d| {np.abs(diffs).mean():.3f}, "
               f"max |d| {np.abs(diffs).max():.3f} meV/atom")
    text = "\n".join([header, *rows, summary])
    (HERE / "comparison.txt").write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
