"""How reproducible is a relaxed-lattice label? The same structures relaxed from slightly perturbed starts (issue 36 §3).

    cd runs/CeCuO-relaxer
    python ../CeCuO-relaxed/reproducibility.py perturb moves-3.extxyz --bases 40 -o moves-3-perturbed.extxyz
    nanomc label moves-3-perturbed.extxyz -c sevennet -o moves-3-perturbed-relaxed-7net-0.extxyz --relax \\
        --relax-with CeCuO-relaxer2.h5 --reference-points 30 --max-displacement 1.5 --swap-groups Ce,Cu O,X -j 2
    python ../CeCuO-relaxed/reproducibility.py compare moves-3-relaxed-7net-0.extxyz moves-3-perturbed-relaxed-7net-0.extxyz

`perturb` writes two copies of each of the first BASES base structures of a move file, every atom (not
the X of vacant sites) displaced by a normal random 0.03 Å per component (seeds 1 and 2; `perturbed_from`:
the original's hash); labelled with the same settings as the originals, `compare` sets them against
the original labels.
Prints per structure E(perturbed) − E(original) in meV and whether each relaxation converged, then the
RMSE of those differences: a move energy from two such labels is uncertain by √2 times it.
"""
from __future__ import annotations

import argparse

import numpy as np
from ase.io import read, write

from nanomc.structure import without_vacancies
from nanomc.training.labelfile import read_labels, structure_hash


#: standard deviation of the start displacements, Å
SIGMA = 0.03


def perturb(moves: str, bases: int, output: str) -> None:
    """Two displaced copies of each of the first `bases` base structures of the move file `moves`."""
    frames = [f for f in read(moves, ":") if f.info["move"] == "base"][:bases]
    out = []
    for frame in frames:
        for seed in (1, 2):
            copy = frame.copy()
            real = copy.numbers != 0          # X (vacant sites) has atomic number 0
            rng = np.random.default_rng(1000 * seed + len(out))
            copy.positions[real] += rng.normal(0.0, SIGMA, (int(real.sum()), 3))
            copy.info.update({"perturbed_from": structure_hash(without_vacancies(frame)), "perturbation_seed": seed})
            out.append(copy)
    write(output, out, format="extxyz")
    print(f"wrote {len(out)} displaced copies of {len(frames)} bases to {output}")


def compare(original_file: str, perturbed_file: str) -> None:
    """Per displaced copy, its relaxed energy against the original's, and the RMSE of the differences."""
    original = {str(a.info["structure_hash"]): a for a in read_labels(original_file)}
    rows = []
    for atoms in read_labels(perturbed_file):
        base = original[str(atoms.info["perturbed_from"])]
        diff = 1e3 * (atoms.get_potential_energy() - base.get_potential_energy())
        both = bool(atoms.info["relax_converged"]) and bool(base.info["relax_converged"])
        same = int(atoms.info.get("relax_hops", 0)) == int(base.info.get("relax_hops", 0)) == 0
        rows.append((diff, both, same))
        print(f"{atoms.info['perturbed_from']} seed {int(atoms.info['perturbation_seed'])}: {len(atoms)} atoms, "
              f"ΔE {diff:+8.1f} meV, converged {bool(base.info['relax_converged'])}/{bool(atoms.info['relax_converged'])}, "
              f"hops {int(base.info.get('relax_hops', 0))}/{int(atoms.info.get('relax_hops', 0))}")
    lowest_of_three(original, read_labels(perturbed_file))
    for name, keep in (("all", lambda r: r[2]), ("both converged", lambda r: r[1] and r[2])):
        d = np.array([r[0] for r in rows if keep(r)])
        if len(d):
            print(f"{name} (on their own occupation): {len(d)} labels, RMSE {np.sqrt(np.mean(d ** 2)):.0f} meV, "
                  f"median |ΔE| {np.median(np.abs(d)):.0f} meV, largest {np.abs(d).max():.0f} meV")


def lowest_of_three(original: dict, perturbed: list) -> None:
    """Over the structures whose original and two displaced relaxations all converged on their own occupation:
    how often the start on the lattice, a displaced start, and the lower of the two displaced starts reach the
    lowest of the three (within 5 meV), and how far the lower of the two displaced is from it (meV)."""
    def settled(atoms) -> bool:
        return bool(atoms.info["relax_converged"]) and not int(atoms.info.get("relax_hops", 0))

    copies = {}
    for atoms in perturbed:
        copies.setdefault(str(atoms.info["perturbed_from"]), []).append(atoms)
    triples = [np.array([a.get_potential_energy() for a in [original[key], *pair]]) for key, pair in copies.items()
               if len(pair) == 2 and all(settled(a) for a in [original[key], *pair])]
    if not triples:
        return
    e = np.array(triples) - np.min(triples, axis=1, keepdims=True)
    gap = 1e3 * e[:, 1:].min(axis=1)
    print(f"{len(e)} structures with all three relaxations converged: the lattice start reaches the lowest in "
          f"{np.sum(e[:, 0] < 0.005)}, a displaced start in {np.sum(e[:, 1:] < 0.005)} of {2 * len(e)}, the lower of "
          f"the two displaced in {np.sum(gap < 5)} (RMSE {np.sqrt(np.mean(gap ** 2)):.0f} meV from the lowest, "
          f"largest {gap.max():.0f} meV)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    make = sub.add_parser("perturb")
    make.add_argument("moves")
    make.add_argument("--bases", type=int, default=10)
    make.add_argument("-o", "--output", required=True)
    check = sub.add_parser("compare")
    check.add_argument("original")
    check.add_argument("perturbed")
    args = parser.parse_args()
    if args.command == "perturb":
        perturb(args.moves, args.bases, args.output)
    else:
        compare(args.original, args.perturbed)


if __name__ == "__main__":
    main()
