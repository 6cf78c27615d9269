"""Potential: invariances, file round trip, input validation with one-line errors."""
from __future__ import annotations

import numpy as np
import pytest
from ase import Atoms

import nanomc
from conftest import (
    CUTOFF,
    bulk_alloy,
    element_specific_sets,
    fitted_potential,
    make_potential,
    random_cluster,
    random_rotation,
    skewed_cell,
    small_descriptor_set,
    small_triclinic,
    structure_zoo,
)
from nanomc import PotentialFileError, StructureError
from nanomc.potential import DescriptorSet
from nanomc.structure import build_neighbor_list

EL = ["Au", "Cu", "Pd"]
INV_TOL = dict(rtol=1e-10, atol=1e-10)


@pytest.fixture(scope="module")
def pot():
    fit = [random_cluster(EL, 12, 200), bulk_alloy(EL, 201, repeat=(2, 1, 1))]
    return fitted_potential(EL, fit, hidden=(6, 4), activation="twisted_tanh", twist=0.1, seed=21)


@pytest.fixture(scope="module")
def pot_specific():
    fit = [random_cluster(EL, 12, 202), bulk_alloy(EL, 203, repeat=(2, 1, 1))]
    return fitted_potential(EL, fit, hidden=(5,), activation="tanh", seed=22, descriptor_sets=element_specific_sets(EL))


ZOO = structure_zoo(EL, seed=50)
PERIODIC = [(n, a) for n, a in ZOO if a.pbc.any()]


# --------------------------------------------------------------------------- invariances


@pytest.mark.parametrize("name, atoms", ZOO, ids=[n for n, _ in ZOO])
def test_rotation_invariance(pot, name, atoms):
    e = pot.atomic_energies(atoms)
    for seed in (1, 2):
        rot = random_rotation(seed)
        assert np.allclose(rot @ rot.T, np.eye(3)) and np.isclose(np.linalg.det(rot), 1.0)
        rotated = atoms.copy()
        rotated.positions = atoms.positions @ rot.T
        rotated.cell = atoms.cell.array @ rot.T
        before = np.vstack([atoms.positions, atoms.cell.array])
        assert not np.allclose(np.vstack([rotated.positions, rotated.cell.array]), before)
        np.testing.assert_allclose(pot.atomic_energies(rotated), e, **INV_TOL)


@pytest.mark.parametrize("name, atoms", ZOO, ids=[n for n, _ in ZOO])
def test_translation_invariance(pot, name, atoms):
    e = pot.atomic_energies(atoms)
    moved = atoms.copy()
    moved.positions += np.array([13.7, -4.21, 0.93])
    np.testing.assert_allclose(pot.atomic_energies(moved), e, **INV_TOL)


@pytest.mark.parametrize("name, atoms", ZOO, ids=[n for n, _ in ZOO])
def test_permutation_invariance(pot_specific, name, atoms):
    e = pot_specific.atomic_energies(atoms)
    perm = np.random.default_rng(5).permutation(len(atoms))
    permuted = atoms[perm]
    np.testing.assert_allclose(pot_specific.atomic_energies(permuted), e[perm], **INV_TOL)
    np.testing.assert_allclose(pot_specific.energy(permuted), pot_specific.energy(atoms), **INV_TOL)


def test_improper_rotation_invariance(pot):
    """Symmetry functions only see distances and angles: a mirror image has the same energies."""
    atoms = random_cluster(EL, 15, 204)
    mirrored = atoms.copy()
    mirrored.positions[:, 0] *= -1.0
    np.testing.assert_allclose(pot.atomic_energies(mirrored), pot.atomic_energies(atoms), **INV_TOL)


