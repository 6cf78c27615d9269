"""Checks on input structures and the neighbour list the kernels consume."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
from ase import Atoms

from ._ext.neighbors import neighbor_list
from .errors import StructureError

#: two atoms closer than this (Å) are an input error, not physics
MIN_DISTANCE = 0.5

#: the symbol of an empty lattice site (ASE's ghost atom, atomic number 0)
VACANCY = "X"


@dataclass
class NeighborList:
    """Neighbours j of atom i: indices[offsets[i]:offsets[i+1]], vectors r_j + T − r_i (Å)."""

    offsets: np.ndarray
    indices: np.ndarray
    vectors: np.ndarray

    @property
    def distances(self) -> np.ndarray:
        """|vector| per entry (Å)."""
        return np.sqrt(np.einsum("ij,ij->i", self.vectors, self.vectors))

    @property
    def nbytes(self) -> int:
        return self.offsets.nbytes + self.indices.nbytes + self.vectors.nbytes


def element_indices(atoms: Atoms, elements: Sequence[str]) -> np.ndarray:
    """Index into `elements` of every atom; a vacancy (X) gets len(elements), one past the
    potential's elements. StructureError names the first unknown element."""
    lookup = {e: k for k, e in enumerate(elements)}
    lookup.setdefault(VACANCY, len(elements))
    symbols = atoms.get_chemical_symbols()
    try:
        return np.fromiter((lookup[s] for s in symbols), dtype=np.int64, count=len(symbols))
    except KeyError:
        bad = next(k for k, s in enumerate(symbols) if s not in lookup)
        raise StructureError(
            f"element {symbols[bad]!r} (atom {bad}) is not in the potential (elements: {', '.join(elements)})"
        ) from None


def species(elements: Sequence[str]) -> list[str]:
    """The names of the element indices of occupation arrays: `elements`, then the vacancy X."""
    return [*elements, VACANCY]


def without_vacancies(atoms: Atoms) -> Atoms:
    """A copy of `atoms` without its vacancies (X atoms); info and per-atom arrays are kept."""
    return atoms[atoms.numbers != 0]


def build_neighbor_list(atoms: Atoms, cutoff: float) -> NeighborList:
    """Validated neighbour list within `cutoff` Å: finite positions, usable cell, no overlaps."""
    pos = np.ascontiguousarray(atoms.get_positions(), dtype=float)
    bad = ~np.isfinite(pos).all(axis=1)
    if bad.any():
        raise StructureError(f"atom {int(np.argmax(bad))} has a non-finite position {pos[np.argmax(bad)].tolist()}")
    cell = np.ascontiguousarray(atoms.cell.array, dtype=float)
    pbc = [bool(p) for p in atoms.pbc]
    for d in range(3):
        if pbc[d] and not (np.isfinite(cell[d]).all() and np.linalg.norm(cell[d]) > 1e-8):
            raise StructureError(f"structure is periodic along cell vector {d} but that vector is {cell[d].tolist()}")
    if any(pbc) and abs(np.linalg.det(_complete(cell))) < 1e-8:
        raise StructureError("the cell vectors are linearly dependent")
    offsets, indices, vectors = neighbor_list(pos, cell, pbc, float(cutoff))
    nl = NeighborList(offsets, indices, vectors)
    if len(indices):
        d = nl.distances
        k = int(np.argmin(d))
        if d[k] < MIN_DISTANCE:
            i = int(np.searchsorted(offsets, k, side="right") - 1)
            raise StructureError(
                f"atoms {i} and {int(indices[k])} are {d[k]:.3f} Å apart (closer than {MIN_DISTANCE} Å)"
            )
    return nl


def nearest_distance(atoms: Atoms, split: int | None = None) -> float | None:
    """Shortest distance between two atoms (Å; periodic images count), or None if no two atoms are
    near each other (fewer than two, or farther apart than the structure's extent). With `split`, only
    between an atom before index `split` and one from it on (e.g. cation sites, then anion sites)."""
    if len(atoms) == 0:
        return None
    probe = 3.0
    extent = float(np.ptp(atoms.positions, axis=0).max()) + np.linalg.norm(atoms.cell.array, axis=1).max()
    while True:
        nl = build_neighbor_list(atoms, probe)
        distances = nl.distances
        if split is not None:
            first = np.repeat(np.arange(len(atoms)), np.diff(nl.offsets)) < split
            distances = distances[first != (nl.indices < split)]
        if len(distances):
            return float(distances.min())
        if probe > 2 * extent + 10.0:
            return None
        probe *= 2.0


def _complete(cell: np.ndarray) -> np.ndarray:
    from ase.geometry import complete_cell

    return complete_cell(cell)
