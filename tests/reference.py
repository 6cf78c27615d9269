"""Slow, obviously-correct reference implementations (plain NumPy), written from DESIGN.md.

Nothing here calls the compiled kernels (nanomc._ext) or the kernel tables
(nanomc.potential.tables): the point is to be independent of them.

    f_c(R) = ½[cos(πR/R_c) + 1] for R < R_c, else 0
    G2_i   = Σ_{j≠i, e(j)=e} exp(−η (R_ij − R_s)²) f_c(R_ij)
    G4_i   = 2^{1−ζ} Σ_{j<k, {e(j),e(k)}={a,b}} (1 + λ cos θ_ijk)^ζ
             · exp(−η (R_ij² + R_ik² + R_jk²)) f_c(R_ij) f_c(R_ik) f_c(R_jk)
    E_i    = NN_{e(i)}((G_i − shift)·scale) + E0_{e(i)},  layers y = act(W x + b)
"""
from __future__ import annotations

import itertools
import math

import numpy as np

# --------------------------------------------------------------------------- neighbours


def _completed_basis(cell: np.ndarray, pbc) -> np.ndarray:
    """A full-rank 3x3 basis whose rows d are the cell vectors along the periodic directions.

    Rows of non-periodic directions are replaced by unit vectors orthogonal to the periodic
    vectors (and to each other); their choice does not matter for the lattice translations,
    which only use periodic vectors.
    """
    cell = np.asarray(cell, dtype=float)
    periodic = [d for d in range(3) if pbc[d]]
    vecs = [cell[d] for d in periodic]
    # Gram-Schmidt on the periodic vectors, then complete with the null space (SVD)
    if vecs:
        _, _, vt = np.linalg.svd(np.array(vecs))
        null = vt[len(vecs):]
    else:
        null = np.eye(3)
    basis = np.zeros((3, 3))
    k = 0
    for d in range(3):
        if pbc[d]:
            basis[d] = cell[d]
        else:
            basis[d] = null[k]
            k += 1
    assert abs(np.linalg.det(basis)) > 1e-10, "periodic cell vectors are linearly dependent"
    return basis


def ref_neighbors(positions, cell, pbc, cutoff):
    """All (i, j, vector) with vector = r_j + T − r_i and 0 < |vector| < cutoff (strict).

    T runs over lattice translations n1·a1 + n2·a2 + n3·a3 with n_d = 0 along non-periodic
    directions. Along a periodic direction d the fractional coordinate (w.r.t. a basis whose
    row d is a_d) of r_j + T − r_i is f_d(r_j − r_i) + n_d and has magnitude at most
    cutoff / spacing_d for any neighbour, so n_d is bounded per pair by
    |n_d| ≤ |f_d(r_j − r_i)| + ceil(cutoff / spacing_d) + 1 — for positions inside the cell
    that is ceil(cutoff / spacing) + 2 images, i.e. always enough.
    Returns a list of (i, j, vector (3,)).
    """
    pos = np.asarray(positions, dtype=float)
    pbc = [bool(p) for p in pbc]
    n = len(pos)
    cell = np.asarray(cell, dtype=float).reshape(3, 3)
    out = []
    if n == 0:
        return out
    if any(pbc):
        basis = _completed_basis(cell, pbc)
        recip = np.linalg.inv(basis).T  # rows: reciprocal vectors, recip[d] · basis[k] = δ_dk
        spacing = 1.0 / np.linalg.norm(recip, axis=1)
    else:
        recip = np.eye(3)
        spacing = np.full(3, np.inf)
    tvecs = np.array([cell[d] if pbc[d] else np.zeros(3) for d in range(3)])
    for i in range(n):
        for j in range(n):
            diff = pos[j] - pos[i]
            ranges = []
            for d in range(3):
                if pbc[d]:
                    f = float(diff @ recip[d])
                    m = int(math.ceil(abs(f) + cutoff / spacing[d])) + 1
                    ranges.append(range(-m, m + 1))
                else:
                    ranges.append(range(0, 1))
            shifts = np.array(list(itertools.product(*ranges)), dtype=float)
            # vector = r_j + T − r_i, evaluated as (r_j − r_i) + T so that an atom's own image
            # lies at exactly |T| (matters only for pairs exactly at the cutoff)
            vecs = diff[None, :] + shifts @ tvecs
            dist = np.linalg.norm(vecs, axis=1)
            for v in vecs[(dist > 0.0) & (dist < cutoff)]:
                out.append((i, j, v.copy()))
    return out


