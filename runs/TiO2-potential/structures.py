"""TiO2 reference structures (issue 14 §3, first round), unlabelled, deterministic from a seed.

    python runs/TiO2-potential/structures.py                  # writes structures.extxyz here
    nanomc label runs/TiO2-potential/structures.extxyz -c sevennet -o runs/TiO2-potential/labels-7net-0.extxyz

The three polymorphs rutile, anatase and brookite, built with ase.spacegroup.crystal from
experimental lattice constants and Wyckoff positions (see POLYMORPHS), as periodic supercells of
24–96 atoms, each distorted with nanomc.training.reference.strained (isotropic scale, then a
monoclinic tilt, a uniaxial strain or neither) and rattled. Two kinds per polymorph, tagged in
info["config_type"] (e.g. `rutile_wide`, `anatase_near`), shuffled together:
  *_wide   lattice constants ±10% (the recipe's range: E(V) far from the minimum);
  *_near   lattice constants ±3% (where MD at 300–1000 K samples).
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.io import write
from ase.spacegroup import crystal

from nanomc.training.reference import strained

HERE = Path(__file__).parent

#: Experimental structures at room temperature: (spacegroup, cellpar a b c α β γ in Å and degrees,
#: {element: Wyckoff positions}), ASE's default setting (origin choice 1 for I4_1/amd).
#: Rutile and anatase: J. K. Burdett, T. Hughbanks, G. J. Miller, J. W. Richardson, J. V. Smith,
#: J. Am. Chem. Soc. 109, 3639 (1987), neutron diffraction at 295 K.
#: Brookite: E. P. Meagher, G. A. Lager, Can. Mineral. 17, 77 (1979), X-ray diffraction.
POLYMORPHS = {
    "rutile": (136, [4.5937, 4.5937, 2.9587, 90, 90, 90],
               [("Ti", (0.0, 0.0, 0.0)), ("O", (0.30479, 0.30479, 0.0))]),
    "anatase": (141, [3.7842, 3.7842, 9.5146, 90, 90, 90],
                [("Ti", (0.0, 0.0, 0.0)), ("O", (0.0, 0.0, 0.20806))]),
    "brookite": (61, [9.184, 5.447, 5.145, 90, 90, 90],
                 [("Ti", (0.1289, 0.0972, 0.8628)), ("O", (0.0095, 0.1491, 0.1835)),
                  ("O", (0.2314, 0.1110, 0.5366))]),
}

#: supercells of the conventional cells (6, 12 and 24 atoms): 24–96 atoms
REPEATS = {
    "rutile": [(2, 2, 1), (2, 2, 2), (2, 2, 3), (2, 2, 4), (1, 1, 4), (2, 1, 3)],
    "anatase": [(2, 1, 1), (2, 2, 1), (1, 1, 2), (2, 1, 2), (2, 2, 2)],
    "brookite": [(1, 1, 1), (1, 2, 1), (1, 1, 2), (2, 1, 1), (1, 2, 2)],
}

#: the committed set: structures per polymorph of each kind, and the seed
N_WIDE, N_NEAR, SEED = 70, 60, 143


def polymorph(name: str, primitive: bool = False) -> Atoms:
    """The experimental conventional (or primitive) cell of rutile, anatase or brookite TiO2 (Å)."""
    spacegroup, cellpar, sites = POLYMORPHS[name]
    return crystal([e for e, _ in sites], [p for _, p in sites], spacegroup=spacegroup, cellpar=cellpar,
                   primitive_cell=primitive)


def rattled(atoms: Atoms, rng: np.random.Generator, largest: float = 0.10) -> Atoms:
    """Gaussian displacements with a standard deviation drawn from [0.01, largest] Å."""
    atoms.rattle(rng.uniform(0.01, largest), seed=int(rng.integers(1 << 30)))
    return atoms


def distorted(name: str, n: int, scale_range: float, rng: np.random.Generator) -> list[Atoms]:
    """n strained (isotropic ±scale_range, tilt or uniaxial strain) and rattled supercells of one polymorph."""
    cell = polymorph(name)
    out = []
    for _ in range(n):
        atoms = rattled(strained(cell * REPEATS[name][rng.integers(len(REPEATS[name]))], rng, scale_range), rng)
        atoms.info["config_type"] = f"{name}_{'wide' if scale_range > 0.05 else 'near'}"
        out.append(atoms)
    return out


def reference_set(n_wide: int = N_WIDE, n_near: int = N_NEAR, seed: int = SEED) -> list[Atoms]:
    """n_wide (±10%) and n_near (±3%) structures of each polymorph, shuffled with the seed."""
    rng = np.random.default_rng(seed)
    structures = [atoms for name in POLYMORPHS for n, scale in ((n_wide, 0.10), (n_near, 0.03))
                  for atoms in distorted(name, n, scale, rng)]
    return [structures[k] for k in rng.permutation(len(structures))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--wide", type=int, default=N_WIDE, help="±10%% structures per polymorph")
    parser.add_argument("--near", type=int, default=N_NEAR, help="±3%% structures per polymorph")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("-o", "--output", default=str(HERE / "structures.extxyz"))
    args = parser.parse_args()
    structures = reference_set(args.wide, args.near, args.seed)
    write(args.output, structures, format="extxyz")
    kinds: dict[str, list[int]] = {}
    for atoms in structures:
        kinds.setdefault(atoms.info["config_type"], []).append(len(atoms))
    print(f"wrote {len(structures)} structures, {sum(map(len, structures))} atoms, to {args.output}")
    for kind, sizes in sorted(kinds.items()):
        print(f"  {kind:14s} {len(sizes):4d} structures, {min(sizes)}–{max(sizes)} atoms (mean {np.mean(sizes):.0f})")


if __name__ == "__main__":
    main()
