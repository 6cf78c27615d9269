"""Analysis: site geometry, compositions, pair statistics, blocking errors, reports and `nanomc analyze`."""
import csv
import itertools
import json
import math
import warnings

import numpy as np
import pytest
from ase.build import bulk
from ase.cluster import Icosahedron, Octahedron
from ase.neighborlist import neighbor_list as ase_neighbor_list
from scipy import sparse
from scipy.signal import lfilter
from test_campaign import cli, write_params

import nanomc.analysis as na
from nanomc.analysis import pairs
from nanomc.analysis.report import table_from_json, value_with_error
from nanomc.analysis.statistics import discard_sweeps
from nanomc.campaign import run_campaign
from nanomc.cli import main
from nanomc.campaign.results import read_results, write_results

A_CU = 3.61


def truncated_octahedron(length=7, cut=2, element="Au"):
    return Octahedron(element, length, cut, latticeconstant=A_CU)


def occupy(atoms, cu_sites):
    atoms = atoms.copy()
    symbols = np.array(["Au"] * len(atoms), dtype=object)
    symbols[cu_sites] = "Cu"
    atoms.set_chemical_symbols(list(symbols))
    return atoms


# --------------------------------------------------------------------------- statistics


def ar1(phi, n, seed, sigma=1.0):
    """x_t = φ x_{t−1} + ε_t started from the stationary distribution."""
    rng = np.random.default_rng(seed)
    eps = rng.normal(0.0, sigma, n)
    eps[0] *= 1.0 / np.sqrt(1.0 - phi * phi)
    return lfilter([1.0], [1.0, -phi], eps)


def exact_error_of_mean(phi, n, sigma=1.0):
    """Exact standard deviation of the mean of n stationary AR(1) samples."""
    var = sigma ** 2 / (1 - phi ** 2)
    total = n * (1 + phi) / (1 - phi) - 2 * phi * (1 - phi ** n) / (1 - phi) ** 2
    return np.sqrt(var * total) / n


@pytest.mark.parametrize("phi", [0.0, 0.5, 0.9])
def test_blocking_error_of_an_ar1_series(phi):
    n = 2 ** 17
    x = ar1(phi, n, seed=11)
    est = na.blocking(x)
    exact = exact_error_of_mean(phi, n)
    tau = (1 + phi) / (2 * (1 - phi))
    # The Lee criterion picks blocks of B ≈ (2N(2τ)²)^(1/3) samples (≤ 512 here), so at least
    # N/512 = 256 blocks: the error estimate has a relative spread 1/sqrt(2·255) ≈ 4.4 % and a
    # bias ≈ −τ/B ≲ 2 %. 15 % is more than three standard deviations plus the bias.
    assert est.converged
    assert est.error == pytest.approx(exact, rel=0.15)
    assert abs(est.mean) < 4 * exact
    assert est.tau_int == pytest.approx(tau, rel=0.3 if phi == 0.0 else 0.15)
    assert est.n_independent == pytest.approx(n / (2 * est.tau_int))
    assert est.n_samples == n
    if phi == 0.9:  # the naive error would be sqrt(2τ) ≈ 4.4 times too small
        assert est.error > 3.5 * x.std() / np.sqrt(n)


def test_blocking_edge_cases():
    assert np.isnan(na.blocking([]).mean)
    one = na.blocking([2.5])
    assert one.mean == 2.5 and np.isnan(one.error) and one.n_independent == 1
    const = na.blocking([0.75] * 10)
    assert const.error == 0.0 and const.n_independent == 10 and const.converged
    assert na.blocking([1.0, np.nan, 3.0]).mean == 2.0
    sizes, counts, errors = na.blocking_levels(np.arange(11.0))
    assert sizes.tolist() == [1, 2, 4] and counts.tolist() == [11, 5, 2]
    assert errors[0] == pytest.approx(np.std(np.arange(11.0), ddof=1) / np.sqrt(11))


