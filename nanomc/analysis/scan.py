"""The analysis of a parameter scan: every point's own analysis (`load`), gathered into one table
with a row per (point, temperature).

A scan directory holds scan.json (format "nanomc-scan", version 1: the scanned `variables` as
dotted keys and the `points`, each with its `name`, `directory` relative to scan.json and
`values` per variable) and one ordinary results directory per point (params.toml, results.h5).
A point without results.h5 is skipped with a warning; an incomplete run is analysed and flagged
(column `complete`). The pair element X is the same for every point: --element, else the
minority element of most points.

The scan table's columns: `point`, the scanned variables (their values), `n_atoms`, `ensemble`,
`complete`, `T_K`, `element` (X), then per measure (MEASURES) its mean and `<name>_err`, the
standard error (1σ) of the point's analysis (blocking, or clustered by walker family), and
`converged`: every error in the row reached its plateau. Measures absent from every point (the
dopant measures of a metal, the thermodynamics of a Metropolis run) are left out.
"""
from __future__ import annotations

import csv
import json
import math
import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import NanomcError
from .analyze import DEFAULT_DISCARD, Analysis, load
from .errors import AnalysisError, AnalysisWarning
from .sublattice import VACANCY

FORMAT = "nanomc-scan"
VERSION = 1
SCAN_FILE = "scan.json"
RESULTS_FILE = "results.h5"


@dataclass(frozen=True)
class Measure:
    """One measure of the scan table: the row of the point's table with this quantity, category and
    element ("{x}": the pair element), times `scale` ("per_atom": divided by the number of atoms)."""

    name: str
    quantity: str
    category: str
    element: str
    meaning: str
    scale: str = ""


#: the measures of the scan table, in column order ({x}: the pair element X)
MEASURES = (
    Measure("x_{x}", "composition", "all", "{x}", "fraction of X on the swappable sites of its swap group"),
    Measure("x_{x}_surface", "composition_layer", "0", "{x}", "fraction of X in layer 0 (the surface)"),
    Measure("x_{x}_subsurface", "composition_layer", "1", "{x}", "fraction of X in layer 1 (the subsurface)"),
    Measure("x_{x}_interior", "composition_site_type", "interior", "{x}",
            "fraction of X on the sites below the surface (layers ≥ 1)"),
    Measure("enrichment_{x}", "enrichment", "surface", "{x}", "x_X(surface) / x_X(all swappable sites)"),
    Measure("alpha_nn_{x}{x}", "warren_cowley_nn", "{x}", "{x}",
            "Warren–Cowley α = 1 − P(X on a first-shell site of X)/c_X (< 0: X clusters)"),
    Measure("any_nn_{x}", "any_nn", "{x}", "{x}", "fraction of X atoms with at least one X nearest neighbour"),
    Measure("energy_per_atom_eV", "energy", "", "", "⟨E⟩ per atom (eV; atoms: sites minus the mean vacancies)",
            "per_atom"),
    Measure("vacancy_surface", "vacancy_layer", "0", VACANCY,
            "oxides: vacant fraction of the anion sites in the surface layer"),
    Measure("dopant_vacancy_{x}", "dopant_vacancy", "{x}", VACANCY,
            "oxides: share of the anion sites linked to X atoms that are vacant"),
    Measure("free_energy_per_atom_eV", "free_energy", "", "", "population annealing: F per atom (eV)", "per_atom"),
    Measure("heat_capacity_kB", "heat_capacity", "", "", "population annealing: C/k_B of the particle (no error)"),
)


@dataclass(frozen=True)
class ScanPoint:
    """One point of a scan: its name, results directory and the values of the scanned variables."""

    name: str
    directory: Path
    values: dict[str, Any]

    @property
    def results(self) -> Path:
        """The point's results file."""
        return self.directory / RESULTS_FILE


@dataclass(frozen=True)
class Scan:
    """A scan read from its scan.json: path (of scan.json), variables (dotted keys), points, parameter file."""

    path: Path
    variables: list[str]
    points: list[ScanPoint]
    parameter_file: str = ""

    @property
    def directory(self) -> Path:
        """The scan directory (that of scan.json)."""
        return self.path.parent


