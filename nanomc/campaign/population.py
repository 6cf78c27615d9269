"""Population-annealing campaigns (`ensemble = "pamc"`): parameter file -> walkers -> steps -> results.

`run_campaign` hands a pamc parameter file to `run_population`. The particle, potential, swap
groups, output directory lock and parameter checks are those of every campaign; the algorithm is
in nanomc.mc.population. A checkpoint (every walker's exact state) is written after every
temperature step, and a resumed run ends exactly where an unbroken run would, on any number of
MPI ranks.

Independent starts (`[mc] starts`, nanomc.mc.starts) run K populations of `walkers` side by side,
each with its own random streams (those of start s), reweighted and resampled on its own; their
walkers are spread over the ranks together, so the populations are interleaved on the same ranks
and a run is bit for bit the same on any number of ranks. Start 0 has the streams of a campaign of
one population, so population 0 of K (of the default kind) is that campaign, bit for bit. Kinds:
  random (the default, also for a structure file)  every walker an independent uniformly random
                 shuffle of the occupation within its swap groups: the population is an exact sample
                 of infinite temperature, and ln Z, F and S are estimated
  surface-first, core-first, file   every walker of the population starts on that one occupation
                 (start_occupation); the population is not a sample of infinite temperature, so it
                 gives no ln Z, F or S (NaN), and only the sweeps of the first steps take it away from
                 its start — which is what the populations' agreement then tests.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..formatting import format_temperature
from ..local_energy import LocalEnergyModel
from ..mc.population import Population, log_occupation_count, population_parents, walker_rng
from ..mc.schedule import KB
from ..mc.starts import RANDOM, start_names, start_occupation
from ..particles import write_frames
from ..structure import element_indices
from .output import (CampaignError, DirectoryLock, Progress, energies_note, on_root, open_output, particle_line,
                     results_file, same_parameters)
from .population_results import PopulationRecord, read_population, write_population
from .results import ResultsFileError
from .setup import build_particle, load_potential, occupation_elements, setup_line

#: final.extxyz holds one walker of each of at most this many of the largest families
FINAL_FAMILIES = 16


def run_population(path: Path, config: dict, text: str, resume: bool = False, overwrite: bool = False,
                   quiet: bool = False, stop_after: int | None = None, comm=None) -> PopulationRecord | None:
    """Run (or resume) a pamc campaign of a validated parameter file; the record on rank 0, None elsewhere.

    stop_after: stop (with a checkpoint) once this many temperature steps are done.
    """
    mc, base = config["mc"], path.parent
    results = results_file(path, config)
    directory = results.parent
    walkers = mc["walkers"]
    starts = start_names(mc["starts"], RANDOM)
    total = walkers * len(starts)
    if comm.size > total:
        several = f" ({len(starts)} populations of {walkers})" if len(starts) > 1 else ""
        raise CampaignError(f"{comm.size} MPI ranks but only {total} walkers{several}; use at most {total} ranks")
    potential = load_potential(config, base, (str(path), text))
    quiet = quiet or comm.rank != 0
    atoms, groups = build_particle(config, base, potential, walker_rng(mc["seed"], 0), (str(path), text), 1, quiet)
    setup_line(len(atoms), f"the energy model, with the neighbour lists of {len(atoms):,} sites", quiet)
    model = LocalEnergyModel(potential, atoms, memory_limit=int(config["potential"]["memory_limit_mb"] * 2**20))
    population = Population(model, groups, walkers, mc["seed"], comm, mc["neighbour_swaps"], len(starts),
                            mc["composite_moves"])
    lock = DirectoryLock(directory)
    on_root(comm, open_output, directory, results, resume, overwrite, lock)
    try:
        if resume:
            record = _restore(results, config, text, population, potential.content_hash())
        else:
            z = element_indices(atoms, potential.elements)
            occupations = [z if kind == RANDOM else
                           start_occupation(kind, z, groups, atoms, walker_rng(mc["seed"], 0, start=s))
                           for s, kind in enumerate(starts)]
            record = PopulationRecord(
                parameters=text, potential_hash=potential.content_hash(), seed=mc["seed"],
                elements=occupation_elements(potential, config["particle"], atoms), positions=atoms.get_positions(),
                cell=atoms.cell.array, pbc=np.array(atoms.pbc), initial_elements=z, group=groups.group,
                temperatures=np.array(mc["temperatures"], float), walkers=walkers, resampling=mc["resampling"],
                sweeps_per_step=mc["sweeps"], ln_omega=log_occupation_count(z, groups),
                initial_energy=population.start(occupations, [kind == RANDOM for kind in starts]),
                potential_energies=potential.energies, starts=starts)
            _checkpoint(record, population, results, comm)
        steps = record.steps_total if stop_after is None else min(record.steps_total, stop_after)
        _steps(record, population, steps, results, comm, quiet)
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
    """Temperature steps from record.steps_done to `steps`: reweight and resample every population,
    sweep, checkpoint."""
    beta = 1.0 / (KB * record.temperatures)
    energy = record.energy[-1] if record.steps_done else np.asarray(record.initial_energy)
    family = record.family[-1] if record.steps_done else np.arange(record.n_walkers)
    progress = Progress(record.steps_total, record.steps_done, quiet, unit="step")
    while record.steps_done < steps:
        k = record.steps_done
        parents, per_start = population_parents(energy, beta[k] - (beta[k - 1] if k else 0.0), record.seed, k,
                                                record.resampling, record.n_starts)
        population.resample(parents)
        family = family[parents]
        energy, acceptance = population.sweep(k, float(record.temperatures[k]), record.sweeps_per_step)
        record.log_q.append(np.array([r.log_q for r in per_start]))
        record.effective_fraction.append(np.array([r.effective_fraction for r in per_start]))
        record.energy.append(energy)
        record.acceptance.append(acceptance)
        record.family.append(family)
        record.parent.append(parents)
        record.snapshots.append(population.gather_elements())
        record.complete = record.steps_done == record.steps_total
        _checkpoint(record, population, results, comm)
        populations = f"  ({record.n_starts} populations)" if record.n_starts > 1 else ""
        progress.update(record.steps_done, float(record.temperatures[k]), float(energy.mean()),
                        float(acceptance.mean()), 1, force=record.complete,
                        extra=f"  R_eff/R {np.mean(record.effective_fraction[-1]):.2f}  families "
                              f"{len(np.unique(family))}{populations}")


def _checkpoint(record: PopulationRecord, population: Population, path: Path, comm) -> None:
    """Gather every walker's state to rank 0, which rewrites the results file atomically."""
    states = population.gather_states()
    on_root(comm, _write_checkpoint, record, states, path)


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
    def start(j: int) -> dict:
        """The population of walker slot j, with several (info "start")."""
        return {"start": j // record.walkers} if record.n_starts > 1 else {}

    write_frames(directory / "final.extxyz",
                 [frame(record.snapshots[-1][first[f]], temperature_K=temperature, walker=int(first[f]),
                        family=int(names[f]), family_walkers=int(counts[f]),
                        energy_eV=float(record.energy[-1][first[f]]), **start(int(first[f]))) for f in largest])
    write_frames(directory / "best.extxyz", [frame(record.best_elements, energy_eV=record.best_energy)])


def describe_population(record: PopulationRecord) -> str:
    """A short summary: the particle, per temperature step ⟨E⟩ with its error, C, F, S, and the population's health;
    with several populations their pooled values (nanomc.analysis.population.pooled_thermodynamics)."""
    from ..analysis.population import pooled_thermodynamics       # lazily: running needs no analysis

    several = record.n_starts > 1
    walkers = (f"{record.n_starts} populations ({', '.join(record.starts)}) of {record.walkers} walkers"
               if several else f"{record.walkers} walkers")
    lines = [*energies_note(record),
             f"{record.steps_done}/{record.steps_total} temperature steps, {walkers} "
             f"({record.resampling} resampling), {record.sweeps_per_step} sweeps per step; lowest energy seen "
             f"{record.best_energy:.4f} eV", particle_line(record),
             "        T (K)    <E> (eV)   ± error   C/k_B    F (eV)    S/k_B   R_eff/R  families"]
    pooled = pooled_thermodynamics(record)
    families = [len(np.unique(family)) for family in record.family]
    for k in range(record.steps_done):
        value = {quantity: pooled[quantity][k].mean for quantity in pooled}
        lines.append(f"  {format_temperature(record.temperatures[k]):>11} {value['mean_energy']:11.4f} "
                     f"{pooled['mean_energy'][k].error:9.4f} {value['heat_capacity']:7.1f} "
                     f"{value['free_energy']:9.3f} {value['entropy']:8.2f} {value['effective_fraction']:8.2f} "
                     f"{families[k]:9d}")
    if several:
        lines.append("  (several populations: the mean of their values, the error the larger of their spread and "
                     "their own errors; families: of all populations; F and S only from `random` populations)")
    return os.linesep.join(lines)
