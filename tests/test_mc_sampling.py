"""The Metropolis sweeps sample the Boltzmann distribution: checked on an enumerable cluster.

A 13-atom cuboctahedron with a tiny random potential has 2^13 occupations, few enough to
enumerate. Each ensemble (canonical, semi-grand canonical, replica exchange, annealing) is
checked twice against the exact distribution:

- shape: a chi-square test of the sampled energy levels (canonical, replica exchange) or
  (N_Cu, level) (semi-grand canonical), samples thinned to THIN sweeps apart;
- temperature: a z-test of the mean (grand) energy, z = (Ē − ⟨E⟩_T)/σ̂, σ̂ the blocking error,
  which must stay below Z_ALPHA at the true T and exceed it against ⟨E⟩ at 1.05·T (negative
  control: a 5 % error in T, e.g. a Metropolis rule using 0.95·βΔE, must be rejected).

Sample sizes come from the power of the z-test. The mean energy is the sufficient statistic
for β, so no test sees a small temperature error better. With Δ = ⟨E⟩_1.05T − ⟨E⟩_T and σ the
exact standard deviation at T, n samples with integrated autocorrelation time τ give
σ̂ = σ·sqrt(2τ/n); a two-sided test at level ALPHA rejects the 5 % error with probability POWER
when |Δ|/σ̂ ≥ Z_ALPHA + Z_POWER, i.e. n ≥ 2τ ((Z_ALPHA + Z_POWER) σ/Δ)². The tests take that n
for a bound on τ that they then assert (measured by blocking), so the claimed power holds.
|Δ|/σ ≈ 0.048·sqrt(C/k_B) grows with the heat capacity C = k_B β² Var(E), so each test runs
at the temperature(s) where |Δ|/σ is largest, found from the enumeration: 0.074 for the
canonical ensemble, so n ≈ 2τ (5.62/0.074)² ≈ 5800·2τ sweeps (τ ≈ 0.85 sweeps). For comparison,
the former single-temperature test (chi-square over 50 levels, 8000 samples, |Δ|/σ = 0.047)
had a power of 0.10 against a 5 % error.
"""
import math

import numpy as np
import pytest
from scipy.stats import chisquare, norm

from nanomc.analysis.statistics import blocking
from nanomc.local_energy import LocalEnergyModel
from nanomc.mc import KB, Chain, SwapGroups, temperature_schedule
from nanomc.mc.driver import Driver
from nanomc.mc.exchange import ExchangeLadder
from nanomc.mc.parallel import SerialComm

ELEMENTS = ["Au", "Cu"]
THIN = 3  # sweeps between the samples of the chi-square tests (the z-tests use every sweep)
ALPHA = 1e-3  # significance level of every check (false alarm rate per assertion)
POWER = 0.99  # probability of rejecting a 5 % temperature error
Z_ALPHA = norm.isf(ALPHA / 2)  # 3.29
Z_POWER = norm.isf(1 - POWER)  # 2.33
T_ERROR = 1.05


@pytest.fixture(scope="module")
def system(enumerable_cluster):
    return enumerable_cluster


def level_index(energies):
    """Energy levels (degenerate by symmetry) -> index per occupation."""
    levels, index = np.unique(np.round(energies, 9), return_inverse=True)
    return levels, index


def chi_square(observed_keys, keys, weights):
    """Chi-square p-value of sampled keys against exact probabilities per key; rare keys pooled."""
    uniq, inv = np.unique(keys, return_inverse=True)
    prob = np.bincount(inv, weights=weights)
    prob /= prob.sum()
    lookup = {k: j for j, k in enumerate(uniq)}
    counts = np.bincount([lookup[k] for k in observed_keys], minlength=len(uniq)).astype(float)
    expected = prob * len(observed_keys)
    rare = expected < 5
    obs = np.append(counts[~rare], counts[rare].sum())
    exp = np.append(expected[~rare], expected[rare].sum())
    if exp[-1] == 0:
        obs, exp = obs[:-1], exp[:-1]
    return chisquare(obs, exp).pvalue


