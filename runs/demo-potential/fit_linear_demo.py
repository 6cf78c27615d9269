"""Fit the demo Au–Cu potential shipped as nanomc/data/AuCu-demo.h5.

A stop-gap until the trained network potential exists: per element a *linear* network
(E_i = w_e · s(G_i) + b_e) on the default descriptors (R_c 6.5 Å, 64 per element), fitted by
ridge least squares to ASE's EMT energies of random and segregated Au–Cu clusters
(13–400 atoms, several shapes, ±4% lattice constant) and periodic random alloys.
Prints train/test RMSE per atom and the error on 1000+-atom particles not in the fit.

Usage: python runs/demo-potential/fit_linear_demo.py [--out nanomc/data/AuCu-demo.h5]
"""
from __future__ import annotations

import argparse

import numpy as np
from ase.build import bulk
from ase.calculators.emt import EMT
from ase.cluster import Decahedron, Icosahedron, Octahedron

import nanomc
from nanomc.potential import Layer, Network
from nanomc.structure import element_indices

ELEMENTS = ["Au", "Cu"]
A = {"Au": 4.078, "Cu": 3.615}


def vegard(x_cu: float) -> float:
    return (1 - x_cu) * A["Au"] + x_cu * A["Cu"]


def occupy(atoms, x_cu, rng, ordering):
    """Random, or segregated (Au outside / Cu outside by distance from the centre)."""
    n_cu = int(round(x_cu * len(atoms)))
    if ordering == "random":
        order = rng.permutation(len(atoms))
    else:
        r = np.linalg.norm(atoms.positions - atoms.positions.mean(axis=0), axis=1) + rng.normal(0, 0.3, len(atoms))
        order = np.argsort(r if ordering == "cu_core" else -r)
    symbols = np.array(["Au"] * len(atoms))
    symbols[order[:n_cu]] = "Cu"
    atoms.set_chemical_symbols(symbols.tolist())
    return atoms


def clusters(rng, n, sizes):
    shapes = [lambda s, a: Octahedron("Au", s, max(0, (s - 1) // 3), latticeconstant=a),
              lambda s, a: Octahedron("Au", s + (s % 2 == 0), (s + (s % 2 == 0) - 1) // 2, latticeconstant=a),
              lambda s, a: Icosahedron("Au", max(2, s // 2), latticeconstant=a),
              lambda s, a: Decahedron("Au", max(2, s // 2), max(2, s // 2), 0, latticeconstant=a)]
    out = []
    while len(out) < n:
        x = rng.uniform(0, 1)
        shape = shapes[rng.integers(len(shapes))]
        atoms = shape(int(rng.choice(sizes)), vegard(x) * rng.uniform(0.96, 1.04))
        if len(atoms) > 450:
            continue
        out.append(occupy(atoms, x, rng, rng.choice(["random", "random", "cu_core", "au_core"])))
    return out


def bulk_alloys(rng, n):
    out = []
    for _ in range(n):
        x = rng.uniform(0, 1)
        atoms = bulk("Au", "fcc", a=vegard(x) * rng.uniform(0.96, 1.04), cubic=True) * (3, 3, 3)
        atoms.rattle(0.02, seed=int(rng.integers(1 << 30)))
        out.append(occupy(atoms, x, rng, "random"))
    return out


def label(structures):
    energies = []
    for atoms in structures:
        atoms.calc = EMT()
        energies.append(atoms.get_potential_energy())
        atoms.calc = None
    return np.array(energies)


def features(pot, structures):
    """Per structure: Σ over atoms of each element of the scaled descriptors, and atom counts."""
    rows = []
    for atoms in structures:
        g = pot.descriptors(atoms)
        z = element_indices(atoms, ELEMENTS)
        row = []
        for k, e in enumerate(ELEMENTS):
            shift, scale = pot.scaling[e]
            s = (g[z == k] - shift) * scale
            row += [*s.sum(axis=0), float((z == k).sum())]
        rows.append(row)
    return np.array(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default="nanomc/data/AuCu-demo.h5")
    parser.add_argument("--ridge", type=float, default=1e-6)
    args = parser.parse_args()
    rng = np.random.default_rng(2026)
    train = clusters(rng, 500, range(3, 11)) + bulk_alloys(rng, 150)
    test = clusters(rng, 100, range(3, 11)) + bulk_alloys(rng, 30)
    big = [occupy(Octahedron("Au", 13, 4, latticeconstant=vegard(x)), x, rng, ordering)
           for x in (0.25, 0.5, 0.75) for ordering in ("random", "cu_core", "au_core")]
    y_train, y_test, y_big = label(train), label(test), label(big)

    dset = nanomc.default_descriptor_set(ELEMENTS, 6.5)
    identity = {e: Network([Layer(np.zeros((1, dset.size)), np.zeros(1), "linear")]) for e in ELEMENTS}
    pot = nanomc.Potential(ELEMENTS, 6.5, {e: dset for e in ELEMENTS}, identity)
    pot.fit_scaling(train)
    x_train = features(pot, train)
    n_feat = x_train.shape[1]
    ata = x_train.T @ x_train + args.ridge * len(train) * np.eye(n_feat)
    coef = np.linalg.solve(ata, x_train.T @ y_train)
    per = dset.size + 1
    networks = {e: Network([Layer(coef[k * per: k * per + dset.size][None, :], [coef[k * per + dset.size]], "linear")])
                for k, e in enumerate(ELEMENTS)}
    n_atoms = lambda structures: np.array([len(a) for a in structures])  # noqa: E731
    final = nanomc.Potential(ELEMENTS, 6.5, {e: dset for e in ELEMENTS}, networks, pot.scaling)
    report = {}
    for name, structures, y in (("train", train, y_train), ("test", test, y_test), ("1289-atom particles", big, y_big)):
        pred = np.array([final.energy(a) for a in structures])
        err = (pred - y) / n_atoms(structures)
        report[name] = (1000 * np.sqrt(np.mean(err**2)), 1000 * np.mean(np.abs(err)))
        print(f"{name:22s} {len(structures):4d} structures  RMSE {report[name][0]:.2f} meV/atom  "
              f"MAE {report[name][1]:.2f} meV/atom")
    final.provenance = {
        "description": "demo: linear per-element model fitted to ASE EMT energies (runs/demo-potential)",
        "reference": "ASE EMT",
        "test_rmse_meV_per_atom": report["test"][0],
        "test_mae_meV_per_atom": report["test"][1],
        "large_particle_rmse_meV_per_atom": report["1289-atom particles"][0],
    }
    final.save(args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