@pytest.mark.parametrize("name, atoms", PERIODIC, ids=[n for n, _ in PERIODIC])
def test_periodic_wrap_and_lattice_shifts(pot, name, atoms):
    """Wrapping positions, moving atoms by lattice vectors and translating the whole cell change nothing."""
    e = pot.atomic_energies(atoms)
    wrapped = atoms.copy()
    wrapped.wrap()
    np.testing.assert_allclose(pot.atomic_energies(wrapped), e, **INV_TOL)
    rng = np.random.default_rng(6)
    shifted = atoms.copy()
    n = rng.integers(-3, 4, (len(atoms), 3)) * atoms.pbc  # lattice vectors along periodic directions only
    shifted.positions += n @ atoms.cell.array
    np.testing.assert_allclose(pot.atomic_energies(shifted), e, **INV_TOL)
    moved = atoms.copy()
    moved.positions += rng.normal(0, 3.0, 3)
    moved.wrap()
    np.testing.assert_allclose(pot.atomic_energies(moved), e, **INV_TOL)


def test_supercell_energy_is_extensive(pot):
    for atoms in (bulk_alloy(EL, 205, repeat=(1, 1, 1)), skewed_cell(EL, 206), small_triclinic(EL, 207)):
        e = pot.atomic_energies(atoms)
        sup = atoms.repeat((2, 3, 1))
        np.testing.assert_allclose(pot.atomic_energies(sup), np.tile(e, 6), **INV_TOL)
        np.testing.assert_allclose(pot.energy(sup), 6 * pot.energy(atoms), **INV_TOL)


def test_equivalent_cell_choice(pot):
    """The same crystal described by a different (sheared) set of cell vectors."""
    atoms = bulk_alloy(EL, 208, repeat=(1, 1, 1))
    other = atoms.copy()
    a1, a2, a3 = atoms.cell.array
    other.set_cell([a1, a2 + a1, a3 - 2 * a2 + a1], scale_atoms=False)  # unimodular change of basis
    np.testing.assert_allclose(pot.atomic_energies(other), pot.atomic_energies(atoms), **INV_TOL)


def test_energy_changes_with_structure(pot):
    """Not trivially invariant: a swap of two unlike atoms changes the energy."""
    atoms = random_cluster(EL, 12, 209)
    sym = atoms.get_chemical_symbols()
    i = 0
    j = next(k for k, s in enumerate(sym) if s != sym[0])
    sym[i], sym[j] = sym[j], sym[i]
    swapped = atoms.copy()
    swapped.set_chemical_symbols(sym)
    assert abs(pot.energy(swapped) - pot.energy(atoms)) > 1e-6


# --------------------------------------------------------------------------- files


@pytest.mark.parametrize("which", ["pot", "pot_specific"])
def test_save_load_round_trip(request, tmp_path, which):
    p = request.getfixturevalue(which)
    path = tmp_path / "pot.h5"
    p.save(path)
    q = nanomc.Potential.load(path)
    assert q.elements == p.elements and q.cutoff == p.cutoff
    assert q.content_hash() == p.content_hash()
    for e in p.elements:
        assert q.descriptor_sets[e] == p.descriptor_sets[e]
        assert q.e0[e] == p.e0[e]
        for a, b in zip(q.scaling[e], p.scaling[e]):
            np.testing.assert_array_equal(a, b)
        assert len(q.networks[e].layers) == len(p.networks[e].layers)
        for la, lb in zip(q.networks[e].layers, p.networks[e].layers):
            np.testing.assert_array_equal(la.weights, lb.weights)
            np.testing.assert_array_equal(la.bias, lb.bias)
            assert (la.activation, la.twist) == (lb.activation, lb.twist)
    for _, atoms in ZOO:
        assert np.array_equal(q.atomic_energies(atoms), p.atomic_energies(atoms))
        assert q.energy(atoms) == p.energy(atoms)
    # saving the loaded potential again gives the same content
    q.save(tmp_path / "again.h5")
    assert nanomc.Potential.load(tmp_path / "again.h5").content_hash() == p.content_hash()


