"""Reference structures for an fcc binary alloy potential (the seed's recipe), labelled by any
ASE calculator.

For elements A, B (default Au, Cu): bulk A and B and the ordered phases L1_2 A3B, AB3 and
L1_0 AB, each with ±10% lattice-constant variation, monoclinic tilt and uniaxial strain;
random alloys at several compositions; (100), (111) and (110) slabs; clusters of 13–300
atoms of several shapes with random and segregated orderings; and, for active learning,
configurations sampled by short Monte Carlo runs with a first potential on ~300-atom
particles. No DFT code is needed here: the calculator is pluggable (ASE's EMT for the
shipped Au–Cu potential, a DFT calculator for real work).
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
from ase import Atoms
from ase.build import bulk, fcc100, fcc110, fcc111
from ase.cluster import Decahedron, Icosahedron, Octahedron

from ..particles import fcc_lattice_constant
from .label import compute_label


def vegard(elements: Sequence[str], x_b: float) -> float:
    """Vegard's-law fcc lattice constant (Å) of A(1−x)B(x)."""
    a, b = (fcc_lattice_constant(e) for e in elements)
    return (1 - x_b) * a + x_b * b


def strained(atoms: Atoms, rng: np.random.Generator, scale_range: float = 0.10) -> Atoms:
    """A copy with an isotropic scale (±scale_range), then (two times in three) a monoclinic tilt
    (up to 0.1 of the first cell vector added to the third) or a uniaxial strain (±8%); 0.02 Å rattle."""
    atoms = atoms.copy()
    cell = atoms.cell.array * rng.uniform(1 - scale_range, 1 + scale_range)
    kind = rng.integers(3)
    if kind == 1:  # monoclinic tilt
        cell[2] += rng.uniform(-0.1, 0.1) * cell[0]
    elif kind == 2:  # uniaxial tension/compression
        cell[rng.integers(3)] *= rng.uniform(0.92, 1.08)
    atoms.set_cell(cell, scale_atoms=True)
    atoms.rattle(0.02, seed=int(rng.integers(1 << 30)))
    return atoms


def ordered_phases(elements: Sequence[str]) -> list[Atoms]:
    """Conventional cubic cells of A, B, L1_2 A3B and AB3, L1_0 AB (Vegard lattice constants, Å)."""
    a_el, b_el = elements
    out = []
    for x, pattern in ((0.0, "AAAA"), (1.0, "BBBB"), (0.25, "BAAA"), (0.75, "ABBB"), (0.5, "AABB")):
        cell = bulk(a_el, "fcc", a=vegard(elements, x), cubic=True)
        cell.set_chemical_symbols([a_el if c == "A" else b_el for c in pattern])
        out.append(cell)
    return out


def bulk_structures(elements: Sequence[str], n: int, rng: np.random.Generator) -> list[Atoms]:
    """Strained ordered phases (in 2×2×2 supercells) and random alloys in 3×3×3 cubic supercells."""
    phases = ordered_phases(elements)
    out = []
    for k in range(n):
        if k % 2 == 0:
            atoms = phases[rng.integers(len(phases))] * (2, 2, 2)
        else:
            x = rng.uniform(0, 1)
            atoms = bulk(elements[0], "fcc", a=vegard(elements, x), cubic=True) * (3, 3, 3)
            atoms.set_chemical_symbols(rng.choice(list(elements), len(atoms), p=[1 - x, x]).tolist())
        out.append(strained(atoms, rng))
    return out


def slabs(elements: Sequence[str], n: int, rng: np.random.Generator) -> list[Atoms]:
    """(100), (111), (110) slabs, 4–6 layers, 10 Å vacuum, random or surface-segregated."""
    out = []
    builders = (fcc100, fcc111, fcc110)
    for _ in range(n):
        x = rng.uniform(0, 1)
        atoms = builders[rng.integers(3)](elements[0], (3, 3, int(rng.integers(4, 7))), a=vegard(elements, x),
                                          vacuum=5.0, periodic=True)
        atoms.pbc = (True, True, False)
        _occupy(atoms, elements, x, rng)
        atoms.rattle(0.02, seed=int(rng.integers(1 << 30)))
        out.append(atoms)
    return out


ORDERINGS = ("random", "b_core", "b_shell")


def occupy_alloy(atoms: Atoms, elements: Sequence[str], x_b: float, ordering: str, rng: np.random.Generator) -> None:
    """Give a fraction x_b of the sites element B (elements[1]), in place: `random`, or
    segregated by distance from the centre (`b_core`: B inside, `b_shell`: B outside; for
    slabs the distance from the mid-plane), with 0.3 Å of noise on the distances."""
    n_b = int(round(x_b * len(atoms)))
    if ordering == "random":
        order = rng.permutation(len(atoms))
    else:
        r = distance_from_centre(atoms, rng)
        order = np.argsort(r if ordering == "b_core" else -r)
    symbols = np.array([elements[0]] * len(atoms), dtype=object)
    symbols[order[:n_b]] = elements[1]
    atoms.set_chemical_symbols(list(symbols))


