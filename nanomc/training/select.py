"""Active learning with a committee: the structures, or swap pairs, its members disagree on most.

Sources are results files (their kept snapshots, every temperature; population annealing: every
step's walkers) or structure files (every frame). A structure is scored by σ of its energy per atom over the members (what labelling its
energy corrects); a swap pair — a snapshot and the same snapshot with two unlike atoms of one
swap group exchanged — by σ of the swap's ΔE (what a labelled pair corrects; see
nanomc.analysis.uncertainty). The highest-scoring ones are written as extxyz for `nanomc label`.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

import h5py
import numpy as np
from ase import Atoms

from ..analysis.statistics import discard_sweeps
from ..analysis.uncertainty import CommitteeProbe
from ..errors import NanomcError
from ..particles import read_frames
from ..potential import Potential
from ..analysis.population import PopulationRecord, read_record


class SelectError(NanomcError, ValueError):
    """A selection that cannot run (no committee, no snapshots, nothing to swap)."""


@dataclass
class Candidate:
    """A structure (one frame) or a swap pair (before, after) and its committee σ: eV/atom of the
    energy for a structure, eV of ΔE for a pair."""

    sigma: float
    origin: str
    frames: list[Atoms]


@dataclass
class Snapshots:
    """Occupations of one structure: positions in `atoms`, element names, swap groups (−1
    frozen), occupations (snapshots, sites) and a label per snapshot."""

    atoms: Atoms
    elements: list[str]
    group: np.ndarray
    occupations: np.ndarray
    labels: list[str]

    def frame(self, occupation: np.ndarray) -> Atoms:
        atoms = self.atoms.copy()
        atoms.set_chemical_symbols([self.elements[k] for k in occupation])
        return atoms


def read_snapshots(path: str | Path, discard: float | int) -> Iterator[Snapshots]:
    """The kept snapshots of a results file (after `discard` sweeps or fraction; of a population-annealing
    file every step's walkers), or one Snapshots per frame of a structure file (one swap group of all atoms)."""
    path = Path(path)
    if path.is_file() and h5py.is_hdf5(path):
        record = read_record(path)
        if isinstance(record, PopulationRecord):
            yield from _walkers(record, path)
            return
        sweeps = np.asarray(record.snapshot_sweeps)
        keep = np.flatnonzero(sweeps >= (discard_sweeps(discard, record.sweeps_done) if record.sweeps_done else 0))
        if not len(keep):
            raise SelectError(f"{path}: no snapshot left after discarding {discard} of the sweeps")
        snapshots = np.asarray(record.snapshots)[keep]                  # (K, starts × T, N)
        atoms = Atoms(positions=record.positions, cell=record.cell, pbc=record.pbc)
        n_t = len(record.temperatures)
        for c in range(record.n_chains):
            label = f"{path}:{record.temperatures[c % n_t]:g}K" + (f":start{c // n_t}" if record.n_starts > 1 else "")
            yield Snapshots(atoms, list(record.elements), np.asarray(record.group), snapshots[:, c].astype(np.int64),
                            [f"{label}:sweep{sweeps[k]}" for k in keep])
        return
    frames = read_frames(path)
    for k, atoms in enumerate(frames):
        elements = sorted(set(atoms.get_chemical_symbols()))
        occupation = np.array([elements.index(s) for s in atoms.get_chemical_symbols()], np.int64)
        yield Snapshots(atoms, elements, np.zeros(len(atoms), np.int64), occupation[None],
                        [f"{path}:{k}" if len(frames) > 1 else str(path)])


def _walkers(record: PopulationRecord, path: Path) -> Iterator[Snapshots]:
    """Population annealing: every step's walkers (no equilibration period to discard)."""
    atoms = Atoms(positions=record.positions, cell=record.cell, pbc=record.pbc)
    for temperature, occupations in zip(record.temperatures, record.snapshots):
        yield Snapshots(atoms, list(record.elements), np.asarray(record.group), np.asarray(occupations, np.int64),
                        [f"{path}:{temperature:g}K:walker{j}" for j in range(len(occupations))])


def select(potential: Potential, sources: Sequence[str | Path], n: int, pairs: bool = False, swaps: int = 8,
           discard: float | int = 0.2, seed: int = 0) -> list[Candidate]:
    """The `n` structures (or, with `pairs`, swap pairs from `swaps` random swaps per snapshot,
    drawn with `seed`) of `sources` with the largest committee σ, largest first."""
    if potential.committee_size < 2:
        raise SelectError("the potential is not a committee (one network per element): it has no spread to "
                          "select by; train one with `[network] committee = 4`")
    rng = np.random.default_rng(seed)
    found: list[Candidate] = []
    for path in sources:
        for snaps in read_snapshots(path, discard):
            if pairs:
                sample = CommitteeProbe(potential, snaps.atoms, snaps.elements, snaps.group).sample(
                    snaps.occupations, swaps, rng)
                for s, k in zip(*np.nonzero(np.isfinite(sample.spread))):
                    found.append(_pair(snaps, s, sample.pairs[s, k], float(sample.spread[s, k])))
            else:
                for occupation, label in zip(snaps.occupations, snaps.labels):
                    atoms = snaps.frame(occupation)
                    energies = potential.member_energies(atoms)
                    real = max(1, int(np.count_nonzero(atoms.numbers)))
                    found.append(Candidate(float(energies.std(ddof=1)) / real, label, [atoms]))
    if not found:
        raise SelectError("no candidates: the sources hold no snapshots" + (" with two unlike atoms to swap"
                                                                           if pairs else ""))
    order = sorted(range(len(found)), key=lambda k: -found[k].sigma)
    chosen = [found[k] for k in order[:n]]
    for rank, c in enumerate(chosen):
        for role, atoms in zip(("before", "after") if pairs else ("structure",), c.frames):
            atoms.info.update({"origin": c.origin, "committee_rank": rank})
            if pairs:
                atoms.info.update({"pair": rank, "pair_role": role, "committee_sigma_meV": 1000 * c.sigma})
            else:
                atoms.info["committee_sigma_meV_per_atom"] = 1000 * c.sigma
    return chosen


def _pair(snaps: Snapshots, s: int, pair: np.ndarray, sigma: float) -> Candidate:
    before = snaps.frame(snaps.occupations[s])
    occupation = snaps.occupations[s].copy()
    i, j = (int(x) for x in pair)
    occupation[[i, j]] = occupation[[j, i]]
    after = snaps.frame(occupation)
    return Candidate(sigma, f"{snaps.labels[s]}:swap{i}-{j}", [before, after])
