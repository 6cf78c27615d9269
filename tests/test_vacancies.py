"""Vacancies (X, ASE's ghost atom) as a lattice species: invisible to the potential, exact in
the incremental engine, sampled correctly by canonical swaps and O <-> X flips, and carried
through campaigns, results files, extxyz, training and relaxation."""
import textwrap

import h5py
import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk

import nanomc
from conftest import assert_cache_paths_agree, make_potential, random_cluster, small_descriptor_set
from nanomc.campaign import run_campaign
from nanomc.campaign.schema import ConfigError, load_config
from nanomc.errors import PotentialError, PotentialFileError, StructureError
from nanomc.local_energy import LocalEnergyModel
from nanomc.mc import KB, Chain, SwapGroups
from nanomc.particles import read_frames, write_frames
from nanomc.campaign.results import read_results
from nanomc.structure import without_vacancies
from reference import ref_atomic_energies
from test_mc_sampling import chi_square, level_index

ELEMENTS = ["Ce", "Cu", "O"]
SPECIES = ELEMENTS + ["X"]
CE, CU, O, X = range(4)
A_CEO2 = 5.41  # Å


def oxide_potential(cutoff=5.0, seed=0):
    """Small random Ce–Cu–O potential with nonzero E0 and a non-trivial scaling."""
    dset = small_descriptor_set(ELEMENTS, cutoff)
    return make_potential(ELEMENTS, cutoff=cutoff, seed=seed, e0={"Ce": -3.0, "Cu": -2.0, "O": -1.5},
                          scaling={e: (np.full(dset.size, 0.5), np.full(dset.size, 0.3)) for e in ELEMENTS},
                          descriptor_sets={e: dset for e in ELEMENTS})


def fluorite_sphere(radius):
    """The Ce and O atoms of CeO2 (fluorite, a = 5.41 Å) within `radius` Å of a cation."""
    n = int(np.ceil(radius / A_CEO2)) + 1
    crystal = bulk("CeO2", "fluorite", a=A_CEO2, cubic=True).repeat(2 * n)
    centre = n * A_CEO2 * np.ones(3)  # a cation site: the corner shared by the central cells
    atoms = crystal[np.linalg.norm(crystal.positions - centre, axis=1) <= radius]
    atoms.pbc, atoms.cell = False, np.zeros((3, 3))
    return atoms


def fluorite_cluster(radius, seed=0, cu=0.2, vacancies=0.1, rattle=0.0):
    """fluorite_sphere with Cu on a fraction of the cations and X on a fraction of the anions,
    at random, positions rattled by `rattle` Å."""
    rng = np.random.default_rng(seed)
    atoms = fluorite_sphere(radius)
    atoms.positions += rng.normal(0.0, rattle, atoms.positions.shape)
    return occupy_randomly(atoms, rng, cu, vacancies)


def fluorite_cell(seed=0):
    """The 12-atom cubic CeO2 cell (periodic, smaller than the cutoff: atoms see their images),
    rattled, with Cu on some cations and X on some anions."""
    rng = np.random.default_rng(seed)
    atoms = bulk("CeO2", "fluorite", a=A_CEO2, cubic=True)
    atoms.positions += rng.normal(0.0, 0.05, atoms.positions.shape)
    return occupy_randomly(atoms, rng, 0.5, 0.3)


def occupy_randomly(atoms, rng, cu, vacancies):
    symbols = np.array(atoms.get_chemical_symbols(), dtype=object)
    for site, new, fraction in (("Ce", "Cu", cu), ("O", "X", vacancies)):
        sites = np.flatnonzero(symbols == site)
        symbols[rng.choice(sites, max(1, int(round(fraction * len(sites)))), replace=False)] = new
    atoms.set_chemical_symbols(list(symbols))
    return atoms


def sublattices(atoms):
    """(cation sites, anion sites) of a Ce/Cu/O/X structure."""
    symbols = np.array(atoms.get_chemical_symbols())
    return np.flatnonzero(np.isin(symbols, ["Ce", "Cu"])), np.flatnonzero(np.isin(symbols, ["O", "X"]))


