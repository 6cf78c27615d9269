"""Relaxed-lattice labels (`nanomc label --relax`): the energy after relaxation, the structure on its lattice.

The cluster-expansion (abICS) remedy for on-lattice Monte Carlo: a structure is relaxed with
the reference calculator, or with a nanomc potential followed by one reference single point at
the relaxed geometry, or with a few reference single points and the potential corrected to them in
between (nanomc.training.corrected), and labelled with that relaxed reference energy, while the label keeps
the ideal (input) positions, cell and occupation and no forces. A potential trained on such
labels maps occupations on the ideal lattice to relaxed energies; its forces mean nothing.

A relaxed structure maps back to its lattice if every atom is still nearer its own ideal site
than any other, vacant sites (the input's X atoms) included (minimum image in periodic directions;
after a cell relaxation the relaxed fractional coordinates are placed in the ideal cell first) and
no atom moved more than `max_displacement` Å. With swap groups (the campaign's `swap_groups`, e.g.
[["Ce", "Cu"], ["O", "X"]]) a structure whose atoms relaxed onto other sites maps too, to the
occupation it relaxed to, when every atom's nearest site is its own (no two atoms share one), was
held in the input by an element of the atom's group (X: a vacant site), and is within
`max_displacement`: an O that fell into the next vacancy is labelled with the vacancy moved, the
occupation whose relaxed energy the label is. Structures that do not map are left out of the
labels and recorded, with the reason, in the side file `<labels>.unmapped` (JSON lines), so a
resumed run does not relax them again.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.data import chemical_symbols

from ..errors import NanomcError

#: the info key (label frames) and provenance value (potential files) of relaxed-lattice energies
KIND_KEY = "label_energies"
RELAXED = "relaxed-lattice"
#: the labels-file identity key of the relaxation settings ("none" for ordinary labels)
RELAXATION_KEY = "relaxation"
#: the info keys of a relaxed-lattice label's provenance
PROVENANCE_KEYS = (KIND_KEY, "relaxed_by", "relax_fmax", "relax_steps", "relax_converged", "relax_max_displacement",
                   "relax_cell", "energy_unrelaxed", "relax_maps", "relax_unmapped_reason", "relax_hops",
                   "relax_rattle", "relax_kick", "relax_start", "relax_start_energies",
                   "relax_start_converged", "relax_screen_energies")
#: the label_energies value of labels at the relaxed geometry (--relaxed-geometry): reference relaxations
RELAXED_GEOMETRY = "relaxed-geometry"
OPTIMIZERS = ("FIRE", "BFGS")
#: default --max-displacement (Å): about a third of the nearest-neighbour distance of fcc metals (2.5–2.9 Å)
#: and oxides (Ce–O 2.34 Å), past the 0.07–0.64 Å that atoms of relaxed Au–Cu particles move and short of
#: the midpoint to the next site (1.2–1.4 Å) that the nearest-site rule catches anyway; a Cu dopant in
#: ceria moves about 1 Å off its site next to vacancies (runs/CeCuO-relaxed-lattice), so 1.2 there
MAX_DISPLACEMENT = 0.8


class RelaxedLabelError(NanomcError, ValueError):
    """Relaxation settings that cannot work, or an unmapped-structures file that is not ours."""


@dataclass(frozen=True)
class RelaxSettings:
    """How `nanomc label --relax` relaxes: with the reference ("reference") or a nanomc potential file,
    to forces below fmax (eV/Å) in at most `steps` optimiser steps, the cell too (periodic structures
    only) if `cell`; structures moving an atom more than max_displacement (Å) are left out."""

    relax_with: str = "reference"
    fmax: float = 0.05
    steps: int = 500
    cell: bool = False
    max_displacement: float = MAX_DISPLACEMENT
    optimizer: str = "FIRE"
    #: label the relaxed structure itself (positions, reference energy and forces there) instead of its lattice
    keep_geometry: bool = False
    #: with a nanomc relaxer: at most this many reference single points; 1 relaxes with the potential and computes
    #: the reference once at the end, more relax to the reference's own minimum (nanomc.training.corrected)
    reference_points: int = 1
    #: groups of elements ("X": vacant site) whose atoms may end on each other's sites: the label is then the
    #: occupation relaxed to; empty: every atom must stay nearest its own site
    swap_groups: tuple[tuple[str, ...], ...] = ()
    #: standard deviation (Å) of random displacements of every atom before relaxing, seeded by the structure
    #: (the same structure always starts from the same displaced positions); 0: start on the lattice. A start
    #: on the ideal lattice keeps its symmetry, so the optimiser can stop at a symmetric saddle point
    rattle: float = 0.0
    #: (element, Å): every atom of the element additionally displaced by that distance in a random direction
    #: (seeded like the rattle), so that it can leave a high-symmetry site for an off-centre minimum (Cu in
    #: ceria: a square-planar CuO4 about 1 Å off its site, which small rattles reach only sometimes)
    kick: tuple[tuple[str, float], ...] = ()
    #: relax from this many rattled starts and label the lowest relaxed energy that maps (the relaxed energy
    #: as the lowest of several local minima); needs rattle or kick
    starts: int = 1
    #: the number of the first start: start k is seeded by the structure and k (start 0: the seed of a single
    #: rattled start), so other first starts give independent labels of the same structures
    first_start: int = 0
    #: with a nanomc relaxer corrected to the reference (reference_points > 1) and several starts: relax every
    #: start on the relaxer's surface alone, compute the reference once at each end, and make the corrected
    #: relaxation from the lowest only (starts + reference_points reference points instead of their product)
    screen: bool = False

    def start_numbers(self) -> range:
        """The numbers of the starts every structure is relaxed from."""
        return range(self.first_start, self.first_start + self.starts)

    def check(self) -> None:
        """RelaxedLabelError (one line) for settings that cannot work."""
        if not self.fmax > 0:
            raise RelaxedLabelError(f"--fmax must be positive (eV/Å), got {self.fmax}")
        if self.steps < 1:
            raise RelaxedLabelError(f"--relax-steps must be at least 1, got {self.steps}")
        if not self.max_displacement > 0:
            raise RelaxedLabelError(f"--max-displacement must be positive (Å), got {self.max_displacement}")
        if self.optimizer not in OPTIMIZERS:
            raise RelaxedLabelError(f"--relax-optimizer must be one of {', '.join(OPTIMIZERS)}, got {self.optimizer!r}")
        if self.reference_points < 1:
            raise RelaxedLabelError(f"--reference-points must be at least 1, got {self.reference_points}")
        if self.reference_points > 1 and self.relax_with == "reference":
            raise RelaxedLabelError("--reference-points is for a nanomc relaxer: give --relax-with POTENTIAL.h5")
        if self.reference_points > 1 and self.cell:
            raise RelaxedLabelError("--reference-points relaxes positions only: leave out --relax-cell")
        seen = [element for group in self.swap_groups for element in group]
        if len(seen) != len(set(seen)):
            raise RelaxedLabelError(f"--swap-groups: an element is in two groups ({' '.join(map(','.join, self.swap_groups))})")
        if not 0 <= self.rattle < self.max_displacement:
            raise RelaxedLabelError(f"--rattle must be at least 0 and below --max-displacement "
                                    f"({self.max_displacement:g} Å), got {self.rattle}")
        if self.starts < 1 or self.first_start < 0:
            raise RelaxedLabelError(f"--starts must be at least 1 and --first-start at least 0, got {self.starts} "
                                    f"and {self.first_start}")
        if (self.starts > 1 or self.first_start) and not (self.rattle or self.kick):
            raise RelaxedLabelError("--starts and --first-start choose rattled starts: give --rattle Å or --kick too")
        for element, distance in self.kick:
            if element not in chemical_symbols[1:]:
                raise RelaxedLabelError(f"--kick {element}={distance}: {element!r} is not an element symbol")
            if not 0 < distance < self.max_displacement:
                raise RelaxedLabelError(f"--kick {element}={distance}: the distance must be positive and below "
                                        f"--max-displacement ({self.max_displacement:g} Å)")
        if self.screen and (self.starts < 2 or self.reference_points < 2):
            raise RelaxedLabelError("--screen picks one of several starts for a corrected relaxation: give --starts N "
                                    "(N > 1) and --reference-points K (K > 1) with --relax-with POTENTIAL.h5")
        if any(len(group) < 2 for group in self.swap_groups):
            raise RelaxedLabelError("--swap-groups: a group needs at least two elements (e.g. Ce,Cu O,X)")

    def relaxer_potential(self):
        """The nanomc Potential that relaxes, or None for the reference; one-line errors for a bad file."""
        if self.relax_with == "reference":
            return None
        from ..potential import Potential

        potential = Potential.load(self.relax_with)
        potential.refuse_forces(f"--relax-with {self.relax_with}")
        return potential

    def identity(self, relaxer: str) -> str:
        """The settings as one line (the labels file's `relaxation` identity); relaxer: "reference" or
        "nanomc:<content hash>"."""
        kept = "; labels at the relaxed geometry" if self.keep_geometry else ""
        if self.swap_groups:
            kept += f"; atoms may change sites within {' '.join(map(','.join, self.swap_groups))}"
        if self.rattle or self.kick:
            kept += _starts_phrase(self.rattle, self.start_numbers())
        if self.kick:
            kept += "; " + ", ".join(f"{element} kicked by {distance:g} A" for element, distance in self.kick) + \
                " in a random direction"
        if self.screen:
            kept += "; the starts screened by the reference at their minima on the relaxer's surface"
        if self.reference_points > 1:
            return (f"relaxed by {relaxer} corrected to the reference at up to {self.reference_points} points; "
                    f"reference fmax {self.fmax:g} eV/A; BFGS at most {self.steps} steps between points; positions; "
                    f"max displacement {self.max_displacement:g} A{kept}")
        return (f"relaxed by {relaxer}; {self.optimizer} to fmax {self.fmax:g} eV/A in at most {self.steps} steps; "
                f"{'positions and cell' if self.cell else 'positions'}; max displacement {self.max_displacement:g} A"
                f"{kept}")


def _starts_phrase(rattle: float, starts: range) -> str:
    """How the relaxations start, for the identity (a single start 0 as before starts could be chosen)."""
    where = f"positions displaced by {rattle:g} A (normal, " if rattle else "the ideal positions ("
    if len(starts) == 1:
        return f"; started from {where}seeded by the structure{f', start {starts[0]}' if starts[0] else ''})"
    return (f"; the lowest of {len(starts)} relaxations from {where}seeded by the structure, starts "
            f"{starts[0]}-{starts[-1]})")


def relaxer_name(potential) -> str:
    """"reference", or "nanomc:" and the first 16 hex digits of the relaxing potential's content hash."""
    return "reference" if potential is None else f"nanomc:{potential.content_hash()[:16]}"


@dataclass
class RelaxedGeometry:
    """A reference relaxation kept as it is (--relaxed-geometry): the relaxed structure, the reference energy
    (eV) and forces (eV/Å) there, and the provenance (with the unrelaxed energy and whether it maps)."""

    atoms: Atoms
    energy: float
    forces: np.ndarray
    info: dict


@dataclass
class Remapped:
    """A relaxed-lattice label on the occupation the structure relaxed to (atoms moved to the sites they
    relaxed onto, within their swap groups): that occupation, the reference energy (eV), the provenance."""

    atoms: Atoms
    energy: float
    info: dict
    forces = None


@dataclass
class Unmapped:
    """A relaxed structure that does not map back to its lattice, and why."""

    reason: str


def site_distances(ideal: Atoms, relaxed: Atoms, vacant: np.ndarray | None = None) -> np.ndarray:
    """Distances (Å, n × (n + k)) from every relaxed atom to every site: the ideal positions of the n atoms,
    then the k vacant sites `vacant` (k × 3, Å). Relaxed positions are taken in the ideal cell through their
    fractional coordinates (so a relaxed cell's strain does not count); minimum image in periodic directions."""
    from ase.geometry import get_distances

    positions = relaxed.positions
    if not np.allclose(relaxed.cell.array, ideal.cell.array):  # a relaxed cell (periodic in all directions)
        positions = relaxed.cell.scaled_positions(positions) @ ideal.cell.array
    _, distances = get_distances(positions, lattice_sites(ideal, vacant), cell=ideal.cell, pbc=ideal.pbc)
    return distances


def lattice_sites(ideal: Atoms, vacant: np.ndarray | None = None) -> np.ndarray:
    """The sites (Å): the ideal positions of the atoms, then the vacant sites."""
    return ideal.positions if vacant is None or not len(vacant) else np.vstack([ideal.positions, vacant])


def lattice_displacements(ideal: Atoms, relaxed: Atoms,
                          vacant: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(displacement of every atom from its own ideal site (Å), distance to the nearest other site (Å)),
    the other sites being those of the other atoms and the vacant sites `vacant` (k × 3, Å); see site_distances."""
    distances = site_distances(ideal, relaxed, vacant)
    n = len(ideal)
    own = distances.diagonal().copy()
    distances[np.arange(n), np.arange(n)] = np.inf
    other = distances.min(axis=1) if distances.shape[1] > 1 else np.full(n, np.inf)
    return own, other


@dataclass(frozen=True)
class LatticeMap:
    """Where a relaxed structure's atoms sit on the lattice: the site of every atom (index into the atoms'
    ideal positions, then the vacant sites), the largest distance from an atom to its site (Å), and why the
    structure does not map (None if it does)."""

    sites: np.ndarray
    largest: float
    reason: str | None

    @property
    def hops(self) -> int:
        """Atoms on a site other than their input one."""
        return int(np.count_nonzero(self.sites != np.arange(len(self.sites))))

    def occupation(self, ideal: Atoms, vacant: np.ndarray | None = None) -> Atoms:
        """`ideal` with every atom moved to its site: the occupation the structure relaxed to (Å)."""
        atoms = ideal.copy()
        atoms.positions = lattice_sites(ideal, vacant)[self.sites]
        return atoms


def map_to_lattice(ideal: Atoms, relaxed: Atoms, max_displacement: float, vacant: np.ndarray | None = None,
                   swap_groups: Sequence[Sequence[str]] = ()) -> LatticeMap:
    """Where `relaxed` sits on `ideal`'s lattice (vacant sites `vacant`, k × 3, Å). Without swap groups an atom
    nearer another atom's site, or a vacant site, than its own does not map: relaxation changed the occupation.
    With them, every atom goes to its nearest site, which must be its own or have held an element of its
    group ("X" for a vacant site), and no two atoms may share one. Either way no atom may end more than
    max_displacement (Å) from its site."""
    distances = site_distances(ideal, relaxed, vacant)
    n = len(ideal)
    own = np.arange(n)
    nearest = distances.argmin(axis=1) if n else own
    hopped = np.flatnonzero(distances[own, nearest] < distances[own, own])
    sites, reason = own, None
    if len(hopped) and not swap_groups:
        i = int(hopped[0])
        reason = (f"{len(hopped)} atom(s) nearer another site than their own after relaxation (atom {i} "
                  f"moved {distances[i, i]:.2f} Å)")
    elif len(hopped):
        sites = np.where(np.isin(own, hopped), nearest, own)
        reason = _hop_problem(ideal, sites, hopped, swap_groups)
    largest = float(distances[own, sites].max()) if n else 0.0
    if reason is None and largest > max_displacement:
        i = int(distances[own, sites].argmax())
        reason = f"atom {i} moved {largest:.2f} Å, more than --max-displacement {max_displacement:g} Å"
    return LatticeMap(sites, largest, reason)


def _hop_problem(ideal: Atoms, sites: np.ndarray, hopped: np.ndarray, swap_groups: Sequence[Sequence[str]]) -> str | None:
    """Why atoms `hopped` cannot take the sites `sites`: two atoms on one site, or a site of another group."""
    taken, counts = np.unique(sites, return_counts=True)
    if (counts > 1).any():
        shared = int(taken[counts > 1][0])
        return (f"{int((counts > 1).sum())} site(s) nearest two atoms after relaxation (atoms "
                f"{', '.join(map(str, np.flatnonzero(sites == shared)))})")
    group = {element: k for k, members in enumerate(swap_groups) for element in members}
    symbols = ideal.get_chemical_symbols()
    for i in hopped:
        element = symbols[i]
        before = symbols[sites[i]] if sites[i] < len(symbols) else "X"  # past the atoms: a vacant site
        if element not in group or group.get(before) != group[element]:
            return (f"atom {int(i)} ({element}) relaxed onto a site of {before}, outside its swap group")
    return None


def rattled(atoms: Atoms, sigma: float, start: int = 0, kick: Sequence[tuple[str, float]] = ()) -> Atoms:
    """A copy of atoms with every position displaced by normal noise of standard deviation sigma (Å) per
    component, and every atom of a `kick` element by its distance (Å) in a uniformly random direction, from a
    generator seeded by the structure's elements, positions and cell and the start number (reproducible;
    every start of a structure is displaced differently)."""
    out = atoms.copy()
    if sigma > 0 or kick:
        parts = [atoms.numbers, atoms.positions, atoms.cell.array] + ([np.int64(start)] if start else [])
        digest = hashlib.sha256(b"".join(np.ascontiguousarray(a).tobytes() for a in parts)).digest()
        rng = np.random.default_rng(int.from_bytes(digest[:8], "little"))
        out.positions = out.positions + rng.normal(0.0, sigma, out.positions.shape)
        for element, distance in kick:
            chosen = out.symbols == element
            directions = rng.normal(size=(int(chosen.sum()), 3))
            out.positions[chosen] += distance * directions / np.linalg.norm(directions, axis=1, keepdims=True)
    return out


Outcome = tuple[float, dict] | Remapped | Unmapped | RelaxedGeometry


def relax_and_label(atoms: Atoms, calc, relaxer, settings: RelaxSettings,
                    vacant: np.ndarray | None = None) -> Outcome:
    """Relax a copy of `atoms` with the reference `calc` (relaxer None) or the nanomc Calculator `relaxer`
    and return (reference energy at the relaxed geometry (eV), provenance info), Remapped if atoms relaxed
    onto other sites within settings.swap_groups, or Unmapped (also when an atom ends nearer one of the
    vacant sites `vacant` (k × 3, Å) than its own, without swap groups). With
    settings.keep_geometry, a RelaxedGeometry instead, mapped or not (the mapping is in its info).
    With several settings.starts, each start is relaxed and the lowest energy that maps is the label; the
    info then holds every start's energy (eV, nan where it did not map), whether it converged, and the number
    of the lowest."""
    # the reference at the input geometry (a reference relaxation's first step reuses it: ASE caches results)
    unrelaxed = float(calc.get_potential_energy(atoms.copy())) if settings.keep_geometry else None
    if settings.screen:
        return _screened(atoms, calc, relaxer, settings, vacant, unrelaxed)
    outcomes = [_relax_from(rattled(atoms, settings.rattle, k, settings.kick), atoms, calc, relaxer, settings, vacant,
                            unrelaxed) for k in settings.start_numbers()]
    energies = np.array([_mapped_energy(outcome) for outcome in outcomes])
    if np.isnan(energies).all():
        if len(outcomes) > 1 and not settings.keep_geometry:
            return Unmapped(f"none of {len(outcomes)} starts maps; start {settings.first_start}: {outcomes[0].reason}")
        best = 0 if not settings.keep_geometry else int(np.argmin([outcome.energy for outcome in outcomes]))
    else:
        best = int(np.nanargmin(energies))
    extra = {} if len(outcomes) == 1 else {
        "relax_start_energies": energies,
        "relax_start_converged": np.array([_converged(outcome) for outcome in outcomes])}
    return _with_start(outcomes[best], settings, best, extra)


def _screened(atoms: Atoms, calc, relaxer, settings: RelaxSettings, vacant: np.ndarray | None,
              unrelaxed: float | None) -> Outcome:
    """settings.screen: every start relaxed on the relaxer's surface alone (BFGS to settings.fmax), the reference
    computed once at each end that maps (`relax_screen_energies`, eV, nan where it does not), and the corrected
    relaxation made from the lowest of them only."""
    from ase.optimize import BFGS

    ends, energies = [], []
    for k in settings.start_numbers():
        end = rattled(atoms, settings.rattle, k, settings.kick)
        end.calc = relaxer
        BFGS(end, logfile=None).run(fmax=settings.fmax, steps=settings.steps)
        mapping = map_to_lattice(atoms, end, settings.max_displacement, vacant, settings.swap_groups)
        energies.append(np.nan if mapping.reason else float(calc.get_potential_energy(end.copy())))
        ends.append(end)
    energies = np.array(energies)
    if np.isnan(energies).all():
        return Unmapped(f"none of {len(ends)} starts maps after relaxing on the relaxer's surface")
    best = int(np.nanargmin(energies))
    start = atoms.copy()
    start.positions = ends[best].positions
    outcome = _relax_from(start, atoms, calc, relaxer, settings, vacant, unrelaxed)
    return _with_start(outcome, settings, best, {"relax_screen_energies": energies})


def _with_start(outcome: Outcome, settings: RelaxSettings, best: int, extra: dict) -> Outcome:
    """The outcome of start number `best` (counted from settings.first_start) with its number and `extra` in its
    info (when the starts were chosen: several, or a first start other than 0)."""
    if isinstance(outcome, Unmapped) or not (settings.first_start or len(settings.start_numbers()) > 1):
        return outcome
    info = _info(outcome)
    info["relax_start"] = settings.first_start + best
    info.update(extra)
    return outcome


def _converged(outcome: Outcome) -> bool:
    """Whether a relaxation reached fmax (False for one that does not map: its steps are not recorded)."""
    return False if isinstance(outcome, Unmapped) else bool(_info(outcome)["relax_converged"])


def _info(outcome: tuple[float, dict] | Remapped | RelaxedGeometry) -> dict:
    """The provenance info of a relaxation that produced a label."""
    return outcome[1] if isinstance(outcome, tuple) else outcome.info


def _mapped_energy(outcome: Outcome) -> float:
    """The energy (eV) of a relaxation that maps to the lattice, nan for one that does not."""
    if isinstance(outcome, Unmapped) or (isinstance(outcome, RelaxedGeometry) and not outcome.info["relax_maps"]):
        return np.nan
    return outcome[0] if isinstance(outcome, tuple) else outcome.energy


def _relax_from(start: Atoms, atoms: Atoms, calc, relaxer, settings: RelaxSettings, vacant: np.ndarray | None,
                unrelaxed: float | None) -> Outcome:
    """One relaxation of relax_and_label from the positions `start` (Å) of the structure `atoms`."""
    from ase.calculators.singlepoint import SinglePointCalculator
    from ase.filters import FrechetCellFilter
    from ase.optimize import BFGS, FIRE

    from .corrected import corrected_relax

    cell = settings.cell and bool(atoms.pbc.all())
    if relaxer is not None and settings.reference_points > 1:
        corrected = corrected_relax(start, calc, relaxer.potential, settings.fmax, settings.reference_points,
                                    inner_steps=settings.steps)
        moved, steps, converged = corrected.atoms, corrected.points, corrected.converged
        moved.calc = SinglePointCalculator(moved, energy=corrected.energy, forces=corrected.forces)
    else:
        moved = start
        moved.calc = calc if relaxer is None else relaxer
        target = FrechetCellFilter(moved) if cell else moved
        optimizer = {"FIRE": FIRE, "BFGS": BFGS}[settings.optimizer](target, logfile=None)
        converged = bool(optimizer.run(fmax=settings.fmax, steps=settings.steps))
        steps = int(optimizer.nsteps)
    mapping = map_to_lattice(atoms, moved, settings.max_displacement, vacant, settings.swap_groups)
    largest, reason = mapping.largest, mapping.reason
    if reason is not None and not settings.keep_geometry:
        return Unmapped(reason)
    if relaxer is not None and settings.reference_points == 1:
        moved.calc = calc
    energy = float(moved.get_potential_energy())
    if not np.isfinite(energy):
        raise ValueError("non-finite energy at the relaxed geometry")
    info = {KIND_KEY: RELAXED, "relaxed_by": relaxer_name(getattr(relaxer, "potential", None)),
            "relax_fmax": settings.fmax, "relax_steps": steps, "relax_converged": converged,
            "relax_max_displacement": round(largest, 6), "relax_cell": cell}
    if settings.swap_groups:
        info["relax_hops"] = mapping.hops
    if settings.rattle:
        info["relax_rattle"] = settings.rattle
    if settings.kick:
        info["relax_kick"] = " ".join(f"{element}={distance:g}" for element, distance in settings.kick)
    if not settings.keep_geometry:
        return (energy, info) if not mapping.hops else Remapped(mapping.occupation(atoms, vacant), energy, info)
    info.update({KIND_KEY: RELAXED_GEOMETRY, "energy_unrelaxed": unrelaxed, "relax_maps": reason is None,
                 "relax_unmapped_reason": reason or ""})
    relaxed = moved.copy()
    relaxed.info = dict(atoms.info)
    return RelaxedGeometry(relaxed, energy, np.array(moved.get_forces(), dtype=float), info)


class UnmappedFile:
    """The side file `<labels>.unmapped` of structures left out: one JSON line each (structure_hash,
    origin, reason and the labels' identity), appended and fsync'd; a torn last line is dropped."""

    def __init__(self, labels: Path):
        from .labelfile import LabelWriter

        self.path = Path(f"{labels}.unmapped")
        self._writer = LabelWriter(self.path)

    def read(self, identity: dict[str, str]) -> dict[str, str]:
        """hash -> reason of the recorded structures; RelaxedLabelError if a line is not ours or was written
        with another calculator or other relaxation settings."""
        if not self.path.exists():
            return {}
        recorded = {}
        for number, line in enumerate(self.path.read_text().splitlines(keepends=True), 1):
            if not line.endswith("\n"):
                break  # a write interrupted by a kill; rewritten below if it is the same structure again
            try:
                entry = json.loads(line)
                key, reason = entry["structure_hash"], entry["reason"]
            except (ValueError, KeyError, TypeError):
                raise RelaxedLabelError(f"{self.path}:{number}: not a line of `nanomc label --relax`") from None
            theirs = {k: entry.get(k) for k in identity}
            if theirs != identity:
                diff = ", ".join(f"{k} {theirs[k]!r} (now {identity[k]!r})" for k in identity if theirs[k] != identity[k])
                raise RelaxedLabelError(f"{self.path}:{number} was written with other settings: {diff}; label into "
                                        f"another file")
            recorded[key] = reason
        return recorded

    def repair(self) -> None:
        """Cut a torn last line (a killed write) off the file."""
        if self.path.exists():
            data = self.path.read_bytes()
            complete = data.rfind(b"\n") + 1
            if complete < len(data):
                from .labelfile import cut_torn_tail

                cut_torn_tail(self.path, complete, "line")

    def append(self, key: str, origin: str, reason: str, identity: dict[str, str]) -> None:
        """Record one structure that does not map; on disk when this returns."""
        self._writer.append(json.dumps({"structure_hash": key, "origin": origin, "reason": reason, **identity}) + "\n")

    def close(self) -> None:
        """Close the file."""
        self._writer.close()
