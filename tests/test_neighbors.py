"""Neighbour search: the cell-list kernel and build_neighbor_list vs ASE and a brute-force reference."""
from __future__ import annotations

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk
from ase.neighborlist import neighbor_list as ase_neighbor_list

from conftest import (
    CUTOFF,
    bulk_alloy,
    mixed_pbc,
    random_cluster,
    random_in_cell,
    skewed_cell,
    slab,
    small_cell,
    small_triclinic,
)
from nanomc._ext.neighbors import neighbor_list
from nanomc.structure import NeighborList, build_neighbor_list
from reference import ref_neighbors

EL = ["Au", "Cu"]


# --------------------------------------------------------------------------- helpers


def _canonical(i, j, v):
    """Sort (i, j, vector) triples by (i, j, rounded vector); returns (i, j, v) arrays."""
    i = np.asarray(i, dtype=np.int64)
    j = np.asarray(j, dtype=np.int64)
    v = np.asarray(v, dtype=float).reshape(-1, 3)
    r = np.round(v, 6)
    order = np.lexsort((r[:, 2], r[:, 1], r[:, 0], j, i))
    return i[order], j[order], v[order]


def kernel_triples(positions, cell, pbc, cutoff):
    offsets, indices, vectors = neighbor_list(
        np.ascontiguousarray(positions, dtype=float), np.ascontiguousarray(cell, dtype=float), list(pbc), cutoff
    )
    n = len(positions)
    assert offsets.dtype == np.int64 and indices.dtype == np.int64 and vectors.dtype == np.float64
    assert offsets.shape == (n + 1,) and offsets[0] == 0 and np.all(np.diff(offsets) >= 0)
    assert offsets[-1] == len(indices) == len(vectors)
    i = np.repeat(np.arange(n), np.diff(offsets))
    return _canonical(i, indices, vectors)


def nl_triples(nl: NeighborList):
    n = len(nl.offsets) - 1
    i = np.repeat(np.arange(n), np.diff(nl.offsets))
    return _canonical(i, nl.indices, nl.vectors)


def ref_triples(positions, cell, pbc, cutoff):
    pairs = ref_neighbors(positions, cell, pbc, cutoff)
    if not pairs:
        return _canonical([], [], np.zeros((0, 3)))
    i, j, v = zip(*pairs)
    return _canonical(i, j, np.array(v))


def ase_triples(atoms, cutoff):
    i, j, d = ase_neighbor_list("ijD", atoms, cutoff, self_interaction=False)
    return _canonical(i, j, d)


def assert_same(a, b, label=""):
    (ia, ja, va), (ib, jb, vb) = a, b
    assert len(ia) == len(ib), f"{label}: {len(ia)} vs {len(ib)} neighbour entries"
    np.testing.assert_array_equal(ia, ib, err_msg=label)
    np.testing.assert_array_equal(ja, jb, err_msg=label)
    np.testing.assert_allclose(va, vb, rtol=0, atol=1e-9, err_msg=label)


def check_all(atoms, cutoff, with_ref=True):
    """Kernel, build_neighbor_list, ASE and (optionally) the brute-force reference all agree."""
    pos, cell, pbc = atoms.get_positions(), atoms.cell.array, [bool(p) for p in atoms.pbc]
    k = kernel_triples(pos, cell, pbc, cutoff)
    a = ase_triples(atoms, cutoff)
    assert_same(k, a, "kernel vs ASE")
    if with_ref:
        assert_same(k, ref_triples(pos, cell, pbc, cutoff), "kernel vs reference")
    nl = build_neighbor_list(atoms, cutoff)
    assert_same(nl_triples(nl), k, "build_neighbor_list vs kernel")
    # every vector really is r_j + T − r_i for an integer lattice translation T
    i, j, v = k
    if len(i):
        t = v - (pos[j] - pos[i])
        if any(pbc):
            per = np.asarray(cell)[np.array(pbc)]  # periodic cell vectors only
            n = np.linalg.lstsq(per.T, t.T, rcond=None)[0].T
            np.testing.assert_allclose(n @ per, t, atol=1e-8)  # t lies in the periodic lattice
            np.testing.assert_allclose(n, np.round(n), atol=1e-8)
        else:
            np.testing.assert_allclose(t, 0.0, atol=1e-12)
        d = np.linalg.norm(v, axis=1)
        assert np.all(d > 0) and np.all(d < cutoff)
        np.testing.assert_allclose(nl.distances, np.linalg.norm(nl.vectors, axis=1), rtol=1e-15)
    return k


# --------------------------------------------------------------------------- random structures


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("cutoff", [2.9, CUTOFF, 9.0])
def test_random_cluster(seed, cutoff):
    atoms = random_cluster(EL, 24, seed)
    assert not atoms.pbc.any() and np.all(atoms.cell.array == 0)
    k = check_all(atoms, cutoff)
    assert len(k[0]) > 0


