"""The incremental engine against full re-evaluation (nanomc.local_energy)."""
import numpy as np
import pytest
from ase.build import bulk
from ase.cluster import Octahedron

import nanomc
from conftest import assert_cache_paths_agree, random_occupation
from nanomc.local_energy import LocalEnergyModel, MoveError
from nanomc.potential import AngularFunction, DescriptorSet, RadialFunction


def small_potential(elements, cutoff=5.0, seed=0, per_element_sets=False):
    """Random potential with a compact descriptor set (fast) and fitted-looking scaling."""
    dset = nanomc.default_descriptor_set(elements, cutoff, n_radial=4, angular_etas=[0.02, 0.2])
    sets = {e: dset for e in elements}
    if per_element_sets:  # the first element gets its own, different set
        first = elements[0]
        sets[first] = DescriptorSet(
            tuple(RadialFunction(0.5, 2.5, e) for e in elements),
            tuple(AngularFunction(0.05, 2.5, 1.0, (a, b)) for a in elements for b in elements if a <= b),
        )
    rng = np.random.default_rng(seed)
    nets = {e: nanomc.potential.Network.random(sets[e].size, (6, 5), "tanh", rng) for e in elements}
    scaling = {e: (np.full(sets[e].size, 0.5), np.full(sets[e].size, 0.3)) for e in elements}
    return nanomc.Potential(elements, cutoff, sets, nets, scaling, {e: -1.0 - k for k, e in enumerate(elements)})


def particle(elements, seed=0):
    return random_occupation(Octahedron("Cu", 6, 1, latticeconstant=3.8), elements, seed)


def periodic_cell(elements, seed=0):
    """An 8-atom cubic fcc cell: much smaller than the cutoff, so atoms see their own images."""
    return random_occupation(bulk("Cu", "fcc", a=3.8, cubic=True), elements, seed)


def full_delta_swap(pot, atoms, i, j):
    after = atoms.copy()
    s = after.get_chemical_symbols()
    s[i], s[j] = s[j], s[i]
    after.set_chemical_symbols(s)
    return pot.energy(after) - pot.energy(atoms), after


def surface_atoms(atoms, cutoff=3.0):
    from ase.neighborlist import neighbor_list

    coordination = np.bincount(neighbor_list("i", atoms, cutoff), minlength=len(atoms))
    return np.flatnonzero(coordination < 12)


CASES = [
    ("particle-2el", lambda: (small_potential(["Au", "Cu"]), particle(["Au", "Cu"]))),
    ("particle-3el", lambda: (small_potential(["Ag", "Au", "Cu"]), particle(["Ag", "Au", "Cu"], 1))),
    ("periodic-2el", lambda: (small_potential(["Au", "Cu"]), periodic_cell(["Au", "Cu"], 2))),
    ("periodic-3el", lambda: (small_potential(["Ag", "Au", "Cu"]), periodic_cell(["Ag", "Au", "Cu"], 3))),
    ("per-element-sets", lambda: (small_potential(["Au", "Cu"], per_element_sets=True), particle(["Au", "Cu"], 4))),
]


@pytest.mark.parametrize("cache", [True, False])
@pytest.mark.parametrize("name,make", CASES, ids=[c[0] for c in CASES])
def test_delta_swap_equals_full_evaluation(name, make, cache):
    pot, atoms = make()
    model = LocalEnergyModel(pot, atoms, triplet_cache=cache)
    assert model.energy == pytest.approx(pot.energy(atoms), rel=1e-12, abs=1e-12)
    rng = np.random.default_rng(11)
    surface = surface_atoms(atoms) if not atoms.pbc.any() else np.arange(len(atoms))
    checked = 0
    for trial in range(40):
        # half the moves involve a surface atom
        i = int(rng.choice(surface)) if trial % 2 == 0 else int(rng.integers(len(atoms)))
        j = int(rng.integers(len(atoms)))
        current = model.to_atoms()
        if i == j or current[i].symbol == current[j].symbol:
            continue
        expected, after = full_delta_swap(pot, current, i, j)
        assert model.delta_swap(i, j) == pytest.approx(expected, rel=1e-9, abs=1e-10)
        checked += 1
        if trial % 3:
            model.commit()
            assert model.energy == pytest.approx(pot.energy(after), rel=1e-12, abs=1e-9)
    assert checked >= 15


@pytest.mark.parametrize("name,make", CASES, ids=[c[0] for c in CASES])
def test_delta_flip_equals_full_evaluation(name, make):
    pot, atoms = make()
    model = LocalEnergyModel(pot, atoms)
    rng = np.random.default_rng(5)
    for trial in range(25):
        i = int(rng.integers(len(atoms)))
        new = str(rng.choice(pot.elements))
        current = model.to_atoms()
        after = current.copy()
        after[i].symbol = new
        expected = pot.energy(after) - pot.energy(current)
        assert model.delta_flip(i, new) == pytest.approx(expected, rel=1e-9, abs=1e-10)
        if trial % 2:
            model.commit()
            assert model.elements[i] == new


def test_cached_and_uncached_paths_agree_exactly():
    assert_cache_paths_agree(small_potential(["Au", "Cu"]), particle(["Au", "Cu"], 7), seed=3, trials=50)


