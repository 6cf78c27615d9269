"""A campaign's set-up: validated parameters -> potential, particle, swap groups, this rank's chains (Setup).

The particle's shape is built by nanomc.fluorite.build_shape (an fcc metal or a fluorite oxide); here
it is checked against the potential and the memory of this process, occupied and given its swap
groups, with errors at the line of the [particle] key they concern.
"""
from __future__ import annotations

import sys
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
from ase import Atoms

from ..errors import PotentialError, PotentialFileError
from ..fluorite import build_shape, check_elements
from ..formatting import plural
from ..local_energy import LocalEnergyModel
from ..mc import Chain, SwapGroups, temperature_schedule
from ..mc.exchange import ExchangeLadder
from ..mc.groups import GroupError
from ..mc.parallel import SerialComm, owner_of
from ..mc.starts import default_start, start_names, start_occupation, start_streams
from ..memory import LIMIT_VARIABLE, available_memory, gib, lattice_pairs, sampled_pairs, setup_bytes
from ..particles import ParticleError, ParticleWarning, check_moves, default_groups, make_groups, occupy, read_structure
from ..potential import Potential
from ..potential.store import potential_path
from ..structure import VACANCY, element_indices, species
from ..surfaces import SurfaceError, potential_calculator, read_surface_file, surface_energies
from .output import CampaignError
from .schema import ConfigError, locate

#: particles of more sites than this print their set-up steps (some seconds per 10,000 sites and replica)
PROGRESS_SITES = 20_000


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
        check_elements(p, potential.elements)
        if p["shape"] == "file":
            atoms = read_structure(base / p["file"])
            _check_memory(len(atoms), sampled_pairs(atoms.positions, potential.cutoff), potential, replicas,
                          f"{p['file']} of {len(atoms):,} sites", "file", quiet)
        else:
            def fits(sites: int, density: float, key: str) -> None:
                _check_memory(sites, lattice_pairs(density, potential.cutoff), potential, replicas,
                              f"a {p['shape']} of about {sites:,} sites", key, quiet)

            atoms = build_shape({**p, "surface_energies": wulff_energies(p, base, potential)}, fits)
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


def wulff_energies(particle: dict, base: Path, potential: Potential) -> dict[str, float] | None:
    """The [particle] `surface_energies` table (J/m² or relative, by facet) of a wulff shape: as given, read
    from a file of `nanomc surfaces` (relative to base), or, for "potential", computed with the campaign's
    potential for the host element (nanomc.surfaces.surface_energies with its defaults). ParticleError at
    `surface_energies` naming the file or the problem."""
    value = particle["surface_energies"]
    if not isinstance(value, str):
        return value
    try:
        if value == "potential":
            host = particle["host"] or next(iter(particle["composition"]))
            result = surface_energies(host, potential_calculator(potential, host))
            loose = [f for f in result.facets.values() if not f.converged]
            if loose:
                warnings.warn(f"surface_energies = \"potential\": {host}({loose[0].facet}) changed by "
                              f"{loose[0].change:.3f} J/m² from {loose[0].thicknesses[-2]} to {loose[0].layers} layers, "
                              f"more than the tolerance {result.tolerance:g}", ParticleWarning)
            return result.table()
        return read_surface_file(base / value)
    except (SurfaceError, PotentialError) as exc:
        where = "surface_energies = \"potential\"" if value == "potential" else "surface_energies"
        raise ParticleError(f"`{where}`: {exc}", key="surface_energies") from None


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
                          mc["chemical_potentials"], mc["neighbour_swaps"], mc["composite_moves"])
    ladders = [ExchangeLadder(temperatures, np.random.default_rng(streams[s][n_rep + 1])) for s in range(len(starts))]
    return Setup(potential, atoms, groups, temperatures, schedule, chains, ladders, names, starts)
