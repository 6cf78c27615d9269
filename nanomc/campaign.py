"""Campaigns: a validated parameter file -> particle, potential, chains -> sweeps -> results.

`run_campaign(path)` is what `nanomc run params.toml` does. Everything is checked before
anything is written; results are rewritten atomically at every checkpoint; `resume=True`
continues from the last checkpoint and ends exactly where an unbroken run would.
"""
from __future__ import annotations

import fcntl
import os
import socket
import sys
import time
import tomllib
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
from ase import Atoms

from .config import ConfigError, load_config, locate, validate
from .errors import NanomcError, PotentialFileError
from .formatting import format_temperature, plural
from .local_energy import LocalEnergyModel
from .mc import Chain, SwapGroups, temperature_schedule
from .mc.driver import Driver
from .mc.exchange import ExchangeLadder, ladders_state, set_ladders_state
from .mc.ladder_tuning import Tuning, tune_ladder
from .mc.groups import GroupError
from .mc.parallel import SerialComm, owner_of, world
from .mc.starts import default_start, start_names, start_occupation, start_streams
from .outputs import check_output_directory
from .fluorite import fluorite_particle, fluorite_size, oxide_lattice_constant, parse_oxide
from .memory import LIMIT_VARIABLE, available_memory, gib, lattice_pairs, sampled_pairs, setup_bytes
from .particles import (CATION, ParticleError, ParticleWarning, check_moves, cluster_shape, default_groups,
                        element_summary, make_groups, occupy, read_structure, shape_atom_count, size_for_atom_count,
                        sublattice_labels, vegard_lattice_constant, write_frames)
from .potential import Potential
from .potential.store import potential_path
from .population_results import PopulationRecord
from .results import RunRecord, read_results, write_results
from .structure import VACANCY, element_indices, species


#: particles of more sites than this print their set-up steps (some seconds per 10,000 sites and replica)
PROGRESS_SITES = 20_000
#: a built particle whose count differs from the `atoms` or `cations` asked for by more than this fraction
#: is warned about
FAR_FROM_ASKED = 0.1


class CampaignError(NanomcError, RuntimeError):
    """A campaign that cannot start or continue (output exists, not writable, changed parameters)."""


@dataclass
class Setup:
    """What a campaign runs: the potential, the initial particle, swap groups, this rank's replicas."""

    potential: Potential
    atoms: Atoms
    groups: SwapGroups
    temperatures: np.ndarray      # K: the ladder, one per replica of a start (anneal: the final temperature)
    schedule: np.ndarray | None   # K per sweep, anneal only
    chains: dict[int, Chain]      # replica index s·T + t -> chain, for the replicas of this rank
    ladders: list[ExchangeLadder]  # one per start
    elements: list[str]           # names of the occupations' element indices (occupation_elements)
    starts: list[str]             # kind of each start (nanomc.mc.starts)


def load_potential(config: dict, base: Path, source: tuple[str, str] | None = None) -> Potential:
    """The campaign's potential; a file that is missing or unreadable is a ConfigError at the line of
    [potential] file in source = (parameter file name, text), when given."""
    try:
        return Potential.load(potential_path(config["potential"]["file"], base))
    except PotentialFileError as exc:
        if source is None:
            raise
        raise ConfigError(f"{locate(*source, 'potential', 'file')}: `file`: {exc}") from None


def occupation_elements(potential: Potential, particle: dict, atoms: Atoms) -> list[str]:
    """Names of the element indices of a campaign's occupations: the potential's elements, then X
    when the particle has or may get vacancies (X in the structure, `composition` or `swap_groups`)."""
    named = {*atoms.get_chemical_symbols(), *(particle["composition"] or {}),
             *(e for group in particle["swap_groups"] or [] for e in group)}
    return species(potential.elements) if VACANCY in named else list(potential.elements)


@contextmanager
def _at_key(source: tuple[str, str] | None, key: str) -> Iterator[None]:
    """Turn a particle or swap-group error into a ConfigError at the [particle] key it names
    (ParticleError.key) if the file sets it, else at `key`, of source = (file name, text)."""
    try:
        yield
    except (ParticleError, GroupError) as exc:
        if source is None:
            raise
        raise ConfigError(f"{locate(*source, 'particle', getattr(exc, 'key', None), key)}: {exc}") from None


