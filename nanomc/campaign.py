"""Campaigns: a validated parameter file -> particle, potential, chains -> sweeps -> results.

`run_campaign(path)` is what `nanomc run params.toml` does. Everything is checked before
anything is written; results are rewritten atomically at every checkpoint; `resume=True`
continues from the last checkpoint and ends exactly where an unbroken run would.
"""
from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
from ase import Atoms

from .config import ConfigError, load_config
from .errors import NanomcError
from .local_energy import LocalEnergyModel
from .mc import Chain, SwapGroups, temperature_schedule
from .particles import (cluster_shape, make_groups, occupy, read_structure, size_for_atom_count,
                        vegard_lattice_constant)
from .potential import Potential
from .results import RunRecord, read_results, write_results
from .structure import element_indices

DEFAULT_POTENTIAL = "AuCu-demo.h5"


class CampaignError(NanomcError, RuntimeError):
    """A campaign that cannot start or continue (output exists, not writable, changed parameters)."""


@dataclass
class Setup:
    """What a campaign runs: the potential, the initial particle, swap groups, chains."""

    potential: Potential
    atoms: Atoms
    groups: SwapGroups
    temperatures: np.ndarray      # K, one per chain (for anneal: the final temperature)
    schedule: np.ndarray | None   # K per sweep, anneal only
    chains: list[Chain]


def default_potential_path() -> Path:
    """The potential shipped with nanomc (nanomc/data)."""
    return Path(str(resources.files("nanomc") / "data" / DEFAULT_POTENTIAL))


def load_potential(config: dict, base: Path) -> Potential:
    name = config["potential"]["file"]
    path = default_potential_path() if name == "default" else (base / name)
    return Potential.load(path)


def build_particle(config: dict, base: Path, potential: Potential, rng: np.random.Generator) -> tuple[Atoms, SwapGroups]:
    """The initial particle (random occupation from rng) and its swap groups."""
    p = config["particle"]
    composition = p["composition"]
    if p["shape"] == "file":
        atoms = read_structure(base / p["file"])
    else:
        host = p["host"] or next(iter(composition))
        a = p["lattice_constant"] or vegard_lattice_constant(composition)
        size = p["size"] or size_for_atom_count(p["shape"], host, a, p["atoms"], p["surface_energies"])
        atoms = cluster_shape(p["shape"], host, a, size, p["surface_energies"])
    frozen = np.isin(atoms.get_chemical_symbols(), p["frozen_elements"])
    bad = [i for i in p["frozen_indices"] if not 0 <= i < len(atoms)]
    if bad:
        raise ConfigError(f"frozen_indices: atom {bad[0]} does not exist (the particle has {len(atoms)} atoms)")
    frozen[p["frozen_indices"]] = True
    group_elements = p["swap_groups"] or [list(composition)]
    if p["shape"] != "file" and not p["swap_groups"]:
        group_elements = [list(dict.fromkeys([atoms[0].symbol, *composition]))]
    groups = make_groups(atoms, potential.elements, group_elements, frozen)
    atoms = occupy(atoms, groups, potential.elements, composition, rng)
    element_indices(atoms, potential.elements)  # every element known to the potential
    return atoms, groups


def prepare(config: dict, base: Path, memory_limit: int | None = None) -> Setup:
    """Build everything a run needs; raises NanomcError subclasses with one-line messages."""
    mc = config["mc"]
    potential = load_potential(config, base)
    streams = np.random.SeedSequence(mc["seed"]).spawn(1 + max(1, len(mc["temperatures"] or [])))
    atoms, groups = build_particle(config, base, potential, np.random.default_rng(streams[0]))
    if mc["ensemble"] == "anneal":
        schedule = temperature_schedule(mc["t_start"], mc["t_end"], mc["sweeps"], mc["schedule"])
        temperatures = schedule[-1:]
    else:
        schedule = None
        temperatures = np.array(mc["temperatures"], float)
    limit = int(config["potential"]["memory_limit_mb"] * 2**20) if memory_limit is None else memory_limit
    first = LocalEnergyModel(potential, atoms, memory_limit=limit)
    models = [first] + [LocalEnergyModel(potential, atoms, share_geometry_with=first) for _ in temperatures[1:]]
    ensemble = "sgc" if mc["ensemble"] == "sgc" else "canonical"
    chains = [Chain(m, groups, np.random.default_rng(streams[1 + c]), ensemble, mc["chemical_potentials"])
              for c, m in enumerate(models)]
    unknown = set(mc["chemical_potentials"]) - set(potential.elements)
    if unknown:
        raise ConfigError(f"chemical_potentials: {sorted(unknown)[0]} is not an element of the potential")
    return Setup(potential, atoms, groups, temperatures, schedule, chains)


