"""`nanomc label`: reference energies and forces of structures from a named calculator, resumably.

Structures are identified by their content hash (labelfile.structure_hash). A run reads the
input files, skips every structure whose hash the labels file already holds (and repeats
within the inputs), labels the rest in input order and appends each label as soon as it and
all before it are done, so the labels file is the same for any number of workers or ranks.

Parallelism: `workers` processes (multiprocessing, one calculator each), or the ranks of an
MPI run (mpirun -n N nanomc label ...): in rounds of N structures, rank r labels the r-th,
every rank receives the round's labels and rank 0 writes them. Not both at once.
"""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
from ase import Atoms

from ..errors import NanomcError
from ..structure import without_vacancies
from .calculators import CalculatorSpec
from .labelfile import LabelWriter, check_identity, label_frame, read_labels, structure_hash


class LabelError(NanomcError, RuntimeError):
    """Labelling that cannot start or that the calculator stopped."""


@dataclass
class Job:
    """One structure to label: its hash, where it comes from (file and frame) and the structure."""

    key: str
    origin: str
    atoms: Atoms


@dataclass
class LabelSummary:
    """What a run did: distinct input structures, labelled before it, labelled by it, wall time (s)."""

    output: Path
    total: int
    before: int
    labelled: int
    seconds: float


def compute_label(atoms: Atoms, calc) -> tuple[float, np.ndarray]:
    """Energy (eV) and forces (eV/Å) of atoms with an ASE calculator (atoms itself is not changed)."""
    atoms = atoms.copy()
    atoms.calc = calc
    energy = float(atoms.get_potential_energy())
    forces = np.array(atoms.get_forces(), dtype=float)
    if not np.isfinite(energy) or not np.all(np.isfinite(forces)):
        raise ValueError("non-finite energy or forces")
    return energy, forces


def read_jobs(paths: Sequence[str | Path]) -> list[Job]:
    """The distinct structures of the input files in order (vacancies X dropped)."""
    from ..particles import read_frames

    jobs, seen = [], set()
    for path in paths:
        for k, frame in enumerate(read_frames(path)):
            atoms = without_vacancies(frame)
            if len(atoms) == 0:
                raise LabelError(f"{path} frame {k}: no atoms (only vacancies)")
            key = structure_hash(atoms)
            if key not in seen:
                seen.add(key)
                jobs.append(Job(key, f"{path} frame {k}", atoms))
    return jobs


# --- one calculator per worker process -------------------------------------------------------------
_WORKER_CALC = None


def _init_worker(spec: CalculatorSpec) -> None:
    global _WORKER_CALC
    _WORKER_CALC = spec.build()


def _label_or_message(atoms: Atoms, calc) -> tuple[float, np.ndarray] | str:
    """compute_label, or the calculator's exception as one line (it crosses process boundaries)."""
    try:
        return compute_label(atoms, calc)
    except Exception as exc:  # whatever the calculator raises stops the run with one line
        return f"{type(exc).__name__}: {exc}".splitlines()[0]


def _worker_label(atoms: Atoms) -> tuple[float, np.ndarray] | str:
    return _label_or_message(atoms, _WORKER_CALC)


def _in_pool(spec: CalculatorSpec, jobs: list[Job], workers: int) -> Iterator:
    """Labels in job order from a pool of worker processes."""
    import multiprocessing

    with multiprocessing.Pool(workers, initializer=_init_worker, initargs=(spec,)) as pool:
        yield from pool.imap(_worker_label, (job.atoms for job in jobs), chunksize=1)


def _over_ranks(comm, calc, jobs: list[Job]) -> Iterator:
    """Labels in job order on every rank of comm: in rounds of comm.size jobs, rank r labels the r-th."""
    for start in range(0, len(jobs), comm.size):
        mine = start + comm.rank
        result = _label_or_message(jobs[mine].atoms, calc) if mine < len(jobs) else None
        yield from comm.allgather(result)[:len(jobs) - start]


class Progress:
    """Progress lines with an ETA on stderr, at most one per `every` seconds (ETA by atoms: cost grows with size)."""

    def __init__(self, jobs: list[Job], before: int, total: int, every: float, enabled: bool):
        self.atoms_left = sum(len(job.atoms) for job in jobs)
        self.atoms_done, self.done = 0, 0
        self.before, self.total, self.every, self.enabled = before, total, every, enabled
        self.start = self.last = time.monotonic()

    def step(self, n_atoms: int) -> None:
        """One structure of n_atoms labelled."""
        self.done += 1
        self.atoms_done += n_atoms
        self.atoms_left -= n_atoms
        now = time.monotonic()
        if self.enabled and (now - self.last >= self.every or self.atoms_left == 0):
            self.last = now
            elapsed = now - self.start
            eta = elapsed / self.atoms_done * self.atoms_left
            print(f"nanomc label: {self.before + self.done}/{self.total} labelled ({self.done} in this run, "
                  f"{elapsed / self.done:.2f} s/structure), ETA {_clock(eta)}", file=sys.stderr, flush=True)


def _clock(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


def label_files(inputs: Sequence[str | Path], output: str | Path, spec: CalculatorSpec, workers: int = 1,
                quiet: bool = False, progress_every: float = 10.0) -> LabelSummary:
    """Label every structure of `inputs` not yet in `output` with the calculator of `spec`, appending
    to `output` (extxyz; see labelfile). Resumable: rerun after a kill or after appending inputs."""
    from ..mc.parallel import world
    from ..outputs import check_output_file

    comm = world()
    if workers < 1:
        raise LabelError("--workers must be at least 1")
    if workers > 1 and comm.size > 1:
        raise LabelError("--workers > 1 under mpirun: use processes or MPI ranks, not both")
    output = Path(output)
    if any(Path(p).resolve() == output.resolve() for p in inputs):
        raise LabelError(f"{output} is both an input and the labels file")
    jobs = read_jobs(inputs)
    calc = spec.build()
    identity = spec.identity()
    todo, failure = None, None
    if comm.rank == 0:
        try:
            check_output_file(output)
            labelled = read_labels(output, repair=True)
            check_identity(output, labelled, identity)
            done = {str(a.info["structure_hash"]) for a in labelled}
            todo = [k for k, job in enumerate(jobs) if job.key not in done]
        except NanomcError as exc:
            failure = str(exc)
    todo, failure = comm.bcast((todo, failure), root=0)
    if failure:
        raise LabelError(failure)
    pending = [jobs[k] for k in todo]
    before = len(jobs) - len(pending)
    t0 = time.monotonic()
    if comm.size > 1:
        results = _over_ranks(comm, calc, pending)
    elif workers > 1 and len(pending) > 1:
        results = _in_pool(spec, pending, workers)
    else:
        results = (_label_or_message(job.atoms, calc) for job in pending)
    progress = Progress(pending, before, len(jobs), progress_every, enabled=not quiet and comm.rank == 0)
    count = 0
    writer = LabelWriter(output) if comm.rank == 0 else None
    try:
        for job, result in zip(pending, results):
            if isinstance(result, str):
                raise LabelError(f"{job.origin}: calculator {spec.name!r} failed ({result}); {before + count} "
                                 f"labels are in {output}, rerun to continue")
            if writer is not None:
                writer.append(label_frame(job.atoms, *result, job.key, identity))
            count += 1
            progress.step(len(job.atoms))
    finally:
        if hasattr(results, "close"):
            results.close()
        if writer is not None:
            writer.close()
    return LabelSummary(output, len(jobs), before, count, time.monotonic() - t0)
