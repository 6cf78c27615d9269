"""Move pairs as training data: two structures one swap or flip apart, and their energy difference.

Metropolis only sees ΔE = E_after − E_before of a move, so a training set may hold *move pairs*
and the loss gets the term  pair_weight · mean_p (ΔE_pred,p − ΔE_ref,p)²  (eV²).

File convention (extxyz, or any format ASE reads with info keys): every frame of a pair file
has the info keys `pair` (an id, unique within its file) and `pair_role` (`before` or `after`)
and its reference energy (eV) under the training's energy key; relaxed-lattice energies are marked
`label_energies = "relaxed-lattice"` (as `nanomc label --relax` marks its labels), and a training
takes pairs of the same kind as its structures. The two frames of a pair have
the same cell, pbc and positions (to POSITION_TOLERANCE Å) and differ in the element of one
site (a flip; a vacancy `X` is an element here) or of two sites that exchange their elements
(a swap).

The network energy is a sum of atomic energies, so ΔE_pred needs only the atoms whose
descriptors the move changes: the changed sites and every atom within R_c of one of them, in
both states. Only those are featurised, with the same kernel and neighbour order as a whole
structure, so ΔE_pred equals the difference of the two full energies. E0 cancels for a swap;
for a flip the E0 of the changed elements enters the target.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np
from ase import Atoms

from ..errors import NanomcError, StructureError
from ..potential import Potential
from ..structure import NeighborList, build_neighbor_list, element_indices
from .features import scaled_by_element
from .io import ReferenceDataError, _with_energy, read_frames
from .model import Batch, NetworkStack
from .relaxed import KIND_KEY

#: Å; two frames of a pair whose positions differ by more than this are not one move apart
POSITION_TOLERANCE = 1e-6
ROLES = ("before", "after")


@dataclass
class MovePair:
    """Two structures one move apart, reference energies (eV) in info['energy'], and the changed sites."""

    before: Atoms
    after: Atoms
    sites: np.ndarray
    origin: str


def changed_sites(before: Atoms, after: Atoms, origin: str) -> np.ndarray:
    """Indices of the sites whose element differs; ReferenceDataError unless the two structures
    are one swap (two sites exchanging elements) or one flip (one site) apart at equal positions."""
    if len(before) != len(after):
        raise ReferenceDataError(f"{origin}: the before and after structures have {len(before)} and {len(after)} sites")
    if not (np.array_equal(before.pbc, after.pbc) and np.allclose(before.cell.array, after.cell.array,
                                                                   atol=POSITION_TOLERANCE, rtol=0)):
        raise ReferenceDataError(f"{origin}: the before and after structures have different cells")
    moved = np.abs(before.positions - after.positions).max(axis=1, initial=0.0) > POSITION_TOLERANCE
    if moved.any():
        raise ReferenceDataError(f"{origin}: the position of atom {int(np.argmax(moved))} differs between before and "
                                 f"after (a move pair only changes elements)")
    sites = np.flatnonzero(before.numbers != after.numbers)
    if len(sites) == 0:
        raise ReferenceDataError(f"{origin}: the before and after structures are identical")
    swap = len(sites) == 2 and np.array_equal(before.numbers[sites], after.numbers[sites[::-1]])
    if len(sites) > 2 or (len(sites) == 2 and not swap):
        raise ReferenceDataError(f"{origin}: the structures differ at {len(sites)} sites ({', '.join(map(str, sites[:5]))}"
                                 f"{', ...' if len(sites) > 5 else ''}); a pair is one swap or one flip")
    return sites


def read_pairs(paths: Iterable[str | Path], energy_key: str = "energy") -> list[MovePair]:
    """Move pairs of the given files (the convention in the module docstring), energies in eV."""
    out: list[MovePair] = []
    for path in map(Path, paths):
        frames = read_frames(path, "pair file")
        found: dict[str, dict[str, tuple[int, Atoms]]] = {}
        for k, atoms in enumerate(frames):
            where = f"{path} frame {k}"
            if "pair" not in atoms.info or atoms.info.get("pair_role") not in ROLES:
                raise ReferenceDataError(f"{where}: a pair frame needs info keys `pair` (id) and `pair_role` "
                                         f"(before or after)")
            pid, role = str(atoms.info["pair"]), atoms.info["pair_role"]
            if role in found.setdefault(pid, {}):
                raise ReferenceDataError(f"{where}: pair {pid!r} has a second {role} frame "
                                         f"(the first is frame {found[pid][role][0]})")
            energy = _with_energy(atoms, energy_key, where).info["energy"]
            clean = Atoms(atoms.numbers, positions=atoms.positions, cell=atoms.cell, pbc=atoms.pbc)
            clean.info["energy"] = energy
            if KIND_KEY in atoms.info:  # relaxed-lattice energies must not meet lattice ones in one training
                clean.info[KIND_KEY] = atoms.info[KIND_KEY]
            found[pid][role] = (k, clean)
        for pid, roles in found.items():
            if len(roles) == 1:
                (role, (k, _)), = roles.items()
                other = ROLES[1 - ROLES.index(role)]
                raise ReferenceDataError(f"{path} frame {k}: pair {pid!r} has no {other} frame")
            origin = f"{path} pair {pid!r} (frames {roles['before'][0]} and {roles['after'][0]})"
            before, after = roles["before"][1], roles["after"][1]
            out.append(MovePair(before, after, changed_sites(before, after, origin), origin))
    return out


def pair_frames(before: Atoms, after: Atoms, pair_id: str, e_before: float, e_after: float) -> list[Atoms]:
    """The two frames of a pair file for one move, energies (eV) in info['energy']."""
    frames = []
    for role, atoms, energy in (("before", before, e_before), ("after", after, e_after)):
        frame = Atoms(atoms.numbers, positions=atoms.positions, cell=atoms.cell, pbc=atoms.pbc)
        frame.info.update(pair=pair_id, pair_role=role, energy=float(energy))
        frames.append(frame)
    return frames


def affected_atoms(nl: NeighborList, sites: np.ndarray, n_atoms: int) -> np.ndarray:
    """Mask of the atoms whose descriptors depend on the elements at `sites`: the sites and
    every atom with one of them in its neighbour list (within R_c)."""
    owner = np.repeat(np.arange(n_atoms), np.diff(nl.offsets))
    mask = np.zeros(n_atoms, bool)
    mask[owner[np.isin(nl.indices, sites)]] = True
    mask[sites] = True
    return mask


def _restricted(nl: NeighborList, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The neighbour list with empty rows for the atoms outside `mask` (kept rows unchanged)."""
    counts = np.where(mask, np.diff(nl.offsets), 0)
    keep = np.repeat(mask, np.diff(nl.offsets))
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(nl.offsets.dtype)
    return offsets, np.ascontiguousarray(nl.indices[keep]), np.ascontiguousarray(nl.vectors[keep])