def _check_output(directory: Path, results: Path, resume: bool, overwrite: bool) -> None:
    if resume and overwrite:
        raise CampaignError("give --resume or --overwrite, not both")
    if results.exists() and not (resume or overwrite):
        raise CampaignError(f"{results} exists; use --resume to continue it or --overwrite to replace it")
    if resume and not results.exists():
        raise CampaignError(f"{results} does not exist, there is nothing to resume")
    try:
        directory.mkdir(parents=True, exist_ok=True)
        probe = directory / ".nanomc-write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise CampaignError(f"output directory {directory} is not writable ({exc.strerror})") from None


def new_record(config_text: str, config: dict, setup: Setup) -> RunRecord:
    atoms = setup.atoms
    z = element_indices(atoms, setup.potential.elements)
    n_c = len(setup.chains)
    return RunRecord(
        parameters=config_text, potential_hash=setup.potential.content_hash(), seed=config["mc"]["seed"],
        ensemble=config["mc"]["ensemble"], elements=list(setup.potential.elements),
        positions=atoms.get_positions(), cell=atoms.cell.array, pbc=np.array(atoms.pbc),
        initial_elements=z, group=setup.groups.group, temperatures=setup.temperatures,
        sweeps_total=config["mc"]["sweeps"],
        energy=[[] for _ in range(n_c)], acceptance=[[] for _ in range(n_c)],
        temperature_trace=[[] for _ in range(n_c)],
    )


def _restore(record: RunRecord, setup: Setup, text: str, results: Path) -> None:
    if record.parameters != text:
        raise CampaignError(f"{results} was started with different parameters; run with --overwrite to start again")
    if record.potential_hash != setup.potential.content_hash():
        raise CampaignError(f"{results} was made with another potential; run with --overwrite to start again")
    if len(record.chain_states) != len(setup.chains):
        raise CampaignError(f"{results} has no complete checkpoint to resume from")
    try:
        for chain, state in zip(setup.chains, record.chain_states):
            chain.set_state(state)
    except (ValueError, KeyError) as exc:
        raise CampaignError(f"{results}: checkpoint does not fit this campaign ({exc})") from None


def _snapshot(setup: Setup) -> np.ndarray:
    return np.array([c.model.element_indices for c in setup.chains], np.int8)


def _checkpoint(record: RunRecord, setup: Setup, path: Path) -> None:
    record.final_energy = np.array([c.model.energy for c in setup.chains])
    record.final_elements = _snapshot(setup)
    record.best_energy = np.array([c.best[0] for c in setup.chains])
    record.best_elements = np.array([c.best[1] for c in setup.chains], np.int8)
    record.chain_states = [c.get_state() for c in setup.chains]
    write_results(path, record)


def _write_structures(record: RunRecord, setup: Setup, directory: Path) -> None:
    from ase.io import write

    for name, energies, occupations in (("final", record.final_energy, record.final_elements),
                                        ("best", record.best_energy, record.best_elements)):
        frames = []
        for c, (energy, z) in enumerate(zip(energies, occupations)):
            atoms = setup.atoms.copy()
            atoms.set_chemical_symbols([setup.potential.elements[k] for k in z])
            atoms.info.update({"chain": c, "temperature_K": float(record.temperatures[c]), "energy_eV": float(energy)})
            frames.append(atoms)
        tmp = directory / f"{name}.extxyz.tmp"
        write(tmp, frames, format="extxyz")
        tmp.replace(directory / f"{name}.extxyz")