def distance_from_centre(atoms: Atoms, rng: np.random.Generator, noise: float = 0.3) -> np.ndarray:
    """Per atom its distance (Å) from the centre of the atoms, for a slab (any periodic axis) from
    the mid-plane along z, plus Gaussian noise of `noise` Å (so segregated orderings vary)."""
    centre = atoms.positions.mean(axis=0)
    axes = [2] if atoms.pbc.any() else [0, 1, 2]
    return np.linalg.norm((atoms.positions - centre)[:, axes], axis=1) + rng.normal(0, noise, len(atoms))


def _occupy(atoms: Atoms, elements: Sequence[str], x_b: float, rng: np.random.Generator) -> None:
    occupy_alloy(atoms, elements, x_b, ORDERINGS[rng.integers(3)], rng)


def clusters(elements: Sequence[str], n: int, rng: np.random.Generator, max_atoms: int = 300) -> list[Atoms]:
    """Octahedra, truncated octahedra, cuboctahedra, icosahedra, decahedra of 13–max_atoms atoms."""
    makers: list[Callable[[int, float], Atoms]] = [
        lambda s, a: Octahedron(elements[0], s + 1, 0, latticeconstant=a),
        lambda s, a: Octahedron(elements[0], s + 2, (s + 1) // 3, latticeconstant=a),
        lambda s, a: Octahedron(elements[0], 2 * (s // 2) + 3, s // 2 + 1, latticeconstant=a),
        lambda s, a: Icosahedron(elements[0], max(2, s // 2 + 1), latticeconstant=a),
        lambda s, a: Decahedron(elements[0], max(2, s // 2 + 1), max(2, s // 2 + 1), 0, latticeconstant=a),
    ]
    out = []
    while len(out) < n:
        x = rng.uniform(0, 1)
        atoms = makers[rng.integers(len(makers))](int(rng.integers(2, 8)), vegard(elements, x) * rng.uniform(0.97, 1.03))
        if not 13 <= len(atoms) <= max_atoms:
            continue
        _occupy(atoms, elements, x, rng)
        atoms.rattle(0.02, seed=int(rng.integers(1 << 30)))
        out.append(atoms)
    return out


def label(structures: Sequence[Atoms], calculator_factory: Callable[[], object]) -> list[Atoms]:
    """Attach reference energies (eV) and forces (eV/Å): info['energy'], arrays['forces'] (one
    calculator per structure; `nanomc label` is the resumable, parallel way)."""
    out = []
    for atoms in structures:
        energy, forces = compute_label(atoms, calculator_factory())
        atoms = atoms.copy()
        atoms.info["energy"] = energy
        atoms.arrays["forces"] = forces
        out.append(atoms)
    return out


def initial_set(elements: Sequence[str], n_bulk: int, n_slabs: int, n_clusters: int, seed: int = 0) -> list[Atoms]:
    """Unlabelled bulk, slab and cluster structures (the first round of the recipe)."""
    rng = np.random.default_rng(seed)
    return bulk_structures(elements, n_bulk, rng) + slabs(elements, n_slabs, rng) + clusters(elements, n_clusters, rng)


def active_learning_set(potential, elements: Sequence[str], n_particles: int, snapshots: int, seed: int = 0,
                        size: int = 9, temperatures: Sequence[float] = (300.0, 600.0, 1200.0),
                        sweeps_between: int = 2) -> list[Atoms]:
    """Configurations from short canonical MC with `potential` on ~300-atom truncated octahedra
    (edge `size`) of random composition, `snapshots` per particle, sweeps_between sweeps apart."""
    from ..local_energy import LocalEnergyModel
    from ..mc import Chain, SwapGroups

    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n_particles):
        x = rng.uniform(0.1, 0.9)
        atoms = Octahedron(elements[0], size, (size - 1) // 3, latticeconstant=vegard(elements, x))
        atoms.set_chemical_symbols(rng.choice(list(elements), len(atoms), p=[1 - x, x]).tolist())
        model = LocalEnergyModel(potential, atoms)
        index = [potential.elements.index(e) for e in elements]
        chain = Chain(model, SwapGroups.single(len(atoms), index), np.random.default_rng(rng.integers(1 << 30)))
        temperature = float(rng.choice(temperatures))
        for _ in range(snapshots):
            chain.sweep(temperature, sweeps_between)
            out.append(model.to_atoms())
    return out
