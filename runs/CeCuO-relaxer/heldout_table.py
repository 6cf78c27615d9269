"""The held-out reference relaxations (heldout-relaxed-7net-0.extxyz), one row per structure and by kind.

    python runs/CeCuO-relaxer/heldout_table.py

Relaxation energy (E₀ − E_ref)/N (meV/atom), BFGS steps, the largest displacement from the ideal site
(Å, vacant sites count as sites) and whether the structure maps back to its lattice by the nearest-site
rule alone, and with `--max-displacement` 0.8, 1.2 and 1.5 Å: what a relaxed-lattice labelling with the
teacher would keep; the last column what it keeps at 1.5 Å with `--swap-groups Ce,Cu O,X` (atoms that
relaxed onto a site of their group labelled on the occupation relaxed to).
"""
from pathlib import Path

import numpy as np

from nanomc.particles import read_frames
from nanomc.structure import without_vacancies
from nanomc.training.labelfile import read_labels, structure_hash
from nanomc.training.relaxed import lattice_displacements, map_to_lattice

HERE = Path(__file__).parent
THRESHOLDS = (0.8, 1.2, 1.5)
SWAP_GROUPS = [("Ce", "Cu"), ("O", "X")]


def main() -> None:
    inputs = {}
    for frame in read_frames(HERE / "heldout.extxyz"):
        inputs[structure_hash(without_vacancies(frame))] = frame
    rows = []
    for label in read_labels(HERE / "heldout-relaxed-7net-0.extxyz"):
        frame = inputs[str(label.info["structure_hash"])]
        ideal = without_vacancies(frame)
        vacant = frame.positions[frame.numbers == 0]
        own, other = lattice_displacements(ideal, label, vacant)
        remaps = map_to_lattice(ideal, label, THRESHOLDS[-1], vacant, SWAP_GROUPS).reason is None
        n = len(label)
        rows.append((str(frame.info["config_type"]), n, 1e3 * (label.info["energy_unrelaxed"] - label.get_potential_energy()) / n,
                     int(label.info["relax_steps"]), bool(label.info["relax_converged"]), float(own.max()),
                     int((other < own).sum()), remaps))
    print(f"{'kind':10s} {'atoms':>5s} {'relax (meV/atom)':>16s} {'steps':>5s} {'largest disp (Å)':>16s} "
          f"{'hopped':>6s}")
    for kind, n, relax, steps, converged, largest, hopped, _ in sorted(rows):
        print(f"{kind:10s} {n:5d} {relax:16.1f} {steps:5d}{'' if converged else '*'} {largest:16.2f} {hopped:6d}")
    print("\nby kind: count, relaxation energy median (range) meV/atom, kept by the nearest-site rule and with "
          + ", ".join(f"--max-displacement {t:g}" for t in THRESHOLDS) + ", and 1.5 with swap groups")
    for kind in sorted({r[0] for r in rows}) + ["all"]:
        group = [r for r in rows if kind in ("all", r[0])]
        relax = np.array([r[2] for r in group])
        maps = [r for r in group if r[6] == 0]
        kept = [sum(r[5] <= t for r in maps) for t in THRESHOLDS]
        print(f"{kind:10s} {len(group):3d}  {np.median(relax):6.1f} ({relax.min():.1f}–{relax.max():.1f})  "
              f"{len(maps):3d}  " + "  ".join(f"{k:3d}" for k in kept) + f"  {sum(r[7] for r in group):3d}")


if __name__ == "__main__":
    main()
