"""PNG plots of an Analysis (matplotlib, Agg canvas; no display needed).

energy.png               energy per sweep at every temperature, discarded sweeps shaded
composition_layers.png   element fraction per layer (0 = surface), one line per temperature
surface_composition.png  surface fraction of each element against temperature
pair_probabilities.png   pair statistics of X against temperature, random values dashed
dopant_measures.png      (several sublattices) the dopant measures against temperature, random dashed
dopant_layers.png        (several sublattices) dopant and vacancy fraction per host layer, random dashed
thermodynamics.png       (population annealing) ⟨E⟩ and F, S, C and the effective population against temperature
Plots with one line per temperature draw at most MAX_REPORT_TEMPERATURES of them (`report.shown_temperatures`).
particle_<name>.png      (results files) renders of the final and lowest-energy particles (`render`)
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ..formatting import format_temperature
from .analyze import Analysis
from .render import write_renders
from .report import DOPANT_LABELS, PAIR_LABELS, shown_temperatures
from .sublattice import VACANCY

DPI = 150
#: plots against temperature mark the points when there are at most this many
MARKERS = 24


def _figure(n_panels: int = 1, height: float = 4.4, rows: int = 1) -> tuple[Figure, list]:
    """A figure of n_panels axes in `rows` rows, each row `height` inches high."""
    columns = -(-n_panels // rows)
    fig = Figure(figsize=(6.4 * min(columns, 3) ** 0.8, height * rows), dpi=DPI)
    FigureCanvasAgg(fig)
    axes = [fig.add_subplot(rows, columns, k + 1) for k in range(n_panels)]
    for ax in axes:
        ax.grid(alpha=0.3)
    return fig, axes


def _save(fig: Figure, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path)
    return path


def _colours(n: int) -> list:
    from matplotlib import colormaps

    cmap = colormaps["plasma"]                 # dark (low T) to orange (high T); the pale yellow end is left out
    return [cmap(0.0 if n == 1 else 0.85 * k / (n - 1)) for k in range(n)]


def _label(temperature: float) -> str:
    return f"{format_temperature(temperature)} K" if math.isfinite(temperature) else "snapshot"


def _rows(a: Analysis, quantity: str, temperature: float, **equal) -> list[dict]:
    return a.table.select(quantity=quantity, temperature_K=temperature, **equal).rows()


def _have_temperatures(a: Analysis) -> bool:
    """Plots against temperature need known temperatures (a plain structure may have none)."""
    return bool(np.isfinite(a.temperatures).all())


def _errorbars(ax, x, rows: list[dict], **style) -> None:
    ax.errorbar(x, [r["mean"] for r in rows], yerr=[np.nan_to_num(r["error"]) for r in rows], capsize=3, **style)


def plot_energy(a: Analysis, path: Path) -> Path | None:
    """Energy (eV) per sweep at each temperature (every start's, in the temperature's colour); the discarded
    sweeps shaded grey."""
    if not a.traces:
        return None
    fig, (ax,) = _figure()
    fig.set_figwidth(7.6)
    n_t = len(a.temperatures)
    colours = _colours(n_t)
    for c, trace in enumerate(a.traces):             # start-major: every start's trace in its temperature's colour
        ax.plot(np.arange(1, len(trace) + 1), trace, color=colours[c % n_t], lw=1.2,
                label=_label(a.temperatures[c % n_t]) if c < n_t else None)
    discarded = a.info.get("discarded_sweeps", 0)
    if discarded:
        ax.axvspan(0, discarded, color="0.85", zorder=0, label="discarded")
    ax.set_xlabel("sweep")
    ax.set_ylabel("energy (eV)")
    ax.set_title("Energy trace per temperature")
    ax.legend(fontsize=9, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    return _save(fig, path)


def _plot_elements(a: Analysis) -> list[str]:
    """Elements worth a panel: X alone for a binary (the other is 1 − x), else every element."""
    return [a.element] if len(a.elements) == 2 else list(a.elements)


def plot_layers(a: Analysis, path: Path) -> Path | None:
    """Fraction of each plotted element per layer (0 = surface), one line per temperature."""
    layers = a.table.select(quantity="composition_layer")
    if not len(layers):
        return None
    elements = _plot_elements(a)
    fig, axes = _figure(len(elements))
    temperatures = shown_temperatures(a.temperatures)
    for ax, element in zip(axes, elements):
        for temperature, colour in zip(temperatures, _colours(len(temperatures))):
            rows = _rows(a, "composition_layer", temperature, element=element)
            _errorbars(ax, [int(r["category"]) for r in rows], rows, color=colour, marker="o",
                       label=_label(temperature))
        overall = _rows(a, "composition", a.temperatures[0], element=element)[0]["mean"]
        ax.axhline(overall, color="0.4", ls="--", lw=1, label="whole particle")
        ax.set_xlabel("layer (0 = surface, 1 = subsurface, …)")
        ax.set_ylabel(f"{element} fraction")
        ax.set_xticks(sorted({int(c) for c in layers["category"]}))
        ax.set_ylim(-0.03, 1.03)
        ax.set_title(f"{element} per layer")
        ax.legend(fontsize=9)
    return _save(fig, path)


def plot_surface(a: Analysis, path: Path) -> Path | None:
    """Surface fraction (layer 0) of each element against temperature (K), whole-particle values dashed."""
    if not len(a.table.select(quantity="composition_layer", category="0")) or not _have_temperatures(a):
        return None
    fig, (ax,) = _figure()
    temperatures = a.temperatures
    for k, element in enumerate(a.elements):
        surface = [_rows(a, "composition_layer", t, category="0", element=element)[0] for t in temperatures]
        _errorbars(ax, temperatures, surface, color=f"C{k}", marker="o", label=f"{element} at the surface")
        overall = [_rows(a, "composition", t, element=element)[0]["mean"] for t in temperatures]
        ax.plot(temperatures, overall, color=f"C{k}", ls=(k * 3, (6, 3 * len(a.elements))), lw=1.2,
                label=f"{element} whole particle")
    ax.set_xlabel("temperature (K)")
    ax.set_ylabel("fraction of surface sites")
    ax.set_ylim(-0.03, 1.03)
    ax.set_title("Surface composition")
    ax.legend(fontsize=9)
    return _save(fig, path)


def plot_pairs(a: Analysis, path: Path) -> Path | None:
    """Pair statistics of X against temperature (K), random-occupation values dashed.

    Left: probability that a nn / nnn site of an X atom holds X; right: fraction of X atoms
    with at least one X on their nn, nnn, or nn and nnn sites.
    """
    if not _have_temperatures(a):
        return None
    fig, axes = _figure(2, height=5.4)
    x = a.element
    _measure_panels(a, [(axes[0], ["nn_probability", "nnn_probability"], x, f"P(neighbour site of {x} holds {x})"),
                        (axes[1], ["any_nn", "any_nnn", "any_nn_nnn"], x, f"fraction of {x} with ≥1 {x} neighbour")],
                    PAIR_LABELS, "random occupation")
    fig.suptitle(f"Pair statistics of {x}")
    return _save(fig, path)


def _measure_panels(a: Analysis, panels: list, labels: dict[str, str], random_label: str) -> None:
    """Per panel (axes, quantities, neighbour element, y label): each quantity of the pair element
    against temperature (K) with error bars, its random value dashed in the same colour."""
    x, colours = a.element, iter(["C0", "C1", "C2", "C3", "C4"])
    for ax, quantities, neighbour, ylabel in panels:
        for quantity in quantities:
            colour = next(colours)
            rows = [_rows(a, quantity, t, category=x, element=neighbour)[0] for t in a.temperatures]
            _errorbars(ax, a.temperatures, rows, color=colour, marker="o", label=labels[quantity].format(x=x))
            ax.plot(a.temperatures, [r["random"] for r in rows], color=colour, ls="--", lw=1)
        ax.plot([], [], color="0.4", ls="--", lw=1, label=random_label)
        ax.set_xlabel("temperature (K)")
        ax.set_ylabel(ylabel)
        _legend_below(ax)


def _legend_below(ax) -> None:
    """The legend under the axes (below its x label), off the data, in columns of at most five entries; the
    figure needs the room (height 5.4)."""
    entries = len(ax.get_legend_handles_labels()[1])
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.16), frameon=False, ncol=-(-entries // 5))


def plot_dopant(a: Analysis, path: Path) -> Path | None:
    """The dopant measures of D (the pair element) against temperature (K), random-placement values dashed.

    Left: fraction of D atoms with ≥ 1 D among their nn, nnn, nn or nnn cation sites and
    P(nn site of D holds D); right: share of D's linked anion sites that are vacant.
    """
    if not len(a.table.select(quantity="dopant_layer")) or not _have_temperatures(a):
        return None
    x = a.element
    association = len(a.table.select(quantity="dopant_vacancy"))
    fig, axes = _figure(2 if association else 1, height=5.4)
    panels = [(axes[0], ["any_nn", "any_nnn", "any_nn_nnn", "nn_probability"], x, "fraction / probability")]
    if association:
        panels.append((axes[1], ["dopant_vacancy"], VACANCY, f"share of {x}'s anion sites that are vacant"))
    _measure_panels(a, panels, DOPANT_LABELS, "random placement")
    fig.suptitle(f"Dopant measures of {x}")
    return _save(fig, path)


def plot_dopant_layers(a: Analysis, path: Path) -> Path | None:
    """Dopant (and vacancy) fraction of its sublattice's sites per host layer, one line per temperature.

    Random-placement values dashed.
    """
    quantities = [q for q in ("dopant_layer", "vacancy_layer") if len(a.table.select(quantity=q))]
    if not quantities:
        return None
    fig, axes = _figure(len(quantities), height=5.4)
    temperatures = shown_temperatures(a.temperatures)
    for ax, quantity in zip(axes, quantities):
        element = a.table.select(quantity=quantity)["element"][0]
        for temperature, colour in zip(temperatures, _colours(len(temperatures))):
            rows = _rows(a, quantity, temperature)
            layers = [int(r["category"]) for r in rows]
            _errorbars(ax, layers, rows, color=colour, marker="o", label=_label(temperature))
            ax.plot(layers, [r["random"] for r in rows], color=colour, ls="--", lw=1)
        ax.plot([], [], color="0.4", ls="--", lw=1, label="random placement")
        ax.set_xlabel("host layer (0 = surface, 1 = subsurface, …)" if quantity == "dopant_layer"
                      else "host layer of the site (that of most of its linked host sites)")
        ax.set_ylabel(f"{'vacant' if quantity == 'vacancy_layer' else element} fraction of the sublattice's sites")
        ax.set_xticks(sorted(set(layers)))
        ax.set_title(f"{'vacancies' if quantity == 'vacancy_layer' else element} per layer")
        _legend_below(ax)
    return _save(fig, path)


def plot_thermodynamics(a: Analysis, path: Path) -> Path | None:
    """Population annealing, against temperature (K): ⟨E⟩ and F (eV), S/k_B, C/k_B, and the effective
    population and effective number of families as fractions of the walkers."""
    if not len(a.table.select(quantity="free_energy")):
        return None
    fig, axes = _figure(4, height=4.0, rows=2)
    t = a.temperatures
    marker = "o" if len(t) <= MARKERS else None

    def curve(ax, quantity: str, **style) -> None:
        _errorbars(ax, t, [_rows(a, quantity, temperature, category="", element="")[0] for temperature in t],
                   marker=marker, ms=4, **style)

    curve(axes[0], "energy", color="C0", label="⟨E⟩")
    curve(axes[0], "free_energy", color="C1", label="F = −k_B T ln Z")
    axes[0].set_ylabel("energy (eV)")
    axes[0].legend(fontsize=9)
    curve(axes[1], "entropy", color="C2")
    axes[1].set_ylabel("configurational entropy S/k_B")
    curve(axes[2], "heat_capacity", color="C3")
    axes[2].set_ylabel("heat capacity C/k_B")
    curve(axes[3], "effective_fraction", color="C4", label="effective population (before resampling)")
    curve(axes[3], "family_fraction", color="C5", label="effective number of families")
    axes[3].set_ylabel("fraction of the walkers")
    axes[3].set_ylim(0, 1.03)
    axes[3].legend(fontsize=9)
    for ax in axes:
        ax.set_xlabel("temperature (K)")
        if t.max() > 10 * t.min():             # a schedule over decades: the low temperatures get room
            ax.set_xscale("log")
    fig.suptitle(f"Population annealing: {a.info['walkers']} walkers, {a.info['steps_done']} steps")
    return _save(fig, path)


def write_plots(a: Analysis, directory: str | Path) -> list[Path]:
    """All plots as PNG files in `directory`, and the particle renders; returns the paths written."""
    directory = Path(directory)
    made = [plot_energy(a, directory / "energy.png"), plot_layers(a, directory / "composition_layers.png"),
            plot_surface(a, directory / "surface_composition.png"), plot_pairs(a, directory / "pair_probabilities.png"),
            plot_dopant(a, directory / "dopant_measures.png"), plot_dopant_layers(a, directory / "dopant_layers.png"),
            plot_thermodynamics(a, directory / "thermodynamics.png")]
    made += write_renders(a.structures, directory, a.geometry.shells.distances[0])
    return [p for p in made if p is not None]
