"""Networks, scaling and E0: atomic energies vs the plain-NumPy reference."""
from __future__ import annotations

import numpy as np
import pytest
from ase import Atoms

from conftest import (
    bulk_alloy,
    element_specific_sets,
    fitted_potential,
    make_potential,
    random_cluster,
    slab,
    small_cell,
    structure_zoo,
)
from nanomc.potential import Layer, Network, Potential
from reference import activation, ref_atomic_energies, ref_atomic_energies_from_descriptors, ref_descriptors

RTOL = 1e-12

EL2 = ["Au", "Cu"]
EL3 = ["Au", "Cu", "Pd"]
ACTIVATIONS = [("linear", 0.0), ("tanh", 0.0), ("sigmoid", 0.0), ("twisted_tanh", 0.0), ("twisted_tanh", 0.37)]


def _fit_structures(elements):
    return [random_cluster(elements, 12, 100), bulk_alloy(elements, 101, repeat=(2, 1, 1)), slab(elements, 102)]


@pytest.mark.parametrize("act, twist", ACTIVATIONS)
@pytest.mark.parametrize("elements", [EL2, EL3], ids=["2el", "3el"])
def test_atomic_energies_vs_reference(elements, act, twist):
    fit = _fit_structures(elements)
    pot = fitted_potential(elements, fit, hidden=(7, 4), activation=act, twist=twist, seed=11)
    # the scaling really was fitted (not the default 0/1) and E0 is nonzero
    for e in elements:
        shift, scale = pot.scaling[e]
        assert np.any(shift != 0.0) and np.any(scale != 1.0)
        assert pot.e0[e] != 0.0
    for lay in pot.networks[elements[0]].layers[:-1]:
        assert lay.activation == act and lay.twist == twist
    for atoms in fit + [random_cluster(elements, 9, 103), small_cell(elements[1])]:
        e = pot.atomic_energies(atoms)
        ref = ref_atomic_energies(atoms, pot)
        assert e.shape == (len(atoms),)
        np.testing.assert_allclose(e, ref, rtol=RTOL, atol=1e-13)
        total = pot.energy(atoms)
        assert isinstance(total, float)
        assert total == float(e.sum())
        np.testing.assert_allclose(total, ref.sum(), rtol=RTOL, atol=1e-12)


def test_fitted_scaling_maps_descriptors_to_unit_interval():
    fit = _fit_structures(EL2)
    pot = make_potential(EL2, seed=4)
    pot.fit_scaling(fit)
    for k, e in enumerate(EL2):
        size = pot.descriptor_sets[e].size
        g = np.concatenate([pot.descriptors(a)[np.array(a.get_chemical_symbols()) == e, :size] for a in fit])
        shift, scale = pot.scaling[e]
        x = (g - shift) * scale
        varying = g.max(axis=0) - g.min(axis=0) > 1e-12
        assert varying.sum() > size // 2
        np.testing.assert_allclose(x[:, varying].min(axis=0), -1.0, atol=1e-12)
        np.testing.assert_allclose(x[:, varying].max(axis=0), 1.0, atol=1e-12)


def test_fit_scaling_invalidates_cached_tables():
    """Energies after fit_scaling use the new scaling even if energies were computed before."""
    fit = _fit_structures(EL2)
    pot = make_potential(EL2, seed=12, e0={"Au": -3.0, "Cu": -2.0})
    atoms = fit[0]
    before = pot.atomic_energies(atoms)
    pot.fit_scaling(fit)
    after = pot.atomic_energies(atoms)
    assert not np.allclose(before, after)
    np.testing.assert_allclose(after, ref_atomic_energies(atoms, pot), rtol=RTOL, atol=1e-13)


def test_e0_is_added_per_element():
    fit = _fit_structures(EL3)
    pot0 = make_potential(EL3, seed=13)
    e0 = {"Au": -0.5, "Cu": -3.25, "Pd": 1.75}
    pot1 = Potential(pot0.elements, pot0.cutoff, pot0.descriptor_sets, pot0.networks, e0=e0)
    atoms = fit[1]
    shift = np.array([e0[s] for s in atoms.get_chemical_symbols()])
    np.testing.assert_allclose(pot1.atomic_energies(atoms), pot0.atomic_energies(atoms) + shift, rtol=0, atol=1e-13)


def test_element_specific_networks_and_sets():
    sets = element_specific_sets(EL3)
    fit = _fit_structures(EL3)
    pot = fitted_potential(EL3, fit, hidden=(5,), activation="sigmoid", seed=14, descriptor_sets=sets)
    assert len({pot.networks[e].n_inputs for e in EL3}) == 3
    for _, atoms in structure_zoo(EL3, seed=40)[:4]:
        np.testing.assert_allclose(pot.atomic_energies(atoms), ref_atomic_energies(atoms, pot), rtol=RTOL, atol=1e-13)


