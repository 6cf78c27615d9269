"""A campaign's output: the directory lock, opening the output directory, the checks of a resumed
run's parameters, rank-0 writes, progress lines and the summary lines every campaign prints.
"""
from __future__ import annotations

import fcntl
import os
import socket
import sys
import time
import tomllib
from pathlib import Path

import numpy as np

from ..errors import NanomcError
from ..formatting import format_temperature
from ..particles import element_summary
from .population_results import PopulationRecord
from .results import RunRecord
from .schema import ConfigError, validate


class CampaignError(NanomcError, RuntimeError):
    """A campaign that cannot start or continue (output exists, not writable, changed parameters)."""

class DirectoryLock:
    """An exclusive lock on a campaign's output directory (the file `.nanomc.lock` in it), held
    for the run's lifetime. flock locks belong to the open file, so the OS drops the lock when
    the process ends in any way: a killed run leaves no stale lock behind."""

    NAME = ".nanomc.lock"

    def __init__(self, directory: Path) -> None:
        self.path = directory / self.NAME
        self.fd: int | None = None

    def acquire(self) -> None:
        """Take the lock or raise CampaignError naming the process that holds it."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.read(fd, 200).decode(errors="replace").strip() or "unknown process"
            os.close(fd)
            raise CampaignError(f"{self.path.parent} is in use by another nanomc run ({holder}); wait for it to "
                                "end or choose another output directory") from None
        os.ftruncate(fd, 0)
        os.write(fd, f"pid {os.getpid()} on {socket.gethostname()}".encode())
        self.fd = fd

    def release(self) -> None:
        """Drop the lock (the file stays: removing it could let two runs lock different files)."""
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def open_output(directory: Path, results: Path, resume: bool, overwrite: bool, lock: DirectoryLock) -> None:
    """Create and lock the output directory, then check what is in it (rank 0)."""
    if resume and overwrite:
        raise CampaignError("give --resume or --overwrite, not both")
    if resume and not results.exists():
        raise CampaignError(f"{results} does not exist, there is nothing to resume")
    try:
        directory.mkdir(parents=True, exist_ok=True)
        lock.acquire()
    except OSError as exc:
        raise CampaignError(f"output directory {directory} is not writable ({exc.strerror})") from None
    try:
        if results.exists() and not (resume or overwrite):
            raise CampaignError(f"{results} exists; use --resume to continue it or --overwrite to replace it")
    except CampaignError:
        lock.release()
        raise

#: keys that do not change a run's results, so --resume accepts edits to them: the potential is
#: compared by its content hash instead of its file name; `sweeps` has rules of its own
NOT_IN_RESULTS = {("mc", "checkpoint_interval"), ("output", "directory"), ("potential", "file"), ("mc", "sweeps")}


def _result_keys(config: dict) -> dict[tuple[str, str], object]:
    return {(section, key): value for section, values in config.items() for key, value in values.items()
            if (section, key) not in NOT_IN_RESULTS}


def same_parameters(stored: str, config: dict, results: Path) -> dict:
    """The validated parameters a results file was started with (its stored text); CampaignError if
    they differ from `config` in a key that changes results (all but NOT_IN_RESULTS)."""
    try:
        started = validate(tomllib.loads(stored), stored, f"{results} (stored parameters)")
    except (ConfigError, tomllib.TOMLDecodeError) as exc:
        raise CampaignError(f"{results}: its stored parameters are no longer valid ({exc}); run with --overwrite "
                            "to start again") from None
    before, now = _result_keys(started), _result_keys(config)
    changed = [f"[{s}] {k}: {before.get((s, k))!r} -> {now.get((s, k))!r}"
               for s, k in sorted(before.keys() | now.keys()) if before.get((s, k)) != now.get((s, k))]
    if changed:
        raise CampaignError(f"{results} was started with different parameters ({'; '.join(changed)}); run with "
                            "--overwrite to start again")
    return started

def on_root(comm, fn, *args) -> None:
    """Run fn on rank 0 only; if it raises a NanomcError, raise the same message on every rank."""
    message = None
    if comm.rank == 0:
        try:
            fn(*args)
        except NanomcError as exc:
            message = (type(exc), str(exc))
    message = comm.bcast(message, root=0)
    if message is not None:
        raise message[0](message[1])

class Progress:
    """A progress line on stderr at most every `every` seconds (sweep or other `unit`, T, E, acceptance,
    `extra` text, ETA)."""

    def __init__(self, total: int, start: int, quiet: bool, every: float = 2.0, unit: str = "sweep") -> None:
        self.total, self.start, self.quiet, self.every, self.unit = total, start, quiet, every, unit
        self.t0 = self.last = time.monotonic()

    def update(self, sweep: int, temperature: float, energy: float, acceptance: float, n_chains: int,
               force: bool = False, extra: str = "") -> None:
        now = time.monotonic()
        if self.quiet or (now - self.last < self.every and not force):
            return
        self.last = now
        done = sweep - self.start
        eta = (now - self.t0) / done * (self.total - sweep) if done else float("nan")
        chains = f" ({n_chains} replicas, lowest T shown)" if n_chains > 1 else ""
        print(f"{self.unit} {sweep}/{self.total}  T {format_temperature(temperature)} K  E {energy:.4f} eV  "
              f"acceptance {acceptance:.3f}{extra}  ETA {format_duration(eta)}{chains}", file=sys.stderr, flush=True)


def format_duration(seconds: float) -> str:
    """Seconds as "1h02m" or "3m05s"; "?" if not finite."""
    if not np.isfinite(seconds):
        return "?"
    m, s = divmod(int(round(seconds)), 60)
    h, m = divmod(m, 60)
    return f"{h}h{m:02d}m" if h else f"{m}m{s:02d}s"


def results_file(path: str | Path, config: dict) -> Path:
    """A campaign's results.h5: in [output] `directory`, relative to its parameter file `path` (config: the
    file's validated parameters)."""
    return Path(path).parent / config["output"]["directory"] / "results.h5"


def results_line(record: RunRecord | PopulationRecord, results: Path) -> str:
    """'results: out/results.h5, final.extxyz, best.extxyz': where a campaign's results went."""
    return f"results: {results}" + (", final.extxyz, best.extxyz" if record.complete else "")


def particle_line(record: RunRecord | PopulationRecord) -> str:
    """'particle: 79 sites (Au 40, Cu 39)': the particle as built, with its initial occupation (X: vacant sites)."""
    symbols = np.asarray(record.elements)[np.asarray(record.initial_elements)]
    initially = " initially" if record.ensemble == "sgc" else ""
    return f"particle: {len(symbols)} sites ({element_summary(symbols)}{initially})"


def energies_note(record) -> list[str]:
    """A line saying that the energies are relaxed-lattice energies, if they are (else none)."""
    if record.potential_energies != "relaxed-lattice":
        return []
    return ["energies: relaxed-lattice (the potential maps occupations of the ideal lattice to relaxed energies)"]
