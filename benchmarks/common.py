"""Shared set-up for the benchmarks: Au–Cu truncated octahedra and a realistic potential."""
from __future__ import annotations

import numpy as np
from ase import Atoms
from ase.cluster import Octahedron

import nanomc

#: (edge length, corner cut) of ase.cluster.Octahedron -> about 300, 1300, 5600, 21700 atoms
SIZES = [(8, 2), (13, 4), (21, 6), (33, 10)]
CUTOFF = 6.5  # Å


def alloy_particle(length: int, cut: int, cu_fraction: float = 0.5, seed: int = 0) -> Atoms:
    """Random Au–Cu truncated octahedron, Vegard lattice constant (Å)."""
    a = (1 - cu_fraction) * 4.078 + cu_fraction * 3.615
    atoms = Octahedron("Au", length, cut, latticeconstant=a)
    rng = np.random.default_rng(seed)
    symbols = np.array(["Au"] * len(atoms))
    symbols[rng.permutation(len(atoms))[: int(round(cu_fraction * len(atoms)))]] = "Cu"
    atoms.set_chemical_symbols(symbols.tolist())
    return atoms


def benchmark_potential() -> nanomc.Potential:
    """R_c 6.5 Å, default descriptors (64 per element), 2×10 tanh hidden layers, random weights."""
    pot = nanomc.Potential.random(["Au", "Cu"], CUTOFF, hidden=(10, 10), seed=1)
    pot.fit_scaling([alloy_particle(8, 2, seed=2)])
    return pot


def print_table(header: list[str], rows: list[list]) -> None:
    """Print a fixed-width table."""
    widths = [max(len(str(h)), *(len(str(r[k])) for r in rows)) for k, h in enumerate(header)]
    print("  ".join(str(h).rjust(w) for h, w in zip(header, widths)))
    for r in rows:
        print("  ".join(str(c).rjust(w) for c, w in zip(r, widths)))
