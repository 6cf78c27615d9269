"""Forces in training: the descriptor tangent kernel, the Jacobian blocks, predicted forces and the
exact gradient of the force term, the training file keys and their errors.

Tolerances. The tangent kernel is compared with central differences (h = 1e-5 Å) of the NumPy
reference descriptors: truncation h²/6·|G'''| with |G'''| ≲ 1e2 per Å³ gives ≲ 2e-9, rounding
ε·|G|/h ≲ 2e-10 for |G| ≲ 10, so 1e-7 leaves a margin of 50. The loss gradient is compared
with central differences (h = 1e-6) of the loss itself, whose third derivatives are O(1): the
same estimate gives ≲ 1e-10 against gradients of O(1), tolerance 1e-7.
"""
from __future__ import annotations

import re

import numpy as np
import pytest
from ase.build import bulk
from ase.calculators.emt import EMT
from ase.cluster import Octahedron
from ase.io import write

import nanomc
from conftest import make_potential, structure_zoo
from nanomc._ext.forces import descriptor_tangents
from nanomc.potential import Network
from nanomc.structure import build_neighbor_list, element_indices
from nanomc.training.features import featurize, fit_e0, fit_scaling, load_features
from nanomc.training.forces import choose_force_atoms
from nanomc.training.model import TRAINABLE_ACTIVATIONS, NetworkStack
from nanomc.training.optimizers import OPTIMIZERS
from nanomc.training.trainer import Split, force_errors_mev, train, train_from_file
from reference import ref_descriptors
from test_forces import POTENTIALS

ELEMENTS = ["Au", "Cu"]


def tangents(pot, atoms, displacement, rows=None):
    z = element_indices(atoms, pot.elements)
    nl = build_neighbor_list(atoms, pot.cutoff)
    rows = np.arange(len(atoms)) if rows is None else rows
    return descriptor_tangents(pot.sf_tables, z, nl.offsets, nl.indices, nl.vectors, rows, displacement)


# --------------------------------------------------------------------------- tangent kernel


@pytest.mark.parametrize("kind", sorted(POTENTIALS))
@pytest.mark.parametrize("name, atoms", structure_zoo(ELEMENTS, seed=30)[:6])
def test_tangents_match_reference_descriptor_differences(kind, name, atoms):
    """dG/dε along a random motion of every atom equals central differences of the NumPy
    reference descriptors, for every descriptor family and boundary condition (self-images too)."""
    pot = POTENTIALS[kind](ELEMENTS)
    d = np.random.default_rng(len(name)).normal(size=(len(atoms), 3))
    h = 1e-5
    plus, minus = atoms.copy(), atoms.copy()
    plus.positions += h * d
    minus.positions -= h * d
    fd = (ref_descriptors(plus, pot) - ref_descriptors(minus, pot)) / (2 * h)
    np.testing.assert_allclose(tangents(pot, atoms, d), fd, rtol=0, atol=1e-7)


@pytest.mark.parametrize("kind", sorted(POTENTIALS))
@pytest.mark.parametrize("name, atoms", structure_zoo(ELEMENTS, seed=40))
def test_tangents_are_the_transpose_of_the_force_kernel(kind, name, atoms):
    """Σ_i dE/dG_i · dG_i/dε = −Σ_j F_j · d_j for any motion d: the two kernels are transposes."""
    from nanomc._ext.network import atomic_energy_gradients

    pot = POTENTIALS[kind](ELEMENTS)
    d = np.random.default_rng(5).normal(size=(len(atoms), 3))
    z = element_indices(atoms, pot.elements)
    _, dedg = atomic_energy_gradients(pot.nn_tables, z, np.ascontiguousarray(pot.descriptors(atoms)))
    along = float(np.sum(dedg * tangents(pot, atoms, d)))
    assert along == pytest.approx(-float(np.sum(pot.forces(atoms) * d)), rel=1e-12, abs=1e-12)


def test_tangents_of_chosen_rows_and_of_still_atoms():
    """Rows are the listed atoms in their order; atoms that do not move relative to their
    neighbours (a rigid translation) have zero tangents."""
    pot = make_potential(ELEMENTS, seed=2)
    atoms = structure_zoo(ELEMENTS, seed=3)[1][1]
    d = np.random.default_rng(0).normal(size=(len(atoms), 3))
    rows = np.array([3, 0, 5], np.int64)
    np.testing.assert_array_equal(tangents(pot, atoms, d, rows), tangents(pot, atoms, d)[rows])
    rigid = np.tile([0.3, -0.2, 0.7], (len(atoms), 1))
    assert np.abs(tangents(pot, atoms, rigid)).max() == 0.0


# --------------------------------------------------------------------------- batches and loss


