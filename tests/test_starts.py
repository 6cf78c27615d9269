"""Independent starts: their occupations, streams, resume and MPI, and their convergence diagnostics."""
import h5py
import numpy as np
import pytest
from ase.io import write

import nanomc.analysis as na
from nanomc.analysis.run_summary import energy_convergence_lines, quantity_convergence_lines
from nanomc.campaign import run_campaign
from nanomc.campaign.schema import ConfigError, load_config
from nanomc.mc.groups import SwapGroups
from nanomc.mc.exchange import ExchangeLadder
from nanomc.mc.starts import start_occupation, start_streams
from nanomc.particles import cluster_shape
from nanomc.campaign.results import read_results
from conftest import write_campaign
from test_campaign import run_killed_at
from test_replica_exchange import assert_same_results, mpirun

PARAMS = """
[particle]
shape = "truncated_octahedron"
size = 5
composition = { Au = 0.3, Cu = 0.7 }

[potential]
file = "pot.h5"

[mc]
temperatures = [400.0, 900.0]
exchange_interval = 2
{starts}
sweeps = 30
seed = 11
snapshot_interval = 5
checkpoint_interval = 10

[output]
directory = "out"
"""


def campaign(directory, potential_bytes, starts="", text=PARAMS):
    return write_campaign(directory, potential_bytes, text.replace("{starts}", starts))


def test_surface_first_and_core_first_put_the_rarest_element_on_the_extreme_sites():
    atoms = cluster_shape("truncated_octahedron", "Cu", 3.8, 5)
    z = np.zeros(len(atoms), np.int64)
    z[:24] = 1                                   # 24 Au (index 1) among 79 sites
    groups = SwapGroups.single(len(atoms), [0, 1])
    coordination = np.diff(groups.neighbour_partners(atoms)[0])
    ranked = np.sort(coordination)
    for kind, expected in (("surface-first", ranked[:24]), ("core-first", ranked[-24:])):
        out = start_occupation(kind, z, groups, atoms, np.random.default_rng(0))
        assert np.bincount(out).tolist() == [55, 24]
        assert np.sort(coordination[out == 1]).tolist() == expected.tolist()
    shuffled = start_occupation("random", z, groups, atoms, np.random.default_rng(0))
    assert np.bincount(shuffled).tolist() == [55, 24] and not np.array_equal(shuffled, z)
    assert np.array_equal(start_occupation("random", z, groups, atoms, np.random.default_rng(0), drawn=True), z)
    assert np.array_equal(start_occupation("file", z, groups, atoms, np.random.default_rng(0)), z)


def test_starts_in_separate_swap_groups_keep_every_groups_counts():
    atoms = cluster_shape("truncated_octahedron", "Cu", 3.8, 5)
    group = np.arange(len(atoms)) % 2                # two interleaved groups, each with its own rare element
    groups = SwapGroups(group, [[0, 1], [0, 2]])
    z = np.where(group == 0, 0, 2)
    z[np.flatnonzero(group == 0)[:5]] = 1
    z[np.flatnonzero(group == 1)[:30]] = 0
    for kind in ("random", "surface-first", "core-first"):
        out = start_occupation(kind, z, groups, atoms, np.random.default_rng(1))
        for g in (0, 1):
            assert np.array_equal(np.bincount(out[group == g], minlength=3), np.bincount(z[group == g], minlength=3))


@pytest.mark.parametrize("starts,words", [
    ("starts = 0", ["params.toml:13:", "`starts` must be at least 1"]),
    ('starts = ["random", "shell-first"]', ["params.toml:13:", "unknown start 'shell-first'", "core-first"]),
    ("starts = []", ["params.toml:13:", "at least one start"]),
    ("starts = 2.5", ["params.toml:13:", "`starts` in [mc] must be a number of starts or a list"]),
    ('starts = ["random", "file"]', ["params.toml:13:", 'start "file"', 'shape = "file"']),
])
def test_bad_starts_are_one_line_errors_naming_file_line_and_key(tmp_path, potential_bytes, starts, words):
    with pytest.raises(ConfigError) as err:
        load_config(campaign(tmp_path, potential_bytes, starts))
    assert "\n" not in str(err.value)
    for word in words:
        assert word in str(err.value), str(err.value)


def test_every_start_has_its_own_streams_and_start_0_those_of_before():
    seed, replicas = 11, 3
    before = np.random.SeedSequence(seed).spawn(replicas + 2)
    draws = {}
    for start in range(3):
        streams = start_streams(seed, start, replicas)
        for k, stream in enumerate(streams):
            draws[start, k] = np.random.default_rng(stream).random(4).tobytes()
        if start == 0:
            assert [s.spawn_key for s in streams] == [s.spawn_key for s in before]
            assert all(draws[0, k] == np.random.default_rng(s).random(4).tobytes() for k, s in enumerate(before))
    assert len(set(draws.values())) == len(draws)


