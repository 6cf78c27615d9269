"""Reference structures with energies (and forces): aenet XSF, extxyz/xyz and ASE databases.

Every reader returns ase.Atoms with the reference energy (eV) in atoms.info["energy"] and,
when present, forces (eV/Å) in atoms.arrays["forces"]; relaxed-lattice labels (`nanomc label
--relax`) keep info["label_energies"] = "relaxed-lattice".
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Iterable

import numpy as np
from ase import Atoms
from ase.data import atomic_numbers, chemical_symbols

from ..errors import NanomcError
from ..structure import without_vacancies
from .relaxed import KIND_KEY


class ReferenceDataError(NanomcError, ValueError):
    """A reference-data file that cannot be read, or a structure without an energy."""


_ENERGY_COMMENT = re.compile(r"#\s*total\s+energy\s*=\s*([-+0-9.eEdD]+)\s*(eV)?", re.IGNORECASE)


def read_xsf(path: str | Path) -> Atoms:
    """One structure from an aenet-style XSF file: '# total energy = E eV' comment, CRYSTAL
    (PRIMVEC, PRIMCOORD) or ATOMS block, optional force columns (eV/Å)."""
    path = Path(path)
    try:
        lines = path.read_text().splitlines()
    except OSError as exc:
        raise ReferenceDataError(f"{path}: cannot read ({exc.strerror})") from None
    energy, cell, rows, mode = None, None, [], None

    def fail(number: int, why: str) -> ReferenceDataError:
        return ReferenceDataError(f"{path}:{number}: {why}")

    k = 0
    while k < len(lines):
        line = lines[k].strip()
        m = _ENERGY_COMMENT.match(line)
        if m:
            energy = float(m.group(1).replace("d", "e").replace("D", "e"))
        elif line.startswith("#") or not line:
            pass
        elif line == "CRYSTAL":
            mode = "crystal"
        elif line == "ATOMS":
            mode = "atoms"
        elif line == "PRIMVEC":
            try:
                cell = np.array([[float(x) for x in lines[k + j].split()[:3]] for j in (1, 2, 3)])
            except (IndexError, ValueError):
                raise fail(k + 1, "PRIMVEC needs three lines of three numbers") from None
            k += 3
        elif line in ("CONVVEC",):
            k += 3
        elif line == "PRIMCOORD":
            try:
                n = int(lines[k + 1].split()[0])
            except (IndexError, ValueError):
                raise fail(k + 2, "PRIMCOORD needs the number of atoms") from None
            rows = [(k + 3 + j, lines[k + 2 + j].split()) for j in range(n) if k + 2 + j < len(lines)]
            if len(rows) != n:
                raise fail(k + 2, f"PRIMCOORD announces {n} atoms but the file ends after {len(rows)}")
            k += 1 + n
        elif mode == "atoms":
            rows.append((k + 1, line.split()))
        else:
            raise fail(k + 1, f"unexpected line {line[:40]!r}")
        k += 1
    if not rows:
        raise ReferenceDataError(f"{path}: no atoms found (need a PRIMCOORD or ATOMS block)")
    symbols, positions, forces = [], [], []
    for number, fields in rows:
        try:
            sym = fields[0]
            symbols.append(chemical_symbols[int(sym)] if sym.isdigit() else sym)
            positions.append([float(x) for x in fields[1:4]])
            if len(fields) >= 7:
                forces.append([float(x) for x in fields[4:7]])
        except (ValueError, IndexError):
            raise fail(number, "an atom line needs a species and three coordinates") from None
        if symbols[-1] not in atomic_numbers:
            raise fail(number, f"unknown element {symbols[-1]!r}")
    atoms = Atoms(symbols, positions=positions, cell=cell, pbc=cell is not None)
    if energy is not None:
        atoms.info["energy"] = energy
    if len(forces) == len(symbols):
        atoms.arrays["forces"] = np.array(forces)
    return atoms


def write_xsf(path: str | Path, atoms: Atoms) -> None:
    """Write atoms in aenet's XSF convention (energy comment in eV, forces in eV/Å if present)."""
    out = []
    if "energy" in atoms.info:
        out += [f"# total energy = {atoms.info['energy']:.10f} eV", ""]
    forces = atoms.arrays.get("forces")
    extra = (lambda i: "  " + " ".join(f"{f:.10f}" for f in forces[i])) if forces is not None else (lambda i: "")
    if atoms.pbc.any():
        out += ["CRYSTAL", "PRIMVEC"] + [" ".join(f"{x:.10f}" for x in v) for v in atoms.cell.array]
        out += ["PRIMCOORD", f"{len(atoms)} 1"]
    else:
        out += ["ATOMS"]
    for i, (s, p) in enumerate(zip(atoms.get_chemical_symbols(), atoms.positions)):
        out.append(f"{s} {p[0]:.10f} {p[1]:.10f} {p[2]:.10f}{extra(i)}")
    Path(path).write_text("\n".join(out) + "\n")


