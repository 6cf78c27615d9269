"""How well defined is a relaxed move energy? Moves relaxed from the relaxed base against moves relaxed alone.

    python runs/CeCuO-relaxed/moves_from_base.py bulk_cu-1 particle-14 ... > moves-from-base.txt

For move sets of runs/CeCuO-relaxer/moves-1.extxyz: the base is relaxed with the corrected relaxation
(CeCuO-relaxer2.h5, up to 40 teacher points), then every move of it starts from the base's relaxed
geometry (each atom at the relaxed position of its site; a site empty in the base at its ideal position)
and is relaxed the same way (up to 30 points). Printed per move: teacher points, converged or not, and
ΔE from the base's minimum against ΔE of the independent relaxations from the ideal lattice
(moves-1-relaxed-7net-0.extxyz, 30 points each). Where the two differ, the move's energy depends on
the minimum a relaxation falls into, not on the occupation alone.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import nanomc
from nanomc.particles import read_frames
from nanomc.structure import without_vacancies
from nanomc.training.calculators import CalculatorSpec
from nanomc.training.corrected import corrected_relax
from nanomc.training.labelfile import read_labels, structure_hash

RELAXER = Path(__file__).parent.parent / "CeCuO-relaxer"
BASE_POINTS, MOVE_POINTS, FMAX = 40, 30, 0.05


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sets", nargs="+", help="move_set names of moves-1.extxyz")
    args = parser.parse_args()
    sets: dict[str, list] = {}
    for frame in read_frames(RELAXER / "moves-1.extxyz"):
        sets.setdefault(str(frame.info["move_set"]), []).append(frame)
    labels = {str(a.info["structure_hash"]): a.get_potential_energy()
              for a in read_labels(RELAXER / "moves-1-relaxed-7net-0.extxyz")}
    teacher = CalculatorSpec.parse("sevennet").build()
    relaxer = nanomc.Potential.load(RELAXER / "CeCuO-relaxer2.h5")
    for name in args.sets:
        base, *moves = sets[name]
        ideal = without_vacancies(base)
        relaxed = corrected_relax(ideal, teacher, relaxer, FMAX, BASE_POINTS)
        alone = labels.get(structure_hash(ideal))
        print(f"{name} base {len(ideal)} atoms, points {relaxed.points} converged {relaxed.converged} E "
              f"{relaxed.energy:.3f} eV (relaxed alone: {alone})", flush=True)
        sites = base.positions.copy()
        sites[base.numbers != 0] = relaxed.atoms.positions
        for frame in moves:
            start = without_vacancies(frame)
            key = structure_hash(start)
            start.positions = sites[frame.numbers != 0]
            result = corrected_relax(start, teacher, relaxer, FMAX, MOVE_POINTS)
            own = labels.get(key)
            alone_delta = f"{own - alone:.3f}" if own is not None and alone is not None else "n/a"
            print(f"{name} {frame.info['move']} points {result.points} converged {result.converged} ΔE from the base "
                  f"{result.energy - relaxed.energy:.3f} eV, relaxed alone {alone_delta} eV", flush=True)


if __name__ == "__main__":
    main()
