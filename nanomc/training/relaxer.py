"""Is a nanomc potential a relaxer as good as the reference? (`nanomc check-relaxer`)

A relaxed-lattice label costs one reference relaxation, or, on the cheap path, a relaxation with
a nanomc potential followed by one reference single point at the geometry it reaches. The cheap
path is only as good as the potential's forces: this module measures it against reference
relaxations of held-out structures (`nanomc label --relax --relaxed-geometry`, which keeps the
relaxed structure, the reference's energy there and its unrelaxed energy).

For each held-out structure of N atoms, with E₀ the reference energy of the input geometry, E_ref
the reference's own relaxed energy and E_cheap the reference energy at the cheap path's geometry:
  error     (E_cheap − E_ref) / N, meV/atom (≥ 0 when both reach the same basin: the reference's
            minimum is lower; negative when the cheap path finds a lower basin);
  captured  (E₀ − E_cheap) / (E₀ − E_ref), the share of the relaxation energy the cheap path gets;
  fmax      the largest reference force at the cheap path's geometry, eV/Å.
With `--reference-points K` the cheap path is the corrected relaxation instead (nanomc.training.corrected:
up to K reference points, the potential corrected to the reference in between), and the check says how
many points it took.
The active-learning loop that makes such a relaxer (relax with the potential, label frames along the
paths, train with forces, check) is the recipe in docs (runs/CeCuO-relaxer/README.md).
"""
from __future__ import annotations

import csv
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
from ase import Atoms

from ..errors import NanomcError
from ..potential import Potential
from ..relax import relax
from ..structure import without_vacancies
from .labelfile import HASH_KEY, read_labels, structure_hash
from .relaxed import KIND_KEY, RELAXED_GEOMETRY


class RelaxerCheckError(NanomcError, ValueError):
    """Reference relaxations that cannot be checked against (not --relaxed-geometry labels, no inputs)."""


@dataclass
class RelaxerCheck:
    """One held-out structure: energies in eV (the reference's at the input geometry, at its own relaxed
    geometry and at the cheap path's; the potential's at its own), the reference's largest force at the
    cheap path's geometry (eV/Å), the reference single points the cheap path took and why it failed ("" if
    it did not)."""

    origin: str
    kind: str
    atoms: int
    energy_unrelaxed: float
    energy_reference: float
    energy_cheap: float
    energy_potential: float
    reference_fmax: float
    points: int
    failed: str = ""

    @property
    def error(self) -> float:
        """(E_cheap − E_ref) per atom, meV/atom."""
        return 1e3 * (self.energy_cheap - self.energy_reference) / self.atoms

    @property
    def captured(self) -> float:
        """The share of the reference's relaxation energy that the cheap path gets (1 = all of it)."""
        gained = self.energy_unrelaxed - self.energy_reference
        return (self.energy_unrelaxed - self.energy_cheap) / gained if gained > 0 else float("nan")

    @property
    def potential_error(self) -> float:
        """The potential's own energy error at its relaxed geometry, meV/atom."""
        return 1e3 * (self.energy_potential - self.energy_cheap) / self.atoms


def paired_references(inputs: Sequence[str | Path], reference: str | Path) -> list[tuple[str, Atoms, Atoms]]:
    """(origin, input structure (vacancies dropped), reference relaxation) for every reference relaxation of
    `reference` (a `nanomc label --relax --relaxed-geometry` file), matched to its input by structure hash."""
    from ..particles import read_frames

    if not Path(reference).is_file():
        raise RelaxerCheckError(f"{reference}: reference relaxations not found")
    relaxed = read_labels(reference)
    if not relaxed:
        raise RelaxerCheckError(f"{reference} holds no labels")
    if any(frame.info.get(KIND_KEY) != RELAXED_GEOMETRY for frame in relaxed):
        raise RelaxerCheckError(f"{reference} is not a file of reference relaxations: label the held-out "
                                f"structures with `nanomc label --relax --relaxed-geometry`")
    by_hash = {}
    for path in inputs:
        for k, frame in enumerate(read_frames(path)):
            atoms = without_vacancies(frame)
            by_hash.setdefault(structure_hash(atoms), (f"{path} frame {k}", atoms))
    pairs = []
    for k, frame in enumerate(relaxed):
        key = str(frame.info[HASH_KEY])
        if key not in by_hash:
            raise RelaxerCheckError(f"{reference} frame {k} ({key}) is not a structure of "
                                    f"{', '.join(map(str, inputs))}")
        origin, atoms = by_hash[key]
        pairs.append((origin, atoms, frame))
    return pairs


