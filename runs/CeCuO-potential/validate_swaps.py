"""Swap energies of a nanomc potential against the teacher's (issue 14 §2).

Reads labelled swap sets (swap_structures.py, then `nanomc label`): per set a base structure and
Cu↔Ce and O↔vacancy moves of it, each with the teacher's total energy. The swap energy of a move is
E(move) − E(base); the potential's is computed the same way. Prints per set and move kind the
number of moves, the teacher's spread (standard deviation of its swap energies), the RMSE and the
bias (mean of potential − teacher), all in meV, and the per-atom energy error of the structures.

    python runs/CeCuO-potential/validate_swaps.py POTENTIAL.h5 swaps-*-7net-0.extxyz[.gz] [--plot swaps.png]
"""
from __future__ import annotations

import argparse
from collections import defaultdict
from pathlib import Path

import numpy as np

import nanomc
from nanomc.particles import read_all_frames
from swap_structures import labelled_sets

MAX_SETS_SHOWN = 4  # more swap sets than this: the table shows the moves of all sets pooled


def swap_errors(potential: nanomc.Potential, frames) -> dict[tuple[str, str], np.ndarray]:
    """(set, move) -> array of (teacher, potential) swap energies in meV; ("all", "per-atom") -> per-atom
    energy errors of every structure in meV/atom."""
    out: dict[tuple[str, str], list] = defaultdict(list)
    for name, (base, moves) in labelled_sets(frames).items():
        e_ref0, e_pot0 = base.get_potential_energy(), potential.energy(base)
        for atoms in [base, *moves]:
            e_ref, e_pot = atoms.get_potential_energy(), potential.energy(atoms)
            out[("all", "per-atom")].append([1e3 * (e_pot - e_ref) / len(atoms)])
            if atoms is not base:
                out[(name, atoms.info["move"])].append([1e3 * (e_ref - e_ref0), 1e3 * (e_pot - e_pot0)])
    return {key: np.array(value) for key, value in out.items()}


def table(errors: dict[tuple[str, str], np.ndarray]) -> str:
    """Markdown table of swap-energy errors per (set, move) and pooled per move kind (only pooled for
    more than MAX_SETS_SHOWN sets)."""
    lines = ["| set | move | n | teacher σ(ΔE) | RMSE | bias |", "|---|---|---:|---:|---:|---:|"]
    pooled = defaultdict(list)
    for (name, move), values in errors.items():
        if move != "per-atom":
            pooled[move].append(values)
    rows = [(key, v) for key, v in errors.items() if key[1] != "per-atom"]
    if len(rows) > 2 * MAX_SETS_SHOWN:  # many sets (active learning): only the pooled rows
        rows = []
    rows += [(("all", move), np.vstack(v)) for move, v in pooled.items() if len(v) > 1]
    for (name, move), values in rows:
        d = values[:, 1] - values[:, 0]
        lines.append(f"| {name} | {move} | {len(d)} | {values[:, 0].std():.0f} | "
                     f"{np.sqrt(np.mean(d ** 2)):.1f} | {d.mean():+.1f} |")
    per_atom = errors[("all", "per-atom")][:, 0]
    lines.append(f"\nper-atom energy of all {len(per_atom)} structures: RMSE "
                 f"{np.sqrt(np.mean(per_atom ** 2)):.2f} meV/atom, mean {per_atom.mean():+.2f} meV/atom")
    return "\n".join(lines)


def plot(errors: dict[tuple[str, str], np.ndarray], path: str) -> None:
    """Parity plot of the swap energies (eV), one colour per move kind."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    for (name, move), values in errors.items():
        if move != "per-atom":
            ax.plot(values[:, 0] / 1e3, values[:, 1] / 1e3, ".", label=f"{move} ({name})")
    lo, hi = ax.get_xlim()
    ax.plot([lo, hi], [lo, hi], "k-", lw=0.5)
    ax.set_xlabel("teacher swap energy (eV)")
    ax.set_ylabel("nanomc swap energy (eV)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=150)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("potential")
    parser.add_argument("labels", nargs="+", help="labelled swap sets")
    parser.add_argument("--plot", help="write a parity plot here")
    args = parser.parse_args()
    potential = nanomc.Potential.load(args.potential)
    frames = [atoms for path in args.labels for atoms in read_all_frames(Path(path))]
    errors = swap_errors(potential, frames)
    print(table(errors))
    if args.plot:
        plot(errors, args.plot)


if __name__ == "__main__":
    main()
