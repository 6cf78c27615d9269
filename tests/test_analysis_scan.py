"""nanomc analyze on a parameter scan: scan.json, the scan table from each point's own analysis,
missing and incomplete points, scan.csv / scan.md / plots, one-line errors."""
import csv
import json
import math
import textwrap
import warnings

import pytest

import nanomc.analysis as na
from nanomc.analysis.errors import AnalysisError, AnalysisWarning
from nanomc.analysis.scan import ScanTable, analyze_scan, read_scan
from nanomc.analysis.scan_report import MAX_LINES, markdown, plot_lines
from nanomc.campaign import run_campaign
from nanomc.cli import main
from test_campaign import cli

PARAMS = """
[particle]
shape = "truncated_octahedron"
atoms = {atoms}
composition = {{ Au = {au}, Cu = {cu} }}

[potential]
file = "default"

[mc]
temperatures = [300.0, 800.0]
sweeps = 24
seed = 5
snapshot_interval = 2

[output]
directory = "."
"""
VARIABLES = ["particle.atoms", "particle.composition.Au"]
#: (atoms, Au fraction, sweeps run: None = all, 0 = not run)
POINTS = [(79, 0.25, None), (140, 0.25, None), (79, 0.75, 16), (140, 0.75, 0)]
COMPLETE, INCOMPLETE, MISSING = "atoms=140_Au=0.25", "atoms=79_Au=0.75", "atoms=140_Au=0.75"


def point_name(atoms, au):
    return f"atoms={atoms}_Au={au:g}"


def write_scan_json(directory, points, variables=VARIABLES):
    document = {"format": "nanomc-scan", "version": 1, "parameter_file": str(directory / "scan.toml"),
                "variables": variables,
                "points": [{"name": name, "directory": name, "values": values} for name, values in points]}
    (directory / "scan.json").write_text(json.dumps(document, indent=1))


@pytest.fixture(scope="module")
def scan_dir(tmp_path_factory):
    """A 2 × 2 scan of particle.atoms and particle.composition.Au: two finished points, one stopped
    after 16 of 24 sweeps (its minority element is Cu), one never run."""
    root = tmp_path_factory.mktemp("scan")
    for atoms, au, sweeps in POINTS:
        d = root / point_name(atoms, au)
        d.mkdir()
        params = d / "params.toml"
        params.write_text(textwrap.dedent(PARAMS.format(atoms=atoms, au=au, cu=1 - au)))
        if sweeps != 0:
            run_campaign(params, quiet=True, stop_after=sweeps)
    write_scan_json(root, [(point_name(a, au), {"particle.atoms": a, "particle.composition.Au": au})
                           for a, au, _ in POINTS])
    return root


