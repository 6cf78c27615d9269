"""Campaigns from parameter files: validation, outputs, checkpoints and resume (nanomc run)."""
import os
import re
import signal
import subprocess
import sys
import time

import h5py
import numpy as np
import pytest
from ase.cluster import Octahedron
from ase.io import read, write

import nanomc
from nanomc.campaign import run_campaign
from nanomc.campaign.schema import SCHEMA, ConfigError, load_config
from nanomc.campaign.results import read_results
from conftest import write_campaign

BASE = """
[particle]
shape = "truncated_octahedron"
size = 5
composition = { Au = 0.5, Cu = 0.5 }

[potential]
file = "pot.h5"

[mc]
temperatures = [400.0, 900.0]
sweeps = 12
seed = 3
snapshot_interval = 4
checkpoint_interval = 5

[output]
directory = "out"
"""


@pytest.fixture(scope="module")
def potential_file(campaign_potential_file):
    return campaign_potential_file


def write_params(tmp_path, potential_file, text=BASE):
    return write_campaign(tmp_path, potential_file.read_bytes(), text)


def cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "nanomc.cli", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=600)


def test_run_writes_results_and_structures(tmp_path, potential_file):
    params = write_params(tmp_path, potential_file)
    record = run_campaign(params, quiet=True)
    out = tmp_path / "out"
    rec = read_results(out / "results.h5")
    assert rec.complete and rec.sweeps_done == 12
    assert np.array(rec.energy).shape == (2, 12)
    assert rec.snapshot_sweeps == [0, 4, 8, 12]
    assert np.array(rec.snapshots).shape == (4, 2, len(rec.positions))
    assert rec.parameters == params.read_text()
    # canonical: composition of every snapshot equals the initial one
    n_cu = int((rec.initial_elements == 1).sum())
    assert all(int((snap == 1).sum()) == n_cu for chain in rec.snapshots for snap in chain)
    # final energies are the energies of the final occupations, evaluated from scratch
    pot = nanomc.Potential.load(tmp_path / "pot.h5")
    final = read(out / "final.extxyz", ":")
    best = read(out / "best.extxyz", ":")
    assert len(final) == len(best) == 2
    for c in range(2):
        assert pot.energy(final[c]) == pytest.approx(record.final_energy[c], abs=1e-8)
        assert pot.energy(best[c]) == pytest.approx(record.best_energy[c], abs=1e-8)
        assert record.best_energy[c] <= min(record.energy[c]) + 1e-9
        assert rec.energy[c][-1] == pytest.approx(record.final_energy[c], abs=1e-12)
    with h5py.File(out / "results.h5") as f:
        assert f.attrs["potential_hash"] == pot.content_hash()
        assert f["snapshots/elements"].dtype == np.int8


def test_same_seed_same_run_different_seed_different_run(tmp_path, potential_file):
    runs = []
    for k, seed in enumerate([3, 3, 4]):
        d = tmp_path / str(k)
        d.mkdir()
        params = write_params(d, potential_file, BASE.replace("seed = 3", f"seed = {seed}"))
        runs.append(run_campaign(params, quiet=True))
    assert np.array_equal(runs[0].energy, runs[1].energy)
    assert np.array_equal(runs[0].final_elements, runs[1].final_elements)
    assert not np.array_equal(runs[0].final_elements, runs[2].final_elements)


#: runs `nanomc run` in a child that SIGKILLs itself when sweep {sweep} (1-based) starts: a hard kill
#: at a known point, after the last checkpoint before it and with nothing else written since
KILLED_RUN = """
import os, signal, sys
from nanomc.cli import main
from nanomc.mc.driver import Driver
step = Driver.step
def step_or_die(self, sweep):
    if sweep + 1 == {sweep}:
        os.kill(os.getpid(), signal.SIGKILL)
    return step(self, sweep)
Driver.step = step_or_die
sys.exit(main(["run", sys.argv[1], "-q"]))
"""