def _with_energy(atoms: Atoms, energy_key: str, origin: str, require: bool = True,
                 forces_key: str | None = None) -> Atoms:
    """Copy the reference energy into info['energy']: info[energy_key], or for the default key
    "energy" also the calculator's result (a named key never falls back to another energy);
    forces into arrays['forces'] (arrays[forces_key] if named, which must then be present);
    vacancies (X atoms, which have no energy) are dropped."""
    energy = atoms.info.get(energy_key)
    forces = atoms.arrays.get(f"{energy_key}_forces") if energy_key != "energy" else None
    if energy is None and atoms.calc is not None and energy_key == "energy":
        energy = atoms.calc.results.get("energy")
        forces = atoms.calc.results.get("forces")
    if energy is None and require:
        if energy_key != "energy":
            raise ReferenceDataError(f"{origin}: no energy under info key {energy_key!r}")
        raise ReferenceDataError(f"{origin}: no energy (looked for info key 'energy' and calculator results)")
    clean = Atoms(atoms.numbers, positions=atoms.positions, cell=atoms.cell, pbc=atoms.pbc)
    if KIND_KEY in atoms.info:
        clean.info[KIND_KEY] = str(atoms.info[KIND_KEY])
    if energy is not None:
        clean.info["energy"] = float(energy)
    if forces is None and "forces" in atoms.arrays:
        forces = atoms.arrays["forces"]
    if forces_key is not None:
        forces = atoms.arrays.get(forces_key)
        if forces is None:
            raise ReferenceDataError(f"{origin}: no forces under per-atom key {forces_key!r}")
    if forces is not None:
        forces = np.asarray(forces, float)
        if forces.shape != (len(atoms), 3) or not np.isfinite(forces).all():
            raise ReferenceDataError(f"{origin}: the forces must be {len(atoms)} finite (x, y, z) rows in eV/Å")
        clean.arrays["forces"] = forces
    return without_vacancies(clean)


def read_frames(path: Path, what: str = "reference file") -> list[Atoms]:
    """Every frame of a file ASE reads (also compressed: .gz, .bz2, .xz); ReferenceDataError naming
    `what` if it is missing or unreadable."""
    from ..particles import read_all_frames

    if not path.exists():
        raise ReferenceDataError(f"{path}: {what} not found")
    try:
        return read_all_frames(path)
    except Exception as exc:  # ASE raises many kinds for unreadable files
        raise ReferenceDataError(f"{path}: cannot read ({type(exc).__name__}: {exc})") from None


def read_reference(paths: Iterable[str | Path], energy_key: str = "energy", require_energy: bool = True,
                   forces_key: str | None = None) -> list[Atoms]:
    """All structures of the given files: *.xsf (aenet), *.db (ASE database), anything else
    ASE reads (extxyz, ...). Energies from info[energy_key] (eV), for the default key "energy"
    also from calculator results; a structure without one is an error unless require_energy
    is False (then its reference energy is unknown). Forces (eV/Å) from arrays[forces_key] if
    named (then required), else from `forces`, calculator results or `<energy_key>_forces`.
    Vacancies (X) are dropped."""
    structures: list[Atoms] = []
    for path in map(Path, paths):
        if not path.exists():
            raise ReferenceDataError(f"{path}: reference file not found")
        if path.suffix.lower() == ".xsf":
            if energy_key != "energy":
                raise ReferenceDataError(f"{path}: an XSF file holds one energy ('# total energy'); "
                                         f"energy_key {energy_key!r} does not apply to it")
            atoms = read_xsf(path)
            structures.append(_with_energy(atoms, "energy", str(path), require_energy, forces_key))
            continue
        if path.suffix.lower() == ".db":
            from ase.db import connect

            for row in connect(path).select():
                atoms = row.toatoms()
                atoms.info.update(row.key_value_pairs)
                structures.append(_with_energy(atoms, energy_key, f"{path} row {row.id}", require_energy, forces_key))
            continue
        frames = read_frames(path)
        structures += [_with_energy(a, energy_key, f"{path} frame {k}", require_energy, forces_key)
                       for k, a in enumerate(frames)]
    return structures