def code_of(model):
    return int(np.sum(model.element_indices << np.arange(len(model.element_indices))))


def boltzmann(values, temperature):
    """Normalised Boltzmann weights of `values` (eV) at `temperature` (K)."""
    w = np.exp(-(values - values.min()) / (KB * temperature))
    return w / w.sum()


def mean_and_sd(values, temperature):
    """Exact mean and standard deviation (eV) of `values` in the Boltzmann distribution at T (K)."""
    p = boltzmann(values, temperature)
    mean = float(p @ values)
    return mean, math.sqrt(float(p @ (values - mean) ** 2))


def shift_per_sd(values, temperature):
    """|⟨·⟩ at 1.05·T − ⟨·⟩ at T| in units of the standard deviation at T."""
    mean, sd = mean_and_sd(values, temperature)
    return abs(mean_and_sd(values, T_ERROR * temperature)[0] - mean) / sd


def most_sensitive_temperature(values):
    """The temperature (K) at which a 5 % temperature error moves the mean most, in units of σ."""
    scale = np.std(values) / KB  # the infinite-temperature spread, as a temperature
    grid = scale * np.geomspace(0.05, 2.0, 80)
    return float(grid[np.argmax([shift_per_sd(values, t) for t in grid])])


def samples_for_power(values, temperatures, tau):
    """Samples that reject a 5 % T error with probability POWER at every temperature, given τ_int ≤ tau."""
    worst = min(shift_per_sd(values, t) for t in temperatures)
    return math.ceil(2 * tau * ((Z_ALPHA + Z_POWER) / worst) ** 2)


def check_temperature(series, expected, wrong, tau_bound, what=""):
    """z-test of the mean of `series` (eV): consistent with `expected`, inconsistent with `wrong`."""
    est = blocking(series)
    assert est.converged and est.tau_int <= tau_bound, f"{what} τ_int = {est.tau_int:.2f} > {tau_bound} (power)"
    z, z_wrong = (est.mean - expected) / est.error, (est.mean - wrong) / est.error
    assert abs(z) < Z_ALPHA, f"{what} mean {est.mean:.5f} ± {est.error:.5f} eV, exact {expected:.5f}: z = {z:.2f}"
    assert abs(z_wrong) > Z_ALPHA, f"{what} a 5 % temperature error is not rejected: z = {z_wrong:.2f}"


def sample(chain, temperature, n_sweeps):
    """Codes of the occupations after each of n_sweeps sweeps, after 20 sweeps of equilibration."""
    chain.sweep(temperature, 20)
    codes = []
    for _ in range(n_sweeps):
        chain.sweep(temperature)
        codes.append(code_of(chain.model))
    return np.array(codes)


@pytest.mark.parametrize("neighbour_fraction, tau_bound", [(0.0, 1.1), (0.5, 1.3), (1.0, 2.6)],
                         ids=["any-partner", "half-neighbour", "neighbour-only"])
def test_canonical_sampling_matches_boltzmann(system, neighbour_fraction, tau_bound):
    """tau_bound: bound on τ_int in sweeps (measured 0.75–0.85, 1.0 and 2.0): neighbour swaps between like
    sites do nothing, so a sweep of them decorrelates less."""
    pot, atoms, energies, n_cu = system
    n_cu_fixed = 6
    start = atoms.copy()
    start.set_chemical_symbols(["Cu"] * n_cu_fixed + ["Au"] * (len(atoms) - n_cu_fixed))
    model = LocalEnergyModel(pot, start)
    chain = Chain(model, SwapGroups.single(len(atoms), [0, 1]), np.random.default_rng(7),
                  neighbour_fraction=neighbour_fraction)
    mask = n_cu == n_cu_fixed
    e = energies[mask]
    temperature = most_sensitive_temperature(e)
    codes = sample(chain, temperature, samples_for_power(e, [temperature], tau_bound))
    assert np.all(n_cu[codes] == n_cu_fixed)  # composition is conserved
    _, level = level_index(energies)
    assert chi_square(level[codes[::THIN]], level[mask], boltzmann(e, temperature)) > ALPHA
    check_temperature(energies[codes], mean_and_sd(e, temperature)[0], mean_and_sd(e, T_ERROR * temperature)[0],
                      tau_bound)


