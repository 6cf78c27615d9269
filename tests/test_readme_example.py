"""The README's numbers for the worked example come from a fresh run of the example.

Marked `example` (a few minutes on one core): part of the default run, `-m "not example"` skips it
for a quick local run.
"""
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
EXAMPLE = ROOT / "runs" / "AuCu-segregation"


@pytest.mark.example
def test_readme_numbers_are_those_of_a_fresh_run_of_the_example(tmp_path):
    shutil.copy(EXAMPLE / "params.toml", tmp_path)
    run = subprocess.run([sys.executable, "-m", "nanomc.cli", "run", str(tmp_path / "params.toml")],
                         capture_output=True, text=True, timeout=3600)
    assert run.returncode == 0, run.stderr
    check = subprocess.run([sys.executable, str(EXAMPLE / "readme_numbers.py"), str(tmp_path / "results" / "results.h5"),
                            "--check"], capture_output=True, text=True, timeout=600)
    assert check.returncode == 0, check.stderr
    # the summary the README shows is what `nanomc run` printed
    assert run.stdout.strip() in (ROOT / "README.md").read_text(), run.stdout
