"""How reproducible is a relaxed-lattice label? The same structures relaxed from slightly perturbed starts (issue 36 §3).

    cd runs/CeCuO-relaxer
    python ../CeCuO-relaxed/reproducibility.py perturb moves-3.extxyz --bases 40 -o moves-3-perturbed.extxyz
    nanomc label moves-3-perturbed.extxyz -c sevennet -o moves-3-perturbed-relaxed-7net-0.extxyz --relax \\
        --relax-with CeCuO-relaxer2.h5 --reference-points 30 --max-displacement 1.5 --swap-groups Ce,Cu O,X -j 2
    python ../CeCuO-relaxed/reproducibility.py compare moves-3-relaxed-7net-0.extxyz moves-3-perturbed-relaxed-7net-0.extxyz

    nanomc label moves-3-bases.extxyz -c sevennet -o moves-3-bases-starts1-3-7net-0.extxyz --relax --rattle 0.03 \\
        --starts 3 --first-start 1 --relax-with CeCuO-relaxer2.h5 --reference-points 30 --max-displacement 1.5 \\
        --swap-groups Ce,Cu O,X -j 2
    python ../CeCuO-relaxed/reproducibility.py starts moves-3-relaxed-7net-0.extxyz moves-3-rattled-7net-0.extxyz \\
        moves-3-bases-starts1-3-7net-0.extxyz --perturbed moves-3-perturbed-relaxed-7net-0.extxyz

`perturb` writes two copies of each of the first BASES base structures of a move file, every atom (not
the X of vacant sites) displaced by a normal random 0.03 Å per component (seeds 1 and 2; `perturbed_from`:
the original's hash); labelled with the same settings as the originals, `compare` sets them against
the original labels. `starts` measures the label defined as the lowest of n rattled starts.
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


def starts(lattice_file: str, rattled_files: list[str], perturbed_file: str | None, most: int,
           candidate_files: list[str] = ()) -> None:
    """The relaxed energy as the lowest of n rattled starts, n = 1..most: over the bases relaxed from every
    start, how far that lowest is from the lowest of all their relaxations (the start on the lattice included),
    and how far two disjoint sets of n starts are from each other (the label's reproducibility), averaged over
    all subsets. rattled_files: labels of single rattled starts or of `--starts N` (every start's energy);
    perturbed_file: the displaced copies of `perturb`, counted as two more rattled starts; candidate_files:
    labels defined otherwise (e.g. `--starts N --screen`), each set against the lowest of everything and
    against each other."""
    from itertools import combinations

    lattice = {str(a.info["structure_hash"]): a.get_potential_energy() for a in read_labels(lattice_file)}
    energies: dict[str, list[float]] = {}
    for path in rattled_files:
        for atoms in read_labels(path):
            found = atoms.info.get("relax_start_energies")
            energies.setdefault(str(atoms.info["structure_hash"]), []).extend(
                [float(e) for e in found] if found is not None else [atoms.get_potential_energy()])
    if perturbed_file:
        for atoms in read_labels(perturbed_file):
            energies.setdefault(str(atoms.info["perturbed_from"]), []).append(atoms.get_potential_energy())
    count = max(map(len, energies.values()))
    full = {key: np.array(e) for key, e in energies.items() if len(e) == count and key in lattice
            and np.isfinite(e).all()}
    print(f"{len(full)} bases with {count} rattled relaxations each that map, and the one from the lattice")
    if not full:
        return
    print(f"{'n':>3} {'reach lowest':>13} {'RMSE from lowest':>17} {'largest':>8} {'RMSE two sets of n':>19}")
    for n in range(1, min(most, count // 2) + 1):
        reach, gaps, pairs = [], [], []
        for key, e in full.items():
            lowest = min(e.min(), lattice[key])
            subsets = list(combinations(range(count), n))
            mins = {s: e[list(s)].min() for s in subsets}
            gaps += [1e3 * (m - lowest) for m in mins.values()]
            reach += [m - lowest < 0.005 for m in mins.values()]
            pairs += [1e3 * (mins[a] - mins[b]) for a in subsets for b in subsets if a < b and not set(a) & set(b)]
        gaps, pairs = np.array(gaps), np.array(pairs)
        print(f"{n:>3} {np.mean(reach):>12.0%} {np.sqrt(np.mean(gaps ** 2)):>14.0f} meV {gaps.max():>5.0f} meV "
              f"{np.sqrt(np.mean(pairs ** 2)):>15.0f} meV")
    on_lattice = np.array([1e3 * (lattice[k] - min(e.min(), lattice[k])) for k, e in full.items()])
    print(f"the start on the lattice: reaches the lowest in {np.mean(on_lattice < 5):.0%}, "
          f"RMSE {np.sqrt(np.mean(on_lattice ** 2)):.0f} meV from it")
    candidates = {path: {str(a.info["structure_hash"]): a.get_potential_energy() for a in read_labels(path)}
                  for path in candidate_files}
    for path, found in candidates.items():
        keys = [k for k in full if k in found]
        if not keys:
            continue
        gap = np.array([1e3 * (found[k] - min(full[k].min(), lattice[k], *(c[k] for c in candidates.values()
                                                                          if k in c))) for k in keys])
        print(f"{path}: {len(keys)} bases, reaches the lowest of all in {np.mean(gap < 5):.0%}, RMSE "
              f"{np.sqrt(np.mean(gap ** 2)):.0f} meV from it, largest {gap.max():.0f} meV")
    paths = list(candidates)
    for i, a in enumerate(paths):
        for b in paths[i + 1:]:
            d = np.array([1e3 * (candidates[a][k] - candidates[b][k]) for k in candidates[a] if k in candidates[b]])
            if len(d):
                print(f"{a} against {b}: {len(d)} bases, RMSE {np.sqrt(np.mean(d ** 2)):.0f} meV, "
                      f"largest {np.abs(d).max():.0f} meV")


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
    several = sub.add_parser("starts")
    several.add_argument("lattice", help="labels relaxed from the lattice")
    several.add_argument("rattled", nargs="+", help="labels from rattled starts (single or --starts N)")
    several.add_argument("--perturbed", help="the displaced copies' labels (two more starts per base)")
    several.add_argument("--most", type=int, default=3, help="the largest n")
    several.add_argument("--candidates", nargs="*", default=[], help="labels defined otherwise (--screen)")
    args = parser.parse_args()
    if args.command == "perturb":
        perturb(args.moves, args.bases, args.output)
    elif args.command == "starts":
        starts(args.lattice, args.rattled, args.perturbed, args.most, args.candidates)
    else:
        compare(args.original, args.perturbed)


if __name__ == "__main__":
    main()