def run_killed_at(params, sweep):
    """Run the campaign of `params` in a child process that is SIGKILLed as sweep `sweep` starts."""
    proc = subprocess.run([sys.executable, "-c", KILLED_RUN.format(sweep=sweep), str(params)], capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == -signal.SIGKILL, proc.stderr


def test_killed_run_resumes_to_the_unbroken_result(tmp_path, potential_file):
    long = BASE.replace("sweeps = 12", "sweeps = 400").replace("checkpoint_interval = 5", "checkpoint_interval = 20")
    unbroken_dir, killed_dir = tmp_path / "unbroken", tmp_path / "killed"
    unbroken_dir.mkdir()
    killed_dir.mkdir()
    unbroken = run_campaign(write_params(unbroken_dir, potential_file, long), quiet=True)
    params = write_params(killed_dir, potential_file, long)
    run_killed_at(params, 151)
    results = killed_dir / "out" / "results.h5"
    partial = read_results(results)  # still a complete, readable file: the checkpoint after sweep 140
    assert partial.sweeps_done == 140 and not partial.complete
    again = cli("run", params)
    assert again.returncode == 1 and "--resume" in again.stderr
    resumed = cli("run", params, "--resume", "-q")
    assert resumed.returncode == 0, resumed.stderr
    final = read_results(results)
    assert final.complete and final.sweeps_done == 400
    assert np.array_equal(final.energy, unbroken.energy)
    assert np.array_equal(final.acceptance, unbroken.acceptance)
    assert np.array_equal(final.final_elements, unbroken.final_elements)
    assert np.array_equal(final.best_elements, unbroken.best_elements)
    assert np.array_equal(np.array(final.snapshots), np.array(unbroken.snapshots))


def test_sgc_and_anneal_ensembles(tmp_path, potential_file):
    sgc = BASE.replace('temperatures = [400.0, 900.0]',
                       'ensemble = "sgc"\ntemperatures = [2000.0]\nchemical_potentials = { Cu = 0.3 }')
    d = tmp_path / "sgc"
    d.mkdir()
    rec = run_campaign(write_params(d, potential_file, sgc), quiet=True)
    counts = [int((s[0] == 1).sum()) for s in rec.snapshots]
    assert len(set(counts)) > 1  # the composition fluctuates
    anneal = BASE.replace('temperatures = [400.0, 900.0]',
                          'ensemble = "anneal"\nt_start = 3000.0\nt_end = 50.0')
    d = tmp_path / "anneal"
    d.mkdir()
    rec = run_campaign(write_params(d, potential_file, anneal), quiet=True)
    temps = np.array(rec.temperature_trace[0])
    assert temps[0] == pytest.approx(3000.0) and temps[-1] == pytest.approx(50.0)
    assert np.all(np.diff(temps) < 0)
    assert rec.best_energy[0] <= min(rec.energy[0]) + 1e-9


def test_particle_from_file_with_frozen_atoms_and_swap_groups(tmp_path, potential_file):
    atoms = Octahedron("Au", 5, 1, latticeconstant=3.9)
    atoms.set_chemical_symbols(["Cu" if i % 3 == 0 else "Au" for i in range(len(atoms))])
    write(tmp_path / "start.xyz", atoms)
    text = BASE.replace('shape = "truncated_octahedron"\nsize = 5\ncomposition = { Au = 0.5, Cu = 0.5 }',
                        'shape = "file"\nfile = "start.xyz"\ncomposition = {}\nswap_groups = [["Au", "Cu"]]\n'
                        'frozen_indices = [0, 1, 2, 3]')
    rec = run_campaign(write_params(tmp_path, potential_file, text), quiet=True)
    initial = np.array([1 if i % 3 == 0 else 0 for i in range(len(atoms))])
    assert np.array_equal(rec.initial_elements, initial)  # empty composition keeps the file's occupation
    assert np.all(rec.group[:4] == -1)
    for chain in rec.snapshots:
        for snap in chain:
            assert np.array_equal(snap[:4], initial[:4])
    assert not np.array_equal(rec.final_elements[0], initial)


def test_file_keeps_its_occupation_unless_composition_is_given(tmp_path, potential_file):
    atoms = Octahedron("Au", 5, 1, latticeconstant=3.9)
    pattern = ["Cu" if i % 3 == 0 else "Au" for i in range(len(atoms))]
    atoms.set_chemical_symbols(pattern)
    write(tmp_path / "start.xyz", atoms)
    as_file = 'shape = "file"\nfile = "start.xyz"'
    text = BASE.replace('shape = "truncated_octahedron"\nsize = 5\ncomposition = { Au = 0.5, Cu = 0.5 }', as_file)
    rec = run_campaign(write_params(tmp_path, potential_file, text), quiet=True)
    file_z = np.array([1 if s == "Cu" else 0 for s in pattern])
    assert np.array_equal(rec.initial_elements, file_z)  # no composition: the file's own occupation
    assert np.all(rec.group == 0)  # default: one group of the file's elements
    assert not np.array_equal(rec.final_elements[0], file_z)
    d = tmp_path / "given"
    d.mkdir()
    write(d / "start.xyz", atoms)
    rec = run_campaign(write_params(d, potential_file, text.replace(
        as_file, as_file + "\ncomposition = { Au = 0.25, Cu = 0.75 }")), quiet=True)
    assert int(np.sum(rec.initial_elements == 1)) == round(0.75 * len(atoms))  # composition re-occupies


@pytest.mark.parametrize("particle,words", [
    ('swap_groups = [["Au"], ["Cu"]]', ["swap group Cu has no movable site", "particle Au 44"]),
    ('frozen_elements = ["Au", "Cu"]', ["swap group Au/Cu has no movable site", "particle Au 44"]),
    ("composition = { Au = 0.999, Cu = 0.001 }", ["rounds to Au 44, Cu 0", "leaves no Cu atom"]),
    ('composition = { Au = 1.0 }', ["no possible move", "Au 44"]),
])
def test_runs_that_cannot_use_the_composition_are_refused(tmp_path, potential_file, particle, words):
    # issue 17 item 1: each of these used to run to the end on pure Au44 with exit 0
    text = BASE.replace('shape = "truncated_octahedron"\nsize = 5', 'shape = "octahedron"\nsize = 4')
    if particle.startswith("composition"):
        text = text.replace("composition = { Au = 0.5, Cu = 0.5 }", particle)
    else:
        text = text.replace("composition = { Au = 0.5, Cu = 0.5 }", "composition = { Au = 0.5, Cu = 0.5 }\n" + particle)
    params = write_params(tmp_path, potential_file, text)
    result = cli("run", params)
    assert result.returncode == 1 and result.stderr.count("\n") == 1, result.stderr
    assert f"{params}:" in result.stderr
    for w in words:
        assert w in result.stderr
    assert not (tmp_path / "out").exists()


def test_no_possible_flip_is_refused_in_sgc(tmp_path, potential_file):
    text = BASE.replace('temperatures = [400.0, 900.0]', 'ensemble = "sgc"\ntemperatures = [900.0]').replace(
        "composition = { Au = 0.5, Cu = 0.5 }", "composition = { Au = 1.0 }\nswap_groups = [[\"Au\"]]")
    with pytest.raises(ConfigError, match="no possible move: no swap group allows two elements"):
        run_campaign(write_params(tmp_path, potential_file, text), quiet=True)


@pytest.mark.parametrize(
    "old,new,words",
    [
        ("sweeps = 12", "sweep = 12", ["params.toml:", "unknown key `sweep` in [mc]", "did you mean `sweeps`"]),
        ("sweeps = 12", "sweeps = \"many\"", ["params.toml:12:", "`sweeps` in [mc] must be an integer"]),
        ("sweeps = 12\n", "", ["missing required key `sweeps` in [mc]"]),
        ("[output]", "[outptu]", ["unknown section [outptu]", "did you mean [output]"]),
        ("temperatures = [400.0, 900.0]", "temperatures = [400.0, -5.0]", ["temperatures must be positive"]),
        ("size = 5", "size = 5\natoms = 100", ["exactly one of `size`, `atoms` and `cations`"]),
        ('shape = "truncated_octahedron"', 'shape = "sphere"', ["`shape` in [particle] must be one of"]),
        ("[mc]", "[mc\n", ["not valid TOML"]),
        ("seed = 3", "seed = -1", ["params.toml:13:", "`seed` in [mc] must be an integer from 0 to 2**64 - 1"]),
        ("seed = 3", "seed = 99999999999999999999", ["params.toml:13:", "from 0 to 2**64 - 1"]),
        ("temperatures = [400.0, 900.0]", "temperatures = [nan]", ["params.toml:11:", "must be finite, got nan"]),
        ("temperatures = [400.0, 900.0]", "temperatures = [400.0, inf]", ["params.toml:11:", "finite, got inf"]),
        ("seed = 3", "seed = 3\nchemical_potentials = { Cu = -inf }", ["params.toml:14:", "finite, got -inf"]),
        ("size = 5", "size = 5\nlattice_constant = 1.0", ["params.toml:5:", "`lattice_constant`",
                                                         "between 2.5 and 10 Å, got 1.0"]),
        ("size = 5", "size = 5\nlattice_constant = 40.0", ["params.toml:5:", "between 2.5 and 10 Å"]),
        ('file = "pot.h5"', 'file = "pot.h5"\nmemory_limit_mb = -5', ["params.toml:9:", "`memory_limit_mb`",
                                                                    "must be positive"]),
        ('file = "pot.h5"', 'file = "pot.h5"\nmemory_limit_mb = 0', ["params.toml:9:", "must be positive"]),
        ("temperatures = [400.0, 900.0]", 'ensemble = "anneal"\nt_start = 900.0\nt_end = 300.0\n'
         "temperatures = [400.0, 900.0]", ["params.toml:14:", '`temperatures` does not apply to ensemble = "anneal"']),
        ("temperatures = [400.0, 900.0]", 'ensemble = "anneal"\nt_start = 900.0\nt_end = 300.0\nn_temperatures = 3',
         ["params.toml:14:", '`n_temperatures` does not apply to ensemble = "anneal"']),
        ("seed = 3", "seed = 3\nt_start = 900.0", ["params.toml:14:", '`t_start` only applies to ensemble = "anneal"']),
        ("seed = 3", "seed = 3\nneighbour_swaps = 1.5", ["params.toml:14:", "`neighbour_swaps` is a fraction from 0 "
                                                        "to 1, got 1.5"]),
    ],
)
def test_bad_parameter_files_name_the_key_and_line(tmp_path, potential_file, old, new, words):
    params = write_params(tmp_path, potential_file, BASE.replace(old, new, 1))
    with pytest.raises(ConfigError) as err:
        load_config(params)
    message = str(err.value)
    assert "\n" not in message
    for w in words:
        assert w in message
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "old,new,words",
    [
        ('file = "pot.h5"', 'file = "missing.h5"', ["params.toml:8:", "missing.h5", "potential file not found"]),
        ("composition = { Au = 0.5, Cu = 0.5 }", "composition = { Au = 0.5, Pt = 0.5 }",
         ["params.toml:5:", "Pt", "does not know"]),
        ("composition = { Au = 0.5, Cu = 0.5 }", "composition = { Au = 0.7, Cu = 0.5 }",
         ["params.toml:5:", "add up to 1.200"]),
        ("composition = { Au = 0.5, Cu = 0.5 }", "composition = { Au = 1.5 }", ["params.toml:5:", "between 0 and 1"]),
        ("size = 5", "size = 5\nswap_groups = [[\"Au\", \"Pt\"]]", ["params.toml:5:", "Pt", "does not know"]),
        ("size = 5", "size = 5\nfrozen_indices = [5000]", ["params.toml:5:", "atom 5000 does not exist"]),
        ("temperatures = [400.0, 900.0]", 'ensemble = "sgc"\ntemperatures = [400.0]\nchemical_potentials = { Pt = 0.1 }',
         ["params.toml:13:", "Pt is not an element of the potential"]),
        ('shape = "truncated_octahedron"\nsize = 5', 'shape = "file"\nfile = "nope.xyz"', ["nope.xyz", "not found"]),
    ],
)
def test_bad_campaigns_fail_in_one_line_and_write_nothing(tmp_path, potential_file, old, new, words):
    params = write_params(tmp_path, potential_file, BASE.replace(old, new, 1))
    result = cli("run", params)
    assert result.returncode == 1
    assert result.stderr.startswith("nanomc: error: ") and result.stderr.count("\n") == 1, result.stderr
    for w in words:
        assert w in result.stderr
    assert not (tmp_path / "out").exists()


