"""Particles: ase.cluster shapes by size or atom count, composition, swap groups, frozen atoms."""
from __future__ import annotations

from numbers import Integral
from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np
from ase import Atoms
from ase.cluster import Decahedron, FaceCenteredCubic, Icosahedron, Octahedron, wulff_construction
from ase.data import atomic_numbers, reference_states

from .errors import NanomcError
from .mc.groups import SwapGroups
from .structure import VACANCY


class ParticleError(NanomcError, ValueError):
    """A particle that cannot be built as described; `key` names the [particle] key at fault, if known."""

    def __init__(self, message: str, key: str | None = None) -> None:
        super().__init__(message)
        self.key = key


class ParticleWarning(UserWarning):
    """A particle built other than asked, e.g. far from the requested number of atoms."""


SHAPES = ("octahedron", "truncated_octahedron", "cuboctahedron", "cube", "icosahedron", "decahedron", "wulff")
#: fractions of a swap group that lists all its elements add up to 1 within this (rounded fractions: 0.333, 0.667)
FRACTION_TOLERANCE = 1e-3


#: sublattice labels of a particle with several sublattices, per site in atoms.arrays[SUBLATTICE]
CATION, ANION = 0, 1
SUBLATTICE = "sublattice"

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
    if shape == "cube":
        return FaceCenteredCubic(host, [(1, 0, 0)], [size], latticeconstant=a)
    if shape == "icosahedron":
        return Icosahedron(host, size, latticeconstant=a)
    if shape == "decahedron":
        return Decahedron(host, size, size, 0, latticeconstant=a)
    if shape == "wulff":
        energies = surface_energies or {"100": 1.0, "111": 0.9, "110": 1.1}
        unknown = set(energies) - set(WULFF_FACETS)
        if unknown:
            raise ParticleError(f"surface_energies: unknown facet {sorted(unknown)[0]!r} (use 100, 110, 111)",
                                key="surface_energies")
        return wulff_construction(host, [WULFF_FACETS[k] for k in energies], list(energies.values()),
                                  size, "fcc", rounding="closest", latticeconstant=a)
    raise ParticleError(f"unknown shape {shape!r}; choose one of {', '.join(SHAPES)} or give a file", key="shape")


