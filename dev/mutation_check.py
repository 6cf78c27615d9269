"""Mutation check: plant small deliberate bugs one at a time and see whether the tests catch them.

Usage, from the repository root with the kernels built in place:
    python dev/mutation_check.py [--skip-baseline] [NAME ...]
Each mutation replaces one exact snippet of one file (the snippet must occur exactly once),
rebuilds the kernels if the file is a .pyx/.pxd, runs `pytest -x -q` on its test files and puts
the file back (also on Ctrl-C, SIGTERM or an error); the kernels are rebuilt from the restored source
before the next Python-only mutation and at the end (also after an interruption). First the test files
of the chosen mutations are run unmutated (the baseline must pass, or "caught" means nothing).
Prints one line per mutation: caught (the tests failed), NOT CAUGHT, or a note.
"""
from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 1800  # s per pytest run


@dataclass(frozen=True)
class Mutation:
    name: str
    path: str
    old: str
    new: str
    tests: tuple[str, ...]


SAMPLING = ("tests/test_mc_sampling.py",)
MUTATIONS = [
    # three of the four of issue 21 (the fourth, the blocking rule, is under statistics)
    Mutation("ladder RNG not restored", "nanomc/mc/exchange.py",
             '        self.rng.bit_generator.state = json.loads(state["rng"])\n', "",
             ("tests/test_replica_exchange.py",)),
    Mutation("Metropolis at 0.95 beta (swaps)", "ext/local_energy.pyx",
             "if self._metropolis(delta, beta, uniforms[t, 2]):",
             "if self._metropolis(delta, 0.95 * beta, uniforms[t, 2]):", SAMPLING),
    Mutation("last swap partner never picked", "ext/local_energy.pyx",
             "k = <long> floor(uniforms[t, 1] * n_other)", "k = <long> floor(uniforms[t, 1] * (n_other - 1))",
             ("tests/test_proposals.py",)),
    # more in the sweep kernels
    Mutation("flip: new element drawn among all allowed", "ext/local_energy.pyx",
             "floor(uniforms[t, 1] * (n_allowed - 1))", "floor(uniforms[t, 1] * n_allowed)",
             ("tests/test_proposals.py",)),
    Mutation("flip: sign of mu term", "ext/local_energy.pyx",
             "delta - (mu[enew] - mu[ea])", "delta + (mu[enew] - mu[ea])", SAMPLING),
    Mutation("Metropolis accepts uphill moves below 10 meV", "ext/local_energy.pyx",
             "return delta <= 0.0 or u < exp(-beta * delta)", "return delta <= 0.01 or u < exp(-beta * delta)",
             SAMPLING),
    Mutation("swap: site list not updated after a swap", "ext/local_energy.pyx",
             "site_list[pa] = b\n", "site_list[pa] = a\n", SAMPLING),
    # Python side of the Monte Carlo
    Mutation("chain: beta of 1.05 T", "nanomc/mc/chain.py",
             "beta = 1.0 / (KB * temperature)", "beta = 1.0 / (KB * 1.05 * temperature)", SAMPLING),
    Mutation("driver: replicas stay at their first temperature", "nanomc/mc/driver.py",
             "ladder.temperatures[ladder.temperature_of[replica % self.n_temperatures]]",
             "ladder.temperatures[replica % self.n_temperatures]", SAMPLING),
    Mutation("driver: every start's ladder exchanges on start 0's energies", "nanomc/mc/driver.py",
             "ladder.exchange(energy[s * n:(s + 1) * n])", "ladder.exchange(energy[:n])", ("tests/test_starts.py",)),
    Mutation("starts: every start on start 0's streams", "nanomc/mc/starts.py",
             "    return np.random.SeedSequence(seed, spawn_key=(STARTS_KEY, start))",
             "    return np.random.SeedSequence(seed)", ("tests/test_starts.py",)),
    Mutation("R̂ of whole chains, not of their halves", "nanomc/analysis/convergence.py",
             "    split = split_chains(draws)\n", "    split = draws\n", ("tests/test_convergence.py",)),
    Mutation("pooled error weighted by n_c/n, not squared", "nanomc/analysis/statistics.py",
             "(p.n_samples / n) ** 2 * p.error**2", "(p.n_samples / n) * p.error**2", ("tests/test_convergence.py",)),
    Mutation("exchange: only the even pairs", "nanomc/mc/exchange.py",
             "range(self.rounds % 2, n - 1, 2)", "range(0, n - 1, 2)", ("tests/test_replica_exchange.py",)),
    Mutation("exchange: acceptance 0.95 log p", "nanomc/mc/exchange.py",
             "log_p = (beta[t] - beta[t + 1])", "log_p = 0.95 * (beta[t] - beta[t + 1])",
             ("tests/test_replica_exchange.py",)),
    Mutation("round trip counted at the wrong end", "nanomc/mc/exchange.py",
             "if self.last_end[low] == 1:", "if self.last_end[low] == 0:", ("tests/test_replica_exchange.py",)),
    # statistics
    Mutation("blocking rule B^3 > 4N", "nanomc/analysis/statistics.py",
             "** 3 > 2.0 * n *", "** 3 > 4.0 * n *", ("tests/test_analysis.py",)),
    Mutation("blocking error with n instead of n - 1", "nanomc/analysis/statistics.py",
             "np.sqrt(x.var() / (len(x) - 1))", "np.sqrt(x.var() / len(x))", ("tests/test_analysis.py",)),
    Mutation("tau_int without the factor 2", "nanomc/analysis/statistics.py",
             "n * error * error / (2.0 * variance)", "n * error * error / variance", ("tests/test_analysis.py",)),
    # vacancies, fluorite particles, sublattice statistics, campaign checks (this turn's new code)
    Mutation("vacancy: a tiny energy of its own", "ext/nn_math.pxd",
             "    if s.lay_ptr[c] == s.lay_ptr[c + 1]:\n        return 0.0",
             "    if s.lay_ptr[c] == s.lay_ptr[c + 1]:\n        return 1e-6", ("tests/test_vacancies.py",)),
    Mutation("vacancy: kept by the full evaluation", "nanomc/structure.py",
             "    return atoms[atoms.numbers != 0]", "    return atoms[atoms.numbers >= 0]",
             ("tests/test_vacancies.py",)),
    Mutation("vacancy: X may join two elements", "nanomc/particles.py",
             "        if VACANCY in members and len(members) != 2:", "        if VACANCY in members and len(members) > 3:",
             ("tests/test_vacancies.py",)),
    Mutation("fractions: no rounding fix on the largest", "nanomc/particles.py",
             "        counts[largest] += n_sites - sum(counts.values())", "        pass",
             ("tests/test_fluorite.py", "tests/test_campaign.py")),
    Mutation("fluorite: anions with 2 cation neighbours first", "nanomc/fluorite.py",
             "keep = list(np.flatnonzero(coordination >= 3))", "keep = list(np.flatnonzero(coordination >= 2))",
             ("tests/test_fluorite.py",)),
    Mutation("dopant-vacancy random reference unweighted", "nanomc/analysis/analyze.py",
             "random = np.sum(n_x * vacant) / np.sum(n_x)", "random = np.mean(vacant)",
             ("tests/test_analysis_oxide.py",)),
    Mutation("resume ignores a changed seed", "nanomc/campaign/output.py",
             '("potential", "file"), ("mc", "sweeps")}', '("potential", "file"), ("mc", "sweeps"), ("mc", "seed")}',
             ("tests/test_campaign.py",)),
]


