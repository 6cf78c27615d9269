"""Descriptors of a whole training set (and, with forces, their Jacobians), computed once and stored
(HDF5), and what is fitted on them: the descriptor scaling and the per-element reference energies E0."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
from ase import Atoms

from ..errors import NanomcError
from ..hdf5io import open_checked, write_atomically
from ..potential import Potential
from ..structure import element_indices, without_vacancies
from .forces import ForceData, force_data, force_terms
from .model import Batch

FORMAT = "nanomc-features"
FORMAT_VERSION = 1


class FeatureFileError(NanomcError, OSError):
    """A feature file that is missing, damaged or of another format."""


@dataclass
class FeatureSet:
    """Raw descriptors of every atom of every structure, with reference energies (eV)."""

    elements: list[str]
    n_atoms: np.ndarray      # (S,)
    energy: np.ndarray       # (S,) eV
    z: np.ndarray            # (A,) element index per atom
    structure: np.ndarray    # (A,) structure index per atom
    descriptors: np.ndarray  # (A, D)
    dataset_hash: str
    forces: ForceData | None = None

    @property
    def n_structures(self) -> int:
        return len(self.n_atoms)

    def counts(self) -> np.ndarray:
        """Atoms of each element per structure (S, n_elements)."""
        out = np.zeros((self.n_structures, len(self.elements)))
        np.add.at(out, (self.structure, self.z), 1.0)
        return out

    def batch(self, potential: Potential, index: np.ndarray | None = None) -> Batch:
        """Training batch of structures `index` with the potential's scaling; targets E − Σ E0 (eV)."""
        index = np.arange(self.n_structures) if index is None else np.asarray(index)
        e0 = np.array([potential.e0[e] for e in self.elements])
        target = self.energy - self.counts() @ e0
        x, structure = scaled_by_element(self.descriptors, self.z, self.structure, self.elements, potential.scaling)
        forces = None
        if self.forces is not None:
            forces = force_terms(self.forces, self.structure, self.z, self.elements, potential.scaling)
        return Batch(x, structure, self.n_atoms.astype(float), target, forces).subset(index)


def scaled_by_element(descriptors: np.ndarray, z: np.ndarray, owner: np.ndarray, elements: Sequence[str],
                      scaling: dict[str, tuple[np.ndarray, np.ndarray]]) -> tuple[dict, dict]:
    """Per element, the scaled descriptors (G − shift) · scale of its atoms (rows of `descriptors`
    with element index z) and the owner (structure, or state) of each of them."""
    x, structure = {}, {}
    for k, e in enumerate(elements):
        shift, scale = scaling[e]
        mine = z == k
        x[e] = (descriptors[mine, : len(shift)] - shift) * scale
        structure[e] = owner[mine]
    return x, structure


def dataset_hash(structures: Sequence[Atoms], potential: Potential,
                 force_selection: tuple[int, int] | None = None) -> str:
    """SHA-256 of the structures, their energies and the descriptor parameters (hex); with a
    force selection (force atoms per structure, seed) also of the reference forces and it."""
    h = hashlib.sha256()
    for atoms in structures:
        for arr in (atoms.numbers, atoms.positions, atoms.cell.array, atoms.pbc):
            h.update(np.ascontiguousarray(arr).tobytes())
        h.update(repr(float(atoms.info["energy"])).encode())
        if force_selection is not None and "forces" in atoms.arrays:
            h.update(np.ascontiguousarray(atoms.arrays["forces"], dtype=float).tobytes())
    if force_selection is not None:
        h.update(repr(("forces", *force_selection)).encode())
    h.update(repr(potential.cutoff).encode())
    for e in potential.elements:
        for arr in potential.descriptor_sets[e].to_arrays(potential.elements):
            h.update(arr.tobytes())
    return h.hexdigest()


def featurize(potential: Potential, structures: Sequence[Atoms],
              force_selection: tuple[int, int] | None = None) -> FeatureSet:
    """Descriptors of every atom with the potential's descriptor sets (scaling not applied); with
    force_selection (force atoms per structure, 0 = all; seed) also the reference forces of the
    structures that have them and their descriptor Jacobians (nanomc.training.forces).

    Vacancies (X atoms) are dropped: a structure with vacancies is the same structure without them.
    """
    structures = [without_vacancies(a) for a in structures]
    forces = force_data(potential, structures, *force_selection) if force_selection is not None else None
    blocks, zs, owners = [], [], []
    for s, atoms in enumerate(structures):
        blocks.append(potential.descriptors(atoms))
        zs.append(element_indices(atoms, potential.elements))
        owners.append(np.full(len(atoms), s, np.int64))
    return FeatureSet(
        list(potential.elements), np.array([len(a) for a in structures], np.int64),
        np.array([float(a.info["energy"]) for a in structures]), np.concatenate(zs), np.concatenate(owners),
        np.concatenate(blocks), dataset_hash(structures, potential, force_selection), forces)


def fit_scaling(features: FeatureSet, index: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per element, shift and scale that map each descriptor onto [−1, 1] over structures `index`."""
    chosen = np.isin(features.structure, index)
    out = {}
    for k, e in enumerate(features.elements):
        g = features.descriptors[chosen & (features.z == k)]
        if not len(g):
            raise NanomcError(f"the training structures contain no {e} atom")
        lo, hi = g.min(axis=0), g.max(axis=0)
        out[e] = ((hi + lo) / 2.0, 2.0 / np.where(hi - lo > 1e-12, hi - lo, 1.0))
    return out


def fit_e0(features: FeatureSet, index: np.ndarray) -> dict[str, float]:
    """Per-element reference energies (eV) from a least-squares fit E_s ≈ Σ_e N_{s,e} E0_e."""
    e0, *_ = np.linalg.lstsq(features.counts()[index], features.energy[index], rcond=None)
    return {e: float(v) for e, v in zip(features.elements, e0)}


def save_features(path: str | Path, features: FeatureSet) -> None:
    """Write a feature set to HDF5 (atomically)."""
    with write_atomically(path, FORMAT, FORMAT_VERSION) as f:
        f.attrs["elements"] = features.elements
        f.attrs["dataset_hash"] = features.dataset_hash
        for key in ("n_atoms", "energy", "z", "structure", "descriptors"):
            f.create_dataset(key, data=getattr(features, key), compression="gzip" if key == "descriptors" else None)
        if features.forces is not None:
            group = f.create_group("forces")
            for key in ("atom", "reference", "pair_force", "pair_atom", "jacobian"):
                group.create_dataset(key, data=getattr(features.forces, key))


def load_features(path: str | Path) -> FeatureSet:
    """Read a feature set written by save_features."""
    with open_checked(path, FORMAT, FORMAT_VERSION, FeatureFileError, "feature") as f:
        forces = None
        if "forces" in f:
            g = f["forces"]
            forces = ForceData(*(g[key][()] for key in ("atom", "reference", "pair_force", "pair_atom", "jacobian")))
        return FeatureSet([str(e) for e in f.attrs["elements"]], f["n_atoms"][()], f["energy"][()], f["z"][()],
                          f["structure"][()], f["descriptors"][()], str(f.attrs["dataset_hash"]), forces)
