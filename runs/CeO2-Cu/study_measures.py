"""What the study's "~70 % of Cu has a Cu nn or nnn" can mean: the campaign's Cu–Cu measures next to random.

    python runs/CeO2-Cu/study_measures.py [--states FILE] [--show STATE ...] [--range TEXT] > study_measures.md
    python runs/CeO2-Cu/study_measures.py --results runs/CeO2-Cu/results/results.h5 [--discard 0.5]

FILE: structures of the particle, one per state (default `states-7net-0.extxyz.gz`, the campaign's random
start and the final states of its runs, see teacher_check.py; a campaign's final.extxyz works too);
the cation sites are those holding Ce or Cu, in the same order in every structure. Columns: the exact
value for Cu placed at random on the same cation sites, each state named by --show (its info "state",
else its index), and the range over the states whose name contains --range. Measures (nn, nnn, 3rd ...:
the cation–cation distance shells a/√2, a, a√(3/2), a√2, ...):
  1. per Cu atom: a Cu among its nn / nnn / nn-or-nnn sites (nanomc's any_nn, any_nnn, any_nn_nnn;
     the last is also "the closest Cu is an nn or nnn");
  2. per Cu–Cu pair (all n(n−1)/2 of them): the share at nn / nnn / nn or nnn;
  3. per shell: g = Cu–Cu pairs in the shell / their random expectation;
  4. the shell of each Cu's nearest other Cu (distribution and mean distance);
  5. among surface cation sites only, by three definitions: the surface layer (cation–cation
     coordination below 12), sites with fewer than 8 anion sites of the particle's anion lattice, and the
     low-coordinated sites (cation–cation coordination ≤ 8: vertex, edge, (100)). Per Cu on those sites, a Cu
     nn or nnn on those sites, and per pair within them; random: the same number of Cu placed at random on
     those sites (given per state in brackets; the random column: its range over the --range states).
The last column says what the study's 70 % would mean under each fraction measure read as the study's:
within 0.05 of random (random placement), above random (clustering; strong when random is below 35 %),
more than 0.05 below it (Cu avoiding Cu), or out of reach of any arrangement of the Cu (impossible).
States whose name contains --unconverged (default "final") are marked ‡.
"""
import argparse
from pathlib import Path

import ase.io
import numpy as np
from ase import Atoms

from nanomc.analysis import pairs
from nanomc.analysis.convergence import diagnose
from nanomc.analysis.distance_pairs import (distance_shells, nearest_shell_fractions, random_nearest_shell_fractions,
                                            random_shell_pair_counts, shell_pair_counts)
from nanomc.analysis.sites import site_geometry
from nanomc.analysis.statistics import discard_sweeps, pooled_ratio_estimate
from nanomc.analysis.sublattice import cross_links
from nanomc.campaign.results import read_results
from nanomc.fluorite import anion_sites
from nanomc.formatting import format_temperature, plural

CATIONS = ("Ce", "Cu")
DOPANT = "Cu"
STUDY = 0.70
SHELL_NAMES = ["nn", "nnn", "3rd", "4th", "5th", "6th"]


def surfaces(positions: np.ndarray, nn: float) -> dict[str, np.ndarray]:
    """Cation site indices of the surface by three definitions (see the module docstring)."""
    geometry = site_geometry(Atoms(positions=positions))
    anions, _ = anion_sites(positions, nn * np.sqrt(2.0))
    both = Atoms(positions=np.vstack([positions, anions]))
    n = len(positions)
    links = cross_links(both, np.arange(n, len(both)), np.arange(n))
    anion_coordination = np.asarray(links[:n].sum(axis=1)).ravel()
    return {
        "surface layer (cation CN < 12)": np.flatnonzero(geometry.surface),
        "< 8 anion sites": np.flatnonzero(anion_coordination < 8),
        "low-coordinated (cation CN ≤ 8)": np.flatnonzero(geometry.surface & (geometry.coordination <= 8)),
    }


