"""Relaxed move energies of nanomc potentials against the teacher's (issue 36 §3).

    python runs/CeCuO-relaxed/validate_moves.py LABELS.extxyz POTENTIAL [POTENTIAL ...] [--ideal IDEAL.extxyz]

LABELS are move-pair labels (runs/CeCuO-relaxer/make_move_pairs.py, then `nanomc label --relax`): per
move set a base structure and a Cu↔Ce swap and an O↔vacancy move of it, each with its relaxed teacher
energy on the ideal lattice. A move's energy is E(move) − E(base), with both labelled (a structure the
lattice mapping left out drops its move). For every POTENTIAL (file or shipped name) the table gives,
over all moves and over the moves MC can accept (teacher |ΔE| < 0.5 eV), by move kind and by structure kind
(config_type), leaving out moves onto a symmetry-equivalent structure (ΔE = 0): the number of moves, the
teacher's spread σ(ΔE), the potential's RMSE and bias (mean potential − teacher) in meV, and how often
the sign agrees; and over the moves whose two relaxations both reached the teacher's fmax (elsewhere the
reference itself is uncertain by 0.1–0.9 eV: moves_from_base.py). With --ideal (the same inputs labelled by the teacher without relaxation), the row
"teacher, ideal lattice" shows how far the unrelaxed move energies are from the relaxed ones.
"""
from __future__ import annotations

import argparse
from collections import defaultdict

import numpy as np

import nanomc
from move_pairs import move_name, set_name
from nanomc.training.labelfile import read_labels

#: teacher |ΔE| (eV) below which MC can accept a move (the issue's definition)
ACCEPTABLE = 0.5
#: teacher |ΔE| (eV) below which a move is taken to map the structure onto a symmetry-equivalent one; every
#: potential gets those right by construction, so they are counted but left out of the tables
SYMMETRIC = 1e-3


def move_energies(labels, energy) -> dict[tuple[str, str, str], tuple[float, float, bool, str]]:
    """(move set, move kind, move name) -> (teacher ΔE, energy(move) − energy(base) in eV, whether both relaxations reached
    the teacher's fmax, the base's config_type), for moves whose base is labelled; energy: Atoms -> eV."""
    sets = defaultdict(dict)
    for atoms in labels:
        sets[set_name(atoms)]["base" if atoms.info["move"] == "base" else move_name(atoms)] = atoms
    out = {}
    for name, frames in sets.items():
        base = frames.pop("base", None)
        if base is None:
            continue
        for move, atoms in frames.items():
            out[(name, str(atoms.info["move"]), move)] = (atoms.get_potential_energy() - base.get_potential_energy(),
                                 energy(atoms) - energy(base),
                                 bool(atoms.info["relax_converged"]) and bool(base.info["relax_converged"]),
                                 str(base.info.get("config_type", "MC state")))
    return out


def lower_of(labels: list, others: list) -> list:
    """Per structure (hash) labelled in both lists, the label with the lower relaxed energy (eV)."""
    other = {str(a.info["structure_hash"]): a for a in others}
    return [min(a, other[key], key=lambda b: b.get_potential_energy())
            for a in labels if (key := str(a.info["structure_hash"])) in other]


def summary_row(name: str, pairs: list[tuple[float, float]]) -> str:
    """One markdown row: n, teacher σ, RMSE, bias (meV) and sign agreement over `pairs` (teacher, model) in eV."""
    if not pairs:
        return f"| {name} | 0 | | | | |"
    ref, model = np.array([p[:2] for p in pairs]).T
    d = 1e3 * (model - ref)
    return (f"| {name} | {len(d)} | {1e3 * ref.std():.0f} | {np.sqrt(np.mean(d ** 2)):.0f} | {d.mean():+.0f} | "
            f"{np.mean(np.sign(model) == np.sign(ref)):.0%} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("labels")
    parser.add_argument("potentials", nargs="+")
    parser.add_argument("--ideal", help="the move inputs labelled by the teacher without relaxation")
    parser.add_argument("--lower-of", metavar="LABELS2",
                        help="other relaxed labels of the same inputs (e.g. `nanomc label --rattle`): the reference "
                             "of a structure becomes the lower of its two relaxed energies, and structures without a "
                             "second label are left out")
    args = parser.parse_args()
    labels = read_labels(args.labels)
    if args.lower_of:
        labels = lower_of(labels, read_labels(args.lower_of))
    models = {name: nanomc.Potential.load(name).energy for name in args.potentials}
    results = {name: move_energies(labels, energy) for name, energy in models.items()}
    if args.ideal:
        ideal = {str(a.info["structure_hash"]): a.get_potential_energy() for a in read_labels(args.ideal)}
        results["teacher, ideal lattice"] = move_energies(labels, lambda a: ideal[str(a.info["structure_hash"])])
    symmetric = {key for key, move in next(iter(results.values())).items() if abs(move[0]) < SYMMETRIC}
    results = {name: {key: move for key, move in moves.items() if key not in symmetric}
               for name, moves in results.items()}
    print(f"relaxed move energies of {args.labels} (meV): n, teacher σ(ΔE), RMSE, bias (model − teacher), "
          f"sign agreement; {len(symmetric)} moves onto a symmetry-equivalent structure (teacher |ΔE| < "
          f"{1e3 * SYMMETRIC:.0f} meV) left out")
    for subset, keep in (("all moves", lambda move: True),
                         (f"teacher |ΔE| < {ACCEPTABLE} eV", lambda move: abs(move[0]) < ACCEPTABLE),
                         ("both relaxations converged (the teacher's fmax reached)", lambda move: move[2])):
        print(f"\n{subset}\n\n| model | n | σ | RMSE | bias | sign |\n|---|---:|---:|---:|---:|---:|")
        for name, moves in results.items():
            print(summary_row(name, [v for v in moves.values() if keep(v)]))
            for kind in sorted({k for _, k, _ in moves}):
                print(summary_row(f"  {kind}", [v for (_, k, _), v in moves.items() if k == kind and keep(v)]))
            for config in sorted({v[3] for v in moves.values()}):
                print(summary_row(f"  {config}", [v for v in moves.values() if v[3] == config and keep(v)]))


if __name__ == "__main__":
    main()
