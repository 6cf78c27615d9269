"""A linear pair-cluster baseline for relaxed bulk move energies (issue 36 §3): can any local occupation model fit them?

    python runs/CeCuO-relaxed/cluster_baseline.py

A move's relaxed energy is modelled as ΔE = w · Δf, where f counts the element pairs (Cu–Cu, Cu–X, Cu–Ce,
Cu–O, X–X, X–Ce, X–O; X a vacancy) per distance shell of the ideal fluorite lattice up to 6.3 Å, and w
is a ridge fit on the bulk moves of moves-2 and of two thirds of the move sets of moves-3 (the third
that split_sets.py holds out is the test, and moves-1 the other). Moves onto a symmetry-equivalent
structure and moves with an atom relaxed onto another site are left out. Prints RMSE (meV) on the
training moves, the test moves, and the test moves MC can accept (teacher |ΔE| < 0.5 eV), with the
sign agreement there.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from ase import Atoms
from ase.io import read
from ase.neighborlist import neighbor_list

from move_pairs import set_name
from nanomc.structure import without_vacancies
from nanomc.training.labelfile import read_labels, structure_hash
from validate_moves import ACCEPTABLE, SYMMETRIC

RELAXER = Path(__file__).resolve().parent.parent / "CeCuO-relaxer"
#: upper edges (Å) of the distance shells of the ideal lattice (a = 5.41 Å: cation–anion 2.34, anion–anion
#: 2.71, cation–cation 3.83, ...)
SHELLS = (2.5, 3.0, 4.0, 4.6, 5.6, 6.3)
#: the element pairs counted (the host pairs Ce–Ce, Ce–O, O–O follow from these at fixed composition)
PAIRS = (("Cu", "Cu"), ("Cu", "X"), ("Cu", "Ce"), ("Cu", "O"), ("X", "X"), ("X", "Ce"), ("X", "O"))


def pair_counts(atoms: Atoms) -> np.ndarray:
    """Ordered-pair counts per shell and element pair (vacancies as X atoms), flattened."""
    i, j, d = neighbor_list("ijd", atoms, SHELLS[-1])
    symbols = np.array(atoms.get_chemical_symbols())
    shell = np.searchsorted(SHELLS, d)
    return np.array([np.sum((shell == s) & (symbols[i] == a) & (symbols[j] == b))
                     for s in range(len(SHELLS)) for a, b in PAIRS], float)


def bulk_moves(inputs: Path, labels: Path) -> list[tuple[str, np.ndarray, float]]:
    """(move set, Δ pair counts, teacher's relaxed ΔE in eV) of every labelled bulk move of a move file."""
    energy = {str(a.info["structure_hash"]): a.get_potential_energy() for a in read_labels(labels)
              if not int(a.info.get("relax_hops", 0))}
    bases, out = {}, []
    for frame in read(inputs, ":"):
        if frame.info.get("config_type", "bulk_cu") != "bulk_cu":
            continue
        e = energy.get(structure_hash(without_vacancies(frame)))
        if frame.info["move"] == "base":
            bases[set_name(frame)] = (frame, e)
            continue
        base, e_base = bases[set_name(frame)]
        if e is None or e_base is None or abs(e - e_base) < SYMMETRIC:
            continue
        out.append((set_name(frame), pair_counts(frame) - pair_counts(base), e - e_base))
    return out


def report(name: str, x: np.ndarray, y: np.ndarray, w: np.ndarray) -> str:
    """RMSE over all moves and over the acceptable ones, and the sign agreement there (meV)."""
    p = x @ w
    acc = np.abs(y) < ACCEPTABLE
    return (f"{name}: {len(y)} moves RMSE {1e3 * np.sqrt(np.mean((p - y) ** 2)):.0f}; {acc.sum()} acceptable "
            f"RMSE {1e3 * np.sqrt(np.mean((p[acc] - y[acc]) ** 2)):.0f}, sign {np.mean(np.sign(p[acc]) == np.sign(y[acc])):.0%}")


def main() -> None:
    moves3 = bulk_moves(RELAXER / "moves-3.extxyz", RELAXER / "moves-3-relaxed-7net-0.extxyz")
    held = set(sorted({s for s, _, _ in moves3})[2::3])          # split_sets.py --every 3
    train = [m for m in moves3 if m[0] not in held] + bulk_moves(RELAXER / "moves-2.extxyz",
                                                                  RELAXER / "moves-2-relaxed-7net-0.extxyz")
    tests = {"moves-3 held out": [m for m in moves3 if m[0] in held],
             "moves-1 bulk": bulk_moves(RELAXER / "moves-1.extxyz", RELAXER / "moves-1-relaxed-7net-0.extxyz")}
    x = np.array([m[1] for m in train])
    y = np.array([m[2] for m in train])
    varies = x.std(axis=0) > 0
    print(f"pair-cluster model of relaxed bulk move energies: {varies.sum()} pair counts, {len(y)} training moves")
    for ridge in (0.1, 1.0, 10.0, 100.0):
        a = x[:, varies]
        w = np.linalg.solve(a.T @ a + ridge * np.eye(a.shape[1]), a.T @ y)
        print(f"ridge {ridge:g}: " + " | ".join(
            [report("train", a, y, w)] + [report(name, np.array([m[1] for m in t])[:, varies],
                                                 np.array([m[2] for m in t]), w) for name, t in tests.items()]))


if __name__ == "__main__":
    main()
