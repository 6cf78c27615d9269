"""The lattice path of the incremental engine (shape values tabulated per lattice offset and
offset pair) against full re-evaluation and against the per-atom triplet-cache path: every
descriptor family, several elements with their own tables, vacancies, periodic cells in which
atoms see their own images, and neighbour shells just inside and outside the cutoff."""
import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk, fcc111
from ase.cluster import Octahedron

import nanomc
from conftest import chebyshev_potential, element_specific_sets, make_potential, mixed_sets, random_occupation
from nanomc.local_energy import MAX_LATTICE_OFFSETS, LocalEnergyModel, lattice_offsets
from nanomc.potential import AngularFunction, CutoffFunction, DescriptorSet, RadialFunction
from nanomc.potential.descriptors import CUTOFF_KINDS
from nanomc.structure import build_neighbor_list, without_vacancies
from test_vacancies import fluorite_cell, fluorite_cluster, oxide_potential

AUCU = ["Au", "Cu"]


def cutoff_kind_sets(elements, cutoff=5.0):
    """n2p2's function types with every cutoff kind: radial (type 2), narrow (3) and wide (9)
    angular functions, each kind with its own radius and inner fraction."""
    radial, angular = [], []
    for k, kind in enumerate(CUTOFF_KINDS):
        alpha = 0.0 if kind in ("hard", "tanhu", "tanh") else 0.3
        cut = CutoffFunction(kind, cutoff - 0.15 * k, alpha)
        radial += [RadialFunction(0.3, 1.0 + 0.2 * k, e, cut) for e in elements]
        style = "narrow" if k % 2 else "wide"
        angular += [AngularFunction(0.01 * (k + 1), 1.0 + k % 3, (-1.0) ** k, (a, b), 0.5 * (k % 2), style, cut)
                    for a in elements for b in elements if a <= b]
    return {e: DescriptorSet(tuple(radial), tuple(angular)) for e in elements}


FAMILIES = {
    "behler": lambda: make_potential(AUCU, cutoff=5.0, seed=1),
    "element-specific": lambda: make_potential(AUCU, cutoff=5.0, seed=2, descriptor_sets=element_specific_sets(AUCU)),
    "n2p2-cutoff-kinds": lambda: make_potential(AUCU, cutoff=5.0, seed=3, descriptor_sets=cutoff_kind_sets(AUCU)),
    "weighted-and-chebyshev": lambda: make_potential(AUCU, cutoff=5.0, seed=4, descriptor_sets=mixed_sets(AUCU)),
    "aenet-chebyshev": lambda: chebyshev_potential(AUCU, seed=5),
}

STRUCTURES = {
    "particle": lambda: random_occupation(Octahedron("Cu", 6, 1, latticeconstant=3.8), AUCU, 1),
    "own-images": lambda: random_occupation(bulk("Cu", "fcc", a=3.8, cubic=True), AUCU, 2),
    "slab": lambda: random_occupation(fcc111("Cu", (3, 3, 4), a=3.8, vacuum=5.0, periodic=True), AUCU, 3),
}


def swapped(atoms, i, j):
    after = atoms.copy()
    s = after.get_chemical_symbols()
    s[i], s[j] = s[j], s[i]
    after.set_chemical_symbols(s)
    return after


