"""Optimisers for the network parameters: gradient descent with momentum, Adam, L-BFGS, Levenberg–Marquardt.

Each takes the NetworkStack, the training Batch, the starting parameters and options, and
calls `epoch_done(epoch, theta)` after every epoch; if that returns True the optimiser stops
(early stopping). Each returns the last parameters.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
from scipy.optimize import minimize

from .model import Batch, NetworkStack

EpochCallback = Callable[[int, np.ndarray], bool]


def _minibatches(n: int, size: int, rng: np.random.Generator):
    order = rng.permutation(n)
    for start in range(0, n, size):
        yield order[start:start + size]


def gradient_descent(stack: NetworkStack, batch: Batch, theta: np.ndarray, epochs: int, epoch_done: EpochCallback,
                     learning_rate: float = 1e-3, momentum: float = 0.9, batch_size: int = 0,
                     rng: np.random.Generator | None = None) -> np.ndarray:
    """(Mini-batch) gradient descent with classical momentum; batch_size 0 = all structures."""
    rng = rng or np.random.default_rng(0)
    velocity = np.zeros_like(theta)
    size = batch_size or batch.n_structures
    for epoch in range(1, epochs + 1):
        for index in _minibatches(batch.n_structures, size, rng):
            _, grad = stack.loss_and_gradient(theta, batch.subset(index) if size < batch.n_structures else batch)
            velocity = momentum * velocity - learning_rate * grad
            theta = theta + velocity
        if epoch_done(epoch, theta):
            break
    return theta


def adam(stack: NetworkStack, batch: Batch, theta: np.ndarray, epochs: int, epoch_done: EpochCallback,
         learning_rate: float = 1e-3, batch_size: int = 32, beta1: float = 0.9, beta2: float = 0.999,
         eps: float = 1e-8, rng: np.random.Generator | None = None) -> np.ndarray:
    """Adam (Kingma & Ba) on mini-batches of `batch_size` structures."""
    rng = rng or np.random.default_rng(0)
    m = np.zeros_like(theta)
    v = np.zeros_like(theta)
    step = 0
    for epoch in range(1, epochs + 1):
        for index in _minibatches(batch.n_structures, batch_size or batch.n_structures, rng):
            _, grad = stack.loss_and_gradient(theta, batch.subset(index))
            step += 1
            m = beta1 * m + (1 - beta1) * grad
            v = beta2 * v + (1 - beta2) * grad * grad
            theta = theta - learning_rate * (m / (1 - beta1**step)) / (np.sqrt(v / (1 - beta2**step)) + eps)
        if epoch_done(epoch, theta):
            break
    return theta


class _Stop(Exception):
    def __init__(self, theta: np.ndarray) -> None:
        self.theta = theta


def lbfgs(stack: NetworkStack, batch: Batch, theta: np.ndarray, epochs: int, epoch_done: EpochCallback,
          memory: int = 20) -> np.ndarray:
    """scipy's L-BFGS-B on all structures; one iteration is one epoch."""
    epoch = [0]

    def callback(xk: np.ndarray) -> None:
        epoch[0] += 1
        if epoch_done(epoch[0], xk):
            raise _Stop(xk.copy())

    try:
        result = minimize(lambda t: stack.loss_and_gradient(t, batch), theta, jac=True, method="L-BFGS-B",
                          callback=callback, options={"maxiter": epochs, "maxcor": memory, "gtol": 0.0,
                                                      "ftol": 0.0, "maxfun": 10 * epochs})
    except _Stop as stop:
        return stop.theta
    return result.x


#: Levenberg–Marquardt gives up (converged) when no damping up to this lowers the loss
MAX_DAMPING = 1e10


def levenberg_marquardt(stack: NetworkStack, batch: Batch, theta: np.ndarray, epochs: int,
                        epoch_done: EpochCallback, damping: float = 1e-2, factor: float = 10.0) -> np.ndarray:
    """Levenberg–Marquardt on the per-atom residuals: solve (JᵀJ + μ I) δ = −Jᵀr; μ shrinks by
    `factor` after a step that lowers the loss and grows by it otherwise."""
    mu = damping
    residual, jac = stack.residuals_and_jacobian(theta, batch)
    loss = float(np.mean(residual**2))
    for epoch in range(1, epochs + 1):
        jtj = jac.T @ jac
        jtr = jac.T @ residual
        improved = False
        while mu <= MAX_DAMPING:
            step = np.linalg.solve(jtj + mu * np.eye(len(theta)), -jtr)
            candidate = theta + step
            new_loss = float(np.mean(((stack.energies(candidate, batch) - batch.target) / batch.n_atoms) ** 2))
            if new_loss < loss:
                theta, loss, improved = candidate, new_loss, True
                residual, jac = stack.residuals_and_jacobian(theta, batch)
                mu = max(mu / factor, 1e-12)
                break
            mu *= factor
        if epoch_done(epoch, theta) or not improved:  # no damping lowers the loss: converged
            break
    return theta


OPTIMIZERS = {"gd": gradient_descent, "adam": adam, "lbfgs": lbfgs, "lm": levenberg_marquardt}