def test_blocking_picks_the_block_size_of_the_documented_rule():
    """Lee et al.'s rule, B the smallest block size with B³ > 2N (σ_B/σ_1)⁴, worked by hand.

    Series: N = 4096 samples, a spike x_0 = h = 68 and a run of L = 256 ones at 2048..2303,
    zeros elsewhere. At block size S (a power of two) the block means are h/S in block 0 and
    1 in L/S blocks (S ≤ L) or L/S in one block (S ≥ L), so with n = N/S blocks
      var_S = (h²/S + L)/N − ((h+L)/N)²   (S ≤ L),    σ_S² = var_S / (n − 1) = var_S S / (N − S).
    (σ_S/σ_1)⁴ is 6.20 at S = 32 and 16.42 at S = 64: 32³ = 32768 < 2N·6.20 = 50791 but
    64³ = 262144 > 2N·16.42 = 134508, so B = 64. Each side is within a factor 2 of its bound:
    a rule with N instead of 2N picks 32 (32768 > 25396), one with 4N picks 128
    (262144 < 269017), i.e. the 26 % change in B that a factor 2 makes is caught both ways.
    """
    n, h, length = 4096, 68.0, 256
    x = np.zeros(n)
    x[0] = h
    x[2048:2048 + length] = 1.0

    def sigma(s):
        var = (h * h / s + length) / n - ((h + length) / n) ** 2
        return math.sqrt(var * s / (n - s))

    ratio4 = {s: (sigma(s) / sigma(1)) ** 4 for s in (32, 64)}
    assert 32 ** 3 < 2 * n * ratio4[32] < 2 * 32 ** 3 and 64 ** 3 / 2 < 2 * n * ratio4[64] < 64 ** 3
    est = na.blocking(x)
    assert est.converged
    assert est.error == pytest.approx(sigma(64), rel=1e-12)
    assert abs(sigma(64) / sigma(32) - 1) > 0.2 and abs(sigma(64) / sigma(128) - 1) > 0.2  # a wrong level shows
    s2 = (h * h + length - (h + length) ** 2 / n) / (n - 1)  # sample variance (ddof 1)
    assert est.tau_int == pytest.approx(n * sigma(64) ** 2 / (2 * s2), rel=1e-12)


def test_short_series_is_flagged_not_converged():
    est = na.blocking(ar1(0.95, 20, seed=3))
    assert not est.converged and est.error > 0


def test_drift_warning():
    rng = np.random.default_rng(5)
    stationary = ar1(0.5, 400, seed=6)
    drifting = stationary + np.linspace(0.0, 3.0, 400)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert na.statistics.warn_if_drifting(stationary, "energy") < 3
    with pytest.warns(na.DriftWarning, match="energy still drifts"):
        assert na.statistics.warn_if_drifting(drifting, "energy") > 3
    assert np.isnan(na.drift_z(rng.normal(size=3)))


def test_discard_fraction_or_sweeps():
    assert discard_sweeps(0.2, 150) == 30
    assert discard_sweeps(0, 150) == 0
    assert discard_sweeps(30, 150) == 30
    for bad in (150, -0.1, 2.5, float("nan")):
        with pytest.raises(na.AnalysisError):
            discard_sweeps(bad, 150)


# --------------------------------------------------------------------------- geometry


def test_truncated_octahedron_geometry_against_ase():
    atoms = truncated_octahedron(10, 3)              # the 586-atom particle of the README example
    g = na.site_geometry(atoms)
    d1 = A_CU / np.sqrt(2)
    assert g.fcc
    assert g.shells.distances == pytest.approx([d1, A_CU, d1 * np.sqrt(3)])
    i, j = ase_neighbor_list("ij", atoms, g.shells.cutoffs[0])
    assert np.array_equal(g.coordination, np.bincount(i, minlength=len(atoms)))
    i2, _ = ase_neighbor_list("ij", atoms, g.shells.cutoffs[1])
    assert np.array_equal(g.coordination + np.asarray(g.shells.second.sum(axis=1)).ravel(),
                          np.bincount(i2, minlength=len(atoms)))
    assert np.array_equal(g.surface, g.coordination < 12)
    # layers: surface is layer 0; every site of layer k > 0 has a first-shell neighbour in layer k − 1 and none above
    layer = np.array([int(g.layers.names[k]) for k in g.layers.index])
    assert np.array_equal(layer == 0, g.surface)
    for a, b in zip(i, j):
        assert abs(layer[a] - layer[b]) <= 1
    for site in np.flatnonzero(layer > 0):
        assert (layer[j[i == site]] == layer[site] - 1).any()
    # a truncated octahedron: 24 vertices, 36 edges, 6 square (100) and 8 hexagonal (111) facets
    sizes = dict(zip(g.site_types.names, g.site_types.sizes()))
    assert sizes == {"vertex": 24, "edge": 72, "(100)": 24, "(111)": 152, "interior": 314}
    assert sizes["interior"] == (~g.surface).sum()
    # radial shells: every site in its shell's range
    r = np.linalg.norm(atoms.positions - atoms.positions.mean(axis=0), axis=1)
    for k, name in enumerate(g.radial.names):
        low, high = map(float, name.split("-"))
        inside = r[g.radial.index == k]
        assert inside.size and (inside >= low - 0.051).all() and (inside < high + 0.051).all()


