"""Population annealing (ensemble = "pamc"): resampling rules, exact thermodynamics on an enumerable
cluster, identical results on any number of MPI ranks, checkpoints and resume, parameter errors.

The exactness test runs PAMC on the 13-atom cluster of test_mc_sampling at fixed composition
(6 Cu: C(13, 6) = 1716 occupations, all enumerated) and compares, at every temperature step, the
population's mean energy and its ln Z (from ln Ω and the products of mean weights) with the exact
values: z = (estimate − exact)/error must stay below Z_ALPHA. The errors are the estimator's own:
walkers of a family clustered for ⟨E⟩, per-step clustered weight variances for ln Z. As a negative
control the same estimates must reject the exact values at 1.05·T (a 5 % temperature error)
wherever their error gives that test a power of 0.99, which must be at two temperatures or more
for ⟨E⟩ and three or more for ln Z (8000 walkers). Seeds 1–9 of an exploration run with 2000
walkers gave |z| < 2.7 against the true values.
"""
import math
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from ase.io import write
from scipy.stats import norm
from test_campaign import cli
from test_replica_exchange import mpirun

from nanomc.campaign import CampaignError, run_campaign
from nanomc.campaign.schema import ConfigError
from nanomc.mc import KB, SwapGroups
from nanomc.mc.parallel import owner_of
from nanomc.mc.population import log_occupation_count, reweight, walker_rng
from nanomc.mc.resampling import normalised_weights, resample
from nanomc.campaign.population_results import read_population, thermodynamics
from nanomc.campaign.results import ResultsFileError
from conftest import write_campaign

Z_ALPHA = norm.isf(1e-3 / 2)  # 3.29: two-sided at 1e-3 per assertion
Z_POWER = norm.isf(0.01)       # 2.33: power 0.99
RULES = ("systematic", "residual", "multinomial")


# --------------------------------------------------------------------------- resampling


@pytest.mark.parametrize("rule", RULES)
def test_resampling_keeps_the_size_sorts_parents_and_follows_the_weights(rule):
    rng = np.random.default_rng(1)
    log_w = np.log(np.array([0.5, 0.1, 0.0001, 2.0, 0.4, 1.0]))
    n, draws = len(log_w), 3000
    counts = np.zeros(n)
    for _ in range(draws):
        parents = resample(log_w, rng, rule)
        assert len(parents) == n and np.all(np.diff(parents) >= 0)
        counts += np.bincount(parents, minlength=n)
    expected = n * normalised_weights(log_w)
    # unbiased: mean copies = R w_i; the standard error of a mean of `draws` counts is at most sqrt(R w_i/draws)
    tolerance = 4.5 * np.sqrt(np.maximum(expected, 1e-3) / draws)
    assert np.all(np.abs(counts / draws - expected) < tolerance), (counts / draws, expected)


@pytest.mark.parametrize("rule", ["systematic", "residual"])
def test_low_variance_rules_copy_each_walker_floor_or_ceiling_of_its_share_times(rule):
    rng = np.random.default_rng(2)
    for _ in range(200):
        log_w = rng.normal(0, 2, 37)
        counts = np.bincount(resample(log_w, rng, rule), minlength=37)
        expected = 37 * normalised_weights(log_w)
        assert np.all(counts >= np.floor(expected))
        if rule == "systematic":
            assert np.all(counts <= np.ceil(expected))


def test_resampling_edge_cases():
    rng = np.random.default_rng(3)
    assert resample(np.zeros(5), rng, "systematic").tolist() == [0, 1, 2, 3, 4]  # equal weights: no change
    assert resample(np.zeros(5), rng, "residual").tolist() == [0, 1, 2, 3, 4]
    dominant = np.array([-1e4, 0.0, -1e4, -2e4])                                   # underflow-proof
    for rule in RULES:
        assert resample(dominant, rng, rule).tolist() == [1, 1, 1, 1]
    with pytest.raises(ValueError, match="unknown resampling rule"):
        resample(np.zeros(3), rng, "stratified-ish")


def test_reweighting_statistics():
    energy = np.array([0.0, 0.1, 0.2, 0.3])
    step = reweight(energy, 10.0, np.random.default_rng(0), "systematic")
    w = np.exp(-10.0 * energy)
    assert math.isclose(step.log_q, math.log(w.mean()), rel_tol=1e-12)
    assert math.isclose(step.effective_fraction, w.sum() ** 2 / (4 * (w**2).sum()), rel_tol=1e-12)
    assert reweight(energy, 0.0, np.random.default_rng(0), "systematic").effective_fraction == pytest.approx(1.0)


