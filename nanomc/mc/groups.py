"""Swap groups: which sites may exchange or change element, and to which elements.

Every site belongs to one group or is frozen (group −1). Sites of one group exchange
elements among themselves (canonical swaps) or change to any element the group allows
(semi-grand-canonical flips). Frozen atoms (support, adsorbates, an oxygen sublattice)
count in the energy but never change.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
from ase import Atoms

from ..errors import NanomcError
from ..structure import build_neighbor_list, nearest_distance


class GroupError(NanomcError, ValueError):
    """Inconsistent swap groups."""


#: Neighbour-swap partners of a site: the sites of its group within this factor times the group's shortest
#: site-site distance, halfway between the first two shells of fcc and simple-cubic (sub)lattices (1 and √2).
NEIGHBOUR_SHELL = (1.0 + math.sqrt(2.0)) / 2.0


@dataclass
class SwapGroups:
    """group[i] = group index of site i (−1: frozen); allowed[g] = element indices group g may hold."""

    group: np.ndarray
    allowed: list[list[int]]

    def __post_init__(self) -> None:
        self.group = np.asarray(self.group, dtype=np.int64)
        if self.group.size and (self.group.max() >= len(self.allowed) or self.group.min() < -1):
            raise GroupError("group index out of range")
        for g, elems in enumerate(self.allowed):
            if len(set(elems)) != len(elems) or not elems:
                raise GroupError(f"swap group {g} must list distinct elements, got {elems}")
        self.movable = np.flatnonzero(self.group >= 0).astype(np.int64)
        self.allowed_ptr = np.concatenate([[0], np.cumsum([len(a) for a in self.allowed])]).astype(np.int64)
        self.allowed_flat = np.array([e for a in self.allowed for e in a], dtype=np.int64)
        self._partner_tables: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}

    @classmethod
    def single(cls, n_sites: int, elements: Sequence[int], frozen: np.ndarray | None = None) -> "SwapGroups":
        """All sites in one group allowed `elements`, except the frozen ones."""
        group = np.zeros(n_sites, dtype=np.int64)
        if frozen is not None:
            group[np.asarray(frozen, dtype=bool)] = -1
        return cls(group, [list(elements)])

    def check_elements(self, elements: np.ndarray, names: Sequence[str]) -> None:
        """GroupError if a movable site holds an element its group does not allow."""
        for g, allowed in enumerate(self.allowed):
            sites = self.movable[self.group[self.movable] == g]
            bad = sites[~np.isin(elements[sites], allowed)]
            if bad.size:
                raise GroupError(
                    f"site {int(bad[0])} holds {names[elements[bad[0]]]}, which its swap group "
                    f"({', '.join(names[e] for e in allowed)}) does not allow"
                )

    def site_blocks(self, elements: np.ndarray, n_elements: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(site_list, site_pos, block_start) for the canonical sweep kernel.

        site_list holds the movable sites ordered by (group, element); the sites of group g
        with element e are site_list[block_start[g*(n_el+1)+e] : block_start[g*(n_el+1)+e+1]].
        """
        sites = self.movable
        key = self.group[sites] * n_elements + elements[sites]
        order = np.argsort(key, kind="stable")
        site_list = sites[order].astype(np.int64)
        site_pos = np.full(len(elements), -1, dtype=np.int64)
        site_pos[site_list] = np.arange(len(site_list))
        counts = np.bincount(key, minlength=len(self.allowed) * n_elements).reshape(len(self.allowed), n_elements)
        starts = np.concatenate([[0], np.cumsum(counts.reshape(-1))])
        block_start = np.zeros((len(self.allowed), n_elements + 1), dtype=np.int64)
        for g in range(len(self.allowed)):
            block_start[g] = starts[g * n_elements: (g + 1) * n_elements + 1]
        return site_list, site_pos, block_start.reshape(-1)

    def neighbour_partners(self, atoms: Atoms) -> tuple[np.ndarray, np.ndarray]:
        """(partner_ptr, partners) for neighbour swaps: the partners of site i are
        partners[partner_ptr[i]:partner_ptr[i+1]], the other sites of its swap group within
        NEIGHBOUR_SHELL × the group's shortest site–site distance (Å; periodic images count). The
        table is symmetric (j partners i iff i partners j); frozen sites have none. Computed once per
        geometry: replicas sharing these groups and sites share the table."""
        key = ("partners",) + _geometry_key(atoms)
        if key not in self._partner_tables:
            self._partner_tables[key] = self._partner_table(atoms)
        return self._partner_tables[key]

    def anion_shells(self, atoms: Atoms, vacancy: int) -> tuple[np.ndarray, np.ndarray]:
        """(shell_ptr, shell) for composite moves: the anion neighbours of site i are
        shell[shell_ptr[i]:shell_ptr[i+1]]. For a movable site of a group that cannot hold the vacancy
        (element index `vacancy`), a cation site, they are the movable sites of every group that can (an
        anion sublattice, e.g. ["O", "X"]) within NEIGHBOUR_SHELL × the shortest distance between the
        sites of the two groups (Å; periodic images count): the 8 O sites around a cation of fluorite,
        the 6 of rutile. Other sites have none. Computed once per geometry, like neighbour_partners."""
        key = ("shells", vacancy) + _geometry_key(atoms)
        if key not in self._partner_tables:
            vacancy_groups = [g for g, allowed in enumerate(self.allowed) if vacancy in allowed]
            pairs = [(g, h) for g in range(len(self.allowed)) if g not in vacancy_groups for h in vacancy_groups]
            self._partner_tables[key] = self._pair_table(atoms, pairs)
        return self._partner_tables[key]

    def _partner_table(self, atoms: Atoms) -> tuple[np.ndarray, np.ndarray]:
        return self._pair_table(atoms, [(g, g) for g in range(len(self.allowed))])

    def _pair_table(self, atoms: Atoms, group_pairs: list[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray]:
        """(ptr, table) listing for each site of group g the sites of group h within its shell, for each
        (g, h) in group_pairs (g == h: the other sites of the group)."""
        pairs_i, pairs_j = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
        for g, h in group_pairs:
            sites = self.movable[self.group[self.movable] == g]
            if g == h:
                i, j = _shell_pairs(atoms[sites])
            else:
                split = len(sites)
                sites = np.concatenate([sites, self.movable[self.group[self.movable] == h]])
                i, j = _shell_pairs(atoms[sites], split)
            pairs_i.append(sites[i])
            pairs_j.append(sites[j])
        i, j = np.concatenate(pairs_i), np.concatenate(pairs_j)
        order = np.lexsort((j, i))
        ptr = np.concatenate([[0], np.cumsum(np.bincount(i, minlength=len(atoms)))]).astype(np.int64)
        return ptr, j[order]


def _geometry_key(atoms: Atoms) -> tuple[bytes, bytes, bytes]:
    return atoms.positions.tobytes(), atoms.cell.array.tobytes(), atoms.pbc.tobytes()


def _shell_pairs(sites: Atoms, split: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Distinct ordered pairs (i, j), i ≠ j, of `sites` within NEIGHBOUR_SHELL × their shortest distance;
    with `split`, only the pairs i < split ≤ j, and their shortest distance."""
    d_min = nearest_distance(sites, split)
    if d_min is None:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    nl = build_neighbor_list(sites, NEIGHBOUR_SHELL * d_min)
    i = np.repeat(np.arange(len(sites)), np.diff(nl.offsets))
    other = i != nl.indices  # a site's own periodic images are no partners
    if split is not None:
        other &= (i < split) & (nl.indices >= split)
    pairs = np.unique(np.stack([i[other], nl.indices[other]], axis=1), axis=0)
    return pairs[:, 0].astype(np.int64), pairs[:, 1].astype(np.int64)
