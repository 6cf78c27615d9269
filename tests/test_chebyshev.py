"""Chebyshev descriptors (aenet; Artrith, Urban, Ceder, PRB 96, 014112 (2017)) and weighted
functions: kernels vs the plain-NumPy references, the incremental engine, the potential file."""
from __future__ import annotations

import h5py
import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk
from ase.cluster import Octahedron

import nanomc
from conftest import (ORDERS, assert_cache_paths_agree, assert_moves_match_full, chebyshev_potential,
                      make_potential, mixed_sets, random_cluster, random_occupation, structure_zoo)
from nanomc.local_energy import LocalEnergyModel
from nanomc.potential import (AngularFunction, CutoffFunction, DescriptorSet, RadialFunction, aenet_type_spins,
                              chebyshev_descriptor_set)
from reference import aenet_spins, ref_chebyshev_descriptors, ref_descriptors

RTOL, ATOL = 1e-10, 1e-11  # T_n by recurrence vs cos(n arccos x)

ELEMENT_SETS = [["Cu"], ["Ti", "O"], ["Au", "Cu", "Pd"]]


# --------------------------------------------------------------------------- the set


def test_type_spins_are_aenets():
    assert aenet_type_spins(1) == (0.0,)
    assert aenet_type_spins(2) == (-1.0, 1.0)
    assert aenet_type_spins(3) == (-1.0, 0.0, 1.0)
    assert aenet_type_spins(4) == (-2.0, -1.0, 1.0, 2.0)
    for n in range(1, 8):
        assert list(aenet_type_spins(n)) == aenet_spins(n)


def test_layout_size_and_order():
    """aenet's TiO2 example: orders 16 and 4 give 44 values; order radial, angular, typed radial, typed angular."""
    dset = chebyshev_descriptor_set(["Ti", "O"], 16, 8.0, 4, 6.5)
    assert dset.size == 44
    funcs = [*dset.radial, *dset.angular]
    by_position = [funcs[dset.output_positions.index(p)] for p in range(dset.size)]
    assert [f.order for f in by_position] == [*range(17), *range(5), *range(17), *range(5)]
    assert all(isinstance(f, RadialFunction) for f in by_position[:17] + by_position[22:39])
    assert [f.element_weights for f in by_position[:17]] == [{"O": 1.0, "Ti": 1.0}] * 17
    assert by_position[22].element_weights == {"Ti": -1.0, "O": 1.0}
    assert by_position[39].pair_weights == {("O", "O"): 1.0, ("O", "Ti"): -1.0, ("Ti", "Ti"): 1.0}
    assert {f.cutoff for f in dset.radial} == {CutoffFunction("cos", 8.0)}
    assert {f.cutoff for f in dset.angular} == {CutoffFunction("cos", 6.5)}
    # one element: no typed copy, plain functions of that element, default order
    single = chebyshev_descriptor_set(["Cu"], 3, 5.0, 2, 4.0)
    assert single.size == 7 and single.positions == () and single.radial[0].element == "Cu"
    # own spins (3 types: one of them 0 drops out of the typed weights)
    own = chebyshev_descriptor_set(["A", "B", "C"], 1, 5.0, 1, 4.0, type_spins=(2.0, 0.0, -1.0))
    assert own.radial[2].element_weights == {"A": 2.0, "C": -1.0}
    assert own.angular[2].pair_weights == {("A", "A"): 4.0, ("A", "C"): -2.0, ("C", "C"): 1.0}


# --------------------------------------------------------------------------- values


@pytest.mark.parametrize("orders", ORDERS, ids=["rr>ra", "rr<ra", "rr=ra"])
@pytest.mark.parametrize("elements", ELEMENT_SETS, ids=lambda e: f"{len(e)}el")
def test_kernels_equal_aenet_definition(elements, orders):
    """Clusters, periodic cells with self-images, slabs, mixed boundary conditions."""
    pot = chebyshev_potential(elements, orders)
    nr, rcr, na, rca = orders
    for name, atoms in structure_zoo(elements, seed=40)[:6]:
        g = pot.descriptors(atoms)
        assert np.count_nonzero(g) > g.size // 3, name
        ref = ref_chebyshev_descriptors(atoms, elements, nr, rcr, na, rca)
        np.testing.assert_allclose(g, ref, rtol=RTOL, atol=ATOL, err_msg=name)
        np.testing.assert_allclose(g, ref_descriptors(atoms, pot), rtol=RTOL, atol=ATOL, err_msg=name)