class Progress:
    """A progress line on stderr at most every `every` seconds (sweep, T, E, acceptance, ETA)."""

    def __init__(self, total: int, start: int, quiet: bool, every: float = 2.0) -> None:
        self.total, self.start, self.quiet, self.every = total, start, quiet, every
        self.t0 = self.last = time.monotonic()

    def update(self, sweep: int, temperature: float, energy: float, acceptance: float, n_chains: int,
               force: bool = False) -> None:
        now = time.monotonic()
        if self.quiet or (now - self.last < self.every and not force):
            return
        self.last = now
        done = sweep - self.start
        eta = (now - self.t0) / done * (self.total - sweep) if done else float("nan")
        chains = f" ({n_chains} chains, lowest T shown)" if n_chains > 1 else ""
        print(f"sweep {sweep}/{self.total}  T {temperature:.0f} K  E {energy:.4f} eV  "
              f"acceptance {acceptance:.3f}  ETA {_duration(eta)}{chains}", file=sys.stderr, flush=True)


def _duration(seconds: float) -> str:
    if not np.isfinite(seconds):
        return "?"
    m, s = divmod(int(round(seconds)), 60)
    h, m = divmod(m, 60)
    return f"{h}h{m:02d}m" if h else f"{m}m{s:02d}s"


def run_campaign(path: str | Path, resume: bool = False, overwrite: bool = False, quiet: bool = False,
                 stop_after: int | None = None) -> RunRecord:
    """Run (or resume) the campaign of a parameter file; returns the final record.

    stop_after: stop (with a checkpoint) once this many sweeps are done — for tests and for
    splitting long runs into jobs.
    """
    path = Path(path)
    config, text = load_config(path)
    base = path.parent
    directory = base / config["output"]["directory"]
    results = directory / "results.h5"
    if results.exists() and not (resume or overwrite):
        raise CampaignError(f"{results} exists; use --resume to continue it or --overwrite to replace it")
    setup = prepare(config, base)
    _check_output(directory, results, resume, overwrite)
    if resume:
        record = read_results(results)
        _restore(record, setup, text, results)
    else:
        record = new_record(text, config, setup)
        record.snapshot_sweeps.append(0)
        record.snapshots.append(_snapshot(setup))
        _checkpoint(record, setup, results)
    mc = config["mc"]
    total = mc["sweeps"] if stop_after is None else min(mc["sweeps"], stop_after)
    progress = Progress(mc["sweeps"], record.sweeps_done, quiet)
    order = np.argsort(setup.temperatures)
    while record.sweeps_done < total:
        sweep = record.sweeps_done
        for c, chain in enumerate(setup.chains):
            temperature = setup.schedule[sweep] if setup.schedule is not None else setup.temperatures[c]
            result = chain.sweep(float(temperature))
            record.energy[c].append(result.energy)
            record.acceptance[c].append(result.acceptance)
            record.temperature_trace[c].append(float(temperature))
        record.sweeps_done = sweep + 1
        if record.sweeps_done % mc["snapshot_interval"] == 0:
            record.snapshot_sweeps.append(record.sweeps_done)
            record.snapshots.append(_snapshot(setup))
        done = record.sweeps_done == mc["sweeps"]
        if done or record.sweeps_done % mc["checkpoint_interval"] == 0 or record.sweeps_done == total:
            record.complete = done
            _checkpoint(record, setup, results)
        low = order[0]
        progress.update(record.sweeps_done, record.temperature_trace[low][-1], record.energy[low][-1],
                        record.acceptance[low][-1], len(setup.chains), force=done)
    if record.complete:
        _write_structures(record, setup, directory)
    return record


def describe(record: RunRecord) -> str:
    """A short summary of a results record: per chain T, final and lowest energy."""
    lines = [f"{record.sweeps_done}/{record.sweeps_total} sweeps, ensemble {record.ensemble}"]
    for c in range(record.n_chains):
        acc = np.mean(record.acceptance[c]) if record.acceptance[c] else float("nan")
        lines.append(f"  chain {c}: T {record.temperatures[c]:.0f} K  final E {record.final_energy[c]:.4f} eV  "
                     f"lowest E {record.best_energy[c]:.4f} eV  mean acceptance {acc:.3f}")
    return os.linesep.join(lines)
