"""Reference forces in training: which atoms carry them, the descriptor Jacobians they need,
and the force predictions and pull-backs of the loss.

The force on atom k is F_k = −Σ_i (dE_i/dG_i) · dG_i/dr_k over k and the atoms i within the
cutoff of k. Positions do not change during training, so the Jacobian blocks dG_i/dr_k
(D × 3 per pair (i, k)) are computed once, with the exact directional-derivative kernel
(ext/forces.pyx `descriptor_tangents`), and kept with the descriptors. Each optimiser step
then needs only the networks' input gradients and two contractions with the stored blocks.

Memory: per force atom, (neighbours + 1) × 3 × D doubles (about 70 × 3 × 120 × 8 B = 0.2 MB
for an oxide with 120 descriptors at R_c 6 Å). `force_atoms` limits the force atoms per
structure, chosen at random with the data seed.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Sequence

import numpy as np
from ase import Atoms
from scipy import sparse

from ..potential import Potential
from ..structure import build_neighbor_list, element_indices


@dataclass
class ForceData:
    """Reference forces on chosen atoms of a feature set and the raw descriptor Jacobians.

    Atom indices are rows of the feature set (all its atoms in order). Pair p is a block
    jacobian[p] = dG_i/dr_k (3, D) of atom i = pair_atom[p] under motion of force atom
    k = atom[pair_force[p]], in descriptor units per Å (x, y, z rows).
    """

    atom: np.ndarray        # (K,) feature-set row of each force atom
    reference: np.ndarray   # (K, 3) reference forces, eV/Å
    pair_force: np.ndarray  # (P,) index into atom
    pair_atom: np.ndarray   # (P,) feature-set row of the atom whose descriptor moves
    jacobian: np.ndarray    # (P, 3, D)

    @property
    def n_forces(self) -> int:
        return len(self.atom)


def choose_force_atoms(n_atoms: int, per_structure: int, rng: np.random.Generator) -> np.ndarray:
    """Indices of the atoms of one structure whose forces enter training: all of them when
    per_structure is 0 or at least n_atoms, otherwise per_structure at random (sorted)."""
    if per_structure == 0 or per_structure >= n_atoms:
        return np.arange(n_atoms)
    return np.sort(rng.choice(n_atoms, per_structure, replace=False))


def descriptor_jacobian_blocks(potential: Potential, atoms: Atoms,
                               force_atoms: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The non-zero blocks dG_i/dr_k of `atoms` for every k in force_atoms: (k position in
    force_atoms, i, block (3, D)) per pair, i being k itself and every atom within the cutoff of
    k. Raw descriptors; D is the largest descriptor count of the potential."""
    from .._ext.forces import descriptor_tangents

    z = element_indices(atoms, potential.elements)
    nl = build_neighbor_list(atoms, potential.cutoff)
    tables = potential.sf_tables
    displacement = np.zeros((len(atoms), 3))
    owners, moved, blocks = [], [], []
    for t, k in enumerate(force_atoms):
        rows = np.union1d(nl.indices[nl.offsets[k]:nl.offsets[k + 1]], [k]).astype(np.int64)
        columns = []
        for c in range(3):
            displacement[k, c] = 1.0
            columns.append(descriptor_tangents(tables, z, nl.offsets, nl.indices, nl.vectors, rows, displacement))
            displacement[k, c] = 0.0
        owners.append(np.full(len(rows), t, np.int64))
        moved.append(rows)
        blocks.append(np.stack(columns, axis=1))
    if not blocks:
        width = int(np.max(tables["n_desc"]))
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros((0, 3, width))
    return np.concatenate(owners), np.concatenate(moved), np.concatenate(blocks)


def force_data(potential: Potential, structures: Sequence[Atoms], per_structure: int, seed: int) -> ForceData:
    """Reference forces (atoms.arrays["forces"], eV/Å) and Jacobian blocks of `structures`
    (vacancies already removed); structures without forces contribute none."""
    rng = np.random.default_rng(seed)
    atom, reference, pair_force, pair_atom, blocks = [], [], [], [], []
    first_atom, n_forces = 0, 0
    for atoms in structures:
        forces = atoms.arrays.get("forces")
        if forces is not None:
            chosen = choose_force_atoms(len(atoms), per_structure, rng)
            owner, moved, block = descriptor_jacobian_blocks(potential, atoms, chosen)
            atom.append(first_atom + chosen)
            reference.append(np.asarray(forces, float)[chosen])
            pair_force.append(n_forces + owner)
            pair_atom.append(first_atom + moved)
            blocks.append(block)
            n_forces += len(chosen)
        first_atom += len(atoms)
    if not atom:
        width = int(np.max(potential.sf_tables["n_desc"]))
        return ForceData(np.zeros(0, np.int64), np.zeros((0, 3)), np.zeros(0, np.int64), np.zeros(0, np.int64),
                         np.zeros((0, 3, width)))
    return ForceData(np.concatenate(atom), np.concatenate(reference), np.concatenate(pair_force),
                     np.concatenate(pair_atom), np.concatenate(blocks))