def test_mixed_activations_and_depths_per_element():
    """Different depth, widths and activation per layer and per element; hand-made layers."""
    rng = np.random.default_rng(15)
    fit = _fit_structures(EL2)
    base = make_potential(EL2, seed=15)
    n_in = base.descriptor_sets["Au"].size

    def layer(n_out, n_in, act, twist=0.0):
        return Layer(rng.normal(0, 0.4, (n_out, n_in)), rng.normal(0, 0.2, n_out), act, twist)

    nets = {
        "Au": Network([layer(6, n_in, "tanh"), layer(5, 6, "twisted_tanh", 0.2), layer(4, 5, "sigmoid"),
                       layer(1, 4, "linear")]),
        "Cu": Network([layer(3, n_in, "linear"), layer(1, 3, "linear")]),
    }
    pot = Potential(EL2, base.cutoff, base.descriptor_sets, nets, e0={"Au": -1.0, "Cu": -0.5})
    pot.fit_scaling(fit)
    for atoms in fit:
        np.testing.assert_allclose(pot.atomic_energies(atoms), ref_atomic_energies(atoms, pot), rtol=RTOL, atol=1e-13)


def test_linear_network_is_affine_in_descriptors():
    """With only linear layers, E_i = w·((G_i − shift)·scale) + b + E0 exactly (hand formula)."""
    rng = np.random.default_rng(16)
    base = make_potential(EL2, seed=16)
    n = base.descriptor_sets["Au"].size
    w, b = rng.normal(size=(1, n)), rng.normal(size=1)
    nets = {e: Network([Layer(w, b, "linear")]) for e in EL2}
    shift, scale = rng.normal(size=n), rng.uniform(0.5, 2.0, n)
    pot = Potential(EL2, base.cutoff, base.descriptor_sets, nets, scaling={e: (shift, scale) for e in EL2},
                    e0={"Au": -2.0, "Cu": -1.0})
    atoms = bulk_alloy(EL2, 17, repeat=(1, 1, 1))
    g = pot.descriptors(atoms)
    expected = ((g - shift) * scale) @ w[0] + b[0] + np.array([pot.e0[s] for s in atoms.get_chemical_symbols()])
    np.testing.assert_allclose(pot.atomic_energies(atoms), expected, rtol=RTOL, atol=1e-13)


def test_isolated_atom_energy():
    """An atom with no neighbours has descriptors 0: E = NN((0 − shift)·scale) + E0."""
    fit = _fit_structures(EL2)
    pot = fitted_potential(EL2, fit, activation="tanh", seed=18)
    atoms = Atoms("AuCu", positions=[[0, 0, 0], [0, 0, 50.0]])
    g0 = np.zeros((2, pot.descriptor_sets["Au"].size))
    expected = ref_atomic_energies_from_descriptors(["Au", "Cu"], g0, pot)
    np.testing.assert_allclose(pot.atomic_energies(atoms), expected, rtol=RTOL, atol=1e-13)


def test_reference_activations():
    """The reference activations themselves (guards the reference against typos)."""
    x = np.array([-2.0, -0.3, 0.0, 0.7, 3.0])
    np.testing.assert_array_equal(activation("linear", x), x)
    np.testing.assert_allclose(activation("tanh", x), np.tanh(x), rtol=1e-15)
    np.testing.assert_allclose(activation("sigmoid", np.array([0.0])), [0.5])
    np.testing.assert_allclose(activation("sigmoid", x) + activation("sigmoid", -x), 1.0, rtol=1e-15)
    np.testing.assert_allclose(activation("twisted_tanh", x, 0.1), 1.7159 * np.tanh(2 * x / 3) + 0.1 * x, rtol=1e-15)
    np.testing.assert_allclose(activation("twisted_tanh", np.array([1.5]), 0.0), [1.7159 * np.tanh(1.0)], rtol=1e-15)


def test_descriptors_used_by_energy_match_reference():
    """Sanity: the reference descriptors feed the reference network (both ends checked)."""
    pot = fitted_potential(EL2, _fit_structures(EL2), seed=19)
    atoms = random_cluster(EL2, 10, 104)
    g = ref_descriptors(atoms, pot)
    np.testing.assert_allclose(
        pot.atomic_energies(atoms),
        ref_atomic_energies_from_descriptors(atoms.get_chemical_symbols(), g, pot),
        rtol=RTOL,
        atol=1e-13,
    )
