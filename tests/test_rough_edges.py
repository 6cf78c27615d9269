"""Rough edges a new user hit (issue 40 §3): each one line or a clear statement instead of a silent surprise."""
import os
import re
import subprocess
import sys
import time

import numpy as np
import pytest
from ase.io import read

from nanomc.campaign import run_campaign
from nanomc.campaign.schema import ConfigError, load_config
from conftest import write_campaign
from test_campaign import BASE


def params_file(tmp_path, potential_bytes, text=BASE):
    return write_campaign(tmp_path, potential_bytes, text)


def cli(*args, env=None, timeout=600):
    return subprocess.run([sys.executable, "-m", "nanomc.cli", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, "OMP_NUM_THREADS": "1", **(env or {})})


def one_line_error(result) -> str:
    assert result.returncode == 1, result.stderr
    assert result.stderr.startswith("nanomc: error: ") and result.stderr.count("\n") == 1, result.stderr
    return result.stderr


# --------------------------------------------------------------------------- 1. compositions


def test_fractions_of_every_element_of_a_group_must_add_up_to_one(tmp_path, potential_bytes):
    """{ Au = 0.3, Cu = 0.3 } used to build Au55Cu24 (the first element took the rest) with exit status 0."""
    params = params_file(tmp_path, potential_bytes, BASE.replace("Au = 0.5, Cu = 0.5", "Au = 0.3, Cu = 0.3"))
    err = one_line_error(cli("run", params))
    assert f"{params}:5:" in err and "`composition`" in err and "add up to 0.600" in err, err
    assert not (tmp_path / "out").exists()


def test_a_host_the_composition_does_not_list_takes_the_rest(tmp_path, potential_bytes):
    text = BASE.replace("composition = { Au = 0.5, Cu = 0.5 }", 'host = "Cu"\ncomposition = { Au = 0.3 }')
    record = run_campaign(params_file(tmp_path, potential_bytes, text), quiet=True)
    symbols = np.array(record.elements)[record.initial_elements]
    assert len(symbols) == 79 and (symbols == "Au").sum() == round(0.3 * 79) and (symbols == "Cu").sum() == 79 - 24


# --------------------------------------------------------------------------- 2. oversized particles


def test_shape_atom_counts_without_building(tmp_path):
    from nanomc.particles import cluster_shape, shape_atom_count

    for shape, sizes in [("octahedron", range(2, 9)), ("truncated_octahedron", range(2, 12)),
                         ("cuboctahedron", range(3, 12, 2)), ("cube", range(1, 7)), ("icosahedron", range(1, 7)),
                         ("decahedron", range(1, 7))]:
        for size in sizes:
            assert shape_atom_count(shape, size) == len(cluster_shape(shape, "Cu", 3.6, size)), (shape, size)
    for size in (50, 200, 1000):           # a Wulff construction has the closest count it can make to `size`
        assert shape_atom_count("wulff", size) == size
        assert len(cluster_shape("wulff", "Cu", 3.6, size)) == pytest.approx(size, rel=0.15)


def test_a_particle_that_cannot_fit_in_memory_is_refused_at_once(tmp_path, potential_bytes):
    """atoms = 100000000 used to print nothing for minutes."""
    params = params_file(tmp_path, potential_bytes, BASE.replace("size = 5", "atoms = 100000000"))
    start = time.perf_counter()
    err = one_line_error(cli("run", params, timeout=120))
    assert time.perf_counter() - start < 60
    assert f"{params}:4:" in err and "`atoms`" in err and "100,000,000 sites" in err and "GiB" in err, err
    assert "available" in err and "NANOMC_MEMORY_MB" in err
    assert not (tmp_path / "out").exists()


def test_the_memory_limit_can_be_set_and_names_the_size(tmp_path, potential_bytes):
    """size = 30 (16,300 sites) fits in this machine but not in 20 MiB."""
    params = params_file(tmp_path, potential_bytes, BASE.replace("size = 5", "size = 30"))
    err = one_line_error(cli("run", params, env={"NANOMC_MEMORY_MB": "20"}))
    assert f"{params}:4:" in err and "`size`" in err and "16,300 sites" in err and "0.0195 GiB available" in err, err
    assert not (tmp_path / "out").exists()


def test_large_particles_print_their_set_up(tmp_path, potential_bytes, monkeypatch, capsys):
    import nanomc.campaign.setup

    monkeypatch.setattr(nanomc.campaign.setup, "PROGRESS_SITES", 50)
    run_campaign(params_file(tmp_path, potential_bytes), quiet=False)
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("set-up: ")]
    assert len(lines) == 3, lines
    assert lines[0].startswith("set-up: building a truncated_octahedron of about 79 sites: about ")
    assert "GiB of memory" in lines[0]
    assert lines[1:] == ["set-up: replica 1 of 2, with the neighbour lists of 79 sites", "set-up: replica 2 of 2"]