def measures(masks: np.ndarray, positions: np.ndarray) -> list[tuple[str, np.ndarray, np.ndarray, np.ndarray | None]]:
    """Rows (label, value per state, random value per state, the largest value any arrangement reaches per state).

    The bound is None where the study's 70 % cannot be read against the row.
    """
    n_states = len(masks)
    n_x = int(masks[0].sum())
    shells = distance_shells(positions)
    rows = []

    def add(label: str, values: np.ndarray, random, bound=1.0) -> None:
        rows.append((label, np.asarray(values, float), np.broadcast_to(np.asarray(random, float), n_states),
                     None if bound is None else np.broadcast_to(np.asarray(bound, float), n_states)))

    def pair_bound(adjacency, n_on) -> np.ndarray:
        """Largest share of n_on Cu's pairs in `adjacency`: each Cu has at most its most-connected site's sites."""
        return np.minimum(1.0, adjacency.sum(axis=1).max() / np.maximum(np.asarray(n_on, float) - 1, 1))

    occupations = masks.astype(np.int64)
    for label, which in (("nn", [0]), ("nnn", [1]), ("nn or nnn", [0, 1])):
        adjacency = shells.adjacency(which)
        add(f"1. per Cu: a Cu {label}", pairs.any_neighbour_fraction(occupations, adjacency, 1),
            pairs.random_any_neighbour_fraction(adjacency, n_x))
    counts = shell_pair_counts(masks, shells)
    expected = random_shell_pair_counts(shells, n_x)
    total = n_x * (n_x - 1) / 2
    for label, which in (("nn", [0]), ("nnn", [1]), ("nn or nnn", [0, 1])):
        add(f"2. per Cu–Cu pair: at {label}", counts[:, which].sum(axis=1) / total, expected[which].sum() / total,
            pair_bound(shells.adjacency(which), n_x))
    for k, name in enumerate(SHELL_NAMES):
        add(f"3. g(Cu–Cu), {name} ({shells.distances[k]:.2f} Å)", counts[:, k] / expected[k], 1.0, bound=None)
    nearest = nearest_shell_fractions(masks, shells)
    random_nearest = random_nearest_shell_fractions(shells, n_x)
    for k, name in enumerate(SHELL_NAMES[:4]):
        add(f"4. nearest Cu at {name}", nearest[:, k], random_nearest[k], bound=None)
    add("4. nearest Cu beyond 4th", nearest[:, 4:].sum(axis=1), random_nearest[4:].sum(), bound=None)
    add("4. mean nearest-Cu distance (Å)", nearest @ shells.distances, random_nearest @ shells.distances,
        bound=None)
    for name, sites in surfaces(positions, shells.distances[0]).items():
        sub = shells.subset(sites)
        on = masks[:, sites]
        n_on = on.sum(axis=1)
        adjacency = sub.adjacency([0, 1])
        add(f"5. {name}, {len(sites)} sites: share of Cu there", n_on / n_x, len(sites) / len(positions),
            bound=None)
        add(f"5. {name}: per Cu there, a Cu nn or nnn there",
            pairs.any_neighbour_fraction(on.astype(np.int64), adjacency, 1),
            [pairs.random_any_neighbour_fraction(adjacency, int(n)) for n in n_on])
        add(f"5. {name}: per Cu–Cu pair there, at nn or nnn",
            shell_pair_counts(on, sub)[:, :2].sum(axis=1) / (n_on * (n_on - 1) / 2),
            sub.pairs_per_shell()[:2].sum() / (len(sites) * (len(sites) - 1) / 2), pair_bound(adjacency, n_on))
    return rows


def reading(random: np.ndarray, bound: np.ndarray) -> str:
    """What the study's 70 % means against this random value (or range of random values), given the
    largest value any arrangement can reach (bound)."""
    if (bound < STUDY).all():
        return f"impossible (at most {bound.max():.2f})"
    if (np.abs(random - STUDY) <= 0.05).all():
        return "random placement"
    if (random < 0.5 * STUDY).all():
        return "strong clustering"
    if (random < STUDY).all():
        return "clustering"
    if (random > STUDY + 0.05).all():
        return "Cu avoiding Cu"
    return "about random"


def random_text(random: np.ndarray) -> str:
    """The random column: one value, or the range of the values given each state's number of Cu."""
    return f"{random.min():.3f}–{random.max():.3f} given n" if np.ptp(random) > 0 else f"{random[0]:.3f}"


