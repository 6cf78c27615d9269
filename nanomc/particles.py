"""Particles: ase.cluster shapes by size or atom count, composition, swap groups, frozen atoms."""
from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
from ase import Atoms
from ase.cluster import Decahedron, Icosahedron, Octahedron, wulff_construction
from ase.data import atomic_numbers, reference_states

from .errors import NanomcError
from .mc.groups import SwapGroups


class ParticleError(NanomcError, ValueError):
    """A particle that cannot be built as described."""


SHAPES = ("octahedron", "truncated_octahedron", "cuboctahedron", "icosahedron", "decahedron", "wulff")

#: Wulff construction facets, as Miller-index strings in the parameter file
WULFF_FACETS = {"100": (1, 0, 0), "110": (1, 1, 0), "111": (1, 1, 1)}


def fcc_lattice_constant(element: str) -> float:
    """ASE's reference fcc lattice constant of `element` (Å); ParticleError if it is not fcc."""
    if element not in atomic_numbers:
        raise ParticleError(f"unknown element {element!r}")
    ref = reference_states[atomic_numbers[element]] or {}
    if ref.get("symmetry") != "fcc":
        raise ParticleError(f"{element} is not fcc in ASE's reference data; give particle.lattice_constant")
    return float(ref["a"])


def vegard_lattice_constant(composition: Mapping[str, float]) -> float:
    """Composition-weighted mean of the elements' fcc lattice constants (Å), Vegard's law."""
    total = sum(composition.values())
    return sum(f * fcc_lattice_constant(e) for e, f in composition.items()) / total


