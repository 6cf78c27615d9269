"""Flatten a Potential into the typed arrays the Cython kernels read (ext/sf_math.pxd, nn_math.pxd).

The kernels' element indices are the potential's elements, then the vacancy X (index
len(pot.elements)): X has no symmetry functions, scatter maps that place nothing (a vacancy
is invisible to every descriptor) and a network without layers (energy 0). A move that
creates or removes an atom is then the same change of element index as any other.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..structure import species
from .descriptors import DescriptorSet
from .network import ACTIVATIONS

if TYPE_CHECKING:
    from .potential import Potential


def _ranges(groups: list[list]) -> np.ndarray:
    """Pointer array (len(groups)+1) of a list of lists laid end to end."""
    return np.concatenate([[0], np.cumsum([len(g) for g in groups])]).astype(np.int64)


def _unique(items: list) -> tuple[list, dict]:
    """Distinct items in order of first appearance, and item -> position."""
    position: dict = {}
    for it in items:
        position.setdefault(it, len(position))
    return list(position), position


def _cutoff_list(pot: "Potential") -> list[tuple[int, float, float]]:
    """Distinct resolved cutoff functions (kind number, R_c Å, α) of every function of `pot`."""
    funcs = [f for e in pot.elements for f in (*pot.descriptor_sets[e].radial, *pot.descriptor_sets[e].angular)]
    return _unique([f.cutoff.resolved(pot.cutoff) for f in funcs])[0]


def _scatter_map(rows: int, n_shapes: int, entries: list[tuple[int, int, int, float]]) -> tuple[np.ndarray, np.ndarray]:
    """Scatter map and weights, shape (rows, layers, n_shapes), from (row, shape, output, weight)
    entries: layer L of (row, shape) holds its L-th output (−1: none) and that output's weight."""
    count: dict = {}
    for row, shape, _, _ in entries:
        count[row, shape] = count.get((row, shape), 0) + 1
    layers = max(count.values(), default=1)
    out = -np.ones((rows, layers, n_shapes), np.int64)
    weight = np.zeros((rows, layers, n_shapes))
    used: dict = {}
    for row, shape, o, w in entries:
        layer = used[row, shape] = used.get((row, shape), -1) + 1
        out[row, layer, shape], weight[row, layer, shape] = o, w
    return out, weight


def _layers(out: np.ndarray, weight: np.ndarray) -> int:
    """Layers of a scatter map for the kernels: 0 for one layer with weight 1 for every output
    (plain functions: the kernels skip the weights), else the number of layers."""
    return 0 if out.shape[1] == 1 and np.all(weight[out >= 0] == 1.0) else out.shape[1]


