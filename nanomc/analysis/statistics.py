"""Averages of correlated Monte Carlo series: blocking errors, independent samples, drift.

Flyvbjerg–Petersen blocking: average neighbouring pairs of samples again and again; the
standard error computed from the block means grows with the block size until the blocks are
longer than the correlation time, then stays on a plateau. The block size is chosen with the
criterion of Lee et al. (Phys. Rev. E 83, 066706 (2011), as in pyblock): the smallest block
size B with B³ > 2N (σ_B/σ_1)⁴. From the error follow the integrated autocorrelation time
τ_int = N σ²_err / (2 s²) and the number of independent samples N / (2 τ_int) = s²/σ²_err,
s² being the sample variance.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from numbers import Integral

import numpy as np

from ..formatting import plural
from .errors import AnalysisError, DriftWarning

#: blocking levels with fewer blocks than this are too noisy to read an error from
MIN_BLOCKS = 4
#: with fewer independent clusters than this a cluster-robust error is unreliable (population annealing
#: of a 459-atom particle with 11 families left: errors about 1.4× too small, see runs/AuCu-pamc)
MIN_CLUSTERS = 20


@dataclass(frozen=True)
class Estimate:
    """Mean of a series with its statistical error.

    mean, error: in the unit of the data (error = standard error of the mean, 1σ);
    n_samples: finite samples used; n_independent: N/(2 τ_int); tau_int: integrated
    autocorrelation time in samples (0.5 for uncorrelated data); converged: the blocking
    criterion was met (False: the series is too short for its correlation time, and the
    error is the largest blocking estimate, a lower bound).
    """

    mean: float
    error: float
    n_samples: int
    n_independent: float
    tau_int: float
    converged: bool


def blocking_levels(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Flyvbjerg–Petersen blocking of a 1-d series.

    Returns (block_size, n_blocks, error) per level: the standard error of the mean computed
    as if the block means were independent. A trailing odd sample is dropped at each level.
    """
    x = np.asarray(x, dtype=float)
    sizes, counts, errors = [], [], []
    size = 1
    while len(x) >= 2:
        sizes.append(size)
        counts.append(len(x))
        errors.append(np.sqrt(x.var() / (len(x) - 1)))
        even = len(x) - len(x) % 2
        x = 0.5 * (x[0:even:2] + x[1:even:2])
        size *= 2
    return np.array(sizes, int), np.array(counts, int), np.array(errors)


def blocking(x: np.ndarray) -> Estimate:
    """Mean, blocking error and number of independent samples of a series (NaNs are dropped)."""
    x = np.asarray(x, dtype=float).ravel()
    x = x[np.isfinite(x)]
    n = len(x)
    if n == 0:
        return Estimate(float("nan"), float("nan"), 0, 0.0, float("nan"), False)
    mean = float(x.mean())
    if n == 1:
        return Estimate(mean, float("nan"), 1, 1.0, float("nan"), False)
    if np.ptp(x) == 0.0:
        return Estimate(mean, 0.0, n, float(n), 0.5, True)
    variance = float(x.var(ddof=1))
    sizes, counts, errors = blocking_levels(x)
    usable = counts >= min(MIN_BLOCKS, n)
    chosen = np.flatnonzero(usable & (sizes.astype(float) ** 3 > 2.0 * n * (errors / errors[0]) ** 4))
    converged = chosen.size > 0
    error = float(errors[chosen[0]]) if converged else float(errors[usable].max())
    tau = max(0.5, n * error * error / (2.0 * variance))
    return Estimate(mean, error, n, n / (2.0 * tau), tau, converged)


def ratio_estimate(numerator: np.ndarray, denominator: np.ndarray | None = None) -> Estimate:
    """Σ numerator / Σ denominator over samples, with its blocking error (denominator None: a plain mean).

    The error is that of the linearised series (a_t − R b_t)/⟨b⟩ (the delta method), which
    blocking handles like any other correlated series; samples where either is NaN are dropped.
    """
    if denominator is None:
        return blocking(numerator)
    a, b = np.asarray(numerator, float).ravel(), np.asarray(denominator, float).ravel()
    keep = np.isfinite(a) & np.isfinite(b)
    a, b = a[keep], b[keep]
    if not len(b) or b.mean() <= 0:
        return Estimate(float("nan"), float("nan"), len(b), 0.0, float("nan"), False)
    r = a.mean() / b.mean()
    linear = blocking((a - r * b) / b.mean())
    return Estimate(float(r), linear.error, linear.n_samples, linear.n_independent, linear.tau_int, linear.converged)


def linearised(numerator: np.ndarray, denominator: np.ndarray | None = None) -> tuple[float, np.ndarray]:
    """(R, d): the ratio R = Σ numerator / Σ denominator over the samples and the linearised samples
    d_t = (a_t − R b_t)/⟨b⟩ whose mean is the ratio's deviation (denominator None: R = ⟨a⟩, d = a − R).
    Samples where either is NaN give NaN in d; R is over the finite ones (NaN if ⟨b⟩ ≤ 0)."""
    a = np.asarray(numerator, float).ravel()
    b = np.ones_like(a) if denominator is None else np.asarray(denominator, float).ravel()
    keep = np.isfinite(a) & np.isfinite(b)
    if not keep.any() or b[keep].mean() <= 0:
        return float("nan"), np.full_like(a, np.nan)
    r = float(a[keep].mean() / b[keep].mean())
    return r, np.where(keep, (a - r * b) / b[keep].mean(), np.nan)


