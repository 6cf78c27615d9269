"""Reports of an Analysis: a Markdown summary, the tidy table as JSON and CSV."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from ..formatting import format_temperature, plural
from .analyze import Analysis
from .statistics import MIN_CLUSTERS
from .sublattice import VACANCY
from .table import COLUMNS, Table

LAYER_NAMES = {"0": "0 (surface)", "1": "1 (subsurface)"}
#: with more temperatures than this (a population-annealing schedule), the Markdown tables show this
#: many, evenly spaced along the list with its first and last; the JSON and CSV tables hold all
MAX_REPORT_TEMPERATURES = 16
#: population annealing: the thermodynamics columns of the Markdown summary (quantity, header)
THERMODYNAMICS = (("energy", "⟨E⟩ (eV)"), ("free_energy", "F (eV)"), ("entropy", "S/k_B"),
                  ("heat_capacity", "C/k_B"), ("ln_z", "ln Z"), ("effective_fraction", "R_eff/R"),
                  ("family_fraction", "families_eff/R"))
PAIR_LABELS = {
    "nn_probability": "P(nn site of {x} holds {x})",
    "nnn_probability": "P(nnn site of {x} holds {x})",
    "any_nn": "P({x} has ≥1 {x} on nn sites)",
    "any_nnn": "P({x} has ≥1 {x} on nnn sites)",
    "any_nn_nnn": "P({x} has ≥1 {x} on nn or nnn sites)",
}
#: the dopant measures of D = {x} on a host sublattice (rows category D, element D or X); with them the
#: Markdown summary gives every pair statistic (PAIR_LABELS) in their section, not in one of its own
DOPANT_LABELS = {
    "any_nn": "{x} with ≥1 {x} among its nn cation sites",
    "any_nnn": "{x} with ≥1 {x} among its nnn cation sites",
    "any_nn_nnn": "{x} with ≥1 {x} among its nn or nnn cation sites",
    "nn_probability": "P(nn cation site of {x} holds {x})",
    "nnn_probability": "P(nnn cation site of {x} holds {x})",
    "dopant_vacancy": "share of {x}'s anion sites that are vacant",
}


def value_with_error(mean: float, error: float, converged: bool = True) -> str:
    """`mean ± error` with the error to two significant digits; † marks an unconverged error."""
    if not math.isfinite(mean):
        return "–"
    if not math.isfinite(error) or error <= 0:
        return f"{mean:.4f}" + (" (constant)" if error == 0 else "")
    decimals = min(8, max(0, 1 - math.floor(math.log10(error))))
    return f"{mean:.{decimals}f} ± {error:.{decimals}f}{'' if converged else ' †'}"


#: marks a value whose R̂ or ESS (population annealing with several starts: the populations' agreement) says it
#: is not converged (nanomc.analysis.convergence)
NOT_CONVERGED = "‡"
#: the Markdown summary lists at most this many unconverged rows; analysis.csv and analysis.json hold all
MAX_LISTED = 40


def diagnosed(r: dict) -> bool:
    """Whether a row has convergence diagnostics: R̂ and ESS, or the agreement test of populations."""
    return math.isfinite(r["rhat"]) or math.isfinite(r.get("agreement_p", float("nan")))


def value_cell(r: dict) -> str:
    """A row's `mean ± error`, † for an unconverged blocking error, ‡ when R̂/ESS (or the populations'
    agreement) say it is not converged."""
    text = value_with_error(r["mean"], r["error"], r["converged"])
    return text + f" {NOT_CONVERGED}" if diagnosed(r) and not r["mcmc_converged"] else text


def _table(header: list[str], rows: list[list[str]], text_columns: int = 1) -> list[str]:
    """A Markdown table; the first `text_columns` columns left-aligned, the others right-aligned."""
    align = ["---" if k < text_columns else "---:" for k in range(len(header))]
    return [f"| {' | '.join(header)} |", f"|{'|'.join(align)}|", *(f"| {' | '.join(r)} |" for r in rows)]


def _n_independent(rows: list[dict]) -> str:
    values = [r["n_independent"] for r in rows if math.isfinite(r["n_independent"])]
    return f"{min(values):.0f}" if values else "–"


def shown_temperatures(temperatures: np.ndarray, limit: int = MAX_REPORT_TEMPERATURES) -> np.ndarray:
    """The temperatures (K) a summary shows: all, or `limit` of them evenly spaced along the list
    including its first and last."""
    temperatures = np.asarray(temperatures)
    if len(temperatures) <= limit:
        return temperatures
    return temperatures[np.unique(np.round(np.linspace(0, len(temperatures) - 1, limit)).astype(int))]


def _is_shown(a: Analysis, temperature: float) -> bool:
    """Whether the summary's tables show this temperature (K; always, when they show all)."""
    shown = shown_temperatures(a.temperatures)
    return len(shown) == len(a.temperatures) or bool(np.isin(temperature, shown))


