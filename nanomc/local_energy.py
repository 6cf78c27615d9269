"""LocalEnergyModel: incremental energies of lattice moves on a fixed-position structure."""
from __future__ import annotations

from typing import Sequence

import numpy as np
from ase import Atoms

from ._ext.local_energy import LocalEnergyKernel
from .errors import NanomcError
from .potential import Potential
from .structure import build_neighbor_list, element_indices, species


#: default cap (bytes) on the triplet-geometry cache
DEFAULT_MEMORY_LIMIT = 2**30
#: neighbour vectors that agree to this (Å) count as one lattice offset
OFFSET_TOLERANCE = 1e-10
#: more distinct neighbour vectors than this: the structure is not on a lattice
MAX_LATTICE_OFFSETS = 1024


def triplet_cache_bytes(offsets: np.ndarray, n_cutoffs: int = 1) -> int:
    """Bytes the triplet-geometry cache needs for a neighbour list with these offsets and a
    potential with `n_cutoffs` distinct cutoff functions: (2 + n_cutoffs) doubles per ordered
    pair of neighbours of every atom."""
    n_nb = np.diff(offsets)
    return int(8 * (2 + n_cutoffs) * np.sum(n_nb * n_nb))


def lattice_offsets(vectors: np.ndarray, max_offsets: int = MAX_LATTICE_OFFSETS) -> tuple[np.ndarray, np.ndarray] | None:
    """(offset id of every neighbour vector, the distinct vectors) if the (n, 3) neighbour
    vectors (Å) take at most `max_offsets` distinct values to within OFFSET_TOLERANCE, else None.

    On a lattice (every atom on a site of one or a few Bravais lattices) there are tens to
    hundreds of distinct vectors within the cutoff however large the particle; each distinct
    vector is represented by its first occurrence.
    """
    if len(vectors) == 0:
        return np.zeros(0, np.int32), np.zeros((0, 3))
    keys = np.round(vectors / OFFSET_TOLERANCE).astype(np.int64)
    _, first, ids = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    if len(first) > max_offsets:
        return None
    return ids.reshape(-1).astype(np.int32), np.ascontiguousarray(vectors[first])


def _same_positions(a: Atoms, b: Atoms) -> bool:
    return (len(a) == len(b) and np.array_equal(a.positions, b.positions)
            and np.array_equal(a.cell.array, b.cell.array) and np.array_equal(a.pbc, b.pbc))


class MoveError(NanomcError, ValueError):
    """A move that cannot be proposed (same atom, index out of range, frozen atom, unknown element)."""


