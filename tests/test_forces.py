"""Analytic forces and virial (ext/forces.pyx, Potential.energy_forces) against finite differences.

Tolerances. A central difference with step h has truncation error h²/6·|E'''| and rounding error
about ε·Σ|E_i|/h (ε = 2.2e-16). For these structures (≤ 14 atoms, |E_i| ≲ 5 eV, |E'''| ≲ 100 eV/Å³)
and h = 1e-5 Å that is ≲ 2e-9 + 2e-9 eV/Å; the analytic forces agree to ~1e-9, so FORCE_TOL =
1e-7 eV/Å leaves a margin of 50 while catching any wrong term (those show up at ≳ 1e-4).
The virial is a derivative with respect to a dimensionless strain, dE/dε ~ Σ|v|·|F| ≲ 100 eV;
with h = 1e-6 the same estimate gives ≲ 1e-8 eV, VIRIAL_TOL = 1e-6 eV.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from ase import Atoms
from ase.io import read

import nanomc
from conftest import (
    ORDERS,
    chebyshev_potential,
    element_specific_sets,
    make_potential,
    mixed_sets,
    random_cluster,
    random_rotation,
    skewed_cell,
    small_triclinic,
    structure_zoo,
)
from nanomc.potential import AngularFunction, CutoffFunction, DescriptorSet, RadialFunction
from nanomc.potential.descriptors import CUTOFF_KINDS, CUTOFF_KINDS_WITHOUT_ALPHA
from nanomc.potential.network import ACTIVATIONS
from reference import ref_atomic_energies, ref_atomic_energies_from_descriptors, ref_n2p2_energy

FORCE_TOL = 1e-7   # eV/Å, see the module docstring
VIRIAL_TOL = 1e-6  # eV
H = 1e-5           # Å
DATA = Path(__file__).parent / "data" / "mlearn"
BOHR, HARTREE = 1 / 1.8897261328, 1 / 0.0367493254


# --------------------------------------------------------------------------- helpers


def fd_forces(energy, atoms: Atoms, h: float = H, coords=None) -> np.ndarray:
    """−dE/dr by central differences of energy(atoms) for (atom, axis) in coords (default all)."""
    coords = [(i, x) for i in range(len(atoms)) for x in range(3)] if coords is None else coords
    out = np.zeros((len(coords),))
    for n, (i, x) in enumerate(coords):
        moved = atoms.copy()
        moved.positions[i, x] += h
        plus = energy(moved)
        moved.positions[i, x] -= 2 * h
        out[n] = -(plus - energy(moved)) / (2 * h)
    return out


def deformed(atoms: Atoms, f: np.ndarray) -> Atoms:
    """Positions and cell mapped by the deformation gradient f: r -> f r."""
    out = atoms.copy()
    out.positions = atoms.positions @ f.T
    out.cell = atoms.cell.array @ f.T
    return out


def fd_virial(energy, atoms: Atoms, h: float = 1e-6) -> np.ndarray:
    """W_αβ = dE/dε_αβ under r -> (1 + ε) r of positions and cell, by central differences."""
    w = np.zeros((3, 3))
    for a in range(3):
        for b in range(3):
            e = np.zeros((3, 3))
            e[a, b] = h
            w[a, b] = (energy(deformed(atoms, np.eye(3) + e)) - energy(deformed(atoms, np.eye(3) - e))) / (2 * h)
    return w


def assert_forces_match_fd(pot, atoms):
    ef = pot.energy_forces(atoms)
    np.testing.assert_allclose(ef.forces.reshape(-1), fd_forces(pot.energy, atoms), rtol=0, atol=FORCE_TOL)
    return ef


def family_set(elements, kinds=CUTOFF_KINDS, alpha=0.3, radius0=4.0) -> DescriptorSet:
    """Every cutoff kind (own radius, α > 0 where the kind has it), R_s ≠ 0, narrow and wide,
    integral and non-integral ζ, both λ, every element and element pair."""
    radial, angular = [], []
    for k, kind in enumerate(kinds):
        cut = CutoffFunction(kind, radius0 + 0.25 * k, 0.0 if kind in CUTOFF_KINDS_WITHOUT_ALPHA else alpha)
        for m, e in enumerate(elements):
            radial.append(RadialFunction(0.3 + 0.2 * m, 0.4 * k + 0.7 * m, e, cut))
        for m, pair in enumerate([(a, b) for a in elements for b in elements if a <= b]):
            angular.append(AngularFunction(0.02 * (k + 1), 1.0 + (k + m) % 3 + 0.5 * (m % 2), (-1.0) ** (k + m),
                                           pair, rs=0.3 * k, variant=("narrow", "wide")[(k + m) % 2], cutoff=cut))
    return DescriptorSet(tuple(radial), tuple(angular))


def family_potential(elements, seed=3, activation="tanh", **kw) -> nanomc.Potential:
    dset = family_set(elements, **kw)
    return make_potential(elements, descriptor_sets={e: dset for e in elements}, seed=seed, activation=activation)


POTENTIALS = {
    "default-G2G4": lambda els: make_potential(els, seed=7),
    "per-element-sets": lambda els: make_potential(els, seed=5, descriptor_sets=element_specific_sets(els)),
    "family": lambda els: family_potential(els),
    # aenet's Chebyshev descriptor with type spins, the radial cutoff longer and shorter
    "chebyshev": lambda els: chebyshev_potential(els, ORDERS[0], seed=2),
    "chebyshev-long-angular": lambda els: chebyshev_potential(els, ORDERS[1], seed=4),
    # plain, weighted and Chebyshev functions sharing shapes (several map layers), permuted
    "weighted-mixed": lambda els: make_potential(els, cutoff=5.5, seed=8, descriptor_sets=mixed_sets(els)),
}


# --------------------------------------------------------------------------- network gradient


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_network_gradient_every_activation(activation):
    """dE/dG (through scaling and every layer) equals differences of the energy kernel and of the
    NumPy reference network; the energies are those of the energy-only kernel."""
    from nanomc._ext.network import atomic_energies, atomic_energy_gradients

    els = ["Au", "Cu"]
    pot = make_potential(els, seed=11, activation=activation, twist=0.3 if activation == "twisted_tanh" else 0.0,
                         e0={"Au": -1.0, "Cu": -2.0})
    rng = np.random.default_rng(1)
    width = pot.descriptor_sets["Au"].size
    pot.scaling = {e: (rng.normal(0, 0.3, width), rng.uniform(0.5, 2.0, width)) for e in els}
    pot = nanomc.Potential(pot.elements, pot.cutoff, pot.descriptor_sets, pot.networks, pot.scaling, pot.e0)
    z = np.array([0, 1, 1, 0], np.int64)
    g = rng.uniform(-1.0, 1.5, (4, width))
    energies, grad = atomic_energy_gradients(pot.nn_tables, z, g)
    assert np.array_equal(energies, atomic_energies(pot.nn_tables, z, g))
    h = 1e-6
    symbols = [els[k] for k in z]
    for k in range(width):
        step = np.zeros_like(g)
        step[:, k] = h
        fd = (atomic_energies(pot.nn_tables, z, g + step) - atomic_energies(pot.nn_tables, z, g - step)) / (2 * h)
        ref = (ref_atomic_energies_from_descriptors(symbols, g + step, pot)
               - ref_atomic_energies_from_descriptors(symbols, g - step, pot)) / (2 * h)
        # h = 1e-6: rounding ε·|E|/h ~ 2e-10·|E| (|E| up to ~100 eV with exp), truncation ~1e-12
        tol = 1e-8 * max(1.0, np.abs(energies).max())
        np.testing.assert_allclose(grad[:, k], fd, rtol=0, atol=tol)
        np.testing.assert_allclose(grad[:, k], ref, rtol=0, atol=tol)


# --------------------------------------------------------------------------- forces


@pytest.mark.parametrize("kind", sorted(POTENTIALS))
@pytest.mark.parametrize("name, atoms", structure_zoo(["Au", "Cu"], seed=20))
def test_forces_match_finite_differences(kind, name, atoms):
    """Every boundary condition (cluster, bulk, skewed and tiny cells with self-images, slab,
    mixed pbc) for nanomc's G2/G4, per-element sets and the whole parameterised family."""
    pot = POTENTIALS[kind](["Au", "Cu"])
    ef = assert_forces_match_fd(pot, atoms)
    assert ef.energy == pytest.approx(pot.energy(atoms), abs=1e-12)
    assert np.array_equal(ef.energies, pot.atomic_energies(atoms))


