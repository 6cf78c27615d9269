"""X–X pair statistics over every pair of lattice sites, resolved by distance shell.

`pairs` looks at the first two neighbour shells; this module sorts *all* site pairs of a
(non-periodic) particle into distance shells (shell 0 the nearest neighbours, 1 the next
nearest, ... up to the largest distance) so that X–X pairs can be counted per shell (a radial
distribution g(r) over the lattice's own distances) and each X atom's nearest other X can be
placed in a shell. Every measure has its exact expectation for a random placement of the same
number of X atoms on the same sites (no sampling). Masks are (n_snapshots, N) booleans, true
where a site holds X (or one mask (N,)). Sites must sit on an ideal lattice: shells are split
wherever sorted distances jump by more than a small gap.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import numpy as np
from scipy import sparse
from scipy.spatial.distance import pdist, squareform

from .errors import AnalysisError
from .pairs import random_any_neighbour_fraction


@dataclass(frozen=True)
class DistanceShells:
    """All site pairs sorted into distance shells.

    distances: (K,) the median distance of each shell (Å), increasing; index: (N, N) the shell of
    each site pair, −1 on the diagonal.
    """

    distances: np.ndarray
    index: np.ndarray

    @property
    def n_sites(self) -> int:
        """Number of sites."""
        return len(self.index)

    @property
    def n_shells(self) -> int:
        """Number of distance shells."""
        return len(self.distances)

    def pairs_per_shell(self) -> np.ndarray:
        """Number of unordered site pairs in each shell: (K,)."""
        return np.bincount(self.index[np.triu_indices(self.n_sites, 1)], minlength=self.n_shells)

    def adjacency(self, shells: Iterable[int]) -> sparse.csr_matrix:
        """The symmetric 0/1 (N, N) matrix of the site pairs whose shell is one of `shells`."""
        return sparse.csr_matrix(np.isin(self.index, list(shells)).astype(np.int8))

    def subset(self, sites: np.ndarray) -> "DistanceShells":
        """The shells among `sites` (an index array) only, with the shell numbering of all sites."""
        return DistanceShells(self.distances, self.index[np.ix_(sites, sites)])


def distance_shells(positions: np.ndarray, gap: float = 0.01) -> DistanceShells:
    """Every pair of `positions` ((N, 3), Å, no periodic images) in its distance shell.

    Sorted pair distances are split where consecutive ones differ by more than gap·d_min.
    """
    positions = np.asarray(positions, float)
    if len(positions) < 2:
        raise AnalysisError(f"{len(positions)} site(s) have no pair distances")
    d = pdist(positions)
    order = np.argsort(d, kind="stable")
    jumps = np.diff(d[order]) > gap * d[order[0]]
    label = np.empty(len(d), np.int64)
    label[order] = np.r_[0, np.cumsum(jumps)]
    distances = np.array([np.median(s) for s in np.split(d[order], np.flatnonzero(jumps) + 1)])
    return DistanceShells(distances, squareform(label + 1, checks=False) - 1)


def shell_pair_counts(mask: np.ndarray, shells: DistanceShells) -> np.ndarray:
    """Number of unordered X–X pairs in each shell, per snapshot: (n_snapshots, K)."""
    mask = np.atleast_2d(mask).astype(bool)
    counts = np.zeros((len(mask), shells.n_shells))
    for s, m in enumerate(mask):
        sites = np.flatnonzero(m)
        among = shells.index[np.ix_(sites, sites)]
        counts[s] = np.bincount(among[np.triu_indices(len(sites), 1)], minlength=shells.n_shells)
    return counts


def random_shell_pair_counts(shells: DistanceShells, n_x: int) -> np.ndarray:
    """Exact expected X–X pairs per shell for n_x X atoms placed at random on the sites: (K,).

    A site pair holds two X with probability n_x(n_x − 1) / (N(N − 1)).
    """
    n = shells.n_sites
    return shells.pairs_per_shell() * (n_x * (n_x - 1) / (n * (n - 1)))


def nearest_shell_fractions(mask: np.ndarray, shells: DistanceShells) -> np.ndarray:
    """Fraction of the X atoms whose nearest other X is in shell k, per snapshot: (n_snapshots, K).

    NaN for a snapshot with fewer than two X atoms.
    """
    mask = np.atleast_2d(mask).astype(bool)
    fractions = np.full((len(mask), shells.n_shells), np.nan)
    for s, m in enumerate(mask):
        sites = np.flatnonzero(m)
        if len(sites) < 2:
            continue
        among = shells.index[np.ix_(sites, sites)].copy()
        np.fill_diagonal(among, shells.n_shells)
        fractions[s] = np.bincount(among.min(axis=1), minlength=shells.n_shells) / len(sites)
    return fractions


def random_nearest_shell_fractions(shells: DistanceShells, n_x: int) -> np.ndarray:
    """Exact expected `nearest_shell_fractions` for n_x X atoms placed at random: (K,).

    P(nearest other X within shells 0..k) is the hypergeometric fraction of X atoms with an X
    among the sites of those shells (`pairs.random_any_neighbour_fraction`); shell k gets the
    difference of consecutive ones.
    """
    if n_x < 2:
        return np.full(shells.n_shells, np.nan)
    within = [random_any_neighbour_fraction(shells.adjacency(range(k + 1)), n_x) for k in range(shells.n_shells)]
    return np.diff(np.r_[0.0, within])