def check_moves(pot, atoms, seed, trials, energy=None, moves=None):
    """Random swaps and flips (half committed) on the lattice path: ΔE equals full re-evaluation
    (`energy`, default pot.energy) and the triplet-cache path; the final state is exact."""
    energy = energy or pot.energy
    fast = LocalEnergyModel(pot, atoms)
    slow = LocalEnergyModel(pot, atoms, triplet_cache=True)
    assert fast.engine_path == "lattice" and slow.engine_path == "triplet cache"
    assert fast.energy == pytest.approx(energy(atoms), rel=1e-12, abs=1e-9)
    rng = np.random.default_rng(seed)
    species = fast.species
    checked = 0
    for trial in range(trials):
        current = fast.to_atoms()
        if moves is not None:
            i, j, new = moves(rng, current)
        else:
            i, j = (int(x) for x in rng.choice(len(atoms), 2, replace=False))
            new = str(rng.choice(pot.elements)) if trial % 3 == 0 else None
        if new is None:
            if current[i].symbol == current[j].symbol:
                continue
            after = swapped(current, i, j)
            delta, other = fast.delta_swap(i, j), slow.delta_swap(i, j)
        else:
            after = current.copy()
            after.set_chemical_symbols([new if k == i else s for k, s in enumerate(current.get_chemical_symbols())])
            delta, other = fast.delta_flip(i, new), slow.delta_flip(i, new)
        assert delta == pytest.approx(energy(after) - energy(current), rel=1e-9, abs=1e-9)
        assert delta == pytest.approx(other, rel=1e-11, abs=1e-11)
        checked += 1
        if trial % 2:
            fast.commit()
            slow.commit()
    assert checked >= trials // 3
    assert [species.index(s) for s in fast.elements] == list(slow.element_indices)
    cached = fast.descriptors
    assert fast.recompute() == pytest.approx(energy(fast.to_atoms()), rel=1e-12, abs=1e-9)
    np.testing.assert_allclose(cached, fast.descriptors, rtol=0, atol=1e-10)


@pytest.mark.parametrize("structure", sorted(STRUCTURES))
@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_lattice_path_equals_full_evaluation(family, structure):
    check_moves(FAMILIES[family](), STRUCTURES[structure](), seed=len(family) + len(structure), trials=24)


@pytest.mark.parametrize("make", [lambda: fluorite_cluster(6.0, seed=2, cu=0.3, vacancies=0.2),
                                  lambda: fluorite_cell(6)], ids=["fluorite-cluster", "fluorite-cell"])
def test_lattice_path_with_vacancies(make):
    """Cation swaps, O/X swaps and O <-> X flips on a fluorite lattice with Cu and vacancies."""
    atoms = make()
    if atoms.pbc.any():  # fluorite_cell rattles its atoms: put them back on the lattice
        atoms.positions = bulk("CeO2", "fluorite", a=5.41, cubic=True).positions
    symbols = np.array(atoms.get_chemical_symbols())
    cations, anions = np.flatnonzero(np.isin(symbols, ["Ce", "Cu"])), np.flatnonzero(np.isin(symbols, ["O", "X"]))

    def moves(rng, current):
        kind = rng.integers(3)
        sites = cations if kind == 0 else anions
        i, j = (int(x) for x in rng.choice(sites, 2, replace=False))
        if kind == 2:
            return i, j, "X" if current[i].symbol == "O" else "O"
        return i, j, None

    pot = oxide_potential()
    check_moves(pot, atoms, seed=8, trials=45, energy=lambda a: pot.energy(without_vacancies(a)), moves=moves)


@pytest.mark.parametrize("side", [-1e-6, 1e-6])
def test_neighbour_shell_at_the_cutoff(side):
    """The fourth fcc shell (a√2) just inside or just outside a hard cutoff and a cosine cutoff:
    the tables see each neighbour on the same side as full evaluation does."""
    a = 3.8
    rc = a * np.sqrt(2) - side
    radial = tuple(RadialFunction(0.1, 0.0, e, CutoffFunction(kind, rc)) for e in AUCU for kind in ("hard", "cos"))
    angular = tuple(AngularFunction(0.01, 1.0, 1.0, (x, y), 0.0, style, CutoffFunction("hard", rc))
                    for x in AUCU for y in AUCU if x <= y for style in ("narrow", "wide"))
    dset = DescriptorSet(radial, angular)
    pot = make_potential(AUCU, cutoff=rc, seed=6, descriptor_sets={e: dset for e in AUCU})
    atoms = random_occupation(Octahedron("Cu", 5, 1, latticeconstant=a), AUCU, 4)
    distances = np.linalg.norm(build_neighbor_list(atoms, rc).vectors, axis=1)
    assert (np.abs(distances - a * np.sqrt(2)) < 1e-9).any() == (side < 0)
    check_moves(pot, atoms, seed=9, trials=20)