def test_both_angular_paths_are_tested():
    """The G2/G4 set runs the ang_simple fast path, the family set the general one (for the
    potential's two elements; the third element index is the vacancy, without functions)."""
    assert POTENTIALS["default-G2G4"](["Au", "Cu"]).sf_tables["ang_simple"][:2].all()
    assert not POTENTIALS["family"](["Au", "Cu"]).sf_tables["ang_simple"][:2].any()


@pytest.mark.parametrize("alpha", [0.0, 0.45])
@pytest.mark.parametrize("kind", CUTOFF_KINDS)
def test_forces_every_cutoff_kind(kind, alpha):
    """One cutoff kind at a time (so a wrong slope is named), radial, narrow and wide."""
    els = ["Au", "Cu", "Pd"]
    pot = family_potential(els, seed=4, kinds=[kind], alpha=alpha, radius0=5.0)
    assert_forces_match_fd(pot, random_cluster(els, 10, seed=3, density=0.08))


@pytest.mark.parametrize("activation", sorted(set(ACTIVATIONS) - {"linear"}))
def test_forces_every_activation(activation):
    els = ["Au", "Cu", "Pd"]
    pot = family_potential(els, seed=6, activation=activation)
    assert_forces_match_fd(pot, skewed_cell(els, seed=2))