def test_own_type_spins_and_element_order():
    """Spins follow the element symbols, not the potential's element order."""
    types, spins = ["Pd", "Au", "Cu"], (0.5, -2.0, 1.5)
    dset = chebyshev_descriptor_set(types, 4, 5.0, 3, 4.0, spins)
    pot = make_potential(["Au", "Cu", "Pd"], cutoff=5.0, descriptor_sets={e: dset for e in types})
    atoms = random_cluster(["Au", "Cu", "Pd"], 14, 41)
    np.testing.assert_allclose(pot.descriptors(atoms), ref_chebyshev_descriptors(atoms, types, 4, 5.0, 3, 4.0, spins),
                               rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("factor", [1.0, 1 - 1e-12, 1 - 1e-6, 0.999])
@pytest.mark.parametrize("which", ["radial", "angular"])
def test_neighbours_at_and_just_inside_the_cutoffs(which, factor):
    """Ti at the origin; one O at R_c^r (or R_c^a) times `factor`, one O at 2 Å."""
    nr, rcr, na, rca = 6, 6.0, 5, 4.5
    pot = chebyshev_potential(["Ti", "O"], (nr, rcr, na, rca))
    r = (rcr if which == "radial" else rca) * factor
    atoms = Atoms("TiOO", positions=[[0, 0, 0], [r, 0, 0], [0.3, 2.0, 0.0]])
    g = pot.descriptors(atoms)
    ref = ref_chebyshev_descriptors(atoms, ["Ti", "O"], nr, rcr, na, rca)
    np.testing.assert_allclose(g, ref, rtol=RTOL, atol=ATOL)
    angular = slice(nr + 1, nr + na + 2)
    if which == "angular" and factor == 1.0:
        assert np.all(g[0, angular] == 0.0)  # f_c(R_c^a) = 0: no triplet term
    if which == "angular" and factor <= 1 - 1e-6:
        assert np.all(g[0, angular][:1] > 0.0)


def test_weighted_and_mixed_sets_equal_reference():
    """Plain and weighted Gaussians / power factors sharing shapes, Chebyshev functions, positions."""
    for elements in (["Au", "Cu"], ["Au", "Cu", "Pd"]):
        pot = make_potential(elements, cutoff=5.5, descriptor_sets=mixed_sets(elements))
        assert pot.sf_tables["rad_layers"].max() == 2 and pot.sf_tables["ang_layers"].max() == 2
        for name, atoms in structure_zoo(elements, seed=50)[:6]:
            np.testing.assert_allclose(pot.descriptors(atoms), ref_descriptors(atoms, pot), rtol=RTOL, atol=ATOL,
                                       err_msg=name)


# --------------------------------------------------------------------------- incremental engine


def particle(elements, seed):
    return random_occupation(Octahedron("Cu", 6, 1, latticeconstant=3.8), elements, seed)


ENGINE_CASES = [
    ("particle-2el", lambda: (chebyshev_potential(["Au", "Cu"], (6, 5.0, 4, 4.0)), particle(["Au", "Cu"], 1))),
    ("particle-3el", lambda: (chebyshev_potential(["Ag", "Au", "Cu"], (5, 4.0, 5, 4.5)),
                              particle(["Ag", "Au", "Cu"], 2))),
    ("periodic-2el", lambda: (chebyshev_potential(["Au", "Cu"], (6, 5.0, 4, 4.0)),  # sees its own images
                              random_occupation(bulk("Cu", "fcc", a=3.8, cubic=True), ["Au", "Cu"], 3))),
    ("mixed-3el", lambda: (make_potential(["Ag", "Au", "Cu"], cutoff=5.5,
                                          descriptor_sets=mixed_sets(["Ag", "Au", "Cu"])),
                           particle(["Ag", "Au", "Cu"], 4))),
]


@pytest.mark.parametrize("cache", [True, False])
@pytest.mark.parametrize("name,make", ENGINE_CASES, ids=[c[0] for c in ENGINE_CASES])
def test_swaps_and_flips_equal_full_evaluation(name, make, cache):
    pot, atoms = make()
    assert_moves_match_full(pot, atoms, cache, seed=7, trials=36, flip_every=3, commit_every=2)


def test_cached_and_uncached_paths_agree_exactly():
    pot = chebyshev_potential(["Au", "Cu"], (6, 5.0, 4, 4.0))
    assert_cache_paths_agree(pot, particle(["Au", "Cu"], 5), seed=6, trials=40)


def test_long_run_of_committed_moves_stays_exact():
    pot = chebyshev_potential(["Ag", "Au", "Cu"], (8, 4.5, 6, 4.0))
    atoms = random_occupation(Octahedron("Cu", 8, 2, latticeconstant=3.8), ["Ag", "Au", "Cu"], 9)
    model = LocalEnergyModel(pot, atoms)
    rng = np.random.default_rng(31)
    for i, j in rng.integers(len(atoms), size=(20_000, 2)):
        if i != j:
            model.delta_swap(i, j)
            model.commit()
    for i in rng.integers(len(atoms), size=2000):
        model.delta_flip(i, ["Ag", "Au", "Cu"][i % 3])
        model.commit()
    energy, descriptors = model.energy, model.descriptors
    assert abs(model.recompute() - energy) / len(atoms) < 1e-9
    np.testing.assert_allclose(descriptors, model.descriptors, rtol=0, atol=1e-9)
    assert model.energy == pytest.approx(pot.energy(model.to_atoms()), rel=1e-12)


# --------------------------------------------------------------------------- the potential file


@pytest.mark.parametrize("kind", ["chebyshev-2el", "chebyshev-1el", "mixed"])
def test_save_load_round_trip(tmp_path, kind):
    pot = {"chebyshev-2el": lambda: chebyshev_potential(["Ti", "O"]),
           "chebyshev-1el": lambda: chebyshev_potential(["Cu"]),
           "mixed": lambda: make_potential(["Au", "Cu"], cutoff=5.5, descriptor_sets=mixed_sets(["Au", "Cu"]))}[kind]()
    pot.save(tmp_path / "p.h5")
    with h5py.File(tmp_path / "p.h5", "r") as f:
        # a one-element Chebyshev set is plain (no weights, no positions) but needs the basis column
        assert f.attrs["format_version"] == 3
        n_el = len(pot.elements)
        assert f[pot.elements[0]]["radial"].shape[1] == 9 + n_el
        assert f[pot.elements[0]]["angular"].shape[1] == 13 + n_el * (n_el + 1) // 2
    again = nanomc.Potential.load(tmp_path / "p.h5")
    assert again.descriptor_sets == pot.descriptor_sets
    assert again.content_hash() == pot.content_hash()
    atoms = random_cluster(list(pot.elements), 12, 60)
    assert np.array_equal(again.atomic_energies(atoms), pot.atomic_energies(atoms))


def test_hash_depends_on_weights_and_positions():
    base = chebyshev_descriptor_set(["Ti", "O"], 4, 5.0, 3, 4.0)
    other_spins = chebyshev_descriptor_set(["Ti", "O"], 4, 5.0, 3, 4.0, (1.0, -1.0))
    reordered = DescriptorSet(base.radial, base.angular)
    hashes = {chebyshev_potential(["Ti", "O"]).content_hash()}
    for dset in (base, other_spins, reordered):
        hashes.add(make_potential(["Ti", "O"], cutoff=5.0, descriptor_sets={"Ti": dset, "O": dset}).content_hash())
    assert len(hashes) == 4


def test_damaged_version_3_tables_are_rejected(tmp_path):
    pot = make_potential(["Au", "Cu"], cutoff=5.5, descriptor_sets=mixed_sets(["Au", "Cu"]))
    path = tmp_path / "p.h5"
    for row, column, value, words in ((0, 2, 1.0, "element index and weights disagree"),
                                      (0, 6, 7.0, "unknown basis number"), (3, 7, 1.5, "integer order"),
                                      (0, 8, -1.0, "permutation")):
        pot.save(path)
        with h5py.File(path, "r+") as f:
            f["Au"]["radial"][row, column] = value
        with pytest.raises(nanomc.PotentialFileError, match=words) as err:
            nanomc.Potential.load(path)
        assert "\n" not in str(err.value)


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize("make,words", [
    (lambda: RadialFunction(0.1, 0.0, None, basis="chebyshev", order=2, weights={"Au": 1.0, "Cu": 1.0}),
     "eta = rs = 0"),
    (lambda: RadialFunction(0.0, 0.0, "Au", basis="chebyshev", order=-1), "integer order"),
    (lambda: RadialFunction(0.0, 0.0, "Au", basis="chebyshev", order=1.5), "integer order"),
    (lambda: RadialFunction(0.5, 1.0, "Au", order=2), "only defined for Chebyshev"),
    (lambda: RadialFunction(0.5, 1.0, "Au", basis="bessel"), "basis must be one of"),
    (lambda: RadialFunction(0.5, 1.0, None), "either an element or weights"),
    (lambda: RadialFunction(0.5, 1.0, "Au", weights={"Cu": 2.0}), "either an element or weights"),
    (lambda: RadialFunction(0.5, 1.0, None, weights={"Pt": 2.0}), "'Pt'"),
    (lambda: RadialFunction(0.5, 1.0, None, weights={"Au": np.inf}), "not finite"),
    (lambda: AngularFunction(0.0, 1.0, 1.0, ("Au", "Cu"), factor="chebyshev", order=2), "variant 'wide'"),
    (lambda: AngularFunction(0.0, 2.0, 1.0, ("Au", "Cu"), variant="wide", factor="chebyshev", order=2), "zeta"),
    (lambda: AngularFunction(0.0, 1.0, 1.0, ("Au", "Cu"), variant="wide", factor="legendre"), "factor must be"),
    (lambda: AngularFunction(0.1, 1.0, 1.0, None, weights={("Au", "Pt"): 1.0, ("Au", "Au"): 2.0}), "'Pt'"),
])
def test_bad_functions_raise_one_line_errors(make, words):
    with pytest.raises(nanomc.PotentialError) as err:
        f = make()
        dset = DescriptorSet((f,), ()) if isinstance(f, RadialFunction) else DescriptorSet((), (f,))
        dset.validate(["Au", "Cu"], 6.0)
    assert words in str(err.value) and "\n" not in str(err.value)


def test_bad_sets_raise_one_line_errors():
    for call, words in (
        (lambda: chebyshev_descriptor_set(["Au", "Cu"], -1, 5.0, 2, 4.0), "radial order"),
        (lambda: chebyshev_descriptor_set(["Au", "Cu"], 2, 5.0, 2.5, 4.0), "angular order"),
        (lambda: chebyshev_descriptor_set(["Au", "Cu"], 2, -5.0, 2, 4.0), "positive"),
        (lambda: chebyshev_descriptor_set(["Au", "Cu"], 2, 5.0, 2, 4.0, (1.0,)), "1 type spins given for 2"),
        (lambda: chebyshev_descriptor_set(["Au", "Cu"], 2, 5.0, 2, 4.0, (0.0, 0.0)), "either an element"),
        (lambda: DescriptorSet((RadialFunction(0.5, 1.0, "Au"),), (), (1,)).validate(["Au"]), "permutation"),
        (lambda: RadialFunction(0.5, 1.0, None, weights=(("Au", 1.0), ("Au", 2.0))), "twice"),
        (lambda: make_potential(["Au", "Cu"], cutoff=4.0,
                                descriptor_sets={e: chebyshev_descriptor_set(["Au", "Cu"], 2, 5.0, 2, 4.0)
                                                 for e in ["Au", "Cu"]}), "exceeds the potential's cutoff"),
    ):
        with pytest.raises(nanomc.PotentialError) as err:
            call()
        assert words in str(err.value) and "\n" not in str(err.value)
