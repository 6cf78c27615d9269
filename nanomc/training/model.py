"""Per-element networks as one parameter vector: energies, forces, loss gradient and Jacobian in NumPy.

The loss is the mean squared per-atom energy error over structures plus, with reference
forces, the weighted mean squared force component error over the K force atoms,
    L(θ) = (1/S) Σ_s ((E_s(θ) − E_s^ref) / N_s)² + w_F (1/3K) Σ_k |F_k(θ) − F_k^ref|²,
    E_s = Σ_{i∈s} NN_{e(i)}(x_i; θ),   F_k = −Σ_i ∇_x NN_{e(i)}(x_i; θ) · dx_i/dr_k,
with x_i the scaled descriptors (eV²/atom² and eV²/Å²; w_F in Å²/atom²). All networks are
trained at once, since the energy of a structure involves every element's network. Gradients
are by back-propagation; the force term's needs the derivative of ∇_x NN with respect to θ,
which is back-propagation through the network's forward-mode tangent (second derivatives
of the activations).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
from scipy import sparse

from ..potential.network import Layer, Network
from .forces import ForceTerms

#: activations the trainer can differentiate twice (the force term needs second derivatives)
TRAINABLE_ACTIVATIONS = ("tanh", "sigmoid", "twisted_tanh")


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


def activation_second_derivative(name: str, z: np.ndarray, a: np.ndarray, twist: float) -> np.ndarray:
    """d² act / dz², given z and a = act(z)."""
    if name == "tanh":
        return -2.0 * a * (1.0 - a * a)
    if name == "sigmoid":
        return a * (1.0 - a) * (1.0 - 2.0 * a)
    if name == "twisted_tanh":
        t = np.tanh(2.0 * z / 3.0)
        return -1.7159 * (8.0 / 9.0) * t * (1.0 - t * t)
    return np.zeros_like(z)


@dataclass
class Batch:
    """Structures for training: per element the scaled descriptors of its atoms and the
    structure each atom belongs to; atom counts, target energies (eV, E0 removed) and, if the
    data have them, reference forces."""

    x: dict[str, np.ndarray]
    structure: dict[str, np.ndarray]
    n_atoms: np.ndarray
    target: np.ndarray
    forces: ForceTerms | None = None

    @property
    def n_structures(self) -> int:
        return len(self.n_atoms)

    def subset(self, index: np.ndarray) -> "Batch":
        """The structures `index` (renumbered 0..len(index)-1)."""
        new = -np.ones(self.n_structures, np.int64)
        new[index] = np.arange(len(index))
        x, structure, new_row = {}, {}, {}
        for e in self.x:
            keep = new[self.structure[e]] >= 0
            x[e] = self.x[e][keep]
            structure[e] = new[self.structure[e][keep]]
            new_row[e] = np.where(keep, np.cumsum(keep) - 1, -1)
        forces = self.forces.subset(new, new_row) if self.forces is not None else None
        return Batch(x, structure, self.n_atoms[index], self.target[index], forces)


class NetworkStack:
    """The layer shapes and activations of every element's network, their parameter vector, and
    the loss: force_weight w_F (Å²/atom²) weighs the force term against the energy term."""

    def __init__(self, networks: dict[str, Network], force_weight: float = 0.0) -> None:
        self.force_weight = force_weight
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

    def _input_gradients(self, params, batch: Batch) -> tuple[dict[str, np.ndarray], dict[str, tuple]]:
        """∇_x NN (eV per scaled descriptor unit) at the rows the forces need, per element, and
        the forward passes at those rows."""
        grads, passes = {}, {}
        for e, rows in batch.forces.rows.items():
            a_list, z_list = self._forward(e, params[e], batch.x[e][rows])
            deltas = self._output_deltas(e, params[e], a_list, z_list, np.ones((len(rows), 1)))
            grads[e] = deltas[0] @ params[e][0][0]
            passes[e] = (a_list, z_list)
        return grads, passes

    def forces(self, theta: np.ndarray, batch: Batch) -> np.ndarray:
        """Predicted forces (K, 3) in eV/Å on the batch's force atoms."""
        return batch.forces.predict(self._input_gradients(self.unpack(theta), batch)[0])

    def _tangent_backward(self, e: str, params, a_list, z_list, v: np.ndarray, seed: float, gparams) -> None:
        """Add to gparams the gradient with respect to e's parameters of seed · Σ_n v_n · ∇_x NN(x_n),
        by back-propagation through the forward-mode tangent ȧ_l = σ'(z_l) W_l ȧ_{l−1}, ȧ_0 = v."""
        tangents, dz = [v], []
        for layer, (w, _) in enumerate(params):
            act, tw = self.activations[e][layer]
            dz.append(tangents[-1] @ w.T)
            tangents.append(activation_derivative(act, z_list[layer], a_list[layer + 1], tw) * dz[-1])
        adj_tangent = np.full((len(v), 1), seed)
        adj_value = np.zeros((len(v), 1))
        for layer in range(len(params) - 1, -1, -1):
            act, tw = self.activations[e][layer]
            z, a = z_list[layer], a_list[layer + 1]
            slope = activation_derivative(act, z, a, tw)
            adj_dz = slope * adj_tangent
            adj_z = activation_second_derivative(act, z, a, tw) * dz[layer] * adj_tangent + slope * adj_value
            gparams[layer][0][...] += adj_dz.T @ tangents[layer] + adj_z.T @ a_list[layer]
            gparams[layer][1][...] += adj_z.sum(axis=0)
            w = params[layer][0]
            adj_tangent, adj_value = adj_dz @ w, adj_z @ w

    def _force_loss(self, params, batch: Batch, gparams) -> float:
        """w_F · mean squared force component error (eV²/Å² · w_F); adds its gradient to gparams."""
        terms = batch.forces
        grads, passes = self._input_gradients(params, batch)
        diff = terms.predict(grads) - terms.reference
        coefficient = 2.0 * self.force_weight / diff.size
        for e, v in terms.pull_back(diff).items():
            if len(v):
                self._tangent_backward(e, params[e], *passes[e], v, -coefficient, gparams[e])
        return self.force_weight * float(np.mean(diff**2))

    def uses_forces(self, batch: Batch) -> bool:
        """True if the loss on `batch` has a force term."""
        return bool(self.force_weight) and batch.forces is not None and batch.forces.n_forces > 0

    def loss_and_gradient(self, theta: np.ndarray, batch: Batch) -> tuple[float, np.ndarray]:
        """The loss (energy and, if weighted, force term; see the module) and its gradient with
        respect to theta."""
        def d_loss(energy: np.ndarray) -> np.ndarray:
            residual[...] = (energy - batch.target) / batch.n_atoms
            return 2.0 * residual / batch.n_atoms / batch.n_structures

        residual = np.zeros(batch.n_structures)
        _, grad = self.energies_and_gradient(theta, batch, d_loss)
        loss = float(np.mean(residual**2))
        if self.uses_forces(batch):
            loss += self._force_loss(self.unpack(theta), batch, self.unpack(grad))
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
