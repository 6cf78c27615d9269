"""The replica driver: sweeps the replicas of this rank, gathers, exchanges temperatures.

With independent starts (nanomc.mc.starts) replica r = s·T + k is replica k of start s's ladder
of T temperatures; each start has its own ExchangeLadder and exchanges only within itself.
Replica r runs on rank owner_of(r); every rank holds every ladder and makes the same exchange
decisions from the allgathered energies with the same random streams, so no decision has to be
broadcast. Every step ends in a collective in which each rank reports
success or its error (`on_every_rank`), so a rank that raises stops every rank with a message
naming it instead of leaving the others waiting.
"""
from __future__ import annotations

import os

import numpy as np

from .chain import Chain
from .exchange import ExchangeLadder
from .parallel import on_every_rank

#: testing hook: "RANK:SWEEP" makes that rank raise during that sweep (1-based)
FAULT_VARIABLE = "NANOMC_INJECT_FAULT"


class Driver:
    """Sweeps local replicas at their current ladder temperatures (or an anneal schedule)."""

    def __init__(self, chains: dict[int, Chain], ladders: list[ExchangeLadder], comm,
                 schedule: np.ndarray | None = None, exchange_interval: int = 0) -> None:
        self.chains = chains
        self.ladders = ladders
        self.comm = comm
        self.schedule = schedule
        self.exchange_interval = exchange_interval
        self.n_temperatures = len(ladders[0].temperatures)
        self.n_replicas = len(ladders) * self.n_temperatures
        fault = os.environ.get(FAULT_VARIABLE, "")
        self._fault = tuple(int(x) for x in fault.split(":")) if fault else None

    @property
    def ladder(self) -> ExchangeLadder:
        """The ladder of the first start (the only one in a campaign of one start, e.g. while tuning)."""
        return self.ladders[0]

    def temperature_of(self, replica: int, sweep: int) -> float:
        """Temperature (K) replica runs at in sweep `sweep` (0-based)."""
        if self.schedule is not None:
            return float(self.schedule[sweep])
        ladder = self.ladders[replica // self.n_temperatures]
        return float(ladder.temperatures[ladder.temperature_of[replica % self.n_temperatures]])

    def replica_at(self) -> np.ndarray:
        """The replica at each (start, temperature index), start-major: (starts × temperatures,)."""
        return np.concatenate([s * self.n_temperatures + ladder.replica_at for s, ladder in enumerate(self.ladders)])

    def temperature_indices(self) -> np.ndarray:
        """Each replica's temperature index in its start's ladder: (starts × temperatures,)."""
        return np.concatenate([ladder.temperature_of for ladder in self.ladders])

    def step(self, sweep: int) -> tuple[np.ndarray, np.ndarray]:
        """One sweep of every replica; returns (energy eV, acceptance) per replica on every rank."""
        def sweep_local() -> list[tuple[int, float, float]]:
            if self._fault == (self.comm.rank, sweep + 1):
                raise RuntimeError("injected fault")
            results = []
            for r, chain in self.chains.items():
                result = chain.sweep(self.temperature_of(r, sweep))
                results.append((r, result.energy, result.acceptance))
            return results

        energy = np.empty(self.n_replicas)
        acceptance = np.empty(self.n_replicas)
        for results in on_every_rank(self.comm, f"sweep {sweep + 1}", sweep_local):
            for r, e, a in results:
                energy[r], acceptance[r] = e, a
        return energy, acceptance

    def maybe_exchange(self, sweeps_done: int, energy: np.ndarray) -> None:
        """Attempt an exchange round in every start's ladder if sweeps_done is a multiple of the exchange
        interval; energy (eV) per replica."""
        n = self.n_temperatures
        if self.exchange_interval and n > 1 and sweeps_done % self.exchange_interval == 0:
            for s, ladder in enumerate(self.ladders):
                ladder.exchange(energy[s * n:(s + 1) * n])

    def gather(self, what: str) -> list | None:
        """Per replica, on rank 0: 'elements' (occupations), 'state' (checkpoint) or 'best'."""
        local = {}
        for r, chain in self.chains.items():
            if what == "elements":
                local[r] = chain.model.element_indices
            elif what == "state":
                local[r] = chain.get_state()
            else:
                local[r] = chain.best
        parts = self.comm.gather(local, root=0)
        if self.comm.rank != 0:
            return None
        merged = {k: v for part in parts for k, v in part.items()}
        return [merged[r] for r in range(self.n_replicas)]
