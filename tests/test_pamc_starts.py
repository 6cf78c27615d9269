"""Population annealing with several starts: K independent populations, their streams, MPI and resume,
and the test that their estimates agree (nanomc.analysis.convergence.agreement)."""
import json
import signal
import subprocess
import sys

import h5py
import numpy as np
import pytest
from scipy.stats import binom
from test_campaign import cli
from test_pamc import KILLED_RUN, assert_same_population, campaign  # campaign: its `extra` line holds the starts
from test_replica_exchange import mpirun

import nanomc.analysis as na
from nanomc.analysis.report import NOT_CONVERGED
from nanomc.analysis.run_summary import population_convergence_lines
from nanomc.campaign import run_campaign
from nanomc.campaign.schema import ConfigError, load_config
from nanomc.mc import KB
from nanomc.mc.parallel import owner_of
from nanomc.mc.population import walker_rng
from nanomc.mc.starts import start_seed
from nanomc.campaign.population import describe_population
from nanomc.campaign.population_results import population_block, read_population, thermodynamics
from conftest import write_campaign

def test_population_streams_are_those_of_their_start():
    """Population 0 draws from the keys of a campaign of one population; population s from the same keys
    below its start's root (STARTS_KEY, s), and every population's streams differ."""
    assert walker_rng(9, 2, 3, 5).random(3).tobytes() == np.random.default_rng(
        np.random.SeedSequence(9, spawn_key=(2, 3, 5))).random(3).tobytes()
    assert walker_rng(9, 2, 3, 5, start=0).random(3).tobytes() == walker_rng(9, 2, 3, 5).random(3).tobytes()
    root = start_seed(9, 2)
    assert walker_rng(9, 2, 3, 5, start=2).random(3).tobytes() == np.random.default_rng(
        np.random.SeedSequence(9, spawn_key=(*root.spawn_key, 2, 3, 5))).random(3).tobytes()
    draws = {walker_rng(9, 1, j, start=s).random(3).tobytes() for s in range(3) for j in range(4)}
    assert len(draws) == 12


def test_population_0_is_the_campaign_of_one_population_and_populations_stay_apart(tmp_path, potential_bytes):
    one = run_campaign(campaign(tmp_path / "one", potential_bytes), quiet=True)
    with h5py.File(tmp_path / "one" / "out" / "results.h5") as f:
        assert f.attrs["format_version"] == 1 and "starts" not in f.attrs      # the layout of before
    three = run_campaign(campaign(tmp_path / "three", potential_bytes, "starts = 3"), quiet=True)
    assert three.starts == ["random"] * 3 and three.walkers == 12 and three.n_walkers == 36
    first = population_block(three, 0)
    for key in ("energy", "acceptance", "family", "parent", "snapshots"):
        assert np.array_equal(np.array(getattr(three, key))[:, first], np.array(getattr(one, key))), key
    assert np.array_equal(np.array(three.initial_energy)[first], one.initial_energy)
    assert np.array_equal(np.array(three.log_q)[:, 0], np.array(one.log_q)[:, 0])
    for name, values in thermodynamics(one).items():
        assert np.array_equal(thermodynamics(three, 0)[name], values, equal_nan=True), name
    # each population resamples only its own walkers, from its own streams: parents and families stay in the block
    for s in range(3):
        block = population_block(three, s)
        for parents, family in zip(three.parent, three.family):
            assert ((parents[block] >= block.start) & (parents[block] < block.stop)).all()
            assert ((family[block] >= block.start) & (family[block] < block.stop)).all()
    assert len({np.array(three.energy)[:, population_block(three, s)].tobytes() for s in range(3)}) == 3
    stored = read_population(tmp_path / "three" / "out" / "results.h5")
    assert_same_population(stored, three)
    assert stored.starts == ["random"] * 3
    with h5py.File(tmp_path / "three" / "out" / "results.h5") as f:
        assert f.attrs["format_version"] == 2 and f["steps/log_q"].shape == (5, 3)
        assert np.array_equal(f["steps/free_energy"][:, 0], thermodynamics(one)["free_energy"])


