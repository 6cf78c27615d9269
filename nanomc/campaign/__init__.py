"""Campaigns: a parameter file -> particle, potential, chains or walkers -> results; scans of them.

One job per module:
  schema              the parameter file: schema, validation with file:line messages, loading
  setup               potential + particle -> Setup (swap groups, this rank's chains)
  output              the output directory lock and opening, resume checks, rank-0 writes, progress
  replica             the replica campaign (`run_campaign`, what `nanomc run` does; pamc goes on in population)
  population          the population-annealing campaign (ensemble = "pamc")
  scan                a parameter file with a [scan] section: its points, run one by one or side by side
  results             the replica campaign's results file (nanomc-results)
  population_results  the pamc results file (nanomc-pamc) and its thermodynamics

The campaign API is importable from here: `from nanomc.campaign import run_campaign, describe`.
"""
from .output import (NOT_IN_RESULTS, CampaignError, DirectoryLock, Progress, energies_note, format_duration,
                     particle_line, results_file, results_line, same_parameters)
from .population import describe_population, run_population
from .replica import describe, new_record, run_campaign
from .setup import PROGRESS_SITES, Setup, build_particle, load_potential, occupation_elements, prepare, setup_line

__all__ = [
    "NOT_IN_RESULTS",
    "PROGRESS_SITES",
    "CampaignError",
    "DirectoryLock",
    "Progress",
    "Setup",
    "build_particle",
    "describe",
    "describe_population",
    "energies_note",
    "format_duration",
    "load_potential",
    "new_record",
    "occupation_elements",
    "particle_line",
    "prepare",
    "results_file",
    "results_line",
    "run_campaign",
    "run_population",
    "same_parameters",
    "setup_line",
]
