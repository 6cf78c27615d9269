"""Reports of a scan's analysis: the scan table as Markdown and CSV, and PNG plots of its main
measures against each numeric scanned variable and against temperature (matplotlib, Agg canvas).

scan.md, scan.csv          the scan table (CSV: every row and column, full precision; Markdown:
                           at most MAX_REPORT_TEMPERATURES temperatures per point)
scan_<variable>.png        per numeric scanned variable: the PLOTTED measures against it, one line
                           per combination of the other variables and temperature
scan_temperature.png       the PLOTTED measures against temperature, one line per point
At most MAX_LINES lines per panel: temperatures are thinned first (`report.shown_temperatures`),
then combinations; the title says how many are shown.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np

from ..campaign.scan import short_labels
from ..formatting import format_temperature
from .plots import _colours, _figure
from .report import shown_temperatures, value_with_error
from .scan import ScanAnalysis, ScanTable

#: the measures plotted, in panel order, with their axis labels ({x}: the pair element); those the
#: table lacks are left out; composition panels show the whole particle's fraction dashed
PLOTTED = (("x_{x}_surface", "{x} fraction of the surface"), ("enrichment_{x}", "surface enrichment of {x}"),
           ("x_{x}_interior", "{x} fraction below the surface"), ("alpha_nn_{x}{x}", "Warren–Cowley α nn {x}–{x}"),
           ("any_nn_{x}", "fraction of {x} with ≥1 {x} nn"), ("energy_per_atom_eV", "energy per atom (eV)"),
           ("vacancy_surface", "vacant fraction of the surface anion sites"),
           ("dopant_vacancy_{x}", "vacant share of {x}'s anion sites"))
#: lines per panel at most
MAX_LINES = 12


def format_value(value: Any) -> str:
    """A scanned variable's value for tables and legends: 300, 0.25, [300, 600], a string as it is."""
    if isinstance(value, list):
        return "[" + ", ".join(format_value(v) for v in value) + "]"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def markdown(sa: ScanAnalysis) -> str:
    """The scan table as Markdown, after lines on the points analysed, missing and incomplete."""
    scan, table, x = sa.scan, sa.table, sa.element
    out = [f"# nanomc scan analysis: {scan.path}", "",
           f"{len(sa.analyses)} of {len(scan.points)} points analysed; scanned: {', '.join(scan.variables)}; "
           f"pair element X = {x}."]
    if sa.missing:
        out.append(f"No results yet (skipped): {', '.join(sa.missing)}.")
    if sa.failed:
        out.append("Could not be analysed (skipped): " + "; ".join(f"{n} ({r})" for n, r in sa.failed.items()) + ".")
    if sa.incomplete:
        out.append(f"Incomplete runs, analysed as far as they got (marked *): {', '.join(sa.incomplete)}.")
    out.append("Values: mean ± standard error (1σ) of each point's own analysis (blocking; population annealing: "
               "clustered by walker family); † = an error of the row has no plateau (a lower bound); "
               "scan.csv holds the same columns, each error as `<name>_err`.")
    shown = {name: set(shown_temperatures(a.temperatures).tolist()) for name, a in sa.analyses.items()}
    if any(len(s) < len(a.temperatures) for s, a in zip(shown.values(), sa.analyses.values())):
        out.append("Points with many temperatures show an evenly spaced subset of them; scan.csv holds all.")
    labels = short_labels(scan.variables)
    measures = [c for c in table.columns[table.columns.index("element") + 1:-1] if not c.endswith("_err")]
    header = ["point", *(labels[v] for v in scan.variables), "n_atoms", "T (K)", *measures]
    lines = []
    for row in table.rows:
        if row["T_K"] not in shown[row["point"]]:
            continue
        name = row["point"] + ("" if row["complete"] else " *")
        cells = [value_with_error(row[m], row[f"{m}_err"], row["converged"]) for m in measures]
        lines.append([name, *(format_value(row[v]) for v in scan.variables), format_value(row["n_atoms"]),
                      format_temperature(row["T_K"]), *cells])
    align = ["---"] + ["---:"] * (len(header) - 1)
    out += ["", f"| {' | '.join(header)} |", f"|{'|'.join(align)}|", *(f"| {' | '.join(r)} |" for r in lines)]
    out += ["", "Columns:", *(f"- `{m}`: {table.meanings[m]}" for m in measures if m in table.meanings)]
    return "\n".join(out)


def numeric_variables(table: ScanTable, variables: list[str]) -> list[str]:
    """The scanned variables whose values are all numbers (not lists, strings or booleans)."""
    return [v for v in variables
            if all(isinstance(r[v], (int, float)) and not isinstance(r[v], bool) for r in table.rows)]


def varied(table: ScanTable, variables: list[str]) -> list[str]:
    """The variables taking more than one value over the table's rows."""
    return [v for v in variables if len({json.dumps(r[v]) for r in table.rows}) > 1]


#: scanned particle sizes (targets or shape parameters) that plots show as the actual atom count
SIZE_VARIABLES = ("particle.atoms", "particle.size", "particle.cations")