def _element_tables(pot: "Potential", dset, index: dict, pair_slot: np.ndarray, n_pairs: int,
                    cut_pos: dict) -> dict:
    """Shape lists and scatter maps of one central element (see ext/sf_math.pxd); index: the
    kernels' element index of every species."""
    n_el = len(index)
    positions = dset.output_positions
    n_rad = len(dset.radial)

    def q(f) -> int:
        return cut_pos[f.cutoff.resolved(pot.cutoff)]

    # radial shapes: the Gaussians, then one Chebyshev series T_0..T_n per cutoff
    gauss = [f for f in dset.radial if f.basis == "gaussian"]
    rshapes, rpos = _unique([(f.eta, f.rs, q(f)) for f in gauss])
    series: dict[int, int] = {}
    for f in dset.radial:
        if f.basis == "chebyshev":
            series[q(f)] = max(series.get(q(f), 0), f.order)
    series_start = dict(zip(series, len(rshapes) + np.cumsum([0, *(n + 1 for n in series.values())])))

    def rshape(f) -> int:
        return rpos[(f.eta, f.rs, q(f))] if f.basis == "gaussian" else series_start[q(f)] + f.order

    rad_map, rad_w = _scatter_map(n_el, len(rshapes) + sum(n + 1 for n in series.values()), [
        (index[e], rshape(f), positions[k], w)
        for k, f in enumerate(dset.radial) for e, w in f.element_weights.items()])
    # angular: radial parts, factors (the (λ, ζ) powers, then T_0..T_n(cos θ)), shapes = part × factor
    parts, part_pos = _unique([(f.eta, f.rs, f.variant == "wide", q(f)) for f in dset.angular])
    lzs, lz_pos = _unique([(f.lam, f.zeta) for f in dset.angular if f.factor == "power"])
    cheb_order = max([f.order for f in dset.angular if f.factor == "chebyshev"], default=-1)

    def ashape(f) -> tuple[int, int, float]:
        factor = lz_pos[(f.lam, f.zeta)] if f.factor == "power" else len(lzs) + f.order
        return part_pos[(f.eta, f.rs, f.variant == "wide", q(f))], factor, 2.0 ** (1.0 - f.zeta)

    ashapes, apos = _unique([ashape(f) for f in dset.angular])
    ang_map, ang_w = _scatter_map(n_pairs, len(ashapes), [
        (pair_slot[index[a], index[b]], apos[ashape(f)], positions[n_rad + k], w)
        for k, f in enumerate(dset.angular) for (a, b), w in f.pair_weights.items()])
    zeta = np.array([z for _, z in lzs], float)
    cuts = {cq for _, _, _, cq in parts}
    simple = all(rs == 0.0 and not wide for _, rs, wide, _ in parts) and len(cuts) <= 1
    cut_rc = [rc for _, rc, _ in cut_pos]
    # a triplet whose R_jk is beyond every narrow part's cutoff contributes only to wide parts
    tri_rmax = max([np.inf if wide else cut_rc[cq] for _, _, wide, cq in parts], default=0.0)
    return {
        "rad_eta": np.array([e for e, _, _ in rshapes], float),
        "rad_rs": np.array([r for _, r, _ in rshapes], float),
        "rad_cut": np.array([cq for _, _, cq in rshapes], np.int64),
        "rch_cut": np.array(list(series), np.int64),
        "rch_order": np.array(list(series.values()), np.int64),
        "rad_layers": np.array([_layers(rad_map, rad_w)], np.int64),
        "rad_map": rad_map,
        "rad_w": rad_w,
        "ang_eta": np.array([e for e, _, _, _ in parts], float),
        "ang_rs": np.array([r for _, r, _, _ in parts], float),
        "ang_wide": np.array([w for _, _, w, _ in parts], np.int64),
        "ang_cut": np.array([cq for _, _, _, cq in parts], np.int64),
        "ang_simple": np.array([int(simple)], np.int64),
        "ang_q0": np.array([min(cuts, default=0)], np.int64),
        "ang_rmax": np.array([max([cut_rc[cq] for cq in cuts], default=0.0)], float),
        "tri_rmax": np.array([tri_rmax], float),
        "lz_lam": np.array([lam for lam, _ in lzs], float),
        "lz_zeta": zeta,
        "lz_izeta": np.where((zeta == np.round(zeta)) & (zeta <= 64), np.round(zeta), -1).astype(np.int64),
        "ach_order": np.array([cheb_order], np.int64),
        "sh_eta": np.array([p for p, _, _ in ashapes], np.int64),
        "sh_lz": np.array([f for _, f, _ in ashapes], np.int64),
        "sh_pref": np.array([pref for _, _, pref in ashapes], float),
        "ang_layers": np.array([_layers(ang_map, ang_w)], np.int64),
        "ang_map": ang_map,
        "ang_w": ang_w,
    }


