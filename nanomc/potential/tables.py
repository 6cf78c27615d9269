"""Flatten a Potential into the typed arrays the Cython kernels read (ext/sf_math.pxd, nn_math.pxd)."""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

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


def _element_tables(dset, elements: tuple, pair_slot: np.ndarray, n_pairs: int) -> dict:
    """Shape lists and scatter maps of one central element (see ext/sf_math.pxd)."""
    n_el = len(elements)
    index = {e: k for k, e in enumerate(elements)}
    rshapes, rpos = _unique([(f.eta, f.rs) for f in dset.radial])
    rad_map = -np.ones((n_el, len(rshapes)), np.int64)
    for out, f in enumerate(dset.radial):
        rad_map[index[f.element], rpos[(f.eta, f.rs)]] = out
    etas, eta_pos = _unique([f.eta for f in dset.angular])
    lzs, lz_pos = _unique([(f.lam, f.zeta) for f in dset.angular])
    ashapes, apos = _unique([(f.eta, f.lam, f.zeta) for f in dset.angular])
    ang_map = -np.ones((n_pairs, len(ashapes)), np.int64)
    for k, f in enumerate(dset.angular):
        p = pair_slot[index[f.elements[0]], index[f.elements[1]]]
        ang_map[p, apos[(f.eta, f.lam, f.zeta)]] = len(dset.radial) + k
    zeta = np.array([z for _, z in lzs], float)
    return {
        "rad_eta": np.array([e for e, _ in rshapes], float),
        "rad_rs": np.array([r for _, r in rshapes], float),
        "rad_map": rad_map,
        "ang_eta": np.array(etas, float),
        "lz_lam": np.array([lam for lam, _ in lzs], float),
        "lz_zeta": zeta,
        "lz_izeta": np.where((zeta == np.round(zeta)) & (zeta <= 64), np.round(zeta), -1).astype(np.int64),
        "sh_eta": np.array([eta_pos[e] for e, _, _ in ashapes], np.int64),
        "sh_lz": np.array([lz_pos[(lam, z)] for _, lam, z in ashapes], np.int64),
        "sh_pref": np.array([2.0 ** (1.0 - z) for _, _, z in ashapes], float),
        "ang_map": ang_map,
    }


def descriptor_tables(pot: "Potential") -> dict:
    """Symmetry-function tables: per central element, shapes and scatter maps (ext/sf_math.pxd)."""
    n_el = len(pot.elements)
    pair_slot = np.zeros((n_el, n_el), dtype=np.int64)
    slot = 0
    for a in range(n_el):
        for b in range(a, n_el):
            pair_slot[a, b] = pair_slot[b, a] = slot
            slot += 1
    n_pairs = slot
    per = [_element_tables(pot.descriptor_sets[e], pot.elements, pair_slot, n_pairs) for e in pot.elements]
    same = np.array(
        [[all(np.array_equal(p1[k], p2[k]) for k in p1) for p2 in per] for p1 in per], np.int64
    )

    def cat(key: str, dtype) -> np.ndarray:
        return np.concatenate([p[key].reshape(-1) for p in per]).astype(dtype)

    def ptr(key: str) -> np.ndarray:
        return _ranges([p[key] for p in per])

    n_rsh = [len(p["rad_eta"]) for p in per]
    n_ash = [len(p["sh_eta"]) for p in per]
    rmap_ptr = np.array([sum(n_el * n for n in n_rsh[:c]) + e * n_rsh[c]
                         for c in range(n_el) for e in range(n_el)], np.int64)
    amap_ptr = np.array([sum(n_pairs * n for n in n_ash[:c]) + q * n_ash[c]
                         for c in range(n_el) for q in range(n_pairs)], np.int64)
    max_shapes = max([1] + [max(len(p["rad_eta"]), len(p["sh_eta"]) + len(p["ang_eta"]) + len(p["lz_lam"]))
                            for p in per])
    return {
        "n_el": n_el,
        "n_pairs": n_pairs,
        "rc": float(pot.cutoff),
        "max_shapes": int(max_shapes),
        "n_desc": np.array([pot.descriptor_sets[s].size for s in pot.elements], np.int64),
        "pair_slot": pair_slot.reshape(-1).copy(),
        "same_layout": same.reshape(-1).copy(),
        "rs_ptr": ptr("rad_eta"),
        "rad_eta": cat("rad_eta", float),
        "rad_rs": cat("rad_rs", float),
        "rmap_ptr": rmap_ptr,
        "rad_map": cat("rad_map", np.int64),
        "aeta_ptr": ptr("ang_eta"),
        "ang_eta": cat("ang_eta", float),
        "alz_ptr": ptr("lz_lam"),
        "lz_lam": cat("lz_lam", float),
        "lz_zeta": cat("lz_zeta", float),
        "lz_izeta": cat("lz_izeta", np.int64),
        "ash_ptr": ptr("sh_eta"),
        "sh_eta": cat("sh_eta", np.int64),
        "sh_lz": cat("sh_lz", np.int64),
        "sh_pref": cat("sh_pref", float),
        "amap_ptr": amap_ptr,
        "ang_map": cat("ang_map", np.int64),
    }


def network_tables(pot: "Potential") -> dict:
    """Network tables: layers of every element end to end (weights transposed), scaling and E0."""
    layers = [lay for s in pot.elements for lay in pot.networks[s].layers]
    lay_ptr = _ranges([pot.networks[s].layers for s in pot.elements])
    w_sizes = [lay.weights.size for lay in layers]
    b_sizes = [lay.n_out for lay in layers]
    shifts = [pot.scaling[s][0] for s in pot.elements]
    scales = [pot.scaling[s][1] for s in pot.elements]
    return {
        "n_el": len(pot.elements),
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
        "e0": np.array([pot.e0[s] for s in pot.elements], float),
    }
