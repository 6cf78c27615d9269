"""Composition per category of sites (layer, site type, radial shell).

Occupations are arrays (n_snapshots, n_sites) of element indices; every function also takes a
single occupation (n_sites,) as one snapshot. `sites` (a boolean mask) restricts the counts
to some sites, e.g. the swappable ones.
"""
from __future__ import annotations

import numpy as np

from .sites import Labels


def label_counts(occupations: np.ndarray, labels: Labels, n_elements: int,
                 sites: np.ndarray | None = None) -> np.ndarray:
    """Atoms of each element per category and snapshot: (n_snapshots, n_categories, n_elements)."""
    occ = np.atleast_2d(occupations)
    keep = labels.index >= 0 if sites is None else (labels.index >= 0) & sites
    n_snap, n_cat = occ.shape[0], len(labels.names)
    flat = labels.index[keep][None, :] * n_elements + occ[:, keep]
    flat = flat + (np.arange(n_snap) * n_cat * n_elements)[:, None]
    return np.bincount(flat.ravel(), minlength=n_snap * n_cat * n_elements).reshape(n_snap, n_cat, n_elements)


def ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator / denominator, broadcast, NaN where the denominator is not positive."""
    numerator, denominator = np.asarray(numerator, float), np.asarray(denominator, float)
    ok = denominator > 0
    return np.where(ok, numerator / np.where(ok, denominator, 1.0), np.nan)


def fractions(counts: np.ndarray, axis: int = -1) -> np.ndarray:
    """counts normalised along `axis` (NaN where the total is zero)."""
    counts = np.asarray(counts, dtype=float)
    return ratio(counts, counts.sum(axis=axis, keepdims=True))


def composition(occupations: np.ndarray, labels: Labels, n_elements: int,
                sites: np.ndarray | None = None) -> np.ndarray:
    """Fraction of each element per category and snapshot: (n_snapshots, n_categories, n_elements)."""
    return fractions(label_counts(occupations, labels, n_elements, sites), axis=-1)
