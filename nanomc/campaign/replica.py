"""Campaigns: a validated parameter file -> particle, potential, chains -> sweeps -> results.

`run_campaign(path)` is what `nanomc run params.toml` does. Everything is checked before
anything is written; results are rewritten atomically at every checkpoint; `resume=True`
continues from the last checkpoint and ends exactly where an unbroken run would.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np

from ..formatting import format_temperature
from ..mc.driver import Driver
from ..mc.exchange import ladders_state, set_ladders_state
from ..mc.ladder_tuning import Tuning, tune_ladder
from ..mc.parallel import world
from ..outputs import check_output_directory
from ..particles import write_frames
from ..structure import element_indices
from .output import (CampaignError, DirectoryLock, Progress, energies_note, on_root, open_output, particle_line,
                     results_file, same_parameters)
from .population import run_population
from .population_results import PopulationRecord
from .results import RunRecord, read_results, write_results
from .schema import load_config
from .setup import Setup, prepare


def new_record(config_text: str, config: dict, setup: Setup) -> RunRecord:
    atoms = setup.atoms
    z = element_indices(atoms, setup.potential.elements)
    n_t = len(setup.starts) * len(setup.temperatures)
    return RunRecord(
        parameters=config_text, potential_hash=setup.potential.content_hash(), seed=config["mc"]["seed"],
        ensemble=config["mc"]["ensemble"], elements=setup.elements,
        positions=atoms.get_positions(), cell=atoms.cell.array, pbc=np.array(atoms.pbc),
        initial_elements=z, group=setup.groups.group, temperatures=setup.temperatures,
        sweeps_total=config["mc"]["sweeps"],
        energy=[[] for _ in range(n_t)], acceptance=[[] for _ in range(n_t)],
        temperature_trace=[[] for _ in range(n_t)], replica_temperature=[[] for _ in range(n_t)],
        potential_energies=setup.potential.energies, starts=setup.starts,
    )


def _restore(record: RunRecord, setup: Setup, config: dict, results: Path) -> None:
    """Continue `record`: refuse parameters that would change its results, then load its checkpoint.

    The run's stored parameter text is validated again and compared key by key with `config`;
    `sweeps` may grow (or shrink to no fewer than the sweeps done), except for an annealing run.
    """
    started = same_parameters(record.parameters, config, results)
    sweeps = config["mc"]["sweeps"]
    if sweeps != started["mc"]["sweeps"] and config["mc"]["ensemble"] == "anneal":
        raise CampaignError(f"{results}: an annealing schedule spans all `sweeps`, so an annealing run cannot be "
                            f"extended or shortened (it has {started['mc']['sweeps']}); run with --overwrite")
    if sweeps < record.sweeps_done:
        raise CampaignError(f"{results} already has {record.sweeps_done} sweeps; sweeps = {sweeps} is fewer")
    if record.potential_hash != setup.potential.content_hash():
        raise CampaignError(f"{results} was made with another potential; run with --overwrite to start again")
    if len(record.chain_states) != len(setup.starts) * len(setup.temperatures):
        raise CampaignError(f"{results} has no complete checkpoint to resume from")
    try:
        for r, chain in setup.chains.items():
            chain.set_state(record.chain_states[r])
        set_ladders_state(setup.ladders, record.exchange)
    except (ValueError, KeyError) as exc:
        raise CampaignError(f"{results}: checkpoint does not fit this campaign ({exc})") from None


def _snapshot(driver: Driver) -> np.ndarray | None:
    """Occupations per (start, temperature) (rank 0; None elsewhere)."""
    per_replica = driver.gather("elements")
    if per_replica is None:
        return None
    return np.array([per_replica[r] for r in driver.replica_at()], np.int8)


def _checkpoint(record: RunRecord, setup: Setup, driver: Driver, path: Path, comm) -> None:
    """Gather every replica's state to rank 0, which rewrites the results file atomically."""
    states = driver.gather("state")
    on_root(comm, _write_checkpoint, record, driver, states, path)


def _write_checkpoint(record: RunRecord, driver: Driver, states: list, path: Path) -> None:
    try:
        _store_checkpoint(record, driver, states, path)
    except OSError as exc:
        raise CampaignError(f"cannot write {path} ({exc.strerror or exc}); the previous checkpoint is intact") from None