def test_existing_results_are_refused_unless_overwrite(tmp_path, potential_file):
    params = write_params(tmp_path, potential_file)
    assert cli("run", params, "-q").returncode == 0
    before = (tmp_path / "out" / "results.h5").read_bytes()
    refused = cli("run", params)
    assert refused.returncode == 1 and "exists" in refused.stderr and "--overwrite" in refused.stderr
    assert (tmp_path / "out" / "results.h5").read_bytes() == before
    assert cli("run", params, "--overwrite", "-q").returncode == 0
    nothing = cli("run", params, "--resume", "-q")  # a complete run resumes to itself
    assert nothing.returncode == 0


def test_resume_refuses_changed_parameters_and_missing_results(tmp_path, potential_file):
    params = write_params(tmp_path, potential_file)
    missing = cli("run", params, "--resume")
    assert missing.returncode == 1 and "nothing to resume" in missing.stderr
    assert not (tmp_path / "out").exists()
    assert cli("run", params, "-q").returncode == 0
    params.write_text(params.read_text().replace("seed = 3", "seed = 4"))
    changed = cli("run", params, "--resume")
    assert changed.returncode == 1 and "different parameters" in changed.stderr


def test_corrupt_results_file_is_one_line(tmp_path, potential_file):
    params = write_params(tmp_path, potential_file)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "results.h5").write_bytes(b"\x89HDF garbage")
    result = cli("run", params, "--resume")
    assert result.returncode == 1 and result.stderr.count("\n") == 1
    assert "not a readable HDF5 file" in result.stderr


