"""How many reference points does the corrected relaxation need? (issue 36 §1)

    python points_trace.py run CeCuO-relaxer2.h5 30 trace-relaxer2.csv [FIRST:LAST]  # ~1 h of teacher time
    python points_trace.py table trace-relaxer2.csv [MORE.csv ...]

`run` relaxes each of the 31 held-out structures with the corrected relaxation
(nanomc.training.corrected: the relaxer's surface corrected to SevenNet-0 at each reference point,
`nanomc label --relax --relax-with P --reference-points K`) to the teacher's forces below 0.05 eV/Å or
at most K points, and writes the teacher energy after every point. `table` compares, for budgets of
k points, the energy reached with the teacher's own BFGS relaxation of the same input
(heldout-relaxed-7net-0.extxyz): error (E_k − E_ref)/N (meV/atom), the share of the relaxation energy
captured, and how many structures meet the issue's targets (|error| ≤ 2 meV/atom and ≥ 95 % captured),
for all structures and for those whose reference relaxation maps back to the lattice (the ones a
relaxed-lattice label keeps).
"""
from __future__ import annotations

import csv
import sys
import time

import numpy as np


def run(potential_file: str, points: int, out: str, chosen: slice = slice(None)) -> None:
    from nanomc.potential import Potential
    from nanomc.training.calculators import CalculatorSpec
    from nanomc.training.corrected import corrected_relax
    from nanomc.training.relaxer import paired_references

    pairs = paired_references(["heldout.extxyz"], "heldout-relaxed-7net-0.extxyz")
    potential = Potential.load(potential_file)
    teacher = CalculatorSpec.parse("sevennet").build()
    with open(out, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["index", "kind", "atoms", "maps", "energy_unrelaxed", "energy_reference", "reference_steps",
                         "fmax", "seconds", "energies"])
        for i, (_, atoms, reference) in list(enumerate(pairs))[chosen]:
            start = time.time()
            result = corrected_relax(atoms, teacher, potential, max_points=points)
            writer.writerow([i, atoms.info.get("config_type", ""), len(atoms), reference.info["relax_maps"],
                             reference.info["energy_unrelaxed"], reference.get_potential_energy(),
                             reference.info["relax_steps"], f"{result.fmax:.4f}", f"{time.time() - start:.1f}",
                             " ".join(f"{e:.6f}" for e in result.energies)])
            handle.flush()
            print(i, result.points, f"{1e3 * (result.energy - reference.get_potential_energy()) / len(atoms):.2f}",
                  flush=True)


def table(*paths: str) -> None:
    rows = list({row["index"]: row for path in reversed(paths) for row in csv.DictReader(open(path))}.values())
    path = " + ".join(paths)  # a structure in several files: its row in the first
    print(f"{path}: {len(rows)} held-out structures; teacher BFGS steps: median "
          f"{np.median([int(r['reference_steps']) for r in rows]):.0f}, range "
          f"{min(int(r['reference_steps']) for r in rows)}–{max(int(r['reference_steps']) for r in rows)}")
    print(f"{'structures':10s} {'k':>3s} {'RMSE':>7s} {'median|err|':>11s} {'max|err|':>8s} {'captured med':>12s} "
          f"{'min':>6s} {'≤2 meV & ≥95%':>14s} {'points used med':>15s}")
    for which in ("all", "mapped"):
        chosen = [r for r in rows if which == "all" or r["maps"] == "True"]
        for k in (1, 3, 5, 8, 10, 15, 20, 30):
            errors, captured, used = [], [], []
            for r in chosen:
                energies = [float(e) for e in r["energies"].split()]
                e = energies[min(k, len(energies)) - 1]
                n, e0, eref = int(r["atoms"]), float(r["energy_unrelaxed"]), float(r["energy_reference"])
                errors.append(1e3 * (e - eref) / n)
                captured.append((e0 - e) / (e0 - eref))
                used.append(min(k, len(energies)))
            errors, captured = np.array(errors), np.array(captured)
            good = int(np.sum((np.abs(errors) <= 2) & (captured >= 0.95)))
            print(f"{which:10s} {k:3d} {np.sqrt(np.mean(errors ** 2)):7.2f} {np.median(np.abs(errors)):11.2f} "
                  f"{np.abs(errors).max():8.2f} {np.median(captured):12.3f} {captured.min():6.3f} "
                  f"{good:>7d} of {len(chosen):<3d} {np.median(used):15.0f}")


if __name__ == "__main__":
    if sys.argv[1] == "run":
        run(sys.argv[2], int(sys.argv[3]), sys.argv[4],
            slice(*map(int, sys.argv[5].split(":"))) if len(sys.argv) > 5 else slice(None))
    else:
        table(*sys.argv[2:])
