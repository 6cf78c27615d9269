"""Move-pair file from labelled swap sets (issue 14 §2, active learning).

swap_structures.py writes per MC snapshot a base structure and moves of it; after `nanomc label`,
every (base, move) becomes a move pair for `pair_files` of a training file (docs/potentials.md, "Move pairs"):
two frames with `pair` and `pair_role` (before/after) and the teacher energy. Vacancies are put
back as X atoms so that both frames have the same sites and differ in exactly the moved pair.

    python runs/CeCuO-potential/swap_pairs.py labels-al1-7net-0.extxyz.gz -o pairs-al1.extxyz
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.io import write

from nanomc.particles import read_all_frames
from nanomc.training.pairs import pair_frames
from swap_structures import labelled_sets


def _key(position) -> tuple:
    return tuple(np.round(position, 4))


def on_sites(atoms: Atoms, sites: Atoms) -> Atoms:
    """`atoms` (vacancies left out) put back on the particle's sites: every site without an atom is X."""
    index = {_key(p): k for k, p in enumerate(sites.positions)}
    numbers = np.zeros(len(sites), dtype=int)
    for number, position in zip(atoms.numbers, atoms.positions):
        numbers[index[_key(position)]] = number
    out = sites.copy()
    out.numbers = numbers
    return out


def move_pairs(frames: list[Atoms]) -> list[Atoms]:
    """Pair frames (before = the set's base, after = each move) from labelled swap sets."""
    out = []
    for name, (base, moves) in labelled_sets(frames).items():
        sites = base.copy()
        for move in moves:  # the sites of the particle: the base's atoms plus those only a move has
            known = {_key(p) for p in sites.positions}
            extra = [k for k, p in enumerate(move.positions) if _key(p) not in known]
            sites += move[extra]
        before = on_sites(base, sites)
        for k, move in enumerate(moves):
            out += pair_frames(before, on_sites(move, sites), f"{name}:{k}",
                               base.get_potential_energy(), move.get_potential_energy())
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("labels", nargs="+")
    parser.add_argument("-o", "--output", required=True)
    args = parser.parse_args()
    frames = [atoms for path in args.labels for atoms in read_all_frames(Path(path))]
    pairs = move_pairs(frames)
    write(args.output, pairs, format="extxyz")
    print(f"{args.output}: {len(pairs) // 2} move pairs")


if __name__ == "__main__":
    main()
