"""`nanomc label`: reference energies and forces of structures from a named calculator, resumably.

Structures are identified by their content hash (labelfile.structure_hash). A run reads the
input files, skips every structure whose hash the labels file already holds (and repeats
within the inputs), labels the rest in input order and appends each label as soon as it and
all before it are done, so the labels file is the same for any number of workers or ranks.

With relaxation settings (`--relax`), every structure is relaxed first and labelled with its
relaxed energy on its ideal lattice (nanomc.training.relaxed); structures that do not map back
to their lattice are recorded in `<labels>.unmapped` instead, and count as done.

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

from ..calculator import Calculator as NanomcCalculator
from ..errors import NanomcError
from ..structure import without_vacancies
from .calculators import CalculatorSpec
from .labelfile import LabelWriter, check_identity, label_frame, read_labels, structure_hash
from .relaxed import (RELAXATION_KEY, RelaxedGeometry, RelaxSettings, Remapped, Unmapped, UnmappedFile,
                      relax_and_label, relaxer_name)


class LabelError(NanomcError, RuntimeError):
    """Labelling that cannot start or that the calculator stopped."""


@dataclass
class Job:
    """One structure to label: its hash, where it comes from (file and frame), the structure (without
    vacancies) and the positions (Å) of its vacant sites (the input's X atoms; the relaxed-lattice
    mapping counts them as sites)."""

    key: str
    origin: str
    atoms: Atoms
    vacant: np.ndarray


@dataclass
class LabelSummary:
    """What a run did: distinct input structures, done before it (labelled or left out), labelled by it,
    wall time (s), and of relaxed structures those left out (not mapping to their lattice) in all and in it."""

    output: Path
    total: int
    before: int
    labelled: int
    seconds: float
    unmapped: int = 0
    unmapped_now: int = 0


def compute_label(atoms: Atoms, calc) -> tuple[float, np.ndarray]:
    """Energy (eV) and forces (eV/Å) of atoms with an ASE calculator (atoms itself is not changed)."""
    atoms = atoms.copy()
    atoms.calc = calc
    energy = float(atoms.get_potential_energy())
    forces = np.array(atoms.get_forces(), dtype=float)
    if not np.isfinite(energy) or not np.all(np.isfinite(forces)):
        raise ValueError("non-finite energy or forces")
    return energy, forces


#: what labelling one structure gives: (energy eV, forces eV/Å or None, provenance info), a structure
#: that does not map back to its lattice, a relaxed structure kept as it is, or the calculator's exception
#: as one line
Result = tuple[float, np.ndarray | None, dict] | Unmapped | RelaxedGeometry | Remapped | str


@dataclass(frozen=True)
class Labeller:
    """The reference calculator and, for relaxed-lattice labels, the relaxation settings; built once per
    process (build) into a function atoms -> Result."""

    spec: CalculatorSpec
    relax: RelaxSettings | None = None

    def build(self):
        """A labelling function (atoms, vacant sites) -> Result with its own calculator (and relaxing
        nanomc Calculator)."""
        calc = self.spec.build()
        if self.relax is None:
            return lambda atoms, vacant: _or_message(lambda: (*compute_label(atoms, calc), {}))
        potential = self.relax.relaxer_potential()
        relaxer = None if potential is None else NanomcCalculator(potential)
        return lambda atoms, vacant: _or_message(
            lambda: _relaxed(relax_and_label(atoms, calc, relaxer, self.relax, vacant)))

    def identity(self) -> dict[str, str]:
        """The labels file's identity: the calculator's, and `relaxation` (the settings) for relaxed labels."""
        identity = self.spec.identity()
        if self.relax is not None:
            identity[RELAXATION_KEY] = self.relax.identity(relaxer_name(self.relax.relaxer_potential()))
        return identity


def _relaxed(result: tuple[float, dict] | Unmapped | RelaxedGeometry | Remapped) -> Result:
    return result if isinstance(result, (Unmapped, RelaxedGeometry, Remapped)) else (result[0], None, result[1])


def _or_message(work) -> Result:
    """work(), or its exception as one line (it crosses process boundaries)."""
    try:
        return work()
    except Exception as exc:  # whatever the calculator raises stops the run with one line
        return f"{type(exc).__name__}: {exc}".splitlines()[0]


def read_jobs(paths: Sequence[str | Path]) -> list[Job]:
    """The distinct structures of the input files in order (vacancies X dropped, their positions kept as
    the job's vacant sites; frames with the same atoms are one structure, the first one's vacancies count)."""
    from ..particles import read_frames

    jobs, seen = [], set()
    for path in paths:
        for k, frame in enumerate(read_frames(path)):
            atoms = without_vacancies(frame)
            vacant = frame.positions[frame.numbers == 0]
            if len(atoms) == 0:
                raise LabelError(f"{path} frame {k}: no atoms (only vacancies)")
            key = structure_hash(atoms)
            if key not in seen:
                seen.add(key)
                jobs.append(Job(key, f"{path} frame {k}", atoms, vacant))
    return jobs


# --- one labeller per worker process ---------------------------------------------------------------
_WORKER_LABEL = None


def _init_worker(labeller: Labeller) -> None:
    global _WORKER_LABEL
    _WORKER_LABEL = labeller.build()


def _worker_label(job: tuple[Atoms, np.ndarray]) -> Result:
    return _WORKER_LABEL(*job)


def _in_pool(labeller: Labeller, jobs: list[Job], workers: int) -> Iterator:
    """Labels in job order from a pool of worker processes."""
    import multiprocessing

    with multiprocessing.Pool(workers, initializer=_init_worker, initargs=(labeller,)) as pool:
        yield from pool.imap(_worker_label, ((job.atoms, job.vacant) for job in jobs), chunksize=1)


def _over_ranks(comm, label, jobs: list[Job]) -> Iterator:
    """Labels in job order on every rank of comm: in rounds of comm.size jobs, rank r labels the r-th."""
    for start in range(0, len(jobs), comm.size):
        mine = start + comm.rank
        result = label(jobs[mine].atoms, jobs[mine].vacant) if mine < len(jobs) else None
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
                quiet: bool = False, progress_every: float = 10.0,
                relax: RelaxSettings | None = None) -> LabelSummary:
    """Label every structure of `inputs` not yet in `output` with the calculator of `spec`, appending
    to `output` (extxyz; see labelfile). Resumable: rerun after a kill or after appending inputs.
    With `relax`, relaxed-lattice labels (nanomc.training.relaxed): structures that do not map back to
    their lattice are reported on stderr and recorded in `<output>.unmapped`, not labelled."""
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
    if relax is not None:
        relax.check()
    jobs = read_jobs(inputs)
    labeller = Labeller(spec, relax)
    label = labeller.build()
    identity = labeller.identity()
    unmapped_file = UnmappedFile(output) if relax is not None else None
    todo, failure, unmapped_before = None, None, 0
    if comm.rank == 0:
        try:
            check_output_file(output)
            labelled = read_labels(output, repair=True)
            check_identity(output, labelled, identity)
            done = {str(a.info["structure_hash"]) for a in labelled}
            if unmapped_file is not None:
                unmapped_file.repair()
                recorded = unmapped_file.read(identity)
                unmapped_before = sum(job.key in recorded for job in jobs)
                done |= set(recorded)
            todo = [k for k, job in enumerate(jobs) if job.key not in done]
        except NanomcError as exc:
            failure = str(exc)
    todo, failure, unmapped_before = comm.bcast((todo, failure, unmapped_before), root=0)
    if failure:
        raise LabelError(failure)
    pending = [jobs[k] for k in todo]
    before = len(jobs) - len(pending)
    t0 = time.monotonic()
    if comm.size > 1:
        results = _over_ranks(comm, label, pending)
    elif workers > 1 and len(pending) > 1:
        results = _in_pool(labeller, pending, workers)
    else:
        results = (label(job.atoms, job.vacant) for job in pending)
    progress = Progress(pending, before, len(jobs), progress_every, enabled=not quiet and comm.rank == 0)
    count, unmapped = 0, 0
    writer = LabelWriter(output) if comm.rank == 0 else None
    try:
        for job, result in zip(pending, results):
            if isinstance(result, str):
                raise LabelError(f"{job.origin}: calculator {spec.name!r} failed ({result}); {before + count} "
                                 f"labels are in {output}, rerun to continue")
            if isinstance(result, Unmapped):
                unmapped += 1
                if writer is not None:
                    unmapped_file.append(job.key, job.origin, result.reason, identity)
                    if not quiet:
                        print(f"nanomc label: {job.origin}: left out, does not map back to its lattice: "
                              f"{result.reason}", file=sys.stderr, flush=True)
            elif isinstance(result, (RelaxedGeometry, Remapped)):
                if writer is not None:
                    writer.append(label_frame(result.atoms, result.energy, result.forces, job.key, identity,
                                              result.info))
            elif writer is not None:
                writer.append(label_frame(job.atoms, result[0], result[1], job.key, identity, result[2]))
            count += 1
            progress.step(len(job.atoms))
    finally:
        if hasattr(results, "close"):
            results.close()
        if writer is not None:
            writer.close()
            if unmapped_file is not None:
                unmapped_file.close()
    return LabelSummary(output, len(jobs), before, count - unmapped, time.monotonic() - t0,
                        unmapped_before + unmapped, unmapped)