def test_each_start_exchanges_within_its_own_ladder(tmp_path, potential_bytes):
    """Replaying start 1's exchanges from its recorded energies and its own exchange stream gives its recorded
    temperature paths: the ladder of a start sees only that start's replicas."""
    text = PARAMS.replace("temperatures = [400.0, 900.0]", "temperatures = [1000.0, 1100.0, 1200.0]")
    record = run_campaign(campaign(tmp_path, potential_bytes, "starts = 2", text), quiet=True)
    n = len(record.temperatures)
    energy = np.array(record.energy)[n:]                           # start 1, per temperature and sweep
    path = np.array(record.replica_temperature)[n:]                # start 1's replicas: temperature index per sweep
    ladder = ExchangeLadder(record.temperatures, np.random.default_rng(start_streams(11, 1, n)[n + 1]))
    for sweep in range(1, record.sweeps_done):
        assert np.array_equal(ladder.temperature_of, path[:, sweep - 1])
        if sweep % 2 == 0:
            ladder.exchange(energy[path[:, sweep - 1], sweep - 1])
    assert np.array_equal(ladder.temperature_of, path[:, -1])
    assert ladder.accepted.sum() > 0 and ladder.accepted.sum() < ladder.attempts.sum()


def test_one_start_is_the_campaign_of_before_and_start_0_of_several_is_too(tmp_path, potential_bytes):
    plain = run_campaign(campaign(tmp_path / "plain", potential_bytes), quiet=True)
    explicit = run_campaign(campaign(tmp_path / "one", potential_bytes, "starts = 1"), quiet=True)
    assert_same_results(explicit, plain)
    with h5py.File(tmp_path / "one" / "out" / "results.h5") as f:
        assert f.attrs["format_version"] == 1           # the layout of before
    three = run_campaign(campaign(tmp_path / "three", potential_bytes, 'starts = ["random", "surface-first", '
                                                                       '"core-first"]'), quiet=True)
    assert three.starts == ["random", "surface-first", "core-first"] and three.n_chains == 6
    assert np.array_equal(np.array(three.energy[:2]), np.array(plain.energy))
    assert np.array_equal(np.array(three.snapshots)[:, :2], np.array(plain.snapshots))
    assert three.exchange["attempts"].shape == (3, 1)
    # every start begins from its own occupation: Au (the rarer element) on low- and high-coordinated sites
    au = three.elements.index("Au")
    first = np.array(three.snapshots[0])
    assert len({first[c].tobytes() for c in (0, 2, 4)}) == 3
    assert all((first[c] == au).sum() == (first[0] == au).sum() for c in range(6))
    assert len({tuple(np.round(e[:3], 6)) for e in three.energy}) == 6


def test_starts_resume_and_are_identical_on_any_rank_count(tmp_path, potential_bytes):
    starts = 'starts = ["random", "core-first"]'
    serial = run_campaign(campaign(tmp_path / "serial", potential_bytes, starts), quiet=True)
    params = campaign(tmp_path / "killed", potential_bytes, starts)
    run_killed_at(params, 15)
    partial = read_results(tmp_path / "killed" / "out" / "results.h5")
    assert partial.sweeps_done == 10 and partial.starts == ["random", "core-first"]
    resumed = mpirun(2, "run", params, "--resume", "-q")     # resumed on another number of ranks
    assert resumed.returncode == 0, resumed.stderr
    assert_same_results(read_results(tmp_path / "killed" / "out" / "results.h5"), serial)
    three = mpirun(3, "run", campaign(tmp_path / "three", potential_bytes, starts), "-q")
    assert three.returncode == 0, three.stderr
    assert_same_results(read_results(tmp_path / "three" / "out" / "results.h5"), serial)


def test_resume_refuses_a_changed_list_of_starts(tmp_path, potential_bytes):
    params = campaign(tmp_path, potential_bytes, "starts = 2")
    run_campaign(params, quiet=True, stop_after=10)
    params.write_text(params.read_text().replace("starts = 2", "starts = 3"))
    with pytest.raises(Exception, match=r"\[mc\] starts: 2 -> 3"):
        run_campaign(params, resume=True, quiet=True)


def test_file_start_keeps_the_files_occupation(tmp_path, potential_bytes):
    atoms = cluster_shape("truncated_octahedron", "Cu", 3.8, 5)
    symbols = np.array(["Cu"] * len(atoms))
    symbols[::4] = "Au"
    atoms.set_chemical_symbols(list(symbols))
    write(tmp_path / "start.xyz", atoms)
    text = PARAMS.replace('shape = "truncated_octahedron"\nsize = 5\ncomposition = { Au = 0.3, Cu = 0.7 }',
                          'shape = "file"\nfile = "start.xyz"')
    record = run_campaign(campaign(tmp_path, potential_bytes, 'starts = ["file", "random"]', text), quiet=True)
    first = np.array(record.snapshots[0])
    assert [record.elements[k] for k in first[0]] == list(symbols)
    assert (first[2] != first[0]).any() and np.bincount(first[2]).tolist() == np.bincount(first[0]).tolist()