def _by_category(a: Analysis, quantity: str, first: str, rename: dict | None = None,
                 random: bool = False) -> list[str]:
    """Rows (category, T) with one column per element: mean ± error (and the random value)."""
    t = a.table.select(quantity=quantity)
    if not len(t):
        return ["(none)"]
    elements = list(dict.fromkeys(t["element"]))
    header = [first, "sites", "T (K)", *elements, *(["random"] if random else []), "n_ind"]
    lines = []
    for category in dict.fromkeys(t["category"]):
        for k, temperature in enumerate(shown_temperatures(a.temperatures)):
            rows = t.select(category=category, temperature_K=temperature).rows()
            cells = [value_cell(r) for r in rows]
            extra = [f"{rows[0]['random']:.4f}"] if random else []
            name = (rename or {}).get(category, category) if k == 0 else ""
            # several swap groups: the sites of each element's group, e.g. "219 / 476" cation / anion sites
            sites = " / ".join(dict.fromkeys(f"{r['sites']:.0f}" for r in rows)) if k == 0 else ""
            lines.append([name, sites, format_temperature(temperature), *cells, *extra, _n_independent(rows)])
    return _table(header, lines)


def markdown(a: Analysis) -> str:
    """A readable summary: run, geometry, then one table per quantity group."""
    info, g, x = a.info, a.info["geometry"], a.element
    out = [f"# nanomc analysis: {info['source']}", ""]
    if info.get("ensemble") == "pamc":
        starts = info.get("starts", ["random"])
        populations = (f"{len(starts)} independent populations ({', '.join(starts)}) of {info['walkers']} walkers"
                       if len(starts) > 1 else f"{info['walkers']} walkers")
        out.append(f"{info['n_sites']} sites ({info['n_swappable']} swappable; {', '.join(a.elements)}), pamc: "
                   f"{populations}, {info['steps_done']}/{info['steps_total']} temperature steps of "
                   f"{info['sweeps_per_step']} sweeps, {info['resampling']} resampling; the walkers after each "
                   "step's sweeps are its snapshots.")
    elif "sweeps_done" in info:
        spacing = info["snapshot_interval_sweeps"]  # NaN when the file holds one snapshot
        every = f" (every {spacing:g} sweeps)" if math.isfinite(spacing) else ""
        out.append(f"{info['n_sites']} sites ({info['n_swappable']} swappable; {', '.join(a.elements)}), "
                   f"{info['ensemble']}, {info['sweeps_done']}/{info['sweeps_total']} sweeps; first "
                   f"{plural(info['discarded_sweeps'], 'sweep')} discarded, {info['snapshots_kept']} snapshot(s) kept "
                   f"per temperature{every}.")
    else:
        out.append(f"{info['n_sites']} sites ({info['n_swappable']} swappable; {', '.join(a.elements)}), "
                   f"{info['snapshots_kept']} snapshot(s).")
    d, c = g["shells"]["distances_A"], g["shells"]["cutoffs_A"]
    out += [
        f"Geometry: {'fcc-like' if g['fcc'] else 'not fcc'}; neighbour shells at {d[0]:.2f}, {d[1]:.2f}, "
        f"{d[2]:.2f} Å (first shell < {c[0]:.2f} Å, second < {c[1]:.2f} Å); {g['surface_sites']} surface sites "
        + (f"(coordination below {g['bulk_coordination']})" if "sublattices" not in info else "(layer 0)")
        + f"; radial shells {g['radial_width_A']:.2f} Å wide.",
        f"Pair element X = {x} on {g['pair_lattice_sites']} sites"
        + ("." if g["pair_lattice_is_all_sites"] else
           f" (its swap group; shells {g['pair_lattice_shells']['distances_A'][0]:.2f}, "
           f"{g['pair_lattice_shells']['distances_A'][1]:.2f} Å)."),
        *_sublattice_lines(info),
        _values_line(info),
        *_subset_line(a), "",
    ]
    energy = a.table.select(quantity="energy")
    if info.get("ensemble") == "pamc":
        out += _thermodynamics(a)
    elif len(energy):
        drift = info.get("energy_drift_z", [])
        out += ["## Energy", ""] + _table(
            ["T (K)", "⟨E⟩ (eV)", "n_ind", "τ_int (sweeps)", "drift (σ)", "R̂", "ESS bulk", "ESS tail"],
            [[format_temperature(r["temperature_K"]), value_cell(r),
              f"{r['n_independent']:.0f}", f"{r['tau_int_sweeps']:.1f}", f"{z:.1f}" if math.isfinite(z) else "–",
              *_diagnostics(r)]
             for r, z in zip(energy.rows(), drift)]) + [""]
    if "convergence" in info and info["convergence"]["diagnosed"]:
        out += _convergence(a)
    if "committee" in info:
        out += _committee(a)
    sections = [
        ("Composition of the swappable sites", "composition", "set", {"all": "all swappable"}, False),
        ("Composition per layer", "composition_layer", "layer", LAYER_NAMES, False),
        ("Composition per surface site type", "composition_site_type", "site type", None, False),
        ("Composition per radial shell", "composition_radial", "r (Å)", None, False),
        ("Surface enrichment x(surface) / x(all)", "enrichment", "set", None, False),
        (f"Radial distribution of {a.minority} (share of its atoms per shell)", "radial_distribution", "r (Å)",
         None, True),
    ]
    for title, quantity, first, rename, random in sections:
        out += [f"## {title}", ""] + _by_category(a, quantity, first, rename, random) + [""]
    dopant = bool(len(a.table.select(quantity="dopant_layer")))
    if not dopant:
        out += [f"## Pair statistics of {x}", ""] + _pairs(a) + [""]
    out += ["## Warren–Cowley α = 1 − P(B in shell | A) / c_B", ""] + _warren_cowley(a) + [""]
    if dopant:
        out += _dopant(a)
    return "\n".join(out)


