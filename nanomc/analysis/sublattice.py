"""Geometry of a particle with several sublattices (swap groups), e.g. the cations and anions of an oxide.

Each swap group's neighbour shells and coordination are computed among that group's own sites
only (fluorite cations: nn at a/√2, nnn at a; a vacancy X is a site of the anion sublattice and
never counts as a neighbour of a cation). The *host* group, the one of the pair element,
defines the categories: its surface, layers and site types are those of `site_geometry` on the
host sites alone (the fcc cation sublattice of a fluorite gets vertex/edge/(100)/(111) by
cation–cation coordination 6/7/8/9). A site of any other group joins the host categories
through its *links*, the host sites of the first host–group distance shell (the 4 cations at
a√3/4 around a fluorite anion site):
  layer: the layer most of its linked host sites are in, ties to the shallower layer
         (in a {111} O–Ce–O trilayer both anion planes join their cation plane's layer;
         the outermost anions always join layer 0);
  site type: in layer 0, the surface type most of its linked layer-0 host sites have, ties to
         the less coordinated type (vertex < edge < (100) < (111)); deeper, "interior";
  surface: layer 0.
A site with no link gets no layer or site type. Radial shells are over all sites, as for a
single lattice.
"""
from __future__ import annotations

import numpy as np
from ase import Atoms
from scipy import sparse

from ..structure import VACANCY, build_neighbor_list
from .errors import AnalysisError
from .sites import Labels, SiteGeometry, _cluster, neighbour_shells, radial_labels, site_geometry


def cross_links(atoms: Atoms, sites: np.ndarray, host: np.ndarray, gap: float = 0.1) -> sparse.csr_matrix:
    """First-shell links between `sites` and `host` sites (index arrays): an (N, N) symmetric 0/1 matrix.

    The first shell is the set of site–host pairs closer than the midpoint between the first and
    second site–host distances (Å), split like `neighbour_shells` (gaps above gap·d_min).
    """
    n = len(atoms)
    members = np.zeros(n, np.int8)
    members[sites], members[host] = 1, 2
    both = np.flatnonzero(members > 0)
    sub = atoms[both]
    reach = 3.0
    extent = float(np.ptp(sub.positions, axis=0).max()) + np.linalg.norm(sub.cell.array, axis=1).max()
    while True:
        nl = build_neighbor_list(sub, reach)
        centre = both[np.repeat(np.arange(len(both)), np.diff(nl.offsets))]
        other = both[nl.indices]
        cross = (members[centre] == 1) & (members[other] == 2)
        distances = nl.distances[cross]
        if len(distances):
            shells = _cluster(np.sort(distances), gap * distances.min())
            if len(shells) >= 2:
                break
        if reach > 2 * extent + 10.0:
            raise AnalysisError("cannot find two distance shells between the sublattices")
        reach *= 1.5
    cutoff = 0.5 * (np.median(shells[0]) + np.median(shells[1]))
    keep = distances < cutoff
    i, j = centre[cross][keep], other[cross][keep]
    links = sparse.csr_matrix((np.ones(2 * len(i), np.int8), (np.r_[i, j], np.r_[j, i])), shape=(n, n))
    links.data[:] = 1                                    # periodic images: one link per site pair
    return links


def vote(links: sparse.csr_matrix, rows: np.ndarray, categories: np.ndarray, n_categories: int) -> np.ndarray:
    """For each site in `rows`, the category most of its linked sites have (ties: the lowest index; −1: none).

    categories: per site of the particle (−1: does not vote).
    """
    votes = categories >= 0
    if n_categories == 0:
        return np.full(len(rows), -1)
    onehot = sparse.csr_matrix((np.ones(votes.sum()), (np.flatnonzero(votes), categories[votes])),
                               shape=(len(categories), n_categories))
    tally = (links[rows] @ onehot).toarray()
    return np.where(tally.sum(axis=1) > 0, tally.argmax(axis=1), -1)


def sublattice_geometry(atoms: Atoms, group: np.ndarray, host: int,
                        radial_width: float | None = None) -> tuple[SiteGeometry, dict[int, sparse.csr_matrix],
                                                                     dict[int, dict]]:
    """Geometry of a multi-sublattice particle with the categories of the `host` group (see the module docstring).

    group: swap group per site (−1 frozen: no category). Returns the geometry of every site,
    the links of each other group g to the host (an (N, N) matrix, `cross_links`), and per
    group its own shells (distances, cutoffs in Å) and site count.
    """
    n = len(atoms)
    host_sites = np.flatnonzero(group == host)
    h = site_geometry(atoms[host_sites])
    coordination, bulk = np.zeros(n, int), np.zeros(n, int)
    layer, kind = np.full(n, -1), np.full(n, -1)
    coordination[host_sites], bulk[host_sites] = h.coordination, h.bulk_coordination
    layer[host_sites], kind[host_sites] = h.layers.index, h.site_types.index
    interior = h.site_types.names.index("interior") if "interior" in h.site_types.names else -1
    surface_kind = np.where(layer == 0, kind, -1)
    links, own = {}, {host: {"sites": len(host_sites), "distances_A": h.shells.distances.tolist(),
                             "cutoffs_A": [float(c) for c in h.shells.cutoffs]}}
    for g in np.unique(group[(group >= 0) & (group != host)]):
        sites = np.flatnonzero(group == g)
        shells = neighbour_shells(atoms[sites])
        coordination[sites] = np.asarray(shells.first.sum(axis=1)).ravel()
        bulk[sites] = coordination[sites].max()
        own[int(g)] = {"sites": len(sites), "distances_A": shells.distances.tolist(),
                     "cutoffs_A": [float(c) for c in shells.cutoffs]}
        links[int(g)] = cross_links(atoms, sites, host_sites)
        layer[sites] = vote(links[int(g)], sites, layer, len(h.layers.names))
        kind[sites] = np.where(layer[sites] == 0, vote(links[int(g)], sites, surface_kind, len(h.site_types.names)),
                               np.where(layer[sites] > 0, interior, -1))
    centre, radius, width, radial = radial_labels(atoms.positions, radial_width or h.shells.distances[0])
    geometry = SiteGeometry(
        shells=h.shells, coordination=coordination, bulk_coordination=bulk, surface=layer == 0, fcc=h.fcc,
        layers=Labels(layer, h.layers.names), site_types=Labels(kind, h.site_types.names),
        centre=centre, radius=radius, radial_width=width, radial=radial,
    )
    return geometry, links, own
