"""Per-element networks as one parameter vector: energies, loss gradient and Jacobian in NumPy.

The loss is the mean squared per-atom energy error over structures,
    L(θ) = (1/S) Σ_s ((E_s(θ) − E_s^ref) / N_s)²,   E_s = Σ_{i∈s} NN_{e(i)}(x_i; θ)
with x_i the scaled descriptors. All networks are trained at once, since the energy of a
structure involves every element's network. Gradients are by back-propagation.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
from scipy import sparse

from ..potential.network import Layer, Network


def activation(name: str, z: np.ndarray, twist: float) -> np.ndarray:
    """Activation value; names as in nanomc.potential.network.ACTIVATIONS."""
    if name == "tanh":
        return np.tanh(z)
    if name == "sigmoid":
        return 1.0 / (1.0 + np.exp(-z))
    if name == "twisted_tanh":
        return 1.7159 * np.tanh(2.0 * z / 3.0) + twist * z
    return z


def activation_derivative(name: str, z: np.ndarray, a: np.ndarray, twist: float) -> np.ndarray:
    """d act / dz, given z and a = act(z)."""
    if name == "tanh":
        return 1.0 - a * a
    if name == "sigmoid":
        return a * (1.0 - a)
    if name == "twisted_tanh":
        t = np.tanh(2.0 * z / 3.0)
        return 1.7159 * (2.0 / 3.0) * (1.0 - t * t) + twist
    return np.ones_like(z)


@dataclass
class Batch:
    """Structures for training: per element the scaled descriptors of its atoms and the
    structure each atom belongs to; atom counts and target energies (eV, E0 removed)."""

    x: dict[str, np.ndarray]
    structure: dict[str, np.ndarray]
    n_atoms: np.ndarray
    target: np.ndarray

    @property
    def n_structures(self) -> int:
        return len(self.n_atoms)

    def subset(self, index: np.ndarray) -> "Batch":
        """The structures `index` (renumbered 0..len(index)-1)."""
        new = -np.ones(self.n_structures, np.int64)
        new[index] = np.arange(len(index))
        x, structure = {}, {}
        for e in self.x:
            keep = new[self.structure[e]] >= 0
            x[e] = self.x[e][keep]
            structure[e] = new[self.structure[e][keep]]
        return Batch(x, structure, self.n_atoms[index], self.target[index])


class NetworkStack:
    """The layer shapes and activations of every element's network, and their parameter vector."""

    def __init__(self, networks: dict[str, Network]) -> None:
        self.elements = list(networks)
        self.activations = {e: [(lay.activation, lay.twist) for lay in networks[e].layers] for e in networks}
        self.shapes = {e: [lay.weights.shape for lay in networks[e].layers] for e in networks}
        self.n_params = sum(o * i + o for e in self.elements for (o, i) in self.shapes[e])

    def pack(self, networks: dict[str, Network]) -> np.ndarray:
        """Parameter vector of the networks (per element, per layer: weights row-major, bias)."""
        parts = [p for e in self.elements for lay in networks[e].layers for p in (lay.weights.ravel(), lay.bias)]
        return np.concatenate(parts)

    def unpack(self, theta: np.ndarray) -> dict[str, list[tuple[np.ndarray, np.ndarray]]]:
        """Views (W, b) per element and layer into theta."""
        out, k = {}, 0
        for e in self.elements:
            layers = []
            for o, i in self.shapes[e]:
                w = theta[k:k + o * i].reshape(o, i)
                k += o * i
                layers.append((w, theta[k:k + o]))
                k += o
            out[e] = layers
        return out

    def networks(self, theta: np.ndarray) -> dict[str, Network]:
        """Network objects with the parameters theta."""
        return {e: Network([Layer(w.copy(), b.copy(), act, tw)
                            for (w, b), (act, tw) in zip(layers, self.activations[e])])
                for e, layers in self.unpack(theta).items()}

    # ------------------------------------------------------------ evaluation
    def _forward(self, e: str, params, x: np.ndarray) -> tuple[list, list]:
        a_list, z_list = [x], []
        for (w, b), (act, tw) in zip(params, self.activations[e]):
            z = a_list[-1] @ w.T + b
            z_list.append(z)
            a_list.append(activation(act, z, tw))
        return a_list, z_list

    def energies(self, theta: np.ndarray, batch: Batch) -> np.ndarray:
        """Predicted energy per structure (eV, without E0)."""
        params = self.unpack(theta)
        energy = np.zeros(batch.n_structures)
        for e in self.elements:
            if len(batch.x[e]):
                a_list, _ = self._forward(e, params[e], batch.x[e])
                energy += np.bincount(batch.structure[e], weights=a_list[-1][:, 0], minlength=batch.n_structures)
        return energy

    def _output_deltas(self, e: str, params, a_list, z_list, seed: np.ndarray) -> list[np.ndarray]:
        """d(Σ seed_i out_i)/dz per layer (seed (n, 1)); with seed = 1, per-atom d out_i / dz."""
        deltas = [None] * len(params)
        act, tw = self.activations[e][-1]
        delta = seed * activation_derivative(act, z_list[-1], a_list[-1], tw)
        for layer in range(len(params) - 1, -1, -1):
            deltas[layer] = delta
            if layer:
                act, tw = self.activations[e][layer - 1]
                delta = (delta @ params[layer][0]) * activation_derivative(act, z_list[layer - 1], a_list[layer], tw)
        return deltas

    def loss_and_gradient(self, theta: np.ndarray, batch: Batch) -> tuple[float, np.ndarray]:
        """Mean squared per-atom energy error (eV²/atom²) and its gradient with respect to theta."""
        params = self.unpack(theta)
        grad = np.zeros_like(theta)
        gparams = self.unpack(grad)
        cache, energy = {}, np.zeros(batch.n_structures)
        for e in self.elements:
            if len(batch.x[e]):
                a_list, z_list = self._forward(e, params[e], batch.x[e])
                cache[e] = (a_list, z_list)
                energy += np.bincount(batch.structure[e], weights=a_list[-1][:, 0], minlength=batch.n_structures)
        residual = (energy - batch.target) / batch.n_atoms
        loss = float(np.mean(residual**2))
        d_energy = 2.0 * residual / batch.n_atoms / batch.n_structures
        for e, (a_list, z_list) in cache.items():
            seed = d_energy[batch.structure[e]][:, None]
            for layer, delta in enumerate(self._output_deltas(e, params[e], a_list, z_list, seed)):
                gparams[e][layer][0][...] = delta.T @ a_list[layer]
                gparams[e][layer][1][...] = delta.sum(axis=0)
        return loss, grad

    def energies_and_gradient(self, theta: np.ndarray, batch: Batch,
                              d_loss: Callable[[np.ndarray], np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Energy per structure (eV, without E0) and Σ_s g_s ∂E_s/∂θ with g = d_loss(energies):
        the gradient of any loss of the structure energies whose derivative d_loss gives."""
        params = self.unpack(theta)
        grad = np.zeros_like(theta)
        gparams = self.unpack(grad)
        cache, energy = {}, np.zeros(batch.n_structures)
        for e in self.elements:
            if len(batch.x[e]):
                cache[e] = self._forward(e, params[e], batch.x[e])
                energy += np.bincount(batch.structure[e], weights=cache[e][0][-1][:, 0], minlength=batch.n_structures)
        d_energy = d_loss(energy)
        for e, (a_list, z_list) in cache.items():
            seed = d_energy[batch.structure[e]][:, None]
            for layer, delta in enumerate(self._output_deltas(e, params[e], a_list, z_list, seed)):
                gparams[e][layer][0][...] = delta.T @ a_list[layer]
                gparams[e][layer][1][...] = delta.sum(axis=0)
        return energy, grad

    def residuals_and_jacobian(self, theta: np.ndarray, batch: Batch, chunk: int = 4096) -> tuple[np.ndarray, np.ndarray]:
        """Per-atom residuals r_s = (E_s − E_s^ref)/N_s and the Jacobian dr_s/dθ (S × P)."""
        params = self.unpack(theta)
        jac = np.zeros((batch.n_structures, self.n_params))
        offsets, k = {}, 0
        for e in self.elements:
            offsets[e] = []
            for o, i in self.shapes[e]:
                offsets[e].append((k, k + o * i, k + o * i + o))
                k += o * i + o
        energy = np.zeros(batch.n_structures)
        for e in self.elements:
            n = len(batch.x[e])
            for start in range(0, n, chunk):
                x = batch.x[e][start:start + chunk]
                owner = batch.structure[e][start:start + chunk]
                a_list, z_list = self._forward(e, params[e], x)
                energy += np.bincount(owner, weights=a_list[-1][:, 0], minlength=batch.n_structures)
                per_structure = sparse.csr_matrix(
                    (1.0 / batch.n_atoms[owner], (owner, np.arange(len(x)))), shape=(batch.n_structures, len(x)))
                deltas = self._output_deltas(e, params[e], a_list, z_list, np.ones((len(x), 1)))
                for layer, delta in enumerate(deltas):
                    w0, b0, b1 = offsets[e][layer]
                    outer = (delta[:, :, None] * a_list[layer][:, None, :]).reshape(len(x), -1)
                    jac[:, w0:b0] += per_structure @ outer
                    jac[:, b0:b1] += per_structure @ delta
        return (energy - batch.target) / batch.n_atoms, jac