def test_icosahedron_is_labelled_by_coordination():
    g = na.site_geometry(Icosahedron("Cu", 4, latticeconstant=A_CU))
    assert not g.fcc
    sizes = dict(zip(g.site_types.names, g.site_types.sizes()))
    assert sizes["CN 6"] == 12                          # the 12 vertices
    assert set(sizes) == {"CN 6", "CN 8", "CN 9", "interior"}


# --------------------------------------------------------------------------- hand-built occupations


def test_core_shell_particle():
    atoms = truncated_octahedron()
    g = na.site_geometry(atoms)
    particle = occupy(atoms, ~g.surface)              # Au shell, Cu core
    a = na.load(particle)
    t = a.table
    for layer in g.layers.names:
        au = t.value(quantity="composition_layer", category=layer, element="Au")
        assert au["mean"] == (1.0 if layer == "0" else 0.0)
        assert au["sites"] == (g.layers.index == int(layer)).sum() and au["n_samples"] == 1
    for row in t.select(quantity="composition_site_type", element="Au").rows():
        assert row["mean"] == (0.0 if row["category"] == "interior" else 1.0)
    x_au = g.surface.mean()
    assert t.value(quantity="composition", element="Au")["mean"] == pytest.approx(x_au)
    assert t.value(quantity="enrichment", element="Au")["mean"] == pytest.approx(1.0 / x_au)
    assert t.value(quantity="enrichment", element="Cu")["mean"] == 0.0
    assert a.minority == a.element == ("Au" if x_au < 0.5 else "Cu")
    # the radial distribution of the minority sits where its sites are
    dist = t.select(quantity="radial_distribution")
    assert dist["mean"].sum() == pytest.approx(1.0)


def l10(atoms):
    """CuAu L1_0: alternating (001) planes of Au and Cu."""
    plane = np.rint(2 * atoms.positions[:, 2] / A_CU).astype(int)
    return occupy(atoms, plane % 2 == 1)


def l12(atoms):
    """Cu3Au L1_2: Au on the cube corners, Cu on the face centres."""
    corner = (np.rint(2 * atoms.positions / A_CU).astype(int) % 2 == 0).all(axis=1)
    return occupy(atoms, ~corner)


@pytest.mark.parametrize("order, alpha", [
    # L1_0 (the fcc checkerboard): an Au has 4 Au and 8 Cu nearest neighbours and 6 Au second neighbours
    (l10, {("Au", "Au", "nn"): 1 / 3, ("Au", "Cu", "nn"): -1 / 3, ("Au", "Au", "nnn"): -1, ("Au", "Cu", "nnn"): 1,
           ("Cu", "Cu", "nn"): 1 / 3, ("Cu", "Au", "nnn"): 1}),
    # L1_2: an Au has 12 Cu nearest neighbours and 6 Au second neighbours; c_Au = 1/4
    (l12, {("Au", "Au", "nn"): 1, ("Au", "Cu", "nn"): -1 / 3, ("Au", "Au", "nnn"): -3, ("Au", "Cu", "nnn"): 1,
           ("Cu", "Au", "nn"): -1 / 3, ("Cu", "Cu", "nn"): 1 / 9}),
])
def test_warren_cowley_of_ordered_fcc(order, alpha):
    crystal = order(bulk("Cu", "fcc", a=A_CU, cubic=True).repeat((4, 4, 4)))
    a = na.load(crystal, element="Au")
    assert not a.geometry.surface.any() and not len(a.select(quantity="composition_layer"))
    for (centre, neighbour, shell), value in alpha.items():
        row = a.table.value(quantity=f"warren_cowley_{shell}", category=centre, element=neighbour)
        assert row["mean"] == pytest.approx(value, abs=1e-12), (centre, neighbour, shell)
    au_neighbours = a.table.value(quantity="any_nn", category="Au", element="Au")["mean"]
    assert au_neighbours == (1.0 if order is l10 else 0.0)
    assert a.table.value(quantity="any_nnn", category="Au", element="Au")["mean"] == 1.0


