"""Ce–Cu–O reference structures (issue 14 §2, first round), unlabelled, deterministic from a seed.

    python runs/CeCuO-potential/structures.py                 # writes structures.extxyz here
    nanomc label runs/CeCuO-potential/structures.extxyz -c sevennet -o runs/CeCuO-potential/labels-7net-0.extxyz

Four kinds, tagged in info["config_type"], shuffled together (so a partly labelled set covers
every kind), all of at most ~200 atoms:
  bulk        fluorite CeO2 (1×1×1 to 2×2×2 cubic cells) with ±10% lattice constant, then a
              monoclinic tilt or a uniaxial strain (nanomc.training.reference.strained), rattled;
  bulk_cu     CeO2 with Cu on Ce sites (3–25% of them) and O vacancies (none, half, one or
              one and a half per Cu; also reduced CeO2 without Cu), random or next to the Cu;
              ±4% lattice constant, tilt or strain;
  slab111/110/100  stoichiometric non-polar slabs (O–Ce–O trilayers for (111), half the
              terminating O moved to the bottom for (100)), clean, with Cu on surface, core or
              random Ce sites, with surface or random O vacancies, or both;
  cluster     CeO2 particles of 20–200 atoms: nanomc.fluorite shapes and spheres cut from the
              bulk around a Ce site, an O site or a hole (O sites by nanomc.fluorite's rule, at
              most two per Ce), with Cu at surface, core or random Ce sites and O vacancies.
Vacancies are removed O atoms. The Au–Cu recipe's helpers (strain, segregated occupation) are
reused from nanomc.training.reference.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.build import bulk, surface
from ase.io import write

from nanomc.fluorite import LATTICE_CONSTANTS, anion_sites, fluorite_particle
from nanomc.training.reference import ORDERINGS, distance_from_centre, occupy_alloy, strained

HERE = Path(__file__).parent
A = LATTICE_CONSTANTS["CeO2"]  # Å
FACETS = {"111": (1, 1, 1), "110": (1, 1, 0), "100": (1, 0, 0)}
VACUUM = 6.0  # Å on each side of slabs and clusters


def ceria(repeat=(1, 1, 1), a: float = A) -> Atoms:
    """Cubic fluorite CeO2 cells (12 atoms each), lattice constant a (Å)."""
    return bulk("CeO2", "fluorite", a=a, cubic=True) * repeat


def with_cu(atoms: Atoms, n_cu: int, ordering: str, rng: np.random.Generator) -> Atoms:
    """n_cu Ce sites become Cu: ordering `random`, `b_core` (nearest the centre / mid-plane) or
    `b_shell` (at the surface), with reference.occupy_alloy on the Ce sublattice."""
    atoms = atoms.copy()
    ce = np.flatnonzero(atoms.symbols == "Ce")
    cations = atoms[ce]
    occupy_alloy(cations, ("Ce", "Cu"), n_cu / len(ce), ordering, rng)
    symbols = atoms.get_chemical_symbols()
    for i, s in zip(ce, cations.get_chemical_symbols()):
        symbols[i] = s
    atoms.set_chemical_symbols(symbols)
    return atoms


def without_oxygen(atoms: Atoms, n_vac: int, where: str, rng: np.random.Generator, mark: bool = False) -> Atoms:
    """Remove n_vac O atoms: `random`, `near_cu` (nearest a Cu, minimum image; random without Cu)
    or `surface` (farthest from the centre / mid-plane), with 0.3 Å of noise on the distances.
    mark: make them vacancies (X atoms, which relaxed-lattice labelling counts as sites) instead."""
    o = np.flatnonzero(atoms.symbols == "O")
    cu = np.flatnonzero(atoms.symbols == "Cu")
    if where == "near_cu" and len(cu):
        key = atoms.get_all_distances(mic=True)[np.ix_(o, cu)].min(axis=1) + rng.normal(0, 0.3, len(o))
    elif where == "surface":
        key = -distance_from_centre(atoms, rng)[o]
    else:
        key = rng.permutation(len(o)).astype(float)
    chosen = o[np.argsort(key)[:n_vac]]
    if mark:
        atoms.symbols[chosen] = "X"
    else:
        del atoms[chosen]
    return atoms


def rattled(atoms: Atoms, rng: np.random.Generator, largest: float = 0.08) -> Atoms:
    """Gaussian displacements with a standard deviation drawn from [0.01, largest] Å."""
    atoms.rattle(rng.uniform(0.01, largest), seed=int(rng.integers(1 << 30)))
    return atoms


def tagged(atoms: Atoms, kind: str) -> Atoms:
    atoms.info["config_type"] = kind
    return atoms


def bulk_ceria(n: int, rng: np.random.Generator) -> list[Atoms]:
    """Strained, tilted and rattled CeO2 cells of 12–96 atoms."""
    repeats = [(1, 1, 1), (2, 1, 1), (2, 2, 1), (2, 2, 2)]
    return [tagged(rattled(strained(ceria(repeats[rng.integers(4)]), rng), rng, 0.06), "bulk") for _ in range(n)]


def doped_bulk(n: int, rng: np.random.Generator) -> list[Atoms]:
    """CeO2 with Cu on Ce sites and O vacancies at several concentrations (48–144-atom cells)."""
    out = []
    for k in range(n):
        cell = ceria([(2, 2, 1), (2, 2, 2), (3, 2, 2)][rng.integers(3)])
        n_ce = int((cell.symbols == "Ce").sum())
        if k % 8 == 0:  # reduced ceria: vacancies, no Cu
            n_cu, n_vac = 0, int(rng.integers(1, max(2, n_ce // 8) + 1))
        else:
            n_cu = max(1, int(round(rng.uniform(0.03, 0.25) * n_ce)))
            n_vac = int(round(n_cu * rng.choice([0.0, 0.5, 1.0, 1.0, 1.5])))
        atoms = with_cu(cell, n_cu, "random", rng)
        atoms = without_oxygen(atoms, n_vac, ["random", "near_cu"][rng.integers(2)], rng)
        out.append(tagged(rattled(strained(atoms, rng, 0.04), rng), "bulk_cu"))
    return out


def _planes(atoms: Atoms) -> list[np.ndarray]:
    """Atom indices of the atomic planes normal to z, bottom first (0.1 Å apart at least)."""
    z = np.round(atoms.positions[:, 2], 1)
    return [np.flatnonzero(z == level) for level in np.unique(z)]


def ceria_slab(facet: str, layers: int, repeat: tuple[int, int], a: float = A) -> Atoms:
    """A stoichiometric, non-polar CeO2 slab (Å; VACUUM on each side, periodic in x and y):
    (111) `layers` O–Ce–O trilayers (ASE's Ce-O-O stacking with its bottom Ce–O planes and top
    O plane cut off one unit thicker), (110) `layers` neutral CeO2 planes, (100) `layers` cubic
    cells thick with half the top O plane (a checkerboard) moved to the bottom."""
    slab = surface(ceria(a=a), FACETS[facet], layers + (facet == "111"), periodic=True)
    planes = _planes(slab)
    if facet == "111":
        del slab[np.concatenate([planes[0], planes[1], planes[-1]])]
    elif facet == "100":
        top = planes[-1]
        frac = slab.cell.scaled_positions(slab.positions[top])[:, :2]
        slab.positions[top[np.floor(2 * frac).astype(int).sum(axis=1) % 2 == 0]] -= slab.cell[2]
    slab = slab * (*repeat, 1)
    slab.center(vacuum=VACUUM, axis=2)
    slab.pbc = (True, True, False)
    return slab


#: (layers, in-plane repeats) per facet: 36–180 atoms
SLAB_SIZES = {"111": [(3, (1, 1)), (4, (1, 1)), (6, (1, 1)), (3, (2, 1)), (4, (2, 1)), (3, (2, 2))],
              "110": [(4, (1, 1)), (6, (1, 1)), (8, (1, 1)), (4, (2, 1)), (4, (1, 2)), (6, (2, 1)), (4, (2, 2))],
              "100": [(2, (1, 1)), (3, (1, 1)), (4, (1, 1)), (2, (2, 1)), (3, (2, 1)), (2, (2, 2)), (3, (2, 2))]}


def slabs(n: int, rng: np.random.Generator) -> list[Atoms]:
    """(111), (110), (100) slabs: clean, with Cu, with O vacancies, or both; ±3% in-plane strain."""
    out = []
    for k in range(n):
        facet = list(FACETS)[k % 3]
        layers, repeat = SLAB_SIZES[facet][rng.integers(len(SLAB_SIZES[facet]))]
        atoms = ceria_slab(facet, layers, repeat, A * rng.uniform(0.97, 1.03))
        n_ce = int((atoms.symbols == "Ce").sum())
        variant = k // 3 % 4  # 0 clean, 1 Cu, 2 vacancies, 3 both
        n_cu = max(1, int(round(rng.uniform(0.04, 0.25) * n_ce))) if variant in (1, 3) else 0
        if n_cu:
            atoms = with_cu(atoms, n_cu, ORDERINGS[rng.integers(3)], rng)
        if variant in (2, 3):
            n_vac = max(1, int(round(n_cu * rng.choice([0.5, 1.0, 1.5])))) if n_cu else int(rng.integers(1, 4))
            atoms = without_oxygen(atoms, n_vac, ["random", "near_cu", "surface"][rng.integers(3)], rng)
        out.append(tagged(rattled(atoms, rng), f"slab{facet}"))
    return out


def sphere(radius: float, centre: np.ndarray, a: float) -> Atoms:
    """The Ce sites of the bulk within radius (Å) of centre (fractional, of the cubic cell) and
    their O sites by nanomc.fluorite's particle rule (anion_sites); O beyond two per Ce removed,
    the least Ce-coordinated first."""
    cells = int(np.ceil(radius / a)) + 1
    big = ceria((2 * cells,) * 3, a)
    ce = big.positions[(big.symbols == "Ce") & (np.linalg.norm(big.positions - (np.asarray(centre) + cells) * a,
                                                              axis=1) <= radius)]
    o, coordination = anion_sites(ce, a)
    o = o[np.argsort(-coordination, kind="stable")[:2 * len(ce)]]
    return Atoms(["Ce"] * len(ce) + ["O"] * len(o), positions=np.vstack([ce, o]))


#: sphere centres (fractional coordinates of the cubic cell): a Ce site, an O site, an empty cube centre
SPHERE_CENTRES = [(0.0, 0.0, 0.0), (0.25, 0.25, 0.25), (0.5, 0.5, 0.5)]
#: fluorite_particle (shape, size) of 20–200 atoms
PARTICLES = [("octahedron", 3), ("octahedron", 4), ("truncated_octahedron", 3), ("truncated_octahedron", 4),
             ("cuboctahedron", 3), ("cuboctahedron", 5), ("cube", 1), ("cube", 2), ("wulff", 32)]


def clusters(n: int, rng: np.random.Generator) -> list[Atoms]:
    """CeO2 particles and bulk spheres of 20–200 atoms with Cu at surface, core or random Ce sites
    and O vacancies; lattice constant ±3%."""
    out = []
    while len(out) < n:
        a = A * rng.uniform(0.97, 1.03)
        if rng.random() < 0.4:
            shape, size = PARTICLES[rng.integers(len(PARTICLES))]
            atoms = fluorite_particle("CeO2", shape, a, size)
            del atoms.arrays["sublattice"]
        else:
            atoms = sphere(rng.uniform(4.5, 8.6), np.array(SPHERE_CENTRES[rng.integers(3)]), a)
        if not 20 <= len(atoms) <= 200:
            continue
        n_ce = int((atoms.symbols == "Ce").sum())
        n_cu = int(round(rng.uniform(0.0, 0.3) * n_ce)) if rng.random() < 0.8 else 0
        if n_cu:
            atoms = with_cu(atoms, n_cu, ORDERINGS[rng.integers(3)], rng)
        n_vac = int(round(n_cu * rng.choice([0.0, 0.5, 1.0, 1.5]))) if n_cu else int(rng.integers(0, 3))
        atoms = without_oxygen(atoms, n_vac, ["random", "near_cu", "surface"][rng.integers(3)], rng)
        atoms.center(vacuum=VACUUM)
        out.append(tagged(rattled(atoms, rng), "cluster"))
    return out


def reference_set(n_bulk: int, n_doped: int, n_slabs: int, n_clusters: int, seed: int) -> list[Atoms]:
    """All four kinds, shuffled with the seed."""
    rng = np.random.default_rng(seed)
    structures = (bulk_ceria(n_bulk, rng) + doped_bulk(n_doped, rng) + slabs(n_slabs, rng)
                  + clusters(n_clusters, rng))
    return [structures[k] for k in rng.permutation(len(structures))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bulk", type=int, default=250)
    parser.add_argument("--doped", type=int, default=450)
    parser.add_argument("--slabs", type=int, default=550)
    parser.add_argument("--clusters", type=int, default=650)
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("-o", "--output", default=str(HERE / "structures.extxyz"))
    args = parser.parse_args()
    structures = reference_set(args.bulk, args.doped, args.slabs, args.clusters, args.seed)
    write(args.output, structures, format="extxyz")
    kinds = {}
    for atoms in structures:
        kinds.setdefault(atoms.info["config_type"], []).append(len(atoms))
    print(f"wrote {len(structures)} structures, {sum(map(len, structures))} atoms, to {args.output}")
    for kind, sizes in sorted(kinds.items()):
        print(f"  {kind:9s} {len(sizes):5d} structures, {min(sizes)}–{max(sizes)} atoms (mean {np.mean(sizes):.0f})")


if __name__ == "__main__":
    main()
