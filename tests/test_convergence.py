"""Convergence diagnostics: rank-normalised split-R̂ and bulk/tail ESS (Vehtari et al. 2021), pooled errors,
and the agreement of independent populations (χ² of their estimates)."""
import math

import numpy as np
import pytest
from scipy.stats import binom, kstest

from nanomc.analysis.convergence import (AGREEMENT_P_MIN, RHAT_MAX, agreement, diagnose, effective_sample_size,
                                         split_chains)
from nanomc.analysis.statistics import blocking, pooled_ratio_estimate, ratio_estimate


def ar1(rng, rho, chains, n):
    """Stationary AR(1) chains x_t = ρ x_{t−1} + ε_t, ε ~ N(0, 1) (marginal variance 1/(1 − ρ²))."""
    x = np.empty((chains, n))
    x[:, 0] = rng.normal(size=chains) / np.sqrt(1 - rho**2)
    noise = rng.normal(size=(chains, n))
    for t in range(1, n):
        x[:, t] = rho * x[:, t - 1] + noise[:, t]
    return x


# ArviZ 0.19.0's values (arviz.stats.diagnostics._rhat_rank, _ess_bulk, _ess_tail) for these seeded arrays,
# computed once with ArviZ installed aside; the test does not import ArviZ. The shapes cover even and odd
# chain lengths (ArviZ drops the middle draw of an odd chain when splitting it), several chains, a shifted
# chain and discrete draws with ties.
ARVIZ = {
    "ar1_4x501": (lambda: ar1(np.random.default_rng(1), 0.8, 4, 501),
                  1.0227936484587774, 236.48591564580767, 369.80402392980636),
    "shifted_3x200": (lambda: ar1(np.random.default_rng(2), 0.5, 3, 200) + np.array([[0.0], [0.0], [1.0]]),
                      1.0651560133438387, 73.74667818623642, 303.0544851532644),
    "discrete_2x101": (lambda: np.random.default_rng(3).integers(0, 4, (2, 101)).astype(float),
                       0.9999089187252328, 176.5447712119903, 200.0),
}


@pytest.mark.parametrize("name", sorted(ARVIZ))
def test_rhat_and_ess_equal_arviz_on_the_same_arrays(name):
    make, rhat, bulk, tail = ARVIZ[name]
    d = diagnose(make())
    assert d.rhat == pytest.approx(rhat, rel=1e-10)
    assert d.ess_bulk == pytest.approx(bulk, rel=1e-10)
    assert d.ess_tail == pytest.approx(tail, rel=1e-10)


def test_split_chains_drops_the_middle_draw_of_an_odd_chain():
    x = np.arange(7.0)[None]
    assert split_chains(x).tolist() == [[0, 1, 2], [4, 5, 6]]


@pytest.mark.parametrize("rho", [0.0, 0.5, 0.9])
def test_stationary_ar1_chains_give_rhat_near_one_and_the_analytic_ess(rho):
    """ESS of the mean of AR(1) is N/(2 τ_int), τ_int = (1 + ρ)/(2(1 − ρ)) in the convention of
    nanomc.analysis.statistics (0.5 for independent draws), i.e. N(1 − ρ)/(1 + ρ).

    20 replications of 4 chains × 2000 draws: the mean ratio ESS/analytic must be 1 within 4 standard
    errors of that mean (from the replications' own spread) plus 3% for the bias of Geyer's truncated
    sum at these lengths. R̂: for 2M split chains of n draws of a stationary series,
    R̂ ≈ 1 + (2τ_int − 1)/(2n) on average, and B/W scatters with relative spread √(2/(2M − 1)), so each
    R̂ must be below 1 + 2τ_int/(2n)·(1 + 4√(2/(2M − 1))).
    """
    chains, n, reps = 4, 2000, 20
    tau = (1 + rho) / (2 * (1 - rho))
    analytic = chains * n / (2 * tau)
    ratios, rhats = [], []
    for seed in range(reps):
        x = ar1(np.random.default_rng(100 + seed), rho, chains, n)
        d = diagnose(x)
        ratios.append(d.ess_bulk / analytic)
        rhats.append(d.rhat)
        # the bulk ESS of Gaussian draws agrees with blocking's N/(2 τ_int) of the same chains (ranks ≈ values)
        blocked = sum(blocking(chain).n_independent for chain in x)
        assert d.ess_bulk == pytest.approx(blocked, rel=0.5)
    ratios = np.array(ratios)
    assert abs(ratios.mean() - 1) < 4 * ratios.std(ddof=1) / np.sqrt(reps) + 0.03
    half = n // 2
    limit = 1 + 2 * tau / (2 * half) * (1 + 4 * np.sqrt(2 / (2 * chains - 1)))
    assert max(rhats) < limit


