"""Self-tuning replica-exchange ladders (ladder = "tuned"): the acceptance estimate, the re-spacing on
a model with known acceptances, and campaigns (stored ladder, resume, MPI, parameter errors)."""

import numpy as np
import pytest
from scipy.integrate import quad

from nanomc.campaign import run_campaign
from nanomc.campaign.schema import ConfigError, load_config
from nanomc.mc import KB
from nanomc.mc.exchange import ExchangeLadder
from nanomc.mc.ladder_tuning import expected_acceptance, tune_ladder
from nanomc.campaign.results import read_results
from test_replica_exchange import assert_same_results, mpirun
from conftest import write_campaign


def test_expected_acceptance_is_the_mean_exchange_probability():
    rng = np.random.default_rng(0)
    temperatures = np.array([300.0, 400.0, 550.0, 800.0])
    energies = rng.normal([0.0, 0.3, 0.7, 1.2], 0.25, size=(50, 4))
    beta = 1 / (KB * temperatures)
    expected = np.zeros(3)
    for s in range(50):
        for t in range(3):
            expected[t] += min(1.0, np.exp((beta[t] - beta[t + 1]) * (energies[s, t] - energies[s, t + 1]))) / 50
    assert np.allclose(expected_acceptance(temperatures, energies), expected, rtol=1e-13)


# A model with Gaussian energies whose width has a peak in β (a heat-capacity peak, as at an
# order–disorder transition): σ(β) in eV, U(β) = −∫ σ² dβ, so the exact acceptance of a pair is
# close to erfc(∫ σ dβ / 2) and a geometric ladder is far from equal acceptance.
BETA_PEAK = 1 / (KB * 450.0)


def sigma(beta):
    return 0.4 * (1 + 1.5 * np.exp(-((beta - BETA_PEAK) / 2.0) ** 2))


def mean_energy(beta):
    return -quad(lambda b: sigma(b) ** 2, BETA_PEAK, beta)[0]


class GaussianModel:
    """A stand-in for the campaign driver: each sweep draws every temperature's energy from the model."""

    def __init__(self, temperatures, seed):
        self.ladder = ExchangeLadder(np.array(temperatures, float), np.random.default_rng(seed))
        self.ladders = [self.ladder]
        self.rng = np.random.default_rng(seed + 1)

    def step(self, sweep):
        beta = 1 / (KB * self.ladder.temperatures[self.ladder.temperature_of])   # per replica
        energy = np.array([self.rng.normal(mean_energy(b), sigma(b)) for b in beta])
        return energy, np.zeros(len(beta))

    def maybe_exchange(self, sweeps_done, energy):
        self.ladder.exchange(energy)


def exact_acceptance(temperatures):
    """The model's acceptance per neighbouring pair, by quadrature over the two Gaussians' difference."""
    beta = 1 / (KB * np.asarray(temperatures))
    out = []
    for a, b in zip(beta[:-1], beta[1:]):
        mean = (a - b) * (mean_energy(a) - mean_energy(b))
        sd = (a - b) * np.hypot(sigma(a), sigma(b))
        # E[min(1, e^x)], x ~ N(mean, sd²)
        z = mean / sd
        from scipy.stats import norm
        out.append(norm.cdf(z) + np.exp(mean + sd ** 2 / 2) * norm.cdf(-z - sd))
    return np.array(out)


def test_tuning_equalises_the_acceptances_of_a_model_with_a_heat_capacity_peak():
    start = np.geomspace(300.0, 900.0, 7)
    before = exact_acceptance(start)
    assert before.max() / before.min() > 2           # the geometric ladder is far from equal
    model = GaussianModel(start, seed=5)
    seen = []
    tuning = tune_ladder(model, rounds=5, sweeps=400, report=lambda k, acc, t: seen.append((k, acc, t.copy())))
    after = exact_acceptance(model.ladder.temperatures)
    assert after.max() - after.min() < 0.05, (before, after)   # from 0.005-0.46 to 0.13-0.17 (3 seeds)
    assert abs(tuning.predicted - after.mean()) < 0.02
    # the ends stay, the ladder ascends, the temperatures crowd around the peak (450 K)
    t = model.ladder.temperatures
    assert t[0] == 300.0 and t[-1] == 900.0 and (np.diff(t) > 0).all()
    assert np.diff(t)[np.argmin(abs(t[:-1] - 450.0))] < np.diff(start)[np.argmin(abs(start[:-1] - 450.0))]
    # the record: the starting ladder, one ladder per round, the pilots' acceptances; statistics reset
    assert tuning.ladders.shape == (6, 7) and np.array_equal(tuning.ladders[0], start)
    assert np.array_equal(tuning.ladders[-1], t) and tuning.acceptance.shape == (5, 6)
    assert [k for k, _, _ in seen] == [0, 1, 2, 3, 4] and np.array_equal(seen[0][1], tuning.acceptance[0])
    assert model.ladder.attempts.sum() == 0 and model.ladder.rounds == 0


PARAMS = """
[particle]
shape = "truncated_octahedron"
atoms = 79
composition = { Au = 0.5, Cu = 0.5 }

[potential]
file = "pot.h5"

[mc]
t_min = 300.0
t_max = 1200.0
n_temperatures = 4
ladder = "tuned"
tune_rounds = 2
tune_sweeps = 6
exchange_interval = 1
sweeps = 8
seed = 2
snapshot_interval = 2
checkpoint_interval = 2

[output]
directory = "out"
"""