def test_sparse_and_elongated_clusters():
    """Few atoms spread over a huge extent (many empty bins → bin merging) and a long chain."""
    rng = np.random.default_rng(3)
    sparse = Atoms("Cu8", positions=rng.uniform(-300, 300, (8, 3)))
    sparse.positions[1] = sparse.positions[0] + [2.5, 1.0, -1.0]  # one close pair
    assert len(check_all(sparse, CUTOFF)[0]) == 2
    chain = Atoms("Cu40", positions=np.c_[np.arange(40) * 2.45, rng.normal(0, 0.1, (40, 2))])
    check_all(chain, CUTOFF)
    big = random_cluster(EL, 150, 4, density=0.07)
    check_all(big, CUTOFF, with_ref=False)  # many bins per direction; ASE only (speed)


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("cutoff", [3.0, CUTOFF])
def test_periodic_bulk(seed, cutoff):
    check_all(bulk_alloy(EL, seed, repeat=(2, 2, 1)), cutoff)


def test_periodic_bulk_large_ase_only():
    atoms = bulk_alloy(EL, 5, repeat=(4, 4, 4))  # 256 atoms, several bins per direction
    k = check_all(atoms, CUTOFF, with_ref=False)
    assert np.all(np.bincount(k[0], minlength=len(atoms)) > 70)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("cutoff", [3.5, CUTOFF, 10.0])
def test_skewed_cell(seed, cutoff):
    check_all(skewed_cell(EL, seed), cutoff)


def test_strongly_sheared_cell():
    """A cell whose vectors are much longer than its plane spacings."""
    cell = np.array([[5.0, 0.0, 0.0], [12.3, 4.1, 0.0], [-9.7, 7.9, 4.4]])
    atoms = random_in_cell(EL, 4, cell, (True, True, True), seed=9, min_dist=1.5, spill=0.5)
    check_all(atoms, CUTOFF)


def test_fractional_coordinate_rounding_to_one():
    """Atoms at fractional coordinate −1e-17 (f − floor(f) rounds to exactly 1.0) in a sheared
    cell with several bins per direction: the atom's bin and its lattice shift must agree
    (this lost neighbours of the sheared Ni-test structures before it was fixed)."""
    cell = np.array([[10.5666, 0.0, 0.0], [-0.9434, 10.4817, 0.0], [0.0, 0.0, 10.5241]])
    atoms = bulk("Ni", "fcc", a=3.52, cubic=True).repeat((3, 3, 3))
    frac = atoms.get_scaled_positions()  # multiples of 1/6, as in the Ni-test cells
    frac[frac == 0.0] = -1e-17
    atoms = Atoms("Ni108", scaled_positions=frac, cell=cell, pbc=True)
    assert (atoms.get_scaled_positions(wrap=False) < 0).any()
    k = check_all(atoms, 3.9, with_ref=False)
    assert np.all(np.bincount(k[0], minlength=len(atoms)) == 18)


def test_positions_far_outside_cell():
    atoms = skewed_cell(EL, 11)
    shifted = atoms.copy()
    shifted.positions += np.array([3, -7, 12]) @ atoms.cell.array + [0.31, -0.2, 0.05]
    check_all(shifted, CUTOFF)


@pytest.mark.parametrize("cutoff", [2.0, 2.7, CUTOFF, 8.0])
def test_one_atom_cell_smaller_than_cutoff(cutoff):
    atoms = small_cell("Cu")
    assert len(atoms) == 1
    k = check_all(atoms, cutoff)
    # all entries are images of the atom itself: fcc shells 12, 6, 24, 12, 24, 8, 48 ...
    assert np.all(k[0] == 0) and np.all(k[1] == 0)
    d = np.linalg.norm(k[2], axis=1)
    a = 3.76
    shells = a * np.sqrt(np.arange(1, 20) / 2.0)
    mult = {1: 12, 2: 6, 3: 24, 4: 12, 5: 24, 6: 8, 7: 48, 8: 6, 9: 36, 10: 24, 11: 24, 12: 24}
    expected = sum(mult[m] for m in range(1, 13) if shells[m - 1] < cutoff)
    assert len(d) == expected


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_small_triclinic_cell(seed):
    check_all(small_triclinic(EL, seed), CUTOFF)


@pytest.mark.parametrize("kind", ["111", "100"])
def test_slab(kind):
    atoms = slab(EL, 1, kind)
    check_all(atoms, CUTOFF)
    # the same slab with a zero third cell vector (allowed along a non-periodic direction)
    flat = atoms.copy()
    flat.cell[2] = [0.0, 0.0, 0.0]
    check_all(flat, CUTOFF)


@pytest.mark.parametrize(
    "pbc", [(True, False, True), (False, True, False), (True, False, False), (False, False, True), (True, True, False)]
)
@pytest.mark.parametrize("seed", [0, 1])
def test_mixed_pbc(pbc, seed):
    check_all(mixed_pbc(EL, seed, pbc), CUTOFF)