def labelled(n, seed, rattle=0.05):
    """Au–Cu clusters and periodic cells (one narrower than the cutoff) with EMT energies and forces."""
    rng = np.random.default_rng(seed)
    out = []
    for k in range(n):
        a = 3.9 * rng.uniform(0.97, 1.03)
        atoms = [Octahedron("Au", 3, 0, latticeconstant=a), bulk("Au", "fcc", a=a, cubic=True) * (2, 1, 1),
                 bulk("Au", "fcc", a=a)][k % 3]
        atoms.rattle(rattle, seed=int(rng.integers(1 << 30)))
        atoms.set_chemical_symbols(rng.choice(ELEMENTS, len(atoms)).tolist())
        atoms.calc = EMT()
        atoms.info["energy"] = atoms.get_potential_energy()
        atoms.arrays["forces"] = atoms.get_forces()
        atoms.calc = None
        out.append(atoms)
    return out


def problem(structures, selection=(0, 0), activations=("tanh", "twisted_tanh"), seed=1):
    dset = nanomc.default_descriptor_set(ELEMENTS, 4.5, n_radial=3, angular_etas=[0.05])
    rng = np.random.default_rng(seed)
    nets = {e: Network.random(dset.size, (5, 4), act, rng, twist=0.05) for e, act in zip(ELEMENTS, activations)}
    pot = nanomc.Potential(ELEMENTS, 4.5, {e: dset for e in ELEMENTS}, nets)
    features = featurize(pot, structures, selection)
    index = np.arange(len(structures))
    pot.scaling = fit_scaling(features, index)
    pot.e0 = fit_e0(features, index)
    pot._nn_tables = None
    return pot, features


def test_batch_forces_equal_the_potential_forces():
    """The stored Jacobian blocks contracted with the networks' input gradients give the forces of
    the potential's own force kernel on the chosen atoms, also in a subset batch."""
    structures = labelled(6, 0)
    pot, features = problem(structures, selection=(4, 7))
    stack = NetworkStack(pot.networks)
    theta = stack.pack(pot.networks)
    every = np.concatenate([pot.forces(a) for a in structures])
    assert features.forces.n_forces == sum(min(4, len(a)) for a in structures)
    np.testing.assert_allclose(stack.forces(theta, features.batch(pot)), every[features.forces.atom], rtol=0,
                               atol=1e-12)
    keep = np.array([1, 2, 5])
    sub = features.batch(pot, keep)
    chosen = features.forces.atom[np.isin(features.structure[features.forces.atom], keep)]
    np.testing.assert_allclose(stack.forces(theta, sub), every[chosen], rtol=0, atol=1e-12)
    np.testing.assert_array_equal(sub.forces.reference, np.concatenate([a.arrays["forces"] for a in structures])[chosen])


@pytest.mark.parametrize("activation", TRAINABLE_ACTIVATIONS)
def test_force_loss_gradient_matches_finite_differences(activation):
    """The gradient of energy + force loss equals central differences of the loss, every trainable
    activation (the force term uses their second derivatives)."""
    pot, features = problem(labelled(4, 1), activations=(activation, activation))
    stack = NetworkStack(pot.networks, force_weight=0.7)
    batch = features.batch(pot)
    theta = stack.pack(pot.networks)
    loss, grad = stack.loss_and_gradient(theta, batch)
    energy_only = NetworkStack(pot.networks).loss_and_gradient(theta, batch)[0]
    assert loss > energy_only > 0
    h = 1e-6
    fd = np.array([(stack.loss_and_gradient(theta + h * e, batch)[0] - stack.loss_and_gradient(theta - h * e, batch)[0])
                   / (2 * h) for e in np.eye(len(theta))])
    np.testing.assert_allclose(grad, fd, rtol=0, atol=1e-7)


def test_force_atoms_are_chosen_reproducibly():
    rng = np.random.default_rng(3)
    assert np.array_equal(choose_force_atoms(5, 0, rng), np.arange(5))
    assert np.array_equal(choose_force_atoms(5, 9, rng), np.arange(5))
    picks = [choose_force_atoms(40, 6, np.random.default_rng(s)) for s in range(200)]
    assert all(len(set(p)) == 6 and np.all(np.diff(p) > 0) for p in picks)
    counts = np.bincount(np.concatenate(picks), minlength=40)
    # each atom is picked with probability 6/40: mean 30 of 200 draws, sd √(200·0.15·0.85) ≈ 5
    assert counts.min() > 30 - 5 * 5 and counts.max() < 30 + 5 * 5


