"""Analysis of oxide particles: cation/anion sublattices, vacancies (X), dopant measures, renders."""
import json
import time

import numpy as np
import pytest
from ase.build import bulk
from ase.cluster import Octahedron
from scipy.spatial import cKDTree

import nanomc.analysis as na
from nanomc.analysis.render import render
from nanomc.analysis.sublattice import cross_links
from nanomc.cli import main
from nanomc.campaign.results import RunRecord, write_results

A = 5.41                                  # CeO2 lattice constant (Å)
GROUPS = [["Ce", "Cu"], ["O", "X"]]
NN, NNN, ANION = A / np.sqrt(2), A, A * np.sqrt(3) / 4


def fluorite_particle(radius=4.5, cut=3.0, min_cations=2):
    """A CeO2 particle: the cations of a truncated octahedron |x|+|y|+|z| ≤ radius·a, max|x_i| ≤ cut·a
    around a central cation, and every anion site with at least `min_cations` of them at a√3/4.
    Cations first, then anions."""
    crystal = bulk("CeO2", "fluorite", a=A, cubic=True).repeat((6, 6, 6))
    cation = crystal.numbers == 58
    middle = crystal.cell.sum(axis=0) / 2
    centre = np.argmin(np.linalg.norm(crystal.positions[cation] - middle, axis=1))
    crystal.positions -= crystal.positions[cation][centre]
    crystal.pbc, crystal.cell = False, None
    x = crystal.positions / A
    keep = cation & (np.abs(x).sum(axis=1) <= radius + 1e-6) & (np.abs(x).max(axis=1) <= cut + 1e-6)
    around = cKDTree(crystal.positions[keep]).query_ball_point(crystal.positions, ANION + 0.1)
    keep |= ~cation & (np.array([len(r) for r in around]) >= min_cations)
    particle = crystal[keep]
    return particle[np.argsort(particle.numbers != 58, kind="stable")]


def place(atoms, cu=(), vacancies=()):
    """A copy with Cu on the given cation indices and X (vacancy) on the given anion indices."""
    symbols = np.array(atoms.get_chemical_symbols(), dtype=object)
    symbols[list(cu)] = "Cu"
    symbols[list(vacancies)] = "X"
    out = atoms.copy()
    out.set_chemical_symbols(list(symbols))
    return out


def neighbours(atoms, i, distance, among):
    """Indices in `among` at `distance` (± 0.05 Å) from atom i (brute force)."""
    d = np.linalg.norm(atoms.positions[among] - atoms.positions[i], axis=1)
    return np.asarray(among)[np.abs(d - distance) < 0.05]


@pytest.fixture(scope="module")
def particle():
    return fluorite_particle()


def cations_of(atoms):
    return np.flatnonzero(atoms.numbers == 58)


def anions_of(atoms):
    return np.flatnonzero(atoms.numbers == 8)


def make_record(atoms, elements, group, occupation, temperatures, n_snap, seed, exchanged=False):
    """A results record whose snapshots come from occupation(rng) (no engine needed); replica r stays at
    temperature r unless `exchanged` (then replica 0 visits temperature 1 once)."""
    rng = np.random.default_rng(seed)
    n_t, sweeps = len(temperatures), 2 * n_snap
    snapshots = [np.array([occupation(rng) for _ in temperatures]) for _ in range(n_snap)]
    energy = rng.normal(-100.0, 0.1, (n_t, sweeps))
    path = np.repeat(np.arange(n_t)[:, None], sweeps, 1)
    if exchanged:
        path[[0, 1], 3] = path[[1, 0], 3]
    return RunRecord(
        parameters="", potential_hash="0", seed=seed, ensemble="canonical", elements=elements,
        positions=atoms.positions, cell=atoms.cell.array, pbc=atoms.pbc, initial_elements=occupation(rng),
        group=group, temperatures=np.array(temperatures, float), sweeps_total=sweeps, energy=energy.tolist(),
        acceptance=np.full((n_t, sweeps), 0.3).tolist(),
        temperature_trace=np.repeat(np.array(temperatures, float)[:, None], sweeps, 1).tolist(),
        snapshot_sweeps=list(range(2, sweeps + 1, 2)), snapshots=snapshots, final_energy=energy[:, -1],
        final_elements=snapshots[-1], best_energy=energy.min(axis=1), best_elements=snapshots[0],
        replica_temperature=path.tolist(),
        exchange={"attempts": np.zeros(n_t - 1), "accepted": np.zeros(n_t - 1), "round_trips": np.zeros(n_t),
                  "replica_at": np.arange(n_t), "last_end": np.zeros(n_t), "rounds": 0, "rng": "{}"},
        sweeps_done=sweeps, complete=True)