@pytest.mark.parametrize("kind", ["cos", "exp", "poly2", "tanh"])
def test_atoms_near_the_cutoff(kind):
    """A pair and a triplet side 1e-4 Å inside R_c: smooth forces, equal to the differences;
    just outside, no force at all."""
    rc = 4.5
    cut = CutoffFunction(kind, None, 0.2 if kind not in CUTOFF_KINDS_WITHOUT_ALPHA else 0.0)
    dset = DescriptorSet((RadialFunction(0.1, 1.0, "Au", cut),),
                         (AngularFunction(0.01, 2.0, 1.0, ("Au", "Au"), cutoff=cut),
                          AngularFunction(0.01, 1.0, -1.0, ("Au", "Au"), rs=0.5, variant="wide", cutoff=cut)))
    pot = make_potential(["Au"], cutoff=rc, descriptor_sets={"Au": dset}, seed=2)
    for d in (rc - 1e-4, rc - 3e-3):
        # atoms 0-1 at distance d; atom 2 makes a triplet with side R_12 = d
        atoms = Atoms("Au3", positions=[[0, 0, 0], [d, 0, 0], [0.6 * d, 0.8 * d, 0]])
        assert_forces_match_fd(pot, atoms)
    far = Atoms("Au2", positions=[[0, 0, 0], [rc + 1e-4, 0, 0]])
    assert np.array_equal(pot.forces(far), np.zeros((2, 3)))


@pytest.mark.parametrize("name, atoms", [
    ("cluster", random_cluster(["Au", "Cu", "Pd"], 9, seed=4)),
    ("skewed", skewed_cell(["Au", "Cu", "Pd"], seed=5)),
    ("small_triclinic", small_triclinic(["Au", "Cu", "Pd"], seed=6)),
])
def test_forces_match_reference_energy_differences(name, atoms):
    """Against differences of the plain-NumPy reference energy (tests/reference.py), three
    elements, per-element sets, the family set, Chebyshev and weighted sets; a few coordinates
    (the reference is slow)."""
    els = ["Au", "Cu", "Pd"]
    rng = np.random.default_rng(9)
    coords = [(int(rng.integers(len(atoms))), int(rng.integers(3))) for _ in range(3)]
    for pot in (make_potential(els, seed=8, descriptor_sets=element_specific_sets(els)), family_potential(els),
                chebyshev_potential(els, ORDERS[1], seed=3),
                make_potential(els, cutoff=5.5, seed=8, descriptor_sets=mixed_sets(els))):
        forces = pot.forces(atoms)
        fd = fd_forces(lambda a: float(ref_atomic_energies(a, pot).sum()), atoms, coords=coords)
        np.testing.assert_allclose([forces[i, x] for i, x in coords], fd, rtol=0, atol=FORCE_TOL)


# --------------------------------------------------------------------------- virial and stress


@pytest.mark.parametrize("kind", sorted(POTENTIALS))
@pytest.mark.parametrize("name, atoms", structure_zoo(["Au", "Cu"], seed=30))
def test_virial_matches_strain_derivative(kind, name, atoms):
    """W_αβ = dE/dε_αβ for all nine components (positions and cell deformed together; for
    non-periodic directions the same map), and W is symmetric."""
    pot = POTENTIALS[kind](["Au", "Cu"])
    w = pot.energy_forces(atoms).virial
    np.testing.assert_allclose(w, fd_virial(pot.energy, atoms), rtol=0, atol=VIRIAL_TOL)
    np.testing.assert_allclose(w, w.T, rtol=0, atol=1e-10)


def test_stress_is_virial_over_volume_in_voigt_order():
    pot = POTENTIALS["family"](["Au", "Cu"])
    atoms = skewed_cell(["Au", "Cu"], seed=8)
    ef = pot.energy_forces(atoms)
    w = ef.virial / atoms.get_volume()
    assert np.allclose(ef.stress(atoms.get_volume()), [w[0, 0], w[1, 1], w[2, 2], w[1, 2], w[0, 2], w[0, 1]])


# --------------------------------------------------------------------------- invariances