def test_occupation_count_is_the_multinomial_coefficient():
    elements = np.array([0, 1, 1, 0, 2, 1, 0, 0, 1, 2])
    groups = SwapGroups(np.array([0, 0, 0, 0, 0, 0, 1, 1, 1, -1]), [[0, 1, 2], [0, 1]])
    # group 0: sites 0-5 hold 0,1,1,0,2,1 -> 6!/(2! 3! 1!) = 60; group 1: 0,0,1 -> 3; the frozen site: 1
    assert math.isclose(log_occupation_count(elements, groups), math.log(60 * 3), rel_tol=1e-12)


# --------------------------------------------------------------------------- exact thermodynamics


def exact(energies, temperature):
    """(⟨E⟩ in eV, ln Z) of the enumerated levels at T (K)."""
    beta = 1.0 / (KB * temperature)
    log_w = -beta * energies
    top = log_w.max()
    w = np.exp(log_w - top)
    return float(w @ energies / w.sum()), float(top + np.log(w.sum()))


def write_file_campaign(directory, structure, potential, mc_lines):
    directory.mkdir(parents=True, exist_ok=True)
    write(directory / "start.extxyz", structure)
    potential.save(directory / "pot.h5")
    (directory / "params.toml").write_text(textwrap.dedent("""
        [particle]
        shape = "file"
        file = "start.extxyz"
        [potential]
        file = "pot.h5"
        [mc]
        ensemble = "pamc"
        """) + textwrap.dedent(mc_lines) + '\n[output]\ndirectory = "out"\n')
    return directory / "params.toml"


def test_pamc_energies_and_free_energies_match_enumeration(tmp_path, enumerable_cluster):
    pot, atoms, energies, n_cu = enumerable_cluster
    levels = energies[n_cu == 6]
    scale = np.std(levels) / KB                       # the infinite-temperature spread as a temperature
    temperatures = [float(t) for t in scale * np.array([2.0, 0.8, 0.4, 0.25, 0.15])]
    start = atoms.copy()
    start.set_chemical_symbols(["Cu"] * 6 + ["Au"] * 7)
    params = write_file_campaign(tmp_path, start, pot, f"""
        walkers = 8000
        temperatures = {temperatures}
        sweeps = 2
        seed = 11
        """)
    record = run_campaign(params, quiet=True)
    assert record.complete and record.ln_omega == pytest.approx(math.log(math.comb(13, 6)), rel=1e-12)
    thermo = thermodynamics(record)
    rejected_e, rejected_z = [], []
    for k, temperature in enumerate(temperatures):
        mean, ln_z = exact(levels, temperature)
        wrong_mean, wrong_ln_z = exact(levels, 1.05 * temperature)
        e, de = thermo["mean_energy"][k], thermo["energy_error"][k]
        z, dz = thermo["ln_z"][k], thermo["ln_z_error"][k]
        assert abs(e - mean) / de < Z_ALPHA, (temperature, e, de, mean)
        assert abs(z - ln_z) / dz < Z_ALPHA, (temperature, z, dz, ln_z)
        # negative control wherever the error gives the power: |Δ|/σ ≥ Z_ALPHA + Z_POWER rejects with 99 %
        for estimate, error, right, wrong, rejected in ((e, de, mean, wrong_mean, rejected_e),
                                                        (z, dz, ln_z, wrong_ln_z, rejected_z)):
            if abs(wrong - right) / error >= Z_ALPHA + Z_POWER:
                rejected.append(abs(estimate - wrong) / error > Z_ALPHA)
        assert thermo["families"][k] > 300          # the error estimates rest on many families
    assert len(rejected_e) >= 2 and len(rejected_z) >= 3 and all(rejected_e) and all(rejected_z)
    # thermodynamic identities of the estimates: F = −k_B T ln Z, S = β(⟨E⟩ − F), C = β² Var(E)
    t = np.array(temperatures)
    assert np.allclose(thermo["free_energy"], -KB * t * thermo["ln_z"])
    assert np.allclose(thermo["entropy"], (thermo["mean_energy"] - thermo["free_energy"]) / (KB * t))
    assert np.allclose(thermo["heat_capacity"], [np.var(e) / (KB * T) ** 2 for e, T in zip(record.energy, t)])
    # the walkers hold the composition; families follow the parents
    assert np.all(np.array(record.snapshots)[..., :].sum(axis=-1) == 6)
    for k in range(1, record.steps_done):
        assert np.array_equal(record.family[k], record.family[k - 1][record.parent[k]])