def descriptor_tables(pot: "Potential") -> dict:
    """Symmetry-function tables: cutoff functions, per central element shapes and scatter maps
    (ext/sf_math.pxd); the last element index is the vacancy, with no functions and empty maps."""
    names = species(pot.elements)
    index = {e: k for k, e in enumerate(names)}
    n_el = len(names)
    pair_slot = np.zeros((n_el, n_el), dtype=np.int64)
    slot = 0
    for a in range(n_el):
        for b in range(a, n_el):
            pair_slot[a, b] = pair_slot[b, a] = slot
            slot += 1
    n_pairs = slot
    cutoffs = _cutoff_list(pot)
    cut_pos = {c: k for k, c in enumerate(cutoffs)}
    sets = [pot.descriptor_sets[e] for e in pot.elements] + [DescriptorSet((), ())]
    per = [_element_tables(pot, dset, index, pair_slot, n_pairs, cut_pos) for dset in sets]
    same = np.array(
        [[all(np.array_equal(p1[k], p2[k]) for k in p1) for p2 in per] for p1 in per], np.int64
    )

    def cat(key: str, dtype) -> np.ndarray:
        return np.concatenate([p[key].reshape(-1) for p in per]).astype(dtype)

    def ptr(key: str) -> np.ndarray:
        return _ranges([p[key] for p in per])

    def map_ptr(key: str, rows: int) -> np.ndarray:
        """Start of the (layers, shapes) block of every (central element, row) in the flat map."""
        blocks = [p[key][0].size for p in per]
        return np.array([sum(blocks[:c]) * rows + r * blocks[c] for c in range(n_el) for r in range(rows)],
                        np.int64)

    max_shapes = max([1] + [max(p["rad_map"].shape[2],
                                len(p["sh_eta"]) + len(p["ang_eta"]) + len(p["lz_lam"]) + p["ach_order"][0] + 1)
                            for p in per])
    tables = {
        "n_el": n_el,
        "n_pairs": n_pairs,
        "rc": float(pot.cutoff),
        "max_shapes": int(max_shapes),
        "n_cut": len(cutoffs),
        "cut_kind": np.array([k for k, _, _ in cutoffs], np.int64),
        "cut_rc": np.array([rc for _, rc, _ in cutoffs], float),
        "cut_alpha": np.array([a for _, _, a in cutoffs], float),
        "n_desc": np.array([dset.size for dset in sets], np.int64),
        "pair_slot": pair_slot.reshape(-1).copy(),
        "same_layout": same.reshape(-1).copy(),
        "rs_ptr": ptr("rad_eta"),
        "rch_ptr": ptr("rch_cut"),
        "rmap_ptr": map_ptr("rad_map", n_el),
        "aeta_ptr": ptr("ang_eta"),
        "alz_ptr": ptr("lz_lam"),
        "ash_ptr": ptr("sh_eta"),
        "amap_ptr": map_ptr("ang_map", n_pairs),
    }
    for key, dtype in (("rad_eta", float), ("rad_rs", float), ("rad_cut", np.int64), ("rch_cut", np.int64),
                       ("rch_order", np.int64), ("rad_layers", np.int64), ("rad_map", np.int64),
                       ("rad_w", float),
                       ("ang_eta", float), ("ang_rs", float), ("ang_wide", np.int64), ("ang_cut", np.int64),
                       ("ang_simple", np.int64), ("ang_q0", np.int64), ("ang_rmax", float), ("tri_rmax", float),
                       ("lz_lam", float), ("lz_zeta", float), ("lz_izeta", np.int64), ("ach_order", np.int64),
                       ("sh_eta", np.int64), ("sh_lz", np.int64), ("sh_pref", float), ("ang_layers", np.int64),
                       ("ang_map", np.int64), ("ang_w", float)):
        tables[key] = cat(key, dtype)
    return tables


def network_tables(pot: "Potential") -> dict:
    """Network tables: layers of every element end to end (weights transposed), scaling and E0;
    the vacancy (last index) has no layers, no scaling and E0 = 0."""
    layers = [lay for s in pot.elements for lay in pot.networks[s].layers]
    lay_ptr = _ranges([pot.networks[s].layers for s in pot.elements] + [[]])
    w_sizes = [lay.weights.size for lay in layers]
    b_sizes = [lay.n_out for lay in layers]
    shifts = [pot.scaling[s][0] for s in pot.elements] + [np.zeros(0)]
    scales = [pot.scaling[s][1] for s in pot.elements] + [np.zeros(0)]
    return {
        "n_el": len(pot.elements) + 1,
        "max_width": int(max([lay.n_out for lay in layers] + [len(x) for x in shifts] + [1])),
        "lay_ptr": lay_ptr,
        "lay_nin": np.array([lay.n_in for lay in layers], np.int64),
        "lay_nout": np.array([lay.n_out for lay in layers], np.int64),
        "lay_act": np.array([ACTIVATIONS[lay.activation] for lay in layers], np.int64),
        "lay_twist": np.array([lay.twist for lay in layers], float),
        "lay_woff": np.concatenate([[0], np.cumsum(w_sizes)[:-1]]).astype(np.int64),
        "lay_boff": np.concatenate([[0], np.cumsum(b_sizes)[:-1]]).astype(np.int64),
        "weights": np.concatenate([lay.weights.T.reshape(-1) for lay in layers]),
        "biases": np.concatenate([lay.bias for lay in layers]),
        "sc_off": _ranges(shifts),
        "shift": np.concatenate(shifts).astype(float) if shifts else np.zeros(0),
        "scale": np.concatenate(scales).astype(float) if scales else np.zeros(0),
        "e0": np.array([pot.e0[s] for s in pot.elements] + [0.0], float),
    }
