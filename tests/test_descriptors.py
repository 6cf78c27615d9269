"""Symmetry-function descriptors (Potential.descriptors) vs the plain-NumPy reference and hand values."""
from __future__ import annotations

import math

import numpy as np
import pytest
from ase import Atoms

from conftest import (
    CUTOFF,
    bulk_alloy,
    element_specific_sets,
    make_potential,
    random_cluster,
    structure_zoo,
)
from nanomc.structure import build_neighbor_list
from nanomc.potential import AngularFunction, DescriptorSet, Network, Potential, RadialFunction
from reference import ref_descriptors

RTOL, ATOL = 1e-12, 1e-14

ZOO2 = structure_zoo(["Au", "Cu"], seed=10)
ZOO3 = structure_zoo(["Au", "Cu", "Pd"], seed=20)


def assert_descriptors_match(pot, atoms):
    g = pot.descriptors(atoms)
    ref = ref_descriptors(atoms, pot)
    width = max(d.size for d in pot.descriptor_sets.values())
    assert g.shape == (len(atoms), width) and g.dtype == np.float64
    assert np.all(np.isfinite(g))
    np.testing.assert_allclose(g, ref, rtol=RTOL, atol=ATOL)
    return g


@pytest.mark.parametrize("name, atoms", ZOO2, ids=[n for n, _ in ZOO2])
def test_two_elements_default_set(pot_AuCu, name, atoms):
    g = assert_descriptors_match(pot_AuCu, atoms)
    assert np.count_nonzero(g) > g.size // 3  # the structures do have neighbours


@pytest.mark.parametrize("name, atoms", ZOO3, ids=[n for n, _ in ZOO3])
def test_three_elements_default_set(pot_AuCuPd, name, atoms):
    assert_descriptors_match(pot_AuCuPd, atoms)


@pytest.mark.parametrize("elements", [["Au", "Cu"], ["Au", "Cu", "Pd"]])
@pytest.mark.parametrize("which", [0, 1, 2, 3, 5, 6])
def test_element_specific_sets(elements, which):
    """Different functions (and sizes) per central element, ζ = 2.5 and 1.7 included."""
    sets = element_specific_sets(elements)
    sizes = [sets[e].size for e in elements]
    assert len(set(sizes)) == len(sizes)  # really different per element
    assert any(f.zeta % 1 for f in sets[elements[0]].angular)
    pot = make_potential(elements, descriptor_sets=sets, seed=3)
    name, atoms = structure_zoo(elements, seed=30)[which]
    g = assert_descriptors_match(pot, atoms)
    # rows are zero-padded beyond the size of the atom's own set
    for i, s in enumerate(atoms.get_chemical_symbols()):
        assert np.all(g[i, sets[s].size:] == 0.0)


def test_larger_cluster_three_elements(pot_AuCuPd):
    assert_descriptors_match(pot_AuCuPd, random_cluster(["Au", "Cu", "Pd"], 40, 77, density=0.07))


def test_periodic_supercell_consistency(pot_AuCu):
    """Descriptors of a supercell equal the tiled descriptors of the cell (periodic images counted)."""
    atoms = bulk_alloy(["Au", "Cu"], 4, repeat=(1, 1, 1))
    g = pot_AuCu.descriptors(atoms)
    sup = atoms.repeat((2, 1, 3))
    np.testing.assert_allclose(pot_AuCu.descriptors(sup), np.tile(g, (6, 1)), rtol=1e-12, atol=ATOL)


# --------------------------------------------------------------------------- hand-computed values


def _fc(r, rc=CUTOFF):
    return 0.5 * (math.cos(math.pi * r / rc) + 1.0) if r < rc else 0.0


def _hand_potential():
    """Au/Cu potential with a few explicit functions, different per central element."""
    els = ["Au", "Cu"]
    au = DescriptorSet(
        (RadialFunction(0.7, 2.0, "Cu"), RadialFunction(0.3, 0.0, "Au")),
        (
            AngularFunction(0.03, 1.0, 1.0, ("Cu", "Cu")),
            AngularFunction(0.02, 2.5, -1.0, ("Cu", "Cu")),
            AngularFunction(0.05, 4.0, 1.0, ("Au", "Cu")),
        ),
    )
    cu = DescriptorSet(
        (RadialFunction(0.4, 2.5, "Au"),),
        (AngularFunction(0.01, 2.5, 1.0, ("Cu", "Au")), AngularFunction(0.04, 1.0, -1.0, ("Cu", "Cu"))),
    )
    rng = np.random.default_rng(0)
    nets = {e: Network.random(s.size, (3,), "tanh", rng) for e, s in (("Au", au), ("Cu", cu))}
    return Potential(els, CUTOFF, {"Au": au, "Cu": cu}, nets)


def _g4(zeta, lam, eta, rij, rik, rjk, cos_t):
    return (
        2.0 ** (1.0 - zeta)
        * (1.0 + lam * cos_t) ** zeta
        * math.exp(-eta * (rij**2 + rik**2 + rjk**2))
        * _fc(rij)
        * _fc(rik)
        * _fc(rjk)
    )