def plot_against(sa: ScanAnalysis, x: str, path: Path) -> Path | None:
    """The PLOTTED measures against column `x` (a numeric scanned variable, or "T_K"), one line per
    combination of the other variables (and, against a variable, temperature), with error bars."""
    table, labels = sa.table, short_labels(sa.scan.variables)
    ylabels = {m.format(x=sa.element): label.format(x=sa.element) for m, label in PLOTTED}
    measures = [m for m in ylabels if m in table.columns and np.isfinite(table.column(m).astype(float)).any()]
    overall = f"x_{sa.element}"
    if not measures or not table.rows:
        return None
    others = [v for v in sa.scan.variables if v != x]
    lines, total = plot_lines(table, sa.scan.variables, x)
    column = "n_atoms" if x in SIZE_VARIABLES else x     # a size is plotted as the particle's actual atom count
    fig, axes = _figure(len(measures), height=3.6, rows=-(-len(measures) // 3))
    handles, names = [], []
    for points, colour in zip(lines, _colours(len(lines))):
        first = points[0]
        label = ", ".join([*(f"{labels[v]}={format_value(first[v])}" for v in others),
                           *([] if x == "T_K" else [f"{format_temperature(first['T_K'])} K"])]) or "all points"
        for ax, m in zip(axes, measures):
            drawn = ax.errorbar([r[column] for r in points], [r[m] for r in points],
                                yerr=[np.nan_to_num(r[f"{m}_err"]) for r in points],
                                color=colour, marker="o", ms=4, capsize=3)
            if m.startswith(f"{overall}_"):
                ax.plot([r[column] for r in points], [r[overall] for r in points], color=colour, ls="--", lw=1)
        handles.append(drawn)
        names.append(label)
    for ax, m in zip(axes, measures):
        ax.set_xlabel("temperature (K)" if x == "T_K" else "atoms in the particle" if column == "n_atoms" else x)
        ax.set_ylabel(ylabels[m])
        if m.startswith("enrichment_"):
            ax.axhline(1.0, color="0.4", ls=":", lw=1)
    if any(m.startswith(f"{overall}_") for m in measures):
        handles += axes[0].plot([], [], color="0.4", ls="--", lw=1)
        names.append(f"{sa.element} fraction of the whole particle")
    fig.legend(handles, names, loc="lower center", ncol=min(4, len(names)), fontsize=8, frameon=False)
    shown = "" if len(lines) == total else f" ({len(lines)} of {total} lines shown)"
    fig.suptitle(f"Scan {sa.scan.directory.name}: against {'temperature' if x == 'T_K' else x}{shown}")
    legend_rows = -(-len(names) // 4)
    fig.set_figheight(fig.get_figheight() + 0.25 * legend_rows)
    fig.tight_layout(rect=(0, min(0.4, 0.25 * legend_rows / fig.get_figheight() + 0.02), 1, 0.96))
    fig.savefig(path)
    return path


def plot_lines(table: ScanTable, variables: list[str], x: str) -> tuple[list[list[dict]], int]:
    """The lines of a plot against column `x` (a scanned variable or "T_K"): each the rows of one
    combination of the other variables (and temperature, unless x is "T_K"), sorted by x; at most
    MAX_LINES of them. Temperatures are thinned first (`shown_temperatures`, first and last kept),
    then combinations (evenly spaced). Returns (lines, number of lines before thinning)."""
    others = [v for v in variables if v != x]

    def line(row: dict) -> str:
        return _key(row, others) + ("" if x == "T_K" else f"|{row['T_K']!r}")

    rows = table.rows
    if x != "T_K":
        combos = {_key(r, others) for r in rows}
        kept = set(shown_temperatures(np.unique([r["T_K"] for r in rows]), max(1, MAX_LINES // len(combos))).tolist())
        rows = [r for r in rows if r["T_K"] in kept]
    lines: dict[str, list[dict]] = {}
    for r in rows:
        lines.setdefault(line(r), []).append(r)
    keys = list(lines)
    if len(keys) > MAX_LINES:
        keys = [keys[k] for k in np.unique(np.round(np.linspace(0, len(keys) - 1, MAX_LINES)).astype(int))]
    return [sorted(lines[k], key=lambda r: r[x]) for k in keys], len({line(r) for r in table.rows})


def _key(row: dict, variables: list[str]) -> str:
    """The values of `variables` in a row as text (lists are not hashable)."""
    return json.dumps([row[v] for v in variables])


def write_plots(sa: ScanAnalysis, directory: str | Path) -> list[Path]:
    """scan_<variable>.png per numeric scanned variable with more than one value, scan_temperature.png when a point has
    several temperatures; returns the paths written."""
    directory = Path(directory)
    made = [plot_against(sa, v, directory / f"scan_{re.sub(r'[^A-Za-z0-9._-]+', '_', v)}.png")
            for v in varied(sa.table, numeric_variables(sa.table, sa.scan.variables))]
    if any(len(a.temperatures) > 1 for a in sa.analyses.values()):
        made.append(plot_against(sa, "T_K", directory / "scan_temperature.png"))
    return [p for p in made if p is not None]


def write_scan_report(sa: ScanAnalysis, directory: str | Path, plots: bool = True) -> list[Path]:
    """Write scan.md, scan.csv (and the PNG plots) into `directory`; returns the paths written."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    written = [directory / "scan.md", directory / "scan.csv"]
    written[0].write_text(markdown(sa) + "\n", encoding="utf-8")
    sa.table.write_csv(written[1])
    if plots:
        written += write_plots(sa, directory)
    return written