def test_no_drift_after_100000_committed_moves():
    pot = small_potential(["Au", "Cu"], cutoff=4.5)
    atoms = random_occupation(Octahedron("Cu", 11, 3, latticeconstant=3.8), ["Au", "Cu"], 9)
    assert 700 <= len(atoms) <= 1300
    model = LocalEnergyModel(pot, atoms)
    rng = np.random.default_rng(2024)
    pairs = rng.integers(len(atoms), size=(100_000, 2))
    for i, j in pairs:
        if i != j:
            model.delta_swap(i, j)
            model.commit()
    for i in rng.integers(len(atoms), size=2000):
        model.delta_flip(i, ["Au", "Cu"][i % 2])
        model.commit()
    cached_energy, cached_descriptors, cached_atomic = model.energy, model.descriptors, model.atomic_energies
    fresh = model.recompute()
    assert abs(cached_energy - fresh) / len(atoms) < 1e-9
    np.testing.assert_allclose(cached_descriptors, model.descriptors, rtol=0, atol=1e-9)
    np.testing.assert_allclose(cached_atomic, model.atomic_energies, rtol=0, atol=1e-9)
    assert fresh == pytest.approx(pot.energy(model.to_atoms()), rel=1e-12)


def test_uncommitted_proposal_leaves_state_bit_identical():
    pot, atoms = small_potential(["Au", "Cu"]), particle(["Au", "Cu"], 8)
    model = LocalEnergyModel(pot, atoms)
    before = (model.energy, model.element_indices, model.descriptors, model.atomic_energies)
    cu = model.elements.index("Cu")
    au = model.elements.index("Au")
    assert model.delta_swap(au, cu) != 0.0
    assert model.delta_flip(au, "Cu") != 0.0
    after = (model.energy, model.element_indices, model.descriptors, model.atomic_energies)
    assert before[0] == after[0]
    for x, y in zip(before[1:], after[1:]):
        assert np.array_equal(x, y)


def test_same_element_moves_are_free_and_commit_nothing():
    pot, atoms = small_potential(["Au", "Cu"]), particle(["Au", "Cu"], 8)
    model = LocalEnergyModel(pot, atoms)
    symbols = model.elements
    i = symbols.index("Au")
    j = symbols.index("Au", i + 1)
    energy = model.energy
    assert model.delta_swap(i, j) == 0.0
    assert model.commit() is False
    assert model.delta_flip(i, "Au") == 0.0
    assert model.commit() is False
    assert model.energy == energy


def test_commit_without_proposal_and_double_commit():
    pot, atoms = small_potential(["Au", "Cu"]), particle(["Au", "Cu"], 8)
    model = LocalEnergyModel(pot, atoms)
    assert model.commit() is False
    symbols = model.elements
    i, j = symbols.index("Au"), symbols.index("Cu")
    delta = model.delta_swap(i, j)
    energy = model.energy
    assert model.commit() is True
    assert model.energy == pytest.approx(energy + delta, abs=1e-12)
    assert model.commit() is False  # the proposal is used up
    assert model.elements[i] == "Cu" and model.elements[j] == "Au"


@pytest.mark.parametrize(
    "call,words",
    [
        (lambda m: m.delta_swap(3, 3), "itself"),
        (lambda m: m.delta_swap(0, 10_000), "out of range"),
        (lambda m: m.delta_swap(-1, 2), "negative"),
        (lambda m: m.delta_flip(10_000, "Au"), "out of range"),
        (lambda m: m.delta_flip(2, "Pt"), "'Pt' is not in the potential"),
        (lambda m: m.delta_swap(0, 5), "frozen"),
        (lambda m: m.delta_flip(0, "Cu"), "frozen"),
    ],
)
def test_bad_moves_raise_clear_errors(call, words):
    pot, atoms = small_potential(["Au", "Cu"]), particle(["Au", "Cu"], 8)
    model = LocalEnergyModel(pot, atoms, frozen=[0, 1])
    with pytest.raises(MoveError) as err:
        call(model)
    assert words in str(err.value)
    assert "\n" not in str(err.value)


def test_frozen_atoms_count_in_the_energy():
    pot, atoms = small_potential(["Au", "Cu"]), particle(["Au", "Cu"], 8)
    frozen = np.zeros(len(atoms), bool)
    frozen[:10] = True
    model = LocalEnergyModel(pot, atoms, frozen=frozen)
    assert model.energy == pytest.approx(pot.energy(atoms), rel=1e-12)
    with pytest.raises(MoveError):
        LocalEnergyModel(pot, atoms, frozen=np.zeros(3, bool))


def test_memory_is_reported():
    pot, atoms = small_potential(["Au", "Cu"]), particle(["Au", "Cu"])
    model = LocalEnergyModel(pot, atoms, triplet_cache=False)
    # at least the descriptor state and its proposal scratch
    assert model.nbytes >= len(atoms) * model.descriptors.shape[1] * 8 * 2


def test_models_sharing_geometry_have_independent_states():
    pot, atoms = small_potential(["Au", "Cu"]), particle(["Au", "Cu"], 8)
    first = LocalEnergyModel(pot, atoms)
    other = LocalEnergyModel(pot, atoms, share_geometry_with=first)
    assert other.energy == first.energy
    i, j = first.elements.index("Au"), first.elements.index("Cu")
    expected, after = full_delta_swap(pot, atoms, i, j)
    assert other.delta_swap(i, j) == pytest.approx(expected, rel=1e-9, abs=1e-10)
    other.commit()
    assert first.elements[i] == "Au" and other.elements[i] == "Cu"
    assert other.energy == pytest.approx(pot.energy(after), rel=1e-12)
    assert first.energy == pytest.approx(pot.energy(atoms), rel=1e-12)
    moved = atoms.copy()
    moved.positions[0] += 0.1
    with pytest.raises(ValueError):
        LocalEnergyModel(pot, moved, share_geometry_with=first)