def build_particle(config: dict, base: Path, potential: Potential, rng: np.random.Generator,
                   source: tuple[str, str] | None = None, replicas: int = 1,
                   quiet: bool = True) -> tuple[Atoms, SwapGroups]:
    """The initial particle (random occupation from rng) and its swap groups; errors about the
    particle name their line in source = (file name, text).

    A structure file keeps its own occupation unless `composition` is given. The elements named are
    checked against the potential first; then a particle whose set-up with `replicas` replicas cannot
    fit in the memory this process has is refused before it is built (nanomc.memory), and one of more
    than PROGRESS_SITES sites says what it builds on stderr unless quiet.
    """
    p = config["particle"]
    composition = p["composition"] or {}
    with _at_key(source, "shape"):
        _check_elements(p, potential)
        if p["shape"] == "file":
            atoms = read_structure(base / p["file"])
            _check_memory(len(atoms), sampled_pairs(atoms.positions, potential.cutoff), potential, replicas,
                          f"{p['file']} of {len(atoms):,} sites", "file", quiet)
        else:
            atoms = _build_shape(p, potential, replicas, quiet)
    frozen = np.isin(atoms.get_chemical_symbols(), p["frozen_elements"])
    bad = [i for i in p["frozen_indices"] if not 0 <= i < len(atoms)]
    if bad:
        with _at_key(source, "frozen_indices"):
            raise ParticleError(f"frozen_indices: atom {bad[0]} does not exist (the particle has {len(atoms)} atoms)")
    frozen[p["frozen_indices"]] = True
    names = occupation_elements(potential, p, atoms)
    group_elements = p["swap_groups"] or default_groups(atoms, composition,
                                                        include_present=p["shape"] != "file" or not composition)
    with _at_key(source, "swap_groups" if p["swap_groups"] else "composition"):
        groups = make_groups(atoms, names, group_elements, frozen)
    with _at_key(source, "composition"):
        if composition:
            atoms = occupy(atoms, groups, names, composition, rng)
        check_moves(atoms, groups, names, flips=config["mc"]["ensemble"] == "sgc")
    element_indices(atoms, potential.elements)  # every element known to the potential
    return atoms, groups


def _check_elements(p: dict, potential: Potential) -> None:
    """ParticleError at the first element of [particle] `oxide`, `host` or `composition` the potential does not
    know (before a lattice constant is looked up for it)."""
    known = ", ".join(potential.elements)
    for element in parse_oxide(p["oxide"]) if p["oxide"] else ():
        if element not in potential.elements:
            raise ParticleError(f"oxide = {p['oxide']!r} needs {element}, which the potential does not know ({known})",
                                key="oxide")
    named = [("host", p["host"])] if p["host"] else []
    for key, element in named + [("composition", e) for e in p["composition"] or {} if e != VACANCY]:
        if element not in potential.elements:
            raise ParticleError(f"`{key}` names {element}, which the potential does not know ({known})", key=key)


def _build_shape(p: dict, potential: Potential, replicas: int, quiet: bool) -> Atoms:
    """The particle of a built shape: an fcc metal of `host`, or a fluorite `oxide` (cations, then anion sites);
    by `size`, `atoms` or `cations`, once its set-up fits in memory (_check_memory). A ParticleWarning when it is
    more than FAR_FROM_ASKED away from the `atoms` or `cations` asked for."""
    oxide, shape, energies = p["oxide"], p["shape"], p["surface_energies"]
    a = p["lattice_constant"] or (oxide_lattice_constant(oxide) if oxide else vegard_lattice_constant(p["composition"]))
    key = next(k for k in ("size", "atoms", "cations") if p[k] is not None)
    cell_sites, per_cation = (12, 3) if oxide else (4, 1)       # sites per cubic cell a³, sites per cation
    if key == "atoms":
        sites = p["atoms"]
    else:
        sites = per_cation * (p["cations"] if key == "cations" else shape_atom_count(shape, p["size"]))
    _check_memory(sites, lattice_pairs(cell_sites / a**3, potential.cutoff), potential, replicas,
                  f"a {shape} of about {sites:,} sites", key, quiet)
    if oxide:
        size = p["size"] or fluorite_size(oxide, shape, a, p[key], key, energies)
        atoms = fluorite_particle(oxide, shape, a, size, energies)
    else:
        host = p["host"] or next(iter(p["composition"]))
        size = p["size"] or size_for_atom_count(shape, host, a, p["atoms"], energies)
        atoms = cluster_shape(shape, host, a, size, energies)
    built = len(atoms) if key == "atoms" else int(np.sum(sublattice_labels(atoms) == CATION))
    if key != "size" and abs(built - p[key]) > FAR_FROM_ASKED * p[key]:
        warnings.warn(f"`{key}` = {p[key]}: the closest {shape} has {built} {'sites' if key == 'atoms' else key}",
                      ParticleWarning)
    return atoms