@pytest.mark.parametrize("name, atoms", structure_zoo(["Au", "Cu"], seed=40))
def test_forces_sum_to_zero(name, atoms):
    """Translation invariance: Σ F = 0 for clusters and periodic cells alike."""
    f = POTENTIALS["family"](["Au", "Cu"]).forces(atoms)
    assert np.abs(f.sum(axis=0)).max() < 1e-12 * max(1, len(atoms))


def test_cluster_has_no_torque_and_forces_rotate_and_translate():
    pot = POTENTIALS["family"](["Au", "Cu"])
    atoms = random_cluster(["Au", "Cu"], 14, seed=12)
    f = pot.forces(atoms)
    torque = np.cross(atoms.positions, f).sum(axis=0)
    assert np.abs(torque).max() < 1e-12 * np.abs(f).max() * np.abs(atoms.positions).max() * len(atoms)
    rot = random_rotation(3)
    turned = atoms.copy()
    turned.positions = atoms.positions @ rot.T + [3.0, -1.0, 7.5]
    np.testing.assert_allclose(pot.forces(turned), f @ rot.T, rtol=0, atol=1e-12)


def test_periodic_forces_rotate_with_the_cell():
    pot = POTENTIALS["family"](["Au", "Cu"])
    atoms = skewed_cell(["Au", "Cu"], seed=13)
    rot = random_rotation(5)
    turned = deformed(atoms, rot)
    ef, ef_turned = pot.energy_forces(atoms), pot.energy_forces(turned)
    np.testing.assert_allclose(ef_turned.forces, ef.forces @ rot.T, rtol=0, atol=1e-12)
    np.testing.assert_allclose(ef_turned.virial, rot @ ef.virial @ rot.T, rtol=0, atol=1e-11)


# --------------------------------------------------------------------------- n2p2


@pytest.fixture(scope="module")
def ni():
    return nanomc.Potential.from_n2p2(DATA / "Ni-nnp", length_unit=BOHR, energy_unit=HARTREE)


def plane_spacing(atoms: Atoms) -> float:
    """Smallest distance between lattice planes of the cell (Å)."""
    return float(1.0 / np.linalg.norm(np.linalg.inv(atoms.cell.array), axis=0).max())


def test_n2p2_forces(ni):
    """n2p2's own forces (nnp-predict, in Ni-test.extxyz) to 1e-5 eV/Å on every structure whose
    cell is wider than the cutoff (29 of 31; measured agreement ≤ 3e-7 eV/Å)."""
    frames = read(DATA / "Ni-test.extxyz", ":")
    wide = [a for a in frames if plane_spacing(a) > ni.cutoff]
    assert len(wide) == 29
    for atoms in wide:
        assert np.abs(ni.forces(atoms) - atoms.arrays["n2p2_forces"]).max() < 1e-5


def test_n2p2_small_cells_follow_the_energy(ni):
    """The two surface slabs whose cell is 2.48 Å wide along one direction (less than the 3.9 Å
    cutoff: atoms see their own periodic images). Their stored `n2p2_forces` come from an n2p2
    build whose Mode::calculateForces skips neighbours that are images of the central atom (a bug
    fixed in n2p2 v2.1.2 and back in its master after 61daa0df); n2p2 v2.3.0's nnp-predict
    (Ni-test-narrow-n2p2-v2.3.0.json) gives the right ones. nanomc matches v2.3.0, and its forces
    are the derivative of the energy: they equal differences of the independent NumPy n2p2
    reference."""
    frames = read(DATA / "Ni-test.extxyz", ":")
    narrow = [k for k, a in enumerate(frames) if plane_spacing(a) <= ni.cutoff]
    assert narrow == [4, 5]
    v230 = json.loads((DATA / "Ni-test-narrow-n2p2-v2.3.0.json").read_text())["forces"]
    for k in narrow:
        atoms = frames[k]
        assert abs(ni.energy(atoms) - atoms.info["n2p2_energy"]) / len(atoms) < 1e-9
        forces = ni.forces(atoms)
        # v2.3.0 prints 9 significant digits: ≲ 1e-9 eV/Å here
        assert np.abs(forces - np.array(v230[str(k)])).max() < 1e-7
        coords = [(0, 0), (0, 1), (0, 2), (len(atoms) - 1, 2)]
        fd = fd_forces(lambda a: ref_n2p2_energy(DATA / "Ni-nnp", a, BOHR, HARTREE), atoms, h=1e-4, coords=coords)
        # h = 1e-4 Å: the reference's energy is a sum of ~20 values of ~100 eV (rounding ~1e-13/1e-4)
        np.testing.assert_allclose([forces[i, x] for i, x in coords], fd, rtol=0, atol=1e-7)
        assert np.abs(forces - atoms.arrays["n2p2_forces"]).max() > 0.1