def real_energy(pot, atoms):
    """Full evaluation of the structure without its vacancies (eV)."""
    return pot.energy(without_vacancies(atoms))


# --------------------------------------------------------------------------- the potential


def test_a_potential_cannot_define_X(tmp_path):
    with pytest.raises(PotentialError) as err:
        nanomc.Potential.random(["Ce", "X"], 4.0, hidden=(3,))
    assert "'X'" in str(err.value) and "vacancy" in str(err.value) and "\n" not in str(err.value)
    path = tmp_path / "pot.h5"
    nanomc.Potential.random(["Cu", "O"], 4.0, hidden=(3,)).save(path)
    with h5py.File(path, "r+") as f:  # the same file with the element O renamed X
        f.attrs["elements"] = ["Cu", "X"]
        f.move("O", "X")
    with pytest.raises(PotentialFileError) as err:
        nanomc.Potential.load(path)
    assert str(err.value).startswith(f"{path}: ") and "'X'" in str(err.value) and "\n" not in str(err.value)


STRUCTURES = [("cluster", lambda: random_cluster(SPECIES, 24, seed=3)), ("periodic", lambda: fluorite_cell(4))]


@pytest.mark.parametrize("name,make", STRUCTURES, ids=[s[0] for s in STRUCTURES])
def test_vacancies_are_invisible_to_the_potential(name, make):
    pot = oxide_potential()
    atoms = make()
    vacant = atoms.numbers == 0
    assert 0 < vacant.sum() < len(atoms)
    real = without_vacancies(atoms)
    # the real atoms' descriptors, energies and forces are those of the structure without X,
    # and those follow the NumPy reference
    g = pot.descriptors(atoms)
    np.testing.assert_allclose(g[~vacant], pot.descriptors(real), rtol=0, atol=1e-13)
    assert not g[vacant].any()
    energies = pot.atomic_energies(atoms)
    assert np.all(energies[vacant] == 0.0)
    np.testing.assert_allclose(energies[~vacant], ref_atomic_energies(real, pot), rtol=1e-10, atol=1e-10)
    assert pot.energy(atoms) == pytest.approx(pot.energy(real), abs=1e-10)
    with_x, without_x = pot.energy_forces(atoms), pot.energy_forces(real)
    assert np.all(with_x.forces[vacant] == 0.0)
    np.testing.assert_allclose(with_x.forces[~vacant], without_x.forces, rtol=0, atol=1e-12)
    np.testing.assert_allclose(with_x.virial, without_x.virial, rtol=0, atol=1e-12)


def test_calculator_refuses_vacancies_and_relax_leaves_them_out():
    from nanomc.relax import relax, table

    pot = oxide_potential(cutoff=4.5)
    atoms = fluorite_cluster(4.5, seed=1, rattle=0.05)
    n_x = int((atoms.numbers == 0).sum())
    assert n_x > 0
    moving = atoms.copy()
    moving.calc = nanomc.Calculator(pot)
    with pytest.raises(StructureError) as err:
        moving.get_forces()
    assert f"{n_x} vacancies" in str(err.value) and "\n" not in str(err.value)
    done = relax(atoms, pot, fmax=0.5, steps=3)
    assert len(done.atoms) == len(atoms) - n_x and "X" not in done.atoms.get_chemical_symbols()
    assert done.atoms.info["vacancies_removed"] == n_x
    assert done.energy_before == pytest.approx(real_energy(pot, atoms), abs=1e-10)
    assert done.energy_after == pytest.approx(pot.energy(done.atoms), abs=1e-10)
    assert f"({n_x} vacancies left out)" in table([done])