@dataclass
class PairSet:
    """Raw descriptors of the atoms a move changes, per pair and state, and the reference ΔE (eV)."""

    elements: list[str]
    delta_energy: np.ndarray   # (P,) E_after − E_before, eV
    delta_counts: np.ndarray   # (P, n_elements) atoms of each element after − before
    z: np.ndarray              # (A,) element index per featurised atom
    state: np.ndarray          # (A,) p for the after state of pair p, P + p for its before state
    descriptors: np.ndarray    # (A, D)

    @property
    def dataset_hash(self) -> str:
        """SHA-256 of the reference ΔE, the element changes and the featurised atoms (hex)."""
        h = hashlib.sha256()
        for arr in (self.delta_energy, self.delta_counts, self.z, self.state, self.descriptors):
            h.update(np.ascontiguousarray(arr).tobytes())
        return h.hexdigest()

    @property
    def n_pairs(self) -> int:
        return len(self.delta_energy)

    def batch(self, potential: Potential, index: np.ndarray | None = None) -> "PairBatch":
        """Pairs `index` with the potential's scaling; targets ΔE_ref − Σ_e ΔN_e E0_e (eV)."""
        index = np.arange(self.n_pairs) if index is None else np.asarray(index, np.int64)
        e0 = np.array([potential.e0[e] for e in self.elements])
        x, structure = scaled_by_element(self.descriptors, self.z, self.state, self.elements, potential.scaling)
        states = Batch(x, structure, np.ones(2 * self.n_pairs), np.zeros(2 * self.n_pairs))
        target = self.delta_energy - self.delta_counts @ e0
        return PairBatch(states.subset(np.concatenate([index, self.n_pairs + index])), target[index])


@dataclass
class PairBatch:
    """The after states (structures 0..P−1) and before states (P..2P−1) of P pairs as one Batch,
    and the target ΔE per pair (eV, E0 removed)."""

    states: Batch
    target: np.ndarray

    @property
    def n_pairs(self) -> int:
        return len(self.target)

    def subset(self, index: np.ndarray) -> "PairBatch":
        """The pairs `index`."""
        index = np.asarray(index, np.int64)
        return PairBatch(self.states.subset(np.concatenate([index, self.n_pairs + index])), self.target[index])


