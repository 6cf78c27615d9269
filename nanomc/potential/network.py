"""Per-element feed-forward networks: layers, activations, weights.

A network maps the scaled descriptor vector of an atom to its atomic energy (eV, before E0).
Each layer computes y = act(W x + b); the last layer has one output and is linear.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from ..errors import PotentialError

#: activation name -> kernel code (ext/nn_math.pxd). linear x; tanh; sigmoid 1/(1 + e^−x);
#: twisted_tanh 1.7159·tanh(2x/3) + a·x; softplus ln(1 + e^x); relu max(0, x); gaussian e^(−x²/2);
#: cos; revsigmoid 1 − 1/(1 + e^−x); exp e^−x; harmonic x² (the last seven as n2p2 defines them)
ACTIVATIONS = {"linear": 0, "tanh": 1, "sigmoid": 2, "twisted_tanh": 3, "softplus": 4, "relu": 5,
               "gaussian": 6, "cos": 7, "revsigmoid": 8, "exp": 9, "harmonic": 10}


@dataclass
class Layer:
    """One dense layer: weights (n_out, n_in), bias (n_out,), activation, twist coefficient a."""

    weights: np.ndarray
    bias: np.ndarray
    activation: str
    twist: float = 0.0

    def __post_init__(self) -> None:
        self.weights = np.ascontiguousarray(self.weights, dtype=float)
        self.bias = np.ascontiguousarray(self.bias, dtype=float).reshape(-1)

    @property
    def n_in(self) -> int:
        return self.weights.shape[1]

    @property
    def n_out(self) -> int:
        return self.weights.shape[0]


@dataclass
class Network:
    """A feed-forward network; layers[-1] has one linear output (eV)."""

    layers: list[Layer] = field(default_factory=list)

    @property
    def n_inputs(self) -> int:
        return self.layers[0].n_in

    @property
    def sizes(self) -> list[int]:
        """Layer widths including the input: [n_in, h1, ..., 1]."""
        return [self.layers[0].n_in] + [lay.n_out for lay in self.layers]

    def validate(self, n_inputs: int, label: str) -> None:
        """Raise PotentialError unless shapes chain from n_inputs to a single linear output."""
        if not self.layers:
            raise PotentialError(f"network of {label} has no layers")
        width = n_inputs
        for k, lay in enumerate(self.layers):
            if lay.weights.ndim != 2 or lay.n_in != width or lay.bias.shape != (lay.n_out,):
                raise PotentialError(
                    f"network of {label}: layer {k} has weights {lay.weights.shape} and bias "
                    f"{lay.bias.shape}, expected ({lay.n_out}, {width}) and ({lay.n_out},)"
                )
            if lay.activation not in ACTIVATIONS:
                raise PotentialError(
                    f"network of {label}: layer {k} activation {lay.activation!r} is not one of {sorted(ACTIVATIONS)}"
                )
            if not (np.all(np.isfinite(lay.weights)) and np.all(np.isfinite(lay.bias)) and np.isfinite(lay.twist)):
                raise PotentialError(f"network of {label}: layer {k} has non-finite weights")
            width = lay.n_out
        if width != 1 or self.layers[-1].activation != "linear":
            raise PotentialError(f"network of {label} must end in one linear output")

    def widened(self, hidden: Sequence[int], rng: np.random.Generator, scale: float = 0.1) -> "Network":
        """This network with hidden layers of widths `hidden` (each at least the present one), computing
        exactly the same energies (eV): new units get small random incoming weights (standard deviation
        `scale`/√n_in) and biases, and zero weights into the units that were there. A function-preserving
        start for training a larger network from a trained smaller one (`[network] initial`)."""
        old = [lay.n_out for lay in self.layers[:-1]]
        if len(hidden) != len(old) or any(h < o for h, o in zip(hidden, old)):
            raise PotentialError(f"cannot widen hidden layers {old} to {list(hidden)}: give as many layers, "
                                 f"each at least as wide")
        sizes = [self.n_inputs, *hidden, 1]
        layers = []
        for k, lay in enumerate(self.layers):
            weights, bias = np.zeros((sizes[k + 1], sizes[k])), np.zeros(sizes[k + 1])
            weights[:lay.n_out, :lay.n_in], bias[:lay.n_out] = lay.weights, lay.bias
            n_new = sizes[k + 1] - lay.n_out
            weights[lay.n_out:] = rng.normal(0.0, scale / np.sqrt(sizes[k]), (n_new, sizes[k]))
            bias[lay.n_out:] = rng.normal(0.0, scale, n_new)
            layers.append(Layer(weights, bias, lay.activation, lay.twist))
        return Network(layers)

    @classmethod
    def random(
        cls,
        n_inputs: int,
        hidden: Sequence[int],
        activation: str = "tanh",
        rng: np.random.Generator | None = None,
        twist: float = 0.0,
    ) -> "Network":
        """Random weights (Glorot-uniform) for layers n_inputs → hidden... → 1."""
        rng = np.random.default_rng() if rng is None else rng
        sizes = [n_inputs, *hidden, 1]
        layers = []
        for k in range(len(sizes) - 1):
            bound = np.sqrt(6.0 / (sizes[k] + sizes[k + 1]))
            w = rng.uniform(-bound, bound, (sizes[k + 1], sizes[k]))
            b = rng.uniform(-0.1, 0.1, sizes[k + 1])
            last = k == len(sizes) - 2
            layers.append(Layer(w, b, "linear" if last else activation, 0.0 if last else twist))
        return cls(layers)