@pytest.mark.parametrize("part", ["radial", "angular"])
def test_round_trip_of_a_set_with_one_kind_only(tmp_path, part):
    """A descriptor set without angular (or without radial) functions survives save/load."""
    full = small_descriptor_set(["Au", "Cu"])
    dset = DescriptorSet(full.radial, ()) if part == "radial" else DescriptorSet((), full.angular)
    p = make_potential(["Au", "Cu"], descriptor_sets={"Au": dset, "Cu": dset}, seed=2)
    p.save(tmp_path / "pot.h5")
    q = nanomc.Potential.load(tmp_path / "pot.h5")
    assert q.content_hash() == p.content_hash() and q.descriptor_sets["Cu"] == dset
    atoms = bulk_alloy(["Au", "Cu"], seed=4)
    assert q.energy(atoms) == p.energy(atoms)


def test_round_trip_provenance_and_many_layers(tmp_path):
    base = make_potential(["Cu", "Au"], hidden=(3,) * 11, seed=23)  # 12 layers: layer_10, layer_11 sort after 1
    p = nanomc.Potential(base.elements, base.cutoff, base.descriptor_sets, base.networks,
                         e0={"Cu": -1.25}, provenance={"training_set": "abc123", "rmse_meV": 4.5, "n": 7})
    p.save(tmp_path / "p.h5")
    q = nanomc.Potential.load(tmp_path / "p.h5")
    assert q.elements == ("Cu", "Au")  # element order is preserved, not sorted
    assert q.provenance == {"training_set": "abc123", "rmse_meV": 4.5, "n": 7}
    assert q.content_hash() == p.content_hash()
    atoms = random_cluster(["Au", "Cu"], 10, 210)
    assert q.energy(atoms) == p.energy(atoms)


def test_content_hash_sensitive(pot):
    h = pot.content_hash()
    assert len(h) == 64 and int(h, 16) >= 0
    e0 = dict(pot.e0)
    e0["Au"] += 1e-9
    other = nanomc.Potential(pot.elements, pot.cutoff, pot.descriptor_sets, pot.networks, pot.scaling, e0)
    assert other.content_hash() != h
    same = nanomc.Potential(pot.elements, pot.cutoff, pot.descriptor_sets, pot.networks, pot.scaling, pot.e0)
    assert same.content_hash() == h


def _one_line(exc_info, *words):
    msg = str(exc_info.value)
    assert msg and "\n" not in msg, f"message is not one line: {msg!r}"
    low = msg.lower()
    for w in words:
        assert w.lower() in low, f"{w!r} not in {msg!r}"
    return msg


def test_missing_file(tmp_path):
    with pytest.raises(PotentialFileError) as exc:
        nanomc.Potential.load(tmp_path / "nope.h5")
    _one_line(exc, "nope.h5", "not found")