def test_dimer_by_hand():
    pot = _hand_potential()
    r = 2.7
    atoms = Atoms("AuCu", positions=[[0, 0, 0], [0.0, 0.0, r]])
    g = pot.descriptors(atoms)
    assert g.shape == (2, 5)
    expected_au = [math.exp(-0.7 * (r - 2.0) ** 2) * _fc(r), 0.0, 0.0, 0.0, 0.0]
    expected_cu = [math.exp(-0.4 * (r - 2.5) ** 2) * _fc(r), 0.0, 0.0, 0.0, 0.0]
    np.testing.assert_allclose(g, [expected_au, expected_cu], rtol=RTOL, atol=0)


def test_triplet_counted_once_with_fc_of_rjk():
    """Au at the origin with two Cu neighbours: one triplet, with f_c(R_jk) and 2^(1−ζ)."""
    pot = _hand_potential()
    r1, r2, theta = 2.6, 3.1, math.radians(71.0)
    p1 = np.array([r1, 0.0, 0.0])
    p2 = r2 * np.array([math.cos(theta), math.sin(theta), 0.0])
    atoms = Atoms("AuCuCu", positions=[[0, 0, 0], p1, p2])
    r12 = float(np.linalg.norm(p2 - p1))
    c = math.cos(theta)
    g = pot.descriptors(atoms)
    au = [
        (math.exp(-0.7 * (r1 - 2.0) ** 2) * _fc(r1) + math.exp(-0.7 * (r2 - 2.0) ** 2) * _fc(r2)),
        0.0,
        _g4(1.0, 1.0, 0.03, r1, r2, r12, c),
        _g4(2.5, -1.0, 0.02, r1, r2, r12, c),
        0.0,
    ]
    np.testing.assert_allclose(g[0], au, rtol=RTOL, atol=0)
    # Cu atom 1: neighbours Au (at −p1) and Cu (at p2 − p1); pair {Au, Cu}
    v_au, v_cu = -p1, p2 - p1
    cos1 = float(v_au @ v_cu / (np.linalg.norm(v_au) * np.linalg.norm(v_cu)))
    cu1 = [math.exp(-0.4 * (r1 - 2.5) ** 2) * _fc(r1), _g4(2.5, 1.0, 0.01, r1, r12, r2, cos1), 0.0]
    np.testing.assert_allclose(g[1, :3], cu1, rtol=RTOL, atol=0)
    assert np.all(g[1, 3:] == 0.0)
    np.testing.assert_allclose(g, ref_descriptors(atoms, pot), rtol=RTOL, atol=ATOL)


def test_angular_terms_vanish_when_rjk_beyond_cutoff():
    """j and k within R_c of i but not of each other: no angular contribution (f_c(R_jk) = 0)."""
    pot = _hand_potential()
    r = 3.4  # R_jk = 6.8 > 6.5 at θ = 180°
    atoms = Atoms("AuCuCu", positions=[[0, 0, 0], [r, 0, 0], [-r, 0, 0]])
    g = pot.descriptors(atoms)
    assert g[0, 0] > 0 and np.all(g[0, 2:] == 0.0)
    # and with R_jk exactly at the cutoff
    atoms = Atoms("AuCuCu", positions=[[0, 0, 0], [CUTOFF / 2, 0, 0], [-CUTOFF / 2, 0, 0]])
    g = pot.descriptors(atoms)
    assert g[0, 0] > 0 and np.all(g[0, 2:] == 0.0)
    np.testing.assert_allclose(g, ref_descriptors(atoms, pot), rtol=RTOL, atol=ATOL)


def test_collinear_triplets_lambda_minus_one_and_non_integer_zeta():
    """cos θ = ±1 exactly: (1 + λ cos θ) = 0 must give 0 (also for ζ = 2.5), never NaN."""
    pot = _hand_potential()
    atoms = Atoms("AuCuCu", positions=[[0, 0, 0], [2.0, 0, 0], [4.5, 0, 0]])
    g = pot.descriptors(atoms)
    assert np.all(np.isfinite(g))
    assert g[0, 3] == 0.0  # ζ = 2.5, λ = −1, θ = 0
    assert g[0, 2] > 0.0  # λ = +1: (1 + 1)^1
    np.testing.assert_allclose(g, ref_descriptors(atoms, pot), rtol=RTOL, atol=ATOL)


# --------------------------------------------------------------------------- at the cutoff


@pytest.mark.parametrize("factor", [1.0, 1 + 1e-12, 1 - 1e-12, 1 - 1e-6, 0.999])
def test_pair_at_cutoff(factor):
    """Au–Cu pair at exactly / just beyond / just inside R_c; a third atom near the Cu only."""
    pot = make_potential(["Au", "Cu"], seed=5)
    r = CUTOFF * factor
    atoms = Atoms("AuCuCu", positions=[[0, 0, 0], [r, 0, 0], [r, 2.6, 0.0]])
    g = assert_descriptors_match(pot, atoms)
    nl = build_neighbor_list(atoms, CUTOFF)
    n_nb = np.diff(nl.offsets).tolist()
    if factor >= 1.0:
        assert n_nb == [0, 1, 1]
        assert np.all(g[0] == 0.0)
        # atoms 1 and 2 see only each other: same as without atom 0
        np.testing.assert_allclose(g[[1, 2]], pot.descriptors(atoms[[1, 2]]), rtol=RTOL, atol=0)
    else:
        assert n_nb == [1, 2, 1]
        # the Au neighbour of Cu atom 1 enters the Au radial functions (indices 0..2) with f_c(r)
        if factor <= 1 - 1e-6:
            assert g[1, 2] > 0.0 and g[0, 3:6].max() > 0.0


