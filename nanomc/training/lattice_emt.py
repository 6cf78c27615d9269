"""ASE's EMT on a fixed lattice: exact energies of many occupations and fast ΔE of swaps and flips.

EMT (Jacobsen, Stoltze, Nørskov, Surf. Sci. 366, 394 (1996)) as ase.calculators.emt.EMT
computes it with its default cutoff (`asap_cutoff=False`: one global cutoff from the largest
atom of EMT's parameter table). The energy of atom i with element a is
    s_i  = −ln(σ1_i / (12 γ1_a)) / (β η2_a),   σ1_i = Σ_j χ_ab exp(−η2_b (r_ij − β s0_b)) w(r_ij)
    E_i  = E0_a (1 + λ_a s_i) e^{−λ_a s_i} + 6 V0_a e^{−κ_a s_i}
           + ½ Σ_j [c_a χ_ab e^{−κ_b (r_ij/β − s0_b)} + c_b e^{−κ_a (r_ij/β − s0_a)} / χ_ab] w(r_ij) − E0_a
with b the element of neighbour j (r_ij < r_list), χ_ab = n0_b / n0_a, c = −V0 / (2 γ2) and
w the logistic cutoff. Positions never change here, so every pair's radial factors are
tabulated once per neighbour element; E_i depends only on the elements of i and of its
neighbours within r_list, so a move changes only the energies of the changed sites and their
neighbours, and ΔE needs only those (the cost of a trial does not depend on N).
"""
from __future__ import annotations

from math import log, sqrt
from typing import Sequence

import numpy as np
from ase import Atoms
from ase.calculators.emt import beta, parameters
from ase.data import atomic_numbers
from ase.units import Bohr

from ..structure import build_neighbor_list


def emt_cutoff() -> tuple[float, float, float]:
    """(r_c, r_list, a) of EMT's logistic cutoff w(r) = 1/(1 + e^{a (r − r_c)}) in Å, Å, 1/Å:
    r_c midway between the 3rd and 4th fcc shells of the largest atom, w(r_4nn) = 1e-4."""
    r1nn = beta * max(p[1] for p in parameters.values()) * Bohr
    rc = r1nn * 0.5 * (sqrt(3.0) + 2.0)
    return rc, rc + 0.5, log(1.0 / 1e-4 - 1.0) / (2.0 * r1nn - rc)


