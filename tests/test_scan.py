"""Parameter scans ([scan]): expansion, checks, running, resuming, and equality with points run alone."""
import json
import shutil
import textwrap
import tomllib

import numpy as np
import pytest

from nanomc.campaign import CampaignError, run_campaign
from nanomc.campaign.schema import ConfigError, load_config
from nanomc.campaign.results import read_results
from nanomc.campaign.scan import load_scan, run_scan
from test_campaign import cli
from test_replica_exchange import assert_same_results, mpirun
from conftest import write_campaign

SCAN = """
[particle]
shape = "truncated_octahedron"
atoms = 79
composition = { Au = 0.5, Cu = 0.5 }

[potential]
file = "pot.h5"

[mc]
temperatures = [400.0, 700.0, 1000.0]
exchange_interval = 1
sweeps = 6
seed = 3
snapshot_interval = 2
checkpoint_interval = 3

[output]
directory = "scan"

[scan]
particle.atoms = [55, 79]
particle.composition.Au = [0.25, 0.5]
"""


def write_scan(tmp_path, potential_bytes, text=SCAN, extra=""):
    return write_campaign(tmp_path, potential_bytes, textwrap.dedent(text) + textwrap.dedent(extra), "scan.toml")


def test_points_are_the_product_in_file_order_with_names_and_rescaled_composition(tmp_path, potential_bytes):
    scan = load_scan(write_scan(tmp_path, potential_bytes))
    assert scan.variables == ["particle.atoms", "particle.composition.Au"]
    assert [p.name for p in scan.points] == ["atoms=55_Au=0.25", "atoms=55_Au=0.5", "atoms=79_Au=0.25",
                                             "atoms=79_Au=0.5"]
    first = scan.points[0].config["particle"]
    assert first["atoms"] == 55 and first["composition"] == {"Au": 0.25, "Cu": 0.75}
    assert scan.points[3].config["particle"]["composition"] == {"Au": 0.5, "Cu": 0.5}
    assert scan.directory == tmp_path / "scan"


def test_zip_and_whole_tables_and_lists(tmp_path, potential_bytes):
    extra = """
    [scan]
    zip = true
    particle.composition = [{ Au = 0.3, Cu = 0.7 }, { Au = 20, Cu = 35 }]
    mc.temperatures = [[300.0, 600.0], [500.0, 800.0]]
    mc.seed = [1, 2]
    """
    text = SCAN[:SCAN.index("[scan]")]
    scan = load_scan(write_scan(tmp_path, potential_bytes, text, extra))
    assert [p.name for p in scan.points] == ["composition=Au0.3-Cu0.7_temperatures=300-600_seed=1",
                                             "composition=Au20-Cu35_temperatures=500-800_seed=2"]
    assert scan.points[1].config["particle"]["composition"] == {"Au": 20, "Cu": 35}
    assert scan.points[1].config["mc"]["temperatures"] == [500.0, 800.0]
    assert scan.points[0].config["mc"]["seed"] == 1


def test_point_parameter_files_are_ordinary_campaigns_with_relocated_paths(tmp_path, potential_bytes):
    path = write_scan(tmp_path, potential_bytes)
    scan = load_scan(path)
    from nanomc.campaign.scan import write_index
    write_index(scan)
    index = json.loads((scan.directory / "scan.json").read_text())
    assert index["format"] == "nanomc-scan" and index["variables"] == scan.variables
    assert [p["values"] for p in index["points"]] == [p.values for p in scan.points]
    for point in scan.points:
        params = scan.directory / point.name / "params.toml"
        config, _ = load_config(params)
        assert config == {**point.config, "potential": {**point.config["potential"], "file": "../../pot.h5"}}
        assert (params.parent / config["potential"]["file"]).resolve() == (tmp_path / "pot.h5").resolve()
        assert config["output"]["directory"] == "."