def test_descriptors_continuous_at_cutoff():
    """Descriptors are continuous as a neighbour crosses R_c (the cutoff function goes to 0)."""
    pot = make_potential(["Au", "Cu"], seed=6)
    base = random_cluster(["Au", "Cu"], 6, 2)
    out = []
    centre = base.positions.mean(axis=0)
    far = base.positions[np.argmax(np.linalg.norm(base.positions - centre, axis=1))]
    direction = (far - centre) / np.linalg.norm(far - centre)
    for r in (CUTOFF * (1 - 1e-7), CUTOFF * (1 + 1e-7)):
        atoms = base + Atoms("Cu", positions=[far + direction * r])
        out.append(pot.descriptors(atoms)[: len(base)])
    np.testing.assert_allclose(out[0], out[1], rtol=0, atol=1e-12)


def test_isolated_atoms_have_zero_descriptors(pot_AuCu):
    atoms = Atoms("AuCu", positions=[[0, 0, 0], [0, 0, CUTOFF]])
    g = pot_AuCu.descriptors(atoms)
    assert g.shape == (2, pot_AuCu.descriptor_sets["Au"].size)
    assert np.all(g == 0.0)


# --------------------------------------------------------------------------- unusual parameter sets


def _unusual_sets(elements):
    """Radial-only / angular-only sets, η = 0, ζ = 64, 65, 100 (pow path), ζ just above an integer."""
    a, b = elements[0], elements[1]
    return {
        a: DescriptorSet(
            (RadialFunction(0.0, 0.0, a), RadialFunction(0.0, 0.0, b), RadialFunction(2.0, 3.0, b)),
            (),
        ),
        b: DescriptorSet(
            (),
            (
                AngularFunction(0.0, 1.0, 1.0, (a, b)),
                AngularFunction(0.0, 1.0, -1.0, (a, b)),
                AngularFunction(0.01, 64.0, 1.0, (b, b)),
                AngularFunction(0.01, 65.0, 1.0, (b, b)),
                AngularFunction(0.01, 100.0, -1.0, (a, a)),
                AngularFunction(0.02, 2.0000001, 1.0, (a, b)),
                AngularFunction(0.02, 2.0, 1.0, (a, b)),
                AngularFunction(0.02, 1.0, 1.0, (a, a)),
            ),
        ),
        **{e: DescriptorSet((RadialFunction(0.1, 2.5, a),), (AngularFunction(0.02, 3.0, -1.0, (e, a)),))
           for e in elements[2:]},
    }


@pytest.mark.parametrize("elements", [["Au", "Cu"], ["Cu", "Au", "Pd"]])
def test_unusual_descriptor_sets(elements):
    sets = _unusual_sets(elements)
    pot = make_potential(elements, descriptor_sets=sets, hidden=(3,), seed=9)
    for _, atoms in structure_zoo(elements, seed=60)[:3]:
        g = assert_descriptors_match(pot, atoms)
        z = np.array(atoms.get_chemical_symbols())
        # η = 0 radial functions count a- and b-neighbours weighted by f_c: every atom has some
        assert np.all(g[z == elements[0], 0] + g[z == elements[0], 1] > 0)


@pytest.mark.parametrize("elements", [["Cu"], ["Pt", "Au", "Cu", "Pd"]])
def test_one_and_four_elements(elements):
    pot = make_potential(elements, seed=10)
    for atoms in (random_cluster(elements, 12, 61), bulk_alloy(elements, 62, repeat=(1, 1, 1))):
        assert_descriptors_match(pot, atoms)


def test_duplicate_functions_rejected_or_computed():
    """A set listing the same function twice: either a PotentialError, or both copies computed."""
    from nanomc import PotentialError

    els = ["Au", "Cu"]
    dup = DescriptorSet(
        (RadialFunction(0.5, 2.0, "Cu"), RadialFunction(0.5, 2.0, "Cu"), RadialFunction(0.5, 2.0, "Au")),
        (AngularFunction(0.02, 1.0, 1.0, ("Au", "Cu")), AngularFunction(0.02, 1.0, 1.0, ("Cu", "Au"))),
    )
    try:
        pot = make_potential(els, descriptor_sets={"Au": dup, "Cu": dup}, hidden=(2,))
    except PotentialError as exc:
        assert "\n" not in str(exc) and "duplicate" in str(exc).lower()
        return
    atoms = random_cluster(els, 10, 63)
    g = assert_descriptors_match(pot, atoms)
    np.testing.assert_array_equal(g[:, 0], g[:, 1])
    np.testing.assert_array_equal(g[:, 3], g[:, 4])