def _check_memory(sites: int, pairs: float, potential: Potential, replicas: int, what: str, key: str,
                  quiet: bool) -> None:
    """ParticleError at [particle] `key` if setting up `what` (`sites` sites with `pairs` neighbours each within
    the cutoff; `replicas` replicas) needs more memory than this process has (nanomc.memory); else, for more
    than PROGRESS_SITES sites and unless quiet, a set-up line on stderr."""
    need = setup_bytes(sites, pairs, max(d.size for d in potential.descriptor_sets.values()), replicas)
    have = available_memory()
    if need > have:
        raise ParticleError(f"`{key}`: {what} needs about {gib(need)} GiB of memory to set up ({pairs:.0f} "
                            f"neighbours per site within {potential.cutoff:g} Å, {plural(replicas, 'replica')}), more "
                            f"than the {gib(have)} GiB available; choose a smaller particle ({LIMIT_VARIABLE} sets the "
                            "limit in MiB)", key=key)
    setup_line(sites, f"building {what}: about {gib(need)} GiB of memory ({gib(have)} GiB available)", quiet)


def setup_line(sites: int, message: str, quiet: bool) -> None:
    """`set-up: message` on stderr, for a particle of more than PROGRESS_SITES sites and unless quiet."""
    if not quiet and sites > PROGRESS_SITES:
        print(f"set-up: {message}", file=sys.stderr, flush=True)


