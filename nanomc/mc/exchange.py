"""Replica exchange bookkeeping: which replica is at which temperature, exchanges, round trips.

Temperatures are exchanged, not configurations: replica r keeps its occupation and random
stream and moves along the ladder. Exchange rounds alternate between the pairs
(0,1), (2,3), ... and (1,2), (3,4), ...; a pair (t, t+1) swaps its replicas with probability
min(1, exp[(β_t − β_{t+1})(E_t − E_{t+1})]). A round trip is counted when a replica that has
visited the lowest temperature reaches the highest and comes back to the lowest.
"""
from __future__ import annotations

import json

import numpy as np

from .schedule import KB


def exchange_log_probability(beta_a, beta_b, energy_a, energy_b):
    """ln of the exchange probability (before min with 0) of the replicas at β_a and β_b (1/eV)
    with energies E_a and E_b (eV): (β_a − β_b)(E_a − E_b); numbers or arrays."""
    return (beta_a - beta_b) * (energy_a - energy_b)


class ExchangeLadder:
    """State of the temperature ladder: replica_at[t], temperature_of[r], statistics, RNG."""

    def __init__(self, temperatures: np.ndarray, rng: np.random.Generator) -> None:
        self.temperatures = np.asarray(temperatures, float)
        n = len(self.temperatures)
        self.rng = rng
        self.replica_at = np.arange(n)          # replica at temperature index t
        self.temperature_of = np.arange(n)      # temperature index of replica r
        self.reset_statistics()

    def reset_statistics(self) -> None:
        """Start counting attempts, acceptances, rounds and round trips afresh (after a tuning);
        which replica is at which temperature is kept."""
        n = len(self.temperatures)
        self.attempts = np.zeros(max(n - 1, 0), np.int64)
        self.accepted = np.zeros(max(n - 1, 0), np.int64)
        self.rounds = 0
        self.round_trips = np.zeros(n, np.int64)
        # last end of the ladder each replica touched: 0 lowest, 1 highest, −1 neither yet
        self.last_end = np.full(n, -1, np.int64)
        self._touch_ends()

    def _touch_ends(self) -> None:
        """Update round trips: lowest → highest marks a replica; back at the lowest counts one."""
        n = len(self.temperatures)
        if n < 2:
            return
        low, high = self.replica_at[0], self.replica_at[n - 1]
        if self.last_end[low] == 1:
            self.round_trips[low] += 1
        self.last_end[low] = 0
        if self.last_end[high] == 0:
            self.last_end[high] = 1

    def exchange(self, energies: np.ndarray) -> None:
        """One round of exchange attempts; energies[r] is replica r's energy (eV)."""
        n = len(self.temperatures)
        beta = 1.0 / (KB * self.temperatures)
        for t in range(self.rounds % 2, n - 1, 2):
            a, b = self.replica_at[t], self.replica_at[t + 1]
            log_p = exchange_log_probability(beta[t], beta[t + 1], energies[a], energies[b])
            u = self.rng.random()
            self.attempts[t] += 1
            if log_p >= 0 or u < np.exp(log_p):
                self.accepted[t] += 1
                self.replica_at[t], self.replica_at[t + 1] = b, a
                self.temperature_of[a], self.temperature_of[b] = t + 1, t
        self.rounds += 1
        self._touch_ends()

    # ------------------------------------------------------------ checkpoint state
    def get_state(self) -> dict:
        return {"replica_at": self.replica_at.copy(), "attempts": self.attempts.copy(),
                "accepted": self.accepted.copy(), "rounds": self.rounds, "round_trips": self.round_trips.copy(),
                "last_end": self.last_end.copy(), "rng": json.dumps(self.rng.bit_generator.state)}

    def set_state(self, state: dict) -> None:
        self.replica_at = np.asarray(state["replica_at"], np.int64).copy()
        self.temperature_of = np.argsort(self.replica_at)
        self.attempts = np.asarray(state["attempts"], np.int64).copy()
        self.accepted = np.asarray(state["accepted"], np.int64).copy()
        self.rounds = int(state["rounds"])
        self.round_trips = np.asarray(state["round_trips"], np.int64).copy()
        self.last_end = np.asarray(state["last_end"], np.int64).copy()
        self.rng.bit_generator.state = json.loads(state["rng"])


def ladders_state(ladders: list[ExchangeLadder]) -> dict:
    """The checkpoint state of the ladders of a campaign's starts: the one ladder's get_state(), or with
    several starts every array stacked along a leading start axis ("rounds" too; "rng" a JSON list)."""
    if len(ladders) == 1:
        return ladders[0].get_state()
    states = [ladder.get_state() for ladder in ladders]
    stacked = {key: np.stack([np.asarray(s[key]) for s in states]) for key in states[0] if key != "rng"}
    stacked["rng"] = json.dumps([json.loads(s["rng"]) for s in states])
    return stacked


def set_ladders_state(ladders: list[ExchangeLadder], state: dict) -> None:
    """Restore ladders_state(); ValueError if it holds another number of starts."""
    if len(ladders) == 1:
        ladders[0].set_state(state)
        return
    rngs = json.loads(state["rng"])
    if not isinstance(rngs, list) or len(rngs) != len(ladders) or np.ndim(state["rounds"]) != 1:
        raise ValueError(f"the checkpoint's exchange state does not hold {len(ladders)} starts")
    for s, ladder in enumerate(ladders):
        ladder.set_state({**{key: np.asarray(value)[s] for key, value in state.items() if key != "rng"},
                          "rng": json.dumps(rngs[s])})
