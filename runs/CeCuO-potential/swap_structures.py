"""Structures for the swap-energy validation (issue 14 §2): one Ce–Cu–O particle and its swaps.

A fluorite particle (default: truncated octahedron of size 7, 201 cation and 402 anion sites) with
the campaign's Cu and vacancy fractions (Cu54Ce405O834 of runs/CeO2-Cu: 11.8% of the cation sites
Cu, 9.2% of the anion sites empty) placed at random, or MC states (`--state`): the last frame of
a campaign's final.extxyz/best.extxyz, or every `--every`-th kept snapshot of results files (the
first 20% of the sweeps discarded), one swap set per snapshot. Written are per set the particle
itself (`move = "base"`) and --swaps Cu↔Ce swaps and --swaps O↔vacancy moves of it, each a full
structure (vacancies left out), so that any ASE calculator can label them with `nanomc label`. The
moves are between random sites of a sublattice, or a fraction `--neighbour` of them between nearest
neighbours (a Cu–Ce exchange next door, a vacancy hop), as the campaign's neighbour swaps propose:

    python runs/CeCuO-potential/swap_structures.py -o swaps-random.extxyz
    nanomc label swaps-random.extxyz -c sevennet -o swaps-random-7net-0.extxyz
    python runs/CeCuO-potential/validate_swaps.py POTENTIAL.h5 swaps-random-7net-0.extxyz
    python runs/CeCuO-potential/swap_structures.py --state al-mc/*/results.h5 --swaps 1 --every 2 -o al1.extxyz

Info keys: `swap_set` (a name), `move` (base, Cu-Ce or O-X), `site_i`, `site_j` (the exchanged
sites of the particle with vacancies; -1 for the base).
"""
from __future__ import annotations

import argparse
from collections import defaultdict

import numpy as np
from ase import Atoms
from ase.io import read, write

from nanomc.fluorite import LATTICE_CONSTANTS, fluorite_particle
from nanomc.mc.groups import SwapGroups
from nanomc.training.select import read_snapshots

CU_FRACTION = 54 / 459   # of the cation sites (runs/CeO2-Cu)
VACANCY_FRACTION = 84 / 918  # of the anion sites


def random_particle(size: int, rng: np.random.Generator) -> Atoms:
    """Truncated-octahedron CeO2 particle of `size` with Cu and X (vacancies) placed at random."""
    atoms = fluorite_particle("CeO2", "truncated_octahedron", LATTICE_CONSTANTS["CeO2"], size)
    cations = np.flatnonzero(atoms.symbols == "Ce")
    anions = np.flatnonzero(atoms.symbols == "O")
    atoms.symbols[rng.choice(cations, round(CU_FRACTION * len(cations)), replace=False)] = "Cu"
    atoms.symbols[rng.choice(anions, round(VACANCY_FRACTION * len(anions)), replace=False)] = "X"
    atoms.center(vacuum=6.0)
    return atoms


def structure(particle: Atoms, name: str, move: str, i: int = -1, j: int = -1, vacancies: bool = False) -> Atoms:
    """The particle with sites i and j exchanged (none for i = -1), vacancies removed (kept as X atoms if
    `vacancies`: the sites a relaxed-lattice labelling maps against), tagged."""
    atoms = particle.copy()
    if i >= 0:
        atoms.numbers[[i, j]] = atoms.numbers[[j, i]]
    if not vacancies:
        atoms = atoms[atoms.numbers != 0]
    atoms.info.update(swap_set=name, move=move, site_i=int(i), site_j=int(j))
    return atoms


def neighbour_table(particle: Atoms) -> tuple[np.ndarray, np.ndarray]:
    """(partner_ptr, partners): each site's nearest neighbours on its own sublattice (cation or anion),
    the partners the MC's neighbour swaps draw from (nanomc.mc.groups)."""
    cation = np.isin(particle.symbols, ["Ce", "Cu"])
    return SwapGroups(np.where(cation, 0, 1), [[0], [1]]).neighbour_partners(particle)


