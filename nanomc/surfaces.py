"""Surface energies of fcc metals and L1₂ alloys from any ASE calculator or nanomc potential.

γ = (E_slab − n·E_bulk)/(2A) of stoichiometric slabs: n bulk units (an atom of an element, the cubic
four-atom cell of an A3B alloy), A the area of one face. The bulk lattice constant is the minimum of an
equation-of-state fit with the same calculator; the slab keeps that in-plane lattice, every atom free
to relax (positions only, BFGS). Slabs grow a layer (an element) or a bulk repeat (an alloy) at a time
until γ changes by less than a tolerance.

An element's slabs (ase.build.fcc111/fcc100/fcc110) have the same face on both sides. An A3B slab
(ase.build.surface of the L1₂ cell) has whole bulk repeats: on (111) both faces are A3B layers, while
on (100) and (110) the two faces are the two terminations (an A-only layer and a mixed AB layer), so its
γ is their mean, without a chemical potential. Files of `nanomc surfaces` (JSON, format
`nanomc-surfaces`) give `shape = "wulff"` its surface energies.
"""
from __future__ import annotations

import itertools
import json
import re
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np
from ase import Atoms
from ase.build import bulk, fcc100, fcc110, fcc111, surface
from ase.calculators.calculator import Calculator as ASECalculator
from ase.data import atomic_numbers, reference_states
from ase.eos import calculate_eos
from ase.optimize import BFGS
from ase.units import J, m

from .calculator import Calculator
from .errors import NanomcError
from .outputs import replace_text
from .potential import Potential
from .particles import WULFF_FACETS, vegard_lattice_constant

FORMAT = "nanomc-surfaces"
FORMAT_VERSION = 1
#: J/m² per eV/Å²
J_PER_M2 = 1 / (J / m**2)
FCC_SLABS = {"111": fcc111, "100": fcc100, "110": fcc110}
#: relative strains of the two equation-of-state passes (the second around the first's minimum)
EOS_STRAINS = (0.05, 0.01)
#: Å: atoms closer in height than this are in one atomic layer
LAYER_GAP = 0.3
RELAXATION = "all atoms free (positions; in-plane lattice of the relaxed bulk), BFGS"


class SurfaceError(NanomcError, ValueError):
    """A material, calculator setting or surface-energy file that cannot be used; one line."""


@dataclass(frozen=True)
class Facet:
    """The converged surface energy of one facet.

    energy: γ of the thickest slab (J/m²); energy_ev: the same in eV/Å²; unrelaxed: γ of that slab
    before relaxation (J/m²); layers: its atomic layers; change: |γ| change from the slab one step
    thinner (J/m²); converged: change below the tolerance; thicknesses and energies: every slab's
    layers and γ (J/m²); termination: the top and bottom layer compositions."""

    facet: str
    energy: float
    energy_ev: float
    unrelaxed: float
    layers: int
    change: float
    converged: bool
    thicknesses: list[int]
    energies: list[float]
    termination: str


@dataclass(frozen=True)
class SurfaceEnergies:
    """Surface energies of a material with one calculator: lattice_constant (Å, cubic), bulk_energy
    (eV per atom), tolerance (J/m²), the facets by Miller string ("111", ...)."""

    material: str
    calculator: str
    lattice_constant: float
    bulk_energy: float
    tolerance: float
    relaxation: str
    facets: dict[str, Facet]

    def table(self) -> dict[str, float]:
        """Facet -> γ (J/m²): the table `shape = "wulff"` takes."""
        return {k: f.energy for k, f in self.facets.items()}


def parse_material(material: str) -> tuple[str, ...]:
    """(element,) for an fcc element, (A, B) for an L1₂ alloy A3B; SurfaceError otherwise."""
    m = re.fullmatch(r"([A-Z][a-z]?)(?:3([A-Z][a-z]?))?", material)
    names = [e for e in m.groups() if e] if m else []
    if not names or any(e not in atomic_numbers for e in names) or len(set(names)) != len(names):
        raise SurfaceError(f"material {material!r}: give an fcc element (Au) or an L1₂ alloy A3B (Cu3Au)")
    not_fcc = [e for e in names if (reference_states[atomic_numbers[e]] or {}).get("symmetry") != "fcc"]
    if not_fcc:
        raise SurfaceError(f"material {material!r}: {not_fcc[0]} is not fcc in ASE's reference data")
    return tuple(names)


def potential_calculator(potential: Potential, material: str) -> Calculator:
    """The nanomc ASE calculator of `potential` for slabs of `material`; SurfaceError if the potential
    lacks one of its elements, PotentialError if it is a relaxed-lattice potential (no forces)."""
    missing = [e for e in parse_material(material) if e not in potential.elements]
    if missing:
        raise SurfaceError(f"material {material!r}: the potential has no {missing[0]} (it has "
                           f"{', '.join(potential.elements)})")
    return Calculator(potential)