class LocalEnergyModel:
    """Energy of `atoms` under `potential` as the elements change and positions stay fixed.

    delta_swap(i, j) and delta_flip(i, element) return ΔE in eV without changing the state;
    commit() applies the last proposal. Only the changed atoms and their neighbours within
    the cutoff are re-evaluated, so a trial costs the same at any particle size.
    `frozen` (bool per atom, or indices) marks atoms that count in the energy but never change.
    A vacancy (symbol X, element index len(potential.elements)) is a site without an atom: no
    energy, invisible to every descriptor; flipping O to X removes the atom, X to O adds it.

    Triplet geometry comes from one of three paths (`engine_path`):
    - "lattice": the atoms sit on a lattice, so the neighbour vectors take at most
      MAX_LATTICE_OFFSETS distinct values (lattice_offsets); the shape values of every
      symmetry function are tabulated once per offset and per pair of offsets, and a trial
      reads them (fastest; memory independent of the particle size). The default whenever
      it applies (`lattice=None`, `triplet_cache=None`); `lattice=True` requires it.
    - "triplet cache": the geometry of every neighbour pair of every atom (cos θ, R_jk and
      f_c(R_jk) for each distinct cutoff function: 24 bytes per ordered pair of neighbours
      with one cutoff function, N·n_nb² of them) is cached, when it fits in `memory_limit`
      bytes or `triplet_cache=True`;
    - "direct": the geometry is recomputed for each trial (same results, slowest).
    `share_geometry_with`: a model of the same potential and positions (e.g. another replica)
    whose cached geometry this one reuses, so replicas cost only their own state.
    """

    def __init__(
        self,
        potential: Potential,
        atoms: Atoms,
        frozen: Sequence[int] | np.ndarray | None = None,
        memory_limit: int = DEFAULT_MEMORY_LIMIT,
        triplet_cache: bool | None = None,
        share_geometry_with: "LocalEnergyModel | None" = None,
        lattice: bool | None = None,
    ) -> None:
        self.potential = potential
        self.atoms = atoms.copy()
        z = element_indices(atoms, potential.elements)
        if share_geometry_with is not None:
            if share_geometry_with.potential is not potential or not _same_positions(share_geometry_with.atoms, atoms):
                raise ValueError("share_geometry_with must be a model of the same potential and positions")
            self._kernel = LocalEnergyKernel(potential.sf_tables, potential.nn_tables, z, None, None, None,
                                             geometry_from=share_geometry_with._kernel)
        else:
            nl = build_neighbor_list(atoms, potential.cutoff)
            offsets = None
            if lattice or (lattice is None and triplet_cache is None):
                offsets = lattice_offsets(nl.vectors)
                if offsets is None and lattice:
                    raise ValueError(f"the atoms are not on a lattice: more than {MAX_LATTICE_OFFSETS} distinct "
                                     f"neighbour vectors within {potential.cutoff} Å")
            if triplet_cache is None:
                triplet_cache = triplet_cache_bytes(nl.offsets, potential.sf_tables["n_cut"]) <= memory_limit
            ids, vectors = offsets if offsets is not None else (None, None)
            self._kernel = LocalEnergyKernel(potential.sf_tables, potential.nn_tables, z,
                                             nl.offsets, nl.indices, nl.vectors, bool(triplet_cache),
                                             offset_ids=ids, offset_vectors=vectors)
        self.frozen = np.zeros(len(atoms), dtype=bool)
        if frozen is not None:
            frozen = np.asarray(frozen)
            if frozen.dtype == bool:
                if frozen.shape != (len(atoms),):
                    raise MoveError(f"frozen mask has {frozen.size} entries for {len(atoms)} atoms")
                self.frozen[:] = frozen
            else:
                self._check_index(frozen.astype(np.int64).reshape(-1))
                self.frozen[frozen.astype(np.int64)] = True
        self.species = species(potential.elements)
        self._element_index = {e: k for k, e in enumerate(self.species)}

    # ------------------------------------------------------------ moves
    def delta_swap(self, i: int, j: int) -> float:
        """ΔE (eV) of exchanging the elements of atoms i and j; 0 for atoms of one element."""
        if i == j:
            raise MoveError(f"swap of atom {i} with itself")
        self._check_index(np.array([i, j]))
        return self._kernel.delta_swap(i, j)

    def delta_swaps(self, i: int, j: int, k: int, l: int) -> float:
        """ΔE (eV) of exchanging the elements of atoms i and j and those of k and l in one proposal
        (four distinct atoms): a composite move, e.g. a Cu–Ce swap carrying an O vacancy along."""
        if len({int(i), int(j), int(k), int(l)}) != 4:
            raise MoveError(f"a composite move exchanges four distinct atoms, got {i}, {j}, {k}, {l}")
        self._check_index(np.array([i, j, k, l]))
        return self._kernel.delta_swaps(i, j, k, l)

    def delta_flip(self, i: int, element: str) -> float:
        """ΔE (eV) of changing atom i to `element` (semi-grand-canonical move); "X" removes it."""
        self._check_index(np.array([i]))
        if element not in self._element_index:
            raise MoveError(
                f"element {element!r} is not in the potential (elements: {', '.join(self.potential.elements)}; "
                f"X for a vacancy)"
            )
        return self._kernel.delta_flip(i, self._element_index[element])

    def commit(self) -> bool:
        """Apply the last proposal; returns False if there was none (or it changed nothing)."""
        return self._kernel.commit()

    def _check_index(self, idx: np.ndarray) -> None:
        n = len(self.frozen)
        for i in idx:
            if int(i) != i or not (0 <= i < n):
                where = "negative" if i < 0 else "out of range"
                raise MoveError(f"atom index {i} is {where}; indices run from 0 to {n - 1}")
        for i in idx:
            if self.frozen[i]:
                raise MoveError(f"atom {i} is frozen and cannot change element")

    # ------------------------------------------------------------ state
    @property
    def energy(self) -> float:
        """Current total energy (eV)."""
        return self._kernel.total

    @property
    def element_indices(self) -> np.ndarray:
        """Current element index of every atom (into self.species: the potential's elements, then X)."""
        return self._kernel.elements

    @property
    def elements(self) -> list[str]:
        """Current chemical symbol of every atom (X for a vacancy)."""
        return [self.species[k] for k in self._kernel.elements]

    @property
    def atomic_energies(self) -> np.ndarray:
        """Current atomic energies (eV)."""
        return self._kernel.atomic_energies

    @property
    def descriptors(self) -> np.ndarray:
        """Current raw descriptors (N, max descriptor size)."""
        return self._kernel.descriptors

    @property
    def last_affected(self) -> np.ndarray:
        """Atoms whose descriptors the last proposal changed."""
        return self._kernel.last_affected

    @property
    def nbytes(self) -> int:
        """Memory held by cached geometry, state and scratch (bytes)."""
        return self._kernel.nbytes

    @property
    def uses_triplet_cache(self) -> bool:
        """True if the per-atom triplet-geometry cache is used ("triplet cache" path)."""
        return bool(self._kernel.triplet_cache) and not self._kernel.lattice

    @property
    def engine_path(self) -> str:
        """Where trials get triplet geometry: "lattice", "triplet cache" or "direct"."""
        return "lattice" if self._kernel.lattice else "triplet cache" if self._kernel.triplet_cache else "direct"

    def recompute(self) -> float:
        """Re-evaluate everything from scratch; returns the total energy (eV)."""
        return self._kernel.recompute()

    def to_atoms(self) -> Atoms:
        """A copy of the structure with the current elements (vacancies as X atoms)."""
        atoms = self.atoms.copy()
        atoms.set_chemical_symbols(self.elements)
        return atoms
