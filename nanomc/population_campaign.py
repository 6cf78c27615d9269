"""Population-annealing campaigns (`ensemble = "pamc"`): parameter file -> walkers -> steps -> results.

`run_campaign` hands a pamc parameter file to `run_population`. The particle, potential, swap
groups, output directory lock and parameter checks are those of every campaign; the algorithm is
in nanomc.mc.population. A checkpoint (every walker's exact state) is written after every
temperature step, and a resumed run ends exactly where an unbroken run would, on any number of
MPI ranks.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .campaign import (CampaignError, DirectoryLock, Progress, _open_output, _on_root, build_particle, energies_note,
                       load_potential, occupation_elements, same_parameters)
from .local_energy import LocalEnergyModel
from .mc.population import Population, log_occupation_count, reweight, walker_rng
from .mc.schedule import KB
from .particles import write_frames
from .population_results import PopulationRecord, read_population, thermodynamics, write_population
from .results import ResultsFileError
from .structure import element_indices

#: final.extxyz holds one walker of each of at most this many of the largest families
FINAL_FAMILIES = 16


def run_population(path: Path, config: dict, text: str, resume: bool = False, overwrite: bool = False,
                   quiet: bool = False, stop_after: int | None = None, comm=None) -> PopulationRecord | None:
    """Run (or resume) a pamc campaign of a validated parameter file; the record on rank 0, None elsewhere.

    stop_after: stop (with a checkpoint) once this many temperature steps are done.
    """
    mc, base = config["mc"], path.parent
    directory = base / config["output"]["directory"]
    results = directory / "results.h5"
    walkers = mc["walkers"]
    if comm.size > walkers:
        raise CampaignError(f"{comm.size} MPI ranks but only {walkers} walkers; use at most {walkers} ranks")
    potential = load_potential(config, base, (str(path), text))
    atoms, groups = build_particle(config, base, potential, walker_rng(mc["seed"], 0), (str(path), text))
    model = LocalEnergyModel(potential, atoms, memory_limit=int(config["potential"]["memory_limit_mb"] * 2**20))
    population = Population(model, groups, walkers, mc["seed"], comm, mc["neighbour_swaps"])
    lock = DirectoryLock(directory)
    _on_root(comm, _open_output, directory, results, resume, overwrite, lock)
    try:
        if resume:
            record = _restore(results, config, text, population, potential.content_hash())
        else:
            z = element_indices(atoms, potential.elements)
            record = PopulationRecord(
                parameters=text, potential_hash=potential.content_hash(), seed=mc["seed"],
                elements=occupation_elements(potential, config["particle"], atoms), positions=atoms.get_positions(),
                cell=atoms.cell.array, pbc=np.array(atoms.pbc), initial_elements=z, group=groups.group,
                temperatures=np.array(mc["temperatures"], float), walkers=walkers, resampling=mc["resampling"],
                sweeps_per_step=mc["sweeps"], ln_omega=log_occupation_count(z, groups),
                initial_energy=population.start(z), potential_energies=potential.energies)
            _checkpoint(record, population, results, comm)
        steps = record.steps_total if stop_after is None else min(record.steps_total, stop_after)
        _steps(record, population, steps, results, comm, quiet or comm.rank != 0)
    finally:
        lock.release()
    if comm.rank != 0:
        return None
    if record.complete:
        _write_structures(record, results.parent)
    return record


def _restore(results: Path, config: dict, text: str, population: Population, potential_hash: str) -> PopulationRecord:
    """The record to continue, after checking that nothing that changes its results has changed."""
    try:
        record = read_population(results)
    except ResultsFileError as exc:
        raise CampaignError(f"{exc}; run with --overwrite to start again") from None
    started = same_parameters(record.parameters, config, results)
    if started["mc"]["sweeps"] != config["mc"]["sweeps"]:
        raise CampaignError(f"{results}: `sweeps` (per temperature step) was {started['mc']['sweeps']}; a population "
                            "annealing run cannot change it; run with --overwrite to start again")
    if record.potential_hash != potential_hash:
        raise CampaignError(f"{results} was made with another potential; run with --overwrite to start again")
    if not record.checkpoint:
        raise CampaignError(f"{results} has no checkpoint to resume from")
    try:
        population.set_states(record.checkpoint)
    except (ValueError, KeyError, IndexError) as exc:
        raise CampaignError(f"{results}: checkpoint does not fit this campaign ({exc})") from None
    record.parameters = text            # the file now names the parameters it was continued with
    return record


def _steps(record: PopulationRecord, population: Population, steps: int, results: Path, comm, quiet: bool) -> None:
    """Temperature steps from record.steps_done to `steps`: reweight, resample, sweep, checkpoint."""
    beta = 1.0 / (KB * record.temperatures)
    energy = record.energy[-1] if record.steps_done else np.asarray(record.initial_energy)
    family = record.family[-1] if record.steps_done else np.arange(record.walkers)
    progress = Progress(record.steps_total, record.steps_done, quiet, unit="step")
    while record.steps_done < steps:
        k = record.steps_done
        step = reweight(energy, beta[k] - (beta[k - 1] if k else 0.0), walker_rng(record.seed, 3, k),
                        record.resampling)
        population.resample(step.parents)
        family = family[step.parents]
        energy, acceptance = population.sweep(k, float(record.temperatures[k]), record.sweeps_per_step)
        record.log_q.append(step.log_q)
        record.effective_fraction.append(step.effective_fraction)
        record.energy.append(energy)
        record.acceptance.append(acceptance)
        record.family.append(family)
        record.parent.append(step.parents)
        record.snapshots.append(population.gather_elements())
        record.complete = record.steps_done == record.steps_total
        _checkpoint(record, population, results, comm)
        progress.update(record.steps_done, float(record.temperatures[k]), float(energy.mean()),
                        float(acceptance.mean()), 1, force=record.complete,
                        extra=f"  R_eff/R {step.effective_fraction:.2f}  families {len(np.unique(family))}")


def _checkpoint(record: PopulationRecord, population: Population, path: Path, comm) -> None:
    """Gather every walker's state to rank 0, which rewrites the results file atomically."""
    states = population.gather_states()
    _on_root(comm, _write_checkpoint, record, states, path)