def test_chains_with_shifted_means_give_rhat_above_1_1():
    """One of four AR(1) chains shifted by two marginal standard deviations: the chain means differ by far
    more than their errors, B/W ≈ n·var(means)/σ², R̂ ≈ √(1 + 0.75) ≈ 1.3 for the raw values."""
    rho = 0.5
    x = ar1(np.random.default_rng(7), rho, 4, 1000)
    x[3] += 2 / np.sqrt(1 - rho**2)
    d = diagnose(x)
    assert d.rhat > 1.1 and not d.converged()
    assert diagnose(x[:3]).rhat < RHAT_MAX     # without the shifted chain: converged by R̂


def test_one_chain_that_drifts_is_caught_by_its_split_halves():
    rho = 0.5
    x = ar1(np.random.default_rng(8), rho, 1, 2000)
    assert diagnose(x).rhat < RHAT_MAX
    x[0, 1000:] += 1 / np.sqrt(1 - rho**2)      # a step of one marginal σ halfway
    assert diagnose(x).rhat > 1.1


def test_stuck_chains_constant_values_and_short_chains():
    stuck = np.repeat([[1.0], [2.0]], 50, axis=1)        # two chains, each constant at its own value
    d = diagnose(stuck)
    assert d.rhat == np.inf and not d.converged()
    same = np.full((3, 50), 0.25)
    d = diagnose(same)
    assert d.constant and d.rhat == 1.0 and d.ess_bulk == 150 and d.converged()
    assert diagnose(same + 1e-12 * np.arange(50), tolerance=1e-9).constant
    assert np.isnan(diagnose(np.arange(7.0)[None]).rhat)    # halves of 3 draws
    assert np.isnan(diagnose(np.r_[np.arange(9.0), np.nan][None]).rhat)


def test_independent_draws_have_ess_near_their_number():
    x = np.random.default_rng(9).normal(size=(4, 1000))
    # the ESS of iid draws scatters around N with a relative spread of about √(2/N)·(a few lags): 10 % is ~4σ
    assert effective_sample_size(x) == pytest.approx(4000, rel=0.1)


def test_pooled_error_of_one_chain_is_the_blocking_error_and_of_several_pools_them():
    rng = np.random.default_rng(10)
    a, b = rng.normal(1.0, 0.1, 400), rng.uniform(1.0, 2.0, 400)
    assert pooled_ratio_estimate(a, b, 1) == ratio_estimate(a, b)
    # four independent chains of iid draws: the pooled error is that of 1600 independent samples, σ/√N,
    # which blocking estimates to about 1/√(2·(number of blocks)) relative precision; 4 such chains: ±10 % is > 3σ
    x = rng.normal(5.0, 2.0, 1600)
    est = pooled_ratio_estimate(x, None, 4)
    assert est.mean == pytest.approx(x.mean())
    assert est.error == pytest.approx(2.0 / np.sqrt(1600), rel=0.1)
    assert est.n_samples == 1600 and est.n_independent == pytest.approx(1600, rel=0.25)
    # the pooled error ignores the difference between chains (R̂ measures it): shifting one chain keeps it
    shifted = x.copy()
    shifted[:400] += 10.0
    assert pooled_ratio_estimate(shifted, None, 4).error == pytest.approx(est.error, rel=1e-9)