def oxide_record(atoms, temperatures, n_snap, seed, n_cu=20, n_x=30):
    """A Ce/Cu–O/X particle with random placements; elements as the engine writes them: the potential's
    (Ce, Cu, O), then X last."""
    cations, anions = cations_of(atoms), anions_of(atoms)
    group = np.where(atoms.numbers == 58, 0, 1)

    def occupation(rng):
        z = np.where(group == 0, 0, 2)
        z[rng.choice(cations, n_cu, replace=False)] = 1
        z[rng.choice(anions, n_x, replace=False)] = 3
        return z

    return make_record(atoms, ["Ce", "Cu", "O", "X"], group, occupation, temperatures, n_snap, seed)


# --------------------------------------------------------------------------- geometry on sublattices


def test_cation_geometry_is_the_fcc_geometry_of_the_cations_alone(particle):
    """Shells, layers and site types of the cations ignore the anions and the vacancies."""
    cations, anions = cations_of(particle), anions_of(particle)
    metal = na.site_geometry(particle[cations])                 # the cation sublattice on its own
    assert metal.fcc and metal.shells.distances[:2] == pytest.approx([NN, NNN])
    oxide = place(particle, cu=cations[::9], vacancies=anions[::7])
    for frame in (oxide, place(oxide, vacancies=anions)):       # a few vacancies, or no anion at all
        a = na.load(frame, element="Cu", groups=GROUPS)
        g = a.geometry
        assert a.lattice.tolist() == cations.tolist()
        assert a.lattice_shells.distances[:2] == pytest.approx([NN, NNN])
        assert np.array_equal(g.coordination[cations], metal.coordination)
        assert g.layers.names == metal.layers.names and g.site_types.names == metal.site_types.names
        assert np.array_equal(g.layers.index[cations], metal.layers.index)
        assert np.array_equal(g.site_types.index[cations], metal.site_types.index)
        own = a.info["sublattices"]["groups"]
        assert own["1"]["distances_A"][:2] == pytest.approx([A / 2, A / np.sqrt(2)])   # simple cubic anions
        assert own["0"]["elements"] == ["Ce", "Cu"] and own["1"]["sites"] == len(anions)
    # an fcc truncated octahedron of cations: the metal test's site-type counts
    sizes = dict(zip(metal.site_types.names, metal.site_types.sizes()))
    assert set(sizes) == {"vertex", "edge", "(100)", "(111)", "interior"}
    assert sizes["vertex"] == 24 and sizes["interior"] == (~metal.surface).sum()


def test_frozen_anions_leave_the_cation_geometry_to_the_cations(particle):
    """Cations swapping with the anions frozen (one swap group): layers, site types and pair
    shells are still those of the cation sublattice alone, and the dopant measures equal those
    of the two-group analysis (frozen sites of other elements are a sublattice of their own)."""
    cations, anions = cations_of(particle), anions_of(particle)
    metal = na.site_geometry(particle[cations])
    frame = place(particle, cu=cations[::9])
    frozen = na.load(frame, element="Cu", groups=[["Ce", "Cu"]])
    both = na.load(frame, element="Cu", groups=[["Ce", "Cu"], ["O"]])
    g = frozen.geometry
    assert g.site_types.names == metal.site_types.names
    assert np.array_equal(g.site_types.index[cations], metal.site_types.index)
    assert np.array_equal(g.layers.index[cations], metal.layers.index)
    assert frozen.lattice_shells.distances[:2] == pytest.approx([NN, NNN])
    for quantity in ("any_nn", "any_nnn", "any_nn_nnn", "dopant_site_type", "dopant_layer"):
        for row, other in zip(frozen.select(quantity=quantity).rows(), both.select(quantity=quantity).rows()):
            assert (row["category"], row["mean"], row["random"]) == (other["category"], other["mean"], other["random"])