def load_point(path, **kw):
    """A point's own analysis; its warnings (the incomplete run, few snapshots) are not checked here."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AnalysisWarning)
        return na.load(path, **kw)


def atoms_of(a):
    return a.info["n_sites"]


def analyse(path, **kw):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sa = analyze_scan(path, **kw)
    return sa, [str(w.message) for w in caught if issubclass(w.category, AnalysisWarning)]


def test_scan_rows_are_the_points_own_analyses(scan_dir):
    sa, _ = analyse(scan_dir / "scan.json")
    assert sa.element == "Au"                    # the minority of two points of three, kept for the third
    assert [r["point"] for r in sa.table.rows] == [point_name(a, au) for a, au, s in POINTS if s != 0 for _ in "TT"]
    for row in sa.table.rows:
        atoms, au = row["particle.atoms"], row["particle.composition.Au"]
        assert row["point"] == point_name(atoms, au)
        a = load_point(scan_dir / row["point"] / "results.h5", element="Au")
        assert a.element == "Au" and row["n_atoms"] == a.info["n_sites"]
        assert a.info["n_sites"] == pytest.approx(atoms, rel=0.25)          # the size is a target
        t = a.table.select(temperature_K=row["T_K"])
        converged = []
        for column, quantity, category, element in [
                ("x_Au", "composition", "all", "Au"), ("x_Au_surface", "composition_layer", "0", "Au"),
                ("x_Au_subsurface", "composition_layer", "1", "Au"),
                ("x_Au_interior", "composition_site_type", "interior", "Au"),
                ("enrichment_Au", "enrichment", "surface", "Au"), ("alpha_nn_AuAu", "warren_cowley_nn", "Au", "Au"),
                ("any_nn_Au", "any_nn", "Au", "Au"), ("energy", "energy", "", "")]:
            expected = t.value(quantity=quantity, category=category, element=element)
            converged.append(expected["converged"])
            if column == "energy":      # per atom
                assert row["energy_per_atom_eV"] == pytest.approx(expected["mean"] / atoms_of(a), rel=1e-14)
                assert row["energy_per_atom_eV_err"] == pytest.approx(expected["error"] / atoms_of(a), rel=1e-14)
            else:
                assert (row[column], row[f"{column}_err"]) == (expected["mean"], expected["error"]), column
        assert row["converged"] == all(converged)
        assert row["x_Au"] == pytest.approx(au, abs=0.02)                   # canonical: the set composition
        assert row["complete"] == (row["point"] != INCOMPLETE) and row["ensemble"] == "canonical"
    assert "vacancy_surface" not in sa.table.columns and "free_energy_per_atom_eV" not in sa.table.columns
    assert sa.table.column("T_K").tolist() == [300.0, 800.0] * 3


def test_missing_and_incomplete_points_are_reported(scan_dir):
    sa, messages = analyse(scan_dir)
    assert sa.missing == [MISSING] and sa.incomplete == [INCOMPLETE] and not sa.failed
    assert MISSING not in sa.analyses
    assert any("1 of 4 points have no results.h5 yet" in m and MISSING in m for m in messages), messages
    assert any(m.startswith(f"point {INCOMPLETE}: ") and "incomplete (16 of 24 sweeps)" in m for m in messages)
    text = markdown(sa)
    assert f"No results yet (skipped): {MISSING}." in text and f"| {INCOMPLETE} * |" in text
    assert f"| {COMPLETE} |" in text and f"| {MISSING}" not in text


def test_the_pair_element_is_one_for_the_whole_scan(scan_dir):
    """The stopped point's minority element is Cu; --element Cu gives every point's Cu measures."""
    assert load_point(scan_dir / INCOMPLETE / "results.h5").element == "Cu"
    au, _ = analyse(scan_dir)
    cu, _ = analyse(scan_dir, element="Cu")
    assert cu.element == "Cu" and "x_Cu_surface" in cu.table.columns and "x_Au_surface" not in cu.table.columns
    for a, c in zip(au.table.rows, cu.table.rows):
        assert c["x_Cu_surface"] == pytest.approx(1 - a["x_Au_surface"], abs=1e-12)
        assert c["x_Cu_surface_err"] == pytest.approx(a["x_Au_surface_err"], rel=1e-9)
        assert c["energy_per_atom_eV"] == a["energy_per_atom_eV"]


def test_cli_writes_the_scan_table_markdown_and_plots(scan_dir, tmp_path, capsys):
    assert main(["analyze", str(scan_dir / "scan.json"), "--discard", "4", "--out", str(tmp_path / "out")]) == 0
    r = capsys.readouterr()
    errors = r.err.splitlines()
    assert all(line.startswith("nanomc: warning: ") for line in errors[:-1]) and errors[-1].startswith("wrote ")
    assert any(MISSING in line for line in errors) and any(INCOMPLETE in line for line in errors)
    out = tmp_path / "out"
    assert (out / "scan.md").read_text().strip() == r.out.strip()
    assert sum(line.startswith("| atoms=") for line in r.out.splitlines()) == 6
    sa, _ = analyse(scan_dir, discard=4)
    with open(out / "scan.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == sa.table.columns and len(rows) == len(sa.table)
    for written, row in zip(rows, sa.table.rows):
        for column, value in row.items():
            if isinstance(value, float):
                assert float(written[column]) == value or (math.isnan(value) and written[column] == "nan"), column
            else:
                assert written[column] == str(value), column
    for name in ("scan_particle.atoms", "scan_particle.composition.Au", "scan_temperature"):
        assert (out / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not (scan_dir / "analysis").exists()


def test_default_output_directory_and_a_single_value_variable(scan_dir, tmp_path):
    """A scan of one variable with list values: no plot against it; the output goes to <scan>/analysis."""
    root = tmp_path / "scan"
    root.mkdir()
    (root / "a").symlink_to(scan_dir / COMPLETE)
    write_scan_json(root, [("a", {"mc.temperatures": [300.0, 800.0]})], ["mc.temperatures"])
    assert main(["analyze", str(root), "-q"]) == 0
    written = sorted(p.name for p in (root / "analysis").iterdir())
    assert written == ["scan.csv", "scan.md", "scan_temperature.png"]
    with open(root / "analysis" / "scan.csv", newline="") as f:
        assert [json.loads(r["mc.temperatures"]) for r in csv.DictReader(f)] == [[300.0, 800.0]] * 2


@pytest.mark.parametrize("text, words", [
    ('{"format": "nanomc-scan", "version": 1,', "not a JSON file (line 1: "),
    ('{"format": "nanomc-pamc", "version": 1}', "not a nanomc scan file"),
    ('{"format": "nanomc-scan", "version": 9}', "scan format version 9 is not supported"),
    ('{"format": "nanomc-scan", "version": 1, "variables": ["particle.atoms"], "points": '
     '[{"name": "a", "directory": "a", "values": {"mc.sweeps": 3}}]}', "points[0] (a): `values` must give exactly"),
    ('{"format": "nanomc-scan", "version": 1, "variables": ["particle.atoms"], "points": []}',
     "`points` must be a non-empty list"),
])
def test_bad_scan_json_is_a_one_line_error(tmp_path, capsys, text, words):
    (tmp_path / "scan.json").write_text(text)
    assert main(["analyze", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"nanomc: error: {tmp_path / 'scan.json'}: ") and err.count("\n") == 1 and words in err, err
    assert not (tmp_path / "analysis").exists()


def test_cli_corrupt_scan_json_and_nothing_to_analyse(tmp_path):
    (tmp_path / "scan.json").write_bytes(b"\x00\xff not json")
    r = cli("analyze", tmp_path)
    assert r.returncode == 1 and r.stdout == "" and r.stderr.count("\n") == 1
    assert r.stderr.startswith("nanomc: error: ") and "not a JSON file" in r.stderr
    write_scan_json(tmp_path, [("a", {"particle.atoms": 79})], ["particle.atoms"])
    with pytest.raises(AnalysisError, match=r"no point of the scan could be analysed \(no point has a results.h5"):
        analyse(tmp_path)
    assert main(["analyze", str(tmp_path / "nothing")]) == 1
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(AnalysisError, match="a directory without scan.json"):
        read_scan(empty)


def test_plot_lines_are_thinned_to_a_readable_number():
    """5 compositions × 20 temperatures against size: at most MAX_LINES lines, every composition
    kept, the first and last temperatures among them; each line sorted by size."""
    temperatures = [300.0 + 50 * k for k in range(20)]
    rows = [{"particle.atoms": n, "particle.composition.Au": au, "T_K": t}
            for au in (0.1, 0.2, 0.3, 0.4, 0.5) for n in (300, 79, 140) for t in temperatures]
    table = ScanTable(list(rows[0]), rows)
    lines, total = plot_lines(table, VARIABLES, "particle.atoms")
    assert total == 100 and len(lines) == 10 <= MAX_LINES
    assert {line[0]["particle.composition.Au"] for line in lines} == {0.1, 0.2, 0.3, 0.4, 0.5}
    assert {line[0]["T_K"] for line in lines} == {300.0, 1250.0}
    assert all([r["particle.atoms"] for r in line] == [79, 140, 300] for line in lines)
    lines, total = plot_lines(table, VARIABLES, "T_K")
    assert total == 15 and len(lines) == MAX_LINES and all(len(line) == 20 for line in lines)