def test_output_path_that_is_a_file(tmp_path, potential_file):
    params = write_params(tmp_path, potential_file)
    (tmp_path / "out").write_text("a file, not a directory")
    result = cli("run", params)
    assert result.returncode == 1 and "is a file, not a directory" in result.stderr and result.stderr.count("\n") == 1


@pytest.mark.parametrize("example", ["AuCu-6nm", "AuCu-pamc", "AuCu-replica-exchange", "AuCu-segregation", "CeO2-Cu"])
def test_every_example_parameter_file_is_valid(example):
    """The campaign files under runs/ parse and pass every check of the current schema (a key renamed or
    a new rule would otherwise break them unnoticed)."""
    config, _ = load_config(os.path.join(os.path.dirname(__file__), "..", "runs", example, "params.toml"))
    assert config["mc"]["sweeps"] >= 1 and config["potential"]["file"]


def test_shipped_example_and_default_potential_load(tmp_path):
    example = os.path.join(os.path.dirname(__file__), "..", "runs", "AuCu-segregation", "params.toml")
    config, _ = load_config(example)
    assert config["potential"]["file"] == "default"
    from nanomc.potential.store import default_potential_path

    pot = nanomc.Potential.load(default_potential_path())
    assert set(pot.elements) == {"Au", "Cu"}
    assert pot.provenance["test_rmse_meV_per_atom"] < 5.0


