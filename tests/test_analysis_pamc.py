"""Analysis of population-annealing results: errors clustered by family, per-step states, thermodynamics,
reports and `nanomc analyze` on a synthetic "nanomc-pamc" file."""
import json
import math
import warnings

import numpy as np
import pytest
from ase.cluster import Octahedron
from test_campaign import cli

import nanomc.analysis as na
from nanomc.analysis.report import MAX_REPORT_TEMPERATURES, markdown
from nanomc.analysis.statistics import MIN_CLUSTERS, clustered_ratio_estimate
from nanomc.mc import KB
from nanomc.campaign.population_results import PopulationRecord, thermodynamics, write_population

ELEMENTS = ["Au", "Cu"]


def population(families, steps=3, copies=False, seed=0, complete=True):
    """A synthetic PopulationRecord on a 38-site Au–Cu truncated octahedron: per step every walker a
    random occupation with 12 Au, walker w in family families[w]; copies: the walkers of a family are
    identical copies of one draw (occupation and energy)."""
    atoms = Octahedron("Cu", 4, 1, latticeconstant=3.8)
    n, n_au = len(atoms), 12
    families = np.asarray(families, np.int64)
    walkers = len(families)
    rng = np.random.default_rng(seed)

    def draws(count):
        occupation = np.ones((count, n), np.int64)
        for row in occupation:
            row[rng.choice(n, n_au, replace=False)] = 0
        return occupation, rng.normal(-120.0, 0.4, count)

    rec = PopulationRecord(
        parameters="", potential_hash="synthetic", seed=seed, elements=ELEMENTS, positions=atoms.positions,
        cell=np.eye(3) * 30.0, pbc=np.zeros(3, bool), initial_elements=draws(1)[0][0], group=np.zeros(n, np.int64),
        temperatures=np.linspace(1200.0, 300.0, steps), walkers=walkers, resampling="systematic", sweeps_per_step=2,
        ln_omega=math.lgamma(n + 1) - math.lgamma(n_au + 1) - math.lgamma(n - n_au + 1),
        initial_energy=rng.normal(-119.0, 0.6, walkers))
    for _ in range(steps):
        if copies:
            _, index = np.unique(families, return_inverse=True)
            occupation, energy = draws(index.max() + 1)
            occupation, energy = occupation[index], energy[index]
        else:
            occupation, energy = draws(walkers)
        rec.log_q.append(float(rng.normal(-3.0, 0.3)))
        rec.effective_fraction.append(float(rng.uniform(0.5, 1.0)))
        rec.energy.append(energy)
        rec.acceptance.append(rng.uniform(0.1, 0.5, walkers))
        rec.family.append(families)
        rec.parent.append(np.arange(walkers))
        rec.snapshots.append(occupation.astype(np.int8))
    if steps:
        best = int(np.argmin(rec.energy[-1]))
        rec.best_energy, rec.best_elements = float(rec.energy[-1][best]), rec.snapshots[-1][best].astype(np.int64)
    rec.complete = complete
    return rec


# --------------------------------------------------------------------------- clustered errors


def test_identical_copies_in_a_family_count_once():
    """m identical copies of F independent draws: the error is the standard error of the F values,
    sqrt((mF − 1)/(F − 1)) ≈ sqrt(m) times the naive error that treats all mF values as independent."""
    rng = np.random.default_rng(3)
    n_families, m = 40, 6
    values = rng.normal(2.0, 0.7, n_families)
    est = clustered_ratio_estimate(np.repeat(values, m), None, np.repeat(np.arange(n_families), m))
    assert est.mean == pytest.approx(values.mean(), rel=1e-12)
    assert est.error == pytest.approx(values.std(ddof=1) / np.sqrt(n_families), rel=1e-12)
    naive = np.repeat(values, m).std(ddof=1) / np.sqrt(m * n_families)
    assert est.error / naive == pytest.approx(np.sqrt((m * n_families - 1) / (n_families - 1)), rel=1e-12)
    assert est.error / naive == pytest.approx(np.sqrt(m), rel=0.03)
    # n_independent = s²/σ²: the mF values are worth F(1 − 1/F)/(1 − 1/(mF)) independent ones
    assert est.converged and est.n_independent == pytest.approx(m * n_families * (n_families - 1)
                                                                / (m * n_families - 1), rel=1e-12)


