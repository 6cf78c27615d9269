"""X–X pairs by distance shell over all site pairs: brute force with explicit distances, random values by sampling."""
import itertools

import numpy as np
import pytest

from nanomc.analysis import distance_pairs as dp
from nanomc.analysis import pairs
from nanomc.fluorite import fluorite_particle

A_CEO2 = 5.411


@pytest.fixture(scope="module")
def cations():
    """The 79 cation sites of a small CeO2 truncated octahedron (an fcc lattice, nn a/√2)."""
    particle = fluorite_particle("CeO2", "truncated_octahedron", A_CEO2, 5)
    return particle.positions[particle.arrays["sublattice"] == 0]


def random_masks(n_sites, n_x, n_snapshots, seed):
    rng = np.random.default_rng(seed)
    mask = np.zeros((n_snapshots, n_sites), bool)
    for m in mask:
        m[rng.choice(n_sites, n_x, replace=False)] = True
    return mask


def brute_shell(positions):
    """Shell of a pair (i, j): the rank of its explicit distance among the distinct distances of all pairs."""
    distinct = np.unique(np.round([np.linalg.norm(p - q) for p, q in itertools.combinations(positions, 2)], 6))

    def shell_of(i, j):
        return int(np.searchsorted(distinct, round(float(np.linalg.norm(positions[i] - positions[j])), 6)))

    return shell_of, distinct


def test_shells_are_the_fcc_distances(cations):
    shells = dp.distance_shells(cations)
    nn = A_CEO2 / np.sqrt(2)
    assert shells.distances[:4] == pytest.approx(nn * np.sqrt([1, 2, 3, 4]))
    assert (np.diag(shells.index) == -1).all() and (shells.index == shells.index.T).all()
    assert shells.pairs_per_shell().sum() == len(cations) * (len(cations) - 1) // 2
    # the first two shells are the analysis's nn and nnn shells
    assert shells.adjacency([0]).sum(axis=1).max() == 12 and shells.adjacency([1]).sum(axis=1).max() == 6


def test_counts_and_nearest_shells_by_brute_force(cations):
    shell_of, distinct = brute_shell(cations)
    shells = dp.distance_shells(cations)
    assert shells.distances == pytest.approx(distinct, abs=1e-6)
    masks = random_masks(len(cations), 9, 4, seed=1)
    masks[0, :] = False
    masks[0, [0, 1]] = True                                  # two X: each is the other's nearest
    counts = dp.shell_pair_counts(masks, shells)
    nearest = dp.nearest_shell_fractions(masks, shells)
    for mask, count, near in zip(masks, counts, nearest):
        xs = np.flatnonzero(mask)
        expected = np.zeros(shells.n_shells)
        for i, j in itertools.combinations(xs, 2):
            expected[shell_of(i, j)] += 1
        assert count == pytest.approx(expected)
        expected = np.zeros(shells.n_shells)
        for i in xs:
            expected[min(shell_of(i, j) for j in xs if j != i)] += 1 / len(xs)
        assert near == pytest.approx(expected)
    lone = np.zeros(len(cations), bool)
    lone[3] = True
    assert np.isnan(dp.nearest_shell_fractions(lone, shells)).all()


def test_subset_keeps_the_shell_numbering(cations):
    shells = dp.distance_shells(cations)
    sites = np.arange(0, len(cations), 3)
    sub = dp.distance_shells(cations[sites])
    assert shells.subset(sites).index.shape == (len(sites), len(sites))
    # the same pairs, numbered among all sites: the subset's own distances map onto those shells
    own = np.searchsorted(np.round(shells.distances, 6), np.round(sub.distances, 6))
    assert (shells.subset(sites).index == np.where(sub.index >= 0, own[sub.index], -1)).all()


@pytest.mark.parametrize("n_x", [2, 9])
def test_random_references_against_sampling(cations, n_x):
    """Exact random references against 4000 random placements (seed 7): within 4.5 standard errors.

    A shell that no sample reaches has an error of 0; 3/4000 (the 95 % bound on the rate of an
    event never seen in 4000 tries) covers those."""
    shells = dp.distance_shells(cations)
    masks = random_masks(len(cations), n_x, 4000, seed=7)
    for sampled, exact in ((dp.shell_pair_counts(masks, shells), dp.random_shell_pair_counts(shells, n_x)),
                           (dp.nearest_shell_fractions(masks, shells), dp.random_nearest_shell_fractions(shells, n_x))):
        error = sampled.std(axis=0, ddof=1) / np.sqrt(len(masks))
        assert (np.abs(sampled.mean(axis=0) - exact) <= 4.5 * error + 3 / len(masks)).all()
        assert error.max() > 0
    nearest = dp.random_nearest_shell_fractions(shells, n_x)
    assert nearest.sum() == pytest.approx(1.0)
    # within the first two shells: the per-atom nn-or-nnn measure of `pairs`
    assert nearest[:2].sum() == pytest.approx(pairs.random_any_neighbour_fraction(shells.adjacency([0, 1]), n_x))
    assert dp.random_shell_pair_counts(shells, n_x).sum() == pytest.approx(n_x * (n_x - 1) / 2)