def featurize_pairs(potential: Potential, pairs: Sequence[MovePair]) -> PairSet:
    """Descriptors (scaling not applied) of the atoms each move changes, in both states."""
    from .._ext.descriptors import compute_descriptors

    n_el = len(potential.elements)
    blocks, zs, states, counts = [], [], [], np.zeros((len(pairs), n_el))
    for p, pair in enumerate(pairs):
        try:
            nl = build_neighbor_list(pair.before, potential.cutoff)
            mask = affected_atoms(nl, pair.sites, len(pair.before))
            offsets, indices, vectors = _restricted(nl, mask)
            for state, atoms, sign in ((p, pair.after, 1.0), (len(pairs) + p, pair.before, -1.0)):
                z = element_indices(atoms, potential.elements)
                g = compute_descriptors(potential.sf_tables, z, offsets, indices, vectors)
                keep = mask & (z < n_el)
                blocks.append(g[keep])
                zs.append(z[keep])
                states.append(np.full(int(keep.sum()), state, np.int64))
                counts[p] += sign * np.bincount(z[pair.sites], minlength=n_el + 1)[:n_el]
        except StructureError as exc:
            raise ReferenceDataError(f"{pair.origin}: {exc}") from None
    return PairSet(list(potential.elements), np.array([p.after.info["energy"] - p.before.info["energy"] for p in pairs]),
                   counts, np.concatenate(zs), np.concatenate(states), np.concatenate(blocks))


def pair_residuals(stack: NetworkStack, theta: np.ndarray, pairs: PairBatch) -> np.ndarray:
    """ΔE_pred − ΔE_ref per pair (eV)."""
    energy = stack.energies(theta, pairs.states)
    return energy[: pairs.n_pairs] - energy[pairs.n_pairs:] - pairs.target


def pair_loss_and_gradient(stack: NetworkStack, theta: np.ndarray, pairs: PairBatch,
                           weight: float) -> tuple[float, np.ndarray]:
    """weight · mean_p (ΔE_pred − ΔE_ref)² (eV²) and its gradient with respect to theta."""
    loss = [0.0]

    def d_loss(energy: np.ndarray) -> np.ndarray:
        residual = energy[: pairs.n_pairs] - energy[pairs.n_pairs:] - pairs.target
        loss[0] = weight * float(np.mean(residual**2))
        g = 2.0 * weight * residual / pairs.n_pairs
        return np.concatenate([g, -g])

    _, grad = stack.energies_and_gradient(theta, pairs.states, d_loss)
    return loss[0], grad


def pair_errors_mev(stack: NetworkStack, theta: np.ndarray, pairs: PairBatch) -> tuple[float, float]:
    """(RMSE, bias = mean error) of ΔE in meV; NaN for no pairs."""
    if pairs.n_pairs == 0:
        return float("nan"), float("nan")
    r = pair_residuals(stack, theta, pairs)
    return 1000 * float(np.sqrt(np.mean(r**2))), 1000 * float(np.mean(r))


class WithPairs:
    """A NetworkStack whose loss adds the pair term, for the optimisers (which see only the
    stack and the structure batch). On a mini-batch of the training structures it adds the term
    on a random subset of the same fraction of the pairs (at least one)."""

    def __init__(self, stack: NetworkStack, pairs: PairBatch, weight: float, n_train: int, seed: int = 0) -> None:
        self.stack, self.pairs, self.weight, self.n_train = stack, pairs, weight, n_train
        self.rng = np.random.default_rng(seed)

    def __getattr__(self, name: str):
        return getattr(self.stack, name)

    def loss_and_gradient(self, theta: np.ndarray, batch: Batch) -> tuple[float, np.ndarray]:
        """Energy loss of `batch` plus the pair term, and the gradient (see NetworkStack)."""
        loss, grad = self.stack.loss_and_gradient(theta, batch)
        pairs = self.pairs
        if batch.n_structures < self.n_train and pairs.n_pairs:
            size = max(1, int(round(pairs.n_pairs * batch.n_structures / self.n_train)))
            pairs = pairs.subset(np.sort(self.rng.choice(pairs.n_pairs, size, replace=False)))
        if pairs.n_pairs:
            pair_loss, pair_grad = pair_loss_and_gradient(self.stack, theta, pairs, self.weight)
            loss, grad = loss + pair_loss, grad + pair_grad
        return loss, grad

    def residuals_and_jacobian(self, theta: np.ndarray, batch: Batch):
        raise NanomcError("the lm optimizer does not train on move pairs; use lbfgs, adam or gd")


