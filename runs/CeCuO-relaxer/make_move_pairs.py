"""Held-out move pairs for relaxed move energies (issue 36 §3): structures and their MC moves, on the lattice.

    python make_move_pairs.py --seed 301 --bulk 10 --particles 10 -o moves.extxyz

Base structures are those of make_structures.py (bulk cells with Cu–vacancy complexes, particles of
100–250 sites with Cu at the surface first); each is written with two moves of it, the kinds the
campaign proposes: a Cu↔Ce swap (a Cu and a Ce site exchanged; a nearest-neighbour Ce with
probability 1/2, else any Ce) and an O↔vacancy move (a vacancy and an O site exchanged; a nearest
anion neighbour with probability 1/2). Vacancies stay X atoms, so relaxed-lattice labelling maps
every structure against all its sites. Labelled with the corrected relaxation (or the teacher's own),
E(move) − E(base) of the labels are relaxed move energies:

    nanomc label moves.extxyz -c sevennet -o moves-relaxed-7net-0.extxyz --relax \\
        --relax-with CeCuO-relaxer2.h5 --reference-points 30 --max-displacement 1.5 -j 2

Info keys: `move_set` (the base's name), `move` (base, Cu-Ce or O-X), `site_i`, `site_j` (the exchanged
sites; -1 for the base), and the base's `config_type`.
"""
from __future__ import annotations

import argparse

import numpy as np
from ase import Atoms
from ase.io import write

from make_structures import doped_bulk, particles

#: nearest cation–cation (a/√2 = 3.83 Å) and anion–anion (a/2 = 2.71 Å) distances with a margin, Å
NEIGHBOUR = {"Cu-Ce": 4.2, "O-X": 3.0}


def moved(base: Atoms, i: int, j: int, name: str, kind: str) -> Atoms:
    """A copy of base with the elements of sites i and j exchanged, tagged as one move of the set `name`."""
    atoms = base.copy()
    numbers = atoms.numbers.copy()
    numbers[[i, j]] = numbers[[j, i]]
    atoms.numbers = numbers
    atoms.info.update({"move_set": name, "move": kind, "site_i": int(i), "site_j": int(j)})
    return atoms


def move(base: Atoms, kind: str, rng: np.random.Generator) -> tuple[int, int] | None:
    """Sites (i, j) of a random move of `kind` ("Cu-Ce" or "O-X"): a neighbour pair with probability 1/2
    (when one exists), else any pair of the two elements; None if the base lacks one of them."""
    first, second = kind.split("-")
    a = np.flatnonzero(base.symbols == first) if first != "O" else np.flatnonzero(base.symbols == "X")
    b = np.flatnonzero(base.symbols == second) if second != "X" else np.flatnonzero(base.symbols == "O")
    if not len(a) or not len(b):
        return None
    i = int(rng.choice(a))
    distances = base.get_distances(i, b, mic=True)
    near = b[distances < NEIGHBOUR[kind]]
    j = int(rng.choice(near)) if len(near) and rng.random() < 0.5 else int(rng.choice(b))
    return i, j


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bulk", type=int, default=10)
    parser.add_argument("--particles", type=int, default=10)
    parser.add_argument("--seed", type=int, default=301)
    parser.add_argument("-o", "--output", default="moves.extxyz")
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    frames = []
    for k, base in enumerate(doped_bulk(args.bulk, rng) + particles(args.particles, rng)):
        name = f"{base.info['config_type']}-{k}"
        base.info.update({"move_set": name, "move": "base", "site_i": -1, "site_j": -1})
        frames.append(base)
        for kind in ("Cu-Ce", "O-X"):
            sites = move(base, kind, rng)
            if sites is not None:
                frames.append(moved(base, *sites, name, kind))
    write(args.output, frames, format="extxyz")
    print(f"wrote {len(frames)} structures ({args.bulk + args.particles} bases and their moves) to {args.output}")


if __name__ == "__main__":
    main()
