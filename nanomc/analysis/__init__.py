"""Segregation analysis of Monte Carlo results: site geometry, compositions, pair and dopant statistics, renders.

    import nanomc.analysis as na
    a = na.load("runs/AuCu-segregation/results/results.h5", element="Au", discard=0.2)
    a.select(quantity="composition_layer", element="Au")   # tidy Table (columns as arrays)
    na.write_report(a, "out")                               # analysis.md/.json/.csv and PNGs

`load` also takes an ase.Atoms (one snapshot) or a list of snapshots of one structure;
`load_snapshots` takes positions (an ase.Atoms) and an array of occupations. Oxides: with
several swap groups (`groups=[["Ce", "Cu"], ["O", "X"]]` for structures; results files carry
theirs) each group's geometry is its own sublattice's (`sublattice`), X marks a vacancy, and
the dopant measures of the pair element are added. A population-annealing results file
("nanomc-pamc") gives one state per temperature step (its walkers), errors clustered by walker
family, and the free energy, entropy, heat capacity and ln Z per step (`population`).
`analyze_scan("runs/scan")` gathers every point of a parameter scan into one table, a row per
(point, temperature) (`scan`; `scan_report.write_scan_report` writes scan.csv, scan.md and plots).
"""
from .analyze import DEFAULT_DISCARD, Analysis, Series, State, load, load_snapshots
from .errors import AnalysisError, AnalysisWarning, DriftWarning
from .report import markdown, write_report
from .scan import ScanAnalysis, analyze_scan, read_scan
from .sites import Labels, Shells, SiteGeometry, neighbour_shells, site_geometry
from .statistics import Estimate, blocking, blocking_levels, drift_z, ratio_estimate
from .table import COLUMNS, Table

__all__ = [
    "DEFAULT_DISCARD", "Analysis", "Series", "State", "load", "load_snapshots", "AnalysisError", "AnalysisWarning", "DriftWarning",
    "Labels", "Shells", "SiteGeometry", "neighbour_shells", "site_geometry", "Estimate", "blocking",
    "blocking_levels", "drift_z", "ratio_estimate", "COLUMNS", "Table", "markdown", "write_report",
    "ScanAnalysis", "analyze_scan", "read_scan",
]
