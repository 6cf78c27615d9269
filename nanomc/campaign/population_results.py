"""The HDF5 results file of a population-annealing campaign (`ensemble = "pamc"`).

Layout (format "nanomc-pamc", version 1):
    /  attrs: format, format_version, nanomc_version, parameters (the file text), potential_hash,
              seed, ensemble ("pamc"), elements, walkers, resampling, sweeps_per_step, ln_omega,
              steps_done, steps_total, complete, potential_energies (as in nanomc.campaign.results)
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
With K independent starts (`[mc] starts`, nanomc.mc.starts) the file holds K populations of R
walkers (format version 2; version 1, the layout above, is a campaign of one population started as
usual, `random`): the root attribute `starts` names each population's kind; every walker axis has
K·R entries, population-major (slot s·R + j is walker j of population s; `family` and `parent` are
slot indices, so families are unique across populations and parents stay inside their population);
log_q, effective_fraction and the derived thermodynamics are (k, K), one column per population.
Written like the replica results: to a temporary name, then renamed.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.special import logsumexp

from ..analysis.statistics import clustered_ratio_estimate
from ..hdf5io import open_checked, write_atomically
from ..mc.schedule import KB
from ..mc.population import STATE_KEYS
from ..mc.starts import RANDOM
from .results import ResultsFileError, read_campaign, write_campaign

FORMAT = "nanomc-pamc"
FORMAT_VERSION = 2
#: the version of files of one population started as usual (the layout of before starts existed)
ONE_POPULATION_VERSION = 1
#: per-step datasets that thermodynamics() derives and the writer stores for readers of the raw file
DERIVED = ("mean_energy", "energy_error", "heat_capacity", "ln_z", "ln_z_error", "free_energy", "entropy",
           "families", "family_fraction")


@dataclass
class PopulationRecord:
    """Everything a population-annealing campaign has produced so far, in memory.

    walkers: R per population; starts: the kind of each of the K populations; per step the walker
    arrays (energy, acceptance, family, parent, snapshots) have K·R entries, population-major, and
    log_q, effective_fraction one value per population (a float or a (K,) array).
    """

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
    starts: list[str] = field(default_factory=lambda: [RANDOM])  # kind of each independent population

    @property
    def n_starts(self) -> int:
        """K, the number of independent populations."""
        return len(self.starts)

    @property
    def n_walkers(self) -> int:
        """K·R, the walkers of all populations."""
        return self.n_starts * self.walkers

    @property
    def steps_done(self) -> int:
        return len(self.log_q)

    @property
    def steps_total(self) -> int:
        return len(self.temperatures)


def estimates_ln_z(kind: str) -> bool:
    """Whether a population of start `kind` estimates ln Z: only a `random` one starts as an exact sample of
    infinite temperature (independently shuffled walkers); a named kind puts every walker on one occupation."""
    return kind == RANDOM


def step_values(record: PopulationRecord, name: str) -> np.ndarray:
    """A per-step, per-population record list ("log_q", "effective_fraction") as an array (steps done, K)."""
    return np.asarray(getattr(record, name)[:record.steps_done], float).reshape(record.steps_done, record.n_starts)


def population_block(record: PopulationRecord, start: int) -> slice:
    """The walker slots of population `start`: s·R to (s + 1)·R."""
    return slice(start * record.walkers, (start + 1) * record.walkers)


def thermodynamics(record: PopulationRecord, start: int = 0) -> dict[str, np.ndarray]:
    """Per completed temperature step: the thermodynamics of population `start` (the only one of a
    campaign of one start).

    mean_energy, energy_error (eV): ⟨E⟩ over the walkers and its error with the walkers of a
    family as one correlated cluster; heat_capacity: C/k_B = β²Var(E);
    ln_z: ln Z(T) = ln Ω + Σ_k ln Q_k, the population-annealing estimate of the configurational
    partition function, Ω the number of occupations (Z at infinite temperature, where the
    population starts); ln_z_error: the per-step errors of ln Q_k (weights clustered by family)
    added in quadrature; free_energy F = −k_B T ln Z (eV); entropy S/k_B = β(⟨E⟩ − F);
    families: initial walkers with descendants; family_fraction: R/(R Σ_f ν_f²)/R, the effective
    number of families as a fraction of R (ν_f: the share of family f). A population of a named
    start kind (not `random`) did not start as a sample of infinite temperature: its ln_z,
    ln_z_error, free_energy and entropy are NaN (`estimates_ln_z`).
    """
    k = record.steps_done
    t = np.asarray(record.temperatures[:k], float)
    beta = 1.0 / (KB * t)
    block = population_block(record, start)
    out = {name: np.full(k, np.nan) for name in DERIVED}
    ln_q_var = np.zeros(k)
    for s in range(k):
        energy, family = np.asarray(record.energy[s])[block], np.asarray(record.family[s])[block]
        est = clustered_ratio_estimate(energy, None, family)
        out["mean_energy"][s], out["energy_error"][s] = est.mean, est.error
        out["heat_capacity"][s] = beta[s] ** 2 * np.var(energy)
        _, counts = np.unique(family, return_counts=True)
        share = counts / counts.sum()
        out["families"][s] = len(counts)
        out["family_fraction"][s] = 1.0 / (len(family) * np.sum(share**2))
        ln_q_var[s] = _ln_q_variance(record, s, beta, block)
    if not estimates_ln_z(record.starts[start]):
        return out
    out["ln_z"] = record.ln_omega + np.cumsum(step_values(record, "log_q")[:, start])
    out["ln_z_error"] = np.sqrt(np.cumsum(ln_q_var))
    out["free_energy"] = -KB * t * out["ln_z"]
    out["entropy"] = beta * (out["mean_energy"] - out["free_energy"])
    return out


def _ln_q_variance(record: PopulationRecord, step: int, beta: np.ndarray, block: slice) -> float:
    """Variance of ln Q_k of one population (its walker slots `block`): that of the mean weight
    w_i = exp(−Δβ E_i) over the walkers that step k reweights (those after step k − 1, clustered by
    family; for the first step the independent random walkers at infinite temperature), divided by Q_k²."""
    if step == 0:
        energy = np.asarray(record.initial_energy, float)[block]
        family, delta_beta = np.arange(len(energy)), beta[0]
    else:
        energy, family = np.asarray(record.energy[step - 1])[block], np.asarray(record.family[step - 1])[block]
        delta_beta = beta[step] - beta[step - 1]
    log_w = -delta_beta * np.asarray(energy, float)
    w = np.exp(log_w - logsumexp(log_w) + np.log(len(log_w)))        # mean 1, so var(ln Q) = var(mean w)
    est = clustered_ratio_estimate(w, None, family)
    return float(est.error**2)


def one_population_layout(record: PopulationRecord) -> bool:
    """Whether the record is written in the layout of version 1: one population started as usual (`random`)."""
    return record.starts == [RANDOM]


def write_population(path: str | Path, rec: PopulationRecord) -> None:
    """Write the record atomically (temporary file, fsync, rename)."""
    one = one_population_layout(rec)
    with write_atomically(path, FORMAT, ONE_POPULATION_VERSION if one else FORMAT_VERSION) as f:
        write_campaign(f, rec)
        f.attrs.update({"walkers": rec.walkers, "resampling": rec.resampling, "sweeps_per_step": rec.sweeps_per_step,
                        "ln_omega": rec.ln_omega, "steps_done": rec.steps_done, "steps_total": rec.steps_total,
                        "complete": rec.complete})
        if not one:
            f.attrs["starts"] = rec.starts
        k, r, n = rec.steps_done, rec.n_walkers, len(rec.positions)
        shape = (k,) if one else (k, rec.n_starts)
        f["steps/temperature"] = rec.temperatures
        for name in ("log_q", "effective_fraction"):
            f[f"steps/{name}"] = step_values(rec, name).reshape(shape)
        per_start = [thermodynamics(rec, s) for s in range(rec.n_starts)]
        for name in DERIVED:
            f[f"steps/{name}"] = np.stack([values[name] for values in per_start], axis=-1).reshape(shape)
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
    with open_checked(path, FORMAT, FORMAT_VERSION, ResultsFileError, "results", (ONE_POPULATION_VERSION,)) as f:
        a = f.attrs
        rec = PopulationRecord(
            **read_campaign(f), temperatures=f["steps/temperature"][()], walkers=int(a["walkers"]), resampling=str(a["resampling"]),
            sweeps_per_step=int(a["sweeps_per_step"]), ln_omega=float(a["ln_omega"]),
            initial_energy=f["walkers/initial_energy"][()], complete=bool(a["complete"]),
            starts=[str(s) for s in a.get("starts", [RANDOM])],
        )
        for name in ("log_q", "effective_fraction"):
            setattr(rec, name, list(f[f"steps/{name}"][()].reshape(-1, rec.n_starts)))
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