def test_named_populations_start_every_walker_on_their_occupation(tmp_path, potential_bytes):
    record = run_campaign(campaign(tmp_path, potential_bytes, 'starts = ["random", "surface-first", "core-first"]'),
                          quiet=True, stop_after=1)
    initial = np.asarray(record.initial_energy)
    random_, surface, core = (initial[population_block(record, s)] for s in range(3))
    assert len(np.unique(random_)) == 12                    # independent random occupations
    assert np.ptp(surface) == 0 and np.ptp(core) == 0       # one occupation per named population
    assert surface[0] != core[0]
    # identical walkers have equal weights: the first step copies every walker once, and ln Q_0 = −β_0 E_0
    parents = record.parent[0]
    for s in (1, 2):
        block = population_block(record, s)
        assert np.array_equal(parents[block], np.arange(block.start, block.stop))
    beta0 = 1 / (KB * record.temperatures[0])
    assert record.log_q[0][1] == pytest.approx(-beta0 * surface[0], rel=1e-12)
    # only the random population estimates ln Z (a named one is no sample of infinite temperature)
    assert np.isfinite(thermodynamics(record, 0)["ln_z"]).all()
    assert np.isnan(thermodynamics(record, 1)["ln_z"]).all()
    assert np.isnan(thermodynamics(record, 2)["free_energy"]).all()
    assert np.isfinite(thermodynamics(record, 2)["mean_energy"]).all()


def test_populations_resume_and_are_identical_on_any_rank_count(tmp_path, potential_bytes):
    starts = 'starts = ["random", "core-first"]'
    serial = run_campaign(campaign(tmp_path / "serial", potential_bytes, starts), quiet=True)
    # 24 walkers on 3 ranks in blocks of 8: population 0 (slots 0-11) spans ranks 0 and 1, population 1 ranks 1
    # and 2, and resampling copies walkers across ranks
    assert any(owner_of(int(p), 24, 3) != owner_of(j, 24, 3)
               for parents in serial.parent for j, p in enumerate(parents))
    for ranks in (2, 3):
        result = mpirun(ranks, "run", campaign(tmp_path / f"mpi{ranks}", potential_bytes, starts), "-q")
        assert result.returncode == 0, result.stderr
        assert_same_population(read_population(tmp_path / f"mpi{ranks}" / "out" / "results.h5"), serial)
    params = campaign(tmp_path / "killed", potential_bytes, starts)
    killed = subprocess.run([sys.executable, "-c", KILLED_RUN.format(step=3), str(params)], capture_output=True,
                            text=True, timeout=600)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert read_population(tmp_path / "killed" / "out" / "results.h5").steps_done == 2
    resumed = mpirun(2, "run", params, "--resume", "-q")       # resumed on another number of ranks
    assert resumed.returncode == 0, resumed.stderr
    assert_same_population(read_population(tmp_path / "killed" / "out" / "results.h5"), serial)


def test_resume_refuses_other_starts_and_too_many_ranks_name_the_populations(tmp_path, potential_bytes):
    params = campaign(tmp_path, potential_bytes, "starts = 2")
    run_campaign(params, quiet=True, stop_after=1)
    params.write_text(params.read_text().replace("starts = 2", "starts = 3"))
    with pytest.raises(Exception, match=r"\[mc\] starts: 2 -> 3"):
        run_campaign(params, resume=True, quiet=True)
    small = campaign(tmp_path / "small", potential_bytes, "starts = 2")
    small.write_text(small.read_text().replace("walkers = 12", "walkers = 2"))
    result = mpirun(5, "run", small)
    assert result.returncode != 0 and result.stderr.count("nanomc: error:") == 1
    assert "5 MPI ranks but only 4 walkers (2 populations of 2)" in result.stderr


def test_file_start_needs_the_structure_file_also_for_pamc(tmp_path, potential_bytes):
    with pytest.raises(ConfigError) as err:
        load_config(campaign(tmp_path, potential_bytes, 'starts = ["random", "file"]'))
    assert "\n" not in str(err.value) and "params.toml:" in str(err.value) and 'start "file"' in str(err.value)


FROZEN = """
[particle]
shape = "truncated_octahedron"
size = 5
composition = { Au = 0.3, Cu = 0.7 }

[potential]
file = "pot.h5"

[mc]
ensemble = "pamc"
walkers = 12
temperatures = [{temperature}]
starts = ["surface-first", "core-first"]
sweeps = {sweeps}
seed = 5

[output]
directory = "out"
"""


