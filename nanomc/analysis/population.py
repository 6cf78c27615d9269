"""Population-annealing results (format "nanomc-pamc") in the analysis.

Every completed temperature step is one state: its snapshots are the R walkers after the step's
sweeps (resampling came before them, so the walkers are equally weighted samples of T_k), with
their energies. Walkers of one family (descendants of one initial walker) are correlated and
families independent, so every error is the cluster-robust one over families
(`statistics.clustered_ratio_estimate`), never blocking: walker order is not time. The step's
thermodynamics (`population_results.thermodynamics`) become rows of the table.

With K starts the file holds K independent populations. Every value is then computed for each
population on its own and the K estimates are pooled (`convergence.agreement`): the mean of the
populations' estimates, an error that is the larger of their spread and their own errors, and the
χ² test that they agree within their own errors (column agreement_p; ‡ below p = 0.01). Quantities
without an error of their own (C/k_B, R_eff/R, families_eff/R) get the spread error and no test.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import h5py
import numpy as np
from ase import Atoms

from ..formatting import format_temperature
from ..mc.schedule import KB
from ..campaign.population_results import (FORMAT, PopulationRecord, population_block, read_population, step_values,
                                  thermodynamics)
from ..campaign.results import RunRecord, read_results
from .analyze import ROUNDING, Analysis, State, analyze_states, structure
from .convergence import agreement
from .errors import AnalysisError, AnalysisWarning
from .statistics import MIN_CLUSTERS

__all__ = ["PopulationRecord", "read_record", "from_population", "thermodynamics_rows", "pooled_thermodynamics"]


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
                    clusters=np.asarray(family), starts=record.n_starts)
              for t, occupations, energy, family in zip(record.temperatures, record.snapshots, record.energy,
                                                        record.family)]
    atoms = Atoms(positions=record.positions, cell=record.cell, pbc=record.pbc)
    info = {
        "source": name, "ensemble": "pamc", "walkers": record.walkers, "resampling": record.resampling,
        "sweeps_per_step": record.sweeps_per_step, "steps_done": done, "steps_total": record.steps_total,
        "complete": record.complete, "snapshots_kept": record.n_walkers, "starts": list(record.starts),
    }
    analysis = analyze_states(atoms, list(record.elements), np.asarray(record.group), states, element, radial_width,
                              info, probe, thermodynamics_rows(record))
    analysis.structures = population_structures(record)
    return analysis


def pooled_thermodynamics(record: PopulationRecord) -> dict[str, list]:
    """Per thermodynamic quantity of the table, per completed step, the populations' estimates pooled: a
    list of `convergence.Agreement` (one population: its own value and error, no test).

    free_energy (eV, error k_B T σ(ln Z)), entropy (S/k_B, error from σ(⟨E⟩) and σ(ln Z) in
    quadrature), ln_z, and mean_energy (eV) have errors of their own; heat_capacity (C/k_B),
    effective_fraction and family_fraction do not (NaN: with several populations the error is their
    spread, and there is no test). ln Z, F and S only from populations that estimate them
    (population_results.estimates_ln_z): NaN when none does.
    """
    k = record.steps_done
    t = np.asarray(record.temperatures[:k], float)
    kt = KB * t
    none = np.full(k, np.nan)
    effective = step_values(record, "effective_fraction")
    per_start = []
    for s in range(record.n_starts):
        th = thermodynamics(record, s)
        per_start.append({
            "mean_energy": (th["mean_energy"], th["energy_error"]),
            "free_energy": (th["free_energy"], kt * th["ln_z_error"]),
            "entropy": (th["entropy"], np.hypot(th["energy_error"] / kt, th["ln_z_error"])),
            "heat_capacity": (th["heat_capacity"], none),
            "ln_z": (th["ln_z"], th["ln_z_error"]),
            "effective_fraction": (effective[:, s], none),
            "family_fraction": (th["family_fraction"], none),
        })
    out = {}
    for quantity in per_start[0]:
        means = np.array([values[quantity][0] for values in per_start])           # (K, steps)
        errors = np.array([values[quantity][1] for values in per_start])
        out[quantity] = [agreement(means[:, j], errors[:, j], _rounding(means[:, j])) for j in range(k)]
    return out


def _rounding(values: np.ndarray) -> float:
    """Differences of estimates below this are rounding (statistics of floating-point sums)."""
    finite = np.abs(values[np.isfinite(values)])
    return ROUNDING * max(1.0, float(finite.max()) if len(finite) else 1.0)


def thermodynamics_rows(record: PopulationRecord) -> list[dict]:
    """Table rows of `pooled_thermodynamics` per completed step, category and element "" (all but
    mean_energy, which the measured energy rows give): mean and error of the pooled estimate;
    agreement_p and mcmc_converged the test of the populations (several starts and errors; else NaN and
    False); converged: every population has at least MIN_CLUSTERS families at the step.
    """
    pooled = pooled_thermodynamics(record)
    families = np.array([thermodynamics(record, s)["families"] for s in range(record.n_starts)])
    rows = []
    for k, temperature in enumerate(record.temperatures[:record.steps_done]):
        for quantity, values in pooled.items():
            if quantity == "mean_energy":
                continue
            rows.append({"temperature_K": float(temperature), "quantity": quantity, "category": "", "element": "",
                         "mean": values[k].mean, "error": values[k].error, "n_samples": record.n_walkers,
                         "n_independent": float("nan"), "tau_int_sweeps": float("nan"),
                         "converged": bool((families[:, k] >= MIN_CLUSTERS).all()),
                         "agreement_p": values[k].p, "mcmc_converged": values[k].converged(),
                         "random": float("nan"), "sites": float("nan")})
    return rows


def population_structures(record: PopulationRecord) -> list[Atoms]:
    """The lowest-energy walker after the last completed step (of each population, with several) and the
    lowest-energy state any walker visited, as ase.Atoms with info "name" and "title" (for rendering)."""
    t = format_temperature(record.temperatures[record.steps_done - 1])
    frames = []
    for s in range(record.n_starts):
        block = population_block(record, s)
        energy = np.asarray(record.energy[-1], float)[block]
        k = int(np.argmin(energy))
        name, title = (f"_start{s}", f", population {s} ({record.starts[s]})") if record.n_starts > 1 else ("", "")
        frames.append(structure(record, f"final_{t}K{name}",
                                f"lowest-energy walker of the last step{title}, {t} K, E = {energy[k]:.3f} eV",
                                record.snapshots[-1][block][k]))
    if record.best_elements is not None:
        frames.append(structure(record, "lowest", f"lowest energy any walker visited, E = {record.best_energy:.3f} eV",
                                record.best_elements))
    return frames
