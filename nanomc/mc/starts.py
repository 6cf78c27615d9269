"""Independent starts: K chains (or ladders) of one campaign from different initial occupations.

A start is an extra leading index on the replicas: start s runs the whole temperature ladder
(replica exchange only within itself) from its own initial occupation, with its own random
streams. Agreement between starts is what the convergence diagnostics (R̂, ESS) test; a single
chain cannot show that it has missed a basin.

Kinds of start (`[mc] starts` names them; an integer K means K starts of the default kind, the
first being the campaign's usual initial occupation):
  random         a uniformly random occupation with the campaign's counts per swap group
  surface-first  in each swap group the rarest element on the group's lowest-coordinated sites
                 first, then the next rarest, ... (ties: farthest from the centre first, then at
                 random)
  core-first     the same on the highest-coordinated sites first (ties: nearest the centre first)
  file           the occupation of the structure file of [particle] (shape = "file")
Coordination counts the neighbours of a site among the sites of its own swap group
(SwapGroups.neighbour_partners: first shell of the group's sublattice).

Random streams (results do not depend on how chains are spread over MPI ranks): start s draws
from `start_seed(seed, s)`, spawned into its occupation stream (child 0), one stream per replica
(children 1..R) and its exchange stream (child R+1). Start 0 uses SeedSequence(seed) itself, so a
one-start campaign is bit for bit the campaign of before, and start 0 of a K-start campaign is
that campaign too.

With ladder = "tuned" every start runs the pilots and all use the ladder start 0's pilots tune
(nanomc.mc.ladder_tuning). With population annealing a start is an independent population of
`walkers` (nanomc.campaign.population): its walker streams are the keys of a one-population
campaign below start_seed(seed, s) (nanomc.mc.population.walker_rng); `random` gives every walker
an independent random occupation (the default first start, also for a structure file), a named
kind puts every walker of the population on that one occupation.
"""
from __future__ import annotations

import numpy as np
from ase import Atoms

from .groups import SwapGroups

RANDOM, SURFACE_FIRST, CORE_FIRST, FILE = "random", "surface-first", "core-first", "file"
START_KINDS = (RANDOM, SURFACE_FIRST, CORE_FIRST, FILE)
#: first word of the spawn key of the streams of starts 1, 2, ... (start 0 has no spawn key)
STARTS_KEY = 37


def start_seed(seed: int, start: int) -> np.random.SeedSequence:
    """The root SeedSequence of start `start` of a campaign with `seed` (start 0: SeedSequence(seed))."""
    if start == 0:
        return np.random.SeedSequence(seed)
    return np.random.SeedSequence(seed, spawn_key=(STARTS_KEY, start))


def start_streams(seed: int, start: int, n_replicas: int) -> list[np.random.SeedSequence]:
    """Streams of one start: occupation (0), replicas (1..n_replicas), exchanges (n_replicas + 1)."""
    return start_seed(seed, start).spawn(n_replicas + 2)


def start_occupation(kind: str, elements: np.ndarray, groups: SwapGroups, atoms: Atoms,
                     rng: np.random.Generator, drawn: bool = False) -> np.ndarray:
    """The initial element indices (per site) of a start of `kind` (START_KINDS).

    elements: the campaign's particle as built (its counts per group are kept by every kind);
    rng: the start's occupation stream; drawn: `elements` is already a random occupation drawn
    from that stream (the particle of start 0 built from `composition`), which `random` keeps.
    """
    elements = np.asarray(elements, np.int64)
    if kind == FILE or (kind == RANDOM and drawn):
        return elements.copy()
    out = elements.copy()
    members = [groups.movable[groups.group[groups.movable] == g] for g in range(len(groups.allowed))]
    if kind == RANDOM:
        for sites in members:
            out[sites] = rng.permutation(out[sites])
        return out
    if kind not in (SURFACE_FIRST, CORE_FIRST):
        raise ValueError(f"unknown start {kind!r}; one of {', '.join(START_KINDS)}")
    coordination = np.diff(groups.neighbour_partners(atoms)[0])
    sign = 1 if kind == SURFACE_FIRST else -1
    for sites in members:
        if not len(sites):
            continue
        centre = atoms.positions[sites].mean(axis=0)
        distance = np.round(np.linalg.norm(atoms.positions[sites] - centre, axis=1), 6)
        order = sites[np.lexsort((rng.random(len(sites)), -sign * distance, sign * coordination[sites]))]
        present, counts = np.unique(out[sites], return_counts=True)
        rank = np.lexsort((present, counts))                  # rarest element first, ties by element index
        out[order] = np.repeat(present[rank], counts[rank])
    return out


def default_start(shape_is_file: bool, composition: dict | None) -> str:
    """The kind of an unnamed first start: `file` for a structure file kept as it is, else `random`."""
    return FILE if shape_is_file and not composition else RANDOM


def start_count(starts: int | list[str]) -> int:
    """The number of starts `[mc] starts` asks for (a count K or a list of kinds)."""
    return len(starts) if isinstance(starts, list) else starts


def start_names(starts: int | list[str], first: str) -> list[str]:
    """The kinds of a campaign's starts from `[mc] starts` (a count K or a list of kinds); a count
    gives `first` (default_start) and K − 1 random starts."""
    if isinstance(starts, list):
        return list(starts)
    return [first] + [RANDOM] * (starts - 1)