def like_bonds_potential(bond: float = -0.2) -> bytes:
    """An Ising-like nearest-neighbour model as a potential file: every Au–Au and Cu–Cu bond (first shell,
    2.8 Å < 3.3 Å < 3.9 Å) `bond` eV, Au–Cu bonds 0, so Au and Cu separate (E_i = bond/2 · like neighbours)."""
    import tempfile
    from pathlib import Path

    from nanomc.potential import CutoffFunction, DescriptorSet, Layer, Network, Potential, RadialFunction

    cutoff = CutoffFunction("hard", 3.3)
    counts = DescriptorSet((RadialFunction(0.0, 0.0, "Au", cutoff), RadialFunction(0.0, 0.0, "Cu", cutoff)), ())
    networks = {"Au": Network([Layer(np.array([[bond / 2, 0.0]]), np.zeros(1), "linear")]),
                "Cu": Network([Layer(np.array([[0.0, bond / 2]]), np.zeros(1), "linear")])}
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "pot.h5"
        Potential(["Au", "Cu"], 3.3, {"Au": counts, "Cu": counts}, networks).save(path)
        return path.read_bytes()


@pytest.mark.filterwarnings("ignore::nanomc.analysis.AnalysisWarning")
def test_populations_stuck_in_different_basins_are_flagged(tmp_path):
    """Two basins: with like-atom bonds of −0.2 eV (a phase-separating alloy) at 20 K (k_B T = 1.7 meV) no
    swap that breaks a bond is ever accepted. Population 0 starts with Au on the 24 lowest-coordinated
    surface sites (surface-first), where every swap costs bonds: its 12 walkers never move (acceptance 0).
    Population 1 starts with Au in the core (core-first) and its walkers only coarsen it downhill. One
    temperature step, so no resampling: 12 families each. Their energies differ by many eV against errors
    of a fraction of one, the χ² test rejects them (p = 0 in floating point) and the energy and the
    surface composition are marked ‡. At 20,000 K (k_B T = 8.6 bonds) the same populations randomise
    within their 30 sweeps, and their energies agree."""
    pot = like_bonds_potential()
    text = FROZEN.replace("{temperature}", "20.0").replace("{sweeps}", "10")
    cold = run_campaign(write_campaign(tmp_path / "cold", pot, text), quiet=True)
    frozen, moving = (np.asarray(cold.acceptance[-1])[population_block(cold, s)] for s in range(2))
    assert (frozen == 0).all() and (moving > 0).all()
    a = na.load(cold, element="Au")
    energy = a.table.value(quantity="energy")
    assert energy["agreement_p"] < 1e-6 and not energy["mcmc_converged"]
    means = [np.mean(np.asarray(cold.energy[-1])[population_block(cold, s)]) for s in range(2)]
    assert energy["mean"] == pytest.approx(np.mean(means))
    assert energy["error"] == pytest.approx(abs(means[1] - means[0]) / 2)    # the spread error of two estimates
    surface = a.table.value(quantity="composition_layer", category="0", element="Au")
    assert surface["agreement_p"] < 1e-6 and not surface["mcmc_converged"]
    flagged = {(r["quantity"], r["category"]) for r in a.info["convergence"]["not_converged"]}
    assert {("energy", ""), ("composition_layer", "0")} <= flagged
    assert a.info["convergence"]["compared"] == "populations"
    report = na.markdown(a)
    assert "## Convergence" in report and "| 20 | energy |" in report and f"± 3.9 † {NOT_CONVERGED}" in report
    assert "NOT converged" in "\n".join(population_convergence_lines(cold))
    text = FROZEN.replace("{temperature}", "20000.0").replace("{sweeps}", "30")
    hot = run_campaign(write_campaign(tmp_path / "hot", pot, text), quiet=True)
    b = na.load(hot, element="Au")
    assert b.table.value(quantity="energy")["agreement_p"] >= 0.01
    assert b.table.value(quantity="composition_layer", category="0", element="Au")["agreement_p"] >= 0.01
    assert population_convergence_lines(hot)[1].endswith(" converged")