def _probability(p: float) -> str:
    """A tail probability as a table cell: 0.43, 3e-05, < 1e-300."""
    if not math.isfinite(p):
        return "–"
    if p == 0.0:
        return "< 1e-300"
    return f"{p:.2f}" if p >= 0.01 else f"{p:.0e}"


def _diagnostics(r: dict) -> list[str]:
    """R̂, bulk ESS and tail ESS of a row as table cells."""
    if not math.isfinite(r["rhat"]):
        return ["–", "–", "–"]
    return [f"{r['rhat']:.3f}", f"{r['ess_bulk']:.0f}", f"{r['ess_tail']:.0f}"]


def _convergence(a: Analysis) -> list[str]:
    """The convergence section: the criteria and every quantity (up to MAX_LISTED) that does not meet them."""
    c = a.info["convergence"]
    failed = c["not_converged"]
    populations = c["compared"] == "populations"
    verdict = (f"**{len(failed)} of {c['diagnosed']} values are not converged** (marked {NOT_CONVERGED} in the tables):"
               if failed else f"All {c['diagnosed']} values are converged.")
    if populations:
        method = (f"The {c['starts']} independent populations ({', '.join(a.info['starts'])}) each estimate every "
                  "quantity at every temperature with its own error (clustered by family); a value is converged "
                  "when the populations agree: the χ² of their estimates about their inverse-variance weighted "
                  f"mean, with their own errors, has a tail probability p ≥ {c['agreement_p_min']:g} for "
                  f"{c['starts'] - 1} degrees of freedom. Values are the mean of the populations' estimates, errors "
                  "the larger of their spread and their own errors. ")
    else:
        method = (f"Rank-normalised split-R̂ and bulk and tail effective sample sizes (Vehtari et al. 2021) of every "
                  f"quantity at every temperature, across the {c['compared']}"
                  + (f" ({', '.join(a.info['starts'])})" if c["starts"] > 1 else "") +
                  f"; converged when R̂ ≤ {c['rhat_max']:g} and both ESS ≥ {c['ess_min']:g}. With several starts "
                  "the errors pool them. ")
    out = ["## Convergence", "", method + verdict, ""]
    if not failed:
        return out
    if populations:
        rows = [[format_temperature(r["temperature_K"]), r["quantity"], r["category"], r["element"],
                 _probability(r["agreement_p"])] for r in failed[:MAX_LISTED]]
        out += _table(["T (K)", "quantity", "category", "element", "p"], rows, text_columns=4)
    else:
        rows = [[format_temperature(r["temperature_K"]), r["quantity"], r["category"], r["element"],
                 *_diagnostics(r)] for r in failed[:MAX_LISTED]]
        out += _table(["T (K)", "quantity", "category", "element", "R̂", "ESS bulk", "ESS tail"], rows,
                      text_columns=4)
    if len(failed) > MAX_LISTED:
        out.append(f"… and {len(failed) - MAX_LISTED} more (analysis.csv, analysis.json: column mcmc_converged).")
    return out + [""]


