"""The Potential: descriptor sets, scaling, per-element networks and reference energies."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import numpy as np
from ase import Atoms

from ..errors import PotentialError
from ..structure import VACANCY, NeighborList, build_neighbor_list, element_indices
from .descriptors import ANGULAR_COLUMNS, RADIAL_COLUMNS, DescriptorSet, default_descriptor_set
from .committee import fuse_committee
from .network import Network
from .tables import descriptor_tables, network_tables


@dataclass
class EnergyForces:
    """Energies, forces and virial of one structure (Potential.energy_forces).

    energies: (N,) atomic energies E_i in eV, including E0.
    forces: (N, 3) F = −dE/dr in eV/Å.
    virial: (3, 3) W in eV with W_αβ = dE/dε_αβ, the derivative of the energy when positions and
        cell are deformed homogeneously, r → (1 + ε) r; symmetric for a rotation-invariant energy.
    """

    energies: np.ndarray
    forces: np.ndarray
    virial: np.ndarray

    @property
    def energy(self) -> float:
        """Total energy (eV)."""
        return float(self.energies.sum())

    def stress(self, volume: float) -> np.ndarray:
        """Stress W / V (eV/Å³) of a cell of `volume` Å³ in ASE's Voigt order xx, yy, zz, yz, xz, xy.

        ASE's sign: positive means the energy rises on expansion (the cell is under tension and
        would shrink if allowed).
        """
        w = 0.5 * (self.virial + self.virial.T) / float(volume)
        return np.array([w[0, 0], w[1, 1], w[2, 2], w[1, 2], w[0, 2], w[0, 1]])


class Potential:
    """A Behler–Parrinello neural-network potential.

    E = Σ_i [ NN_{e(i)}( (G_i − shift_{e(i)}) · scale_{e(i)} ) + E0_{e(i)} ]   (eV)

    elements: element symbols, in the order used everywhere (element index = position).
    cutoff: R_c in Å: the neighbour-list cutoff, and the radius of every symmetry function whose
        cutoff function has no radius of its own (no function may reach beyond it).
    descriptor_sets: per element, the symmetry functions of atoms of that element.
    networks: per element, a Network with descriptor_sets[e].size inputs; None for a committee.
    scaling: per element (shift, scale) arrays of descriptor length; default (0, 1).
    e0: per element isolated-atom reference energy (eV); default 0.
    provenance: free-form metadata (training-set hash, errors, ...), strings and numbers.
    members: a committee (nanomc.potential.committee): per member, per element a Network; the
        members share descriptors, scaling and E0. The energy is the members' mean, computed by
        `networks`, set to the fused networks (one wider network per element, exactly the mean);
        member_energies gives every member's energy, whose spread is an uncertainty. A committee
        of one is a plain potential.

    A structure may hold vacancies, atoms with the symbol X (ASE's ghost, atomic number 0): they
    have no energy, no force and no descriptor, and no atom sees them, so every result for the
    real atoms is that of the structure without them. No potential can define an element X.
    """

    def __init__(
        self,
        elements: Sequence[str],
        cutoff: float,
        descriptor_sets: Mapping[str, DescriptorSet],
        networks: Mapping[str, Network] | None,
        scaling: Mapping[str, tuple[np.ndarray, np.ndarray]] | None = None,
        e0: Mapping[str, float] | None = None,
        provenance: Mapping[str, object] | None = None,
        members: Sequence[Mapping[str, Network]] | None = None,
    ) -> None:
        self.elements = tuple(elements)
        self.cutoff = float(cutoff)
        self.descriptor_sets = dict(descriptor_sets)
        if (networks is None) == (members is None):
            raise PotentialError("give either networks or committee members, not both or neither")
        self.members = [dict(m) for m in members] if members is not None and len(members) > 1 else []
        self.networks = dict(networks) if members is None else fuse_committee(members, self.elements)
        scaling = scaling or {}
        self.scaling = {
            e: tuple(np.asarray(v, dtype=float).copy() for v in scaling.get(e, (
                np.zeros(self.descriptor_sets[e].size), np.ones(self.descriptor_sets[e].size))))
            for e in self.elements
            if e in self.descriptor_sets
        }
        self.e0 = {e: float((e0 or {}).get(e, 0.0)) for e in self.elements}
        self.provenance = dict(provenance or {})
        self.validate()
        self._sf_tables: dict | None = None
        self._nn_tables: dict | None = None
        self._member_potentials: list["Potential"] | None = None

    # ------------------------------------------------------------------ construction
    @classmethod
    def random(
        cls,
        elements: Sequence[str],
        cutoff: float = 6.5,
        hidden: Sequence[int] = (10, 10),
        activation: str = "tanh",
        seed: int = 0,
        descriptor_set: DescriptorSet | None = None,
    ) -> "Potential":
        """An untrained potential with random weights (for tests and benchmarks)."""
        rng = np.random.default_rng(seed)
        dset = descriptor_set or default_descriptor_set(elements, cutoff)
        nets = {e: Network.random(dset.size, hidden, activation, rng) for e in elements}
        return cls(elements, cutoff, {e: dset for e in elements}, nets)

    def validate(self) -> None:
        """Raise PotentialError with a one-line reason if the definition is inconsistent."""
        if len(self.elements) == 0 or len(set(self.elements)) != len(self.elements):
            raise PotentialError(f"element list {list(self.elements)} is empty or has duplicates")
        if VACANCY in self.elements:
            raise PotentialError(f"element {VACANCY!r} (atomic number 0) marks a vacancy, which has no energy: "
                                 f"a potential cannot define it")
        if not (np.isfinite(self.cutoff) and self.cutoff > 0):
            raise PotentialError(f"cutoff must be a positive number of Å, got {self.cutoff}")
        for e in self.elements:
            if e not in self.descriptor_sets or e not in self.networks:
                raise PotentialError(f"element {e} has no descriptor set or no network")
            dset = self.descriptor_sets[e]
            dset.validate(self.elements, self.cutoff)
            self.networks[e].validate(dset.size, e)
            for m, nets in enumerate(self.members):
                nets[e].validate(dset.size, f"{e} (committee member {m})")
            shift, scale = self.scaling[e]
            if shift.shape != (dset.size,) or scale.shape != (dset.size,):
                raise PotentialError(f"scaling of {e} must have {dset.size} values, got {shift.shape}, {scale.shape}")
            if not (np.isfinite(shift).all() and np.isfinite(scale).all()):
                raise PotentialError(f"scaling of {e} has non-finite values")
            if not np.isfinite(self.e0[e]):
                raise PotentialError(f"E0 of {e} is not finite")

    def fit_scaling(self, structures: Iterable[Atoms]) -> None:
        """Set the scaling so that each descriptor spans [−1, 1] over `structures` (min/max)."""
        per_element: dict[str, list[np.ndarray]] = {e: [] for e in self.elements}
        for atoms in structures:
            g = self.descriptors(atoms)
            z = element_indices(atoms, self.elements)
            for k, e in enumerate(self.elements):
                per_element[e].append(g[z == k, : self.descriptor_sets[e].size])
        for e in self.elements:
            if not per_element[e] or sum(len(x) for x in per_element[e]) == 0:
                continue
            g = np.concatenate(per_element[e])
            lo, hi = g.min(axis=0), g.max(axis=0)
            span = np.where(hi - lo > 1e-12, hi - lo, 1.0)
            self.scaling[e] = ((hi + lo) / 2.0, 2.0 / span)
        self._nn_tables = None
        self._member_potentials = None

    # ------------------------------------------------------------------ evaluation
    @property
    def sf_tables(self) -> dict:
        """Symmetry-function tables for the kernels (built once)."""
        if self._sf_tables is None:
            self._sf_tables = descriptor_tables(self)
        return self._sf_tables

    @property
    def nn_tables(self) -> dict:
        """Network tables for the kernels (built once)."""
        if self._nn_tables is None:
            self._nn_tables = network_tables(self)
        return self._nn_tables

    def descriptors(self, atoms: Atoms) -> np.ndarray:
        """Raw descriptors, shape (N, max descriptor size); row i holds the values of atom i
        (zeros for a vacancy)."""
        return self._descriptors(atoms)[2]

    def _descriptors(self, atoms: Atoms) -> tuple[np.ndarray, NeighborList, np.ndarray]:
        """Element indices, neighbour list and raw descriptors of `atoms`."""
        from .._ext.descriptors import compute_descriptors

        z = element_indices(atoms, self.elements)
        nl = build_neighbor_list(atoms, self.cutoff)
        return z, nl, compute_descriptors(self.sf_tables, z, nl.offsets, nl.indices, nl.vectors)

    def atomic_energies(self, atoms: Atoms) -> np.ndarray:
        """Atomic energies E_i (eV), including E0 of each element; 0 for a vacancy."""
        from .._ext.network import atomic_energies

        g = self.descriptors(atoms)
        return atomic_energies(self.nn_tables, element_indices(atoms, self.elements), g)

    def energy(self, atoms: Atoms) -> float:
        """Total energy (eV)."""
        return float(self.atomic_energies(atoms).sum())

    def energy_forces(self, atoms: Atoms) -> EnergyForces:
        """Atomic energies (eV), analytic forces −dE/dr (eV/Å) and the virial (eV) of `atoms`.

        Costs a few energy evaluations: descriptors, back-propagation through the networks to
        dE/dG, then one pass over neighbour pairs and triplets (ext/forces.pyx).
        """
        from .._ext.forces import descriptor_forces
        from .._ext.network import atomic_energy_gradients

        z, nl, g = self._descriptors(atoms)
        energies, dedg = atomic_energy_gradients(self.nn_tables, z, np.ascontiguousarray(g))
        forces, virial = descriptor_forces(self.sf_tables, z, nl.offsets, nl.indices, nl.vectors, dedg)
        return EnergyForces(energies, forces, virial)

    def forces(self, atoms: Atoms) -> np.ndarray:
        """Forces −dE/dr on every atom, shape (N, 3), in eV/Å."""
        return self.energy_forces(atoms).forces

    # ------------------------------------------------------------------ files
    def save(self, path: str | Path) -> None:
        """Write the versioned HDF5 potential file (see nanomc.potential.store)."""
        from .store import save_potential

        save_potential(self, path)

    @classmethod
    def load(cls, path: str | Path) -> "Potential":
        """Read a potential file; PotentialFileError with a one-line reason if it is unusable."""
        from .store import load_potential

        return load_potential(path)

    @classmethod
    def from_n2p2(
        cls,
        directory: str | Path,
        length_unit: float | str = 1.0,
        energy_unit: float | str = 1.0,
    ) -> "Potential":
        """Read an n2p2 potential (input.nn, scaling.data, weights.ZZZ.data) from `directory`.

        length_unit: size of the files' length unit in Å (e.g. 0.529177 or "bohr");
        energy_unit: size of their energy unit in eV (e.g. 27.2114 or "hartree").
        The result works in Å and eV like every Potential. PotentialFileError names the file,
        the line and the reason for anything missing, truncated or unsupported.
        See nanomc.potential.n2p2.
        """
        from .n2p2 import read_n2p2

        return read_n2p2(directory, length_unit, energy_unit)

    @classmethod
    def from_aenet(cls, files: Mapping[str, str | Path] | Sequence[str | Path]) -> "Potential":
        """Read an aenet potential: one .nn file per element (binary as train.x writes it, or the
        ASCII form), given as {element: path} or a list of paths.

        Works in Å and eV like aenet. PotentialFileError names the file and the reason for anything
        missing, truncated, inconsistent or unsupported (e.g. Behler's G3). See nanomc.potential.aenet.
        """
        from .aenet import read_aenet

        return read_aenet(files)

    # ------------------------------------------------------------------ committees
    @classmethod
    def from_members(cls, potentials: Sequence["Potential"]) -> "Potential":
        """The committee of plain potentials that differ only in their networks; PotentialError
        if elements, cutoff, descriptors, scaling or E0 differ (their mean would not be one network)."""
        first = potentials[0]
        for m, pot in enumerate(potentials[1:], start=1):
            same = (pot.elements == first.elements and pot.cutoff == first.cutoff and pot.e0 == first.e0
                    and all(pot.descriptor_sets[e] == first.descriptor_sets[e]
                            and all(np.array_equal(a, b) for a, b in zip(pot.scaling[e], first.scaling[e]))
                            for e in first.elements))
            if not same:
                raise PotentialError(f"committee member {m} differs from member 0 in elements, cutoff, descriptors, "
                                     f"scaling or E0: members may differ only in their networks")
        return first.with_networks(None, members=[pot.networks for pot in potentials])

    def with_networks(self, networks: Mapping[str, Network] | None, provenance: Mapping[str, object] | None = None,
                      members: Sequence[Mapping[str, Network]] | None = None) -> "Potential":
        """This potential (elements, cutoff Å, descriptors, scaling, E0 in eV) with other networks, or with a
        committee of `members` (networks None); its provenance unless another is given."""
        return Potential(self.elements, self.cutoff, self.descriptor_sets, networks, self.scaling, self.e0,
                         self.provenance if provenance is None else provenance, members=members)

    @property
    def energies(self) -> str:
        """What its energies are: "relaxed-lattice" (trained on relaxed energies of structures on their ideal
        lattice: on-lattice energies only, forces meaningless; provenance attr `energies`) or "lattice"."""
        return str(self.provenance.get("energies", "lattice"))

    def refuse_forces(self, what: str) -> None:
        """PotentialError (one line) naming `what` if this is a relaxed-lattice potential, whose forces mean nothing."""
        if self.energies == "relaxed-lattice":
            raise PotentialError(f"{what} needs forces, and this potential was trained on relaxed-lattice energies "
                                 f"(energies of relaxed structures on their ideal lattice): its forces mean nothing; "
                                 f"use it for Monte Carlo on the lattice only")

    @property
    def committee_size(self) -> int:
        """Number of committee members (1 for a plain potential)."""
        return max(1, len(self.members))

    def member(self, m: int) -> "Potential":
        """Committee member m as a plain potential (the potential itself if it is not a committee)."""
        if not self.members:
            if m != 0:
                raise IndexError(f"member {m} of a potential without a committee")
            return self
        if self._member_potentials is None:
            self._member_potentials = []
            for nets in self.members:
                pot = self.with_networks(nets)
                pot._sf_tables = self.sf_tables
                self._member_potentials.append(pot)
        return self._member_potentials[m]

    def member_atomic_energies(self, atoms: Atoms) -> np.ndarray:
        """Atomic energies (eV, with E0) under every committee member, shape (members, N); the
        descriptors are computed once. A plain potential gives one row."""
        from .._ext.network import atomic_energies

        g = np.ascontiguousarray(self.descriptors(atoms))
        z = element_indices(atoms, self.elements)
        return np.array([atomic_energies(self.member(m).nn_tables, z, g) for m in range(self.committee_size)])

    def member_energies(self, atoms: Atoms) -> np.ndarray:
        """Total energy (eV) under every committee member, shape (members,); their mean is energy()."""
        return self.member_atomic_energies(atoms).sum(axis=1)

    def content_hash(self) -> str:
        """SHA-256 of everything that determines energies (hex)."""
        h = hashlib.sha256()
        h.update(repr((self.elements, self.cutoff)).encode())
        for e in self.elements:
            dset = self.descriptor_sets[e]
            radial, angular = dset.to_arrays(self.elements)
            # the version-1 columns; the others only when used, so that hashes of G2/G4
            # potentials (stored in results files for --resume) stay what they were
            tables = (radial[:, :RADIAL_COLUMNS], angular[:, :ANGULAR_COLUMNS])
            for arr in tables if dset.is_default else (radial, angular):
                h.update(np.ascontiguousarray(arr).tobytes())
            for arr in self.scaling[e]:
                h.update(np.ascontiguousarray(arr).tobytes())
            for lay in self.networks[e].layers:
                h.update(lay.weights.tobytes() + lay.bias.tobytes() + repr((lay.activation, lay.twist)).encode())
            h.update(repr(self.e0[e]).encode())
        return h.hexdigest()

    def __repr__(self) -> str:
        sizes = {e: (self.members[0] if self.members else self.networks)[e].sizes for e in self.elements}
        committee = f", committee of {len(self.members)}" if self.members else ""
        return f"Potential(elements={list(self.elements)}, cutoff={self.cutoff} Å, layers={sizes}{committee})"
