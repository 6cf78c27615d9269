"""The numbers the README and docs/ quote for the worked example come from a fresh run of the example.

The example runs as the README's set-up command runs it (`nanomc run runs/AuCu-segregation/params.toml`
from the repository's root), here from a copy of that path in a temporary directory, so that its
summary is the one the README shows, the results line included. runs/AuCu-segregation/readme_numbers.py
--check then finds its passages in README.md, docs/campaigns.md and docs/analysis.md.

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
PARAMS = "runs/AuCu-segregation/params.toml"


@pytest.mark.example
def test_readme_numbers_are_those_of_a_fresh_run_of_the_example(tmp_path):
    (tmp_path / PARAMS).parent.mkdir(parents=True)
    shutil.copy(ROOT / PARAMS, tmp_path / PARAMS)
    run = subprocess.run([sys.executable, "-m", "nanomc.cli", "run", PARAMS], cwd=tmp_path,
                         capture_output=True, text=True, timeout=3600)
    assert run.returncode == 0, run.stderr
    results = tmp_path / "runs" / "AuCu-segregation" / "results" / "results.h5"
    check = subprocess.run([sys.executable, str(EXAMPLE / "readme_numbers.py"), str(results), "--check"],
                           capture_output=True, text=True, timeout=600)
    assert check.returncode == 0, check.stderr
    # the summary the README and docs/campaigns.md show is what `nanomc run` printed
    for page in ("README.md", "docs/campaigns.md"):
        assert run.stdout.strip() in (ROOT / page).read_text(), (page, run.stdout)