class LatticeEMT:
    """EMT energies of the sites of `atoms` (positions fixed) for any occupation by `elements`.

    The occupation starts as that of `atoms`; `delta(sites, symbols)` gives ΔE (eV) of putting
    `symbols` on `sites` without changing it, `apply` makes the change.
    """

    def __init__(self, atoms: Atoms, elements: Sequence[str]) -> None:
        self.elements = list(elements)
        rc, self.r_list, acut = emt_cutoff()
        p = np.array([parameters[e] for e in self.elements])
        e0, s0, v0, eta2, kappa, lam, n0 = p[:, 0], p[:, 1] * Bohr, p[:, 2], p[:, 3] / Bohr, p[:, 4] / Bohr, \
            p[:, 5] / Bohr, p[:, 6] / Bohr**3
        shells = beta * s0[:, None] * np.sqrt([1.0, 2.0, 3.0])  # 1st–3rd fcc shells of each element
        x = np.array([12, 6, 24]) / (1.0 + np.exp(acut * (shells - rc))) / 12.0
        gamma1 = (x * np.exp(-eta2[:, None] * (shells - beta * s0[:, None]))).sum(axis=1)
        gamma2 = (x * np.exp(-kappa[:, None] / beta * (shells - beta * s0[:, None]))).sum(axis=1)
        self._e0, self._v0, self._lam, self._kappa, self._eta2 = e0, v0, lam, kappa, eta2
        self._inv12g1 = 1.0 / (12.0 * gamma1)
        self._c = -0.5 * v0 / gamma2
        self._chi = n0[None, :] / n0[:, None]
        nl = build_neighbor_list(atoms, self.r_list)
        r = nl.distances
        keep = r < self.r_list
        owner = np.repeat(np.arange(len(atoms)), np.diff(nl.offsets))[keep]
        self.neighbour = nl.indices[keep]
        self.offsets = np.concatenate([[0], np.cumsum(np.bincount(owner, minlength=len(atoms)))])
        r = r[keep]
        w = 1.0 / (1.0 + np.exp(acut * (r - rc)))
        sigma1 = np.exp(-eta2[None, :] * (r[:, None] - beta * s0[None, :])) * w[:, None]  # (pairs, elements)
        sigma2 = np.exp(-kappa[None, :] * (r[:, None] / beta - s0[None, :])) * w[:, None]
        chi = self._chi[None]
        # per pair and (owner element a, neighbour element b): its σ1 term and its pair-energy term
        self._n = len(self.elements)
        self._sigma1_ab = (chi * sigma1[:, None, :]).ravel()
        self._pair_ab = (self._c[None, :, None] * chi * sigma2[:, None, :]
                         + self._c[None, None, :] * sigma2[:, :, None] / chi).ravel()
        self._owner = owner
        self._mark = np.zeros(len(atoms), bool)
        self._reverse = _reverse_entries(owner, self.neighbour, nl.vectors[keep])
        lookup = {atomic_numbers[e]: k for k, e in enumerate(self.elements)}
        self.z = np.array([lookup[n] for n in atoms.numbers], np.int64)
        everything = np.arange(len(owner))
        self._s1, self._pair = self._sums(everything, owner, len(atoms), self.z)
        self._atomic = self._energies(np.arange(len(atoms)), self._s1, self._pair, self.z)

    def _sums(self, entries: np.ndarray, local: np.ndarray, n: int, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """σ1 and pair-energy sums over neighbour-list `entries`, binned by `local` (n bins)."""
        ab = (entries * self._n + z[self._owner[entries]]) * self._n + z[self.neighbour[entries]]
        return np.bincount(local, self._sigma1_ab[ab], minlength=n), np.bincount(local, self._pair_ab[ab], minlength=n)

    def _energies(self, sites: np.ndarray, sigma1: np.ndarray, pair: np.ndarray, z: np.ndarray) -> np.ndarray:
        """Energies (eV) of the atoms `sites` from their σ1 and pair sums, with elements z[sites]."""
        a = z[sites]
        lonely = self.offsets[sites + 1] == self.offsets[sites]  # no neighbour: ASE gives −E0
        s = -np.log(np.where(lonely, 1.0, sigma1) * self._inv12g1[a]) / (beta * self._eta2[a])
        lam_s = self._lam[a] * s
        embedded = self._e0[a] * (1.0 + lam_s) * np.exp(-lam_s) + 6.0 * self._v0[a] * np.exp(-self._kappa[a] * s)
        return np.where(lonely, 0.0, embedded + 0.5 * pair) - self._e0[a]

    @property
    def atomic_energies(self) -> np.ndarray:
        """Per-atom EMT energies (eV) of the current occupation."""
        return self._atomic.copy()

    @property
    def energy(self) -> float:
        """Total EMT energy (eV) of the current occupation."""
        return float(self._atomic.sum())

    @property
    def numbers(self) -> np.ndarray:
        """Atomic numbers of the current occupation."""
        return np.array([atomic_numbers[self.elements[k]] for k in self.z])

    def _change(self, sites: Sequence[int], symbols: Sequence[str]):
        """New occupation, the atoms whose energies change, and their new σ1 sums, pair sums and energies.

        The changed sites' sums are recomputed; their neighbours' sums are updated by the terms of
        their entries that point at a changed site (the reverse entries of the sites' rows)."""
        z = self.z.copy()
        z[np.asarray(sites, np.int64)] = [self.elements.index(e) for e in symbols]
        sites = np.unique(np.asarray(sites, np.int64))
        rows = np.concatenate([np.arange(self.offsets[i], self.offsets[i + 1]) for i in sites])
        incoming = self._reverse[rows]
        self._mark[sites] = True
        incoming = incoming[~self._mark[self._owner[incoming]]]
        self._mark[sites] = False
        others, local = np.unique(self._owner[incoming], return_inverse=True)
        new1, new2 = self._sums(incoming, local, len(others), z)
        old1, old2 = self._sums(incoming, local, len(others), self.z)
        own1, own2 = self._sums(rows, np.searchsorted(sites, self._owner[rows]), len(sites), z)
        touched = np.concatenate([sites, others])
        s1 = np.concatenate([own1, self._s1[others] + (new1 - old1)])
        pair = np.concatenate([own2, self._pair[others] + (new2 - old2)])
        return z, touched, s1, pair, self._energies(touched, s1, pair, z)

    def delta(self, sites: Sequence[int], symbols: Sequence[str]) -> float:
        """ΔE (eV) of putting `symbols` on `sites` (the occupation is not changed)."""
        *_, touched, _, _, new = self._change(sites, symbols)
        return float(new.sum() - self._atomic[touched].sum())

    def delta_swap(self, i: int, j: int) -> float:
        """ΔE (eV) of exchanging the elements of sites i and j."""
        return self.delta([i, j], [self.elements[self.z[j]], self.elements[self.z[i]]])

    def apply(self, sites: Sequence[int], symbols: Sequence[str]) -> None:
        """Put `symbols` on `sites`."""
        self.z, touched, self._s1[touched], self._pair[touched], self._atomic[touched] = self._change(sites, symbols)

    def swap(self, i: int, j: int) -> None:
        """Exchange the elements of sites i and j."""
        self.apply([i, j], [self.elements[self.z[j]], self.elements[self.z[i]]])


def _reverse_entries(owner: np.ndarray, neighbour: np.ndarray, vectors: np.ndarray) -> np.ndarray:
    """For each neighbour-list entry i→j (vector v) the index of the entry j→i (vector −v)."""
    key = np.round(vectors * 1e4).astype(np.int64)
    forward = np.lexsort((key[:, 2], key[:, 1], key[:, 0], neighbour, owner))
    backward = np.lexsort((-key[:, 2], -key[:, 1], -key[:, 0], owner, neighbour))
    if not (np.array_equal(owner[forward], neighbour[backward]) and np.array_equal(key[forward], -key[backward])):
        raise ValueError("the neighbour list is not symmetric")
    out = np.empty_like(owner)
    out[forward] = backward
    return out


def emt_pair_energies(elements: Sequence[str]):
    """A `delta` for nanomc.training.pairs.label_pairs: (E_before, E_after) in eV with LatticeEMT,
    exactly ASE's EMT; the lattice is built once per distinct before-structure (pass the moves
    of one snapshot together, as swap_moves makes them)."""
    cache: dict = {}

    def delta(before: Atoms, after: Atoms) -> tuple[float, float]:
        if cache.get("atoms") is not before:
            cache.update(atoms=before, model=LatticeEMT(before, elements))
        model = cache["model"]
        sites = np.flatnonzero(before.numbers != after.numbers)
        return model.energy, model.energy + model.delta(sites, [after[i].symbol for i in sites])
    return delta