def test_cli_progress_and_quiet(tmp_path, potential_file):
    params = write_params(tmp_path, potential_file)
    loud = cli("run", params)
    assert loud.returncode == 0
    assert "sweep 12/12" in loud.stderr and "ETA" in loud.stderr
    assert "T     400 K  final E" in loud.stdout
    quiet = cli("run", params, "--overwrite", "-q")
    assert quiet.returncode == 0 and quiet.stdout == "" and quiet.stderr == ""


def test_a_second_run_into_a_busy_directory_is_refused_and_a_killed_run_leaves_no_stale_lock(tmp_path, potential_file):
    """The output directory is locked while a run lives; the OS drops the lock when it is killed."""
    params = write_params(tmp_path, potential_file, BASE.replace("sweeps = 12", "sweeps = 100000")
                          .replace("checkpoint_interval = 5", "checkpoint_interval = 10"))
    results = tmp_path / "out" / "results.h5"
    proc = subprocess.Popen([sys.executable, "-m", "nanomc.cli", "run", str(params), "-q"])
    try:
        deadline = time.time() + 300
        while not results.exists() and time.time() < deadline and proc.poll() is None:
            time.sleep(0.05)
        assert proc.poll() is None and results.exists()
        for flag in ("--overwrite", "--resume"):
            busy = cli("run", params, flag, "-q")
            assert busy.returncode == 1 and busy.stderr.count("\n") == 1, busy.stderr
            assert "in use by another nanomc run" in busy.stderr and f"pid {proc.pid}" in busy.stderr
        assert proc.poll() is None  # the first run goes on
    finally:
        proc.kill()
        proc.wait()
    done = read_results(results).sweeps_done
    record = run_campaign(params, resume=True, quiet=True, stop_after=done + 3)  # no stale lock
    assert record.sweeps_done == done + 3