def build() -> None:
    """Build the kernels in place (as `python setup.py build_ext --inplace`).

    Runs setup.py from a scratch directory that links ext/ and nanomc/, so that setuptools does
    not read pyproject.toml (older setuptools reject its SPDX license string).
    """
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copy(ROOT / "setup.py", tmp)
        for name in ("ext", "nanomc"):
            os.symlink(ROOT / name, Path(tmp) / name)
        subprocess.run([sys.executable, "setup.py", "build_ext", "--inplace", "-q"], cwd=tmp, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def pytest(files: tuple[str, ...]) -> int:
    """Return code of `pytest -x -q files` with this tree first on the path (5: timed out)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    try:
        return subprocess.run([sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *files],
                              cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              timeout=TIMEOUT).returncode
    except subprocess.TimeoutExpired:
        return 5


def compiled(path: str) -> bool:
    return path.endswith((".pyx", ".pxd"))


class Kernels:
    """Tracks whether the built kernels are those of the (restored) sources."""

    stale = False

    @classmethod
    def refresh(cls) -> None:
        if cls.stale:
            build()
            cls.stale = False


def check(m: Mutation) -> str:
    """Apply m, run its tests, restore the file (always); 'caught', 'NOT CAUGHT' or a note."""
    file = ROOT / m.path
    original = file.read_text()
    if original.count(m.old) != 1:
        return f"snippet found {original.count(m.old)} times, skipped"
    if not compiled(m.path):
        Kernels.refresh()
    try:
        file.write_text(original.replace(m.old, m.new))
        if compiled(m.path):
            Kernels.stale = True
            build()
        code = pytest(m.tests)
    finally:
        file.write_text(original)
    return {0: "NOT CAUGHT", 1: "caught", 5: "timed out"}.get(code, f"pytest exit code {code}")


def stop(signum, frame) -> None:
    """SIGTERM (and SIGINT, which a background job ignores) end the run through the `finally`s."""
    raise KeyboardInterrupt(f"signal {signum}")


def main() -> int:
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="run only mutations whose name contains one of these")
    parser.add_argument("--skip-baseline", action="store_true", help="do not run the unmutated tests first")
    args = parser.parse_args()
    chosen = [m for m in MUTATIONS if not args.names or any(n in m.name for n in args.names)]
    if not args.skip_baseline:
        files = tuple(sorted({f for m in chosen for f in m.tests}))
        if pytest(files) != 0:
            print(f"baseline fails: fix `pytest {' '.join(files)}` first", file=sys.stderr)
            return 1
    width = max(len(m.name) for m in chosen)
    print(f"{'mutation':{width}}  {'file':32}  result")
    try:
        for m in chosen:
            start = time.time()
            result = check(m)
            print(f"{m.name:{width}}  {m.path:32}  {result} ({time.time() - start:.0f} s)", flush=True)
    finally:
        Kernels.refresh()
    return 0


if __name__ == "__main__":
    sys.exit(main())
