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


def descriptor_tables(pot: "Potential") -> dict:
    """Symmetry-function tables: functions grouped by (central, neighbour element / pair)."""
    n_el = len(pot.elements)
    pair_slot = np.zeros((n_el, n_el), dtype=np.int64)
    slot = 0
    for a in range(n_el):
        for b in range(a, n_el):
            pair_slot[a, b] = pair_slot[b, a] = slot
            slot += 1
    n_pairs = slot
    rad_groups: list[list] = [[] for _ in range(n_el * n_el)]
    ang_groups: list[list] = [[] for _ in range(n_el * n_pairs)]
    for c, symbol in enumerate(pot.elements):
        radial, angular = pot.descriptor_sets[symbol].to_arrays(pot.elements)
        for out, (eta, rs, e) in enumerate(radial):
            rad_groups[c * n_el + int(e)].append((eta, rs, out))
        for k, (eta, zeta, lam, a, b) in enumerate(angular):
            p = pair_slot[int(a), int(b)]
            ang_groups[c * n_pairs + p].append((eta, zeta, lam, len(radial) + k))
    rad = [f for g in rad_groups for f in g]
    ang = [f for g in ang_groups for f in g]
    zeta = np.array([f[1] for f in ang], float)
    izeta = np.where((zeta == np.round(zeta)) & (zeta <= 64), np.round(zeta), -1).astype(np.int64)
    return {
        "n_el": n_el,
        "n_pairs": n_pairs,
        "rc": float(pot.cutoff),
        "n_desc": np.array([pot.descriptor_sets[s].size for s in pot.elements], np.int64),
        "pair_slot": pair_slot.reshape(-1).copy(),
        "rad_ptr": _ranges(rad_groups),
        "rad_eta": np.array([f[0] for f in rad], float),
        "rad_rs": np.array([f[1] for f in rad], float),
        "rad_out": np.array([f[2] for f in rad], np.int64),
        "ang_ptr": _ranges(ang_groups),
        "ang_eta": np.array([f[0] for f in ang], float),
        "ang_zeta": zeta,
        "ang_lam": np.array([f[2] for f in ang], float),
        "ang_pref": 2.0 ** (1.0 - zeta),
        "ang_izeta": izeta,
        "ang_out": np.array([f[3] for f in ang], np.int64),
    }


def network_tables(pot: "Potential") -> dict:
    """Network tables: layers of every element end to end, scaling and E0."""
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
        "weights": np.concatenate([lay.weights.reshape(-1) for lay in layers]),
        "biases": np.concatenate([lay.bias for lay in layers]),
        "sc_off": _ranges(shifts),
        "shift": np.concatenate(shifts).astype(float) if shifts else np.zeros(0),
        "scale": np.concatenate(scales).astype(float) if scales else np.zeros(0),
        "e0": np.array([pot.e0[s] for s in pot.elements], float),
    }