def swaps(particle: Atoms, name: str, n: int, rng: np.random.Generator, neighbour: float = 0.0,
          vacancies: bool = False) -> list[Atoms]:
    """The base structure, then n Cu↔Ce and n O↔X moves, each with distinct site pairs: a fraction
    `neighbour` of them between nearest neighbours (a Cu–Ce exchange next door, a vacancy hop), the
    rest between random sites of the sublattice (vacancies kept as X atoms if `vacancies`)."""
    out = [structure(particle, name, "base", vacancies=vacancies)]
    n_near = round(neighbour * n)
    table = neighbour_table(particle) if n_near else None
    for move, (a, b) in (("Cu-Ce", ("Cu", "Ce")), ("O-X", ("O", "X"))):
        first, second = np.flatnonzero(particle.symbols == a), np.flatnonzero(particle.symbols == b)
        pairs = set()
        if n_near:
            ptr, partners = table
            near = [(int(i), int(j)) for i in first for j in partners[ptr[i]:ptr[i + 1]] if particle.symbols[j] == b]
            for k in rng.permutation(len(near))[:n_near]:
                pairs.add(near[k])
        while len(pairs) < n:
            pairs.add((int(rng.choice(first)), int(rng.choice(second))))
        out += [structure(particle, name, move, i, j, vacancies) for i, j in sorted(pairs)]
    return out


def labelled_sets(frames) -> dict[str, tuple[Atoms, list[Atoms]]]:
    """swap set name -> (base, moves) of labelled swap sets. `nanomc label` labels each distinct
    structure once, so a set whose base equals an earlier structure (an MC state one accepted move
    from an earlier one) has no base of its own: such sets are reported and left out."""
    by_set = defaultdict(list)
    for atoms in frames:
        by_set[atoms.info["swap_set"]].append(atoms)
    out = {}
    for name, structures in by_set.items():
        bases = [a for a in structures if a.info["move"] == "base"]
        if len(bases) != 1:
            print(f"swap set {name}: {len(bases)} base structures (a duplicate base is labelled once, under "
                  f"the first set that has it); left out")
            continue
        out[name] = (bases[0], [a for a in structures if a.info["move"] != "base"])
    return out


def states(paths: list[str], every: int) -> list[tuple[str, Atoms]]:
    """(name, particle with X) of every `every`-th kept snapshot of results files (each distinct state
    once), or the last frame of structure files."""
    out, seen = [], set()
    for path in paths:
        if path.endswith(".h5"):
            for snaps in read_snapshots(path, 0.2):
                for label, occupation in list(zip(snaps.labels, snaps.occupations))[::every]:
                    if occupation.tobytes() not in seen:  # a chain that did not move repeats its state
                        seen.add(occupation.tobytes())
                        out.append((label, snaps.frame(occupation)))
        else:
            out.append((path, read(path, index=-1)))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-o", "--output", required=True, help="extxyz file to write")
    parser.add_argument("--size", type=int, default=7, help="truncated-octahedron size (7: 603 sites)")
    parser.add_argument("--state", nargs="+", help="MC states (extxyz with X atoms, or results.h5) instead")
    parser.add_argument("--every", type=int, default=1, help="--state results files: every n-th snapshot")
    parser.add_argument("--swaps", type=int, default=50, help="moves of each kind per set")
    parser.add_argument("--neighbour", type=float, default=0.0,
                        help="fraction of the moves between nearest neighbours of a sublattice (as neighbour_swaps)")
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--keep-vacancies", action="store_true",
                        help="keep vacancies as X atoms (for relaxed-lattice labels: `nanomc label --relax`)")
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    if args.state:
        particles = states(args.state, args.every)
    else:
        particles = [(f"random-{args.size}", random_particle(args.size, rng))]
    frames = [frame for name, particle in particles
              for frame in swaps(particle, name, args.swaps, rng, args.neighbour, args.keep_vacancies)]
    write(args.output, frames, format="extxyz")
    sizes = sorted({int(np.count_nonzero(p.numbers)) for _, p in particles})
    print(f"{args.output}: {len(particles)} swap sets, {len(frames)} structures of {sizes} atoms")


if __name__ == "__main__":
    main()
