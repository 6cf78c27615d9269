"""Replica exchange: ladder bookkeeping, serial vs real MPI runs (the mpich wheel's mpirun), faults, resume."""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from test_campaign import run_killed_at

from nanomc.campaign import run_campaign
from nanomc.mc import KB
from nanomc.mc.exchange import ExchangeLadder
from nanomc.mc.parallel import owner_of
from nanomc.campaign.results import read_results
from conftest import write_campaign

MPIRUN = Path(sys.executable).parent / "mpirun"

PARAMS = """
[particle]
shape = "truncated_octahedron"
size = 5
composition = { Au = 0.5, Cu = 0.5 }

[potential]
file = "pot.h5"

[mc]
{ladder}
exchange_interval = 2
sweeps = 40
seed = 8
snapshot_interval = 10
checkpoint_interval = 10

[output]
directory = "out"
"""


def campaign(directory, potential_bytes, ladder="t_min = 300.0\nt_max = 3000.0\nn_temperatures = 4"):
    return write_campaign(directory, potential_bytes, PARAMS.replace("{ladder}", ladder))


def mpirun(n, *args, env=None):
    return subprocess.run([str(MPIRUN), "-n", str(n), sys.executable, "-m", "nanomc.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=600, env={**os.environ, **(env or {})})


def assert_same_results(a, b):
    for key in ("energy", "acceptance", "temperature_trace", "replica_temperature", "snapshot_sweeps"):
        assert np.array_equal(np.array(getattr(a, key)), np.array(getattr(b, key))), key
    for key in ("final_elements", "final_energy", "best_elements", "best_energy"):
        assert np.array_equal(getattr(a, key), getattr(b, key)), key
    assert np.array_equal(np.array(a.snapshots), np.array(b.snapshots))
    for key in ("attempts", "accepted", "round_trips", "replica_at"):
        assert np.array_equal(a.exchange[key], b.exchange[key]), key


def test_ladder_alternates_pairs_and_accepts_by_the_rule():
    temps = np.array([100.0, 200.0, 400.0, 800.0])
    ladder = ExchangeLadder(temps, np.random.default_rng(0))
    # energies that make every exchange favourable: the colder replica has the higher energy
    ladder.exchange(np.array([4.0, 3.0, 2.0, 1.0]))
    assert ladder.attempts.tolist() == [1, 0, 1] and ladder.accepted.tolist() == [1, 0, 1]
    assert ladder.replica_at.tolist() == [1, 0, 3, 2]
    assert ladder.temperature_of.tolist() == [1, 0, 3, 2]
    ladder.exchange(np.array([4.0, 3.0, 2.0, 1.0]))  # odd round: pair (1, 2) holds replicas 0 and 3
    assert ladder.attempts.tolist() == [1, 1, 1]
    # replica 0 (E=4) at T index 1, replica 3 (E=1) at T index 2: exp[(β1−β2)(4−1)] > 1 → accepted
    assert ladder.replica_at.tolist() == [1, 3, 0, 2]
    # an exchange that is very unfavourable is (essentially) never accepted
    cold = ExchangeLadder(np.array([10.0, 20.0]), np.random.default_rng(1))
    for _ in range(50):
        cold.exchange(np.array([-10.0, 10.0]))
    assert cold.accepted[0] == 0 and cold.attempts[0] == 25


def test_exchange_acceptance_frequency_is_the_rule_probability():
    """Attempts with p = min(1, exp[(β_0 − β_1)(E_0 − E_1)]) = 0.3 are accepted 30 % of the time.

    Binomial z-test at 10⁻³ (two-sided, z < 3.29). The attempts needed to tell p = 0.3 from the
    0.3^0.95 = 0.318 of a rule with a 5 % error in log p (as a 5 % temperature error gives) with
    power 0.99: n = p(1 − p) ((3.29 + 2.33)/(0.318 − 0.3))² ≈ 20 000; the test makes 24 000.
    """
    temps = np.array([300.0, 400.0])
    p = 0.3
    gap = np.log(p) / (1.0 / (KB * temps[0]) - 1.0 / (KB * temps[1]))  # E_0 − E_1 (eV) giving p
    ladder = ExchangeLadder(temps, np.random.default_rng(4))
    n = 24000
    for _ in range(2 * n):  # only the even rounds have a pair to try
        energies = np.empty(2)
        energies[ladder.replica_at] = [gap, 0.0]  # the same close call whichever replica is cold
        ladder.exchange(energies)
    assert ladder.attempts[0] == n
    sd = np.sqrt(p * (1 - p) / n)
    assert abs(ladder.accepted[0] / n - p) < 3.29 * sd
    assert abs(ladder.accepted[0] / n - p ** 0.95) > 3.29 * sd  # negative control: a 5 % error in log p


def test_round_trips_are_counted():
    ladder = ExchangeLadder(np.array([1.0, 2.0]), np.random.default_rng(0))
    favourable = np.array([1.0, 0.0])  # the replica at T index 0 has the higher energy
    for _ in range(8):  # with two temperatures only the even rounds have a pair to try
        ladder.exchange(favourable if ladder.replica_at[0] == 0 else favourable[::-1])
    assert ladder.attempts[0] == 4 and ladder.accepted[0] == 4
    # replica 0: low (start) → high → low → high → low = 2 round trips; replica 1 started high
    assert ladder.round_trips.tolist() == [2, 1]


def exchange_probabilities(temperatures, energies_by_temperature, rounds):
    """min(1, exp[(β_t − β_{t+1})(E_t − E_{t+1})]) of every attempt; energies[t][k] = energy at T_t in round k."""
    beta = 1.0 / (KB * np.asarray(temperatures))
    return np.array([min(1.0, np.exp((beta[t] - beta[t + 1]) * (energies_by_temperature[t][k]
                                                                   - energies_by_temperature[t + 1][k])))
                     for k in range(rounds) for t in range(k % 2, len(beta) - 1, 2)])


def test_ladder_state_round_trip_continues_with_the_same_decisions():
    temps = np.geomspace(300.0, 450.0, 4)
    energies = np.random.default_rng(2).normal(0.0, 0.15, (60, 4))  # (β_t − β_t+1)·ΔE ~ 1: uncertain decisions
    ladder = ExchangeLadder(temps, np.random.default_rng(5))
    for e in energies[:20]:
        ladder.exchange(e)
    copy = ExchangeLadder(temps, np.random.default_rng(6))
    copy.set_state(ladder.get_state())
    forgetful = ExchangeLadder(temps, np.random.default_rng(6))  # everything but the random stream restored
    state = ladder.get_state()
    forgetful.set_state({**state, "rng": forgetful.get_state()["rng"]})
    paths = {"original": [], "copy": [], "forgetful": []}
    at_temperature = [[], [], [], []]
    for e in energies[20:]:
        for t in range(4):
            at_temperature[t].append(e[ladder.replica_at[t]])
        for name, lad in (("original", ladder), ("copy", copy), ("forgetful", forgetful)):
            lad.exchange(e)
            paths[name].append(lad.replica_at.tolist())
    p = exchange_probabilities(temps, at_temperature, 40)
    assert np.sum((p > 0.2) & (p < 0.8)) >= 20
    assert paths["copy"] == paths["original"]
    for key, value in ladder.get_state().items():
        assert np.array_equal(copy.get_state()[key], value), key
    assert np.array_equal(copy.temperature_of, ladder.temperature_of)
    assert paths["forgetful"] != paths["original"]  # the decisions do depend on the restored stream


def test_killed_exchange_run_with_uncertain_exchanges_resumes_to_the_unbroken_result(tmp_path, potential_bytes):
    ladder = "t_min = 1000.0\nt_max = 1300.0\nn_temperatures = 4"
    unbroken = run_campaign(campaign(tmp_path / "a", potential_bytes, ladder), quiet=True)
    # 20 exchange rounds (after sweeps 2, 4, ..., 40): many of the decisions were close calls
    energies = np.array(unbroken.energy)[:, 1::2]
    p = exchange_probabilities(unbroken.temperatures, energies, 20)
    assert np.sum((p > 0.2) & (p < 0.9)) >= 10
    params = campaign(tmp_path / "b", potential_bytes, ladder)
    run_killed_at(params, 25)
    assert read_results(tmp_path / "b" / "out" / "results.h5").sweeps_done == 20
    assert_same_results(run_campaign(params, resume=True, quiet=True), unbroken)


def test_replicas_spread_in_blocks():
    assert [owner_of(r, 6, 3) for r in range(6)] == [0, 0, 1, 1, 2, 2]
    assert [owner_of(r, 4, 2) for r in range(4)] == [0, 0, 1, 1]
    assert [owner_of(r, 5, 2) for r in range(5)] == [0, 0, 0, 1, 1]


def test_serial_run_records_exchanges_per_temperature(tmp_path, potential_bytes):
    rec = run_campaign(campaign(tmp_path, potential_bytes), quiet=True)
    assert np.allclose(rec.temperatures, np.geomspace(300, 3000, 4))
    rt = np.array(rec.replica_temperature)
    assert rt.shape == (4, 40)
    assert all(sorted(rt[:, s]) == [0, 1, 2, 3] for s in range(40))  # a permutation every sweep
    assert np.all(rt[:, 0] == np.arange(4)) and not np.array_equal(rt[:, -1], np.arange(4))
    assert np.array(rec.temperature_trace).tolist() == [[t] * 40 for t in rec.temperatures]
    # 20 rounds: even rounds try pairs (0,1), (2,3); odd rounds try (1,2)
    assert rec.exchange["attempts"].tolist() == [10, 10, 10] and rec.exchange["accepted"].sum() > 0


def test_mpi_and_serial_runs_are_identical(tmp_path, potential_bytes):
    serial = run_campaign(campaign(tmp_path / "serial", potential_bytes), quiet=True)
    result = mpirun(2, "run", campaign(tmp_path / "mpi", potential_bytes), "-q")
    assert result.returncode == 0, result.stderr
    assert_same_results(read_results(tmp_path / "mpi" / "out" / "results.h5"), serial)


def test_three_ranks_six_replicas(tmp_path, potential_bytes):
    ladder = "temperatures = [300.0, 450.0, 700.0, 1000.0, 1500.0, 2500.0]"
    serial = run_campaign(campaign(tmp_path / "serial", potential_bytes, ladder), quiet=True)
    result = mpirun(3, "run", campaign(tmp_path / "mpi", potential_bytes, ladder))
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("exchange acceptance") == 1  # only rank 0 reports
    assert_same_results(read_results(tmp_path / "mpi" / "out" / "results.h5"), serial)


def test_more_ranks_than_replicas_is_an_error(tmp_path, potential_bytes):
    result = mpirun(3, "run", campaign(tmp_path, potential_bytes, "temperatures = [300.0, 600.0]"))
    assert result.returncode != 0
    assert result.stderr.count("nanomc: error:") == 1
    assert "3 MPI ranks but only 2 replicas" in result.stderr
    assert not (tmp_path / "out").exists()


def test_failing_rank_stops_the_job_and_the_run_resumes(tmp_path, potential_bytes):
    unbroken = run_campaign(campaign(tmp_path / "unbroken", potential_bytes), quiet=True)
    params = campaign(tmp_path / "broken", potential_bytes)
    failed = mpirun(2, "run", params, "-q", env={"NANOMC_INJECT_FAULT": "1:25"})
    assert failed.returncode != 0
    assert "rank 1 failed in sweep 25: RuntimeError: injected fault" in failed.stderr
    assert failed.stderr.count("nanomc: error:") == 1
    partial = read_results(tmp_path / "broken" / "out" / "results.h5")
    assert partial.sweeps_done == 20 and not partial.complete
    resumed = mpirun(2, "run", params, "--resume", "-q")
    assert resumed.returncode == 0, resumed.stderr
    assert_same_results(read_results(tmp_path / "broken" / "out" / "results.h5"), unbroken)


def test_serial_resume_of_replica_exchange_run(tmp_path, potential_bytes):
    unbroken = run_campaign(campaign(tmp_path / "a", potential_bytes), quiet=True)
    params = campaign(tmp_path / "b", potential_bytes)
    run_campaign(params, quiet=True, stop_after=13)
    assert read_results(tmp_path / "b" / "out" / "results.h5").sweeps_done == 13
    assert_same_results(run_campaign(params, resume=True, quiet=True), unbroken)