def test_semi_grand_canonical_sampling_matches_boltzmann(system):
    pot, atoms, energies, n_cu = system
    model = LocalEnergyModel(pot, atoms)  # starts all Cu
    # Δμ: the linear trend of E with N_Cu; ⟨N_Cu⟩ ≈ 11.3 ± 1.1 at the test temperature
    mu_cu = -np.polyfit(n_cu, energies, 1)[0]
    grand = energies - mu_cu * n_cu
    temperature = most_sensitive_temperature(grand)
    chain = Chain(model, SwapGroups.single(len(atoms), [0, 1]), np.random.default_rng(11), "sgc",
                  mu={"Cu": mu_cu, "Au": 0.0})
    tau_bound = 1.3  # measured 0.95
    codes = sample(chain, temperature, samples_for_power(grand, [temperature], tau_bound))
    _, level = level_index(energies)
    key = n_cu * 10**6 + level
    assert len(np.unique(n_cu[codes])) >= 5
    thinned = codes[::THIN]
    assert chi_square(key[thinned], key, boltzmann(grand, temperature)) > ALPHA
    # a wrong Δμ (by k_B T/2 per Cu atom) is rejected too
    assert chi_square(key[thinned], key, boltzmann(grand - 0.5 * KB * temperature * n_cu, temperature)) < ALPHA
    check_temperature(grand[codes], mean_and_sd(grand, temperature)[0],
                      mean_and_sd(grand, T_ERROR * temperature)[0], tau_bound)


def test_frozen_sites_never_change_and_runs_are_reproducible(system):
    pot, atoms, _, _ = system
    start = atoms.copy()
    start.set_chemical_symbols(["Cu", "Au"] * 6 + ["Cu"])
    frozen = np.zeros(len(atoms), bool)
    frozen[[0, 1, 5]] = True
    runs = []
    for _ in range(2):
        model = LocalEnergyModel(pot, start, frozen=frozen)
        chain = Chain(model, SwapGroups.single(len(atoms), [0, 1], frozen), np.random.default_rng(5))
        trace = [chain.sweep(2000.0).energy for _ in range(200)]
        assert model.elements[0] == "Cu" and model.elements[1] == "Au" and model.elements[5] == "Au"
        runs.append((trace, model.element_indices))
    assert runs[0][0] == runs[1][0]
    assert np.array_equal(runs[0][1], runs[1][1])


def test_lowest_energy_state_is_tracked(system):
    pot, atoms, energies, n_cu = system
    start = atoms.copy()
    start.set_chemical_symbols(["Cu"] * 6 + ["Au"] * 7)
    model = LocalEnergyModel(pot, start)
    chain = Chain(model, SwapGroups.single(len(atoms), [0, 1]), np.random.default_rng(1))
    seen = [model.energy]
    for temperature in np.geomspace(3000, 10, 300):
        seen.append(chain.sweep(temperature).energy)
    best_energy, best_elements = chain.best
    assert best_energy <= min(seen) + 1e-12
    code = int(np.sum(best_elements << np.arange(len(best_elements))))
    assert best_energy == pytest.approx(energies[code], abs=1e-9)
    # a slow anneal of a 13-site system finds the exact canonical ground state
    assert best_energy == pytest.approx(energies[n_cu == 6].min(), abs=1e-9)


