"""Convergence diagnostics across independent starts: rank-normalised split-R̂, bulk and tail ESS.

Vehtari, Gelman, Simpson, Carpenter, Bürkner, "Rank-normalization, folding, and localization: an
improved R̂ for assessing convergence of MCMC", Bayesian Analysis 16, 667 (2021), as Stan and
ArviZ compute them. The draws of one quantity are an array (chains, draws): one row per
independent start (its kept, time-ordered samples). Every chain is split into halves (a trailing
odd draw of the first half dropped, as ArviZ does), so with one start the two halves of its chain
are compared.

  R̂        max of the bulk R̂ (of the rank-normalised split chains) and the tail R̂ (of the
            rank-normalised |x − median|); 1 when all chains sample the same distribution,
            above 1 when they disagree in location or scale. A chain constant at a value other
            chains do not share gives +inf.
  ESS bulk  effective sample size of the rank-normalised split chains (Geyer's initial
            monotone sequence over the averaged autocorrelations): about N/(2 τ_int) of the
            mean for a stationary series of N draws, τ_int in the convention of
            `statistics` (0.5 for independent draws).
  ESS tail  the smaller ESS of the indicators x ≤ q(5%) and x ≤ q(95%).
A quantity constant over every draw of every chain (to a tolerance, for rounding) has R̂ = 1 and
ESS = number of draws, and is converged whatever the thresholds: all starts agree exactly. Fewer
than MIN_DRAWS = 4 draws in each half of a chain: NaN.

Thresholds (Vehtari et al.): R̂ ≤ RHAT_MAX = 1.01 and bulk and tail ESS ≥ ESS_MIN = 400. Below
an ESS of 400 R̂ itself is too noisy to resolve 1.01 (its sampling spread is about 1/√ESS in the
variance ratio), and the standard error of the mean is uncertain by 1/√(2 ESS) ≈ 3.5 % at 400.

Independent populations (population annealing with K starts, `agreement`). A population's walkers
are not a time series, so there is nothing to split and no R̂; instead every population gives an
estimate x_s of each quantity with its own error σ_s (clustered by family), and the K estimates are
independent replicates of one number. They agree when χ² = Σ_s (x_s − x̄_w)²/σ_s² about their
inverse-variance weighted mean x̄_w is what K − 1 degrees of freedom give by chance: the quantity
is not converged when the χ² tail probability p falls below AGREEMENT_P_MIN = 0.01 (a 1 % false
alarm rate per value for populations that do sample the same distribution, with Gaussian
estimates and exact errors). The test has power where R̂ has it: populations stuck in different
basins disagree by many of their own errors (their walkers, each population's family-clustered
error, hardly spread). Its weakness is its input: an error from few families is itself noisy
and often too small (see statistics.MIN_CLUSTERS), which inflates χ² — a false alarm, not a missed
one. The pooled value is the plain mean of the K estimates (equal populations, equal weight: an
inverse-variance mean would give a stuck population with a tiny error all the weight), and its
error the larger of the spread error s/√K (s the standard deviation of the K estimates, K − 1
degrees of freedom) and the propagated error √(Σ_s σ_s²)/K: with few populations the spread alone
can be small by chance.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import fft, stats

#: R̂ above this: the starts (or halves) disagree
RHAT_MAX = 1.01
#: bulk or tail ESS below this: too few effective samples to trust R̂ and the error of the mean
ESS_MIN = 400.0
#: fewest draws per half chain the diagnostics need
MIN_DRAWS = 4
#: independent populations whose χ² tail probability is below this disagree
AGREEMENT_P_MIN = 0.01


@dataclass(frozen=True)
class Diagnostics:
    """R̂ (rank-normalised split-R̂, max of bulk and tail), bulk and tail ESS (draws) of one quantity;
    constant: every draw had the same value."""

    rhat: float
    ess_bulk: float
    ess_tail: float
    constant: bool = False

    def converged(self, rhat_max: float = RHAT_MAX, ess_min: float = ESS_MIN) -> bool:
        """Constant, or R̂ ≤ rhat_max and both ESS ≥ ess_min (False when any is NaN)."""
        return bool(self.constant or (self.rhat <= rhat_max and self.ess_bulk >= ess_min and self.ess_tail >= ess_min))


NOT_AVAILABLE = Diagnostics(float("nan"), float("nan"), float("nan"))


def split_chains(draws: np.ndarray) -> np.ndarray:
    """(chains, n) -> (2·chains, n // 2): first and last halves of every chain (the middle draw of an odd n
    dropped)."""
    draws = np.atleast_2d(draws)
    half = draws.shape[1] // 2
    return np.concatenate([draws[:, :half], draws[:, draws.shape[1] - half:]])


def rank_normalise(draws: np.ndarray) -> np.ndarray:
    """Normal scores of the pooled ranks (ties averaged): Φ⁻¹((r − 3/8)/(S + 1/4)), same shape."""
    ranks = stats.rankdata(draws, method="average").reshape(draws.shape)
    return stats.norm.ppf((ranks - 0.375) / (draws.size + 0.25))


def _rhat(draws: np.ndarray) -> float:
    """The classical potential scale reduction √(var⁺/W) of (chains, n) draws."""
    n = draws.shape[1]
    between = n * np.var(draws.mean(axis=1), ddof=1)
    within = np.mean(np.var(draws, axis=1, ddof=1))
    if within == 0.0:
        return 1.0 if between == 0.0 else float("inf")
    return float(np.sqrt((between / within + n - 1) / n))


def autocovariance(draws: np.ndarray) -> np.ndarray:
    """Autocovariance of each chain (rows) at lags 0..n−1, biased (divided by n), by FFT."""
    n = draws.shape[1]
    centred = draws - draws.mean(axis=1, keepdims=True)
    size = fft.next_fast_len(2 * n)
    spectrum = fft.rfft(centred, n=size, axis=1)
    return fft.irfft(spectrum * np.conjugate(spectrum), n=size, axis=1)[:, :n] / n


def effective_sample_size(draws: np.ndarray) -> float:
    """ESS of (chains, n) draws: chains·n / τ, τ = −1 + 2 Σ ρ̂_t over Geyer's initial monotone sequence of
    the multi-chain autocorrelations ρ̂_t = 1 − (W − mean autocovariance_t)/var⁺ (Vehtari et al., eq. 10)."""
    draws = np.atleast_2d(np.asarray(draws, float))
    chains, n = draws.shape
    total = chains * n
    if np.ptp(draws) == 0.0:
        return float(total)
    acov = autocovariance(draws)
    mean_var = acov[:, 0].mean() * n / (n - 1.0)
    var_plus = mean_var * (n - 1.0) / n + (np.var(draws.mean(axis=1), ddof=1) if chains > 1 else 0.0)
    rho = np.zeros(n)
    rho[0] = rho_even = 1.0
    rho[1] = rho_odd = 1.0 - (mean_var - acov[:, 1].mean()) / var_plus
    t = 1
    while t < n - 3 and rho_even + rho_odd > 0.0:         # Geyer's initial positive sequence
        rho_even = 1.0 - (mean_var - acov[:, t + 1].mean()) / var_plus
        rho_odd = 1.0 - (mean_var - acov[:, t + 2].mean()) / var_plus
        if rho_even + rho_odd >= 0.0:
            rho[t + 1], rho[t + 2] = rho_even, rho_odd
        t += 2
    last = t - 2
    if rho_even > 0.0:
        rho[last + 1] = rho_even
    t = 1
    while t <= last - 2:                                   # made monotone
        if rho[t + 1] + rho[t + 2] > rho[t - 1] + rho[t]:
            rho[t + 1] = rho[t + 2] = (rho[t - 1] + rho[t]) / 2.0
        t += 2
    tau = -1.0 + 2.0 * rho[:last + 1].sum() + rho[last + 1:last + 2].sum()
    return float(total / max(tau, 1.0 / np.log10(total)))


def diagnose(draws: np.ndarray, tolerance: float = 0.0) -> Diagnostics:
    """R̂, bulk ESS and tail ESS of draws (chains, n) of one quantity; NOT_AVAILABLE when a draw is not
    finite or a half chain would have fewer than MIN_DRAWS draws. Draws that differ by at most
    `tolerance` (their unit) are constant."""
    draws = np.atleast_2d(np.asarray(draws, float))
    if draws.shape[1] // 2 < MIN_DRAWS or not np.isfinite(draws).all():
        return NOT_AVAILABLE
    split = split_chains(draws)
    if np.ptp(split) <= tolerance:
        return Diagnostics(1.0, float(split.size), float(split.size), constant=True)
    folded = np.abs(split - np.median(split))
    rhat = max(_rhat(rank_normalise(split)), _rhat(rank_normalise(folded)))
    bulk = effective_sample_size(rank_normalise(split))
    tail = min(effective_sample_size(split_chains(draws <= np.quantile(draws, q)).astype(float)) for q in (0.05, 0.95))
    return Diagnostics(rhat, bulk, tail)


@dataclass(frozen=True)
class Agreement:
    """K independent estimates of one quantity (population annealing: one per population), pooled.

    mean: the plain mean of the finite estimates; error (1σ, unit of the estimates): the larger of
    their spread error s/√K and the propagated error √(Σσ²)/K — the spread alone when an error is
    missing, the propagated error (or 0) when the estimates are equal; chi2: Σ (x_s − x̄_w)²/σ_s²
    about the inverse-variance weighted mean (+inf when estimates without error differ); p: its
    upper tail probability for K − 1 degrees of freedom (1 when all estimates are equal; NaN with
    fewer than 2 estimates or a missing error); estimates: K, the finite estimates.
    """

    mean: float
    error: float
    chi2: float
    p: float
    estimates: int

    def converged(self, p_min: float = AGREEMENT_P_MIN) -> bool:
        """The estimates agree: p ≥ p_min (False when p is NaN)."""
        return bool(self.p >= p_min)


def agreement(means: np.ndarray, errors: np.ndarray, tolerance: float = 0.0) -> Agreement:
    """Pool independent estimates `means` with their errors (1σ, same unit) and test that they agree
    (the χ² test of the module docstring); estimates that differ by at most `tolerance` are equal.
    Estimates that are NaN are left out."""
    means, errors = np.asarray(means, float).ravel(), np.asarray(errors, float).ravel()
    keep = np.isfinite(means)
    x, sigma = means[keep], errors[keep]
    k = len(x)
    if k == 0:
        return Agreement(float("nan"), float("nan"), float("nan"), float("nan"), 0)
    mean = float(x.mean())
    if k == 1:
        return Agreement(mean, float(sigma[0]), float("nan"), float("nan"), 1)
    have_errors = bool(np.isfinite(sigma).all() and (sigma >= 0).all())
    propagated = float(np.sqrt(np.sum(sigma**2)) / k) if have_errors else float("nan")
    if np.ptp(x) <= tolerance:                   # equal estimates: their spread is rounding
        return Agreement(mean, propagated if have_errors else 0.0, 0.0, 1.0, k)
    spread = float(x.std(ddof=1) / np.sqrt(k))
    error = max(spread, propagated) if have_errors else spread
    if not have_errors:
        return Agreement(mean, error, float("nan"), float("nan"), k)
    exact = sigma == 0.0
    if exact.any():
        # estimates without error fix the weighted mean; they must agree among themselves
        if np.ptp(x[exact]) > tolerance:
            return Agreement(mean, error, float("inf"), 0.0, k)
        centre = float(x[exact].mean())
        deviation = np.abs(x[~exact] - centre)
        chi2 = float(np.sum(np.where(deviation <= tolerance, 0.0, deviation / sigma[~exact]) ** 2))
    else:
        weights = 1.0 / sigma**2
        centre = float(np.sum(weights * x) / np.sum(weights))
        chi2 = float(np.sum(weights * (x - centre) ** 2))
    return Agreement(mean, error, chi2, float(stats.chi2.sf(chi2, k - 1)), k)
