"""Fluorite-oxide particles (CeO2, ThO2, UO2, ...): cations on an fcc sublattice, anions on the
simple-cubic sublattice of its tetrahedral holes, every site labelled cation or anion.

The cation particle is an ase.cluster shape (particles.cluster_shape) with the oxide's lattice
constant. Anion sites: every anion lattice site with at least three cation neighbours (so
{111} facets are anion-terminated and every anion is bulk- or {111}-surface-like), then
two-coordinated sites ({100}, {110} facets and edges; nearest the centre first) until there
are two anion sites per cation or none are left. One-coordinated sites are never used.

`build_shape` builds the particle of a [particle] table's shape, fcc metal or fluorite oxide
(what a campaign's set-up, nanomc.campaign.setup, builds).
"""
from __future__ import annotations

import re
import warnings
from typing import Callable, Mapping, Sequence

import numpy as np
from ase import Atoms
from ase.data import atomic_numbers

from .particles import (ANION, CATION, SUBLATTICE, ParticleError, ParticleWarning, cluster_shape, shape_atom_count,
                        size_for_atom_count, size_for_count, sublattice_labels, vegard_lattice_constant)
from .structure import VACANCY

#: shapes a fluorite particle can take (the cation particle's fcc shape)
FLUORITE_SHAPES = ("octahedron", "truncated_octahedron", "cuboctahedron", "cube", "wulff")

#: room-temperature cubic lattice constants (Å).
#: CeO2, ThO2: R. W. G. Wyckoff, Crystal Structures, vol. 1, 2nd ed. (Interscience, 1963), CaF2 type.
#: UO2: S. Leinders et al., J. Nucl. Mater. 459 (2015) 135 (stoichiometric UO2.000, 20 °C).
LATTICE_CONSTANTS = {"CeO2": 5.411, "ThO2": 5.5997, "UO2": 5.4713}

#: default Wulff surface energies (relative): the order DFT+U finds for CeO2, {111} < {110} < {100}
FLUORITE_SURFACE_ENERGIES = {"111": 0.7, "110": 1.0, "100": 1.4}


def parse_oxide(formula: str) -> tuple[str, str]:
    """(cation, anion) of a fluorite formula MX2 such as CeO2; ParticleError otherwise."""
    m = re.fullmatch(r"([A-Z][a-z]?)([A-Z][a-z]?)2", formula)
    if not m or not all(e in atomic_numbers and e != "X" for e in m.groups()):
        raise ParticleError(f"oxide = {formula!r} is not a fluorite formula MO2 such as CeO2", key="oxide")
    return m.group(1), m.group(2)


def oxide_lattice_constant(formula: str) -> float:
    """Lattice constant (Å) of a fluorite oxide from LATTICE_CONSTANTS; ParticleError if unknown."""
    if formula not in LATTICE_CONSTANTS:
        known = ", ".join(f"{k} {v}" for k, v in LATTICE_CONSTANTS.items())
        raise ParticleError(f"no lattice constant known for {formula} (known: {known} Å); "
                            f"give `lattice_constant` (Å) in [particle]", key="oxide")
    return LATTICE_CONSTANTS[formula]


def _lattice_coordinates(positions: np.ndarray, a: float) -> np.ndarray:
    """Integer coordinates in units of a/4 of fcc cation positions (all even, sum divisible by 4)."""
    scaled = (positions - positions[0]) / (a / 4.0)
    grid = np.rint(scaled).astype(np.int64)
    if np.abs(scaled - grid).max() > 1e-6 or np.any(grid % 2) or np.any(grid.sum(axis=1) % 4):
        raise ParticleError("the cation positions are not an fcc lattice with this lattice constant")
    return grid


def anion_sites(cations: np.ndarray, a: float) -> tuple[np.ndarray, np.ndarray]:
    """Anion positions (Å) for fcc cation positions and their cation coordination (module docstring rule).

    a: the fluorite lattice constant (Å); anions sit at a·(±¼, ±¼, ±¼) from cations.
    Two-coordinated sites are taken nearest the centre first; of the shell that is only partly
    needed, each next site is the one least repelled (Σ 1/r) by the two-coordinated sites taken
    so far, so a partly filled facet layer is spread evenly (deterministic, no random numbers).
    """
    cations = np.asarray(cations, dtype=float)
    grid = _lattice_coordinates(cations, a)
    offsets = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)])
    sites, coordination = np.unique((grid[:, None, :] + offsets).reshape(-1, 3), axis=0, return_counts=True)
    positions = cations[0] + sites * (a / 4.0)
    keep = list(np.flatnonzero(coordination >= 3))
    two = np.flatnonzero(coordination == 2)
    need = min(2 * len(cations) - len(keep), len(two))
    if need > 0:
        shell = np.round(np.linalg.norm(positions[two] - cations.mean(axis=0), axis=1), 6)
        taken = [int(i) for i in two[shell < np.sort(shell)[need - 1]]]
        last = two[shell == np.sort(shell)[need - 1]]
        keep += taken + _spread(positions, last, taken, need - len(taken))
    keep = np.sort(np.array(keep, dtype=np.int64))
    return positions[keep], coordination[keep]