def test_anion_sites_take_the_layer_and_site_type_most_of_their_cations_have(particle):
    """Brute force: the cations at a√3/4 of each anion site vote; ties go to the shallower layer /
    the less coordinated site type (the order vertex, edge, (100), (111))."""
    cations, anions = cations_of(particle), anions_of(particle)
    a = na.load(place(particle, cu=cations[:5], vacancies=anions[::5]), element="Cu", groups=GROUPS)
    g = a.geometry
    interior = g.site_types.names.index("interior")
    for site in anions:
        linked = neighbours(particle, site, ANION, cations)
        assert 1 <= len(linked) <= 4
        layers = g.layers.index[linked]
        counts = np.bincount(layers)
        layer = int(np.flatnonzero(counts == counts.max())[0])
        assert g.layers.index[site] == layer, site
        if layer == 0:
            types = np.bincount(g.site_types.index[linked[layers == 0]])
            assert g.site_types.index[site] == np.flatnonzero(types == types.max())[0], site
        else:
            assert g.site_types.index[site] == interior
    assert np.array_equal(g.surface[anions], g.layers.index[anions] == 0)
    # every anion site linked to a surface cation only is in layer 0; no anion site is left out
    assert (g.layers.index[anions] >= 0).all()


def test_cross_links_are_the_cation_anion_nearest_neighbours(particle):
    cations, anions = cations_of(particle), anions_of(particle)
    links = cross_links(particle, anions, cations)
    assert (links != links.T).nnz == 0
    for site in np.r_[anions[::37], cations[::23]]:
        among = cations if site in set(anions) else anions
        assert sorted(links[site].indices) == sorted(neighbours(particle, site, ANION, among))
    counts = np.asarray(links.sum(axis=1)).ravel()
    assert counts[cations].max() == 8 and counts[anions].max() == 4


# --------------------------------------------------------------------------- dopant measures


def test_dopant_measures_of_a_hand_placed_crystal():
    """Periodic CeO2 (108 cations, 216 anion sites): Cu at i and at its nn j, a lone Cu k; two vacancies
    next to i only and one next to k. Values counted by hand; random values from the formulas."""
    from math import comb

    crystal = bulk("CeO2", "fluorite", a=A, cubic=True).repeat((3, 3, 3))
    cations, anions = cations_of(crystal), anions_of(crystal)

    def at(i, distance, among):
        d = crystal.get_distances(i, among, mic=True)
        return np.asarray(among)[np.abs(d - distance) < 0.05]

    i = cations[0]
    j = at(i, NN, cations)[0]
    far = crystal.get_distances(i, cations, mic=True) > NNN + 0.5
    far &= crystal.get_distances(j, cations, mic=True) > NNN + 0.5
    k = cations[far][0]
    shared = set(at(i, ANION, anions)) & set(at(j, ANION, anions))
    assert len(shared) == 2                                    # nn cations share an edge of their anion cubes
    only_i = [s for s in at(i, ANION, anions) if s not in shared][:2]
    vacancies = [*only_i, at(k, ANION, anions)[0]]
    a = na.load(place(crystal, cu=[i, j, k], vacancies=vacancies), element="Cu", groups=GROUPS)
    value = lambda q, e="Cu": a.table.value(quantity=q, category="Cu", element=e)
    assert value("any_nn")["mean"] == pytest.approx(2 / 3)
    assert value("any_nnn")["mean"] == 0.0
    assert value("nn_probability")["mean"] == pytest.approx(2 / 36)          # the i–j bond from both ends, 3·12 sites
    assert value("dopant_vacancy", "X")["mean"] == pytest.approx(3 / 24)     # 2 + 0 + 1 of 3·8 anion sites
    n = len(cations)
    assert value("any_nn")["random"] == pytest.approx(1 - comb(n - 1 - 12, 2) / comb(n - 1, 2))
    assert value("any_nn_nnn")["random"] == pytest.approx(1 - comb(n - 1 - 18, 2) / comb(n - 1, 2))
    assert value("nn_probability")["random"] == pytest.approx(2 / (n - 1))
    assert value("dopant_vacancy", "X")["random"] == pytest.approx(3 / len(anions))
    assert not len(a.select(quantity="dopant_layer"))                       # a crystal has no layers


