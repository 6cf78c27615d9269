"""Population annealing: R walkers cooled step by step, reweighted and resampled at each step.

With K independent starts (nanomc.mc.starts) the campaign runs K populations of R walkers side by
side: walker slot g = s·R + j (0..K·R−1) is walker j of population s. Populations never mix: each
is reweighted and resampled on its own (its parents stay inside its block of slots), so they are
independent replicates of one annealing. Slot g lives on rank owner_of(g, K·R, size), as an exact
engine state (occupation, descriptors, atomic energies, best record); the slots of all populations
are spread over the ranks together, so the populations run interleaved on the same ranks. Each
rank keeps one engine and loads a walker's state into it to sweep that walker, so memory grows
with the walkers' states, not with engines.

Step k from β_{k−1} to β_k (β_{−1} = 0: the population starts as independent uniformly random
occupations, an exact sample at infinite temperature):
  1. weights w_j = exp(−(β_k − β_{k−1}) E_j) of the current walkers; ln Q_k = ln mean(w) is the
     estimate of ln Z(β_k)/Z(β_{k−1});
  2. resampling (`resampling.resample`): new walker j copies old walker parents[j]; states move
     between ranks where parent and copy live on different ranks (one alltoall);
  3. every walker runs `sweeps` Metropolis sweeps at T_k with its own random stream.
Random streams come from the campaign seed by position, not by rank: for population 0 initial
shuffles SeedSequence(seed, spawn_key=(1, j)), sweeps (2, k, j), resampling (3, k) — the streams
of a campaign of one population, unchanged — and for population s the same keys below its start's
root, SeedSequence(seed, spawn_key=(STARTS_KEY, s, 1, j)) and so on (`walker_rng`). Every rank makes
the same resampling decision from the allgathered energies, so a run gives the same result bit for
bit on any number of ranks.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import gammaln, logsumexp

from ..local_energy import LocalEnergyModel
from .chain import Chain
from .groups import SwapGroups
from .parallel import on_every_rank, owner_of
from .resampling import resample
from .starts import start_seed

#: keys of an engine state (LocalEnergyKernel.get_state) stacked over walkers in a checkpoint
STATE_KEYS = ("elements", "descriptors", "atomic_energies", "best_elements", "total", "best_total")


@dataclass
class Reweighting:
    """What step k's reweighting found: parents (R,) of the new walkers, ln Q_k, and
    effective_fraction = (Σw)²/(R Σw²) (1: all weights equal; 1/R: one walker takes all)."""

    parents: np.ndarray
    log_q: float
    effective_fraction: float


@dataclass
class Transfer:
    """Walker states a resampling moved between ranks: how many, and the bytes of their arrays."""

    walkers: int
    bytes: int


def walker_rng(seed: int, *key: int, start: int = 0) -> np.random.Generator:
    """The random stream of one walker task of population `start`, e.g. walker_rng(seed, 2, step, j) for the
    sweeps of walker j at step k: SeedSequence(seed) with spawn key `key` below the root of the start
    (nanomc.mc.starts.start_seed: none for start 0, (STARTS_KEY, s) for start s)."""
    root = start_seed(seed, start)
    return np.random.default_rng(np.random.SeedSequence(root.entropy, spawn_key=(*root.spawn_key, *key)))


def population_parents(energy: np.ndarray, delta_beta: float, seed: int, step: int, rule: str,
                       populations: int) -> tuple[np.ndarray, list[Reweighting]]:
    """Step `step`'s reweighting of each of `populations` equal blocks of walkers (energies eV, Δβ 1/eV)
    with its own stream (3, step) of its start; returns the parents of all slots (K·R,), indices into
    the slots (each population's inside its own block), and each population's Reweighting."""
    energy = np.asarray(energy, float)
    size = len(energy) // populations
    steps = [reweight(energy[s * size:(s + 1) * size], delta_beta, walker_rng(seed, 3, step, start=s), rule)
             for s in range(populations)]
    return np.concatenate([s * size + r.parents for s, r in enumerate(steps)]), steps


def reweight(energy: np.ndarray, delta_beta: float, rng: np.random.Generator, rule: str) -> Reweighting:
    """Weights exp(−Δβ E) (Δβ in 1/eV, E in eV) of the population; the resampled parents."""
    log_w = -delta_beta * np.asarray(energy, float)
    total = logsumexp(log_w)
    effective = float(np.exp(2 * total - logsumexp(2 * log_w)) / len(log_w))
    return Reweighting(resample(log_w, rng, rule), float(total - np.log(len(log_w))), effective)


def log_occupation_count(elements: np.ndarray, groups: SwapGroups) -> float:
    """ln Ω: the number of distinct occupations reachable by swaps within the swap groups
    (a multinomial coefficient per group), i.e. ln Z at infinite temperature."""
    total = 0.0
    for g in range(len(groups.allowed)):
        counts = np.unique(elements[groups.movable[groups.group[groups.movable] == g]], return_counts=True)[1]
        total += float(gammaln(counts.sum() + 1) - gammaln(counts + 1).sum())
    return total


class Population:
    """The walkers of this rank (of `populations` populations of `walkers` each), one engine to sweep
    them, and the moves of states between ranks."""

    def __init__(self, model: LocalEnergyModel, groups: SwapGroups, walkers: int, seed: int, comm,
                 neighbour_fraction: float = 0.0, populations: int = 1, composite_fraction: float = 0.0) -> None:
        self.chain = Chain(model, groups, np.random.default_rng(0), neighbour_fraction=neighbour_fraction,
                           composite_fraction=composite_fraction)
        self.groups = groups
        self.walkers = walkers                  # per population
        self.populations = populations
        self.total = walkers * populations      # slots
        self.seed = seed
        self.comm = comm
        self.slots = [g for g in range(self.total) if owner_of(g, self.total, comm.size) == comm.rank]
        self.states: dict[int, dict] = {}

    def start(self, elements: np.ndarray | list[np.ndarray], shuffle: list[bool] | None = None) -> np.ndarray:
        """The initial walkers: population s from occupation elements[s] (one array: the same for every
        population), each walker j shuffled within each swap group with its stream (1, j) of start s when
        shuffle[s] (default: every population) — an exact sample of infinite temperature — or every
        walker exactly that occupation; returns the energies (K·R,) in eV on every rank."""
        kernel = self.chain.model._kernel
        movable, group = self.groups.movable, self.groups.group
        members = [movable[group[movable] == g] for g in range(len(self.groups.allowed))]
        if not isinstance(elements, list):
            elements = [elements] * self.populations
        shuffle = [True] * self.populations if shuffle is None else shuffle

        def occupy() -> dict[int, float]:
            for slot in self.slots:
                s, j = divmod(slot, self.walkers)
                z = np.array(elements[s], np.int64)
                if shuffle[s]:
                    rng = walker_rng(self.seed, 1, j, start=s)
                    for sites in members:
                        z[sites] = rng.permutation(z[sites])
                kernel.set_elements(z)
                kernel.reset_best()
                self.states[slot] = kernel.get_state()
            return {slot: self.states[slot]["total"] for slot in self.slots}

        return self._by_walker(on_every_rank(self.comm, "the initial population", occupy))

    def resample(self, parents: np.ndarray) -> Transfer:
        """Replace the walkers by copies of their parents, slot indices (K·R,) (every rank passes the same)."""
        size, rank = self.comm.size, self.comm.rank
        outgoing: list[dict[int, dict]] = [{} for _ in range(size)]
        for j, p in enumerate(parents):
            if owner_of(p, self.total, size) == rank:
                outgoing[owner_of(j, self.total, size)][int(p)] = self.states[int(p)]
        sent = [len(outgoing[r]) for r in range(size) if r != rank]
        nbytes = sum(np.asarray(value).nbytes for r in range(size) if r != rank
                     for state in outgoing[r].values() for value in state.values())
        received: dict[int, dict] = {}
        for part in self.comm.alltoall(outgoing):
            received.update(part)
        self.states = {j: received[int(parents[j])] for j in self.slots}
        counts = self.comm.allgather((sum(sent), nbytes))
        return Transfer(sum(c[0] for c in counts), sum(c[1] for c in counts))

    def sweep(self, step: int, temperature: float, sweeps: int) -> tuple[np.ndarray, np.ndarray]:
        """`sweeps` sweeps of every walker at `temperature` (K), walker j of population s with stream
        (2, step, j) of start s; returns (energy eV, acceptance) per walker slot (K·R,) on every rank."""
        def run() -> dict[int, tuple[float, float]]:
            kernel, out = self.chain.model._kernel, {}
            for slot in self.slots:
                s, j = divmod(slot, self.walkers)
                kernel.set_state(self.states[slot])
                self.chain.rng = walker_rng(self.seed, 2, step, j, start=s)
                result = self.chain.sweep(temperature, sweeps)
                self.states[slot] = kernel.get_state()
                out[slot] = (result.energy, result.acceptance)
            return out

        per_walker = self._by_walker(on_every_rank(self.comm, f"temperature step {step + 1}", run), 2)
        return per_walker[:, 0], per_walker[:, 1]

    def gather_states(self) -> dict[str, np.ndarray] | None:
        """Every walker's state stacked by slot (STATE_KEYS), on rank 0; None elsewhere."""
        parts = self.comm.gather(self.states, root=0)
        if self.comm.rank != 0:
            return None
        merged = {j: s for part in parts for j, s in part.items()}
        return {key: np.array([merged[j][key] for j in range(self.total)]) for key in STATE_KEYS}

    def gather_elements(self) -> np.ndarray | None:
        """Occupations (K·R, N) of all walkers, on rank 0; None elsewhere."""
        parts = self.comm.gather({j: s["elements"] for j, s in self.states.items()}, root=0)
        if self.comm.rank != 0:
            return None
        merged = {j: z for part in parts for j, z in part.items()}
        return np.array([merged[j] for j in range(self.total)])

    def set_states(self, stacked: dict[str, np.ndarray]) -> None:
        """Take this rank's walkers from stacked states (a checkpoint); ValueError if they do not fit."""
        if len(stacked["total"]) != self.total:
            raise ValueError(f"the checkpoint holds {len(stacked['total'])} walkers, the campaign has {self.total}")
        kernel = self.chain.model._kernel
        for j in self.slots:
            state = {key: stacked[key][j] for key in STATE_KEYS}
            kernel.set_state(state)                     # checks the shapes
            self.states[j] = kernel.get_state()

    def _by_walker(self, parts: list[dict], width: int = 0) -> np.ndarray:
        out = np.empty((self.total, width) if width else self.total)
        for part in parts:
            for j, value in part.items():
                out[j] = value
        return out
