"""Shared set-up for the benchmarks: Au–Cu truncated octahedra and a realistic potential."""
from __future__ import annotations

import argparse
import time

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


def add_basis_argument(parser: argparse.ArgumentParser) -> None:
    """--basis: which descriptors benchmark_potential uses."""
    parser.add_argument("--basis", choices=["behler", "chebyshev"], default="behler",
                        help="behler: the default set (64 per element); chebyshev: aenet's, orders 16 and 4 (44)")


def benchmark_potential(basis: str = "behler") -> nanomc.Potential:
    """R_c 6.5 Å, 2×10 tanh hidden layers, random weights; descriptors: nanomc's default set
    (64 per element) or aenet's Chebyshev set with radial order 16 and angular order 4 within
    6.5 Å and type spins (44 per element, the size of aenet's TiO2 example)."""
    dset = nanomc.chebyshev_descriptor_set(["Au", "Cu"], 16, CUTOFF, 4, CUTOFF) if basis == "chebyshev" else None
    pot = nanomc.Potential.random(["Au", "Cu"], CUTOFF, hidden=(10, 10), seed=1, descriptor_set=dset)
    pot.fit_scaling([alloy_particle(8, 2, seed=2)])
    return pot


def timing_setup(doc: str) -> tuple[argparse.Namespace, nanomc.Potential]:
    """Arguments --repeat and --basis of a timing script, and its potential (described on stdout)."""
    parser = argparse.ArgumentParser(description=doc)
    parser.add_argument("--repeat", type=int, default=3, help="timings per size; the best is shown")
    add_basis_argument(parser)
    args = parser.parse_args()
    pot = benchmark_potential(args.basis)
    print(f"potential: {pot}; {pot.descriptor_sets['Au'].size} symmetry functions per element")
    return args, pot


def best_time(fn, repeat: int) -> float:
    """Shortest wall time (s) of `repeat` calls of fn()."""
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def print_table(header: list[str], rows: list[list]) -> None:
    """Print a fixed-width table."""
    widths = [max(len(str(h)), *(len(str(r[k])) for r in rows)) for k, h in enumerate(header)]
    print("  ".join(str(h).rjust(w) for h, w in zip(header, widths)))
    for r in rows:
        print("  ".join(str(c).rjust(w) for c, w in zip(r, widths)))