def ref_neighbor_entries(positions, cell, pbc, cutoff):
    """ref_neighbors grouped per central atom: list over i of (js (M,), vectors (M, 3))."""
    n = len(positions)
    per = [([], []) for _ in range(n)]
    for i, j, v in ref_neighbors(positions, cell, pbc, cutoff):
        per[i][0].append(j)
        per[i][1].append(v)
    return [(np.array(js, dtype=int), np.array(vs, dtype=float).reshape(-1, 3)) for js, vs in per]


# --------------------------------------------------------------------------- descriptors


def cutoff_function(r, rc):
    """½[cos(πR/R_c) + 1] for R < R_c, else 0 (elementwise)."""
    r = np.asarray(r, dtype=float)
    return np.where(r < rc, 0.5 * (np.cos(np.pi * r / rc) + 1.0), 0.0)


def ref_atom_descriptor(symbol_i, js, vecs, symbols, dset, rc):
    """Descriptor vector of one atom: its radial functions, then its angular functions."""
    js = np.asarray(js, dtype=int)
    vecs = np.asarray(vecs, dtype=float).reshape(-1, 3)
    nb_el = np.array([symbols[j] for j in js], dtype=object)
    r = np.linalg.norm(vecs, axis=1)
    fc = cutoff_function(r, rc)
    values = []
    for f in dset.radial:
        mask = nb_el == f.element
        values.append(float(np.sum(np.exp(-f.eta * (r[mask] - f.rs) ** 2) * fc[mask])))
    # triplets: every unordered pair of neighbour entries (j < k), periodic images included
    a, b = np.triu_indices(len(js), k=1)
    rab_vec = vecs[b] - vecs[a]
    rab = np.linalg.norm(rab_vec, axis=1)
    cos_t = np.einsum("ij,ij->i", vecs[a], vecs[b]) / (r[a] * r[b]) if len(a) else np.zeros(0)
    pair_el = np.array(["|".join(sorted((nb_el[x], nb_el[y]))) for x, y in zip(a, b)], dtype=object)
    fprod = fc[a] * fc[b] * cutoff_function(rab, rc)
    r2sum = r[a] ** 2 + r[b] ** 2 + rab**2
    for f in dset.angular:
        want = "|".join(sorted(f.elements))
        mask = (pair_el == want).astype(bool) if len(pair_el) else np.zeros(0, dtype=bool)
        base = np.clip(1.0 + f.lam * cos_t[mask], 0.0, None)  # guards −1e-17 round-off only
        terms = base**f.zeta * np.exp(-f.eta * r2sum[mask]) * fprod[mask]
        values.append(float(2.0 ** (1.0 - f.zeta) * np.sum(terms)))
    return np.array(values, dtype=float)


def ref_descriptors(atoms, potential):
    """(N, max descriptor size) array of descriptors, rows zero-padded (like Potential.descriptors)."""
    symbols = atoms.get_chemical_symbols()
    rc = float(potential.cutoff)
    entries = ref_neighbor_entries(atoms.get_positions(), atoms.cell.array, atoms.pbc, rc)
    width = max(potential.descriptor_sets[e].size for e in potential.elements)
    out = np.zeros((len(atoms), width))
    for i, (js, vecs) in enumerate(entries):
        g = ref_atom_descriptor(symbols[i], js, vecs, symbols, potential.descriptor_sets[symbols[i]], rc)
        out[i, : len(g)] = g
    return out


# --------------------------------------------------------------------------- networks


def activation(name, x, twist=0.0):
    x = np.asarray(x, dtype=float)
    if name == "linear":
        return x
    if name == "tanh":
        return np.tanh(x)
    if name == "sigmoid":
        return 1.0 / (1.0 + np.exp(-x))
    if name == "twisted_tanh":
        return 1.7159 * np.tanh(2.0 * x / 3.0) + twist * x
    raise ValueError(f"unknown activation {name!r}")


def ref_network(network, x):
    """Output of a Network for one scaled input vector (layers y = act(W x + b))."""
    y = np.asarray(x, dtype=float)
    for lay in network.layers:
        y = activation(lay.activation, np.asarray(lay.weights) @ y + np.asarray(lay.bias), lay.twist)
    assert y.shape == (1,)
    return float(y[0])


def ref_atomic_energies_from_descriptors(symbols, g, potential):
    out = np.empty(len(symbols))
    for i, s in enumerate(symbols):
        size = potential.descriptor_sets[s].size
        shift, scale = potential.scaling[s]
        x = (g[i, :size] - np.asarray(shift)) * np.asarray(scale)
        out[i] = ref_network(potential.networks[s], x) + potential.e0[s]
    return out


def ref_atomic_energies(atoms, potential):
    """Atomic energies (eV): NN_e((G − shift)·scale) + E0_e, from reference descriptors."""
    g = ref_descriptors(atoms, potential)
    return ref_atomic_energies_from_descriptors(atoms.get_chemical_symbols(), g, potential)