def test_training_sees_a_structure_with_vacancies_as_the_structure_without_them(tmp_path):
    from nanomc.training.features import featurize
    from nanomc.training.io import read_reference

    pot = oxide_potential()
    atoms = random_cluster(SPECIES, 16, seed=5)
    atoms.info["energy"] = -12.5
    atoms.arrays["forces"] = np.arange(3 * len(atoms), dtype=float).reshape(-1, 3)
    real = without_vacancies(atoms)
    a, b = featurize(pot, [atoms]), featurize(pot, [real])
    assert a.dataset_hash == b.dataset_hash and np.array_equal(a.n_atoms, [len(real)])
    assert np.array_equal(a.z, b.z) and np.array_equal(a.descriptors, b.descriptors)
    write_frames(tmp_path / "ref.extxyz", [atoms])
    (read_back,) = read_reference([tmp_path / "ref.extxyz"])
    assert read_back.get_chemical_symbols() == real.get_chemical_symbols()
    assert read_back.info["energy"] == -12.5
    np.testing.assert_array_equal(read_back.arrays["forces"], real.arrays["forces"])


# --------------------------------------------------------------------------- the engine


def propose(model, rng, kind, cations, anions):
    """A random move of `kind` on the model's current state: returns (ΔE, structure after)."""
    current = model.to_atoms()
    symbols = current.get_chemical_symbols()
    if kind == "flip":  # O <-> X on an anion site
        i = int(rng.choice(anions))
        new = "X" if symbols[i] == "O" else "O"
        delta = model.delta_flip(i, new)
        symbols[i] = new
    elif kind == "any_flip":  # any species, cations removed and added too
        i = int(rng.integers(len(symbols)))
        new = str(rng.choice([s for s in SPECIES if s != symbols[i]]))
        delta = model.delta_flip(i, new)
        symbols[i] = new
    else:
        sites = {"cation": cations, "anion": anions, "any": np.arange(len(symbols))}[kind]
        pairs = [(i, j) for i in sites for j in sites if symbols[i] < symbols[j]]
        if not pairs:  # flips left one element on the anion sites: flip instead
            return propose(model, rng, "flip", cations, anions)
        i, j = (int(k) for k in pairs[rng.integers(len(pairs))])
        delta = model.delta_swap(i, j)
        symbols[i], symbols[j] = symbols[j], symbols[i]
    after = current.copy()
    after.set_chemical_symbols(symbols)
    return delta, after


ENGINE_CASES = [
    ("fluorite-cluster", lambda: fluorite_cluster(6.0, seed=2, cu=0.3, vacancies=0.2, rattle=0.05),
     ["cation", "anion", "flip"]),
    ("fluorite-cell", lambda: fluorite_cell(6), ["cation", "anion", "flip"]),
    ("random-cluster", lambda: random_cluster(SPECIES, 24, seed=7), ["any", "any_flip"]),
]


@pytest.mark.parametrize("cache", [True, False])
@pytest.mark.parametrize("name,make,kinds", ENGINE_CASES, ids=[c[0] for c in ENGINE_CASES])
def test_moves_with_vacancies_equal_full_evaluation(name, make, kinds, cache):
    pot = oxide_potential()
    atoms = make()
    cations, anions = sublattices(atoms)
    model = LocalEnergyModel(pot, atoms, triplet_cache=cache)
    assert model.uses_triplet_cache == cache
    assert model.energy == pytest.approx(real_energy(pot, atoms), abs=1e-9)
    rng = np.random.default_rng(17)
    for trial in range(60):
        kind = kinds[trial % len(kinds)]
        before = real_energy(pot, model.to_atoms())
        delta, after = propose(model, rng, kind, cations, anions)
        assert delta == pytest.approx(real_energy(pot, after) - before, abs=1e-9), kind
        if trial % 3:
            model.commit()
            assert model.energy == pytest.approx(real_energy(pot, after), abs=1e-9)
    final = model.to_atoms()
    real = final.numbers != 0
    assert 0 < (~real).sum()
    cached = model.descriptors
    np.testing.assert_allclose(cached[real], pot.descriptors(without_vacancies(final)), rtol=0, atol=1e-10)
    assert not cached[~real].any() and not model.atomic_energies[~real].any()