def test_small_particles_set_up_silently(tmp_path, potential_bytes, capsys):
    run_campaign(params_file(tmp_path, potential_bytes), quiet=False)
    assert "set-up" not in capsys.readouterr().err


# --------------------------------------------------------------------------- 3. damaged results files


def test_a_results_file_damaged_inside_is_one_line_and_kept(tmp_path, potential_bytes):
    """Bytes overwritten in the middle of results.h5 (its global heap: variable-length strings) used to give an
    h5py traceback for `nanomc analyze` and `nanomc run --resume`."""
    params = params_file(tmp_path, potential_bytes)
    run_campaign(params, quiet=True)
    results = tmp_path / "out" / "results.h5"
    data = bytearray(results.read_bytes())
    heap = data.index(b"GCOL")
    assert 0 < heap < len(data) - 1000          # inside the file, not its end
    data[heap:heap + 4] = b"XXXX"
    results.write_bytes(bytes(data))
    for args in (["analyze", results, "--out", tmp_path / "analysis"], ["run", params, "--resume"]):
        err = one_line_error(cli(*args))
        assert f"{results}:" in err and "damaged" in err, err
        assert results.read_bytes() == bytes(data)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [".nanomc.lock", "best.extxyz", "final.extxyz",
                                                                     "results.h5"]


# --------------------------------------------------------------------------- 4. huge integers


@pytest.mark.parametrize("old,new,words", [
    ("sweeps = 12", "sweeps = 100000000000000000000", ["params.toml:12:", "`sweeps`", "at most 2**63 - 1"]),
    ("sweeps = 12", "sweeps = 10000000000", ["params.toml:12:", "`sweeps`", "at most 1000000000"]),
    ("snapshot_interval = 4", "snapshot_interval = 9223372036854775808",
     ["params.toml:14:", "`snapshot_interval`", "at most 2**63 - 1"]),
    ("size = 5", "size = 100000000000000000000", ["params.toml:4:", "`size`", "at most 2**63 - 1"]),
])
def test_integers_a_run_cannot_store_are_refused_at_load(tmp_path, potential_bytes, old, new, words):
    with pytest.raises(ConfigError) as err:
        load_config(params_file(tmp_path, potential_bytes, BASE.replace(old, new)))
    assert "\n" not in str(err.value)
    for w in words:
        assert w in str(err.value), str(err.value)


# --------------------------------------------------------------------------- 5. error order


@pytest.mark.parametrize("old,new,line,element", [
    ("Au = 0.5, Cu = 0.5", "Au = 0.5, Zn = 0.5", 5, "Zn"),
    ("size = 5", 'size = 5\nhost = "Zn"', 5, "Zn"),
])
def test_an_element_the_potential_does_not_know_is_named_first(tmp_path, potential_bytes, old, new, line, element):
    """Zn used to be told first that it is "not fcc in ASE's reference data"."""
    params = params_file(tmp_path, potential_bytes, BASE.replace(old, new))
    err = one_line_error(cli("run", params))
    assert f"{params}:{line}:" in err and element in err and "potential does not know (Au, Cu)" in err, err
    assert "fcc" not in err


# --------------------------------------------------------------------------- 6. the run summary


def test_the_summary_states_the_particle_built_and_where_the_results_are(tmp_path, potential_bytes):
    """atoms = 1 silently became 6 atoms."""
    params = params_file(tmp_path, potential_bytes, BASE.replace("size = 5", "atoms = 1"))
    result = cli("run", params)
    assert result.returncode == 0, result.stderr
    assert "nanomc: warning: `atoms` = 1: the closest truncated_octahedron has 6 sites" in result.stderr
    built = read(tmp_path / "out" / "final.extxyz")
    counts = ", ".join(f"{e} {n}" for e, n in zip(*np.unique(built.get_chemical_symbols(), return_counts=True)))
    assert f"particle: 6 sites ({counts})" in result.stdout, result.stdout
    assert f"results: {tmp_path / 'out' / 'results.h5'}, final.extxyz, best.extxyz" in result.stdout


def test_a_particle_close_to_the_requested_size_is_not_warned_about(tmp_path, potential_bytes):
    result = cli("run", params_file(tmp_path, potential_bytes, BASE.replace("size = 5", "atoms = 80")), "-q")
    assert result.returncode == 0 and result.stderr == "", result.stderr


# --------------------------------------------------------------------------- 7. --discard


