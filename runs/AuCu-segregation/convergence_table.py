"""The table in docs/campaigns.md of the example against its independent-starts run (R̂ and ESS of each value).

    nanomc run runs/AuCu-segregation/params.toml
    nanomc run runs/AuCu-segregation/starts.toml
    python runs/AuCu-segregation/convergence_table.py        # prints the Markdown table and the counts
"""
from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import nanomc.analysis as na
from nanomc.analysis.report import value_cell

HERE = Path(__file__).resolve().parent
#: (quantity, category, element, label) of the rows
ROWS = (("composition_layer", "0", "Au", "Au fraction of the surface layer"),
        ("composition_layer", "1", "Au", "… of the subsurface layer"),
        ("composition_site_type", "interior", "Au", "… of the interior"),
        ("nn_probability", "Au", "Au", "P(nn site of Au holds Au)"),
        ("energy", "", "", "⟨E⟩ (eV)"))


def diagnostics(r: dict) -> str:
    return f"{r['rhat']:.3f}, {r['ess_bulk']:.0f} / {r['ess_tail']:.0f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--example", default=HERE / "results" / "results.h5")
    parser.add_argument("--starts", default=HERE / "results-starts" / "results.h5")
    args = parser.parse_args()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        short, long = (na.load(path, element="Au") for path in (args.example, args.starts))
    print("| T (K) | quantity | example: 1 start, 150 sweeps | R̂, ESS bulk / tail | "
          f"{len(long.info['starts'])} starts × {long.info['sweeps_done']} sweeps | R̂, ESS bulk / tail |")
    print("|---:|---|---:|---:|---:|---:|")
    for temperature in long.temperatures:
        for quantity, category, element, label in ROWS:
            a, b = (x.table.value(quantity=quantity, category=category, element=element, temperature_K=temperature)
                    for x in (short, long))
            print(f"| {temperature:.0f} | {label} | {value_cell(a)} | {diagnostics(a)} | {value_cell(b)} | "
                  f"{diagnostics(b)} |")
    for name, a in (("example", short), ("starts", long)):
        c = a.info["convergence"]
        print(f"{name}: {c['diagnosed'] - len(c['not_converged'])} of {c['diagnosed']} values converged; not: "
              + ", ".join(sorted({f"{r['quantity']} {r['category']} at {r['temperature_K']:.0f} K".replace("  ", " ")
                                  for r in c["not_converged"]})))


if __name__ == "__main__":
    main()
