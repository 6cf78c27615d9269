"""Surface energies of Au and Cu (111), (100), (110) with EMT, the shipped AuCu-pairs potential and the
teacher SevenNet-0, against published PBE values; and the Wulff shapes they give.

    OMP_NUM_THREADS=1 python runs/AuCu-surfaces/surfaces.py

Writes one `nanomc surfaces` file per calculator and element here (<calculator>-<element>.json; an
existing one is kept, delete it to recompute), table.md (the table of docs/validation.md) and
docs/images/AuCu-surfaces-wulff.png. The same files come from the command line, e.g.
`nanomc surfaces Au -c sevennet --max-layers 12 -o sevennet-Au.json`.
"""
from __future__ import annotations

import time
from pathlib import Path

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from ase.cluster import wulff_construction  # noqa: E402
from ase.visualize.plot import plot_atoms  # noqa: E402

from nanomc.calculator import Calculator  # noqa: E402
from nanomc.particles import WULFF_FACETS  # noqa: E402
from nanomc.surfaces import read_surface_file, surface_energies, write_surface_file  # noqa: E402
from nanomc.training.calculators import CalculatorSpec  # noqa: E402

HERE = Path(__file__).parent
IMAGE = HERE.parent.parent / "docs" / "images" / "AuCu-surfaces-wulff.png"
ELEMENTS = ("Au", "Cu")
#: the L1₂ alloy too: (111) slabs of Cu3Au layers, (100)/(110) the mean of the Cu and CuAu terminations
MATERIALS = (*ELEMENTS, "Cu3Au")
FACETS = ("111", "100", "110")
#: J/m², PBE, the values we could trace to a source: Au(111) as quoted in issue 39 §2 (Tran et al., Sci. Data 3,
#: 160080 (2016)); per-facet PBE values of the other facets are not in this table (not found; not guessed)
PBE = {("Au", "111"): 0.716}
#: J/m², PBE mean of (111), (100), (110): Patra, Bates, Sun, Perdew, PNAS 114, E9188 (2017), table of facet means
PBE_MEAN = {"Cu": 1.48}
CALCULATORS = {"EMT": lambda: CalculatorSpec.parse("emt").build(),
               "AuCu-pairs": lambda: Calculator("AuCu-pairs"),
               "SevenNet-0": lambda: CalculatorSpec.parse("sevennet").build()}
#: 1×1 surface cells, 4 to 12 layers, γ converged to 5 mJ/m² (the teacher's slabs stay this small)
SETTINGS = {"tolerance": 0.005, "min_layers": 4, "max_layers": 12, "size": 1}
WULFF_ATOMS = 1000


def compute() -> dict[str, dict[str, dict]]:
    """calculator -> element -> the file's data (read back, computed first if missing)."""
    out: dict[str, dict[str, dict]] = {}
    for name, make in CALCULATORS.items():
        calculator = None
        for element in MATERIALS:
            path = HERE / f"{name}-{element}.json"
            if not path.exists():
                calculator = calculator or make()
                start = time.perf_counter()
                result = surface_energies(element, calculator, FACETS, calculator_name=name, **SETTINGS)
                write_surface_file(path, result)
                print(f"{name} {element}: {time.perf_counter() - start:.0f} s")
            out.setdefault(name, {})[element] = {"table": read_surface_file(path), "path": path}
    return out


def table(results: dict[str, dict[str, dict]]) -> str:
    """Markdown: γ in J/m² per element, facet and calculator, and the deviation from PBE."""
    import json

    names = list(results)
    lines = ["| element | facet | PBE | " + " | ".join(names) + " |", "|---|---|---|" + "---|" * len(names)]
    for element in MATERIALS:
        for facet in (*FACETS, "mean"):
            ref = PBE_MEAN.get(element) if facet == "mean" else PBE.get((element, facet))
            cells = []
            for name in names:
                data = json.loads(results[name][element]["path"].read_text())
                if facet == "mean":
                    gamma, note = sum(results[name][element]["table"].values()) / len(FACETS), ""
                else:
                    f = data["facets"][facet]
                    gamma, note = f["energy"], f", {f['layers']} L" + ("" if f["converged"] else ", not converged")
                    if element not in ELEMENTS:
                        note += f", {f['termination']}"
                versus = f"{100 * (gamma / ref - 1):+.0f} %" if ref else ""
                cells.append(f"{gamma:.3f} ({', '.join(filter(None, [versus, note.lstrip(', ')]))})".replace(" ()", ""))
            label = "mean of the three" if facet == "mean" else f"({facet})"
            lines.append(f"| {element} | {label} | {f'{ref:.3f}' if ref else '—'} | " + " | ".join(cells) + " |")
    for element in ELEMENTS:
        ratios = ", ".join(f"{name} {_ratio(results[name][element]['table']):.3f}" for name in names)
        lines.append(f"\n{element} γ(100)/γ(111): {ratios}")
    return "\n".join(lines) + "\n"


def _ratio(energies: dict[str, float]) -> float:
    return energies["100"] / energies["111"]


#: colours of surface atoms by coordination: 9 a (111) facet, 8 a (100) facet, 7 and fewer edges and corners
FACET_COLOURS = {9: "#e8b923", 8: "#3a78c2"}
EDGE_COLOUR = "#9a9a9a"


def picture(results: dict[str, dict[str, dict]]) -> None:
    """Wulff shapes of WULFF_ATOMS atoms: rows Au and Cu, a column per calculator; surface atoms coloured by
    coordination ((111) facets gold, (100) facets blue, edges and corners grey)."""
    from ase.neighborlist import neighbor_list
    from ase.data import reference_states, atomic_numbers

    fig, axes = plt.subplots(len(ELEMENTS), len(results), figsize=(3 * len(results), 3.2 * len(ELEMENTS)))
    for i, element in enumerate(ELEMENTS):
        a = reference_states[atomic_numbers[element]]["a"]
        for j, name in enumerate(results):
            gammas = results[name][element]["table"]
            atoms = wulff_construction(element, [WULFF_FACETS[f] for f in FACETS], [gammas[f] for f in FACETS],
                                       WULFF_ATOMS, "fcc", rounding="closest")
            coordination = np.bincount(neighbor_list("i", atoms, 0.85 * a), minlength=len(atoms))
            colours = [FACET_COLOURS.get(c, EDGE_COLOUR if c < 8 else "#f2f2f2") for c in coordination]
            ax = axes[i, j]
            plot_atoms(atoms, ax, rotation="10x,-25y,0z", radii=0.9, colors=colours)
            ax.set_axis_off()
            share = {c: np.mean(coordination[coordination < 12] == c) for c in FACET_COLOURS}
            ax.set_title(f"{element}, {name}: {len(atoms)} atoms\nsurface (111) {share[9]:.0%}, (100) {share[8]:.0%}",
                         fontsize=9)
    fig.suptitle("Wulff shapes: (111) facets gold, (100) blue, edges and corners grey", fontsize=10)
    fig.tight_layout()
    fig.savefig(IMAGE, dpi=110)


if __name__ == "__main__":
    results = compute()
    text = table(results)
    (HERE / "table.md").write_text(text)
    print(text)
    picture(results)
    print(f"wrote {IMAGE}")