def test_truncated_file(tmp_path, pot):
    path = tmp_path / "trunc.h5"
    pot.save(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(PotentialFileError) as exc:
        nanomc.Potential.load(path)
    _one_line(exc, "trunc.h5")
    assert any(w in str(exc.value).lower() for w in ("truncated", "damaged", "incomplete"))


def test_foreign_hdf5_file(tmp_path):
    import h5py

    path = tmp_path / "foreign.h5"
    with h5py.File(path, "w") as f:
        f["data"] = np.arange(10.0)
        f.attrs["creator"] = "someone else"
    with pytest.raises(PotentialFileError) as exc:
        nanomc.Potential.load(path)
    _one_line(exc, "foreign.h5", "not a nanomc potential")


def test_text_file(tmp_path):
    path = tmp_path / "pot.txt"
    path.write_text("this is not\nan HDF5 file\n")
    with pytest.raises(PotentialFileError) as exc:
        nanomc.Potential.load(path)
    _one_line(exc, "pot.txt", "HDF5")


def test_wrong_format_version(tmp_path, pot):
    import h5py

    path = tmp_path / "v99.h5"
    pot.save(path)
    with h5py.File(path, "r+") as f:
        f.attrs["format_version"] = 99
    with pytest.raises(PotentialFileError) as exc:
        nanomc.Potential.load(path)
    _one_line(exc, "v99.h5", "version", "99")


def test_damaged_content(tmp_path, pot):
    """A nanomc file with a deleted dataset / inconsistent shapes: PotentialFileError, one line."""
    import h5py

    path = tmp_path / "damaged.h5"
    pot.save(path)
    with h5py.File(path, "r+") as f:
        del f["Cu"]["layer_0"]["weights"]
    with pytest.raises(PotentialFileError) as exc:
        nanomc.Potential.load(path)
    _one_line(exc, "damaged.h5")
    pot.save(path)
    with h5py.File(path, "r+") as f:
        del f["Au"]["scale_factor"]
        f["Au"]["scale_factor"] = np.ones(3)
    with pytest.raises(PotentialFileError) as exc:
        nanomc.Potential.load(path)
    _one_line(exc, "damaged.h5", "scaling")


def test_save_leaves_no_temporary_file(tmp_path, pot):
    pot.save(tmp_path / "p.h5")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.h5"]


# --------------------------------------------------------------------------- bad structures


def test_unknown_element(pot):
    atoms = random_cluster(EL, 6, 211)
    atoms.symbols[3] = "Pt"
    for call in (pot.energy, pot.atomic_energies, pot.descriptors):
        with pytest.raises(StructureError) as exc:
            call(atoms)
        _one_line(exc, "Pt", "not in the potential")


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_positions(pot, bad):
    atoms = random_cluster(EL, 6, 212)
    atoms.positions[2, 1] = bad
    with pytest.raises(StructureError) as exc:
        pot.energy(atoms)
    _one_line(exc, "atom 2", "non-finite")
    with pytest.raises(StructureError):
        build_neighbor_list(atoms, CUTOFF)


def test_non_finite_positions_periodic(pot):
    atoms = bulk_alloy(EL, 213, repeat=(1, 1, 1))
    atoms.positions[1] = [np.nan, np.nan, np.nan]
    with pytest.raises(StructureError) as exc:
        pot.energy(atoms)
    _one_line(exc, "non-finite")


def test_atoms_too_close(pot):
    atoms = random_cluster(EL, 6, 214)
    atoms.positions[4] = atoms.positions[1] + [0.3, 0.1, 0.0]
    with pytest.raises(StructureError) as exc:
        pot.energy(atoms)
    msg = _one_line(exc, "0.5", "apart")
    assert "1" in msg and "4" in msg


def test_atom_too_close_to_its_periodic_image(pot):
    atoms = Atoms("Cu2", positions=[[0.1, 0.1, 0.1], [4.0, 0.1, 0.1]], cell=[4.2, 5.0, 5.0], pbc=True)
    with pytest.raises(StructureError) as exc:
        pot.energy(atoms)
    _one_line(exc, "apart")


def test_coincident_atoms(pot):
    atoms = random_cluster(EL, 5, 215)
    atoms.positions[3] = atoms.positions[0]
    with pytest.raises(StructureError) as exc:
        pot.energy(atoms)
    _one_line(exc, "0.000", "apart")


def test_bad_cells(pot):
    atoms = bulk_alloy(EL, 216, repeat=(1, 1, 1))
    zero = atoms.copy()
    zero.cell[1] = [0.0, 0.0, 0.0]
    with pytest.raises(StructureError) as exc:
        pot.energy(zero)
    _one_line(exc, "periodic", "cell vector 1")
    flat = atoms.copy()
    flat.cell[2] = flat.cell[0] + flat.cell[1]
    with pytest.raises(StructureError) as exc:
        pot.energy(flat)
    _one_line(exc, "linearly dependent")


def test_errors_are_nanomc_errors():
    assert issubclass(StructureError, nanomc.NanomcError) and issubclass(StructureError, ValueError)
    assert issubclass(PotentialFileError, nanomc.NanomcError) and issubclass(PotentialFileError, OSError)


# --------------------------------------------------------------------------- construction


def test_default_descriptor_set_size():
    dset = nanomc.default_descriptor_set(["Au", "Cu"], 6.5)
    assert dset.size >= 60
    assert dset.size == 64
    dset.validate(["Au", "Cu"])
    p = nanomc.Potential.random(["Au", "Cu"], 6.5, hidden=(4,), seed=1)
    for e in ("Au", "Cu"):
        assert p.descriptor_sets[e].size >= 60
        assert p.networks[e].sizes == [p.descriptor_sets[e].size, 4, 1]
    # per neighbour element radial functions, per pair angular functions
    assert {f.element for f in dset.radial} == {"Au", "Cu"}
    assert {f.elements for f in dset.angular} == {("Au", "Au"), ("Au", "Cu"), ("Cu", "Cu")}
    assert all(0 < f.rs < 6.5 for f in dset.radial)


def test_random_potential_is_reproducible():
    atoms = random_cluster(["Au", "Cu"], 8, 217)
    dset = nanomc.default_descriptor_set(["Au", "Cu"], 6.5, n_radial=3, angular_etas=[0.01, 0.1])
    a = nanomc.Potential.random(["Au", "Cu"], 6.5, hidden=(4, 3), activation="sigmoid", seed=3, descriptor_set=dset)
    b = nanomc.Potential.random(["Au", "Cu"], 6.5, hidden=(4, 3), activation="sigmoid", seed=3, descriptor_set=dset)
    c = nanomc.Potential.random(["Au", "Cu"], 6.5, hidden=(4, 3), activation="sigmoid", seed=4, descriptor_set=dset)
    assert a.content_hash() == b.content_hash() != c.content_hash()
    assert a.energy(atoms) == b.energy(atoms) != c.energy(atoms)


def test_a_widened_network_gives_the_same_energies_and_its_new_units_train():
    """Network.widened: per-atom energies and forces unchanged to rounding, the new units are not
    idle (their weights change the energy), and narrowing or another depth is refused."""
    atoms = random_cluster(["Au", "Cu"], 8, 219)
    p = nanomc.Potential.random(["Au", "Cu"], 6.5, hidden=(4, 3), seed=5)
    rng = np.random.default_rng(1)
    networks = {e: net.widened([7, 6], rng) for e, net in p.networks.items()}
    wide = nanomc.Potential(p.elements, p.cutoff, p.descriptor_sets, networks, p.scaling, p.e0)
    assert wide.networks["Au"].sizes == [p.descriptor_sets["Au"].size, 7, 6, 1]
    a, b = p.energy_forces(atoms), wide.energy_forces(atoms)
    np.testing.assert_allclose(b.energies, a.energies, rtol=0, atol=1e-12)
    np.testing.assert_allclose(b.forces, a.forces, rtol=0, atol=1e-12)
    networks["Au"].layers[2].weights[0, 5] = 1.0  # output weight of a new unit
    nudged = nanomc.Potential(p.elements, p.cutoff, p.descriptor_sets, networks, p.scaling, p.e0)
    assert abs(nudged.energy(atoms) - p.energy(atoms)) > 1e-3
    for hidden in ([3, 3], [7]):
        with pytest.raises(nanomc.PotentialError, match="cannot widen hidden layers"):
            p.networks["Au"].widened(hidden, rng)


def test_bad_potential_definitions():
    base = make_potential(["Au", "Cu"], seed=24)
    with pytest.raises(nanomc.PotentialError) as exc:
        nanomc.Potential(["Au", "Cu"], -1.0, base.descriptor_sets, base.networks)
    _one_line(exc, "cutoff")
    with pytest.raises(nanomc.PotentialError) as exc:
        nanomc.Potential(["Au", "Cu"], CUTOFF, base.descriptor_sets, base.networks, e0={"Au": np.nan})
    _one_line(exc, "E0")
    with pytest.raises(nanomc.PotentialError) as exc:
        nanomc.Potential(["Au", "Cu"], CUTOFF, base.descriptor_sets, {"Au": base.networks["Au"], "Cu": base.networks["Au"]},
                         scaling={"Au": (np.zeros(2), np.ones(2))})
    _one_line(exc, "scaling")
