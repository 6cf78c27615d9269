"""Replica-exchange ladders that tune themselves: pilot runs move the inner temperatures until
neighbouring exchange acceptances are equal.

Measuring acceptance. After every pilot sweep the pair (t, t+1) would accept an exchange with
probability min(1, exp[(β_t − β_{t+1})(E_t − E_{t+1})]) (`exchange_log_probability`); its mean
over the second half of the pilot's sweeps is the pair's expected acceptance A_t. It uses every
sweep's energies, so it is far less noisy than counting the exchanges actually tried.

Moving the temperatures. If the energy at inverse temperature β is Gaussian with width σ, then
x = Δβ(E_t − E_{t+1}) is Gaussian with mean −m and variance 2m (m = Δβ²σ², as dU/dβ = −σ²), and
the acceptance E[min(1, eˣ)] = erfc(Δβ σ / 2). So d_t = erfcinv(A_t) is a distance along β, linear
in Δβ at a given σ, and d_t / Δβ_t a density of distance in the interval t. The densities of all
pilot rounds are averaged on a fine β grid (round k weighs k, as later pilots start closer to
equilibrium and the noise of single rounds averages out), and the new β are placed at equal steps
of the cumulative distance between the fixed ends, which makes the predicted acceptances equal;
the common value a ladder of n temperatures allows is erfc(D / (n − 1)), D the total distance.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
from scipy.special import erfc, erfcinv

from .driver import Driver
from .exchange import exchange_log_probability
from .schedule import KB

#: acceptances are clipped into this range before erfcinv, so a pair that never (or always)
#: exchanges still gets a finite, positive distance
ACCEPTANCE_RANGE = (1e-4, 1.0 - 1e-9)


def expected_acceptance(temperatures: np.ndarray, energies: np.ndarray) -> np.ndarray:
    """Per neighbouring pair (t, t+1) the mean exchange probability over the samples.

    temperatures: (T,) K ascending; energies: (S, T) eV, the energy at each temperature index in
    each of S sweeps.
    """
    beta = 1.0 / (KB * np.asarray(temperatures, float))
    e = np.asarray(energies, float)
    log_p = exchange_log_probability(beta[:-1], beta[1:], e[:, :-1], e[:, 1:])
    return np.exp(np.minimum(log_p, 0.0)).mean(axis=0)


def distance_density(beta_grid: np.ndarray, temperatures: np.ndarray, acceptance: np.ndarray) -> np.ndarray:
    """The distance per unit β, erfcinv(A_t) / Δβ_t of the interval that holds it, at each β of
    beta_grid (1/eV), from the acceptance measured on `temperatures` (K, ascending)."""
    beta = 1.0 / (KB * np.asarray(temperatures, float))             # descending
    density = erfcinv(np.clip(acceptance, *ACCEPTANCE_RANGE)) / (beta[:-1] - beta[1:])
    interval = np.searchsorted(-beta, -np.asarray(beta_grid), side="right") - 1
    return density[np.clip(interval, 0, len(density) - 1)]


def equal_distance_ladder(beta_grid: np.ndarray, density: np.ndarray, count: int) -> tuple[np.ndarray, float]:
    """`count` temperatures (K) from the first to the last β of beta_grid (descending β, so
    ascending T) at equal steps of the distance ∫ density dβ; and the acceptance erfc(step) that
    each neighbouring pair is then predicted to have."""
    steps = 0.5 * (density[1:] + density[:-1]) * -np.diff(beta_grid)
    cumulative = np.concatenate([[0.0], np.cumsum(steps)])
    beta = np.interp(np.linspace(0.0, cumulative[-1], count), cumulative, beta_grid)
    temperatures = 1.0 / (KB * beta)
    temperatures[0], temperatures[-1] = 1.0 / (KB * beta_grid[0]), 1.0 / (KB * beta_grid[-1])
    return temperatures, float(erfc(cumulative[-1] / (count - 1)))


#: points of the β grid on which the pilots' distance densities are averaged
GRID_POINTS = 4001


@dataclass
class Tuning:
    """A tuning's record: ladders (rounds + 1, T) K, the first the starting ladder and each next one
    the result of a round; acceptance (rounds, T − 1), each round's expected acceptances measured
    on the ladder it started from; the acceptance predicted for every pair of the last ladder."""

    ladders: np.ndarray
    acceptance: np.ndarray
    sweeps: int                     # pilot sweeps per round
    predicted: float


def tune_ladder(driver: Driver, rounds: int, sweeps: int,
                report: Callable[[int, np.ndarray, np.ndarray], None] | None = None) -> Tuning:
    """Run `rounds` pilots of `sweeps` sweeps (with the driver's exchanges), re-spacing the ladder
    after each; the chains keep their states, the ladders' exchange statistics start again.

    With independent starts (driver.ladders, one per start) every start runs the pilots on the same
    ladder, each exchanging within itself, but only start 0's energies tune it: the tuned ladder and
    start 0's run are those of a campaign of one start, and the other starts begin production after
    as many pilot sweeps. report(round, acceptance, new temperatures) is called after each round.
    Every rank computes the same ladder from the allgathered energies, so no decision is broadcast.
    """
    ladder = driver.ladder
    t = ladder.temperatures
    grid = np.linspace(1.0 / (KB * t[0]), 1.0 / (KB * t[-1]), GRID_POINTS)
    ladders, acceptances = [t.copy()], []
    density_sum, weight_sum, predicted = np.zeros(GRID_POINTS), 0.0, float("nan")
    for k in range(rounds):
        energies = []
        for sweep in range(sweeps):
            energy, _ = driver.step(sweep)
            energies.append(energy[ladder.replica_at])
            driver.maybe_exchange(sweep + 1, energy)
        acceptance = expected_acceptance(ladder.temperatures, np.array(energies[sweeps // 2:]))
        density_sum += (k + 1) * distance_density(grid, ladder.temperatures, acceptance)
        weight_sum += k + 1
        tuned, predicted = equal_distance_ladder(grid, density_sum / weight_sum, len(t))
        for each in driver.ladders:
            each.temperatures = tuned.copy()
        ladders.append(tuned.copy())
        acceptances.append(acceptance)
        if report is not None:
            report(k, acceptance, ladder.temperatures)
    for each in driver.ladders:
        each.reset_statistics()
    return Tuning(np.array(ladders), np.array(acceptances).reshape(rounds, -1), sweeps, predicted)