def test_moves_with_vacancies_follow_the_numpy_reference():
    pot = oxide_potential()
    atoms = random_cluster(SPECIES, 18, seed=9)
    model = LocalEnergyModel(pot, atoms)
    rng = np.random.default_rng(4)
    cations, anions = sublattices(atoms)
    for kind in ["any", "any_flip", "any_flip", "any", "any_flip"]:
        before = ref_atomic_energies(without_vacancies(model.to_atoms()), pot).sum()
        delta, after = propose(model, rng, kind, cations, anions)
        assert delta == pytest.approx(ref_atomic_energies(without_vacancies(after), pot).sum() - before, abs=1e-9)
        model.commit()


def test_cached_and_uncached_paths_agree_with_vacancies():
    assert_cache_paths_agree(oxide_potential(), fluorite_cluster(6.0, seed=3, vacancies=0.3), seed=5, trials=60)


def test_no_drift_after_100000_mixed_moves_with_vacancies():
    pot = oxide_potential(cutoff=4.0)
    atoms = fluorite_cluster(9.5, seed=11, cu=0.3, vacancies=0.15)
    assert 200 <= len(atoms) <= 300
    cations, anions = sublattices(atoms)
    model = LocalEnergyModel(pot, atoms)
    occupation = model.element_indices
    rng = np.random.default_rng(99)
    committed = 0
    while committed < 100_000:
        kinds = rng.integers(3, size=4096)
        first, second = rng.random(4096), rng.random(4096)
        for kind, u, v in zip(kinds, first, second):
            if kind == 2:  # O <-> X flip
                i = anions[int(u * len(anions))]
                model.delta_flip(i, "X" if occupation[i] == O else "O")
                if model.commit():
                    occupation[i] = X if occupation[i] == O else O
                    committed += 1
                continue
            sites = cations if kind == 0 else anions  # a swap on one sublattice
            i, j = sites[int(u * len(sites))], sites[int(v * len(sites))]
            if i != j and occupation[i] != occupation[j]:
                model.delta_swap(i, j)
                model.commit()
                occupation[i], occupation[j] = occupation[j], occupation[i]
                committed += 1
    assert np.array_equal(occupation, model.element_indices)
    final = model.to_atoms()
    real = final.numbers != 0
    assert 0 < (~real).sum() < len(anions)
    cached_energy, cached_descriptors, cached_atomic = model.energy, model.descriptors, model.atomic_energies
    fresh = model.recompute()
    assert abs(cached_energy - fresh) / len(atoms) < 1e-9
    np.testing.assert_allclose(cached_descriptors, model.descriptors, rtol=0, atol=1e-9)
    np.testing.assert_allclose(cached_atomic, model.atomic_energies, rtol=0, atol=1e-9)
    assert fresh == pytest.approx(real_energy(pot, final), rel=1e-12)
    np.testing.assert_allclose(cached_descriptors[real], pot.descriptors(without_vacancies(final)), rtol=0, atol=1e-9)


# --------------------------------------------------------------------------- Monte Carlo


def ce6o8():
    """Ce6O8: an octahedron of cations around a cube of anions (fluorite, a = 5.41 Å), 14 sites."""
    h, q = A_CEO2 / 2, A_CEO2 / 4
    cations = [[s * h if k == d else 0.0 for k in range(3)] for d in range(3) for s in (1, -1)]
    anions = [[x, y, z] for x in (q, -q) for y in (q, -q) for z in (q, -q)]
    return Atoms("Ce6O8", positions=cations + anions)


BASE = np.array([CE] * 6 + [O] * 8)  # Ce6O8; adding 1 makes a Ce a Cu, an O a vacancy
GROUPS = SwapGroups(np.array([0] * 6 + [1] * 8), [[CE, CU], [O, X]])