@dataclass
class ScanTable:
    """The scan table: `columns` in order and one dict per (point, temperature) row; `meanings`:
    column name -> meaning (units)."""

    columns: list[str]
    rows: list[dict[str, Any]]
    meanings: dict[str, str] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.rows)

    def column(self, name: str) -> np.ndarray:
        """One column as a numpy array (object dtype for text and list values)."""
        values = [row[name] for row in self.rows]
        try:
            return np.array(values, dtype=float)
        except (TypeError, ValueError):
            return np.array(values, dtype=object)

    def write_csv(self, path: str | Path) -> None:
        """Write the table as CSV with a header line; numbers at full precision, lists as JSON."""
        with open(path, "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(self.columns)
            for row in self.rows:
                writer.writerow([json.dumps(row[c]) if isinstance(row[c], list) else row[c] for c in self.columns])


@dataclass
class ScanAnalysis:
    """A scan's analysis: the scan, its table, the pair element X, each analysed point's Analysis
    (by point name), the points without results (`missing`) and those that could not be analysed
    (`failed`: name -> reason)."""

    scan: Scan
    table: ScanTable
    element: str
    analyses: dict[str, Analysis]
    missing: list[str]
    failed: dict[str, str]

    @property
    def incomplete(self) -> list[str]:
        """Names of the analysed points whose run is not finished."""
        return [name for name, a in self.analyses.items() if not a.info.get("complete", True)]


def scan_file(path: str | Path) -> Path | None:
    """The scan.json that `path` names (a scan directory or a .json file), or None for anything else
    (a results file). A directory without scan.json is an AnalysisError."""
    path = Path(path)
    if path.is_dir():
        if not (path / SCAN_FILE).is_file():
            raise AnalysisError(f"{path}: a directory without {SCAN_FILE}; give a results file or a scan directory")
        return path / SCAN_FILE
    return path if path.suffix == ".json" else None


def read_scan(path: str | Path) -> Scan:
    """Read and check a scan.json (or the scan.json of a scan directory); AnalysisError with a one-line reason."""
    path = scan_file(path) or Path(path)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise AnalysisError(f"{path}: scan file not found") from None
    except OSError as exc:
        raise AnalysisError(f"{path}: cannot read the scan file ({exc.strerror or exc})") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        where = f" (line {exc.lineno}: {exc.msg})" if isinstance(exc, json.JSONDecodeError) else ""
        raise AnalysisError(f"{path}: not a JSON file{where}") from None

    def fail(reason: str) -> AnalysisError:
        return AnalysisError(f"{path}: {reason}")

    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise fail(f"not a nanomc scan file (format is not {FORMAT!r})")
    if document.get("version") != VERSION:
        raise fail(f"scan format version {document.get('version')!r} is not supported (this nanomc reads {VERSION})")
    variables = document.get("variables")
    if not isinstance(variables, list) or not variables or not all(isinstance(v, str) for v in variables):
        raise fail("`variables` must be a non-empty list of dotted keys")
    entries = document.get("points")
    if not isinstance(entries, list) or not entries:
        raise fail("`points` must be a non-empty list")
    points = []
    for k, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise fail(f"points[{k}] is not an object")
        for key in ("name", "directory"):
            if not isinstance(entry.get(key), str) or not entry[key]:
                raise fail(f"points[{k}]: `{key}` must be a non-empty string")
        values = entry.get("values")
        if not isinstance(values, dict) or set(values) != set(variables):
            raise fail(f"points[{k}] ({entry['name']}): `values` must give exactly the variables "
                       f"{', '.join(variables)}")
        points.append(ScanPoint(entry["name"], path.parent / entry["directory"], {v: values[v] for v in variables}))
    names = Counter(p.name for p in points)
    if max(names.values()) > 1:
        raise fail(f"point name {names.most_common(1)[0][0]!r} appears twice")
    return Scan(path, list(variables), points, str(document.get("parameter_file", "")))


def analyze_scan(scan: Scan | str | Path, element: str | None = None, discard: float | int = DEFAULT_DISCARD,
                 radial_width: float | None = None) -> ScanAnalysis:
    """Analyse every point of a scan that has results (`load` with element, discard, radial_width,
    radial width in Å) and gather the scan table.

    Warnings (AnalysisWarning) name the points without results and the points that could not be
    analysed; each point's own analysis warnings are repeated with its name in front. An
    AnalysisError when no point could be analysed.
    """
    scan = scan if isinstance(scan, Scan) else read_scan(scan)
    missing = [p.name for p in scan.points if not p.results.is_file()]
    present = [p for p in scan.points if p.results.is_file()]
    failed: dict[str, str] = {}
    loaded: dict[str, tuple[Analysis, list]] = {}
    for point in present:
        try:
            loaded[point.name] = _load_point(point, element, discard, radial_width)
        except NanomcError as exc:
            failed[point.name] = str(exc)
    if missing:
        warnings.warn(f"{scan.path}: {len(missing)} of {len(scan.points)} points have no {RESULTS_FILE} yet, "
                      f"skipped: {', '.join(missing)}", AnalysisWarning, stacklevel=2)
    if not loaded:
        reason = next(iter(failed.values()), f"no point has a {RESULTS_FILE} yet")
        raise AnalysisError(f"{scan.path}: no point of the scan could be analysed ({reason})")
    chosen = element or _common_element(loaded)
    for point in present:
        if point.name in loaded and loaded[point.name][0].element != chosen:
            try:
                loaded[point.name] = _load_point(point, chosen, discard, radial_width)
            except NanomcError as exc:
                failed[point.name] = str(exc)
                del loaded[point.name]
    for name, reason in failed.items():
        warnings.warn(f"point {name}: skipped ({reason})", AnalysisWarning, stacklevel=2)
    for name, (_, caught) in loaded.items():
        for w in caught:
            warnings.warn(f"point {name}: {w.message}", w.category, stacklevel=2)
    if not loaded:
        raise AnalysisError(f"{scan.path}: no point of the scan could be analysed with element {chosen}")
    analyses = {p.name: loaded[p.name][0] for p in scan.points if p.name in loaded}
    table = scan_table(scan, analyses, chosen)
    return ScanAnalysis(scan, table, chosen, analyses, missing, failed)


def _load_point(point: ScanPoint, element: str | None, discard: float | int,
                radial_width: float | None) -> tuple[Analysis, list]:
    """A point's Analysis and the warnings its analysis gave."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        analysis = load(point.results, element=element, discard=discard, radial_width=radial_width)
    return analysis, list(caught)


def _common_element(loaded: dict[str, tuple[Analysis, list]]) -> str:
    """The pair element most points chose by default (their minority element); ties: the first seen."""
    counts = Counter(a.element for a, _ in loaded.values())
    return counts.most_common(1)[0][0]


def scan_table(scan: Scan, analyses: dict[str, Analysis], element: str) -> ScanTable:
    """The scan table of the analysed points (name -> Analysis, every one with pair element `element`)."""
    quantities = {q for a in analyses.values() for q in set(a.table["quantity"])}
    measures = [m for m in MEASURES if m.quantity in quantities]
    names = [m.name.format(x=element) for m in measures]
    meanings = {"point": "the point's name (its results directory)",
                **{v: "scanned variable (its value at the point)" for v in scan.variables},
                "n_atoms": "atoms of the particle (sites minus the mean vacancies)",
                "ensemble": "the run's ensemble", "complete": "the run finished (False: analysed what is there)",
                "T_K": "temperature (K)", "element": "the pair element X"}
    for m, name in zip(measures, names):
        meanings[name] = m.meaning.replace("X", element)
        meanings[f"{name}_err"] = f"standard error (1σ) of {name}"
    meanings["converged"] = "every error of the row reached its plateau (False: lower bounds)"
    rows = []
    for point in scan.points:
        if point.name not in analyses:
            continue
        a = analyses[point.name]
        for temperature in a.temperatures:
            at_t = a.table.select(temperature_K=float(temperature))
            atoms = _atoms(a, at_t)
            row = {"point": point.name, **point.values, "n_atoms": _plain_number(atoms),
                   "ensemble": a.info.get("ensemble", ""), "complete": bool(a.info.get("complete", True)),
                   "T_K": float(temperature), "element": element}
            converged = True
            for m, name in zip(measures, names):
                found = at_t.select(quantity=m.quantity, category=m.category.format(x=element),
                                    element=m.element.format(x=element)).rows()
                mean, error = (found[0]["mean"], found[0]["error"]) if found else (math.nan, math.nan)
                scale = atoms if m.scale == "per_atom" else 1.0
                row[name], row[f"{name}_err"] = mean / scale, error / scale
                converged &= not found or bool(found[0]["converged"])
            row["converged"] = converged
            rows.append(row)
    columns = ["point", *scan.variables, "n_atoms", "ensemble", "complete", "T_K", "element",
               *(c for name in names for c in (name, f"{name}_err")), "converged"]
    return ScanTable(columns, rows, meanings)


def _atoms(a: Analysis, at_t) -> float:
    """Atoms of the particle at one temperature: its sites minus the mean number of vacancies."""
    vacancies = at_t.select(quantity="composition", element=VACANCY).rows()
    return a.info["n_sites"] - sum(r["mean"] * r["sites"] for r in vacancies)


def _plain_number(value: float) -> float | int:
    return int(round(value)) if abs(value - round(value)) < 1e-9 else value