def check_relaxer(pairs: Sequence[tuple[str, Atoms, Atoms]], potential: Potential, calc, fmax: float = 0.05,
                  steps: int = 500, optimizer: str = "BFGS", reference_points: int = 1) -> list[RelaxerCheck]:
    """Relax every input of `pairs` (paired_references) with `potential` (fmax eV/Å, at most `steps`
    optimiser steps) and compare, with one single point of the reference ASE calculator `calc` at the
    geometry reached, with the reference relaxation. With reference_points K > 1 the cheap path is the
    corrected relaxation (nanomc.training.corrected) with at most K reference points, to the reference's
    forces below fmax; energy_potential is then the potential's energy at the geometry reached."""
    from .corrected import corrected_relax
    from .label import compute_label

    if reference_points < 1:
        raise RelaxerCheckError(f"--reference-points must be at least 1, got {reference_points}")
    checks = []
    for origin, atoms, reference in pairs:
        if reference_points > 1:
            corrected = corrected_relax(atoms, calc, potential, fmax, reference_points, inner_steps=steps)
            energy, forces, points, failed = corrected.energy, corrected.forces, corrected.points, ""
            own = potential.energy_forces(corrected.atoms).energy
        else:
            cheap = relax(atoms, potential, fmax, steps, optimizer, origin, keep_going=True)
            energy, forces = compute_label(cheap.atoms, calc)
            own, points, failed = cheap.energy_after, 1, cheap.failed
        checks.append(RelaxerCheck(origin, str(atoms.info.get("config_type", "")), len(atoms),
                                   float(reference.info["energy_unrelaxed"]), float(reference.get_potential_energy()),
                                   energy, own, float(np.linalg.norm(forces, axis=1).max()),
                                   points, failed))
    return checks


def summary_table(checks: Sequence[RelaxerCheck]) -> str:
    """One row per kind of structure and one for all: count, error RMSE / MAE / largest (meV/atom), smallest
    and median captured share, median and largest reference force at the cheap geometry (eV/Å), median and
    largest number of reference points, failures."""
    rows = [f"{'kind':10s} {'n':>4s} {'RMSE':>7s} {'MAE':>7s} {'max|err|':>8s} {'captured min':>12s} "
            f"{'median':>7s} {'fmax med':>8s} {'fmax max':>8s} {'points med':>10s} {'max':>4s} {'failed':>6s}"]
    kinds = sorted({c.kind for c in checks})
    for kind in ([*kinds, "all"] if len(kinds) > 1 else ["all"]):
        group = [c for c in checks if kind == "all" or c.kind == kind]
        error = np.array([c.error for c in group])
        captured = np.array([c.captured for c in group])
        force = np.array([c.reference_fmax for c in group])
        rows.append(f"{kind:10s} {len(group):4d} {np.sqrt(np.mean(error ** 2)):7.2f} {np.mean(np.abs(error)):7.2f} "
                    f"{np.max(np.abs(error)):8.2f} {np.nanmin(captured):12.3f} {np.nanmedian(captured):7.3f} "
                    f"{np.median(force):8.3f} {force.max():8.3f} {np.median([c.points for c in group]):10.1f} "
                    f"{max(c.points for c in group):4d} {sum(bool(c.failed) for c in group):6d}")
    return "\n".join(rows)


def write_csv(path: str | Path, checks: Sequence[RelaxerCheck]) -> None:
    """One row per structure: the RelaxerCheck fields and error (meV/atom), captured, potential_error (meV/atom)."""
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        fields = list(asdict(checks[0])) if checks else []
        writer.writerow([*fields, "error_meV_per_atom", "captured", "potential_error_meV_per_atom"])
        for c in checks:
            writer.writerow([*asdict(c).values(), f"{c.error:.4f}", f"{c.captured:.4f}", f"{c.potential_error:.4f}"])