def test_tuned_campaign_stores_its_ladder_and_resume_keeps_it(tmp_path, potential_bytes):
    path = write_campaign(tmp_path, potential_bytes, PARAMS)
    whole = run_campaign(path, quiet=True)
    geometric = np.geomspace(300.0, 1200.0, 4)
    stored = read_results(tmp_path / "out" / "results.h5")
    assert np.array_equal(stored.temperatures, whole.temperatures)
    assert stored.temperatures[0] == 300.0 and stored.temperatures[-1] == 1200.0
    assert not np.allclose(stored.temperatures, geometric)
    assert np.array_equal(stored.tuning.ladders[0], geometric)
    assert np.array_equal(stored.tuning.ladders[-1], stored.temperatures)
    assert stored.tuning.sweeps == 6 and stored.tuning.acceptance.shape == (2, 3)
    assert (stored.tuning.acceptance > 0).all() and (stored.tuning.acceptance <= 1).all()
    # production: 8 sweeps at the tuned ladder, exchanges counted from the tuning's end
    assert len(stored.energy[0]) == 8 and stored.exchange["attempts"].sum() == 8 * 3 // 2
    assert set(np.array(stored.temperature_trace).ravel()) == set(stored.temperatures)
    # stopped after 4 sweeps, resumed: the tuned ladder is kept and the result is the unbroken one
    other = tmp_path / "b"
    other.mkdir()
    path_b = write_campaign(other, potential_bytes, PARAMS)
    run_campaign(path_b, quiet=True, stop_after=4)
    resumed = run_campaign(path_b, quiet=True, resume=True)
    assert_same_results(resumed, whole)
    assert np.array_equal(read_results(other / "out" / "results.h5").tuning.ladders, stored.tuning.ladders)


def test_tuned_campaign_is_the_same_on_two_ranks(tmp_path, potential_bytes):
    path = write_campaign(tmp_path, potential_bytes, PARAMS)
    serial = run_campaign(path, quiet=True)
    other = tmp_path / "mpi"
    other.mkdir()
    out = mpirun(2, "run", write_campaign(other, potential_bytes, PARAMS))
    assert out.returncode == 0, out.stderr
    assert "ladder tuned in 2 pilot runs of 6 sweeps" in out.stdout
    parallel = read_results(other / "out" / "results.h5")
    assert_same_results(parallel, serial)
    assert np.array_equal(parallel.temperatures, serial.temperatures)


def test_starts_run_the_pilots_and_production_on_the_ladder_start_0_tunes(tmp_path, potential_bytes):
    """ladder = "tuned" with two starts: start 0's pilots tune the ladder, so the tuned ladder and start 0's
    whole run are those of the campaign of one start, bit for bit; start 1 runs the pilots too (its four
    replicas, which all began on the core-first occupation, enter production in four different states) and
    then production on the same tuned ladder, with exchange statistics counted from the end of the tuning.
    Two ranks and a stop and resume give the same results."""
    one = run_campaign(write_campaign(tmp_path / "one", potential_bytes, PARAMS), quiet=True)
    text = PARAMS.replace("seed = 2", 'seed = 2\nstarts = ["random", "core-first"]')
    two = run_campaign(write_campaign(tmp_path / "two", potential_bytes, text), quiet=True)
    assert np.array_equal(two.temperatures, one.temperatures)
    assert np.array_equal(two.tuning.ladders, one.tuning.ladders) and np.array_equal(two.tuning.acceptance,
                                                                                     one.tuning.acceptance)
    n = len(one.temperatures)
    assert np.array_equal(np.array(two.energy)[:n], np.array(one.energy))
    assert np.array_equal(np.array(two.snapshots)[:, :n], np.array(one.snapshots))
    assert np.array_equal(np.array(two.replica_temperature)[:n], np.array(one.replica_temperature))
    first = np.array(two.snapshots[0])[n:]                       # start 1 after the pilots
    assert len({z.tobytes() for z in first}) == n
    assert set(np.array(two.temperature_trace)[n:].ravel()) == set(two.temperatures)
    assert two.exchange["attempts"].shape == (2, n - 1) and (two.exchange["attempts"].sum(axis=1) == 8 * 3 // 2).all()
    parallel = mpirun(2, "run", write_campaign(tmp_path / "mpi", potential_bytes, text), "-q")
    assert parallel.returncode == 0, parallel.stderr
    assert_same_results(read_results(tmp_path / "mpi" / "out" / "results.h5"), two)
    stopped = write_campaign(tmp_path / "stopped", potential_bytes, text)
    run_campaign(stopped, quiet=True, stop_after=4)
    assert_same_results(run_campaign(stopped, quiet=True, resume=True), two)


@pytest.mark.parametrize("old, new, words", [
    ("exchange_interval = 1", "exchange_interval = 0", "set `exchange_interval`"),
    ("n_temperatures = 4", "n_temperatures = 2", "give at least three"),
    ("tune_sweeps = 6", "tune_sweeps = 1", "`tune_sweeps` must be at least 2 exchange intervals"),
    ("tune_rounds = 2", "tune_rounds = 0", "`tune_rounds` must be at least 1"),
    ("ladder = \"tuned\"", "ladder = \"tuneed\"", "`ladder` in [mc] must be one of fixed, tuned"),
    ("t_min = 300.0\nt_max = 1200.0\nn_temperatures = 4", "temperatures = [300.0, 900.0, 600.0]",
     "needs `temperatures` from lowest to highest"),
    ("exchange_interval = 1", "walkers = 8\nensemble = \"pamc\"", "not to ensemble = \"pamc\""),
])
def test_bad_tuning_parameters_name_the_key(tmp_path, potential_bytes, old, new, words):
    path = write_campaign(tmp_path, potential_bytes, PARAMS.replace(old, new))
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert words in str(info.value) and str(path) in str(info.value)
