"""Fluorite-oxide particles (CeO2, ThO2, UO2, ...): cations on an fcc sublattice, anions on the
simple-cubic sublattice of its tetrahedral holes, every site labelled cation or anion.

The cation particle is an ase.cluster shape (particles.cluster_shape) with the oxide's lattice
constant. Anion sites: every anion lattice site with at least three cation neighbours (so
{111} facets are anion-terminated and every anion is bulk- or {111}-surface-like), then
two-coordinated sites ({100}, {110} facets and edges; nearest the centre first) until there
are two anion sites per cation or none are left. One-coordinated sites are never used.
"""
from __future__ import annotations

import re
from typing import Mapping

import numpy as np
from ase import Atoms
from ase.data import atomic_numbers

from .particles import ANION, CATION, SUBLATTICE, ParticleError, cluster_shape, size_for_count

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