def test_infinite_temperature_population_is_uniform(tmp_path, enumerable_cluster):
    """The initial walkers are uniform shuffles: every one of the 13 sites holds Cu with probability 6/13."""
    pot, atoms, _, _ = enumerable_cluster
    start = atoms.copy()
    start.set_chemical_symbols(["Cu"] * 6 + ["Au"] * 7)
    from nanomc.local_energy import LocalEnergyModel
    from nanomc.mc.parallel import SerialComm
    from nanomc.mc.population import Population

    model = LocalEnergyModel(pot, start)
    population = Population(model, SwapGroups.single(13, [0, 1]), 6000, 5, SerialComm())
    energy = population.start(model.element_indices)
    occupations = population.gather_elements()
    p = 6 / 13
    frequency = occupations.mean(axis=0)
    assert np.all(np.abs(frequency - p) < 4 * math.sqrt(p * (1 - p) / 6000))
    assert np.allclose(energy, [model._kernel.set_elements(z) for z in occupations[:50]] + list(energy[50:]))


# --------------------------------------------------------------------------- campaigns: ranks, resume, errors

PARAMS = """
[particle]
shape = "cuboctahedron"
size = 5
composition = { Au = 0.4, Cu = 0.6 }

[potential]
file = "pot.h5"

[mc]
ensemble = "pamc"
walkers = 12
t_max = 3000.0
t_min = 400.0
n_temperatures = 5
sweeps = 2
seed = 4
{extra}

[output]
directory = "out"
"""


def campaign(directory, potential_bytes, extra=""):
    return write_campaign(directory, potential_bytes, PARAMS.replace("{extra}", extra))


def assert_same_population(a, b):
    for key in ("log_q", "effective_fraction", "energy", "acceptance", "family", "parent", "snapshots",
                "initial_energy"):
        assert np.array_equal(np.array(getattr(a, key)), np.array(getattr(b, key))), key
    assert a.best_energy == b.best_energy and np.array_equal(a.best_elements, b.best_elements)
    for key, value in a.checkpoint.items():
        assert np.array_equal(value, b.checkpoint[key]), key


def test_serial_run_writes_results_and_structures(tmp_path, potential_bytes):
    record = run_campaign(campaign(tmp_path, potential_bytes), quiet=True)
    assert np.allclose(record.temperatures, np.geomspace(3000, 400, 5))
    stored = read_population(tmp_path / "out" / "results.h5")
    assert_same_population(stored, record)
    assert stored.complete and stored.steps_done == 5 and stored.checkpoint["elements"].shape == (12, 55)
    assert stored.best_energy <= min(e.min() for e in stored.energy)
    from ase.io import read
    final = read(tmp_path / "out" / "final.extxyz", ":")
    assert 1 <= len(final) <= 12 and all(f.info["temperature_K"] == pytest.approx(400.0) for f in final)
    assert sum(f.info["family_walkers"] for f in final) <= 12
    best = read(tmp_path / "out" / "best.extxyz")
    assert best.get_chemical_symbols().count("Au") == 22


def test_mpi_runs_equal_the_serial_run_bit_for_bit(tmp_path, potential_bytes):
    serial = run_campaign(campaign(tmp_path / "serial", potential_bytes), quiet=True)
    for ranks in (2, 3):
        result = mpirun(ranks, "run", campaign(tmp_path / f"mpi{ranks}", potential_bytes))
        assert result.returncode == 0, result.stderr
        assert result.stdout.count("temperature steps") == 1       # only rank 0 reports
        assert_same_population(read_population(tmp_path / f"mpi{ranks}" / "out" / "results.h5"), serial)
        # resampling did move walkers between the ranks' blocks
        assert any(owner_of(int(p), 12, ranks) != owner_of(j, 12, ranks) for parents in serial.parent
                   for j, p in enumerate(parents))


def test_stopped_run_resumes_on_another_rank_count_to_the_unbroken_result(tmp_path, potential_bytes):
    unbroken = run_campaign(campaign(tmp_path / "a", potential_bytes), quiet=True)
    params = campaign(tmp_path / "b", potential_bytes)
    run_campaign(params, quiet=True, stop_after=2)
    partial = read_population(tmp_path / "b" / "out" / "results.h5")
    assert partial.steps_done == 2 and not partial.complete
    resumed = mpirun(2, "run", params, "--resume", "-q")
    assert resumed.returncode == 0, resumed.stderr
    assert_same_population(read_population(tmp_path / "b" / "out" / "results.h5"), unbroken)


KILLED_RUN = """
import os, signal, sys
from nanomc.cli import main
from nanomc.mc.population import Population
sweep = Population.sweep
def sweep_or_die(self, step, temperature, sweeps):
    if step + 1 == {step}:
        os.kill(os.getpid(), signal.SIGKILL)
    return sweep(self, step, temperature, sweeps)
Population.sweep = sweep_or_die
sys.exit(main(["run", sys.argv[1], "-q"]))
"""


