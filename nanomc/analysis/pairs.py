"""Pair statistics on a lattice of sites: neighbour probabilities, Warren–Cowley parameters.

`adjacency` is a sparse (N, N) matrix of the bonds of one neighbour shell among the sites
considered (e.g. the swappable sites); occupations are (n_snapshots, N) element indices (or
one occupation (N,)). The random references are exact expectations for a random occupation
of the same N sites with the same number of atoms of each element (no sampling).
"""
from __future__ import annotations

import numpy as np
from scipy import sparse
from scipy.stats import hypergeom

from .composition import fractions, ratio


def neighbour_counts(mask: np.ndarray, adjacency: sparse.spmatrix) -> np.ndarray:
    """Number of neighbours of every site for which `mask` is true: (n_snapshots, N)."""
    mask = np.atleast_2d(mask).astype(np.int32)
    return np.asarray(adjacency @ mask.T).T


def pair_counts(occupations: np.ndarray, adjacency: sparse.spmatrix, n_elements: int) -> np.ndarray:
    """Bonds from an A site to a B site, per snapshot: (n_snapshots, A, B), each bond counted from both ends."""
    occ = np.atleast_2d(occupations)
    n_snap = occ.shape[0]
    flat = (occ + (np.arange(n_snap) * n_elements)[:, None]).ravel()
    counts = np.empty((n_snap, n_elements, n_elements))
    for b in range(n_elements):
        around = neighbour_counts(occ == b, adjacency).ravel()
        counts[:, :, b] = np.bincount(flat, weights=around, minlength=n_snap * n_elements).reshape(n_snap, n_elements)
    return counts


def neighbour_probabilities(occupations: np.ndarray, adjacency: sparse.spmatrix, n_elements: int) -> np.ndarray:
    """P(a neighbour site of an A atom holds B), per snapshot: (n_snapshots, A, B)."""
    return fractions(pair_counts(occupations, adjacency, n_elements), axis=-1)


def warren_cowley(probabilities: np.ndarray, concentrations: np.ndarray) -> np.ndarray:
    """α(A, B) = 1 − P(B | A) / c_B from neighbour probabilities (…, A, B) and concentrations (…, B)."""
    return 1.0 - ratio(probabilities, np.asarray(concentrations, float)[..., None, :])


def paired_atoms(occupations: np.ndarray, adjacency: sparse.spmatrix, element: int) -> np.ndarray:
    """Number of atoms of `element` with at least one `element` neighbour, per snapshot."""
    is_x = np.atleast_2d(occupations) == element
    return ((neighbour_counts(is_x, adjacency) > 0) & is_x).sum(axis=1)


def any_neighbour_fraction(occupations: np.ndarray, adjacency: sparse.spmatrix, element: int) -> np.ndarray:
    """Fraction of the atoms of `element` with at least one `element` neighbour, per snapshot (NaN: none)."""
    return ratio(paired_atoms(occupations, adjacency, element), (np.atleast_2d(occupations) == element).sum(axis=1))


def random_neighbour_probabilities(counts: np.ndarray) -> np.ndarray:
    """Exact P(B | A) for a random occupation with counts[..., e] atoms of each element: (N_B − δ_AB)/(N − 1).

    counts (..., n_elements) -> (..., A, B).
    """
    counts = np.asarray(counts, float)
    n = counts.sum(axis=-1)[..., None, None]
    return (counts[..., None, :] - np.eye(counts.shape[-1])) / np.maximum(n - 1.0, 1.0)


def random_any_neighbour_fraction(adjacency: sparse.spmatrix, n_x: int) -> float:
    """Exact expected fraction of X atoms with ≥ 1 X neighbour for n_x X atoms placed at random.

    Site i with m_i neighbour sites holds X with probability n_x/N; given that, the other
    n_x − 1 X atoms fill the remaining N − 1 sites at random and none lands on its m_i
    neighbours with the hypergeometric probability C(N−1−m_i, n_x−1)/C(N−1, n_x−1).
    """
    n = adjacency.shape[0]
    if n_x < 1:
        return float("nan")
    m = np.asarray((adjacency > 0).sum(axis=1)).ravel()
    return float(np.mean(1.0 - hypergeom.pmf(0, n - 1, n_x - 1, m)))