@pytest.mark.parametrize("optimizer", ["lbfgs", "adam"])
def test_training_with_forces_lowers_the_held_out_force_error(optimizer):
    """The same networks, data and epochs, with and without the force term: the held-out force
    RMSE is lower with it (a wrong force gradient would not lower it)."""
    structures = labelled(30, 2, rattle=0.1)
    options = {"optimizer": optimizer, "epochs": 60 if optimizer == "lbfgs" else 80, "learning_rate": 0.01,
               "momentum": 0.9, "batch_size": 8, "patience": 0, "print_every": 1000}
    train_idx, test_idx = np.arange(24), np.arange(24, 30)
    rmse = {}
    for weight in (0.0, 0.05):
        pot, features = problem(structures, seed=4)
        result = train(pot, features, Split(train_idx, test_idx), {**options, "force_weight": weight},
                       say=lambda *a: None)
        stack = NetworkStack(result.potential.networks)
        rmse[weight] = force_errors_mev(stack, stack.pack(result.potential.networks), features.batch(pot, test_idx))[0]
    assert rmse[0.05] < 0.8 * rmse[0.0]
    assert np.isfinite(result.errors["test_force_rmse_meV_per_A"])


# --------------------------------------------------------------------------- training files


def write_training(tmp_path, structures, **training):
    write(tmp_path / "ref.extxyz", structures)
    lines = ['[data]', 'files = ["ref.extxyz"]', 'features = "features.h5"', 'test_fraction = 0.2',
             '[descriptors]', 'cutoff = 4.5', 'n_radial = 3', 'angular_etas = [0.05]',
             '[network]', 'hidden = [4]', '[training]', 'epochs = 5', 'print_every = 1']
    lines += [f"{k} = {v!r}".replace("'", '"') for k, v in training.items()]
    (tmp_path / "train.toml").write_text("\n".join(lines) + "\n")
    return tmp_path / "train.toml"


def test_training_file_with_forces(tmp_path):
    """force_weight and force_atoms in a training file: the log and the potential file carry
    force errors, the feature cache holds the Jacobians and is rebuilt when the selection changes."""
    structures = labelled(10, 3)
    path = write_training(tmp_path, structures, force_weight=0.1)
    result = train_from_file(path, quiet=True)
    header = (tmp_path / "training-log.csv").read_text().splitlines()[0]
    assert header.endswith("train_f_rmse,train_f_mae,test_f_rmse,test_f_mae")
    saved = nanomc.Potential.load(tmp_path / "potential.h5").provenance
    assert saved["force_weight"] == 0.1
    assert saved["test_force_rmse_meV_per_A"] == pytest.approx(result.errors["test_force_rmse_meV_per_A"])
    cached = load_features(tmp_path / "features.h5")
    assert cached.forces.n_forces == sum(len(a) for a in structures)
    text = path.read_text().replace('features = "features.h5"', 'features = "features.h5"\nforce_atoms = 2')
    path.write_text(text)
    train_from_file(path, quiet=True)
    assert load_features(tmp_path / "features.h5").forces.n_forces == sum(min(2, len(a)) for a in structures)


def test_named_force_key_is_read(tmp_path):
    structures = labelled(6, 4)
    for a in structures:
        a.arrays["dft_forces"] = a.arrays.pop("forces")
    path = write_training(tmp_path, structures, force_weight=0.1)
    path.write_text(path.read_text().replace("[descriptors]", 'forces_key = "dft_forces"\n[descriptors]'))
    assert np.isfinite(train_from_file(path, quiet=True).errors["train_force_rmse_meV_per_A"])


@pytest.mark.parametrize("training, extra, message", [
    ({"force_weight": 0.1, "optimizer": "lm"}, "", r"train\.toml:\d+: .*Levenberg–Marquardt trains on energies only"),
    ({"force_weight": -1.0}, "", r"train\.toml:\d+: .*`force_weight` must be 0 or more"),
    ({"force_weight": 0.1}, "drop", r"train\.toml:\d+: `force_weight` is set but no reference structure has forces"),
    ({"force_weight": 0.1}, 'forces_key = "nope"', r"ref\.extxyz frame 0: no forces under per-atom key 'nope'"),
    ({"force_weight": 0.1}, "force_atoms = -2", r"train\.toml:\d+: .*`force_atoms` must be 0 \(all\) or more"),
])
def test_force_settings_errors_are_one_line(tmp_path, training, extra, message):
    structures = labelled(4, 5)
    if extra == "drop":
        for a in structures:
            del a.arrays["forces"]
    path = write_training(tmp_path, structures, **training)
    if extra and extra != "drop":
        path.write_text(path.read_text().replace("[descriptors]", extra + "\n[descriptors]"))
    with pytest.raises(Exception) as info:
        train_from_file(path, quiet=True)
    assert re.search(message, str(info.value)), str(info.value)
    assert "\n" not in str(info.value)
    assert not (tmp_path / "potential.h5").exists()