def test_replica_exchange_samples_boltzmann_at_every_temperature(system):
    pot, atoms, energies, n_cu = system
    start = atoms.copy()
    start.set_chemical_symbols(["Cu"] * 6 + ["Au"] * 7)
    mask = n_cu == 6
    e = energies[mask]
    ladder_t = most_sensitive_temperature(e) * np.geomspace(0.8, 1.25, 4)
    first = LocalEnergyModel(pot, start)
    models = [first] + [LocalEnergyModel(pot, start, share_geometry_with=first) for _ in range(3)]
    groups = SwapGroups.single(len(atoms), [0, 1])
    chains = {r: Chain(m, groups, np.random.default_rng(100 + r)) for r, m in enumerate(models)}
    ladder = ExchangeLadder(ladder_t, np.random.default_rng(99))
    driver = Driver(chains, [ladder], SerialComm(), exchange_interval=1)
    # every sweep's energy enters the z-test, every THIN-th occupation the chi-square
    tau_bound = 0.85  # exchanges decorrelate: measured 0.50–0.64
    n_sweeps = samples_for_power(e, ladder_t, tau_bound)
    for sweep in range(20):
        driver.maybe_exchange(sweep + 1, driver.step(sweep)[0])
    trace = np.empty((len(ladder_t), n_sweeps))
    samples = [[] for _ in ladder_t]
    for sweep in range(n_sweeps):
        energy, _ = driver.step(20 + sweep)
        trace[:, sweep] = energy[ladder.replica_at]
        if sweep % THIN == 0:
            for t, r in enumerate(ladder.replica_at):
                samples[t].append(code_of(chains[r].model))
        driver.maybe_exchange(21 + sweep, energy)
    assert ladder.accepted.sum() > 0.2 * ladder.attempts.sum()  # replicas do travel
    assert ladder.round_trips.sum() > 10
    _, level = level_index(energies)
    for t, temperature in enumerate(ladder_t):
        assert chi_square(level[np.array(samples[t])], level[mask], boltzmann(e, temperature)) > ALPHA, f"T index {t}"
        check_temperature(trace[t], mean_and_sd(e, temperature)[0], mean_and_sd(e, T_ERROR * temperature)[0],
                          tau_bound, f"T index {t}:")


def test_annealing_follows_its_schedule(system):
    """A slow anneal (±10 % around the most sensitive T) is in equilibrium at every sweep's temperature.

    The energy after sweep s is compared with the exact mean at the schedule's T_s: the residuals
    E_s − ⟨E⟩(T_s) must average to zero and not to ⟨E⟩(1.05·T_s) − ⟨E⟩(T_s). The schedule changes T
    by ~2·10⁻⁵ per sweep, far slower than the chain relaxes (τ_int ≈ 1 sweep), so the lag is negligible.
    """
    pot, atoms, energies, n_cu = system
    start = atoms.copy()
    start.set_chemical_symbols(["Cu"] * 6 + ["Au"] * 7)
    e = energies[n_cu == 6]
    t_mid = most_sensitive_temperature(e)
    tau_bound = 1.0  # measured 0.72
    n_sweeps = samples_for_power(e, [1.1 * t_mid, t_mid / 1.1], tau_bound)
    schedule = temperature_schedule(1.1 * t_mid, t_mid / 1.1, n_sweeps)
    chain = Chain(LocalEnergyModel(pot, start), SwapGroups.single(len(atoms), [0, 1]), np.random.default_rng(17))
    chain.sweep(schedule[0], 20)
    driver = Driver({0: chain}, [ExchangeLadder(schedule[-1:], np.random.default_rng(0))], SerialComm(), schedule)
    trace = np.array([driver.step(sweep)[0][0] for sweep in range(n_sweeps)])
    exact = np.array([mean_and_sd(e, t)[0] for t in schedule])
    wrong = np.array([mean_and_sd(e, T_ERROR * t)[0] for t in schedule])
    check_temperature(trace - exact, 0.0, float(np.mean(wrong - exact)), tau_bound)