@pytest.mark.parametrize("n_cu", [8, 40])
def test_random_occupation_matches_the_random_expectation(n_cu):
    """20,000 independent random occupations: every average within 4σ of the exact random value.

    With 8 Cu the exact P(nn is Cu | Cu) = 7/200 differs from the naive c_Cu = 8/201 by ~30σ,
    so the test tells the right reference from a nearly right one.
    """
    atoms = truncated_octahedron()
    n, n_snap = len(atoms), 20000
    rng = np.random.default_rng(2024 + n_cu)
    occupations = (np.argsort(rng.random((n_snap, n)), axis=1) < n_cu).astype(np.int64)   # 1 = Cu
    a = na.load_snapshots(atoms, occupations, ["Au", "Cu"], temperature=1000.0, element="Cu")
    checked = 0
    for quantity in ("nn_probability", "nnn_probability", "any_nn", "any_nnn", "any_nn_nnn",
                     "warren_cowley_nn", "warren_cowley_nnn", "radial_distribution"):
        for row in a.select(quantity=quantity).rows():
            assert row["n_samples"] == n_snap and row["error"] > 0 and row["converged"]
            assert abs(row["mean"] - row["random"]) < 4 * row["error"], row
            checked += 1
    assert checked == 2 * 4 + 3 + 2 * 4 + len(a.geometry.radial.names)
    nn = a.table.value(quantity="nn_probability", category="Cu", element="Cu")
    assert nn["random"] == pytest.approx((n_cu - 1) / (n - 1))
    assert nn["n_independent"] == pytest.approx(n_snap, rel=0.2)                 # independent snapshots


def test_random_any_neighbour_fraction_by_enumeration():
    """The hypergeometric formula against all placements of 3 X atoms on a 55-atom cuboctahedron."""
    atoms = Octahedron("Cu", 5, 2, latticeconstant=A_CU)
    shells = na.neighbour_shells(atoms)
    adjacency = shells.first + shells.second
    placements = np.array(list(itertools.combinations(range(len(atoms)), 3)))
    occupations = np.zeros((len(placements), len(atoms)), np.int64)
    np.put_along_axis(occupations, placements, 1, axis=1)
    exact = pairs.any_neighbour_fraction(occupations, adjacency, 1).mean()
    assert pairs.random_any_neighbour_fraction(adjacency, 3) == pytest.approx(exact, rel=1e-12)
    ring = sparse.csr_matrix(np.roll(np.eye(6), 1, axis=1) + np.roll(np.eye(6), -1, axis=1))
    assert pairs.random_any_neighbour_fraction(ring, 2) == pytest.approx(2 / 5)


def test_frozen_sublattice_defines_the_pair_lattice():
    """Cu on the Ce sites of CeO2 with O frozen: pairs on the cation fcc lattice only."""
    crystal = bulk("CeO2", "fluorite", a=5.41, cubic=True).repeat((3, 3, 3))
    symbols = np.array(crystal.get_chemical_symbols(), dtype=object)
    cations = np.flatnonzero(symbols == "Ce")
    symbols[cations[::6]] = "Cu"
    crystal.set_chemical_symbols(list(symbols))
    oxygen = np.flatnonzero(symbols == "O")
    a = na.load(crystal, frozen=oxygen)
    assert a.element == a.minority == "Cu" and a.elements == ["Ce", "Cu"]
    assert len(a.lattice) == len(cations)
    assert a.lattice_shells.distances[:2] == pytest.approx([5.41 / np.sqrt(2), 5.41])
    assert a.table.value(quantity="composition", element="Cu")["sites"] == len(cations)
    assert a.table.value(quantity="composition", element="Cu")["mean"] == pytest.approx(len(cations[::6]) / len(cations))
    with pytest.raises(na.AnalysisError, match="not on the swappable sites"):
        na.load(crystal, frozen=oxygen, element="O")