def test_agreement_by_hand():
    """Three estimates 0, 0, 6 with errors 1: weighted mean 2, χ² = 4 + 4 + 16 = 24, and for 2 degrees of
    freedom the tail probability is exactly exp(−χ²/2). The pooled value is the plain mean; its error the
    larger of the spread error s/√3 = √12/√3 = 2 and the propagated √3/3."""
    a = agreement([0.0, 0.0, 6.0], [1.0, 1.0, 1.0])
    assert a.chi2 == pytest.approx(24.0) and a.p == pytest.approx(math.exp(-12.0), rel=1e-10)
    assert a.mean == pytest.approx(2.0) and a.error == pytest.approx(2.0) and not a.converged()
    # unequal errors: the χ² centre is the inverse-variance weighted mean (here 0.8), the pooled mean is not
    b = agreement([0.0, 1.0], [2.0, 1.0])
    assert b.chi2 == pytest.approx(0.8**2 / 4 + 0.2**2) and b.mean == pytest.approx(0.5)
    assert b.error == pytest.approx(max(0.5, math.sqrt(5) / 2)) and b.converged()
    # estimates that agree within their errors; a missing estimate is left out
    c = agreement([1.0, 1.1, np.nan, 0.95], [0.1, 0.1, 0.1, 0.1])
    assert c.estimates == 3 and c.p > AGREEMENT_P_MIN and c.mean == pytest.approx(np.mean([1.0, 1.1, 0.95]))


def test_agreement_edge_cases():
    same = agreement([0.25, 0.25 + 1e-17, 0.25], [0.0, 0.0, 0.0], tolerance=1e-12)
    assert same.p == 1.0 and same.error == 0.0 and same.converged()
    equal = agreement([2.0, 2.0], [0.3, 0.4])
    assert equal.p == 1.0 and equal.error == pytest.approx(0.25)       # √(0.09 + 0.16)/2
    stuck = agreement([1.0, 2.0], [0.0, 0.0])                          # frozen populations in two states
    assert stuck.chi2 == np.inf and stuck.p == 0.0 and not stuck.converged()
    half = agreement([1.0, 1.5, 1.2], [0.0, 0.1, 0.2])                # one without error fixes the centre
    assert half.chi2 == pytest.approx(25.0 + 1.0) and not half.converged()
    missing = agreement([1.0, 1.5], [0.1, np.nan])                     # no test without every error
    assert np.isnan(missing.p) and missing.error == pytest.approx(0.25) and not missing.converged()
    one = agreement([3.0, np.nan], [0.5, 0.1])
    assert one.estimates == 1 and one.mean == 3.0 and one.error == 0.5 and np.isnan(one.p)
    assert np.isnan(agreement([np.nan], [1.0]).mean)


def test_agreement_of_replicates_is_calibrated_and_flags_a_shifted_one():
    """4000 sets of 4 Gaussian estimates of one value with unequal, known errors: p is uniform (KS test at
    the 0.1 % level), the fraction below AGREEMENT_P_MIN is within the binomial 99.9 % range of 1 %, and the
    pooled error covers the true value at least as often as a 1σ error should (68 %, less 3 binomial σ:
    it is the larger of two error estimates). One estimate shifted by 6 of its errors gives a non-central χ²
    with λ = Σ w (μ − μ̄_w)² = 30.24 on 3 degrees of freedom, beyond the 1 % point in 99.1 % of the sets:
    flagged in more than 98.5 % (the binomial 99.9 % range of 99.1 % of 4000 is ±0.5 %)."""
    rng = np.random.default_rng(21)
    sigma = np.array([0.5, 1.0, 1.0, 2.0])
    reps = 4000
    draws = rng.normal(0.0, sigma, (reps, 4))
    results = [agreement(x, sigma) for x in draws]
    p = np.array([r.p for r in results])
    assert kstest(p, "uniform").pvalue > 1e-3
    low, high = binom.ppf([0.0005, 0.9995], reps, AGREEMENT_P_MIN)
    assert low <= (p < AGREEMENT_P_MIN).sum() <= high
    covered = np.mean([abs(r.mean) <= r.error for r in results])
    assert covered >= 0.6827 - 3 * math.sqrt(0.6827 * 0.3173 / reps)
    shifted = draws.copy()
    shifted[:, 1] += 6 * sigma[1]
    flagged = np.mean([not agreement(x, sigma).converged() for x in shifted])
    assert flagged > 0.985