STATIONARY = FROZEN.replace("walkers = 12", "walkers = 60").replace(
    'starts = ["surface-first", "core-first"]', "starts = 3").replace("seed = 5", "seed = 1")


def test_random_populations_of_a_stationary_case_agree(tmp_path):
    """Three random populations of 60 walkers of the like-bonds alloy cooled to 12,000 K (k_B T = 5.2
    bonds; 20 or more families in each, so that their clustered errors hold) sample the same
    distributions: ⟨E⟩ and F agree at every step, and of all values only about 1 % may be flagged by
    chance. Rows that carry the same test (Au and Cu of a composition) are counted once, over distinct
    (step, quantity, category), against the 99.9 % quantile of the binomial count at a false alarm rate
    of 0.03 per test (the nominal 0.01 tripled for χ² with errors estimated from 20–60 families)."""
    text = STATIONARY.replace("{temperature}", "30000.0, 20000.0, 12000.0").replace("{sweeps}", "3")
    record = run_campaign(write_campaign(tmp_path, like_bonds_potential(), text), quiet=True)
    for s in range(3):
        assert (thermodynamics(record, s)["families"] >= 20).all()
    a = na.load(record, element="Au")
    for quantity in ("energy", "free_energy", "entropy", "ln_z"):
        rows = a.select(quantity=quantity)
        assert len(rows) == 3 and np.isfinite(rows["agreement_p"]).all()
        assert rows["mcmc_converged"].all(), (quantity, rows["agreement_p"])
    tested = a.table.subset(np.isfinite(a.table["agreement_p"]))
    tests = {(r["temperature_K"], r["quantity"], r["category"]) for r in tested.rows()}
    failed = {(r["temperature_K"], r["quantity"], r["category"]) for r in tested.rows() if not r["mcmc_converged"]}
    assert len(tests) > 60
    assert len(failed) <= binom.ppf(0.999, len(tests), 0.03), failed
    # the pooled value is the mean of the populations' values; its error at least their propagated error
    th = [thermodynamics(record, s) for s in range(3)]
    for k, temperature in enumerate(record.temperatures):
        row = a.table.value(quantity="free_energy", temperature_K=temperature)
        assert row["mean"] == pytest.approx(np.mean([t["free_energy"][k] for t in th]), rel=1e-12)
        assert row["error"] >= np.sqrt(sum((KB * temperature * t["ln_z_error"][k]) ** 2 for t in th)) / 3 * (1 - 1e-9)
    summary = describe_population(record)
    assert "3 populations (random, random, random) of 60 walkers" in summary
    lines = population_convergence_lines(record)
    assert len(lines) == 4 and all(line.endswith(" converged") and "NOT" not in line for line in lines[1:])


def test_cli_run_and_analyze_report_the_populations(tmp_path):
    text = STATIONARY.replace("starts = 3", "starts = 2").replace("{temperature}", "30000.0, 20000.0").replace(
        "{sweeps}", "2")
    params = write_campaign(tmp_path, like_bonds_potential(), text)
    run = cli("run", params)
    assert run.returncode == 0, run.stderr
    assert "2 populations (random, random) of 60 walkers" in run.stdout
    assert "agreement of the 2 populations" in run.stdout and "T   20000 K  <E> p" in run.stdout
    out = cli("analyze", tmp_path / "out" / "results.h5", "--out", tmp_path / "an", "-q")
    assert out.returncode == 0, out.stderr
    header = (tmp_path / "an" / "analysis.csv").read_text().splitlines()[0].split(",")
    assert "agreement_p" in header
    document = json.loads((tmp_path / "an" / "analysis.json").read_text())
    assert document["info"]["convergence"]["compared"] == "populations"
    assert document["info"]["starts"] == ["random", "random"]
    energy = [r for r in document["rows"] if r["quantity"] == "energy"]
    assert len(energy) == 2 and all(0 <= r["agreement_p"] <= 1 for r in energy)
    assert "2 independent populations (random, random) of 60 walkers" in (tmp_path / "an" / "analysis.md").read_text()


def test_a_scan_point_of_several_populations_can_use_all_their_walkers(tmp_path, potential_bytes):
    from nanomc.campaign.scan import Point

    config, text = load_config(campaign(tmp_path, potential_bytes, "starts = 3"))
    assert Point("p", {}, config, text).chains() == 36