def test_table_api():
    particle = occupy(truncated_octahedron(), slice(0, 50))
    twice = na.load([particle, particle])
    assert twice.table.value(quantity="composition_layer", category="0", element="Cu")["error"] == 0.0
    assert set(twice.table["n_samples"]) == {2}
    a = na.load(particle)
    t = a.select(quantity="composition_layer")
    assert len(t) == 2 * len(a.geometry.layers.names)
    assert set(t["element"]) == {"Au", "Cu"} and t["mean"].dtype == float
    assert all(set(row) == set(na.COLUMNS) for row in t)
    with pytest.raises(KeyError):
        a.table.value(quantity="composition_layer")
    assert value_with_error(0.75234, 0.00213) == "0.7523 ± 0.0021"
    assert value_with_error(99.2911, 0.0267, converged=False) == "99.291 ± 0.027 †"


# --------------------------------------------------------------------------- campaign results and the CLI

PARAMS = """
[particle]
shape = "truncated_octahedron"
size = 5
composition = { Au = 0.25, Cu = 0.75 }

[potential]
file = "pot.h5"

[mc]
temperatures = [300.0, 600.0, 1200.0]
sweeps = 40
seed = 5
snapshot_interval = 2
checkpoint_interval = 40

[output]
directory = "out"
"""


@pytest.fixture(scope="module")
def results_file(tmp_path_factory, campaign_potential_file):
    params = write_params(tmp_path_factory.mktemp("campaign"), campaign_potential_file, PARAMS)
    run_campaign(params, quiet=True)
    return params.parent / "out" / "results.h5"