def _bulk_cell(names: Sequence[str], a: float) -> Atoms:
    """The bulk unit of γ's n·E_bulk: one fcc atom, or the cubic L1₂ cell A3B (B at the corner)."""
    if len(names) == 1:
        return bulk(names[0], "fcc", a=a)
    cell = bulk(names[0], "fcc", a=a, cubic=True)
    cell[0].symbol = names[1]
    return cell


def relaxed_bulk(names: Sequence[str], calculator: ASECalculator, guess: float) -> tuple[float, float]:
    """(lattice constant in Å, energy in eV per bulk unit) at the minimum of Birch–Murnaghan fits
    of E(V) of the bulk unit (two passes: ±5 % around `guess`, ±1 % around the first minimum)."""
    a = guess
    for strain in EOS_STRAINS:
        cell = _bulk_cell(names, a)
        cell.calc = calculator
        volume = cell.get_volume()
        try:
            v0, _, _ = calculate_eos(cell, npoints=7, eps=strain).fit()
        except ValueError as exc:   # ASE: "No minimum!"
            raise SurfaceError(f"the bulk energy of {''.join(names)} has no minimum within ±{strain:.0%} of a = "
                               f"{a:.3f} Å ({exc})") from None
        a *= (v0 / volume) ** (1 / 3)
    cell = _bulk_cell(names, a)
    cell.calc = calculator
    return a, float(cell.get_potential_energy())


def _slab_maker(names: Sequence[str], facet: str, a: float, size: int, vacuum: float) -> Callable[[int], Atoms]:
    """k -> the slab of k units: k layers of an element, k bulk repeats of an alloy."""
    if len(names) == 1:
        return lambda k: FCC_SLABS[facet](names[0], (size, size, k), a=a, vacuum=vacuum)

    def alloy(k: int) -> Atoms:
        slab = surface(_bulk_cell(names, a), WULFF_FACETS[facet], k, vacuum=vacuum) * (size, size, 1)
        slab.pbc = (True, True, False)
        return slab

    return alloy


def _layers(slab: Atoms) -> list[np.ndarray]:
    """Indices of the atoms of each atomic layer, from the bottom (a new layer after a gap in height > LAYER_GAP)."""
    z = slab.positions[:, 2]
    order = np.argsort(z, kind="stable")
    return np.split(order, np.flatnonzero(np.diff(z[order]) > LAYER_GAP) + 1)


def _composition(slab: Atoms, indices: np.ndarray) -> str:
    """The formula of the atoms `indices`, elements in alphabetical order (Au1Cu3)."""
    counts = Counter(slab.symbols[indices])
    return "".join(f"{s}{counts[s]}" for s in sorted(counts))


def slab_energy(slab: Atoms, calculator: ASECalculator, bulk_energy: float, bulk_atoms: int, fmax: float,
                steps: int) -> tuple[float, float]:
    """(relaxed γ, unrelaxed γ) in eV/Å² of `slab` (periodic in x and y, two faces), given the bulk's
    energy (eV) per unit of `bulk_atoms` atoms; relaxed with every atom free until forces < fmax (eV/Å)."""
    units, rest = divmod(len(slab), bulk_atoms)
    if rest:
        raise SurfaceError(f"a slab of {len(slab)} atoms is not a whole number of {bulk_atoms}-atom bulk units")
    area = float(np.linalg.norm(np.cross(slab.cell[0], slab.cell[1])))
    slab.calc = calculator
    unrelaxed = float(slab.get_potential_energy())
    if not BFGS(slab, logfile=None).run(fmax=fmax, steps=steps):
        raise SurfaceError(f"a {len(slab)}-atom slab did not relax to forces below {fmax} eV/Å in {steps} steps")
    return ((float(slab.get_potential_energy()) - units * bulk_energy) / (2 * area),
            (unrelaxed - units * bulk_energy) / (2 * area))