def test_offsets_are_the_distinct_lattice_vectors():
    a, rc = 3.8, 6.0
    atoms = Octahedron("Cu", 9, 3, latticeconstant=a)
    nl = build_neighbor_list(atoms, rc)
    ids, vectors = lattice_offsets(nl.vectors)
    # every fcc lattice vector (a/2)(h, k, l), h + k + l even, shorter than rc occurs in the particle
    n = int(2 * rc / a) + 1
    hkl = np.array([(h, k, l) for h in range(-n, n + 1) for k in range(-n, n + 1) for l in range(-n, n + 1)
                    if (h + k + l) % 2 == 0 and 0 < np.linalg.norm((h, k, l)) * a / 2 < rc])
    assert len(vectors) == len(hkl)
    np.testing.assert_allclose(np.sort(np.round(vectors * 2 / a), axis=0), np.sort(hkl, axis=0), atol=0)
    np.testing.assert_allclose(vectors[ids], nl.vectors, rtol=0, atol=1e-10)


def test_off_lattice_structures_take_the_per_atom_path():
    pot = make_potential(AUCU, cutoff=5.0, seed=1)
    atoms = random_occupation(Octahedron("Cu", 6, 1, latticeconstant=3.8), AUCU, 1)
    atoms.rattle(0.01, seed=1)
    assert lattice_offsets(build_neighbor_list(atoms, 5.0).vectors) is None
    assert LocalEnergyModel(pot, atoms).engine_path == "triplet cache"
    assert LocalEnergyModel(pot, atoms, memory_limit=0).engine_path == "direct"
    with pytest.raises(ValueError, match=f"more than {MAX_LATTICE_OFFSETS} distinct neighbour vectors"):
        LocalEnergyModel(pot, atoms, lattice=True)


def test_offset_tolerance():
    """Vectors within 1e-10 Å of each other are one offset, vectors 1e-8 Å apart are not."""
    base = np.array([[1.9, 1.9, 0.0], [0.0, 1.9, 1.9]])
    ids, vectors = lattice_offsets(np.concatenate([base, base + 3e-12, base + 1e-8]))
    assert len(vectors) == 4
    assert list(ids[:2]) == list(ids[2:4]) and ids[4] not in ids[:2]
    assert lattice_offsets(np.concatenate([base, base + 1e-8]), max_offsets=3) is None


def test_lattice_tables_are_small_and_shared_between_replicas():
    pot = make_potential(AUCU, cutoff=5.0, seed=1)
    atoms = random_occupation(Octahedron("Cu", 9, 3, latticeconstant=3.8), AUCU, 5)
    fast = LocalEnergyModel(pot, atoms)
    cache = LocalEnergyModel(pot, atoms, triplet_cache=True)
    assert fast.nbytes < cache.nbytes / 3
    replica = LocalEnergyModel(pot, atoms, share_geometry_with=fast)
    assert replica.engine_path == "lattice"
    i, j = fast.elements.index("Au"), fast.elements.index("Cu")
    assert replica.delta_swap(i, j) == pytest.approx(cache.delta_swap(i, j), abs=1e-11)
    replica.commit()
    assert fast.elements[i] == "Au" and replica.elements[i] == "Cu"


def test_forcing_a_path():
    pot = make_potential(AUCU, cutoff=5.0, seed=1)
    atoms = STRUCTURES["particle"]()
    assert LocalEnergyModel(pot, atoms, lattice=False).engine_path == "triplet cache"
    assert LocalEnergyModel(pot, atoms, lattice=False, triplet_cache=False).engine_path == "direct"
    assert LocalEnergyModel(pot, atoms, lattice=True).engine_path == "lattice"
    assert LocalEnergyModel(pot, Atoms("Cu"), lattice=True).energy == pytest.approx(pot.energy(Atoms("Cu")))
