"""The numbers README.md and docs/ quote for this example, computed from the example's results file.

    nanomc run runs/AuCu-segregation/params.toml
    python runs/AuCu-segregation/readme_numbers.py            # the passages with fresh numbers, and where each goes
    python runs/AuCu-segregation/readme_numbers.py --check    # exit 1 unless every page says exactly that

The passages live in README.md (the worked example: the run's summary, its sentence, the verdict of
R̂ and ESS), docs/campaigns.md (the same, in full) and docs/analysis.md (the Analysis sentence). They
are compared with whitespace collapsed and link targets left out, so a passage reads the same on any
page whatever its links point to. tests/test_readme_example.py (part of the test suite) runs the
example and this check.
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import nanomc.analysis as na
from nanomc.analysis.report import NOT_CONVERGED, value_cell
from nanomc.campaign import describe
from nanomc.campaign.results import read_results

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
#: passage -> the pages (relative to the repository) that quote it
PLACES = {
    "summary": ("README.md", "docs/campaigns.md"),
    "worked": ("README.md", "docs/campaigns.md"),
    "analysis": ("docs/analysis.md",),
    "verdict": ("README.md", "docs/campaigns.md"),
}


def fragments(results: str | Path) -> dict[str, str]:
    """The passages about the example, by name (see PLACES): the run's summary, the worked example's sentence,
    the Analysis section's sentence (default analysis: the first 20 % of the sweeps discarded; ‡ marks a value
    that R̂ and ESS do not show converged) and the verdict of R̂ and ESS on those values."""
    record = read_results(results)
    a = na.load(results, element="Au", discard=0.2)
    low, high = (float(t) for t in record.temperatures[[0, -1]])

    def row(quantity: str, category: str, temperature: float) -> dict:
        (r,) = a.select(quantity=quantity, category=category, element="Au", temperature_K=temperature).rows()
        return r

    def value(quantity: str, category: str, temperature: float) -> str:
        return value_cell(row(quantity, category, temperature))

    def percent(quantity: str, category: str, temperature: float, error: bool = False) -> str:
        r = row(quantity, category, temperature)
        return f"{100 * r['mean']:.1f}" + (f" ± {100 * r['error']:.1f}%" if error else "%") + mark(r)

    def mark(r: dict) -> str:
        return "" if r["mcmc_converged"] else f" {NOT_CONVERGED}"

    def plain(quantity: str, category: str, temperature: float) -> str:
        r = row(quantity, category, temperature)
        return f"{r['mean']:.3f}{mark(r)}"

    discarded = a.info["discarded_sweeps"]
    worked = (f"Averaged over the snapshots after the first {discarded} sweeps (`nanomc analyze`, see "
              f"[Analysis](analysis.md)), {percent('composition_layer', '0', low, True)} of the surface sites hold Au "
              f"at {low:.0f} K against {percent('composition_site_type', 'interior', low)} of the interior sites "
              f"({percent('composition_layer', '0', high)} and {percent('composition_site_type', 'interior', high)} "
              f"at {high:.0f} K)")
    nn = row("nn_probability", "Au", low)
    analysis = (f"averaged over sweeps {discarded}–{record.sweeps_done}: {value('composition_layer', '0', low)} of the "
                f"surface sites hold Au at {low:.0f} K and {value('composition_layer', '0', high)} at {high:.0f} K "
                f"(surface enrichment of Au {plain('enrichment', 'surface', low)} and "
                f"{plain('enrichment', 'surface', high)}); the subsurface layer is depleted of Au "
                f"({value('composition_layer', '1', low)} at {low:.0f} K), and a nearest-neighbour site of an Au "
                f"atom holds Au with probability {value('nn_probability', 'Au', low)} against {nn['random']:.4f} "
                f"for a random occupation")
    quoted = [row(q, c, t) for q, c, t in (
        ("composition_layer", "0", low), ("composition_site_type", "interior", low), ("composition_layer", "0", high),
        ("composition_site_type", "interior", high), ("enrichment", "surface", low), ("enrichment", "surface", high),
        ("composition_layer", "1", low), ("nn_probability", "Au", low))]
    surface = row("composition_layer", "0", low)
    verdict = (f"By R̂ and ESS ([Is the run at equilibrium?](#is-the-run-at-equilibrium-independent-starts-and-"
               f"convergence-diagnostics)) "
               f"{sum(not r['mcmc_converged'] for r in quoted)} of the {len(quoted)} values quoted for the example "
               f"are not converged ({NOT_CONVERGED}): the surface Au at {low:.0f} K has R̂ "
               f"{surface['rhat']:.2f} between the halves of the kept chain and a bulk ESS of {surface['ess_bulk']:.0f}")
    return {"summary": describe(record), "worked": worked, "analysis": analysis, "verdict": verdict}


def flat(text: str) -> str:
    """Text with whitespace collapsed and Markdown link targets left out ("[Analysis](x.md)" -> "[Analysis]")."""
    return " ".join(re.sub(r"\]\([^)\s]*\)", "]", text).split())


def missing(page_text: str, passages: list[str]) -> list[str]:
    """The passages that a page's text does not contain (whitespace collapsed, link targets left out)."""
    text = flat(page_text)
    return [p for p in passages if flat(p) not in text]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", nargs="?", default=HERE / "results" / "results.h5", help="the example's results.h5")
    parser.add_argument("--check", action="store_true", help="exit 1 unless every page holds its passages")
    args = parser.parse_args(argv)
    passages = fragments(args.results)
    if not args.check:
        print("\n\n".join(f"[{name}: {', '.join(PLACES[name])}]\n{text}" for name, text in passages.items()))
        return 0
    stale = 0
    for page in sorted({p for pages in PLACES.values() for p in pages}):
        quoted = [text for name, text in passages.items() if page in PLACES[name]]
        for p in missing((ROOT / page).read_text(), quoted):
            print(f"{page} does not say: {p}", file=sys.stderr)
            stale += 1
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
