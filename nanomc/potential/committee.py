"""Committees: N networks per element whose mean is the energy and whose spread is an uncertainty.

The members of a committee share the descriptors, the scaling and E0 and differ only in their
weights. Their mean is then exactly one wider network (fuse): the first hidden layers stacked,
every later hidden layer block-diagonal, the linear output layer's weights divided by N and
its bias averaged. Every activation acts on one neuron at a time, so each block of the wide
network computes one member's hidden values and the linear output sums them with weight 1/N:
    NN_fused(x) = (1/N) Σ_m NN_m(x)
for any activations, provided the members have the same number of layers and, layer by
layer, the same activation and twist. The incremental engine runs the fused network and so
keeps the mean exact at the cost of one network N times wider.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
from scipy.linalg import block_diag

from ..errors import PotentialError
from .network import Layer, Network


def fuse_networks(members: Sequence[Network], label: str = "") -> Network:
    """One network whose output is the mean of the members' outputs (eV), exactly.

    The members must have the same input size, the same number of layers, and per layer the
    same activation and twist; PotentialError otherwise. One member is returned unchanged.
    """
    if not members:
        raise PotentialError(f"committee of {label} has no members")
    if len(members) == 1:
        return members[0]
    first = members[0]
    for m, net in enumerate(members[1:], start=1):
        if len(net.layers) != len(first.layers) or net.n_inputs != first.n_inputs:
            raise PotentialError(f"committee of {label}: member {m} has layers {net.sizes}, member 0 {first.sizes}; "
                                 f"members must have the same inputs and number of layers")
        for k, (a, b) in enumerate(zip(first.layers, net.layers)):
            if (a.activation, a.twist) != (b.activation, b.twist):
                raise PotentialError(f"committee of {label}: layer {k} of member {m} is {b.activation} "
                                     f"(twist {b.twist}), of member 0 {a.activation} (twist {a.twist})")
    n = len(members)
    layers = []
    last = len(first.layers) - 1
    for k, template in enumerate(first.layers):
        parts = [net.layers[k] for net in members]
        if k == last:
            # linear output: (1/N) Σ_m w_m·h_m + mean bias; without hidden layers, the mean map
            weights = (np.mean([p.weights for p in parts], axis=0) if k == 0
                       else np.hstack([p.weights for p in parts]) / n)
            bias = np.array([np.mean([p.bias[0] for p in parts])])
        else:
            weights = np.vstack([p.weights for p in parts]) if k == 0 else block_diag(*[p.weights for p in parts])
            bias = np.concatenate([p.bias for p in parts])
        layers.append(Layer(weights, bias, template.activation, template.twist))
    return Network(layers)


def fuse_committee(members: Sequence[Mapping[str, Network]], elements: Sequence[str]) -> dict[str, Network]:
    """Per element the fused network (fuse_networks) of the members' networks."""
    for m, nets in enumerate(members):
        missing = [e for e in elements if e not in nets]
        if missing:
            raise PotentialError(f"committee member {m} has no network for {', '.join(missing)}")
    return {e: fuse_networks([nets[e] for nets in members], e) for e in elements}