def _values_line(info: dict) -> str:
    """What the values and errors of the tables are."""
    if info.get("ensemble") == "pamc":
        several = len(info.get("starts", ["random"])) > 1
        return ("Values: mean ± standard error (1σ) over the walkers of each step, the walkers of one family "
                "(descendants of one initial walker) counted as one correlated cluster (cluster-robust error over "
                "families)" + ("; with several populations the mean of their estimates, the error the larger of "
                               "their spread and their own errors" if several else "") +
                "; n_ind = independent samples s²/σ² (smallest in the row); † = fewer than "
                f"{MIN_CLUSTERS} families (the error is unreliable)"
                + (f"; {NOT_CONVERGED} = the populations disagree (see Convergence)." if several else "."))
    if info["snapshots_kept"] > 1:
        return ("Values: mean ± standard error (1σ, blocking) over the kept snapshots; n_ind = independent samples "
                "(smallest in the row); † = no blocking plateau (too few snapshots: the error is a lower bound); "
                f"{NOT_CONVERGED} = not converged by R̂ and ESS (see Convergence).")
    return "Values of the single snapshot (no error bars)."


def _subset_line(a: Analysis) -> list[str]:
    """A note when the tables show only some of the temperatures."""
    shown = shown_temperatures(a.temperatures)
    if len(shown) == len(a.temperatures):
        return []
    return [f"Tables per temperature show {len(shown)} of the {len(a.temperatures)} temperatures "
            f"({', '.join(format_temperature(t) for t in shown)} K); analysis.csv and analysis.json hold all."]


def _thermodynamics(a: Analysis) -> list[str]:
    """Population annealing: per temperature step ⟨E⟩, F, S, C, ln Z and the effective population."""
    lines = []
    for temperature in shown_temperatures(a.temperatures):
        rows = {q: a.table.value(quantity=q, temperature_K=temperature, category="", element="")
                for q, _ in THERMODYNAMICS}
        cells = [value_cell(r) if math.isfinite(r["error"])
                 else f"{r['mean']:.4g}" for r in rows.values()]
        lines.append([format_temperature(temperature), *cells, f"{rows['energy']['n_independent']:.0f}"])
    return ["## Thermodynamics", "",
            "ln Z: the configurational partition function, ln Ω (the number of occupations) at infinite "
            "temperature plus the logarithms of the steps' mean Boltzmann weights; F = −k_B T ln Z; "
            "S/k_B = (⟨E⟩ − F)/k_B T of the whole particle; C/k_B = Var(E)/(k_B T)²; R_eff/R: effective "
            "population before resampling; families_eff/R: effective number of families (1/Σ ν_f², ν_f a "
            "family's share).", ""] + \
        _table(["T (K)", *(h for _, h in THERMODYNAMICS), "n_ind"], lines) + [""]


def _committee(a: Analysis) -> list[str]:
    """The committee section: per temperature the spread of sampled swap energies over the members."""
    from ..mc import KB  # needs the kernels, as computing the spread did

    c = a.info["committee"]
    lines = []
    for t in (t for t in c["per_temperature"] if _is_shown(a, t["temperature_K"])):
        mean = a.table.select(quantity="committee_swap_spread", category="mean", temperature_K=t["temperature_K"])
        r = mean.rows()[0] if len(mean) else {"mean": float("nan"), "error": float("nan"), "converged": True}
        lines.append([format_temperature(t["temperature_K"]), str(t["swaps"]),
                      value_with_error(1000 * r["mean"], 1000 * r["error"], r["converged"]),
                      f"{t['p95_sigma_meV']:.2f}", f"{t['max_sigma_meV']:.2f}", f"{t['mean_abs_delta_meV']:.1f}",
                      f"{1000 * KB * t['temperature_K']:.1f}", f"{t['energy_sigma_meV_per_atom']:.3f}"])
    return ["## Committee spread of swap energies", "",
            f"{c['swaps_per_snapshot']} random swaps of unlike atoms per kept snapshot under the committee of "
            f"{c['members']} networks; σ = standard deviation of a swap's ΔE over the members, next to the mean "
            "|ΔE| of the swaps, k_B T and the members' spread σ(E) of the energy per atom. σ approaching k_B T, "
            "far above its value on particles like the training set's, or growing during the run means Metropolis "
            "decisions rest on energies the potential does not know: the campaign has left its domain.",
            ""] + _table(["T (K)", "swaps", "⟨σ⟩ (meV)", "95% σ (meV)", "max σ (meV)",
                                                "⟨\\|ΔE\\|⟩ (meV)", "k_B T (meV)", "σ(E) (meV/atom)"], lines) + [""]