def test_cell_ignored_without_pbc():
    atoms = random_cluster(EL, 12, 5)
    with_cell = atoms.copy()
    with_cell.cell = [[3.0, 0, 0], [0, 3.0, 0], [0, 0, 3.0]]  # smaller than the cluster, pbc False
    assert_same(check_all(with_cell, CUTOFF), check_all(atoms, CUTOFF))


def test_empty_and_single_atom():
    offsets, indices, vectors = neighbor_list(np.zeros((0, 3)), np.zeros((3, 3)), [False] * 3, CUTOFF)
    assert offsets.tolist() == [0] and len(indices) == 0 and vectors.shape == (0, 3)
    offsets, indices, vectors = neighbor_list(np.zeros((1, 3)), np.zeros((3, 3)), [False] * 3, CUTOFF)
    assert offsets.tolist() == [0, 0] and len(indices) == 0


# --------------------------------------------------------------------------- exact cutoff


def test_cutoff_is_strict_cluster():
    rc = CUTOFF
    pos = np.array(
        [
            [0.0, 0.0, 0.0],
            [rc, 0.0, 0.0],  # exactly at the cutoff from atom 0: not a neighbour
            [0.0, rc * (1 - 1e-12), 0.0],  # just inside: neighbour of atom 0
            [0.0, 0.0, -rc * (1 + 1e-12)],  # just beyond: not a neighbour
        ]
    )
    atoms = Atoms("Cu4", positions=pos)
    i, j, v = check_all(atoms, rc)
    assert list(zip(i.tolist(), j.tolist())) == [(0, 2), (2, 0)]
    np.testing.assert_array_equal(v, [[0.0, rc * (1 - 1e-12), 0.0], [0.0, -rc * (1 - 1e-12), 0.0]])


@pytest.mark.parametrize("factor, expected", [(1.0, 0), (1 + 1e-12, 0), (1 - 1e-12, 6)])
def test_cutoff_is_strict_periodic_images(factor, expected):
    """One atom in a cubic cell of side rc·factor: its 6 nearest images are at exactly that distance."""
    a = CUTOFF * factor
    atoms = Atoms("Cu", positions=[[0.3 * a, 0.2 * a, 0.7 * a]], cell=np.eye(3) * a, pbc=True)
    i, j, v = check_all(atoms, CUTOFF)
    assert len(i) == expected


@pytest.mark.parametrize("factor, expected", [(1.0, 0), (1 + 1e-12, 0), (1 - 1e-12, 2 * 9)])
def test_cutoff_is_strict_chain_across_bins(factor, expected):
    """A chain spanning many cell-list bins, spacing exactly at / around the cutoff."""
    d = CUTOFF * factor
    atoms = Atoms("Cu10", positions=[[k * d, 0.0, 0.0] for k in range(10)])
    assert len(check_all(atoms, CUTOFF)[0]) == expected


@pytest.mark.parametrize("factor, expected", [(1.0, 0), (1 + 1e-12, 0), (1 - 1e-12, 2)])
def test_cutoff_is_strict_pair_in_periodic_cell(factor, expected):
    """Two atoms inside a large periodic cell (images far away), separated by rc·factor along z."""
    rc = CUTOFF
    atoms = Atoms("Cu2", positions=[[1.0, 2.0, 0.0], [1.0, 2.0, rc * factor]], cell=np.eye(3) * 20.0, pbc=True)
    assert len(check_all(atoms, rc)[0]) == expected


def test_plane_spacing_just_below_cutoff():
    """Cell side a hair under the cutoff: the second image shell, 2a away, lies just inside reach."""
    a = CUTOFF / (1 + 5e-13)
    positions = np.array([[0.0, 0.0, 0.0], [a * (1 - 1e-13), 0.0, 0.0]])
    cell = np.eye(3) * a
    got = kernel_triples(positions, cell, [True] * 3, CUTOFF)
    expected = ref_triples(positions, cell, [True] * 3, CUTOFF)
    assert len(got[0]) == len(expected[0]) == 26


# --------------------------------------------------------------------------- validation


def test_build_neighbor_list_matches_kernel_arrays():
    atoms = bulk_alloy(EL, 2, repeat=(1, 1, 2))
    nl = build_neighbor_list(atoms, CUTOFF)
    offsets, indices, vectors = neighbor_list(
        np.ascontiguousarray(atoms.positions), np.ascontiguousarray(atoms.cell.array), [True] * 3, CUTOFF
    )
    np.testing.assert_array_equal(nl.offsets, offsets)
    np.testing.assert_array_equal(nl.indices, indices)
    np.testing.assert_array_equal(nl.vectors, vectors)
    assert nl.nbytes == offsets.nbytes + indices.nbytes + vectors.nbytes


def test_fcc_neighbour_counts():
    atoms = bulk("Cu", "fcc", a=3.6, cubic=True).repeat(3)
    nl = build_neighbor_list(atoms, 3.0)  # first shell only: 2.546 Å
    assert np.all(np.diff(nl.offsets) == 12)
    np.testing.assert_allclose(nl.distances, 3.6 / np.sqrt(2), rtol=1e-12)