@pytest.fixture(scope="module")
def enumerated():
    """Ce6O8 with a tiny random potential: the energy of all 2^14 occupations (bit i set: site i
    holds Cu on a cation site, X on an anion site)."""
    atoms = ce6o8()
    dset = nanomc.default_descriptor_set(ELEMENTS, 5.0, n_radial=3, angular_etas=[0.05])
    pot = nanomc.Potential.random(ELEMENTS, 5.0, hidden=(4,), seed=5, descriptor_set=dset)
    model = LocalEnergyModel(pot, atoms)
    bits = (np.arange(2**14)[:, None] >> np.arange(14)) & 1
    energies = np.array([model._kernel.set_elements(BASE + b) for b in bits])
    for code in np.random.default_rng(0).choice(2**14, 25, replace=False):
        occupied = atoms.copy()
        occupied.set_chemical_symbols([SPECIES[k] for k in BASE + bits[code]])
        assert energies[code] == pytest.approx(real_energy(pot, occupied), abs=1e-10)
    n_cu, n_x = bits[:, :6].sum(axis=1), bits[:, 6:].sum(axis=1)
    return pot, atoms, energies, n_cu, n_x


N_SAMPLES, THIN = 6000, 3


def sample(chain, temperature):
    chain.sweep(temperature, 20)
    codes = []
    for _ in range(N_SAMPLES):
        chain.sweep(temperature, THIN)
        z = chain.model.element_indices
        codes.append(int(np.sum((z - BASE) << np.arange(14))))
    return np.array(codes)


def start(atoms, n_cu, n_x):
    out = atoms.copy()
    out.set_chemical_symbols(["Cu"] * n_cu + ["Ce"] * (6 - n_cu) + ["X"] * n_x + ["O"] * (8 - n_x))
    return out


@pytest.mark.parametrize("neighbour_fraction", [0.0, 0.5], ids=["any-partner", "half-neighbour"])
def test_canonical_swaps_in_two_groups_sample_boltzmann(enumerated, neighbour_fraction):
    pot, atoms, energies, n_cu, n_x = enumerated
    model = LocalEnergyModel(pot, start(atoms, 2, 2))
    chain = Chain(model, GROUPS, np.random.default_rng(3), neighbour_fraction=neighbour_fraction)
    mask = (n_cu == 2) & (n_x == 2)
    temperature = np.std(energies[mask]) / (1.5 * KB)
    codes = sample(chain, temperature)
    assert np.all(mask[codes])  # both compositions are conserved
    _, level = level_index(energies)
    e = energies[mask]
    weights = np.exp(-(e - e.min()) / (KB * temperature))
    assert chi_square(level[codes], level[mask], weights) > 1e-3
    wrong = np.exp(-(e - e.min()) / (KB * 1.3 * temperature))
    assert chi_square(level[codes], level[mask], wrong) < 1e-6


def test_sgc_flips_with_an_oxygen_chemical_potential_sample_boltzmann(enumerated):
    pot, atoms, energies, n_cu, n_x = enumerated
    temperature = np.std(energies) / (1.5 * KB)
    # E ≈ c + a·N_Cu + b·N_X: μ_Cu − μ_Ce = a and μ_O = −b keep every composition in play
    a, b, _ = np.linalg.lstsq(np.column_stack([n_cu, n_x, np.ones_like(n_cu)]), energies, rcond=None)[0]
    mu = {"Ce": 0.0, "Cu": a, "O": -b}
    model = LocalEnergyModel(pot, start(atoms, 0, 0))
    chain = Chain(model, GROUPS, np.random.default_rng(8), "sgc", mu=mu)
    codes = sample(chain, temperature)
    assert len(np.unique(n_x[codes])) >= 6 and len(np.unique(n_cu[codes])) >= 5

    def weights(mu_o):
        # Boltzmann weight of E − Σ_i μ_e(i), with no μ for a vacancy
        grand = energies - mu["Cu"] * n_cu - mu_o * (8 - n_x)
        return np.exp(-(grand - grand.min()) / (KB * temperature))

    _, level = level_index(energies)
    key = (n_cu * 10 + n_x) * 10**6 + level
    assert chi_square(key[codes], key, weights(mu["O"])) > 1e-3
    assert chi_square(key[codes], key, weights(mu["O"] + 0.5 * KB * temperature)) < 1e-6