def test_discard_is_a_fraction_below_one_or_a_whole_number_of_sweeps():
    from nanomc.analysis import AnalysisError
    from nanomc.analysis.statistics import discard_sweeps

    assert discard_sweeps(0.5, 10) == 5 and discard_sweeps(1, 10) == 1 and discard_sweeps(np.int64(3), 10) == 3
    for value in (1.0, 2.0, 1.5):
        with pytest.raises(AnalysisError, match=f"discard {value}: a fraction must be below 1"):
            discard_sweeps(value, 10)


@pytest.mark.parametrize("value", ["1.0", "3.", "1e1"])
def test_discard_written_as_a_number_of_one_or_more_with_a_point_is_refused(tmp_path, value, capsys):
    from nanomc.cli import main

    with pytest.raises(SystemExit) as exit_status:
        main(["analyze", str(tmp_path / "results.h5"), "--discard", value])
    assert exit_status.value.code == 2
    err = capsys.readouterr().err
    assert f"--discard: {value!r}: a fraction must be below 1; give sweeps as a whole number" in err, err


# --------------------------------------------------------------------------- 8. cosmetics


def test_temperatures_are_formatted_alike_everywhere(tmp_path, potential_bytes):
    from nanomc.formatting import format_temperature

    assert [format_temperature(t) for t in (400.0, 467.97, 529.24, float("nan"))] == ["400", "468", "529.2", "–"]
    params = params_file(tmp_path, potential_bytes, BASE.replace("[400.0, 900.0]", "[400.0, 467.97]"))
    result = cli("run", params)
    assert result.returncode == 0, result.stderr
    shown = set(re.findall(r"T +([0-9.]+) K", result.stdout + result.stderr))
    assert shown == {"400", "468"}, result.stdout


def test_the_dopant_layers_legend_is_outside_the_data(tmp_path, monkeypatch):
    import nanomc.analysis as na
    from nanomc.analysis import plots
    from test_analysis_oxide import fluorite_particle, oxide_record

    analysis = na.load(oxide_record(fluorite_particle(3.0, 2.0), [300.0, 900.0], 16, seed=3), element="Cu")
    figures = []
    monkeypatch.setattr(plots, "_save", lambda fig, path: figures.append(fig) or path)
    plots.plot_dopant_layers(analysis, tmp_path / "dopant_layers.png")
    (fig,) = figures
    fig.tight_layout()
    renderer = fig.canvas.get_renderer()
    for ax in fig.axes:
        legend = ax.get_legend().get_window_extent(renderer)
        assert not legend.overlaps(ax.get_window_extent(renderer))
        assert all(not legend.overlaps(other.get_window_extent(renderer)) for other in fig.axes)


def test_the_oxide_report_gives_pair_statistics_once(tmp_path):
    import nanomc.analysis as na
    from test_analysis_oxide import fluorite_particle, oxide_record

    text = na.markdown(na.load(oxide_record(fluorite_particle(3.0, 2.0), [300.0, 900.0], 16, seed=3), element="Cu"))
    assert "## Dopant measures of Cu" in text and "## Pair statistics" not in text
    for quantity in ("nn_probability", "nnn_probability", "any_nn", "any_nnn", "any_nn_nnn"):
        assert text.count(f"(`{quantity}`)") == 2, quantity      # once per temperature


def test_one_discarded_sweep_is_singular(tmp_path, potential_bytes):
    run_campaign(params_file(tmp_path, potential_bytes), quiet=True)
    result = cli("analyze", tmp_path / "out" / "results.h5", "--discard", "1", "--out", tmp_path / "analysis")
    assert result.returncode == 0, result.stderr
    assert "after discarding 1 sweep:" in result.stderr and "first 1 sweep discarded" in result.stdout
    assert "1 sweeps" not in result.stdout + result.stderr


def test_an_analysis_output_path_that_is_a_file_is_named_so(tmp_path, potential_bytes):
    """`nanomc run` into a file: test_campaign.test_output_path_that_is_a_file."""
    run_campaign(params_file(tmp_path, potential_bytes), quiet=True)
    (tmp_path / "afile").write_text("a file")
    err = one_line_error(cli("analyze", tmp_path / "out" / "results.h5", "--out", tmp_path / "afile"))
    assert f"{tmp_path / 'afile'} is a file, not a directory" in err and "File exists" not in err, err


# --------------------------------------------------------------------------- 9. the template


def test_the_template_has_a_scan_section_to_uncomment(tmp_path):
    from nanomc.campaign.schema import template_text
    from nanomc.campaign.scan import is_scan, load_scan

    text = template_text()
    (tmp_path / "plain.toml").write_text(text)
    assert not is_scan(tmp_path / "plain.toml")
    start = text.index("# [scan]")
    (tmp_path / "scan.toml").write_text(text[:start] + re.sub(r"(?m)^# ", "", text[start:]))
    scan = load_scan(tmp_path / "scan.toml")
    assert scan.variables == ["particle.atoms", "particle.composition.Au"] and len(scan.points) == 9