def _h5_contents(path):
    """Every dataset (as an array) and attribute of an HDF5 file, by name."""
    out = {}
    with h5py.File(path, "r") as f:
        def visit(name, obj):
            for key, value in obj.attrs.items():
                out[f"{name}@{key}"] = value
            if isinstance(obj, h5py.Dataset):
                out[name] = obj[()]
        visit("/", f)
        f.visititems(visit)
    return out


def test_a_finished_run_extended_with_more_sweeps_equals_an_unbroken_run(tmp_path, potential_file):
    """--resume after raising `sweeps` continues a finished run; harmless edits (a comment,
    checkpoint_interval) are accepted; every stored array equals that of an unbroken run."""
    text = BASE.replace("sweeps = 12", "sweeps = 25").replace("seed = 3", "seed = 3\nexchange_interval = 3")
    (tmp_path / "unbroken").mkdir()
    (tmp_path / "extended").mkdir()
    run_campaign(write_params(tmp_path / "unbroken", potential_file, text), quiet=True)
    params = write_params(tmp_path / "extended", potential_file, text.replace("sweeps = 25", "sweeps = 13"))
    assert cli("run", params, "-q").returncode == 0
    assert read_results(tmp_path / "extended" / "out" / "results.h5").complete
    params.write_text("# continued\n" + text.replace("checkpoint_interval = 5", "checkpoint_interval = 7"))
    resumed = cli("run", params, "--resume", "-q")
    assert resumed.returncode == 0, resumed.stderr
    unbroken = _h5_contents(tmp_path / "unbroken" / "out" / "results.h5")
    extended = _h5_contents(tmp_path / "extended" / "out" / "results.h5")
    assert extended.pop("/@parameters") == params.read_text()
    unbroken.pop("/@parameters")
    assert extended.keys() == unbroken.keys()
    for name, value in unbroken.items():
        assert np.array_equal(extended[name], value), name
    for name in ("final.extxyz", "best.extxyz"):
        assert (tmp_path / "extended" / "out" / name).read_text() == (tmp_path / "unbroken" / "out" / name).read_text()


@pytest.mark.parametrize("old,new,words", [
    ("seed = 3", "seed = 4", ["different parameters", "[mc] seed: 3 -> 4"]),
    ("temperatures = [400.0, 900.0]", "temperatures = [400.0, 950.0]", ["[mc] temperatures"]),
    ("sweeps = 12", "sweeps = 10", ["already has 12 sweeps", "sweeps = 10"]),
])
def test_resume_refuses_changes_that_alter_the_results(tmp_path, potential_file, old, new, words):
    params = write_params(tmp_path, potential_file)
    run_campaign(params, quiet=True)
    params.write_text(params.read_text().replace(old, new))
    refused = cli("run", params, "--resume")
    assert refused.returncode == 1 and refused.stderr.count("\n") == 1, refused.stderr
    for w in words:
        assert w in refused.stderr


def test_an_annealing_run_cannot_be_extended(tmp_path, potential_file):
    params = write_params(tmp_path, potential_file, BASE.replace(
        "temperatures = [400.0, 900.0]", 'ensemble = "anneal"\nt_start = 3000.0\nt_end = 50.0'))
    run_campaign(params, quiet=True)
    params.write_text(params.read_text().replace("sweeps = 12", "sweeps = 20"))
    refused = cli("run", params, "--resume")
    assert refused.returncode == 1 and "an annealing schedule spans" in refused.stderr and refused.stderr.count("\n") == 1


def test_analysis_of_an_unfinished_run_with_one_snapshot_has_no_nan(tmp_path, potential_file):
    params = write_params(tmp_path, potential_file)
    run_campaign(params, quiet=True, stop_after=3)  # snapshots every 4 sweeps: only the initial one
    result = cli("analyze", tmp_path / "out" / "results.h5", "--discard", "0")
    assert result.returncode == 0, result.stderr
    assert "3/12 sweeps" in result.stdout and "incomplete" in result.stderr
    assert not re.search(r"\bnan\b", result.stdout, re.IGNORECASE), result.stdout.splitlines()[2]


