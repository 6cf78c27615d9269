"""Site geometry of a particle: neighbour shells, surface, layers, surface site types, radial shells.

Everything here depends on positions only (never on which element sits where), so it is
computed once per particle. Neighbour shells come from the histogram of interatomic
distances: sorted distances are split wherever consecutive ones differ by more than
`gap`·d_min; the first shell holds the pairs closer than the midpoint between the first and
second shell distances, the second shell those up to the midpoint between the second and third.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from ase import Atoms
from scipy import sparse
from scipy.sparse.csgraph import dijkstra

from ..structure import build_neighbor_list, nearest_distance
from .errors import AnalysisError

#: fcc surface site types by coordination number
FCC_SITE_TYPES = {6: "vertex", 7: "edge", 8: "(100)", 9: "(111)"}
FCC_BULK_COORDINATION = 12
#: a structure is fcc-like when its first-shell distances spread less than this (relative)
#: and its second-to-first shell distance ratio is within this of √2
FCC_TOLERANCE = 0.03


@dataclass(frozen=True)
class Labels:
    """A partition of sites into named categories: index[i] is the category of site i (−1: none)."""

    index: np.ndarray
    names: list[str]

    @classmethod
    def single(cls, n_sites: int, name: str = "all") -> "Labels":
        """One category holding all n_sites sites."""
        return cls(np.zeros(n_sites, int), [name])

    def sizes(self, sites: np.ndarray | None = None) -> np.ndarray:
        """Number of sites per category (only `sites`, a boolean mask, if given)."""
        index = self.index if sites is None else self.index[sites]
        return np.bincount(index[index >= 0], minlength=len(self.names))


@dataclass
class Shells:
    """Neighbour shells of a set of sites.

    distances: the first three shell distances (Å); cutoffs: first shell d < cutoffs[0],
    second shell cutoffs[0] ≤ d < cutoffs[1] (Å); first, second: (N, N) sparse matrices
    counting the bonds of each shell; spread: relative width (max − min)/median of the
    first-shell distances.
    """

    distances: np.ndarray
    cutoffs: tuple[float, float]
    first: sparse.csr_matrix
    second: sparse.csr_matrix
    spread: float

    @property
    def n_sites(self) -> int:
        """Number of sites the shells were computed for."""
        return self.first.shape[0]


@dataclass
class SiteGeometry:
    """Geometry of every site of a particle (frozen sites included).

    coordination: first-shell neighbours per site; surface: coordination below the bulk
    value of the site's sublattice; layers: graph distance from the surface over first-shell
    bonds (0 surface, 1 subsurface, ...); site_types: vertex/edge/(100)/(111)/other for
    fcc-like particles, "CN k" otherwise, "interior" below the surface; radial: shells of
    width radial_width (Å) around the centre (the mean of the site positions), shell k
    holding distances in [(k − ½)w, (k + ½)w).
    """

    shells: Shells
    coordination: np.ndarray
    bulk_coordination: np.ndarray
    surface: np.ndarray
    fcc: bool
    layers: Labels
    site_types: Labels
    centre: np.ndarray
    radius: np.ndarray
    radial_width: float
    radial: Labels

    @property
    def n_sites(self) -> int:
        """Number of sites of the particle."""
        return len(self.coordination)


def neighbour_shells(atoms: Atoms, gap: float = 0.1) -> Shells:
    """First and second neighbour shells of all atoms, from their distance histogram (Å)."""
    n = len(atoms)
    if n < 2:
        raise AnalysisError(f"a structure of {n} atom(s) has no neighbour shells")
    d_min = nearest_distance(atoms)
    if d_min is None:
        raise AnalysisError("no two atoms are near each other: cannot find neighbour shells")
    for reach in (2.1, 3.1):
        nl = build_neighbor_list(atoms, reach * d_min)
        distances = nl.distances
        shells = _cluster(np.sort(distances), gap * d_min)
        if len(shells) >= 3:
            break
    else:
        raise AnalysisError(f"found only {len(shells)} neighbour shell(s) within {3.1 * d_min:.2f} Å; "
                            "the structure is too small or too disordered for shell analysis")
    d = np.array([np.median(s) for s in shells[:3]])
    cutoffs = (0.5 * (d[0] + d[1]), 0.5 * (d[1] + d[2]))
    centre = np.repeat(np.arange(n), np.diff(nl.offsets))
    matrices = []
    for low, high in ((0.0, cutoffs[0]), cutoffs):
        keep = (distances >= low) & (distances < high)
        m = sparse.csr_matrix((np.ones(keep.sum(), np.int32), (centre[keep], nl.indices[keep])), shape=(n, n))
        m.sum_duplicates()
        matrices.append(m)
    spread = float((shells[0].max() - shells[0].min()) / d[0])
    return Shells(d, cutoffs, matrices[0], matrices[1], spread)


def _cluster(sorted_distances: np.ndarray, gap: float) -> list[np.ndarray]:
    """Split sorted distances wherever consecutive values differ by more than gap (Å)."""
    cuts = np.flatnonzero(np.diff(sorted_distances) > gap) + 1
    # the last group may be cut off by the search radius: keep only complete shells
    return np.split(sorted_distances, cuts)[:-1] if len(cuts) else []


def site_geometry(atoms: Atoms, sublattice: np.ndarray | None = None, radial_width: float | None = None) -> SiteGeometry:
    """Shells, surface, layers, site types and radial shells of every site of `atoms`.

    sublattice: a label per site (e.g. the swap group); a site is at the surface when its
    coordination is below the largest coordination in its sublattice (12 for fcc-like
    particles). radial_width: radial shell width in Å (default: the first-shell distance).
    """
    shells = neighbour_shells(atoms)
    n = shells.n_sites
    coordination = np.asarray(shells.first.sum(axis=1)).ravel().astype(int)
    ratio = shells.distances[1] / shells.distances[0]
    fcc = bool(coordination.max() == FCC_BULK_COORDINATION and shells.spread < FCC_TOLERANCE
               and abs(ratio / np.sqrt(2.0) - 1.0) < FCC_TOLERANCE)
    if fcc:
        bulk = np.full(n, FCC_BULK_COORDINATION)
    else:
        sub = np.zeros(n, int) if sublattice is None else np.unique(np.asarray(sublattice), return_inverse=True)[1]
        bulk = np.zeros(sub.max() + 1, int)
        np.maximum.at(bulk, sub, coordination)
        bulk = bulk[sub]
    surface = coordination < bulk
    layer = np.full(n, -1)
    if surface.any():
        depth = dijkstra(shells.first, directed=False, indices=np.flatnonzero(surface), unweighted=True, min_only=True)
        reached = np.isfinite(depth)
        layer[reached] = depth[reached].astype(int)
    types = np.where(surface, coordination, -1)
    if fcc:
        names = [*FCC_SITE_TYPES.values(), "other"]
        code = {cn: k for k, cn in enumerate(FCC_SITE_TYPES)}
        type_index = np.array([code.get(c, len(FCC_SITE_TYPES)) for c in types])
    else:
        present = sorted(set(types[surface].tolist()))
        names = [f"CN {c}" for c in present]
        type_index = np.searchsorted(present, types) if present else np.zeros(n, int)
    type_index = np.where(surface, type_index, len(names))
    centre, radius, width, radial = radial_labels(atoms.positions, radial_width or shells.distances[0])
    return SiteGeometry(
        shells=shells, coordination=coordination, bulk_coordination=bulk, surface=surface, fcc=fcc,
        layers=_compact(layer, [str(k) for k in range(layer.max() + 1)]),
        site_types=_compact(type_index, [*names, "interior"]),
        centre=centre, radius=radius, radial_width=width, radial=radial,
    )


def radial_labels(positions: np.ndarray, width: float) -> tuple[np.ndarray, np.ndarray, float, Labels]:
    """Radial shells of `width` Å around the mean position: (centre (Å), radius per site (Å), width, Labels)."""
    centre = positions.mean(axis=0)
    radius = np.linalg.norm(positions - centre, axis=1)
    width = float(width)
    if width <= 0:
        raise AnalysisError(f"radial shell width must be positive, got {width} Å")
    shell = np.floor(radius / width + 0.5).astype(int)
    radial_names = [f"{max(k - 0.5, 0) * width:.1f}-{(k + 0.5) * width:.1f}" for k in range(shell.max() + 1)]
    return centre, radius, width, _compact(shell, radial_names)


def _compact(index: np.ndarray, names: list[str]) -> Labels:
    """Labels without the categories that no site falls in."""
    used = np.flatnonzero(np.bincount(index[index >= 0], minlength=len(names)))
    new = np.full(len(names) + 1, -1)          # the last entry maps "no category" (−1) to −1
    new[used] = np.arange(len(used))
    return Labels(new[index], [names[k] for k in used])


def sublattice_shells(atoms: Atoms, sites: np.ndarray, geometry: SiteGeometry | None = None) -> Shells:
    """Neighbour shells among `sites` only (indices into atoms), e.g. the cations of an oxide.

    Reuses geometry.shells when `sites` are all atoms.
    """
    sites = np.asarray(sites)
    if geometry is not None and len(sites) == len(atoms) and np.array_equal(sites, np.arange(len(atoms))):
        return geometry.shells
    return neighbour_shells(atoms[sites])