def cluster_shape(shape: str, host: str, lattice_constant: float, size: int,
                  surface_energies: Mapping[str, float] | None = None) -> Atoms:
    """An fcc cluster of `host` atoms (lattice constant in Å) of one shape and size parameter.

    size: octahedra — atoms along an edge; icosahedron — shells; decahedron — atoms along the
    (100) facet edges (p = q = size, no re-entrance); wulff — target number of atoms.
    """
    a = lattice_constant
    if shape == "octahedron":
        return Octahedron(host, size, 0, latticeconstant=a)
    if shape == "truncated_octahedron":
        return Octahedron(host, size, (size - 1) // 3, latticeconstant=a)
    if shape == "cuboctahedron":
        if size % 2 == 0:
            raise ParticleError(f"a cuboctahedron needs an odd edge length, got size = {size}")
        return Octahedron(host, size, (size - 1) // 2, latticeconstant=a)
    if shape == "icosahedron":
        return Icosahedron(host, size, latticeconstant=a)
    if shape == "decahedron":
        return Decahedron(host, size, size, 0, latticeconstant=a)
    if shape == "wulff":
        energies = surface_energies or {"100": 1.0, "111": 0.9, "110": 1.1}
        unknown = set(energies) - set(WULFF_FACETS)
        if unknown:
            raise ParticleError(f"surface_energies: unknown facet {sorted(unknown)[0]!r} (use 100, 110, 111)")
        return wulff_construction(host, [WULFF_FACETS[k] for k in energies], list(energies.values()),
                                  size, "fcc", rounding="closest", latticeconstant=a)
    raise ParticleError(f"unknown shape {shape!r}; choose one of {', '.join(SHAPES)} or give a file")


def size_for_atom_count(shape: str, host: str, lattice_constant: float, n_atoms: int,
                        surface_energies: Mapping[str, float] | None = None) -> int:
    """The size parameter whose cluster has the atom count closest to n_atoms."""
    if shape == "wulff":
        return n_atoms
    best, best_diff = None, None
    start, step = (3, 2) if shape == "cuboctahedron" else (1 if shape == "icosahedron" else 2, 1)
    size = start
    while True:
        count = len(cluster_shape(shape, host, lattice_constant, size))
        if best_diff is None or abs(count - n_atoms) < best_diff:
            best, best_diff = size, abs(count - n_atoms)
        if count > n_atoms:
            return best
        size += step


def read_structure(path: str | Path) -> Atoms:
    """Any ASE-readable structure file (xyz, extxyz, XSF, CIF, ...); its last frame."""
    return read_frames(path)[-1]


def read_frames(path: str | Path) -> list[Atoms]:
    """Every frame of an ASE-readable structure file; ParticleError if missing or unreadable."""
    from ase.io import read

    path = Path(path)
    if not path.is_file():
        raise ParticleError(f"{path}: structure file not found")
    try:
        frames = read(path, ":")
    except Exception as exc:  # ASE raises many kinds for unreadable files
        raise ParticleError(f"{path}: cannot read the structure ({type(exc).__name__}: {exc})") from None
    if not frames:
        raise ParticleError(f"{path}: the file holds no structure")
    return frames


def write_frames(path: str | Path, frames: Sequence[Atoms]) -> None:
    """Write structures as extxyz; the file is replaced only once complete. ParticleError with
    one line if it cannot be written."""
    from ase.io import write

    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    try:
        write(tmp, list(frames), format="extxyz")
        tmp.replace(path)
    except OSError as exc:
        raise ParticleError(f"cannot write {path} ({exc.strerror or exc})") from None


def make_groups(atoms: Atoms, elements: Sequence[str], group_elements: Sequence[Sequence[str]],
                frozen: np.ndarray) -> SwapGroups:
    """Swap groups: a site belongs to the group listing its initial element, unless frozen.

    elements: the potential's element order; group_elements: element symbols per group.
    Sites whose element is in no group are frozen.
    """
    index = {e: k for k, e in enumerate(elements)}
    seen: dict[str, int] = {}
    for g, members in enumerate(group_elements):
        for e in members:
            if e not in index:
                raise ParticleError(f"swap group lists {e}, which the potential does not know ({', '.join(elements)})")
            if e in seen:
                raise ParticleError(f"element {e} is in two swap groups")
            seen[e] = g
    symbols = atoms.get_chemical_symbols()
    group = np.array([seen.get(s, -1) for s in symbols], dtype=np.int64)
    group[frozen] = -1
    return SwapGroups(group, [[index[e] for e in members] for members in group_elements])


def occupy(atoms: Atoms, groups: SwapGroups, elements: Sequence[str], composition: Mapping[str, float],
           rng: np.random.Generator) -> Atoms:
    """Random occupation: in each group, fraction f of the movable sites gets element e.

    Fractions of the elements of one group must not exceed 1 together; sites not assigned
    keep their current element. Returns a new Atoms.
    """
    atoms = atoms.copy()
    symbols = np.array(atoms.get_chemical_symbols(), dtype=object)
    index = {e: k for k, e in enumerate(elements)}
    for e, f in composition.items():
        if e not in index:
            raise ParticleError(f"composition names {e}, which the potential does not know ({', '.join(elements)})")
        if not 0.0 <= f <= 1.0:
            raise ParticleError(f"composition of {e} must be a fraction between 0 and 1, got {f}")
        if not any(index[e] in allowed for allowed in groups.allowed):
            raise ParticleError(f"composition names {e}, but no swap group allows it")
    for g, allowed in enumerate(groups.allowed):
        sites = groups.movable[groups.group[groups.movable] == g]
        wanted = {elements[k]: composition[elements[k]] for k in allowed if elements[k] in composition}
        if not wanted:
            continue
        if sum(wanted.values()) > 1.0 + 1e-9:
            raise ParticleError(f"composition fractions of {', '.join(wanted)} add up to {sum(wanted.values()):.3f} > 1")
        counts = {e: int(round(f * len(sites))) for e, f in wanted.items()}
        if sum(wanted.values()) > 1.0 - 1e-9:  # fractions fill the group: fix rounding on the largest
            largest = max(counts, key=lambda e: wanted[e])
            counts[largest] += len(sites) - sum(counts.values())
        if sum(counts.values()) > len(sites) or min(counts.values()) < 0:
            raise ParticleError(f"composition {wanted} does not fit the {len(sites)} sites of the swap group")
        order = rng.permutation(sites)
        start = 0
        for e, n in counts.items():
            symbols[order[start:start + n]] = e
            start += n
    atoms.set_chemical_symbols(list(symbols))
    return atoms