def _store_checkpoint(record: RunRecord, driver: Driver, states: list, path: Path) -> None:
    at = driver.replica_at()
    record.chain_states = states
    record.final_energy = np.array([states[r]["total"] for r in at])
    record.final_elements = np.array([states[r]["elements"] for r in at], np.int8)
    record.best_energy = np.array([s["best_total"] for s in states])
    record.best_elements = np.array([s["best_elements"] for s in states], np.int8)
    record.exchange = ladders_state(driver.ladders)
    write_results(path, record)


def _write_structures(record: RunRecord, setup: Setup, directory: Path) -> None:
    for name, energies, occupations, label in (("final", record.final_energy, record.final_elements, "temperature"),
                                               ("best", record.best_energy, record.best_elements, "replica")):
        frames = []
        n_t = len(record.temperatures)
        for c, (energy, z) in enumerate(zip(energies, occupations)):
            atoms = setup.atoms.copy()
            atoms.set_chemical_symbols([setup.elements[k] for k in z])
            atoms.info.update({label: c % n_t, "energy_eV": float(energy)})
            if record.n_starts > 1:
                atoms.info["start"] = c // n_t
            if label == "temperature":
                atoms.info["temperature_K"] = float(record.temperatures[c % n_t])
            frames.append(atoms)
        write_frames(directory / f"{name}.extxyz", frames)

def run_campaign(path: str | Path, resume: bool = False, overwrite: bool = False, quiet: bool = False,
                 stop_after: int | None = None, comm=None) -> RunRecord | PopulationRecord | None:
    """Run (or resume) the campaign of a parameter file; returns the final record (rank 0): a
    RunRecord, or a PopulationRecord for ensemble = "pamc" (nanomc.campaign.population).

    comm: an mpi4py communicator (default: MPI.COMM_WORLD under mpirun, else one process).
    stop_after: stop (with a checkpoint) once this many sweeps (pamc: temperature steps) are done.
    resume: continue from the last checkpoint, also of a finished run whose `sweeps` was raised
    since; the result equals a run started with the final parameters.
    The output directory is locked while the run lives. Other ranks return None; only rank 0
    writes files and prints.
    """
    comm = comm or world()
    path = Path(path)
    config, text = load_config(path)
    base = path.parent
    results = results_file(path, config)
    directory = check_output_directory(results.parent)
    if results.exists() and not (resume or overwrite):
        raise CampaignError(f"{results} exists; use --resume to continue it or --overwrite to replace it")
    if config["mc"]["ensemble"] == "pamc":
        return run_population(path, config, text, resume, overwrite, quiet, stop_after, comm)
    setup = prepare(config, base, comm, (str(path), text), quiet or comm.rank != 0)
    lock = DirectoryLock(directory)
    on_root(comm, open_output, directory, results, resume, overwrite, lock)
    try:
        return _sweeps(config, text, setup, results, resume, quiet, stop_after, comm)
    finally:
        lock.release()


def _sweeps(config: dict, text: str, setup: Setup, results: Path, resume: bool, quiet: bool,
            stop_after: int | None, comm) -> RunRecord | None:
    """The run itself, in the locked output directory: start or restore, sweep, checkpoint."""
    root = comm.rank == 0
    mc = config["mc"]
    driver = Driver(setup.chains, setup.ladders, comm, setup.schedule, mc["exchange_interval"])
    if resume:
        record = read_results(results)
        _adopt_ladder(setup, record.temperatures)
        _restore(record, setup, config, results)
        record.parameters, record.sweeps_total = text, mc["sweeps"]
        record.complete = record.sweeps_done == mc["sweeps"]
        _checkpoint(record, setup, driver, results, comm)  # the file now names the new parameters
    else:
        tuning = _tune(setup, driver, mc, quiet or not root) if mc["ladder"] == "tuned" else None
        record = new_record(text, config, setup)
        record.tuning = tuning
        record.snapshot_sweeps.append(0)
        record.snapshots.append(_snapshot(driver))
        _checkpoint(record, setup, driver, results, comm)
    total = mc["sweeps"] if stop_after is None else min(mc["sweeps"], stop_after)
    progress = Progress(mc["sweeps"], record.sweeps_done, quiet or not root)
    while record.sweeps_done < total:
        sweep = record.sweeps_done
        energy, acceptance = driver.step(sweep)
        for c, r in enumerate(driver.replica_at()):
            record.energy[c].append(float(energy[r]))
            record.acceptance[c].append(float(acceptance[r]))
            record.temperature_trace[c].append(driver.temperature_of(r, sweep))
        for r, t in enumerate(driver.temperature_indices()):
            record.replica_temperature[r].append(int(t))
        record.sweeps_done = sweep + 1
        driver.maybe_exchange(record.sweeps_done, energy)
        if record.sweeps_done % mc["snapshot_interval"] == 0:
            record.snapshot_sweeps.append(record.sweeps_done)
            record.snapshots.append(_snapshot(driver))
        done = record.sweeps_done == mc["sweeps"]
        if done or record.sweeps_done % mc["checkpoint_interval"] == 0 or record.sweeps_done == total:
            record.complete = done
            _checkpoint(record, setup, driver, results, comm)
        progress.update(record.sweeps_done, record.temperature_trace[0][-1], record.energy[0][-1],
                        record.acceptance[0][-1], record.n_chains, force=done)
    if not root:
        return None
    if record.complete:
        _write_structures(record, setup, results.parent)
    return record