def prepare(config: dict, base: Path, comm=None, source: tuple[str, str] | None = None, quiet: bool = True) -> Setup:
    """Build everything this rank runs; raises NanomcError subclasses with one-line messages
    (particle errors with the line of their key in source = (parameter file name, text)). A particle
    of more than PROGRESS_SITES sites reports each step of the set-up on stderr unless quiet.

    Random streams: one SeedSequence per start (nanomc.mc.starts.start_seed; start 0: the campaign
    seed's) spawns the occupation stream (child 0), one stream per replica (children 1..R) and the
    exchange stream (child R+1), so results do not depend on how replicas are spread over ranks.
    Replica s·R + t is replica t of start s; the particle is built with start 0's occupation stream.
    """
    comm = comm or SerialComm()
    mc = config["mc"]
    potential = load_potential(config, base, source)
    if mc["ensemble"] == "anneal":
        schedule = temperature_schedule(mc["t_start"], mc["t_end"], mc["sweeps"], mc["schedule"])
        temperatures = schedule[-1:]
    else:
        schedule = None
        temperatures = np.array(mc["temperatures"], float)
    n_rep = len(temperatures)
    part = config["particle"]
    starts = start_names(mc["starts"], default_start(part["shape"] == "file", part["composition"]))
    n_all = len(starts) * n_rep
    if comm.size > n_all:
        raise CampaignError(f"{comm.size} MPI ranks but only {n_all} replicas (temperatures × starts); use at most "
                            f"{n_all} ranks")
    unknown = set(mc["chemical_potentials"]) - set(potential.elements)
    if unknown:
        where = locate(*source, "mc", "chemical_potentials") if source else "chemical_potentials"
        raise ConfigError(f"{where}: {sorted(unknown)[0]} is not an element of the potential")
    streams = [start_streams(mc["seed"], s, n_rep) for s in range(len(starts))]
    mine = [r for r in range(n_all) if owner_of(r, n_all, comm.size) == comm.rank]
    atoms, groups = build_particle(config, base, potential, np.random.default_rng(streams[0][0]), source, len(mine),
                                   quiet)
    names = occupation_elements(potential, part, atoms)
    limit = int(config["potential"]["memory_limit_mb"] * 2**20)
    ensemble = "sgc" if mc["ensemble"] == "sgc" else "canonical"
    initial = element_indices(atoms, potential.elements)

    def start_atoms(s: int) -> Atoms:
        """The particle with start s's initial occupation (start 0's random one is the particle as built)."""
        z = start_occupation(starts[s], initial, groups, atoms, np.random.default_rng(streams[s][0]),
                             drawn=s == 0 and bool(part["composition"]))
        out = atoms.copy()
        out.set_chemical_symbols([names[k] for k in z])
        return out

    occupied = {s: start_atoms(s) for s in sorted({r // n_rep for r in mine})}
    chains: dict[int, Chain] = {}
    first = None
    for k, r in enumerate(mine):
        s, t = divmod(r, n_rep)
        lists = f", with the neighbour lists of {len(atoms):,} sites" if first is None else ""
        setup_line(len(atoms), f"replica {k + 1} of {len(mine)}{lists}", quiet)
        if first is None:
            model = first = LocalEnergyModel(potential, occupied[s], memory_limit=limit)
        else:
            model = LocalEnergyModel(potential, occupied[s], share_geometry_with=first)
        chains[r] = Chain(model, groups, np.random.default_rng(streams[s][1 + t]), ensemble,
                          mc["chemical_potentials"], mc["neighbour_swaps"])
    ladders = [ExchangeLadder(temperatures, np.random.default_rng(streams[s][n_rep + 1])) for s in range(len(starts))]
    return Setup(potential, atoms, groups, temperatures, schedule, chains, ladders, names, starts)


class DirectoryLock:
    """An exclusive lock on a campaign's output directory (the file `.nanomc.lock` in it), held
    for the run's lifetime. flock locks belong to the open file, so the OS drops the lock when
    the process ends in any way: a killed run leaves no stale lock behind."""

    NAME = ".nanomc.lock"

    def __init__(self, directory: Path) -> None:
        self.path = directory / self.NAME
        self.fd: int | None = None

    def acquire(self) -> None:
        """Take the lock or raise CampaignError naming the process that holds it."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.read(fd, 200).decode(errors="replace").strip() or "unknown process"
            os.close(fd)
            raise CampaignError(f"{self.path.parent} is in use by another nanomc run ({holder}); wait for it to "
                                "end or choose another output directory") from None
        os.ftruncate(fd, 0)
        os.write(fd, f"pid {os.getpid()} on {socket.gethostname()}".encode())
        self.fd = fd

    def release(self) -> None:
        """Drop the lock (the file stays: removing it could let two runs lock different files)."""
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def _open_output(directory: Path, results: Path, resume: bool, overwrite: bool, lock: DirectoryLock) -> None:
    """Create and lock the output directory, then check what is in it (rank 0)."""
    if resume and overwrite:
        raise CampaignError("give --resume or --overwrite, not both")
    if resume and not results.exists():
        raise CampaignError(f"{results} does not exist, there is nothing to resume")
    try:
        directory.mkdir(parents=True, exist_ok=True)
        lock.acquire()
    except OSError as exc:
        raise CampaignError(f"output directory {directory} is not writable ({exc.strerror})") from None
    try:
        if results.exists() and not (resume or overwrite):
            raise CampaignError(f"{results} exists; use --resume to continue it or --overwrite to replace it")
    except CampaignError:
        lock.release()
        raise


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


#: keys that do not change a run's results, so --resume accepts edits to them: the potential is
#: compared by its content hash instead of its file name; `sweeps` has rules of its own
NOT_IN_RESULTS = {("mc", "checkpoint_interval"), ("output", "directory"), ("potential", "file"), ("mc", "sweeps")}


def _result_keys(config: dict) -> dict[tuple[str, str], object]:
    return {(section, key): value for section, values in config.items() for key, value in values.items()
            if (section, key) not in NOT_IN_RESULTS}


def same_parameters(stored: str, config: dict, results: Path) -> dict:
    """The validated parameters a results file was started with (its stored text); CampaignError if
    they differ from `config` in a key that changes results (all but NOT_IN_RESULTS)."""
    try:
        started = validate(tomllib.loads(stored), stored, f"{results} (stored parameters)")
    except (ConfigError, tomllib.TOMLDecodeError) as exc:
        raise CampaignError(f"{results}: its stored parameters are no longer valid ({exc}); run with --overwrite "
                            "to start again") from None
    before, now = _result_keys(started), _result_keys(config)
    changed = [f"[{s}] {k}: {before.get((s, k))!r} -> {now.get((s, k))!r}"
               for s, k in sorted(before.keys() | now.keys()) if before.get((s, k)) != now.get((s, k))]
    if changed:
        raise CampaignError(f"{results} was started with different parameters ({'; '.join(changed)}); run with "
                            "--overwrite to start again")
    return started


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
    _on_root(comm, _write_checkpoint, record, driver, states, path)


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


def _on_root(comm, fn, *args) -> None:
    """Run fn on rank 0 only; if it raises a NanomcError, raise the same message on every rank."""
    message = None
    if comm.rank == 0:
        try:
            fn(*args)
        except NanomcError as exc:
            message = (type(exc), str(exc))
    message = comm.bcast(message, root=0)
    if message is not None:
        raise message[0](message[1])


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


class Progress:
    """A progress line on stderr at most every `every` seconds (sweep or other `unit`, T, E, acceptance,
    `extra` text, ETA)."""

    def __init__(self, total: int, start: int, quiet: bool, every: float = 2.0, unit: str = "sweep") -> None:
        self.total, self.start, self.quiet, self.every, self.unit = total, start, quiet, every, unit
        self.t0 = self.last = time.monotonic()

    def update(self, sweep: int, temperature: float, energy: float, acceptance: float, n_chains: int,
               force: bool = False, extra: str = "") -> None:
        now = time.monotonic()
        if self.quiet or (now - self.last < self.every and not force):
            return
        self.last = now
        done = sweep - self.start
        eta = (now - self.t0) / done * (self.total - sweep) if done else float("nan")
        chains = f" ({n_chains} replicas, lowest T shown)" if n_chains > 1 else ""
        print(f"{self.unit} {sweep}/{self.total}  T {format_temperature(temperature)} K  E {energy:.4f} eV  "
              f"acceptance {acceptance:.3f}{extra}  ETA {format_duration(eta)}{chains}", file=sys.stderr, flush=True)


def format_duration(seconds: float) -> str:
    """Seconds as "1h02m" or "3m05s"; "?" if not finite."""
    if not np.isfinite(seconds):
        return "?"
    m, s = divmod(int(round(seconds)), 60)
    h, m = divmod(m, 60)
    return f"{h}h{m:02d}m" if h else f"{m}m{s:02d}s"


def results_file(path: str | Path, config: dict) -> Path:
    """A campaign's results.h5: in [output] `directory`, relative to its parameter file `path` (config: the
    file's validated parameters)."""
    return Path(path).parent / config["output"]["directory"] / "results.h5"


def results_line(record: RunRecord | PopulationRecord, results: Path) -> str:
    """'results: out/results.h5, final.extxyz, best.extxyz': where a campaign's results went."""
    return f"results: {results}" + (", final.extxyz, best.extxyz" if record.complete else "")


def particle_line(record: RunRecord | PopulationRecord) -> str:
    """'particle: 79 sites (Au 40, Cu 39)': the particle as built, with its initial occupation (X: vacant sites)."""
    symbols = np.asarray(record.elements)[np.asarray(record.initial_elements)]
    initially = " initially" if record.ensemble == "sgc" else ""
    return f"particle: {len(symbols)} sites ({element_summary(symbols)}{initially})"


def run_campaign(path: str | Path, resume: bool = False, overwrite: bool = False, quiet: bool = False,
                 stop_after: int | None = None, comm=None) -> RunRecord | PopulationRecord | None:
    """Run (or resume) the campaign of a parameter file; returns the final record (rank 0): a
    RunRecord, or a PopulationRecord for ensemble = "pamc" (nanomc.population_campaign).

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
        from .population_campaign import run_population    # it builds on this module

        return run_population(path, config, text, resume, overwrite, quiet, stop_after, comm)
    setup = prepare(config, base, comm, (str(path), text), quiet or comm.rank != 0)
    lock = DirectoryLock(directory)
    _on_root(comm, _open_output, directory, results, resume, overwrite, lock)
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


def energies_note(record) -> list[str]:
    """A line saying that the energies are relaxed-lattice energies, if they are (else none)."""
    if record.potential_energies != "relaxed-lattice":
        return []
    return ["energies: relaxed-lattice (the potential maps occupations of the ideal lattice to relaxed energies)"]


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