@dataclass
class ForceTerms:
    """The force part of a training batch. Per element e: `rows[e]` are the rows of batch.x[e]
    whose network input gradients the forces need, and pair p of e contributes
    −jacobian[e][p] · ∇NN(x[rows[e][pair_row[e][p]]]) to force pair_force[e][p]; the blocks are
    in scaled descriptor units per Å."""

    reference: np.ndarray            # (K, 3) eV/Å
    structure: np.ndarray            # (K,) batch structure of each force atom
    rows: dict[str, np.ndarray]
    pair_row: dict[str, np.ndarray]
    pair_force: dict[str, np.ndarray]
    jacobian: dict[str, np.ndarray]  # (P_e, 3, D_e)

    @property
    def n_forces(self) -> int:
        return len(self.reference)

    @cached_property
    def _matrices(self) -> dict[str, sparse.csr_matrix]:
        """Per element, the blocks as one sparse matrix M_e (3K × R_e·D_e): F = −Σ_e M_e ∇NN_e."""
        out = {}
        for e, jac in self.jacobian.items():
            n_pairs, _, width = jac.shape
            row = (3 * self.pair_force[e][:, None] + np.arange(3))[:, :, None]
            column = (width * self.pair_row[e][:, None, None] + np.arange(width))
            out[e] = sparse.csr_matrix((jac.ravel(), (np.broadcast_to(row, jac.shape).ravel(),
                                                       np.broadcast_to(column, jac.shape).ravel())),
                                       shape=(3 * self.n_forces, len(self.rows[e]) * width))
        return out

    def predict(self, input_gradients: dict[str, np.ndarray]) -> np.ndarray:
        """Forces (K, 3) in eV/Å from ∇NN at rows[e] (shape (R_e, D_e)) for every element."""
        forces = np.zeros(3 * self.n_forces)
        for e, grad in input_gradients.items():
            forces -= self._matrices[e] @ grad.ravel()
        return forces.reshape(-1, 3)

    def pull_back(self, weights: np.ndarray) -> dict[str, np.ndarray]:
        """Per element, v (R_e, D_e) with Σ_k weights_k · F_k = −Σ_rows v · ∇NN; weights (K, 3) in eV/Å
        units of force. The transpose of `predict`."""
        return {e: (m.T @ weights.ravel()).reshape(len(self.rows[e]), -1) for e, m in self._matrices.items()}

    def subset(self, new_structure: np.ndarray, new_row: dict[str, np.ndarray]) -> "ForceTerms":
        """The force atoms of kept structures; new_structure maps old structure → new (−1: dropped),
        new_row[e] old row of x[e] → new row (−1: dropped)."""
        keep = new_structure[self.structure] >= 0
        new_force = np.cumsum(keep) - 1
        rows, pair_row, pair_force, jacobian = {}, {}, {}, {}
        for e in self.rows:
            kept_pairs = keep[self.pair_force[e]]
            old_rows = self.rows[e][self.pair_row[e][kept_pairs]]
            rows[e], pair_row[e] = np.unique(new_row[e][old_rows], return_inverse=True)
            pair_force[e] = new_force[self.pair_force[e][kept_pairs]]
            jacobian[e] = self.jacobian[e][kept_pairs]
        return ForceTerms(self.reference[keep], new_structure[self.structure[keep]], rows, pair_row, pair_force,
                          jacobian)


def force_terms(data: ForceData, structure: np.ndarray, z: np.ndarray, elements: list[str],
                scaling: dict[str, tuple[np.ndarray, np.ndarray]]) -> ForceTerms:
    """Batch form of `data` for a feature set with per-atom structure and element index z: rows
    per element as in FeatureSet.batch, Jacobian blocks multiplied by the descriptor scales."""
    rows, pair_row, pair_force, jacobian = {}, {}, {}, {}
    for k, e in enumerate(elements):
        mine = z == k
        row_of = np.cumsum(mine) - 1
        pairs = mine[data.pair_atom]
        scale = scaling[e][1]
        rows[e], pair_row[e] = np.unique(row_of[data.pair_atom[pairs]], return_inverse=True)
        pair_force[e] = data.pair_force[pairs]
        jacobian[e] = data.jacobian[pairs][:, :, :len(scale)] * scale
    return ForceTerms(data.reference, structure[data.atom], rows, pair_row, pair_force, jacobian)
