"""Temperatures: Boltzmann's constant and annealing schedules."""
from __future__ import annotations

import numpy as np

#: Boltzmann constant in eV/K
KB = 8.617333262e-5


def temperature_schedule(t_start: float, t_end: float, sweeps: int, kind: str = "geometric") -> np.ndarray:
    """Temperature (K) of each of `sweeps` sweeps, from t_start to t_end: geometric or linear in T,
    or `beta`: linear in β = 1/k_BT."""
    if sweeps == 1:
        return np.array([float(t_end)])
    if kind == "geometric":
        return np.geomspace(t_start, t_end, sweeps)
    if kind == "linear":
        return np.linspace(t_start, t_end, sweeps)
    if kind == "beta":
        return 1.0 / np.linspace(1.0 / t_start, 1.0 / t_end, sweeps)
    raise ValueError(f"unknown schedule {kind!r} (geometric, linear or beta)")