def test_cli_analyze_writes_consistent_outputs(results_file, tmp_path, capsys):
    out = tmp_path / "analysis"
    assert main(["analyze", str(results_file), "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("# nanomc analysis") and "## Composition per layer" in captured.out
    assert (out / "analysis.md").read_text().strip() == captured.out.strip()
    for name in ("energy", "composition_layers", "surface_composition", "pair_probabilities"):
        assert (out / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    doc = json.loads((out / "analysis.json").read_text())
    info, table = doc["info"], table_from_json((out / "analysis.json").read_text())
    assert info["element"] == info["minority"] == "Au" and info["temperatures_K"] == [300.0, 600.0, 1200.0]
    assert info["discarded_sweeps"] == 8 and info["snapshots_kept"] == 17      # sweeps 8, 10, ..., 40
    with open(out / "analysis.csv") as f:
        assert len(list(csv.DictReader(f))) == len(table)
    for t in info["temperatures_K"]:
        at_t = table.select(temperature_K=t)
        # fractions of all elements add up to 1 in every category
        for quantity in ("composition", "composition_layer", "composition_site_type", "composition_radial"):
            rows = at_t.select(quantity=quantity)
            for category in set(rows["category"]):
                assert rows.select(category=category)["mean"].sum() == pytest.approx(1.0, abs=1e-12)
        # canonical: the overall composition is fixed, and enrichment = surface / overall composition
        for element in ("Au", "Cu"):
            overall = at_t.value(quantity="composition", element=element)
            surface = at_t.value(quantity="composition_layer", category="0", element=element)
            enriched = at_t.value(quantity="enrichment", element=element)
            assert overall["error"] == 0.0
            assert enriched["mean"] == pytest.approx(surface["mean"] / overall["mean"], rel=1e-12)
            assert enriched["error"] == pytest.approx(surface["error"] / overall["mean"], rel=1e-9)
        # per-site-type and per-layer compositions weighted by sites give the overall composition
        for quantity in ("composition_layer", "composition_site_type", "composition_radial"):
            rows = at_t.select(quantity=quantity, element="Au")
            assert np.dot(rows["mean"], rows["sites"]) / rows["sites"].sum() == pytest.approx(
                at_t.value(quantity="composition", element="Au")["mean"])
        energy = at_t.value(quantity="energy")
        assert energy["n_samples"] == 33 and energy["error"] > 0 and 0 < energy["n_independent"] <= 33
        n_au = round(at_t.value(quantity="composition", element="Au")["mean"] * info["n_sites"])
        nn = at_t.value(quantity="nn_probability", category="Au", element="Au")
        assert nn["random"] == pytest.approx((n_au - 1) / (info["n_sites"] - 1), rel=1e-12)


def test_cli_analyze_in_a_subprocess_defaults_and_warnings(results_file):
    r = cli("analyze", results_file, "--discard", "0", "--element", "Cu", "-q")
    assert r.returncode == 0, r.stderr
    assert r.stdout == ""
    assert (results_file.parent / "analysis" / "analysis.json").exists()
    assert json.loads((results_file.parent / "analysis" / "analysis.json").read_text())["info"]["element"] == "Cu"
    for line in r.stderr.splitlines():
        assert line.startswith("nanomc: warning: ")


@pytest.mark.parametrize("args, words", [
    (["--element", "Zn"], "'Zn' is not on the swappable sites"),
    (["--discard", "40"], "leaves nothing"),
])
def test_cli_analyze_bad_options_are_one_line(results_file, tmp_path, capsys, args, words):
    assert main(["analyze", str(results_file), "--out", str(tmp_path), *args]) == 1
    err = capsys.readouterr().err
    assert err.startswith("nanomc: error: ") and err.count("\n") == 1 and words in err, err


def test_cli_analyze_missing_or_corrupt_file(tmp_path, capsys):
    assert main(["analyze", str(tmp_path / "nope.h5")]) == 1
    assert "results file not found" in capsys.readouterr().err
    bad = tmp_path / "bad.h5"
    bad.write_bytes(b"not hdf5 at all")
    assert main(["analyze", str(bad)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("nanomc: error: ") and err.count("\n") == 1
    with pytest.raises(SystemExit):
        main(["analyze", str(bad), "--discard", "half"])


def test_drifting_energy_warns_in_one_line(results_file, tmp_path, capsys):
    """An energy trace with a ramp after the discarded sweeps: a DriftWarning, one stderr line in the CLI."""
    record = read_results(results_file)
    record.energy[0] = (np.asarray(record.energy[0]) + np.linspace(0.0, 5.0, 40)).tolist()
    with pytest.warns(na.DriftWarning, match="energy at 300 K still drifts"):
        na.load(record)
    write_results(tmp_path / "results.h5", record)
    assert main(["analyze", str(tmp_path / "results.h5"), "-q"]) == 0
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("nanomc: warning: energy at 300 K still drifts"), err
    assert (tmp_path / "analysis" / "analysis.md").exists()


def test_python_api_on_results_and_final_structures(results_file, tmp_path):
    from ase.io import read

    a = na.load(results_file)
    assert a.temperatures.tolist() == [300.0, 600.0, 1200.0]
    assert len(a.traces) == 3 and len(a.traces[0]) == 40
    assert a.series[0]["composition_layer"].values.shape == (17, len(a.geometry.layers.names), 2)
    # the same functions on a plain structure: the final 300 K configuration
    final = read(results_file.parent / "final.extxyz", index=0)
    s = na.load(final)
    assert s.temperatures.tolist() == [300.0]
    assert s.geometry.surface.sum() == a.geometry.surface.sum()
    assert math.isnan(s.table.value(quantity="composition", element="Au")["error"])
    for row in s.select(quantity="composition_layer", element="Au").rows():
        assert 0.0 <= row["mean"] <= 1.0
    tables = {"analysis.md", "analysis.json", "analysis.csv"}
    written = {p.name for p in na.write_report(s, tmp_path)}
    assert written == tables | {"composition_layers.png", "surface_composition.png", "pair_probabilities.png"}
    # without a temperature there is nothing to plot against temperature
    del final.info["temperature_K"]
    unknown = na.load(final)
    assert math.isnan(unknown.temperatures[0]) and "| 0 (surface) | " in na.markdown(unknown)
    assert {p.name for p in na.write_report(unknown, tmp_path / "no-T")} == tables | {"composition_layers.png"}