@pytest.mark.parametrize("extra, words", [
    ("[scan]\nparticle.atom = [55]\n", "scan.toml:LINE: [scan] key `particle.atom`: [particle] has no key `atom` "
     "(did you mean `particle.atoms`?)"),
    ("[scan]\nmcx.seed = [1]\n", "[scan] key `mcx.seed` must be `section.key`"),
    ("[scan]\noutput.directory = [\"a\"]\n", "[scan] key `output.directory` must be `section.key`"),
    ("[scan]\nmc.seed = 1\n", "`mc.seed` must be a non-empty list"),
    ("[scan]\nmc.seed = []\n", "`mc.seed` must be a non-empty list"),
    ("[scan]\nzip = 1\nmc.seed = [1]\n", "`zip` in [scan] must be true or false"),
    ("[scan]\nzip = true\nmc.seed = [1, 2]\nmc.sweeps = [3]\n", "same length, got mc.seed: 2, mc.sweeps: 1"),
    ("[scan]\nmc.sweeps = [5, 0]\n", "`sweeps` must be at least 1, got 0 (scan point sweeps=0)"),
    ("[scan]\nmc.seed = [1, 1]\n", "two points have the same name 'seed=1'"),
    ("[scan]\nranks_per_point = 0\nmc.seed = [1]\n", "`ranks_per_point` must be at least 1"),
    ("[scan]\nzip = true\n", "[scan] lists no keys to scan"),
    ("[scan]\nmc.seed = [1]\n\"mc.seed\" = [2]\n", "[scan] key `mc.seed` is given twice"),
])
def test_bad_scans_fail_in_one_line_naming_the_key(tmp_path, potential_bytes, extra, words):
    text = SCAN[:SCAN.index("[scan]")]
    path = write_scan(tmp_path, potential_bytes, text, extra)
    key_line = path.read_text().splitlines().index(extra.splitlines()[-1]) + 1
    words = words.replace("LINE", str(key_line))
    with pytest.raises(ConfigError) as info:
        load_scan(path)
    assert words in str(info.value) and "\n" not in str(info.value)
    out = cli("run", path)
    assert out.returncode == 1 and words in out.stderr and len(out.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "scan").exists()


def test_a_quoted_dotted_key_is_the_dotted_key(tmp_path, potential_bytes):
    text = SCAN[:SCAN.index("[scan]")]
    plain = load_scan(write_scan(tmp_path / "a", potential_bytes, text, "[scan]\nmc.seed = [1, 2]\n"))
    quoted = load_scan(write_scan(tmp_path / "b", potential_bytes, text, '[scan]\n"mc.seed" = [1, 2]\n'))
    assert quoted.variables == plain.variables == ["mc.seed"]
    assert [p.config["mc"]["seed"] for p in quoted.points] == [1, 2]
    assert [p.name for p in quoted.points] == [p.name for p in plain.points]


def test_scan_equals_points_run_alone_and_is_not_rerun(tmp_path, potential_bytes):
    path = write_scan(tmp_path, potential_bytes)
    outcomes = run_scan(path, quiet=True)
    assert [o.status for o in outcomes] == ["ran"] * 4
    scan = load_scan(path)
    (tmp_path / "alone").mkdir()
    shutil.copy(tmp_path / "pot.h5", tmp_path / "alone" / "pot.h5")
    for point in scan.points:
        alone = tmp_path / "alone" / point.name
        alone.mkdir(parents=True)
        shutil.copy(scan.directory / point.name / "params.toml", alone / "params.toml")
        run_campaign(alone / "params.toml", quiet=True)
        assert_same_results(read_results(scan.directory / point.name / "results.h5"), read_results(alone / "results.h5"))
    stamps = {p.name: (scan.directory / p.name / "results.h5").stat().st_mtime_ns for p in scan.points}
    with pytest.raises(CampaignError, match="use --resume to continue the scan"):
        run_scan(path, quiet=True)
    outcomes = run_scan(path, resume=True, quiet=True)
    assert [o.status for o in outcomes] == ["finished before"] * 4
    assert stamps == {p.name: (scan.directory / p.name / "results.h5").stat().st_mtime_ns for p in scan.points}


def test_resume_continues_unfinished_points_and_adds_new_ones(tmp_path, potential_bytes):
    path = write_scan(tmp_path, potential_bytes)
    full = run_scan(path, quiet=True)
    scan = load_scan(path)
    whole = {p.name: read_results(scan.directory / p.name / "results.h5") for p in scan.points}
    # a second scan: point 2 stopped after 2 sweeps (a killed run), point 3 never started
    other = tmp_path / "second"
    other.mkdir()
    path2 = write_scan(other, potential_bytes)
    from nanomc.campaign.scan import write_index
    scan2 = load_scan(path2)
    write_index(scan2)
    run_campaign(scan2.directory / scan2.points[0].name / "params.toml", quiet=True)
    run_campaign(scan2.directory / scan2.points[1].name / "params.toml", quiet=True, stop_after=2)
    outcomes = run_scan(path2, resume=True, quiet=True)
    assert [o.status for o in outcomes] == ["finished before", "resumed", "ran", "ran"]
    for p in scan2.points:
        assert_same_results(read_results(scan2.directory / p.name / "results.h5"), whole[p.name])
    assert [o.status for o in full] == ["ran"] * 4