def swap_moves(snapshots: Sequence[Atoms], per_snapshot: int, rng: np.random.Generator) -> list[tuple[Atoms, Atoms]]:
    """(before, after) for `per_snapshot` random swaps of two atoms of different elements in
    each snapshot (each swap from the snapshot itself, as a canonical MC trial)."""
    out = []
    for atoms in snapshots:
        numbers = atoms.numbers
        for _ in range(per_snapshot):
            i = int(rng.integers(len(atoms)))
            others = np.flatnonzero(numbers != numbers[i])
            j = int(rng.choice(others))
            after = atoms.copy()
            after.numbers[[i, j]] = numbers[[j, i]]
            out.append((atoms, after))
    return out


def label_pairs(moves: Sequence[tuple[Atoms, Atoms]], delta: Callable[[Atoms, Atoms], tuple[float, float]]) -> list[Atoms]:
    """Pair-file frames for the moves; `delta(before, after)` gives (E_before, E_after) in eV
    (full evaluations with any ASE calculator, or a local evaluator such as LatticeEMT)."""
    frames = []
    for k, (before, after) in enumerate(moves):
        frames += pair_frames(before, after, str(k), *delta(before, after))
    return frames


def calculator_delta(calculator_factory: Callable[[], object]) -> Callable[[Atoms, Atoms], tuple[float, float]]:
    """A `delta` for label_pairs: full energies (eV) of both structures with a fresh calculator each."""
    def delta(before: Atoms, after: Atoms) -> tuple[float, float]:
        energies = []
        for atoms in (before, after):
            atoms = atoms.copy()
            atoms.calc = calculator_factory()
            energies.append(float(atoms.get_potential_energy()))
        return energies[0], energies[1]
    return delta


class PairTerm:
    """The pair term of a training run: train/test (and validation) pairs, the weight, the extra log
    columns (ΔE RMSE and bias in meV) and the provenance entries. With no pairs it adds nothing."""

    def __init__(self, stack: NetworkStack, train: PairBatch | None, test: PairBatch | None, weight: float,
                 dataset_hash: str = "", validation: PairBatch | None = None) -> None:
        self.stack, self.train, self.test, self.weight = stack, train, test, weight
        self.validation = validation
        self.dataset_hash = dataset_hash

    @property
    def active(self) -> bool:
        return self.train is not None and self.train.n_pairs > 0

    @property
    def header(self) -> list[str]:
        """Log columns (meV)."""
        return ["train_pair_rmse", "train_pair_bias", "test_pair_rmse", "test_pair_bias"] if self.train else []

    def errors(self, theta: np.ndarray) -> list[float]:
        """ΔE RMSE and bias (meV) on the train and test pairs, in the order of `header`."""
        if self.train is None:
            return []
        return [*pair_errors_mev(self.stack, theta, self.train), *pair_errors_mev(self.stack, theta, self.test)]

    def score(self, theta: np.ndarray, energy_rmse: float, chooser: str) -> float:
        """The quantity early stopping watches: sqrt(energy RMSE² + weight · pair RMSE²) (meV) with the
        pairs of the choosing set (`train`, `validation` or `test`)."""
        pairs = {"train": self.train, "validation": self.validation, "test": self.test}[chooser]
        if pairs is None or pairs.n_pairs == 0:
            return energy_rmse
        return float(np.sqrt(energy_rmse**2 + self.weight * pair_errors_mev(self.stack, theta, pairs)[0] ** 2))

    def objective(self, n_train: int) -> NetworkStack | WithPairs:
        """What the optimisers minimise: the stack, or the stack with the pair term."""
        return WithPairs(self.stack, self.train, self.weight, n_train) if self.active else self.stack

    def provenance(self, theta: np.ndarray) -> dict:
        """Pair counts, weight and ΔE errors (meV) for the potential file."""
        if self.train is None:
            return {}
        values = dict(zip(("train_pair_rmse_meV", "train_pair_bias_meV", "test_pair_rmse_meV", "test_pair_bias_meV"),
                          self.errors(theta)))
        n_valid = self.validation.n_pairs if self.validation is not None else 0
        return {"pair_set_hash": self.dataset_hash, "n_train_pairs": self.train.n_pairs, "n_test_pairs": self.test.n_pairs,
                "n_validation_pairs": n_valid, "pair_weight": self.weight,
                **{k: v for k, v in values.items() if np.isfinite(v)}}