def _spread(positions: np.ndarray, candidates: np.ndarray, taken: list[int], k: int) -> list[int]:
    """k of the candidate sites, one at a time: the one with the least Coulomb-like repulsion
    Σ 1/r from the sites taken so far (first on ties)."""
    repulsion = np.zeros(len(candidates))
    free = np.ones(len(candidates), bool)

    def add(i: int) -> None:
        r = np.linalg.norm(positions[candidates] - positions[i], axis=1)
        repulsion[r > 0] += 1.0 / r[r > 0]

    for i in taken:
        add(i)
    picked: list[int] = []
    for _ in range(k):
        best = int(np.argmin(np.where(free, np.round(repulsion, 9), np.inf)))
        free[best] = False
        picked.append(int(candidates[best]))
        add(picked[-1])
    return picked


def fluorite_particle(formula: str, shape: str, lattice_constant: float, size: int,
                      surface_energies: Mapping[str, float] | None = None) -> Atoms:
    """A fluorite particle: cations (an fcc `shape` of `size`, see cluster_shape) then anion sites.

    lattice_constant: the oxide's cubic lattice constant (Å). Sites are labelled in
    atoms.arrays["sublattice"] (CATION 0, ANION 1).
    """
    cation, anion = parse_oxide(formula)
    if shape not in FLUORITE_SHAPES:
        raise ParticleError(f"shape = {shape!r} cannot be a fluorite particle; choose one of "
                            f"{', '.join(FLUORITE_SHAPES)}", key="shape")
    energies = surface_energies or FLUORITE_SURFACE_ENERGIES
    metal = cluster_shape(shape, cation, lattice_constant, size, energies)
    anions, _ = anion_sites(metal.positions, lattice_constant)
    atoms = Atoms([cation] * len(metal) + [anion] * len(anions),
                  positions=np.vstack([metal.positions, anions]), cell=metal.cell, pbc=False)
    atoms.arrays[SUBLATTICE] = np.repeat([CATION, ANION], [len(metal), len(anions)]).astype(np.int64)
    return atoms


def fluorite_size(formula: str, shape: str, lattice_constant: float, target: int, per: str,
                  surface_energies: Mapping[str, float] | None = None) -> int:
    """The size parameter whose particle has the number of `per` ("cations" or "atoms") closest to target.

    wulff: the size is the cation count itself (a third of the atoms for per = "atoms").
    """
    if shape == "wulff":
        return target if per == "cations" else max(1, round(target / 3))

    def count(size: int) -> int:
        if per == "cations":
            return len(cluster_shape(shape, parse_oxide(formula)[0], lattice_constant, size))
        return len(fluorite_particle(formula, shape, lattice_constant, size, surface_energies))

    return size_for_count(shape, target, count)


#: a built particle whose count differs from the `atoms` or `cations` asked for by more than this fraction
#: is warned about
FAR_FROM_ASKED = 0.1


def check_elements(p: Mapping, elements: Sequence[str]) -> None:
    """ParticleError at the first element of [particle] `oxide`, `host` or `composition` (table p) that is not
    one of the potential's `elements` (before a lattice constant is looked up for it)."""
    known = ", ".join(elements)
    for element in parse_oxide(p["oxide"]) if p["oxide"] else ():
        if element not in elements:
            raise ParticleError(f"oxide = {p['oxide']!r} needs {element}, which the potential does not know ({known})",
                                key="oxide")
    named = [("host", p["host"])] if p["host"] else []
    for key, element in named + [("composition", e) for e in p["composition"] or {} if e != VACANCY]:
        if element not in elements:
            raise ParticleError(f"`{key}` names {element}, which the potential does not know ({known})", key=key)


def build_shape(p: Mapping, check: Callable[[int, float, str], None] | None = None) -> Atoms:
    """The particle of a built shape of [particle] table p: an fcc metal of `host`, or a fluorite `oxide`
    (cations, then anion sites); by `size`, `atoms` or `cations`. Before it is built, check(sites, density,
    key), when given, may refuse it (the campaign's memory check): about `sites` sites, `density` sites per Å³
    of the lattice, `key` the one of `size`, `atoms`, `cations` that sets the size. A ParticleWarning when it is
    more than FAR_FROM_ASKED away from the `atoms` or `cations` asked for."""
    oxide, shape, energies = p["oxide"], p["shape"], p["surface_energies"]
    a = p["lattice_constant"] or (oxide_lattice_constant(oxide) if oxide else vegard_lattice_constant(p["composition"]))
    key = next(k for k in ("size", "atoms", "cations") if p[k] is not None)
    cell_sites, per_cation = (12, 3) if oxide else (4, 1)       # sites per cubic cell a³, sites per cation
    if key == "atoms":
        sites = p["atoms"]
    else:
        sites = per_cation * (p["cations"] if key == "cations" else shape_atom_count(shape, p["size"]))
    if check is not None:
        check(sites, cell_sites / a**3, key)
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