def shape_atom_count(shape: str, size: int) -> int:
    """The number of atoms of cluster_shape(shape, ..., size), without building it (wulff: the size, which the
    construction gets as close to as it can)."""
    if shape in ("icosahedron", "decahedron"):      # a decahedron of p = q = size has an icosahedron's count
        return (10 * size**3 - 15 * size**2 + 11 * size - 3) // 3
    if shape == "cube":
        return ((2 * size + 1) ** 3 + (-1) ** size) // 2
    if shape == "wulff":
        return size
    cut = {"octahedron": 0, "truncated_octahedron": (size - 1) // 3, "cuboctahedron": (size - 1) // 2}[shape]
    return (2 * size**3 + size) // 3 - cut * (cut + 1) * (2 * cut + 1)    # an octahedron less six corners


def size_for_atom_count(shape: str, host: str, lattice_constant: float, n_atoms: int,
                        surface_energies: Mapping[str, float] | None = None) -> int:
    """The size parameter whose cluster has the atom count closest to n_atoms."""
    if shape == "wulff":
        return n_atoms
    return size_for_count(shape, n_atoms, lambda size: len(cluster_shape(shape, host, lattice_constant, size,
                                                                          surface_energies)))


def size_for_count(shape: str, target: int, count: Callable[[int], int]) -> int:
    """The size parameter of `shape` (not wulff) whose count(size) is closest to target (smaller on ties)."""
    best, best_diff = None, None
    start, step = (3, 2) if shape == "cuboctahedron" else (1 if shape in ("icosahedron", "cube") else 2, 1)
    size = start
    while True:
        n = count(size)
        if best_diff is None or abs(n - target) < best_diff:
            best, best_diff = size, abs(n - target)
        if n > target:
            return best
        size += step


def read_structure(path: str | Path) -> Atoms:
    """Any ASE-readable structure file (xyz, extxyz, XSF, CIF, ...); its last frame."""
    return read_frames(path)[-1]


#: compressed structure files (their inner format from the rest of the name, e.g. labels.extxyz.gz)
DECOMPRESSORS = {".gz": "gzip", ".bz2": "bz2", ".xz": "lzma"}


def read_all_frames(path: Path) -> list[Atoms]:
    """Every frame of a file ASE reads, this process alone (no MPI broadcast). A compressed file is
    decompressed into memory first: ASE's extxyz reader seeks back to each frame, which on a
    compressed stream decompresses it from the start again and again."""
    import importlib
    import io

    from ase.io import read
    from ase.io.formats import filetype

    if path.suffix in DECOMPRESSORS:
        with importlib.import_module(DECOMPRESSORS[path.suffix]).open(path, "rt") as f:
            text = io.StringIO(f.read())
        inner = Path(path.stem)
        fmt = "extxyz" if inner.suffix in (".xyz", ".extxyz") else None
        return read(text, ":", format=fmt or filetype(inner, read=False), parallel=False)
    return read(path, ":", parallel=False)


def read_frames(path: str | Path) -> list[Atoms]:
    """Every frame of an ASE-readable structure file (also compressed: .gz, .bz2, .xz); ParticleError
    if missing or unreadable."""
    path = Path(path)
    if not path.is_file():
        raise ParticleError(f"{path}: structure file not found")
    try:
        frames = read_all_frames(path)
    except Exception as exc:  # ASE raises many kinds for unreadable files
        raise ParticleError(f"{path}: cannot read the structure ({type(exc).__name__}: {exc})") from None
    if not frames:
        raise ParticleError(f"{path}: the file holds no structure")
    return frames


def write_frames(path: str | Path, frames: Sequence[Atoms]) -> None:
    """Write structures as extxyz; the file is replaced only once complete. ParticleError with
    one line if it cannot be written. Every process that calls it writes (not only MPI rank 0, as
    ASE would by default: a scan's point runs on a group of ranks whose first may not be rank 0)."""
    from ase.io import write

    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    try:
        write(tmp, list(frames), format="extxyz", parallel=False)
        tmp.replace(path)
    except OSError as exc:
        raise ParticleError(f"cannot write {path} ({exc.strerror or exc})") from None


def sublattice_labels(atoms: Atoms) -> np.ndarray:
    """Per-site sublattice label (atoms.arrays["sublattice"]; all 0 for a particle without one)."""
    labels = atoms.arrays.get(SUBLATTICE)
    return np.zeros(len(atoms), np.int64) if labels is None else np.asarray(labels, dtype=np.int64)


def default_groups(atoms: Atoms, composition: Mapping[str, float], include_present: bool = True) -> list[list[str]]:
    """Default swap groups: one per sublattice, of the elements on it (if include_present) and the
    `composition` elements that go there; one-element groups are left out (frozen) unless no
    other group is left.

    A composition element goes to the sublattice where it already sits; a vacancy (X) not yet
    present goes to the anion sublattice if there is one; any other new element to sublattice 0.
    """
    labels = sublattice_labels(atoms)
    symbols = np.array(atoms.get_chemical_symbols(), dtype=object)
    home = {s: int(labels[symbols == s][0]) for s in dict.fromkeys(symbols)}
    new_vacancy = ANION if np.any(labels == ANION) else 0
    groups = []
    for label in np.unique(labels):
        members = list(dict.fromkeys(symbols[labels == label])) if include_present else []
        members += [e for e in composition
                    if home.get(e, new_vacancy if e == VACANCY else 0) == label and e not in members]
        if members:
            groups.append(members)
    return [g for g in groups if len(g) > 1] or groups


def vacancy_group_problem(members: Sequence[str]) -> str | None:
    """Why a swap group may not list these elements, as one line, or None: a vacancy (X) shares
    a group with exactly one element, the one it replaces."""
    others = sorted(set(members) - {VACANCY})
    if VACANCY not in members or len(others) == 1:
        return None
    return (f"swap group {list(members)} puts X (vacancies) with {len(others)} elements; X may share a group "
            f"with exactly one element, the one it replaces, e.g. [\"O\", \"X\"]")


def element_summary(symbols: np.ndarray) -> str:
    """'Ce 405, Cu 54, O 834': how many atoms of each element a particle has."""
    return ", ".join(f"{e} {n}" for e, n in zip(*np.unique(symbols, return_counts=True)))


def make_groups(atoms: Atoms, elements: Sequence[str], group_elements: Sequence[Sequence[str]],
                frozen: np.ndarray) -> SwapGroups:
    """Swap groups: a site belongs to the group listing its initial element, unless frozen.

    elements: the element names of the run (the potential's order, then X); group_elements:
    element symbols per group. Sites whose element is in no group are frozen. A group with a
    vacancy (X) holds exactly one other element; a group may span one sublattice only, and X may
    join only the anion sublattice of a particle that has one.
    """
    index = {e: k for k, e in enumerate(elements)}
    seen: dict[str, int] = {}
    for g, members in enumerate(group_elements):
        for e in members:
            if e not in index:
                raise ParticleError(f"swap group lists {e}, which the potential does not know "
                                    f"({', '.join(elements)})", key="swap_groups")
            if e in seen:
                raise ParticleError(f"element {e} is in two swap groups", key="swap_groups")
            seen[e] = g
        problem = vacancy_group_problem(members)
        if problem:
            raise ParticleError(problem, key="swap_groups")
    symbols = atoms.get_chemical_symbols()
    group = np.array([seen.get(s, -1) for s in symbols], dtype=np.int64)
    group[frozen] = -1
    if SUBLATTICE in atoms.arrays:
        labels = sublattice_labels(atoms)
        for g, members in enumerate(group_elements):
            on = set(labels[group == g].tolist())
            if len(on) > 1:
                raise ParticleError(f"swap group ({', '.join(members)}) spans the cation and anion sublattices; "
                                    f"list cations and anions in separate groups", key="swap_groups")
            if VACANCY in members and on and on != {ANION}:
                raise ParticleError(f"swap group ({', '.join(members)}) puts vacancies (X) on the cation "
                                    f"sublattice; X belongs with the anions", key="swap_groups")
    return SwapGroups(group, [[index[e] for e in members] for members in group_elements])


def _group_sites(groups: SwapGroups, g: int) -> np.ndarray:
    return groups.movable[groups.group[groups.movable] == g]


def _site_summary(groups: SwapGroups, elements: Sequence[str]) -> str:
    """'Ce/Cu 459 sites, O/X 918 sites': the movable sites of every swap group."""
    return ", ".join(f"{'/'.join(elements[k] for k in allowed)} {len(_group_sites(groups, g))} sites"
                     for g, allowed in enumerate(groups.allowed))


def group_counts(wanted: Mapping[str, float], n_sites: int, fills: bool, summary: str) -> dict[str, int]:
    """Atoms per element on one swap group of n_sites movable sites.

    wanted: per element an integer count ≥ 0 or a float fraction 0–1 of the sites (not both kinds);
    fills: every element the group allows is listed, so the counts must add up to n_sites and the fractions
    to 1 (within FRACTION_TOLERANCE); otherwise an element not listed (a host) keeps the sites left over.
    summary: the site counts of all groups, quoted when counts do not fit.
    """
    fractions = [e for e, v in wanted.items() if not isinstance(v, Integral)]
    counts_given = [e for e, v in wanted.items() if isinstance(v, Integral) and (v != 0 or not fractions)]
    if counts_given and fractions:
        c, f = counts_given[0], fractions[0]
        raise ParticleError(f"composition mixes a count ({c} = {wanted[c]}) and a fraction ({f} = {wanted[f]}) "
                            f"on one sublattice; give integer counts or fractions (0-1) for all of its elements",
                            key="composition")
    if counts_given:
        counts = {e: int(n) for e, n in wanted.items()}
        total = sum(counts.values())
        if total > n_sites or (fills and total != n_sites):
            listed = " + ".join(f"{e} {n}" for e, n in counts.items())
            raise ParticleError(f"composition counts {listed} = {total} do not fit a swap group of {n_sites} sites "
                                f"(the particle has {summary})", key="composition")
        return counts
    total = sum(wanted.values())
    if total > 1.0 + FRACTION_TOLERANCE:
        raise ParticleError(f"composition fractions of {', '.join(wanted)} add up to {total:.3f} > 1",
                            key="composition")
    if fills and total < 1.0 - FRACTION_TOLERANCE:
        raise ParticleError(f"`composition` fractions of {', '.join(wanted)} add up to {total:.3f}, not 1, but they "
                            f"are every element of their swap group, so no element takes the rest; give fractions "
                            f"that add up to 1 (or counts)", key="composition")
    counts = {e: int(round(f * n_sites)) for e, f in wanted.items()}
    if total >= 1.0 - FRACTION_TOLERANCE:  # fractions fill the group: fix rounding on the largest
        largest = max(counts, key=lambda e: wanted[e])
        counts[largest] += n_sites - sum(counts.values())
    lost = [e for e, f in wanted.items() if f > 0 and counts[e] == 0]
    if lost or sum(counts.values()) > n_sites or min(counts.values()) < 0:
        listed = ", ".join(f"{e} {n}" for e, n in counts.items())
        reason = f"leaves no {lost[0]} atom" if lost else "does not fit"
        raise ParticleError(f"composition {', '.join(f'{e} = {f}' for e, f in wanted.items())} on {n_sites} sites "
                            f"rounds to {listed}, which {reason}; give counts or other fractions", key="composition")
    return counts


def occupy(atoms: Atoms, groups: SwapGroups, elements: Sequence[str], composition: Mapping[str, float],
           rng: np.random.Generator) -> Atoms:
    """Random occupation: in each group, element e gets a count (integer) or a fraction (float) of
    the group's movable sites (see group_counts).

    Sites not assigned keep their current element. Returns a new Atoms.
    """
    atoms = atoms.copy()
    symbols = np.array(atoms.get_chemical_symbols(), dtype=object)
    index = {e: k for k, e in enumerate(elements)}
    for e, value in composition.items():
        if isinstance(value, Integral) and value < 0:
            raise ParticleError(f"composition: the count of {e} must not be negative, got {value}", key="composition")
        if not isinstance(value, Integral) and not 0.0 <= value <= 1.0:
            raise ParticleError(f"composition of {e} must be a fraction between 0 and 1 or an integer count, "
                                f"got {value}", key="composition")
        if e not in index:
            raise ParticleError(f"composition names {e}, which the potential does not know ({', '.join(elements)})",
                                key="composition")
        if not any(index[e] in allowed for allowed in groups.allowed):
            raise ParticleError(f"composition names {e}, but no swap group allows it", key="composition")
    summary = _site_summary(groups, elements)
    wanted = [{elements[k]: composition[elements[k]] for k in allowed if elements[k] in composition}
              for allowed in groups.allowed]
    empty = next((g for g, w in enumerate(wanted) if any(w.values()) and not len(_group_sites(groups, g))), None)
    if empty is not None:       # said first: no counts or fractions can fix it
        raise ParticleError(f"composition asks for {', '.join(wanted[empty])}, but swap group "
                            f"{'/'.join(elements[k] for k in groups.allowed[empty])} has no movable site: a site joins "
                            f"the group of its initial element unless frozen (particle {element_summary(symbols)})",
                            key="composition")
    for g, allowed in enumerate(groups.allowed):
        if not wanted[g]:
            continue
        sites = _group_sites(groups, g)
        counts = group_counts(wanted[g], len(sites), len(wanted[g]) == len(allowed), summary)
        order = rng.permutation(sites)
        start = 0
        for e, n in counts.items():
            symbols[order[start:start + n]] = e
            start += n
    atoms.set_chemical_symbols(list(symbols))
    return atoms


def check_moves(atoms: Atoms, groups: SwapGroups, elements: Sequence[str], flips: bool) -> None:
    """ParticleError naming the counts if no move is possible.

    Swaps (flips False) need a group with two different elements on its movable sites;
    flips need a group that allows two elements and has a movable site.
    """
    symbols = np.array(atoms.get_chemical_symbols(), dtype=object)
    held = [dict(zip(*np.unique(symbols[_group_sites(groups, g)], return_counts=True)))
            for g in range(len(groups.allowed))]
    if any((len(allowed) > 1 and held[g]) if flips else len(held[g]) > 1 for g, allowed in enumerate(groups.allowed)):
        return
    whole = element_summary(symbols)
    if not groups.movable.size:
        raise ParticleError(f"no possible move: every site of the particle ({whole}) is frozen or in no "
                            f"swap group", key="swap_groups")
    per_group = "; ".join(f"group {'/'.join(elements[k] for k in allowed)}: "
                          + (", ".join(f"{e} {int(n)}" for e, n in held[g].items()) or "no sites")
                          for g, allowed in enumerate(groups.allowed))
    need = "allows two elements" if flips else "holds two different elements"
    raise ParticleError(f"no possible move: no swap group {need} ({per_group}; particle {whole})", key="swap_groups")
