"""The convergence lines of `nanomc run`'s summary: R̂ and ESS of the energy at every temperature.

The energy trace is all a finished run has without the site geometry; `nanomc analyze` checks every
quantity the same way (nanomc.analysis.convergence).
"""
from __future__ import annotations

import numpy as np

from ..results import RunRecord
from .analyze import DEFAULT_DISCARD
from .convergence import ESS_MIN, RHAT_MAX, diagnose
from .statistics import discard_sweeps
from .table import format_temperature


def energy_convergence_lines(record: RunRecord, discard: float | int = DEFAULT_DISCARD,
                             rhat_max: float = RHAT_MAX, ess_min: float = ESS_MIN) -> list[str]:
    """Per temperature (K) the R̂ and bulk/tail ESS of the energy (eV per sweep) after `discard`, across
    the starts (one start: the halves of its chain), and whether it is converged; [] before any sweep."""
    done = record.sweeps_done
    if not done or record.ensemble == "anneal":
        return []
    n_discard = discard_sweeps(discard, done)
    n_t = len(record.temperatures)
    energy = np.asarray(record.energy, float).reshape(record.n_starts, n_t, -1)[:, :, max(n_discard - 1, 0):]
    compared = f"{record.n_starts} starts" if record.n_starts > 1 else "the halves of the chain"
    lines = [f"  convergence of the energy after the first {n_discard} sweeps (R̂ across {compared}; converged: "
             f"R̂ <= {rhat_max:g}, ESS >= {ess_min:g}; `nanomc analyze` checks every quantity):"]
    failed = 0
    for t, temperature in enumerate(record.temperatures):
        d = diagnose(energy[:, t])
        ok = d.converged(rhat_max, ess_min)
        failed += not ok
        lines.append(f"  T {format_temperature(temperature):>7} K  R̂ {d.rhat:.3f}  ESS bulk {d.ess_bulk:.0f}  "
                     f"tail {d.ess_tail:.0f}  {'converged' if ok else 'NOT converged'}")
    if failed:
        lines.append(f"  the energy is not converged at {failed} of {n_t} temperatures: run longer, add starts or "
                     "check for starts stuck in different states")
    return lines