def _adopt_ladder(setup: Setup, temperatures: np.ndarray) -> None:
    """Run at the ladder a results file was started with (a tuned ladder is not tuned again)."""
    if len(temperatures) == len(setup.temperatures):
        setup.temperatures = np.array(temperatures, float)
        for ladder in setup.ladders:
            ladder.temperatures = setup.temperatures.copy()


def _tune(setup: Setup, driver: Driver, mc: dict, quiet: bool) -> Tuning:
    """Tune the ladder with pilot runs (nanomc.mc.ladder_tuning), printing each round unless quiet."""
    def report(k: int, acceptance: np.ndarray, temperatures: np.ndarray) -> None:
        if not quiet:
            print(f"ladder tuning {k + 1}/{mc['tune_rounds']}: pilot acceptance {_numbers(acceptance, '.2f')} -> "
                  f"T {_temperatures(temperatures)} K", file=sys.stderr, flush=True)

    tuning = tune_ladder(driver, mc["tune_rounds"], mc["tune_sweeps"], report)
    setup.temperatures = driver.ladder.temperatures.copy()
    return tuning


def _numbers(values: np.ndarray, fmt: str) -> str:
    return " ".join(format(v, fmt) for v in values)


def _temperatures(values: np.ndarray) -> str:
    return " ".join(format_temperature(t) for t in values)

def describe(record: RunRecord) -> str:
    """A short summary: the particle, per temperature the final energy and acceptance; exchange statistics."""
    lines = [*energies_note(record),
             f"{record.sweeps_done}/{record.sweeps_total} sweeps, ensemble {record.ensemble}, "
             f"lowest energy seen {np.min(record.best_energy):.4f} eV", particle_line(record)]
    n_t = len(record.temperatures)
    for c in range(record.n_chains):
        acc = np.mean(record.acceptance[c]) if record.acceptance[c] else float("nan")
        start = f"  start {c // n_t} ({record.starts[c // n_t]})" if record.n_starts > 1 else ""
        temperature = format_temperature(record.temperatures[c % n_t])
        lines.append(f"{start}  T {temperature:>7} K  final E {record.final_energy[c]:.4f} eV  "
                     f"mean acceptance {acc:.3f}")
    if record.tuning is not None:
        first = record.tuning.acceptance[0]
        lines.append(f"  ladder tuned in {len(record.tuning.acceptance)} pilot runs of {record.tuning.sweeps} sweeps: "
                     f"from T {_temperatures(record.tuning.ladders[0])} K (pilot acceptance {_numbers(first, '.2f')})")
        lines.append(f"  to T {_temperatures(record.temperatures)} K (last pilot "
                     f"{_numbers(record.tuning.acceptance[-1], '.2f')}; predicted for every pair "
                     f"{record.tuning.predicted:.2f})")
    attempts = np.asarray(record.exchange["attempts"])
    if attempts.sum():
        rates = np.atleast_2d(np.asarray(record.exchange["accepted"]) / np.maximum(attempts, 1))
        trips = np.atleast_2d(record.exchange["round_trips"]).sum(axis=1)
        for s, (rate, trip) in enumerate(zip(rates, trips)):
            start = f"  start {s}:" if record.n_starts > 1 else ""
            lines.append(f"{start}  exchange acceptance per neighbouring pair: " + _numbers(rate, ".2f"))
            lines.append(f"{start}  round trips: {int(trip)}")
    return os.linesep.join(lines)