def test_a_failing_point_is_reported_and_the_others_run(tmp_path, potential_bytes):
    text = SCAN[:SCAN.index("[scan]")]
    path = write_scan(tmp_path, potential_bytes, text, "[scan]\nparticle.composition.Au = [0.5, 0.001]\n")
    out = cli("run", path)
    assert out.returncode == 1
    assert "Au=0.5" in out.stdout and "ran" in out.stdout
    errors = [line for line in out.stderr.splitlines() if line.startswith("nanomc: error")]
    assert len(errors) == 1 and "scan point Au=0.001" in errors[0] and "Au" in errors[0]
    assert (tmp_path / "scan" / "Au=0.5" / "results.h5").exists()
    assert not (tmp_path / "scan" / "Au=0.001" / "results.h5").exists()


@pytest.mark.parametrize("what", ["potential", "particle"])
def test_a_missing_file_of_one_point_stops_the_scan_before_any_point_runs(tmp_path, potential_bytes, what):
    text = SCAN[:SCAN.index("[scan]")]
    if what == "potential":
        present, missing = "pot.h5", "pot2.h5"
    else:
        from ase.cluster import Octahedron
        particle = Octahedron("Au", 4, 1)
        particle.symbols[::2] = "Cu"
        particle.write(tmp_path / "p1.xyz")
        present, missing = "p1.xyz", "p2.xyz"
        text = text.replace('shape = "truncated_octahedron"\natoms = 79\ncomposition = { Au = 0.5, Cu = 0.5 }',
                            'shape = "file"\nfile = "p1.xyz"')
    path = write_scan(tmp_path, potential_bytes, text, f'[scan]\n{what}.file = ["{present}", "{missing}"]\n')
    with pytest.raises(CampaignError) as err:
        run_scan(path, quiet=True)
    assert str(err.value) == (f"{path}: scan point file={missing}: {what} file {tmp_path / missing} not found")
    assert not (tmp_path / "scan").exists()
    shutil.copy(tmp_path / present, tmp_path / missing)
    assert [o.status for o in run_scan(path, quiet=True)] == ["ran", "ran"]


def test_ranks_must_fit_the_groups(tmp_path, potential_bytes):
    path = write_scan(tmp_path, potential_bytes, SCAN.replace("[scan]", "[scan]\nranks_per_point = 2"))

    class TwoOfThree:   # a communicator of 3 ranks, seen from rank 0; the check comes before any collective
        rank, size = 0, 3

    with pytest.raises(CampaignError, match="3 MPI ranks do not split into groups of ranks_per_point = 2"):
        run_scan(path, comm=TwoOfThree())
    path = write_scan(tmp_path, potential_bytes, SCAN.replace("[scan]", "[scan]\nranks_per_point = 4"))

    class Four:
        rank, size = 0, 4

    with pytest.raises(CampaignError, match="has 3 replicas or walkers, fewer than ranks_per_point = 4"):
        run_scan(path, comm=Four())


@pytest.mark.parametrize("ranks_per_point", [1, 3])
def test_scan_under_mpirun_equals_points_run_one_by_one(tmp_path, potential_bytes, ranks_per_point):
    serial = tmp_path / "serial"
    serial.mkdir()
    run_scan(write_scan(serial, potential_bytes), quiet=True)
    parallel = tmp_path / "parallel"
    parallel.mkdir()
    path = write_scan(parallel, potential_bytes, SCAN.replace("[scan]", f"[scan]\nranks_per_point = {ranks_per_point}"))
    out = mpirun(3, "run", path)
    assert out.returncode == 0, out.stderr
    scan = load_scan(path)
    assert len(scan.points) == 4
    for p in scan.points:
        assert_same_results(read_results(scan.directory / p.name / "results.h5"),
                            read_results(serial / "scan" / p.name / "results.h5"))
    stored = tomllib.loads((scan.directory / scan.points[0].name / "params.toml").read_text())
    assert "scan" not in stored and stored["particle"]["atoms"] == 55
    assert np.isfinite(read_results(scan.directory / scan.points[0].name / "results.h5").final_energy).all()


def test_points_are_dealt_to_rank_groups_by_cost(tmp_path, potential_bytes):
    from nanomc.campaign.scan import _groups
    text = SCAN[:SCAN.index("[scan]")]
    scan = load_scan(write_scan(tmp_path, potential_bytes, text, "[scan]\nparticle.atoms = [1000, 100, 200, 300, 400]\n"))
    costs = [p.cost() for p in scan.points]
    assert np.allclose(np.array(costs) / costs[1], [10, 1, 2, 3, 4])     # in proportion to the atoms
    assert _groups(scan.points, 2) == [[0], [1, 2, 3, 4]]        # 1000 against 100 + 200 + 300 + 400
    assert _groups(scan.points, 3) == [[0], [1, 4], [2, 3]]
    assert _groups(scan.points, 1) == [[0, 1, 2, 3, 4]]