def test_random_placement_matches_the_exact_references(particle):
    """1,500 independent random placements of 20 Cu and a varying number (20–60) of vacancies: every
    dopant measure within 4σ (its blocking error) of the exact random-placement value."""
    cations, anions = cations_of(particle), anions_of(particle)
    rng = np.random.default_rng(13)
    n_snap = 1500
    occupations = np.where(particle.numbers == 58, 0, 2)[None].repeat(n_snap, axis=0)
    n_x = rng.integers(20, 61, n_snap)
    for t in range(n_snap):
        occupations[t, rng.choice(cations, 20, replace=False)] = 1
        occupations[t, rng.choice(anions, n_x[t], replace=False)] = 3
    a = na.load_snapshots(particle, occupations, ["Ce", "Cu", "O", "X"], 1000.0, element="Cu", groups=GROUPS)
    checked = 0
    for quantity in ("dopant_layer", "dopant_site_type", "vacancy_layer", "vacancy_site_type", "dopant_vacancy",
                     "any_nn", "any_nnn", "any_nn_nnn", "nn_probability"):
        rows = a.select(quantity=quantity).rows()
        assert rows, quantity
        for row in rows:
            assert row["n_samples"] == n_snap and row["error"] > 0, row
            assert abs(row["mean"] - row["random"]) < 4 * row["error"], row
            checked += 1
    assert checked > 20
    # the reference weights each snapshot's vacancy fraction by its number of Cu (fixed here)
    assert a.table.value(quantity="dopant_vacancy")["random"] == pytest.approx(n_x.mean() / len(anions))
    # the association is resolved: its error is small against the vacancy fraction
    assert a.table.value(quantity="dopant_vacancy")["error"] < 0.05 * n_x.mean() / len(anions)


def test_dopant_vacancy_reference_weights_snapshots_by_their_dopants(particle):
    """When the dopant count varies with the vacancy count (reduction in SGC: more Cu, more
    vacancies), the random reference of `dopant_vacancy` is Σ_t N_Cu,t·c_X,t / Σ_t N_Cu,t, not the
    mean vacancy fraction; the measured value of random placements agrees with it within 4σ."""
    cations, anions = cations_of(particle), anions_of(particle)
    rng = np.random.default_rng(17)
    n_snap = 1200
    occupations = np.where(particle.numbers == 58, 0, 2)[None].repeat(n_snap, axis=0)
    n_cu = rng.integers(4, 41, n_snap)
    n_x = 3 * n_cu
    for t in range(n_snap):
        occupations[t, rng.choice(cations, n_cu[t], replace=False)] = 1
        occupations[t, rng.choice(anions, n_x[t], replace=False)] = 3
    a = na.load_snapshots(particle, occupations, ["Ce", "Cu", "O", "X"], 1000.0, element="Cu", groups=GROUPS)
    row = a.table.value(quantity="dopant_vacancy")
    weighted = np.sum(n_cu * n_x) / np.sum(n_cu) / len(anions)
    assert row["random"] == pytest.approx(weighted)
    assert abs(weighted - n_x.mean() / len(anions)) > 10 * row["error"]  # the weighting matters here
    assert abs(row["mean"] - weighted) < 4 * row["error"], row


def test_dopant_vacancy_detects_association(particle):
    """Vacancies placed next to Cu: the measure is far above random (sanity of direction)."""
    cations, anions = cations_of(particle), anions_of(particle)
    cu = cations[::20]
    next_to_cu = np.unique(np.concatenate([neighbours(particle, c, ANION, anions)[:1] for c in cu]))
    a = na.load(place(particle, cu=cu, vacancies=next_to_cu), element="Cu", groups=GROUPS)
    row = a.table.value(quantity="dopant_vacancy")
    assert row["random"] == pytest.approx(len(next_to_cu) / len(anions))
    assert row["mean"] >= 1 / 8 > 3 * row["random"]


