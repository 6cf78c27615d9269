"""Population-annealing results (format "nanomc-pamc") in the analysis.

Every completed temperature step is one state: its snapshots are the R walkers after the step's
sweeps (resampling came before them, so the walkers are equally weighted samples of T_k), with
their energies. Walkers of one family (descendants of one initial walker) are correlated and
families independent, so every error is the cluster-robust one over families
(`statistics.clustered_ratio_estimate`), never blocking: walker order is not time. The step's
thermodynamics (`population_results.thermodynamics`) become rows of the table.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import h5py
import numpy as np
from ase import Atoms

from ..mc.schedule import KB
from ..population_results import FORMAT, PopulationRecord, read_population, thermodynamics
from ..results import RunRecord, read_results
from .analyze import Analysis, State, analyze_states, structure
from .errors import AnalysisError, AnalysisWarning
from .statistics import MIN_CLUSTERS
from .table import format_temperature

__all__ = ["PopulationRecord", "read_record", "from_population"]


def read_record(path: str | Path) -> RunRecord | PopulationRecord:
    """Read a results file of any ensemble: a PopulationRecord when its format attribute is that of
    population annealing ("nanomc-pamc"), else a RunRecord (ResultsFileError with a one-line reason)."""
    try:
        with h5py.File(path, "r") as f:
            population = f.attrs.get("format") == FORMAT
    except OSError:                 # missing or not HDF5: read_results says so in its words
        population = False
    return read_population(path) if population else read_results(path)


def from_population(record: PopulationRecord, name: str, element: str | None, radial_width: float | None,
                    probe: tuple | None = None) -> Analysis:
    """The Analysis of a population-annealing run: per completed step a State of its walkers,
    clustered by family, and the rows of the step's thermodynamics; name: the source for messages."""
    done = record.steps_done
    if not done:
        raise AnalysisError(f"{name}: the results file holds no completed temperature step")
    if not record.complete:
        warnings.warn(f"{name}: the run is incomplete ({done} of {record.steps_total} temperature steps); "
                      "analysing what is there", AnalysisWarning, stacklevel=3)
    states = [State(float(t), np.asarray(occupations, np.int64), energy=np.asarray(energy, float),
                    clusters=np.asarray(family))
              for t, occupations, energy, family in zip(record.temperatures, record.snapshots, record.energy,
                                                        record.family)]
    atoms = Atoms(positions=record.positions, cell=record.cell, pbc=record.pbc)
    info = {
        "source": name, "ensemble": "pamc", "walkers": record.walkers, "resampling": record.resampling,
        "sweeps_per_step": record.sweeps_per_step, "steps_done": done, "steps_total": record.steps_total,
        "complete": record.complete, "snapshots_kept": record.walkers,
    }
    analysis = analyze_states(atoms, list(record.elements), np.asarray(record.group), states, element, radial_width,
                              info, probe, thermodynamics_rows(record))
    analysis.structures = population_structures(record)
    return analysis


def thermodynamics_rows(record: PopulationRecord) -> list[dict]:
    """Table rows of `population_results.thermodynamics` per completed step, category and element "".

    free_energy (eV, error k_B T σ(ln Z)), entropy (S/k_B, error from σ(⟨E⟩) and σ(ln Z) in
    quadrature), heat_capacity (C/k_B), ln_z, effective_fraction, family_fraction (no errors: NaN);
    converged: the step has at least MIN_CLUSTERS families.
    """
    th = thermodynamics(record)
    t = np.asarray(record.temperatures[:record.steps_done], float)
    kt = KB * t
    none = np.full(len(t), np.nan)
    values = {
        "free_energy": (th["free_energy"], kt * th["ln_z_error"]),
        "entropy": (th["entropy"], np.hypot(th["energy_error"] / kt, th["ln_z_error"])),
        "heat_capacity": (th["heat_capacity"], none),
        "ln_z": (th["ln_z"], th["ln_z_error"]),
        "effective_fraction": (np.asarray(record.effective_fraction[:len(t)], float), none),
        "family_fraction": (th["family_fraction"], none),
    }
    return [{"temperature_K": float(t[k]), "quantity": quantity, "category": "", "element": "",
             "mean": float(mean[k]), "error": float(error[k]), "n_samples": record.walkers,
             "n_independent": float("nan"), "tau_int_sweeps": float("nan"),
             "converged": bool(th["families"][k] >= MIN_CLUSTERS), "random": float("nan"), "sites": float("nan")}
            for k in range(len(t)) for quantity, (mean, error) in values.items()]


def population_structures(record: PopulationRecord) -> list[Atoms]:
    """The lowest-energy walker after the last completed step and the lowest-energy state any walker
    visited, as ase.Atoms with info "name" and "title" (for rendering)."""
    energy = np.asarray(record.energy[-1], float)
    k = int(np.argmin(energy))
    t = format_temperature(record.temperatures[record.steps_done - 1])
    frames = [structure(record, f"final_{t}K", f"lowest-energy walker of the last step, {t} K, E = {energy[k]:.3f} eV",
                        record.snapshots[-1][k])]
    if record.best_elements is not None:
        frames.append(structure(record, "lowest", f"lowest energy any walker visited, E = {record.best_energy:.3f} eV",
                                record.best_elements))
    return frames
