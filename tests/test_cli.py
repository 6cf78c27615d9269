"""Command line: `nanomc --version`, `nanomc info`."""
from __future__ import annotations

import subprocess
import sys

import nanomc


def _run(*args):
    return subprocess.run([sys.executable, "-m", "nanomc.cli", *args], capture_output=True, text=True, timeout=60)


def test_version():
    r = _run("--version")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == f"nanomc {nanomc.__version__}"
    assert nanomc.__version__ != "0.0.0+unknown"


def test_info_reports_compiled_kernels():
    r = _run("info")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == f"nanomc {nanomc.__version__}"
    for kernel in ("neighbors", "descriptors", "network"):
        assert f"kernel {kernel}: compiled" in lines
    assert "MISSING" not in r.stdout
    assert any(line.startswith("MPI: ") for line in lines)


def test_no_command_is_an_error():
    r = _run()
    assert r.returncode != 0
    assert "usage" in r.stderr.lower()


def test_main_in_process(capsys):
    from nanomc.cli import main

    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert "kernel neighbors: compiled" in out


def test_convert_aenet_and_n2p2(tmp_path):
    """`nanomc convert` writes a potential file equal to the one the reader builds."""
    from pathlib import Path

    data = Path(__file__).parent / "data"
    aenet_files = [str(data / "aenet" / f"{e}.behler.nn") for e in ("Au", "Cu")]
    out = tmp_path / "aucu.h5"
    r = _run("convert", "--aenet", *aenet_files, "-o", str(out))
    assert r.returncode == 0, r.stderr
    assert "elements Au Cu" in r.stdout
    assert nanomc.Potential.load(out).content_hash() == nanomc.Potential.from_aenet(aenet_files).content_hash()
    out = tmp_path / "ni.h5"
    r = _run("convert", "--n2p2", str(data / "mlearn" / "Ni-nnp"), "--length-unit", "1.0", "-o", str(out), "-q")
    assert r.returncode == 0 and r.stdout == "", r.stderr
    assert nanomc.Potential.load(out).content_hash() == nanomc.Potential.from_n2p2(data / "mlearn" / "Ni-nnp").content_hash()


def test_convert_errors_are_one_line(tmp_path):
    r = _run("convert", "--aenet", str(tmp_path / "missing.nn"), "-o", str(tmp_path / "x.h5"))
    assert r.returncode == 1 and r.stderr.count("\n") == 1 and "missing.nn" in r.stderr
    r = _run("convert", "--n2p2", str(tmp_path), "--energy-unit", "furlongs", "-o", str(tmp_path / "x.h5"))
    assert r.returncode == 1 and r.stderr.count("\n") == 1 and "furlongs" in r.stderr
    assert not (tmp_path / "x.h5").exists()


def _one_line_error(r, *words):
    assert r.returncode == 1, r.stderr
    assert r.stderr.startswith("nanomc: error: ") and r.stderr.count("\n") == 1, r.stderr
    for w in words:
        assert w in r.stderr, r.stderr


def test_binary_parameter_file_is_one_line(tmp_path):
    (tmp_path / "some.h5").write_bytes(b"\x89HDF\r\n\x1a\n\x00\x00\xff\xfe" * 8)
    _one_line_error(_run("run", str(tmp_path / "some.h5")), "some.h5", "not a text (TOML) file")
    _one_line_error(_run("train", str(tmp_path / "some.h5")), "some.h5", "not a text (TOML) file")


def test_predict_checks_the_plot_path_before_predicting(tmp_path):
    from ase.cluster import Octahedron
    from ase.io import write

    from nanomc.potential.store import default_potential_path

    atoms = Octahedron("Au", 3, 1, latticeconstant=4.0)
    atoms.info["energy"] = 1.0
    write(tmp_path / "s.extxyz", atoms)
    r = _run("predict", str(default_potential_path()), str(tmp_path / "s.extxyz"), "--plot",
             str(tmp_path / "no" / "dir" / "p.png"))
    _one_line_error(r, str(tmp_path / "no" / "dir"), "does not exist")
    assert r.stdout == ""  # refused before predicting