def test_a_swap_group_is_picked_in_proportion_to_its_movable_sites(enumerated):
    pot, atoms, _, _, _ = enumerated
    model = LocalEnergyModel(pot, start(atoms, 0, 2))  # all cations Ce: no cation swap is possible
    site_list, site_pos, block_start = GROUPS.site_blocks(model.element_indices, len(SPECIES))
    trials = 14_000
    uniforms = np.random.default_rng(1).random((trials, 3))
    _, unlike = model._kernel.sweep_swaps(1.0 / (KB * 500.0), GROUPS.movable, GROUPS.group, site_list, site_pos,
                                          block_start, uniforms)
    # every trial that picks an anion site (probability 8/14) has an unlike partner
    p = 8 / 14
    assert abs(unlike - p * trials) < 5 * np.sqrt(trials * p * (1 - p))


# --------------------------------------------------------------------------- campaigns

PARAMS = """
[particle]
shape = "file"
file = "particle.extxyz"
composition = { Cu = 0.2, X = 0.1 }
swap_groups = [["Ce", "Cu"], ["O", "X"]]

[potential]
file = "pot.h5"

[mc]
ensemble = "canonical"
temperatures = [500.0, 1500.0]
sweeps = 6
seed = 2
snapshot_interval = 3
checkpoint_interval = 3

[output]
directory = "out"
"""


@pytest.fixture(scope="module")
def oxide_files(tmp_path_factory):
    """A fluorite CeO2 particle file and a small Ce–Cu–O potential file."""
    directory = tmp_path_factory.mktemp("oxide")
    write_frames(directory / "particle.extxyz", [fluorite_sphere(6.5)])
    dset = nanomc.default_descriptor_set(ELEMENTS, 4.5, n_radial=3, angular_etas=[0.05])
    nanomc.Potential.random(ELEMENTS, 4.5, hidden=(5,), seed=4, descriptor_set=dset).save(directory / "pot.h5")
    return directory


def campaign(tmp_path, oxide_files, text=PARAMS):
    for name in ("particle.extxyz", "pot.h5"):
        (tmp_path / name).write_bytes((oxide_files / name).read_bytes())
    (tmp_path / "params.toml").write_text(textwrap.dedent(text))
    return tmp_path / "params.toml"


def test_campaign_with_vacancies_round_trips_through_results_and_extxyz(tmp_path, oxide_files):
    from nanomc.relax import campaign_structures, relax

    params = campaign(tmp_path, oxide_files, PARAMS.replace("seed = 2", "seed = 2\nneighbour_swaps = 0.5"))
    record = run_campaign(params, quiet=True)
    rec = read_results(tmp_path / "out" / "results.h5")
    assert rec.elements == SPECIES
    cations, anions = sublattices(read_frames(tmp_path / "particle.extxyz")[0])
    assert (rec.initial_elements[anions] == X).sum() == round(0.1 * len(anions))
    assert (rec.initial_elements[cations] == CU).sum() == round(0.2 * len(cations))
    for chain in rec.snapshots:  # canonical: both sublattices keep their composition
        for snap in chain:
            assert np.array_equal(np.bincount(snap, minlength=4), np.bincount(rec.initial_elements, minlength=4))
    assert not np.array_equal(rec.final_elements[0], rec.initial_elements)
    pot = nanomc.Potential.load(tmp_path / "pot.h5")
    final = read_frames(tmp_path / "out" / "final.extxyz")
    for t, frame in enumerate(final):
        assert frame.get_chemical_symbols() == [SPECIES[k] for k in rec.final_elements[t]]
        np.testing.assert_allclose(frame.positions, rec.positions, atol=1e-8)
        assert real_energy(pot, frame) == pytest.approx(record.final_energy[t], abs=1e-8)
    # nanomc relax: the vacancies are left out, never moved
    _, _, picked = campaign_structures(params, "final")
    done = relax(picked[0][2], pot, fmax=1.0, steps=2)
    assert len(done.atoms) == len(final[0]) - (rec.final_elements[0] == X).sum()


