"""Slow, obviously-correct reference implementations (plain NumPy), written from DESIGN.md.

Nothing here calls the compiled kernels (nanomc._ext) or the kernel tables
(nanomc.potential.tables): the point is to be independent of them.

    f_c(R) = ½[cos(πR/R_c) + 1] for R < R_c, else 0        (default; other kinds: ref_cutoff)
    G2_i   = Σ_{j≠i, e(j)=e} exp(−η (R_ij − R_s)²) f_c(R_ij)
    G4_i   = 2^{1−ζ} Σ_{j<k, {e(j),e(k)}={a,b}} (1 + λ cos θ_ijk)^ζ
             · exp(−η [(R_ij − R_s)² + (R_ik − R_s)² + (R_jk − R_s)²]) f_c(R_ij) f_c(R_ik) f_c(R_jk)
             ("narrow"; R_s = 0 by default); "wide" drops the R_jk term and f_c(R_jk)
    E_i    = NN_{e(i)}((G_i − shift)·scale) + E0_{e(i)},  layers y = act(W x + b)
Each function has its own cutoff function (kind, radius — the potential's cutoff if None — and
inner fraction α). Weighted functions count every neighbour j with the weight of e(j) (pair j, k
with the weight of {e(j), e(k)}) instead of selecting one element (pair); Chebyshev functions
replace the Gaussian by T_n(2R_ij/R_c − 1) (radial) or the power factor by T_n(cos θ_ijk)
(angular), with T_n(x) = cos(n arccos x) on [−1, 1].

aenet's Chebyshev descriptor (Artrith, Urban, Ceder, PRB 96, 014112 (2017)) is also written
out directly from its definition (ref_chebyshev_atom), with loops over j and k.
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


def ref_cutoff(kind, r, rc, alpha=0.0):
    """Cutoff function of a kind (nanomc.potential.descriptors.CutoffFunction), elementwise.

    0 for R ≥ R_c. hard: 1. tanhu: tanh³(1 − R/R_c). tanh: tanh³(1 − R/R_c) / tanh³(1).
    Otherwise 1 for R < αR_c, and with x = (R − αR_c)/(R_c − αR_c):
    cos ½[cos(πx) + 1], exp e·exp(1/(x² − 1)) = exp(1 − 1/(1 − x²)), poly1 (2x − 3)x² + 1,
    poly2 ((15 − 6x)x − 10)x³ + 1, poly3 (x(x(20x − 70) + 84) − 35)x⁴ + 1,
    poly4 (x(x((315 − 70x)x − 540) + 420) − 126)x⁵ + 1.
    """
    r = np.asarray(r, dtype=float)
    inside = r < rc
    if kind == "hard":
        return np.where(inside, 1.0, 0.0)
    if kind in ("tanhu", "tanh"):
        t = np.tanh(1.0 - np.minimum(r, rc) / rc) ** 3
        return np.where(inside, t / (np.tanh(1.0) ** 3 if kind == "tanh" else 1.0), 0.0)
    rci = alpha * rc
    x = np.where(inside & (r >= rci), (r - rci) / (rc - rci), 0.0)  # only 0 <= x < 1 is used
    core = {
        "cos": lambda x: 0.5 * (np.cos(np.pi * x) + 1.0),
        "exp": lambda x: np.exp(1.0 - 1.0 / (1.0 - x**2)),
        "poly1": lambda x: (2 * x - 3) * x**2 + 1,
        "poly2": lambda x: ((15 - 6 * x) * x - 10) * x**3 + 1,
        "poly3": lambda x: (x * (x * (20 * x - 70) + 84) - 35) * x**4 + 1,
        "poly4": lambda x: (x * (x * ((315 - 70 * x) * x - 540) + 420) - 126) * x**5 + 1,
    }[kind](x)
    return np.where(inside, np.where(r < rci, 1.0, core), 0.0)


def _function_cutoff(f, r, rc):
    """Values of f's own cutoff function at distances r; rc: the potential's cutoff (Å)."""
    radius = rc if f.cutoff.radius is None else f.cutoff.radius
    return ref_cutoff(f.cutoff.kind, r, radius, f.cutoff.alpha)


def ref_chebyshev(n, x):
    """T_n(x) = cos(n arccos x) for x in [−1, 1] (clipped against round-off), elementwise."""
    return np.cos(n * np.arccos(np.clip(x, -1.0, 1.0)))


def ref_atom_descriptor(symbol_i, js, vecs, symbols, dset, rc):
    """Descriptor vector of one atom: its radial functions, then its angular functions, or in
    the order of dset.positions when it gives them.

    js, vecs: the neighbours within the potential's cutoff rc (Å) and the vectors to them.
    """
    js = np.asarray(js, dtype=int)
    vecs = np.asarray(vecs, dtype=float).reshape(-1, 3)
    nb_el = [symbols[j] for j in js]
    r = np.linalg.norm(vecs, axis=1)
    values = []
    for f in dset.radial:
        weight = {f.element: 1.0} if f.element is not None else dict(f.weights)
        w = np.array([weight.get(e, 0.0) for e in nb_el])
        fc = _function_cutoff(f, r, rc)
        if f.basis == "chebyshev":
            radius = rc if f.cutoff.radius is None else f.cutoff.radius
            shape = ref_chebyshev(f.order, 2.0 * r / radius - 1.0)
        else:
            shape = np.exp(-f.eta * (r - f.rs) ** 2)
        values.append(float(np.sum(w * shape * fc)))
    # triplets: every unordered pair of neighbour entries (j < k), periodic images included
    a, b = np.triu_indices(len(js), k=1)
    rab = np.linalg.norm(vecs[b] - vecs[a], axis=1)
    cos_t = np.einsum("ij,ij->i", vecs[a], vecs[b]) / (r[a] * r[b]) if len(a) else np.zeros(0)
    pair_el = [tuple(sorted((nb_el[x], nb_el[y]))) for x, y in zip(a, b)]
    for f in dset.angular:
        weight = {tuple(sorted(f.elements)): 1.0} if f.elements is not None else dict(f.weights)
        w = np.array([weight.get(p, 0.0) for p in pair_el])
        rij, rik, rjk = r[a], r[b], rab
        gauss = (rij - f.rs) ** 2 + (rik - f.rs) ** 2
        fprod = _function_cutoff(f, rij, rc) * _function_cutoff(f, rik, rc)
        if f.variant == "narrow":
            gauss = gauss + (rjk - f.rs) ** 2
            fprod = fprod * _function_cutoff(f, rjk, rc)
        if f.factor == "chebyshev":
            factor = ref_chebyshev(f.order, cos_t)
        else:
            base = np.clip(1.0 + f.lam * cos_t, 0.0, None)  # guards −1e-17 round-off only
            factor = 2.0 ** (1.0 - f.zeta) * base**f.zeta
        values.append(float(np.sum(w * factor * np.exp(-f.eta * gauss) * fprod)))
    out = np.zeros(len(values))
    out[list(dset.positions or range(len(values)))] = values
    return out


def aenet_spins(n_types):
    """aenet's type spins (sfbasis.f90, new_SFBasis): from −n/2 (integer division) upwards in
    steps of 1, skipping 0 when n is even."""
    spins = []
    s = -(n_types // 2)
    while len(spins) < n_types:
        if not (s == 0 and n_types % 2 == 0):
            spins.append(float(s))
        s += 1
    return spins


def ref_chebyshev_atom(js, vecs, symbols, types, radial_order, radial_rc, angular_order, angular_rc, spins=None):
    """aenet's Chebyshev descriptor of one atom, from its definition with loops over j and k.

    js, vecs: neighbours and vectors (Å); types: aenet's environment types in order; spins: their
    type spins (default aenet_spins). With f(R; R_c) = ½[cos(πR/R_c) + 1] for R < R_c, else 0:
        radial_n  = Σ_j T_n(2R_ij/R_c^r − 1) f(R_ij; R_c^r)                n = 0..radial_order
        angular_n = Σ_{j<k} T_n(cos θ_ijk) f(R_ij; R_c^a) f(R_ik; R_c^a)    n = 0..angular_order
    and for more than one type the same with the factor s_j (radial) and s_j s_k (angular).
    Result: [radial, angular, typed radial, typed angular].
    """
    spin = dict(zip(types, aenet_spins(len(types)) if spins is None else spins))
    n_r, n_a = radial_order + 1, angular_order + 1
    radial, angular = np.zeros((2, n_r)), np.zeros((2, n_a))

    def f(x, rc):
        return 0.5 * (math.cos(math.pi * x / rc) + 1.0) if x < rc else 0.0

    for j in range(len(js)):
        r_ij = float(np.linalg.norm(vecs[j]))
        s_j = spin[symbols[js[j]]]
        for n in range(n_r):
            term = math.cos(n * math.acos(min(1.0, max(-1.0, 2.0 * r_ij / radial_rc - 1.0)))) * f(r_ij, radial_rc)
            radial[0, n] += term
            radial[1, n] += s_j * term
        for k in range(j + 1, len(js)):
            r_ik = float(np.linalg.norm(vecs[k]))
            cos_t = float(np.dot(vecs[j], vecs[k])) / (r_ij * r_ik)
            s_k = spin[symbols[js[k]]]
            for n in range(n_a):
                term = (math.cos(n * math.acos(min(1.0, max(-1.0, cos_t)))) * f(r_ij, angular_rc)
                        * f(r_ik, angular_rc))
                angular[0, n] += term
                angular[1, n] += s_j * s_k * term
    parts = [radial[0], angular[0]] + ([radial[1], angular[1]] if len(types) > 1 else [])
    return np.concatenate(parts)


def ref_chebyshev_descriptors(atoms, types, radial_order, radial_rc, angular_order, angular_rc, spins=None):
    """(N, size) aenet Chebyshev descriptors of every atom (neighbours within max(R_c^r, R_c^a))."""
    symbols = atoms.get_chemical_symbols()
    entries = ref_neighbor_entries(atoms.get_positions(), atoms.cell.array, atoms.pbc, max(radial_rc, angular_rc))
    return np.array([ref_chebyshev_atom(js, vecs, symbols, types, radial_order, radial_rc, angular_order,
                                        angular_rc, spins) for js, vecs in entries])


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
    others = {
        "softplus": lambda x: np.log(1.0 + np.exp(x)),
        "relu": lambda x: np.maximum(x, 0.0),
        "gaussian": lambda x: np.exp(-(x**2) / 2.0),
        "cos": np.cos,
        "revsigmoid": lambda x: 1.0 - 1.0 / (1.0 + np.exp(-x)),
        "exp": lambda x: np.exp(-x),
        "harmonic": lambda x: x**2,
    }
    if name in others:
        return others[name](x)
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


# --------------------------------------------------------------------------- n2p2 potentials

N2P2_CUTOFF_KINDS = ["hard", "cos", "tanhu", "tanh", "exp", "poly1", "poly2", "poly3", "poly4"]
N2P2_ACTIVATIONS = {"l": "linear", "t": "tanh", "s": "sigmoid", "p": "softplus", "r": "relu", "g": "gaussian",
                    "c": "cos", "S": "revsigmoid", "e": "exp", "h": "harmonic"}


def _n2p2_settings(path):
    """input.nn as keyword -> list of argument lists ("#" comments dropped)."""
    settings = {}
    for text in open(path):
        fields = text.split("#")[0].split()
        if fields:
            settings.setdefault(fields[0], []).append(fields[1:])
    return settings


def _n2p2_table(path):
    """Non-comment lines of a data file, split into fields."""
    return [t.split() for t in open(path) if t.split() and not t.lstrip().startswith("#")]


def ref_n2p2_energy(directory, atoms, length_unit, energy_unit):
    """Energy (eV) of `atoms` under the n2p2 potential in `directory`, evaluated in the files'
    units straight from n2p2's documented definitions (positions Å / length_unit; the result
    times energy_unit). Slow: for small structures only."""
    from pathlib import Path

    from ase.data import atomic_numbers

    directory = Path(directory)
    st = _n2p2_settings(directory / "input.nn")
    elements = sorted(st["elements"][0], key=lambda e: atomic_numbers[e])
    eidx = {e: k for k, e in enumerate(elements)}
    ct = st["cutoff_type"][0]
    kind, alpha = N2P2_CUTOFF_KINDS[int(ct[0])], float(ct[1]) if len(ct) > 1 else 0.0
    if kind in ("hard", "tanhu", "tanh"):
        alpha = 0.0
    # symmetry functions: (type, rc, eta, rs, zeta, lambda, neighbour indices) sorted per element
    sfs = {e: [] for e in elements}
    for args in st.get("symfunction_short", []):
        t = int(args[1])
        if t == 2:
            sfs[args[0]].append((2, float(args[5]), float(args[3]), float(args[4]), 0.0, 0.0, (eidx[args[2]],)))
        else:
            rs = float(args[8]) if len(args) > 8 else 0.0
            nb = tuple(sorted((eidx[args[2]], eidx[args[3]])))
            sfs[args[0]].append((t, float(args[7]), float(args[4]), rs, float(args[6]), float(args[5]), nb))
    for e in elements:
        sfs[e].sort()
    # scaling
    scale, center = "scale_symmetry_functions" in st, "center_symmetry_functions" in st
    mode = ("scalecenter" if center else "scale") if scale else (
        "center" if center else ("sigma" if "scale_symmetry_functions_sigma" in st else "none"))
    smin = float(st["scale_min_short"][0][0]) if "scale_min_short" in st else 0.0
    smax = float(st["scale_max_short"][0][0]) if "scale_max_short" in st else 1.0
    stats = {}
    if mode != "none":
        for row in _n2p2_table(directory / "scaling.data"):
            stats[(int(row[0]) - 1, int(row[1]) - 1)] = [float(x) for x in row[2:]]
    # networks: place every value by its index columns
    hidden = [int(x) for x in st["global_nodes_short"][0]]
    acts = [N2P2_ACTIVATIONS[a] for a in st["global_activation_short"][0]]
    nets = {}
    for e in elements:
        sizes = [len(sfs[e]), *hidden, 1]
        ws = [np.zeros((sizes[k + 1], sizes[k])) for k in range(len(sizes) - 1)]
        bs = [np.zeros(sizes[k + 1]) for k in range(len(sizes) - 1)]
        for row in _n2p2_table(directory / f"weights.{atomic_numbers[e]:03d}.data"):
            if row[1] == "a":
                ws[int(row[3])][int(row[6]) - 1, int(row[4]) - 1] = float(row[0])
            else:
                bs[int(row[3]) - 1][int(row[4]) - 1] = float(row[0])
        nets[e] = (ws, bs)
    normalize = "normalize_nodes" in st
    mean = float(st["mean_energy"][0][0]) if "mean_energy" in st else 0.0
    conv = float(st["conv_energy"][0][0]) if "conv_energy" in st else 1.0
    offset = {e: 0.0 for e in elements}
    for args in st.get("atom_energy", []):
        offset[args[0]] = float(args[1])
    # geometry in the files' length unit
    rmax = max(f[1] for e in elements for f in sfs[e])
    pos, cell = atoms.get_positions() / length_unit, atoms.cell.array / length_unit
    symbols = atoms.get_chemical_symbols()
    total = 0.0
    for i, (js, vecs) in enumerate(ref_neighbor_entries(pos, cell, atoms.pbc, rmax)):
        e = symbols[i]
        nb = np.array([eidx[symbols[j]] for j in js], dtype=int)
        r = np.linalg.norm(vecs, axis=1)
        a, b = np.triu_indices(len(js), k=1)
        rjk = np.linalg.norm(vecs[b] - vecs[a], axis=1)
        cos_t = np.einsum("ij,ij->i", vecs[a], vecs[b]) / (r[a] * r[b])
        g = []
        for t, rc, eta, rs, zeta, lam, els in sfs[e]:
            fc = ref_cutoff(kind, r, rc, alpha)
            if t == 2:
                m = nb == els[0]
                g.append(np.sum(np.exp(-eta * (r[m] - rs) ** 2) * fc[m]))
                continue
            m = (np.minimum(nb[a], nb[b]) == els[0]) & (np.maximum(nb[a], nb[b]) == els[1])
            expo = (r[a] - rs) ** 2 + (r[b] - rs) ** 2
            fprod = fc[a] * fc[b]
            if t == 3:
                expo = expo + (rjk - rs) ** 2
                fprod = fprod * ref_cutoff(kind, rjk, rc, alpha)
            ang = np.clip(1.0 + lam * cos_t, 0.0, None) ** zeta
            g.append(2.0 ** (1.0 - zeta) * np.sum((ang * np.exp(-eta * expo) * fprod)[m]))
        x = np.array(g)
        for k in range(len(x)):
            if mode == "none":
                continue
            gmin, gmax, gmean, *sig = stats[(eidx[e], k)]
            if mode == "scale":
                x[k] = smin + (smax - smin) * (x[k] - gmin) / (gmax - gmin)
            elif mode == "center":
                x[k] = x[k] - gmean
            elif mode == "scalecenter":
                x[k] = smin + (smax - smin) * (x[k] - gmean) / (gmax - gmin)
            else:
                x[k] = smin + (smax - smin) * (x[k] - gmean) / sig[0]
        ws, bs = nets[e]
        for w, bias, act in zip(ws, bs, acts):
            x = activation(act, (w @ x + bias) / (w.shape[1] if normalize else 1.0))
        total += x[0] / conv + mean + offset[e]
    return total * energy_unit