STUCK = """
[particle]
shape = "truncated_octahedron"
size = 5
composition = { Au = 0.3, Cu = 0.7 }

[potential]
file = "AuCu"

[mc]
temperatures = [{temperature}]
starts = ["surface-first", "core-first"]
sweeps = 60
seed = 5
snapshot_interval = 1
checkpoint_interval = 60

[output]
directory = "out"
"""


@pytest.mark.filterwarnings("ignore::nanomc.analysis.DriftWarning")
def test_starts_stuck_in_different_basins_are_flagged(tmp_path):
    """At 20 K (k_B T = 1.7 meV against swap energies of ~0.1 eV with the shipped Au–Cu potential `AuCu`) a chain
    hardly leaves the basin it first falls into. From Au on the lowest-coordinated sites (surface-first) and
    Au in the core (core-first) both chains bring all Au to the surface within the first sweeps (the surface
    composition agrees: it is converged), but they freeze with Au on different surface sites: the energy and
    the Au fraction of the edge sites differ between the starts by more than within them, R̂ is far above 1.1
    and they are flagged. At 20,000 K the same starts mix within a few sweeps and R̂ stays near 1."""
    cold = run_campaign(write_campaign(tmp_path / "cold", b"", STUCK.replace("{temperature}", "20.0")), quiet=True)
    a = na.load(cold, element="Au", discard=0.5)
    for quantity, category in (("energy", ""), ("composition_site_type", "edge")):
        row = a.table.value(quantity=quantity, category=category, element="Au" if category else "")
        assert row["rhat"] > 1.1 and not row["mcmc_converged"], (quantity, row)
    assert a.table.value(quantity="composition_layer", category="0", element="Au")["mcmc_converged"]
    flagged = {(r["quantity"], r["category"]) for r in a.info["convergence"]["not_converged"]}
    assert {("energy", ""), ("composition_site_type", "edge")} <= flagged
    assert "**" in na.markdown(a) and "| 20 | energy |" in na.markdown(a)
    assert "NOT converged" in "\n".join(energy_convergence_lines(cold))
    # the run summary names the quantities the analysis flags (its default discard and pair element)
    named, = quantity_convergence_lines(cold)
    default = na.load(cold).info["convergence"]
    assert f"{len(default['not_converged'])} of {default['diagnosed']} values NOT converged" in named
    assert "energy at 20 K" in named and "composition_site_type edge" in named
    hot = run_campaign(write_campaign(tmp_path / "hot", b"", STUCK.replace("{temperature}", "20000.0")), quiet=True)
    b = na.load(hot, element="Au", discard=0.5)
    for quantity, category in (("energy", ""), ("composition_site_type", "edge")):
        assert b.table.value(quantity=quantity, category=category, element="Au" if category else "")["rhat"] < 1.1


@pytest.mark.filterwarnings("ignore::nanomc.analysis.AnalysisWarning")
def test_analysis_pools_the_starts_and_reads_files_without_starts(tmp_path, potential_bytes):
    record = run_campaign(campaign(tmp_path / "two", potential_bytes, "starts = 2"), quiet=True)
    a = na.load(tmp_path / "two" / "out" / "results.h5", element="Au", discard=0.2)
    row = a.table.value(quantity="composition_layer", category="0", element="Au", temperature_K=400.0)
    snaps = np.array(record.snapshots)[np.array(record.snapshot_sweeps) >= 6]        # (K, 4, N)
    assert row["n_samples"] == 2 * len(snaps)
    surface = a.geometry.layers.index == 0
    au = record.elements.index("Au")
    pooled = np.mean([(snaps[:, c][:, surface] == au).mean() for c in (0, 2)])
    assert row["mean"] == pytest.approx(pooled)
    assert np.isnan(row["rhat"])                 # 5 snapshots per start: too few to split into halves of 4
    energy = a.table.value(quantity="energy", temperature_K=400.0)
    assert np.isfinite(energy["rhat"]) and energy["n_samples"] == 2 * 25 and a.info["convergence"]["starts"] == 2
    # a file written before starts existed: no `starts` attribute, one start
    old = tmp_path / "old.h5"
    run_campaign(campaign(tmp_path / "one", potential_bytes), quiet=True)
    (tmp_path / "one" / "out" / "results.h5").rename(old)
    with h5py.File(old, "a") as f:
        del f.attrs["starts"]
    assert read_results(old).starts == ["initial"]
    assert na.load(old, element="Au").info["convergence"]["compared"] == "halves of the chain"