def test_sgc_campaign_reduces_and_oxidises_with_mu_O(tmp_path, oxide_files):
    """O -> X is accepted with ΔE + μ_O: a very low μ_O empties the anion sites, a very high
    one fills them."""
    counts = {}
    for mu_o in (-30.0, 30.0):
        directory = tmp_path / f"mu{mu_o}"
        directory.mkdir()
        text = PARAMS.replace('ensemble = "canonical"', 'ensemble = "sgc"').replace("sweeps = 6", "sweeps = 20").replace(
            "seed = 2", f"seed = 2\nchemical_potentials = {{ O = {mu_o} }}").replace(
            'swap_groups = [["Ce", "Cu"], ["O", "X"]]', 'swap_groups = [["O", "X"]]').replace(
            "composition = { Cu = 0.2, X = 0.1 }", "composition = { X = 0.5 }")
        run_campaign(campaign(directory, oxide_files, text), quiet=True)
        rec = read_results(directory / "out" / "results.h5")
        counts[mu_o] = (rec.final_elements == X).sum(axis=1)
        n_anions = (rec.group == 0).sum()
    assert np.all(counts[-30.0] == n_anions) and np.all(counts[30.0] == 0)


@pytest.mark.parametrize("old,new,words", [
    ('swap_groups = [["Ce", "Cu"], ["O", "X"]]', 'swap_groups = [["Ce", "Cu", "X"], ["O"]]',
     ["params.toml:6:", "X may share a group with exactly one element"]),
    ('swap_groups = [["Ce", "Cu"], ["O", "X"]]', 'swap_groups = [["Ce", "Cu"], ["X"]]',
     ["params.toml:6:", "puts X (vacancies) with 0 elements"]),
    ("seed = 2", "seed = 2\nchemical_potentials = { X = 0.1, O = -2.0 }",
     ["params.toml:16:", "X (the vacancy) has μ = 0"]),
    ("seed = 2", "seed = 2\nchemical_potentials = { O = -2.0 }\nneighbour_swaps = 0.5",
     ["params.toml:17:", "`neighbour_swaps` applies to swaps, not to ensemble = \"sgc\""]),
])
def test_bad_vacancy_parameters_name_the_line(tmp_path, oxide_files, old, new, words):
    text = PARAMS.replace(old, new, 1)
    if "chemical_potentials" in new:
        text = text.replace('ensemble = "canonical"', 'ensemble = "sgc"')
    with pytest.raises(ConfigError) as err:
        load_config(campaign(tmp_path, oxide_files, text))
    assert "\n" not in str(err.value)
    for w in words:
        assert w in str(err.value), str(err.value)
    assert not (tmp_path / "out").exists()


def test_vacancies_in_a_default_group_with_several_elements_are_refused(tmp_path, oxide_files):
    """A structure file without sublattice labels has one default group of all its elements: X
    there would replace cations too, so the run stops naming the `composition` line."""
    text = PARAMS.replace('composition = { Cu = 0.2, X = 0.1 }\nswap_groups = [["Ce", "Cu"], ["O", "X"]]',
                          "composition = { Cu = 0.2, O = 0.7, X = 0.1 }", 1)
    with pytest.raises(ConfigError) as err:
        run_campaign(campaign(tmp_path, oxide_files, text), quiet=True)
    message = str(err.value)
    assert "\n" not in message and "params.toml:5:" in message and "exactly one element" in message, message
    assert not (tmp_path / "out").exists()
