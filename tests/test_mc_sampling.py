"""The Metropolis sweeps sample the Boltzmann distribution: checked on an enumerable cluster.

A 13-atom cuboctahedron with a tiny random potential has 2^13 occupations, few enough to
enumerate. The sampled distribution of energy levels (canonical) and of (N_Cu, energy level)
(semi-grand canonical) is compared with the exact one by a chi-square test. Samples are
thinned to a few sweeps apart so that they are close to independent; a negative control
(the same samples against the distribution at another temperature) must be rejected.
"""
import numpy as np
import pytest
from ase.cluster import Octahedron
from scipy.stats import chisquare

import nanomc
from nanomc.local_energy import LocalEnergyModel
from nanomc.mc import KB, Chain, SwapGroups

ELEMENTS = ["Au", "Cu"]
N_SAMPLES = 8000
THIN = 3  # sweeps between samples


@pytest.fixture(scope="module")
def system():
    atoms = Octahedron("Cu", 3, 1, latticeconstant=3.9)  # 13 atoms
    dset = nanomc.default_descriptor_set(ELEMENTS, 5.0, n_radial=3, angular_etas=[0.05])
    pot = nanomc.Potential.random(ELEMENTS, 5.0, hidden=(4,), seed=3, descriptor_set=dset)
    model = LocalEnergyModel(pot, atoms)
    n = len(atoms)
    # energy of every occupation, by bit pattern (bit i set = atom i is Cu)
    energies = np.empty(2**n)
    for code in range(2**n):
        z = np.array([(code >> i) & 1 for i in range(n)], dtype=np.int64)
        energies[code] = model._kernel.set_elements(z)
    n_cu = np.array([bin(c).count("1") for c in range(2**n)])
    return pot, atoms, energies, n_cu


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


def sample(chain, temperature):
    chain.sweep(temperature, 20)  # equilibrate
    codes = []
    for _ in range(N_SAMPLES):
        chain.sweep(temperature, THIN)
        codes.append(code_of(chain.model))
    return np.array(codes)


def test_canonical_sampling_matches_boltzmann(system):
    pot, atoms, energies, n_cu = system
    n_cu_fixed = 6
    start = atoms.copy()
    start.set_chemical_symbols(["Cu"] * n_cu_fixed + ["Au"] * (len(atoms) - n_cu_fixed))
    model = LocalEnergyModel(pot, start)
    chain = Chain(model, SwapGroups.single(len(atoms), [0, 1]), np.random.default_rng(7))
    mask = n_cu == n_cu_fixed
    temperature = np.std(energies[mask]) / (1.5 * KB)
    codes = sample(chain, temperature)
    assert np.all(n_cu[codes] == n_cu_fixed)  # composition is conserved
    _, level = level_index(energies)
    e = energies[mask]
    weights = np.exp(-(e - e.min()) / (KB * temperature))
    assert chi_square(level[codes], level[mask], weights) > 1e-3
    # negative control: the Boltzmann distribution at 1.3 T is clearly rejected
    wrong = np.exp(-(e - e.min()) / (KB * 1.3 * temperature))
    assert chi_square(level[codes], level[mask], wrong) < 1e-6


def test_semi_grand_canonical_sampling_matches_boltzmann(system):
    pot, atoms, energies, n_cu = system
    model = LocalEnergyModel(pot, atoms)  # starts all Cu
    temperature = np.std(energies) / (1.5 * KB)
    # choose Δμ so that both elements are well represented
    mu_cu = -np.polyfit(n_cu, energies, 1)[0]
    chain = Chain(model, SwapGroups.single(len(atoms), [0, 1]), np.random.default_rng(11), "sgc",
                  mu={"Cu": mu_cu, "Au": 0.0})
    codes = sample(chain, temperature)
    _, level = level_index(energies)
    key = n_cu * 10**6 + level
    grand = energies - mu_cu * n_cu
    weights = np.exp(-(grand - grand.min()) / (KB * temperature))
    assert len(np.unique(n_cu[codes])) >= 6
    assert chi_square(key[codes], key, weights) > 1e-3
    shifted = energies - (mu_cu + 0.5 * KB * temperature) * n_cu
    wrong = np.exp(-(shifted - shifted.min()) / (KB * temperature))
    assert chi_square(key[codes], key, wrong) < 1e-6


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
    from nanomc.mc.driver import Driver
    from nanomc.mc.exchange import ExchangeLadder
    from nanomc.mc.parallel import SerialComm

    pot, atoms, energies, n_cu = system
    start = atoms.copy()
    start.set_chemical_symbols(["Cu"] * 6 + ["Au"] * 7)
    mask = n_cu == 6
    t_mid = np.std(energies[mask]) / (1.5 * KB)
    ladder_t = np.geomspace(0.5 * t_mid, 2.0 * t_mid, 4)
    first = LocalEnergyModel(pot, start)
    models = [first] + [LocalEnergyModel(pot, start, share_geometry_with=first) for _ in range(3)]
    groups = SwapGroups.single(len(atoms), [0, 1])
    chains = {r: Chain(m, groups, np.random.default_rng(100 + r)) for r, m in enumerate(models)}
    ladder = ExchangeLadder(ladder_t, np.random.default_rng(99))
    driver = Driver(chains, ladder, SerialComm(), exchange_interval=1)
    samples = [[] for _ in ladder_t]
    for sweep in range(20 + THIN * N_SAMPLES):
        energy, _ = driver.step(sweep)
        driver.maybe_exchange(sweep + 1, energy)
        if sweep >= 20 and (sweep - 20) % THIN == 0:
            for t, r in enumerate(ladder.replica_at):
                samples[t].append(code_of(chains[r].model))
    assert ladder.accepted.sum() > 0.2 * ladder.attempts.sum()  # replicas do travel
    assert ladder.round_trips.sum() > 10
    _, level = level_index(energies)
    e = energies[mask]
    for t, temperature in enumerate(ladder_t):
        weights = np.exp(-(e - e.min()) / (KB * temperature))
        assert chi_square(level[np.array(samples[t])], level[mask], weights) > 1e-3, f"T index {t}"