# ---------------------------------------------------------------- a fuzzer over the example's parameter file

EXAMPLE = os.path.join(os.path.dirname(__file__), "..", "runs", "AuCu-segregation", "params.toml")
WRONG_TYPES = {"int": ['"many"', "1.5", "true", "[1]"], "float": ['"hot"', "true", "[1.0]"],
               "str": ["1", "true", '["a"]'], "floats": ['"hot"', "300.0", '["a"]', "[true]"],
               "table": ['"Au"', "[1]", '{ Au = "x" }', "{ Au = true }"]}
BAD_VALUES = {
    ("particle", "shape"): ['"sphere"', '""'], ("particle", "atoms"): ["0", "-5"],
    ("particle", "composition"): ["{ Au = nan }", "{ Au = 0.5, Cu = 0.6 }", "{ Au = -0.5, Cu = 1.5 }",
                                  "{ Au = 0.5, Xx = 0.5 }", "{ Au = 0.5, Cu = inf }"],
    ("potential", "file"): ['"missing.h5"', '"params.toml"', '""'],
    ("mc", "ensemble"): ['"grand"', '"sgc "'], ("mc", "temperatures"): ["[nan]", "[inf]", "[-300.0]", "[0.0]", "[]"],
    ("mc", "sweeps"): ["0", "-1"], ("mc", "seed"): ["-1", "18446744073709551616"],
    ("mc", "snapshot_interval"): ["0", "-10"], ("mc", "checkpoint_interval"): ["0", "-25"],
    ("output", "directory"): ['"/dev/null/results"'],
}


def _example_mutations():
    config, text = load_config(EXAMPLE)
    section = None
    for line in text.splitlines():
        m = re.match(r"^\[(\w+)\]", line)
        if m:
            section = m.group(1)
            continue
        m = re.match(r"^(\w+)\s*=", line)
        if m:
            key = m.group(1)
            for value in WRONG_TYPES[SCHEMA[section][key].kind] + BAD_VALUES.get((section, key), []):
                yield pytest.param(line, f"{key} = {value}", id=f"{section}.{key}={value}")


#: keys the example does not set, added to its [particle] section: each is wrong
ADDED = ['host = "Xx"', "host = 79", 'swap_groups = [[]]', 'swap_groups = [["Au", "Au"]]', "frozen_indices = [-1]",
         "frozen_indices = [586]", "surface_energies = { 100 = 1.0 }", "lattice_constant = nan",
         "lattice_constant = 0.39"]


def _added_keys():
    for added in ADDED:
        yield pytest.param("atoms = 586", f"atoms = 586\n{added}", id=f"particle+{added}")
    yield pytest.param("composition = { Au = 0.5, Cu = 0.5 }", "composition = {}", id="particle.composition={}")
    yield pytest.param('shape = "truncated_octahedron"', 'shape = "wulff"\nsurface_energies = { 100 = -1.0 }',
                       id="particle.surface_energies negative")


@pytest.mark.parametrize("line,mutated", list(_example_mutations()) + list(_added_keys()))
def test_fuzzed_example_parameter_files_fail_in_one_line_and_write_nothing(tmp_path, capsys, line, mutated):
    from nanomc.cli import main

    params = tmp_path / "params.toml"
    params.write_text(open(EXAMPLE).read().replace(line, mutated, 1))
    assert main(["run", str(params), "-q"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("nanomc: error: ") and err.count("\n") == 1, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["params.toml"]


def test_a_failed_results_write_leaves_no_temporary_file(tmp_path, potential_file):
    from nanomc.campaign.results import write_results

    params = write_params(tmp_path, potential_file)
    record = run_campaign(params, quiet=True)
    record.seed = 2**70  # beyond what HDF5 stores (the parameter check refuses such seeds)
    with pytest.raises(TypeError):
        write_results(tmp_path / "out" / "again.h5", record)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [".nanomc.lock", "best.extxyz", "final.extxyz",
                                                                     "results.h5"]


def test_the_template_is_a_valid_parameter_file(tmp_path):
    from nanomc.campaign.schema import template_text

    (tmp_path / "t.toml").write_text(template_text())
    config, _ = load_config(tmp_path / "t.toml")
    assert config["mc"]["temperatures"] == [300.0, 600.0] and config["mc"]["seed"] == 0