def _sublattice_lines(info: dict) -> list[str]:
    """One line per swap group of a multi-sublattice particle: its sites and own shells."""
    if "sublattices" not in info:
        return []
    s = info["sublattices"]
    parts = [f"group {g} ({', '.join(v['elements'])}): {v['sites']} sites, own shells "
             f"{v['distances_A'][0]:.2f}, {v['distances_A'][1]:.2f} Å" for g, v in s["groups"].items()]
    return [f"Sublattices: {'; '.join(parts)}. Layers and site types are those of group {s['host_group']}; "
            "other groups' sites take the category most of their linked host sites have."]


def _dopant(a: Analysis) -> list[str]:
    """The dopant measures section: values with random-placement references, then per layer and site type."""
    x, lines = a.element, []
    for temperature in shown_temperatures(a.temperatures):
        for quantity, label in DOPANT_LABELS.items():
            neighbour = VACANCY if quantity == "dopant_vacancy" else x
            found = a.table.select(quantity=quantity, category=x, element=neighbour, temperature_K=temperature).rows()
            for r in found:
                lines.append([format_temperature(temperature), f"{label.format(x=x)} (`{quantity}`)",
                              value_cell(r), f"{r['random']:.4f}",
                              f"{r['n_independent']:.0f}"])
    out = [f"## Dopant measures of {x}", "", "Random: the exact expectation for a uniformly random placement of "
           "the same numbers of atoms and vacancies on the same sites.", ""]
    out += _table(["T (K)", "quantity", "value", "random", "n_ind"], lines, text_columns=2) + [""]
    sections = [(f"{x} fraction of the cation sites per layer", "dopant_layer", "layer", LAYER_NAMES),
                (f"{x} fraction of the cation sites per surface site type", "dopant_site_type", "site type", None),
                ("Vacant fraction of the anion sites per layer", "vacancy_layer", "layer", LAYER_NAMES),
                ("Vacant fraction of the anion sites per surface site type", "vacancy_site_type", "site type", None)]
    for title, quantity, first, rename in sections:
        if len(a.table.select(quantity=quantity)):
            out += [f"### {title} (`{quantity}`)", ""] + _by_category(a, quantity, first, rename, True) + [""]
    return out


def _pairs(a: Analysis) -> list[str]:
    x, lines = a.element, []
    for temperature in shown_temperatures(a.temperatures):
        for quantity, label in PAIR_LABELS.items():
            r = a.table.value(quantity=quantity, category=x, element=x, temperature_K=temperature)
            lines.append([format_temperature(temperature), label.format(x=x),
                          value_cell(r), f"{r['random']:.4f}",
                          f"{r['n_independent']:.0f}"])
    return _table(["T (K)", "quantity", "value", "random", "n_ind"], lines, text_columns=2)


def _warren_cowley(a: Analysis) -> list[str]:
    lines = []
    first, second = a.table.select(quantity="warren_cowley_nn"), a.table.select(quantity="warren_cowley_nnn")
    for r1, r2 in zip(first.rows(), second.rows()):
        if not _is_shown(a, r1["temperature_K"]):
            continue
        lines.append([format_temperature(r1["temperature_K"]), f"{r1['category']}–{r1['element']}",
                      value_cell(r1), value_cell(r2),
                      f"{r1['random']:.4f}", f"{r2['random']:.4f}"])
    return _table(["T (K)", "A–B", "α nn", "α nnn", "random α nn", "random α nnn"], lines, text_columns=2)


def to_json(a: Analysis) -> str:
    """The run facts, the column meanings and every table row, as JSON (NaN written as null)."""
    document = {"info": a.info, "columns": COLUMNS, "rows": a.table.rows()}
    return json.dumps(_finite(document), indent=1, ensure_ascii=False)


def _finite(value):
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def table_from_json(text: str) -> Table:
    """The tidy table of an analysis.json (null read back as NaN)."""
    rows = json.loads(text)["rows"]
    return Table([{k: (float("nan") if v is None else v) for k, v in row.items()} for row in rows])


def write_report(a: Analysis, directory: str | Path, plots: bool = True) -> list[Path]:
    """Write analysis.md, analysis.json, analysis.csv (and the PNG plots) into `directory`."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    written = [directory / "analysis.md", directory / "analysis.json", directory / "analysis.csv"]
    written[0].write_text(markdown(a) + "\n", encoding="utf-8")
    written[1].write_text(to_json(a) + "\n", encoding="utf-8")
    a.table.write_csv(written[2])
    if plots:
        from .plots import write_plots

        written += write_plots(a, directory)
    return written