def test_killed_run_resumes_and_a_corrupt_checkpoint_is_one_line(tmp_path, potential_bytes):
    unbroken = run_campaign(campaign(tmp_path / "a", potential_bytes), quiet=True)
    params = campaign(tmp_path / "b", potential_bytes)
    killed = subprocess.run([sys.executable, "-c", KILLED_RUN.format(step=4), str(params)], capture_output=True,
                            text=True, timeout=600)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    results = tmp_path / "b" / "out" / "results.h5"
    assert read_population(results).steps_done == 3               # the checkpoint after step 3 is intact
    again = cli("run", params)
    assert again.returncode == 1 and "--resume" in again.stderr
    assert cli("run", params, "--resume", "-q").returncode == 0
    assert_same_population(read_population(results), unbroken)
    results.write_bytes(results.read_bytes()[:5000])
    broken = cli("run", params, "--resume")
    assert broken.returncode == 1 and broken.stderr.count("\n") == 1 and "results.h5" in broken.stderr
    with pytest.raises(ResultsFileError):
        read_population(results)


def test_resume_refuses_changed_sweeps_and_other_results_files(tmp_path, potential_bytes):
    params = campaign(tmp_path, potential_bytes)
    run_campaign(params, quiet=True, stop_after=1)
    params.write_text(params.read_text().replace("sweeps = 2", "sweeps = 3"))
    with pytest.raises(CampaignError, match="sweeps"):
        run_campaign(params, resume=True, quiet=True)
    params.write_text(params.read_text().replace("sweeps = 3", "sweeps = 2").replace("walkers = 12", "walkers = 10"))
    with pytest.raises(CampaignError, match="walkers"):
        run_campaign(params, resume=True, quiet=True)


@pytest.mark.parametrize("extra, message", [
    ("", "needs `walkers`"),
    ("walkers = 1", "at least 2"),
    ("walkers = 8\nexchange_interval = 2", "does not apply"),
    ("walkers = 8\nresampling = \"stratified\"", "must be one of"),
])
def test_parameter_errors_name_the_key(tmp_path, potential_bytes, extra, message):
    text = textwrap.dedent(PARAMS).replace("walkers = 12\n", "").replace("{extra}", extra)
    tmp_path.joinpath("pot.h5").write_bytes(potential_bytes)
    path = tmp_path / "params.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message) as info:
        run_campaign(path, quiet=True)
    assert str(path) in str(info.value)


def test_temperatures_must_fall_and_walkers_belong_to_pamc(tmp_path, potential_bytes):
    path = campaign(tmp_path, potential_bytes)
    text = path.read_text()
    path.write_text(text.replace("t_max = 3000.0\nt_min = 400.0\nn_temperatures = 5",
                                 "temperatures = [400.0, 3000.0]"))
    with pytest.raises(ConfigError, match="from highest to lowest"):
        run_campaign(path, quiet=True)
    path.write_text(text.replace('ensemble = "pamc"', 'ensemble = "canonical"'))
    with pytest.raises(ConfigError, match="only applies to ensemble = \"pamc\""):
        run_campaign(path, quiet=True)


def test_more_ranks_than_walkers_is_a_one_line_error(tmp_path, potential_bytes):
    params = campaign(tmp_path, potential_bytes)
    params.write_text(params.read_text().replace("walkers = 12", "walkers = 2"))
    result = mpirun(3, "run", params)
    assert result.returncode != 0 and result.stderr.count("nanomc: error:") == 1
    assert "3 MPI ranks but only 2 walkers" in result.stderr


def test_beta_schedule_is_linear_in_inverse_temperature(tmp_path, potential_bytes):
    record = run_campaign(campaign(tmp_path, potential_bytes, 'schedule = "beta"'), quiet=True, stop_after=1)
    assert np.allclose(np.diff(1.0 / record.temperatures), np.diff(1.0 / record.temperatures)[0])
    assert record.temperatures[0] == 3000.0 and record.temperatures[-1] == pytest.approx(400.0)


def test_walker_streams_depend_on_position_only():
    a, b = walker_rng(7, 2, 3, 5).random(4), walker_rng(7, 2, 3, 5).random(4)
    assert np.array_equal(a, b) and not np.array_equal(a, walker_rng(7, 2, 3, 6).random(4))


def test_select_and_relax_read_population_campaigns(tmp_path, potential_bytes):
    from nanomc.relax import campaign_structures
    from nanomc.training.select import read_snapshots

    params = campaign(tmp_path, potential_bytes)
    record = run_campaign(params, quiet=True)
    per_step = list(read_snapshots(tmp_path / "out" / "results.h5", discard=0.2))
    assert len(per_step) == 5 and all(s.occupations.shape == (12, 55) for s in per_step)
    assert np.array_equal(per_step[-1].occupations, record.snapshots[-1])
    assert per_step[-1].labels[3].endswith("400K:walker3")
    _, _, picked = campaign_structures(params, "both")
    (final_name, _, final), (best_name, best_label, best) = picked
    assert final.info["temperature_K"] == pytest.approx(400.0) and best_label == "best"
    assert best.info["energy_eV"] == pytest.approx(record.best_energy)