@pytest.mark.parametrize("ratio", [False, True])
def test_clustered_error_matches_the_spread_over_populations(ratio):
    """Over many seeded synthetic populations (families of unequal size, walkers correlated within a
    family through a shared family value), the mean squared clustered error equals the variance of the
    estimate; the naive error, which ignores the families, is far too small."""
    repetitions, n_families = 3000, 30
    rng = np.random.default_rng(11 + ratio)
    sizes = rng.integers(1, 8, n_families)
    family = np.repeat(np.arange(n_families), sizes)
    means, variances, naive = [], [], []
    for _ in range(repetitions):
        shared = rng.normal(0.0, 1.0, n_families)[family]
        numerator = 1.0 + shared + 0.5 * rng.normal(size=len(family))
        denominator = 2.0 + 0.3 * shared + 0.2 * rng.normal(size=len(family)) if ratio else None
        est = clustered_ratio_estimate(numerator, denominator, family)
        means.append(est.mean)
        variances.append(est.error ** 2)
        below = np.ones(len(family)) if denominator is None else denominator
        linear = (numerator - est.mean * below) / below.mean()          # the linearised samples, as if iid
        naive.append(linear.var(ddof=1) / len(family))
    spread = np.var(means, ddof=1)
    # the empirical variance of `repetitions` estimates has a relative standard error sqrt(2/(n − 1))
    # (≈ 2.6 %); the average of the estimated variances is much less noisy. The delta method and the
    # F/(F − 1) correction leave a bias of order 1/F ≈ 3 %. Four standard errors plus that bias:
    tolerance = 4 * np.sqrt(2 / (repetitions - 1)) + 1 / n_families
    assert np.mean(variances) / spread == pytest.approx(1.0, abs=tolerance)
    assert np.mean(naive) / spread < 1.0 - 3 * tolerance          # negative control


# --------------------------------------------------------------------------- load


@pytest.fixture(scope="module")
def pamc_file(tmp_path_factory):
    rec = population(np.repeat(np.arange(12), 3), steps=3, seed=5)
    path = tmp_path_factory.mktemp("pamc") / "results.h5"
    write_population(path, rec)
    return path, rec


def test_load_gives_walker_averages_per_step(pamc_file):
    path, rec = pamc_file
    with warnings.catch_warnings():
        warnings.simplefilter("error")                      # no drift check, no discard warning
        a = na.load(path, discard=0.9)
    assert a.info["ensemble"] == "pamc" and a.info["walkers"] == 36 and a.info["steps_done"] == 3
    assert a.info["complete"] and a.info["resampling"] == "systematic" and "energy_drift_z" not in a.info
    np.testing.assert_array_equal(a.temperatures, rec.temperatures)
    layers = a.geometry.layers.index
    for k, t in enumerate(rec.temperatures):
        occupation = rec.snapshots[k]
        for layer in np.unique(layers):
            on_layer = occupation[:, layers == layer]
            for e, element in enumerate(ELEMENTS):
                row = a.select(quantity="composition_layer", category=str(layer), element=element,
                               temperature_K=t).rows()[0]
                assert row["mean"] == pytest.approx((on_layer == e).mean(), rel=1e-12)
                assert row["n_samples"] == 36 and math.isnan(row["tau_int_sweeps"])
        energy = a.table.value(quantity="energy", temperature_K=t)
        assert energy["mean"] == pytest.approx(rec.energy[k].mean(), rel=1e-12)
        by_family = rec.energy[k].reshape(12, 3).sum(axis=1) - 3 * rec.energy[k].mean()
        assert energy["error"] == pytest.approx(np.sqrt(12 / 11 * np.sum(by_family ** 2)) / 36, rel=1e-12)
        assert math.isnan(energy["tau_int_sweeps"]) and energy["converged"] == (12 >= MIN_CLUSTERS)
    assert len(a.series) == 3 and (a.series[0]["composition_layer"].clusters == rec.family[0]).all()


def test_the_family_error_reaches_the_table():
    """Walkers that are copies within families: the surface composition's error is the standard error
    of the per-family values, not the smaller naive one."""
    rec = population(np.repeat(np.arange(15), 4), steps=1, copies=True, seed=2)
    a = na.load(rec)
    surface = a.geometry.layers.index == 0
    per_family = (rec.snapshots[0][::4][:, surface] == 0).mean(axis=1)
    row = a.table.value(quantity="composition_layer", category="0", element="Au")
    assert row["mean"] == pytest.approx(per_family.mean(), rel=1e-12)
    assert row["error"] == pytest.approx(per_family.std(ddof=1) / np.sqrt(15), rel=1e-9)


