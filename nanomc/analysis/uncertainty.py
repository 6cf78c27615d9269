"""Committee disagreement on Monte Carlo snapshots: the spread of swap energies over the members.

What Metropolis sees is ΔE of a swap, so the uncertainty that matters for a campaign is the
spread of ΔE over the members of a committee (nanomc.potential.committee). On each snapshot,
random swaps of two unlike atoms of one swap group are proposed to the incremental engine
(running the committee's mean network); every member's ΔE is the sum of its atomic-energy
changes over the atoms the swap touched, evaluated from the engine's descriptors before and
after. σ = the sample standard deviation of ΔE over the members (eV).
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
from ase import Atoms

from ..potential import Potential
from ..structure import species
from .errors import AnalysisError

#: swaps per snapshot `nanomc analyze` samples by default
DEFAULT_SWAPS = 8


@dataclass
class SwapSample:
    """Random swaps on snapshots under a committee.

    pairs: (snapshots, swaps, 2) the two sites of every swap; delta: (snapshots, swaps,
    members) ΔE of every swap under every member (eV); energy: (snapshots, members) total
    energy of every snapshot under every member (eV); n_atoms: atoms (not vacancies) per snapshot.
    """

    pairs: np.ndarray
    delta: np.ndarray
    energy: np.ndarray
    n_atoms: np.ndarray

    @property
    def spread(self) -> np.ndarray:
        """σ of every swap's ΔE over the members (eV), (snapshots, swaps)."""
        return self.delta.std(axis=-1, ddof=1)

    @property
    def energy_spread(self) -> np.ndarray:
        """σ of every snapshot's total energy over the members per atom (eV/atom), (snapshots,)."""
        return self.energy.std(axis=-1, ddof=1) / self.n_atoms


class CommitteeProbe:
    """Member-resolved swap energies on occupations of one structure (fixed positions).

    atoms: positions (Å), cell and pbc; elements: names of the occupations' element indices;
    group: swap group per site (−1: frozen, never swapped). One incremental engine is built
    and moved from snapshot to snapshot by flipping the sites that differ.
    """

    def __init__(self, potential: Potential, atoms: Atoms, elements: Sequence[str], group: np.ndarray) -> None:
        if potential.committee_size < 2:
            raise AnalysisError("the potential is not a committee: it has one network per element")
        names = species(potential.elements)
        unknown = sorted(set(elements) - set(names))
        if unknown:
            raise AnalysisError(f"element {unknown[0]} of the snapshots is not in the potential "
                                f"(elements: {', '.join(potential.elements)})")
        self.potential = potential
        self.names = names
        self.to_species = np.array([names.index(e) for e in elements], np.int64)
        self.group = np.asarray(group)
        self.atoms = atoms
        self.model = None  # a LocalEnergyModel, built on the first snapshot
        self.tables = [potential.member(m).nn_tables for m in range(potential.committee_size)]

    def _move_to(self, occupation: np.ndarray) -> None:
        from ..local_energy import LocalEnergyModel

        target = self.to_species[occupation]
        if self.model is None:
            atoms = self.atoms.copy()
            atoms.set_chemical_symbols([self.names[k] for k in target])
            self.model = LocalEnergyModel(self.potential, atoms)
            return
        for i in np.flatnonzero(self.model.element_indices != target):
            self.model.delta_flip(int(i), self.names[target[i]])
            self.model.commit()

    def _member_energies(self, rows: np.ndarray) -> np.ndarray:
        """Atomic energies of `rows` under every member, summed (eV), (members,)."""
        from .._ext.network import atomic_energies

        z = np.ascontiguousarray(self.model.element_indices[rows])
        g = np.ascontiguousarray(self.model.descriptors[rows])
        return np.array([atomic_energies(t, z, g).sum() for t in self.tables])

    def swap_deltas(self, i: int, j: int) -> np.ndarray:
        """ΔE (eV) of swapping sites i and j under every member; the state is left unchanged."""
        self.model.delta_swap(i, j)
        rows = np.union1d(self.model.last_affected, [i, j])
        before = self._member_energies(rows)
        self.model.commit()
        after = self._member_energies(rows)
        self.model.delta_swap(i, j)
        self.model.commit()
        return after - before

    def sample(self, occupations: np.ndarray, swaps: int, rng: np.random.Generator) -> SwapSample:
        """`swaps` random swaps of two unlike atoms of one swap group on every snapshot
        (occupations (snapshots, sites)); a snapshot with no such pair gets NaN."""
        occupations = np.atleast_2d(occupations)
        n = len(occupations)
        pairs = np.full((n, swaps, 2), -1, np.int64)
        delta = np.full((n, swaps, len(self.tables)), np.nan)
        energy = np.zeros((n, len(self.tables)))
        n_atoms = np.zeros(n)
        for s, occupation in enumerate(occupations):
            self._move_to(occupation)
            energy[s] = self._member_energies(np.arange(len(occupation)))
            n_atoms[s] = np.count_nonzero(self.to_species[occupation] < len(self.potential.elements))
            for k in range(swaps):
                pair = random_swap(occupation, self.group, rng)
                if pair is None:
                    break
                pairs[s, k] = pair
                delta[s, k] = self.swap_deltas(*pair)
        return SwapSample(pairs, delta, energy, n_atoms)


def random_swap(occupation: np.ndarray, group: np.ndarray, rng: np.random.Generator) -> tuple[int, int] | None:
    """Two sites of one swap group holding different elements, the first uniform over the sites
    that have an unlike partner, the second uniform over its unlike partners; None if there is none."""
    movable = np.flatnonzero(group >= 0)
    if not len(movable):
        return None
    g, o = group[movable], occupation[movable]
    _, in_group, group_size = np.unique(g, return_inverse=True, return_counts=True)
    _, in_kind, kind_size = np.unique(np.stack([g, o]), axis=1, return_inverse=True, return_counts=True)
    has_partner = group_size[in_group.ravel()] > kind_size[in_kind.ravel()]
    if not has_partner.any():
        return None
    i = int(rng.choice(movable[has_partner]))
    partners = movable[(group[movable] == group[i]) & (occupation[movable] != occupation[i])]
    return i, int(rng.choice(partners))


def campaign_potential(record, results_path: str | Path) -> Potential | None:
    """The potential a campaign ran with, if it can be found: `default` is the shipped one, a
    file is looked up relative to the campaign's directory (the results file's directory with
    `[output] directory` undone); None unless the file exists and its content hash is the one
    the results file records."""
    from ..campaign.schema import SCHEMA
    from ..errors import NanomcError
    from ..potential.store import SHIPPED_POTENTIALS, potential_path

    try:
        config = tomllib.loads(record.parameters)
    except tomllib.TOMLDecodeError:
        return None
    name = config.get("potential", {}).get("file", SCHEMA["potential"]["file"].default)
    if name in SHIPPED_POTENTIALS:
        path = potential_path(name)
    else:
        directory = Path(config.get("output", {}).get("directory", SCHEMA["output"]["directory"].default))
        base = Path(results_path).resolve().parent
        if directory.is_absolute() or ".." in directory.parts:
            return None
        for _ in [p for p in directory.parts if p != "."]:
            base = base.parent
        path = base / name
    try:
        potential = Potential.load(path)
    except NanomcError:
        return None
    return potential if potential.content_hash() == record.potential_hash else None