def test_unbuilt_kernels_say_how_to_build(tmp_path):
    """A checkout whose kernels are not compiled: the CLI and the test suite say how to build them."""
    import os
    import shutil
    from pathlib import Path

    root = Path(__file__).parent.parent
    shutil.copytree(root / "nanomc", tmp_path / "nanomc", ignore=shutil.ignore_patterns("*.so", "*.pyd", "__pycache__"))
    (tmp_path / "tests").mkdir()
    shutil.copy(root / "tests" / "conftest.py", tmp_path / "tests")
    (tmp_path / "tests" / "test_nothing.py").write_text("def test_nothing():\n    pass\n")
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    how = "the compiled kernels are missing: run `pip install -e .` (or `python setup.py build_ext --inplace`)"

    def run(*args):
        return subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=120, cwd=tmp_path,
                              env=env)

    r = run("-m", "nanomc.cli", "run", "params.toml")
    assert r.returncode == 1 and r.stderr.count("\n") == 1 and how in r.stderr, r.stderr
    r = run("-m", "nanomc.cli", "info")
    assert r.returncode == 0 and "kernel neighbors: MISSING" in r.stdout and how in r.stdout, r.stdout + r.stderr
    r = run("-c", "import nanomc\ntry:\n    nanomc.Potential\nexcept ImportError as exc:\n    print(exc)")
    assert r.returncode == 0 and r.stdout.strip() == how, r.stdout + r.stderr
    r = run("-m", "pytest", "-q", "-p", "no:cacheprovider", "tests")
    assert r.returncode != 0 and r.stdout == "" and r.stderr == f"nanomc tests: {how}\n", r.stdout + r.stderr


def test_convert_and_relax_refuse_to_replace_outputs_without_overwrite(tmp_path):
    """Like `nanomc run`: an existing output is kept unless --overwrite is given; nothing is computed first."""
    from pathlib import Path

    from ase.cluster import Octahedron
    from ase.io import write

    aenet_files = [str(Path(__file__).parent / "data" / "aenet" / f"{e}.behler.nn") for e in ("Au", "Cu")]
    out = tmp_path / "aucu.h5"
    out.write_bytes(b"keep me")
    _one_line_error(_run("convert", "--aenet", *aenet_files, "-o", str(out)), str(out), "exists", "--overwrite")
    assert out.read_bytes() == b"keep me"
    assert _run("convert", "--aenet", *aenet_files, "-o", str(out), "--overwrite", "-q").returncode == 0
    assert list(nanomc.Potential.load(out).elements) == ["Au", "Cu"]

    write(tmp_path / "s.extxyz", Octahedron("Au", 3, 1, latticeconstant=4.0))
    for target in (tmp_path / "s-relaxed.extxyz", tmp_path / "mine.extxyz"):
        target.write_text("keep me")
        extra = ["--out", str(target)] if target.name == "mine.extxyz" else []
        r = _run("relax", str(tmp_path / "s.extxyz"), "--steps", "2", "-q", *extra)
        _one_line_error(r, str(target), "exists", "--overwrite")
        assert target.read_text() == "keep me"
        r = _run("relax", str(tmp_path / "s.extxyz"), "--steps", "2", "-q", "--overwrite", *extra)
        assert r.returncode == 0, r.stderr
        assert target.read_text() != "keep me"


def test_non_finite_radial_width_is_refused(tmp_path):
    for value in ("nan", "inf", "-1"):
        r = _run("analyze", str(tmp_path / "results.h5"), "--radial-width", value)
        assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
        assert f"--radial-width: {value!r} is not a positive length in Å" in r.stderr, r.stderr


def test_predict_plot_without_reference_energies_is_refused(tmp_path):
    from ase.cluster import Octahedron
    from ase.io import write

    from nanomc.potential.store import default_potential_path

    write(tmp_path / "s.extxyz", Octahedron("Au", 3, 1, latticeconstant=4.0))  # no energy
    r = _run("predict", str(default_potential_path()), str(tmp_path / "s.extxyz"), "--plot", str(tmp_path / "p.png"))
    _one_line_error(r, "--plot", "no reference energies")
    assert r.stdout == "" and not (tmp_path / "p.png").exists()
