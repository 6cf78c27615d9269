"""LatticeEMT: ASE's EMT per-atom energies and move energies, exactly, from local updates."""
import numpy as np
import pytest
from ase.build import bulk
from ase.calculators.emt import EMT
from ase.cluster import Octahedron

from nanomc.training.lattice_emt import LatticeEMT, emt_pair_energies
from nanomc.training.pairs import swap_moves

ELEMENTS = ["Au", "Cu"]


def ase_emt(atoms):
    atoms = atoms.copy()
    atoms.calc = EMT()
    return atoms.get_potential_energy(), atoms.get_potential_energies()


@pytest.mark.parametrize("kind", ["cluster", "periodic"])
def test_energies_and_move_energies_equal_ase_emt(kind):
    rng = np.random.default_rng(2)
    atoms = Octahedron("Au", 9, 3, latticeconstant=3.8) if kind == "cluster" else \
        bulk("Au", "fcc", a=3.85, cubic=True) * (3, 3, 2)
    atoms.set_chemical_symbols(rng.choice(ELEMENTS, len(atoms), p=[0.3, 0.7]).tolist())
    atoms.rattle(0.05, seed=3)
    model = LatticeEMT(atoms, ELEMENTS)
    energy, per_atom = ase_emt(atoms)
    assert np.abs(model.atomic_energies - per_atom).max() < 1e-10
    assert model.energy == pytest.approx(energy, abs=1e-10)
    current = atoms.copy()
    for step in range(8):  # swaps and flips, some applied: ΔE equals the difference of full ASE energies
        i, j = rng.choice(len(atoms), 2, replace=False)
        if step % 2:
            sites, symbols = [i], ["Au" if current[i].symbol == "Cu" else "Cu"]
        else:  # a swap of unlike atoms, sites in either order
            j = int(rng.choice(np.flatnonzero(current.numbers != current.numbers[i])))
            i, j = (max(i, j), min(i, j)) if step % 4 else (min(i, j), max(i, j))
            sites, symbols = [i, j], [current[j].symbol, current[i].symbol]
            assert model.delta_swap(i, j) == model.delta(sites, symbols) == model.delta_swap(j, i)
        moved = current.copy()
        for s, e in zip(sites, symbols):
            moved[s].symbol = e
        assert model.delta(sites, symbols) == pytest.approx(ase_emt(moved)[0] - ase_emt(current)[0], abs=1e-10)
        if step % 3 == 0:
            model.apply(sites, symbols)
            current = moved
    assert np.array_equal(model.numbers, current.numbers)
    assert np.abs(model.atomic_energies - ase_emt(current)[1]).max() < 1e-10  # cached energies stay exact


def test_emt_pair_energies_of_a_large_particle_equal_full_ase_energies():
    atoms = Octahedron("Au", 13, 4, latticeconstant=3.7)  # 1289 atoms
    rng = np.random.default_rng(4)
    atoms.set_chemical_symbols(rng.choice(ELEMENTS, len(atoms), p=[0.25, 0.75]).tolist())
    delta = emt_pair_energies(ELEMENTS)
    for before, after in swap_moves([atoms], 2, rng):
        e_before, e_after = delta(before, after)
        assert e_before == pytest.approx(ase_emt(before)[0], abs=1e-10)
        assert e_after - e_before == pytest.approx(ase_emt(after)[0] - ase_emt(before)[0], abs=1e-10)
