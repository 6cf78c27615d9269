"""The HDF5 results file of a population-annealing campaign (`ensemble = "pamc"`).

Layout (format "nanomc-pamc", version 1):
    /  attrs: format, format_version, nanomc_version, parameters (the file text), potential_hash,
              seed, ensemble ("pamc"), elements, walkers, resampling, sweeps_per_step, ln_omega,
              steps_done, steps_total, complete, potential_energies (as in nanomc.results)
    /structure        positions (N, 3) Å, cell (3, 3) Å, pbc (3,), initial_elements (N,), group (N,)
    /steps            temperature (K,) K — the schedule, highest first
                      per completed step k (first axis k < steps_done):
                      log_q (k,): ln of the mean Boltzmann weight of the step, ln Z_k/Z_{k−1}
                      effective_fraction (k,): (Σw)²/(R Σw²) before resampling, 1 = no loss
                      the derived thermodynamics (`thermodynamics`): mean_energy, energy_error,
                      heat_capacity, ln_z, ln_z_error, free_energy, entropy, families, family_fraction
    /walkers          initial_energy (R,) eV: the random population at infinite temperature;
                      energy (k, R) eV and acceptance (k, R) after the sweeps of step k;
                      family (k, R): index of the initial walker each walker descends from;
                      parent (k, R): index (at step k − 1) of the walker each one was copied from
    /snapshots        elements (k, R, N) int8: every walker's occupation after the sweeps of step k
    /final            energy (R,) eV, elements (R, N) int8 — the walkers after the last step
    /best             energy () eV, elements (N,) int8 — the lowest-energy state any walker visited
    /checkpoint       elements, best_elements (R, N); descriptors (R, N, D); atomic_energies (R, N);
                      total, best_total (R,) — the exact walker states after step steps_done − 1
Written like the replica results: to a temporary name, then renamed.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.special import logsumexp

from .analysis.statistics import clustered_ratio_estimate
from .hdf5io import open_checked, write_atomically
from .mc.schedule import KB
from .mc.population import STATE_KEYS
from .results import ResultsFileError, read_campaign, write_campaign

FORMAT = "nanomc-pamc"
FORMAT_VERSION = 1
#: per-step datasets that thermodynamics() derives and the writer stores for readers of the raw file
DERIVED = ("mean_energy", "energy_error", "heat_capacity", "ln_z", "ln_z_error", "free_energy", "entropy",
           "families", "family_fraction")


@dataclass
class PopulationRecord:
    """Everything a population-annealing campaign has produced so far, in memory."""

    parameters: str
    potential_hash: str
    seed: int
    elements: list[str]
    positions: np.ndarray
    cell: np.ndarray
    pbc: np.ndarray
    initial_elements: np.ndarray
    group: np.ndarray
    temperatures: np.ndarray
    walkers: int
    resampling: str
    sweeps_per_step: int
    ln_omega: float
    initial_energy: np.ndarray
    log_q: list[float] = field(default_factory=list)
    effective_fraction: list[float] = field(default_factory=list)
    energy: list[np.ndarray] = field(default_factory=list)
    acceptance: list[np.ndarray] = field(default_factory=list)
    family: list[np.ndarray] = field(default_factory=list)
    parent: list[np.ndarray] = field(default_factory=list)
    snapshots: list[np.ndarray] = field(default_factory=list)
    best_energy: float = float("inf")
    best_elements: np.ndarray | None = None
    checkpoint: dict = field(default_factory=dict)
    complete: bool = False
    ensemble: str = "pamc"
    potential_energies: str = "lattice"  # Potential.energies: "relaxed-lattice" or "lattice"

    @property
    def steps_done(self) -> int:
        return len(self.log_q)

    @property
    def steps_total(self) -> int:
        return len(self.temperatures)


def thermodynamics(record: PopulationRecord) -> dict[str, np.ndarray]:
    """Per completed temperature step: the population's thermodynamics.

    mean_energy, energy_error (eV): ⟨E⟩ over the walkers and its error with the walkers of a
    family as one correlated cluster; heat_capacity: C/k_B = β²Var(E);
    ln_z: ln Z(T) = ln Ω + Σ_k ln Q_k, the population-annealing estimate of the configurational
    partition function, Ω the number of occupations (Z at infinite temperature, where the
    population starts); ln_z_error: the per-step errors of ln Q_k (weights clustered by family)
    added in quadrature; free_energy F = −k_B T ln Z (eV); entropy S/k_B = β(⟨E⟩ − F);
    families: initial walkers with descendants; family_fraction: R/(R Σ_f ν_f²)/R, the effective
    number of families as a fraction of R (ν_f: the share of family f).
    """
    k = record.steps_done
    t = np.asarray(record.temperatures[:k], float)
    beta = 1.0 / (KB * t)
    out = {name: np.full(k, np.nan) for name in DERIVED}
    ln_q_var = np.zeros(k)
    for s in range(k):
        energy, family = record.energy[s], record.family[s]
        est = clustered_ratio_estimate(energy, None, family)
        out["mean_energy"][s], out["energy_error"][s] = est.mean, est.error
        out["heat_capacity"][s] = beta[s] ** 2 * np.var(energy)
        _, counts = np.unique(family, return_counts=True)
        share = counts / counts.sum()
        out["families"][s] = len(counts)
        out["family_fraction"][s] = 1.0 / (len(family) * np.sum(share**2))
        ln_q_var[s] = _ln_q_variance(record, s, beta)
    out["ln_z"] = record.ln_omega + np.cumsum(record.log_q[:k])
    out["ln_z_error"] = np.sqrt(np.cumsum(ln_q_var))
    out["free_energy"] = -KB * t * out["ln_z"]
    out["entropy"] = beta * (out["mean_energy"] - out["free_energy"])
    return out


def _ln_q_variance(record: PopulationRecord, step: int, beta: np.ndarray) -> float:
    """Variance of ln Q_k: that of the mean weight w_i = exp(−Δβ E_i) over the walkers that step k
    reweights (those after step k − 1, clustered by family; for the first step the independent
    random walkers at infinite temperature), divided by Q_k²."""
    if step == 0:
        energy, family, delta_beta = record.initial_energy, np.arange(record.walkers), beta[0]
    else:
        energy, family, delta_beta = record.energy[step - 1], record.family[step - 1], beta[step] - beta[step - 1]
    log_w = -delta_beta * np.asarray(energy, float)
    w = np.exp(log_w - logsumexp(log_w) + np.log(len(log_w)))        # mean 1, so var(ln Q) = var(mean w)
    est = clustered_ratio_estimate(w, None, family)
    return float(est.error**2)


def write_population(path: str | Path, rec: PopulationRecord) -> None:
    """Write the record atomically (temporary file, fsync, rename)."""
    with write_atomically(path, FORMAT, FORMAT_VERSION) as f:
        write_campaign(f, rec)
        f.attrs.update({"walkers": rec.walkers, "resampling": rec.resampling, "sweeps_per_step": rec.sweeps_per_step,
                        "ln_omega": rec.ln_omega, "steps_done": rec.steps_done, "steps_total": rec.steps_total,
                        "complete": rec.complete})
        k, r, n = rec.steps_done, rec.walkers, len(rec.positions)
        f["steps/temperature"] = rec.temperatures
        f["steps/log_q"] = np.asarray(rec.log_q, float)
        f["steps/effective_fraction"] = np.asarray(rec.effective_fraction, float)
        for name, values in thermodynamics(rec).items():
            f[f"steps/{name}"] = values
        f["walkers/initial_energy"] = np.asarray(rec.initial_energy, float)
        for name, kind in (("energy", float), ("acceptance", float), ("family", np.int64), ("parent", np.int64)):
            f[f"walkers/{name}"] = np.array(getattr(rec, name), kind).reshape(k, r)
        f.create_dataset("snapshots/elements", data=np.array(rec.snapshots, np.int8).reshape(k, r, n),
                         compression="gzip")
        if k:
            f["final/energy"] = rec.energy[-1]
            f["final/elements"] = rec.snapshots[-1].astype(np.int8)
        if rec.best_elements is not None:
            f["best/energy"] = rec.best_energy
            f["best/elements"] = np.asarray(rec.best_elements, np.int8)
        if rec.checkpoint:
            g = f.create_group("checkpoint")
            for key in STATE_KEYS:
                g.create_dataset(key, data=rec.checkpoint[key], compression="gzip" if key != "descriptors" else None)


def read_population(path: str | Path) -> PopulationRecord:
    """Read a population-annealing results file; ResultsFileError with a one-line reason if it is unusable."""
    with open_checked(path, FORMAT, FORMAT_VERSION, ResultsFileError, "results") as f:
        a = f.attrs
        rec = PopulationRecord(
            **read_campaign(f), temperatures=f["steps/temperature"][()], walkers=int(a["walkers"]), resampling=str(a["resampling"]),
            sweeps_per_step=int(a["sweeps_per_step"]), ln_omega=float(a["ln_omega"]),
            initial_energy=f["walkers/initial_energy"][()], complete=bool(a["complete"]),
        )
        rec.log_q = f["steps/log_q"][()].tolist()
        rec.effective_fraction = f["steps/effective_fraction"][()].tolist()
        for name in ("energy", "acceptance", "family", "parent"):
            setattr(rec, name, list(f[f"walkers/{name}"][()]))
        rec.snapshots = list(f["snapshots/elements"][()])
        if len(rec.energy) != rec.steps_done or len(rec.snapshots) != rec.steps_done:
            raise ResultsFileError(f"{path}: incomplete or damaged results file (steps do not match)")
        if "best" in f:
            rec.best_energy = float(f["best/energy"][()])
            rec.best_elements = f["best/elements"][()].astype(np.int64)
        if "checkpoint" in f:
            rec.checkpoint = {key: f[f"checkpoint/{key}"][()] for key in STATE_KEYS}
        return rec
