"""The convergence lines of `nanomc run`'s summary: R̂ and ESS of the energy at every temperature; for
population annealing with several starts, whether the populations' ⟨E⟩ and F agree; then, from the
analysis of the results (what `nanomc analyze` reports), which quantities are not converged.
"""
from __future__ import annotations

import numpy as np

from ..formatting import format_temperature, plural
from ..campaign.population_results import PopulationRecord
from ..campaign.results import RunRecord
from .analyze import DEFAULT_DISCARD, load
from .convergence import AGREEMENT_P_MIN, ESS_MIN, RHAT_MAX, diagnose
from .errors import AnalysisError
from .population import pooled_thermodynamics
from .statistics import discard_sweeps


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
    lines = [f"  convergence of the energy after the first {plural(n_discard, 'sweep')} (R̂ across {compared}; "
             f"converged: R̂ <= {rhat_max:g}, ESS >= {ess_min:g}; `nanomc analyze` checks every quantity):"]
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


def population_convergence_lines(record: PopulationRecord, p_min: float = AGREEMENT_P_MIN) -> list[str]:
    """Population annealing with several starts: per completed step (temperature in K) the χ² tail
    probability that the populations' ⟨E⟩ and F agree within their own errors
    (nanomc.analysis.convergence.agreement), and whether both do (p ≥ p_min); [] with one population."""
    if record.n_starts < 2 or not record.steps_done:
        return []
    pooled = pooled_thermodynamics(record)
    lines = [f"  agreement of the {record.n_starts} populations (χ² of their estimates with their own errors; "
             f"converged: p >= {p_min:g}; `nanomc analyze` checks every quantity):"]
    failed = untested = 0
    for k, temperature in enumerate(record.temperatures[:record.steps_done]):
        energy, free = pooled["mean_energy"][k], pooled["free_energy"][k]
        tested = [a for a in (energy, free) if np.isfinite(a.p)]
        if not np.isfinite(energy.p):
            verdict = "not tested (a population has too few families for an error)"
            untested += 1
        elif all(a.converged(p_min) for a in tested):
            verdict = "converged"
        else:
            verdict = "NOT converged"
            failed += 1
        f_text = f"  F p {free.p:.3g}" if np.isfinite(free.p) else ""
        lines.append(f"  T {format_temperature(temperature):>7} K  <E> p {energy.p:.3g}{f_text}  {verdict}")
    if failed:
        lines.append(f"  the populations disagree at {failed} of {record.steps_done} temperatures: add walkers or "
                     "sweeps per step, or check for populations stuck in different states")
    if untested:
        lines.append(f"  {untested} of {record.steps_done} temperatures could not be tested: add walkers")
    return lines


#: how many unconverged quantities the run summary names (the report lists them all)
MAX_NAMED = 4


def quantity_convergence_lines(record: RunRecord | PopulationRecord) -> list[str]:
    """One line: how many of the analysis's diagnosed values (every quantity at every temperature, K) are not
    converged, naming up to MAX_NAMED of them; [] when nothing could be diagnosed; why not, when the analysis
    refuses the record (too few sweeps, too small a particle)."""
    if record.ensemble == "anneal" or not (getattr(record, "sweeps_done", 0) or getattr(record, "steps_done", 0)):
        return []
    try:
        convergence = load(record).info["convergence"]
    except AnalysisError as exc:        # a run too short or a particle too small for the analysis
        return [f"  every quantity (`nanomc analyze`): not analysed ({exc})"]
    failed = convergence["not_converged"]
    if not convergence["diagnosed"]:
        return []
    if not failed:
        return [f"  every quantity (`nanomc analyze`): all {convergence['diagnosed']} values converged"]
    named = ", ".join(f"{_quantity_name(row)} at {format_temperature(row['temperature_K'])} K"
                      for row in failed[:MAX_NAMED])
    more = f" and {len(failed) - MAX_NAMED} more" if len(failed) > MAX_NAMED else ""
    return [f"  every quantity (`nanomc analyze`): {len(failed)} of {convergence['diagnosed']} values NOT converged: "
            f"{named}{more}"]


def _quantity_name(row: dict) -> str:
    words = [str(row[key]) for key in ("quantity", "category", "element") if row.get(key) not in (None, "", "all")]
    return " ".join(words)
