"""Off-lattice relaxation of structures with a potential (`nanomc relax`).

Monte Carlo keeps atoms on their lattice sites; `relax` lets them move to the nearest energy
minimum with ASE's FIRE or BFGS and nanomc's analytic forces, and reports the energy gained.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from ase import Atoms

from .calculator import Calculator
from .errors import NanomcError, StructureError
from .formatting import format_temperature
from .potential import Potential
from .structure import without_vacancies

OPTIMIZERS = ("FIRE", "BFGS")


class RelaxError(NanomcError, RuntimeError):
    """A relaxation that cannot start (no campaign output, another potential, bad settings)."""


@dataclass
class Relaxation:
    """One relaxed structure: energies in eV, largest remaining force in eV/Å."""

    label: str
    atoms: Atoms            # the relaxed structure (info: energies, fmax, steps, converged)
    energy_before: float
    energy_after: float
    fmax: float
    steps: int
    converged: bool
    #: with path_frames: structures along the path, the start and the last good step included
    path: list[Atoms] = field(default_factory=list)
    #: with path_frames: why the relaxation stopped early (atoms driven together), else ""
    failed: str = ""


def relax(atoms: Atoms, potential: Potential, fmax: float = 0.05, steps: int = 1000,
          optimizer: str = "FIRE", label: str = "", path_frames: int = 0, keep_going: bool = False) -> Relaxation:
    """Relax a copy of `atoms` (positions only, the cell stays) until every force is below
    `fmax` eV/Å or `steps` optimiser steps are done. Vacancies (X atoms) are left out: the
    relaxed structure holds the real atoms only, and info["vacancies_removed"] says how many.
    A relaxed-lattice potential (its forces mean nothing) raises PotentialError.

    path_frames K > 0 also keeps K structures evenly spaced along the path (the start and the last
    step among them; info["path_step"] says which), the frames an active-learning round labels with
    the reference. With path frames or keep_going, a relaxation that drives atoms together stops at
    its last good step (Relaxation.failed says why) instead of raising RelaxError."""
    from ase.optimize import BFGS, FIRE

    potential.refuse_forces("nanomc relax")
    if optimizer not in OPTIMIZERS:
        raise RelaxError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, got {optimizer!r}")
    if not (fmax > 0 and steps >= 0):
        raise RelaxError(f"need fmax > 0 eV/Å and steps >= 0, got fmax {fmax} and steps {steps}")
    if path_frames < 0:
        raise RelaxError(f"path_frames must be 0 or more, got {path_frames}")
    moved = without_vacancies(atoms)
    moved.calc = Calculator(potential)
    before = moved.get_potential_energy()
    good: list[tuple[np.ndarray, float]] = []  # (positions, energy) of every step, the start included
    opt = {"FIRE": FIRE, "BFGS": BFGS}[optimizer](moved, logfile=None)
    if path_frames or keep_going:
        opt.attach(lambda: good.append((moved.positions.copy(), moved.get_potential_energy())))
    failed = ""
    try:
        opt.run(fmax=fmax, steps=steps)
    except StructureError as exc:
        if not (path_frames or keep_going):
            raise RelaxError(f"relaxing {label or 'the structure'} stopped after {opt.nsteps} steps: {exc}; the "
                             f"potential drives atoms together here (outside its training data?)") from None
        failed = f"stopped after {opt.nsteps} steps: {exc}"
        moved.positions = good[-1][0]
    after = moved.get_potential_energy()
    largest = float(np.linalg.norm(moved.get_forces(), axis=1).max()) if len(moved) else 0.0
    converged = largest < fmax and not failed
    moved.calc = None
    moved.info.update({"energy_eV": after, "energy_unrelaxed_eV": before, "fmax_eV_per_A": largest,
                       "relax_steps": opt.nsteps, "relax_converged": converged,
                       "vacancies_removed": len(atoms) - len(moved)})
    return Relaxation(label, moved, before, after, largest, opt.nsteps, converged,
                      _path(moved, good, path_frames), failed)


def _path(relaxed: Atoms, good: list[tuple[np.ndarray, float]], k: int) -> list[Atoms]:
    """k structures evenly spaced over the recorded (positions, energy) steps, first and last included."""
    if k == 0:
        return []
    frames = []
    for step in sorted({int(round(x)) for x in np.linspace(0, len(good) - 1, k)}):
        frame = Atoms(relaxed.numbers, positions=good[step][0], cell=relaxed.cell, pbc=relaxed.pbc)
        frame.info.update({key: value for key, value in relaxed.info.items() if key == "config_type"})
        frame.info.update({"path_step": step, "energy_relaxer_eV": good[step][1]})
        frames.append(frame)
    return frames


def campaign_structures(params: str | Path, which: str) -> tuple[Potential, Path, list[tuple[str, str, Atoms]]]:
    """The potential, output directory and (name, label, structure) of a finished campaign:
    `which` is "final" (the last configuration at the lowest temperature), "best" (the
    lowest-energy configuration seen) or "both". RelaxError if the campaign has not written them."""
    from .analysis.population import read_record
    from .campaign.schema import load_config
    from .campaign.setup import load_potential
    from .particles import read_frames

    params = Path(params)
    config, _ = load_config(params)
    directory = params.parent / config["output"]["directory"]
    potential = load_potential(config, params.parent)
    results = directory / "results.h5"
    if results.exists() and read_record(results).potential_hash != potential.content_hash():
        raise RelaxError(f"{results} was made with another potential than {params} names now")
    picked = []
    for name in ("final", "best") if which == "both" else (which,):
        path = directory / f"{name}.extxyz"
        if not path.is_file():
            raise RelaxError(f"{path} does not exist: run `nanomc run {params}` to the end first")
        frames = read_frames(path)
        if name == "final":
            k = int(np.argmin([a.info.get("temperature_K", np.inf) for a in frames]))
            label = f"final ({format_temperature(frames[k].info.get('temperature_K', float('nan')))} K)"
        else:
            k = int(np.argmin([a.info.get("energy_eV", np.inf) for a in frames]))
            label = f"best (replica {frames[k].info['replica']})" if "replica" in frames[k].info else "best"
        picked.append((name, label, frames[k]))
    return potential, directory, picked


def table(relaxations: list[Relaxation]) -> str:
    """Energies before and after (eV and eV/atom), remaining force and steps, one row each
    (atoms: the real atoms, vacancies left out)."""
    lines = [f"{'structure':24s} {'atoms':>6s} {'E before (eV)':>14s} {'E after (eV)':>14s} "
             f"{'before eV/atom':>15s} {'after eV/atom':>14s} {'dE/atom (meV)':>14s} {'fmax (eV/A)':>12s} "
             f"{'steps':>6s}"]
    for r in relaxations:
        n = len(r.atoms)
        lines.append(f"{r.label[-24:]:24s} {n:6d} {r.energy_before:14.6f} {r.energy_after:14.6f} "
                     f"{r.energy_before / n:15.6f} {r.energy_after / n:14.6f} "
                     f"{1e3 * (r.energy_after - r.energy_before) / n:14.3f} {r.fmax:12.4f} "
                     f"{r.steps:6d}{_state(r)}{_vacancy_note(r.atoms)}")
    return "\n".join(lines)


def _state(r: Relaxation) -> str:
    if r.failed:
        return f"  (failed: {r.failed})"
    return "" if r.converged else "  (not converged)"


def _vacancy_note(atoms: Atoms) -> str:
    removed = atoms.info.get("vacancies_removed", 0)
    return f"  ({removed} vacancies left out)" if removed else ""
