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