def test_groups_are_needed_for_vacancies(particle):
    frame = place(particle, cu=[0], vacancies=[500])
    with pytest.raises(na.AnalysisError, match=r"vacancies \(X\) need their swap groups"):
        na.load(frame)
    with pytest.raises(na.AnalysisError, match="element O is in two groups"):
        na.load(frame, groups=[["Ce", "Cu", "O"], ["O", "X"]])


# --------------------------------------------------------------------------- results files, CLI, renders


def test_cli_analyze_oxide_results(tmp_path, capsys):
    atoms = fluorite_particle(3.0, 2.0)
    write_results(tmp_path / "results.h5", oxide_record(atoms, [300.0, 900.0], 16, seed=3))
    out = tmp_path / "analysis"
    assert main(["analyze", str(tmp_path / "results.h5"), "--element", "Cu", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    for words in ("## Dopant measures of Cu", "`dopant_vacancy`", "### Cu fraction of the cation sites per layer",
                  "### Vacant fraction of the anion sites per surface site type", "Sublattices: group 0 (Ce, Cu)"):
        assert words in printed
    rows = json.loads((out / "analysis.json").read_text())["rows"]
    quantities = {r["quantity"] for r in rows}
    assert {"dopant_layer", "dopant_site_type", "vacancy_layer", "vacancy_site_type", "dopant_vacancy"} <= quantities
    # compositions are fractions of each element's own sublattice
    for r in (r for r in rows if r["quantity"] == "composition" and r["temperature_K"] == 300.0):
        n_cat, n_an = len(cations_of(atoms)), len(anions_of(atoms))
        expected = {"Ce": 1 - 20 / n_cat, "Cu": 20 / n_cat, "O": 1 - 30 / n_an, "X": 30 / n_an}
        assert r["mean"] == pytest.approx(expected[r["element"]])
    names = ["dopant_measures", "dopant_layers", "particle_final_300K", "particle_final_900K",
             "particle_lowest_300K", "particle_lowest_900K"]
    for name in names:
        assert (out / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def colour_pixels(path, rgb, tolerance=0.06):
    from matplotlib.image import imread

    image = imread(path)[:, :, :3]
    return int((np.abs(image - np.asarray(rgb)).max(axis=2) < tolerance).sum())


def test_render_marks_vacancies_and_is_fast(tmp_path, particle):
    """O is drawn red (Jmol), a vacancy as an open grey circle: no red once every O is a vacancy."""
    from ase.data.colors import jmol_colors

    anions = anions_of(particle)
    start = time.perf_counter()
    with_o = render(place(particle, cu=[0, 5]), tmp_path / "o.png", NN, "CeO2")
    elapsed = time.perf_counter() - start
    empty = render(place(particle, vacancies=anions), tmp_path / "x.png", NN, "Ce only")
    red, grey = jmol_colors[8], [0.45] * 3
    assert colour_pixels(with_o, red) > 1000 and colour_pixels(empty, red) == 0
    assert colour_pixels(empty, grey) > 3 * colour_pixels(with_o, grey)     # (antialiased edges are grey too)
    assert elapsed < 10.0, f"one render of {len(particle)} sites took {elapsed:.1f} s"


def test_metal_results_are_rendered_too(tmp_path):
    """Any results file gets its renders; a replica that changed temperature is named by its index."""
    atoms = Octahedron("Au", 5, 1, latticeconstant=4.08)
    record = make_record(atoms, ["Au", "Cu"], np.zeros(len(atoms), int),
                         lambda rng: (rng.random(len(atoms)) < 0.3).astype(int), [300.0, 600.0], 8, seed=4,
                         exchanged=True)
    write_results(tmp_path / "results.h5", record)
    assert main(["analyze", str(tmp_path / "results.h5"), "-q"]) == 0
    made = {p.name for p in (tmp_path / "analysis").glob("particle_*.png")}
    assert made == {"particle_final_300K.png", "particle_final_600K.png", "particle_lowest_replica0.png",
                    "particle_lowest_replica1.png"}
    assert not (tmp_path / "analysis" / "dopant_measures.png").exists()
