"""Relaxed move pairs for training (nanomc.training.pairs) from labelled move sets (issue 36 §3).

    python runs/CeCuO-relaxed/move_pairs.py MOVES.extxyz LABELS.extxyz -o PAIRS.extxyz

MOVES are the inputs of runs/CeCuO-relaxer/make_move_pairs.py (per move set a base and a Cu↔Ce and an
O↔vacancy move of it, on the ideal lattice, vacancies as X); LABELS their relaxed-lattice labels
(`nanomc label --relax`). Every move whose base and moved structure are both labelled on their own
occupation (not left out, no atom relaxed onto another site: `relax_hops` 0) becomes a pair: the two
input frames, X atoms kept (the pair format's vacancies), with their relaxed energies, `pair` the move's
name and `pair_role` before (the base) or after.
"""
from __future__ import annotations

import argparse

from ase.io import write

from nanomc.particles import read_frames
from nanomc.structure import without_vacancies
from nanomc.training.labelfile import read_labels, structure_hash
from nanomc.training.relaxed import KIND_KEY


def set_name(atoms) -> str:
    """The move set a frame belongs to: `move_set` (make_move_pairs.py) or `swap_set` (swap_structures.py)."""
    return str(atoms.info.get("move_set", atoms.info.get("swap_set")))


def move_name(atoms) -> str:
    """A move's name within its set: its kind and the two sites it exchanges (a set may hold several moves of a
    kind)."""
    return f"{atoms.info['move']}:{int(atoms.info['site_i'])}-{int(atoms.info['site_j'])}"


def relaxed_pairs(moves, labels) -> list:
    """The frames of every labelled move's pair (before, after), in move order."""
    energy = {str(a.info["structure_hash"]): a for a in labels if not int(a.info.get("relax_hops", 0))}
    bases, frames = {}, []
    for frame in moves:
        label = energy.get(structure_hash(without_vacancies(frame)))
        name = set_name(frame)
        if frame.info["move"] == "base":
            bases[name] = (frame, label)
            continue
        base, base_label = bases[name]
        if label is None or base_label is None:
            continue
        pair = f"{name}/{move_name(frame)}"
        for role, atoms, source in (("before", base, base_label), ("after", frame, label)):
            out = atoms.copy()
            out.info = {"pair": pair, "pair_role": role, "energy": source.get_potential_energy(),
                        KIND_KEY: source.info[KIND_KEY], "move_set": name}
            frames.append(out)
    return frames


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("moves")
    parser.add_argument("labels")
    parser.add_argument("-o", "--output", required=True)
    args = parser.parse_args()
    frames = relaxed_pairs(read_frames(args.moves), read_labels(args.labels))
    write(args.output, frames, format="extxyz")
    print(f"wrote {len(frames) // 2} relaxed move pairs to {args.output}")


if __name__ == "__main__":
    main()