def _write_checkpoint(record: PopulationRecord, states: dict, path: Path) -> None:
    record.checkpoint = states
    lowest = int(np.argmin(states["best_total"]))
    if states["best_total"][lowest] < record.best_energy:
        record.best_energy = float(states["best_total"][lowest])
        record.best_elements = np.array(states["best_elements"][lowest])
    try:
        write_population(path, record)
    except OSError as exc:
        raise CampaignError(f"cannot write {path} ({exc.strerror or exc}); the previous checkpoint is intact") from None


def _write_structures(record: PopulationRecord, directory: Path) -> None:
    """final.extxyz: one walker of each of the largest families at the lowest temperature; best.extxyz:
    the lowest-energy state any walker visited."""
    from ase import Atoms

    def frame(z: np.ndarray, **info) -> Atoms:
        atoms = Atoms([record.elements[k] for k in z], positions=record.positions, cell=record.cell, pbc=record.pbc)
        atoms.info.update(info)
        return atoms

    family = record.family[-1]
    names, first, counts = np.unique(family, return_index=True, return_counts=True)
    largest = np.argsort(-counts, kind="stable")[:FINAL_FAMILIES]
    temperature = float(record.temperatures[-1])
    write_frames(directory / "final.extxyz",
                 [frame(record.snapshots[-1][first[f]], temperature_K=temperature, walker=int(first[f]),
                        family=int(names[f]), family_walkers=int(counts[f]),
                        energy_eV=float(record.energy[-1][first[f]])) for f in largest])
    write_frames(directory / "best.extxyz", [frame(record.best_elements, energy_eV=record.best_energy)])


def describe_population(record: PopulationRecord) -> str:
    """A short summary: per temperature step ⟨E⟩ with its error, C, F, S, and the population's health."""
    lines = [*energies_note(record),
             f"{record.steps_done}/{record.steps_total} temperature steps, {record.walkers} walkers "
             f"({record.resampling} resampling), {record.sweeps_per_step} sweeps per step; lowest energy seen "
             f"{record.best_energy:.4f} eV",
             "        T (K)    <E> (eV)   ± error   C/k_B    F (eV)    S/k_B   R_eff/R  families"]
    thermo = thermodynamics(record)
    for k in range(record.steps_done):
        lines.append(f"  {record.temperatures[k]:11.1f} {thermo['mean_energy'][k]:11.4f} {thermo['energy_error'][k]:9.4f} "
                     f"{thermo['heat_capacity'][k]:7.1f} {thermo['free_energy'][k]:9.3f} {thermo['entropy'][k]:8.2f} "
                     f"{record.effective_fraction[k]:8.2f} {int(thermo['families'][k]):9d}")
    return os.linesep.join(lines)