def surface_energies(material: str, calculator: ASECalculator, facets: Sequence[str] = ("111", "100", "110"),
                     tolerance: float = 0.005, min_layers: int = 4, max_layers: int = 12, size: int = 1,
                     vacuum: float = 8.0, fmax: float = 0.01, steps: int = 500, lattice_constant: float | None = None,
                     calculator_name: str | None = None) -> SurfaceEnergies:
    """Relaxed surface energies of `material` (an fcc element, or an L1₂ alloy such as "Cu3Au"),
    converged in slab thickness.

    calculator: any ASE calculator (nanomc.Calculator for a nanomc potential). Slabs of size × size
    surface cells with `vacuum` Å on each side grow from at least min_layers atomic layers, a layer (an
    alloy: a bulk repeat) at a time, until γ changes by less than `tolerance` J/m² or the next slab would
    exceed max_layers; the last slab's γ is reported, with `converged` telling which. lattice_constant:
    the starting guess of the bulk fit (Å; default ASE's reference values, Vegard's law for an alloy).
    """
    names = parse_material(material)
    unknown = [f for f in facets if f not in WULFF_FACETS]
    if unknown or not facets:
        raise SurfaceError(f"facet {unknown[0] if unknown else '(none)'!r}: choose among {', '.join(WULFF_FACETS)}")
    positive = {"tolerance": tolerance, "fmax": fmax, "vacuum": vacuum, "size": size, "min_layers": min_layers}
    bad = next((k for k, v in positive.items() if not v > 0), None)
    if bad:
        raise SurfaceError(f"{bad} must be positive, got {positive[bad]}")
    if max_layers <= min_layers:
        raise SurfaceError(f"max_layers ({max_layers}) must be above min_layers ({min_layers}): convergence "
                           "compares slabs of different thickness")
    guess = lattice_constant or vegard_lattice_constant(dict(zip(names, (3, 1))))
    a, e_bulk = relaxed_bulk(names, calculator, guess)
    bulk_atoms = len(_bulk_cell(names, a))
    results = {}
    for facet in facets:
        make = _slab_maker(names, facet, a, size, vacuum)
        thicknesses, gammas, unrelaxed, termination = [], [], 0.0, ""
        for k in itertools.count(1):
            slab = make(k)
            layers = _layers(slab)
            if len(layers) > max_layers:
                break
            if len(layers) < min_layers:
                continue
            termination = f"{_composition(slab, layers[-1])} / {_composition(slab, layers[0])}"
            gamma, unrelaxed = slab_energy(slab, calculator, e_bulk, bulk_atoms, fmax, steps)
            thicknesses.append(len(layers))
            gammas.append(gamma * J_PER_M2)
            if len(gammas) > 1 and abs(gammas[-1] - gammas[-2]) < tolerance:
                break
        if len(gammas) < 2:
            raise SurfaceError(f"({facet}): fewer than two slabs of {min_layers} to {max_layers} layers; "
                               "raise max_layers")
        change = abs(gammas[-1] - gammas[-2])
        results[facet] = Facet(facet, gammas[-1], gammas[-1] / J_PER_M2, unrelaxed * J_PER_M2, thicknesses[-1],
                               change, change < tolerance, thicknesses, gammas, termination)
    name = calculator_name or type(calculator).__name__
    return SurfaceEnergies(material, name, a, e_bulk / bulk_atoms, tolerance, RELAXATION, results)


def write_surface_file(path: str | Path, result: SurfaceEnergies) -> None:
    """Write `result` as a surface-energy file (JSON, format nanomc-surfaces): `surface_energies`
    (facet -> γ in J/m², what `shape = "wulff"` reads) and every detail of the calculation. The file is
    replaced only once complete; SurfaceError if it cannot be written."""
    data = {"format": FORMAT, "version": FORMAT_VERSION, "units": "J/m^2 (energy_ev: eV/Å^2; Å; eV/atom)",
            "surface_energies": result.table(), **asdict(result)}
    try:
        replace_text(path, json.dumps(data, indent=1, ensure_ascii=False) + "\n")
    except OSError as exc:
        raise SurfaceError(f"cannot write {path} ({exc.strerror or exc})") from None


def read_surface_file(path: str | Path) -> dict[str, float]:
    """The surface energies (facet -> γ in J/m²) of a file of `nanomc surfaces`; SurfaceError naming the
    file and the problem."""
    try:
        data = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise SurfaceError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SurfaceError(f"{path}: not a surface-energy file of `nanomc surfaces` ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise SurfaceError(f"{path}: not a surface-energy file of `nanomc surfaces` (no format {FORMAT!r})")
    if data.get("version") != FORMAT_VERSION:
        raise SurfaceError(f"{path}: version {data.get('version')!r} of {FORMAT}; this nanomc reads {FORMAT_VERSION}")
    table = data.get("surface_energies")
    if not isinstance(table, Mapping) or not table:
        raise SurfaceError(f"{path}: no `surface_energies` table")
    for facet, value in table.items():
        if facet not in WULFF_FACETS:
            raise SurfaceError(f"{path}: unknown facet {facet!r} (use {', '.join(WULFF_FACETS)})")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < np.inf:
            raise SurfaceError(f"{path}: surface energy of ({facet}) must be a positive number, got {value!r}")
    return {k: float(v) for k, v in table.items()}


def format_table(result: SurfaceEnergies) -> str:
    """The surface energies as a text table (J/m² and eV/Å², layers, convergence, terminations)."""
    lines = [f"{result.material} with {result.calculator}: a = {result.lattice_constant:.4f} Å, bulk "
             f"{result.bulk_energy:.4f} eV/atom; {result.relaxation}",
             f"{'facet':>6s} {'γ (J/m²)':>9s} {'γ (eV/Å²)':>10s} {'unrelaxed':>9s} {'layers':>6s} "
             f"{'change':>8s}  termination (top / bottom)"]
    for f in result.facets.values():
        mark = "" if f.converged else f"  NOT CONVERGED (tolerance {result.tolerance:g} J/m²)"
        lines.append(f"{f.facet:>6s} {f.energy:9.4f} {f.energy_ev:10.5f} {f.unrelaxed:9.4f} {f.layers:6d} "
                     f"{f.change:8.4f}  {f.termination}{mark}")
    return "\n".join(lines)
