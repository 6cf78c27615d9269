"""The labels file of `nanomc label`: extxyz, one frame per labelled structure, append-only.

Each frame is an ordinary extxyz frame that `nanomc train` and ASE read: positions, cell,
pbc, the energy (eV) and per-atom forces (eV/Å), the input frame's scalar info keys, the
structure's content hash (`structure_hash`) and the calculator's identity (`calculator`,
`calculator_class`, `calculator_version`, `calculator_model`, `calculator_args`). Relaxed-lattice
labels (`--relax`, nanomc.training.relaxed) have no forces, `label_energies = "relaxed-lattice"`,
the relaxation's provenance and the identity key `relaxation` (absent, i.e. "none", in ordinary
labels). A frame is
appended with one write and fsync'd, so a killed run leaves whole frames and at most one torn
last frame, which the next run removes before it continues.
"""
from __future__ import annotations

import hashlib
import io
import os
import sys
from pathlib import Path

import numpy as np
from ase import Atoms

from ..errors import NanomcError
from .relaxed import KIND_KEY, PROVENANCE_KEYS, RELAXATION_KEY, RELAXED

HASH_KEY = "structure_hash"
IDENTITY_KEYS = ("calculator", "calculator_class", "calculator_version", "calculator_model", "calculator_args")
#: info keys of an input frame that are not carried into its label (they would be stale or clash)
_NOT_CARRIED = {"energy", "free_energy", "forces", "stress", HASH_KEY, *IDENTITY_KEYS, RELAXATION_KEY, *PROVENANCE_KEYS}


class LabelFileError(NanomcError, ValueError):
    """A labels file that is not what `nanomc label` writes, or that another calculator wrote."""


def structure_hash(atoms: Atoms) -> str:
    """Content hash of a structure: atomic numbers, positions and cell rounded to 1e-6 Å, pbc, as
    "sha256:" and 16 hex digits (the prefix keeps extxyz readers from taking it for a number).
    Info, arrays and calculators do not enter."""
    h = hashlib.sha256()
    h.update(np.ascontiguousarray(atoms.numbers, dtype="<i8").tobytes())
    for array in (atoms.positions, atoms.cell.array):
        h.update((np.round(np.asarray(array, dtype=float), 6) + 0.0).astype("<f8").tobytes())
    h.update(np.asarray(atoms.pbc, dtype=np.uint8).tobytes())
    return "sha256:" + h.hexdigest()[:16]


def label_frame(atoms: Atoms, energy: float, forces: np.ndarray | None, key: str, identity: dict[str, str],
                info: dict | None = None) -> str:
    """The extxyz text of one label: `atoms` (its scalar info keys kept) with energy (eV), forces (eV/Å; None:
    no forces), its hash `key`, the calculator identity and further `info` (a relaxation's provenance)."""
    from ase.io import write

    frame = Atoms(atoms.numbers, positions=atoms.positions, cell=atoms.cell, pbc=atoms.pbc)
    frame.info.update({k: v for k, v in atoms.info.items()
                       if k not in _NOT_CARRIED and isinstance(v, (str, int, float, bool, np.integer, np.floating))})
    frame.info.update({"energy": float(energy), HASH_KEY: key, **identity, **(info or {})})
    if forces is not None:
        frame.arrays["forces"] = np.asarray(forces, dtype=float)
    text = io.StringIO()
    write(text, frame, format="extxyz")
    return text.getvalue()


def _frame_spans(data: bytes) -> tuple[list[tuple[int, int, int]], int]:
    """(start byte, end byte, first line) of every complete frame, and the byte where the complete part ends."""
    lines = data.splitlines(keepends=True)
    spans, pos, k = [], 0, 0
    while k < len(lines):
        try:
            n = int(lines[k])
        except ValueError:
            break
        if k + n + 2 > len(lines) or not lines[k + n + 1].endswith(b"\n"):
            break
        end = pos + sum(len(line) for line in lines[k:k + n + 2])
        spans.append((pos, end, k + 1))
        pos, k = end, k + n + 2
    return spans, pos


def cut_torn_tail(path: Path, complete: int, what: str) -> None:
    """Cut an append-only file after its first `complete` bytes, the rest being a torn last `what`
    (a write interrupted by a kill), and say so on stderr."""
    with open(path, "r+b") as f:
        f.truncate(complete)
        os.fsync(f.fileno())
    print(f"nanomc: {path}: removed a torn last {what} (a write interrupted by a kill)", file=sys.stderr)


def read_labels(path: str | Path, repair: bool = False) -> list[Atoms]:
    """The labelled structures of a labels file (energy and forces in atoms.calc.results, hash and
    identity in atoms.info). A torn last frame (a killed write) is dropped; with repair it is also
    cut off the file. LabelFileError for anything else that is not a label."""
    from ase.io import read

    path = Path(path)
    if not path.exists():
        return []
    data = path.read_bytes()
    spans, complete = _frame_spans(data)
    if complete < len(data):
        rest = data[complete:]
        if not (rest.split(b"\n", 1)[0].strip().isdigit() or b"\n" not in rest):
            line = data[:complete].count(b"\n") + 1
            raise LabelFileError(f"{path}:{line}: not the start of an extxyz frame; this is not a labels file of "
                                 "`nanomc label`")
        if repair:
            cut_torn_tail(path, complete, "frame")
    frames = []
    for number, (start, end, line) in enumerate(spans):
        origin = f"{path}:{line} (frame {number})"
        try:
            atoms = read(io.StringIO(data[start:end].decode()), format="extxyz")
        except Exception as exc:  # ASE raises many kinds for malformed frames
            raise LabelFileError(f"{origin}: not an extxyz frame ({type(exc).__name__}: {exc})") from None
        results = atoms.calc.results if atoms.calc is not None else {}
        missing = [k for k in (HASH_KEY, *IDENTITY_KEYS) if k not in atoms.info]
        missing += [k for k in ("energy", "forces") if k not in results
                    and not (k == "forces" and atoms.info.get(KIND_KEY) == RELAXED)]
        if missing:
            raise LabelFileError(f"{origin}: no {', '.join(missing)}; not a label of `nanomc label`")
        frames.append(atoms)
    return frames


def check_identity(path: Path, frames: list[Atoms], identity: dict[str, str]) -> None:
    """LabelFileError if a frame was labelled by another calculator (class, version, model or arguments)
    or with other relaxation settings (`relaxation`, "none" when absent: ordinary labels)."""
    keys = (*IDENTITY_KEYS, RELAXATION_KEY)
    ours = {k: identity.get(k, "none") for k in keys}
    for number, atoms in enumerate(frames):
        theirs = {k: str(atoms.info.get(k, "none")) for k in keys}
        if theirs != ours:
            diff = ", ".join(f"{k} {theirs[k]!r} (now {ours[k]!r})" for k in keys if theirs[k] != ours[k])
            what = "other relaxation settings" if theirs[RELAXATION_KEY] != ours[RELAXATION_KEY] else "another calculator"
            raise LabelFileError(f"{path} frame {number} has {what}: {diff}; label into another file")


class LabelWriter:
    """Appends label frames to a file (created at the first frame), each with one write and an fsync."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._fd: int | None = None

    def append(self, text: str) -> None:
        """Append one frame's text; it is on disk when this returns."""
        try:
            if self._fd is None:
                self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            data = text.encode()
            while data:
                data = data[os.write(self._fd, data):]
            os.fsync(self._fd)
        except OSError as exc:
            raise LabelFileError(f"cannot write {self.path} ({exc.strerror or exc})") from None

    def close(self) -> None:
        """Close the file."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