def states_table(path: str, show: list[str], span: str, unconverged: str) -> None:
    """The table of single states (a structures file): each state of `show`, the range over those naming `span`."""
    frames = ase.io.read(path, ":")
    names = [str(f.info.get("state", k)) for k, f in enumerate(frames)]
    symbols = [np.array(f.get_chemical_symbols()) for f in frames]
    cation = np.isin(symbols[0], CATIONS)
    positions = frames[0].positions[cation]
    if any(not np.array_equal(np.isin(s, CATIONS), cation) or not np.allclose(f.positions[cation], positions)
           for f, s in zip(frames, symbols)):
        raise SystemExit(f"{path}: the structures do not share their cation sites")
    masks = np.array([s[cation] == DOPANT for s in symbols])
    if len(set(masks.sum(axis=1).tolist())) != 1:
        raise SystemExit(f"{path}: the structures hold different numbers of {DOPANT}")
    shown = [names.index(s) for s in show]
    ranged = [k for k, name in enumerate(names) if span in name]

    def mark(name: str) -> str:
        return f"{name} ‡" if unconverged and unconverged in name else name

    print(f"{DOPANT}{int(masks[0].sum())} on {len(positions)} cation sites; the study: {STUDY:.0%} of Cu with a Cu "
          f"nn or nnn. States from {Path(path).name}; range over the {len(ranged)} states naming "
          f"'{span}'. Bracketed: the random value given that state's number of Cu on those sites. "
          f"‡: a state of a run that did not reach equilibrium (where the chain was, not an equilibrium value); "
          f"single states, so no error bars: the range shows the spread between states.\n")
    any_mark = " ‡" if any(mark(names[k]).endswith("‡") for k in ranged) else ""
    print(f"| measure | random | {' | '.join(mark(s) for s in show)} | range ({len(ranged)} states{any_mark}) "
          "| 70 % would mean |")
    print("|---|---:|" + "---:|" * (len(shown) + 1) + "---|")
    for label, values, random, bound in measures(masks, positions):
        conditional = np.ptp(random) > 0
        cells = " | ".join(f"{values[k]:.3f} ({random[k]:.3f})" if conditional else f"{values[k]:.3f}" for k in shown)
        verdict = "" if bound is None else reading(random[ranged], bound[ranged])
        print(f"| {label} | {random_text(random[ranged])} | {cells} | {values[ranged].min():.3f}–"
              f"{values[ranged].max():.3f} | {verdict} |")


def results_table(path: str, discard: float | int) -> None:
    """The table of a campaign's results file: per temperature the mean over the kept snapshots of every start,
    its blocking error (pooled over the starts; † without a plateau) and ‡ where R̂ and ESS say not converged."""
    record = read_results(path)
    keep = np.asarray(record.snapshot_sweeps) >= discard_sweeps(discard, record.sweeps_done)
    snapshots = np.asarray(record.snapshots)[keep]                     # (kept, starts × temperatures, sites)
    dopant = record.elements.index(DOPANT)
    group = np.asarray(record.group)
    sites = np.flatnonzero(group == group[(snapshots == dopant).any(axis=(0, 1))][0])
    n_t, n_s = len(record.temperatures), record.n_starts
    masks = np.concatenate([snapshots[:, s * n_t + t, sites] for t in range(n_t) for s in range(n_s)]) == dopant
    per_t = len(masks) // n_t                                          # snapshots per temperature, start after start

    def cell(values: np.ndarray) -> str:
        estimate = pooled_ratio_estimate(values, None, n_s)
        converged = diagnose(values.reshape(n_s, -1)).converged()
        marks = ("" if estimate.converged else " †") + ("" if converged else " ‡")
        return f"{estimate.mean:.3f} ± {estimate.error:.3f}{marks}"

    print(f"{DOPANT}{int(masks[0].sum())} on {len(sites)} cation sites; the study: {STUDY:.0%} of Cu with a Cu "
          f"nn or nnn. {Path(path).name}: {plural(int(keep.sum()), 'snapshot')} per chain after discarding "
          f"{plural(discard_sweeps(discard, record.sweeps_done), 'sweep')}, {plural(n_s, 'start')}. 1σ blocking "
          "errors pooled over the starts; † no blocking plateau; ‡ not converged (R̂ > 1.01 or ESS < 400). "
          "Random: given each snapshot's number of Cu on those sites where it says 'given n'.\n")
    temperatures = " | ".join(f"{format_temperature(t)} K" for t in record.temperatures)
    print(f"| measure | random | {temperatures} | 70 % would mean |")
    print("|---|---:|" + "---:|" * n_t + "---|")
    for label, values, random, bound in measures(masks, record.positions[sites]):
        cells = " | ".join(cell(values[t * per_t:(t + 1) * per_t]) for t in range(n_t))
        verdict = "" if bound is None else reading(random, bound)
        print(f"| {label} | {random_text(random)} | {cells} | {verdict} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--states", default=str(Path(__file__).with_name("states-7net-0.extxyz.gz")))
    parser.add_argument("--show", nargs="+", default=["initial", "final4000_T0", "final4000_T7"],
                        help="states shown one by one (info 'state', else the index)")
    parser.add_argument("--range", default="final4000", help="the last column: the range over states naming this")
    parser.add_argument("--unconverged", default="final",
                        help="states naming this come from runs that did not reach equilibrium: marked ‡")
    parser.add_argument("--results", help="a campaign's results.h5 instead of --states")
    parser.add_argument("--discard", type=float, default=0.5,
                        help="with --results: sweeps to discard, a fraction (< 1) or a number")
    args = parser.parse_args()
    if args.results:
        results_table(args.results, int(args.discard) if args.discard >= 1 else args.discard)
    else:
        states_table(args.states, args.show, args.range, args.unconverged)


if __name__ == "__main__":
    main()