def test_thermodynamics_rows_equal_the_record(pamc_file):
    path, rec = pamc_file
    a = na.load(path)
    th = thermodynamics(rec)
    for k, t in enumerate(rec.temperatures):
        row = {q: a.table.value(quantity=q, temperature_K=t, category="", element="")
               for q in ("free_energy", "entropy", "heat_capacity", "ln_z", "effective_fraction", "family_fraction")}
        ln_z = rec.ln_omega + sum(rec.log_q[:k + 1])                        # directly from the record
        assert row["ln_z"]["mean"] == pytest.approx(ln_z, rel=1e-12)
        assert row["free_energy"]["mean"] == pytest.approx(-KB * t * ln_z, rel=1e-12)
        assert row["free_energy"]["error"] == pytest.approx(KB * t * th["ln_z_error"][k], rel=1e-12)
        assert row["ln_z"]["error"] == pytest.approx(th["ln_z_error"][k], rel=1e-12)
        assert row["entropy"]["mean"] == pytest.approx(rec.energy[k].mean() / (KB * t) + ln_z, rel=1e-12)
        assert row["heat_capacity"]["mean"] == pytest.approx(rec.energy[k].var() / (KB * t) ** 2, rel=1e-12)
        assert row["effective_fraction"]["mean"] == rec.effective_fraction[k]
        assert row["family_fraction"]["mean"] == pytest.approx(12 / 36, rel=1e-12)   # 12 families of 3
        assert math.isnan(row["heat_capacity"]["error"])
        assert row["free_energy"]["converged"] == (12 >= MIN_CLUSTERS)


def test_incomplete_and_empty_runs(tmp_path):
    rec = population(np.arange(10), steps=2, complete=False)
    with pytest.warns(na.AnalysisWarning, match="incomplete \\(2 of 2 temperature steps\\)"):
        na.load(rec)
    empty = population(np.arange(10), steps=0)
    write_population(tmp_path / "empty.h5", empty)
    with pytest.raises(na.AnalysisError, match="no completed temperature step"):
        na.load(tmp_path / "empty.h5")


# --------------------------------------------------------------------------- reports and the command line


def test_report_of_many_steps_shows_a_readable_subset(tmp_path):
    steps = MAX_REPORT_TEMPERATURES + 8
    a = na.load(population(np.repeat(np.arange(10), 2), steps=steps, seed=1))
    text = markdown(a)
    assert "## Thermodynamics" in text and f"{MAX_REPORT_TEMPERATURES} of the {steps} temperatures" in text
    layer_table = text.split("## Composition per layer")[1].split("##")[0]
    shown = {line.split("|")[3].strip() for line in layer_table.splitlines() if line.startswith("| ")} - {"T (K)"}
    assert len(shown) == MAX_REPORT_TEMPERATURES and {"1200", "300"} <= shown
    written = {p.name for p in na.write_report(a, tmp_path)}
    assert {"analysis.md", "thermodynamics.png", "composition_layers.png", "particle_final_300K.png"} <= written
    assert len(na.report.table_from_json((tmp_path / "analysis.json").read_text())
               .select(quantity="free_energy")) == steps


def test_cli_analyze_a_pamc_file(pamc_file, tmp_path):
    path, rec = pamc_file
    out = tmp_path / "report"
    r = cli("analyze", path, "--out", out)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("# nanomc analysis") and "pamc: 36 walkers" in r.stdout
    assert (out / "analysis.md").read_text().strip() == r.stdout.strip()
    doc = json.loads((out / "analysis.json").read_text())
    assert doc["info"]["ensemble"] == "pamc" and doc["info"]["steps_total"] == 3
    for name in ("thermodynamics", "composition_layers", "surface_composition", "pair_probabilities"):
        assert (out / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_committee_spread_on_the_walkers(pamc_file, tmp_path):
    """A committee potential probes every step's walkers; its rows are clustered by family too, and
    `nanomc analyze --potential` takes a population-annealing file."""
    from test_committee import committee_of, small_members

    path, rec = pamc_file
    committee = committee_of(small_members(3))
    a = na.load(rec, committee=committee, swaps=2, seed=1)
    assert [t["swaps"] for t in a.info["committee"]["per_temperature"]] == [2 * 36] * 3
    for k, t in enumerate(rec.temperatures):
        spread = a.series[k]["committee_swap_spread"]
        row = a.table.value(quantity="committee_swap_spread", category="mean", temperature_K=t)
        expected = clustered_ratio_estimate(spread.numerator[:, 0, 0], None, rec.family[k])
        assert (row["mean"], row["error"]) == (expected.mean, expected.error) and math.isnan(row["tau_int_sweeps"])
    committee.save(tmp_path / "committee.h5")
    r = cli("analyze", path, "--potential", tmp_path / "committee.h5", "--swaps", "1", "--out", tmp_path / "out", "-q")
    assert r.returncode == 0, r.stderr
    assert "not the potential the campaign ran with" in r.stderr
    assert "## Committee spread of swap energies" in (tmp_path / "out" / "analysis.md").read_text()


def test_clustered_estimate_of_constant_and_single_cluster_data():
    counts, totals = np.full(120, 230.0), np.full(120, 459.0)
    constant = clustered_ratio_estimate(counts, totals, np.arange(120) % 7)
    assert constant.mean == 230 / 459 and constant.error == 0.0          # exactly: reported as constant
    one_family = clustered_ratio_estimate(np.arange(10.0), None, np.zeros(10))
    assert np.isnan(one_family.error) and not one_family.converged
    assert np.isnan(clustered_ratio_estimate(np.array([1.0]), None, np.array([0])).error)