def pooled_ratio_estimate(numerator: np.ndarray, denominator: np.ndarray | None, chains: int) -> Estimate:
    """Σ numerator / Σ denominator over `chains` independent chains of equal length, concatenated in
    time order chain after chain (independent starts of one campaign).

    The error pools the chains: the blocking error σ_c of each chain's linearised samples (see
    ratio_estimate), combined as σ² = Σ_c (n_c/n)² σ_c²; n_independent adds up over the chains,
    tau_int = n/(2 n_independent); converged only if every chain's blocking converged. Differences
    between the chains' means are not in this error: R̂ (nanomc.analysis.convergence) measures them.
    One chain: exactly ratio_estimate.
    """
    if chains == 1:
        return ratio_estimate(numerator, denominator)
    r, d = linearised(numerator, denominator)
    parts = [blocking(part) for part in np.split(d, chains)]
    n = sum(p.n_samples for p in parts)
    if not np.isfinite(r) or n == 0:
        return Estimate(r, float("nan"), n, 0.0, float("nan"), False)
    error = float(np.sqrt(sum((p.n_samples / n) ** 2 * p.error**2 for p in parts)))
    independent = float(sum(p.n_independent for p in parts))
    tau = n / (2.0 * independent) if independent > 0 else float("nan")
    return Estimate(r, error, n, independent, tau, all(p.converged for p in parts))


def clustered_ratio_estimate(numerator: np.ndarray, denominator: np.ndarray | None,
                             clusters: np.ndarray) -> Estimate:
    """Σ numerator / Σ denominator over samples that are correlated within clusters and independent
    between them (population annealing: the walkers descended from one initial walker, a family).

    The error is the cluster-robust (sandwich) error of the linearised samples
    d_i = (a_i − R b_i)/⟨b⟩: σ² = F/(F − 1) · Σ_f (Σ_{i∈f} d_i)² / n², for n samples in F
    clusters. Estimate.n_independent is s²/σ² as for blocking; converged is False with fewer than
    MIN_CLUSTERS clusters, where the error itself is unreliable (NaN with one cluster).
    """
    a = np.asarray(numerator, float).ravel()
    b = np.ones_like(a) if denominator is None else np.asarray(denominator, float).ravel()
    clusters = np.asarray(clusters).ravel()
    keep = np.isfinite(a) & np.isfinite(b)
    a, b, clusters = a[keep], b[keep], clusters[keep]
    n = len(a)
    if not n or b.mean() <= 0:
        return Estimate(float("nan"), float("nan"), n, 0.0, float("nan"), False)
    r = float(a.mean() / b.mean())
    d = (a - r * b) / b.mean()
    _, index = np.unique(clusters, return_inverse=True)
    sums = np.bincount(index.ravel(), weights=d - d.mean())     # Σ d = 0 up to rounding
    n_clusters = len(sums)
    if n > 1 and np.ptp(d) == 0.0:                              # every sample has the same ratio
        return Estimate(r, 0.0, n, float(n), 0.5, n_clusters >= MIN_CLUSTERS)
    if n_clusters < 2:
        return Estimate(r, float("nan"), n, 1.0, float("nan"), False)
    error = float(np.sqrt(n_clusters / (n_clusters - 1) * np.sum(sums**2)) / n)
    variance = float(d.var(ddof=1))
    if error == 0.0:
        return Estimate(r, error, n, float(n), 0.5, n_clusters >= MIN_CLUSTERS)
    independent = variance / error**2
    return Estimate(r, error, n, independent, n / (2.0 * independent), n_clusters >= MIN_CLUSTERS)


def drift_z(x: np.ndarray) -> float:
    """|mean(second half) − mean(first half)| in units of their combined blocking error.

    Above ~3 the series still drifts. NaN when either half is too short to have an error;
    +inf when both halves are constant but different.
    """
    x = np.asarray(x, dtype=float)
    half = len(x) // 2
    first, second = blocking(x[:half]), blocking(x[len(x) - half:])
    combined = np.hypot(first.error, second.error)
    difference = abs(second.mean - first.mean)
    if not np.isfinite(combined):
        return float("nan")
    if combined == 0.0:
        return 0.0 if difference == 0.0 else float("inf")
    return float(difference / combined)


def warn_if_drifting(x: np.ndarray, what: str, limit: float = 3.0) -> float:
    """drift_z(x); issues a DriftWarning naming `what` when it exceeds `limit`."""
    z = drift_z(x)
    if z > limit:
        warnings.warn(f"{what} still drifts after the discarded sweeps: the halves of the kept trace differ "
                      f"by {z:.1f} standard errors; discard more or run longer", DriftWarning, stacklevel=2)
    return z


def discard_sweeps(discard: float | int, sweeps: int) -> int:
    """Sweeps to drop at the start: a float is a fraction in [0, 1) of `sweeps`, an integer a number of
    sweeps; a float of 1 or more (1.0) is refused, being neither."""
    if isinstance(discard, bool) or not np.isfinite(discard) or discard < 0:
        raise AnalysisError(f"discard must be a fraction in [0, 1) or a number of sweeps, got {discard}")
    if not isinstance(discard, Integral):
        if discard >= 1:
            raise AnalysisError(f"discard {discard}: a fraction must be below 1; give sweeps as a whole number "
                                "(an integer)")
        return int(round(discard * sweeps))
    if discard >= sweeps:
        raise AnalysisError(f"discard {plural(int(discard), 'sweep')} leaves nothing of the "
                            f"{plural(sweeps, 'sweep')} run")
    return int(discard)
