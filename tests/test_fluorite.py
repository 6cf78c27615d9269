"""Fluorite-oxide particles: site counts, geometry, facets, sublattices, count compositions, errors."""
import itertools

import numpy as np
import pytest
from ase.build import bulk
from ase.io import read, write
from scipy.spatial import ConvexHull, cKDTree

import nanomc
from nanomc.campaign import build_particle, run_campaign
from nanomc.campaign.schema import ConfigError, load_config
from nanomc.fluorite import LATTICE_CONSTANTS, fluorite_particle, fluorite_size
from nanomc.particles import (ANION, CATION, SUBLATTICE, ParticleError, default_groups, make_groups, occupy)
from nanomc.campaign.results import read_results
from conftest import write_campaign

A = 5.411  # CeO2, Å
NAMES = ["Ce", "Cu", "O", "X"]


# --------------------------------------------------------------------------- independent geometry


def cation_points(shape, size):
    """fcc points (units a/2, even coordinate sum) inside the facet planes of an edge-`size` octahedron
    (|x−s|+|y|+|z| ≤ size−1, s = 1 for even size: centre on an octahedral hole) cut by {100}
    planes `cut` layers in from each vertex (ASE's Octahedron(size, cut))."""
    cut = {"octahedron": 0, "truncated_octahedron": (size - 1) // 3, "cuboctahedron": (size - 1) // 2}[shape]
    s = 1 - size % 2
    r = range(-size - 1, size + 2)
    return {(x, y, z) for x, y, z in itertools.product(r, r, r)
            if (x + y + z) % 2 == 0 and abs(x - s) + abs(y) + abs(z) <= size - 1
            and max(abs(x - s), abs(y), abs(z)) <= size - 1 - cut}


def anion_coordination(cations):
    """{anion point (units a/2, all coordinates half-integer, stored doubled): cation neighbours}."""
    counts = {}
    for p in cations:
        for d in itertools.product((-1, 1), repeat=3):
            q = tuple(2 * c + e for c, e in zip(p, d))
            counts[q] = counts.get(q, 0) + 1
    return counts


def labels(atoms):
    return atoms.arrays[SUBLATTICE]


def neighbours_within(atoms, i_mask, j_mask, r):
    """Per atom of i_mask: number of j_mask atoms within r Å (not itself)."""
    tree = cKDTree(atoms.positions[j_mask])
    pos_j = np.flatnonzero(j_mask)
    out = []
    for i in np.flatnonzero(i_mask):
        near = pos_j[tree.query_ball_point(atoms.positions[i], r)]
        out.append(int(np.sum(near != i)))
    return np.array(out)


# --------------------------------------------------------------------------- site counts


@pytest.mark.parametrize("shape,size", [("octahedron", 3), ("octahedron", 4), ("octahedron", 6),
                                        ("truncated_octahedron", 6), ("truncated_octahedron", 9),
                                        ("cuboctahedron", 5)])
def test_site_counts_match_brute_force_enumeration(shape, size):
    atoms = fluorite_particle("CeO2", shape, A, size)
    cations = cation_points(shape, size)
    coord = np.array(list(anion_coordination(cations).values()))
    n3, n2 = int(np.sum(coord >= 3)), int(np.sum(coord == 2))
    assert np.sum(labels(atoms) == CATION) == len(cations)
    assert np.sum(labels(atoms) == ANION) == max(n3, min(2 * len(cations), n3 + n2))
    # same cation set, not just the same number: compare positions up to a translation
    mine = np.rint((atoms.positions[labels(atoms) == CATION]) / (A / 2) * 2) / 2
    mine -= mine.min(axis=0)
    ref = np.array(sorted(cations), float)
    ref -= ref.min(axis=0)
    assert sorted(map(tuple, mine)) == sorted(map(tuple, ref))


def test_oxygen_terminated_octahedra_have_the_literature_formulas():
    # the O-terminated CeO2 octahedra of DFT studies of ceria (e.g. Loschen et al., PCCP 2008)
    for size, formula in [(3, "Ce19O32"), (4, "Ce44O80"), (5, "Ce85O160")]:
        assert fluorite_particle("CeO2", "octahedron", A, size).get_chemical_formula() == formula


def test_reference_particle_is_the_truncated_octahedron_9():
    # issue 13: the reference Cu54Ce405O834 particle has 459 cation and 918 anion sites
    atoms = fluorite_particle("CeO2", "truncated_octahedron", A, 9)
    assert np.sum(labels(atoms) == CATION) == 459 and np.sum(labels(atoms) == ANION) == 918
    assert fluorite_size("CeO2", "truncated_octahedron", A, 459, "cations") == 9
    assert fluorite_size("CeO2", "truncated_octahedron", A, 1377, "atoms") == 9
    assert fluorite_size("CeO2", "truncated_octahedron", A, 1300, "atoms") == 9


@pytest.mark.parametrize("shape,size", [("truncated_octahedron", 9), ("cube", 2), ("cube", 3),
                                        ("cuboctahedron", 7), ("truncated_octahedron", 6)])
def test_truncated_shapes_are_stoichiometric(shape, size):
    atoms = fluorite_particle("CeO2", shape, A, size)
    assert np.sum(labels(atoms) == ANION) == 2 * np.sum(labels(atoms) == CATION)
    assert set(atoms.get_chemical_symbols()) == {"Ce", "O"}
    assert list(labels(atoms)) == [CATION if s == "Ce" else ANION for s in atoms.get_chemical_symbols()]


# --------------------------------------------------------------------------- geometry


def test_bulk_cations_have_eight_anions_at_a_sqrt3_over_4():
    atoms = fluorite_particle("CeO2", "truncated_octahedron", A, 9)
    ref = bulk("CeO2", "fluorite", a=A)  # ASE's own fluorite: the nearest cation–anion distance
    d_ref = ref.get_distance(0, 1, mic=True)
    assert d_ref == pytest.approx(A * np.sqrt(3) / 4, abs=1e-9)
    cat, an = labels(atoms) == CATION, labels(atoms) == ANION
    cc = neighbours_within(atoms, cat, cat, A / np.sqrt(2) + 0.1)
    ca = neighbours_within(atoms, cat, an, d_ref + 0.1)
    inner = cc == 12
    assert inner.sum() > 100 and np.all(ca[inner] == 8)
    # nothing closer than the cation–anion bond, anions a/2 apart
    d = cKDTree(atoms.positions).query(atoms.positions, 2)[0][:, 1]
    assert d.min() == pytest.approx(d_ref, abs=1e-9)
    assert neighbours_within(atoms, an, an, A / 2 + 0.1).max() == 6
    assert neighbours_within(atoms, an, cat, d_ref + 0.1).min() >= 2


def hull_normals(points):
    """Unit outward normals of the convex hull facets, deduplicated."""
    eq = ConvexHull(points).equations[:, :3]
    return {tuple(np.round(n / np.abs(n).max(), 6)) for n in eq}


def test_octahedron_has_only_oxygen_terminated_111_facets():
    atoms = fluorite_particle("CeO2", "octahedron", A, 5)
    cat, an = labels(atoms) == CATION, labels(atoms) == ANION
    assert hull_normals(atoms.positions[cat]) == set(itertools.product((-1.0, 1.0), repeat=3))
    centre = atoms.positions[cat].mean(axis=0)
    d111 = A / np.sqrt(3)
    for n in itertools.product((-1, 1), repeat=3):
        h = (atoms.positions - centre) @ (np.array(n) / np.sqrt(3))
        # the outermost layer along every <111> is oxygen, a quarter layer spacing beyond the cations
        assert h[an].max() - h[cat].max() == pytest.approx(d111 / 4, abs=1e-6)
    # every anion is bulk-like (4) or an O of a {111} facet (3 cation neighbours);
    # {111} facet cations (9 cation neighbours) have 7 oxygens, as on CeO2(111)
    d_ca = A * np.sqrt(3) / 4 + 0.1
    assert set(neighbours_within(atoms, an, cat, d_ca)) == {3, 4}
    cc = neighbours_within(atoms, cat, cat, A / np.sqrt(2) + 0.1)
    ca = neighbours_within(atoms, cat, an, d_ca)
    assert np.all(ca[cc == 9] == 7) and np.sum(cc == 9) > 0


def test_truncated_octahedron_and_cube_facets():
    to = fluorite_particle("CeO2", "truncated_octahedron", A, 9)
    cat = labels(to) == CATION
    normals = hull_normals(to.positions[cat])
    assert normals == set(itertools.product((-1.0, 1.0), repeat=3)) | {
        tuple(float(v) for v in row) for row in np.vstack([np.eye(3), -np.eye(3)])}
    # the {100} oxygen layers are spread evenly: 9 of the 12 two-coordinated sites on each of the 6 facets
    an = labels(to) == ANION
    two = np.flatnonzero(an)[neighbours_within(to, an, cat, A * np.sqrt(3) / 4 + 0.1) == 2]
    rel = to.positions[two] - to.positions[cat].mean(axis=0)
    axis = np.argmax(np.abs(rel), axis=1) * 2 + (rel[np.arange(len(rel)), np.argmax(np.abs(rel), axis=1)] > 0)
    assert np.bincount(axis, minlength=6).tolist() == [9] * 6
    # cation coordination by oxygen: 8 in the bulk, 7 on {111} facets (9 cation neighbours), at least 5 anywhere
    cc = neighbours_within(to, cat, cat, A / np.sqrt(2) + 0.1)
    ca = neighbours_within(to, cat, an, A * np.sqrt(3) / 4 + 0.1)
    assert np.all(ca[cc == 12] == 8) and np.all(ca[cc == 9] == 7) and ca.min() >= 5
    cube = fluorite_particle("CeO2", "cube", A, 2)
    assert hull_normals(cube.positions[labels(cube) == CATION]) == {
        tuple(float(v) for v in row) for row in np.vstack([np.eye(3), -np.eye(3)])}


def test_wulff_follows_the_surface_energies():
    octa = fluorite_particle("CeO2", "wulff", A, 300)  # default: {111} much cheaper than {100}
    assert hull_normals(octa.positions[labels(octa) == CATION]) == set(itertools.product((-1.0, 1.0), repeat=3))
    mixed = fluorite_particle("CeO2", "wulff", A, 300, {"111": 1.0, "100": 1.0})
    normals = hull_normals(mixed.positions[labels(mixed) == CATION])
    assert (1.0, 0.0, 0.0) in normals and (1.0, 1.0, 1.0) in normals


def test_lattice_constant_table_and_other_oxides():
    assert LATTICE_CONSTANTS["CeO2"] == pytest.approx(5.41, abs=0.005)
    tho2 = fluorite_particle("ThO2", "octahedron", LATTICE_CONSTANTS["ThO2"], 3)
    assert tho2.get_chemical_formula() == "O32Th19"
    zro2 = fluorite_particle("ZrO2", "octahedron", 5.09, 3)
    d = cKDTree(zro2.positions).query(zro2.positions, 2)[0][:, 1]
    assert d.min() == pytest.approx(5.09 * np.sqrt(3) / 4, abs=1e-9)


@pytest.mark.parametrize("formula,shape,words", [
    ("CeO", "octahedron", ["'CeO'", "not a fluorite formula"]),
    ("QqO2", "octahedron", ["not a fluorite formula"]),
    ("CeO2", "icosahedron", ["icosahedron", "cannot be a fluorite particle"]),
])
def test_builder_errors(formula, shape, words):
    with pytest.raises(ParticleError) as err:
        fluorite_particle(formula, shape, A, 3)
    assert all(w in str(err.value) for w in words)


# --------------------------------------------------------------------------- sublattices and compositions


def reference_particle():
    atoms = fluorite_particle("CeO2", "truncated_octahedron", A, 9)
    return atoms, make_groups(atoms, NAMES, [["Ce", "Cu"], ["O", "X"]], np.zeros(len(atoms), bool))


def test_swap_groups_map_onto_the_sublattices():
    atoms, groups = reference_particle()
    assert np.array_equal(groups.group, labels(atoms))  # group 0 = cations, group 1 = anions
    composition = {"Ce": 405, "Cu": 54, "O": 834, "X": 84}
    assert default_groups(atoms, composition) == [["Ce", "Cu"], ["O", "X"]]
    assert default_groups(atoms, {"Cu": 0.1}) == [["Ce", "Cu"]]  # the pure-O sublattice stays fixed
    with pytest.raises(ParticleError, match="spans the cation and anion sublattices"):
        make_groups(atoms, NAMES, [["Ce", "O"]], np.zeros(len(atoms), bool))
    with pytest.raises(ParticleError, match="vacancies .X. on the cation"):
        make_groups(atoms, NAMES, [["Ce", "X"], ["O"]], np.zeros(len(atoms), bool))


def test_counts_reproduce_the_reference_particle_exactly():
    atoms, groups = reference_particle()
    composition = {"Ce": 405, "Cu": 54, "O": 834, "X": 84}
    for seed in range(3):
        particle = occupy(atoms, groups, NAMES, composition, np.random.default_rng(seed))
        symbols = np.array(particle.get_chemical_symbols())
        assert {e: int(np.sum(symbols == e)) for e in NAMES} == composition
        assert set(symbols[labels(atoms) == CATION]) == {"Ce", "Cu"}
        assert set(symbols[labels(atoms) == ANION]) == {"O", "X"}
    # counts on one sublattice, a fraction on the other
    particle = occupy(atoms, groups, NAMES, {"Cu": 54, "X": 0.1}, np.random.default_rng(0))
    symbols = np.array(particle.get_chemical_symbols())
    assert np.sum(symbols == "Cu") == 54 and np.sum(symbols == "X") == round(0.1 * 918)


@pytest.mark.parametrize("composition,words", [
    ({"Ce": 405, "Cu": 55, "O": 834, "X": 84}, ["Ce 405 + Cu 55 = 460", "459 sites",
                                                "Ce/Cu 459 sites, O/X 918 sites"]),
    ({"Cu": 500}, ["Cu 500 = 500", "Ce/Cu 459 sites, O/X 918 sites"]),
    ({"Ce": 405, "Cu": -54}, ["count of Cu must not be negative, got -54"]),
    ({"Cu": 54.5}, ["Cu", "fraction between 0 and 1 or an integer count, got 54.5"]),
    ({"Ce": 405, "Cu": 0.1}, ["mixes a count (Ce = 405) and a fraction (Cu = 0.1)"]),
])
def test_bad_counts_are_one_line_errors(composition, words):
    atoms, groups = reference_particle()
    with pytest.raises(ParticleError) as err:
        occupy(atoms, groups, NAMES, composition, np.random.default_rng(0))
    assert "\n" not in str(err.value) and err.value.key == "composition"
    for w in words:
        assert w in str(err.value)


# --------------------------------------------------------------------------- campaigns


@pytest.fixture(scope="module")
def oxide_potential_file(tmp_path_factory):
    dset = nanomc.default_descriptor_set(["Ce", "Cu", "O"], 4.5, n_radial=2, angular_etas=[0.05])
    pot = nanomc.Potential.random(["Ce", "Cu", "O"], 4.5, hidden=(4,), seed=5, descriptor_set=dset)
    path = tmp_path_factory.mktemp("oxpot") / "pot.h5"
    pot.save(path)
    return path


OXIDE = """
[particle]
oxide = "CeO2"
shape = "octahedron"
size = 3
composition = { Cu = 0.2 }

[potential]
file = "pot.h5"

[mc]
temperatures = [800.0]
sweeps = 3
seed = 1

[output]
directory = "out"
"""


def write_oxide(tmp_path, potential_file, text=OXIDE):
    return write_campaign(tmp_path, potential_file.read_bytes(), text)


def test_oxide_campaign_swaps_cations_and_keeps_the_oxygen(tmp_path, oxide_potential_file):
    rec = run_campaign(write_oxide(tmp_path, oxide_potential_file), quiet=True)
    elements = list(rec.elements)
    z = np.asarray(rec.initial_elements)
    assert len(z) == 19 + 32
    assert np.sum(z == elements.index("Cu")) == round(0.2 * 19)
    assert np.all(z[19:] == elements.index("O")) and np.all(rec.group[19:] == -1) and np.all(rec.group[:19] == 0)
    for snap in rec.snapshots:
        assert np.array_equal(snap[0][19:], z[19:])
        assert np.sum(snap[0] == elements.index("Cu")) == np.sum(z == elements.index("Cu"))
    final = read(tmp_path / "out" / "final.extxyz")
    assert list(final.arrays[SUBLATTICE]) == [CATION] * 19 + [ANION] * 32


def test_oxide_by_cations_or_atoms(tmp_path, oxide_potential_file):
    pot = nanomc.Potential.load(oxide_potential_file)
    for key in ("cations = 19", "atoms = 50"):
        params = write_oxide(tmp_path, oxide_potential_file, OXIDE.replace("size = 3", key))
        config, _ = load_config(params)
        atoms, _ = build_particle(config, tmp_path, pot, np.random.default_rng(0))
        assert len(atoms) == 51


@pytest.mark.parametrize("old,new,line,words", [
    ('oxide = "CeO2"', 'oxide = "CuO2"', 3, ["no lattice constant known for CuO2", "CeO2 5.411",
                                               "give `lattice_constant`"]),    # (ZrO2: Zr is not in the potential)
    ("composition = { Cu = 0.2 }", "composition = { Ce = 15, Cu = 5 }", 6,
     ["Ce 15 + Cu 5 = 20", "Ce/Cu 19 sites"]),
    ("composition = { Cu = 0.2 }", "composition = { Cu = -2 }", 6, ["must not be negative"]),
    ("composition = { Cu = 0.2 }", "composition = { Ce = 15, Cu = 0.2 }", 6, ["mixes a count"]),
    ('shape = "octahedron"', 'shape = "icosahedron"', 4, ["cannot be a fluorite particle"]),
    ("size = 3", "cations = 19\nhost = \"Ce\"", 6, ["`host` does not apply to oxides"]),
    ('oxide = "CeO2"', 'oxide = "ThO2"', 3, ["needs Th, which the potential does not know (Ce, Cu, O)"]),
    ('shape = "octahedron"', 'shape = "file"\nfile = "x.xyz"', 3, ["do not apply to shape = \"file\""]),
    ("size = 3", "cations = 0", 5, ["`cations` in [particle] must be positive"]),
])
def test_bad_oxide_parameters_name_file_and_line(tmp_path, oxide_potential_file, old, new, line, words):
    params = write_oxide(tmp_path, oxide_potential_file, OXIDE.replace(old, new))
    with pytest.raises(ConfigError) as err:
        run_campaign(params, quiet=True)
    message = str(err.value)
    assert message.startswith(f"{params}:{line}: ") and "\n" not in message, message
    for w in words:
        assert w in message
    assert not (tmp_path / "out").exists()


def test_oxide_file_keeps_its_sublattices_and_occupation(tmp_path, oxide_potential_file):
    atoms = fluorite_particle("CeO2", "octahedron", A, 3)
    symbols = atoms.get_chemical_symbols()
    symbols[0], symbols[5] = "Cu", "Cu"
    atoms.set_chemical_symbols(symbols)
    write(tmp_path / "start.extxyz", atoms)
    text = OXIDE.replace('oxide = "CeO2"\nshape = "octahedron"\nsize = 3\ncomposition = { Cu = 0.2 }',
                         'shape = "file"\nfile = "start.extxyz"')
    pot = nanomc.Potential.load(oxide_potential_file)
    config, _ = load_config(write_oxide(tmp_path, oxide_potential_file, text))
    particle, groups = build_particle(config, tmp_path, pot, np.random.default_rng(0))
    assert particle.get_chemical_symbols() == symbols
    assert np.array_equal(groups.group, np.where(labels(atoms) == CATION, 0, -1))
